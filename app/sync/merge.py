"""The one rule for two versions of a row (合并规则), shared by the district and every device, so
that all of them end with the same row whatever order the versions reach them in.

A version is named by ``(version, updated_by)``: the row's change counter and the device that
made it. Every change also names the version it was made on (its *base*, ``None`` for an
insert). When a change arrives:

* no stored row — it is inserted;
* the stored row *is* the change (same version, same device) — nothing to do (a duplicate);
* the stored row is its base — it applies cleanly;
* otherwise the two were made side by side: a **conflict**. The winner is the greater
  ``(version, updated_by)`` — a total order on versions that needs no clock, so a device whose
  clock is a year off cannot win by it — and the loser is kept for a clerk to resolve. An edit
  against a deletion (a tombstone is a version like any other) is therefore a conflict too,
  never a silent delete.

Two versions made side by side that say the same (e.g. a number register both devices created
with its deterministic id) are no conflict: the greater one is kept and nothing is asked of a
clerk (:func:`same_content`).

Whatever arrives in whatever order, the row ends as the greatest version seen: every clean apply
moves to a greater version (base + 1), and a conflict keeps the greater one.

Both sides keep rows by this rule, but only the district, where every version meets, records
which version lost (:mod:`app.district.service`); a device lists the conflicts the district
tells it of (:mod:`app.sync.apply`), so that all of them list the same ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

Stamp = tuple[int, str]


class Outcome(StrEnum):
    INSERT = "insert"
    SAME = "same"
    APPLY = "apply"
    #: A conflict the incoming version wins: apply it and keep the stored one as the loser.
    WIN = "win"
    #: A conflict the stored version wins: keep it and keep the incoming one as the loser.
    LOSE = "lose"


def decide(stored: Stamp | None, incoming: Stamp, base: Stamp | None) -> Outcome:
    if stored is None:
        return Outcome.INSERT
    if stored == incoming:
        return Outcome.SAME
    if base is not None and stored == base:
        return Outcome.APPLY
    return Outcome.WIN if incoming > stored else Outcome.LOSE


def stamp(version: object, by: object) -> Stamp:
    return (int(str(version)), str(by))


def base_of(entry: dict[str, object]) -> Stamp | None:
    """The base of a pushed or pulled entry (``base_version``/``base_by``), ``None`` for an insert."""
    version, by = entry.get("base_version"), entry.get("base_by")
    if version is None or by is None:
        return None
    return stamp(version, by)


#: Columns that tell versions apart without being their content.
STAMP_COLUMNS = frozenset({"version", "updated_at", "updated_by"})


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


#: Columns each device keeps current on its own, which never make a conflict: a login on two
#: PCs between syncs updates the user's last login and failed attempts on both — the greater
#: version is kept, and nobody is asked to choose between two login times.
VOLATILE_COLUMNS: Mapping[str, frozenset[str]] = {
    "users": frozenset({"failed_logins", "locked_until", "last_login"}),
}


def volatile_columns(table: str) -> frozenset[str]:
    return VOLATILE_COLUMNS.get(table, frozenset())


def same_content(a: Mapping[str, Any], b: Mapping[str, Any], table: str = "") -> bool:
    """Whether two images of a row of ``table`` differ only in their stamps (and the columns
    each device keeps on its own)."""
    keys = (set(a) | set(b)) - STAMP_COLUMNS - volatile_columns(table)
    return all(_plain(a.get(k)) == _plain(b.get(k)) for k in keys)
