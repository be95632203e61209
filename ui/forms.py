"""Small form helpers shared by the dialogs: dates that may be empty, a member picker that
filters as one types, the 保存/取消 buttons, and focusing the field a ValidationError names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QWidget,
)

from app.errors import ValidationError
from app.personnel.members import MemberView
from ui.icons import icon

#: Enough for any squad; the combo filters as the clerk types.
MEMBER_LIMIT = 100_000


def to_qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def from_qdate(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())


def date_edit(day: dt.date | None = None, latest: dt.date | None = None) -> QDateEdit:
    edit = QDateEdit(calendarPopup=True, displayFormat="yyyy-MM-dd")
    edit.setDate(to_qdate(day or dt.date.today()))
    if latest is not None:
        edit.setMaximumDate(to_qdate(latest))
    return edit


class OptionalDateEdit(QWidget):
    """A date that may be left empty — 法律职业资格证书 has no expiry date, for instance."""

    def __init__(self, none_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.date_edit = date_edit()
        self.none_box = QCheckBox(none_text)
        self.none_box.toggled.connect(self.date_edit.setDisabled)
        layout.addWidget(self.date_edit, 1)
        layout.addWidget(self.none_box)

    def value(self) -> dt.date | None:
        return None if self.none_box.isChecked() else from_qdate(self.date_edit.date())

    def set_value(self, day: dt.date | None) -> None:
        if day is not None:
            self.date_edit.setDate(to_qdate(day))
        self.none_box.setChecked(day is None)


def member_combo(members: list[MemberView]) -> QComboBox:
    """An editable combo that finds a member by any part of the name or unit as one types."""
    combo = QComboBox(editable=True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    for m in members:
        combo.addItem(f"{m.name}（{m.unit}）" if m.unit else m.name, m.id)
    completer = QCompleter(combo.model(), combo)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    combo.setCompleter(completer)
    combo.setCurrentIndex(-1)
    combo.lineEdit().setPlaceholderText("输入姓名查找")
    return combo


def chosen_member(combo: QComboBox) -> str:
    """The id of the member whose entry the combo's text names exactly."""
    row = combo.findText(combo.currentText().strip())
    if row < 0:
        raise ValidationError("请从列表中选择队员。", field="member_id")
    return str(combo.itemData(row))


def buttons(dialog: QDialog, save: Callable[[], object], ok_text: str = "保存") -> QDialogButtonBox:
    box = QDialogButtonBox()
    box.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
    box.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
    box.accepted.connect(save)
    box.rejected.connect(dialog.reject)
    return box


def focus_field(fields: dict[str, QWidget], exc: BaseException) -> None:
    if isinstance(exc, ValidationError) and exc.field in fields:
        fields[exc.field].setFocus()


def search_box(placeholder: str, min_width: int = 260) -> QLineEdit:
    """The search field every list page has: a magnifier, a clear button, the hint of what it finds."""
    box = QLineEdit(objectName="search", placeholderText=placeholder, clearButtonEnabled=True)
    box.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
    box.setMinimumWidth(min_width)
    return box
