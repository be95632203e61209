"""Reference data (基准数据): the violation catalog (执法事项清单), discretion benchmarks (裁量基准)
and procedural thresholds that every case is handled under — later shipped down by the district,
until then kept by the squad's administrator. Versioned: a case records the release it was decided
under, and that release stays readable after later edits or imports.

Modules: :mod:`.model` (the dataclasses), :mod:`.rules` (validation, the 10 % minimum rule, the
fine check), :mod:`.catalog` (the file format and its documentation), :mod:`.service` (the
database), :mod:`.money` (integer fen and its text).
"""

from __future__ import annotations

from app.reference.catalog import parse_release, read_release, release_to_json
from app.reference.model import (
    HEARING_PENALTY_TYPES,
    NO_FINE,
    NO_RATE,
    PENALTY_TYPE_LABELS,
    THRESHOLD_FIELDS,
    FineRange,
    ItemInput,
    ItemView,
    PartyKind,
    PenaltyType,
    RateRange,
    ReleaseData,
    ReleaseView,
    Thresholds,
    TierInput,
    TierView,
)
from app.reference.money import parse_yuan, percent, yuan, yuan_plain, yuan_range, yuan_short
from app.reference.rules import (
    STANDARD_TIER_NAMES,
    check_fine,
    default_minimum,
    default_minimum_bp,
    normalize_item,
    standard_tiers,
    validate_thresholds,
    validate_tiers,
)
from app.reference.service import (
    add_item,
    categories,
    current_release,
    export_release,
    get_item,
    get_tier,
    import_release,
    install_bundled,
    list_items,
    list_releases,
    remove_item,
    set_thresholds,
    set_tiers,
    thresholds,
    tiers_for,
    upsert_item,
)

__all__ = [
    "HEARING_PENALTY_TYPES",
    "NO_FINE",
    "NO_RATE",
    "PENALTY_TYPE_LABELS",
    "STANDARD_TIER_NAMES",
    "THRESHOLD_FIELDS",
    "FineRange",
    "ItemInput",
    "ItemView",
    "PartyKind",
    "PenaltyType",
    "RateRange",
    "ReleaseData",
    "ReleaseView",
    "Thresholds",
    "TierInput",
    "TierView",
    "add_item",
    "categories",
    "check_fine",
    "current_release",
    "default_minimum",
    "default_minimum_bp",
    "export_release",
    "get_item",
    "get_tier",
    "import_release",
    "install_bundled",
    "list_items",
    "list_releases",
    "normalize_item",
    "parse_release",
    "parse_yuan",
    "percent",
    "read_release",
    "release_to_json",
    "remove_item",
    "set_thresholds",
    "set_tiers",
    "standard_tiers",
    "thresholds",
    "tiers_for",
    "upsert_item",
    "validate_thresholds",
    "validate_tiers",
    "yuan",
    "yuan_plain",
    "yuan_range",
    "yuan_short",
]
