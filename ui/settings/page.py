"""系统设置 — the squad's identity, the program's options, backups and restore, user accounts,
and one's own password. Every tab is visible to the roles that may use it; a section one may
read but not change shows its buttons disabled, with the missing permission as the tooltip."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.audit import record_event
from app.auth.roles import Actor, Permission
from app.auth.service import UserView, list_users, set_user_active
from app.backup import BackupInfo, backup_now, check_backup_file, list_backups, restore_data_dir
from app.context import AppContext
from app.errors import ValidationError
from app.progress import Progress
from app.settings import Settings
from app.squad import SquadInput, get_squad, update_squad
from ui.errors import confirm, show_error
from ui.icons import icon
from ui.settings.dialogs import PasswordDialog, UserDialog, hint
from ui.settings.models import BackupModel, UserModel
from ui.tablemodel import RowTableModel
from ui.tasks import Task, pool, run_task

log = logging.getLogger("squaddesk.ui")
#: Forms stay readable on a wide screen.
FORM_WIDTH = 640


def needs(permission: Permission) -> str:
    return f"需要“{permission.label}”权限"


def guard(button: QPushButton, actor: Actor, permission: Permission) -> bool:
    """Disable ``button`` with a tooltip naming the permission when the actor lacks it."""
    allowed = actor.can(permission)
    if not allowed:
        button.setEnabled(False)
        button.setToolTip(needs(permission))
    return allowed


def table(model: RowTableModel[Any], name: str) -> QTableView:
    view = QTableView(objectName=name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def status_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet("color:#2e7d32")
    label.setWordWrap(True)
    return label


class SquadSection(QWidget):
    """中队信息: the names printed on every document."""

    def __init__(self, ctx: AppContext, actor: Actor) -> None:
        super().__init__()
        self.ctx, self.actor = ctx, actor
        self.name, self.body = QLineEdit(objectName="squad_name"), QLineEdit()
        self.district, self.prefix = QLineEdit(), QLineEdit()
        form = QFormLayout()
        form.addRow("中队名称", self.name)
        form.addRow("执法主体", self.body)
        form.addRow("区划代码", self.district)
        form.addRow("文号前缀", self.prefix)
        self.fields: dict[str, QWidget] = {
            "name": self.name,
            "enforcing_body": self.body,
            "district_code": self.district,
            "doc_prefix": self.prefix,
        }
        self.save_button = QPushButton(icon("edit"), "保存中队信息")
        self.save_button.clicked.connect(self.save)
        editable = guard(self.save_button, actor, Permission.EDIT_SETTINGS)
        for edit in (self.name, self.body, self.district, self.prefix):
            edit.setReadOnly(not editable)
        self.status = status_label()
        form_box = QWidget(maximumWidth=FORM_WIDTH)
        form_box.setLayout(form)
        layout = QVBoxLayout(self)
        layout.addWidget(form_box)
        layout.addWidget(
            hint(
                "这些信息出现在执法文书和案卷上。执法主体通常是街道办事处全称；"
                "文号示例：车综执罚决字〔2026〕第12号。"
            )
        )
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addStretch(1)

    def refresh(self) -> None:
        with self.ctx.read() as session:
            squad = get_squad(session, self.ctx.require_squad())
        self.name.setText(squad.name)
        self.body.setText(squad.enforcing_body)
        self.district.setText(squad.district_code)
        self.prefix.setText(squad.doc_prefix)
        self.status.clear()

    def save(self) -> bool:
        data = SquadInput(self.name.text(), self.body.text(), self.district.text(), self.prefix.text())
        try:
            with self.ctx.unit_of_work(self.actor, "修改中队信息") as session:
                update_squad(session, self.actor, self.ctx.require_squad(), data)
        except Exception as exc:
            if isinstance(exc, ValidationError) and exc.field in self.fields:
                self.fields[exc.field].setFocus()
            show_error(self, exc, "无法保存中队信息")
            return False
        self.status.setText("已保存。窗口标题中的中队名称在下次登录时更新。")
        return True


class OptionsSection(QWidget):
    """选项: every field of :class:`app.settings.Settings`, saved to settings.json."""

    def __init__(self, ctx: AppContext, actor: Actor) -> None:
        super().__init__()
        self.ctx, self.actor = ctx, actor
        self.idle_lock_minutes = self._spin(0, 240, " 分钟", "从不锁定")
        self.login_max_failures = self._spin(3, 20, " 次")
        self.login_lockout_minutes = self._spin(1, 1440, " 分钟")
        self.cert_warn_days = self._spin(1, 730, " 天")
        self.cert_urgent_days = self._spin(1, 365, " 天")
        self.annual_review_interval_days = self._spin(30, 1000, " 天")
        self.training_min_hours = QDoubleSpinBox(
            decimals=1, minimum=0, maximum=500, singleStep=1, suffix=" 学时"
        )
        self.auto_backup = QCheckBox("每天首次启动时自动备份一次")
        self.backups_keep = self._spin(1, 365, " 份")
        form = QFormLayout()
        form.addRow("空闲自动锁定", self.idle_lock_minutes)
        form.addRow("证件到期提醒（黄色）", self.cert_warn_days)
        form.addRow("证件到期紧急提醒（红色）", self.cert_urgent_days)
        form.addRow("年审间隔", self.annual_review_interval_days)
        form.addRow("每人每年培训学时", self.training_min_hours)
        form.addRow("自动备份", self.auto_backup)
        form.addRow("自动备份保留", self.backups_keep)
        form.addRow("登录失败锁定", self.login_max_failures)
        form.addRow("锁定时长", self.login_lockout_minutes)
        self.widgets: dict[str, QWidget] = {
            "idle_lock_minutes": self.idle_lock_minutes,
            "login_max_failures": self.login_max_failures,
            "login_lockout_minutes": self.login_lockout_minutes,
            "cert_warn_days": self.cert_warn_days,
            "cert_urgent_days": self.cert_urgent_days,
            "annual_review_interval_days": self.annual_review_interval_days,
            "training_min_hours": self.training_min_hours,
            "auto_backup": self.auto_backup,
            "backups_keep": self.backups_keep,
        }
        self.save_button = QPushButton(icon("edit"), "保存选项")
        self.save_button.clicked.connect(self.save)
        self.defaults_button = QPushButton("恢复默认值")
        self.defaults_button.clicked.connect(self.show_defaults)
        editable = guard(self.save_button, actor, Permission.EDIT_SETTINGS)
        guard(self.defaults_button, actor, Permission.EDIT_SETTINGS)
        for widget in self.widgets.values():
            widget.setEnabled(editable)
        self.status = status_label()
        form_box = QWidget(maximumWidth=FORM_WIDTH)
        form_box.setLayout(form)
        layout = QVBoxLayout(self)
        layout.addWidget(form_box)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.defaults_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addStretch(1)

    @staticmethod
    def _spin(low: int, high: int, suffix: str, at_zero: str = "") -> QSpinBox:
        spin = QSpinBox(minimum=low, maximum=high, suffix=suffix)
        if at_zero:
            spin.setSpecialValueText(at_zero)
        return spin

    def show_defaults(self) -> None:
        self.show_values(Settings())

    def show_values(self, settings: Settings) -> None:
        for name, widget in self.widgets.items():
            value = getattr(settings, name)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QSpinBox | QDoubleSpinBox):
                widget.setValue(value)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, widget in self.widgets.items():
            if isinstance(widget, QCheckBox):
                out[name] = widget.isChecked()
            elif isinstance(widget, QDoubleSpinBox):
                out[name] = float(widget.value())
            elif isinstance(widget, QSpinBox):
                out[name] = int(widget.value())
        return out

    def refresh(self) -> None:
        self.show_values(self.ctx.settings)
        self.status.clear()

    def save(self) -> bool:
        values = self.values()
        try:
            self.ctx.save_settings(self.ctx.settings.replace(**values), self.actor)
        except Exception as exc:
            show_error(self, exc, "无法保存选项")
            return False
        self.status.setText("已保存，立即生效。")
        return True


class BackupSection(QWidget):
    """备份与恢复."""

    sig_backed_up = Signal(object)  # BackupInfo

    def __init__(self, ctx: AppContext, actor: Actor) -> None:
        super().__init__()
        self.ctx, self.actor = ctx, actor
        self.task: Task | None = None
        self.model = BackupModel(self)
        self.view = table(self.model, "backups")
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.backup_button = QPushButton(icon("backup"), "立即备份")
        self.backup_button.clicked.connect(self.start_backup)
        self.restore_selected_button = QPushButton(icon("restore"), "恢复所选备份")
        self.restore_selected_button.clicked.connect(self.restore_selected)
        self.restore_file_button = QPushButton(icon("restore"), "从文件恢复…")
        self.restore_file_button.clicked.connect(self.restore_file)
        open_folder = QPushButton("打开备份文件夹")
        open_folder.clicked.connect(self._open_folder)
        self.can_backup = guard(self.backup_button, actor, Permission.BACKUP)
        self.can_restore = guard(self.restore_selected_button, actor, Permission.RESTORE)
        guard(self.restore_file_button, actor, Permission.RESTORE)
        self.folder = QLabel(objectName="backup_folder")
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = status_label()
        bar = QHBoxLayout()
        for button in (self.backup_button, self.restore_selected_button, self.restore_file_button):
            bar.addWidget(button)
        bar.addStretch(1)
        bar.addWidget(open_folder)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        layout.addWidget(
            hint(
                "恢复会用所选备份替换当前全部数据；替换前自动另存一份“恢复前的安全副本”。恢复后程序须重新启动。"
                "请定期把备份文件复制到 U 盘或其他电脑保存。"
            )
        )

    def refresh(self) -> None:
        s = self.ctx.settings
        auto = f"每天自动备份，保留最近 {s.backups_keep} 份" if s.auto_backup else "自动备份已关闭"
        self.folder.setText(f"备份文件夹：{self.ctx.backup_dir}　（{auto}）")
        self.model.set_rows(list_backups(self.ctx.backup_dir))
        self._update_buttons()

    def selected(self) -> BackupInfo | None:
        return self.model.selected_in(self.view)

    def _update_buttons(self) -> None:
        self.restore_selected_button.setEnabled(self.can_restore and self.selected() is not None)

    def _open_folder(self) -> None:
        self.ctx.backup_dir.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.backup_dir)))

    # --- backup ---------------------------------------------------------------------------
    def start_backup(self) -> Task:
        # No restore while the copy is being taken: both touch the database file.
        for button in (self.backup_button, self.restore_selected_button, self.restore_file_button):
            button.setEnabled(False)
        self.task = run_task(self, "正在备份数据库……", self._backup_job, self._backed_up, self._backup_failed)
        return self.task

    def _backup_job(self, progress: Progress) -> BackupInfo:
        info = backup_now(self.ctx.db_path, self.ctx.backup_dir, self.actor, progress=progress)
        with self.ctx.unit_of_work(self.actor, "备份") as session:
            record_event(
                session,
                self.actor.display_name,
                self.ctx.device_id,
                "backup",
                summary=f"备份到 {info.path.name}",
            )
        return info

    def _backed_up(self, info: BackupInfo) -> None:
        self._task_over()
        self.refresh()
        self.status.setText(f"已备份到 {info.path}")
        self.sig_backed_up.emit(info)

    def _backup_failed(self, exc: BaseException) -> None:
        self._task_over()
        show_error(self, exc, "备份失败")

    def _task_over(self) -> None:
        self.backup_button.setEnabled(self.can_backup)
        self.restore_file_button.setEnabled(self.can_restore)
        self._update_buttons()

    # --- restore --------------------------------------------------------------------------
    def restore_selected(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self.restore_from(chosen.path)

    def restore_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "选择备份文件", str(self.ctx.backup_dir), "SquadDesk 备份 (*.sqlite3);;所有文件 (*)"
        )
        if name:
            self.restore_from(Path(name))

    def restore_from(self, source: Path) -> bool:
        try:
            check_backup_file(source)
        except Exception as exc:
            show_error(self, exc, "不能用这个文件恢复")
            return False
        if not confirm(
            self,
            "从备份恢复",
            f"将用备份“{source.name}”替换当前的全部数据。\n\n"
            "替换前会自动把当前数据另存为一份安全副本；但恢复后，这份备份之后录入的内容将不再显示。\n\n"
            "恢复完成后程序将退出，须重新启动并登录。确定要恢复吗？",
        ):
            return False
        # The file is replaced underneath the open database: close every pooled connection
        # first. Every page still holds this context and the data it showed, so after the
        # restore nothing may go on using them — the program quits, and on the next start it
        # opens (and, for an older backup, migrates) the restored file from scratch.
        pool().waitForDone()  # no background task may still be using the database
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            safety = restore_data_dir(self.ctx, self.actor, source, confirmed=True)
        except Exception as exc:
            show_error(self, exc, "恢复失败")
            return False
        finally:
            QApplication.restoreOverrideCursor()
        QMessageBox.information(
            self,
            "恢复完成",
            f"已从“{source.name}”恢复数据。\n原数据已另存为 {safety.path.name}。\n\n程序现在退出，请重新启动后登录。",
        )
        QApplication.quit()
        return True


class UsersSection(QWidget):
    """用户管理 (administrators only)."""

    def __init__(self, ctx: AppContext, actor: Actor) -> None:
        super().__init__()
        self.ctx, self.actor = ctx, actor
        self.model = UserModel(self)
        self.view = table(self.model, "users")
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.add_button = QPushButton(icon("add"), "新增用户")
        self.add_button.clicked.connect(self.add_user)
        self.toggle_button = QPushButton("停用")
        self.toggle_button.clicked.connect(self.toggle_active)
        self.password_button = QPushButton(icon("user"), "重置密码")
        self.password_button.clicked.connect(self.reset_password)
        bar = QHBoxLayout()
        for button in (self.add_button, self.toggle_button, self.password_button):
            bar.addWidget(button)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(
            hint(
                "内勤：维护台账；执法队员、法制员：查阅；队长：查阅并查看审计日志；管理员：全部权限。"
                "离职人员请停用账户而不是删除，以保留其操作记录。"
            )
        )
        self._update_buttons()

    def refresh(self) -> None:
        keep = self.selected()
        with self.ctx.read() as session:
            self.model.set_rows(list_users(session, self.actor))
        if keep is not None:
            row = self.model.find(lambda u: u.id == keep.id)
            if row >= 0:
                self.view.selectRow(row)
        self._update_buttons()

    def selected(self) -> UserView | None:
        return self.model.selected_in(self.view)

    def _update_buttons(self) -> None:
        user = self.selected()
        self.toggle_button.setEnabled(user is not None)
        self.password_button.setEnabled(user is not None)
        self.toggle_button.setText("启用" if user is not None and not user.active else "停用")

    def add_user(self) -> None:
        created = UserDialog.ask(self.ctx, self.actor, self)
        if created is not None:
            self.refresh()
            self.view.selectRow(self.model.find(lambda u: u.id == created.id))

    def toggle_active(self) -> None:
        user = self.selected()
        if user is None:
            return
        active = not user.active
        if not active and not confirm(
            self,
            "停用账户",
            f"停用“{user.display_name}”（{user.username}）的账户？停用后无法登录，可随时重新启用。",
        ):
            return
        summary = f"{'启用' if active else '停用'}账户：{user.username}"
        try:
            with self.ctx.unit_of_work(self.actor, summary) as session:
                set_user_active(session, self.actor, user.id, active)
        except Exception as exc:
            show_error(self, exc, "无法修改账户状态")
        self.refresh()

    def reset_password(self) -> None:
        user = self.selected()
        if user is not None and PasswordDialog.ask(self.ctx, self.actor, user.id, user.display_name, self):
            QMessageBox.information(
                self, "已重置密码", f"已为“{user.display_name}”设置新密码，请当面告知本人。"
            )


class AccountSection(QWidget):
    """我的账户: who one is, what one may do, and one's own password."""

    def __init__(self, ctx: AppContext, actor: Actor) -> None:
        super().__init__()
        self.ctx, self.actor = ctx, actor
        allowed = "、".join(p.label for p in Permission if actor.can(p)) or "无"
        form = QFormLayout()
        form.addRow("姓名", QLabel(actor.display_name))
        form.addRow("登录名", QLabel(actor.username))
        form.addRow("角色", QLabel(actor.role.label))
        permissions = QLabel(allowed)
        permissions.setWordWrap(True)
        form.addRow("权限", permissions)
        self.password_button = QPushButton(icon("user"), "修改我的密码")
        self.password_button.clicked.connect(self.change_password)
        self.status = status_label()
        row = QHBoxLayout()
        row.addWidget(self.password_button)
        row.addWidget(self.status, 1)
        form_box = QWidget(maximumWidth=FORM_WIDTH)
        form_box.setLayout(form)
        layout = QVBoxLayout(self)
        layout.addWidget(form_box)
        layout.addLayout(row)
        layout.addStretch(1)

    def refresh(self) -> None:
        self.status.clear()

    def change_password(self) -> None:
        if PasswordDialog.ask(self.ctx, self.actor, self.actor.user_id, self.actor.display_name, self):
            self.status.setText("密码已修改，下次登录请使用新密码。")


class SettingsPage(QWidget):
    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        layout.addWidget(QLabel("<h2 style='margin:0'>系统设置</h2>"))
        self.tabs = QTabWidget(objectName="tabs")
        layout.addWidget(self.tabs, 1)
        self.squad = SquadSection(ctx, actor)
        self.options = OptionsSection(ctx, actor)
        self.backup: BackupSection | None = None
        self.users: UsersSection | None = None
        self.account = AccountSection(ctx, actor)
        self.tabs.addTab(self.squad, "中队信息")
        self.tabs.addTab(self.options, "选项")
        if actor.can(Permission.BACKUP) or actor.can(Permission.RESTORE):
            self.backup = BackupSection(ctx, actor)
            self.tabs.addTab(self.backup, "备份与恢复")
        if actor.can(Permission.MANAGE_USERS):
            self.users = UsersSection(ctx, actor)
            self.tabs.addTab(self.users, "用户管理")
        self.tabs.addTab(self.account, "我的账户")

    def sections(self) -> list[SquadSection | OptionsSection | BackupSection | UsersSection | AccountSection]:
        return [s for s in (self.squad, self.options, self.backup, self.users, self.account) if s is not None]

    def refresh(self) -> None:
        for section in self.sections():
            section.refresh()
