"""Case services (案件办理): each step of the procedure as one function ``(session, actor, …)``.

The order of the steps is :mod:`app.cases.machine`'s; the legal rules of each step are here, and
every refusal names the person, amount or date at fault. Every write goes through the ORM inside
the caller's unit of work, so the flush hook puts each step into the change log and the audit
chain. Side measures (preservation, seizure, deferral, instalments, reminder, court application,
cash handover, the party's appeal and its result) are :mod:`app.cases.measures`'s. Leader
approvals (filing, conclusion, decision, closure, reopening) need ``APPROVE_CASES``; the work of
the case ``HANDLE_CASES``; the legal review ``LEGAL_REVIEW`` and a reviewer holding a 法律职业资格.

Money is integer fen; dates are the days the acts were performed (not the day they are typed in).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.calendar import calendar_for
from app.cases.clocks import (
    Clock,
    ClockKind,
    late_fee_days,
    late_fee_fen,
    limitation_check,
    subtract_working_days,
)
from app.cases.machine import (
    SIDE_STEPS,
    CaseStage,
    NextAction,
    StepKind,
    advance,
    next_actions,
    reopen_stage,
)
from app.cases.timing import appeal_kind, clocks_for_case, late_fee_pauses, measures_of
from app.errors import NotFoundError, ValidationError
from app.leads import file_lead
from app.personnel.enforce import explain_enforce
from app.reference import PenaltyType, check_fine, get_item, get_tier, thresholds, yuan_short
from app.squad import get_squad
from db.models import Member, Party, User
from db.models.cases import Case, CaseParty, CaseStep, CaseStepOfficer, Outcome, Procedure, StepStatus
from db.models.parties import PartyKind

#: APL 42 and 55: enforcement acts by at least two officers.
MIN_OFFICERS = 2
#: Collective discussion (集体讨论) by the squad's leadership: at least three attendees.
MIN_DISCUSSION_ATTENDEES = 3
#: Penalties the summary procedure may impose (APL 51): a warning or a small fine.
#: The order to correct is no penalty (APL 28) and goes with any procedure.
SUMMARY_PENALTY_TYPES = frozenset({PenaltyType.WARNING, PenaltyType.FINE, PenaltyType.ORDER_CORRECTION})
SERVICE_METHODS = ("直接送达", "留置送达", "邮寄送达", "委托送达", "公告送达", "电子送达")
ELECTRONIC_SERVICE = "电子送达"

OUTCOME_LABELS = MappingProxyType(
    {
        Outcome.PENALTY: "给予行政处罚",
        Outcome.NO_PENALTY: "不予行政处罚",
        Outcome.FIRST_VIOLATION_NO_PENALTY: "首违不罚",
        Outcome.NOT_ESTABLISHED: "违法事实不能成立",
        Outcome.TRANSFER: "移送",
    }
)


# ---- inputs and views -------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseOpening:
    """What a case is opened with: the violation item, the parties and the facts known so far."""

    item_code: str
    party_ids: tuple[str, ...]
    title: str
    opened_on: dt.date
    facts: str = ""
    violation_ended: dt.date | None = None  # None: the violation continues
    limitation_harm: bool = False  # APL 36: life, health or financial safety harmed
    major: bool = False
    complex: bool = False


@dataclass(frozen=True)
class PenaltyProposal:
    """The outcome the investigation proposes (调查终结报告) or the leader decides."""

    outcome: Outcome
    tier_name: str = ""
    fine_fen: int = 0
    penalty_types: tuple[PenaltyType, ...] = ()
    base_fen: int | None = None  # base amount of a rate-based fine
    reasons: str = ""
    transfer_to: str = ""  # 移送 receiving body


@dataclass(frozen=True)
class SpotDecision:
    """当场处罚决定 (summary procedure)."""

    item_code: str
    party_id: str
    title: str
    decided_on: dt.date
    officer_ids: tuple[str, ...]
    penalty_types: tuple[PenaltyType, ...]
    fine_fen: int = 0
    tier_name: str = ""
    facts: str = ""
    violation_ended: dt.date | None = None
    collected_on_spot: bool = False
    lead_id: str | None = None


@dataclass(frozen=True)
class StepView:
    id: str
    kind: StepKind
    seq: int
    status: StepStatus
    reason: str
    performed_on: dt.date
    recorded_by_name: str
    approved_by_name: str
    approved_on: dt.date | None
    opinion: str
    data: Mapping[str, Any]
    officer_ids: tuple[str, ...]


@dataclass(frozen=True)
class CaseView:
    id: str
    number: str
    procedure: Procedure
    stage: CaseStage
    lead_id: str | None
    title: str
    item_code: str
    release_no: int
    tier_name: str
    party_ids: tuple[str, ...]
    fine_fen: int
    penalty_types: tuple[PenaltyType, ...]
    notice_fine_fen: int | None
    hearing_rights: bool
    outcome: Outcome | None
    opened_on: dt.date
    filed_on: dt.date | None
    decided_on: dt.date | None
    served_on: dt.date | None
    closed_on: dt.date | None
    version: int
    steps: tuple[StepView, ...] = field(default=())
    next: tuple[NextAction, ...] = field(default=())


# ---- helpers ----------------------------------------------------------------------------------


def _get(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.deleted:
        raise NotFoundError("找不到该案件，可能已被删除，请刷新列表。")
    return case


def _steps(session: Session, case_id: str) -> list[CaseStep]:
    return list(
        session.scalars(
            select(CaseStep)
            .where(CaseStep.case_id == case_id, CaseStep.deleted.is_(False))
            .order_by(CaseStep.seq)
        )
    )


def _step(session: Session, case: Case, kind: StepKind) -> CaseStep | None:
    """The live (not withdrawn) step of ``kind``."""
    for step in reversed(_steps(session, case.id)):
        if step.kind == kind.value and step.status != StepStatus.WITHDRAWN.value:
            return step
    return None


def _data(step: CaseStep | None) -> dict[str, Any]:
    return json.loads(step.data) if step is not None else {}


def _revoked_by(session: Session, case: Case) -> CaseStep | None:
    """The appeal result (复议决定 or 判决) that revoked the case's decision, if any."""
    return measures_of(_steps(session, case.id)).revoked_by


