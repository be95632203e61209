"""Fault injection for the sync tests (故障注入): named kill points at the boundaries of sync.

``checkpoint("client.push.before_send")`` marks a place where a crash must leave nothing half done. In
normal use it costs one dict lookup and does nothing. When the environment variable
``SQUADDESK_KILL_AT`` names it — ``name`` or ``name:N`` — the process SIGKILLs itself the N-th
time (by default the first) that checkpoint is reached: no ``finally``, no flush, no shutdown
hook, as when the power goes or the operating system ends the program. Several points may be
armed at once, separated by commas (``a:2,b``); the first one reached ends the process.

The variable is read when this module is imported. A process that sets it later (a test's
pre-imported worker that forks a child per run) calls :func:`configure`.
"""

from __future__ import annotations

import os
import signal
import time

ENV = "SQUADDESK_KILL_AT"

#: Armed checkpoint → the occurrence that kills (1 = the first time it is reached).
_armed: dict[str, int] = {}
#: How often each armed checkpoint was reached so far in this process.
_reached: dict[str, int] = {}


def parse(spec: str | None) -> dict[str, int]:
    """``"a:2,b"`` → ``{"a": 2, "b": 1}``. Raises ValueError on a malformed spec, so that a typo
    in a test never silently disarms a kill point."""
    out: dict[str, int] = {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, count = part.partition(":")
        name = name.strip()
        occurrence = int(count) if sep else 1
        if not name or occurrence < 1:
            raise ValueError(f"bad {ENV} entry {part!r}: expected NAME or NAME:N with N >= 1")
        out[name] = occurrence
    return out


def configure(spec: str | None = None) -> None:
    """Arm the kill points of ``spec`` (by default: re-read ``SQUADDESK_KILL_AT``) and reset
    the counts."""
    global _armed
    _armed = parse(os.environ.get(ENV) if spec is None else spec)
    _reached.clear()


def checkpoint(name: str) -> None:
    """A kill point: SIGKILL this process when ``name`` is armed and reached for the N-th time."""
    occurrence = _armed.get(name)
    if occurrence is None:
        return
    count = _reached.get(name, 0) + 1
    _reached[name] = count
    if count >= occurrence:
        os.kill(os.getpid(), signal.SIGKILL)
        while True:  # pragma: no cover - never gets past the signal
            time.sleep(3600)


configure()

__all__ = ["ENV", "checkpoint", "configure", "parse"]
