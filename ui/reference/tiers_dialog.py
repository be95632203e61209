"""编辑裁量基准: the discretion tiers (裁量阶次) of one item — add, remove and reorder tiers, and edit
each one's name, conditions (适用情形), measure (处罚措施), whether it imposes no penalty, and its
fine range for a person and an organisation (or its share of the base amount).

Tiers are held as typed while the dialog is open and parsed on 保存, which hands the whole list to
``set_tiers``: the service checks the order (lightest first), the ranges against the statutory
range, and makes a new local release. A refusal selects the tier it names and is shown in red.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.context import AppContext
from app.errors import ValidationError
from app.reference import ItemView, TierInput, TierView, set_tiers, standard_tiers, yuan_plain
from ui.errors import confirm, show_error
from ui.forms import buttons
from ui.icons import icon
from ui.reference.dialogs import NOTE
from ui.reference.fields import (
    FieldErrors,
    fine_range,
    hint,
    pair,
    percent_edit,
    percent_text,
    rate_range,
    yuan_edit,
)
from ui.reference.models import fine_text

NEW_TIER = "新阶次"
RANGE_NOTE = "两栏都留空表示该阶次对此类当事人不罚款；固定数额请在两栏填相同的数。"


def _amount(fen: int | None) -> str:
    return yuan_plain(fen) if fen is not None else ""


@dataclass
class TierDraft:
    """One tier as the form holds it while editing: the amounts as typed, parsed on save."""

    name: str
    conditions: str = ""
    measure: str = ""
    no_penalty: bool = False
    person_min: str = ""
    person_max: str = ""
    org_min: str = ""
    org_max: str = ""
    rate_min: str = ""
    rate_max: str = ""

    @classmethod
    def of(cls, tier: TierInput) -> TierDraft:
        return cls(
            name=tier.name,
            conditions=tier.conditions,
            measure=tier.measure,
            no_penalty=tier.no_penalty,
            person_min=_amount(tier.person_fine.min_fen),
            person_max=_amount(tier.person_fine.max_fen),
            org_min=_amount(tier.org_fine.min_fen),
            org_max=_amount(tier.org_fine.max_fen),
            rate_min=percent_text(tier.fine_rate.min_bp),
            rate_max=percent_text(tier.fine_rate.max_bp),
        )

    def tier(self) -> TierInput:
        """The tier to hand to the service; a no-penalty tier drops the amounts it may not have."""
        base = TierInput(
            name=self.name,
            conditions=self.conditions,
            measure=self.measure,
            no_penalty=self.no_penalty,
        )
        if self.no_penalty:
            return base
        return dataclasses.replace(
            base,
            person_fine=fine_range(self.person_min, self.person_max, "person_fine"),
            org_fine=fine_range(self.org_min, self.org_max, "org_fine"),
            fine_rate=rate_range(self.rate_min, self.rate_max, "fine_rate"),
        )

    @property
    def label(self) -> str:
        return (self.name.strip() or "（未命名）") + ("（不予处罚）" if self.no_penalty else "")


def _text_edit(placeholder: str, height: int) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setPlaceholderText(placeholder)
    edit.setFixedHeight(height)
    edit.setTabChangesFocus(True)
    return edit


class TiersDialog(QDialog):
    """编辑裁量基准 of ``item``; ``index`` is the tier shown first."""

    def __init__(
        self,
        ctx: AppContext,
        actor: Actor,
        item: ItemView,
        tiers: Sequence[TierInput],
        index: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.item = ctx, actor, item
        self.drafts = [TierDraft.of(t) for t in tiers]
        self.saved: list[TierView] | None = None
        self.errors = FieldErrors()
        self._shown = -1  # the draft the form shows
        self.setWindowTitle(f"编辑裁量基准 — {item.code}")

        self.tier_list = QListWidget(objectName="tier_list")
        self.add_button = QPushButton(icon("add"), "添加阶次")
        self.remove_button = QPushButton(icon("delete"), "删除阶次")
        self.up_button = QPushButton(icon("move.up"), "上移")
        self.down_button = QPushButton(icon("move.down"), "下移")
        self.standard_button = QPushButton(icon("reset"), "恢复标准五档")
        self.standard_button.setToolTip(
            "特别轻微（不予处罚）、轻微、一般、严重、特别严重，按法定幅度自动划分"
        )
        self.tier_name = QLineEdit(placeholderText="如“一般”，最多 20 个字")
        self.no_penalty = QCheckBox("不予处罚（《行政处罚法》第三十三条），须排在罚款阶次之前")
        self.conditions = _text_edit("什么情形适用本阶次，如“违法情节较轻，经指出后能主动改正”", 84)
        self.measure = _text_edit("如何处罚，如“按法定最低罚款额处罚”", 56)
        self.person_min, self.person_max = yuan_edit(None, "下限"), yuan_edit(None, "上限")
        self.org_min, self.org_max = yuan_edit(None, "下限"), yuan_edit(None, "上限")
        self.rate_min, self.rate_max = percent_edit(None, "下限"), percent_edit(None, "上限")

        layout = QVBoxLayout(self)
        legal = f"个人 {fine_text(item.person_fine, item.fine_rate, item.rate_base)}；"
        legal += f"单位 {fine_text(item.org_fine, item.fine_rate, item.rate_base)}"
        title = QLabel(
            f"<b>{item.code}　{item.name}</b><br><span style='color:#607d8b'>法定幅度：{legal}</span>"
        )
        title.setWordWrap(True)
        layout.addWidget(title)
        columns = QHBoxLayout()
        columns.addLayout(self._list_column(), 2)
        columns.addWidget(self._tier_box(), 5)
        layout.addLayout(columns, 1)
        layout.addWidget(
            hint("阶次从轻到重排列，后一阶次的罚款下限不低于前一阶次的上限（可以相等）。" + NOTE)
        )
        layout.addWidget(buttons(self, self.save))

        self.tier_list.currentRowChanged.connect(self._row_changed)
        self.tier_name.textEdited.connect(self._name_edited)
        self.no_penalty.toggled.connect(self._no_penalty_toggled)
        self.add_button.clicked.connect(self.add_tier)
        self.remove_button.clicked.connect(self.remove_tier)
        self.up_button.clicked.connect(self.move_up)
        self.down_button.clicked.connect(self.move_down)
        self.standard_button.clicked.connect(self.use_standard)
        self._fill_list(max(0, min(index, len(self.drafts) - 1)))
        self.resize(860, self.sizeHint().height())

    # --- layout ---------------------------------------------------------------------------
    def _list_column(self) -> QVBoxLayout:
        column = QVBoxLayout()
        column.addWidget(QLabel("阶次（从轻到重）"))
        column.addWidget(self.errors.wrap("tiers", self.tier_list), 1)
        grid = QGridLayout()
        grid.addWidget(self.add_button, 0, 0)
        grid.addWidget(self.remove_button, 0, 1)
        grid.addWidget(self.up_button, 1, 0)
        grid.addWidget(self.down_button, 1, 1)
        grid.addWidget(self.standard_button, 2, 0, 1, 2)
        column.addLayout(grid)
        return column

    def _tier_box(self) -> QGroupBox:
        box = QGroupBox("阶次内容")
        form = QFormLayout(box)
        wrap = self.errors.wrap
        form.addRow("阶次名称 *", self.tier_name)
        form.addRow("", self.no_penalty)
        form.addRow("适用情形", self.conditions)
        form.addRow("处罚措施", self.measure)
        # Only the kinds of fine the law sets for this item: the service refuses any other.
        item = self.item
        self.fine_rows = []
        for label, key, low, high, unit, shown in (
            ("罚款（个人）", "person_fine", self.person_min, self.person_max, "元", item.person_fine.is_set),
            ("罚款（单位）", "org_fine", self.org_min, self.org_max, "元", item.org_fine.is_set),
            (
                f"罚款比例（{item.rate_base}）",
                "fine_rate",
                self.rate_min,
                self.rate_max,
                "%",
                item.fine_rate.is_set,
            ),
        ):
            if shown:
                row = wrap(key, pair(low, high, unit), high)
                self.fine_rows.append(row)
                form.addRow(label, row)
        if self.fine_rows:
            form.addRow("", hint(RANGE_NOTE))
        else:
            form.addRow("", hint("该事项没有规定罚款数额，阶次不设罚款幅度。"))
        return box

    # --- the list and the form ------------------------------------------------------------
    def _fill_list(self, current: int) -> None:
        self._shown = -1  # the form's contents are stored already: nothing to keep on the switch
        self.tier_list.blockSignals(True)
        self.tier_list.clear()
        self.tier_list.addItems([f"{i}. {d.label}" for i, d in enumerate(self.drafts, start=1)])
        self.tier_list.blockSignals(False)
        self.tier_list.setCurrentRow(current)
        if self.tier_list.currentRow() == current and self._shown != current:
            self._row_changed(current)

    def _row_changed(self, row: int) -> None:
        self._store()
        self._shown = -1  # while loading, a toggled signal must not store a half-loaded form
        draft = self.drafts[row] if 0 <= row < len(self.drafts) else TierDraft("")
        self.tier_name.setText(draft.name)
        self.no_penalty.setChecked(draft.no_penalty)
        self.conditions.setPlainText(draft.conditions)
        self.measure.setPlainText(draft.measure)
        for edit, text in (
            (self.person_min, draft.person_min),
            (self.person_max, draft.person_max),
            (self.org_min, draft.org_min),
            (self.org_max, draft.org_max),
            (self.rate_min, draft.rate_min),
            (self.rate_max, draft.rate_max),
        ):
            edit.setText(text)
        self._shown = row
        self._no_penalty_toggled(draft.no_penalty)
        self._update_buttons()

    def _store(self) -> None:
        """Keep what the form says in the draft it shows."""
        if not 0 <= self._shown < len(self.drafts):
            return
        draft = self.drafts[self._shown]
        draft.name = self.tier_name.text()
        draft.no_penalty = self.no_penalty.isChecked()
        draft.conditions = self.conditions.toPlainText()
        draft.measure = self.measure.toPlainText()
        draft.person_min, draft.person_max = self.person_min.text(), self.person_max.text()
        draft.org_min, draft.org_max = self.org_min.text(), self.org_max.text()
        draft.rate_min, draft.rate_max = self.rate_min.text(), self.rate_max.text()
        item = self.tier_list.item(self._shown)
        if item is not None:
            item.setText(f"{self._shown + 1}. {draft.label}")

    def _name_edited(self, _text: str) -> None:
        self._store()

    def _no_penalty_toggled(self, on: bool) -> None:
        for row in self.fine_rows:
            row.setEnabled(not on)
        self._store()

    def _update_buttons(self) -> None:
        row, count = self.tier_list.currentRow(), len(self.drafts)
        self.remove_button.setEnabled(count > 1 and row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < count - 1)
        self.add_button.setEnabled(count < 10)

    def current_index(self) -> int:
        return self.tier_list.currentRow()

    # --- actions --------------------------------------------------------------------------
    def add_tier(self) -> None:
        self._store()
        names = {d.name.strip() for d in self.drafts}
        name = next(n for n in (NEW_TIER, *(f"{NEW_TIER}{i}" for i in range(2, 20))) if n not in names)
        at = self.current_index() + 1
        self.drafts.insert(at, TierDraft(name))
        self._fill_list(at)
        self.tier_name.setFocus()
        self.tier_name.selectAll()

    def remove_tier(self) -> None:
        row = self.current_index()
        if len(self.drafts) <= 1 or row < 0:
            return
        self._store()
        del self.drafts[row]
        self._fill_list(min(row, len(self.drafts) - 1))

    def _move(self, step: int) -> None:
        row = self.current_index()
        to = row + step
        if not (0 <= row < len(self.drafts) and 0 <= to < len(self.drafts)):
            return
        self._store()
        self.drafts[row], self.drafts[to] = self.drafts[to], self.drafts[row]
        self._fill_list(to)

    def move_up(self) -> None:
        self._move(-1)

    def move_down(self) -> None:
        self._move(1)

    def use_standard(self) -> None:
        if not confirm(
            self,
            "恢复标准五档",
            f"用标准五档（特别轻微、轻微、一般、严重、特别严重）替换“{self.item.name}”现有的"
            f" {len(self.drafts)} 个阶次？\n按法定幅度自动划分罚款，点“保存”后才生效。",
        ):
            return
        self.drafts = [TierDraft.of(t) for t in standard_tiers(self.item)]
        self._fill_list(0)

    def tiers(self) -> list[TierInput]:
        """Every tier as typed, parsed; a bad amount selects its tier and names the field."""
        self._store()
        out: list[TierInput] = []
        for row, draft in enumerate(self.drafts):
            try:
                out.append(draft.tier())
            except ValidationError:
                self.tier_list.setCurrentRow(row)
                raise
        return out

    def _select_named(self, exc: BaseException) -> None:
        # The service's messages name the tier at fault, as “一般”.
        if isinstance(exc, ValidationError):
            for row, draft in enumerate(self.drafts):
                if draft.name.strip() and f"“{draft.name.strip()}”" in exc.message:
                    self.tier_list.setCurrentRow(row)
                    return

    def save(self) -> bool:
        self.errors.clear()
        try:
            tiers = self.tiers()
            summary = f"调整裁量基准：{self.item.code} {self.item.name}"
            with self.ctx.unit_of_work(self.actor, summary) as session:
                self.saved = set_tiers(session, self.actor, self.item.code, tiers)
        except Exception as exc:
            self._select_named(exc)
            if not self.errors.show(exc):
                show_error(self, exc, "无法修改裁量基准")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls,
        ctx: AppContext,
        actor: Actor,
        item: ItemView,
        tiers: Sequence[TierInput],
        index: int = 0,
        parent: QWidget | None = None,
    ) -> list[TierView] | None:
        """The tiers as saved (their ``release_no`` is the release the save made), or None."""
        dialog = cls(ctx, actor, item, tiers, index, parent)
        try:
            return dialog.saved if dialog.exec() else None
        finally:
            dialog.deleteLater()