def _party_ids(session: Session, case_id: str) -> list[str]:
    return list(
        session.scalars(
            select(CaseParty.party_id)
            .where(CaseParty.case_id == case_id, CaseParty.deleted.is_(False))
            .order_by(CaseParty.sort_order)
        )
    )


def _main_party(session: Session, case: Case) -> Party:
    # Fines are checked against the first party's kind; cases against several parties with
    # separate fines are not modelled yet (each party would need its own decision).
    ids = _party_ids(session, case.id)
    party = session.get(Party, ids[0]) if ids else None
    if party is None:
        raise ValidationError(f"{case.number}没有登记当事人，请先补充当事人。")
    return party


def _types(case: Case) -> tuple[PenaltyType, ...]:
    return tuple(PenaltyType(t) for t in json.loads(case.penalty_types or "[]"))


def _last_day(session: Session, case: Case) -> dt.date | None:
    """The day of the last procedure step. Side measures (preservation, instalments …) have their
    own order rules in :mod:`app.cases.measures` and do not hold the procedure back."""
    days = [
        s.performed_on
        for s in _steps(session, case.id)
        if s.status != StepStatus.WITHDRAWN.value and StepKind(s.kind) not in SIDE_STEPS
    ]
    return max(days) if days else None


def _not_before_last(session: Session, case: Case, on: dt.date, kind: StepKind) -> None:
    last = _last_day(session, case)
    if last is not None and on < last:
        raise ValidationError(
            f"{case.number}的“{kind.label}”日期 {on.isoformat()} 早于上一环节的日期 {last.isoformat()}，请核对。",
            field="performed_on",
        )


def _record(
    session: Session,
    actor: Actor,
    case: Case,
    kind: StepKind,
    on: dt.date,
    *,
    status: StepStatus = StepStatus.DONE,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    approved: bool = False,
    opinion: str = "",
    officers: Sequence[Member] = (),
) -> CaseStep:
    """Write one step and move the case on; the machine refuses a step out of order first."""
    after = advance(case, kind, status, reason)
    _not_before_last(session, case, on, kind)
    step = _write_step(
        session,
        actor,
        case,
        kind,
        on,
        status=status,
        reason=reason,
        data=data,
        approved=approved,
        opinion=opinion,
        officers=officers,
    )
    case.stage = after.value
    return step


def _write_step(
    session: Session,
    actor: Actor,
    case: Case,
    kind: StepKind,
    on: dt.date,
    *,
    status: StepStatus = StepStatus.DONE,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    approved: bool = False,
    opinion: str = "",
    officers: Sequence[Member] = (),
) -> CaseStep:
    """The step row with its officers, next in the case's order; no rule checked, the stage
    untouched (``_record`` for procedure steps, :mod:`app.cases.measures` for side measures)."""
    seq = (session.scalar(select(func.max(CaseStep.seq)).where(CaseStep.case_id == case.id)) or 0) + 1
    name = actor.display_name or actor.username
    step = CaseStep(
        case_id=case.id,
        kind=kind.value,
        seq=seq,
        status=status.value,
        reason=reason.strip(),
        performed_on=on,
        recorded_by_id=actor.user_id,
        recorded_by_name=name,
        data=json.dumps(dict(data or {}), ensure_ascii=False, default=str, sort_keys=True),
        approved_by_id=actor.user_id if approved else "",
        approved_by_name=name if approved else "",
        approved_on=on if approved else None,
        opinion=opinion.strip(),
    )
    session.add(step)
    session.flush()
    for i, member in enumerate(officers):
        session.add(CaseStepOfficer(step_id=step.id, member_id=member.id, role="主办" if i == 0 else "协办"))
    return step


def check_officers(session: Session, officer_ids: Sequence[str], day: dt.date, act: str) -> list[Member]:
    """The officers of an enforcement act, or ValidationError naming who may not act and why:
    at least two distinct members who ``can_enforce`` on ``day`` (APL 42, 55)."""
    unique = list(dict.fromkeys(officer_ids))
    members: list[Member] = []
    for member_id in unique:
        member = session.get(Member, member_id)
        if member is None or member.deleted:
            raise NotFoundError("找不到所选执法人员，可能已被删除，请重新选择。")
        members.append(member)
    if len(members) < MIN_OFFICERS:
        names = "、".join(m.name for m in members) or "无"
        raise ValidationError(
            f"{act}须由至少 {MIN_OFFICERS} 名执法人员进行（《行政处罚法》第四十二条、第五十五条），"
            f"现只有 {len(members)} 名（{names}），请再选择一名持有效执法证的执法人员。",
            field="officers",
        )
    for member in members:
        check = explain_enforce(session, member, day)
        if not check.ok:
            raise ValidationError(
                f"{act}（{day.isoformat()}）不能由{member.name}作为执法人员：{check.reason}",
                field="officers",
            )
    return members


def _check_limitation(case_number: str, ended: dt.date | None, on: dt.date, harmed: bool) -> None:
    check = limitation_check(ended, on, harmed=harmed)
    if not check.within:
        assert check.last_day is not None  # a continuing violation is always within
        raise ValidationError(
            f"{case_number}已超过追责时效，不能立案：最后可立案日为 {check.last_day.isoformat()}"
            f"（{check.explanation}）。",
            field="filed_on",
        )


