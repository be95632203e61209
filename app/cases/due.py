"""The due-date index of open cases (案件期限索引) and the start page's to-do query built on it.

The to-do list (待办) asks which clocks are amber or red today. Computing every clock of every open
case for it costs a query of all their steps and pauses and a walk of the calendar per clock —
hundreds of milliseconds at 100,000 cases. ``case_due_index`` (``db.models.due_index``) holds, per
open case, the earliest due day of its clocks that are not done, so ``due_clocks`` computes the
exact clocks (``timing.compute``, the same rules as everywhere) of the few candidate cases only.

What a stored day means: a *lower bound* of the case's open due days, valid whatever ``today``
is asked later. The only input of a due day that changes with time is an open pause (中止), which
``timing.compute`` counts through ``today``; the index computes it with ``today`` no later than the
start of the case's open pauses, so every later answer is the same day or a later one. The
calendar it was computed with is the one the query uses: a change of the local overrides rebuilds
the whole index in the same transaction, a new ``chinesecalendar`` release (new holiday data)
changes the fingerprint and the index is rebuilt at start-up. So a stored day is never later than
the day the query computes, and a case whose stored day lies after the last day that is amber today
cannot have an amber or red clock. Where the horizon reaches a year whose holiday data is not
published yet (provisional), ``SLACK_DAYS`` more are taken all the same: a due day there is the one
most likely to be moved by data the index was not built with.

How it stays current: a flush listener on :class:`db.hooks.AuditedSession` — the class of every
session an ``AppContext`` makes — notes the cases touched by any flushed row that is a ``Case`` or
carries a ``case_id`` (steps, side measures, pauses, evidence, parties …) and recomputes their rows
with Core statements in the same transaction, so no service has to remember it, and rows applied
by sync through the ORM keep it right too. Code that writes case rows with Core bulk statements
(bypassing the flush, like the benchmark generator) calls ``refresh_due_index`` or
``rebuild_due_index`` itself; ``ensure_due_index`` at start-up also rebuilds the index when its
row count no longer matches the open cases. The table is local and never synced: the flush hook of
:mod:`db.hooks` stamps, logs and audits ``Synced`` rows only, and these rows are no ORM objects.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final

import chinese_calendar
from sqlalchemy import Select, delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from app.auth.roles import Actor, Permission, require
from app.calendar import WorkCalendar, calendar_for
from app.cases.clocks import AMBER_WORKING_DAYS, ClockState
from app.cases.machine import CaseStage
from app.cases.timing import ClockView, compute
from db.hooks import AuditedSession
from db.models import CalendarOverride, LocalMeta
from db.models.cases import Case, CasePause, CasePauseKind, CaseStep
from db.models.due_index import CaseDueIndex

log = logging.getLogger("squaddesk.cases.due")

#: Bump when what ``earliest_due`` means or how the clocks are computed changes (a new clock, a
#: changed period, a new pausable clock): every installation then rebuilds its index at start-up.
INDEX_VERSION: Final = 2
#: Calendar days added to the horizon of the to-do query when it reaches a provisional year (see
#: the module docstring and ``candidate_horizon``).
SLACK_DAYS: Final = 10
#: Stored when a case's clocks could not be computed: the case is then always a candidate, so the
#: to-do query computes it exactly (and reports what is wrong with it) as it did before the index.
ALWAYS: Final = dt.date.min

_META_KEY: Final = "case_due_index"
_OPEN_STAGES: Final = tuple(s.value for s in CaseStage if s not in (CaseStage.CLOSED, CaseStage.ARCHIVED))
_CHUNK: Final = 500  # ids per IN list (SQLite's limit of bound parameters)
_TOUCHED: Final = "_squaddesk_due_touched"
_REBUILD: Final = "_squaddesk_due_rebuild"
_DAY = dt.timedelta(days=1)


def fingerprint() -> str:
    """What the stored days depend on besides the case rows and the local overrides."""
    return f"v{INDEX_VERSION}; chinesecalendar {chinese_calendar.__version__}"


def _open_ids() -> Select[str]:
    # IN over the open stages rather than NOT IN the closed ones, so SQLite can use ix_cases_open.
    return select(Case.id).where(Case.stage.in_(_OPEN_STAGES), Case.deleted.is_(False))


Loaded = tuple[Case, list[CaseStep], list[CasePause]]


def _load(session: Session, ids: Select[str] | Collection[str]) -> list[Loaded]:
    """The open cases among ``ids`` with their live steps and pauses: three queries, not one a case."""
    cases = list(
        session.scalars(
            select(Case).where(Case.id.in_(ids), Case.stage.in_(_OPEN_STAGES), Case.deleted.is_(False))
        )
    )
    if not cases:
        return []
    steps: dict[str, list[CaseStep]] = defaultdict(list)
    for step in session.scalars(
        select(CaseStep).where(CaseStep.case_id.in_(ids), CaseStep.deleted.is_(False))
    ):
        steps[step.case_id].append(step)
    pauses: dict[str, list[CasePause]] = defaultdict(list)
    for row in session.scalars(
        select(CasePause).where(CasePause.case_id.in_(ids), CasePause.deleted.is_(False))
    ):
        pauses[row.case_id].append(row)
    return [(case, steps[case.id], pauses[case.id]) for case in cases]


def earliest_due(
    case: Case, steps: Sequence[CaseStep], pauses: Sequence[CasePause], calendar: WorkCalendar
) -> dt.date | None:
    """The earliest due day of the case's clocks that are not done, None when none runs.

    Computed as on a ``today`` no later than its open pauses' start: an open pause is counted
    through ``today``, so on any later day its clocks fall due on the same day or later.
    """
    open_starts = [
        p.start
        for p in pauses
        if p.kind == CasePauseKind.PAUSE.value and p.start is not None and p.end is None
    ]
    floor = min([case.opened_on, *open_starts])
    views = compute(case, steps, pauses, calendar, floor)
    return min((v.due for v in views if v.state is not ClockState.DONE), default=None)


def _index_rows(loaded: Iterable[Loaded], calendar: WorkCalendar) -> list[dict[str, Any]]:
    rows = []
    for case, steps, pauses in loaded:
        try:
            due = earliest_due(case, steps, pauses, calendar)
        except Exception:
            # A derived cache must never make a write of the case fail (a row from a newer
            # version, a damaged JSON field …): keep the case a candidate instead.
            log.exception(
                "due index: the clocks of case %s cannot be computed; it stays a candidate", case.id
            )
            due = ALWAYS
        rows.append({"case_id": case.id, "earliest_due": due})
    return rows


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    it = iter(sorted(ids))
    while chunk := list(itertools.islice(it, _CHUNK)):
        yield chunk


def refresh_due_index(
    session: Session, case_ids: Iterable[str], calendar: WorkCalendar | None = None
) -> None:
    """Recompute the rows of these cases (a row for each open one, none for the others)."""
    conn = session.connection()
    calendar = calendar or calendar_for(session)
    for chunk in _chunks(set(case_ids)):
        conn.execute(delete(CaseDueIndex).where(CaseDueIndex.case_id.in_(chunk)))
        rows = _index_rows(_load(session, chunk), calendar)
        if rows:
            conn.execute(insert(CaseDueIndex), rows)


def rebuild_due_index(session: Session) -> int:
    """Recompute the whole index from the open cases and store its fingerprint; returns the rows."""
    conn = session.connection()
    rows = _index_rows(_load(session, _open_ids()), calendar_for(session))
    conn.execute(delete(CaseDueIndex))
    if rows:
        conn.execute(insert(CaseDueIndex), rows)
    conn.execute(delete(LocalMeta).where(LocalMeta.key == _META_KEY))
    conn.execute(insert(LocalMeta), [{"key": _META_KEY, "value": fingerprint()}])
    return len(rows)


def due_index_is_current(session: Session) -> bool:
    """Whether the index was built with this program's rules and calendar data and holds a row for
    each open case (no case rows were written around the flush listener). A key look-up and two
    counts over indexes: about a millisecond."""
    stored = session.scalar(select(LocalMeta.value).where(LocalMeta.key == _META_KEY))
    if stored != fingerprint():
        return False
    rows = session.scalar(select(func.count()).select_from(CaseDueIndex))
    open_cases = session.scalar(select(func.count()).select_from(_open_ids().subquery()))
    return rows == open_cases


def ensure_due_index(session: Session) -> bool:
    """At start-up: rebuild the index unless it is current (see there); returns whether it did."""
    if due_index_is_current(session):
        return False
    rebuild_due_index(session)
    return True


# ---- keeping it current: the flush listener ----------------------------------------------------


def _case_ids(obj: object) -> set[str]:
    """The cases a flushed row belongs to: the case itself, or its ``case_id`` before and after."""
    if isinstance(obj, Case):
        return {obj.id}
    state = inspect(obj)
    if isinstance(obj, CaseDueIndex) or "case_id" not in state.mapper.column_attrs:
        return set()
    hist = state.attrs.case_id.history
    ids = {v for v in (*hist.added, *hist.unchanged, *hist.deleted) if isinstance(v, str)}
    if not ids:  # expired: load it
        value = getattr(obj, "case_id", None)
        ids = {value} if isinstance(value, str) else set()
    return ids


def _note_touched(session: Session, flush_context: UOWTransaction) -> None:
    # after_flush: ``new``, ``dirty`` and ``deleted`` still list what this flush wrote, with the
    # attribute history, so a row moved to another case marks both cases.
    touched: set[str] = session.info.setdefault(_TOUCHED, set())
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, CalendarOverride):
            session.info[_REBUILD] = True
        else:
            touched |= _case_ids(obj)


def _update_index(session: Session, flush_context: UOWTransaction) -> None:
    # after_flush_postexec: the flushed rows are in the database and the session's state is final,
    # so the rows can be read back (queries inside a flush do not autoflush) and the index written
    # with Core on the flush's own connection: it commits or rolls back with the change.
    rebuild = session.info.pop(_REBUILD, False)
    touched: set[str] = session.info.pop(_TOUCHED, set())
    if rebuild:
        rebuild_due_index(session)
    elif touched:
        refresh_due_index(session, touched)


event.listen(AuditedSession, "after_flush", _note_touched)
event.listen(AuditedSession, "after_flush_postexec", _update_index)


# ---- the to-do query ---------------------------------------------------------------------------


def last_amber_day(calendar: WorkCalendar, today: dt.date, within: int = AMBER_WORKING_DAYS) -> dt.date:
    """The last due day that is amber (or red) on ``today``: the day before the working day on
    which more than ``within`` working days, counting ``today`` if it is one, have passed — the
    same count as ``timing.state_of``."""
    left, day = 0, today
    while True:
        left += calendar.is_workday(day)
        if left > within:
            return day - _DAY
        day += _DAY


def candidate_horizon(calendar: WorkCalendar, today: dt.date, within: int = AMBER_WORKING_DAYS) -> dt.date:
    """The latest indexed earliest due day that makes a case a candidate of the to-do query:
    ``last_amber_day``, plus ``SLACK_DAYS`` when a day up to that far is provisional."""
    last = last_amber_day(calendar, today, within)
    far = last + dt.timedelta(days=SLACK_DAYS)
    day = today
    while day <= far:
        if calendar.info(day).provisional:
            return far
        day += _DAY
    return last


def due_clocks(
    session: Session,
    actor: Actor,
    today: dt.date,
    within_working_days: int = AMBER_WORKING_DAYS,
    *,
    use_index: bool = True,
) -> list[tuple[str, ClockView]]:
    """The start page's to-do list: amber and red clocks of open cases, most urgent first.

    The candidates are the cases whose indexed earliest due day is no later than
    ``candidate_horizon``; their clocks are computed exactly, loaded in three queries. When the
    index is not current (``due_index_is_current``: built by another version, or case rows written
    around the listener) — or ``use_index`` is False, as the tests' reference answer — every open
    case is a candidate: slower, never wrong.
    """
    require(actor, Permission.VIEW_CASES)
    session.flush()
    calendar = calendar_for(session)
    candidates = _open_ids()
    if use_index and due_index_is_current(session):
        horizon = candidate_horizon(calendar, today, within_working_days)
        candidates = select(CaseDueIndex.case_id).where(CaseDueIndex.earliest_due <= horizon)
    out: list[tuple[str, ClockView]] = []
    for case, steps, pauses in _load(session, candidates):
        for view in compute(case, steps, pauses, calendar, today, within_working_days):
            if view.state in (ClockState.AMBER, ClockState.RED):
                out.append((case.number, view))
    # Red before amber, then the earliest due day first.
    out.sort(key=lambda pair: (pair[1].state is not ClockState.RED, pair[1].due, pair[0]))
    return out


__all__ = [
    "SLACK_DAYS",
    "candidate_horizon",
    "due_clocks",
    "due_index_is_current",
    "earliest_due",
    "ensure_due_index",
    "fingerprint",
    "last_amber_day",
    "rebuild_due_index",
    "refresh_due_index",
]
