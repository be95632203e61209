"""Qt item model of the case list: fetches pages of cases lazily as the view scrolls, so a squad
with 100,000 cases opens the list as fast as one with twelve."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.auth.roles import Actor
from app.cases.query import CaseQuery, CaseRow, count_cases, search_cases
from app.context import AppContext
from app.reference import yuan_short
from ui.tablemodel import display

PAGE = 200
Index = QModelIndex | QPersistentModelIndex

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


class CaseTableModel(QAbstractTableModel):
    def __init__(self, ctx: AppContext, actor: Actor, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.query = CaseQuery()
        self.rows: list[CaseRow] = []
        self.total = 0

    def set_query(self, query: CaseQuery) -> None:
        self.query = query
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        with self.ctx.read() as session:
            self.total = count_cases(session, self.actor, self.query)
            self.rows = search_cases(session, self.actor, self.query, 0, PAGE)
        self.endResetModel()

    # lazy fetching
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self.rows) < self.total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        with self.ctx.read() as session:
            more = search_cases(session, self.actor, self.query, len(self.rows), PAGE)
        if not more:
            # Someone deleted cases since the count: stop asking for more.
            self.total = len(self.rows)
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
        self.rows.extend(more)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section][1]
        return None

    def case(self, row: int) -> CaseRow | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

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
