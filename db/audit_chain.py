"""The hash of one audit entry: sha256 over its canonical JSON, including the previous hash.

Shared by the flush hook (which writes entries) and app.audit (which verifies them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from db.serialize import dumps

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "at",
    "user_name",
    "device_id",
    "action",
    "entity",
    "entity_id",
    "summary",
    "before",
    "after",
    "prev_hash",
)


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(dumps({k: entry[k] for k in FIELDS}).encode()).hexdigest()
