"""Printing and exporting the month roster (排班表打印与导出): the month grid as an A4 landscape PDF
(排班表), the duty table that is pinned to the wall (值班安排表), and the same month as an Excel
workbook for the clerk's own bookkeeping.

Everything is drawn from one :class:`~app.rosters.sheet.MonthSheet`, so the printout says what the
grid on screen says — the checker's verdict included. The PDFs use the enforcement documents' faces
(``app.documents.fonts``: the system's 仿宋 / 黑体 or the bundled ones, all embedded), with the same
per-character fallback, so a rare character in a name is drawn by the fallback face rather than
printed as a box.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.documents.fonts import Face, FontSet, font_set
from app.documents.render import PAINT_LOCK, TextMeasure
from app.errors import ValidationError
from app.rosters.data import ShiftTypeView, day_text, month_title
from app.rosters.fairness import CATEGORY_NAMES, PEER_GROUP_LABELS, FairnessCounts
from app.rosters.model import Category
from app.rosters.sheet import DayColumn, MonthSheet

#: The shift code of 带班领导 duty: the duty table gives it a column of its own, first.
LEADER_CODE: Final = "领"

#: Staff categories as the narrow 类别 column prints them.
CATEGORY_SHORT: Final[dict[Category, str]] = {
    Category.CIVIL_SERVANT: "公务员",
    Category.CAREER: "参公",
    Category.AUXILIARY: "辅助",
    Category.POLICE: "民警",
}

#: The per-member totals to the right of the grid: header, and how the value is read.
TOTAL_COLUMNS: Final[tuple[tuple[str, Callable[[MonthSheet, str], float]], ...]] = (
    ("出勤天数", lambda s, m: s.worked_days(m)),
    ("工时", lambda s, m: s.hours(m)),
    ("夜班", lambda s, m: s.counts.get(m, FairnessCounts()).nights),
    ("24h", lambda s, m: s.counts.get(m, FairnessCounts()).duties_24h),
    ("周末", lambda s, m: s.counts.get(m, FairnessCounts()).weekends),
    ("节假日", lambda s, m: s.counts.get(m, FairnessCounts()).holidays),
)

#: Who drew the table up and who checked it sign at its end.
SIGNATURES: Final = ("制表", "审核")
SIGNATURE: Final = "　　　　　　　　".join(f"{w}：" for w in SIGNATURES) + "　　　　　　　　"
VIOLATIONS_HEADING: Final = "未满足的排班规则"
MAKEUP_MARK: Final = "班"

# Tints shared by the PDF and the workbook (RRGGBB).
HEADER_TINT: Final = "EDEDED"
WEEKEND_HEAD, WEEKEND_TINT = "D9D9D9", "F2F2F2"
HOLIDAY_HEAD, HOLIDAY_TINT = "F4CCCC", "FBE9E9"
LEAVE_TEXT: Final = "7F7F7F"
ALERT_TEXT: Final = "C00000"


# ---- what the grid says, shared by the PDF and the workbook ---------------------------------


@dataclass(frozen=True)
class _Mark:
    """One member-day of the grid."""

    codes: str  # "早", "早/联" …; "" when not on duty
    colour: str  # RRGGBB of the (first) shift, "" for none
    leave: str  # the leave kind's mark (年, 病 …) when on leave and not on duty
    locked: bool
    flagged: bool  # the checker found something wrong with this cell


def _flagged(sheet: MonthSheet) -> frozenset[tuple[str, dt.date]]:
    """The member-days the checker found fault with (looked up once, not per cell)."""
    return frozenset((v.member_id, v.day) for v in sheet.violations if v.member_id)


def _mark(sheet: MonthSheet, member_id: str, day: dt.date, faults: frozenset[tuple[str, dt.date]]) -> _Mark:
    cells = sheet.cells.get((member_id, day), ())
    leave = sheet.leave.get((member_id, day), "")
    flagged = (member_id, day) in faults
    if cells:
        shift = sheet.shift(cells[0].code)
        colour = shift.colour.lstrip("#").upper() if shift else ""
        codes = "/".join(c.code for c in cells)
        return _Mark(codes, colour, "", any(c.locked for c in cells), flagged)
    return _Mark("", "", leave_mark(leave) if leave else "", False, flagged)


def leave_mark(kind_label: str) -> str:
    """What a day of leave shows in the grid: the first character of its kind (年, 病, 事 …)."""
    return "休" if not kind_label or kind_label == "其他" else kind_label[0]


def day_mark(day: DayColumn) -> str:
    """The third header line of a day: the holiday abbreviated (劳动, 国庆 …) or 班 on a make-up workday."""
    if day.is_makeup_workday:
        return MAKEUP_MARK
    if day.kind == "holiday" and day.name:
        return day.name.removesuffix("节")[:2]
    return ""


def _tints(day: DayColumn) -> tuple[str, str]:
    """Header and body tint of a day's column ("" for none)."""
    if day.kind == "holiday":
        return HOLIDAY_HEAD, HOLIDAY_TINT
    if day.kind == "weekend":
        return WEEKEND_HEAD, WEEKEND_TINT
    return "", ""


def _number(value: float) -> str:
    return f"{value:g}"


