"""Field binding (文书取数): the fields of :mod:`app.documents.fields` gathered for one case.

``document_data(session, actor, case_id, doc_type)`` reads the case, its steps and side
measures, the first party, the lead, the violation item, the officers of the act the document
records — each with the number of the enforcement certificate valid on the act's day — and the
squad (enforcing body). Amounts come in figures and in capitals (人民币贰仟伍佰元整), dates in
full Arabic numerals (2026年3月5日). A field the case does not have yet is the empty string:
the renderer leaves it to fill by hand, or strikes it out in a written record.

Which act a document records is the template's ``step`` (the decision for a 决定书, the
investigation for a 询问笔录 …): its date is ``doc_date`` and its officers are ``officers``;
a step without officers of its own (a decision) names the investigating officers (承办人员).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.calendar import calendar_for
from app.cases.clocks import Clock, ClockKind, late_fee_fen
from app.cases.machine import SIDE_STEPS, StepKind
from app.cases.measures import PreservationOutcome
from app.cases.service import OUTCOME_LABELS, StepView, get_case, legal_review_triggers
from app.cases.timing import late_fee_pauses
from app.certificates import facts_of
from app.documents.template import Template, load_template
from app.documents.text import date_zh
from app.errors import NotFoundError, ValidationError
from app.leads import SOURCE_LABELS
from app.personnel.idcard import birth_date, gender_of, mask_id_number
from app.reference import PenaltyType, get_item, thresholds, yuan_capital, yuan_digits
from app.squad import get_squad
from db.models import Certificate, CertificateEvent, Member, Party
from db.models.cases import Case, CaseEvidence, Outcome, Procedure, StepStatus
from db.models.leads import Lead, LeadSource
from db.models.parties import PartyKind
from db.models.personnel import CertificateKind

#: Documents that follow each outcome of a decision, as the service receipt names them.
DECISION_DOCUMENTS = {
    Outcome.PENALTY: "行政处罚决定书",
    Outcome.NO_PENALTY: "不予行政处罚决定书",
    Outcome.FIRST_VIOLATION_NO_PENALTY: "不予行政处罚决定书",
    Outcome.NOT_ESTABLISHED: "不予行政处罚决定书",
    Outcome.TRANSFER: "案件移送函",
}
PROCEDURE_LABELS = {Procedure.ORDINARY: "普通程序", Procedure.SUMMARY: "简易程序"}


def superior_government(body: str) -> str:
    """广州市天河区人民政府车陂街道办事处 → 广州市天河区人民政府: a street office is the district
    government's agency (派出机关), so the district government hears its reconsiderations."""
    i = body.find("人民政府")
    return body[: i + 4] if i > 0 and i + 4 < len(body) else ""


def local_court(body: str) -> str:
    """广州市天河区人民政府车陂街道办事处 → 广州市天河区人民法院 (the basic court of the place)."""
    i = body.find("人民政府")
    return f"{body[:i]}人民法院" if i > 0 else ""


def _live(steps: Sequence[StepView], kind: StepKind) -> StepView | None:
    for step in reversed(steps):
        if step.kind is kind and step.status is StepStatus.DONE:
            return step
    return None


def _any(steps: Sequence[StepView], kind: StepKind) -> StepView | None:
    for step in reversed(steps):
        if step.kind is kind and step.status is not StepStatus.WITHDRAWN:
            return step
    return None


def sentence(text: str) -> str:
    """Text as a sentence of the document: trimmed, ending with a full stop unless it has one."""
    clean = text.strip()
    return clean if not clean or clean[-1] in "。！？；…" else f"{clean}。"


def _d(day: dt.date | None) -> str:
    return date_zh(day) if day else ""


def _penalty_text(types: Sequence[PenaltyType], fine_fen: int) -> str:
    """责令（限期）改正；罚款人民币贰仟元整（2,000.00元）"""
    parts = []
    for t in types:
        if t is PenaltyType.FINE:
            parts.append(f"罚款{yuan_capital(fine_fen)}（{yuan_digits(fine_fen)}）")
        else:
            parts.append(t.label)
    return "；".join(parts)


