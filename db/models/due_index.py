"""The due-date index of open cases (案件期限索引): a cache local to this device, never synced.

One row per open case: the earliest day on which one of its statutory clocks that is not done
falls due, or NULL when no clock runs yet. It lets the start page's to-do query compute the exact
clocks of the few cases near or past a due day instead of every open case. The rows are derived
from the synced case tables and kept current by :mod:`app.cases.due`; the whole table can be
thrown away and rebuilt at any time, so it is a plain ``Base`` model: no change log, no audit
entry, nothing sent to the district.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class CaseDueIndex(Base):
    __tablename__ = "case_due_index"
    # No foreign key: a cache must never make a write of the case tables fail.
    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: A lower bound of the case's open due days (see ``app.cases.due``); NULL: no clock runs.
    earliest_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
