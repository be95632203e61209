"""The month grid's item model and painting: members × days from a :class:`MonthSheet`, each cell in
its shift's colour, weekend and holiday columns tinted, leave in grey, locked cells marked, and
every cell or day the checker flags framed in red with the rule's message as its tooltip; below
the members one row per shift (staffed / demanded per day), and on the right each member's totals.

The model never writes: an edit is handed to the page as ``sig_assign`` (member, day, shift type id
or None), which saves it in one unit of work and hands back the re-checked sheet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPolygon
from PySide6.QtWidgets import QComboBox, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from app.rosters.data import ShiftTypeView
from app.rosters.sheet import DayColumn, MonthSheet, PersonRow

Index = QModelIndex | QPersistentModelIndex

#: Set on a cell or day-total the checker flags.
FLAG_ROLE = Qt.ItemDataRole.UserRole + 1
LOCK_ROLE = Qt.ItemDataRole.UserRole + 2
#: (member id, day) of a member-day cell, else None.
KEY_ROLE = Qt.ItemDataRole.UserRole + 3

WEEKEND = QColor("#EEF3FA")
HOLIDAY = QColor("#FDECEA")
LEAVE = QColor("#DDDDDD")
SHORT = QColor("#C62828")
FLAG = QColor("#D32F2F")

#: Columns after the days: (header, tooltip).
TOTALS: tuple[tuple[str, str], ...] = (
    ("天数", "本月出勤天数"),
    ("工时", "本月计算工时（小时）"),
    ("夜班", "本月夜班次数"),
    ("24h", "本月24小时值班次数"),
    ("周末", "本月周末出勤天数"),
    ("节假", "本月法定节假日出勤天数"),
)

OFF = "（休息）"


def _hours(value: float) -> str:
    return f"{value:g}"


class RosterGridModel(QAbstractTableModel):
    sig_assign = Signal(str, object, object)  # member id, day, shift type id or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sheet: MonthSheet | None = None
        self.editable = False
        self._days: tuple[DayColumn, ...] = ()
        self._people: tuple[PersonRow, ...] = ()
        self._shift_rows: tuple[ShiftTypeView, ...] = ()

    def set_sheet(self, sheet: MonthSheet, editable: bool) -> None:
        self.beginResetModel()
        self.sheet, self.editable = sheet, editable
        self._days, self._people = sheet.days, sheet.people
        demanded = {d.shift_code for d in sheet.demands}
        self._shift_rows = tuple(
            s
            for s in sheet.shifts
            if s.code in demanded or any(sheet.staffed(d.day, s.code) for d in self._days)
        )
        self.endResetModel()

    # ---- geometry ----

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._people) + len(self._shift_rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._days) + len(TOTALS)

    def person_at(self, row: int) -> PersonRow | None:
        return self._people[row] if 0 <= row < len(self._people) else None

    def day_at(self, column: int) -> DayColumn | None:
        return self._days[column] if 0 <= column < len(self._days) else None

    def index_of(self, member_id: str, day: dt.date) -> QModelIndex:
        row = next((i for i, p in enumerate(self._people) if p.member_id == member_id), -1)
        column = next((i for i, d in enumerate(self._days) if d.day == day), -1)
        return self.index(row, column) if row >= 0 and column >= 0 else QModelIndex()

    def key(self, index: Index) -> tuple[str, dt.date] | None:
        person, day = self.person_at(index.row()), self.day_at(index.column())
        return (person.member_id, day.day) if person and day else None

    # ---- headers ----

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            return self._column_header(section, role)
        if section < len(self._people):
            person = self._people[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return person.name
            if role == Qt.ItemDataRole.ToolTipRole:
                extra = "，可带班" if person.is_leader else ""
                certified = "持有效执法证" if person.certified_days else "不能独立执法"
                return (
                    f"{person.name}（{person.unit or '未分组'}）\n{person.category_label}，{certified}{extra}"
                )
            return None
        shift = self._shift_rows[section - len(self._people)]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{shift.name} 排/需"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"每天{shift.name}已排人数 / 需求人数；不足时标红"
        return None

    def _column_header(self, section: int, role: int) -> Any:
        day = self.day_at(section)
        if day is None:
            header, tip = TOTALS[section - len(self._days)]
            return (
                header
                if role == Qt.ItemDataRole.DisplayRole
                else tip
                if role == Qt.ItemDataRole.ToolTipRole
                else None
            )
        if role == Qt.ItemDataRole.DisplayRole:
            mark = "班" if day.is_makeup_workday else ("休" if day.kind == "holiday" else day.weekday)
            return f"{day.day.day}\n{mark}"
        if role == Qt.ItemDataRole.ToolTipRole:
            kind = {"holiday": "法定节假日", "weekend": "周末"}.get(day.kind, "工作日")
            return f"{day.day:%Y-%m-%d} 星期{day.weekday}　{day.name or kind}"
        if role == Qt.ItemDataRole.ForegroundRole and day.kind != "workday":
            return QBrush(SHORT)
        if role == Qt.ItemDataRole.BackgroundRole and day.kind != "workday":
            return QBrush(HOLIDAY if day.kind == "holiday" else WEEKEND)
        return None

    # ---- cells ----

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.editable and self.key(index) is not None:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        sheet = self.sheet
        if sheet is None or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if row >= len(self._people):
            return self._shift_total(self._shift_rows[row - len(self._people)], column, role)
        person = self._people[row]
        day = self.day_at(column)
        if day is None:
            return self._member_total(person, column - len(self._days), role)
        return self._cell(sheet, person, day, role)

    def _cell(self, sheet: MonthSheet, person: PersonRow, day: DayColumn, role: int) -> Any:
        key = (person.member_id, day.day)
        cells = sheet.cells.get(key, ())
        leave = sheet.leave.get(key)
        if role == Qt.ItemDataRole.DisplayRole:
            if cells:
                return "+".join(c.code for c in cells)
            return leave[0] if leave else ""
        if role == Qt.ItemDataRole.EditRole:
            return cells[0].shift_type_id if cells else ""
        if role == Qt.ItemDataRole.BackgroundRole:
            if cells:
                shift = sheet.shift(cells[0].code)
                return QBrush(QColor(shift.colour)) if shift else None
            if leave:
                return QBrush(LEAVE)
            return (
                QBrush(HOLIDAY)
                if day.kind == "holiday"
                else QBrush(WEEKEND)
                if day.kind == "weekend"
                else None
            )
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        if role == Qt.ItemDataRole.FontRole and any(c.locked for c in cells):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._cell_tip(sheet, person, day, cells, leave)
        if role == FLAG_ROLE:
            return bool(sheet.cell_violations(person.member_id, day.day))
        if role == LOCK_ROLE:
            return any(c.locked for c in cells)
        if role == KEY_ROLE:
            return key
        return None

    def _cell_tip(
        self, sheet: MonthSheet, person: PersonRow, day: DayColumn, cells: tuple, leave: str | None
    ) -> str:
        lines = [f"{person.name}　{day.day.month}月{day.day.day}日 星期{day.weekday}"]
        for c in cells:
            shift = sheet.shift(c.code)
            if shift:
                lines.append(
                    f"{shift.name} {shift.start_text}–{shift.end_text}" + ("（已锁定）" if c.locked else "")
                )
        if not cells:
            lines.append(f"请假：{leave}" if leave else "休息")
        elif leave:
            lines.append(f"请假：{leave}")
        lines += [f"⚠ {v.message}" for v in sheet.cell_violations(person.member_id, day.day)]
        return "\n".join(lines)

    def _member_total(self, person: PersonRow, which: int, role: int) -> Any:
        sheet = self.sheet
        assert sheet is not None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor("#F7F7F7"))
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        counts = sheet.counts.get(person.member_id)
        values: tuple[str, ...] = (
            str(sheet.worked_days(person.member_id)),
            _hours(sheet.hours(person.member_id)),
            *(
                str(getattr(counts, f)) if counts else "0"
                for f in ("nights", "duties_24h", "weekends", "holidays")
            ),
        )
        if role == Qt.ItemDataRole.ToolTipRole:
            if which < 2:
                return TOTALS[which][1]
            carried = sheet.carried.get(person.member_id)
            field = ("nights", "duties_24h", "weekends", "holidays")[which - 2]
            before = getattr(carried, field) if carried else 0
            return f"{TOTALS[which][1]}：{values[which]}；结转（多于同组最少者）：{before}"
        return values[which]

    def _shift_total(self, shift: ShiftTypeView, column: int, role: int) -> Any:
        sheet = self.sheet
        day = self.day_at(column)
        if sheet is None or day is None:
            return None
        staffed, needed = sheet.staffed(day.day, shift.code), sheet.needed(day.day, shift.code)
        flagged = [v for v in sheet.day_violations(day.day) if v.shift == shift.code]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{staffed}/{needed}" if needed else (str(staffed) if staffed else "")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        if role == Qt.ItemDataRole.ForegroundRole and flagged:
            return QBrush(SHORT)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor("#F7F7F7"))
        if role == Qt.ItemDataRole.ToolTipRole:
            head = f"{day.day.month}月{day.day.day}日 {shift.name}：已排 {staffed} 人，需求 {needed} 人"
            return "\n".join([head, *(f"⚠ {v.message}" for v in flagged)])
        if role == FLAG_ROLE:
            return bool(flagged)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        key = self.key(index)
        if role != Qt.ItemDataRole.EditRole or key is None or not self.editable:
            return False
        if (value or "") == (self.data(index, Qt.ItemDataRole.EditRole) or ""):
            return False
        self.sig_assign.emit(key[0], key[1], value or None)
        return True


class RosterCellDelegate(QStyledItemDelegate):
    """Frames a flagged cell in red, marks a locked one with a dark corner, and edits a cell with a
    list of the shift types (and 休息)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        super().paint(painter, option, index)
        rect: QRect = option.rect  # type: ignore[attr-defined]
        if index.data(LOCK_ROLE):
            painter.save()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#37474F"))
            corner = QPolygon(
                [rect.topRight(), rect.topRight() + QPoint(-7, 0), rect.topRight() + QPoint(0, 7)]
            )
            painter.drawPolygon(corner)
            painter.restore()
        if index.data(FLAG_ROLE):
            painter.save()
            painter.setPen(QPen(FLAG, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
            painter.restore()

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        combo = QComboBox(parent)
        combo.addItem(OFF, "")
        model = index.model()
        sheet = getattr(model, "sheet", None)
        for shift in sheet.shifts if sheet else ():
            if shift.active:
                combo.addItem(f"{shift.code}　{shift.name} {shift.start_text}–{shift.end_text}", shift.id)
        return combo

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        at = editor.findData(index.data(Qt.ItemDataRole.EditRole) or "")
        editor.setCurrentIndex(max(at, 0))
        editor.showPopup()

    def setModelData(self, editor: QWidget, model: Any, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


__all__ = ["FLAG_ROLE", "KEY_ROLE", "LOCK_ROLE", "OFF", "TOTALS", "RosterCellDelegate", "RosterGridModel"]