def _number(session: Session, procedure: Procedure, year: int) -> tuple[str, int]:
    squad_id = session.info.get("squad_id")
    if not squad_id:
        raise ValidationError("尚未完成初始设置，不能立案。")
    prefix = get_squad(session, squad_id).doc_prefix
    # Tombstoned cases count too: a number once issued is never issued again.
    last = session.scalar(
        select(func.max(Case.number_seq)).where(Case.squad_id == squad_id, Case.number_year == year)
    )
    seq = (last or 0) + 1
    word = "立" if procedure is Procedure.ORDINARY else "简"
    return f"{prefix}{word}〔{year}〕第{seq:04d}号", seq


def _new_case(
    session: Session,
    procedure: Procedure,
    stage: CaseStage,
    opening: CaseOpening,
    lead_id: str | None,
) -> Case:
    title = " ".join(opening.title.split())
    if not title:
        raise ValidationError("请填写案由，如“擅自占用城市道路堆放物料”。", field="title")
    if not opening.party_ids:
        raise ValidationError("请至少选择一名当事人。", field="party_ids")
    for party_id in opening.party_ids:
        party = session.get(Party, party_id)
        if party is None or party.deleted:
            raise NotFoundError("找不到所选当事人，可能已被删除，请重新选择。")
    item = get_item(session, opening.item_code)
    number, seq = _number(session, procedure, opening.opened_on.year)
    case = Case(
        number=number,
        number_year=opening.opened_on.year,
        number_seq=seq,
        procedure=procedure.value,
        stage=stage.value,
        lead_id=lead_id,
        title=title,
        facts=opening.facts.strip(),
        item_code=item.code,
        release_no=item.release_no,
        limitation_harm=opening.limitation_harm or item.limitation_years == 5,
        violation_ended=opening.violation_ended,
        major=opening.major,
        complex=opening.complex,
        opened_on=opening.opened_on,
        fine_fen=0,
        penalty_types="[]",
    )
    session.add(case)
    session.flush()
    for order, party_id in enumerate(dict.fromkeys(opening.party_ids)):
        session.add(CaseParty(case_id=case.id, party_id=party_id, sort_order=order))
    return case


def _view(session: Session, case: Case) -> CaseView:
    session.flush()
    steps = _steps(session, case.id)
    officers: dict[str, list[str]] = {s.id: [] for s in steps}
    if steps:
        for row in session.scalars(
            select(CaseStepOfficer).where(
                CaseStepOfficer.step_id.in_(list(officers)), CaseStepOfficer.deleted.is_(False)
            )
        ):
            officers[row.step_id].append(row.member_id)
    return CaseView(
        id=case.id,
        number=case.number,
        procedure=Procedure(case.procedure),
        stage=CaseStage(case.stage),
        lead_id=case.lead_id,
        title=case.title,
        item_code=case.item_code,
        release_no=case.release_no,
        tier_name=case.tier_name,
        party_ids=tuple(_party_ids(session, case.id)),
        fine_fen=case.fine_fen,
        penalty_types=_types(case),
        notice_fine_fen=case.notice_fine_fen,
        hearing_rights=case.hearing_rights,
        outcome=Outcome(case.outcome) if case.outcome else None,
        opened_on=case.opened_on,
        filed_on=case.filed_on,
        decided_on=case.decided_on,
        served_on=case.served_on,
        closed_on=case.closed_on,
        version=case.version,
        steps=tuple(
            StepView(
                id=s.id,
                kind=StepKind(s.kind),
                seq=s.seq,
                status=StepStatus(s.status),
                reason=s.reason,
                performed_on=s.performed_on,
                recorded_by_name=s.recorded_by_name,
                approved_by_name=s.approved_by_name,
                approved_on=s.approved_on,
                opinion=s.opinion,
                data=MappingProxyType(json.loads(s.data)),
                officer_ids=tuple(officers[s.id]),
            )
            for s in steps
        ),
        next=tuple(next_actions(case)),
    )


def get_case(session: Session, actor: Actor, case_id: str) -> CaseView:
    require(actor, Permission.VIEW_CASES)
    return _view(session, _get(session, case_id))


# ---- the penalty rules ------------------------------------------------------------------------


def _check_proposal(session: Session, case: Case, p: PenaltyProposal) -> None:
    """The fine inside the statutory range and the chosen tier, the penalty types the item's."""
    item = get_item(session, case.item_code, case.release_no)
    if p.outcome is Outcome.PENALTY:
        if not p.penalty_types:
            raise ValidationError("给予行政处罚须选择处罚种类（如警告、罚款）。", field="penalty_types")
        foreign = [t for t in p.penalty_types if t not in item.penalty_types]
        if foreign:
            raise ValidationError(
                f"事项“{item.name}”的处罚种类不含“{foreign[0].label}”（{item.penalty_basis}），请重新选择。",
                field="penalty_types",
            )
        if (p.fine_fen > 0) != (PenaltyType.FINE in p.penalty_types):
            raise ValidationError(
                "处罚种类含“罚款”时须填写罚款数额，未选“罚款”时罚款数额应为 0。", field="fine"
            )
        if not p.tier_name:
            raise ValidationError("请选择裁量阶次，并在理由中写明适用该阶次的情节。", field="tier")
        tier = get_tier(session, case.item_code, p.tier_name, case.release_no)
        check_fine(item, tier, p.fine_fen, _main_party(session, case).kind, p.base_fen)
        return
    if p.fine_fen or PenaltyType.FINE in p.penalty_types:
        raise ValidationError(
            f"“{OUTCOME_LABELS[p.outcome]}”不能处以罚款 {yuan_short(p.fine_fen)}，请删去罚款或改为给予行政处罚。",
            field="fine",
        )
    if p.outcome is Outcome.TRANSFER and not p.transfer_to.strip():
        raise ValidationError("移送须写明接收机关，如“广州市公安局天河区分局”。", field="transfer_to")


