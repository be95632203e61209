"""Declarative base and the mixin every synced table uses (see DESIGN.md, "Data identity").

A synced row carries a UUIDv7 key made on the device, the owning squad, an integer version
(+1 per change; SQLAlchemy's ``version_id_col`` makes every UPDATE a compare-and-set on it), a
hybrid-logical-clock ``updated_at``, the device that changed it last, and a tombstone flag: rows
are never hard-deleted, so that a deletion travels to the district like any other change.
The stamping and the change log are done by one flush hook in :mod:`db.hooks`, never by services.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import BigInteger, Boolean, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from db.ids import new_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: An integer as wide as SQLite's (64 bits) on every database. PostgreSQL's INTEGER has 32 bits,
#: too few for amounts in fen (a construction cost of 30 million yuan) or byte sizes (a body-camera
#: video over 2 GiB) — rows a device stores would then be refused by the district server. On SQLite
#: the column stays a plain INTEGER, so its files and migrations are unchanged.
BigInt = Integer().with_variant(BigInteger(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Synced(Base):
    """Abstract base of every table whose rows travel to the district."""

    __abstract__ = True
    #: Chinese name of the entity, used in audit entries and messages.
    label_zh: ClassVar[str] = ""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    squad_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[str] = mapped_column(String(24), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(36), nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


def synced_tables() -> list[type[Synced]]:
    """Every concrete synced model class (the change-log test walks this list)."""
    out: list[type[Synced]] = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if issubclass(cls, Synced) and not cls.__dict__.get("__abstract__", False):
            out.append(cls)
    return sorted(out, key=lambda c: c.__tablename__)
