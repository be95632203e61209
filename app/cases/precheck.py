"""案卷评查 pre-check: the district's review criteria (DOMAIN.md), checked by the app first.

``precheck`` re-reads a case as a reviewer would — every recorded step, its officers on the day
of the act, the fine against the item and tier of the case's reference release, the order of the
dates, the 90-day decision clock with its pauses and extensions, the parties' identity — and
returns findings: veto items (否决项: the dossier fails outright; closure is refused while one
stands) and form items (形式项: points off). Each finding names the problem and the step that
fixes it.

The service refuses most of these at the time of the act; the pre-check still repeats them,
because the records can change afterwards (a certificate's validity corrected in the ledger, a
tier edited in the case's release, data synced from another device) and because the reviewer
judges the dossier as it stands, not as it was typed.

Side measures are checked too: preserved evidence handled before the decision and within 7
working days (APL 56), seizures released or handled before closure and within their period
(ACL 25, 27), cash collected on the spot handed in within 2 working days (APL 71).

Not checked yet: documents (文书) — a main step without its document, unsealed key documents,
page numbers, contents and binding order. Documents and their templates come in a later issue;
until they are recorded nothing here can show them, so no finding pretends to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.calendar import WorkCalendar, calendar_for
from app.cases.clocks import Clock, ClockKind, Extension
from app.cases.machine import LEADER_APPROVED_MEASURES, LEADER_APPROVED_STEPS, SIDE_STEPS, StepKind
from app.cases.service import MIN_OFFICERS, legal_review_triggers
from app.cases.timing import compute
from app.errors import DomainError, NotFoundError
from app.personnel.enforce import explain_enforce
from app.reference import check_fine, get_item, get_tier, yuan_short
from db.models import Member, Party
from db.models.cases import (
    Case,
    CaseParty,
    CasePause,
    CaseStep,
    CaseStepOfficer,
    Outcome,
    Procedure,
    StepStatus,
)
from db.models.parties import PartyKind


class Severity(StrEnum):
    VETO = "veto"  # 否决项
    FORM = "form"  # 形式项

    @property
    def label(self) -> str:
        return "否决项" if self is Severity.VETO else "形式项"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    message: str
    #: The step whose record fixes the problem; None when it is fixed outside the steps
    #: (the party's identity in the party register).
    step: StepKind | None

    @property
    def where(self) -> str:
        return self.step.label if self.step is not None else "当事人信息"


#: Steps that are enforcement acts and need two officers who may enforce on the day (APL 42, 55;
#: ACL 18 for seizure). A collective discussion lists leaders attending, not enforcement officers.
OFFICER_STEPS = frozenset(
    {StepKind.INVESTIGATION, StepKind.SPOT_DECISION, StepKind.PRESERVATION, StepKind.SEIZURE}
)


def _data(step: CaseStep) -> dict[str, Any]:
    return json.loads(step.data) if step.data else {}


def _officers(session: Session, case: Case, steps: list[CaseStep]) -> list[Finding]:
    out: list[Finding] = []
    rows = list(
        session.scalars(
            select(CaseStepOfficer).where(
                CaseStepOfficer.step_id.in_([s.id for s in steps]), CaseStepOfficer.deleted.is_(False)
            )
        )
    )
    for step in steps:
        kind = StepKind(step.kind)
        if kind not in OFFICER_STEPS or step.status != StepStatus.DONE.value:
            continue
        day = step.performed_on
        ids = list(dict.fromkeys(r.member_id for r in rows if r.step_id == step.id))
        if len(ids) < MIN_OFFICERS:
            out.append(
                Finding(
                    Severity.VETO,
                    f"“{kind.label}”（{day.isoformat()}）只有 {len(ids)} 名执法人员，"
                    f"须至少 {MIN_OFFICERS} 名（《行政处罚法》第四十二条、第五十五条）。",
                    kind,
                )
            )
        for member_id in ids:
            member = session.get(Member, member_id)
            if member is None:
                out.append(Finding(Severity.VETO, f"“{kind.label}”的执法人员记录已不存在。", kind))
                continue
            # On the day of the act: a certificate revoked later but valid that day is fine.
            check = explain_enforce(session, member, day)
            if not check.ok:
                out.append(
                    Finding(
                        Severity.VETO,
                        f"“{kind.label}”（{day.isoformat()}）的执法人员{member.name}当日不具备执法资格：{check.reason}",
                        kind,
                    )
                )
    return out


def _fine(session: Session, case: Case, party: Party | None, live: dict[StepKind, CaseStep]) -> list[Finding]:
    """Re-run the statutory range and tier check against the case's own reference release."""
    if case.outcome and case.outcome != Outcome.PENALTY.value:
        return []
    if case.fine_fen <= 0 and not case.tier_name:
        return []
    fixed_by = (
        StepKind.SPOT_DECISION
        if case.procedure == Procedure.SUMMARY.value
        else StepKind.DECISION
        if StepKind.DECISION in live
        else StepKind.CONCLUSION
    )
    kind = PartyKind(party.kind) if party is not None else PartyKind.PERSON
    try:
        item = get_item(session, case.item_code, case.release_no)
        tier = get_tier(session, case.item_code, case.tier_name, case.release_no) if case.tier_name else None
        check_fine(item, tier, case.fine_fen, kind, case.base_fen)
    except DomainError as exc:
        return [
            Finding(
                Severity.VETO,
                f"罚款 {yuan_short(case.fine_fen)}不符合法定幅度或裁量阶次：{exc.message}",
                fixed_by,
            )
        ]
    return []


