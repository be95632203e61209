"""Table model of the audit log (审计日志), newest entry first."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.audit import AuditView
from ui.tablemodel import Column, RowTableModel

#: Events a leader should notice when scanning the log.
NOTABLE = {"login_failed": QColor("#fff8e1"), "locked": QColor("#ffebee"), "restore": QColor("#fff8e1")}


def when(at: str) -> str:
    """2026-05-01T09:30:00+08:00 → 2026-05-01 09:30:00 (the log is read on the machine that wrote it)."""
    return at[:19].replace("T", " ")


class AuditModel(RowTableModel[AuditView]):
    columns = (
        Column("时间", lambda e: when(e.at), tooltip=lambda e: f"第 {e.seq} 条　{e.at}"),
        Column("用户", lambda e: e.user_name),
        Column("操作", lambda e: e.action_label),
        Column("对象", lambda e: e.entity_label, tooltip=lambda e: e.entity_id),
        Column("摘要", lambda e: e.summary, tooltip=lambda e: e.summary),
        Column("变更字段", lambda e: "、".join(e.changed_labels)),
    )

    def row_background(self, item: AuditView) -> QColor | None:
        return NOTABLE.get(item.action)

    def last_seq(self) -> int | None:
        rows = self.rows()
        return min(r.seq for r in rows) if rows else None
