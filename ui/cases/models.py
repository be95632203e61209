"""Qt item model of the case list: fetches pages of cases lazily as the view scrolls, so a squad
with 100,000 cases opens the list as fast as one with twelve."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.auth.roles import Actor
from app.cases.query import CaseQuery, CaseRow, count_cases, search_cases
from app.context import AppContext
from app.reference import yuan_short
from ui.lazymodel import Index, LazyTableModel
from ui.tablemodel import display

COLUMNS: tuple[tuple[str, str], ...] = (
    ("number", "案件编号"),
    ("title", "案由"),
    ("party", "当事人"),
    ("procedure", "程序"),
    ("stage", "办理阶段"),
    ("item", "执法事项"),
    ("opened_on", "登记日期"),
    ("fine", "罚款"),
    ("officers", "办案人员"),
)
#: Finished cases are greyed so the open ones stand out.
FINISHED = QColor("#78909c")


def _cell(row: CaseRow, key: str) -> str:
    if key == "fine":
        return yuan_short(row.fine_fen) if row.fine_fen else ""
    value: Any = {
        "number": row.number,
        "title": row.title,
        "party": row.party_name,
        "procedure": row.procedure_label,
        "stage": row.stage_label,
        "item": row.item_name,
        "opened_on": row.opened_on,
        "officers": row.officer_names,
    }[key]
    return display(value)


class CaseTableModel(LazyTableModel):
    columns = COLUMNS

    def __init__(self, ctx: AppContext, actor: Actor, parent: Any = None) -> None:
        super().__init__(ctx, actor, CaseQuery(), count_cases, search_cases, parent)

    def case(self, row: int) -> CaseRow | None:
        found: CaseRow | None = self.row_at(row)
        return found

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows) or index.column() >= len(COLUMNS):
            return None
        row, key = self.rows[index.row()], COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(row, key)
        if role == Qt.ItemDataRole.ToolTipRole and key in ("title", "item", "party"):
            return _cell(row, key) or None
        if role == Qt.ItemDataRole.ForegroundRole and not row.is_open:
            return FINISHED
        if role == Qt.ItemDataRole.TextAlignmentRole and key == "fine":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None
