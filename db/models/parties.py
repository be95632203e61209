"""Parties (当事人): the persons and organisations a case is brought against, kept once and
reused across cases, so a party's earlier cases can be found by its identity."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Synced


class PartyKind(StrEnum):
    PERSON = "person"  # 自然人
    ORGANISATION = "organisation"  # 法人或其他组织

    @property
    def label(self) -> str:
        """How fines and messages name the party kind: 对个人 / 对单位."""
        return "个人" if self is PartyKind.PERSON else "单位"


class Party(Synced):
    """A person (name, ID number) or an organisation (name, 统一社会信用代码, legal representative).

    The identity columns are not unique in the database: two offline devices may register the
    same party before they sync, and sync must be able to apply both rows (a clerk merges them).
    The service refuses a duplicate identity on one device.
    """

    __tablename__ = "parties"
    label_zh = "当事人"
    # Party search (name, pinyin initials, ID or credit code) reads this index, not the rows.
    __table_args__ = (
        Index("ix_parties_search", "deleted", "name", "name_initials", "credit_code", "id_number", "id"),
    )
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    name_initials: Mapped[str] = mapped_column(String(100), index=True, default="")
    #: 公民身份号码 (GB 11643) of a person; empty for an organisation.
    id_number: Mapped[str] = mapped_column(String(18), index=True, default="")
    #: 统一社会信用代码 (GB 32100) of an organisation; empty for a person.
    credit_code: Mapped[str] = mapped_column(String(18), index=True, default="")
    #: 法定代表人或负责人 of an organisation.
    legal_representative: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