def _date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def status_text(sheet: MonthSheet) -> str:
    """草稿 / 已发布第N版（publisher, date）, with the edits made since publication."""
    roster = sheet.roster
    if roster is None or not sheet.published:
        return "草稿"
    text = f"已发布第{roster.published_version}版"
    who = [roster.published_by_name] if roster.published_by_name else []
    if roster.published_at is not None:
        who.append(_date_text(roster.published_at.date()))
    if who:
        text += f"（{'，'.join(who)}）"
    later = [c for c in sheet.changes if roster.published_at is None or c.changed_at > roster.published_at]
    if later:
        text += f"，发布后调整 {len(later)} 处"
    return text


@dataclass(frozen=True)
class _DayTotal:
    text: str
    short: bool


def _day_totals(sheet: MonthSheet) -> list[tuple[str, list[_DayTotal]]]:
    """Per shift with demand or anyone on it: each day's headcount, ``2/3`` where it differs from
    the demand; then the number of people on duty each day."""
    rows: list[tuple[str, list[_DayTotal]]] = []
    for shift in sheet.shifts:
        values = []
        for d in sheet.days:
            staffed, needed = sheet.staffed(d.day, shift.code), sheet.needed(d.day, shift.code)
            if needed and staffed != needed:
                values.append(_DayTotal(f"{staffed}/{needed}", staffed < needed))
            else:
                values.append(_DayTotal(str(staffed) if staffed else "", False))
        if any(v.text for v in values):
            rows.append((shift.name, values))
    on_duty: dict[dt.date, int] = defaultdict(int)
    for (_member, day), cells in sheet.cells.items():
        if cells:
            on_duty[day] += 1
    rows.append(("在岗人数", [_DayTotal(str(on_duty.get(d.day, 0) or ""), False) for d in sheet.days]))
    return rows


def _legend(sheet: MonthSheet) -> str:
    return "；".join(f"{s.code} = {s.name} {s.start_text}–{s.end_text}" for s in sheet.shifts)


def _duty_shifts(sheet: MonthSheet) -> list[ShiftTypeView]:
    """The duty table's columns: 带班领导 first when the shift exists, then every shift with anyone
    on it this month, in display order."""
    used = {c.code for cells in sheet.cells.values() for c in cells}
    leader = [s for s in sheet.shifts if s.code == LEADER_CODE]
    return leader + [s for s in sheet.shifts if s.code in used and s.code != LEADER_CODE]


def _names_on(sheet: MonthSheet) -> dict[tuple[dt.date, str], list[str]]:
    """(day, shift code) → names on it, in the grid's member order."""
    out: dict[tuple[dt.date, str], list[str]] = defaultdict(list)
    for p in sheet.people:
        for d in sheet.days:
            for c in sheet.cells.get((p.member_id, d.day), ()):
                out[(d.day, c.code)].append(p.name)
    return out


def _span(sheet: MonthSheet, day_from: dt.date | None, day_to: dt.date | None) -> list[DayColumn]:
    first, last = sheet.days[0].day, sheet.days[-1].day
    start, end = day_from or first, day_to or last
    if start > end:
        raise ValidationError(f"起始日期 {day_text(start)} 晚于结束日期 {day_text(end)}。", field="day_from")
    if start < first or end > last:
        raise ValidationError(
            f"值班安排表只能打印本月（{day_text(first)}至{day_text(last)}）内的日期。", field="day_from"
        )
    return [d for d in sheet.days if start <= d.day <= end]


def _shift_heading(s: ShiftTypeView) -> tuple[str, str]:
    if s.code == LEADER_CODE:
        return "带班领导", f"{s.start_text}–{s.end_text}"
    return s.name, f"{s.start_text}–{s.end_text}"


# ---- PDF: fonts, text and pages ---------------------------------------------------------------

PAGE: Final = landscape(A4)
MARGIN_X: Final = 10 * mm
MARGIN_TOP: Final = 10 * mm
MARGIN_BOTTOM: Final = 13 * mm
GRID_PT: Final = 7.5
SMALL_PT: Final = 6.5
TEXT_PT: Final = 8.5
TITLE_PT: Final = 16.0
ROW_H: Final = 11.0
HEADER_H: Final = (10.0, 8.0, 8.0)
NAME_W, CATEGORY_W = 46.0, 22.0
TOTAL_W: Final = (20.0, 21.0, 17.0, 17.0, 17.0, 22.0)


def _hex(rgb: str) -> colors.Color:
    return colors.HexColor(f"#{rgb}")


class _Kit:
    """The faces and the text helpers of one printout."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.m = TextMeasure(fonts)
        self.body, self.heading, self.title_face = fonts.body, fonts.heading, fonts.title
        self._by_name = {f.name: f for f in (fonts.fallback, fonts.title, fonts.heading, fonts.body)}

    def covers(self, text: str, face: Face) -> bool:
        return all(ord(ch) in face.covers or ch.isspace() for ch in text)

    def width(self, text: str, face: Face, size: float) -> float:
        return self.m.width(text, face, size)

    def markup(self, text: str, face: Face) -> str:
        """``text`` as Paragraph markup, each run the face lacks set in the face that has it."""
        out = []
        for run_face, run in self.m.runs(text, face):
            piece = escape(run).replace("\n", "<br/>")
            out.append(piece if run_face is face else f'<font face="{run_face.name}">{piece}</font>')
        return "".join(out)

    def style(
        self,
        size: float,
        face: Face | None = None,
        align: int = TA_LEFT,
        colour: str = "000000",
        leading: float = 1.3,
    ) -> ParagraphStyle:
        return ParagraphStyle(
            "p",
            fontName=(face or self.body).name,
            fontSize=size,
            leading=size * leading,
            alignment=align,
            textColor=_hex(colour),
            wordWrap="CJK",
        )

    def para(self, text: str, style: ParagraphStyle) -> Paragraph:
        """``text`` in ``style``, each character its style's face lacks drawn by one that has it."""
        return Paragraph(self.markup(text, self._by_name[style.fontName]), style)


