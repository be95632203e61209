"""Benchmark: the CP-SAT roster solver on a full squad month.

    python tests/benchmarks/bench_rosters.py [--seconds 10] [--workers 2] [--seed 1] [--month 2026-10]

Generates a realistic squad of 60 members — 6 leaders and 24 other certified officers (three of
them with a certificate running out mid-month), 20 auxiliaries and 10 police officers for the joint
patrols — 8 shift types (早班, 中班, 夜班, 24小时值班, 带班领导, 路面巡逻, 网格巡查, 联勤巡逻), a demand
for every shift and day (lighter at weekends and holidays, from the real 2026 calendar: October
has National Day and its make-up workdays), a dozen leaves, and last month's final week. Then reports:

* the time to the first lawful roster (``stop_at_first``), target ≤ 2 s on the project's 2-core machine;
* a ``--seconds`` solve: the objective reached and the solver's bound, with the time to first roster;
* a deliberately infeasible variant (on the 15th, the night shift wants more certified officers than
  are off leave): the time until the conflict is explained, target ≤ 5 s, the explanation, and the
  best-effort roster's shortages.

Every roster is passed through the checker. Not part of the normal test run: speed is reported,
never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

from app.calendar import WorkCalendar
from app.rosters.checker import check
from app.rosters.fairness import fairness_counts, fairness_summary
from app.rosters.model import Assignment, Category, Demand, Leave, Person, Roster, ShiftType
from app.rosters.solver import SolveResult, solve

T = dt.time

SHIFTS = [
    ShiftType("E", "早班", T(8), T(16)),
    ShiftType("M", "中班", T(12), T(20)),
    ShiftType("N", "夜班", T(16), T(0), is_night=True),
    ShiftType("D24", "24小时值班", T(8), T(8), is_24h=True),
    ShiftType("L", "带班领导", T(8), T(17)),
    ShiftType("R", "路面巡逻", T(9), T(17)),
    ShiftType("G", "网格巡查", T(8, 30), T(17, 30)),
    ShiftType("J", "联勤巡逻", T(18), T(2), is_night=True, needs_police=True),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌辉林鹏飞"


def month_days(month: dt.date) -> list[dt.date]:
    return Roster(month).days


def squad(month: dt.date, rng: random.Random) -> list[Person]:
    days = month_days(month)
    everyday = frozenset(days)
    people: list[Person] = []

    def name(i: int) -> str:
        return SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + ("" if i < 40 else GIVEN[i % 11])

    for i in range(60):
        member_id = f"m{i + 1:02d}"
        if i < 6:
            people.append(Person(member_id, name(i), Category.CIVIL_SERVANT, True, everyday))
        elif i < 30:
            certified = everyday
            if i in (10, 17, 25):  # a certificate running out mid-month
                last = days[0] + dt.timedelta(days=rng.randint(8, 20))
                certified = frozenset(d for d in days if d <= last)
            category = Category.CIVIL_SERVANT if i % 2 else Category.CAREER
            people.append(Person(member_id, name(i), category, False, certified))
        elif i < 50:
            people.append(Person(member_id, name(i), Category.AUXILIARY))
        else:
            people.append(Person(member_id, name(i), Category.POLICE))
    return people


def demand(month: dt.date, calendar: WorkCalendar) -> list[Demand]:
    out = []
    for day in month_days(month):
        workday = calendar.info(day).workday
        out += [
            Demand(day, "E", 4 if workday else 3, min_certified=2),
            Demand(day, "M", 4 if workday else 3, min_certified=2),
            Demand(day, "N", 3, min_certified=2),
            Demand(day, "D24", 1, min_certified=1),
            Demand(day, "L", 1, needs_leader=True),
            Demand(day, "R", 4 if workday else 2, min_certified=1),
            Demand(day, "G", 6 if workday else 3, min_certified=2),
            Demand(day, "J", 3 if workday else 2, min_police=1),
        ]
    return out


def leaves(people: list[Person], month: dt.date, rng: random.Random) -> list[Leave]:
    days = month_days(month)
    out = []
    for person in rng.sample(people, 12):
        start = rng.choice(days[:-3])
        length = rng.randint(1, 7)
        kind = rng.choice(["年休假", "病假", "事假", "婚假"])
        out.append(Leave(person.member_id, kind, start, min(days[-1], start + dt.timedelta(days=length - 1))))
    return out


def previous_week(people: list[Person], month: dt.date, rng: random.Random) -> list[Assignment]:
    """Last month's final week: each member worked some of its days."""
    out = []
    for person in people:
        for back in range(7, 0, -1):
            day = month - dt.timedelta(days=back)
            if rng.random() < 0.55:
                codes = ["J"] if person.category is Category.POLICE else ["E", "M", "N", "R", "G"]
                out.append(Assignment(person.member_id, day, rng.choice(codes)))
    # no one arrives with a run longer than the rules allow, nor a late shift before an early one
    return [a for a in out if a.day < month - dt.timedelta(days=1) or a.shift in ("E", "R", "G")]


