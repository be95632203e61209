"""Form pieces shared by the reference-data editors: amounts in yuan and rates in percent as the
administrator types them, a "下限 至 上限" pair, grey hints, and :class:`FieldErrors`, which shows
a service's ValidationError in red under the field it names instead of in a message box."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.errors import ValidationError
from app.reference import FineRange, RateRange, parse_yuan, percent, yuan_plain
from ui.forms import focus_field

ERROR_STYLE = "color:#c62828"
HINT_STYLE = "color:#607d8b"
_PERCENT_TEXT = re.compile(r"^(\d+)(?:\.(\d{1,2}))?$")


def yuan_edit(fen: int | None, placeholder: str = "", width: int = 120) -> QLineEdit:
    edit = QLineEdit(yuan_plain(fen) if fen is not None else "", placeholderText=placeholder)
    edit.setMaximumWidth(width)
    return edit


def percent_edit(bp: int | None, placeholder: str = "", width: int = 80) -> QLineEdit:
    edit = QLineEdit(percent_text(bp), placeholderText=placeholder)
    edit.setMaximumWidth(width)
    return edit


def with_unit(edit: QWidget, unit: str = "元") -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit)
    row.addWidget(QLabel(unit))
    row.addStretch(1)
    return box


def pair(low: QLineEdit, high: QLineEdit, unit: str = "元") -> QWidget:
    """下限 至 上限 元, left-aligned."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(low)
    row.addWidget(QLabel("至"))
    row.addWidget(high)
    row.addWidget(QLabel(unit))
    row.addStretch(1)
    return box


def hint(text: str = "", object_name: str = "") -> QLabel:
    label = QLabel(text, objectName=object_name)
    label.setWordWrap(True)
    label.setStyleSheet(HINT_STYLE)
    return label


def parse_percent(text: str, field: str) -> int:
    """What was typed ("5", "7.5", "7.5%") as basis points; ValidationError naming ``field``."""
    clean = text.strip().replace(" ", "").removesuffix("%").removesuffix("％")
    match = _PERCENT_TEXT.match(clean)
    if not match:
        raise ValidationError(f"“{text}”不是有效的百分数，请填写如 5 或 7.5（最多两位小数）。", field=field)
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))


def fine_range(low: str, high: str, field: str) -> FineRange:
    """The range two fields say; an empty field is None (the service says what is missing)."""
    lo, hi = low.strip(), high.strip()
    return FineRange(
        parse_yuan(lo, field=field) if lo else None,
        parse_yuan(hi, field=field) if hi else None,
    )


def rate_range(low: str, high: str, field: str) -> RateRange:
    lo, hi = low.strip(), high.strip()
    return RateRange(
        parse_percent(lo, field) if lo else None,
        parse_percent(hi, field) if hi else None,
    )


def percent_text(bp: int | None) -> str:
    """Basis points as a percent field shows them: 750 → 7.5."""
    return percent(bp).removesuffix("%") if bp is not None else ""


class FieldErrors:
    """Registers a form's fields by the names a service's ValidationError uses (``field``) and
    shows such an error in red under its field, which gets the focus. Errors naming no
    registered field are left to the caller (``show`` returns False) for ui.errors.show_error."""

    def __init__(self) -> None:
        self.targets: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}

    def wrap(
        self, key: str, widget: QWidget, focus: QWidget | None = None, aliases: tuple[str, ...] = ()
    ) -> QWidget:
        """``widget`` with a hidden error line under it; ``focus`` gets the focus (default ``widget``)."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        label = QLabel(objectName=f"error_{key}")
        label.setWordWrap(True)
        label.setStyleSheet(ERROR_STYLE)
        label.hide()
        column.addWidget(label)
        for name in (key, *aliases):
            self.targets[name] = focus or widget
            self.labels[name] = label
        return box

    def show(self, exc: BaseException) -> bool:
        self.clear()
        if not isinstance(exc, ValidationError) or exc.field not in self.labels:
            return False
        label = self.labels[exc.field]
        label.setText(exc.message)
        label.show()
        focus_field(self.targets, exc)
        return True

    def clear(self) -> None:
        for label in self.labels.values():
            label.clear()
            label.hide()

    def message(self, key: str) -> str:
        """The error shown under ``key``'s field, or "" (tests read it)."""
        label = self.labels[key]
        return "" if label.isHidden() else label.text()
