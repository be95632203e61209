"""The one place that turns an exception into a dialog. A DomainError's Chinese message is
shown as it is; anything else gets a plain sentence while its traceback goes to the log."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import DomainError

log = logging.getLogger("squaddesk.ui")


def message_for(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    return f"发生了意外问题（{exc.__class__.__name__}）。数据未被改动，详细信息已写入日志文件。"


def show_error(parent: QWidget | None, exc: BaseException, title: str = "无法完成操作") -> None:
    if not isinstance(exc, DomainError):
        log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
    QMessageBox.warning(parent, title, message_for(exc))


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    yes = box.addButton("确定", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("取消", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is yes
