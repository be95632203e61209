"""首页 — the start page: the squad at a glance and the to-do list (certificates about to
lapse, annual reviews overdue, training hours short), worst first."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.auth.roles import Actor, Permission
from app.certificates import Alert
from app.context import AppContext
from app.personnel.members import MemberQuery, count_members
from app.progress import Progress
from app.squad import get_squad
from app.todos import Todo, todos
from ui.icons import icon
from ui.tasks import run_task

ALERT_COLORS = {Alert.RED: QColor("#ffebee"), Alert.AMBER: QColor("#fff8e1")}


class StartPage(QWidget):
    sig_open = Signal(str)
    sig_loaded = Signal()

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.title)
        self.cards = QHBoxLayout()
        layout.addLayout(self.cards)
        self.card_labels: dict[str, QLabel] = {}
        for key, caption in (
            ("members", "在册队员"),
            ("cases", "案件时限提醒"),
            ("red", "证件紧急提醒"),
            ("amber", "证件一般提醒"),
            ("training", "培训学时不足"),
        ):
            box = QLabel(objectName=f"card_{key}")
            box.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.setMinimumHeight(80)
            box.setStyleSheet("QLabel{background:#eceff1;border-radius:6px;padding:8px;font-size:11pt}")
            self.card_labels[key] = box
            box.setProperty("caption", caption)
            self.cards.addWidget(box)
        layout.addWidget(QLabel("<b>待办事项</b>（双击打开对应台账）"))
        self.todo_list = QListWidget(objectName="todos")
        self.todo_list.itemDoubleClicked.connect(self._open)
        layout.addWidget(self.todo_list, 1)

    def refresh(self) -> None:
        """Show the squad at once; gather the to-dos off the GUI thread (with 10,000 certificates
        and every open case's clocks they take a good part of a second) and fill them in after."""
        today = dt.date.today()
        with self.ctx.read() as session:
            squad = get_squad(session, self.ctx.require_squad())
        self.title.setText(
            f"<h2 style='margin:0'>{squad.name}</h2>"
            f"<p style='color:#607d8b'>执法主体：{squad.enforcing_body}　　今天是 {today:%Y年%m月%d日}</p>"
        )
        if self.todo_list.count() == 0:
            self.todo_list.addItem(QListWidgetItem("正在汇总待办事项……"))
        run_task(self, "", self._gather, on_done=self._show, modal=False)

    def _gather(self, progress: Progress) -> tuple[list[Todo], int]:
        with self.ctx.read() as session:
            items = todos(session, self.actor, self.ctx.settings, dt.date.today())
            members = (
                count_members(session, self.actor, MemberQuery(include_left=False))
                if self.actor.can(Permission.VIEW_PERSONNEL)
                else 0
            )
        return items, members

    def _show(self, result: tuple[list[Todo], int]) -> None:
        items, members = result
        counts = {
            "members": members,
            "cases": sum(1 for t in items if t.area == "案件"),
            "red": sum(1 for t in items if t.level is Alert.RED and t.area == "证件"),
            "amber": sum(1 for t in items if t.level is Alert.AMBER and t.area == "证件"),
            "training": sum(1 for t in items if t.area == "培训"),
        }
        for key, label in self.card_labels.items():
            label.setText(
                f"<span style='font-size:20pt'><b>{counts[key]}</b></span><br>{label.property('caption')}"
            )
        self.todo_list.clear()
        if not items:
            self.todo_list.addItem(QListWidgetItem(icon("ok"), "没有待办事项。"))
        for t in items:
            item = QListWidgetItem(
                icon("alert.red" if t.level is Alert.RED else "alert.amber"), f"[{t.area}] {t.text}"
            )
            item.setBackground(ALERT_COLORS.get(t.level, QColor("white")))
            item.setData(
                Qt.ItemDataRole.UserRole, {"证件": "certificates", "案件": "cases"}.get(t.area, "training")
            )
            self.todo_list.addItem(item)
        self.sig_loaded.emit()

    def _open(self, item: QListWidgetItem) -> None:
        key = item.data(Qt.ItemDataRole.UserRole)
        if key:
            self.sig_open.emit(key)
