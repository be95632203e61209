"""Dialogs of the settings page: create a user account, and set a password (one's own, proving
the current one first, or another user's as a reset by the administrator)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.auth.roles import Actor, Role
from app.auth.service import MIN_PASSWORD, UserView, change_password, create_user, verify_password
from app.context import AppContext
from app.errors import ValidationError
from ui.errors import show_error
from ui.forms import buttons, focus_field

PASSWORD_RULE = f"密码至少 {MIN_PASSWORD} 位，需同时包含字母和数字。"


def password_edit() -> QLineEdit:
    return QLineEdit(echoMode=QLineEdit.EchoMode.Password)


def hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color:#607d8b")
    return label


class UserDialog(QDialog):
    """新增用户."""

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.created: UserView | None = None
        self.setWindowTitle("新增用户")
        self.username = QLineEdit(placeholderText="登录时输入，如 zhangsan")
        self.display_name = QLineEdit(placeholderText="真实姓名")
        self.role = QComboBox()
        for role in Role:
            self.role.addItem(role.label, role)
        self.role.setCurrentIndex(self.role.findData(Role.OFFICER))
        self.password, self.again = password_edit(), password_edit()
        form = QFormLayout()
        form.addRow("登录名", self.username)
        form.addRow("姓名", self.display_name)
        form.addRow("角色", self.role)
        form.addRow("初始密码", self.password)
        form.addRow("再次输入", self.again)
        self.fields: dict[str, QWidget] = {
            "username": self.username,
            "display_name": self.display_name,
            "password": self.password,
        }
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint(PASSWORD_RULE + "请告知本人登录后在“系统设置 → 我的账户”中修改。"))
        layout.addWidget(buttons(self, self.save))
        self.resize(420, self.sizeHint().height())

    def save(self) -> bool:
        try:
            if self.password.text() != self.again.text():
                raise ValidationError("两次输入的密码不一致，请重新输入。", field="password")
            role = Role(self.role.currentData())
            summary = f"新增用户：{self.username.text().strip()}（{role.label}）"
            with self.ctx.unit_of_work(self.actor, summary) as session:
                self.created = create_user(
                    session,
                    self.actor,
                    self.username.text(),
                    self.display_name.text(),
                    role,
                    self.password.text(),
                )
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法新增用户")
            return False
        self.accept()
        return True

    @classmethod
    def ask(cls, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> UserView | None:
        dialog = cls(ctx, actor, parent)
        return dialog.created if dialog.exec() else None


class PasswordDialog(QDialog):
    """修改密码 (one's own) or 重置密码 (another user's, by an administrator)."""

    def __init__(
        self, ctx: AppContext, actor: Actor, user_id: str, user_name: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.user_id, self.user_name = ctx, actor, user_id, user_name
        self.own = user_id == actor.user_id
        self.saved = False
        self.setWindowTitle("修改密码" if self.own else f"重置 {user_name} 的密码")
        self.current = password_edit()
        self.password, self.again = password_edit(), password_edit()
        form = QFormLayout()
        if self.own:
            form.addRow("当前密码", self.current)
        else:
            form.addRow("用户", QLabel(user_name))
        form.addRow("新密码", self.password)
        form.addRow("再次输入", self.again)
        self.fields: dict[str, QWidget] = {"current": self.current, "password": self.password}
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint(PASSWORD_RULE))
        layout.addWidget(buttons(self, self.save))
        self.resize(380, self.sizeHint().height())

    def save(self) -> bool:
        try:
            if self.own:
                with self.ctx.read() as session:
                    if not verify_password(session, self.actor, self.current.text()):
                        raise ValidationError("当前密码不正确。", field="current")
            if self.password.text() != self.again.text():
                raise ValidationError("两次输入的新密码不一致，请重新输入。", field="password")
            summary = "修改本人密码" if self.own else f"重置密码：{self.user_name}"
            with self.ctx.unit_of_work(self.actor, summary) as session:
                change_password(session, self.actor, self.user_id, self.password.text())
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法修改密码")
            return False
        self.saved = True
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, user_id: str, user_name: str, parent: QWidget | None = None
    ) -> bool:
        dialog = cls(ctx, actor, user_id, user_name, parent)
        return bool(dialog.exec()) and dialog.saved
