"""The roster solver (排班求解): a month's roster from OR-Tools CP-SAT that keeps every hard rule of
:mod:`app.rosters.checker` and spreads nights, 24-hour duties, weekends and holidays fairly.

One model builder serves three solves:

* the *strict* model — the hard rules as constraints, fairness (and, on a re-solve, the number of
  changed cells) as the objective;
* when that is infeasible, the *explain* model — the same rules, each rule group's constraints of
  one day enforced only under an assumption literal (one shift a day stays hard: it is no lever a
  clerk can pull), so CP-SAT's ``sufficient_assumptions_for_infeasibility`` names the rule groups
  and days in conflict; the core is shrunk until every group in it is needed;
* then the *relaxed* model — on the explained days, demand shortfalls (and locked cells) may give
  way at a heavy price — so the clerk gets the best roster there is, with its shortages named by
  the checker, rather than nothing. Should the month still be infeasible, the next conflict is
  explained the same way, so every conflicting day gets its line.

The solver's output always goes through ``check``: the checker, not the model, has the last word.
Long work reports progress and honours cancel through :mod:`app.progress`.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from app.errors import Cancelled
from app.progress import Progress, step
from app.rosters.checker import (
    RULE_LABELS,
    HolidayCalendar,
    Rule,
    Violation,
    capacity_check,
    check,
    required_police,
)
from app.rosters.fairness import FairnessCounts, PeerGroup, day_kind, peer_group
from app.rosters.model import (
    Assignment,
    Category,
    Demand,
    Leave,
    Person,
    Roster,
    Rules,
    ShiftType,
    day_label,
)


class SolveStatus(enum.StrEnum):
    OPTIMAL = "optimal"  # proven best under the fairness objective
    FEASIBLE = "feasible"  # lawful, but the time limit (or ``stop_at_first``) came before the proof
    INFEASIBLE = "infeasible"  # no lawful roster: see ``explanation``; ``assignments`` is the best effort
    TIMEOUT = "timeout"  # no roster found within the time limit, nor a proof that none exists


STATUS_LABELS: dict[SolveStatus, str] = {
    SolveStatus.OPTIMAL: "已生成最优排班",
    SolveStatus.FEASIBLE: "已生成排班（未证明最优）",
    SolveStatus.INFEASIBLE: "无法满足全部规则",
    SolveStatus.TIMEOUT: "限定时间内未找到排班",
}

#: The group of locked cells (锁定的排班) in an explanation: not a rule of the checker, but a clerk's
#: decision that can conflict with one.
LOCKED_LABEL = "锁定的排班"

#: Objective weights, per peer group, on the spread (max − min) of each count; "workload" is days on
#: duty. A change to the current roster outweighs any fairness gain it could buy (one cell moves
#: each count by at most one — by at most three for the minimum of someone on leave, counted pro
#: rata only while away less than two thirds of the month —, in each of three peer groups:
#: 3 × 3 × (4 + 4 + 2 + 3 + 1) < 1,000); in the relaxed model a missing person outweighs everything
#: but breaking a locked cell.
FAIRNESS_WEIGHTS: dict[str, int] = {"nights": 4, "duties_24h": 4, "weekends": 2, "holidays": 3, "workload": 1}
CHANGE_WEIGHT = 1_000
SHORTAGE_WEIGHT = 100_000
LOCK_WEIGHT = 1_000_000


@dataclass(frozen=True)
class Conflict:
    """Rule groups that cannot all hold on ``day`` (one part of an infeasibility core)."""

    day: dt.date
    rules: tuple[Rule, ...]
    locked: bool = False


@dataclass(frozen=True)
class SolveResult:
    status: SolveStatus
    month: dt.date  # the first day
    #: The roster: lawful unless ``status`` is INFEASIBLE (then the best effort, see ``violations``).
    assignments: tuple[Assignment, ...]
    #: CP-SAT's objective and bound (of the relaxed model when INFEASIBLE: shortages weigh 100,000 each).
    objective: float | None
    bound: float | None
    wall_seconds: float
    #: From the call of ``solve`` to the first lawful roster.
    first_solution_seconds: float | None
    #: The checker on ``assignments`` — empty for OPTIMAL and FEASIBLE; the shortages when INFEASIBLE.
    violations: tuple[Violation, ...]
    #: The capacity check run before solving.
    capacity: tuple[Violation, ...]
    #: Why no lawful roster exists, one line per day: "12月3日：持证执法人员人数、请假期间不排班".
    explanation: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    #: Time spent finding and shrinking infeasibility cores (INFEASIBLE only).
    explain_seconds: float | None = None
    #: Grid cells (member id, day) whose shift differs from ``current`` (every filled cell on a first solve).
    changed: tuple[tuple[str, dt.date], ...] = ()

    @property
    def feasible(self) -> bool:
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)

    @property
    def changes(self) -> int:
        return len(self.changed)

    def roster(self, previous: Iterable[Assignment] = ()) -> Roster:
        return Roster(self.month, self.assignments, tuple(previous))


# --- the instance -----------------------------------------------------------------------------


Cell = tuple[str, dt.date, str]  # member id, day, shift code


@dataclass
class _Instance:
    """The inputs, indexed once for the three model builds."""

    people: Sequence[Person]
    shifts: Sequence[ShiftType]
    demands: Sequence[Demand]
    leaves: Sequence[Leave]
    rules: Rules
    month: dt.date
    previous: tuple[Assignment, ...]
    locked: frozenset[Cell]
    current: frozenset[Cell]
    carried: Mapping[str, FairnessCounts]
    calendar: HolidayCalendar | None
    days: list[dt.date] = field(init=False)
    shift_of: dict[str, ShiftType] = field(init=False)
    demand_of: dict[tuple[dt.date, str], Demand] = field(init=False)
    on_leave: set[tuple[str, dt.date]] = field(init=False)
    #: (first shift, day offset) → {second shift: the rule that forbids the pair}.
    forbidden_after: dict[tuple[str, int], dict[str, Rule]] = field(init=False)
    max_offset: int = field(init=False)

    def __post_init__(self) -> None:
        self.days = Roster(self.month).days
        self.shift_of = {s.code: s for s in self.shifts}
        month = Roster(self.month)
        self.demand_of = {(d.day, d.shift): d for d in self.demands if month.contains(d.day)}
        ids = {p.member_id for p in self.people}
        self.on_leave = {
            (lv.member_id, day)
            for lv in self.leaves
            if lv.member_id in ids
            for day in self.days
            if lv.covers(day)
        }
        forbidden, self.max_offset = _forbidden_pairs(self.shifts, self.rules)
        self.forbidden_after = defaultdict(dict)
        for (first, k, second), rule in forbidden.items():
            self.forbidden_after[(first, k)][second] = rule

    def label(self, day: dt.date) -> str:
        if self.calendar is not None:
            info = self.calendar.info(day)
            if not info.workday and info.name and info.name != "休息日":
                return f"{day_label(day)}（{info.name}）"
        return day_label(day)


def _forbidden_pairs(
    shifts: Sequence[ShiftType], rules: Rules
) -> tuple[dict[tuple[str, int, str], Rule], int]:
    """Which shift pairs may not follow each other ``k`` days apart, judged as the checker does:
    from the end of the first to the start of the second, a 24-hour duty wanting the next day free."""
    probe = dt.date(2000, 1, 3)
    longest = max((s.hours for s in shifts), default=0.0)
    max_offset = 1 + int((longest + rules.min_rest_hours) // 24)
    out: dict[tuple[str, int, str], Rule] = {}
    for first, second in itertools.product(shifts, repeat=2):
        for k in range(max_offset + 1):
            if k == 0:
                # Same day: covered by "one shift a day" unless that rule is off.
                earlier = (first.start, first.code) < (second.start, second.code)
                if rules.one_shift_a_day or not earlier:
                    continue
            if rules.rest_day_after_24h and first.is_24h and k == 1:
                out[(first.code, k, second.code)] = Rule.REST_AFTER_24H
                continue
            later = probe + dt.timedelta(days=k)
            gap = (second.start_on(later) - first.end_on(probe)).total_seconds() / 3600
            if gap < rules.min_rest_hours:
                out[(first.code, k, second.code)] = Rule.MIN_REST
    return out, max_offset


# --- the model --------------------------------------------------------------------------------


class _Mode(enum.Enum):
    STRICT = "strict"
    EXPLAIN = "explain"
    RELAXED = "relaxed"


Group = tuple[str, dt.date]  # (Rule value or "locked", day)
_LOCKED = "locked"


class _Model:
    def __init__(self, inst: _Instance, mode: _Mode, soft_days: Iterable[dt.date] | None = None) -> None:
        """``soft_days``: the days whose demand and locked cells may give way — in the relaxed model at
        a price (every day when None), in the explain model for free (days already explained)."""
        self.inst = inst
        self.mode = mode
        self.soft_days = None if soft_days is None else frozenset(soft_days)
        self.model = cp_model.CpModel()
        self.x: dict[Cell, cp_model.IntVar] = {}
        self.assumption: dict[Group, cp_model.IntVar] = {}
        self.by_person_day: dict[tuple[str, dt.date], list[tuple[str, cp_model.IntVar]]] = defaultdict(list)
        #: Whether a person works on a day (None: no shift possible).
        self.work: dict[tuple[str, dt.date], cp_model.LinearExpr | None] = {}
        self.penalties: list[cp_model.LinearExpr] = []
        self._variables()
        self._per_person()
        self._per_demand()
        if mode is not _Mode.EXPLAIN:
            self._objective()

    def soft(self, day: dt.date) -> bool:
        if self.mode is _Mode.STRICT:
            return False
        if self.soft_days is None:
            return self.mode is _Mode.RELAXED
        return day in self.soft_days

    # Constraints of one rule group and day go through here: under its literal when explaining.
    def _add(self, ct: cp_model.Constraint, rule: str, day: dt.date) -> None:
        if self.mode is _Mode.EXPLAIN:
            key = (rule, day)
            lit = self.assumption.get(key)
            if lit is None:
                lit = self.assumption[key] = self.model.new_bool_var(f"a_{rule}_{day.isoformat()}")
            ct.only_enforce_if(lit)

    def _variables(self) -> None:
        inst = self.inst
        cells = {key for key, d in inst.demand_of.items() if d.headcount > 0 and d.shift in inst.shift_of}
        cells |= {(day, code) for _, day, code in inst.locked}
        for day, code in sorted(cells):
            for p in inst.people:
                cell = (p.member_id, day, code)
                if (
                    (p.member_id, day) in inst.on_leave
                    and self.mode is not _Mode.EXPLAIN
                    and cell not in inst.locked
                ):
                    continue
                var = self.model.new_bool_var(f"x_{p.member_id}_{day.isoformat()}_{code}")
                self.x[cell] = var
                self.by_person_day[(p.member_id, day)].append((code, var))
                if inst.current:  # a re-solve starts from the roster as it is
                    self.model.add_hint(var, cell in inst.current)

    def _per_person(self) -> None:
        inst, rules, m = self.inst, self.inst.rules, self.model
        # One shift a day is structural, never a clerk's lever: it stays hard even when explaining.
        one_shift_is_hard = rules.one_shift_a_day
        for p in inst.people:
            pid = p.member_id
            for day in inst.days:
                todays = self.by_person_day.get((pid, day), [])
                if not todays:
                    self.work[(pid, day)] = None
                    continue
                xs = [v for _, v in todays]
                if len(xs) == 1:
                    self.work[(pid, day)] = xs[0]
                else:
                    # One Boolean per worked day keeps the 7-day windows short (7 terms, not 7 × shifts).
                    w = m.new_bool_var(f"w_{pid}_{day.isoformat()}")
                    if one_shift_is_hard:
                        m.add(w == _sum(xs))  # also says: one shift a day
                    else:
                        if rules.one_shift_a_day:
                            self._add(m.add(_sum(xs) <= 1), Rule.ONE_SHIFT, day)
                        m.add_max_equality(w, xs)
                    self.work[(pid, day)] = w
                if (pid, day) in inst.on_leave:
                    for _, v in todays:
                        self._add(m.add(v == 0), Rule.ON_LEAVE, day)
                for code, v in todays:
                    if (pid, day, code) in inst.locked:
                        if not self.soft(day):
                            self._add(m.add(v == 1), _LOCKED, day)
                        elif self.mode is _Mode.RELAXED:
                            self.penalties.append(LOCK_WEIGHT * (1 - v))
            self._rest(pid)
            self._day_counts(pid)

    def _rest(self, pid: str) -> None:
        inst, m = self.inst, self.model
        first_day, last_day = inst.days[0], inst.days[-1]
        # Last month's cells are facts: a shift they forbid is simply off.
        earlier: list[tuple[dt.date, str, cp_model.IntVar | None]] = [
            (a.day, a.shift, None)
            for a in inst.previous
            if a.member_id == pid and (first_day - a.day).days <= inst.max_offset
        ]
        earlier += [(day, code, v) for day in inst.days for code, v in self.by_person_day.get((pid, day), [])]
        aggregate = inst.rules.one_shift_a_day
        for day, code, v in earlier:
            for k in range(inst.max_offset + 1):
                later = day + dt.timedelta(days=k)
                if later < first_day or later > last_day:
                    continue
                forbidden = inst.forbidden_after.get((code, k))
                todays = self.by_person_day.get((pid, later))
                if not forbidden or not todays:
                    continue
                by_rule: dict[Rule, list[cp_model.IntVar]] = defaultdict(list)
                for other, w in todays:
                    rule = forbidden.get(other)
                    if rule is not None and not (k == 0 and other == code):
                        by_rule[rule].append(w)
                for rule, ws in by_rule.items():
                    if v is None:
                        for w in ws:
                            self._add(m.add(w == 0), rule, later)
                    elif aggregate:  # one shift a day makes the later day's shifts a clique
                        whole_day = len(ws) == len(todays)
                        rest = self.work[(pid, later)] if whole_day else _sum(ws)
                        assert rest is not None
                        self._add(m.add(v + rest <= 1), rule, later)
                    else:
                        for w in ws:
                            self._add(m.add(v + w <= 1), rule, later)

    def _day_counts(self, pid: str) -> None:
        inst, rules, m = self.inst, self.inst.rules, self.model
        worked_before = {a.day for a in inst.previous if a.member_id == pid}
        limit = rules.max_consecutive_days
        for end in inst.days:
            window = [end - dt.timedelta(days=i) for i in range(limit + 1)]
            inside = [e for d in window if d >= inst.days[0] and (e := self.work[(pid, d)]) is not None]
            before = sum(d in worked_before for d in window if d < inst.days[0])
            if inside:  # a window without a possible shift this month cannot break the rule
                self._add(m.add(_sum(inside) + before <= limit), Rule.MAX_CONSECUTIVE, end)
        need = rules.min_days_off_per_week
        for i in range(len(inst.days) - 6):
            window = inst.days[i : i + 7]
            terms = [e for d in window if (e := self.work[(pid, d)]) is not None]
            if need > 0 and len(terms) > 7 - need:
                self._add(m.add(_sum(terms) <= 7 - need), Rule.MIN_DAYS_OFF, window[-1])

    def _per_demand(self) -> None:
        inst, m = self.inst, self.model
        staff_of: dict[tuple[dt.date, str], list[tuple[Person, cp_model.IntVar]]] = defaultdict(list)
        person = {p.member_id: p for p in inst.people}
        for (pid, day, code), v in self.x.items():
            staff_of[(day, code)].append((person[pid], v))
        for key in sorted(set(inst.demand_of) | set(staff_of)):
            day, code = key
            demand = inst.demand_of.get(key) or Demand(day, code, 0)
            staff = staff_of.get(key, [])
            everyone = [v for _, v in staff]
            soft = self.soft(day)
            priced = soft and self.mode is _Mode.RELAXED

            def at_least(
                vars_: list[cp_model.IntVar],
                need: int,
                rule: Rule,
                day: dt.date = day,
                soft: bool = soft,
                priced: bool = priced,
            ) -> None:
                if need <= 0 or (soft and not priced):
                    return
                if priced:
                    short = m.new_int_var(0, need, f"short_{rule}_{day.isoformat()}")
                    m.add(_sum(vars_) + short >= need)
                    self.penalties.append(SHORTAGE_WEIGHT * short)
                else:
                    self._add(m.add(_sum(vars_) >= need), rule, day)

            if demand.headcount == 0:
                self._add(m.add(_sum(everyone) == 0), Rule.OVERSTAFFED, day)
            elif soft:  # never overstaffed; short at a price, or for free once explained
                m.add(_sum(everyone) <= demand.headcount)
                if priced:
                    self.penalties.append(SHORTAGE_WEIGHT * (demand.headcount - _sum(everyone)))
            else:
                self._add(m.add(_sum(everyone) == demand.headcount), Rule.HEADCOUNT, day)
            at_least([v for p, v in staff if p.certified_on(day)], demand.min_certified, Rule.MIN_CERTIFIED)
            police = required_police(demand, inst.shift_of.get(code))
            at_least([v for p, v in staff if p.category is Category.POLICE], police, Rule.MIN_POLICE)
            at_least([v for p, v in staff if p.is_leader], int(demand.needs_leader), Rule.LEADER)

    def _objective(self) -> None:
        inst, m = self.inst, self.model
        kinds = {day: day_kind(day, inst.calendar) for day in inst.days}
        days = len(inst.days)
        away: dict[str, int] = defaultdict(int)
        for pid, day in inst.on_leave:
            away[pid] += day in kinds
        per_person: dict[tuple[str, str], list[cp_model.LinearExpr]] = defaultdict(list)
        for (pid, _, code), v in self.x.items():
            shift = inst.shift_of[code]
            if shift.is_night:
                per_person[(pid, "nights")].append(v)
            if shift.is_24h:
                per_person[(pid, "duties_24h")].append(v)
        for (pid, day), w in self.work.items():
            if w is not None and kinds[day] != "workday":
                per_person[(pid, "weekends" if kinds[day] == "weekend" else "holidays")].append(w)

        # Workload: days on duty, so nobody works three days while a peer works twelve.
        for (pid, _day), w in self.work.items():
            if w is not None:
                per_person[(pid, "workload")].append(w)

        terms: list[cp_model.LinearExpr] = list(self.penalties)
        for category, weight in FAIRNESS_WEIGHTS.items():
            for group in PeerGroup:
                counts: list[tuple[str, cp_model.LinearExpr]] = []
                for p in inst.people:
                    vs = per_person.get((p.member_id, category))
                    if peer_group(p) is group and vs:
                        carried = getattr(inst.carried.get(p.member_id, FairnessCounts()), category, 0)
                        counts.append((p.member_id, _sum(vs) + carried))
                if len(counts) < 2:
                    continue
                top = m.new_int_var(0, 10_000, f"max_{category}_{group}")
                low = m.new_int_var(0, 10_000, f"min_{category}_{group}")
                for pid, c in counts:
                    m.add(top >= c)
                    # Someone on leave counts pro rata (their count scaled up to a full month): they
                    # are neither pushed into extra nights to raise the minimum nor left idle.
                    free = days - away.get(pid, 0)
                    if free * 3 < days:
                        continue  # away most of the month: not held to the minimum at all
                    if free < days:
                        m.add(low * free <= c * days)
                    else:
                        m.add(low <= c)
                terms.append(weight * (top - low))
        # A re-solve keeps close to the current roster: every grid cell that changes costs.
        if inst.current:
            current_days = {(pid, day) for pid, day, _ in inst.current}
            missing = 0
            for cell in inst.current:
                kept = self.x.get(cell)
                if kept is None:
                    missing += 1
                else:
                    terms.append(CHANGE_WEIGHT * (1 - kept))
            for key, w in self.work.items():
                if key not in current_days and w is not None:
                    terms.append(CHANGE_WEIGHT * w)
            terms.append(_sum([]) + CHANGE_WEIGHT * missing)
        if terms:
            m.minimize(_sum(terms))

    def assignments(self, solver: cp_model.CpSolver) -> tuple[Assignment, ...]:
        out = [
            Assignment(pid, day, code, locked=(pid, day, code) in self.inst.locked)
            for (pid, day, code), v in self.x.items()
            if solver.boolean_value(v)
        ]
        return tuple(sorted(out, key=lambda a: (a.day, a.shift, a.member_id)))


def _sum(items: Sequence[cp_model.LinearExpr]) -> cp_model.LinearExpr:
    result: cp_model.LinearExpr = cp_model.LinearExpr.sum(list(items))
    return result


# --- running CP-SAT with progress and cancel --------------------------------------------------


class _Watch(cp_model.CpSolverSolutionCallback):
    """Reports each improving roster and the bound; stops the search when the clerk cancels.

    The callbacks fire only when something improves, so a small thread also looks at the cancel
    flag while CP-SAT searches in silence."""

    def __init__(
        self, solver: cp_model.CpSolver, progress: Progress | None, started: float, seconds: float
    ) -> None:
        super().__init__()
        self.solver = solver
        self.progress = progress
        self.started = started
        self.seconds = seconds
        self.first: float | None = None
        self.cancelled = False
        self.bound: float | None = None
        self._done = threading.Event()
        solver.best_bound_callback = self._on_bound

    def on_solution_callback(self) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.started
        self._report(f"已找到排班方案：目标值{self.objective_value:g}，下界{self.best_objective_bound:g}")
        if self.cancelled:
            self.stop_search()

    def _on_bound(self, bound: float) -> None:
        self.bound = bound
        self._report(f"正在求解：下界{bound:g}")
        if self.cancelled:
            self.solver.stop_search()

    def _report(self, text: str) -> None:
        total = max(1, int(self.seconds * 1000))
        done = min(total, int((time.perf_counter() - self.started) * 1000))
        try:
            step(self.progress, done, total, text)
        except Cancelled:
            self.cancelled = True

    def _poll(self) -> None:
        while not self._done.wait(0.05):
            if self.progress is not None and self.progress.cancelled:
                self.cancelled = True
                self.solver.stop_search()
                return

    def __enter__(self) -> _Watch:
        if self.progress is not None:
            threading.Thread(target=self._poll, name="roster-cancel-watch", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.solver.best_bound_callback = None


def _solver(
    seconds: float, seed: int | None, workers: int, stop_at_first: bool = False, cores: bool = False
) -> cp_model.CpSolver:
    """``cores``: the solve must report infeasibility cores (interleaved search does not)."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, seconds)
    solver.parameters.num_workers = max(1, workers)
    if seed is not None:
        solver.parameters.random_seed = seed
    # Members of one category are interchangeable: detecting that symmetry cost more presolve time
    # than it saved on a 60-member month (first roster 0.9 s → 0.45 s, optimum reached sooner).
    solver.parameters.symmetry_level = 0
    if workers <= 1 and not cores:
        # A lone worker runs only the default search, which found no 60-member roster in 10 s;
        # interleaving the subsolvers (feasibility jump, LNS …) in one thread finds one in ~1.3 s.
        solver.parameters.interleave_search = True
    if stop_at_first:
        # No proof wanted: feasibility jump finds a first roster on the raw model in a fraction of
        # the presolve's time.
        solver.parameters.stop_after_first_solution = True
        solver.parameters.cp_model_presolve = False
    return solver


