"""新增培训记录: one course, on one day, for every member who attended it — a squad-wide
course is entered once, not thirty times. All records are saved in one unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.context import AppContext
from app.errors import ValidationError
from app.personnel.members import MemberQuery, search_members
from app.training import KIND_LABELS, TrainingInput, add_training
from ui.errors import show_error
from ui.forms import MEMBER_LIMIT, buttons, date_edit, focus_field, from_qdate


class TrainingDialog(QDialog):
    def __init__(
        self,
        ctx: AppContext,
        actor: Actor,
        day: dt.date | None = None,
        courses: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.saved_ids: list[str] = []
        self.setWindowTitle("新增培训记录")
        with ctx.read() as session:
            members = search_members(session, actor, MemberQuery(include_left=False), limit=MEMBER_LIMIT)

        self.filter = QLineEdit(placeholderText="筛选：姓名 / 分队", clearButtonEnabled=True)
        self.members = QListWidget(objectName="members")
        for m in members:
            item = QListWidgetItem(f"{m.name}（{m.unit}）" if m.unit else m.name)
            item.setData(Qt.ItemDataRole.UserRole, m.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.members.addItem(item)
        self.filter.textChanged.connect(self._filter)
        self.members.itemChanged.connect(self._count)
        check_all, check_none = QPushButton("勾选所显示的"), QPushButton("全部取消")
        # Bound methods, not lambdas: a lambda holding ``self`` on a child's signal crashed
        # PySide 6.12 at interpreter exit (heap corruption when the dialog is torn down).
        check_all.clicked.connect(self._check_all)
        check_none.clicked.connect(self._check_none)
        self.count = QLabel()
        left = QVBoxLayout()
        left.addWidget(QLabel("参加人员"))
        left.addWidget(self.filter)
        left.addWidget(self.members, 1)
        row = QHBoxLayout()
        row.addWidget(check_all)
        row.addWidget(check_none)
        row.addStretch(1)
        row.addWidget(self.count)
        left.addLayout(row)

        self.day = date_edit(day, latest=dt.date.today())
        self.course = QComboBox(editable=True)
        self.course.addItems(sorted(set(courses)))
        self.course.setCurrentIndex(-1)
        self.course.lineEdit().setPlaceholderText("如：行政处罚法专题培训")
        self.kind = QComboBox()
        for key, label in KIND_LABELS.items():
            self.kind.addItem(label, key)
        self.hours = QDoubleSpinBox(
            decimals=1, minimum=0.5, maximum=200, singleStep=0.5, value=4, suffix=" 学时"
        )
        self.organizer = QLineEdit(placeholderText="如：天河区综合行政执法局")
        form = QFormLayout()
        form.addRow("培训日期", self.day)
        form.addRow("课程名称", self.course)
        form.addRow("类别", self.kind)
        form.addRow("学时", self.hours)
        form.addRow("主办单位", self.organizer)
        self.fields: dict[str, QWidget] = {
            "member_id": self.members,
            "day": self.day,
            "course": self.course,
            "hours": self.hours,
            "kind": self.kind,
        }

        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(form, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(buttons(self, self.save))
        self._count()
        self.resize(720, 460)

    def _filter(self, text: str) -> None:
        text = text.strip()
        for row in range(self.members.count()):
            item = self.members.item(row)
            item.setHidden(bool(text) and text not in item.text())

    def _check_all(self) -> None:
        self._check_visible(Qt.CheckState.Checked)

    def _check_none(self) -> None:
        self._check_visible(Qt.CheckState.Unchecked, everyone=True)

    def _check_visible(self, state: Qt.CheckState, everyone: bool = False) -> None:
        for row in range(self.members.count()):
            item = self.members.item(row)
            if everyone or not item.isHidden():
                item.setCheckState(state)

    def _count(self) -> None:
        self.count.setText(f"已选 {len(self.checked_members())} 人")

    def checked_members(self) -> list[str]:
        return [
            str(self.members.item(r).data(Qt.ItemDataRole.UserRole))
            for r in range(self.members.count())
            if self.members.item(r).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, member_ids: Sequence[str]) -> None:
        wanted = set(member_ids)
        for row in range(self.members.count()):
            item = self.members.item(row)
            checked = item.data(Qt.ItemDataRole.UserRole) in wanted
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def save(self) -> bool:
        try:
            chosen = self.checked_members()
            if not chosen:
                raise ValidationError("请勾选参加培训的队员。", field="member_id")
            course = self.course.currentText()
            summary = f"新增培训记录：{course.strip()}（{len(chosen)} 人）"
            with self.ctx.unit_of_work(self.actor, summary) as session:
                ids = [
                    add_training(
                        session,
                        self.actor,
                        TrainingInput(
                            member_id=member_id,
                            day=from_qdate(self.day.date()),
                            course=course,
                            hours=self.hours.value(),
                            kind=self.kind.currentData(),
                            organizer=self.organizer.text(),
                        ),
                    )
                    for member_id in chosen
                ]
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法保存培训记录")
            return False
        self.saved_ids = ids
        self.accept()
        return True

    @classmethod
    def ask(
        cls,
        ctx: AppContext,
        actor: Actor,
        day: dt.date | None = None,
        courses: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> list[str] | None:
        """The ids of the records saved, or None when the user cancelled."""
        dialog = cls(ctx, actor, day, courses, parent)
        return dialog.saved_ids if dialog.exec() else None
