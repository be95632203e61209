"""The month roster printed and exported: the solved demo month as the 排班表 PDF (landscape, every
font embedded, “共 Y 页” true), the 值班安排表 with the names of a day's shift, and the workbook
whose grid, colours and fairness numbers are the sheet's own; and a month of 60 members that still
prints on two pages."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import replace

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from app.auth.service import authenticate
from app.calendar import DayInfo, national_day
from app.context import AppContext
from app.demo import fill_demo
from app.errors import ValidationError
from app.rosters.checker import Rule, Violation
from app.rosters.data import DEFAULT_SHIFT_TYPES, ChangeView, DemandView, RosterView, ShiftTypeView
from app.rosters.export import (
    CATEGORY_SHORT,
    TOTAL_COLUMNS,
    VIOLATIONS_HEADING,
    duty_table_pdf,
    roster_pdf,
    roster_xlsx,
)
from app.rosters.fairness import CATEGORY_NAMES, PEER_GROUP_LABELS, FairnessCounts, PeerGroup, day_kind
from app.rosters.model import Category
from app.rosters.month import solve_month
from app.rosters.sheet import Cell, DayColumn, MonthSheet, PersonRow, month_sheet
from db.models import Squad
from db.models.rosters import RosterStatus

MONTH = "2026-05"  # 劳动节 1–5 May, a make-up workday on Saturday 9 May, 31 days


# ---- reading a PDF back ------------------------------------------------------------------------


def texts(pdf: bytes) -> list[str]:
    return ["".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def unembedded_fonts(pdf: bytes) -> list[str]:
    """Every font of every page without an embedded font program (as tests/app/documents do)."""
    bad = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for key, ref in fonts.get_object().items():
            font = ref.get_object()
            for f in [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]:
                descriptor = f.get("/FontDescriptor")
                d = descriptor.get_object() if descriptor is not None else {}
                if not any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    bad.append(f"{key} {font.get('/BaseFont')}")
    return bad


def check_pages(pdf: bytes) -> list[str]:
    """The common checks: landscape A4, fonts embedded, every footer's “第 X 页 共 Y 页” true."""
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)
    assert round(float(box.width)) == 842 and round(float(box.height)) == 595
    assert unembedded_fonts(pdf) == []
    pages = texts(pdf)
    for n, text in enumerate(pages, 1):
        assert f"第{n}页共{len(pages)}页" in text
    return pages


# ---- the solved demo month ---------------------------------------------------------------------


@pytest.fixture
def solved(bare_ctx: AppContext) -> tuple[MonthSheet, str]:
    """The demo squad's May 2026, solved and saved as a draft; the sheet and the squad's name."""
    fill_demo(bare_ctx, today=dt.date(2026, 5, 15))
    admin = authenticate(bare_ctx, "admin", "squad2026")
    with bare_ctx.unit_of_work(admin, "排班") as s:
        solve_month(s, admin, MONTH, seconds=5, seed=1, save=True)
    with bare_ctx.read() as s:
        sheet = month_sheet(s, admin, MONTH)
        squad = s.get(Squad, bare_ctx.squad_id)
        assert squad is not None
        return sheet, squad.name


def test_the_solved_month_prints_as_roster_and_duty_table(solved: tuple[MonthSheet, str]) -> None:
    sheet, squad = solved
    assert sheet.cells and sheet.people
    pdf = roster_pdf(sheet, squad)
    pages = check_pages(pdf)
    assert len(pages) <= 2
    everything = "".join(pages)
    assert f"{squad}2026年5月排班表" in pages[0]
    assert "状态：草稿" in pages[0]
    person = next(p for p in sheet.people if sheet.worked_days(p.member_id))
    assert person.name in pages[0]
    day = next(d.day for d in sheet.days if sheet.cells.get((person.member_id, d.day)))
    assert sheet.cells[(person.member_id, day)][0].code in pages[0]
    assert "劳动" in pages[0] and "出勤天数" in pages[0]  # holiday header and the totals columns
    assert "制表：" in everything and "审核：" in everything
    assert "公平性统计" in everything and "早=早班08:00–16:00" in everything
    assert (VIOLATIONS_HEADING in everything) == bool(sheet.violations)

    duty = duty_table_pdf(sheet, squad)
    pages = check_pages(duty)
    assert len(pages) == 1  # the whole month on one sheet for the wall
    assert f"{squad}2026年5月值班安排表" in pages[0] and "带班领导" in pages[0]
    early = [
        p.name for p in sheet.people if any(c.code == "早" for c in sheet.cells.get((p.member_id, day), ()))
    ]
    assert early
    one_day = check_pages(duty_table_pdf(sheet, squad, day, day))[0]
    for name in early:
        assert name in pages[0] and name in one_day
    assert f"{day.month}月{day.day}日" in one_day

    week = duty_table_pdf(sheet, squad, dt.date(2026, 5, 4), dt.date(2026, 5, 10))
    text = check_pages(week)[0]
    assert "5月4日至5月10日" in text and "5月10日" in text and "5月11日" not in text
    with pytest.raises(ValidationError):
        duty_table_pdf(sheet, squad, dt.date(2026, 4, 30), dt.date(2026, 5, 3))
    with pytest.raises(ValidationError):
        duty_table_pdf(sheet, squad, dt.date(2026, 5, 9), dt.date(2026, 5, 3))


