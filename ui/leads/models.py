"""Table model of the lead register (案源登记): one row per lead, newest first as the service
returns them; leads still awaiting triage (待处置) are tinted so the open ones stand out."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.leads import LeadStatus, LeadView
from ui.tablemodel import Column, RowTableModel

#: Pale amber for the leads that still need a decision; handled ones stay plain.
OPEN_BACKGROUND = QColor("#fff8e1")
EXCERPT_CHARS = 40


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The description on one line, cut to ``limit`` characters — the full text is the tooltip."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _source(lead: LeadView) -> str:
    # The work-order number is long; the cell shows the source, the tooltip both.
    return f"{lead.source_label}　{lead.source_ref}" if lead.source_ref else lead.source_label


class LeadModel(RowTableModel[LeadView]):
    columns = (
        Column("编号", lambda v: v.number),
        Column("受理时间", lambda v: v.received_at),
        Column("来源", lambda v: v.source_label, tooltip=_source),
        Column("地址", lambda v: v.address, tooltip=lambda v: v.address),
        Column("网格", lambda v: v.grid_zone),
        Column("状态", lambda v: v.status_label),
        Column("照片", lambda v: len(v.photos) or "", align_right=True, sort_key=lambda v: len(v.photos)),
        Column("简要情况", lambda v: excerpt(v.description), tooltip=lambda v: v.description),
    )

    def row_background(self, item: LeadView) -> QColor | None:
        return OPEN_BACKGROUND if item.status is LeadStatus.REGISTERED else None
