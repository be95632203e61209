"""队员信息 — the member editor dialog. Validation happens in the service; a refusal shows its
Chinese message and marks the field at fault, with everything typed kept."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.context import AppContext
from app.errors import ValidationError
from app.personnel.labels import CATEGORY_LABELS, STATUS_LABELS, MemberStatus, StaffCategory
from app.personnel.members import MemberInput, MemberView, create_member, update_member
from ui.errors import message_for, show_error


class MemberEditor(QDialog):
    def __init__(
        self, ctx: AppContext, actor: Actor, member: MemberView | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.member = ctx, actor, member
        self.saved: MemberView | None = None
        self.setWindowTitle("编辑队员" if member else "新增队员")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(objectName="name")
        self.id_number = QLineEdit(objectName="id_number")
        self.id_number.setPlaceholderText("18 位，末位可为 X")
        self.gender = QComboBox(objectName="gender")
        self.gender.addItems(["按身份证", "男", "女"])
        self.phone = QLineEdit(objectName="phone")
        self.category = QComboBox(objectName="category")
        for cat, label in CATEGORY_LABELS.items():
            self.category.addItem(label, cat.value)
        self.position = QLineEdit(objectName="position")
        self.unit = QLineEdit(objectName="unit")
        self.has_join = QCheckBox("已知")
        self.join_date = QDateEdit(objectName="join_date", calendarPopup=True, displayFormat="yyyy-MM-dd")
        self.join_date.setDate(QDate.currentDate())
        self.join_date.setEnabled(False)
        self.has_join.toggled.connect(self.join_date.setEnabled)
        join_row = QHBoxLayout()
        join_row.addWidget(self.has_join)
        join_row.addWidget(self.join_date, 1)
        self.status = QComboBox(objectName="status")
        for st, label in STATUS_LABELS.items():
            self.status.addItem(label, st.value)
        self.legal = QLineEdit(objectName="legal")
        self.note = QPlainTextEdit(objectName="note")
        self.note.setFixedHeight(60)
        self.fields: dict[str, QWidget] = {
            "name": self.name,
            "id_number": self.id_number,
            "gender": self.gender,
            "phone": self.phone,
            "category": self.category,
            "join_date": self.join_date,
        }
        form.addRow("姓名 *", self.name)
        form.addRow("身份证号 *", self.id_number)
        form.addRow("性别", self.gender)
        form.addRow("手机", self.phone)
        form.addRow("人员类别 *", self.category)
        form.addRow("分队", self.unit)
        form.addRow("职务", self.position)
        form.addRow("入职日期", join_row)
        form.addRow("状态", self.status)
        form.addRow("法律职业资格证号", self.legal)
        form.addRow("备注", self.note)
        layout.addLayout(form)
        hint = QLabel("辅助人员和公安民警可登记，但不计入执法人员。")
        hint.setStyleSheet("color:#607d8b")
        layout.addWidget(hint)
        self.message = QLabel(objectName="message")
        self.message.setStyleSheet("color:#c62828")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        buttons.addButton("保存", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if member is not None:
            self._load(member)
        self.resize(440, 560)

    def _load(self, m: MemberView) -> None:
        self.name.setText(m.name)
        self.id_number.setText(m.id_number)
        self.gender.setCurrentText(m.gender or "按身份证")
        self.phone.setText(m.phone)
        self.category.setCurrentIndex(self.category.findData(m.category.value))
        self.unit.setText(m.unit)
        self.position.setText(m.position)
        if m.join_date:
            self.has_join.setChecked(True)
            self.join_date.setDate(QDate(m.join_date.year, m.join_date.month, m.join_date.day))
        self.status.setCurrentIndex(self.status.findData(m.status.value))
        self.legal.setText(m.legal_qualification_no)
        self.note.setPlainText(m.note)
        if "*" in m.id_number:
            # This role sees masked numbers and may not change them.
            self.id_number.setReadOnly(True)

    def data(self) -> MemberInput:
        d = self.join_date.date()
        gender = self.gender.currentText()
        return MemberInput(
            name=self.name.text(),
            id_number=self.id_number.text(),
            category=StaffCategory(self.category.currentData()),
            phone=self.phone.text(),
            gender="" if gender == "按身份证" else gender,
            position=self.position.text(),
            unit=self.unit.text(),
            join_date=dt.date(d.year(), d.month(), d.day()) if self.has_join.isChecked() else None,
            status=MemberStatus(self.status.currentData()),
            legal_qualification_no=self.legal.text(),
            note=self.note.toPlainText(),
        )

    def save(self) -> bool:
        for w in self.fields.values():
            w.setStyleSheet("")
        try:
            with self.ctx.unit_of_work(self.actor, "编辑队员" if self.member else "新增队员") as session:
                if self.member is None:
                    self.saved = create_member(session, self.actor, self.data())
                else:
                    self.saved = update_member(
                        session, self.actor, self.member.id, self.data(), self.member.version
                    )
        except ValidationError as exc:
            self.message.setText(exc.message)
            widget = self.fields.get(exc.field or "")
            if widget is not None:
                widget.setStyleSheet("border:1px solid #c62828")
                widget.setFocus()
            return False
        except Exception as exc:
            self.message.setText(message_for(exc))
            show_error(self, exc)
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, member: MemberView | None = None, parent: QWidget | None = None
    ) -> MemberView | None:
        dialog = cls(ctx, actor, member, parent)
        return dialog.saved if dialog.exec() else None
