"""Issuing documents (出具文书): a number from the register, the PDF kept for good, and voiding.

Issuing a document takes its number (:mod:`app.documents.numbering`) in the caller's unit of work,
stores the PDF in the content-addressed store beside the database (:mod:`app.files`) and records
who issued what, when, from which data (the snapshot). From then on the document is immutable:
the only change is voiding it (作废, with a reason; needs 审批案件), and a voided number is never
given again. A correction is a new document with ``replaces_id`` naming the voided one (重新出具);
the register shows both. The model refuses any other change at flush time
(``db.models.documents``), so the rule holds whoever writes.

The PDF is stored before the first database statement of the issue, so the file's fsync does not
hold the write lock; a rolled-back issue leaves only an unreferenced file, which is harmless.
Issuing needs 办理案件; reading the register needs 查看案件.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app import files
from app.auth.roles import Actor, Permission, require
from app.documents.numbering import check_doc_type, take_number, type_label
from app.errors import ConflictError, NotFoundError, SetupRequired, ValidationError
from db.models.cases import Case
from db.models.documents import DocumentStatus, IssuedDocument

STATUS_LABELS = MappingProxyType({DocumentStatus.ISSUED: "已出具", DocumentStatus.VOIDED: "已作废"})
_REASON_LIMIT = 500


@dataclass(frozen=True)
class IssuedView:
    """One line of the register (文号登记簿) of issued documents."""

    id: str
    number: str
    doc_type: str
    type_label: str
    year: int
    seq: int
    case_id: str | None
    case_number: str
    status: DocumentStatus
    issued_on: dt.date
    issued_by_id: str
    issued_by_name: str
    issued_at: dt.datetime
    pages: int
    pdf_sha256: str
    pdf_size: int
    voided_by_name: str
    voided_at: dt.datetime | None
    void_reason: str
    replaces_id: str | None
    replaces_number: str
    replaced_by_id: str | None
    replaced_by_number: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def voided(self) -> bool:
        return self.status is DocumentStatus.VOIDED


@dataclass(frozen=True)
class IssuedDetail(IssuedView):
    """An issued document with the data it was drawn from."""

    snapshot: Mapping[str, Any]


# ---- helpers ----------------------------------------------------------------------------------


def store_beside_database(session: Session) -> Path:
    """The content store of the data folder holding the session's SQLite file."""
    url = session.get_bind().engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise TypeError("store_dir is required when the database is not a SQLite file")
    return files.files_dir(Path(url.database).parent)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"snapshot value of type {type(value).__name__} cannot be stored as JSON")


def _snapshot_json(snapshot: Mapping[str, Any]) -> str:
    return json.dumps(dict(snapshot), ensure_ascii=False, sort_keys=True, default=_plain)


def _check_pdf(pdf_bytes: bytes, pages: int) -> None:
    if not pdf_bytes.startswith(b"%PDF-"):
        raise ValidationError("文书的 PDF 文件无效（不是 PDF 格式），未出具。请重新生成文书。")
    if pages < 1:
        raise ValidationError("文书的页数应至少为 1 页，未出具。请重新生成文书。")


def _squad_id(session: Session) -> str:
    squad_id = session.info.get("squad_id")
    if not squad_id:
        raise SetupRequired("尚未完成初始设置，不能出具文书。请先运行首次设置向导。")
    return str(squad_id)


def _row(session: Session, document_id: str) -> IssuedDocument:
    row = session.get(IssuedDocument, document_id)
    if row is None or row.deleted or row.squad_id != _squad_id(session):
        raise NotFoundError("找不到该文书，可能已被删除，请刷新后再试。")
    return row


def _case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.deleted or case.squad_id != _squad_id(session):
        raise NotFoundError("找不到该案件，可能已被删除，请刷新后再试。")
    return case


def _replaceable(session: Session, replaces_id: str, doc_type: str, case_id: str | None) -> IssuedDocument:
    """The voided document a reissue corrects, if it may be corrected by a document like this."""
    old = session.get(IssuedDocument, replaces_id)
    if old is None or old.deleted or old.squad_id != _squad_id(session):
        raise NotFoundError("找不到要更正的原文书，可能已被删除，请刷新后再试。")
    if old.status != DocumentStatus.VOIDED.value:
        raise ValidationError(f"{old.number}尚未作废。更正文书须先作废原文书并写明原因，再重新出具。")
    if old.doc_type != doc_type:
        raise ValidationError(
            f"重新出具的文书应与原文书{old.number}同为{type_label(old.doc_type)}，"
            f"不能以{type_label(doc_type)}代替。"
        )
    if old.case_id != case_id:
        raise ValidationError(f"重新出具的文书应属于原文书{old.number}所在的案件。")
    successor = session.scalar(
        select(IssuedDocument.number)
        .where(IssuedDocument.replaces_id == old.id, IssuedDocument.deleted.is_(False))
        .limit(1)
    )
    if successor is not None:
        raise ConflictError(
            f"{old.number}已由{successor}更正，不能再次更正。如{successor}也有误，请作废它后再重新出具。"
        )
    return old


