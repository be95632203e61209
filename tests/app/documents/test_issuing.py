"""Issuing documents: the number, the PDF in the content store and the snapshot are recorded in the
unit of work; an issued document never changes except by voiding; void and reissue keep both."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from case_builders import make_crew, open_and_file
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from app import files
from app.auth.roles import Actor, Role
from app.context import AppContext
from app.documents.issuing import (
    get_issued,
    issue_document,
    list_issued,
    reissue,
    store_beside_database,
    void_document,
)
from app.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from db.models import ChangeLogEntry, IssuedDocument
from db.models.documents import DocumentStatus, ImmutableRowError

D = dt.date
PENALTY = "penalty_decision"
DAY = D(2026, 3, 2)


def tiny_pdf(text: str = "SquadDesk test", pages: int = 1) -> bytes:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=True)
    for page in range(pages):
        pdf.drawString(72, 720, f"{text} {page + 1}")
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def issue(
    ctx: AppContext,
    actor: Actor,
    case_id: str | None = None,
    doc_type: str = PENALTY,
    on: dt.date = DAY,
    snapshot: dict[str, Any] | None = None,
    pdf: bytes | None = None,
    replaces_id: str | None = None,
) -> Any:
    with ctx.unit_of_work(actor, "出具文书") as s:
        return issue_document(
            s, actor, case_id, doc_type, on, pdf or tiny_pdf(), snapshot or {"party": "王某"}, 1, replaces_id
        )


def void(ctx: AppContext, actor: Actor, document_id: str, reason: str = "当事人名称有误") -> Any:
    with ctx.unit_of_work(actor, "作废文书") as s:
        return void_document(s, actor, document_id, reason)


def test_issue_records_number_pdf_snapshot_and_who(ctx: AppContext, admin: Actor) -> None:
    crew = make_crew(ctx, admin)
    case_id = open_and_file(crew, D(2026, 3, 2))
    pdf = tiny_pdf("decision", pages=2)
    snapshot = {"party": "王某", "fine_fen": 300000, "decided_on": D(2026, 3, 20)}
    with ctx.unit_of_work(admin, "出具文书") as s:
        view = issue_document(s, admin, case_id, PENALTY, D(2026, 3, 20), pdf, snapshot, 2)
        case_number = view.case_number
    assert view.number == "车综执罚决字〔2026〕第1号"
    assert (view.year, view.seq, view.case_id, view.pages) == (2026, 1, case_id, 2)
    assert case_number.startswith("车综执立〔2026〕")
    assert view.status is DocumentStatus.ISSUED and view.status_label == "已出具" and not view.voided
    assert (view.issued_by_id, view.issued_by_name) == (admin.user_id, admin.display_name)
    assert view.issued_on == D(2026, 3, 20)
    assert abs(view.issued_at - dt.datetime.now()) < dt.timedelta(minutes=1)
    # The PDF lives in the content store beside the database, under its hash.
    store = files.files_dir(ctx.data_dir)
    assert files.path_of(store, view.pdf_sha256).read_bytes() == pdf
    assert view.pdf_size == len(pdf)
    with ctx.read() as s:
        assert store_beside_database(s) == store
        detail = get_issued(s, admin, view.id)
        logged = s.scalar(
            select(func.count()).select_from(ChangeLogEntry).where(ChangeLogEntry.row_id == view.id)
        )
    assert dict(detail.snapshot) == {"party": "王某", "fine_fen": 300000, "decided_on": "2026-03-20"}
    assert logged == 1  # the issue travels to the district like any change


def test_a_document_outside_a_case(ctx: AppContext, admin: Actor) -> None:
    view = issue(ctx, admin, None, "transfer_letter")
    assert (view.case_id, view.case_number, view.number) == (None, "", "车综执移送字〔2026〕第1号")


def test_refused_inputs_take_no_number(ctx: AppContext, admin: Actor) -> None:
    for pdf, pages, words in ((b"not a pdf", 1, "不是 PDF"), (tiny_pdf(), 0, "页数")):
        with pytest.raises(ValidationError, match=words), ctx.unit_of_work(admin) as s:
            issue_document(s, admin, None, PENALTY, D(2026, 3, 2), pdf, {}, pages)
    with pytest.raises(NotFoundError), ctx.unit_of_work(admin) as s:
        issue_document(s, admin, "no-such-case", PENALTY, D(2026, 3, 2), tiny_pdf(), {}, 1)
    assert issue(ctx, admin).seq == 1


def test_a_rolled_back_issue_gives_its_number_back(ctx: AppContext, admin: Actor) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), ctx.unit_of_work(admin, "出具后失败") as s:
        issue_document(s, admin, None, PENALTY, D(2026, 3, 2), tiny_pdf(), {}, 1)
        raise Boom
    with ctx.read() as s:
        assert list_issued(s, admin) == []
    assert issue(ctx, admin).seq == 1


def test_void_keeps_the_number_and_the_reason(ctx: AppContext, admin: Actor) -> None:
    first = issue(ctx, admin)
    with pytest.raises(ValidationError, match="作废原因"):
        void(ctx, admin, first.id, "   ")
    voided = void(ctx, admin, first.id, "  当事人名称\n有误 ")
    assert (voided.number, voided.status, voided.status_label) == (
        first.number,
        DocumentStatus.VOIDED,
        "已作废",
    )
    assert (voided.void_reason, voided.voided_by_name) == ("当事人名称 有误", admin.display_name)
    assert voided.voided_at is not None
    with pytest.raises(ConflictError, match="不能重复作废"):
        void(ctx, admin, first.id)
    # A voided number is never issued again.
    assert issue(ctx, admin).seq == 2


def test_void_and_reissue_keep_both(ctx: AppContext, admin: Actor) -> None:
    crew = make_crew(ctx, admin)
    case_id = open_and_file(crew, D(2026, 3, 2))
    old = issue(ctx, admin, case_id, snapshot={"party": "王某某"})
    with pytest.raises(ValidationError, match="尚未作废"), ctx.unit_of_work(admin) as s:
        reissue(s, admin, old.id, D(2026, 3, 3), tiny_pdf(), {"party": "王某"}, 1)
    void(ctx, admin, old.id, "当事人姓名有误")
    other = issue(ctx, admin, case_id)  # issued meanwhile: takes 第2号
    with ctx.unit_of_work(admin, "重新出具") as s:
        new = reissue(s, admin, old.id, D(2026, 3, 3), tiny_pdf("fixed"), {"party": "王某"}, 1)
    assert (new.seq, new.replaces_id, new.replaces_number) == (3, old.id, old.number)
    assert (new.case_id, new.doc_type) == (case_id, PENALTY)
    with ctx.read() as s:
        register = list_issued(s, admin, case_id=case_id)
        corrected = get_issued(s, admin, new.id)
    assert [(v.seq, v.status) for v in register] == [
        (1, DocumentStatus.VOIDED),
        (2, DocumentStatus.ISSUED),
        (3, DocumentStatus.ISSUED),
    ]
    assert (register[0].replaced_by_id, register[0].replaced_by_number) == (new.id, new.number)
    assert register[0].void_reason == "当事人姓名有误"
    assert register[1].id == other.id and register[1].replaced_by_id is None
    assert corrected.snapshot["party"] == "王某"
    with ctx.read() as s:
        first = get_issued(s, admin, old.id)
    assert first.snapshot["party"] == "王某某"  # the voided document keeps what it said
    # A voided document is corrected once; a wrong correction is voided and corrected in turn.
    with pytest.raises(ConflictError, match="已由"), ctx.unit_of_work(admin) as s:
        reissue(s, admin, old.id, D(2026, 3, 4), tiny_pdf(), {}, 1)
    with pytest.raises(ValidationError, match="同为行政处罚决定书"):
        issue(ctx, admin, case_id, "correction_order", replaces_id=old.id)


def test_a_reissue_in_a_new_year_is_numbered_in_that_year(ctx: AppContext, admin: Actor) -> None:
    old = issue(ctx, admin, on=D(2026, 12, 30))
    void(ctx, admin, old.id)
    with ctx.unit_of_work(admin) as s:
        new = reissue(s, admin, old.id, D(2027, 1, 4), tiny_pdf(), {}, 1)
    assert (new.number, new.replaces_number) == ("车综执罚决字〔2027〕第1号", "车综执罚决字〔2026〕第1号")


def test_list_filters_by_case_type_and_year(ctx: AppContext, admin: Actor) -> None:
    crew = make_crew(ctx, admin)
    case_id = open_and_file(crew, D(2026, 3, 2))
    issue(ctx, admin, case_id)
    issue(ctx, admin, case_id, "correction_order")
    issue(ctx, admin, None, on=D(2027, 1, 5))
    with ctx.read() as s:
        assert len(list_issued(s, admin)) == 3
        assert [v.doc_type for v in list_issued(s, admin, case_id=case_id)] == ["correction_order", PENALTY]
        assert [v.number for v in list_issued(s, admin, doc_type=PENALTY)] == [
            "车综执罚决字〔2026〕第1号",
            "车综执罚决字〔2027〕第1号",
        ]
        assert [v.year for v in list_issued(s, admin, year=2027)] == [2027]
        assert list_issued(s, admin, doc_type=PENALTY)[0].type_label == "行政处罚决定书"


def test_permissions(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    clerk, leader, legal = actors[Role.CLERK], actors[Role.LEADER], actors[Role.LEGAL]
    view = issue(ctx, clerk)  # 办理案件 issues
    assert view.issued_by_name == clerk.display_name
    for who in (leader, legal):
        with pytest.raises(PermissionDenied):
            issue(ctx, who)
    for who in (clerk, legal):
        with pytest.raises(PermissionDenied):
            void(ctx, who, view.id)
    assert void(ctx, leader, view.id).voided_by_name == leader.display_name  # 审批案件 voids
    with ctx.read() as s:
        assert len(list_issued(s, legal)) == 1  # 查看案件 reads the register


# ---- immutability -----------------------------------------------------------------------------


def _count(ctx: AppContext) -> int:
    with ctx.read() as s:
        return s.scalar(select(func.count()).select_from(ChangeLogEntry)) or 0


@pytest.mark.parametrize(
    "change",
    [
        {"number": "车综执罚决字〔2026〕第99号"},
        {"snapshot": json.dumps({"party": "李某"}, ensure_ascii=False)},
        {"pdf_sha256": "0" * 64},
        {"issued_on": D(2026, 3, 1)},
        {"seq": 7},
        {"deleted": True},
        {"void_reason": "悄悄写上的理由"},  # a void field without voiding
    ],
    ids=lambda change: next(iter(change)),
)
def test_an_issued_document_cannot_be_changed(ctx: AppContext, admin: Actor, change: dict[str, Any]) -> None:
    view = issue(ctx, admin)
    before = _count(ctx)
    with pytest.raises(ImmutableRowError), ctx.unit_of_work(admin, "篡改") as s:
        row = s.get(IssuedDocument, view.id)
        for key, value in change.items():
            setattr(row, key, value)
    assert _count(ctx) == before
    with ctx.read() as s:
        row = s.get(IssuedDocument, view.id)
        assert (row.number, row.version, row.status) == (view.number, 1, "issued")


@pytest.mark.parametrize(
    "change",
    [
        {"void_reason": "改过的理由"},
        {"status": "issued"},  # un-voiding
        {"deleted": True},
        {"number": "车综执罚决字〔2026〕第98号"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_voided_document_is_final(ctx: AppContext, admin: Actor, change: dict[str, Any]) -> None:
    view = issue(ctx, admin)
    void(ctx, admin, view.id, "当事人名称有误")
    with pytest.raises(ImmutableRowError), ctx.unit_of_work(admin, "篡改") as s:
        row = s.get(IssuedDocument, view.id)
        for key, value in change.items():
            setattr(row, key, value)
    with ctx.read() as s:
        row = s.get(IssuedDocument, view.id)
        assert (row.status, row.void_reason, row.version) == ("voided", "当事人名称有误", 2)
