"""Roster data services on a real SQLite file: shift types, demand, leave, the monthly roster with
publication and recorded changes, and ``roster_inputs`` on the demo month."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.auth.roles import SYSTEM, Actor, Role
from app.certificates import CertificateInput, add_certificate
from app.context import AppContext
from app.demo import fill_demo
from app.errors import PermissionDenied, ValidationError
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, create_member
from app.rosters.data import (
    DEFAULT_SHIFT_TYPES,
    DemandInput,
    LeaveInput,
    ShiftTypeInput,
    add_leave,
    copy_week_to_month,
    create_shift_type,
    ensure_default_shift_types,
    get_or_create_roster,
    get_roster,
    list_assignments,
    list_changes,
    list_demand,
    list_leaves,
    list_shift_types,
    month_bounds,
    month_of,
    publish_roster,
    remove_leave,
    roster_inputs,
    save_solution,
    set_cell,
    set_demand,
    set_locked,
    update_shift_type,
)
from db.models import RosterChange
from db.models.personnel import CertificateKind, MemberStatus, StaffCategory
from db.models.rosters import LeaveKind, RosterStatus

CLERK = Actor("clerk-user", "neiqin", "内勤甲", Role.CLERK)
LEADER = Actor("leader-user", "duizhang", "队长甲", Role.LEADER)
OFFICER = Actor("officer-user", "duiyuan", "队员甲", Role.OFFICER)
T = dt.datetime(2026, 2, 27, 17, 0)


def _id_number(serial: int) -> str:
    first17 = f"44010619850101{serial:03d}"
    return first17 + check_digit(first17)


def _member(
    ctx: AppContext, name: str, serial: int, category: StaffCategory = StaffCategory.CIVIL_SERVANT
) -> str:
    with ctx.unit_of_work(SYSTEM) as s:
        return create_member(s, SYSTEM, MemberInput(name, _id_number(serial), category)).id


def _shifts(ctx: AppContext) -> dict[str, str]:
    with ctx.unit_of_work(CLERK) as s:
        return {t.code: t.id for t in ensure_default_shift_types(s, CLERK)}


# ---- shift types --------------------------------------------------------------------------------


def test_default_shift_types_are_created_once(ctx: AppContext) -> None:
    with ctx.read() as s:
        assert list_shift_types(s, OFFICER) == []
    first = _shifts(ctx)
    assert _shifts(ctx) == first
    with ctx.read() as s:
        types = list_shift_types(s, OFFICER)
    assert [t.name for t in types] == [d.name for d in DEFAULT_SHIFT_TYPES]
    by_name = {t.name: t for t in types}
    assert by_name["24小时值班"].is_24h and by_name["24小时值班"].hours == 24
    assert by_name["夜班"].is_night and by_name["夜班"].start == dt.time(0, 0)
    assert by_name["中班"].end_text == "24:00" and by_name["中班"].end == dt.time(0, 0)
    assert by_name["中班"].hours == 8 and not by_name["中班"].is_night
    assert by_name["联勤巡逻"].needs_police
    assert by_name["带班领导"].hours == 8


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (ShiftTypeInput("", "早班", "08:00", "16:00"), "code", "代码"),
        (ShiftTypeInput("X", "", "08:00", "16:00"), "name", "名称"),
        (ShiftTypeInput("X", "某班", "25:00", "16:00"), "start", "25:00"),
        (ShiftTypeInput("X", "某班", "08:00", "8点"), "end", "8点"),
        (ShiftTypeInput("X", "某班", "08:00", "08:00"), "end", "24小时值班"),
        (ShiftTypeInput("X", "某班", "08:00", "20:00", is_24h=True), "end", "次日 08:00"),
        (ShiftTypeInput("X", "某班", "08:00", "16:00", is_night=True), "is_night", "跨越午夜"),
        (ShiftTypeInput("X", "某班", "22:00", "06:00"), "is_night", "应标为夜班"),
        (ShiftTypeInput("X", "某班", "08:00", "08:00", is_24h=True, is_night=True), "is_night", "单独统计"),
        (ShiftTypeInput("X", "某班", "08:00", "12:00", hours=5), "hours", "4 小时"),
        (ShiftTypeInput("X", "某班", "08:00", "12:00", colour="red"), "colour", "#RRGGBB"),
    ],
)
def test_shift_type_validation(ctx: AppContext, data: ShiftTypeInput, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as err, ctx.unit_of_work(CLERK) as s:
        create_shift_type(s, CLERK, data)
    assert err.value.field == field and words in err.value.message


def test_create_and_update_shift_type(ctx: AppContext) -> None:
    _shifts(ctx)
    with ctx.unit_of_work(CLERK) as s:
        made = create_shift_type(s, CLERK, ShiftTypeInput("晚", "晚班", "18:00", "02:00", is_night=True))
    assert made.hours == 8 and made.colour == "#FFFFFF"
    with pytest.raises(ValidationError, match="已被“早班”使用"), ctx.unit_of_work(CLERK) as s:
        create_shift_type(s, CLERK, ShiftTypeInput("早", "早早班", "07:00", "15:00"))
    with ctx.unit_of_work(CLERK) as s:
        edited = update_shift_type(
            s,
            CLERK,
            made.id,
            ShiftTypeInput("晚", "晚班", "18:00", "02:00", 7.5, True, active=False),
            made.version,
        )
    assert edited.hours == 7.5 and not edited.active and edited.version == made.version + 1
    with pytest.raises(ValidationError, match="刚被他人修改"), ctx.unit_of_work(CLERK) as s:
        update_shift_type(s, CLERK, made.id, ShiftTypeInput("晚", "晚班", "18:00", "02:00", is_night=True), 1)
    with ctx.read() as s:
        assert "晚" not in {t.code for t in list_shift_types(s, CLERK)}
        assert "晚" in {t.code for t in list_shift_types(s, CLERK, include_inactive=True)}
    with pytest.raises(PermissionDenied), ctx.unit_of_work(OFFICER) as s:
        create_shift_type(s, OFFICER, ShiftTypeInput("新", "新班", "08:00", "12:00"))


# ---- demand -------------------------------------------------------------------------------------


def test_demand_for_a_range_a_month_and_a_copied_week(ctx: AppContext) -> None:
    ids = _shifts(ctx)
    march = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    with ctx.unit_of_work(CLERK) as s:
        assert set_demand(s, CLERK, ids["早"], *march, DemandInput(3, min_certified=2)) == 31
        # joint patrol on weekdays only: 22 weekdays in March 2026
        assert set_demand(s, CLERK, ids["联"], *march, DemandInput(2, min_police=1), range(5)) == 22
        set_demand(s, CLERK, ids["早"], dt.date(2026, 3, 8), dt.date(2026, 3, 8), DemandInput(0))
        set_demand(
            s, CLERK, ids["领"], dt.date(2026, 2, 28), dt.date(2026, 3, 1), DemandInput(1, needs_leader=True)
        )
    with ctx.read() as s:
        demand = list_demand(s, OFFICER, "2026-03")
    early = {d.day: d for d in demand if d.shift_code == "早"}
    assert len(early) == 30 and dt.date(2026, 3, 8) not in early
    assert early[dt.date(2026, 3, 2)].min_certified == 2
    assert {d.day.weekday() for d in demand if d.shift_code == "联"} == set(range(5))
    assert [d.day for d in demand if d.shift_code == "领"] == [dt.date(2026, 3, 1)]

    # setting a cleared day again revives its row (the unique key keeps tombstones)
    with ctx.unit_of_work(CLERK) as s:
        set_demand(s, CLERK, ids["早"], dt.date(2026, 3, 8), dt.date(2026, 3, 8), DemandInput(4, 1))
    with ctx.read() as s:
        assert [d.headcount for d in list_demand(s, CLERK, "2026-03") if d.day == dt.date(2026, 3, 8)] == [4]

    # copy the week of 9 March over the month: the 8 March (a Sunday) gets the Sunday of that week
    with ctx.unit_of_work(CLERK) as s:
        set_demand(s, CLERK, ids["夜"], dt.date(2026, 3, 9), dt.date(2026, 3, 9), DemandInput(2, 1))
        assert copy_week_to_month(s, CLERK, "2026-03", dt.date(2026, 3, 9)) == 24
    with ctx.read() as s:
        demand = list_demand(s, CLERK, "2026-03")
    nights = sorted(d.day for d in demand if d.shift_code == "夜")
    assert nights == [dt.date(2026, 3, d) for d in (2, 9, 16, 23, 30)]
    assert {d.headcount for d in demand if d.shift_code == "早"} == {3}
    assert len([d for d in demand if d.shift_code == "领"]) == 0  # none in the pattern week


@pytest.mark.parametrize(
    ("code", "data", "words"),
    [
        ("早", DemandInput(2, min_certified=2, min_police=1), "超出总人数"),
        ("联", DemandInput(2, min_certified=1), "至少需要 1 名公安民警"),
        ("早", DemandInput(-1), "负数"),
    ],
)
def test_demand_refusals(ctx: AppContext, code: str, data: DemandInput, words: str) -> None:
    ids = _shifts(ctx)
    with pytest.raises(ValidationError, match=words), ctx.unit_of_work(CLERK) as s:
        set_demand(s, CLERK, ids[code], dt.date(2026, 3, 1), dt.date(2026, 3, 2), data)
    with pytest.raises(ValidationError, match="早于开始日期"), ctx.unit_of_work(CLERK) as s:
        set_demand(s, CLERK, ids["早"], dt.date(2026, 3, 2), dt.date(2026, 3, 1), DemandInput(1))
    with pytest.raises(ValidationError, match="还没有设置需求"), ctx.unit_of_work(CLERK) as s:
        copy_week_to_month(s, CLERK, "2026-03", dt.date(2026, 3, 2))
    with pytest.raises(ValidationError, match="格式不对"), ctx.read() as s:
        list_demand(s, CLERK, "2026-13")


# ---- leave --------------------------------------------------------------------------------------


def test_leave_add_list_overlap_remove(ctx: AppContext) -> None:
    wang, li = _member(ctx, "王建国", 1), _member(ctx, "李芳", 2)
    with ctx.unit_of_work(CLERK) as s:
        annual = add_leave(
            s, CLERK, LeaveInput(wang, LeaveKind.ANNUAL, dt.date(2026, 2, 26), dt.date(2026, 3, 3))
        )
        add_leave(
            s, CLERK, LeaveInput(li, LeaveKind.SICK, dt.date(2026, 3, 2), dt.date(2026, 3, 4), " 发热 ")
        )
        add_leave(s, CLERK, LeaveInput(wang, LeaveKind.BUSINESS, dt.date(2026, 4, 1), dt.date(2026, 4, 2)))
    with ctx.read() as s:
        march = list_leaves(s, OFFICER, "2026-03")
    assert [(v.member_name, v.kind_label, v.start) for v in march] == [
        ("王建国", "年休假", dt.date(2026, 2, 26)),
        ("李芳", "病假", dt.date(2026, 3, 2)),
    ]
    assert march[1].note == "发热"
    with pytest.raises(ValidationError) as err, ctx.unit_of_work(CLERK) as s:
        add_leave(s, CLERK, LeaveInput(wang, LeaveKind.PERSONAL, dt.date(2026, 3, 3), dt.date(2026, 3, 5)))
    assert err.value.message == (
        "王建国在2月26日至3月3日已登记年休假，与本次事假（3月3日至3月5日）重叠，请先修改或删除原记录。"
    )
    with pytest.raises(ValidationError, match="早于开始日期"), ctx.unit_of_work(CLERK) as s:
        add_leave(s, CLERK, LeaveInput(li, LeaveKind.PERSONAL, dt.date(2026, 3, 9), dt.date(2026, 3, 8)))
    with pytest.raises(PermissionDenied), ctx.unit_of_work(OFFICER) as s:
        add_leave(s, OFFICER, LeaveInput(li, LeaveKind.PERSONAL, dt.date(2026, 3, 9), dt.date(2026, 3, 9)))
    with ctx.unit_of_work(CLERK) as s:
        remove_leave(s, CLERK, annual.id)
        add_leave(s, CLERK, LeaveInput(wang, LeaveKind.PERSONAL, dt.date(2026, 3, 3), dt.date(2026, 3, 5)))
    with ctx.read() as s:
        assert [v.kind for v in list_leaves(s, CLERK, "2026-03")] == [LeaveKind.SICK, LeaveKind.PERSONAL]


# ---- the roster, publication and later changes --------------------------------------------------


def test_roster_cells_publish_and_recorded_changes(ctx: AppContext) -> None:
    ids = _shifts(ctx)
    wang, li = _member(ctx, "王建国", 1), _member(ctx, "李芳", 2)
    d1, d2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    with ctx.unit_of_work(CLERK) as s:
        roster = get_or_create_roster(s, CLERK, "2026-03")
        assert get_or_create_roster(s, CLERK, "2026-03").id == roster.id
        set_cell(s, CLERK, roster.id, wang, d1, ids["早"])
        set_cell(s, CLERK, roster.id, wang, d1, ids["中"], locked=True)  # replaces the day
        set_cell(s, CLERK, roster.id, li, d1, ids["夜"])
        set_cell(s, CLERK, roster.id, li, d2, ids["早"])
        set_cell(s, CLERK, roster.id, li, d2, None)  # cleared again
    assert roster.status is RosterStatus.DRAFT and roster.published_version == 0
    with ctx.read() as s:
        cells = list_assignments(s, OFFICER, roster.id)
    assert [
        (c.member_id, c.day, c.shift_code, c.locked) for c in sorted(cells, key=lambda c: c.shift_code)
    ] == [
        (wang, d1, "中", True),
        (li, d1, "夜", False),
    ]
    with pytest.raises(ValidationError, match="不在 2026-03"), ctx.unit_of_work(CLERK) as s:
        set_cell(s, CLERK, roster.id, wang, dt.date(2026, 4, 1), ids["早"])
    with pytest.raises(PermissionDenied), ctx.unit_of_work(CLERK) as s:
        publish_roster(s, CLERK, roster.id)
    with pytest.raises(PermissionDenied), ctx.unit_of_work(LEADER) as s:
        set_cell(s, LEADER, roster.id, wang, d2, ids["早"])

    with ctx.unit_of_work(LEADER) as s:
        published = publish_roster(s, LEADER, roster.id, now=T)
    assert (published.status, published.published_version) == (RosterStatus.PUBLISHED, 1)
    assert (published.published_by_name, published.published_at) == ("队长甲", T)

    # after publication: a reason is required, and the change is recorded with before and after
    with pytest.raises(ValidationError, match="须填写调班原因") as err, ctx.unit_of_work(CLERK) as s:
        set_cell(s, CLERK, roster.id, li, d1, ids["早"])
    assert err.value.field == "reason"
    when = dt.datetime(2026, 3, 1, 9, 30)
    with ctx.unit_of_work(CLERK) as s:
        set_cell(s, CLERK, roster.id, li, d1, ids["早"], reason="李芳家中有事，与王建国对调", now=when)
        set_cell(s, CLERK, roster.id, li, d1, ids["早"], locked=True, reason="锁定")  # no shift change
        set_locked(s, CLERK, roster.id, wang, d1, False)
    with ctx.read() as s:
        changes = list_changes(s, OFFICER, roster.id)
        assert s.scalar(select(func.count()).select_from(RosterChange)) == 1
        cells = {(c.member_id, c.day): c for c in list_assignments(s, CLERK, roster.id)}
    assert [
        (c.member_name, c.day, c.before_code, c.after_code, c.changed_by_name, c.changed_at) for c in changes
    ] == [("李芳", d1, "夜", "早", "内勤甲", when)]
    assert changes[0].reason == "李芳家中有事，与王建国对调" and changes[0].published_version == 1
    assert cells[(li, d1)].locked and not cells[(wang, d1)].locked

    with ctx.unit_of_work(LEADER) as s:
        again = publish_roster(s, LEADER, roster.id)
    assert again.published_version == 2
    with ctx.read() as s:
        assert get_roster(s, OFFICER, "2026-03") == again
        assert get_roster(s, OFFICER, "2026-04") is None


def test_save_solution_keeps_locked_days(ctx: AppContext) -> None:
    ids = _shifts(ctx)
    wang, li = _member(ctx, "王建国", 1), _member(ctx, "李芳", 2)
    d1, d2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    with ctx.unit_of_work(CLERK) as s:
        roster = get_or_create_roster(s, CLERK, "2026-03")
        set_cell(s, CLERK, roster.id, wang, d1, ids["24"], locked=True)
        set_cell(s, CLERK, roster.id, li, d2, ids["夜"])
        changed = save_solution(
            s, CLERK, roster.id, [(wang, d1, ids["早"]), (wang, d2, ids["中"]), (li, d1, ids["早"])]
        )
    assert changed == 3  # wang d2 set, li d1 set, li d2 cleared; wang d1 is locked
    with ctx.read() as s:
        cells = {(c.member_id, c.day): c.shift_code for c in list_assignments(s, CLERK, roster.id)}
    assert cells == {(wang, d1): "24", (wang, d2): "中", (li, d1): "早"}
    with pytest.raises(ValidationError, match="两个班次"), ctx.unit_of_work(CLERK) as s:
        save_solution(s, CLERK, roster.id, [(li, d1, ids["早"]), (li, d1, ids["中"])])


def test_publishing_an_empty_roster_is_refused(ctx: AppContext) -> None:
    with ctx.unit_of_work(CLERK) as s:
        roster = get_or_create_roster(s, CLERK, "2026-03")
    with pytest.raises(ValidationError, match="还是空的"), ctx.unit_of_work(LEADER) as s:
        publish_roster(s, LEADER, roster.id)


# ---- inputs of the month ------------------------------------------------------------------------


def test_roster_inputs_on_the_demo_month(bare_ctx: AppContext) -> None:
    today = dt.date.today()
    fill_demo(bare_ctx, today=today)
    month = month_of(today)
    first, last = month_bounds(month)
    mid = first + dt.timedelta(days=13)
    with bare_ctx.unit_of_work(SYSTEM) as s:
        expiring = create_member(
            s,
            SYSTEM,
            MemberInput("周到期", _id_number(900), StaffCategory.CIVIL_SERVANT, position="副中队长"),
        ).id
        add_certificate(
            s,
            SYSTEM,
            CertificateInput(
                expiring,
                CertificateKind.ENFORCEMENT,
                "粤99990001",
                valid_from=dt.date(2020, 1, 1),
                valid_to=mid,
            ),
            today=today,
        )
        left = create_member(
            s,
            SYSTEM,
            MemberInput("吴离岗", _id_number(901), StaffCategory.CIVIL_SERVANT, status=MemberStatus.LEFT),
        ).id
    with bare_ctx.read() as s:
        inputs = roster_inputs(s, SYSTEM, month, today=today)
    people = {p.member_id: p for p in inputs.people}
    assert (inputs.first, inputs.last) == (first, last) and len(inputs.calendar) == last.day
    assert left not in people and 35 <= len(people) <= 42
    assert people[expiring].certified_days == frozenset(
        first + dt.timedelta(days=i) for i in range((mid - first).days + 1)
    )
    assert people[expiring].is_leader
    categories = {p.category for p in inputs.people}
    assert {StaffCategory.POLICE, StaffCategory.AUXILIARY} <= categories
    assert all(not p.certified_days for p in inputs.people if p.category is StaffCategory.POLICE)
    assert (
        sum(
            1
            for p in inputs.people
            if p.certified_days == frozenset(inputs.calendar[i].day for i in range(last.day))
        )
        >= 12
    )
    assert sum(p.is_leader for p in inputs.people) >= 3
    # the demo month's demand and leave
    codes = {t.code for t in inputs.shift_types}
    assert {"早", "中", "夜", "24", "领", "巡", "网", "联"} == codes
    assert {d.shift_code for d in inputs.demands} == {"早", "中", "夜", "联", "领"}
    assert len([d for d in inputs.demands if d.shift_code == "领"]) == last.day
    assert all(d.needs_leader for d in inputs.demands if d.shift_code == "领")
    assert all(d.day.weekday() < 5 and d.min_police == 1 for d in inputs.demands if d.shift_code == "联")
    assert len(inputs.leaves) >= 3 and all(v.member_id in people for v in inputs.leaves)
    assert inputs.roster is None and inputs.assignments == ()
    # the demo squad can cover a day: enough people, certified ones and leaders
    need = max(
        sum(d.headcount for d in inputs.demands if d.day == day)
        for day in (first + dt.timedelta(days=i) for i in range(last.day))
    )
    assert need * 7 <= len(people) * 5