# ---- services ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawn:
    """A document drawn with its number: the PDF, its page count and the data it shows."""

    pdf_bytes: bytes
    pages: int
    snapshot: Mapping[str, Any]


def issue_document(
    session: Session,
    actor: Actor,
    case_id: str | None,
    doc_type: str,
    on_day: dt.date,
    pdf_bytes: bytes,
    snapshot: Mapping[str, Any],
    pages: int,
    replaces_id: str | None = None,
    *,
    store_dir: Path | None = None,
    default_pattern: str | None = None,
) -> IssuedView:
    """Issue a document already drawn (its PDF cannot show the number it gets here: callers
    that print the number use :func:`issue_drawn`). See :func:`issue_drawn`."""
    drawn = Drawn(pdf_bytes, pages, snapshot)
    return issue_drawn(
        session,
        actor,
        case_id,
        doc_type,
        on_day,
        lambda _number: drawn,
        replaces_id,
        store_dir=store_dir,
        default_pattern=default_pattern,
    )


def issue_drawn(
    session: Session,
    actor: Actor,
    case_id: str | None,
    doc_type: str,
    on_day: dt.date,
    draw: Callable[[str], Drawn],
    replaces_id: str | None = None,
    *,
    store_dir: Path | None = None,
    default_pattern: str | None = None,
) -> IssuedView:
    """Issue a document dated ``on_day``: number it in the register of that year, draw it with
    that number (``draw(number)``), keep its PDF (``store_dir``, by default the store beside the
    database) and the data it shows.

    The number is taken first, inside the caller's unit of work, so the PDF carries it; a
    refusal while drawing rolls the number back with everything else. ``replaces_id`` names the
    voided document this one corrects. ``default_pattern`` is the template's number pattern,
    used when the type has no register yet."""
    require(actor, Permission.HANDLE_CASES)
    code = check_doc_type(doc_type)
    if case_id is not None:
        _case(session, case_id)
    if replaces_id is not None:
        _replaceable(session, replaces_id, code, case_id)
    taken = take_number(session, code, on_day.year, default_pattern=default_pattern)
    drawn = draw(taken.number)
    _check_pdf(drawn.pdf_bytes, drawn.pages)
    snapshot_text = _snapshot_json(drawn.snapshot)
    # Stored while the write transaction holds the number (the PDF must show it): a few
    # milliseconds of file I/O under the lock. Content-addressed, so a rolled-back issue leaves
    # at most an unreferenced file, never a wrong one.
    stored = files.put_bytes(
        store_dir if store_dir is not None else store_beside_database(session), drawn.pdf_bytes
    )
    row = IssuedDocument(
        case_id=case_id,
        doc_type=code,
        register_id=taken.register_id,
        year=taken.year,
        seq=taken.seq,
        number=taken.number,
        status=DocumentStatus.ISSUED.value,
        issued_on=on_day,
        snapshot=snapshot_text,
        pdf_sha256=stored.sha256,
        pdf_size=stored.size,
        pages=drawn.pages,
        issued_by_id=actor.user_id,
        issued_by_name=actor.display_name or actor.username,
        issued_at=dt.datetime.now().replace(microsecond=0),
        voided_by_id="",
        voided_by_name="",
        voided_at=None,
        void_reason="",
        replaces_id=replaces_id,
    )
    session.add(row)
    session.flush()
    return _detail(session, row.id)


def void_document(session: Session, actor: Actor, document_id: str, reason: str) -> IssuedView:
    """Void an issued document (作废). Its number stays taken and shows in the register with the
    reason; issue the correction with :func:`reissue`."""
    require(actor, Permission.APPROVE_CASES)
    text = " ".join(reason.split())
    if not text:
        raise ValidationError("请写明作废原因，如“当事人名称有误”。", field="reason")
    if len(text) > _REASON_LIMIT:
        raise ValidationError(f"作废原因最多 {_REASON_LIMIT} 个字。", field="reason")
    row = _row(session, document_id)
    if row.status == DocumentStatus.VOIDED.value:
        when = row.voided_at.strftime("%Y-%m-%d %H:%M") if row.voided_at else ""
        raise ConflictError(f"{row.number}已于 {when} 由{row.voided_by_name}作废，不能重复作废。")
    row.status = DocumentStatus.VOIDED.value
    row.voided_by_id = actor.user_id
    row.voided_by_name = actor.display_name or actor.username
    row.voided_at = dt.datetime.now().replace(microsecond=0)
    row.void_reason = text
    session.flush()
    return _detail(session, row.id)


