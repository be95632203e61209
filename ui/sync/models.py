"""Table models of the sync page: the conflicts (冲突) and the items the district refused (区局拒收)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtGui import QColor

from app.sync.client import KEEP_CURRENT, ConflictView, Rejection
from ui.sync.texts import local_time
from ui.tablemodel import Column, RowTableModel

RESOLUTION_LABELS = {KEEP_CURRENT: "保留当前版本"}


def conflict_state(c: ConflictView) -> str:
    if c.resolved_at is None:
        return "待处理"
    how = RESOLUTION_LABELS.get(c.resolution or "", "采用另一版本")
    who = f"，{c.resolved_by}" if c.resolved_by else ""
    return f"已处理（{how}{who}）"


def conflict_title(c: ConflictView) -> str:
    return c.title or f"编号 {c.row_id[:8]}…"


class ConflictModel(RowTableModel[ConflictView]):
    columns = (
        Column("数据", lambda c: c.table_label),
        Column("记录", conflict_title, tooltip=lambda c: c.row_id),
        Column("发现时间", lambda c: local_time(c.detected_at), sort_key=lambda c: c.detected_at),
        Column("字段", lambda c: "、".join(c.differences) or "（内容相同）"),
        Column("状态", conflict_state),
    )

    def row_background(self, item: ConflictView) -> QColor | None:
        return QColor("#eceff1") if item.resolved_at is not None else None


class RejectionModel(RowTableModel[Rejection]):
    columns = (
        Column("数据", lambda r: r.table_label),
        Column("记录", lambda r: f"编号 {r.row_id[:8]}…" if r.row_id else "—", tooltip=lambda r: r.row_id),
        Column("原因", lambda r: r.reason, tooltip=lambda r: r.reason),
        Column("拒收时间", lambda r: local_time(r.at), sort_key=lambda r: r.at or dt.datetime.min),
    )
