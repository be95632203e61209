"""The idle lock: the main window locks after the configured idle time, and only the logged-in
user's password unlocks it."""

from __future__ import annotations

import time

import pytest

from app.auth.roles import Actor
from app.context import AppContext
from tests.conftest import PASSWORD
from ui.login import LockDialog
from ui.mainwindow import MainWindow


def test_window_locks_after_idle_time(
    qtbot, ctx: AppContext, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx.settings = ctx.settings.replace(idle_lock_minutes=1)
    window = MainWindow(ctx, admin)
    qtbot.addWidget(window)
    locked: list[bool] = []
    monkeypatch.setattr(window, "lock", lambda: locked.append(True))
    window.idle.last = time.monotonic() - 30
    window._check_idle()
    assert locked == []  # 30 s idle: not yet
    window.idle.last = time.monotonic() - 61
    window._check_idle()
    assert locked == [True]
    ctx.settings = ctx.settings.replace(idle_lock_minutes=0)  # 0 = never
    window._check_idle()
    assert locked == [True]


def test_only_the_right_password_unlocks(qtbot, ctx: AppContext, admin: Actor) -> None:
    dialog = LockDialog(ctx, admin)
    qtbot.addWidget(dialog)
    dialog.password.setText("not-the-password1")
    dialog._unlock()
    assert dialog.message.text() == "密码不正确。" and dialog.result() == 0
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog._unlock()