def _types(values: Any) -> tuple[PenaltyType, ...]:
    out = []
    for v in values or ():
        try:
            out.append(PenaltyType(v))
        except ValueError:
            continue
    return tuple(out)


def certificate_number_on(session: Session, member_id: str, day: dt.date) -> str:
    """The number of ``member``'s enforcement certificate valid on ``day``; empty if none was."""
    certs = list(
        session.scalars(
            select(Certificate).where(
                Certificate.member_id == member_id,
                Certificate.kind == CertificateKind.ENFORCEMENT.value,
                Certificate.deleted.is_(False),
            )
        )
    )
    if not certs:
        return ""
    events: dict[str, list[CertificateEvent]] = {}
    for e in session.scalars(
        select(CertificateEvent).where(
            CertificateEvent.certificate_id.in_([c.id for c in certs]), CertificateEvent.deleted.is_(False)
        )
    ):
        events.setdefault(e.certificate_id, []).append(e)
    valid = [c for c in certs if facts_of(c, events.get(c.id, ())).valid_on(day)]
    if not valid:
        return ""
    return max(valid, key=lambda c: c.valid_from or dt.date.min).number


def _officers(session: Session, member_ids: Sequence[str], day: dt.date) -> list[dict[str, str]]:
    out = []
    for member_id in member_ids:
        member = session.get(Member, member_id)
        if member is None:
            continue
        out.append({"name": member.name, "cert_no": certificate_number_on(session, member.id, day)})
    return out


def _age(id_number: str, on: dt.date) -> str:
    born = birth_date(id_number) if len(id_number) == 18 else None
    if born is None:
        return ""
    return str(on.year - born.year - ((on.month, on.day) < (born.month, born.day)))


def _party(session: Session, actor: Actor, party: Party | None, on: dt.date) -> dict[str, Any]:
    if party is None:
        return {"party_is_person": False}
    person = party.kind == PartyKind.PERSON.value
    # The documents of a case name the party in full; a role that only reads cases sees the
    # ID number masked, as everywhere else.
    full = actor.can(Permission.VIEW_FULL_ID) or actor.can(Permission.HANDLE_CASES)
    number = party.id_number if person else party.credit_code
    if person and number and not full:
        number = mask_id_number(number)
    gender = gender_of(party.id_number) if person and len(party.id_number) == 18 else ""
    born = birth_date(party.id_number) if person and len(party.id_number) == 18 else None
    fields: dict[str, Any] = {
        "party_name": party.name,
        "party_is_person": person,
        "party_kind_label": "自然人" if person else "法人或者其他组织",
        "party_id_label": "公民身份号码" if person else "统一社会信用代码",
        "party_id_number": number,
        "party_gender": gender,
        "party_age": _age(party.id_number, on) if person else "",
        "party_birth_date": _d(born),
        "party_address": party.address,
        "party_phone": party.phone,
        "party_legal_rep": "" if person else party.legal_representative,
    }
    if person:
        bits = [
            party.name,
            gender,
            f"{date_zh(born)}出生" if born else "",
            f"公民身份号码：{number}" if number else "",
        ]
        bits += [
            f"住址：{party.address}" if party.address else "",
            f"联系电话：{party.phone}" if party.phone else "",
        ]
    else:
        bits = [party.name, f"统一社会信用代码：{number}" if number else ""]
        bits += [f"法定代表人：{party.legal_representative}" if party.legal_representative else ""]
        bits += [
            f"住所：{party.address}" if party.address else "",
            f"联系电话：{party.phone}" if party.phone else "",
        ]
    fields["party_summary"] = "，".join(b for b in bits if b) + "。"
    # The one questioned: the person, or the organisation's legal representative.
    fields.update(
        {
            "interviewee_name": party.name if person else party.legal_representative,
            "interviewee_role": "当事人" if person else f"{party.name}法定代表人",
            "interviewee_gender": gender,
            "interviewee_age": fields["party_age"],
            "interviewee_id_number": number if person else "",
            "interviewee_address": party.address,
            "interviewee_phone": party.phone,
        }
    )
    return fields