def legal_review_triggers(session: Session, case: Case) -> list[str]:
    """Why this case needs legal review (法制审核, APL 58) before the decision; empty: it does not.

    A hearing held is a trigger in the law, but the review comes before the prior notice in the
    squad's order of steps; so the trigger used is that the party *has hearing rights* — any case
    in which a hearing may be held is reviewed. Stricter than the law, never looser.
    """
    out: list[str] = []
    party = _main_party(session, case)
    limits = thresholds(session, case.release_no)
    if limits.legal_review_required(party.kind, case.fine_fen):
        start = (
            limits.legal_review_person_fen if party.kind == PartyKind.PERSON else limits.legal_review_org_fen
        )
        out.append(f"拟罚款 {yuan_short(case.fine_fen)}达到法制审核起点 {yuan_short(start)}")
    if case.major:
        out.append("案件重大")
    if case.complex:
        out.append("案情复杂")
    if limits.hearing_required(party.kind, case.fine_fen, penalty_types=_types(case)):
        out.append("当事人享有听证权利")
    return out


def _hearing_rights(session: Session, case: Case) -> bool:
    party = _main_party(session, case)
    return thresholds(session, case.release_no).hearing_required(
        party.kind, case.fine_fen, penalty_types=_types(case)
    )


def _hearing_window_end(session: Session, case: Case) -> dt.date:
    notice = _data(_step(session, case, StepKind.PRIOR_NOTICE))
    received = dt.date.fromisoformat(notice["received_on"])
    return Clock(ClockKind.HEARING_REQUEST, received).due(calendar_for(session)).day


# ---- ordinary procedure -----------------------------------------------------------------------


def open_case_from_lead(session: Session, actor: Actor, lead_id: str, opening: CaseOpening) -> CaseView:
    """Open an ordinary case from a registered lead; the lead becomes 已立案. The case then awaits
    the leader's filing approval (``file_case``)."""
    require(actor, Permission.HANDLE_CASES)
    case = _new_case(session, Procedure.ORDINARY, CaseStage.OPENED, opening, lead_id)
    file_lead(session, actor, lead_id, case.number)
    return _view(session, case)


def file_case(session: Session, actor: Actor, case_id: str, on: dt.date, opinion: str = "") -> CaseView:
    """立案审批 (APL 54) by the leader; refused beyond the limitation period (APL 36)."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    if on < case.opened_on:
        raise ValidationError(f"立案日期 {on.isoformat()} 早于案件登记日期 {case.opened_on.isoformat()}。")
    advance(case, StepKind.FILING, StepStatus.DONE)
    _check_limitation(case.number, case.violation_ended, on, case.limitation_harm)
    _record(session, actor, case, StepKind.FILING, on, approved=True, opinion=opinion or "同意立案")
    case.filed_on = on
    return _view(session, case)


def record_investigation(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    officer_ids: Sequence[str],
    records: Sequence[str],
    note: str = "",
) -> CaseView:
    """调查取证 by at least two officers who may enforce on ``on``; ``records`` names the records
    made (现场检查笔录, 询问笔录, 照片 …)."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.INVESTIGATION, StepStatus.DONE)
    officers = check_officers(session, officer_ids, on, f"{case.number}的调查取证")
    clean = [r.strip() for r in records if r.strip()]
    if not clean:
        raise ValidationError("请至少登记一份调查取证记录，如“现场检查笔录”“询问笔录”。", field="records")
    _record(
        session,
        actor,
        case,
        StepKind.INVESTIGATION,
        on,
        data={"records": clean, "note": note.strip()},
        officers=officers,
    )
    return _view(session, case)


def conclude(
    session: Session, actor: Actor, case_id: str, on: dt.date, proposal: PenaltyProposal, opinion: str = ""
) -> CaseView:
    """调查终结 with the proposed outcome, approved by the leader. The proposal sets the amount the
    legal-review and hearing thresholds are measured against."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.CONCLUSION, StepStatus.DONE)
    _check_proposal(session, case, proposal)
    case.tier_name = proposal.tier_name
    case.fine_fen = proposal.fine_fen
    case.base_fen = proposal.base_fen
    case.penalty_types = json.dumps([t.value for t in proposal.penalty_types])
    _record(
        session,
        actor,
        case,
        StepKind.CONCLUSION,
        on,
        data={"proposed_outcome": proposal.outcome.value, "reasons": proposal.reasons.strip()},
        approved=True,
        opinion=opinion or "同意调查终结",
    )
    return _view(session, case)


def legal_review(session: Session, actor: Actor, case_id: str, on: dt.date, opinion: str) -> CaseView:
    """法制审核 (APL 58) by a legal reviewer linked to a member holding a 法律职业资格."""
    require(actor, Permission.LEGAL_REVIEW)
    case = _get(session, case_id)
    advance(case, StepKind.LEGAL_REVIEW, StepStatus.DONE)
    user = session.get(User, actor.user_id) if actor.user_id else None
    member = session.get(Member, user.member_id) if user is not None and user.member_id else None
    if member is None or not member.legal_qualification_no.strip():
        who = f"（关联队员{member.name}）" if member is not None else "（未关联队员）"
        raise ValidationError(
            f"“{actor.display_name}”{who}没有登记法律职业资格证书编号，不能担任法制审核人员"
            "（《行政处罚法》第五十八条）；请由持证的法制审核人员审核，或先在人员台账补录证书编号。",
            field="reviewer",
        )
    if not opinion.strip():
        raise ValidationError("请填写法制审核意见。", field="opinion")
    _record(
        session,
        actor,
        case,
        StepKind.LEGAL_REVIEW,
        on,
        data={"reviewer_member_id": member.id, "qualification_no": member.legal_qualification_no},
        opinion=opinion,
    )
    return _view(session, case)


def prior_notice(session: Session, actor: Actor, case_id: str, on: dt.date, received_on: dt.date) -> CaseView:
    """行政处罚事先告知 (APL 44): the intended penalty, with hearing rights where APL 63 applies."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.PRIOR_NOTICE, StepStatus.DONE)
    if received_on < on:
        raise ValidationError(
            f"当事人收到告知书的日期 {received_on.isoformat()} 早于告知日期 {on.isoformat()}，请核对。",
            field="received_on",
        )
    case.hearing_rights = _hearing_rights(session, case)
    case.notice_fine_fen = case.fine_fen
    _record(
        session,
        actor,
        case,
        StepKind.PRIOR_NOTICE,
        on,
        data={
            "received_on": received_on.isoformat(),
            "fine_fen": case.fine_fen,
            "penalty_types": [t.value for t in _types(case)],
            "hearing_rights": case.hearing_rights,
        },
    )
    return _view(session, case)


