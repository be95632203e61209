"""qtbot tests of the 值班排班 page on the demo squad, offscreen, on a real SQLite data folder:
generate the month (OR-Tools off the GUI thread, the outcome shown before it is written), edit a
cell into a violation and see the red flag and the finding, lock a cell and re-solve the rest,
publish, then change a published roster with its reason recorded — and a read-only role.
Confirmations, the reason prompt and the outcome dialog are replaced; nothing waits on a click."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pypdf
import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QApplication, QMessageBox

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext
from app.demo import fill_demo
from app.rosters.checker import Rule
from app.rosters.data import list_changes, month_of
from app.rosters.solver import SolveResult
from ui.rosters import page as page_module
from ui.rosters.models import FLAG_ROLE, LOCK_ROLE
from ui.rosters.page import RostersPage, SolveOutcomeDialog, outcome_text

MONTH = month_of(dt.date.today())


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    from ui.fonts import install_fonts

    install_fonts(qapp)


@pytest.fixture
def demo(bare_ctx: AppContext) -> AppContext:
    fill_demo(bare_ctx)
    return bare_ctx


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    monkeypatch.setattr(page_module, "confirm", lambda *a: True)
    return shown


def _page(qtbot: Any, ctx: AppContext, actor: Actor) -> RostersPage:
    page = RostersPage(ctx, actor)
    qtbot.addWidget(page)
    page.resize(1400, 860)
    page.seconds.setValue(3)
    page.set_month(MONTH)
    return page


def _solve(qtbot: Any, page: RostersPage, monkeypatch: pytest.MonkeyPatch, apply: bool = True) -> SolveResult:
    shown: list[SolveResult] = []

    def answer(result: SolveResult, parent: Any = None) -> bool:
        shown.append(result)
        return apply

    monkeypatch.setattr(SolveOutcomeDialog, "ask", answer)
    with qtbot.waitSignal(page.sig_solved, timeout=60_000) as solved:
        assert page.solve() is not None
    result = solved.args[0]
    assert shown == [result]
    return result


def _select(page: RostersPage, member_id: str, day: dt.date) -> None:
    index = page.model.index_of(member_id, day)
    assert index.isValid()
    page.grid.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)


def test_generate_edit_into_a_violation_lock_and_re_solve(
    qtbot: Any, demo: AppContext, errors: list[str], monkeypatch: pytest.MonkeyPatch, qtmodeltester: Any
) -> None:
    admin = authenticate(demo, "admin", "squad2026")
    page = _page(qtbot, demo, admin)
    assert page.sheet is not None and page.sheet.cells == {}

    # Discarding the outcome writes nothing.
    first = _solve(qtbot, page, monkeypatch, apply=False)
    assert first.feasible and first.assignments
    assert page.sheet.cells == {}

    first = _solve(qtbot, page, monkeypatch)
    sheet = page.sheet
    assert sheet is not None and sheet.violations == ()
    assert sum(len(c) for c in sheet.cells.values()) == len(first.assignments)
    assert "符合全部排班规则" in page.status.text()
    qtmodeltester.check(page.model)

    # A clerk puts someone on leave on the early shift: the cell is framed red at once and the
    # finding names the rule.
    (member_id, day), kind = next(iter(sorted(sheet.leave.items())))
    early = next(s for s in sheet.shifts if s.code == "早")
    index = page.model.index_of(member_id, day)
    assert page.model.setData(index, early.id)
    assert page.model.data(page.model.index_of(member_id, day), FLAG_ROLE) is True
    assert any(v.rule is Rule.ON_LEAVE for v in page.sheet.cell_violations(member_id, day))
    assert any(kind in page.findings.item(i).text() for i in range(page.findings.count()))
    assert "不符合排班规则" in page.status.text()
    # Clearing it clears the flag.
    _select(page, member_id, day)
    assert page.clear_selection()
    assert not page.model.data(page.model.index_of(member_id, day), FLAG_ROLE)
    assert page.sheet.violations == ()

    # Lock one assigned cell, then re-solve the rest: the locked cell stays, little else moves.
    (kept_member, kept_day), kept_cells = next(iter(sorted(page.sheet.cells.items())))
    _select(page, kept_member, kept_day)
    assert page.toggle_lock()
    assert page.model.data(page.model.index_of(kept_member, kept_day), LOCK_ROLE) is True
    again = _solve(qtbot, page, monkeypatch)
    assert again.feasible
    assert again.changes <= len(first.assignments) // 4, again.changed
    after = page.sheet.cells[(kept_member, kept_day)]
    assert [c.code for c in after] == [c.code for c in kept_cells] and all(c.locked for c in after)
    assert page.sheet.violations == ()
    assert errors == []


def test_publish_then_changes_need_a_reason_and_are_recorded(
    qtbot: Any, demo: AppContext, errors: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = authenticate(demo, "admin", "squad2026")
    page = _page(qtbot, demo, admin)
    _solve(qtbot, page, monkeypatch)
    assert page.publish()
    assert page.sheet is not None and page.sheet.published
    assert "已发布第 1 版" in page.status.text()

    (member_id, day), _cells = next(iter(sorted(page.sheet.cells.items())))
    _select(page, member_id, day)
    # Cancelling the reason prompt changes nothing.
    monkeypatch.setattr(page_module, "ask_reason", lambda parent, month: None)
    assert not page.clear_selection()
    assert page.sheet.cells.get((member_id, day))
    monkeypatch.setattr(page_module, "ask_reason", lambda parent, month: "队员临时出差")
    assert page.clear_selection()
    assert not page.sheet.cells.get((member_id, day))
    assert page.changes.rowCount() == 1
    assert page.changes.item(0, 5).text() == "队员临时出差"
    with demo.read() as s:
        recorded = list_changes(s, admin, page.sheet.roster.id)  # type: ignore[union-attr]
    assert [(c.member_id, c.day, c.after_code, c.reason) for c in recorded] == [
        (member_id, day, "", "队员临时出差")
    ]
    assert errors == []


def test_the_leader_publishes_but_does_not_edit_and_the_legal_reviewer_only_reads(
    qtbot: Any, demo: AppContext
) -> None:
    leader = _page(qtbot, demo, authenticate(demo, "duizhang", "squad2026"))
    assert leader.publish_button.isEnabled() and not leader.solve_button.isEnabled()
    assert "编排值班表" in leader.solve_button.toolTip()
    assert not leader.model.editable
    reviewer = _page(qtbot, demo, authenticate(demo, "fazhi", "squad2026"))
    assert not reviewer.publish_button.isEnabled() and not reviewer.lock_button.isEnabled()
    assert "发布值班表" in reviewer.publish_button.toolTip()


def test_the_outcome_names_shortages_when_the_month_cannot_be_kept(demo: AppContext) -> None:
    from app.rosters.data import DemandInput, list_shift_types, set_demand
    from app.rosters.month import solve_month

    admin = authenticate(demo, "admin", "squad2026")
    day = dt.date.fromisoformat(MONTH + "-01") + dt.timedelta(days=9)
    with demo.unit_of_work(admin, "需求") as s:
        night = next(t for t in list_shift_types(s, admin) if t.code == "夜")
        set_demand(s, admin, night.id, day, day, DemandInput(headcount=60, min_certified=60))
    with demo.read() as s:
        result = solve_month(s, admin, MONTH, seconds=5, seed=1)
    text = outcome_text(result)
    assert not result.feasible and result.assignments
    assert f"{day.month}月{day.day}日" in text and "无法同时满足" in text
    assert "应用后将在排班表中标红" in text


def test_print_and_excel_export_from_the_page(
    qtbot: Any, demo: AppContext, errors: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    admin = authenticate(demo, "admin", "squad2026")
    page = _page(qtbot, demo, admin)
    _solve(qtbot, page, monkeypatch)
    shown: list[tuple[bytes, str]] = []
    monkeypatch.setattr(
        page_module.PdfPreview,
        "show_pdf",
        lambda pdf, title, note="", parent=None: shown.append((pdf, title)),
    )
    page.print_roster()
    page.print_duty_table()
    assert [title for _, title in shown] == [
        f"{page_module.month_title(MONTH)}排班表",
        f"{page_module.month_title(MONTH)}值班安排表",
    ]
    roster = pypdf.PdfReader(io.BytesIO(shown[0][0]))
    first = roster.pages[0]
    assert first.mediabox.width > first.mediabox.height  # A4 landscape
    assert page.sheet is not None and page.sheet.people[0].name in first.extract_text()

    target = tmp_path / "排班"
    monkeypatch.setattr(page_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    saved = page.export_excel()
    assert saved == tmp_path / "排班.xlsx" and saved.exists()
    book = openpyxl.load_workbook(saved)
    assert "排班表" in book.sheetnames
    assert errors == []
