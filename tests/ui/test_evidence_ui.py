"""qtbot tests of the evidence tab of the case workspace (证据), on the demo squad's real SQLite
data folder and real files in its content store, offscreen. No dialog is run with exec()."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import select

from app.auth.roles import Actor, Permission
from app.auth.service import authenticate
from app.cases import CaseStage
from app.cases.evidence import EvidenceKind, EvidenceView, add_evidence, list_evidence
from app.context import AppContext
from app.demo import fill_demo
from app.files import files_dir, path_of
from db.models import Case, Lead, Member
from ui.cases import evidence as evidence_ui
from ui.cases.evidence import PROBLEM_BACKGROUND, EvidenceDialog, EvidencePanel, guess_kind
from ui.cases.workspace import CaseWorkspace
from ui.leads.dialogs import to_qdatetime


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    from ui.fonts import install_fonts

    install_fonts(qapp)


@pytest.fixture
def demo(bare_ctx: AppContext) -> AppContext:
    fill_demo(bare_ctx)
    return bare_ctx


@pytest.fixture
def clerk(demo: AppContext) -> Actor:
    return authenticate(demo, "neiqin", "squad2026")  # 内勤: handles cases


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every error dialog the code tried to show, instead of a modal box waiting for a click."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    return shown


def png(tmp_path: Path, name: str, color: str = "#1e88e5") -> Path:
    image = QImage(640, 480, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    path = tmp_path / name
    assert image.save(str(path), "PNG")
    return path


def open_case_with_lead(ctx: AppContext) -> tuple[str, dt.datetime]:
    """A demo case still being handled, and when its lead was received."""
    with ctx.read() as s:
        case, received = s.execute(
            select(Case, Lead.received_at)
            .join(Lead, Lead.id == Case.lead_id)
            .where(Case.stage == CaseStage.FILED.value)
            .limit(1)
        ).one()
        return case.id, received


def a_member(ctx: AppContext) -> str:
    with ctx.read() as s:
        member_id = s.scalars(select(Member.id).where(Member.deleted.is_(False))).first()
    assert member_id is not None
    return member_id


def _collected(received: dt.datetime) -> dt.datetime:
    return min(received + dt.timedelta(hours=1), dt.datetime.now().replace(second=0, microsecond=0))


def test_workspace_lists_evidence_with_a_thumbnail_and_the_dialog_adds_one(
    qtbot: Any, demo: AppContext, clerk: Actor, tmp_path: Path, errors: list[str]
) -> None:
    case_id, received = open_case_with_lead(demo)
    store = files_dir(demo.data_dir)
    collector = a_member(demo)
    with demo.unit_of_work(clerk, "添加证据") as s:
        add_evidence(
            s,
            clerk,
            case_id,
            png(tmp_path, "现场.png"),
            EvidenceKind.PHOTO,
            "占道堆放建材现场照片",
            collector,
            _collected(received),
            "执法记录仪 3 号",
            store,
        )

    workspace = CaseWorkspace(demo, clerk, case_id)
    qtbot.addWidget(workspace)
    workspace.tabs.setCurrentWidget(workspace.evidence)
    table = workspace.evidence.table
    assert table.rowCount() == 1
    assert [table.item(0, c).text() for c in (0, 2, 3, 6, 7)] == [
        "1",
        "照片",
        "占道堆放建材现场照片",
        "执法记录仪 3 号",
        "现场.png",
    ]
    assert table.item(0, 4).text()  # the collector's name
    assert not table.item(0, 1).icon().isNull()
    assert workspace.evidence.add_button.isEnabled()

    # The add dialog's save path, driven without exec(): saving runs in the background task.
    second = png(tmp_path, "IMG_0002.png", "#e53935")
    assert guess_kind(second) is EvidenceKind.PHOTO
    dialog = EvidenceDialog(demo, clerk, workspace.case, second)
    qtbot.addWidget(dialog)
    assert dialog.kind.currentData() == EvidenceKind.PHOTO.value
    dialog.description.setPlainText("当事人堆放物料近景")
    dialog.collector.setCurrentIndex(0)
    dialog.collected_at.setDateTime(to_qdatetime(_collected(received)))
    dialog.device.setText("华为 P60 手机")
    with qtbot.waitSignal(dialog.sig_saved, timeout=20_000):
        assert dialog.save() is not None
    assert errors == []
    assert dialog.saved is not None and dialog.saved.order == 2 and dialog.result() == 1
    assert path_of(store, dialog.saved.sha256).read_bytes() == second.read_bytes()
    workspace.evidence.refresh()
    assert table.rowCount() == 2 and table.item(1, 3).text() == "当事人堆放物料近景"
    assert not table.item(1, 1).icon().isNull()


def test_dialog_keeps_input_when_refused_and_add_button_needs_the_permission(
    qtbot: Any, demo: AppContext, clerk: Actor, tmp_path: Path, errors: list[str]
) -> None:
    case_id, _received = open_case_with_lead(demo)
    workspace = CaseWorkspace(demo, clerk, case_id)
    qtbot.addWidget(workspace)
    dialog = EvidenceDialog(demo, clerk, workspace.case, png(tmp_path, "a.png"))
    qtbot.addWidget(dialog)
    dialog.collector.setCurrentIndex(0)
    task = dialog.save()  # no description
    assert task is not None
    with qtbot.waitSignal(task.sig_finished, timeout=20_000):
        pass
    assert len(errors) == 1 and "请填写证据说明" in errors[0]
    assert dialog.button_box.isEnabled() and dialog.saved is None

    leader = authenticate(demo, "duizhang", "squad2026")  # approves, does not handle cases
    other = CaseWorkspace(demo, leader, case_id)
    qtbot.addWidget(other)
    assert not other.evidence.add_button.isEnabled()
    assert "办理案件" in other.evidence.add_button.toolTip()


def test_choose_file_adds_through_the_dialog_and_refreshes(
    qtbot: Any, demo: AppContext, clerk: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, received = open_case_with_lead(demo)
    workspace = CaseWorkspace(demo, clerk, case_id)
    qtbot.addWidget(workspace)
    picture = png(tmp_path, "b.png")
    monkeypatch.setattr(evidence_ui.QFileDialog, "getOpenFileName", lambda *a: (str(picture), ""))
    asked: list[Path] = []

    def fake_ask(ctx: AppContext, actor: Actor, case: Any, path: Path, parent: Any) -> EvidenceView:
        # What the dialog would save, without its blocking exec().
        asked.append(path)
        collector = a_member(ctx)
        with ctx.unit_of_work(actor, "添加证据") as s:
            return add_evidence(
                s,
                actor,
                case.id,
                path,
                EvidenceKind.SCAN,
                "书证扫描件",
                collector,
                _collected(received),
                "",
                files_dir(ctx.data_dir),
            )

    monkeypatch.setattr(EvidenceDialog, "ask", staticmethod(fake_ask))
    workspace.evidence.choose_file()
    assert asked == [picture]
    assert workspace.evidence.table.rowCount() == 1
    with demo.read() as s:
        assert [e.kind for e in list_evidence(s, clerk, case_id)] == [EvidenceKind.SCAN]


# --- 上移 / 下移 / 移除 / 核验文件 ---------------------------------------------------------------


def add_three(
    ctx: AppContext, clerk: Actor, case_id: str, received: dt.datetime, tmp_path: Path
) -> list[EvidenceView]:
    """Three photos of the case, in dossier order 1, 2, 3 (different colours, so different files)."""
    collector = a_member(ctx)
    added = []
    with ctx.unit_of_work(clerk, "添加证据") as s:
        for name, color, text in (
            ("1.png", "#1e88e5", "现场全景"),
            ("2.png", "#e53935", "占道物品近景"),
            ("3.png", "#43a047", "整改后现场"),
        ):
            added.append(
                add_evidence(
                    s,
                    clerk,
                    case_id,
                    png(tmp_path, name, color),
                    EvidenceKind.PHOTO,
                    text,
                    collector,
                    _collected(received),
                    "执法记录仪 3 号",
                    files_dir(ctx.data_dir),
                )
            )
    return added


def open_workspace(qtbot: Any, ctx: AppContext, actor: Actor, case_id: str) -> CaseWorkspace:
    """The case's workspace on its evidence tab (keep the workspace: qtbot holds it weakly)."""
    workspace = CaseWorkspace(ctx, actor, case_id)
    qtbot.addWidget(workspace)
    workspace.tabs.setCurrentWidget(workspace.evidence)
    return workspace