def _items(data: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "no": str(n),
            "name": str(i.get("name", "")),
            "quantity": str(i.get("quantity", "")),
            "unit": str(i.get("unit", "")),
        }
        for n, i in enumerate(data.get("items") or [], 1)
        if isinstance(i, Mapping)
    ]


def _qa(data: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = data.get("inquiry") or data.get("qa") or []
    return [
        {"q": str(r.get("q", "")).strip(), "a": str(r.get("a", "")).strip()}
        for r in rows
        if isinstance(r, Mapping) and (str(r.get("q", "")).strip() or str(r.get("a", "")).strip())
    ]


def _check_applies(template: Template, case: Case) -> None:
    if template.procedure != "any" and case.procedure != template.procedure:
        want = PROCEDURE_LABELS[Procedure(template.procedure)]
        raise ValidationError(
            f"{case.number}是{PROCEDURE_LABELS[Procedure(case.procedure)]}案件，“{template.title}”只用于{want}案件。"
        )
    if template.outcomes and case.outcome and case.outcome not in template.outcomes:
        label = OUTCOME_LABELS.get(Outcome(case.outcome), case.outcome)
        raise ValidationError(f"{case.number}的处理结果是“{label}”，不能制作“{template.title}”。")


def document_data(
    session: Session,
    actor: Actor,
    case_id: str,
    doc_type: str,
    *,
    number: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    template: Template | None = None,
    templates: Path | None = None,
) -> Mapping[str, Any]:
    """Every field of :mod:`app.documents.fields` for ``case_id``, as the ``doc_type`` template
    reads them. ``number`` is the issued 文号 (none: “（未编号）”); ``overrides`` replaces fields
    the caller knows better (the number of the decision a service receipt names …)."""
    require(actor, Permission.VIEW_CASES)
    template = template or load_template(doc_type, templates)
    view = get_case(session, actor, case_id)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError("找不到该案件，可能已被删除，请刷新列表。")
    _check_applies(template, case)
    squad = get_squad(session, case.squad_id)
    steps = view.steps
    item = get_item(session, case.item_code, case.release_no)
    lead = session.get(Lead, case.lead_id) if case.lead_id else None
    party = session.get(Party, view.party_ids[0]) if view.party_ids else None

    act = None
    if template.step:
        try:
            kind = StepKind(template.step)
        except ValueError:
            kind = None
        act = _live(steps, kind) if kind is not None else None
        if kind in SIDE_STEPS and act is None:
            # A measure's document speaks of the measure: nothing to draw before it is recorded.
            raise ValidationError(f"{case.number}没有登记“{kind.label}”，不能制作“{template.title}”。")
        skipped = _any(steps, kind) if kind is not None and act is None else None
        if kind is not None and skipped is not None and skipped.status is StepStatus.NOT_APPLICABLE:
            # The step was considered and found not to apply: nothing for its document to record.
            raise ValidationError(
                f"{case.number}的“{kind.label}”环节记为不适用（{skipped.reason}），不能制作“{template.title}”。"
            )
    investigation = _live(steps, StepKind.INVESTIGATION)
    spot = _live(steps, StepKind.SPOT_DECISION)
    act_day = act.performed_on if act is not None else None
    cert_day = act_day or dt.date.today()
    handling = spot or investigation
    officer_ids = (act.officer_ids if act is not None else ()) or (
        handling.officer_ids if handling is not None else ()
    )
    officers = _officers(session, officer_ids, cert_day)

    data: dict[str, Any] = {
        "enforcing_body": squad.enforcing_body,
        "squad_name": squad.name,
        "reconsideration_body": superior_government(squad.enforcing_body),
        "court_name": local_court(squad.enforcing_body),
        "doc_title": template.title,
        "doc_number": number or "",
        "numbered": bool(number),
        "doc_date": _d(act_day),
        "case_number": case.number,
        "case_title": case.title,
        # Facts as recorded; else as the lead described them; else the 案由 itself.
        "case_facts": sentence(case.facts or (lead.description if lead is not None else "") or case.title),
        "case_place": lead.address if lead is not None else "",
        "procedure_label": PROCEDURE_LABELS[Procedure(case.procedure)],
        "stage_label": view.stage.label,
        "opened_date": _d(case.opened_on),
        "filed_date": _d(case.filed_on),
        "decided_date": _d(case.decided_on),
        "served_date": _d(case.served_on),
        "closed_date": _d(case.closed_on),
        "item_name": item.name,
        "breach_basis": item.breach_basis,
        "penalty_basis": item.penalty_basis,
        "tier_name": case.tier_name,
        "has_lead": lead is not None,
        "lead_number": lead.number if lead is not None else "",
        "lead_source": SOURCE_LABELS[LeadSource(lead.source)] if lead is not None else "",
        "lead_received_date": _d(lead.received_at.date()) if lead is not None else "",
        "lead_address": lead.address if lead is not None else "",
        "lead_description": lead.description if lead is not None else "",
        "lead_reporter": lead.reporter_name if lead is not None else "",
        "officers": officers,
        "officer_names": "、".join(o["name"] for o in officers),
        "officer_certs": "、".join(f"{o['name']}（执法证号：{o['cert_no'] or '无'}）" for o in officers),
    }
    for n in (1, 2):
        officer = officers[n - 1] if len(officers) >= n else {"name": "", "cert_no": ""}
        data[f"officer{n}_name"] = officer["name"]
        data[f"officer{n}_cert"] = officer["cert_no"]
    data.update(_party(session, actor, party, act_day or dt.date.today()))

    # filing
    filing = _live(steps, StepKind.FILING)
    data["filing_opinion"] = filing.opinion if filing is not None else ""
    data["filing_approver"] = filing.approved_by_name if filing is not None else ""
    data["filing_approved_date"] = _d(filing.approved_on if filing is not None else None)
    data["handler_opinion"] = f"当事人涉嫌{item.name}，符合立案条件，建议立案调查。"

    # investigation and the inquiry record
    inv = dict(investigation.data) if investigation is not None else {}
    records = [str(r) for r in inv.get("records") or []]
    evidence = [
        e.description or e.original_name
        for e in session.scalars(
            select(CaseEvidence)
            .where(CaseEvidence.case_id == case.id, CaseEvidence.deleted.is_(False))
            .order_by(CaseEvidence.sort_order)
        )
    ]
    listed = [*records, *(e for e in evidence if e and e not in records)]
    data["investigation_date"] = _d(investigation.performed_on if investigation is not None else None)
    data["investigation_records"] = "、".join(records)
    data["investigation_note"] = str(inv.get("note") or "")
    data["evidence_list"] = "；".join(f"{n}. {e}" for n, e in enumerate(listed, 1))
    data["inquiry_date"] = data["investigation_date"]
    data["inquiry_place"] = str(inv.get("place") or data["case_place"])
    data["recorder_name"] = data["officer2_name"]
    data["qa"] = _qa(act.data) if act is not None and act.kind is StepKind.HEARING else _qa(inv)

    # the penalty decided (or proposed, before the decision)
    types = view.penalty_types
    decision = _live(steps, StepKind.DECISION)
    conclusion = _live(steps, StepKind.CONCLUSION)
    data["outcome_label"] = OUTCOME_LABELS[view.outcome] if view.outcome else ""
    data["penalty_types_text"] = "、".join(t.label for t in types)
    data["penalty_text"] = _penalty_text(types, case.fine_fen)
    data["has_fine"] = PenaltyType.FINE in types and case.fine_fen > 0
    data["fine_digits"] = yuan_digits(case.fine_fen) if data["has_fine"] else ""
    data["fine_capital"] = yuan_capital(case.fine_fen) if data["has_fine"] else ""
    reasons = decision.data.get("reasons") if decision is not None else None
    if not reasons and conclusion is not None:
        reasons = conclusion.data.get("reasons")
    data["decision_reasons"] = sentence(str(reasons or ""))

    statement = _any(steps, StepKind.STATEMENT)
    if statement is None:
        data["statement_text"] = ""
    elif statement.status is StepStatus.NOT_APPLICABLE:
        data["statement_text"] = statement.reason
    elif statement.data.get("waived"):
        data["statement_text"] = "当事人在法定期限内未提出陈述、申辩。"
    else:
        said, review = (
            sentence(str(statement.data.get("statement", ""))),
            sentence(str(statement.data.get("review", ""))),
        )
        data["statement_text"] = f"当事人陈述、申辩称：{said}经复核，{review}"

    # prior notice
    notice = _live(steps, StepKind.PRIOR_NOTICE)
    nd = notice.data if notice is not None else {}
    notice_fine = int(nd.get("fine_fen", case.notice_fine_fen or case.fine_fen) or 0)
    notice_types = _types(nd.get("penalty_types")) if notice is not None else types
    data["notice_date"] = _d(notice.performed_on if notice is not None else None)
    received = nd.get("received_on")
    data["notice_received_date"] = _d(dt.date.fromisoformat(received)) if received else ""
    data["notice_penalty_text"] = _penalty_text(notice_types, notice_fine)
    fined = PenaltyType.FINE in notice_types and notice_fine > 0
    data["notice_fine_digits"] = yuan_digits(notice_fine) if fined else ""
    data["notice_fine_capital"] = yuan_capital(notice_fine) if fined else ""
    data["hearing_rights"] = bool(
        nd.get("hearing_rights", case.hearing_rights)
        if notice is not None or party is None
        else thresholds(session, case.release_no).hearing_required(
            party.kind, case.fine_fen, penalty_types=types
        )
    )

    # service (of the decision)
    service = _live(steps, StepKind.SERVICE)
    sd = service.data if service is not None else {}
    served_doc = DECISION_DOCUMENTS.get(Outcome(case.outcome), "") if case.outcome else "行政处罚决定书"
    data["served_document"] = served_doc
    data["service_method"] = str(sd.get("method", ""))
    data["service_date"] = _d(service.performed_on if service is not None else None)
    data["service_place"] = party.address if party is not None else ""
    data["received_by"] = str(sd.get("received_by", ""))
    data["server_name"] = data["officer_names"] if service is None else service.recorded_by_name

    # summary procedure
    collected = bool(spot.data.get("collected_on_spot")) if spot is not None else False
    data["spot_collected"] = collected
    data["spot_place"] = data["case_place"]
    data["payment_text"] = (
        "当场收缴罚款，并出具专用票据"
        if collected
        else "当事人应当自收到本决定书之日起十五日内，到指定的银行或者通过电子支付系统缴纳罚款"
    )

    # execution, closure
    execution = _any(steps, StepKind.EXECUTION)
    if execution is None:
        data["execution_text"] = ""
    elif execution.status is StepStatus.NOT_APPLICABLE:
        data["execution_text"] = execution.reason
    elif execution.data.get("via") == "court_application":
        data["execution_text"] = (
            f"已于{_d(execution.performed_on)}申请{execution.data.get('court', '')}强制执行。"
        )
    else:
        paid = int(execution.data.get("amount_fen", 0) or 0)
        receipt = execution.data.get("receipt_no", "")
        data["execution_text"] = (
            f"当事人已于{_d(execution.performed_on)}缴纳{yuan_capital(paid)}（{yuan_digits(paid)}）"
            + (f"，缴款凭证号{receipt}" if receipt else "")
            + "。"
        )
    closure = _live(steps, StepKind.CLOSURE)
    data["closure_opinion"] = closure.opinion if closure is not None else ""
    data["closure_approver"] = closure.approved_by_name if closure is not None else ""

    # side measures
    calendar = calendar_for(session)
    preservation = _live(steps, StepKind.PRESERVATION)
    pd = preservation.data if preservation is not None else {}
    data["has_preservation"] = preservation is not None
    data["preservation_date"] = _d(preservation.performed_on if preservation is not None else None)
    data["preservation_place"] = str(pd.get("place", ""))
    data["preservation_reason"] = str(pd.get("reason", ""))
    data["preservation_items"] = _items(pd)
    seizure = _live(steps, StepKind.SEIZURE)
    zd = seizure.data if seizure is not None else {}
    data["has_seizure"] = seizure is not None
    data["seizure_date"] = _d(seizure.performed_on if seizure is not None else None)
    data["seizure_measure"] = {"seal": "查封", "seize": "扣押"}.get(str(zd.get("measure", "")), "")
    data["seizure_place"] = str(zd.get("place_of_keeping", ""))
    data["seizure_reason"] = sentence(str(zd.get("reason", "")))
    data["seizure_items"] = _items(zd)
    data["seizure_due_date"] = (
        _d(Clock(ClockKind.SEIZURE, seizure.performed_on).due(calendar).day) if seizure is not None else ""
    )
    data["payment_due_date"] = (
        _d(Clock(ClockKind.PAYMENT, case.served_on).due(calendar).day) if case.served_on else ""
    )
    reminder = _live(steps, StepKind.REMINDER)
    data["reminder_date"] = _d(reminder.performed_on if reminder is not None else None)
    data["late_fee_text"] = (
        "逾期不缴纳罚款的，每日按罚款数额的百分之三加处罚款，加处罚款的数额不超过罚款数额。"
        if data["has_fine"]
        else ""
    )
    data.update(_remaining_documents(session, actor, case, steps, act, lead, party, data))
    needs = DOCUMENT_NEEDS.get(template.type)
    if needs is not None and not data.get(needs[0]):
        raise ValidationError(f"{case.number}{needs[1]}，不能制作“{template.title}”。")
    if overrides:
        data.update(overrides)
    return MappingProxyType(data)


# ---- remaining standard documents -------------------------------------------------------------
# The lead register, the inspection record, the order to correct, the handling of preserved
# evidence, the conclusion, the legal review, the collective discussion, the hearing documents,
# the application to court and the transfer letter.

#: Documents that only exist when the case has the flag: (flag, why not — after the case number).
DOCUMENT_NEEDS: dict[str, tuple[str, str]] = {
    "hearing_rights_notice": (
        "hearing_rights",
        "拟作出的行政处罚不属于《行政处罚法》第六十三条规定的听证范围，当事人不享有听证权利",
    ),
    "hearing_notice": ("hearing_requested", "的当事人没有申请听证"),
    "hearing_record": ("hearing_held", "没有举行听证"),
}

_PROPOSALS = {
    Outcome.NO_PENALTY: "建议不予行政处罚。",
    Outcome.FIRST_VIOLATION_NO_PENALTY: "建议不予行政处罚（首违不罚）。",
    Outcome.NOT_ESTABLISHED: "违法事实不能成立，建议不予行政处罚。",
}


def _time_zh(moment: dt.datetime) -> str:
    """2026年3月5日9时15分"""
    return f"{date_zh(moment.date())}{moment.hour}时{moment.minute:02d}分"


def _member_name(session: Session, member_id: Any) -> str:
    member = session.get(Member, str(member_id)) if member_id else None
    return member.name if member is not None else ""


def _iso_day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _remaining_documents(
    session: Session,
    actor: Actor,
    case: Case,
    steps: Sequence[StepView],
    act: StepView | None,
    lead: Lead | None,
    party: Party | None,
    data: Mapping[str, Any],
) -> dict[str, Any]:
    out: dict[str, Any] = {}

    # 案件来源登记表: the lead the case was opened from. A reporter's phone is shown in full
    # only to those who may see full personal data, as the party's ID number.
    phone = lead.reporter_phone if lead is not None else ""
    if phone and not (actor.can(Permission.VIEW_FULL_ID) or actor.can(Permission.HANDLE_CASES)):
        phone = f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"
    filed = (
        f"经审查，符合立案条件，于{data['filed_date']}立案调查（案号：{case.number}）。"
        if case.filed_on
        else f"经审查，符合立案条件，已报请立案审批（案号：{case.number}）。"
    )
    out.update(
        {
            "lead_source_ref": lead.source_ref if lead is not None else "",
            "lead_reporter_phone": phone,
            "lead_occurred_date": _d(
                lead.occurred_at.date() if lead is not None and lead.occurred_at else None
            ),
            "lead_received_time": _time_zh(lead.received_at) if lead is not None else "",
            "lead_grid_zone": lead.grid_zone if lead is not None else "",
            "lead_registered_by": lead.registered_by_name if lead is not None else "",
            "lead_handling": filed if lead is not None else "",
        }
    )

    # 现场检查（勘验）笔录 and 责令（限期）改正通知书: made during the investigation.
    investigation = _live(steps, StepKind.INVESTIGATION)
    inv = investigation.data if investigation is not None else {}
    note = str(inv.get("note") or "").strip()
    out["investigator_names"] = "、".join(
        n
        for n in (_member_name(session, i) for i in (investigation.officer_ids if investigation else ()))
        if n
    )
    out["inspection_date"] = data["investigation_date"]
    out["inspection_place"] = data["inquiry_place"]
    out["inspection_text"] = sentence(note) if note else data["case_facts"]
    out["correction_due_date"] = _d(_iso_day(inv.get("correction_due")))

    # 先行登记保存证据处理决定书: the handling and the preservation it handles.
    handling = act if act is not None and act.kind is StepKind.PRESERVATION_HANDLING else None
    if handling is None:
        handling = _live(steps, StepKind.PRESERVATION_HANDLING)
    hd = handling.data if handling is not None else {}
    if act is not None and act.kind is StepKind.PRESERVATION_HANDLING:
        handled = next((st for st in steps if st.id == hd.get("preservation_id")), None)
        if handled is not None:
            out.update(
                {
                    "has_preservation": True,
                    "preservation_date": _d(handled.performed_on),
                    "preservation_place": str(handled.data.get("place", "")),
                    "preservation_reason": str(handled.data.get("reason", "")),
                    "preservation_items": _items(handled.data),
                }
            )
    try:
        outcome_label = PreservationOutcome(str(hd.get("outcome", ""))).label if handling else ""
    except ValueError:
        outcome_label = ""
    out["preservation_handled_date"] = _d(handling.performed_on if handling is not None else None)
    out["preservation_outcome"] = outcome_label
    out["preservation_handling_note"] = sentence(str(hd.get("note") or ""))

    # 调查终结审批表: the outcome proposed; the amount is the one the notice then carried, else
    # the case's own (the proposal's until the decision).
    conclusion = _live(steps, StepKind.CONCLUSION)
    cd = conclusion.data if conclusion is not None else {}
    try:
        proposed = Outcome(str(cd.get("proposed_outcome", ""))) if conclusion is not None else None
    except ValueError:
        proposed = None
    notice = _live(steps, StepKind.PRIOR_NOTICE)
    penalty = data["notice_penalty_text"] if notice is not None else data["penalty_text"]
    proposed_penalty = penalty if proposed is Outcome.PENALTY else ""
    if proposed is Outcome.PENALTY:
        proposal = f"建议给予行政处罚：{proposed_penalty}。" if proposed_penalty else "建议给予行政处罚。"
    elif proposed is Outcome.TRANSFER:
        proposal = f"建议将案件移送{case.transferred_to or '有关机关'}处理。"
    else:
        proposal = _PROPOSALS.get(proposed, "") if proposed is not None else ""
    out.update(
        {
            "conclusion_date": _d(conclusion.performed_on if conclusion is not None else None),
            "conclusion_opinion": conclusion.opinion if conclusion is not None else "",
            "conclusion_approver": conclusion.approved_by_name if conclusion is not None else "",
            "conclusion_reasons": sentence(str(cd.get("reasons") or "")),
            "proposed_outcome_label": OUTCOME_LABELS[proposed] if proposed is not None else "",
            "proposed_penalty_text": proposed_penalty,
            "conclusion_proposal": proposal,
        }
    )

    # 法制审核意见书: the reviewer with the 法律职业资格 the review recorded.
    review = _live(steps, StepKind.LEGAL_REVIEW)
    rd = review.data if review is not None else {}
    triggers = legal_review_triggers(session, case) if party is not None else []
    out.update(
        {
            "review_date": _d(review.performed_on if review is not None else None),
            "review_triggers": "；".join(triggers),
            "review_opinion": review.opinion if review is not None else "",
            "reviewer_name": (_member_name(session, rd.get("reviewer_member_id")) or review.recorded_by_name)
            if review is not None
            else "",
            "reviewer_qualification_no": str(rd.get("qualification_no", "")),
        }
    )

    # 集体讨论记录: the attendees are the step's officers (the 签名 lines list them).
    discussion = _live(steps, StepKind.COLLECTIVE_DISCUSSION)
    out.update(
        {
            "discussion_date": _d(discussion.performed_on if discussion is not None else None),
            "discussion_host": discussion.recorded_by_name if discussion is not None else "",
            "discussion_place": str(discussion.data.get("place", "")) if discussion is not None else "",
            "discussion_recorder": str(discussion.data.get("recorder", "")) if discussion is not None else "",
            "discussion_attendees": "、".join(
                n for n in (_member_name(session, i) for i in discussion.officer_ids) if n
            )
            if discussion is not None
            else "",
            "discussion_conclusion": sentence(str(discussion.data.get("conclusion") or ""))
            if discussion is not None
            else "",
        }
    )

    # 听证通知书 and 听证笔录: the request (with the statement) and the hearing held.
    statement = _live(steps, StepKind.STATEMENT)
    requested = statement is not None and bool(statement.data.get("hearing_requested"))
    hearing = _live(steps, StepKind.HEARING)
    hr = hearing.data if hearing is not None else {}
    out.update(
        {
            "hearing_requested": requested,
            "hearing_held": hearing is not None,
            "hearing_request_date": _d(
                statement.performed_on if statement is not None and requested else None
            ),
            "hearing_date": _d(hearing.performed_on if hearing is not None else None),
            "hearing_notified_date": _d(_iso_day(hr.get("notified_on"))),
            "hearing_place": str(hr.get("place", "")),
            "hearing_chair": _member_name(session, hr.get("chair_member_id")),
            "hearing_recorder": str(hr.get("recorder", "")),
            "hearing_record_text": str(hr.get("record", "")).strip(),
        }
    )

    # 强制执行申请书: the application, and the late fee run up to its day (APL 72).
    application = _live(steps, StepKind.COURT_APPLICATION)
    reminder = _live(steps, StepKind.REMINDER)
    due = _iso_day(reminder.data.get("payment_due")) if reminder is not None else None
    if due is None and case.served_on is not None:
        due = Clock(ClockKind.PAYMENT, case.served_on).due(calendar_for(session)).day
    fee = (
        late_fee_fen(case.fine_fen, due, application.performed_on, late_fee_pauses(session, case))
        if application is not None and due is not None and data["has_fine"]
        else 0
    )
    out.update(
        {
            "application_date": _d(application.performed_on if application is not None else None),
            "application_court": str(application.data.get("court", "")) if application is not None else "",
            "application_approver": application.approved_by_name if application is not None else "",
            "late_fee_digits": yuan_digits(fee) if fee else "",
            "late_fee_capital": yuan_capital(fee) if fee else "",
        }
    )
    if reminder is not None and due is not None:
        # The reminder named the day the payment was due (deferral and instalments counted).
        out["payment_due_date"] = _d(due)

    # 案件移送函
    decision = _live(steps, StepKind.DECISION)
    out["transfer_to"] = case.transferred_to or (
        str(decision.data.get("transfer_to", "")) if decision is not None else ""
    )
    return out
