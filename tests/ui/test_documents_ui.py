"""The 文书 tab of the case workspace and the 文书登记 page, offscreen on the demo squad: a draft
previewed unnumbered, a document issued with the next 文号 and its kept PDF shown, printing to
a PDF file through the print path, void and reissue both in the register."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdf
import pytest
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from app.auth.service import authenticate
from app.cases import CaseStage
from app.cases.query import CaseQuery, search_cases
from app.context import AppContext
from app.demo import fill_demo
from ui.cases.workspace import CaseWorkspace
from ui.documents import panel, preview, register
from ui.documents.printing import a4_printer


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
    return shown


@pytest.fixture
def previews(monkeypatch: pytest.MonkeyPatch) -> list[preview.PdfPreview]:
    """Every preview opened, kept instead of shown modally."""
    shown: list[preview.PdfPreview] = []

    def exec_(dialog: preview.PdfPreview) -> int:
        shown.append(dialog)
        return 0

    monkeypatch.setattr(preview.PdfPreview, "exec", exec_)
    return shown


def printing_to(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """The print dialog is accepted with "print to file" into ``path``."""
    monkeypatch.setattr(preview, "a4_printer", lambda landscape=False: a4_printer(str(path), landscape))
    monkeypatch.setattr(preview.QPrintDialog, "exec", lambda self: QDialog.DialogCode.Accepted)


def text_of(pdf: bytes) -> str:
    import io

    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")


def test_issue_view_print_void_and_reissue_from_the_workspace(
    qtbot: Any,
    demo: AppContext,
    monkeypatch: pytest.MonkeyPatch,
    errors: list[str],
    previews: list[preview.PdfPreview],
    tmp_path: Path,
) -> None:
    admin = authenticate(demo, "admin", "squad2026")
    with demo.read() as s:
        case_id = search_cases(s, admin, CaseQuery(stage=CaseStage.SERVED))[0].id
    w = CaseWorkspace(demo, admin, case_id)
    qtbot.addWidget(w)
    docs = w.documents
    assert w.tabs.tabText(w.tabs.indexOf(docs)) == "文书"
    codes = [d.doc_type for d in docs.docs]
    assert "penalty_decision" in codes and "spot_decision" not in codes
    closure = docs.docs[codes.index("closure_approval")]
    assert closure.reason and not closure.available

    docs.select("penalty_decision")
    docs.draft_button.click()
    assert errors == [] and len(previews) == 1
    assert "（未编号）" in text_of(previews[0].pdf_bytes) and "草稿" in previews[0].pages_label.text()

    monkeypatch.setattr(panel, "confirm", lambda *a: True)
    docs.issue_button.click()
    assert errors == [] and len(previews) == 2
    issued = docs.selected()
    assert issued is not None and issued.current is not None
    number = issued.current.number
    assert number.endswith("第1号") and number.replace(" ", "") in text_of(previews[1].pdf_bytes)
    assert not docs.issue_button.isEnabled()  # issued once: a correction goes through void

    out = tmp_path / "printed.pdf"
    printing_to(monkeypatch, out)
    assert previews[1].print_document() == issued.current.pages
    assert len(pypdf.PdfReader(out).pages) == issued.current.pages

    monkeypatch.setattr(panel.QInputDialog, "getMultiLineText", lambda *a, **k: ("当事人住址有误", True))
    docs.void_button.click()
    assert errors == []
    doc = docs.selected()
    assert doc is not None and doc.current is None and docs.reissue_button.isEnabled()
    docs.reissue_button.click()
    doc = docs.selected()
    assert doc is not None and doc.current is not None and doc.current.number.endswith("第2号")
    assert doc.current.replaces_number == number

    batch = tmp_path / "batch.pdf"
    printing_to(monkeypatch, batch)
    assert docs.print_all() == doc.current.pages

    page = register.RegisterPage(demo, admin)
    qtbot.addWidget(page)
    page.refresh()
    assert page.table.rowCount() == 2 and "作废 1 份" in page.summary.text()
    texts = [page.table.item(r, 7).text() for r in range(2)]
    assert any("当事人住址有误" in t for t in texts) and any(t.startswith("更正") for t in texts)


def test_a_clerk_may_not_void_and_a_legal_reviewer_may_not_issue(qtbot: Any, demo: AppContext) -> None:
    clerk = authenticate(demo, "neiqin", "squad2026")
    legal = authenticate(demo, "fazhi", "squad2026")
    with demo.read() as s:
        case_id = search_cases(s, clerk, CaseQuery(stage=CaseStage.SERVED))[0].id
    for actor, may_issue in ((clerk, True), (legal, False)):
        w = CaseWorkspace(demo, actor, case_id)
        qtbot.addWidget(w)
        w.documents.select("penalty_decision")
        assert w.documents.issue_button.isEnabled() is may_issue
        assert not w.documents.void_button.isEnabled()
        assert w.documents.draft_button.isEnabled()


def test_the_dossier_is_bound_off_the_gui_thread_and_previewed(
    qtbot: Any, demo: AppContext, errors: list[str], previews: list[preview.PdfPreview]
) -> None:
    admin = authenticate(demo, "admin", "squad2026")
    with demo.read() as s:
        case_id = search_cases(s, admin, CaseQuery(stage=CaseStage.CLOSED))[0].id
    w = CaseWorkspace(demo, admin, case_id)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.documents.sig_dossier, timeout=60_000) as bound:
        w.documents.dossier_button.click()
    result = bound.args[0]
    assert errors == [] and len(previews) == 1
    shown = previews[0]
    assert shown.source.pages == result.pages > result.numbered_pages > 0
    assert "卷宗封面" in text_of(shown.pdf_bytes) or "卷内目录" in text_of(shown.pdf_bytes)
    assert w.documents.dossier_button.isEnabled()


def test_number_patterns_are_set_per_year_and_a_bad_one_is_refused(
    qtbot: Any, demo: AppContext, monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    admin = authenticate(demo, "admin", "squad2026")
    page = register.RegisterPage(demo, admin)
    qtbot.addWidget(page)
    assert page.patterns_button.isEnabled()
    year = int(page.year.currentData())
    dialog = register.PatternsDialog(demo, admin, year)
    qtbot.addWidget(dialog)
    row = next(r for r, p in enumerate(dialog.patterns) if p.doc_type == "penalty_decision")
    assert dialog.table.item(row, 3).text() == f"车综执罚决字〔{year}〕第12号"
    dialog.table.item(row, 1).setText("{prefix}罚决字〔{year}〕")  # no {seq}
    assert not dialog.save() and len(errors) == 1 and "{seq}" in errors[0]
    errors.clear()
    dialog.table.item(row, 1).setText("{prefix}罚字〔{year}〕{seq}号")
    dialog.table.item(row, 2).setText("3")
    assert dialog.save() and errors == []
    again = register.PatternsDialog(demo, admin, year)
    qtbot.addWidget(again)
    assert again.table.item(row, 3).text() == f"车综执罚字〔{year}〕012号"
    clerk = authenticate(demo, "neiqin", "squad2026")
    other = register.RegisterPage(demo, clerk)
    qtbot.addWidget(other)
    assert not other.patterns_button.isEnabled() and "修改系统设置" in other.patterns_button.toolTip()
