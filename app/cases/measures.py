"""Side measures of a case (附随措施) and the execution rules of a fine.

Beside the procedure's steps a case may take measures that do not move its stage: preservation
of evidence by prior registration (先行登记保存, APL 56) and its handling decision; sealing or
seizure (查封、扣押, ACL 18, 24–28), its one extension and its release or handling; deferral or
instalments of a fine (暂缓、分期缴纳, APL 66) and each instalment paid; the reminder (催告, ACL 35,
54) and the application to court (申请人民法院强制执行, ACL 53); in a summary case, cash
collected on the spot handed in (APL 71); and the party's appeal against the decision (申请行政
复议 or 提起行政诉讼) with its result. Each is a ``CaseStep`` row of a ``SIDE_STEPS`` kind,
written here and never through ``machine.advance``; a measure ending another (a handling, a
release, an extension, an instalment paid) names it by id in its data.

Approvals follow the procedure's steps: the leader (``APPROVE_CASES``) calls the measures the
law puts under the head's approval — preservation and its handling, seizure, extension and
release, deferral, instalments, the application to court — and is recorded as their approver;
the work of the case (``HANDLE_CASES``) records the reminder served, each instalment paid and
the cash handed in, and the party's appeal and its result as the squad learns of them. Periods
are :mod:`app.cases.timing`'s clocks, so the services refuse on the days the case workspace
shows. A late handling or handover is recorded all the same — the act happened — and the clock
and the pre-check say that it was late.

An appeal pending stops the reminder and the court application (ACL 53 is open only where the
party did not seek review) and the late fee (APL 73); the fine itself stays due (the decision is
not suspended). A result revoking the decision (撤销) leaves no fine to collect: the measures of
execution are then refused and execution is recorded as not applicable
(``service.mark_not_applicable``), so the case can be closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.calendar import calendar_for
from app.cases.clocks import Clock, ClockKind, Due, Extension, late_fee_fen
from app.cases.machine import CaseStage, StepKind
from app.cases.service import (
    SERVICE_METHODS,
    CaseView,
    _data,
    _get,
    _record,
    _revoked_by,
    _step,
    _steps,
    _types,
    _view,
    _write_step,
    check_officers,
)
from app.cases.timing import (
    AppealKind,
    AppealResult,
    appeal_kind,
    case_dues,
    late_fee_pauses,
    measures_of,
)
from app.errors import NotFoundError, ValidationError
from app.reference import PenaltyType, yuan_short
from db.models import Member
from db.models.cases import Case, CasePause, CaseStep, Outcome, Procedure, StepStatus

#: The stages in which the investigation still runs: filed, and no decision yet.
INVESTIGATING: Final = frozenset(
    {
        CaseStage.FILED,
        CaseStage.INVESTIGATED,
        CaseStage.CONCLUDED,
        CaseStage.REVIEWED,
        CaseStage.NOTIFIED,
        CaseStage.STATED,
        CaseStage.HEARD,
        CaseStage.DISCUSSED,
    }
)
#: ACL 25: a seizure is extended by at most 30 days, once.
MAX_SEIZURE_EXTENSION_DAYS: Final = 30
_CLOSED: Final = frozenset({CaseStage.CLOSED, CaseStage.ARCHIVED})


class PreservationOutcome(StrEnum):
    """先行登记保存处理决定 (APL 56, and the provinces' rules on it). Evidence to be confiscated is
    seized (``SEIZE``) so that the decision can confiscate it; preservation itself never does."""

    RETURN = "return"  # 记录、复制、拍照后退还当事人
    EXAMINE = "examine"  # 送交检验、鉴定
    TRANSFER = "transfer"  # 移送有关部门处理
    SEIZE = "seize"  # 依法予以查封、扣押
    RELEASE = "release"  # 解除先行登记保存

    @property
    def label(self) -> str:
        return _PRESERVATION_LABELS[self]


_PRESERVATION_LABELS = {
    PreservationOutcome.RETURN: "退还当事人",
    PreservationOutcome.EXAMINE: "送交检验、鉴定",
    PreservationOutcome.TRANSFER: "移送有关部门处理",
    PreservationOutcome.SEIZE: "依法予以查封、扣押",
    PreservationOutcome.RELEASE: "解除先行登记保存",
}


class SeizureMeasure(StrEnum):
    SEAL = "seal"  # 查封（场所、设施、财物留在原处）
    SEIZE = "seize"  # 扣押（财物移走保管）

    @property
    def label(self) -> str:
        return "查封" if self is SeizureMeasure.SEAL else "扣押"


class SeizureOutcome(StrEnum):
    """How a seizure ends (ACL 27, 28)."""

    RELEASE = "release"  # 解除查封、扣押，退还财物
    CONFISCATE = "confiscate"  # 依行政处罚决定没收
    DESTROY = "destroy"  # 法律、行政法规规定应当销毁的，依法销毁
    TRANSFER = "transfer"  # 移送有关机关

    @property
    def label(self) -> str:
        return _SEIZURE_LABELS[self]


_SEIZURE_LABELS = {
    SeizureOutcome.RELEASE: "解除查封扣押，退还财物",
    SeizureOutcome.CONFISCATE: "依处罚决定没收",
    SeizureOutcome.DESTROY: "依法销毁",
    SeizureOutcome.TRANSFER: "移送有关机关",
}
_CONFISCATIONS: Final = frozenset({PenaltyType.CONFISCATE_PROPERTY, PenaltyType.CONFISCATE_ILLEGAL_GAINS})


@dataclass(frozen=True)
class ItemLine:
    """One line of an inventory (物品清单): 名称、数量、单位."""

    name: str
    quantity: Decimal | int
    unit: str


@dataclass(frozen=True)
class Instalment:
    """One approved instalment (分期): the last day to pay it and its amount in fen."""

    due: dt.date
    amount_fen: int


@dataclass(frozen=True)
class InstalmentSettlement:
    """All instalments paid: what the execution step records."""

    count: int
    total_fen: int  # paid in all, late fees included
    late_fee_fen: int
    last_due: dt.date
    last_paid_on: dt.date


# ---- helpers ----------------------------------------------------------------------------------


def _record_measure(
    session: Session,
    actor: Actor,
    case: Case,
    kind: StepKind,
    on: dt.date,
    data: dict[str, Any],
    *,
    approved: bool = False,
    opinion: str = "",
    officers: Sequence[Member] = (),
) -> CaseStep:
    """Write one side measure: seq after the case's last step, the stage untouched."""
    if CaseStage(case.stage) in _CLOSED:
        raise ValidationError(
            f"{case.number}已结案，不能再登记“{kind.label}”；如确需补登，请先经批准重新办理。"
        )
    return _write_step(
        session, actor, case, kind, on, data=data, approved=approved, opinion=opinion, officers=officers
    )


def _rows(session: Session, case: Case, kind: StepKind) -> list[CaseStep]:
    """The live rows of one side measure, in the order recorded."""
    return [
        s for s in _steps(session, case.id) if s.kind == kind.value and s.status != StepStatus.WITHDRAWN.value
    ]


def _measure(session: Session, case: Case, step_id: str, kind: StepKind) -> CaseStep:
    step = session.get(CaseStep, step_id)
    if (
        step is None
        or step.deleted
        or step.case_id != case.id
        or step.kind != kind.value
        or step.status == StepStatus.WITHDRAWN.value
    ):
        raise NotFoundError(f"在{case.number}中找不到所选的“{kind.label}”记录，请刷新后重新选择。")
    return step


def _ending(session: Session, case: Case, kind: StepKind, link: str, step_id: str) -> CaseStep | None:
    """The row of ``kind`` that names ``step_id`` under ``link`` (the handling of a preservation …)."""
    return next((r for r in _rows(session, case, kind) if _data(r).get(link) == step_id), None)


def _items(items: Sequence[ItemLine], what: str) -> list[dict[str, str]]:
    if not items:
        raise ValidationError(f"{what}须附物品清单，请至少登记一项（名称、数量、单位）。", field="items")
    out: list[dict[str, str]] = []
    for n, item in enumerate(items, start=1):
        name, unit = " ".join(item.name.split()), item.unit.strip()
        if not name:
            raise ValidationError(f"{what}清单第 {n} 项没有填写物品名称。", field="items")
        try:
            quantity = Decimal(item.quantity)
        except (InvalidOperation, ValueError):
            raise ValidationError(f"{what}清单中“{name}”的数量不是数字。", field="items") from None
        if not quantity.is_finite() or quantity <= 0:
            raise ValidationError(f"{what}清单中“{name}”的数量应大于 0。", field="items")
        if not unit:
            raise ValidationError(f"{what}清单中“{name}”没有填写单位（如“件”“箱”“平方米”）。", field="items")
        out.append({"name": name, "quantity": format(quantity.normalize(), "f"), "unit": unit})
    return out


def _item_text(step: CaseStep) -> str:
    """“钢管”等 3 项 — how a refusal names the things of a preservation or seizure."""
    items = _data(step).get("items", [])
    if not items:
        return "物品"
    first = f"“{items[0]['name']}”"
    return first if len(items) == 1 else f"{first}等 {len(items)} 项物品"


def _investigating(case: Case, kind: StepKind, basis: str) -> None:
    """Preservation and seizure secure evidence and things while the case is investigated."""
    if case.procedure != Procedure.ORDINARY.value:
        raise ValidationError(
            f"{case.number}为简易程序案件，不能{kind.label}；如确需{kind.label}，请按普通程序立案。"
        )
    stage = CaseStage(case.stage)
    if stage not in INVESTIGATING:
        raise ValidationError(
            f"{case.number}当前为“{stage.label}”：{kind.label}只能在立案后、作出决定前进行（{basis}）。"
        )


def _not_before(on: dt.date, earlier: dt.date, what: str, before: str, field: str = "on") -> None:
    if on < earlier:
        raise ValidationError(
            f"{what}日期 {on.isoformat()} 早于{before} {earlier.isoformat()}，请核对。", field=field
        )


def _clean(text: str, message: str, field: str) -> str:
    clean = text.strip()
    if not clean:
        raise ValidationError(message, field=field)
    return clean


def _dues(session: Session, case: Case, on: dt.date) -> dict[ClockKind, Due]:
    """The case's clocks as the workspace shows them on ``on`` (pauses, extensions, measures)."""
    pauses = list(
        session.scalars(select(CasePause).where(CasePause.case_id == case.id, CasePause.deleted.is_(False)))
    )
    return case_dues(case, _steps(session, case.id), pauses, calendar_for(session), on)


def _fine_outstanding(session: Session, case: Case, what: str) -> None:
    """Deferral, instalments, reminder and court application: a fine decided, served, not yet
    paid, and not revoked on appeal."""
    if case.procedure != Procedure.ORDINARY.value:
        raise ValidationError(f"{case.number}为简易程序案件，“{what}”只在普通程序案件中登记。")
    if case.outcome != Outcome.PENALTY.value or case.fine_fen <= 0:
        raise ValidationError(f"{case.number}没有处以罚款，无须办理“{what}”。")
    revoked = _revoked_by(session, case)
    if revoked is not None:
        raise ValidationError(
            f"{case.number}的处罚决定已于 {revoked.performed_on.isoformat()} 被{appeal_kind(revoked).ruling}撤销，"
            f"罚款不再收缴，不能办理“{what}”；请将“执行”记为不适用后结案。"
        )
    stage = CaseStage(case.stage)
    if stage is not CaseStage.SERVED:
        if case.served_on is None:
            raise ValidationError(f"{case.number}的处罚决定书尚未送达，不能办理“{what}”。")
        raise ValidationError(f"{case.number}当前为“{stage.label}”，罚款已执行，不能再办理“{what}”。")


def _not_settled(session: Session, case: Case) -> None:
    """Instalments all paid leave nothing to enforce: execution is then recorded, not enforced."""
    found = _plan(session, case)
    if found is not None and len(found[2]) >= len(found[1]):
        raise ValidationError(
            f"{case.number}的 {len(found[1])} 期罚款已全部缴清，无须催告或申请强制执行；请登记执行完毕。"
        )


def _appeal_text(appeal: CaseStep) -> str:
    """“2026-04-20 申请行政复议（广州市天河区人民政府，案号 …）” — how a refusal names an appeal."""
    data = _data(appeal)
    reference = f"，案号 {data['reference']}" if data.get("reference") else ""
    return f"{appeal.performed_on.isoformat()} {appeal_kind(appeal).act}（{data.get('body', '')}{reference}）"


def _no_appeal(session: Session, case: Case, what: str) -> None:
    """The reminder and the court application wait for the result of a pending appeal: ACL 53
    lets the squad apply to court only where the party did not seek review."""
    appeal = measures_of(_steps(session, case.id)).pending_appeal
    if appeal is not None:
        raise ValidationError(
            f"{case.number}的当事人已于 {_appeal_text(appeal)}，尚未审结：复议、诉讼期间不能催告或申请人民法院"
            "强制执行（《行政强制法》第五十三条），也不计算加处罚款（《行政处罚法》第七十三条）；"
            f"请在登记{appeal_kind(appeal).ruling}后再办理“{what}”。"
        )


def _next_workday(session: Session, day: dt.date) -> dt.date:
    return calendar_for(session).add_working_days(day, 1).day


# ---- 先行登记保存 (APL 56) ------------------------------------------------------------------


def preserve_evidence(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    officer_ids: Sequence[str],
    items: Sequence[ItemLine],
    reason: str,
    place: str = "",
) -> CaseView:
    """先行登记保存 (APL 56), approved by the leader who records it: evidence that may be lost or
    hard to obtain later, by at least two officers who may enforce on ``on``, with its item list.
    A handling decision must follow within 7 working days (``handle_preservation``)."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    _investigating(case, StepKind.PRESERVATION, "《行政处罚法》第五十六条")
    assert case.filed_on is not None
    _not_before(on, case.filed_on, "先行登记保存", "立案日期")
    officers = check_officers(session, officer_ids, on, f"{case.number}的先行登记保存")
    lines = _items(items, "先行登记保存")
    why = _clean(reason, "请写明先行登记保存的理由，如“证据可能灭失或者以后难以取得”。", "reason")
    _record_measure(
        session,
        actor,
        case,
        StepKind.PRESERVATION,
        on,
        {"items": lines, "place": place.strip(), "reason": why},
        approved=True,
        opinion=why,
        officers=officers,
    )
    return _view(session, case)


def handle_preservation(
    session: Session,
    actor: Actor,
    case_id: str,
    preservation_id: str,
    on: dt.date,
    outcome: PreservationOutcome,
    note: str = "",
) -> CaseView:
    """先行登记保存处理决定 by the leader. Due within 7 working days of the preservation (APL 56);
    a late one is recorded as late (the clock says so and the pre-check finds it)."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    preservation = _measure(session, case, preservation_id, StepKind.PRESERVATION)
    done = _ending(session, case, StepKind.PRESERVATION_HANDLING, "preservation_id", preservation.id)
    if done is not None:
        raise ValidationError(
            f"{case.number}于 {preservation.performed_on.isoformat()} 先行登记保存的{_item_text(preservation)}"
            f"已于 {done.performed_on.isoformat()} 作出处理决定（{PreservationOutcome(_data(done)['outcome']).label}），"
            "不能重复处理。"
        )
    _not_before(on, preservation.performed_on, "处理决定", "先行登记保存日期")
    due = Clock(ClockKind.PRESERVATION_DECISION, preservation.performed_on).due(calendar_for(session)).day
    _record_measure(
        session,
        actor,
        case,
        StepKind.PRESERVATION_HANDLING,
        on,
        {
            "preservation_id": preservation.id,
            "outcome": outcome.value,
            "note": note.strip(),
            "due": due.isoformat(),
            "late": on > due,
        },
        approved=True,
        opinion=note.strip() or outcome.label,
    )
    return _view(session, case)


def check_measures_before_decision(session: Session, case: Case, on: dt.date) -> None:
    """The decision (``service.decide``) is refused while preserved evidence awaits its handling
    decision on ``on`` (APL 56): the handling must come first.

    A seizure still in force does not stop the decision: ACL 27 has the seized things handled
    *by* the decision — confiscated when the decision says so, otherwise released (ACL 28) — so
    the decision is often the reason a seizure ends. The seizure clock runs until its release or
    handling is recorded, and the pre-check refuses closure while a seizure is still in force.
    """
    for preservation in _rows(session, case, StepKind.PRESERVATION):
        handling = _ending(session, case, StepKind.PRESERVATION_HANDLING, "preservation_id", preservation.id)
        if handling is None or handling.performed_on > on:
            due = (
                Clock(ClockKind.PRESERVATION_DECISION, preservation.performed_on)
                .due(calendar_for(session))
                .day
            )
            raise ValidationError(
                f"{case.number}于 {preservation.performed_on.isoformat()} 先行登记保存的{_item_text(preservation)}"
                f"在 {on.isoformat()} 尚未作出处理决定（应于 {due.isoformat()} 前处理，《行政处罚法》第五十六条），"
                "不能作出决定；请先登记先行登记保存处理决定。",
                field="decided_on",
            )


# ---- 查封、扣押 (ACL 18, 24–28) --------------------------------------------------------------


def seize(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    officer_ids: Sequence[str],
    items: Sequence[ItemLine],
    place_of_keeping: str,
    reason: str,
    measure: SeizureMeasure = SeizureMeasure.SEIZE,
) -> CaseView:
    """查封 or 扣押, approved by the leader beforehand (ACL 18) who records it: at least two
    officers who may enforce on ``on``, the list of things (ACL 24) and where they are kept
    (ACL 26). It may last 30 days (ACL 25): extend once, release or handle within it."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    _investigating(case, StepKind.SEIZURE, "《行政强制法》第十八条、第二十五条")
    assert case.filed_on is not None
    _not_before(on, case.filed_on, measure.label, "立案日期")
    officers = check_officers(session, officer_ids, on, f"{case.number}的{measure.label}")
    lines = _items(items, measure.label)
    place = _clean(
        place_of_keeping,
        f"请填写{measure.label}财物的保管场所（《行政强制法》第二十六条）。",
        "place_of_keeping",
    )
    why = _clean(reason, f"请写明{measure.label}的理由和依据。", "reason")
    _record_measure(
        session,
        actor,
        case,
        StepKind.SEIZURE,
        on,
        {"measure": measure.value, "items": lines, "place_of_keeping": place, "reason": why},
        approved=True,
        opinion=why,
        officers=officers,
    )
    return _view(session, case)


def _seizure_due(session: Session, seizure: CaseStep, extensions: Sequence[CaseStep]) -> dt.date:
    clock = Clock(
        ClockKind.SEIZURE,
        seizure.performed_on,
        extensions=[Extension(int(_data(e)["days"]), e.approved_by_name, e.opinion) for e in extensions],
    )
    return clock.due(calendar_for(session)).day


def _in_force(session: Session, case: Case, seizure_id: str) -> CaseStep:
    seizure = _measure(session, case, seizure_id, StepKind.SEIZURE)
    released = _ending(session, case, StepKind.SEIZURE_RELEASE, "seizure_id", seizure.id)
    if released is not None:
        raise ValidationError(
            f"{case.number}于 {seizure.performed_on.isoformat()} 查封扣押的{_item_text(seizure)}"
            f"已于 {released.performed_on.isoformat()} {SeizureOutcome(_data(released)['outcome']).label}。"
        )
    return seizure


def extend_seizure(
    session: Session, actor: Actor, case_id: str, seizure_id: str, on: dt.date, days: int, reason: str
) -> CaseView:
    """查封扣押延期 (ACL 25): where the case is complex, the leader extends the 30 days once, by at
    most 30 days, before they run out; the party is told in writing with the reason."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    seizure = _in_force(session, case, seizure_id)
    earlier = [
        e
        for e in _rows(session, case, StepKind.SEIZURE_EXTENSION)
        if _data(e).get("seizure_id") == seizure.id
    ]
    if earlier:
        first = earlier[0]
        raise ValidationError(
            f"{case.number}于 {seizure.performed_on.isoformat()} 查封扣押的{_item_text(seizure)}已于 "
            f"{first.performed_on.isoformat()} 经{first.approved_by_name}批准延长 {_data(first)['days']} 日，"
            "查封扣押期限只能延长一次（《行政强制法》第二十五条）；期满前请作出处理决定或者解除查封扣押。",
            field="days",
        )
    if not 0 < days <= MAX_SEIZURE_EXTENSION_DAYS:
        raise ValidationError(
            f"查封扣押期限延长 {days} 日不符合规定：延长期限应为 1 至 {MAX_SEIZURE_EXTENSION_DAYS} 日"
            "（《行政强制法》第二十五条）。",
            field="days",
        )
    _not_before(on, seizure.performed_on, "延长查封扣押", "查封扣押日期")
    due = _seizure_due(session, seizure, ())
    if on > due:
        raise ValidationError(
            f"{case.number}于 {seizure.performed_on.isoformat()} 查封扣押的期限已于 {due.isoformat()} 届满，"
            f"{on.isoformat()} 不能再延长（《行政强制法》第二十五条）；请立即作出处理决定或者解除查封扣押。",
            field="on",
        )
    why = _clean(reason, "请写明延长查封扣押期限的理由，如“情况复杂，需进一步检测”。", "reason")
    _record_measure(
        session,
        actor,
        case,
        StepKind.SEIZURE_EXTENSION,
        on,
        {"seizure_id": seizure.id, "days": days, "reason": why},
        approved=True,
        opinion=why,
    )
    return _view(session, case)


def release_seizure(
    session: Session,
    actor: Actor,
    case_id: str,
    seizure_id: str,
    on: dt.date,
    outcome: SeizureOutcome,
    note: str = "",
) -> CaseView:
    """解除查封扣押 or the handling of the seized things (ACL 27, 28), approved by the leader.
    Confiscation and destruction follow the decision, so they need it first. Ends the seizure
    clock; after its due day the release is recorded as late."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    seizure = _in_force(session, case, seizure_id)
    extensions = [
        e
        for e in _rows(session, case, StepKind.SEIZURE_EXTENSION)
        if _data(e).get("seizure_id") == seizure.id
    ]
    last = max([seizure.performed_on, *(e.performed_on for e in extensions)])
    _not_before(on, last, outcome.label, "查封扣押（或其延期）日期")
    if outcome in (SeizureOutcome.CONFISCATE, SeizureOutcome.DESTROY):
        decided = (
            case.decided_on is not None and case.decided_on <= on and case.outcome == Outcome.PENALTY.value
        )
        wanted = "行政处罚决定"
        if outcome is SeizureOutcome.CONFISCATE:
            wanted = "没收的行政处罚决定"
            decided = decided and bool(_CONFISCATIONS & set(_types(case)))
        if not decided:
            raise ValidationError(
                f"{case.number}查封扣押的{_item_text(seizure)}只能依行政处罚决定{outcome.label}"
                f"（《行政强制法》第二十七条）：{on.isoformat()} 本案尚无{wanted}，不能{outcome.label}；"
                "请先作出决定，或者解除查封扣押。",
                field="outcome",
            )
    due = _seizure_due(session, seizure, extensions)
    _record_measure(
        session,
        actor,
        case,
        StepKind.SEIZURE_RELEASE,
        on,
        {
            "seizure_id": seizure.id,
            "outcome": outcome.value,
            "note": note.strip(),
            "due": due.isoformat(),
            "late": on > due,
        },
        approved=True,
        opinion=note.strip() or outcome.label,
    )
    return _view(session, case)


# ---- 暂缓、分期缴纳 (APL 66) -----------------------------------------------------------------


def _application(session: Session, case: Case, on: dt.date, applied_on: dt.date, what: str) -> Due:
    """The common rules of deferral and instalments; returns the payment clock as it stands.

    The party's written application (书面申请) comes after service and before the approval, and
    within the payment period: once that has run out the late fee runs (APL 72) and the squad
    reminds and enforces instead — a later approval would quietly waive the fee.
    """
    _fine_outstanding(session, case, what)
    assert case.served_on is not None
    # One arrangement per fine: a second deferral, or instalments on top of a deferral, would be
    # a new application the leader decides afresh — not modelled, so refused with the first named.
    granted = _rows(session, case, StepKind.DEFERRAL) + _rows(session, case, StepKind.INSTALMENTS)
    if granted:
        row = granted[0]
        raise ValidationError(
            f"{case.number}已于 {row.performed_on.isoformat()} 经{row.approved_by_name}批准"
            f"{StepKind(row.kind).label}，不能再批准{what}。"
        )
    _not_before(applied_on, case.served_on, "当事人申请", "决定书送达日期", "applied_on")
    _not_before(on, applied_on, "批准", "当事人申请日期")
    payment = _dues(session, case, on)[ClockKind.PAYMENT]
    if applied_on > payment.day:
        raise ValidationError(
            f"当事人 {applied_on.isoformat()} 申请{what}时，罚款缴纳期限已于 {payment.day.isoformat()} 届满"
            "（《行政处罚法》第六十六条、第七十二条），不能再批准；请依法催告并加处罚款。",
            field="applied_on",
        )
    return payment


def grant_deferral(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    applied_on: dt.date,
    until: dt.date,
    reason: str,
) -> CaseView:
    """暂缓缴纳 (APL 66): on the party's written application of ``applied_on``, the leader defers
    the fine to ``until``. The payment clock is extended to that day (moved on by the rest-day
    rule when it is a rest day), and the late fee runs only after it."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    payment = _application(session, case, on, applied_on, "暂缓缴纳罚款")
    if until <= payment.day:
        raise ValidationError(
            f"暂缓缴纳至 {until.isoformat()} 不晚于现在的缴纳期限 {payment.day.isoformat()}，无须批准暂缓。",
            field="until",
        )
    why = _clean(reason, "请写明当事人确有经济困难的情况及批准暂缓的理由。", "reason")
    # An extension of the period as the clock counts it: from the last day before any rest-day
    # move, so that the extended period ends on ``until`` itself.
    days = (until - (payment.rolled_from or payment.day)).days
    _record_measure(
        session,
        actor,
        case,
        StepKind.DEFERRAL,
        on,
        {"applied_on": applied_on.isoformat(), "until": until.isoformat(), "days": days, "reason": why},
        approved=True,
        opinion=why,
    )
    return _view(session, case)


def approve_instalments(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    applied_on: dt.date,
    schedule: Sequence[Instalment],
    reason: str,
) -> CaseView:
    """分期缴纳 (APL 66): on the party's written application, the leader approves a schedule of at
    least two instalments summing exactly to the fine, each due after service and on or after
    the approval, strictly one after the other. Each is then paid with ``pay_instalment``."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    _application(session, case, on, applied_on, "分期缴纳罚款")
    assert case.served_on is not None
    if len(schedule) < 2:
        raise ValidationError(
            "分期缴纳至少分两期；一次缴清的，请登记缴款，或批准暂缓缴纳。", field="schedule"
        )
    previous: Instalment | None = None
    for n, row in enumerate(schedule, start=1):
        if row.amount_fen <= 0:
            raise ValidationError(f"第 {n} 期金额 {yuan_short(row.amount_fen)}应大于 0。", field="schedule")
        if row.due <= case.served_on:
            raise ValidationError(
                f"第 {n} 期缴款日 {row.due.isoformat()} 不晚于决定书送达日 {case.served_on.isoformat()}，请调整。",
                field="schedule",
            )
        if row.due < on:
            raise ValidationError(
                f"第 {n} 期缴款日 {row.due.isoformat()} 早于批准日 {on.isoformat()}，请调整。",
                field="schedule",
            )
        if previous is not None and row.due <= previous.due:
            raise ValidationError(
                f"第 {n} 期缴款日 {row.due.isoformat()} 不晚于第 {n - 1} 期的 {previous.due.isoformat()}，"
                "各期缴款日须依次推后。",
                field="schedule",
            )
        previous = row
    total = sum(row.amount_fen for row in schedule)
    if total != case.fine_fen:
        gap = case.fine_fen - total
        raise ValidationError(
            f"各期金额合计 {yuan_short(total)}，与罚款 {yuan_short(case.fine_fen)}不符"
            f"（{'少' if gap > 0 else '多'} {yuan_short(abs(gap))}），请调整分期计划。",
            field="schedule",
        )
    why = _clean(reason, "请写明当事人确有经济困难的情况及批准分期的理由。", "reason")
    _record_measure(
        session,
        actor,
        case,
        StepKind.INSTALMENTS,
        on,
        {
            "applied_on": applied_on.isoformat(),
            "schedule": [{"due": r.due.isoformat(), "amount_fen": r.amount_fen} for r in schedule],
            "reason": why,
        },
        approved=True,
        opinion=why,
    )
    return _view(session, case)


def _plan(session: Session, case: Case) -> tuple[CaseStep, list[Instalment], list[CaseStep]] | None:
    """The approved instalments of the case, their schedule and the instalments paid so far."""
    approvals = _rows(session, case, StepKind.INSTALMENTS)
    if not approvals:
        return None
    plan = approvals[-1]
    schedule = [
        Instalment(dt.date.fromisoformat(r["due"]), int(r["amount_fen"])) for r in _data(plan)["schedule"]
    ]
    paid = [
        p
        for p in _rows(session, case, StepKind.INSTALMENT_PAYMENT)
        if _data(p).get("instalments_id") == plan.id
    ]
    return plan, schedule, paid


def pay_instalment(
    session: Session, actor: Actor, case_id: str, on: dt.date, amount_fen: int, receipt_no: str
) -> CaseView:
    """One instalment paid at the bank, the next one due. An instalment paid after its day owes
    the late fee of APL 72 on its own amount: 3 % of it a day, never more than it (the days of a
    pause — reconsideration or lawsuit pending — not counted, APL 73)."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    _fine_outstanding(session, case, "分期缴款")
    found = _plan(session, case)
    if found is None:
        raise ValidationError(f"{case.number}没有批准分期缴纳，请直接登记缴款（执行）。")
    plan, schedule, paid = found
    if len(paid) >= len(schedule):
        raise ValidationError(
            f"{case.number}的 {len(schedule)} 期罚款已全部缴清，请登记执行完毕。", field="amount"
        )
    no, instalment = len(paid) + 1, schedule[len(paid)]
    last = paid[-1].performed_on if paid else plan.performed_on
    _not_before(on, last, f"第 {no} 期缴款", "上一期缴款或批准分期的日期")
    fee = late_fee_fen(instalment.amount_fen, instalment.due, on, late_fee_pauses(session, case))
    owed = instalment.amount_fen + fee
    if amount_fen != owed:
        extra = f"（含 {instalment.due.isoformat()} 后加处罚款 {yuan_short(fee)}）" if fee else ""
        raise ValidationError(
            f"{case.number}第 {no} 期应于 {instalment.due.isoformat()} 前缴纳 {yuan_short(instalment.amount_fen)}；"
            f"{on.isoformat()} 应缴 {yuan_short(owed)}{extra}，登记的 {yuan_short(amount_fen)}不符，请核对缴款凭证。",
            field="amount",
        )
    receipt = _clean(receipt_no, "请填写缴款凭证（银行票据）编号。", "receipt_no")
    _record_measure(
        session,
        actor,
        case,
        StepKind.INSTALMENT_PAYMENT,
        on,
        {
            "instalments_id": plan.id,
            "no": no,
            "due": instalment.due.isoformat(),
            "instalment_fen": instalment.amount_fen,
            "late_fee_fen": fee,
            "amount_fen": amount_fen,
            "receipt_no": receipt,
        },
    )
    return _view(session, case)


def instalment_settlement(session: Session, case: Case, on: dt.date) -> InstalmentSettlement | None:
    """For ``service.record_payment``: None without instalments; else what all instalments paid
    come to, or ValidationError naming the first instalment still unpaid."""
    found = _plan(session, case)
    if found is None:
        return None
    _, schedule, paid = found
    if len(paid) < len(schedule):
        no, instalment = len(paid) + 1, schedule[len(paid)]
        raise ValidationError(
            f"{case.number}第 {no} 期罚款 {yuan_short(instalment.amount_fen)}（应于 {instalment.due.isoformat()} 前缴纳）"
            f"尚未缴纳，不能登记执行完毕；请先登记该期缴款（共 {len(schedule)} 期）。",
            field="amount",
        )
    last_paid = paid[-1].performed_on
    _not_before(on, last_paid, "执行完毕", "最后一期缴款日期")
    return InstalmentSettlement(
        count=len(schedule),
        total_fen=sum(int(_data(p)["amount_fen"]) for p in paid),
        late_fee_fen=sum(int(_data(p)["late_fee_fen"]) for p in paid),
        last_due=schedule[-1].due,
        last_paid_on=last_paid,
    )


# ---- 催告 and 申请法院强制执行 (ACL 35, 53, 54) ----------------------------------------------


def serve_reminder(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    method: str,
    received_by: str = "",
) -> CaseView:
    """催告书送达 (ACL 35, 54): only once the payment period (as deferred or installed) has run out
    unpaid, and not while the party's reconsideration or lawsuit is pending (``record_appeal``).
    Starts the party's 10 working days before the application to court."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    _fine_outstanding(session, case, "催告")
    _not_settled(session, case)
    _no_appeal(session, case, "催告")
    if method not in SERVICE_METHODS:
        raise ValidationError(f"送达方式应为{'、'.join(SERVICE_METHODS)}之一。", field="method")
    earlier = _rows(session, case, StepKind.REMINDER)
    if earlier:
        raise ValidationError(
            f"{case.number}已于 {earlier[0].performed_on.isoformat()} 送达催告书，无须再次催告。"
        )
    payment = _dues(session, case, on)[ClockKind.PAYMENT]
    if on <= payment.day:
        raise ValidationError(
            f"{case.number}的罚款缴纳期限至 {payment.day.isoformat()}，{on.isoformat()} 尚未逾期，不能催告"
            f"（《行政强制法》第五十四条）；当事人逾期仍未缴纳的，自 {(payment.day + dt.timedelta(days=1)).isoformat()} 起可以催告。",
            field="on",
        )
    _record_measure(
        session,
        actor,
        case,
        StepKind.REMINDER,
        on,
        {
            "method": method,
            "received_by": received_by.strip(),
            "payment_due": payment.day.isoformat(),
        },
    )
    return _view(session, case)


def apply_to_court(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    court: str,
) -> CaseView:
    """申请人民法院强制执行 (ACL 53, 54), approved by the leader. Refused while the party's appeal
    is pending, before the reminder's 10 working days and the lawsuit period have both run out
    (naming the first day it may be made), and after the 3 months that follow the lawsuit period
    (naming the last day). The days an appeal was pending do not count on those clocks.

    The application is the squad's last act of execution: the case records execution as done
    by way of the court (执行 with ``via: court_application``), so it can then be closed."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    _fine_outstanding(session, case, "申请法院强制执行")
    _not_settled(session, case)
    _no_appeal(session, case, "申请法院强制执行")
    name = _clean(court, "请填写受理申请的人民法院，如“广州市天河区人民法院”。", "court")
    reminder = _step(session, case, StepKind.REMINDER)
    if reminder is None:
        raise ValidationError(
            f"申请人民法院强制执行前须催告当事人履行义务（《行政强制法》第五十四条），{case.number}尚未送达催告书。"
        )
    dues = _dues(session, case, on)
    # ACL 54 "催告书送达十日后": the party may still pay on the 10th working day, so the
    # application comes on a working day after it (ACL 69: ten days or less are working days).
    waited = dues[ClockKind.REMINDER].day
    first = _next_workday(session, waited)
    if on < first:
        raise ValidationError(
            f"催告书于 {reminder.performed_on.isoformat()} 送达，当事人可在 10 个工作日内（至 {waited.isoformat()}）履行"
            f"（《行政强制法》第五十四条、第六十九条）；{on.isoformat()} 不能申请强制执行，最早 {first.isoformat()} 可以申请。",
            field="on",
        )
    lawsuit = dues[ClockKind.LAWSUIT].day
    if on <= lawsuit:
        first = _next_workday(session, lawsuit)
        article = (
            "第四十五条" if measures_of(_steps(session, case.id)).reconsideration_decided else "第四十六条"
        )
        raise ValidationError(
            f"当事人提起行政诉讼的期限至 {lawsuit.isoformat()} 届满（《行政诉讼法》{article}），期限届满前"
            f"不能申请人民法院强制执行（《行政强制法》第五十三条）；{on.isoformat()} 不能申请，最早 {first.isoformat()} 可以申请。",
            field="on",
        )
    last = dues[ClockKind.COURT_APPLICATION].day
    if on > last:
        raise ValidationError(
            f"申请人民法院强制执行的期限已于 {last.isoformat()} 届满（起诉期限届满后 3 个月内，《行政强制法》第五十三条），"
            f"{on.isoformat()} 不能再申请；请报负责人研究处理。",
            field="on",
        )
    _record_measure(
        session,
        actor,
        case,
        StepKind.COURT_APPLICATION,
        on,
        {"court": name, "reminder_id": reminder.id},
        approved=True,
        opinion=f"同意申请{name}强制执行",
    )
    _record(
        session,
        actor,
        case,
        StepKind.EXECUTION,
        on,
        data={
            "via": "court_application",
            "court": name,
            "applied_on": on.isoformat(),
            "reminder_served_on": reminder.performed_on.isoformat(),
        },
    )
    return _view(session, case)


# ---- 当场收缴罚款交纳 (APL 71) ----------------------------------------------------------------


def hand_over_cash(session: Session, actor: Actor, case_id: str, on: dt.date, receipt_no: str) -> CaseView:
    """Cash collected on the spot handed in to the squad (APL 71: within 2 working days). A later
    handover is recorded as late; until it is recorded the summary case is not filed (备案)."""
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    spot = _step(session, case, StepKind.SPOT_DECISION)
    if case.procedure != Procedure.SUMMARY.value or spot is None:
        raise ValidationError(
            f"{case.number}不是当场处罚的简易程序案件，罚款应到银行缴纳（《行政处罚法》第六十七条），无须登记当场收缴罚款交纳。"
        )
    if not _data(spot).get("collected_on_spot"):
        raise ValidationError(f"{case.number}的当场处罚决定没有当场收缴罚款，无须登记交纳。")
    earlier = _rows(session, case, StepKind.CASH_HANDOVER)
    if earlier:
        raise ValidationError(
            f"{case.number}当场收缴的罚款已于 {earlier[0].performed_on.isoformat()} 登记交至行政机关，不能重复登记。"
        )
    _not_before(on, spot.performed_on, "罚款交纳", "当场收缴日期")
    receipt = _clean(receipt_no, "请填写罚款交纳凭证编号。", "receipt_no")
    due = Clock(ClockKind.CASH_HANDOVER, spot.performed_on).due(calendar_for(session)).day
    _record_measure(
        session,
        actor,
        case,
        StepKind.CASH_HANDOVER,
        on,
        {
            "amount_fen": case.fine_fen,
            "receipt_no": receipt,
            "due": due.isoformat(),
            "late": on > due,
        },
    )
    return _view(session, case)


# ---- 行政复议、行政诉讼 (the party's appeal) ---------------------------------------------------


def _served_on(session: Session, case: Case) -> dt.date | None:
    """The day the party received the decision: its service, or the on-the-spot decision handed
    over at once (APL 52)."""
    if case.procedure == Procedure.SUMMARY.value:
        spot = _step(session, case, StepKind.SPOT_DECISION)
        return spot.performed_on if spot is not None else None
    return case.served_on


def record_appeal(
    session: Session,
    actor: Actor,
    case_id: str,
    on: dt.date,
    kind: AppealKind,
    body: str,
    reference: str = "",
) -> CaseView:
    """The party applied for reconsideration (申请行政复议, to ``body`` — the 复议机关) or sued
    (提起行政诉讼, in ``body`` — the 人民法院) on ``on``, as the squad learns of it (复议答复通知书,
    应诉通知书); ``reference`` is the body's case number, if known.

    Only against a decision served, within its period — 60 days from receipt for a
    reconsideration (行政复议法 第二十条), 6 months for a lawsuit (行政诉讼法 第四十六条), or 15
    days from receipt of a reconsideration decision (第四十五条) — both as the case's clocks show
    them, and one appeal pending at a time. A lawsuit bars a later reconsideration (行政复议法
    第二十九条); a decided or withdrawn reconsideration is not filed again, and a lawsuit (an appeal
    to the higher court included) is one appeal. Its result is ``record_appeal_result``.
    """
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    served = _served_on(session, case)
    if served is None:
        raise ValidationError(
            f"{case.number}的决定书尚未送达当事人，不能登记当事人{kind.act}；请先登记送达。"
        )
    side = measures_of(_steps(session, case.id))
    pending = side.pending_appeal
    if pending is not None:
        raise ValidationError(
            f"{case.number}的当事人已于 {_appeal_text(pending)}，尚未登记{appeal_kind(pending).ruling}；"
            "同一时间只能有一项复议或诉讼未结，请先登记其结果。"
        )
    revoked = side.revoked_by
    if revoked is not None:
        raise ValidationError(
            f"{case.number}的处罚决定已于 {revoked.performed_on.isoformat()} 被{appeal_kind(revoked).ruling}撤销，"
            f"不能再{kind.act}。"
        )
    sued = side.filed(AppealKind.LAWSUIT)
    if sued is not None:
        if kind is AppealKind.RECONSIDERATION:
            raise ValidationError(
                f"{case.number}的当事人已于 {_appeal_text(sued)}，人民法院已经受理的，不得再申请行政复议"
                "（《行政复议法》第二十九条）。",
                field="appeal_kind",
            )
        raise ValidationError(
            f"{case.number}的当事人已于 {_appeal_text(sued)}，不能重复登记起诉；上诉属于同一诉讼，"
            "请在终审判决后登记判决结果。",
            field="appeal_kind",
        )
    _not_before(on, served, kind.act, "决定书送达日期")
    dues = _dues(session, case, on)
    if kind is AppealKind.RECONSIDERATION:
        earlier = side.filed(AppealKind.RECONSIDERATION)
        if earlier is not None:
            result = side.result_of(earlier)
            withdrawn = result is not None and _data(result)["result"] == AppealResult.WITHDRAWN.value
            after = (
                "，后撤回申请：撤回后不得以同一事实和理由再次申请行政复议，可以在起诉期限内提起行政诉讼。"
                if withdrawn
                else "，复议机关已作出复议决定：同一处罚决定不能再次申请行政复议；不服复议决定的，可以在收到复议决定书"
                "之日起 15 日内提起行政诉讼（《行政诉讼法》第四十五条）。"
            )
            raise ValidationError(
                f"{case.number}的当事人已于 {_appeal_text(earlier)}{after}", field="appeal_kind"
            )
        last = dues[ClockKind.RECONSIDERATION].day
        period = "收到决定书之日起 60 日，《行政复议法》第二十条"
    else:
        last = dues[ClockKind.LAWSUIT].day
        period = (
            "收到复议决定书之日起 15 日，《行政诉讼法》第四十五条"
            if side.reconsideration_decided is not None
            else "收到决定书之日起 6 个月，《行政诉讼法》第四十六条"
        )
    if on > last:
        raise ValidationError(
            f"当事人{kind.act}的期限（{period}）已于 {last.isoformat()} 届满，"
            f"{on.isoformat()} {kind.act}已经逾期，不能登记。",
            field="on",
        )
    name = _clean(
        body,
        f"请填写{kind.body}的名称，如“"
        + ("广州市天河区人民政府" if kind is AppealKind.RECONSIDERATION else "广州市天河区人民法院")
        + "”。",
        "body",
    )
    _record_measure(
        session,
        actor,
        case,
        StepKind.APPEAL,
        on,
        {"appeal_kind": kind.value, "body": name, "reference": reference.strip()},
    )
    return _view(session, case)


def record_appeal_result(
    session: Session, actor: Actor, case_id: str, on: dt.date, result: AppealResult, note: str = ""
) -> CaseView:
    """The result of the pending appeal: the reconsideration decision or the final judgment
    (生效裁判), or its withdrawal, on ``on`` — the day it reached the party (the lawsuit period
    after a reconsideration runs from it), not before the appeal was filed.

    What each result does here: upheld (维持/驳回) and confirmed illegal without revocation
    (确认违法: the decision stays in force) leave the fine to collect as before, the reminder and
    court application free again; withdrawn (撤回) likewise, the party keeping what is left of the
    6 months to sue after a withdrawn reconsideration. Revoked (撤销) leaves no fine to collect:
    execution is recorded as not applicable and the case closed — a fine already paid is refunded,
    and a new decision the reviewing body orders (责令重新作出) is a new case: both the clerk's.
    Changed (变更) is recorded only, with what was changed in ``note``: the case keeps the fine,
    payment clock and late fee as first decided (``record_payment`` still asks for that amount),
    and a reconsideration decision that changes the penalty is enforced by the reconsideration
    body, not the squad (行政复议法, 强制执行 of a 变更 decision) — so what is collected after a
    change, by whom, and how the case is then closed is left to the clerk and the leader.
    """
    require(actor, Permission.HANDLE_CASES)
    case = _get(session, case_id)
    appeal = measures_of(_steps(session, case.id)).pending_appeal
    if appeal is None:
        raise ValidationError(f"{case.number}没有尚未审结的行政复议或行政诉讼，无须登记结果。")
    kind = appeal_kind(appeal)
    _not_before(on, appeal.performed_on, kind.ruling, f"{kind.act}日期")
    why = note.strip()
    if result is AppealResult.CHANGED and not why:
        raise ValidationError(
            f"{kind.ruling}变更了处罚决定：请在说明中写明变更后的处罚内容（如变更后的罚款数额）。",
            field="note",
        )
    _record_measure(
        session,
        actor,
        case,
        StepKind.APPEAL_RESULT,
        on,
        {"appeal_id": appeal.id, "appeal_kind": kind.value, "result": result.value, "note": why},
    )
    return _view(session, case)


__all__ = [
    "INVESTIGATING",
    "MAX_SEIZURE_EXTENSION_DAYS",
    "AppealKind",
    "AppealResult",
    "Instalment",
    "InstalmentSettlement",
    "ItemLine",
    "PreservationOutcome",
    "SeizureMeasure",
    "SeizureOutcome",
    "apply_to_court",
    "approve_instalments",
    "check_measures_before_decision",
    "extend_seizure",
    "grant_deferral",
    "hand_over_cash",
    "handle_preservation",
    "instalment_settlement",
    "pay_instalment",
    "preserve_evidence",
    "record_appeal",
    "record_appeal_result",
    "release_seizure",
    "seize",
    "serve_reminder",
]
