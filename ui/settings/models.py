"""Table models of the settings page: the backup files, and the user accounts."""

from __future__ import annotations

import datetime as dt

from PySide6.QtGui import QColor

from app.auth.service import UserView
from app.backup import BackupInfo
from ui.tablemodel import Column, RowTableModel


def backup_kind(info: BackupInfo) -> str:
    name = info.path.name
    if name.startswith("auto-"):
        return "自动备份"
    if name.startswith("before-restore-"):
        return "恢复前的安全副本"
    return "手动备份"


def size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"


class BackupModel(RowTableModel[BackupInfo]):
    columns = (
        Column("时间", lambda b: b.taken),
        Column("类型", backup_kind),
        Column("大小", lambda b: size_text(b.size), align_right=True, sort_key=lambda b: b.size),
        Column("文件名", lambda b: b.path.name, tooltip=lambda b: str(b.path)),
    )


def user_state(user: UserView, now: dt.datetime | None = None) -> str:
    if not user.active:
        return "已停用"
    if user.locked_until is not None and user.locked_until > (now or dt.datetime.now()):
        return f"锁定至 {user.locked_until:%H:%M}"
    return "启用"


class UserModel(RowTableModel[UserView]):
    columns = (
        Column("登录名", lambda u: u.username),
        Column("姓名", lambda u: u.display_name),
        Column("角色", lambda u: u.role.label),
        Column("状态", user_state),
        Column("上次登录", lambda u: u.last_login),
    )

    def row_background(self, item: UserView) -> QColor | None:
        return QColor("#eceff1") if not item.active else None