def _order(steps: list[CaseStep], case: Case) -> list[Finding]:
    """The procedure steps in order of their dates. Side measures run beside the procedure and
    are checked against their own anchors (``_measures``)."""
    out: list[Finding] = []
    previous: CaseStep | None = None
    for step in steps:
        kind = StepKind(step.kind)
        if kind in SIDE_STEPS:
            continue
        if previous is not None and step.performed_on < previous.performed_on:
            out.append(
                Finding(
                    Severity.VETO,
                    f"办案环节顺序颠倒：“{kind.label}”日期 {step.performed_on.isoformat()} 早于其前一环节"
                    f"“{StepKind(previous.kind).label}”的 {previous.performed_on.isoformat()}。",
                    kind,
                )
            )
        previous = step
    if case.filed_on is not None and case.filed_on < case.opened_on:
        out.append(
            Finding(
                Severity.VETO,
                f"立案日期 {case.filed_on.isoformat()} 早于案件登记日期 {case.opened_on.isoformat()}。",
                StepKind.FILING,
            )
        )
    return out


def _measures(case: Case, steps: list[CaseStep], calendar: WorkCalendar) -> list[Finding]:
    """Preservations handled, seizures released or handled, cash handed in — and in time."""
    out: list[Finding] = []
    decided = any(s.kind == StepKind.DECISION.value for s in steps)

    def ending(kind: StepKind, link: str, step: CaseStep) -> CaseStep | None:
        return next((s for s in steps if s.kind == kind.value and _data(s).get(link) == step.id), None)

    for step in steps:
        day = step.performed_on.isoformat()
        if step.kind == StepKind.PRESERVATION.value:
            handling = ending(StepKind.PRESERVATION_HANDLING, "preservation_id", step)
            due = Clock(ClockKind.PRESERVATION_DECISION, step.performed_on).due(calendar).day
            if handling is None and decided:
                out.append(
                    Finding(
                        Severity.VETO,
                        f"先行登记保存（{day}）的物品未作出处理决定，即作出了案件处理决定（《行政处罚法》第五十六条）。",
                        StepKind.PRESERVATION_HANDLING,
                    )
                )
            elif handling is not None and handling.performed_on > due:
                out.append(
                    Finding(
                        Severity.FORM,
                        f"先行登记保存（{day}）的处理决定于 {handling.performed_on.isoformat()} 作出，"
                        f"超过 7 个工作日的期限 {due.isoformat()}（《行政处罚法》第五十六条）。",
                        StepKind.PRESERVATION_HANDLING,
                    )
                )
        elif step.kind == StepKind.SEIZURE.value:
            release = ending(StepKind.SEIZURE_RELEASE, "seizure_id", step)
            extensions = [
                Extension(int(_data(e)["days"]), e.approved_by_name or "未记录", e.opinion or "延长")
                for e in steps
                if e.kind == StepKind.SEIZURE_EXTENSION.value and _data(e).get("seizure_id") == step.id
            ]
            due = Clock(ClockKind.SEIZURE, step.performed_on, extensions=extensions).due(calendar).day
            if release is None and decided:
                out.append(
                    Finding(
                        Severity.VETO,
                        f"查封扣押（{day}）的财物在作出决定后仍未解除或处理（《行政强制法》第二十七条、第二十八条），"
                        "结案前须登记解除或处理。",
                        StepKind.SEIZURE_RELEASE,
                    )
                )
            elif release is not None and release.performed_on > due:
                out.append(
                    Finding(
                        Severity.FORM,
                        f"查封扣押（{day}）至 {release.performed_on.isoformat()} 才解除或处理，"
                        f"超过查封扣押期限 {due.isoformat()}（《行政强制法》第二十五条）。",
                        StepKind.SEIZURE_RELEASE,
                    )
                )
        elif step.kind == StepKind.SPOT_DECISION.value and _data(step).get("collected_on_spot"):
            handover = next((s for s in steps if s.kind == StepKind.CASH_HANDOVER.value), None)
            due = Clock(ClockKind.CASH_HANDOVER, step.performed_on).due(calendar).day
            if handover is None:
                out.append(
                    Finding(
                        Severity.FORM,
                        f"{day} 当场收缴的罚款没有登记交至行政机关（《行政处罚法》第七十一条）。",
                        StepKind.CASH_HANDOVER,
                    )
                )
            elif handover.performed_on > due:
                out.append(
                    Finding(
                        Severity.FORM,
                        f"{day} 当场收缴的罚款于 {handover.performed_on.isoformat()} 才交至行政机关，"
                        f"超过 2 个工作日的期限 {due.isoformat()}（《行政处罚法》第七十一条）。",
                        StepKind.CASH_HANDOVER,
                    )
                )
    return out


