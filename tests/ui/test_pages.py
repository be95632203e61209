"""qtbot tests of the certificate ledger, training, audit log and settings pages, driven offscreen
against real SQLite data folders. Dialogs are filled and saved through their own save methods,
never through a blocking exec(); message boxes are replaced so that nothing waits on a click."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.audit import list_entries
from app.auth.roles import Actor, Role
from app.auth.service import authenticate, create_user, list_users
from app.certificates import Alert, CertificateKind, CertificateState, list_certificates
from app.context import AppContext, open_data_dir
from app.demo import DEMO_ADMIN, fill_demo
from app.settings import load_settings
from app.squad import get_squad
from app.training import list_training, yearly_hours
from ui.audit.page import AuditPage
from ui.certificates.dialogs import CertificateDialog, HistoryDialog, ReviewDialog, StateDialog
from ui.certificates.models import CertificateModel
from ui.certificates.page import CertificatesPage
from ui.settings.dialogs import PasswordDialog, UserDialog
from ui.settings.page import SettingsPage
from ui.training.dialogs import TrainingDialog
from ui.training.page import TrainingPage


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    from ui.fonts import install_fonts

    install_fonts(qapp)


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every error dialog the code tried to show, instead of a modal box waiting for a click."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    return shown


@pytest.fixture
def demo(bare_ctx: AppContext) -> tuple[AppContext, Actor]:
    """The demo squad (about 40 members with certificates and training), logged in as admin."""
    fill_demo(bare_ctx)
    return bare_ctx, authenticate(bare_ctx, DEMO_ADMIN[0], DEMO_ADMIN[2])


def make(qtbot: Any, cls: Callable[[AppContext, Actor], QWidget], ctx: AppContext, actor: Actor) -> Any:
    page = cls(ctx, actor)
    qtbot.addWidget(page)
    page.resize(1030, 700)
    page.refresh()
    return page


def find_row(model: CertificateModel, predicate: Callable[[Any], bool]) -> int:
    row = model.find(predicate)
    assert row >= 0
    return row


# --- 执法证台账 -------------------------------------------------------------------------------


def test_certificate_ledger_loads_every_certificate(qtbot, demo, qtmodeltester, errors) -> None:
    ctx, admin = demo
    page = make(qtbot, CertificatesPage, ctx, admin)
    with ctx.read() as s:
        expected = list_certificates(s, admin, ctx.settings)
    assert page.model.rowCount() == len(expected) > 30
    assert page.model.headerData(8, Qt.Orientation.Horizontal) == "提醒"
    qtmodeltester.check(page.model)
    assert errors == []


def test_certificate_ledger_colours_alerts(qtbot, demo) -> None:
    ctx, admin = demo
    page = make(qtbot, CertificatesPage, ctx, admin)
    model = page.model
    red = find_row(model, lambda c: c.alert is Alert.RED)
    amber = find_row(model, lambda c: c.alert is Alert.AMBER)
    calm = find_row(model, lambda c: c.alert is Alert.NONE)
    assert model.data(model.index(red, 0), Qt.ItemDataRole.BackgroundRole) == QColor("#ffebee")
    assert model.data(model.index(amber, 3), Qt.ItemDataRole.BackgroundRole) == QColor("#fff8e1")
    assert model.data(model.index(calm, 0), Qt.ItemDataRole.BackgroundRole) is None
    alert_icon = model.data(model.index(red, CertificateModel.ALERT_COLUMN), Qt.ItemDataRole.DecorationRole)
    assert alert_icon is not None and not alert_icon.isNull()
    assert model.data(model.index(red, CertificateModel.ALERT_COLUMN)) == model.row_at(red).alert_text != ""


def test_only_alerts_filter_and_search(qtbot, demo) -> None:
    ctx, admin = demo
    page = make(qtbot, CertificatesPage, ctx, admin)
    everything = page.model.rowCount()
    page.only_alerts.setChecked(True)  # reloads at once
    flagged = page.model.rowCount()
    assert 0 < flagged < everything
    assert all(c.alert is not Alert.NONE for c in page.model.rows())
    page.only_alerts.setChecked(False)
    name = page.model.row_at(0).member_name
    page.search.setText(name)  # reloads after a short pause in typing
    qtbot.waitUntil(lambda: page.model.rowCount() < everything)
    assert {c.member_name for c in page.model.rows()} == {name}


def test_adding_a_certificate_through_the_dialog(qtbot, demo, errors) -> None:
    ctx, admin = demo
    dialog = CertificateDialog(ctx, admin)
    qtbot.addWidget(dialog)
    member = dialog.member.itemText(3)
    dialog.member.setCurrentText(member)
    dialog.kind.setCurrentIndex(dialog.kind.findData(CertificateKind.LEGAL))
    assert dialog.valid_to.value() is None  # 法律职业资格 does not expire
    dialog.number.setText("A20231234567890")
    dialog.issuer.setText("中华人民共和国司法部")
    assert dialog.save()
    assert errors == []
    with ctx.read() as s:
        saved = [c for c in list_certificates(s, admin, ctx.settings) if c.id == dialog.saved_id]
    assert len(saved) == 1
    assert saved[0].kind is CertificateKind.LEGAL and saved[0].valid_to is None
    assert member.startswith(saved[0].member_name)


def test_certificate_dialog_keeps_input_on_error(qtbot, demo, errors) -> None:
    ctx, admin = demo
    dialog = CertificateDialog(ctx, admin)
    qtbot.addWidget(dialog)
    dialog.member.setCurrentText(dialog.member.itemText(0))
    dialog.issuer.setText("广州市人民政府")
    assert not dialog.save()  # no number
    assert errors == ["请填写证件编号。"]
    assert dialog.result() == 0 and dialog.saved_id is None
    assert dialog.issuer.text() == "广州市人民政府"


def test_page_add_button_runs_the_dialog(qtbot, demo, errors, monkeypatch) -> None:
    """The real modal dialog, filled and saved by a timer once it is open."""
    ctx, admin = demo
    page = make(qtbot, CertificatesPage, ctx, admin)
    before = page.model.rowCount()

    def fill() -> None:
        dialog = next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, CertificateDialog) and w.isVisible()),
            None,
        )
        if dialog is None:  # not on screen yet
            QTimer.singleShot(10, fill)
            return
        try:
            dialog.member.setCurrentText(dialog.member.itemText(5))
            dialog.number.setText("粤44019999999")
            dialog.save()
        finally:
            if dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, fill)
    page.add_certificate()
    assert errors == []
    assert page.model.rowCount() == before + 1
    assert page.selected() is not None and page.selected().number == "粤44019999999"


def test_edit_review_state_and_history(qtbot, demo, errors) -> None:
    ctx, admin = demo
    page = make(qtbot, CertificatesPage, ctx, admin)
    row = find_row(page.model, lambda c: c.alert is Alert.NONE and c.kind is CertificateKind.ENFORCEMENT)
    cert = page.model.row_at(row)

    edit = CertificateDialog(ctx, admin, cert)
    qtbot.addWidget(edit)
    edit.issuer.setText("广州市天河区人民政府")
    assert edit.save()
    stale = CertificateDialog(ctx, admin, cert)  # still holds the old version
    qtbot.addWidget(stale)
    stale.scope.setText("市容环境卫生")
    assert not stale.save()
    assert "刚被他人修改过" in errors.pop() and stale.scope.text() == "市容环境卫生"

    review = ReviewDialog(ctx, admin, cert)
    qtbot.addWidget(review)
    review.passed.setCurrentIndex(1)
    review.note.setText("学时不足，限期补训")
    assert review.save() and review.result_value is not None and not review.result_value.passed

    state = StateDialog(ctx, admin, cert)
    qtbot.addWidget(state)
    assert state.state.currentData() == CertificateState.SUSPENDED
    state.note.setText("暂扣待查")
    assert state.save()
    assert errors == []

    page.refresh()
    changed = page.model.row_at(find_row(page.model, lambda c: c.id == cert.id))
    assert changed.state is CertificateState.SUSPENDED and changed.alert is Alert.RED
    assert changed.issuer == "广州市天河区人民政府"

    history = HistoryDialog(ctx, admin, changed)
    qtbot.addWidget(history)
    assert any(not r.passed for r in history.reviews.rows())
    kinds = [e.kind for e in history.events.rows()]
    assert kinds[0] == "issued" and "state" in kinds
    for model in (history.reviews, history.events):
        assert model.rowCount() > 0


def test_history_models_pass_the_model_tester(qtbot, demo, qtmodeltester) -> None:
    ctx, admin = demo
    page = make(qtbot, CertificatesPage, ctx, admin)
    cert = page.model.row_at(find_row(page.model, lambda c: c.state is CertificateState.SUSPENDED))
    dialog = HistoryDialog(ctx, admin, cert)
    qtbot.addWidget(dialog)
    qtmodeltester.check(dialog.reviews)
    qtmodeltester.check(dialog.events)


def test_sorting_by_a_column_keeps_the_selection(qtbot, demo) -> None:
    ctx, admin = demo
    page = make(qtbot, CertificatesPage, ctx, admin)
    page.view.selectRow(0)
    chosen = page.selected()
    page.view.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    numbers = [c.number for c in page.model.rows()]
    assert numbers == sorted(numbers)
    assert page.selected() == chosen


# --- 培训记录 ---------------------------------------------------------------------------------


def test_training_page_lists_records_and_highlights_short_hours(qtbot, demo, qtmodeltester) -> None:
    ctx, admin = demo
    page = make(qtbot, TrainingPage, ctx, admin)
    year = dt.date.today().year
    with ctx.read() as s:
        records = list_training(s, admin, year)
        hours = yearly_hours(s, admin, year, ctx.settings.training_min_hours)
    assert page.records.rowCount() == len(records) > 0
    assert page.hours.rowCount() == len(hours) > 0
    assert page.minimum.text() == "每人每年至少 40 学时"
    short = page.hours.find(lambda h: h.short > 0)
    done = page.hours.find(lambda h: h.short == 0)
    assert short >= 0 and done >= 0
    assert page.hours.data(page.hours.index(short, 2), Qt.ItemDataRole.BackgroundRole) == QColor("#fff8e1")
    assert page.hours.data(page.hours.index(done, 2), Qt.ItemDataRole.BackgroundRole) is None
    qtmodeltester.check(page.records)
    qtmodeltester.check(page.hours)

    page.year.setValue(year - 1)  # no demo training last year
    assert page.records.rowCount() == 0
    assert all(h.hours == 0 for h in page.hours.rows())


def test_training_add_for_several_members_and_delete(qtbot, demo, errors, monkeypatch) -> None:
    ctx, admin = demo
    page = make(qtbot, TrainingPage, ctx, admin)
    before = page.records.rowCount()
    dialog = TrainingDialog(ctx, admin)
    qtbot.addWidget(dialog)
    ids = [dialog.members.item(r).data(Qt.ItemDataRole.UserRole) for r in (0, 1, 2)]
    dialog.set_checked(ids)
    assert dialog.count.text() == "已选 3 人"
    dialog.course.setCurrentText("安全生产执法专题")
    dialog.hours.setValue(3.5)
    assert dialog.save()
    assert errors == [] and len(dialog.saved_ids) == 3
    page.refresh()
    assert page.records.rowCount() == before + 3

    monkeypatch.setattr("ui.training.page.confirm", lambda *a: True)
    row = page.records.find(lambda r: r.course == "安全生产执法专题")
    page.records_view.selectRow(row)
    page.delete_selected()
    assert page.records.rowCount() == before + 2

    page._filter_to_member(page.hours.index(0, 0))
    member = page.hours.row_at(0)
    assert page.member_filter is not None
    assert {r.member_id for r in page.records.rows()} <= {member.member_id}


def test_training_dialog_needs_a_member(qtbot, demo, errors) -> None:
    ctx, admin = demo
    dialog = TrainingDialog(ctx, admin)
    qtbot.addWidget(dialog)
    dialog.course.setCurrentText("行政处罚法")
    assert not dialog.save()
    assert errors == ["请勾选参加培训的队员。"]
    assert dialog.course.currentText() == "行政处罚法"


# --- 审计日志 ---------------------------------------------------------------------------------


def test_audit_page_lists_pages_and_shows_detail(qtbot, demo, qtmodeltester, monkeypatch) -> None:
    ctx, admin = demo
    monkeypatch.setattr("ui.audit.page.PAGE_SIZE", 100)
    page = make(qtbot, AuditPage, ctx, admin)
    with ctx.read() as s:
        total = len(list_entries(s, admin, limit=100_000))
    assert page.model.rowCount() == 100 < total
    assert page.more_button.isEnabled()
    while page.more_button.isEnabled():
        page.load_more()
    assert page.model.rowCount() == total
    seqs = [e.seq for e in page.model.rows()]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == total
    qtmodeltester.check(page.model)

    row = page.model.find(lambda e: e.action == "update")
    page.view.selectRow(row)
    entry = page.model.row_at(row)
    assert json.loads(page.after.toPlainText()) == entry.after
    assert json.loads(page.before.toPlainText()) == entry.before
    assert entry.changed_fields and page.model.data(page.model.index(row, 5)) == "、".join(
        entry.changed_labels
    )

    page.search.setText("登录成功")
    qtbot.waitUntil(lambda: page.model.rowCount() < 100)
    assert {e.action for e in page.model.rows()} == {"login"}


def test_audit_verify_runs_in_the_background(qtbot, demo) -> None:
    ctx, admin = demo
    page = make(qtbot, AuditPage, ctx, admin)
    reports: list[Any] = []
    page.sig_verified.connect(reports.append)
    task = page.start_verify()
    assert not page.verify_button.isEnabled()
    with qtbot.waitSignal(task.sig_finished, timeout=20_000):
        pass
    assert len(reports) == 1 and reports[0].ok and reports[0].entries > 0
    assert page.report_box is not None and "审计日志完整" in page.report_box.text()
    assert page.verify_button.isEnabled()
    page.report_box.close()


def test_audit_verify_reports_data_changed_behind_the_programs_back(qtbot, demo) -> None:
    ctx, admin = demo
    with sqlite3.connect(ctx.db_path) as raw:
        raw.execute("UPDATE members SET phone = '13800000000' WHERE rowid = 1")
    page = make(qtbot, AuditPage, ctx, admin)
    with qtbot.waitSignal(page.sig_verified, timeout=20_000) as blocker:
        page.start_verify()
    assert not blocker.args[0].ok
    assert page.report_box is not None
    assert page.report_box.icon() == QMessageBox.Icon.Warning
    assert "程序之外被修改过" in page.report_box.text()
    page.report_box.close()


# --- 系统设置 ---------------------------------------------------------------------------------


def test_settings_page_saves_options_to_settings_json(qtbot, ctx, admin, errors) -> None:
    page = make(qtbot, SettingsPage, ctx, admin)
    assert [page.tabs.tabText(i) for i in range(page.tabs.count())] == [
        "中队信息",
        "选项",
        "备份与恢复",
        "用户管理",
        "我的账户",
    ]
    options = page.options
    assert options.cert_warn_days.value() == 90
    options.cert_warn_days.setValue(120)
    options.training_min_hours.setValue(48)
    options.auto_backup.setChecked(False)
    assert options.save()
    saved = load_settings(ctx.data_dir)
    assert (saved.cert_warn_days, saved.training_min_hours, saved.auto_backup) == (120, 48.0, False)
    assert ctx.settings == saved
    assert errors == []

    options.cert_urgent_days.setValue(200)  # more than the amber warning: refused
    assert not options.save()
    assert len(errors) == 1 and load_settings(ctx.data_dir).cert_urgent_days == 30


def test_settings_page_edits_the_squad(qtbot, ctx, admin, errors) -> None:
    page = make(qtbot, SettingsPage, ctx, admin)
    assert page.squad.name.text() == "车陂街综合行政执法队"
    page.squad.name.setText("车陂街综合行政执法中队")
    assert page.squad.save()
    page.squad.district.setText("4401")
    assert not page.squad.save()
    assert "区划代码" in errors[0]
    with ctx.read() as s:
        squad = get_squad(s, ctx.require_squad())
    assert squad.name == "车陂街综合行政执法中队" and squad.district_code == "440106"


def test_settings_page_manages_users(qtbot, ctx, admin, errors, monkeypatch, qtmodeltester) -> None:
    page = make(qtbot, SettingsPage, ctx, admin)
    assert page.users is not None
    assert page.users.model.rowCount() == 1
    dialog = UserDialog(ctx, admin)
    qtbot.addWidget(dialog)
    dialog.username.setText("zhangsan")
    dialog.display_name.setText("张三")
    dialog.role.setCurrentIndex(dialog.role.findData(Role.CLERK))
    dialog.password.setText("abc12345")
    dialog.again.setText("abc12346")
    assert not dialog.save() and "不一致" in errors.pop()
    dialog.again.setText("abc12345")
    assert dialog.save() and errors == []
    page.refresh()
    assert page.users.model.rowCount() == 2

    row = page.users.model.find(lambda u: u.username == "zhangsan")
    page.users.view.selectRow(row)
    assert page.users.toggle_button.text() == "停用"
    monkeypatch.setattr("ui.settings.page.confirm", lambda *a: True)
    page.users.toggle_active()
    with ctx.read() as s:
        assert not next(u for u in list_users(s, admin) if u.username == "zhangsan").active
    assert page.users.toggle_button.text() == "启用"

    reset = PasswordDialog(ctx, admin, page.users.selected().id, "张三")
    qtbot.addWidget(reset)
    reset.password.setText("new12345")
    reset.again.setText("new12345")
    assert reset.save()
    own = PasswordDialog(ctx, admin, admin.user_id, admin.display_name)
    qtbot.addWidget(own)
    own.current.setText("wrong123")
    own.password.setText("new12345")
    own.again.setText("new12345")
    assert not own.save() and errors.pop() == "当前密码不正确。"
    qtmodeltester.check(page.users.model)


def test_settings_backup_runs_as_a_task_and_restore_replaces_the_data(
    qtbot, ctx, admin, errors, monkeypatch, qtmodeltester
) -> None:
    page = make(qtbot, SettingsPage, ctx, admin)
    backup = page.backup
    assert backup is not None and backup.model.rowCount() == 0
    with qtbot.waitSignal(backup.sig_backed_up, timeout=20_000) as blocker:
        backup.start_backup()
    info = blocker.args[0]
    assert info.path.exists() and backup.model.rowCount() == 1
    qtmodeltester.check(backup.model)
    with ctx.read() as s:
        assert list_entries(s, admin, limit=1)[0].action == "backup"

    with ctx.unit_of_work(admin, "备份之后") as s:
        create_user(s, admin, "later", "后来者", Role.OFFICER, "later1234")
    quits: list[bool] = []
    monkeypatch.setattr("ui.settings.page.confirm", lambda *a: True)
    monkeypatch.setattr(QMessageBox, "information", lambda *a: None)
    monkeypatch.setattr(QApplication, "quit", lambda: quits.append(True))
    backup.view.selectRow(0)
    backup.restore_selected()
    assert errors == [] and quits == [True]
    reopened = open_data_dir(ctx.data_dir)
    try:
        with reopened.read() as s:
            assert [u.username for u in list_users(s, admin)] == ["admin"]
            assert list_entries(s, admin, limit=1)[0].action == "restore"
    finally:
        reopened.close()
    assert any(p.name.startswith("before-restore-") for p in ctx.backup_dir.iterdir())


def test_restore_refuses_a_file_that_is_not_a_backup(qtbot, ctx, admin, errors, tmp_path: Path) -> None:
    page = make(qtbot, SettingsPage, ctx, admin)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database")
    assert not page.backup.restore_from(junk)
    assert len(errors) == 1 and "junk.sqlite3" in errors[0]


# --- permissions ------------------------------------------------------------------------------


def test_an_officer_sees_the_edit_buttons_disabled(qtbot, ctx, actors) -> None:
    officer = actors[Role.OFFICER]
    certificates = make(qtbot, CertificatesPage, ctx, officer)
    for button in (
        certificates.add_button,
        certificates.edit_button,
        certificates.review_button,
        certificates.state_button,
    ):
        assert not button.isEnabled()
    assert "编辑执法证信息" in certificates.add_button.toolTip()
    training = make(qtbot, TrainingPage, ctx, officer)
    assert not training.add_button.isEnabled() and "编辑培训记录" in training.add_button.toolTip()
    settings = make(qtbot, SettingsPage, ctx, officer)
    assert [settings.tabs.tabText(i) for i in range(settings.tabs.count())] == [
        "中队信息",
        "选项",
        "我的账户",
    ]
    assert not settings.squad.save_button.isEnabled() and settings.squad.name.isReadOnly()
    assert "修改系统设置" in settings.options.save_button.toolTip()
    assert not settings.options.cert_warn_days.isEnabled()


def test_a_clerk_may_back_up_but_not_restore(qtbot, ctx, actors) -> None:
    settings = make(qtbot, SettingsPage, ctx, actors[Role.CLERK])
    assert settings.backup is not None and settings.users is None
    assert settings.backup.backup_button.isEnabled()
    assert not settings.backup.restore_file_button.isEnabled()
    assert "恢复数据" in settings.backup.restore_file_button.toolTip()


# --- the pages as a clerk sees them -----------------------------------------------------------


@pytest.mark.parametrize("cls", [CertificatesPage, TrainingPage, AuditPage, SettingsPage])
def test_pages_render_with_demo_data(qtbot, demo, cls, tmp_path: Path) -> None:
    ctx, admin = demo
    page = make(qtbot, cls, ctx, admin)
    page.show()
    qtbot.waitExposed(page)
    shot = tmp_path / f"shot_{cls.__name__}.png"
    assert page.grab().save(str(shot))
    assert shot.stat().st_size > 10_000
