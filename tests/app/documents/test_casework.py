"""A case's documents as the workspace uses them: which apply now, a draft without a number, an
issued document whose kept PDF prints its 文号, the next one numbered on, void and reissue both
kept — on a copy of the demo squad."""

from __future__ import annotations

import pytest
from pdfcheck import flat, page_texts

from app.auth.roles import Actor
from app.cases import CaseStage
from app.cases.query import CaseQuery, search_cases
from app.context import AppContext
from app.documents.casework import case_documents, draft_case_document, issue_case_document, issued_pdf
from app.documents.issuing import void_document
from app.errors import ValidationError


def served_case(ctx: AppContext, actor: Actor) -> str:
    with ctx.read() as s:
        return search_cases(s, actor, CaseQuery(stage=CaseStage.SERVED))[0].id


def test_the_documents_a_case_can_have_now(demo: AppContext, boss: Actor) -> None:
    case_id = served_case(demo, boss)
    with demo.read() as s:
        docs = {d.doc_type: d for d in case_documents(s, boss, case_id)}
    assert docs["filing_approval"].available and docs["penalty_decision"].available
    assert "spot_decision" not in docs  # a summary-procedure document
    closure = docs["closure_approval"]
    assert not closure.available and "结案" in closure.reason
    # a fine under the hearing threshold: no hearing documents for this case
    rights = docs["hearing_rights_notice"]
    assert not rights.available and "不享有听证权利" in rights.reason
    # procedure order: the filing form before the decision
    order = list(docs)
    assert order.index("filing_approval") < order.index("penalty_decision")


def test_draft_then_issue_then_void_and_reissue(demo: AppContext, boss: Actor) -> None:
    case_id = served_case(demo, boss)
    with demo.read() as s:
        draft = draft_case_document(s, boss, case_id, "penalty_decision")
    assert "（未编号）" in flat(page_texts(draft.pdf_bytes)[0]) and draft.pages >= 1

    with demo.unit_of_work(boss, "签发") as s:
        first = issue_case_document(s, boss, case_id, "penalty_decision")
    assert first.number.startswith("车综执罚决字〔") and first.number.endswith("第1号")
    with demo.read() as s:
        kept = issued_pdf(s, boss, first.id)
    assert first.number in flat(page_texts(kept)[0]) and "（未编号）" not in flat(page_texts(kept)[0])

    with demo.unit_of_work(boss, "作废") as s:
        void_document(s, boss, first.id, "当事人姓名有误")
    with demo.unit_of_work(boss, "重新签发") as s:
        second = issue_case_document(s, boss, case_id, "penalty_decision", replaces_id=first.id)
    assert second.number.endswith("第2号") and second.replaces_id == first.id
    with demo.read() as s:
        doc = next(d for d in case_documents(s, boss, case_id) if d.doc_type == "penalty_decision")
        assert [d.number for d in doc.issued] == [first.number, second.number]
        assert doc.current is not None and doc.current.id == second.id
        # the voided document's PDF is kept as it was issued
        assert first.number in flat(page_texts(issued_pdf(s, boss, first.id))[0])


def test_a_document_the_case_has_not_reached_is_refused(demo: AppContext, boss: Actor) -> None:
    with demo.read() as s:
        filed = search_cases(s, boss, CaseQuery(stage=CaseStage.FILED))[0].id
    with (
        pytest.raises(ValidationError, match="尚未作出决定，不能签发“行政处罚决定书”"),
        demo.unit_of_work(boss, "签发") as s,
    ):
        issue_case_document(s, boss, filed, "penalty_decision")
    with demo.read() as s:
        assert all(not d.issued for d in case_documents(s, boss, filed))