# --- the public entry point -------------------------------------------------------------------


def solve(
    people: Sequence[Person],
    shifts: Sequence[ShiftType],
    demands: Sequence[Demand],
    leaves: Sequence[Leave],
    rules: Rules | None = None,
    *,
    month: dt.date,
    previous: Iterable[Assignment] = (),
    locked: Iterable[Assignment] = (),
    current: Iterable[Assignment] = (),
    carried: Mapping[str, FairnessCounts] | None = None,
    calendar: HolidayCalendar | None = None,
    seconds: float = 10.0,
    seed: int | None = None,
    workers: int = 2,
    progress: Progress | None = None,
    stop_at_first: bool = False,
) -> SolveResult:
    """The month's roster (排班).

    ``previous``: the last days of the month before, read-only, for rest and consecutive days across
    the boundary. ``locked``: cells that must stay. ``current``: the roster being re-solved; the
    solver then changes as few cells as it can. ``carried``: last month's fairness counts.
    ``seconds`` limits each CP-SAT run; ``seed`` and ``workers`` make tests reproducible;
    ``stop_at_first`` returns the first lawful roster. Raises :class:`~app.errors.Cancelled` when
    ``progress`` is cancelled.
    """
    started = time.perf_counter()
    month = month.replace(day=1)
    roster = Roster(month)
    ids = {p.member_id for p in people}
    codes = {s.code for s in shifts}

    def cells(items: Iterable[Assignment]) -> frozenset[Cell]:
        return frozenset(
            (a.member_id, a.day, a.shift)
            for a in items
            if a.member_id in ids and a.shift in codes and roster.contains(a.day)
        )

    previous = tuple(a for a in previous if a.member_id in ids and a.shift in codes and a.day < month)
    current_cells = cells(current)
    inst = _Instance(
        people,
        shifts,
        demands,
        leaves,
        rules or Rules(),
        month,
        previous,
        cells(locked),
        current_cells,
        carried or {},
        calendar,
    )
    total = max(1, int(seconds * 1000))
    step(progress, 0, total, "正在检查各日可排人员…")
    capacity = tuple(capacity_check(people, shifts, [d for d in demands if roster.contains(d.day)], leaves))
    step(progress, 0, total, "正在建立排班模型…")
    strict = _Model(inst, _Mode.STRICT)
    solver = _solver(seconds, seed, workers, stop_at_first)
    with _Watch(solver, progress, started, seconds) as watch:
        status = solver.solve(strict.model, watch)
    if watch.cancelled:
        raise Cancelled("排班求解已取消。")

    def judged(assignments: tuple[Assignment, ...]) -> tuple[Violation, ...]:
        return tuple(
            check(Roster(month, assignments, previous), people, shifts, demands, leaves, inst.rules, calendar)
        )

    def changed(assignments: tuple[Assignment, ...]) -> tuple[tuple[str, dt.date], ...]:
        before: dict[tuple[str, dt.date], set[str]] = defaultdict(set)
        after: dict[tuple[str, dt.date], set[str]] = defaultdict(set)
        for pid, day, code in current_cells:
            before[(pid, day)].add(code)
        for a in assignments:
            after[(a.member_id, a.day)].add(a.shift)
        return tuple(sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)))

    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        found = strict.assignments(solver)
        return SolveResult(
            SolveStatus.OPTIMAL if status == cp_model.OPTIMAL else SolveStatus.FEASIBLE,
            month,
            found,
            solver.objective_value,
            solver.best_objective_bound,
            time.perf_counter() - started,
            watch.first,
            judged(found),
            capacity,
            changed=changed(found),
        )
    if status != cp_model.INFEASIBLE:
        if status == cp_model.MODEL_INVALID:
            raise RuntimeError(f"CP-SAT rejected the roster model: {strict.model.validate()}")
        return SolveResult(
            SolveStatus.TIMEOUT,
            month,
            (),
            None,
            None,
            time.perf_counter() - started,
            None,
            (),
            capacity,
            explanation=(f"{seconds:g}秒内未找到排班方案，也未能证明无解；可延长求解时间后重试。",),
        )

    # No lawful roster. Explain one conflict (a core of rule groups and days), let that day's
    # demand give way, and look again, until the rest of the month can be kept.
    step(progress, 0, total, "无法满足全部规则，正在分析冲突…")
    conflicts: list[Conflict] = []
    soft_days: set[dt.date] = set()
    best: tuple[Assignment, ...] = ()
    objective = bound = None
    explain_seconds = 0.0
    for _ in range(_MAX_CORES):
        explain_started = time.perf_counter()
        core = _explain(inst, soft_days, seconds, seed, workers)
        explain_seconds += time.perf_counter() - explain_started
        if not core:
            break
        conflicts += core
        soft_days |= {c.day for c in core if c.locked or set(c.rules) & _DEMAND_RULES}
        step(progress, 0, total, "正在生成尽量满足需求的排班…")
        relaxed = _Model(inst, _Mode.RELAXED, soft_days)
        solver = _solver(seconds, seed, workers)
        with _Watch(solver, progress, started, seconds) as watch:
            status = solver.solve(relaxed.model, watch)
        if watch.cancelled:
            raise Cancelled("排班求解已取消。")
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            best, objective, bound = (
                relaxed.assignments(solver),
                solver.objective_value,
                solver.best_objective_bound,
            )
            break
        if status != cp_model.INFEASIBLE:
            break
    if not best:  # conflicts not all found in time: let every day's demand give way
        relaxed = _Model(inst, _Mode.RELAXED)
        solver = _solver(seconds, seed, workers)
        with _Watch(solver, progress, started, seconds) as watch:
            status = solver.solve(relaxed.model, watch)
        if watch.cancelled:
            raise Cancelled("排班求解已取消。")
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            best, objective, bound = (
                relaxed.assignments(solver),
                solver.objective_value,
                solver.best_objective_bound,
            )
    ordered = tuple(sorted(conflicts, key=lambda c: c.day))
    return SolveResult(
        SolveStatus.INFEASIBLE,
        month,
        best,
        objective,
        bound,
        time.perf_counter() - started,
        None,
        judged(best) if best else (),
        capacity,
        explanation=_explanation_lines(inst, ordered),
        conflicts=ordered,
        changed=changed(best) if best else (),
        explain_seconds=explain_seconds,
    )


