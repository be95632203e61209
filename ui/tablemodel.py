"""A read-only table model over a list of frozen view dataclasses, declared column by column.

Feature models (ui/certificates/models.py, …) subclass :class:`RowTableModel`, list their
columns, and override :meth:`RowTableModel.row_background` / :meth:`RowTableModel.decoration`
for colours and icons. Rows are the services' own views, so the table never holds a Session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QAbstractItemView

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column(Generic[T]):
    header: str
    value: Callable[[T], Any]
    #: Numbers read better right-aligned.
    align_right: bool = False
    tooltip: Callable[[T], str] | None = None
    #: What to sort by when the shown text would sort wrongly ("9 KB" after "10 MB").
    sort_key: Callable[[T], Any] | None = None


def display(value: Any) -> str:
    """How a value reads in a table cell: dates as 2026-05-01, empty for None, 8 not 8.0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def _sort_key(value: Any) -> tuple[bool, Any]:
    # Empty cells last, whatever the type of the others.
    if value is None or value == "":
        return (True, "")
    if isinstance(value, list | tuple):
        return (False, display(value))
    return (False, value)


class RowTableModel(QAbstractTableModel, Generic[T]):
    columns: Sequence[Column[T]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[T] = []
        self._sorted: tuple[int, Qt.SortOrder] | None = None

    # --- contents -------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if self._sorted is not None:
            # A reload keeps the order the user chose by clicking a header.
            self._sort_rows(*self._sorted)
        self.endResetModel()

    def append_rows(self, rows: Sequence[T]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def rows(self) -> list[T]:
        return list(self._rows)

    def row_at(self, row: int) -> T | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def find(self, predicate: Callable[[T], bool]) -> int:
        return next((i for i, r in enumerate(self._rows) if predicate(r)), -1)

    def selected_in(self, view: QAbstractItemView) -> T | None:
        """The item of the first selected row of ``view`` (which shows this model), if any."""
        rows = view.selectionModel().selectedRows()
        return self.row_at(rows[0].row()) if rows else None

    def select_in(self, view: QAbstractItemView, predicate: Callable[[T], bool]) -> None:
        """Select in ``view`` the first row whose item matches, e.g. to keep a selection across a reload."""
        row = self.find(predicate)
        if row >= 0:
            view.selectRow(row)

    # --- hooks for subclasses -------------------------------------------------------------
    def row_background(self, item: T) -> QColor | None:
        return None

    def decoration(self, item: T, column: int) -> QIcon | None:
        return None

    # --- Qt API ---------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(self.columns):
            return None
        item, column = self._rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display(column.value(item))
        if role == Qt.ItemDataRole.BackgroundRole:
            return self.row_background(item)
        if role == Qt.ItemDataRole.ForegroundRole:
            # Keep text dark on the pale alert colours even under a dark system theme.
            return QColor("#212121") if self.row_background(item) is not None else None
        if role == Qt.ItemDataRole.DecorationRole:
            return self.decoration(item, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(item) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section].header if 0 <= section < len(self.columns) else None
        return str(section + 1)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self._sorted = (column, order)
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        positions = [(idx.row(), idx.column()) for idx in old]
        before = list(self._rows)
        self._sort_rows(column, order)
        where = {id(r): i for i, r in enumerate(self._rows)}
        self.changePersistentIndexList(old, [self.index(where[id(before[r])], c) for r, c in positions])
        self.layoutChanged.emit()

    def _sort_rows(self, column: int, order: Qt.SortOrder) -> None:
        key = self.columns[column].sort_key or self.columns[column].value
        self._rows.sort(key=lambda r: _sort_key(key(r)), reverse=order == Qt.SortOrder.DescendingOrder)
