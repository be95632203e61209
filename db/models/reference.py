"""Reference data (基准数据): the violation catalog (执法事项清单), discretion benchmarks (裁量基准)
and procedural thresholds, kept as numbered releases.

A release is never edited in place: a change makes a new release that copies the rows it keeps,
so a case decided under release 3 can still show the tiers and ranges of release 3. Every row of
a release carries its ``release_no``; reading "the catalog" means reading the newest release.
Money is integer fen (分) throughout; rates of a base amount are integer basis points (万分之一).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import BigInt, Synced


class ReleaseSource(StrEnum):
    BUNDLED = "bundled"  # shipped with the program (resources/reference/catalog.json)
    LOCAL = "local"  # edited by this squad's administrator
    DISTRICT = "district"  # published by the district (区综合行政执法局)


class ReferenceRelease(Synced):
    """One numbered release of the reference data; higher numbers are newer."""

    __tablename__ = "reference_releases"
    label_zh = "基准数据版本"
    release_no: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(16))
    published: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    schema_version: Mapped[int] = mapped_column(Integer, default=1)
    # the release this one was copied from (local edits); None for a whole shipped release
    based_on: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class ViolationItem(Synced):
    """执法事项: one violation with its legal bases, penalty types and statutory fine range."""

    __tablename__ = "reference_items"
    label_zh = "执法事项"
    release_no: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    breach_basis: Mapped[str] = mapped_column(Text)  # 违法依据
    penalty_basis: Mapped[str] = mapped_column(Text)  # 处罚依据
    penalty_types: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of PenaltyType values
    # statutory fine range in fen per party kind; both None: no fine for that kind
    person_fine_min: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    person_fine_max: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    person_min_derived: Mapped[bool] = mapped_column(Boolean, default=False)  # min = 10 % of max
    org_fine_min: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    org_fine_max: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    org_min_derived: Mapped[bool] = mapped_column(Boolean, default=False)
    # fines set as a share of a base amount (e.g. 5–10 % of the construction cost), in basis points
    fine_rate_min_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fine_rate_max_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rate_min_derived: Mapped[bool] = mapped_column(Boolean, default=False)
    rate_base: Mapped[str] = mapped_column(String(60), default="")  # what the rate applies to
    fine_basis_note: Mapped[str] = mapped_column(Text, default="")
    limitation_years: Mapped[int] = mapped_column(Integer, default=2)  # APL 36: 2, or 5
    local_rule: Mapped[bool] = mapped_column(Boolean, default=False)  # basis/amounts from local rules
    note: Mapped[str] = mapped_column(Text, default="")


class DiscretionTier(Synced):
    """裁量阶次: one tier of an item's discretion benchmark, lightest first (``rank`` 1)."""

    __tablename__ = "reference_tiers"
    label_zh = "裁量阶次"
    item_id: Mapped[str] = mapped_column(ForeignKey("reference_items.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(20))
    conditions: Mapped[str] = mapped_column(Text, default="")
    measure: Mapped[str] = mapped_column(Text, default="")  # 处理方式, e.g. 不予处罚，责令改正
    no_penalty: Mapped[bool] = mapped_column(Boolean, default=False)
    person_fine_min: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    person_fine_max: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    org_fine_min: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    org_fine_max: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    fine_rate_min_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fine_rate_max_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReferenceThreshold(Synced):
    """A procedural threshold of a release (summary procedure, hearing, legal review…), in fen."""

    __tablename__ = "reference_thresholds"
    label_zh = "程序阈值"
    release_no: Mapped[int] = mapped_column(Integer, index=True)
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(BigInt)
    note: Mapped[str] = mapped_column(Text, default="")