def test_the_solved_month_exports_to_excel(solved: tuple[MonthSheet, str]) -> None:
    sheet, squad = solved
    wb = load_workbook(io.BytesIO(roster_xlsx(sheet, squad)))
    assert wb.sheetnames == ["排班表", "值班安排", "公平性统计"]  # no changes: no 调班记录

    grid = wb["排班表"]
    assert grid["A1"].value == f"{squad}2026年5月排班表"
    assert grid.freeze_panes == "C6"
    names = [grid.cell(6 + i, 1).value for i in range(len(sheet.people))]
    assert names == [p.name for p in sheet.people]
    assert grid.cell(6 + len(sheet.people), 1).value != sheet.people[-1].name  # the headcount rows follow
    i, person = next((i, p) for i, p in enumerate(sheet.people) if sheet.worked_days(p.member_id))
    j, day = next((j, d.day) for j, d in enumerate(sheet.days) if sheet.cells.get((person.member_id, d.day)))
    code = sheet.cells[(person.member_id, day)][0].code
    cell = grid.cell(6 + i, 3 + j)
    assert cell.value == code
    shift = sheet.shift(code)
    assert shift is not None and cell.fill.fgColor.rgb.endswith(shift.colour.lstrip("#").upper())
    assert grid.cell(3, 3 + 31).value == "出勤天数"
    assert grid.cell(6 + i, 3 + 31).value == sheet.worked_days(person.member_id)
    assert grid.cell(5, 3).value == "劳动" and grid.cell(5, 3 + 8).value == "班"  # 1 May, 9 May

    duty = wb["值班安排"]
    assert duty.cell(3, 4).value.startswith("带班领导")
    assert duty.max_row == 3 + len(sheet.days)

    fair = wb["公平性统计"]
    keys = list(CATEGORY_NAMES)
    assert [fair.cell(3, 4 + 3 * k).value for k in range(len(keys))] == list(CATEGORY_NAMES.values())
    for n, p in enumerate(sheet.people):
        row = [fair.cell(5 + n, c).value for c in range(1, 4 + 3 * len(keys))]
        assert row[:3] == [p.name, p.category_label, PEER_GROUP_LABELS[p.group]]
        own, carried = sheet.counts[p.member_id], sheet.carried.get(p.member_id, FairnessCounts())
        for k, key in enumerate(keys):
            assert row[3 + 3 * k : 6 + 3 * k] == [
                getattr(own, key),
                getattr(carried, key),
                getattr(sheet.total(p.member_id), key),
            ]


# ---- a synthetic month of 60 -------------------------------------------------------------------


class _National:
    def info(self, day: dt.date) -> DayInfo:
        return national_day(day)


def _shift_views() -> tuple[ShiftTypeView, ...]:
    def clock(text: str) -> dt.time:
        h, m = (int(x) for x in text.split(":"))
        return dt.time(h % 24, m)

    return tuple(
        ShiftTypeView(
            s.code,
            s.code,
            s.name,
            clock(s.start),
            clock(s.end),
            s.start,
            s.end,
            float(s.hours or 8),
            s.is_night,
            s.is_24h,
            s.needs_police,
            s.colour,
            s.sort_order,
            True,
            1,
        )
        for s in DEFAULT_SHIFT_TYPES
    )