class _Heading(Flowable):
    """A centred title line in the title face — stroked as well as filled when the face is a Song
    standing in for 小标宋 (faux bold, as the enforcement documents do)."""

    def __init__(self, kit: _Kit, text: str, size: float) -> None:
        super().__init__()
        self.kit, self.text, self.size = kit, text, size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, self.size * 1.5

    def draw(self) -> None:
        kit, face, size = self.kit, self.kit.title_face, self.size
        x = (self.width - kit.width(self.text, face, size)) / 2
        canvas = self.canv
        canvas.saveState()
        text = canvas.beginText()
        if face.use.faux_bold:
            canvas.setLineWidth(size * 0.025)
            text.setTextRenderMode(2)
        text.setTextOrigin(x, size * 0.4)
        for run_face, run in kit.m.runs(self.text, face):
            text.setFont(run_face.name, size)
            text.textOut(run)
        canvas.drawText(text)
        canvas.restoreState()


def _numbered_canvas(kit: _Kit, note: str) -> type[Canvas]:
    """A canvas that holds its pages back until the end, so each footer can say “共 Y 页”."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # overrides reportlab's camelCase method
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, 1):
                self.__dict__.update(state)
                self._footer(number, total)
                Canvas.showPage(self)
            Canvas.save(self)

        def _footer(self, number: int, total: int) -> None:
            size, face = SMALL_PT + 1, kit.body
            base = MARGIN_BOTTOM / 2 - size / 2
            text = f"第 {number} 页 共 {total} 页"
            self._draw(text, (PAGE[0] - kit.width(text, face, size)) / 2, base, face, size)
            if note:
                self._draw(note, MARGIN_X, base, face, size)

        def _draw(self, text: str, x: float, y: float, face: Face, size: float) -> None:
            obj = self.beginText()
            obj.setTextOrigin(x, y)
            for run_face, run in kit.m.runs(text, face):
                obj.setFont(run_face.name, size)
                obj.textOut(run)
            self.drawText(obj)

    return NumberedCanvas


def _build_pdf(story: list[Flowable], kit: _Kit, title: str, author: str, note: str) -> bytes:
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        author=author,
        creator="SquadDesk 执法队务台",
        invariant=1,
        initialFontName=kit.body.name,
        initialFontSize=GRID_PT,
    )
    # No frame padding: the tables are sized to the margins.
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, _frame_width(), _frame_height(), 0, 0, 0, 0, id="body")
    doc.addPageTemplates([PageTemplate("page", [frame])])
    with PAINT_LOCK:  # reportlab keeps per-document state on the shared font objects
        doc.build(story, canvasmaker=_numbered_canvas(kit, note))
    return buffer.getvalue()


def _frame_width() -> float:
    return float(PAGE[0] - 2 * MARGIN_X)


def _frame_height() -> float:
    return float(PAGE[1] - MARGIN_TOP - MARGIN_BOTTOM)


class _Cells:
    """Table data with the per-cell style commands that go with it."""

    def __init__(self, kit: _Kit, widths: Sequence[float], face: Face, size: float) -> None:
        self.kit, self.widths, self.face, self.size = kit, widths, face, size
        self.cmds: list[tuple[Any, ...]] = []

    def put(
        self,
        row: int,
        col: int,
        text: str,
        face: Face | None = None,
        size: float | None = None,
        *,
        or_body: bool = False,
    ) -> object:
        """``text`` for cell (col, row) on one line in ``face`` — or, with ``or_body``, in the body
        face when ``face`` lacks a character — shrunk to the column's width when it is wider; a
        Paragraph (each character the face lacks drawn by another) when the face lacks any."""
        want, size = face or self.face, size or self.size
        if not text:
            return ""
        if or_body and not self.kit.covers(text, want):
            want = self.kit.body
        inner = self.widths[col] - 2.0
        width = self.kit.width(text.split("\n")[0], want, size)
        fitted = max(4.0, round(size * min(1.0, inner / width) * 4 - 0.5) / 4) if width > inner else size
        if not self.kit.covers(text, want):
            return self.kit.para(text, self.kit.style(fitted, want, TA_CENTER, leading=1.1))
        if want is not self.face:
            self.cmds.append(("FONTNAME", (col, row), (col, row), want.name))
        if fitted != self.size:
            self.cmds.append(("FONTSIZE", (col, row), (col, row), fitted))
        return text


def _grid(kit: _Kit, sheet: MonthSheet) -> Table:
    days = sheet.days
    first_day, first_total = 2, 2 + len(days)
    fixed = NAME_W + CATEGORY_W + sum(TOTAL_W)
    day_w = (_frame_width() - fixed) / len(days)
    widths = [NAME_W, CATEGORY_W, *([day_w] * len(days)), *TOTAL_W]
    g = _Cells(kit, widths, kit.body, GRID_PT)
    cmds = g.cmds
    header: list[list[object]] = [[""] * len(widths) for _ in range(3)]
    header[0][0] = g.put(0, 0, "姓名", kit.heading)
    header[0][1] = g.put(0, 1, "类别", kit.heading)
    for i, d in enumerate(days):
        col = first_day + i
        header[0][col] = g.put(0, col, str(d.day.day))
        header[1][col] = g.put(1, col, d.weekday, kit.heading, SMALL_PT)
        header[2][col] = g.put(2, col, day_mark(d), kit.heading, SMALL_PT - 0.5)
        head, tint = _tints(d)
        if head:
            cmds.append(("BACKGROUND", (col, 0), (col, 2), _hex(head)))
            if sheet.people:
                cmds.append(("BACKGROUND", (col, 3), (col, 2 + len(sheet.people)), _hex(tint)))
        if d.is_makeup_workday:
            cmds.append(("TEXTCOLOR", (col, 2), (col, 2), _hex(ALERT_TEXT)))
    for j, (name, _read) in enumerate(TOTAL_COLUMNS):
        col = first_total + j
        label = "出勤\n天数" if name == "出勤天数" else name
        header[0][col] = g.put(0, col, label, kit.heading, SMALL_PT)
        cmds.append(("SPAN", (col, 0), (col, 2)))
    cmds += [
        ("SPAN", (0, 0), (0, 2)),
        ("SPAN", (1, 0), (1, 2)),
        ("BACKGROUND", (0, 0), (1, 2), _hex(HEADER_TINT)),
        ("BACKGROUND", (first_total, 0), (-1, 2), _hex(HEADER_TINT)),
    ]
    rows = header
    faults = _flagged(sheet)
    for n, p in enumerate(sheet.people):
        r = 3 + n
        row: list[object] = [g.put(r, 0, p.name), g.put(r, 1, CATEGORY_SHORT[p.category], size=SMALL_PT)]
        for i, d in enumerate(days):
            col = first_day + i
            mark = _mark(sheet, p.member_id, d.day, faults)
            if mark.codes:
                # Codes in the heading face (黑体) where it has them: they read best at this size.
                code = mark.codes + ("*" if mark.locked else "")
                row.append(g.put(r, col, code, kit.heading, or_body=True))
                if mark.colour:
                    cmds.append(("BACKGROUND", (col, r), (col, r), _hex(mark.colour)))
            else:
                row.append(g.put(r, col, mark.leave, size=SMALL_PT))
                if mark.leave:
                    cmds.append(("TEXTCOLOR", (col, r), (col, r), _hex(LEAVE_TEXT)))
            if mark.flagged:
                cmds.append(("TEXTCOLOR", (col, r), (col, r), _hex(ALERT_TEXT)))
                cmds.append(("BOX", (col, r), (col, r), 0.9, _hex(ALERT_TEXT)))
        row += [
            g.put(r, first_total + j, _number(read(sheet, p.member_id)))
            for j, (_, read) in enumerate(TOTAL_COLUMNS)
        ]
        rows.append(row)
        if n % 5 == 4:
            cmds.append(("LINEBELOW", (0, r), (-1, r), 0.6, colors.black))
    totals_from = len(rows)
    for label, values in _day_totals(sheet):
        r = len(rows)
        row = [g.put(r, 0, label, kit.heading, SMALL_PT), ""]
        cmds.append(("SPAN", (0, r), (1, r)))
        for i, v in enumerate(values):
            row.append(g.put(r, first_day + i, v.text, size=SMALL_PT))
            if v.short:
                cmds.append(("TEXTCOLOR", (first_day + i, r), (first_day + i, r), _hex(ALERT_TEXT)))
        row += [""] * len(TOTAL_COLUMNS)
        rows.append(row)
    cmds = [
        ("FONTNAME", (0, 0), (-1, -1), kit.body.name),
        ("FONTSIZE", (0, 0), (-1, -1), GRID_PT),
        ("LEADING", (0, 0), (-1, -1), GRID_PT),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 1),
        ("RIGHTPADDING", (0, 0), (-1, -1), 1),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("BACKGROUND", (0, totals_from), (-1, -1), _hex(HEADER_TINT)),
        ("INNERGRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#7F7F7F")),
        ("BOX", (0, 0), (-1, -1), 0.9, colors.black),
        ("LINEBELOW", (0, 2), (-1, 2), 0.9, colors.black),
        ("LINEABOVE", (0, totals_from), (-1, totals_from), 0.9, colors.black),
        ("LINEBEFORE", (first_day, 0), (first_day, -1), 0.9, colors.black),
        ("LINEBEFORE", (first_total, 0), (first_total, -1), 0.9, colors.black),
        # The headcount rows stay together, under at least the last member.
        ("NOSPLIT", (0, totals_from - 1), (-1, -1)),
        *cmds,
    ]
    heights = [*HEADER_H, *([ROW_H] * (len(rows) - 3))]
    return Table(rows, colWidths=widths, rowHeights=heights, repeatRows=3, style=TableStyle(cmds))


def _fairness_table(kit: _Kit, sheet: MonthSheet) -> Table | None:
    summary = sheet.summary()
    if not summary:
        return None
    keys = list(CATEGORY_NAMES)
    g = _Cells(kit, [80.0, 30.0, *([62.0] * len(keys))], kit.body, TEXT_PT - 0.5)
    rows: list[list[object]] = [
        [g.put(0, 0, "分组", kit.heading), g.put(0, 1, "人数", kit.heading)]
        + [g.put(0, 2 + i, CATEGORY_NAMES[k], kit.heading) for i, k in enumerate(keys)]
    ]
    for group, spreads in summary.items():
        r = len(rows)
        count = sum(1 for p in sheet.people if p.group is group)
        row: list[object] = [g.put(r, 0, PEER_GROUP_LABELS[group]), g.put(r, 1, str(count))]
        for i, k in enumerate(keys):
            s = spreads[k]
            row.append(g.put(r, 2 + i, f"{s.minimum}–{s.maximum}" if s.spread else str(s.minimum)))
        rows.append(row)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), kit.body.name),
        ("FONTSIZE", (0, 0), (-1, -1), TEXT_PT - 0.5),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 0.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("BACKGROUND", (0, 0), (-1, 0), _hex(HEADER_TINT)),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#7F7F7F")),
        ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
        *g.cmds,
    ]
    return Table(rows, colWidths=g.widths, rowHeights=13, style=TableStyle(style), hAlign="LEFT")


def _signatures(kit: _Kit, size: float) -> Table:
    """制表：____　审核：____ — lines to sign on."""
    style = kit.style(size)
    row: list[object] = []
    widths: list[float] = []
    for n, word in enumerate(SIGNATURES):
        row += [kit.para(f"{word}：", style), ""]
        widths += [kit.width(f"{word}：", kit.body, size) + 2, 120.0]
        if n < len(SIGNATURES) - 1:
            row.append("")
            widths.append(40.0)
    lines = [("LINEBELOW", (c, 0), (c, 0), 0.6, colors.black) for c in range(1, len(row), 3)]
    padding = [
        ("FONTNAME", (0, 0), (-1, -1), kit.body.name),  # else reportlab names Helvetica for empty cells
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]
    return Table([row], colWidths=widths, style=TableStyle(padding + lines), hAlign="LEFT")


def roster_pdf(sheet: MonthSheet, squad_name: str, *, published_note: str = "") -> bytes:
    """The month roster (排班表) as an A4 landscape PDF: members × days with each cell's shift in
    the shift's colour, the per-member totals, the per-day headcount against the demand, the
    legend, the fairness summary per peer group and the rules the month still breaks; every page
    repeats the header and says “第 X 页 共 Y 页”."""
    kit = _Kit(font_set())
    month = month_title(sheet.month)
    title = f"{squad_name}{month}排班表"
    status = f"状态：{status_text(sheet)}"
    if published_note.strip():
        status += f"　　{published_note.strip()}"
    status += f"　　共 {len(sheet.people)} 人"
    small = kit.style(SMALL_PT + 0.5, leading=1.35)
    story: list[Flowable] = [
        _Heading(kit, title, TITLE_PT),
        kit.para(status, kit.style(TEXT_PT, align=TA_CENTER)),
        Spacer(1, 3),
        _grid(kit, sheet),
        Spacer(1, 4),
        kit.para(f"班次：{_legend(sheet)}。", small),
        kit.para(
            "* 锁定（重新排班时保留）；年、病、事、婚、产、调、公、休：请假；“班”：调休上班；"
            "灰底：周末；红底：法定节假日；“2/3”：实排/需求；红框：违反排班规则。",
            small,
        ),
    ]
    # Headings stay with what follows them, and the signatures with the last thing they sign.
    keep: list[Flowable] = []
    fairness = _fairness_table(kit, sheet)
    if fairness is not None:
        heading = kit.para("公平性统计（本月加结转，最少–最多）", kit.style(TEXT_PT, kit.heading))
        keep = [Spacer(1, 4), heading, Spacer(1, 2), fairness]
    if sheet.violations:
        if keep:
            story.append(KeepTogether(keep))
        heading = kit.para(VIOLATIONS_HEADING, kit.style(TEXT_PT, kit.heading))
        lines = [kit.para(f"{n}. {v.message}", small) for n, v in enumerate(sheet.violations, 1)]
        if len(lines) > 1:
            story += [KeepTogether([Spacer(1, 4), heading, lines[0]]), *lines[1:-1]]
            keep = [lines[-1]]
        else:
            keep = [Spacer(1, 4), heading, *lines]
    story.append(KeepTogether([*keep, Spacer(1, 10), _signatures(kit, TEXT_PT + 0.5)]))
    note = f"{title}（{status_text(sheet).split('（')[0]}）"
    return _build_pdf(story, kit, title, squad_name, note)


def _duty_table(kit: _Kit, sheet: MonthSheet, days: Sequence[DayColumn], size: float) -> Table:
    shifts = _duty_shifts(sheet)
    names = _names_on(sheet)
    # 日期 (“12月31日”), 星期, 节假日 (“调休上班”) on one line each, whatever the type size.
    fixed = [
        kit.width("12月31日", kit.body, size) + 8,
        size * 2 + 8,
        kit.width("调休上班", kit.body, size) + 8,
    ]
    rest = (_frame_width() - sum(fixed)) / max(1, len(shifts))
    widths = [*fixed, *([rest] * len(shifts))]
    head = kit.style(size, kit.heading, TA_CENTER, leading=1.2)
    head_small = kit.style(size - 1.5, kit.body, TA_CENTER, leading=1.2)
    cell = kit.style(size, align=TA_LEFT, leading=1.2)
    centre = kit.style(size, align=TA_CENTER, leading=1.2)
    rows: list[list[object]] = [
        [
            kit.para("日期", head),
            kit.para("星期", head),
            kit.para("节假日", head),
        ]
        + [[kit.para(n, head), kit.para(t, head_small)] for n, t in (_shift_heading(s) for s in shifts)]
    ]
    cmds: list[tuple[Any, ...]] = []
    for d in days:
        r = len(rows)
        rows.append(
            [kit.para(day_text(d.day), centre), kit.para(d.weekday, centre), kit.para(d.name, centre)]
            + [
                kit.para(_name_lines(kit, names.get((d.day, s.code), ()), rest - 6.5, size), cell)
                for s in shifts
            ]
        )
        tint = _tints(d)[1]
        if tint:
            cmds.append(("BACKGROUND", (0, r), (-1, r), _hex(tint)))
    style = [
        ("FONTNAME", (0, 0), (-1, -1), kit.body.name),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("BACKGROUND", (0, 0), (-1, 0), _hex(HEADER_TINT)),
        ("INNERGRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#7F7F7F")),
        ("BOX", (0, 0), (-1, -1), 0.9, colors.black),
        ("LINEBELOW", (0, 0), (-1, 0), 0.9, colors.black),
        *cmds,
    ]
    return Table(rows, colWidths=widths, repeatRows=1, style=TableStyle(style))


def _name_lines(kit: _Kit, names: Sequence[str], width: float, size: float) -> str:
    """Names joined by “、”, broken into lines between names only (CJK wrapping would split a name)."""
    lines: list[str] = []
    line = ""
    for name in names:
        joined = f"{line}、{name}" if line else name
        if line and kit.width(joined + "、", kit.body, size) > width:
            lines.append(line + "、")
            line = name
        else:
            line = joined
    return "\n".join([*lines, line] if line else lines)


def duty_table_pdf(
    sheet: MonthSheet, squad_name: str, day_from: dt.date | None = None, day_to: dt.date | None = None
) -> bytes:
    """The duty table (值班安排表) for ``day_from``–``day_to`` (default: the whole month), A4
    landscape: one row per day, one column per shift anyone is on this month — 带班领导 first —
    each cell the names on it. The largest type that fits the span on one page is used."""
    days = _span(sheet, day_from, day_to)
    kit = _Kit(font_set())
    title = f"{squad_name}{month_title(sheet.month)}值班安排表"
    span = "" if len(days) == len(sheet.days) else f"（{day_text(days[0].day)}至{day_text(days[-1].day)}）"
    status = f"状态：{status_text(sheet)}{span}"
    status_para = kit.para(status, kit.style(TEXT_PT + 0.5, align=TA_CENTER))
    above = TITLE_PT * 1.5 + status_para.wrap(_frame_width(), _frame_height())[1] + 4
    signatures = _signatures(kit, TEXT_PT + 1)
    below = 10 + signatures.wrap(_frame_width(), _frame_height())[1]
    table = None
    for size in (11.0, 10.5, 10.0, 9.5, 9.0, 8.5, 8.0, 7.5):
        table = _duty_table(kit, sheet, days, size)
        _w, height = table.wrap(_frame_width(), _frame_height())
        if height <= _frame_height() - above - below:
            break
    assert table is not None
    story: list[Flowable] = [
        _Heading(kit, title, TITLE_PT),
        status_para,
        Spacer(1, 4),
        table,
        Spacer(1, 10),
        signatures,
    ]
    return _build_pdf(story, kit, title, squad_name, title)


# ---- Excel ----------------------------------------------------------------------------------

ROSTER_SHEET, DUTY_SHEET, FAIRNESS_SHEET, CHANGES_SHEET = "排班表", "值班安排", "公平性统计", "调班记录"
#: Rows of the 排班表 sheet: title, status, three header rows, then the members.
_GRID_FIRST_ROW = 6
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_STYLE_CELL, _STYLE_HEAD, _STYLE_TEXT = "roster-cell", "roster-head", "roster-text"


def _register_styles(wb: Workbook) -> None:
    """Named styles, registered once: far cheaper than border and alignment cell by cell."""
    centre = Alignment(horizontal="center", vertical="center")
    wb.add_named_style(NamedStyle(name=_STYLE_CELL, border=_BORDER, alignment=centre))
    wb.add_named_style(
        NamedStyle(
            name=_STYLE_HEAD,
            border=_BORDER,
            font=Font(bold=True),
            fill=PatternFill("solid", fgColor=HEADER_TINT),
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        )
    )
    wb.add_named_style(
        NamedStyle(
            name=_STYLE_TEXT,
            border=_BORDER,
            alignment=Alignment(horizontal="left", vertical="center", wrap_text=True),
        )
    )


class _Fills:
    """One PatternFill per colour (openpyxl hashes each style object it is given)."""

    def __init__(self) -> None:
        self._fills: dict[str, PatternFill] = {}

    def __call__(self, rgb: str) -> PatternFill:
        fill = self._fills.get(rgb)
        if fill is None:
            fill = self._fills[rgb] = PatternFill("solid", fgColor=rgb)
        return fill


def _title_rows(ws: Worksheet, title: str, subtitle: str, width: int) -> None:
    ws.cell(1, 1, title).font = Font(bold=True, size=16)
    ws.cell(1, 1).alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.row_dimensions[1].height = 30
    ws.cell(2, 1, subtitle).alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)


def _print_setup(ws: Worksheet, title_rows: str, title_cols: str | None = None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols


def _head(ws: Worksheet, row: int, col: int, value: object, fill: PatternFill | None = None) -> None:
    cell = ws.cell(row, col, value)
    cell.style = _STYLE_HEAD
    if fill is not None:
        cell.fill = fill


def _roster_sheet(ws: Worksheet, sheet: MonthSheet, squad_name: str, fills: _Fills) -> None:
    days = sheet.days
    first_day, first_total = 3, 3 + len(days)
    last_col = first_total + len(TOTAL_COLUMNS) - 1
    _title_rows(
        ws,
        f"{squad_name}{month_title(sheet.month)}排班表",
        f"状态：{status_text(sheet)}　共 {len(sheet.people)} 人",
        last_col,
    )
    for col, label in ((1, "姓名"), (2, "类别")):
        for r in (3, 4, 5):
            _head(ws, r, col, label if r == 3 else None)
        ws.merge_cells(start_row=3, start_column=col, end_row=5, end_column=col)
    alert = Font(bold=True, color=ALERT_TEXT)
    for i, d in enumerate(days):
        col = first_day + i
        head, _tint = _tints(d)
        fill = fills(head) if head else None
        _head(ws, 3, col, d.day.day, fill)
        _head(ws, 4, col, d.weekday, fill)
        _head(ws, 5, col, day_mark(d) or None, fill)
        if d.is_makeup_workday:
            ws.cell(5, col).font = alert
        ws.column_dimensions[get_column_letter(col)].width = 4.5
    for j, (name, _read) in enumerate(TOTAL_COLUMNS):
        col = first_total + j
        for r in (3, 4, 5):
            _head(ws, r, col, name if r == 3 else None)
        ws.merge_cells(start_row=3, start_column=col, end_row=5, end_column=col)
        ws.column_dimensions[get_column_letter(col)].width = 6.5
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 8
    leave_font, locked_font = Font(color=LEAVE_TEXT), Font(bold=True)
    locked_alert = Font(bold=True, color=ALERT_TEXT)
    faults = _flagged(sheet)
    for n, p in enumerate(sheet.people):
        r = _GRID_FIRST_ROW + n
        ws.cell(r, 1, p.name).style = _STYLE_CELL
        ws.cell(r, 2, CATEGORY_SHORT[p.category]).style = _STYLE_CELL
        for i, d in enumerate(days):
            mark = _mark(sheet, p.member_id, d.day, faults)
            # The code alone, so that the clerk's COUNTIF(…, "早") still counts a locked cell.
            cell = ws.cell(r, first_day + i, mark.codes or mark.leave or None)
            cell.style = _STYLE_CELL
            if mark.colour:
                cell.fill = fills(mark.colour)
            else:
                tint = _tints(d)[1]
                if tint:
                    cell.fill = fills(tint)
            if mark.flagged:
                cell.font = locked_alert if mark.locked else Font(color=ALERT_TEXT)
            elif mark.locked:
                cell.font = locked_font
            elif mark.leave:
                cell.font = leave_font
        for j, (_name, read) in enumerate(TOTAL_COLUMNS):
            ws.cell(r, first_total + j, read(sheet, p.member_id)).style = _STYLE_CELL
    r = _GRID_FIRST_ROW + len(sheet.people)
    short_font = Font(color=ALERT_TEXT)
    for label, values in _day_totals(sheet):
        ws.cell(r, 1, label).style = _STYLE_HEAD
        ws.cell(r, 2).style = _STYLE_HEAD
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=2)
        for i, v in enumerate(values):
            value: object = int(v.text) if v.text.isdigit() else v.text or None
            cell = ws.cell(r, first_day + i, value)
            cell.style = _STYLE_CELL
            if v.short:
                cell.font = short_font
        r += 1
    r += 1
    notes = [
        f"班次：{_legend(sheet)}",
        "粗体：锁定（重新排班时保留）；灰字：请假（年、病、事、婚、产、调、公、休）；“班”：调休上班；"
        "灰底：周末；红底：法定节假日；“2/3”：实排/需求；红字：违反排班规则。",
    ]
    if sheet.violations:
        notes.append(f"{VIOLATIONS_HEADING}：")
        notes += [f"{n}. {v.message}" for n, v in enumerate(sheet.violations, 1)]
    notes += ["", SIGNATURE]
    for text in notes:
        ws.cell(r, 1, text or None)
        r += 1
    ws.freeze_panes = ws.cell(_GRID_FIRST_ROW, first_day)
    _print_setup(ws, "3:5", "A:B")


def _duty_sheet(ws: Worksheet, sheet: MonthSheet, squad_name: str, fills: _Fills) -> None:
    shifts = _duty_shifts(sheet)
    names = _names_on(sheet)
    _title_rows(
        ws,
        f"{squad_name}{month_title(sheet.month)}值班安排表",
        f"状态：{status_text(sheet)}",
        3 + len(shifts),
    )
    heads = ["日期", "星期", "节假日"] + ["\n".join(_shift_heading(s)) for s in shifts]
    for col, text in enumerate(heads, 1):
        _head(ws, 3, col, text)
    ws.row_dimensions[3].height = 30
    for n, d in enumerate(sheet.days):
        r = 4 + n
        values: list[object] = [d.day, d.weekday, d.name or None]
        values += ["、".join(names.get((d.day, s.code), ())) or None for s in shifts]
        tint = _tints(d)[1]
        for col, value in enumerate(values, 1):
            cell = ws.cell(r, col, value)
            cell.style = _STYLE_TEXT if col > 3 else _STYLE_CELL
            if tint:
                cell.fill = fills(tint)
        ws.cell(r, 1).number_format = 'm"月"d"日"'
    for col, width in enumerate([10, 6, 10] + [24] * len(shifts), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(4, 4)
    _print_setup(ws, "3:3")


def _fairness_sheet(ws: Worksheet, sheet: MonthSheet, squad_name: str) -> None:
    keys = list(CATEGORY_NAMES)
    width = 3 + 3 * len(keys)
    _title_rows(
        ws,
        f"{squad_name}{month_title(sheet.month)}公平性统计",
        "本月：本月次数；结转：此前各月结转的差额；合计：本月加结转（排班时据此均衡）",
        width,
    )
    for col, label in ((1, "姓名"), (2, "类别"), (3, "分组")):
        _head(ws, 3, col, label)
        _head(ws, 4, col, None)
        ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
    for i, k in enumerate(keys):
        col = 4 + 3 * i
        for j, sub in enumerate(("本月", "结转", "合计")):
            _head(ws, 3, col + j, CATEGORY_NAMES[k] if j == 0 else None)
            _head(ws, 4, col + j, sub)
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + 2)
    for n, p in enumerate(sheet.people):
        r = 5 + n
        own, carried = (
            sheet.counts.get(p.member_id, FairnessCounts()),
            sheet.carried.get(p.member_id, FairnessCounts()),
        )
        total = sheet.total(p.member_id)
        values: list[object] = [p.name, p.category_label, PEER_GROUP_LABELS[p.group]]
        for k in keys:
            values += [getattr(own, k), getattr(carried, k), getattr(total, k)]
        for col, value in enumerate(values, 1):
            ws.cell(r, col, value).style = _STYLE_CELL
    r = 5 + len(sheet.people) + 1
    ws.cell(r, 1, "分组汇总（合计的最少–最多）").font = Font(bold=True)
    r += 1
    for group, spreads in sheet.summary().items():
        count = sum(1 for p in sheet.people if p.group is group)
        ws.cell(r, 1, f"{PEER_GROUP_LABELS[group]}（{count} 人）")
        for i, k in enumerate(keys):
            s = spreads[k]
            ws.cell(r, 4 + 3 * i, f"{CATEGORY_NAMES[k]} {s.minimum}–{s.maximum}")
        r += 1
    for col, w in enumerate([10, 18, 14] + [6] * (3 * len(keys)), 1):
        ws.column_dimensions[get_column_letter(col)].width = w
    ws.freeze_panes = ws.cell(5, 2)
    _print_setup(ws, "3:4")


def _changes_sheet(ws: Worksheet, sheet: MonthSheet, squad_name: str) -> None:
    heads = ("序号", "发布版本", "调整时间", "调整人", "姓名", "日期", "原班次", "新班次", "原因")
    _title_rows(
        ws, f"{squad_name}{month_title(sheet.month)}调班记录", f"共 {len(sheet.changes)} 条", len(heads)
    )
    for col, text in enumerate(heads, 1):
        _head(ws, 3, col, text)
    for n, c in enumerate(sheet.changes, 1):
        values: list[object] = [
            n,
            f"第{c.published_version}版",
            c.changed_at,
            c.changed_by_name,
            c.member_name,
            c.day,
            c.before_code or "（休）",
            c.after_code or "（休）",
            c.reason,
        ]
        for col, value in enumerate(values, 1):
            ws.cell(3 + n, col, value).style = _STYLE_TEXT if col == len(values) else _STYLE_CELL
        ws.cell(3 + n, 3).number_format = "yyyy-mm-dd hh:mm"
        ws.cell(3 + n, 6).number_format = "yyyy-mm-dd"
    for col, w in enumerate((6, 10, 17, 10, 10, 12, 10, 10, 40), 1):
        ws.column_dimensions[get_column_letter(col)].width = w
    ws.freeze_panes = ws.cell(4, 1)
    _print_setup(ws, "3:3")


def roster_xlsx(sheet: MonthSheet, squad_name: str) -> bytes:
    """The month as an Excel workbook: 排班表 (the grid, in the shifts' colours, with totals),
    值班安排 (the duty table), 公平性统计 (this month, carried and total per member and category)
    and, when the published roster was changed, 调班记录."""
    wb = Workbook()
    _register_styles(wb)
    fills = _Fills()
    ws = wb.active
    ws.title = ROSTER_SHEET
    _roster_sheet(ws, sheet, squad_name, fills)
    _duty_sheet(wb.create_sheet(DUTY_SHEET), sheet, squad_name, fills)
    _fairness_sheet(wb.create_sheet(FAIRNESS_SHEET), sheet, squad_name)
    if sheet.changes:
        _changes_sheet(wb.create_sheet(CHANGES_SHEET), sheet, squad_name)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


__all__ = [
    "CATEGORY_SHORT",
    "LEADER_CODE",
    "TOTAL_COLUMNS",
    "day_mark",
    "duty_table_pdf",
    "leave_mark",
    "roster_pdf",
    "roster_xlsx",
    "status_text",
]