def record_statement(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    *,
    statement: str = "",
    review: str = "",
    waived: bool = False,
    hearing_requested: bool = False,
    hearing_waived: bool = False,
) -> CaseView:
    """陈述申辩 and its 复核 (APL 45), or the party's waiver; records a hearing request (APL 64)."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.STATEMENT, StepStatus.DONE)
    if not waived and not statement.strip():
        raise ValidationError("请记录当事人的陈述申辩内容，或注明当事人放弃陈述申辩。", field="statement")
    if statement.strip() and not review.strip():
        raise ValidationError(
            "当事人提出了陈述申辩，须填写复核意见（《行政处罚法》第四十五条）。", field="review"
        )
    if hearing_requested:
        if not case.hearing_rights:
            raise ValidationError(f"{case.number}拟作出的处罚不属于听证范围，当事人的听证申请不予受理。")
        end = _hearing_window_end(session, case)
        if on > end:
            raise ValidationError(
                f"听证申请期限已于 {end.isoformat()} 届满，{on.isoformat()} 提出的听证申请逾期"
                "（《行政处罚法》第六十四条）。",
                field="hearing_requested",
            )
    _record(
        session,
        actor,
        case,
        StepKind.STATEMENT,
        on,
        data={
            "statement": statement.strip(),
            "review": review.strip(),
            "waived": waived,
            "hearing_requested": hearing_requested,
            "hearing_waived": hearing_waived and not hearing_requested,
        },
    )
    return _view(session, case)


def record_hearing(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    *,
    chair_member_id: str,
    notified_on: dt.date,
    record: str,
) -> CaseView:
    """听证 (APL 64): notice 7 working days ahead; chaired by someone who did not investigate."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.HEARING, StepStatus.DONE)
    if not _data(_step(session, case, StepKind.STATEMENT)).get("hearing_requested"):
        raise ValidationError(f"{case.number}的当事人没有申请听证，请将听证环节记为不适用。")
    chair = session.get(Member, chair_member_id)
    if chair is None or chair.deleted:
        raise NotFoundError("找不到听证主持人，请重新选择。")
    investigation = _step(session, case, StepKind.INVESTIGATION)
    investigators = set(
        session.scalars(
            select(CaseStepOfficer.member_id).where(
                CaseStepOfficer.step_id == (investigation.id if investigation else "")
            )
        )
    )
    if chair.id in investigators:
        raise ValidationError(
            f"{chair.name}参与了本案调查，不能主持听证（《行政处罚法》第六十四条），请另行指定主持人。",
            field="chair",
        )
    latest = subtract_working_days(calendar_for(session), on, 7).day
    if notified_on > latest:
        raise ValidationError(
            f"听证通知应在举行听证 7 个工作日前送达，{on.isoformat()} 的听证最迟应于 {latest.isoformat()} 通知，"
            f"{notified_on.isoformat()} 通知过晚。",
            field="notified_on",
        )
    if not record.strip():
        raise ValidationError("请填写听证笔录摘要。", field="record")
    _record(
        session,
        actor,
        case,
        StepKind.HEARING,
        on,
        data={"chair_member_id": chair.id, "notified_on": notified_on.isoformat(), "record": record.strip()},
    )
    return _view(session, case)


def record_collective_discussion(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    attendee_ids: Sequence[str],
    conclusion: str,
) -> CaseView:
    """集体讨论 (APL 57) of a complex or major case, convened by the leader."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.COLLECTIVE_DISCUSSION, StepStatus.DONE)
    attendees = [session.get(Member, i) for i in dict.fromkeys(attendee_ids)]
    present = [m for m in attendees if m is not None and not m.deleted]
    if len(present) < MIN_DISCUSSION_ATTENDEES:
        raise ValidationError(
            f"集体讨论须有至少 {MIN_DISCUSSION_ATTENDEES} 名负责人参加，现只有 {len(present)} 名。",
            field="attendees",
        )
    if not conclusion.strip():
        raise ValidationError("请填写集体讨论结论。", field="conclusion")
    _record(
        session,
        actor,
        case,
        StepKind.COLLECTIVE_DISCUSSION,
        on,
        data={"conclusion": conclusion.strip()},
        officers=present,
    )
    return _view(session, case)


def _check_not_heavier(case: Case, p: PenaltyProposal) -> None:
    """APL 45: the party's statement and defence never make the penalty heavier."""
    if case.notice_fine_fen is None:
        return
    if p.fine_fen > case.notice_fine_fen:
        raise ValidationError(
            f"决定罚款 {yuan_short(p.fine_fen)}高于事先告知的 {yuan_short(case.notice_fine_fen)}："
            "不得因当事人陈述申辩而加重处罚（《行政处罚法》第四十五条）；如确需加重，须重新告知。",
            field="fine",
        )
    notified = set(_types(case))
    added = [t for t in p.penalty_types if t not in notified]
    if added:
        raise ValidationError(
            f"决定增加了事先告知中没有的处罚种类“{added[0].label}”，不得加重处罚（《行政处罚法》第四十五条）；"
            "如确需增加，须重新告知。",
            field="penalty_types",
        )