def big_sheet(members: int = 60) -> MonthSheet:
    """A month built directly from the sheet's dataclasses: 60 people, most of them on duty on
    most days, leave, locked cells, a shortage, violations and a change after publication."""
    first = dt.date(2026, 5, 1)
    days = tuple(
        DayColumn(first + dt.timedelta(days=i), day_kind(first + dt.timedelta(days=i), _National()), "")
        for i in range(31)
    )
    days = tuple(replace(d, name=national_day(d.day).name) for d in days)
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    names = [
        surnames[i % 20] + given[(i * 7) % 20] + ("" if i % 3 else given[(i * 3) % 20])
        for i in range(members)
    ]
    names[1], names[2] = "李鋆", "阿依古丽·买买提"  # a character only the fallback face has; a long name
    categories = (Category.CIVIL_SERVANT, Category.CAREER, Category.AUXILIARY, Category.POLICE)
    people = []
    for i, name in enumerate(names):
        category = categories[i % 4]
        group = {Category.POLICE: PeerGroup.POLICE, Category.AUXILIARY: PeerGroup.AUXILIARY}.get(
            category, PeerGroup.OFFICERS
        )
        people.append(PersonRow(f"m{i:02d}", name, "一中队", category, group, i % 10 == 0, frozenset()))
    shifts = _shift_views()
    codes = [s.code for s in shifts]
    cells: dict[tuple[str, dt.date], tuple[Cell, ...]] = {}
    leave: dict[tuple[str, dt.date], str] = {}
    for i, p in enumerate(people):
        for d in days:
            n = i + d.day.day
            if i % 7 == 3 and 10 <= d.day.day <= 14:
                leave[(p.member_id, d.day)] = ("年休假", "病假", "公差")[i % 3]
            elif n % 4:
                code = codes[n % len(codes)]
                cells[(p.member_id, d.day)] = (Cell(code, code, locked=n % 9 == 0),)
    hours = {p.member_id: 8.0 * sum(1 for (m, _d) in cells if m == p.member_id) for p in people}
    staffed: dict[tuple[dt.date, str], int] = {}
    for (_m, day), (cell,) in cells.items():
        staffed[(day, cell.code)] = staffed.get((day, cell.code), 0) + 1
    demands = tuple(DemandView(d.day, "早", "早", 9, 2, 0, False) for d in days)
    counts = {p.member_id: FairnessCounts(i % 5, i % 2, i % 6, i % 3) for i, p in enumerate(people)}
    carried = {p.member_id: FairnessCounts(1, 0, i % 2, 0) for i, p in enumerate(people)}
    published = dt.datetime(2026, 4, 28, 16, 30)
    roster = RosterView("r1", MONTH, RosterStatus.PUBLISHED, 2, "张队长", published, "", 3)
    changes = (
        ChangeView(
            "c1", 2, published + dt.timedelta(days=3), "内勤", "m05", names[5], days[3].day, "早", "", "病假"
        ),
    )
    violations = (
        Violation(Rule.HEADCOUNT, days[2].day, None, "早", "5月3日 早班 缺 1 人。"),
        Violation(Rule.MIN_REST, days[6].day, "m04", "夜", f"{names[4]} 5月7日 夜班后休息不足 11 小时。"),
    )
    return MonthSheet(
        month=MONTH,
        first=first,
        roster=roster,
        days=days,
        people=tuple(people),
        shifts=shifts,
        cells=cells,
        leave=leave,
        demands=demands,
        violations=violations,
        counts=counts,
        carried=carried,
        changes=changes,
        _hours=hours,
        _staffed=staffed,
    )


def test_sixty_members_print_on_two_pages() -> None:
    sheet = big_sheet(60)
    pages = check_pages(roster_pdf(sheet, "某街道综合行政执法队", published_note="自5月1日起执行"))
    assert len(pages) <= 2
    everything = "".join(pages)
    assert "已发布第2版（张队长，2026年4月28日），发布后调整1处" in pages[0]
    assert "自5月1日起执行" in pages[0]
    for p in sheet.people:
        assert p.name in everything, p.name
    assert pages[-1].count("五六日") >= 1  # the header row repeated on the last page
    assert VIOLATIONS_HEADING in everything and "休息不足" in everything
    assert "9/9" not in everything and re.search(r"\d/9", everything)  # 早班 short of its 9
    assert CATEGORY_SHORT[Category.AUXILIARY] in pages[0]

    duty = check_pages(duty_table_pdf(sheet, "某街道综合行政执法队"))
    assert "李鋆" in "".join(duty)


def test_sixty_members_export_to_four_sheets() -> None:
    sheet = big_sheet(60)
    wb = load_workbook(io.BytesIO(roster_xlsx(sheet, "某街道综合行政执法队")))
    assert wb.sheetnames == ["排班表", "值班安排", "公平性统计", "调班记录"]
    grid = wb["排班表"]
    assert [grid.cell(6 + i, 1).value for i in range(60)] == [p.name for p in sheet.people]
    assert grid.cell(6 + 1, 2).value == CATEGORY_SHORT[sheet.people[1].category]
    totals = [grid.cell(6, 3 + 31 + j).value for j in range(len(TOTAL_COLUMNS))]
    assert totals == [read(sheet, "m00") for _name, read in TOTAL_COLUMNS]
    locked = next(k for k, (c,) in sheet.cells.items() if c.locked)
    row, col = 6 + int(locked[0][1:]), 3 + locked[1].day - 1
    assert grid.cell(row, col).value == sheet.cells[locked][0].code and grid.cell(row, col).font.b
    on_leave = next(iter(sheet.leave))
    row, col = 6 + int(on_leave[0][1:]), 3 + on_leave[1].day - 1
    assert grid.cell(row, col).value == sheet.leave[on_leave][0]
    changes = wb["调班记录"]
    assert [changes.cell(4, c).value for c in (2, 5, 7, 8, 9)] == [
        "第2版",
        sheet.people[5].name,
        "早",
        "（休）",
        "病假",
    ]