# --- explaining infeasibility -----------------------------------------------------------------


#: At most this many conflicts are explained one after another before every day's demand gives way.
_MAX_CORES = 8

#: An explanation names what the day needs before what stood in its way.
_DEMAND_RULES = frozenset(
    {Rule.HEADCOUNT, Rule.OVERSTAFFED, Rule.MIN_CERTIFIED, Rule.MIN_POLICE, Rule.LEADER}
)


def _explain(
    inst: _Instance, soft_days: Iterable[dt.date], seconds: float, seed: int | None, workers: int
) -> tuple[Conflict, ...]:
    """The rule groups and days of a small infeasible core, or () when the month is lawful apart from
    ``soft_days`` (or time ran out): solve with one assumption literal per (rule group, day), then
    shrink the core CP-SAT hands back until every member of it is needed."""
    explain = _Model(inst, _Mode.EXPLAIN, soft_days)
    literals = list(explain.assumption.items())
    group_of = {lit.index: key for key, lit in literals}
    deadline = time.perf_counter() + seconds

    def core_of(keys: list[Group]) -> list[Group] | None:
        """A core within ``keys``, or None when those groups alone are satisfiable (or time ran out)."""
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return None
        explain.model.clear_assumptions()
        explain.model.add_assumptions([explain.assumption[k] for k in keys])
        solver = _solver(remaining, seed, workers, cores=True)
        if solver.solve(explain.model) != cp_model.INFEASIBLE:
            return None
        found = {group_of[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in group_of}
        # An empty answer gives no information (not "no assumption needed"): keep them all.
        return [k for k in keys if k in found] or keys

    core = core_of([key for key, _ in literals])
    if core is None:
        return ()
    # CP-SAT's core need not be minimal; re-solving on it shrinks it, then drop one group at a time.
    while True:
        smaller = core_of(core)
        if smaller is None or len(smaller) >= len(core):
            break
        core = smaller
    if len(core) <= 24:
        i = 0
        while i < len(core):
            trial = core[:i] + core[i + 1 :]
            smaller = core_of(trial) if trial else None
            if smaller is not None:
                core = [k for k in core if k in set(smaller)]
            else:
                i += 1
    by_day: dict[dt.date, list[str]] = defaultdict(list)
    for rule, day in core:
        by_day[day].append(rule)
    order = {rule: (rule not in _DEMAND_RULES, i) for i, rule in enumerate(Rule)}
    out = []
    for day, groups in sorted(by_day.items()):
        rules = tuple(sorted((Rule(g) for g in groups if g != _LOCKED), key=order.__getitem__))
        out.append(Conflict(day, rules, locked=_LOCKED in groups))
    return tuple(out)


def _explanation_lines(inst: _Instance, conflicts: Sequence[Conflict]) -> tuple[str, ...]:
    limit = inst.rules.max_consecutive_days
    lines = []
    for c in conflicts:
        parts = []
        for rule in c.rules:
            text = RULE_LABELS[rule]
            if rule is Rule.MAX_CONSECUTIVE:
                text += f"（{day_label(c.day - dt.timedelta(days=limit))}至{day_label(c.day)}）"
            elif rule is Rule.MIN_DAYS_OFF:
                text += f"（{day_label(c.day - dt.timedelta(days=6))}至{day_label(c.day)}）"
            parts.append(text)
        if c.locked:
            parts.append(LOCKED_LABEL)
        lines.append(f"{inst.label(c.day)}：{'、'.join(parts)}")
    return tuple(lines)
