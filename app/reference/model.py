"""The shapes of reference data that services hand out and take in: frozen dataclasses, no Session.

``ItemInput``/``TierInput`` are what an editor or a catalog file supplies; ``ItemView``/``TierView``
are the same plus identity (id, release, version), so a view can be edited with
``dataclasses.replace`` and handed back. All money is integer fen; rates are basis points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from app.reference.money import percent, yuan_range
from db.models.parties import PartyKind as _PartyKind
from db.models.reference import ReleaseSource

# 当事人类别: one vocabulary with the parties ledger; the statutory ranges differ between a person
# (公民，含按个人处罚的个体工商户) and an organisation (法人或者其他组织).
PartyKind = _PartyKind


class PenaltyType(StrEnum):
    """Penalty kinds of APL 9, plus the order to correct that accompanies most of them."""

    WARNING = "warning"
    FINE = "fine"
    CONFISCATE_ILLEGAL_GAINS = "confiscate_illegal_gains"
    CONFISCATE_PROPERTY = "confiscate_property"
    SUSPEND = "suspend"
    REVOKE_LICENCE = "revoke_licence"
    DEMOLISH = "demolish"
    # 责令改正 is not a penalty (APL 28) but the catalog lists it so the decision can state it
    ORDER_CORRECTION = "order_correction"

    @property
    def label(self) -> str:
        return PENALTY_TYPE_LABELS[self]


PENALTY_TYPE_LABELS = {
    PenaltyType.WARNING: "警告",
    PenaltyType.FINE: "罚款",
    PenaltyType.CONFISCATE_ILLEGAL_GAINS: "没收违法所得",
    PenaltyType.CONFISCATE_PROPERTY: "没收非法财物",
    PenaltyType.SUSPEND: "责令停产停业",
    PenaltyType.REVOKE_LICENCE: "吊销许可证件",
    PenaltyType.DEMOLISH: "限期拆除",
    PenaltyType.ORDER_CORRECTION: "责令（限期）改正",
}

#: Penalty types after which the party always has hearing rights (APL 63), whatever the amount.
HEARING_PENALTY_TYPES = frozenset({PenaltyType.SUSPEND, PenaltyType.REVOKE_LICENCE})

SOURCE_LABELS = {
    ReleaseSource.BUNDLED: "内置示例",
    ReleaseSource.LOCAL: "本地修订",
    ReleaseSource.DISTRICT: "区局下发",
}


@dataclass(frozen=True)
class FineRange:
    """A fine range in fen, both ends inclusive (以上/以下 include the amount). Both ends None: no
    fine. ``derived_min``: the law gives only a maximum and the minimum is 10 % of it — an edit
    that keeps the flag has its minimum recomputed from the new maximum."""

    min_fen: int | None = None
    max_fen: int | None = None
    derived_min: bool = False

    @property
    def is_set(self) -> bool:
        return self.min_fen is not None or self.max_fen is not None

    def contains(self, fen: int) -> bool:
        return (self.min_fen is None or fen >= self.min_fen) and (self.max_fen is None or fen <= self.max_fen)

    @property
    def text(self) -> str:
        return yuan_range(self.min_fen, self.max_fen)


@dataclass(frozen=True)
class RateRange:
    """A fine set as a share of a base amount (e.g. 5–10 % of the construction cost), in basis points."""

    min_bp: int | None = None
    max_bp: int | None = None
    derived_min: bool = False

    @property
    def is_set(self) -> bool:
        return self.min_bp is not None or self.max_bp is not None

    def for_base(self, base_fen: int) -> FineRange:
        """The fine range in fen for ``base_fen``; rounded inwards so every amount in it is lawful."""
        low = None if self.min_bp is None else -((-base_fen * self.min_bp) // 10_000)  # ceiling
        high = None if self.max_bp is None else (base_fen * self.max_bp) // 10_000
        return FineRange(low, high)

    @property
    def text(self) -> str:
        if self.min_bp is not None and self.max_bp is not None:
            if self.min_bp == self.max_bp:
                return percent(self.min_bp)
            return f"{percent(self.min_bp)}–{percent(self.max_bp)}"
        if self.max_bp is not None:
            return f"{percent(self.max_bp)}以下"
        if self.min_bp is not None:
            return f"{percent(self.min_bp)}以上"
        return "未规定比例"


NO_FINE = FineRange()
NO_RATE = RateRange()


@dataclass(frozen=True, kw_only=True)
class ItemInput:
    """执法事项 as an editor or a catalog file supplies it."""

    code: str
    name: str
    category: str
    breach_basis: str  # 违法依据
    penalty_basis: str  # 处罚依据
    penalty_types: tuple[PenaltyType, ...]
    person_fine: FineRange = NO_FINE
    org_fine: FineRange = NO_FINE
    fine_rate: RateRange = NO_RATE
    rate_base: str = ""  # what the rate applies to, e.g. 建设工程造价
    fine_basis_note: str = ""
    limitation_years: int = 2
    local_rule: bool = False
    note: str = ""

    def fine_for(self, kind: PartyKind | str) -> FineRange:
        return self.person_fine if PartyKind(kind) is PartyKind.PERSON else self.org_fine

    @property
    def penalty_type_labels(self) -> list[str]:
        return [t.label for t in self.penalty_types]

    @property
    def fined_by_rate(self) -> bool:
        return self.fine_rate.is_set


@dataclass(frozen=True, kw_only=True)
class ItemView(ItemInput):
    id: str
    release_no: int
    sort_order: int
    version: int


@dataclass(frozen=True, kw_only=True)
class TierInput:
    """裁量阶次: conditions and the fine range of one tier. A tier without a range for a party kind
    imposes no fine on it (e.g. a warning); ``no_penalty`` tiers impose nothing (APL 33)."""

    name: str
    conditions: str = ""
    measure: str = ""
    no_penalty: bool = False
    person_fine: FineRange = NO_FINE
    org_fine: FineRange = NO_FINE
    fine_rate: RateRange = NO_RATE

    def fine_for(self, kind: PartyKind | str) -> FineRange:
        return self.person_fine if PartyKind(kind) is PartyKind.PERSON else self.org_fine


@dataclass(frozen=True, kw_only=True)
class TierView(TierInput):
    id: str
    item_code: str
    release_no: int
    rank: int
    version: int


@dataclass(frozen=True)
class ReleaseView:
    id: str
    release_no: int
    name: str
    source: ReleaseSource
    published: dt.date | None
    schema_version: int
    based_on: int | None
    note: str

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS[self.source]

    @property
    def title(self) -> str:
        return f"第 {self.release_no} 版（{self.source_label}）" + (f" {self.name}" if self.name else "")


@dataclass(frozen=True)
class Thresholds:
    """程序阈值 of a release, all amounts in fen (configurable; the defaults are common provincial
    values). "At most" thresholds include the amount (200 元以下), "from" thresholds too (1 万元以上)."""

    #: summary procedure (简易程序, APL 51): a fine of at most this much on a person…
    summary_person_fen: int = 20_000
    #: …or on an organisation
    summary_org_fen: int = 300_000
    #: on-the-spot collection (当场收缴, APL 68): fines of at most this much
    on_the_spot_fen: int = 10_000
    #: hearing rights (听证, APL 63) for a fine from this much on a person…
    hearing_person_fen: int = 1_000_000
    #: …or on an organisation
    hearing_org_fen: int = 10_000_000
    #: hearing rights for confiscation (没收违法所得/非法财物) of at least this value, person…
    hearing_confiscation_person_fen: int = 1_000_000
    #: …or organisation
    hearing_confiscation_org_fen: int = 10_000_000
    #: legal review (法制审核, APL 58) before the decision for a fine from this much on a person…
    legal_review_person_fen: int = 500_000
    #: …or on an organisation
    legal_review_org_fen: int = 5_000_000

    def summary_allowed(self, kind: PartyKind | str, fine_fen: int) -> bool:
        limit = self.summary_person_fen if PartyKind(kind) is PartyKind.PERSON else self.summary_org_fen
        return fine_fen <= limit

    def on_the_spot_allowed(self, fine_fen: int) -> bool:
        return fine_fen <= self.on_the_spot_fen

    def hearing_required(
        self,
        kind: PartyKind | str,
        fine_fen: int,
        confiscation_fen: int = 0,
        penalty_types: tuple[PenaltyType, ...] = (),
    ) -> bool:
        person = PartyKind(kind) is PartyKind.PERSON
        fine_limit = self.hearing_person_fen if person else self.hearing_org_fen
        seize_limit = self.hearing_confiscation_person_fen if person else self.hearing_confiscation_org_fen
        return (
            fine_fen >= fine_limit
            or (confiscation_fen > 0 and confiscation_fen >= seize_limit)
            or bool(HEARING_PENALTY_TYPES.intersection(penalty_types))
        )

    def legal_review_required(self, kind: PartyKind | str, fine_fen: int) -> bool:
        person = PartyKind(kind) is PartyKind.PERSON
        return fine_fen >= (self.legal_review_person_fen if person else self.legal_review_org_fen)


#: Threshold key → (Chinese label, statutory ceiling in fen or None). The ceilings are national law:
#: a province may set the summary and on-the-spot limits lower, never higher.
THRESHOLD_FIELDS: dict[str, tuple[str, int | None]] = {
    "summary_person_fen": ("简易程序罚款上限（个人）", 20_000),
    "summary_org_fen": ("简易程序罚款上限（单位）", 300_000),
    "on_the_spot_fen": ("当场收缴罚款上限", 10_000),
    "hearing_person_fen": ("听证罚款起点（个人）", None),
    "hearing_org_fen": ("听证罚款起点（单位）", None),
    "hearing_confiscation_person_fen": ("听证没收起点（个人）", None),
    "hearing_confiscation_org_fen": ("听证没收起点（单位）", None),
    "legal_review_person_fen": ("法制审核罚款起点（个人）", None),
    "legal_review_org_fen": ("法制审核罚款起点（单位）", None),
}


@dataclass(frozen=True)
class ReleaseData:
    """A whole release as a catalog file holds it, validated: what install and import write."""

    release_no: int
    schema_version: int
    source: ReleaseSource
    name: str = ""
    published: dt.date | None = None
    note: str = ""
    items: tuple[tuple[ItemInput, tuple[TierInput, ...]], ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