def show(title: str, result: SolveResult, people: list[Person], calendar: WorkCalendar) -> None:
    first = f"{result.first_solution_seconds:.2f} s" if result.first_solution_seconds is not None else "—"
    objective = f"{result.objective:g}" if result.objective is not None else "—"
    bound = f"{result.bound:g}" if result.bound is not None else "—"
    print(f"{title}")
    print(f"  status {result.status.value}; first roster {first}; wall {result.wall_seconds:.2f} s")
    print(f"  objective {objective}; bound {bound}; cells {len(result.assignments)}")
    if result.assignments:
        counts = fairness_counts(Roster(result.month, result.assignments), people, SHIFTS, calendar)
        officers = {p.member_id for p in people if p.certified_days}
        summary = fairness_summary({k: v for k, v in counts.items() if k in officers})
        spread = ", ".join(f"{k} {v.minimum}–{v.maximum}" for k, v in summary.items())
        print(f"  certified officers' counts (min–max): {spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--month", default="2026-10")
    args = parser.parse_args()

    month = dt.date.fromisoformat(args.month + "-01")
    rng = random.Random(args.seed)
    calendar = WorkCalendar()
    people = squad(month, rng)
    needs = demand(month, calendar)
    away = leaves(people, month, rng)
    previous = previous_week(people, month, rng)
    print(
        f"{len(people)} members × {len(month_days(month))} days × {len(SHIFTS)} shift types; "
        f"{sum(d.headcount for d in needs)} cells of demand; {len(away)} leaves; "
        f"{len(previous)} cells of last month; {args.workers} workers, seed {args.seed}"
    )
    common = dict(month=month, previous=previous, calendar=calendar, seed=args.seed, workers=args.workers)

    def checked(result: SolveResult, demands: list[Demand], leave: list[Leave]) -> int:
        roster = Roster(month, result.assignments, tuple(previous))
        return len(check(roster, people, SHIFTS, demands, leave, calendar=calendar))

    started = time.perf_counter()
    first = solve(people, SHIFTS, needs, away, seconds=args.seconds, stop_at_first=True, **common)  # type: ignore[arg-type]
    show("First lawful roster (stop_at_first), target ≤ 2 s:", first, people, calendar)
    print(f"  checker violations {checked(first, needs, away)}; call {time.perf_counter() - started:.2f} s")

    full = solve(people, SHIFTS, needs, away, seconds=args.seconds, **common)  # type: ignore[arg-type]
    show(f"Optimising for {args.seconds:g} s:", full, people, calendar)
    print(f"  checker violations {checked(full, needs, away)}")

    # Infeasible: on the 15th the night wants 5 certified officers; all but 4 of them are on leave.
    day = month + dt.timedelta(days=14)
    broken = [Demand(d.day, d.shift, 5, 5) if (d.day, d.shift) == (day, "N") else d for d in needs]
    certified = [p for p in people if p.certified_on(day) and not p.is_leader]
    sick = [Leave(p.member_id, "病假", day, day) for p in certified[4:]]
    bad = solve(people, SHIFTS, broken, away + sick, seconds=args.seconds, **common)  # type: ignore[arg-type]
    show("Infeasible variant:", bad, people, calendar)
    explained = f"{bad.explain_seconds:.2f} s" if bad.explain_seconds is not None else "—"
    print(f"  explanation in {explained} (target ≤ 5 s):")
    for line in bad.explanation:
        print(f"    {line}")
    print("  capacity check:")
    for v in bad.capacity[:5]:
        print(f"    {v.message}")
    print(f"  best-effort roster's shortages ({len(bad.violations)}):")
    for v in bad.violations[:5]:
        print(f"    {v.message}")


if __name__ == "__main__":
    main()
