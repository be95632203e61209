"""A case's statutory clocks (法定期限) from its recorded steps, and their pauses and extensions.

:mod:`app.cases.clocks` computes periods from event dates; this module reads those dates off a
case — filed on (立案), notice received on (收到事先告知书), hearing day, decided on, served on,
fine collected on the spot — and the case's pauses (中止) and approved extensions (延长), which
are ``CasePause`` rows: synced, audited, approved by the leader. The case workspace, the start
page's to-do list, the dossier pre-check and the CLI all ask here, so they show one answer.

Which clocks a pause stops (``PAUSABLE``): the squad's own procedure and execution periods —
the 90-day decision period (中止调查期间不计入办案期限), service, and payment, reminder and the
court application (中止执行, 行政强制法 第三十九条; APL 73: no late fee while an appeal is
pending). Not stopped: the party's statutory rights periods (hearing request, reconsideration,
lawsuit — only the law, a tribunal or a court moves them), and the periods that limit how long
property or cash is held (preservation, seizure, cash handover) — a pause never lets the squad
hold property longer. A pause only moves the days it covers, so a clock started after the pause
ended is untouched, and a clock that follows another (court application after the lawsuit
period) moves with it.

The side measures of :mod:`app.cases.measures` start and stop clocks too: a preservation
(先行登记保存) starts the 7-working-day handling clock and its handling decision ends it; a seizure
(查封扣押) the 30-day clock, moved by its one approved extension and ended by its release or
handling; the reminder (催告书) the party's 10 working days; cash collected on the spot the
2-working-day handover. An approved deferral (暂缓缴纳) lengthens the payment clock; approved
instalments (分期缴纳) make it the due day of the next unpaid instalment. A case may hold several
preservations or seizures: the clock shows the earliest one still open, else the last one.

The party's appeal (行政复议 or 行政诉讼, recorded as a side step with its result) acts on the
clocks as the law reads:

* The payment clock is not moved: the decision is not suspended while it is reviewed (行政处罚法
  第七十三条第一款), so the party still owes the fine by its day; but no late fee runs for the
  days the appeal is pending (第七十三条第三款) — ``fee_pauses`` is the one place that builds the
  days without a fee, for ``service.record_payment`` and ``measures.pay_instalment`` alike.
* The reconsideration clock is done once a reconsideration is filed, or a lawsuit (a lawsuit
  accepted bars a reconsideration, 行政复议法 第二十九条); the lawsuit clock once a lawsuit is
  filed. Once a reconsideration is decided (not withdrawn) the lawsuit period is the 15 days
  from its receipt (行政诉讼法 第四十五条, ``clocks.LAWSUIT_AFTER_RECONSIDERATION``).
* Enforcement by the court (ACL 53) is open only to a body whose party did *not* seek review in
  time; the squad can neither remind towards it nor apply while an appeal is pending. So the
  days an appeal is pending are not counted on the reminder and court-application clocks: they
  stop while it is pending (shown as 中止中) and go on after its result for the days left — the
  3 months of ACL 53 are not eaten up by the review. Simplification, on the strict side: after a
  judgment the squad could instead apply to enforce the judgment itself within 2 years
  (行政诉讼法 第九十五条); the clock still shows the shorter window.
* A result revoking the decision (撤销) leaves no fine to collect: payment, reminder, court
  application and the appeal periods are then done.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.calendar import WorkCalendar, calendar_for
from app.cases.clocks import (
    AMBER_WORKING_DAYS,
    LAWSUIT_AFTER_RECONSIDERATION,
    PERIODS,
    ClockKind,
    ClockState,
    Due,
    Event,
    Extension,
    Pause,
    PeriodDef,
    case_clocks,
    check_extension,
)
from app.cases.machine import SIDE_STEPS, CaseStage, StepKind
from app.errors import NotFoundError, ValidationError
from app.reference import yuan_short
from db.models.cases import Case, CasePause, CasePauseKind, CaseStep, Outcome, Procedure, StepStatus

#: The clocks a pause of the case stops (see the module docstring for why these and no others).
PAUSABLE = frozenset(
    {
        ClockKind.DECISION,
        ClockKind.SERVICE,
        ClockKind.PAYMENT,
        ClockKind.REMINDER,
        ClockKind.COURT_APPLICATION,
    }
)
_CLOSED = frozenset({CaseStage.CLOSED.value, CaseStage.ARCHIVED.value})


@dataclass(frozen=True)
class ClockView:
    """One clock of one case, as the workspace, the start page and the CLI show it."""

    kind: ClockKind
    name: str
    basis: str
    due: dt.date
    #: The due day depends on a year whose holiday data is not published yet.
    provisional: bool
    #: An open pause stops the clock; ``due`` assumes the case resumes tomorrow.
    paused: bool
    explanation: str
    state: ClockState
    #: The party must act by the day (a red clock asks the squad to follow up).
    binds_party: bool


def _live(steps: Iterable[CaseStep]) -> dict[StepKind, CaseStep]:
    """The live (not withdrawn) procedure step of each kind; a later row of a kind wins. Side
    measures are not procedure steps: ``measures_of`` reads them."""
    out: dict[StepKind, CaseStep] = {}
    for step in sorted(steps, key=lambda s: s.seq):
        kind = StepKind(step.kind)
        if step.status != StepStatus.WITHDRAWN.value and kind not in SIDE_STEPS:
            out[kind] = step
    return out


def _data(step: CaseStep | None) -> dict[str, Any]:
    return json.loads(step.data) if step is not None and step.data else {}


class AppealKind(StrEnum):
    """How the party seeks review of the decision (a ``StepKind.APPEAL`` row's ``appeal_kind``)."""

    RECONSIDERATION = "reconsideration"  # 申请行政复议（复议机关）
    LAWSUIT = "lawsuit"  # 提起行政诉讼（人民法院）

    @property
    def label(self) -> str:
        return "行政复议" if self is AppealKind.RECONSIDERATION else "行政诉讼"

    @property
    def act(self) -> str:
        return "申请行政复议" if self is AppealKind.RECONSIDERATION else "提起行政诉讼"

    @property
    def body(self) -> str:
        return "复议机关" if self is AppealKind.RECONSIDERATION else "人民法院"

    @property
    def ruling(self) -> str:
        return "复议决定" if self is AppealKind.RECONSIDERATION else "判决"


class AppealResult(StrEnum):
    """How a reconsideration or a lawsuit ended (a ``StepKind.APPEAL_RESULT`` row's ``result``)."""

    UPHELD = "upheld"  # 维持决定，或驳回申请、诉讼请求
    REVOKED = "revoked"  # 撤销（含责令重新作出）
    CHANGED = "changed"  # 变更
    CONFIRMED_ILLEGAL = "confirmed_illegal"  # 确认违法（不撤销，决定仍然有效）
    WITHDRAWN = "withdrawn"  # 撤回复议申请或撤诉

    @property
    def label(self) -> str:
        return _RESULT_LABELS[self]


_RESULT_LABELS: Final = MappingProxyType(
    {
        AppealResult.UPHELD: "维持（驳回）",
        AppealResult.REVOKED: "撤销",
        AppealResult.CHANGED: "变更",
        AppealResult.CONFIRMED_ILLEGAL: "确认违法",
        AppealResult.WITHDRAWN: "撤回申请（撤诉）",
    }
)


def appeal_kind(step: CaseStep) -> AppealKind:
    return AppealKind(_data(step)["appeal_kind"])


@dataclass(frozen=True)
class Measures:
    """A case's side measures as its clocks read them (:mod:`app.cases.measures` records them)."""

    #: The preservation (先行登记保存) the clock shows: the earliest not yet handled, else the last.
    preservation: CaseStep | None = None
    #: Its handling decision, None while unhandled.
    preservation_end: CaseStep | None = None
    #: The seizure (查封扣押) the clock shows: the earliest still in force, else the last.
    seizure: CaseStep | None = None
    #: Its release or handling, None while in force.
    seizure_end: CaseStep | None = None
    #: The approved extensions of that seizure (the law allows one).
    seizure_extensions: tuple[CaseStep, ...] = ()
    reminder: CaseStep | None = None
    court_application: CaseStep | None = None
    cash_handover: CaseStep | None = None
    deferral: CaseStep | None = None
    instalments: CaseStep | None = None
    #: The instalment payments, in the order paid.
    instalment_payments: tuple[CaseStep, ...] = field(default=())
    #: The party's appeals (申请行政复议、提起行政诉讼) and their results, in the order recorded.
    appeals: tuple[CaseStep, ...] = field(default=())
    appeal_results: tuple[CaseStep, ...] = field(default=())

    @property
    def schedule(self) -> list[tuple[dt.date, int]]:
        """The approved instalments as (due day, amount in fen), in order; empty without any."""
        rows = _data(self.instalments).get("schedule", [])
        return [(dt.date.fromisoformat(r["due"]), int(r["amount_fen"])) for r in rows]

    @property
    def instalments_settled(self) -> bool:
        return self.instalments is not None and len(self.instalment_payments) >= len(self.schedule)

    def result_of(self, appeal: CaseStep) -> CaseStep | None:
        """The result recorded for ``appeal``, None while it is pending."""
        return next((r for r in self.appeal_results if _data(r).get("appeal_id") == appeal.id), None)

    @property
    def appeal_periods(self) -> list[tuple[CaseStep, CaseStep | None]]:
        """Each appeal with its result (None: pending), in the order filed."""
        return [(a, self.result_of(a)) for a in self.appeals]

    @property
    def pending_appeal(self) -> CaseStep | None:
        """The appeal still pending (the services allow one at a time)."""
        return next((a for a, result in self.appeal_periods if result is None), None)

    def filed(self, kind: AppealKind) -> CaseStep | None:
        """The first appeal of ``kind``, if the party filed one."""
        return next((a for a in self.appeals if appeal_kind(a) is kind), None)

    @property
    def revoked_by(self) -> CaseStep | None:
        """The result that revoked the decision (撤销): no fine is then left to collect."""
        return next(
            (r for r in self.appeal_results if _data(r).get("result") == AppealResult.REVOKED.value), None
        )

    @property
    def reconsideration_decided(self) -> CaseStep | None:
        """The result of a reconsideration that was decided, not withdrawn: the lawsuit period is
        then 15 days from it (行政诉讼法 第四十五条)."""
        for appeal, result in self.appeal_periods:
            if (
                appeal_kind(appeal) is AppealKind.RECONSIDERATION
                and result is not None
                and _data(result).get("result") != AppealResult.WITHDRAWN.value
            ):
                return result
        return None

    @property
    def appeal_pauses(self) -> list[Pause]:
        """The days each appeal was pending, from its filing through its result (open while it is
        pending): no late fee runs on them (APL 73), nor the reminder and court application."""
        out: list[Pause] = []
        for appeal, result in self.appeal_periods:
            end = max(result.performed_on, appeal.performed_on) if result is not None else None
            out.append(Pause(appeal.performed_on, end, f"当事人{appeal_kind(appeal).act}"))
        return out


NO_MEASURES: Final = Measures()

#: The side steps that end a preservation or a seizure, and the data key naming the one they end.
_PRESERVATION_ENDS: Final = frozenset({StepKind.PRESERVATION_HANDLING.value})
_SEIZURE_ENDS: Final = frozenset({StepKind.SEIZURE_RELEASE.value})


def _shown(
    side: Sequence[CaseStep], kind: StepKind, ends: frozenset[str], link: str
) -> tuple[CaseStep | None, CaseStep | None]:
    rows = [s for s in side if s.kind == kind.value]
    if not rows:
        return None, None
    ended: dict[str, CaseStep] = {}
    for step in side:
        if step.kind in ends:
            ended.setdefault(str(_data(step).get(link, "")), step)
    still = [r for r in rows if r.id not in ended]
    shown = min(still, key=lambda r: (r.performed_on, r.seq)) if still else rows[-1]
    return shown, ended.get(shown.id)


def measures_of(steps: Iterable[CaseStep]) -> Measures:
    """The side measures of a case from its step rows (withdrawn rows left out)."""
    side = sorted(
        (s for s in steps if s.status != StepStatus.WITHDRAWN.value and StepKind(s.kind) in SIDE_STEPS),
        key=lambda s: s.seq,
    )
    if not side:
        return NO_MEASURES

    def last(kind: StepKind) -> CaseStep | None:
        return next((s for s in reversed(side) if s.kind == kind.value), None)

    preservation, preservation_end = _shown(
        side, StepKind.PRESERVATION, _PRESERVATION_ENDS, "preservation_id"
    )
    seizure, seizure_end = _shown(side, StepKind.SEIZURE, _SEIZURE_ENDS, "seizure_id")
    extensions = tuple(
        s
        for s in side
        if seizure is not None
        and s.kind == StepKind.SEIZURE_EXTENSION.value
        and _data(s).get("seizure_id") == seizure.id
    )
    instalments = last(StepKind.INSTALMENTS)
    payments = tuple(
        s
        for s in side
        if instalments is not None
        and s.kind == StepKind.INSTALMENT_PAYMENT.value
        and _data(s).get("instalments_id") == instalments.id
    )
    return Measures(
        preservation=preservation,
        preservation_end=preservation_end,
        seizure=seizure,
        seizure_end=seizure_end,
        seizure_extensions=extensions,
        reminder=last(StepKind.REMINDER),
        court_application=last(StepKind.COURT_APPLICATION),
        cash_handover=last(StepKind.CASH_HANDOVER),
        deferral=last(StepKind.DEFERRAL),
        instalments=instalments,
        instalment_payments=payments,
        appeals=tuple(s for s in side if s.kind == StepKind.APPEAL.value),
        appeal_results=tuple(s for s in side if s.kind == StepKind.APPEAL_RESULT.value),
    )


def _events(
    case: Case, live: Mapping[StepKind, CaseStep], side: Measures = NO_MEASURES
) -> dict[str, dt.date]:
    """The dated events the clocks start from, as far as the case's steps record them."""
    events: dict[str, dt.date] = {}
    done = {k for k, s in live.items() if s.status == StepStatus.DONE.value}
    if case.procedure == Procedure.SUMMARY.value:
        spot = live.get(StepKind.SPOT_DECISION)
        if spot is not None:
            # The on-the-spot decision is handed over at once (APL 52): served the same day.
            events[Event.DECISION_SERVED] = spot.performed_on
            if _data(spot).get("collected_on_spot"):
                events[Event.CASH_COLLECTED] = spot.performed_on
        return events
    if case.filed_on is not None:
        events[Event.FILED] = case.filed_on
    # The hearing-request window only runs for a party with hearing rights (APL 63).
    if StepKind.PRIOR_NOTICE in done and case.hearing_rights:
        received = _data(live[StepKind.PRIOR_NOTICE]).get("received_on")
        if received:
            events[Event.NOTICE_RECEIVED] = dt.date.fromisoformat(received)
    if StepKind.HEARING in done:
        events[Event.HEARING] = live[StepKind.HEARING].performed_on
    if side.preservation is not None:
        events[Event.PRESERVED] = side.preservation.performed_on
    if side.seizure is not None:
        events[Event.SEIZED] = side.seizure.performed_on
    if side.reminder is not None:
        events[Event.REMINDER_SERVED] = side.reminder.performed_on
    reconsidered = side.reconsideration_decided
    if reconsidered is not None:
        events[Event.RECONSIDERATION_DECIDED] = reconsidered.performed_on
    decided = StepKind.DECISION in done and case.decided_on is not None
    # A transfer (移送) ends the case here: nothing is served or paid.
    if decided and case.outcome != Outcome.TRANSFER.value:
        assert case.decided_on is not None
        events[Event.DECIDED] = case.decided_on
        if case.served_on is not None:
            events[Event.DECISION_SERVED] = case.served_on
    return events


def _done(
    case: Case, kind: ClockKind, live: Mapping[StepKind, CaseStep], side: Measures = NO_MEASURES
) -> bool:
    """Whether the act the clock guards has been recorded (or no longer can be asked for)."""
    if case.stage in _CLOSED:
        return True
    statement = _data(live.get(StepKind.STATEMENT))
    # A decision revoked on appeal leaves nothing to pay, enforce or appeal against.
    executed = StepKind.EXECUTION in live or side.revoked_by is not None
    sued = side.filed(AppealKind.LAWSUIT) is not None
    guarded: dict[ClockKind, bool] = {
        ClockKind.PRESERVATION_DECISION: side.preservation_end is not None,
        ClockKind.SEIZURE: side.seizure_end is not None,
        ClockKind.DECISION: StepKind.DECISION in live,
        ClockKind.HEARING_REQUEST: StepKind.HEARING in live
        or StepKind.DECISION in live
        or bool(statement.get("hearing_requested") or statement.get("hearing_waived")),
        ClockKind.HEARING_NOTICE: StepKind.HEARING in live,
        ClockKind.SERVICE: StepKind.SERVICE in live,
        # A summary case filed (备案) before handovers were recorded counts as handed over.
        ClockKind.CASH_HANDOVER: side.cash_handover is not None or StepKind.RECORD_FILING in live,
        # Once the fine is paid nothing is left to enforce: the appeal periods are then only facts.
        ClockKind.PAYMENT: executed or side.instalments_settled,
        # A lawsuit accepted bars a reconsideration (行政复议法 第二十九条).
        ClockKind.RECONSIDERATION: executed or bool(side.appeals),
        ClockKind.LAWSUIT: executed or sued,
        ClockKind.REMINDER: executed or side.court_application is not None,
        ClockKind.COURT_APPLICATION: executed or side.court_application is not None,
    }
    return guarded.get(kind, False)


def _applies(case: Case, kind: ClockKind) -> bool:
    """Payment and enforcement clocks only where a fine is due."""
    fined = case.outcome == Outcome.PENALTY.value and case.fine_fen > 0
    if kind in (ClockKind.PAYMENT, ClockKind.REMINDER, ClockKind.COURT_APPLICATION):
        return fined
    return True


def state_of(
    due: dt.date, today: dt.date, calendar: WorkCalendar, done: bool, within: int = AMBER_WORKING_DAYS
) -> ClockState:
    """``clocks.clock_state`` with the amber window as a parameter (the same rule for ``within`` 2):
    amber when ``within`` or fewer working days are left to act, counting today if it is one."""
    if done:
        return ClockState.DONE
    if today > due:
        return ClockState.RED
    left, day = 0, today
    while day <= due:
        left += calendar.is_workday(day)
        if left > within:
            return ClockState.NONE
        day += dt.timedelta(days=1)
    return ClockState.AMBER


#: The step whose recording stops a pausable clock: a pause begun after it does not move it.
_ENDED_BY: Final = MappingProxyType(
    {
        ClockKind.DECISION: StepKind.DECISION,
        ClockKind.SERVICE: StepKind.SERVICE,
        ClockKind.PAYMENT: StepKind.EXECUTION,
        ClockKind.REMINDER: StepKind.EXECUTION,
        ClockKind.COURT_APPLICATION: StepKind.EXECUTION,
    }
)


def _pauses_and_extensions(
    rows: Iterable[CasePause], live: Mapping[StepKind, CaseStep]
) -> tuple[dict[ClockKind, list[Pause]], dict[ClockKind, list[Extension]]]:
    pauses: dict[ClockKind, list[Pause]] = defaultdict(list)
    extensions: dict[ClockKind, list[Extension]] = defaultdict(list)
    for row in rows:
        if row.kind == CasePauseKind.PAUSE.value and row.start is not None:
            pause = Pause(row.start, row.end, row.reason)
            for kind in PAUSABLE:
                # A pause of execution after the decision must not push the decision's due day.
                ended = live.get(_ENDED_BY[kind])
                if ended is None or row.start <= ended.performed_on:
                    pauses[kind].append(pause)
        elif row.kind == CasePauseKind.EXTENSION.value:
            extensions[ClockKind(row.clock)].append(Extension(row.days, row.approved_by_name, row.reason))
    return pauses, extensions


def _note(due: Due, text: str) -> Due:
    return replace(due, explanation=due.explanation + text)


def _done_note(due: Due, done: CaseStep | None, what: str) -> Due:
    """Say when a measure's clock was stopped, and that it was late if it was."""
    if done is None:
        return due
    late = "，已超过期限" if done.performed_on > due.day else ""
    return _note(due, f"；已于 {done.performed_on.isoformat()} {what}{late}")


def _instalment_due(side: Measures) -> Due:
    """The payment clock under approved instalments: the due day of the next unpaid instalment
    (the last one once all are paid). The schedule's days are the approved ones: a pause of
    execution does not move them (a new schedule needs a new approval)."""
    schedule = side.schedule
    assert side.instalments is not None and schedule
    paid = len(side.instalment_payments)
    head = (
        f"经{side.instalments.approved_by_name}批准分期缴纳罚款（《行政处罚法》第六十六条），"
        f"共 {len(schedule)} 期"
    )
    if paid >= len(schedule):
        day = schedule[-1][0]
        text = f"{head}，已全部缴清（最后一期应于 {day.isoformat()} 前缴纳）"
    else:
        day, amount = schedule[paid]
        text = f"{head}；第 {paid + 1} 期 {yuan_short(amount)}应于 {day.isoformat()} 前缴纳，截止 {day.isoformat()}"
    return Due(ClockKind.PAYMENT, day, False, False, text)


#: The clocks a pending appeal stops: ACL 53 lets the squad apply to court only where the party
#: did not seek review, so neither the reminder towards that application nor its 3 months run
#: while one is pending (see the module docstring).
APPEAL_PAUSED: Final = frozenset({ClockKind.REMINDER, ClockKind.COURT_APPLICATION})


def _periods(side: Measures) -> Mapping[ClockKind, PeriodDef]:
    """The period table of this case: after a reconsideration decided, the lawsuit period is the
    15 days of 行政诉讼法 第四十五条."""
    if side.reconsideration_decided is None:
        return PERIODS
    return MappingProxyType({**PERIODS, ClockKind.LAWSUIT: LAWSUIT_AFTER_RECONSIDERATION})


def fee_pauses(pause_rows: Iterable[CasePause], side: Measures) -> list[Pause]:
    """The days on which no late fee (加处罚款, APL 72) runs: the case's approved pauses (中止执行)
    and the days an appeal was pending (复议、诉讼期间不予计算, APL 73 para. 3). The one place that
    builds them: ``late_fee_pauses`` hands them to ``record_payment`` and ``pay_instalment``.

    A pause before the payment due day has moved that day already; the fee counts only days
    after it, so no paused day is taken off twice."""
    rows = [
        Pause(r.start, r.end, r.reason)
        for r in pause_rows
        if r.kind == CasePauseKind.PAUSE.value and r.start is not None
    ]
    return rows + side.appeal_pauses


def _appeal_note(side: Measures) -> str:
    """How the party's appeals read on the payment, reminder and court-application clocks."""
    parts = []
    for appeal, result in side.appeal_periods:
        kind = appeal_kind(appeal)
        if result is None:
            parts.append(f"当事人于 {appeal.performed_on.isoformat()} {kind.act}，尚未审结")
        else:
            outcome = AppealResult(_data(result)["result"]).label
            parts.append(
                f"当事人于 {appeal.performed_on.isoformat()} {kind.act}，"
                f"{result.performed_on.isoformat()} {kind.ruling}{outcome}"
            )
    return "；" + "；".join(parts) if parts else ""


def _dues(
    case: Case,
    live: Mapping[StepKind, CaseStep],
    side: Measures,
    pause_rows: Sequence[CasePause],
    calendar: WorkCalendar,
    today: dt.date,
) -> dict[ClockKind, Due]:
    pauses, extensions = _pauses_and_extensions(pause_rows, live)
    executed = live.get(StepKind.EXECUTION)
    # As for a pause of the case: an appeal filed after execution moves nothing.
    appeal_pauses = [p for p in side.appeal_pauses if executed is None or p.start <= executed.performed_on]
    for kind in APPEAL_PAUSED:
        pauses[kind].extend(appeal_pauses)
    # The one approved extension of a seizure (ACL 25) and an approved deferral (APL 66) are
    # extensions of their clocks, recorded as side measures rather than ``CasePause`` rows.
    for step in side.seizure_extensions:
        extensions[ClockKind.SEIZURE].append(
            Extension(int(_data(step)["days"]), step.approved_by_name, step.opinion)
        )
    if side.deferral is not None:
        extensions[ClockKind.PAYMENT].append(
            Extension(
                int(_data(side.deferral)["days"]), side.deferral.approved_by_name, side.deferral.opinion
            )
        )
    dues: dict[ClockKind, Due] = case_clocks(
        _events(case, live, side), pauses, extensions, calendar, today=today, periods=_periods(side)
    )
    if ClockKind.PRESERVATION_DECISION in dues:
        dues[ClockKind.PRESERVATION_DECISION] = _done_note(
            dues[ClockKind.PRESERVATION_DECISION], side.preservation_end, "作出处理决定"
        )
    if ClockKind.SEIZURE in dues:
        seizure = dues[ClockKind.SEIZURE]
        for step in side.seizure_extensions:
            seizure = _note(
                seizure,
                f"；{step.performed_on.isoformat()} 经{step.approved_by_name}批准延长 {_data(step)['days']} 日"
                f"（{step.opinion}，《行政强制法》第二十五条）",
            )
        dues[ClockKind.SEIZURE] = _done_note(seizure, side.seizure_end, "解除或处理")
    if ClockKind.CASH_HANDOVER in dues:
        dues[ClockKind.CASH_HANDOVER] = _done_note(
            dues[ClockKind.CASH_HANDOVER], side.cash_handover, "交至行政机关"
        )
    if ClockKind.PAYMENT in dues:
        if side.instalments is not None and side.schedule:
            dues[ClockKind.PAYMENT] = _instalment_due(side)
        elif side.deferral is not None:
            until = _data(side.deferral)["until"]
            dues[ClockKind.PAYMENT] = _note(
                dues[ClockKind.PAYMENT],
                f"；当事人申请，经{side.deferral.approved_by_name}批准暂缓缴纳至 {until}（《行政处罚法》第六十六条）",
            )
    if side.appeals:
        note = _appeal_note(side)
        revoked = side.revoked_by
        if ClockKind.PAYMENT in dues:
            tail = (
                f"；处罚决定已于 {revoked.performed_on.isoformat()} 被撤销，罚款不再收缴"
                if revoked is not None
                else "；复议、诉讼期间不停止执行，但不计算加处罚款（《行政处罚法》第七十三条）"
            )
            dues[ClockKind.PAYMENT] = _note(dues[ClockKind.PAYMENT], note + tail)
        for kind in APPEAL_PAUSED:
            if kind in dues and appeal_pauses:
                dues[kind] = _note(dues[kind], note + "；复议、诉讼期间不计入（《行政强制法》第五十三条）")
        for kind, what in (
            (ClockKind.RECONSIDERATION, AppealKind.RECONSIDERATION),
            (ClockKind.LAWSUIT, AppealKind.LAWSUIT),
        ):
            filed = side.filed(what)
            if kind in dues and filed is not None:
                dues[kind] = _note(dues[kind], f"；当事人已于 {filed.performed_on.isoformat()} {what.act}")
    return dues


def case_dues(
    case: Case,
    steps: Sequence[CaseStep],
    pause_rows: Sequence[CasePause],
    calendar: WorkCalendar,
    today: dt.date,
) -> dict[ClockKind, Due]:
    """The due days of the case's clocks with their pauses, extensions and side measures (the
    measures' services read the payment and reminder due days here, as ``compute`` shows them)."""
    return _dues(case, _live(steps), measures_of(steps), pause_rows, calendar, today)


def compute(
    case: Case,
    steps: Sequence[CaseStep],
    pause_rows: Sequence[CasePause],
    calendar: WorkCalendar,
    today: dt.date,
    within: int = AMBER_WORKING_DAYS,
) -> list[ClockView]:
    """The clocks of one case from rows already loaded (shared by the one-case and to-do queries)."""
    live = _live(steps)
    side = measures_of(steps)
    dues = _dues(case, live, side, pause_rows, calendar, today)
    periods = _periods(side)
    out: list[ClockView] = []
    for kind, due in dues.items():
        if not _applies(case, kind):
            continue
        period = periods[kind]
        out.append(
            ClockView(
                kind=kind,
                name=period.name,
                basis=period.basis,
                due=due.day,
                provisional=due.provisional,
                paused=due.paused,
                explanation=due.explanation,
                state=state_of(due.day, today, calendar, _done(case, kind, live, side), within),
                binds_party=period.binds_party,
            )
        )
    return out


def _get(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.deleted:
        raise NotFoundError("找不到该案件，可能已被删除，请刷新列表。")
    return case


def _pause_rows(session: Session, case_id: str) -> list[CasePause]:
    return list(
        session.scalars(
            select(CasePause)
            .where(CasePause.case_id == case_id, CasePause.deleted.is_(False))
            .order_by(CasePause.start, CasePause.updated_at)
        )
    )


def _case_steps(session: Session, case_id: str) -> list[CaseStep]:
    return list(
        session.scalars(
            select(CaseStep)
            .where(CaseStep.case_id == case_id, CaseStep.deleted.is_(False))
            .order_by(CaseStep.seq)
        )
    )


def late_fee_pauses(session: Session, case: Case) -> list[Pause]:
    """``fee_pauses`` of one case, read from its rows (see there)."""
    session.flush()
    return fee_pauses(_pause_rows(session, case.id), measures_of(_case_steps(session, case.id)))


def clocks_for_case(
    session: Session, actor: Actor, case_id: str, today: dt.date | None = None
) -> list[ClockView]:
    """Every clock of the case whose start is known, in procedure order."""
    require(actor, Permission.VIEW_CASES)
    session.flush()
    case = _get(session, case_id)
    return compute(
        case,
        _case_steps(session, case.id),
        _pause_rows(session, case.id),
        calendar_for(session),
        today or dt.date.today(),
    )


def _open_for_changes(case: Case) -> None:
    if case.stage in _CLOSED:
        raise ValidationError(f"{case.number}已结案，不能再中止或延长期限。")
    if case.procedure == Procedure.SUMMARY.value:
        raise ValidationError(f"{case.number}为简易程序案件，没有可中止或延长的办案期限。")


def pause_case(session: Session, actor: Actor, case_id: str, start: dt.date, reason: str) -> CasePause:
    """中止: the case's clocks (``PAUSABLE``) stop from ``start`` on, with the leader's approval."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    _open_for_changes(case)
    clean = reason.strip()
    if not clean:
        raise ValidationError(
            f"中止{case.number}须写明理由，如“当事人下落不明”“需等待鉴定结论”。", field="reason"
        )
    if case.filed_on is None or start < case.filed_on:
        filed = case.filed_on.isoformat() if case.filed_on else "（尚未立案）"
        raise ValidationError(f"中止日期 {start.isoformat()} 早于立案日期 {filed}。", field="start")
    rows = _pause_rows(session, case.id)
    for row in rows:
        if row.kind != CasePauseKind.PAUSE.value or row.start is None:
            continue
        if row.end is None:
            raise ValidationError(
                f"{case.number}自 {row.start.isoformat()} 起已中止，请先恢复办理再重新中止。", field="start"
            )
        if start <= row.end:
            raise ValidationError(
                f"中止日期 {start.isoformat()} 与已记录的中止（{row.start.isoformat()} 至 {row.end.isoformat()}）重叠。",
                field="start",
            )
    name = actor.display_name or actor.username
    row = CasePause(
        case_id=case.id,
        kind=CasePauseKind.PAUSE.value,
        start=start,
        end=None,
        reason=clean,
        approved_by_id=actor.user_id,
        approved_by_name=name,
    )
    session.add(row)
    session.flush()
    return row


def resume_case(session: Session, actor: Actor, case_id: str, end: dt.date) -> CasePause:
    """恢复办理: the open pause ends on ``end`` (its last paused day), with the leader's approval."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    open_rows = [
        r for r in _pause_rows(session, case.id) if r.kind == CasePauseKind.PAUSE.value and r.end is None
    ]
    if not open_rows:
        raise ValidationError(f"{case.number}没有处于中止状态，无需恢复。")
    row = open_rows[0]
    assert row.start is not None
    if end < row.start:
        raise ValidationError(
            f"恢复日期 {end.isoformat()} 早于中止开始日期 {row.start.isoformat()}，请核对。", field="end"
        )
    row.end = end
    row.resumed_by_name = actor.display_name or actor.username
    session.flush()
    return row


#: Clocks lengthened through their own measure, which records what the law requires of it.
_MEASURE_EXTENSIONS: Final = MappingProxyType(
    {
        ClockKind.SEIZURE: "查封扣押期限的延长请通过“查封扣押延期”登记：须经负责人批准，只能延长一次，"
        "且不超过 30 日（《行政强制法》第二十五条）。",
        ClockKind.PAYMENT: "罚款缴纳期限不能直接延长：当事人确有经济困难的，凭其书面申请经批准暂缓或者分期缴纳"
        "（《行政处罚法》第六十六条），请通过“暂缓缴纳罚款”或“分期缴纳罚款”登记。",
    }
)


def extend_case_period(
    session: Session, actor: Actor, case_id: str, kind: ClockKind, days: int, reason: str
) -> CasePause:
    """经批准延长 one clock by ``days`` (in its unit), refused beyond what the law or the district's
    rule allows (``clocks.check_extension`` names the limit)."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    _open_for_changes(case)
    if kind in _MEASURE_EXTENSIONS:
        raise ValidationError(_MEASURE_EXTENSIONS[kind], field="clock")
    clean = reason.strip()
    if not clean:
        raise ValidationError("延长期限须写明理由。", field="reason")
    name = actor.display_name or actor.username
    new = Extension(days, name, clean)
    existing = [
        Extension(r.days, r.approved_by_name, r.reason)
        for r in _pause_rows(session, case.id)
        if r.kind == CasePauseKind.EXTENSION.value and r.clock == kind.value
    ]
    try:
        check_extension(kind, existing, new)
    except ValidationError as exc:
        raise ValidationError(f"{case.number}：{exc.message}", field="days") from None
    row = CasePause(
        case_id=case.id,
        kind=CasePauseKind.EXTENSION.value,
        clock=kind.value,
        days=days,
        reason=clean,
        approved_by_id=actor.user_id,
        approved_by_name=name,
    )
    session.add(row)
    session.flush()
    return row


__all__ = [
    "APPEAL_PAUSED",
    "NO_MEASURES",
    "PAUSABLE",
    "AppealKind",
    "AppealResult",
    "ClockView",
    "Measures",
    "appeal_kind",
    "case_dues",
    "clocks_for_case",
    "compute",
    "extend_case_period",
    "fee_pauses",
    "late_fee_pauses",
    "measures_of",
    "pause_case",
    "resume_case",
    "state_of",
]
