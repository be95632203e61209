"""The procedural thresholds (程序阈值) editor of the administrator (管理员), until the district
ships reference data. The catalog and tier editors are in :mod:`.item_dialog` and
:mod:`.tiers_dialog`, the release history in :mod:`.releases`.

Amounts are typed in yuan and parsed by :func:`app.reference.parse_yuan`; every save creates a
new local release (本地修订) through the service, which validates it. A refusal is shown and the
dialog keeps what was typed.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from app.auth.roles import Actor
from app.context import AppContext
from app.reference import THRESHOLD_FIELDS, Thresholds, parse_yuan, set_thresholds, yuan_plain
from ui.errors import show_error
from ui.forms import buttons, focus_field
from ui.reference.fields import hint, with_unit, yuan_edit

NOTE = "保存后生成新的本地修订版本；已按旧版本办理的案件不受影响。"


class ThresholdsDialog(QDialog):
    """修改程序阈值: every threshold of the current release, in yuan."""

    def __init__(
        self, ctx: AppContext, actor: Actor, current: Thresholds, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.saved: Thresholds | None = None
        self.setWindowTitle("修改程序阈值")
        self.edits: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for key, (label, ceiling) in THRESHOLD_FIELDS.items():
            edit = yuan_edit(getattr(current, key), width=160)
            if ceiling is not None:
                edit.setToolTip(f"法定上限 {yuan_plain(ceiling)} 元，省级规定只能更低")
            self.edits[key] = edit
            form.addRow(label, with_unit(edit))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint(NOTE))
        layout.addWidget(buttons(self, self.save))
        self.resize(440, self.sizeHint().height())

    def values(self) -> Thresholds:
        return Thresholds(**{key: parse_yuan(edit.text(), field=key) for key, edit in self.edits.items()})

    def save(self) -> bool:
        try:
            values = self.values()
            with self.ctx.unit_of_work(self.actor, "修改程序阈值") as session:
                self.saved = set_thresholds(session, self.actor, values)
        except Exception as exc:
            focus_field(dict(self.edits), exc)
            show_error(self, exc, "无法修改程序阈值")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, current: Thresholds, parent: QWidget | None = None
    ) -> Thresholds | None:
        dialog = cls(ctx, actor, current, parent)
        try:
            return dialog.saved if dialog.exec() else None
        finally:
            dialog.deleteLater()
