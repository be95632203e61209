"""Small builders for whole cases walked through the real services (used by the pre-check,
clock and CLI tests): a squad of two certified officers and a party, and an ordinary case taken
step by step as far as a test needs; and, for the sync tests, a change-log entry the district
must refuse."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass

from app.auth.roles import Actor
from app.cases import (
    CaseOpening,
    Outcome,
    PenaltyProposal,
    StepKind,
    conclude,
    decide,
    file_case,
    mark_not_applicable,
    open_case_from_lead,
    prior_notice,
    record_investigation,
    record_statement,
    serve,
)
from app.certificates import CertificateInput, add_certificate
from app.context import AppContext
from app.leads import LeadInput, register_lead
from app.parties import PartyInput, create_party
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, create_member
from app.reference import PenaltyType
from db.models.leads import LeadSource
from db.models.parties import PartyKind
from db.models.personnel import CertificateKind, StaffCategory

D = dt.date
FINE = (PenaltyType.ORDER_CORRECTION, PenaltyType.FINE)
_serial = itertools.count(500)


def id_number() -> str:
    first17 = f"44010619900101{next(_serial):03d}"
    return first17 + check_digit(first17)


@dataclass
class Crew:
    ctx: AppContext
    actor: Actor  # an administrator: every permission, so a test walks a case with one login
    officers: dict[str, str]  # name → member id
    certs: dict[str, str]  # name → enforcement certificate id
    party_id: str


def make_crew(ctx: AppContext, actor: Actor) -> Crew:
    officers: dict[str, str] = {}
    certs: dict[str, str] = {}
    with ctx.unit_of_work(actor, "准备办案人员") as s:
        for name, category in (("陈志强", StaffCategory.CIVIL_SERVANT), ("李明", StaffCategory.CAREER)):
            member_id = create_member(s, actor, MemberInput(name, id_number(), category)).id
            officers[name] = member_id
            certs[name] = add_certificate(
                s,
                actor,
                CertificateInput(
                    member_id,
                    CertificateKind.ENFORCEMENT,
                    f"粤测{next(_serial)}",
                    valid_from=D(2024, 1, 1),
                    valid_to=D(2029, 12, 31),
                ),
                today=D(2026, 1, 5),
            )
        party_id = create_party(s, actor, PartyInput(PartyKind.PERSON, "王某", id_number=id_number())).id
    return Crew(ctx, actor, officers, certs, party_id)


def open_and_file(crew: Crew, filed: dt.date, investigated: dt.date | None = None) -> str:
    """A case opened and filed on ``filed`` (violation ended the day before), investigated when asked."""
    a = crew.actor
    with crew.ctx.unit_of_work(a, "立案") as s:
        lead = register_lead(
            s,
            a,
            LeadInput(
                LeadSource.PATROL,
                "车陂路 123 号门前",
                "占道堆放建材",
                received_at=dt.datetime.combine(filed, dt.time(9)),
            ),
        )
        case = open_case_from_lead(
            s,
            a,
            lead.id,
            CaseOpening(
                "SZ-001",
                (crew.party_id,),
                "擅自占用城市道路堆放物料",
                filed,
                facts="当事人在车陂路 123 号门前占道堆放建材约 20 平方米。",
                violation_ended=filed - dt.timedelta(days=1),
            ),
        )
        file_case(s, a, case.id, filed)
        if investigated is not None:
            record_investigation(
                s,
                a,
                case.id,
                investigated,
                list(crew.officers.values()),
                ["现场检查笔录", "询问笔录"],
            )
    return case.id


def decide_case(crew: Crew, case_id: str, on: dt.date, fine_yuan: int = 3000) -> None:
    """Conclusion to decision on ``on``: 一般 tier, no legal review, no hearing rights."""
    a = crew.actor
    with crew.ctx.unit_of_work(a, "决定") as s:
        conclude(s, a, case_id, on, PenaltyProposal(Outcome.PENALTY, "一般", fine_yuan * 100, FINE))
        mark_not_applicable(s, a, case_id, StepKind.LEGAL_REVIEW, on, "未达法制审核起点")
        prior_notice(s, a, case_id, on, on)
        record_statement(s, a, case_id, on, waived=True, hearing_waived=True)
        mark_not_applicable(s, a, case_id, StepKind.HEARING, on, "当事人放弃听证")
        mark_not_applicable(s, a, case_id, StepKind.COLLECTIVE_DISCUSSION, on, "非重大复杂案件")
        decide(
            s,
            a,
            case_id,
            on,
            PenaltyProposal(Outcome.PENALTY, "一般", fine_yuan * 100, FINE, reasons="初次违法，及时改正"),
        )


def serve_case(crew: Crew, case_id: str, on: dt.date) -> None:
    with crew.ctx.unit_of_work(crew.actor, "送达") as s:
        serve(s, crew.actor, case_id, on, "直接送达", "王某")


def forge_foreign_row(ctx: AppContext, actor: Actor, member_id: str, forged_id: str = "forged-row") -> None:
    """A change-log entry, made from ``member_id``'s, claiming another squad's row ``forged_id``
    (as a damaged or tampered file might): the district must refuse it."""
    from sqlalchemy import select

    from db.models import ChangeLogEntry

    with ctx.unit_of_work(actor, "篡改") as s:
        entry = s.scalars(select(ChangeLogEntry).where(ChangeLogEntry.row_id == member_id)).first()
        assert entry is not None
        payload = {**json.loads(entry.payload), "id": forged_id, "squad_id": "another-squad"}
        s.add(
            ChangeLogEntry(
                table_name="members",
                row_id=forged_id,
                op="insert",
                version=1,
                hlc=entry.hlc,
                device_id=ctx.device_id,
                payload=json.dumps(payload),
            )
        )
