"""A table model that fetches its rows page by page as the view scrolls (``canFetchMore`` /
``fetchMore``), so a ledger of 2,000 members or 100,000 cases opens as fast as a small one.

A subclass names its columns, hands over the app/ service pair that counts and fetches a page for
a query — ``count(session, actor, query)`` and ``search(session, actor, query, offset, limit)`` —
and renders its own cells in ``data``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.auth.roles import Actor
from app.context import AppContext

Index = QModelIndex | QPersistentModelIndex


class LazyTableModel(QAbstractTableModel):
    #: (key, header) of each column.
    columns: ClassVar[tuple[tuple[str, str], ...]] = ()
    page_size: ClassVar[int] = 200

    def __init__(
        self,
        ctx: AppContext,
        actor: Actor,
        query: Any,
        count: Callable[[Any, Actor, Any], int],
        search: Callable[[Any, Actor, Any, int, int], list[Any]],
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.query = ctx, actor, query
        self._count, self._search = count, search
        self.rows: list[Any] = []
        self.total = 0

    def count(self, session: Any) -> int:
        return self._count(session, self.actor, self.query)

    def fetch(self, session: Any, offset: int, limit: int) -> list[Any]:
        return self._search(session, self.actor, self.query, offset, limit)

    # loading
    def set_query(self, query: Any) -> None:
        self.query = query
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        with self.ctx.read() as session:
            self.total = self.count(session)
            self.rows = self.fetch(session, 0, self.page_size)
        self.endResetModel()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self.rows) < self.total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        with self.ctx.read() as session:
            more = self.fetch(session, len(self.rows), self.page_size)
        if not more:
            # Rows were removed since the count: stop asking for more.
            self.total = len(self.rows)
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
        self.rows.extend(more)
        self.endInsertRows()

    # shape
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.columns)
        ):
            return self.columns[section][1]
        return None

    def row_at(self, row: int) -> Any | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None
