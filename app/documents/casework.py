"""The documents of one case as its workspace shows them (案件文书): which standard documents the
case can have now, drafts for review, issuing with a number, voiding and reissuing.

A draft is drawn with "（未编号）" and kept nowhere: it is for reading and checking the data.
Issuing takes the next 文号 of the register, draws the document with it, and keeps the PDF and
the data it shows (:mod:`app.documents.issuing`); from then on the document never changes —
a correction voids it and issues a new one, both kept.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app import files
from app.auth.roles import Actor, Permission, require
from app.cases import StepKind, StepStatus, get_case
from app.cases.machine import SIDE_STEPS
from app.cases.service import OUTCOME_LABELS
from app.documents.binding import DOCUMENT_NEEDS, document_data
from app.documents.issuing import Drawn, IssuedView, issue_drawn, list_issued, store_beside_database
from app.documents.render import render
from app.documents.template import Template, document_types, load_template
from app.errors import NotFoundError, ValidationError
from db.models.cases import Outcome, Procedure
from db.models.documents import IssuedDocument

#: The order documents are listed in: the procedure's, then the measures'.
_STEP_ORDER = {kind: n for n, kind in enumerate(StepKind)}


@dataclass(frozen=True)
class CaseDocument:
    """One document type as it concerns one case."""

    doc_type: str
    title: str
    step: StepKind | None  # the step or measure the document belongs to
    #: The case has reached what the document records (else ``reason`` says what is missing).
    available: bool
    reason: str
    issued: tuple[IssuedView, ...]  # this type's documents issued for the case, voided included

    @property
    def step_label(self) -> str:
        return self.step.label if self.step is not None else "案件"

    @property
    def current(self) -> IssuedView | None:
        """The document in force: the latest one issued and not voided."""
        live = [d for d in self.issued if not d.voided]
        return live[-1] if live else None


@dataclass(frozen=True)
class Drafted:
    pdf_bytes: bytes
    pages: int
    font_summary: str
    missing: tuple[str, ...]  # mandatory fields still empty, by their Chinese names


def _step_of(template: Template) -> StepKind | None:
    try:
        return StepKind(template.step) if template.step else None
    except ValueError:
        return None


def _availability(template: Template, view: Any) -> tuple[bool, str]:
    """Whether ``view`` (a CaseView) can have the document now, and if not, why — in the same
    terms as :func:`app.documents.binding.document_data` refuses, without drawing anything."""
    if template.procedure != "any" and view.procedure is not Procedure(template.procedure):
        return False, "简易程序文书" if template.procedure == Procedure.SUMMARY.value else "普通程序文书"
    if template.outcomes:
        if view.outcome is None:
            return False, "尚未作出决定"
        if view.outcome.value not in template.outcomes:
            return False, f"处理结果为“{OUTCOME_LABELS[Outcome(view.outcome)]}”"
    step = _step_of(template)
    if step is not None:
        taken = [s for s in view.steps if s.kind is step and s.status is not StepStatus.WITHDRAWN]
        if any(s.status is StepStatus.NOT_APPLICABLE for s in taken):
            return False, f"“{step.label}”不适用"
        if not any(s.status is StepStatus.DONE for s in taken):
            what = "登记" if step in SIDE_STEPS else "办理"
            return False, f"尚未{what}“{step.label}”"
    needs = DOCUMENT_NEEDS.get(template.type)
    if needs is not None and not _flags(view).get(needs[0], True):
        return False, needs[1].removeprefix("的")
    return True, ""


def _flags(view: Any) -> dict[str, bool]:
    """The case flags :data:`app.documents.binding.DOCUMENT_NEEDS` names, read from the view."""
    done = {s.kind for s in view.steps if s.status is StepStatus.DONE}
    statement = next((s for s in view.steps if s.kind is StepKind.STATEMENT), None)
    return {
        "hearing_rights": bool(view.hearing_rights),
        "hearing_requested": bool(statement is not None and statement.data.get("hearing_requested")),
        "hearing_held": StepKind.HEARING in done,
    }


def case_documents(session: Session, actor: Actor, case_id: str) -> list[CaseDocument]:
    """Every document type for the case — those of the other procedure left out — in the order
    of the procedure, with what has been issued of each."""
    require(actor, Permission.VIEW_CASES)
    view = get_case(session, actor, case_id)
    issued: dict[str, list[IssuedView]] = {}
    for doc in list_issued(session, actor, case_id=case_id):
        issued.setdefault(doc.doc_type, []).append(doc)
    out: list[CaseDocument] = []
    for code in document_types():
        template = load_template(code)
        if template.procedure != "any" and view.procedure is not Procedure(template.procedure):
            continue
        available, reason = _availability(template, view)
        mine = sorted(issued.get(code, []), key=lambda d: (d.issued_at, d.seq))
        out.append(CaseDocument(code, template.title, _step_of(template), available, reason, tuple(mine)))
    out.sort(key=lambda d: (_STEP_ORDER.get(d.step, -1) if d.step is not None else -1, d.doc_type))
    return out


def _draw(
    session: Session, actor: Actor, case_id: str, template: Template, number: str | None
) -> tuple[bytes, Any, Mapping[str, Any]]:
    data = document_data(session, actor, case_id, template.type, number=number, template=template)
    buffer = io.BytesIO()
    result = render(template, data, buffer)
    return buffer.getvalue(), result, data


def draft_case_document(session: Session, actor: Actor, case_id: str, doc_type: str) -> Drafted:
    """The document drawn as it would be issued now, but unnumbered and kept nowhere."""
    template = load_template(doc_type)
    pdf, result, _data = _draw(session, actor, case_id, template, None)
    return Drafted(pdf, result.pages, result.font_summary, tuple(result.missing))


def issue_case_document(
    session: Session,
    actor: Actor,
    case_id: str,
    doc_type: str,
    on_day: dt.date | None = None,
    replaces_id: str | None = None,
) -> IssuedView:
    """Issue the case's ``doc_type`` document: the next 文号, drawn into the PDF that is kept."""
    require(actor, Permission.HANDLE_CASES)
    template = load_template(doc_type)
    view = get_case(session, actor, case_id)
    available, reason = _availability(template, view)
    if not available:
        raise ValidationError(f"{view.number}{reason}，不能签发“{template.title}”。")

    def draw(number: str) -> Drawn:
        pdf, result, data = _draw(session, actor, case_id, template, number)
        return Drawn(pdf, result.pages, data)

    pattern = f"{{prefix}}{template.number_word}〔{{year}}〕第{{seq}}号" if template.number_word else None
    return issue_drawn(
        session,
        actor,
        case_id,
        doc_type,
        on_day or dt.date.today(),
        draw,
        replaces_id,
        default_pattern=pattern,
    )


def issued_pdf(session: Session, actor: Actor, document_id: str) -> bytes:
    """The kept PDF of an issued (or voided) document, exactly as it was issued."""
    require(actor, Permission.VIEW_CASES)
    row = session.get(IssuedDocument, document_id)
    if row is None or row.deleted:
        raise NotFoundError("找不到该文书，可能已被删除，请刷新列表。")
    path = files.path_of(store_beside_database(session), row.pdf_sha256)
    if not files.exists(store_beside_database(session), row.pdf_sha256):
        raise NotFoundError(
            f"文书 {row.number} 的 PDF 文件（{path.name}）不在文件库中，请从备份恢复数据文件夹。"
        )
    return path.read_bytes()


__all__ = [
    "CaseDocument",
    "Drafted",
    "case_documents",
    "draft_case_document",
    "issue_case_document",
    "issued_pdf",
]