def reissue(
    session: Session,
    actor: Actor,
    document_id: str,
    on_day: dt.date,
    pdf_bytes: bytes,
    snapshot: Mapping[str, Any],
    pages: int,
    *,
    store_dir: Path | None = None,
) -> IssuedView:
    """Issue the correction of a voided document (重新出具): same type and case, a new number."""
    old = _row(session, document_id)
    return issue_document(
        session,
        actor,
        old.case_id,
        old.doc_type,
        on_day,
        pdf_bytes,
        snapshot,
        pages,
        replaces_id=old.id,
        store_dir=store_dir,
    )


def list_issued(
    session: Session,
    actor: Actor,
    case_id: str | None = None,
    doc_type: str | None = None,
    year: int | None = None,
) -> list[IssuedView]:
    """The register of issued documents, voided ones included, by year, type and number."""
    require(actor, Permission.VIEW_CASES)
    conds = []
    if case_id is not None:
        conds.append(IssuedDocument.case_id == case_id)
    if doc_type is not None:
        conds.append(IssuedDocument.doc_type == doc_type)
    if year is not None:
        conds.append(IssuedDocument.year == year)
    return _views(session, *conds)


def get_issued(session: Session, actor: Actor, document_id: str) -> IssuedDetail:
    """One issued document with the data snapshot it was drawn from."""
    require(actor, Permission.VIEW_CASES)
    return _detail(session, document_id)


def _detail(session: Session, document_id: str) -> IssuedDetail:
    found = _views(session, IssuedDocument.id == document_id)
    if not found:
        raise NotFoundError("找不到该文书，可能已被删除，请刷新后再试。")
    snapshot = session.scalar(select(IssuedDocument.snapshot).where(IssuedDocument.id == document_id))
    data = json.loads(snapshot or "{}")
    return IssuedDetail(**vars(found[0]), snapshot=MappingProxyType(data))


_Prev = aliased(IssuedDocument)
_Next = aliased(IssuedDocument)
_D = IssuedDocument
# Columns, not ORM rows: the register of a year may hold thousands of documents, and their
# snapshots are not read here.
_COLUMNS = (
    _D.id,
    _D.number,
    _D.doc_type,
    _D.year,
    _D.seq,
    _D.case_id,
    Case.number.label("case_number"),
    _D.status,
    _D.issued_on,
    _D.issued_by_id,
    _D.issued_by_name,
    _D.issued_at,
    _D.pages,
    _D.pdf_sha256,
    _D.pdf_size,
    _D.voided_by_name,
    _D.voided_at,
    _D.void_reason,
    _D.replaces_id,
    _Prev.number.label("replaces_number"),
    _Next.id.label("replaced_by_id"),
    _Next.number.label("replaced_by_number"),
)


def _views(session: Session, *conds: Any) -> list[IssuedView]:
    session.flush()
    query = (
        select(*_COLUMNS)
        .outerjoin(Case, Case.id == _D.case_id)
        .outerjoin(_Prev, _Prev.id == _D.replaces_id)
        .outerjoin(_Next, (_Next.replaces_id == _D.id) & _Next.deleted.is_(False))
        .where(_D.squad_id == _squad_id(session), _D.deleted.is_(False), *conds)
        .order_by(_D.year, _D.doc_type, _D.seq, _Next.seq)
    )
    out: dict[str, IssuedView] = {}
    for row in session.execute(query):
        # Two corrections of one document (possible only from two offline devices) show the first.
        out.setdefault(row.id, _view(row))
    return list(out.values())


def _view(row: Any) -> IssuedView:
    return IssuedView(
        id=row.id,
        number=row.number,
        doc_type=row.doc_type,
        type_label=type_label(row.doc_type),
        year=row.year,
        seq=row.seq,
        case_id=row.case_id,
        case_number=row.case_number or "",
        status=DocumentStatus(row.status),
        issued_on=row.issued_on,
        issued_by_id=row.issued_by_id,
        issued_by_name=row.issued_by_name,
        issued_at=row.issued_at,
        pages=row.pages,
        pdf_sha256=row.pdf_sha256,
        pdf_size=row.pdf_size,
        voided_by_name=row.voided_by_name,
        voided_at=row.voided_at,
        void_reason=row.void_reason,
        replaces_id=row.replaces_id,
        replaces_number=row.replaces_number or "",
        replaced_by_id=row.replaced_by_id,
        replaced_by_number=row.replaced_by_number or "",
    )