def _earlier_violation(session: Session, case: Case) -> Case | None:
    """An earlier decided case against one of this case's parties (for 首违不罚)."""
    parties = _party_ids(session, case.id)
    return session.scalar(
        select(Case)
        .join(CaseParty, CaseParty.case_id == Case.id)
        .where(
            CaseParty.party_id.in_(parties),
            CaseParty.deleted.is_(False),
            Case.id != case.id,
            Case.deleted.is_(False),
            Case.outcome.in_([Outcome.PENALTY.value, Outcome.FIRST_VIOLATION_NO_PENALTY.value]),
        )
        .order_by(Case.decided_on)
        .limit(1)
    )


def decide(session: Session, actor: Actor, case_id: str, on: dt.date, decision: PenaltyProposal) -> CaseView:
    """决定 by the leader (APL 57): penalty, no penalty, 首违不罚, facts not established, or 移送."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.DECISION, StepStatus.DONE)
    _check_proposal(session, case, decision)
    notice = _step(session, case, StepKind.PRIOR_NOTICE)
    punishing = decision.outcome in (Outcome.PENALTY,)
    if punishing and (notice is None or notice.status != StepStatus.DONE.value):
        raise ValidationError(
            f"{case.number}未经事先告知，不能作出行政处罚决定（《行政处罚法》第四十四条、第六十二条）。"
        )
    if punishing:
        _check_not_heavier(case, decision)
    if case.hearing_rights:
        hearing = _step(session, case, StepKind.HEARING)
        statement = _data(_step(session, case, StepKind.STATEMENT))
        held = hearing is not None and hearing.status == StepStatus.DONE.value
        if not held and not statement.get("hearing_waived"):
            end = _hearing_window_end(session, case)
            if on <= end:
                raise ValidationError(
                    f"当事人可在 {end.isoformat()} 前申请听证，{on.isoformat()} 不能作出决定；"
                    f"请在 {end.isoformat()} 之后决定，或记录当事人书面放弃听证（《行政处罚法》第六十四条）。",
                    field="decided_on",
                )
    # Preserved evidence must be handled first (APL 56). Imported here because
    # app.cases.measures builds on this module.
    from app.cases.measures import check_measures_before_decision

    check_measures_before_decision(session, case, on)
    if decision.outcome is Outcome.FIRST_VIOLATION_NO_PENALTY:
        earlier = _earlier_violation(session, case)
        if earlier is not None:
            raise ValidationError(
                f"当事人已有违法记录（{earlier.number}），不是初次违法，不适用首违不罚（《行政处罚法》第三十三条）。",
                field="outcome",
            )
    case.outcome = decision.outcome.value
    case.decided_on = on
    case.tier_name = decision.tier_name
    case.fine_fen = decision.fine_fen
    case.base_fen = decision.base_fen
    case.penalty_types = json.dumps([t.value for t in decision.penalty_types])
    case.transferred_to = decision.transfer_to.strip()
    _record(
        session,
        actor,
        case,
        StepKind.DECISION,
        on,
        data={
            "outcome": decision.outcome.value,
            "tier_name": decision.tier_name,
            "fine_fen": decision.fine_fen,
            "penalty_types": [t.value for t in decision.penalty_types],
            "reasons": decision.reasons.strip(),
            "transfer_to": decision.transfer_to.strip(),
        },
        approved=True,
        opinion=decision.reasons,
    )
    return _view(session, case)


def serve(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    method: str,
    received_by: str = "",
    *,
    electronic_consent: bool = False,
) -> CaseView:
    """送达 of the decision (APL 61); starts the payment and appeal periods. Service by e-mail,
    fax or other electronic means needs the party's signed consent (确认书, APL 61 para. 2)."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.SERVICE, StepStatus.DONE)
    if method not in SERVICE_METHODS:
        raise ValidationError(f"送达方式应为{'、'.join(SERVICE_METHODS)}之一。", field="method")
    if method == ELECTRONIC_SERVICE and not electronic_consent:
        raise ValidationError(
            f"{case.number}的当事人未签订送达地址确认书同意电子送达，不能以传真、电子邮件等方式送达"
            "（《行政处罚法》第六十一条第二款）；请改用直接、留置或邮寄送达。",
            field="method",
        )
    _record(
        session,
        actor,
        case,
        StepKind.SERVICE,
        on,
        data={
            "method": method,
            "received_by": received_by.strip(),
            "electronic_consent": electronic_consent and method == ELECTRONIC_SERVICE,
        },
    )
    case.served_on = on
    return _view(session, case)


