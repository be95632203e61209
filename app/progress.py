"""A Qt-free progress-and-cancel protocol for long work (after Orange's ``TaskState``).

A long service function takes ``progress: Progress | None`` and calls ``progress.step(...)``;
the GUI passes an object whose ``cancelled`` flag its Cancel button sets. ``step`` raises
:class:`app.errors.Cancelled` when asked to stop, so the caller's transaction rolls back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.errors import Cancelled


class Progress:
    def __init__(self, report: Callable[[int, int, str], None] | None = None) -> None:
        self._report = report
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def step(self, done: int, total: int, text: str = "") -> None:
        if self._cancel.is_set():
            raise Cancelled()
        if self._report is not None:
            self._report(done, total, text)


def step(progress: Progress | None, done: int, total: int, text: str = "") -> None:
    if progress is not None:
        progress.step(done, total, text)
