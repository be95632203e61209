"""qtbot tests of the 与区局同步 page and the wizard's 加入已有中队 path, offscreen, against a real
district server process on 127.0.0.1 (tests/district_server.py, on a SQLite file): enrolling from
the page, a sync that empties the outbox, a failed automatic sync shown in the status block and
never as a dialog, a conflict made by two devices seen and resolved, read-only roles, and a fresh
installation joining its squad. Every background step is awaited on the page's signals."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from case_builders import forge_foreign_row, id_number
from district_server import DistrictServer, free_port, start_server
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from sqlalchemy import select

from app.auth.roles import Actor, Role
from app.auth.service import authenticate
from app.context import AppContext, open_data_dir
from app.paths import DB_FILE
from app.personnel.members import MemberInput, create_member, get_member, update_member
from app.sync import client
from app.sync.client import KEEP_CURRENT, TAKE_OTHER
from db.models import Member
from db.models.personnel import StaffCategory
from tests.conftest import PASSWORD, SQUAD
from ui.sync import page as page_module
from ui.sync.page import RED, SyncPage
from ui.wizard import JOIN, FirstRunWizard, squad_ready

#: Generous: a first sync of a squad uploads its whole set-up.
WAIT = 60_000


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    from ui.fonts import install_fonts

    install_fonts(qapp)


@pytest.fixture
def district(tmp_path: Path) -> Iterator[DistrictServer]:
    server = start_server(f"sqlite+pysqlite:///{tmp_path / 'district.sqlite3'}", tmp_path / "district")
    yield server
    server.stop()


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Error dialogs, recorded instead of shown; confirmations answered yes."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    monkeypatch.setattr(page_module, "confirm", lambda *a: True)
    return shown


def _page(qtbot: Any, ctx: AppContext, actor: Actor) -> SyncPage:
    page = SyncPage(ctx, actor)
    qtbot.addWidget(page)
    page.resize(1200, 760)
    return page


def _enroll(ctx: AppContext, actor: Actor | None, district: DistrictServer, label: str = "") -> None:
    with district.transport(ctx) as transport:
        client.enroll(ctx, actor, transport, district.url, district.code(), label)


def _sync(ctx: AppContext, district: DistrictServer) -> client.SyncReport:
    with district.transport(ctx) as transport:
        return client.sync_once(ctx, transport)


def _fresh(templates: dict[bool, Path], folder: Path) -> AppContext:
    """A new installation before its first-run set-up."""
    folder.mkdir(parents=True)
    shutil.copyfile(templates[False], folder / DB_FILE)
    return open_data_dir(folder)


def test_enroll_then_sync_from_the_page(
    qtbot: Any, ctx: AppContext, admin: Actor, district: DistrictServer, errors: list[str]
) -> None:
    page = _page(qtbot, ctx, admin)
    assert page.stack.currentIndex() == 0  # the enrollment form
    fields = page.enroll_fields

    # Nothing typed: said under the form, nothing sent.
    fields.server.clear()
    assert page.enroll() is None
    assert "区局同步服务的地址" in page.enroll_message.text()
    # A wrong code: the district's refusal, in Chinese, under the form; nothing stored.
    fields.server.setText(district.url.removeprefix("http://"))  # the scheme may be left out
    fields.code.setText("NOT-A-CODE")
    with qtbot.waitSignal(page.sig_enroll_failed, timeout=WAIT) as failed:
        assert page.enroll() is not None
    assert "登记码无效" in failed.args[0] and page.enroll_message.text() == failed.args[0]
    assert not client.is_enrolled(ctx)

    fields.code.setText(district.code())
    fields.label.setText("内勤电脑")
    with qtbot.waitSignal(page.sig_enrolled, timeout=WAIT):
        assert page.enroll() is not None
    assert page.enroll_message.text() == ""
    assert page.stack.currentIndex() == 1  # the status block
    assert page.server_label.text() == district.url
    assert page.squad_label.text() == SQUAD.name
    assert page.last_sync_label.text() == "从未同步"
    assert re.search(r"^\d+ 条，最早一条已等待", page.outbox_label.text())  # the set-up still to go up
    assert page.conflicts_label.text() == "无"

    with qtbot.waitSignal(page.sig_synced, timeout=WAIT) as synced:
        assert page.sync_now() is not None
        # Never two at once: neither a second click nor the timer starts another.
        assert page.busy and not page.sync_button.isEnabled()
        assert page.sync_now() is None
        page.auto_due = 0.0
        assert page.auto_sync_if_due() is False
    report = synced.args[0]
    assert report.pushed > 0 and report.rejected == 0
    assert not page.busy and page.sync_button.isEnabled()
    assert page.outbox_label.text().startswith("0 条")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", page.last_sync_label.text())
    assert report.summary() in page.result_label.text()
    assert page.error_label.text() == ""
    assert errors == []
    with district.admin() as s:
        from app.district.service import list_devices

        assert [d.label for d in list_devices(s)] == ["内勤电脑"]


def test_a_failed_sync_shows_in_the_status_block(
    qtbot: Any, ctx: AppContext, admin: Actor, district: DistrictServer, errors: list[str]
) -> None:
    _enroll(ctx, admin, district)
    _sync(ctx, district)
    page = _page(qtbot, ctx, admin)
    assert page.auto_due is None  # not automatic until asked

    page.auto_minutes.setValue(5)
    assert page.save_auto_minutes()
    assert client.status(ctx).auto_minutes == 5
    assert page.auto_due is not None and page.auto_due - time.monotonic() > 4 * 60  # synced just now
    assert page.auto_label.text().startswith("每 5 分钟，下次约")
    assert page.auto_sync_if_due() is False

    district.stop()
    page.auto_due = time.monotonic()  # the interval has passed
    with qtbot.waitSignal(page.sig_sync_failed, timeout=WAIT) as failed:
        assert page.auto_sync_if_due() is True
    text = page.error_label.text()
    assert failed.args[0] == text
    assert text.startswith("上次同步失败：无法连接区局同步服务") and "自动重试" in text
    assert RED in page.error_label.styleSheet() and not page.error_label.isHidden()
    assert errors == []  # the automatic sync never opens a dialog
    # It tries again after the retry delay of one failure (30 s, with jitter), not the interval.
    wait = page.auto_due - time.monotonic()
    assert 0.8 * 30 - 5 <= wait <= 1.2 * 30
    # A second failure: the delay doubles.
    page.auto_due = time.monotonic()
    with qtbot.waitSignal(page.sig_sync_failed, timeout=WAIT):
        assert page.auto_sync_if_due() is True
    assert "已连续失败 2 次" in page.error_label.text()
    assert 0.8 * 60 - 5 <= page.auto_due - time.monotonic() <= 1.2 * 60
    assert errors == []

    # 立即同步 by hand says it in a dialog as well.
    with qtbot.waitSignal(page.sig_sync_failed, timeout=WAIT):
        assert page.sync_now() is not None
    assert len(errors) == 1 and "无法连接区局同步服务" in errors[0]
    assert "已连续失败 3 次" in page.error_label.text()

    # The district is back: the next sync clears the error and the schedule returns to the interval.
    district.start()
    with qtbot.waitSignal(page.sig_synced, timeout=WAIT):
        assert page.sync_now() is not None
    assert page.error_label.text() == "" and page.error_label.isHidden()
    assert page.auto_due - time.monotonic() > 4 * 60

    # Cancelled by hand: the timer waits the whole interval before it tries on its own.
    task = page.sync_now()
    assert task is not None
    task.progress.cancel()
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT)
    assert page.result_label.text() == "已取消。" and page.sync_button.isEnabled()
    assert page.auto_due - time.monotonic() > 4 * 60


def test_a_conflict_is_shown_and_resolved(
    qtbot: Any,
    qtmodeltester: Any,
    ctx: AppContext,
    admin: Actor,
    district: DistrictServer,
    errors: list[str],
    templates: dict[bool, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two devices of the squad edit the same member while apart.
    _enroll(ctx, admin, district)
    with ctx.unit_of_work(admin, "新增队员") as s:
        member = create_member(s, admin, MemberInput("李四", id_number(), StaffCategory.CIVIL_SERVANT))
    _sync(ctx, district)
    other = _fresh(templates, tmp_path / "second")
    try:
        _enroll(other, None, district, "外勤站")
        _sync(other, district)
        other_admin = authenticate(other, "admin", PASSWORD)
        for device, actor, name in ((ctx, admin, "李四甲"), (other, other_admin, "李四乙")):
            with device.unit_of_work(actor, "修改队员") as s:
                view = get_member(s, actor, member.id)
                update_member(
                    s, actor, member.id, MemberInput(name, view.id_number, view.category), view.version
                )
        _sync(ctx, district)
        _sync(other, district)

        page = _page(qtbot, ctx, admin)
        assert page.conflict_model.rowCount() == 0
        with qtbot.waitSignal(page.sig_synced, timeout=WAIT):
            page.sync_now()
        assert page.conflicts_label.text().startswith("1 处")
        assert page.conflict_model.rowCount() == 1
        conflict = page.selected_conflict()  # the first one is selected
        assert conflict is not None and conflict.table_label and conflict.title in ("李四甲", "李四乙")
        assert page.conflict_model.data(page.conflict_model.index(0, 1)) == conflict.title
        assert page.conflict_model.data(page.conflict_model.index(0, 4)) == "待处理"
        qtmodeltester.check(page.conflict_model)
        rows = {
            page.details.item(r, 0).text(): [page.details.item(r, c).text() for c in (1, 2)]
            for r in range(page.details.rowCount())
        }
        row = ["姓名", *rows["姓名"]]
        assert set(row[1:]) == {"李四甲", "李四乙"}
        current, loser = row[1], row[2]
        assert page.keep_button.isEnabled() and page.take_button.isEnabled()

        # Declined at the confirmation: nothing changes.
        monkeypatch.setattr(page_module, "confirm", lambda *a: False)
        assert page.resolve(TAKE_OTHER) is False
        assert page.conflict_model.rowCount() == 1
        monkeypatch.setattr(page_module, "confirm", lambda *a: True)

        with qtbot.waitSignal(page.sig_conflict_resolved):
            assert page.resolve(TAKE_OTHER) is True
        assert page.conflict_model.rowCount() == 0
        assert page.conflicts_label.text() == "无"
        assert not page.keep_button.isEnabled()
        with ctx.read() as s:
            assert s.scalar(select(Member.name).where(Member.id == member.id)) == loser
        # Resolved ones on request, marked as such and no longer resolvable.
        page.show_resolved.setChecked(True)
        assert page.conflict_model.rowCount() == 1
        assert page.conflict_model.data(page.conflict_model.index(0, 4)).startswith("已处理（采用另一版本")
        assert not page.keep_button.isEnabled() and not page.take_button.isEnabled()
        assert page.resolve(KEEP_CURRENT) is False

        # The resolution travels: the other device follows and its conflict closes too.
        with qtbot.waitSignal(page.sig_synced, timeout=WAIT):
            page.sync_now()
        _sync(other, district)
        with other.read() as s:
            assert s.scalar(select(Member.name).where(Member.id == member.id)) == loser != current
        assert client.list_conflicts(other) == []
        assert errors == []
    finally:
        other.close()


def test_what_the_district_refused_is_listed_with_its_reason(
    qtbot: Any, ctx: AppContext, admin: Actor, district: DistrictServer, errors: list[str]
) -> None:
    _enroll(ctx, admin, district)
    with ctx.unit_of_work(admin, "新增队员") as s:
        member = create_member(s, admin, MemberInput("钱七", id_number(), StaffCategory.CIVIL_SERVANT))
    forge_foreign_row(ctx, admin, member.id)
    page = _page(qtbot, ctx, admin)
    assert page.rejections_label.text() == "无" and page.lists.tabText(1) == "区局拒收"
    with qtbot.waitSignal(page.sig_synced, timeout=WAIT) as synced:
        assert page.sync_now() is not None
    assert synced.args[0].rejected == 1 and "区局拒收 1 条" in page.result_label.text()
    assert page.outbox_label.text().startswith("0 条")  # acknowledged: the outbox moved on
    assert page.rejections_label.text().startswith("1 条")
    assert page.lists.currentIndex() == 1 and page.lists.tabText(1) == "区局拒收（1）"
    model = page.rejection_model
    assert model.rowCount() == 1
    cells = [model.index(0, column).data() for column in range(model.columnCount())]
    assert cells[0] == "队员" and cells[1].startswith("编号 forged-r") and "其他中队" in cells[2]
    assert errors == []


def test_read_only_roles_see_the_state_with_a_hint(
    qtbot: Any, ctx: AppContext, actors: dict[Role, Actor], district: DistrictServer, errors: list[str]
) -> None:
    legal = _page(qtbot, ctx, actors[Role.LEGAL])
    assert legal.stack.currentIndex() == 0
    assert not legal.enroll_button.isEnabled() and "修改系统设置" in legal.enroll_button.toolTip()
    assert legal.enroll() is None

    _enroll(ctx, actors[Role.ADMIN], district)
    legal.refresh()
    assert legal.stack.currentIndex() == 1
    assert "与区局同步" in legal.permission_hint.text() and "处理同步冲突" in legal.permission_hint.text()
    for widget in (legal.sync_button, legal.auto_minutes, legal.export_button, legal.import_button):
        assert not widget.isEnabled() and "与区局同步" in widget.toolTip()
    assert legal.sync_now() is None and legal.save_auto_minutes() is False
    assert not legal.keep_button.isEnabled() and "处理同步冲突" in legal.keep_button.toolTip()

    officer = _page(qtbot, ctx, actors[Role.OFFICER])  # syncs from the field, leaves conflicts to the clerk
    assert officer.sync_button.isEnabled()
    assert (
        "处理同步冲突" in officer.permission_hint.text() and "同步状态" not in officer.permission_hint.text()
    )
    assert not officer.take_button.isEnabled()
    assert errors == []


def test_the_wizard_joins_an_existing_squad(
    qtbot: Any,
    ctx: AppContext,
    admin: Actor,
    district: DistrictServer,
    templates: dict[bool, Path],
    tmp_path: Path,
    errors: list[str],
) -> None:
    # The squad's first PC already syncs.
    _enroll(ctx, admin, district)
    _sync(ctx, district)

    fresh = _fresh(templates, tmp_path / "fresh")
    try:
        wizard = FirstRunWizard(fresh)
        qtbot.addWidget(wizard)
        wizard.choice_page.join.setChecked(True)
        assert wizard.choice_page.nextId() == JOIN
        fields, message = wizard.join_page.fields, wizard.join_page.message

        # The district cannot be reached.
        fields.server.setText(f"http://127.0.0.1:{free_port()}")
        fields.code.setText(district.code())
        with qtbot.waitSignal(wizard.sig_join_failed, timeout=WAIT) as failed:
            assert wizard.accept() is None and wizard.task is not None
        assert failed.args[0].startswith("无法连接区局同步服务") and "地址" in failed.args[0]
        assert message.text() == failed.args[0]
        # A wrong code.
        fields.server.setText(district.url)
        fields.code.setText("NOT-A-CODE")
        with qtbot.waitSignal(wizard.sig_join_failed, timeout=WAIT) as failed:
            wizard.accept()
        assert "登记码无效" in failed.args[0]
        assert fresh.squad_id is None and not client.is_enrolled(fresh)

        fields.code.setText(district.code())
        with qtbot.waitSignal(wizard.sig_joined, timeout=WAIT) as joined:
            wizard.accept()
        assert joined.args[0] == SQUAD.name
        assert wizard.actor is None  # the usual login follows
        assert fresh.squad_id == ctx.squad_id and squad_ready(fresh)
        assert authenticate(fresh, "admin", PASSWORD).role is Role.ADMIN  # the users came along
        assert errors == []
    finally:
        fresh.close()


def test_the_wizard_finishes_a_cut_off_join_and_explains_an_empty_squad(
    qtbot: Any, district: DistrictServer, templates: dict[bool, Path], tmp_path: Path, errors: list[str]
) -> None:
    # A fresh PC enrolled for a squad whose first PC has never synced: nothing to download yet.
    fresh = _fresh(templates, tmp_path / "fresh")
    try:
        with district.transport(fresh) as transport:
            client.enroll(fresh, None, transport, district.url, district.code("新建的中队"))
        assert fresh.squad_id is not None and not squad_ready(fresh)
        wizard = FirstRunWizard(fresh)  # what the next start shows
        qtbot.addWidget(wizard)
        assert wizard.startId() == JOIN and wizard.joining
        assert not wizard.join_page.fields.isEnabled() and "已在区局登记" in wizard.join_page.note.text()
        with qtbot.waitSignal(wizard.sig_join_failed, timeout=WAIT) as failed:
            wizard.accept()
        assert "区局还没有这个中队的数据" in failed.args[0]
        assert errors == []
    finally:
        fresh.close()


def test_bundles_from_the_page(
    qtbot: Any,
    ctx: AppContext,
    admin: Actor,
    district: DistrictServer,
    errors: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _enroll(ctx, admin, district)
    page = _page(qtbot, ctx, admin)
    stick = tmp_path / "stick"
    stick.mkdir()
    outbox = client.status(ctx).outbox
    assert outbox > 0

    # The save dialog: a name typed without the extension gets it.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(stick / "车陂"), ""))
    with qtbot.waitSignal(page.sig_bundle_done, timeout=WAIT) as done:
        assert page.export_bundle() is not None
        assert page.busy and page.sync_now() is None  # one thing at a time
    assert (stick / "车陂.sdbundle").stat().st_size > 0
    assert "已导出离线同步文件“车陂.sdbundle”" in done.args[0] and page.result_label.text() == done.args[0]
    assert client.status(ctx).outbox == outbox  # kept until the district's answer acknowledges it

    # Not the district's answer: refused whole, in a dialog; nothing changes.
    fake = stick / "答复.sdbundle"
    fake.write_bytes(b"PK\x03\x04 not a bundle")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(fake), ""))
    with qtbot.waitSignal(page.sig_bundle_failed, timeout=WAIT) as failed:
        assert page.import_answer() is not None
    assert errors == [failed.args[0]] and failed.args[0]
    assert client.status(ctx).outbox == outbox and not page.busy

    # The district takes the file and answers; importing the answer acknowledges the outbox.
    from app.district.bundles import import_push_bundle

    answer = stick / "车陂-答复.sdbundle"
    with district.admin() as s:
        import_push_bundle(s, stick / "车陂.sdbundle", answer, district.files_dir)
    with qtbot.waitSignal(page.sig_bundle_done, timeout=WAIT) as done:
        assert page.import_answer_from(answer) is not None
    assert done.args[0].startswith("已导入区局回执")
    assert page.outbox_label.text().startswith("0 条")


def test_the_page_uses_the_offline_module_directly() -> None:
    """app.sync.offline ships with the program: no fallback for a program without it."""
    import app.sync.offline
    import ui.sync.page as page_module

    assert page_module.offline is app.sync.offline
    assert not hasattr(page_module, "offline_module") and not hasattr(page_module, "outcome_text")
