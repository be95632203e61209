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

Clocks for preservation, seizure and reminders need steps not yet recorded by the case service
(先行登记保存, 查封扣押, 催告); they appear once those steps exist.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.calendar import WorkCalendar, calendar_for
from app.cases.clocks import (
    AMBER_WORKING_DAYS,
    PERIODS,
    ClockKind,
    ClockState,
    Due,
    Event,
    Extension,
    Pause,
    case_clocks,
    check_extension,
)
from app.cases.machine import CaseStage, StepKind
from app.errors import NotFoundError, ValidationError
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
    """The live (not withdrawn) step of each kind; a later row of a kind wins."""
    out: dict[StepKind, CaseStep] = {}
    for step in sorted(steps, key=lambda s: s.seq):
        if step.status != StepStatus.WITHDRAWN.value:
            out[StepKind(step.kind)] = step
    return out


def _data(step: CaseStep | None) -> dict[str, Any]:
    return json.loads(step.data) if step is not None and step.data else {}


def _events(case: Case, live: Mapping[StepKind, CaseStep]) -> dict[str, dt.date]:
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
    decided = StepKind.DECISION in done and case.decided_on is not None
    # A transfer (移送) ends the case here: nothing is served or paid.
    if decided and case.outcome != Outcome.TRANSFER.value:
        assert case.decided_on is not None
        events[Event.DECIDED] = case.decided_on
        if case.served_on is not None:
            events[Event.DECISION_SERVED] = case.served_on
    return events


def _done(case: Case, kind: ClockKind, live: Mapping[StepKind, CaseStep]) -> bool:
    """Whether the act the clock guards has been recorded (or no longer can be asked for)."""
    if case.stage in _CLOSED:
        return True
    statement = _data(live.get(StepKind.STATEMENT))
    guarded: dict[ClockKind, bool] = {
        ClockKind.DECISION: StepKind.DECISION in live,
        ClockKind.HEARING_REQUEST: StepKind.HEARING in live
        or StepKind.DECISION in live
        or bool(statement.get("hearing_requested") or statement.get("hearing_waived")),
        ClockKind.HEARING_NOTICE: StepKind.HEARING in live,
        ClockKind.SERVICE: StepKind.SERVICE in live,
        ClockKind.CASH_HANDOVER: StepKind.RECORD_FILING in live,
        # Once the fine is paid nothing is left to enforce: the appeal periods are then only facts.
        ClockKind.PAYMENT: StepKind.EXECUTION in live,
        ClockKind.RECONSIDERATION: StepKind.EXECUTION in live,
        ClockKind.LAWSUIT: StepKind.EXECUTION in live,
        ClockKind.REMINDER: StepKind.EXECUTION in live,
        ClockKind.COURT_APPLICATION: StepKind.EXECUTION in live,
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
    pauses, extensions = _pauses_and_extensions(pause_rows, live)
    dues: dict[ClockKind, Due] = case_clocks(_events(case, live), pauses, extensions, calendar, today=today)
    out: list[ClockView] = []
    for kind, due in dues.items():
        if not _applies(case, kind):
            continue
        period = PERIODS[kind]
        out.append(
            ClockView(
                kind=kind,
                name=period.name,
                basis=period.basis,
                due=due.day,
                provisional=due.provisional,
                paused=due.paused,
                explanation=due.explanation,
                state=state_of(due.day, today, calendar, _done(case, kind, live), within),
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


def extend_case_period(
    session: Session, actor: Actor, case_id: str, kind: ClockKind, days: int, reason: str
) -> CasePause:
    """经批准延长 one clock by ``days`` (in its unit), refused beyond what the law or the district's
    rule allows (``clocks.check_extension`` names the limit)."""
    require(actor, Permission.APPROVE_CASES)
    case = _get(session, case_id)
    _open_for_changes(case)
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


def due_clocks(
    session: Session, actor: Actor, today: dt.date, within_working_days: int = AMBER_WORKING_DAYS
) -> list[tuple[str, ClockView]]:
    """The start page's to-do list: amber and red clocks of open cases, most urgent first.

    Three queries whatever the number of cases — open cases, their steps, their pauses (the
    steps and pauses by a subquery on the open cases, not one query per case) — plus the
    calendar's overrides.
    """
    require(actor, Permission.VIEW_CASES)
    session.flush()
    # IN over the open stages rather than NOT IN the closed ones, so SQLite can use the stage index.
    open_stages = [stage.value for stage in CaseStage if stage.value not in _CLOSED]
    open_ids = select(Case.id).where(Case.stage.in_(open_stages), Case.deleted.is_(False))
    cases = list(session.scalars(select(Case).where(Case.id.in_(open_ids))))
    if not cases:
        return []
    steps: dict[str, list[CaseStep]] = defaultdict(list)
    for step in session.scalars(
        select(CaseStep).where(CaseStep.case_id.in_(open_ids), CaseStep.deleted.is_(False))
    ):
        steps[step.case_id].append(step)
    pauses: dict[str, list[CasePause]] = defaultdict(list)
    for row in session.scalars(
        select(CasePause).where(CasePause.case_id.in_(open_ids), CasePause.deleted.is_(False))
    ):
        pauses[row.case_id].append(row)
    calendar = calendar_for(session)
    out: list[tuple[str, ClockView]] = []
    for case in cases:
        for view in compute(case, steps[case.id], pauses[case.id], calendar, today, within_working_days):
            if view.state in (ClockState.AMBER, ClockState.RED):
                out.append((case.number, view))
    # Red before amber, then the earliest due day first.
    out.sort(key=lambda pair: (pair[1].state is not ClockState.RED, pair[1].due, pair[0]))
    return out


__all__ = [
    "PAUSABLE",
    "ClockView",
    "clocks_for_case",
    "compute",
    "due_clocks",
    "extend_case_period",
    "pause_case",
    "resume_case",
    "state_of",
]
