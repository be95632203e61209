"""Table models of the training page: the year's records, and each member's hours."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon

from app.training import HoursSummary, TrainingView
from ui.icons import icon
from ui.tablemodel import Column, RowTableModel

SHORT_BACKGROUND = QColor("#fff8e1")


class TrainingModel(RowTableModel[TrainingView]):
    columns = (
        Column("日期", lambda t: t.day),
        Column("姓名", lambda t: t.member_name),
        Column("课程", lambda t: t.course, tooltip=lambda t: t.course),
        Column("类别", lambda t: t.kind_label),
        Column("学时", lambda t: t.hours, align_right=True),
        Column("主办单位", lambda t: t.organizer),
    )


class HoursModel(RowTableModel[HoursSummary]):
    columns = (
        Column("姓名", lambda h: h.member_name),
        Column("分队", lambda h: h.unit),
        Column("已完成学时", lambda h: h.hours, align_right=True),
        Column("尚差", lambda h: h.short or None, align_right=True),
    )

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)
        self._icon: QIcon | None = None

    def row_background(self, item: HoursSummary) -> QColor | None:
        return SHORT_BACKGROUND if item.short > 0 else None

    def decoration(self, item: HoursSummary, column: int) -> QIcon | None:
        if column != 0 or item.short <= 0:
            return None
        if self._icon is None:
            self._icon = icon("alert.amber")
        return self._icon