def record_payment(
    session: Session, actor: Actor, case_id: str, on: dt.date, amount_fen: int, receipt_no: str
) -> CaseView:
    """执行: the fine paid at the bank (罚缴分离, APL 67), with the late fee of APL 72 when late —
    not counted for the days of a pause or of an appeal pending (APL 73, ``timing.fee_pauses``).
    Refused once an appeal result revoked the decision: nothing is then left to collect."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.EXECUTION, StepStatus.DONE)
    if case.served_on is None:
        raise ValidationError(f"{case.number}的决定书尚未送达，不能登记缴款。")
    revoked = _revoked_by(session, case)
    if revoked is not None:
        raise ValidationError(
            f"{case.number}的处罚决定已于 {revoked.performed_on.isoformat()} 被{appeal_kind(revoked).ruling}撤销，"
            "罚款不再收缴，不能登记缴款；请将“执行”记为不适用（已缴的罚款依法退还）。"
        )
    # Instalments (分期缴纳, APL 66) are paid one by one as side measures; execution is then their
    # settlement. Imported here because app.cases.measures builds on this module.
    from app.cases.measures import instalment_settlement

    settlement = instalment_settlement(session, case, on)
    if settlement is not None:
        if amount_fen != settlement.total_fen:
            raise ValidationError(
                f"{case.number}分期缴纳 {settlement.count} 期共缴 {yuan_short(settlement.total_fen)}"
                f"（其中加处罚款 {yuan_short(settlement.late_fee_fen)}），登记的 {yuan_short(amount_fen)}不符，请核对各期缴款凭证。",
                field="amount",
            )
        if not receipt_no.strip():
            raise ValidationError("请填写缴款凭证（银行票据）编号。", field="receipt_no")
        _record(
            session,
            actor,
            case,
            StepKind.EXECUTION,
            on,
            data={
                "amount_fen": amount_fen,
                "late_fee_fen": settlement.late_fee_fen,
                "receipt_no": receipt_no.strip(),
                "due": settlement.last_due.isoformat(),
                "instalments": settlement.count,
            },
        )
        return _view(session, case)
    # The payment clock as the case shows it, so that an approved pause moves the deadline here too.
    payment = next(
        (c for c in clocks_for_case(session, actor, case.id, today=on) if c.kind is ClockKind.PAYMENT), None
    )
    due = payment.due if payment else Clock(ClockKind.PAYMENT, case.served_on).due(calendar_for(session)).day
    pauses = late_fee_pauses(session, case)
    fee = late_fee_fen(case.fine_fen, due, on, pauses)
    owed = case.fine_fen + fee
    if amount_fen != owed:
        paused = late_fee_days(due, on) - late_fee_days(due, on, pauses)
        extra = (
            f"（罚款 {yuan_short(case.fine_fen)}，{due.isoformat()} 缴款期满后加处罚款 {yuan_short(fee)}）"
            if fee
            else ""
        )
        if paused:
            extra += f"（复议、诉讼或中止期间 {paused} 日不计加处罚款，《行政处罚法》第七十三条）"
        raise ValidationError(
            f"{on.isoformat()} 应缴 {yuan_short(owed)}{extra}，登记的 {yuan_short(amount_fen)}不符，请核对缴款凭证。",
            field="amount",
        )
    if not receipt_no.strip():
        raise ValidationError("请填写缴款凭证（银行票据）编号。", field="receipt_no")
    _record(
        session,
        actor,
        case,
        StepKind.EXECUTION,
        on,
        data={
            "amount_fen": amount_fen,
            "late_fee_fen": fee,
            "receipt_no": receipt_no.strip(),
            "due": due.isoformat(),
        },
    )
    return _view(session, case)


def mark_not_applicable(
    session: Session, actor: Actor, case_id: str, step: StepKind, on: dt.date, reason: str
) -> CaseView:
    """Record that ``step`` does not apply to this case, with the reason; refused when the case's
    facts make the step required (naming what requires it)."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    advance(case, step, StepStatus.NOT_APPLICABLE, reason)
    data: dict[str, Any] = {}
    proposed = Outcome(_data(_step(session, case, StepKind.CONCLUSION)).get("proposed_outcome", "penalty"))
    if step is StepKind.LEGAL_REVIEW:
        triggers = legal_review_triggers(session, case)
        if triggers:
            raise ValidationError(
                f"{case.number}须经法制审核（{'；'.join(triggers)}），不能记为不适用（《行政处罚法》第五十八条）。"
            )
    elif step is StepKind.PRIOR_NOTICE and proposed is Outcome.PENALTY:
        raise ValidationError(
            f"{case.number}拟给予行政处罚，必须事先告知（《行政处罚法》第四十四条），不能记为不适用。"
        )
    elif step is StepKind.STATEMENT:
        notice = _step(session, case, StepKind.PRIOR_NOTICE)
        if notice is not None and notice.status == StepStatus.DONE.value:
            raise ValidationError("已事先告知的案件，请记录当事人的陈述申辩或其放弃陈述申辩。")
    elif step is StepKind.HEARING:
        if _data(_step(session, case, StepKind.STATEMENT)).get("hearing_requested"):
            raise ValidationError(f"{case.number}的当事人已申请听证，须组织听证，不能记为不适用。")
    elif step is StepKind.COLLECTIVE_DISCUSSION:
        if case.major or case.complex:
            raise ValidationError(
                f"{case.number}为{'重大' if case.major else '复杂'}案件，须经集体讨论决定（《行政处罚法》第五十七条）。"
            )
    elif step is StepKind.SERVICE:
        if case.outcome != Outcome.TRANSFER.value:
            raise ValidationError("决定书须送达当事人（《行政处罚法》第六十一条），不能记为不适用。")
    elif step is StepKind.EXECUTION and case.outcome == Outcome.PENALTY.value and case.fine_fen > 0:
        # A decision revoked on appeal (撤销) leaves no fine to collect; the step names the result.
        revoked = _revoked_by(session, case)
        if revoked is None:
            raise ValidationError(
                f"{case.number}处罚款 {yuan_short(case.fine_fen)}，须登记缴款或强制执行，不能记为不适用；"
                "处罚决定被复议决定或判决撤销的，请先在“强制措施与执行”中登记复议决定或判决。"
            )
        data = {"appeal_result_id": revoked.id, "revoked_on": revoked.performed_on.isoformat()}
    _record(session, actor, case, step, on, status=StepStatus.NOT_APPLICABLE, reason=reason, data=data)
    return _view(session, case)


def close_case(session: Session, actor: Actor, case_id: str, on: dt.date, opinion: str = "") -> CaseView:
    """结案审批 by the leader; refused while a veto item of the pre-check (案卷评查) stands."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.CLOSURE, StepStatus.DONE)  # a case not ready for closure: say that first
    # Closure is refused while a veto item stands (issue 3, item 7). Imported here because
    # app.cases.precheck builds on this module.
    from app.cases.precheck import precheck, vetoes

    blocking = vetoes(precheck(session, actor, case.id))
    if blocking:
        lines = "；".join(f"{f.message}（请在“{f.where}”中纠正）" for f in blocking)
        raise ValidationError(f"{case.number}的案卷评查有否决项，不能结案：{lines}")
    _record(session, actor, case, StepKind.CLOSURE, on, approved=True, opinion=opinion or "同意结案")
    case.closed_on = on
    return _view(session, case)


def archive_case(session: Session, actor: Actor, case_id: str, on: dt.date) -> CaseView:
    """归档: the dossier bound and handed to the archive."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    _record(session, actor, case, StepKind.ARCHIVE, on)
    return _view(session, case)


