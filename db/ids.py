"""Identifiers made on the device: UUIDv7 (time-ordered), so two offline PCs never collide."""

from __future__ import annotations

import uuid6


def new_id() -> str:
    """A new UUIDv7 as its canonical 36-character text."""
    return str(uuid6.uuid7())
