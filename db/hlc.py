"""Hybrid logical clock (HLC) for the `updated_at` of synced rows.

An HLC timestamp is wall-clock milliseconds plus a counter, so it never runs backwards on one
device even when the PC's clock is set back, and it can absorb timestamps received from other
devices (``observe``) so that causally later changes always carry a later stamp. The text form
``"<13-digit ms>-<6-digit counter>"`` sorts the same as the clock; ties between devices are broken
by the device id kept beside it (``updated_by``). Wall-clock time never decides a sync conflict on
its own — see DESIGN.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class HlcStamp:
    millis: int
    counter: int

    def __str__(self) -> str:
        return f"{self.millis:013d}-{self.counter:06d}"

    @classmethod
    def parse(cls, text: str) -> HlcStamp:
        millis, counter = text.split("-")
        return cls(int(millis), int(counter))


class HybridLogicalClock:
    """Thread-safe HLC; one per open database."""

    def __init__(self, wall: Callable[[], int] | None = None, last: HlcStamp | None = None) -> None:
        self._wall = wall or (lambda: time.time_ns() // 1_000_000)
        self._last = last or HlcStamp(0, 0)
        self._lock = threading.Lock()

    def now(self) -> HlcStamp:
        with self._lock:
            wall = self._wall()
            if wall > self._last.millis:
                self._last = HlcStamp(wall, 0)
            else:
                self._last = HlcStamp(self._last.millis, self._last.counter + 1)
            return self._last

    def observe(self, remote: HlcStamp) -> HlcStamp:
        """Merge a stamp seen from another device; the next ``now()`` is later than both."""
        with self._lock:
            wall = self._wall()
            top = max(wall, self._last.millis, remote.millis)
            if top == self._last.millis == remote.millis:
                counter = max(self._last.counter, remote.counter) + 1
            elif top == self._last.millis:
                counter = self._last.counter + 1
            elif top == remote.millis:
                counter = remote.counter + 1
            else:
                counter = 0
            self._last = HlcStamp(top, counter)
            return self._last
