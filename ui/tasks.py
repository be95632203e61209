"""Background work: ``run_task`` runs a function off the GUI thread with a progress dialog
and a Cancel button, then calls back on the GUI thread (after Picard's ``run_task`` and
Orange's task state). All tasks go through one single-thread pool, so database work is
serialised. The function receives an :class:`app.progress.Progress`; Cancel sets it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.errors import Cancelled
from app.progress import Progress
from ui.errors import show_error

_pool: QThreadPool | None = None


def pool() -> QThreadPool:
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(1)
    return _pool


class _Signals(QObject):
    sig_progress = Signal(int, int, str)
    sig_done = Signal(object)
    sig_failed = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[Progress], Any], signals: _Signals, progress: Progress) -> None:
        super().__init__()
        self.fn, self.signals, self.progress = fn, signals, progress

    def run(self) -> None:
        try:
            result = self.fn(self.progress)
        except BaseException as exc:
            self.signals.sig_failed.emit(exc)
        else:
            self.signals.sig_done.emit(result)


class Task(QObject):
    """A running job; keeps its signals alive until it finishes."""

    sig_finished = Signal()
    _live: ClassVar[set[Task]] = set()

    def __init__(
        self,
        parent: QWidget | None,
        title: str,
        fn: Callable[[Progress], Any],
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        modal: bool,
    ) -> None:
        super().__init__(parent)
        self.signals = _Signals()
        self.progress = Progress(lambda d, t, s: self.signals.sig_progress.emit(d, t, s))
        self.dialog: QProgressDialog | None = None
        if modal:
            self.dialog = QProgressDialog(title, "取消", 0, 0, parent)
            self.dialog.setWindowTitle(title)
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
            self.dialog.setMinimumDuration(300)
            self.dialog.canceled.connect(self.progress.cancel)
            self.signals.sig_progress.connect(self._on_progress)
        self._on_done, self._on_error, self._parent = on_done, on_error, parent
        self.signals.sig_done.connect(self._done)
        self.signals.sig_failed.connect(self._failed)
        Task._live.add(self)
        pool().start(_Job(fn, self.signals, self.progress))

    def _on_progress(self, done: int, total: int, text: str) -> None:
        if self.dialog is not None:
            self.dialog.setMaximum(max(total, 1))
            self.dialog.setValue(min(done, max(total, 1)))
            if text:
                self.dialog.setLabelText(text)

    def _close(self) -> None:
        if self.dialog is not None:
            self.dialog.reset()
            self.dialog.deleteLater()
        Task._live.discard(self)
        self.sig_finished.emit()

    def _done(self, result: Any) -> None:
        self._close()
        if self._on_done is not None:
            self._on_done(result)

    def _failed(self, exc: BaseException) -> None:
        self._close()
        if isinstance(exc, Cancelled):
            return
        if self._on_error is not None:
            self._on_error(exc)
        else:
            show_error(self._parent, exc)


def run_task(
    parent: QWidget | None,
    title: str,
    fn: Callable[[Progress], Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    modal: bool = True,
) -> Task:
    return Task(parent, title, fn, on_done, on_error, modal)
