"""qtbot tests of the evidence tab of the case workspace (证据), on the demo squad's real SQLite
data folder and real files in its content store, offscreen. No dialog is run with exec()."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import select

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.cases import CaseStage
from app.cases.evidence import EvidenceKind, EvidenceView, add_evidence, list_evidence
from app.context import AppContext
from app.demo import fill_demo
from app.files import files_dir, path_of
from db.models import Case, Lead, Member
from ui.cases import evidence as evidence_ui
from ui.cases.evidence import EvidenceDialog, guess_kind
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
