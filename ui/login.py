"""Login and idle-lock dialogs."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.auth.roles import Actor
from app.auth.service import authenticate, verify_password
from app.context import AppContext
from ui.errors import message_for


class LoginDialog(QDialog):
    def __init__(
        self, ctx: AppContext, squad_name: str, parent: QWidget | None = None, hint: str = ""
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.actor: Actor | None = None
        self.setWindowTitle("登录 — SquadDesk 执法队务台")
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>{squad_name}</h2><p>执法队务台</p>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        form = QFormLayout()
        self.username = QLineEdit(objectName="username")
        self.password = QLineEdit(objectName="password", echoMode=QLineEdit.EchoMode.Password)
        form.addRow("登录名", self.username)
        form.addRow("密码", self.password)
        layout.addLayout(form)
        if hint:
            note = QLabel(hint, objectName="hint")
            note.setStyleSheet("color:#607d8b")
            layout.addWidget(note)
        self.message = QLabel(objectName="message")
        self.message.setStyleSheet("color:#c62828")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton("登录", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("退出", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(380, 260)

    def try_login(self) -> None:
        try:
            self.actor = authenticate(self.ctx, self.username.text(), self.password.text())
        except Exception as exc:
            self.message.setText(message_for(exc))
            self.password.clear()
            self.password.setFocus()
            return
        self.accept()

    @classmethod
    def ask(
        cls,
        ctx: AppContext,
        squad_name: str,
        parent: QWidget | None = None,
        hint: str = "",
        username: str = "",
    ) -> Actor | None:
        dialog = cls(ctx, squad_name, parent, hint)
        if username:
            dialog.username.setText(username)
            dialog.password.setFocus()
        return dialog.actor if dialog.exec() else None


class LockDialog(QDialog):
    """Shown after the configured idle time; only the same user's password unlocks."""

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.setWindowTitle("已锁定")
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"长时间未操作，窗口已锁定。\n请 {actor.display_name} 输入密码解锁。"))
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        layout.addWidget(self.password)
        self.message = QLabel()
        self.message.setStyleSheet("color:#c62828")
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        buttons.addButton("解锁", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("退出程序", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._unlock)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _unlock(self) -> None:
        with self.ctx.read() as session:
            ok = verify_password(session, self.actor, self.password.text())
        if ok:
            self.accept()
        else:
            self.message.setText("密码不正确。")
            self.password.clear()
