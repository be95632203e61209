"""Table models of the reference-data page: the violation catalog (执法事项) of a release, the
discretion tiers (裁量阶次) of one item, and the release history (版本记录). Long legal texts are cut
in the cell and whole in the tooltip; the page shows them in full beside the tiers."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.reference import FineRange, ItemView, PenaltyType, RateRange, ReleaseView, TierView
from ui.tablemodel import Column, RowTableModel

BASIS_CHARS = 28
NO_PENALTY_BACKGROUND = QColor("#e8f5e9")


def excerpt(text: str, limit: int = BASIS_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def fine_text(fine: FineRange, rate: RateRange, rate_base: str = "") -> str:
    """A fine range as the tables show it: in yuan, or as a share of a base amount, or 不罚款."""
    if fine.is_set:
        return fine.text
    if rate.is_set:
        return f"{rate_base}的{rate.text}" if rate_base else rate.text
    return "不罚款"


def _item_fine(item: ItemView, fine: FineRange) -> str:
    if PenaltyType.FINE not in item.penalty_types:
        return "—"
    return fine_text(fine, item.fine_rate, item.rate_base)


class ItemModel(RowTableModel[ItemView]):
    columns = (
        Column("编码", lambda i: i.code),
        Column("事项名称", lambda i: i.name, tooltip=lambda i: i.name),
        Column("类别", lambda i: i.category),
        Column("违法依据", lambda i: excerpt(i.breach_basis), tooltip=lambda i: i.breach_basis),
        Column("处罚依据", lambda i: excerpt(i.penalty_basis), tooltip=lambda i: i.penalty_basis),
        Column(
            "法定罚款（个人）",
            lambda i: _item_fine(i, i.person_fine),
            tooltip=lambda i: _item_fine(i, i.person_fine),
        ),
        Column(
            "法定罚款（单位）",
            lambda i: _item_fine(i, i.org_fine),
            tooltip=lambda i: _item_fine(i, i.org_fine),
        ),
    )


def _tier_fine(tier: TierView, fine: FineRange) -> str:
    return "不予处罚" if tier.no_penalty else fine_text(fine, tier.fine_rate)


def _tier_tooltip(tier: TierView) -> str:
    return f"{tier.conditions}\n处罚措施：{tier.measure}" if tier.measure else tier.conditions


class TierModel(RowTableModel[TierView]):
    # The conditions come last so they take the stretch and wrap; the measure is in the tooltip.
    # A no-penalty tier (不予处罚) says so in its fine columns and is tinted green.
    columns = (
        Column("阶次", lambda t: t.name),
        Column("罚款（个人）", lambda t: _tier_fine(t, t.person_fine)),
        Column("罚款（单位）", lambda t: _tier_fine(t, t.org_fine)),
        Column("适用情形", lambda t: t.conditions, tooltip=_tier_tooltip),
    )
    CONDITIONS = 3

    def row_background(self, item: TierView) -> QColor | None:
        return NO_PENALTY_BACKGROUND if item.no_penalty else None


def _based_on(release: ReleaseView) -> str:
    return f"第 {release.based_on} 版" if release.based_on is not None else ""


class ReleaseModel(RowTableModel[ReleaseView]):
    """版本记录: every release, newest (the current one) first."""

    columns = (
        Column("版本", lambda r: f"第 {r.release_no} 版", sort_key=lambda r: r.release_no),
        Column("来源", lambda r: r.source_label),
        Column("名称", lambda r: r.name, tooltip=lambda r: r.name),
        Column("发布日期", lambda r: r.published),
        Column("基于", _based_on, sort_key=lambda r: r.based_on or 0),
        Column("变更说明", lambda r: r.note, tooltip=lambda r: r.note),
    )
