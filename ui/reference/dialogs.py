"""Editors of the reference data for the administrator (管理员), until the district ships it:
the procedural thresholds (程序阈值) and the fine range of one discretion tier (裁量阶次).

Amounts are typed in yuan and parsed by :func:`app.reference.parse_yuan`; every save creates a
new local release (本地修订) through the service, which validates it. A refusal is shown and the
dialog keeps what was typed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.context import AppContext
from app.reference import (
    THRESHOLD_FIELDS,
    FineRange,
    ItemView,
    Thresholds,
    TierView,
    parse_yuan,
    set_thresholds,
    set_tiers,
    yuan_plain,
)
from ui.errors import show_error
from ui.forms import buttons, focus_field

NOTE = "保存后生成新的本地修订版本；已按旧版本办理的案件不受影响。"


def yuan_edit(fen: int | None, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(yuan_plain(fen) if fen is not None else "", placeholderText=placeholder)
    edit.setMaximumWidth(160)
    return edit


def _with_unit(edit: QLineEdit) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit)
    row.addWidget(QLabel("元"))
    row.addStretch(1)
    return box


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color:#607d8b")
    return label


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
            edit = yuan_edit(getattr(current, key))
            if ceiling is not None:
                edit.setToolTip(f"法定上限 {yuan_plain(ceiling)} 元，省级规定只能更低")
            self.edits[key] = edit
            form.addRow(label, _with_unit(edit))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_hint(NOTE))
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
        return dialog.saved if dialog.exec() else None


def _range(low: QLineEdit, high: QLineEdit, field: str) -> FineRange:
    """Both empty: no fine for this party kind; otherwise what was typed (the service insists on
    both ends and names the tier when one is missing)."""
    lo, hi = low.text().strip(), high.text().strip()
    return FineRange(
        parse_yuan(lo, field=field) if lo else None,
        parse_yuan(hi, field=field) if hi else None,
    )


class TierFineDialog(QDialog):
    """修改阶次罚款幅度: the fine range of one tier of an item, for a person and an organisation."""

    def __init__(
        self,
        ctx: AppContext,
        actor: Actor,
        item: ItemView,
        tiers: Sequence[TierView],
        index: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.item, self.tiers = ctx, actor, item, list(tiers)
        self.saved: list[TierView] | None = None
        self.setWindowTitle(f"修改裁量阶次罚款幅度 — {item.code}")
        self.tier = QComboBox()
        for tier in self.tiers:
            self.tier.addItem(tier.name + ("（不予处罚）" if tier.no_penalty else ""))
        self.conditions = _hint("")
        self.person_min, self.person_max = yuan_edit(None, "下限"), yuan_edit(None, "上限")
        self.org_min, self.org_max = yuan_edit(None, "下限"), yuan_edit(None, "上限")
        form = QFormLayout()
        form.addRow("事项", _hint(f"{item.code}　{item.name}"))
        form.addRow("法定幅度", QLabel(f"个人 {item.person_fine.text}；单位 {item.org_fine.text}"))
        form.addRow("阶次", self.tier)
        form.addRow("适用情形", self.conditions)
        form.addRow("罚款（个人）", self._pair(self.person_min, self.person_max))
        form.addRow("罚款（单位）", self._pair(self.org_min, self.org_max))
        self.fields: dict[str, QWidget] = {
            "tiers": self.person_min,
            "person": self.person_min,
            "org": self.org_min,
        }
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_hint("两栏都留空表示该阶次对此类当事人不罚款；固定数额请在两栏填相同的数。" + NOTE))
        layout.addWidget(buttons(self, self.save))
        self.tier.currentIndexChanged.connect(self._load)
        self.tier.setCurrentIndex(max(0, min(index, len(self.tiers) - 1)))
        self._load()
        self.resize(520, self.sizeHint().height())

    @staticmethod
    def _pair(low: QLineEdit, high: QLineEdit) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(low)
        row.addWidget(QLabel("至"))
        row.addWidget(high)
        row.addWidget(QLabel("元"))
        row.addStretch(1)
        return box

    def _load(self) -> None:
        tier = self.tiers[self.tier.currentIndex()]
        self.conditions.setText(tier.conditions or "—")
        for edit, fen in (
            (self.person_min, tier.person_fine.min_fen),
            (self.person_max, tier.person_fine.max_fen),
            (self.org_min, tier.org_fine.min_fen),
            (self.org_max, tier.org_fine.max_fen),
        ):
            edit.setText(yuan_plain(fen) if fen is not None else "")

    def changed_tiers(self) -> list[TierView]:
        index = self.tier.currentIndex()
        person = _range(self.person_min, self.person_max, "person")
        org = _range(self.org_min, self.org_max, "org")
        tiers = list(self.tiers)
        tiers[index] = dataclasses.replace(tiers[index], person_fine=person, org_fine=org)
        return tiers

    def save(self) -> bool:
        try:
            tiers = self.changed_tiers()
            summary = f"调整裁量基准：{self.item.code} {self.tier.currentText()}"
            with self.ctx.unit_of_work(self.actor, summary) as session:
                self.saved = set_tiers(session, self.actor, self.item.code, tiers)
        except Exception as exc:
            focus_field(self.fields, exc)
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
        tiers: Sequence[TierView],
        index: int = 0,
        parent: QWidget | None = None,
    ) -> list[TierView] | None:
        dialog = cls(ctx, actor, item, tiers, index, parent)
        return dialog.saved if dialog.exec() else None
