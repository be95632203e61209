"""新增事项 / 编辑事项: one entry of the violation catalog (执法事项) with every field the service
keeps — code, name, category, the two legal bases, the penalty types, the statutory fine range for
a person and for an organisation (or a fine as a share of a base amount), the limitation period.

Where the law gives only a maximum the minimum is left empty and the service sets it to 10 % of the
maximum; the dialog shows what that will be. A new item gets the standard five tiers (see
``app.reference.standard_tiers``); an edited one keeps its tiers, which must still fit. Saving
makes a new local release; a refusal is shown under the field it names.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.context import AppContext
from app.errors import DomainError
from app.reference import (
    NO_FINE,
    NO_RATE,
    FineRange,
    ItemInput,
    ItemView,
    PenaltyType,
    RateRange,
    add_item,
    default_minimum,
    default_minimum_bp,
    parse_yuan,
    percent,
    upsert_item,
    yuan_plain,
    yuan_short,
)
from ui.errors import show_error
from ui.forms import buttons
from ui.reference.dialogs import NOTE
from ui.reference.fields import (
    FieldErrors,
    fine_range,
    hint,
    pair,
    parse_percent,
    percent_edit,
    percent_text,
    rate_range,
    yuan_edit,
)

LIMITATION_CHOICES = ((2, "2 年"), (5, "5 年（涉及公民生命健康安全、金融安全且有危害后果）"))
MIN_RULE = "最低额留空：法律只规定最高额，最低额按最高额的 10% 确定"


def _text_edit(text: str, placeholder: str, height: int) -> QPlainTextEdit:
    edit = QPlainTextEdit(text)
    edit.setPlaceholderText(placeholder)
    edit.setFixedHeight(height)
    edit.setTabChangesFocus(True)
    return edit


def _min_hint(low: QLineEdit, high: QLineEdit) -> str:
    """The 10 % rule, with the amount it gives for what is typed in ``high`` when ``low`` is empty."""
    if low.text().strip() or not high.text().strip():
        return MIN_RULE + "。"
    try:
        derived = default_minimum(parse_yuan(high.text()))
    except DomainError:
        return MIN_RULE + "。"
    return f"{MIN_RULE}，即 {yuan_short(derived)}。"


def _rate_hint(low: QLineEdit, high: QLineEdit) -> str:
    text = "按比例罚款（如工程造价的 5%–10%）时填写，不再填固定数额"
    if low.text().strip() or not high.text().strip():
        return text + "。"
    try:
        derived = default_minimum_bp(parse_percent(high.text(), "fine_rate"))
    except DomainError:
        return text + "。"
    return f"{text}；最低比例留空按最高比例的 10% 计，即 {percent(derived)}。"


class ItemDialog(QDialog):
    """新增事项 (``item`` None) or 编辑事项 of the current release."""

    def __init__(
        self,
        ctx: AppContext,
        actor: Actor,
        item: ItemView | None = None,
        categories: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.item = ctx, actor, item
        self.saved: ItemView | None = None
        self.errors = FieldErrors()
        self.setWindowTitle(f"编辑事项 — {item.code}" if item else "新增事项")

        self.code = QLineEdit(placeholderText="如 SZ-036")
        self.name = QLineEdit(placeholderText="如“擅自占用城市道路”")
        self.category = QComboBox(editable=True)
        self.category.addItems(list(categories))
        self.category.setCurrentIndex(-1)
        self.category.lineEdit().setPlaceholderText("选择或输入类别")
        self.breach_basis = _text_edit("", "违反的条款，如“《城市道路管理条例》第二十七条”", 64)
        self.penalty_basis = _text_edit("", "处罚所依据的条款，如“《城市道路管理条例》第四十二条”", 64)
        self.limitation = QComboBox()
        for years, label in LIMITATION_CHOICES:
            self.limitation.addItem(label, years)
        self.local_rule = QCheckBox("依据或数额为地方性规定（办案时提示按本地规定核对）")
        self.note = _text_edit("", "其他需要办案人员注意的事项（可不填）", 60)

        self.types: dict[PenaltyType, QCheckBox] = {t: QCheckBox(t.label) for t in PenaltyType}
        self.person_min, self.person_max = yuan_edit(None, "最低额"), yuan_edit(None, "最高额")
        self.org_min, self.org_max = yuan_edit(None, "最低额"), yuan_edit(None, "最高额")
        self.rate_min, self.rate_max = percent_edit(None, "最低"), percent_edit(None, "最高")
        self.rate_base = QLineEdit(placeholderText="计算基数，如“建设工程造价”")
        self.fine_basis_note = QLineEdit(placeholderText="未规定数额时写明数额依据，如地方性法规条款")
        self.person_hint, self.org_hint, self.rate_hint = hint(), hint(), hint()

        layout = QVBoxLayout(self)
        columns = QHBoxLayout()
        columns.addWidget(self._basics_box(), 5)
        right = QVBoxLayout()
        right.addWidget(self._types_box())
        right.addWidget(self._fine_box(), 1)
        columns.addLayout(right, 4)
        layout.addLayout(columns, 1)
        layout.addWidget(hint(NOTE))
        layout.addWidget(buttons(self, self.save))

        if item is not None:
            self._load(item)
        for edit in (
            self.person_min,
            self.person_max,
            self.org_min,
            self.org_max,
            self.rate_min,
            self.rate_max,
        ):
            edit.textChanged.connect(self._update_hints)
        self.types[PenaltyType.FINE].toggled.connect(self._fine_toggled)
        self._fine_toggled(self.types[PenaltyType.FINE].isChecked())
        self._update_hints()
        self.resize(940, self.sizeHint().height())

    # --- layout ---------------------------------------------------------------------------
    def _basics_box(self) -> QGroupBox:
        box = QGroupBox("基本信息")
        form = QFormLayout(box)
        wrap = self.errors.wrap
        form.addRow("编码 *", wrap("code", self.code))
        form.addRow("事项名称 *", wrap("name", self.name))
        form.addRow("类别 *", wrap("category", self.category))
        form.addRow("违法依据 *", wrap("breach_basis", self.breach_basis))
        form.addRow("处罚依据 *", wrap("penalty_basis", self.penalty_basis))
        form.addRow("追责时效", wrap("limitation_years", self.limitation))
        form.addRow("", self.local_rule)
        form.addRow("说明", wrap("note", self.note))
        return box

    def _types_box(self) -> QGroupBox:
        box = QGroupBox("处罚种类 *")
        grid_box = QWidget()
        grid = QGridLayout(grid_box)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, check in enumerate(self.types.values()):
            grid.addWidget(check, i // 2, i % 2)
        column = QVBoxLayout(box)
        column.addWidget(self.errors.wrap("penalty_types", grid_box, self.types[PenaltyType.WARNING]))
        return box

    def _fine_box(self) -> QWidget:
        self.fine_box = QGroupBox("法定罚款幅度（选中“罚款”后填写）")
        form = QFormLayout(self.fine_box)
        wrap = self.errors.wrap
        form.addRow("个人", wrap("person_fine", pair(self.person_min, self.person_max), self.person_max))
        form.addRow("", self.person_hint)
        form.addRow("单位", wrap("org_fine", pair(self.org_min, self.org_max), self.org_max))
        form.addRow("", self.org_hint)
        form.addRow("按比例", wrap("fine_rate", pair(self.rate_min, self.rate_max, "%"), self.rate_max))
        form.addRow("计算基数", wrap("rate_base", self.rate_base))
        form.addRow("", self.rate_hint)
        form.addRow("罚款说明", wrap("fine_basis_note", self.fine_basis_note))
        # An edit whose new range no longer holds the item's tiers is refused with "tiers".
        return self.errors.wrap("tiers", self.fine_box)

    # --- contents -------------------------------------------------------------------------
    def _load(self, item: ItemView) -> None:
        self.code.setText(item.code)
        # The code is the item's identity in every release and in the cases decided under it.
        self.code.setReadOnly(True)
        self.code.setStyleSheet("background:#eceff1")
        self.code.setToolTip("编码是事项的标识，不能修改；如需换编码，请新增事项后删除旧事项。")
        self.name.setText(item.name)
        self.name.setCursorPosition(0)  # a long name reads from its start
        self.name.setFocus()
        self.category.setCurrentText(item.category)
        self.breach_basis.setPlainText(item.breach_basis)
        self.penalty_basis.setPlainText(item.penalty_basis)
        self.limitation.setCurrentIndex(max(0, self.limitation.findData(item.limitation_years)))
        self.local_rule.setChecked(item.local_rule)
        self.note.setPlainText(item.note)
        for kind, check in self.types.items():
            check.setChecked(kind in item.penalty_types)
        for (low, high), fine in (
            ((self.person_min, self.person_max), item.person_fine),
            ((self.org_min, self.org_max), item.org_fine),
        ):
            self._set_range(low, high, fine)
        rate = item.fine_rate
        # A derived minimum stays empty, so it follows an edited maximum as the law's rule does.
        if not rate.derived_min:
            self.rate_min.setText(percent_text(rate.min_bp))
        self.rate_max.setText(percent_text(rate.max_bp))
        self.rate_base.setText(item.rate_base)
        self.fine_basis_note.setText(item.fine_basis_note)

    @staticmethod
    def _set_range(low: QLineEdit, high: QLineEdit, fine: FineRange) -> None:
        if fine.min_fen is not None and not fine.derived_min:
            low.setText(yuan_plain(fine.min_fen))
        if fine.max_fen is not None:
            high.setText(yuan_plain(fine.max_fen))

    def _fine_toggled(self, on: bool) -> None:
        self.fine_box.setEnabled(on)

    def _update_hints(self) -> None:
        self.person_hint.setText(_min_hint(self.person_min, self.person_max))
        self.org_hint.setText(_min_hint(self.org_min, self.org_max))
        self.rate_hint.setText(_rate_hint(self.rate_min, self.rate_max))

    def item_input(self) -> ItemInput:
        """What the form says (amounts parsed); the service validates the rest."""
        types = tuple(kind for kind, check in self.types.items() if check.isChecked())
        fined = PenaltyType.FINE in types
        person: FineRange = (
            fine_range(self.person_min.text(), self.person_max.text(), "person_fine") if fined else NO_FINE
        )
        org: FineRange = (
            fine_range(self.org_min.text(), self.org_max.text(), "org_fine") if fined else NO_FINE
        )
        rate: RateRange = (
            rate_range(self.rate_min.text(), self.rate_max.text(), "fine_rate") if fined else NO_RATE
        )
        return ItemInput(
            code=self.code.text(),
            name=self.name.text(),
            category=self.category.currentText(),
            breach_basis=self.breach_basis.toPlainText(),
            penalty_basis=self.penalty_basis.toPlainText(),
            penalty_types=types,
            person_fine=person,
            org_fine=org,
            fine_rate=rate,
            rate_base=self.rate_base.text() if fined else "",
            fine_basis_note=self.fine_basis_note.text() if fined else "",
            limitation_years=int(self.limitation.currentData()),
            local_rule=self.local_rule.isChecked(),
            note=self.note.toPlainText(),
        )

    def save(self) -> bool:
        self.errors.clear()
        try:
            data = self.item_input()
            if self.item is None:
                with self.ctx.unit_of_work(self.actor, f"新增执法事项：{data.code.strip()}") as session:
                    self.saved = add_item(session, self.actor, data)
            else:
                with self.ctx.unit_of_work(self.actor, f"修改执法事项：{self.item.code}") as session:
                    self.saved = upsert_item(session, self.actor, data)
        except Exception as exc:
            if not self.errors.show(exc):
                show_error(self, exc, "无法保存执法事项")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls,
        ctx: AppContext,
        actor: Actor,
        item: ItemView | None = None,
        categories: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> ItemView | None:
        """The item as saved (its ``release_no`` is the release the save made), or None."""
        dialog = cls(ctx, actor, item, categories, parent)
        try:
            return dialog.saved if dialog.exec() else None
        finally:
            dialog.deleteLater()