def reopen_case(session: Session, actor: Actor, case_id: str, on: dt.date, reason: str) -> CaseView:
    """Reopen a closed case (leader only, with a reason): its closure (and archiving) are marked
    withdrawn — kept in the dossier — and the case goes back to the stage before closure."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    back = reopen_stage(case)
    clean = reason.strip()
    if not clean:
        raise ValidationError(f"重新办理{case.number}须写明理由。", field="reason")
    if case.closed_on is not None and on < case.closed_on:
        raise ValidationError(f"重新办理日期 {on.isoformat()} 早于结案日期 {case.closed_on.isoformat()}。")
    name = actor.display_name or actor.username
    for step in _steps(session, case.id):
        closing = step.kind in (StepKind.CLOSURE.value, StepKind.ARCHIVE.value, StepKind.RECORD_FILING.value)
        if closing and step.status != StepStatus.WITHDRAWN.value:
            step.status = StepStatus.WITHDRAWN.value
            step.reason = f"{on.isoformat()} 经{name}批准重新办理：{clean}"
    case.stage = back.value
    case.closed_on = None
    return _view(session, case)


# ---- summary procedure ------------------------------------------------------------------------


def decide_on_the_spot(session: Session, actor: Actor, spot: SpotDecision) -> CaseView:
    """当场处罚决定 (简易程序, APL 51–52, 68): a warning or a small fine, by two officers."""
    require(actor, Permission.HANDLE_CASES)
    bad = [t for t in spot.penalty_types if t not in SUMMARY_PENALTY_TYPES]
    if bad or not spot.penalty_types:
        raise ValidationError(
            f"简易程序只能给予警告或罚款，“{bad[0].label if bad else '未选择处罚种类'}”须适用普通程序。",
            field="penalty_types",
        )
    party = session.get(Party, spot.party_id)
    if party is None or party.deleted:
        raise NotFoundError("找不到所选当事人，请重新选择。")
    limits = thresholds(session)
    if not limits.summary_allowed(party.kind, spot.fine_fen):
        limit = limits.summary_person_fen if party.kind == PartyKind.PERSON else limits.summary_org_fen
        raise ValidationError(
            f"对{PartyKind(party.kind).label}罚款 {yuan_short(spot.fine_fen)}超过简易程序上限 {yuan_short(limit)}"
            "（《行政处罚法》第五十一条），须适用普通程序。",
            field="fine",
        )
    if spot.collected_on_spot and not limits.on_the_spot_allowed(spot.fine_fen):
        raise ValidationError(
            f"罚款 {yuan_short(spot.fine_fen)}超过当场收缴上限 {yuan_short(limits.on_the_spot_fen)}"
            "（《行政处罚法》第六十八条），请当事人到银行缴纳。",
            field="collected_on_spot",
        )
    opening = CaseOpening(
        item_code=spot.item_code,
        party_ids=(spot.party_id,),
        title=spot.title,
        opened_on=spot.decided_on,
        facts=spot.facts,
        violation_ended=spot.violation_ended,
    )
    item = get_item(session, spot.item_code)
    _check_limitation("本案", spot.violation_ended, spot.decided_on, item.limitation_years == 5)
    officers = check_officers(session, spot.officer_ids, spot.decided_on, "当场处罚")
    case = _new_case(session, Procedure.SUMMARY, CaseStage.OPENED, opening, spot.lead_id)
    proposal = PenaltyProposal(
        Outcome.PENALTY, spot.tier_name, spot.fine_fen, tuple(dict.fromkeys(spot.penalty_types))
    )
    _check_proposal(session, case, proposal)
    if spot.lead_id:
        file_lead(session, actor, spot.lead_id, case.number)
    case.filed_on = case.decided_on = spot.decided_on
    case.outcome = Outcome.PENALTY.value
    case.tier_name = spot.tier_name
    case.fine_fen = spot.fine_fen
    case.penalty_types = json.dumps([t.value for t in proposal.penalty_types])
    _record(
        session,
        actor,
        case,
        StepKind.SPOT_DECISION,
        spot.decided_on,
        data={"collected_on_spot": spot.collected_on_spot, "fine_fen": spot.fine_fen},
        officers=officers,
    )
    return _view(session, case)


def file_spot_record(session: Session, actor: Actor, case_id: str, on: dt.date) -> CaseView:
    """备案: the on-the-spot decision filed with the squad; this closes a summary case. Refused
    while a fine collected on the spot has not been handed in (APL 71: within 2 working days)."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    advance(case, StepKind.RECORD_FILING, StepStatus.DONE)
    spot = _step(session, case, StepKind.SPOT_DECISION)
    if _data(spot).get("collected_on_spot") and _step(session, case, StepKind.CASH_HANDOVER) is None:
        assert spot is not None
        due = Clock(ClockKind.CASH_HANDOVER, spot.performed_on).due(calendar_for(session)).day
        raise ValidationError(
            f"{case.number}于 {spot.performed_on.isoformat()} 当场收缴罚款 {yuan_short(case.fine_fen)}，"
            f"尚未登记交至行政机关（应于 {due.isoformat()} 前交纳，《行政处罚法》第七十一条）；"
            "请先登记罚款交纳，再备案。"
        )
    _record(session, actor, case, StepKind.RECORD_FILING, on)
    case.closed_on = on
    return _view(session, case)


# ---- lookups ----------------------------------------------------------------------------------


def find_case_by_number(session: Session, actor: Actor, number: str) -> CaseView:
    """The case with this number (车综执立〔2026〕第0001号), or NotFoundError naming the number."""
    require(actor, Permission.VIEW_CASES)
    clean = number.strip()
    case = session.scalar(select(Case).where(Case.number == clean, Case.deleted.is_(False)).limit(1))
    if case is None:
        raise NotFoundError(f"找不到案号为“{clean}”的案件，请核对案号（含〔〕和“第…号”）。")
    return _view(session, case)