def descriptions(panel: EvidencePanel) -> list[str]:
    return [panel.table.item(row, 3).text() for row in range(panel.table.rowCount())]


def stored(ctx: AppContext, actor: Actor, case_id: str) -> list[str]:
    with ctx.read() as s:
        return [e.description for e in list_evidence(s, actor, case_id)]


def test_up_and_down_reorder_the_dossier_and_keep_the_moved_row_selected(
    qtbot: Any, demo: AppContext, clerk: Actor, tmp_path: Path, errors: list[str]
) -> None:
    case_id, received = open_case_with_lead(demo)
    first, second, third = add_three(demo, clerk, case_id, received, tmp_path)
    workspace = open_workspace(qtbot, demo, clerk, case_id)
    panel = workspace.evidence
    assert not any(b.isEnabled() for b in (panel.up_button, panel.down_button, panel.remove_button))

    panel.table.selectRow(0)
    assert not panel.up_button.isEnabled() and panel.down_button.isEnabled()
    panel.down_button.click()
    assert descriptions(panel) == ["占道物品近景", "现场全景", "整改后现场"]
    assert [panel.table.item(r, 0).text() for r in range(3)] == ["1", "2", "3"]
    assert panel.selected_row() == 1 and panel.selected() is not None and panel.selected().id == first.id
    panel.down_button.click()
    assert descriptions(panel) == ["占道物品近景", "整改后现场", "现场全景"]
    assert panel.selected_row() == 2 and not panel.down_button.isEnabled()
    assert stored(demo, clerk, case_id) == descriptions(panel)

    panel.select(second.id)
    panel.up_button.click()  # already first: nothing to do
    assert panel.selected_row() == 0 and not panel.up_button.isEnabled()
    panel.select(third.id)
    panel.up_button.click()
    assert descriptions(panel) == ["整改后现场", "占道物品近景", "现场全景"]
    assert panel.selected() is not None and panel.selected().id == third.id
    assert stored(demo, clerk, case_id) == descriptions(panel)
    assert errors == []