def _parties(session: Session, case: Case) -> tuple[list[Finding], Party | None]:
    ids = list(
        session.scalars(
            select(CaseParty.party_id)
            .where(CaseParty.case_id == case.id, CaseParty.deleted.is_(False))
            .order_by(CaseParty.sort_order)
        )
    )
    if not ids:
        return [Finding(Severity.VETO, "案件没有登记当事人，当事人身份无法确认。", None)], None
    out: list[Finding] = []
    first: Party | None = None
    for party_id in ids:
        party = session.get(Party, party_id)
        if party is None or party.deleted:
            out.append(Finding(Severity.VETO, "案件当事人的记录已被删除，当事人身份无法确认。", None))
            continue
        first = first or party
        if party.kind == PartyKind.PERSON.value and not party.id_number.strip():
            out.append(Finding(Severity.VETO, f"当事人{party.name}没有登记公民身份号码，身份未查明。", None))
        if party.kind == PartyKind.ORGANISATION.value and not party.credit_code.strip():
            out.append(
                Finding(Severity.VETO, f"当事人{party.name}没有登记统一社会信用代码，主体身份未查明。", None)
            )
    return out, first


def precheck(session: Session, actor: Actor, case_id: str) -> list[Finding]:
    """The pre-check findings of a case, veto items first; empty: nothing found."""
    require(actor, Permission.VIEW_CASES)
    session.flush()
    case = session.get(Case, case_id)
    if case is None or case.deleted:
        raise NotFoundError("找不到该案件，可能已被删除，请刷新列表。")
    all_steps = list(
        session.scalars(
            select(CaseStep)
            .where(CaseStep.case_id == case.id, CaseStep.deleted.is_(False))
            .order_by(CaseStep.seq)
        )
    )
    steps = [s for s in all_steps if s.status != StepStatus.WITHDRAWN.value]
    live = {StepKind(s.kind): s for s in steps}
    findings: list[Finding] = []

    party_findings, party = _parties(session, case)
    findings += _officers(session, case, steps)
    findings += _fine(session, case, party, live)
    findings += _order(steps, case)
    findings += party_findings
    calendar = calendar_for(session)
    findings += _measures(case, steps, calendar)

    ordinary = case.procedure == Procedure.ORDINARY.value
    decision = live.get(StepKind.DECISION)
    if ordinary and decision is not None and case.outcome == Outcome.PENALTY.value:
        notice = live.get(StepKind.PRIOR_NOTICE)
        if notice is None or notice.status != StepStatus.DONE.value:
            findings.append(
                Finding(
                    Severity.VETO,
                    "作出行政处罚决定前未事先告知当事人（《行政处罚法》第四十四条、第六十二条）。",
                    StepKind.PRIOR_NOTICE,
                )
            )
    review = live.get(StepKind.LEGAL_REVIEW)
    if (
        ordinary
        and review is not None
        and review.status == StepStatus.NOT_APPLICABLE.value
        and party is not None
    ):
        # Thresholds may have been met later (the fine raised on conclusion of a reopened case).
        triggers = legal_review_triggers(session, case)
        if triggers:
            findings.append(
                Finding(
                    Severity.VETO,
                    f"本案须经法制审核（{'；'.join(triggers)}），却记为不适用（《行政处罚法》第五十八条）。",
                    StepKind.LEGAL_REVIEW,
                )
            )
    if ordinary and decision is not None and case.decided_on is not None and case.filed_on is not None:
        pauses = list(
            session.scalars(
                select(CasePause).where(CasePause.case_id == case.id, CasePause.deleted.is_(False))
            )
        )
        clocks = compute(case, all_steps, pauses, calendar, case.decided_on)
        clock = next((c for c in clocks if c.kind is ClockKind.DECISION), None)
        if clock is not None and case.decided_on > clock.due:
            findings.append(
                Finding(
                    Severity.VETO,
                    f"决定日期 {case.decided_on.isoformat()} 超过办案期限 {clock.due.isoformat()}"
                    f"（{clock.explanation}），且没有经批准延长足够的期限（{clock.basis}）。",
                    StepKind.DECISION,
                )
            )

    # ---- form items
    for step in steps:
        kind = StepKind(step.kind)
        if step.status == StepStatus.NOT_APPLICABLE.value and not step.reason.strip():
            findings.append(Finding(Severity.FORM, f"“{kind.label}”记为不适用，但没有写明理由。", kind))
        if (
            (kind in LEADER_APPROVED_STEPS or kind in LEADER_APPROVED_MEASURES)
            and step.status == StepStatus.DONE.value
            and not step.approved_by_name
        ):
            findings.append(Finding(Severity.FORM, f"“{kind.label}”没有记录审批人。", kind))
    if not case.facts.strip():
        findings.append(
            Finding(
                Severity.FORM,
                "案件没有填写违法事实。",
                StepKind.SPOT_DECISION if not ordinary else StepKind.INVESTIGATION,
            )
        )
    investigation = live.get(StepKind.INVESTIGATION)
    if investigation is not None and not _data(investigation).get("records"):
        findings.append(Finding(Severity.FORM, "调查取证没有登记任何笔录或证据。", StepKind.INVESTIGATION))
    if decision is not None and not (_data(decision).get("reasons") or decision.opinion).strip():
        findings.append(Finding(Severity.FORM, "处罚决定没有写明理由（裁量情节）。", StepKind.DECISION))

    findings.sort(key=lambda f: f.severity is not Severity.VETO)
    return findings


def vetoes(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.VETO]


__all__ = ["OFFICER_STEPS", "Finding", "Severity", "precheck", "vetoes"]