def test_remove_asks_first_names_the_item_and_renumbers(
    qtbot: Any,
    demo: AppContext,
    clerk: Actor,
    tmp_path: Path,
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id, received = open_case_with_lead(demo)
    add_three(demo, clerk, case_id, received, tmp_path)
    workspace = open_workspace(qtbot, demo, clerk, case_id)
    panel = workspace.evidence
    asked: list[str] = []
    answer = [False]

    def fake_confirm(parent: Any, title: str, text: str) -> bool:
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(evidence_ui, "confirm", fake_confirm)
    panel.table.selectRow(1)
    panel.remove_button.click()  # declined
    assert "第 2 号证据“占道物品近景”" in asked[0] and panel.table.rowCount() == 3

    answer[0] = True
    panel.remove_button.click()
    assert len(asked) == 2
    assert descriptions(panel) == ["现场全景", "整改后现场"]
    assert [panel.table.item(r, 0).text() for r in range(2)] == ["1", "2"]
    assert panel.selected_row() == 1  # the item that took its place
    assert stored(demo, clerk, case_id) == ["现场全景", "整改后现场"]

    # The case was closed meanwhile (the panel still shows it open): the service's refusal is shown.
    with demo.unit_of_work(clerk, "结案") as s:
        s.get(Case, case_id).stage = CaseStage.CLOSED.value
    panel.table.selectRow(0)
    panel.remove_button.click()
    assert len(errors) == 1 and "案卷不能再删除证据" in errors[0] and "重新办理" in errors[0]
    assert stored(demo, clerk, case_id) == ["现场全景", "整改后现场"]

    reopened = open_workspace(qtbot, demo, clerk, case_id)  # opened afresh: the buttons say so at once
    closed = reopened.evidence
    closed.table.selectRow(0)
    assert not closed.remove_button.isEnabled() and not closed.down_button.isEnabled()
    assert "已结案" in closed.remove_button.toolTip()
    assert closed.verify_button.isEnabled()  # checking a final dossier is what it is for


def test_verify_reports_intact_files_then_a_missing_and_an_altered_one(
    qtbot: Any, demo: AppContext, clerk: Actor, tmp_path: Path, errors: list[str]
) -> None:
    case_id, received = open_case_with_lead(demo)
    first, second, third = add_three(demo, clerk, case_id, received, tmp_path)
    workspace = open_workspace(qtbot, demo, clerk, case_id)
    panel = workspace.evidence
    assert panel.verify_button.isEnabled()
    with qtbot.waitSignal(panel.sig_verified, timeout=20_000) as blocker:
        assert panel.verify() is not None
        assert not panel.verify_button.isEnabled() and panel.verify() is None  # one at a time
    assert blocker.args == [[]]
    assert panel.verify_label.text() == "全部 3 件证据文件完好。"
    assert panel.verify_button.isEnabled()

    store = files_dir(demo.data_dir)
    path_of(store, first.sha256).unlink()
    altered = path_of(store, third.sha256)
    os.chmod(altered, stat.S_IREAD | stat.S_IWRITE)  # the store keeps files read-only
    altered.write_bytes(b"not the photo that was collected")
    panel.table.selectRow(1)
    with qtbot.waitSignal(panel.sig_verified, timeout=20_000) as blocker:
        panel.verify()
    problems = blocker.args[0]
    assert [(p.item.id, p.missing) for p in problems] == [(first.id, True), (third.id, False)]
    text = panel.verify_label.text()
    assert "发现 2 件有问题" in text
    assert "第 1 号证据“现场全景”文件缺失" in text and "第 3 号证据“整改后现场”文件内容已被改动" in text
    assert panel.table.item(0, 3).background().color() == PROBLEM_BACKGROUND
    assert panel.table.item(1, 3).background().color() != PROBLEM_BACKGROUND
    assert "文件缺失" in panel.table.item(0, 3).toolTip()
    assert panel.table.item(0, 7).text() == "1.png（文件缺失）"
    assert panel.table.item(2, 7).text() == "3.png（文件已被改动）"
    assert panel.selected() is not None and panel.selected().id == second.id  # selection kept
    assert errors == []

    panel.show()
    qtbot.waitExposed(panel)
    shot = tmp_path / "shot_evidence_verified.png"
    assert panel.grab().save(str(shot)) and shot.stat().st_size > 5_000


def test_the_dossier_buttons_need_the_handle_cases_permission(
    qtbot: Any, demo: AppContext, clerk: Actor, tmp_path: Path
) -> None:
    case_id, received = open_case_with_lead(demo)
    add_three(demo, clerk, case_id, received, tmp_path)
    leader = authenticate(demo, "duizhang", "squad2026")  # approves, does not handle cases
    workspace = open_workspace(qtbot, demo, leader, case_id)
    panel = workspace.evidence
    panel.table.selectRow(1)
    for button in (panel.up_button, panel.down_button, panel.remove_button, panel.verify_button):
        assert not button.isEnabled()
        assert Permission.HANDLE_CASES.label in button.toolTip()
