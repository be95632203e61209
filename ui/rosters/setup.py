"""The set-up dialogs of the duty-roster page (值班排班), opened from its toolbar: 班次设置 (shift
types), 排班需求 (how many people each shift needs on each day of a month) and 请假登记 (leave),
each with its small editor.

They read through ``ctx.read()`` and write one user action per ``ctx.unit_of_work``; the services
of :mod:`app.rosters.data` validate, and a refusal is shown (ui.errors) with the field it names
focused while the editor stays open. Without 编排值班表 (``EDIT_ROSTERS``) the dialogs open
read-only. Each ``ask`` returns True when something was written, so the page knows to reload.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.calendar import DayInfo, calendar_for
from app.context import AppContext
from app.errors import DomainError, ValidationError
from app.personnel.members import MemberQuery, search_members
from app.rosters.data import (
    LEAVE_KIND_LABELS,
    DemandInput,
    DemandView,
    LeaveInput,
    LeaveView,
    ShiftTypeInput,
    ShiftTypeView,
    add_leave,
    copy_week_to_month,
    create_shift_type,
    day_text,
    ensure_default_shift_types,
    list_demand,
    list_leaves,
    list_shift_types,
    month_bounds,
    month_title,
    remove_leave,
    set_demand,
    update_shift_type,
)
from ui.errors import confirm, show_error
from ui.forms import (
    MEMBER_LIMIT,
    buttons,
    chosen_member,
    date_edit,
    focus_field,
    from_qdate,
    member_combo,
    to_qdate,
)
from ui.icons import icon
from ui.tablemodel import Column, RowTableModel

WEEKDAYS = "一二三四五六日"
HINT_STYLE = "color:#607d8b"
DONE_STYLE = "color:#2e7d32"
INACTIVE_BACKGROUND = QColor("#eceff1")
#: Rest days (weekends, days off in lieu) and statutory holidays, told apart at a glance.
REST_BACKGROUND = QColor("#fff3e0")
HOLIDAY_BACKGROUND = QColor("#fde7e9")
#: The leave kinds in the order the service lists them; the combo's index is the position here.
LEAVE_KINDS = tuple(LEAVE_KIND_LABELS)
TIME_HINT = (
    "时间按“08:00”填写；结束时间早于开始时间即到次日结束（如 20:00–08:00），“24:00”表示当天午夜。"
    "24小时值班的结束时间与开始时间相同。"
)


def needs(permission: Permission) -> str:
    return f"需要“{permission.label}”权限"


def weekday_text(day: dt.date) -> str:
    return f"周{WEEKDAYS[day.weekday()]}"


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(HINT_STYLE)
    return label


def _status_label() -> QLabel:
    label = QLabel(objectName="status")
    label.setWordWrap(True)
    label.setStyleSheet(DONE_STYLE)
    label.hide()
    return label


def _fit(dialog: QDialog, width: int) -> None:
    """Size a form dialog to ``width`` and the height its wrapped hints need at that width."""
    layout = dialog.layout()
    height = layout.heightForWidth(width) if layout is not None and layout.hasHeightForWidth() else -1
    dialog.resize(width, max(height, dialog.sizeHint().height()))


def _close_box(dialog: QDialog) -> QDialogButtonBox:
    box = QDialogButtonBox()
    box.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
    box.rejected.connect(dialog.reject)
    return box


def _table(model: RowTableModel[Any], name: str) -> QTableView:
    view = QTableView(objectName=name)
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def swatch(colour: str, size: int = 14) -> QIcon:
    """A small square of the shift's colour, with a grey border so white still shows."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor("#90a4ae"))
    inner = QPixmap(size - 2, size - 2)
    inner.fill(QColor(colour))
    painter = QPainter(pixmap)
    painter.drawPixmap(1, 1, inner)
    painter.end()
    return QIcon(pixmap)


def _edit_button(bar: QHBoxLayout, text: str, icon_name: str | None, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(icon(icon_name), text) if icon_name else QPushButton(text)
    button.clicked.connect(slot)
    bar.addWidget(button)
    return button


def _read_only(can_edit: bool, widgets: Iterable[QWidget]) -> None:
    """Without 编排值班表 every editing button is off and says which permission it needs."""
    if can_edit:
        return
    for widget in widgets:
        widget.setEnabled(False)
        widget.setToolTip(needs(Permission.EDIT_ROSTERS))


def _shift_types(ctx: AppContext, actor: Actor, include_inactive: bool) -> tuple[list[ShiftTypeView], bool]:
    """The squad's shift types, and whether the default set had to be created for them first —
    as ``get_or_create_roster`` would on the page, so a new squad never sees an empty dialog."""
    with ctx.read() as session:
        shifts = list_shift_types(session, actor, include_inactive=include_inactive)
    if shifts or not actor.can(Permission.EDIT_ROSTERS):
        return shifts, False
    with ctx.unit_of_work(actor, "设置默认班次") as session:
        ensure_default_shift_types(session, actor)
    with ctx.read() as session:
        return list_shift_types(session, actor, include_inactive=include_inactive), True


# ---- 班次设置 --------------------------------------------------------------------------------------


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def span_hours(shift: ShiftTypeView) -> float:
    """The whole length of the shift in hours (a 24-hour duty: 24)."""
    if shift.is_24h:
        return 24.0
    return ((_minutes(shift.end_text) - _minutes(shift.start_text)) % (24 * 60)) / 60


def end_text(shift: ShiftTypeView) -> str:
    """The end time, marked 次日 when the shift runs past midnight."""
    overnight = shift.is_24h or _minutes(shift.end_text) <= _minutes(shift.start_text)
    return f"次日 {shift.end_text}" if overnight else shift.end_text


def _flag(on: bool) -> str:
    return "是" if on else ""


class ShiftTypeModel(RowTableModel[ShiftTypeView]):
    COLOUR = 8
    columns = (
        Column("代码", lambda s: s.code),
        Column("名称", lambda s: s.name),
        Column("开始", lambda s: s.start_text),
        Column("结束", end_text),
        Column("计算工时", lambda s: s.hours, align_right=True),
        Column("夜班", lambda s: _flag(s.is_night)),
        Column("24小时", lambda s: _flag(s.is_24h)),
        Column("须有民警", lambda s: _flag(s.needs_police)),
        Column("颜色", lambda s: s.colour),
        Column("启用", lambda s: "启用" if s.active else "停用"),
    )

    def row_background(self, item: ShiftTypeView) -> QColor | None:
        return None if item.active else INACTIVE_BACKGROUND

    def decoration(self, item: ShiftTypeView, column: int) -> QIcon | None:
        return swatch(item.colour) if column == self.COLOUR else None


class ShiftTypeEditor(QDialog):
    """新增班次 (``shift`` None) or 修改班次."""

    def __init__(
        self,
        ctx: AppContext,
        actor: Actor,
        shift: ShiftTypeView | None = None,
        sort_order: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.shift = ctx, actor, shift
        self.saved: ShiftTypeView | None = None
        self.colour = "#FFFFFF"
        self.setWindowTitle(f"修改班次 — {shift.name}" if shift else "新增班次")

        self.code = QLineEdit(placeholderText="排班表中显示的简称，如“早”")
        self.name = QLineEdit(placeholderText="如“早班”")
        self.start = QLineEdit(placeholderText="08:00")
        self.end = QLineEdit(placeholderText="16:00")
        for edit in (self.start, self.end):
            edit.setMaximumWidth(90)
        self.hours = QLineEdit(placeholderText="留空按班次时长计")
        self.hours.setMaximumWidth(140)
        self.hours.setToolTip("计入工作时间的小时数，如 08:30–17:30 扣除午休计 8 小时")
        self.is_night = QCheckBox("夜班（跨越午夜或在 22:00 至次日 06:00 之间）")
        self.is_24h = QCheckBox("24小时值班")
        self.needs_police = QCheckBox("须有公安民警（联勤班次）")
        self.colour_button = QPushButton()
        self.colour_button.setToolTip("排班表中该班次格子的底色")
        self.colour_button.clicked.connect(self.choose_colour)
        self.sort_order = QSpinBox(minimum=0, maximum=9999, value=sort_order)
        self.sort_order.setToolTip("班次在表格中的先后，数小的在前")
        self.sort_order.setMaximumWidth(100)
        self.active = QCheckBox("启用（停用后不能再排，已排的保留）")
        self.active.setChecked(True)

        times = QWidget()
        row = QHBoxLayout(times)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.start)
        row.addWidget(QLabel("至"))
        row.addWidget(self.end)
        row.addStretch(1)
        form = QFormLayout()
        form.addRow("代码 *", self.code)
        form.addRow("名称 *", self.name)
        form.addRow("时间 *", times)
        form.addRow("计算工时", self.hours)
        form.addRow("", self.is_night)
        form.addRow("", self.is_24h)
        form.addRow("", self.needs_police)
        form.addRow("颜色", self.colour_button)
        form.addRow("排序", self.sort_order)
        form.addRow("", self.active)
        self.fields: dict[str, QWidget] = {
            "code": self.code,
            "name": self.name,
            "start": self.start,
            "end": self.end,
            "hours": self.hours,
            "is_night": self.is_night,
            "is_24h": self.is_24h,
            "needs_police": self.needs_police,
            "colour": self.colour_button,
        }
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_hint(TIME_HINT))
        layout.addWidget(buttons(self, self.save))
        if shift is not None:
            self._load(shift)
        self._show_colour()
        _fit(self, 480)

    def _load(self, shift: ShiftTypeView) -> None:
        self.code.setText(shift.code)
        self.name.setText(shift.name)
        self.start.setText(shift.start_text)
        self.end.setText(shift.end_text)
        # Hours equal to the whole span stay empty, so they follow an edited time.
        if abs(shift.hours - span_hours(shift)) > 1e-6:
            self.hours.setText(f"{shift.hours:g}")
        self.is_night.setChecked(shift.is_night)
        self.is_24h.setChecked(shift.is_24h)
        self.needs_police.setChecked(shift.needs_police)
        self.colour = shift.colour
        self.sort_order.setValue(shift.sort_order)
        self.active.setChecked(shift.active)

    def _show_colour(self) -> None:
        self.colour_button.setIcon(swatch(self.colour, 16))
        self.colour_button.setText(f"{self.colour}  选择…")

    def choose_colour(self) -> None:
        chosen = QColorDialog.getColor(QColor(self.colour), self, "选择班次颜色")
        if chosen.isValid():
            self.colour = chosen.name().upper()
            self._show_colour()

    def shift_input(self) -> ShiftTypeInput:
        text = self.hours.text().strip()
        try:
            hours = float(text) if text else None
        except ValueError:
            raise ValidationError(
                f"计算工时“{text}”不是数字，请填写小时数（如 8 或 7.5），或留空。", field="hours"
            ) from None
        return ShiftTypeInput(
            code=self.code.text(),
            name=self.name.text(),
            start=self.start.text(),
            end=self.end.text(),
            hours=hours,
            is_night=self.is_night.isChecked(),
            is_24h=self.is_24h.isChecked(),
            needs_police=self.needs_police.isChecked(),
            colour=self.colour,
            sort_order=self.sort_order.value(),
            active=self.active.isChecked(),
        )

    def save(self) -> bool:
        try:
            data = self.shift_input()
            if self.shift is None:
                with self.ctx.unit_of_work(self.actor, f"新增班次：{data.name.strip()}") as session:
                    self.saved = create_shift_type(session, self.actor, data)
            else:
                with self.ctx.unit_of_work(self.actor, f"修改班次：{self.shift.name}") as session:
                    self.saved = update_shift_type(
                        session, self.actor, self.shift.id, data, self.shift.version
                    )
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法保存班次")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls,
        ctx: AppContext,
        actor: Actor,
        shift: ShiftTypeView | None = None,
        sort_order: int = 0,
        parent: QWidget | None = None,
    ) -> ShiftTypeView | None:
        """The shift type as saved, or None when cancelled."""
        dialog = cls(ctx, actor, shift, sort_order, parent)
        try:
            return dialog.saved if dialog.exec() else None
        finally:
            dialog.deleteLater()


class ShiftTypesDialog(QDialog):
    """班次设置: every shift type, the stopped ones too (greyed)."""

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.can_edit = actor.can(Permission.EDIT_ROSTERS)
        self.changed = False
        self.setWindowTitle("班次设置")

        bar = QHBoxLayout()
        bar.addWidget(_hint("班次停用后不能再排，已排的班次保留；班次不删除，以免旧值班表无从查对。"), 1)
        self.add_button = _edit_button(bar, "新增…", "add", self.new_shift)
        self.edit_button = _edit_button(bar, "修改…", "edit", self.edit_shift)
        self.model = ShiftTypeModel(self)
        self.table = _table(self.model, "shift_types")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self._double_clicked)
        self.status_label = _status_label()
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(_close_box(self))

        shifts, created = _shift_types(ctx, actor, include_inactive=True)
        self.changed = created
        self.model.set_rows(shifts)
        self.table.resizeColumnsToContents()
        for column, width in ((1, 130), (3, 90), (8, 100)):
            self.table.setColumnWidth(column, max(self.table.columnWidth(column), width))
        _read_only(self.can_edit, (self.add_button, self.edit_button))
        self._update_buttons()
        self.resize(820, 420)

    def refresh(self, select_id: str | None = None) -> None:
        try:
            with self.ctx.read() as session:
                shifts = list_shift_types(session, self.actor, include_inactive=True)
        except DomainError as exc:
            show_error(self, exc, "无法读取班次")
            return
        self.model.set_rows(shifts)
        if select_id is not None:
            self.model.select_in(self.table, lambda s: s.id == select_id)
        self._update_buttons()

    def selected(self) -> ShiftTypeView | None:
        return self.model.selected_in(self.table)

    def _update_buttons(self) -> None:
        if self.can_edit:
            self.edit_button.setEnabled(self.selected() is not None)

    def _double_clicked(self, index: QModelIndex) -> None:
        self.edit_shift()

    def new_shift(self) -> None:
        if not self.can_edit:
            return
        last = max((s.sort_order for s in self.model.rows()), default=0)
        saved = ShiftTypeEditor.ask(self.ctx, self.actor, None, last + 10, self)
        if saved is not None:
            self._saved(saved, f"已新增班次“{saved.name}”。")

    def edit_shift(self) -> None:
        shift = self.selected()
        if not self.can_edit or shift is None:
            return
        saved = ShiftTypeEditor.ask(self.ctx, self.actor, shift, shift.sort_order, self)
        if saved is not None:
            self._saved(saved, f"已修改班次“{saved.name}”。")

    def _saved(self, saved: ShiftTypeView, message: str) -> None:
        self.changed = True
        self.refresh(saved.id)
        self.status_label.setText(message)
        self.status_label.show()

    @classmethod
    def ask(cls, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> bool:
        """True when a shift type was added or changed (the page reloads the month)."""
        try:
            dialog = cls(ctx, actor, parent)
        except DomainError as exc:
            show_error(parent, exc, "无法打开班次设置")
            return False
        try:
            dialog.exec()
            return dialog.changed
        finally:
            dialog.deleteLater()


# ---- 排班需求 --------------------------------------------------------------------------------------


def demand_text(demand: DemandView | None) -> str:
    """A day's demand of one shift as the table shows it: "3人 持证2 民警1 领导"."""
    if demand is None:
        return ""
    parts = [f"{demand.headcount}人"]
    if demand.min_certified:
        parts.append(f"持证{demand.min_certified}")
    if demand.min_police:
        parts.append(f"民警{demand.min_police}")
    if demand.needs_leader:
        parts.append("领导")
    return " ".join(parts)


def demand_sentence(shift: ShiftTypeView, demand: DemandView | None) -> str:
    head = f"{shift.name} {shift.start_text}–{end_text(shift)}"
    if demand is None:
        return f"{head}：不需要排人"
    parts: list[str] = []
    if demand.min_certified:
        parts.append(f"持证执法人员至少 {demand.min_certified} 名")
    if demand.min_police:
        parts.append(f"公安民警至少 {demand.min_police} 名")
    if demand.needs_leader:
        parts.append("须有带班领导")
    return f"{head}：需 {demand.headcount} 人" + (f"，其中{'、'.join(parts)}" if parts else "")


def day_kind(info: DayInfo) -> str:
    """节假日 column: the holiday's name, 调休上班, or 周末 / 休息日 for an ordinary day off."""
    if info.name:
        return info.name
    if not info.workday:
        return "周末" if info.day.weekday() >= 5 else "休息日"
    return ""


@dataclass(frozen=True)
class DemandDay:
    """One row of 排班需求: a day of the month and its demand per shift type id."""

    info: DayInfo
    demands: dict[str, DemandView] = field(default_factory=dict)

    @property
    def day(self) -> dt.date:
        return self.info.day


def _day_tooltip(row: DemandDay) -> str:
    text = f"{row.day:%Y-%m-%d} {weekday_text(row.day)} {'工作日' if row.info.workday else '休息日'}"
    if row.info.name:
        text += f"（{row.info.name}）"
    if row.info.provisional:
        text += "\n当年的节假日安排尚未公布，按常规推算，可能变化。"
    return text


def _demand_column(shift: ShiftTypeView) -> Column[DemandDay]:
    def value(row: DemandDay) -> str:
        return demand_text(row.demands.get(shift.id))

    def tooltip(row: DemandDay) -> str:
        return f"{day_text(row.day)} {demand_sentence(shift, row.demands.get(shift.id))}"

    return Column(f"{shift.name}\n{shift.start_text}–{end_text(shift)}", value, tooltip=tooltip)


class DemandModel(RowTableModel[DemandDay]):
    #: Columns before the first shift column.
    FIXED = 2

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.shifts: list[ShiftTypeView] = []
        self.columns = self._columns()

    def _columns(self) -> tuple[Column[DemandDay], ...]:
        return (
            Column(
                "日期", lambda r: f"{r.day.month}月{r.day.day}日 {weekday_text(r.day)}", tooltip=_day_tooltip
            ),
            Column("节假日", lambda r: day_kind(r.info), tooltip=_day_tooltip),
            *(_demand_column(s) for s in self.shifts),
        )

    def set_month(self, shifts: Sequence[ShiftTypeView], days: Sequence[DemandDay]) -> None:
        self.beginResetModel()
        self.shifts = list(shifts)
        self.columns = self._columns()
        self.endResetModel()
        self.set_rows(days)

    def shift_at(self, column: int) -> ShiftTypeView | None:
        index = column - self.FIXED
        return self.shifts[index] if 0 <= index < len(self.shifts) else None

    def row_background(self, item: DemandDay) -> QColor | None:
        if item.info.workday:
            return None
        return HOLIDAY_BACKGROUND if item.info.name else REST_BACKGROUND


Cell = tuple[ShiftTypeView, dt.date]


def day_runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Days grouped into runs of consecutive days, (first, last) each — one ``set_demand`` a run."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _days_text(days: Sequence[dt.date], shown: int = 6) -> str:
    ordered = sorted(days)
    text = "、".join(day_text(d) for d in ordered[:shown])
    return text + (f"等 {len(ordered)} 天" if len(ordered) > shown else "")


class DemandEditor(QDialog):
    """设置排班需求 for the selected cells (shift × day); headcount 0 clears them."""

    def __init__(
        self,
        ctx: AppContext,
        actor: Actor,
        cells: Sequence[Cell],
        current: DemandView | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.cells = ctx, actor, list(cells)
        self.saved: int | None = None
        self.setWindowTitle("设置排班需求")
        by_shift: dict[str, list[dt.date]] = {}
        self.shifts: dict[str, ShiftTypeView] = {}
        for shift, day in self.cells:
            self.shifts[shift.id] = shift
            by_shift.setdefault(shift.id, []).append(day)
        self.by_shift = by_shift
        police = any(s.needs_police for s in self.shifts.values())

        self.headcount = QSpinBox(minimum=0, maximum=200, suffix=" 人")
        self.min_certified = QSpinBox(minimum=0, maximum=200, suffix=" 名")
        self.min_police = QSpinBox(minimum=0, maximum=200, suffix=" 名")
        self.needs_leader = QCheckBox("须有带班领导")
        if current is not None:
            self.headcount.setValue(current.headcount)
            self.min_certified.setValue(current.min_certified)
            self.min_police.setValue(current.min_police)
            self.needs_leader.setChecked(current.needs_leader)
        else:
            self.headcount.setValue(1)
            self.min_police.setValue(1 if police else 0)
        self.fields: dict[str, QWidget] = {
            "headcount": self.headcount,
            "min_certified": self.min_certified,
            "min_police": self.min_police,
        }
        summary = "<br>".join(
            f"<b>{self.shifts[sid].name}</b>：{_days_text(days)}" for sid, days in by_shift.items()
        )
        form = QFormLayout()
        form.addRow("每班人数", self.headcount)
        form.addRow("其中持证执法人员至少", self.min_certified)
        form.addRow("其中公安民警至少", self.min_police)
        form.addRow("", self.needs_leader)
        layout = QVBoxLayout(self)
        self.heading = QLabel(summary)
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        note = "人数填 0 即取消这些日期该班次的需求。"
        if police:
            note += "联勤班次至少需要 1 名公安民警。"
        layout.addWidget(_hint(note))
        layout.addWidget(buttons(self, self.save, "设置"))
        _fit(self, 400)

    def demand_input(self) -> DemandInput:
        return DemandInput(
            headcount=self.headcount.value(),
            min_certified=self.min_certified.value(),
            min_police=self.min_police.value(),
            needs_leader=self.needs_leader.isChecked(),
        )

    def save(self) -> bool:
        data = self.demand_input()
        action = "取消排班需求" if data.headcount == 0 else "设置排班需求"
        names = "、".join(s.name for s in self.shifts.values())
        try:
            count = 0
            # All the selected cells in one transaction: either every day is set or none.
            with self.ctx.unit_of_work(self.actor, f"{action}：{names}") as session:
                for shift_id, days in self.by_shift.items():
                    for first, last in day_runs(days):
                        count += set_demand(session, self.actor, shift_id, first, last, data)
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法设置排班需求")
            return False
        self.saved = count
        self.accept()
        return True

    @classmethod
    def ask(
        cls,
        ctx: AppContext,
        actor: Actor,
        cells: Sequence[Cell],
        current: DemandView | None = None,
        parent: QWidget | None = None,
    ) -> int | None:
        """How many shift-days were set (or cleared), or None when cancelled."""
        dialog = cls(ctx, actor, cells, current, parent)
        try:
            return dialog.saved if dialog.exec() else None
        finally:
            dialog.deleteLater()


class WeekDialog(QDialog):
    """按周复制到全月: which week of the month is the pattern."""

    def __init__(self, month: str, initial: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        first, last = month_bounds(month)
        self.setWindowTitle("按周复制到全月")
        self.start = date_edit(min(max(initial, first), last))
        self.start.setMinimumDate(to_qdate(first))
        self.start.setMaximumDate(to_qdate(last))
        self.span = QLabel()
        self.start.dateChanged.connect(self._show_span)
        form = QFormLayout()
        form.addRow("这一周从", self.start)
        form.addRow("", self.span)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(
            _hint(
                f"{month_title(month)}其余每一天的需求，将改为这一周同一星期几的需求；"
                "这一周某天没有的班次，其余同一星期几的需求会被清除。节假日请复制后单独调整。"
            )
        )
        layout.addWidget(buttons(self, self.accept, "复制"))
        self._show_span()
        _fit(self, 440)

    def chosen(self) -> dt.date:
        return from_qdate(self.start.date())

    def _show_span(self) -> None:
        start = self.chosen()
        end = start + dt.timedelta(days=6)
        self.span.setText(
            f"{day_text(start)}（{weekday_text(start)}）至 {day_text(end)}（{weekday_text(end)}）"
        )

    @classmethod
    def ask(cls, month: str, initial: dt.date, parent: QWidget | None = None) -> dt.date | None:
        dialog = cls(month, initial, parent)
        try:
            return dialog.chosen() if dialog.exec() else None
        finally:
            dialog.deleteLater()


class _MonthDialog(QDialog):
    """A set-up dialog for one month of the roster: its bounds, title and whether it may edit."""

    TITLE = ""

    def __init__(self, ctx: AppContext, actor: Actor, month: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.first, self.last = month_bounds(month)
        self.month = f"{self.first:%Y-%m}"
        self.can_edit = actor.can(Permission.EDIT_ROSTERS)
        self.changed = False
        self.setWindowTitle(f"{self.TITLE} — {month_title(self.month)}")


class DemandDialog(_MonthDialog):
    """排班需求 of one month: a row a day, a column an active shift type."""

    TITLE = "排班需求"

    def __init__(self, ctx: AppContext, actor: Actor, month: str, parent: QWidget | None = None) -> None:
        super().__init__(ctx, actor, month, parent)

        bar = QHBoxLayout()
        bar.addWidget(
            _hint("选中一个或多个格子（同一班次可选多天）后点“设置…”，或双击格子。浅色底为休息日和节假日。"),
            1,
        )
        self.set_button = _edit_button(bar, "设置…", "edit", self.edit_selected)
        self.copy_button = _edit_button(bar, "按周复制到全月…", None, self.copy_week)
        self.copy_button.setToolTip("把某一周每天的需求复制到本月其余同一星期几")
        self.model = DemandModel(self)
        self.table = _table(self.model, "demand")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self._double_clicked)
        self.status_label = _status_label()
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(_close_box(self))

        shifts, created = _shift_types(ctx, actor, include_inactive=False)
        self.changed = created
        self.shifts = shifts
        self.refresh()
        self.table.resizeColumnsToContents()
        for column in range(DemandModel.FIXED, self.model.columnCount()):
            self.table.setColumnWidth(column, max(self.table.columnWidth(column), 108))
        _read_only(self.can_edit, (self.set_button, self.copy_button))
        self._update_buttons()
        width = sum(self.table.columnWidth(c) for c in range(self.model.columnCount())) + 60
        self.resize(min(max(width, 640), 1280), 720)

    def refresh(self) -> None:
        """Reload the month's calendar and demand, keeping the selected cells."""
        kept = [(i.row(), i.column()) for i in self.table.selectionModel().selectedIndexes()]
        try:
            with self.ctx.read() as session:
                calendar = calendar_for(session).month(self.first.year, self.first.month)
                demand = list_demand(session, self.actor, self.month)
        except DomainError as exc:
            show_error(self, exc, "无法读取排班需求")
            return
        by_day: dict[dt.date, dict[str, DemandView]] = {}
        for d in demand:
            by_day.setdefault(d.day, {})[d.shift_type_id] = d
        self.model.set_month(self.shifts, [DemandDay(info, by_day.get(info.day, {})) for info in calendar])
        selection = self.table.selectionModel()
        for row, column in kept:
            selection.select(self.model.index(row, column), QItemSelectionModel.SelectionFlag.Select)

    def selected_cells(self) -> list[Cell]:
        """The selected (shift, day) cells; the date columns do not count."""
        cells: list[Cell] = []
        for index in sorted(
            self.table.selectionModel().selectedIndexes(), key=lambda i: (i.column(), i.row())
        ):
            shift, row = self.model.shift_at(index.column()), self.model.row_at(index.row())
            if shift is not None and row is not None:
                cells.append((shift, row.day))
        return cells

    def select_cells(self, cells: Iterable[tuple[str, dt.date]]) -> None:
        """Select the cells of (shift code, day), e.g. to edit them."""
        columns = {s.code: DemandModel.FIXED + i for i, s in enumerate(self.model.shifts)}
        selection = self.table.selectionModel()
        selection.clearSelection()
        for code, day in cells:
            index = self.model.index((day - self.first).days, columns[code])
            selection.select(index, QItemSelectionModel.SelectionFlag.Select)

    def demand_at(self, cell: Cell) -> DemandView | None:
        shift, day = cell
        row = self.model.row_at((day - self.first).days)
        return row.demands.get(shift.id) if row is not None else None

    def _update_buttons(self) -> None:
        if self.can_edit:
            self.set_button.setEnabled(bool(self.selected_cells()))
            self.copy_button.setEnabled(bool(self.model.shifts))

    def _double_clicked(self, index: QModelIndex) -> None:
        if self.model.shift_at(index.column()) is not None:
            self.edit_selected()

    def edit_selected(self) -> None:
        cells = self.selected_cells()
        if not self.can_edit or not cells:
            return
        count = DemandEditor.ask(self.ctx, self.actor, cells, self.demand_at(cells[0]), self)
        if count is not None:
            self._done(f"已设置 {count} 个班次日的需求。")

    def copy_week(self) -> None:
        if not self.can_edit:
            return
        cells = self.selected_cells()
        monday = self.first + dt.timedelta(days=-self.first.weekday() % 7)
        start = WeekDialog.ask(self.month, cells[0][1] if cells else monday, self)
        if start is None:
            return
        try:
            with self.ctx.unit_of_work(self.actor, f"按周复制排班需求：{self.month}") as session:
                count = copy_week_to_month(session, self.actor, self.month, start)
        except Exception as exc:
            show_error(self, exc, "无法复制排班需求")
            return
        self._done(f"已按{day_text(start)}起的一周设置本月其余 {count} 天的需求。")

    def _done(self, message: str) -> None:
        self.changed = True
        self.refresh()
        self._update_buttons()
        self.status_label.setText(message)
        self.status_label.show()

    @classmethod
    def ask(cls, ctx: AppContext, actor: Actor, month: str, parent: QWidget | None = None) -> bool:
        """True when the month's demand changed (the page re-checks the month)."""
        try:
            dialog = cls(ctx, actor, month, parent)
        except DomainError as exc:
            show_error(parent, exc, "无法打开排班需求")
            return False
        try:
            dialog.exec()
            return dialog.changed
        finally:
            dialog.deleteLater()


# ---- 请假登记 --------------------------------------------------------------------------------------


def leave_days(leave: LeaveView) -> int:
    return (leave.end - leave.start).days + 1


def leave_span(leave: LeaveView) -> str:
    if leave.start == leave.end:
        return day_text(leave.start)
    return f"{day_text(leave.start)}至{day_text(leave.end)}"


class LeaveModel(RowTableModel[LeaveView]):
    columns = (
        Column("队员", lambda v: v.member_name),
        Column("类别", lambda v: v.kind_label),
        Column("起", lambda v: v.start),
        Column("止", lambda v: v.end),
        Column("天数", leave_days, align_right=True),
        Column("备注", lambda v: v.note, tooltip=lambda v: v.note),
    )


class LeaveEditor(QDialog):
    """登记请假: one member's leave; overlapping leave is refused by the service."""

    def __init__(self, ctx: AppContext, actor: Actor, month: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.saved: LeaveView | None = None
        self.setWindowTitle("登记请假")
        first, last = month_bounds(month)
        today = dt.date.today()
        start = today if first <= today <= last else first
        with ctx.read() as session:
            members = search_members(session, actor, MemberQuery(include_left=False), limit=MEMBER_LIMIT)
        self.member = member_combo(members)
        self.kind = QComboBox()
        for kind in LEAVE_KINDS:
            self.kind.addItem(LEAVE_KIND_LABELS[kind])
        self.start = date_edit(start)
        self.end = date_edit(start)
        self.start.dateChanged.connect(self._start_changed)
        self.note = QLineEdit(placeholderText="如：经队长批准（可不填）")
        form = QFormLayout()
        form.addRow("队员 *", self.member)
        form.addRow("类别 *", self.kind)
        form.addRow("开始日期 *", self.start)
        form.addRow("结束日期 *", self.end)
        form.addRow("备注", self.note)
        self.fields: dict[str, QWidget] = {
            "member_id": self.member,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "note": self.note,
        }
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_hint("请假期间不会被排班；起止日期都算在内。"))
        layout.addWidget(buttons(self, self.save, "登记"))
        _fit(self, 420)

    def _start_changed(self) -> None:
        # Most leave is a few days: the end follows a start moved past it.
        if self.end.date() < self.start.date():
            self.end.setDate(self.start.date())

    def leave_input(self) -> LeaveInput:
        return LeaveInput(
            member_id=chosen_member(self.member),
            kind=LEAVE_KINDS[self.kind.currentIndex()],
            start=from_qdate(self.start.date()),
            end=from_qdate(self.end.date()),
            note=self.note.text(),
        )

    def save(self) -> bool:
        try:
            data = self.leave_input()
            name = self.member.currentText().strip()
            with self.ctx.unit_of_work(self.actor, f"登记请假：{name}") as session:
                self.saved = add_leave(session, self.actor, data)
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法登记请假")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, month: str, parent: QWidget | None = None
    ) -> LeaveView | None:
        dialog = cls(ctx, actor, month, parent)
        try:
            return dialog.saved if dialog.exec() else None
        finally:
            dialog.deleteLater()


class LeaveDialog(_MonthDialog):
    """请假登记 of one month: the leave that touches it, with 登记 and 撤销."""

    TITLE = "请假登记"

    def __init__(self, ctx: AppContext, actor: Actor, month: str, parent: QWidget | None = None) -> None:
        super().__init__(ctx, actor, month, parent)

        bar = QHBoxLayout()
        self.count_label = _hint()
        bar.addWidget(self.count_label, 1)
        self.add_button = _edit_button(bar, "登记请假…", "add", self.add_leave)
        self.remove_button = _edit_button(bar, "撤销", "delete", self.remove_selected)
        self.model = LeaveModel(self)
        self.table = _table(self.model, "leave")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.status_label = _status_label()
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(_close_box(self))

        _read_only(self.can_edit, (self.add_button, self.remove_button))
        self.refresh()
        for column, width in ((0, 110), (1, 80), (2, 100), (3, 100), (4, 60)):
            self.table.setColumnWidth(column, width)
        self.resize(640, 420)

    def refresh(self, select_id: str | None = None) -> None:
        try:
            with self.ctx.read() as session:
                leaves = list_leaves(session, self.actor, self.month)
        except DomainError as exc:
            show_error(self, exc, "无法读取请假记录")
            return
        self.model.set_rows(leaves)
        people = len({v.member_id for v in leaves})
        across = sum(1 for v in leaves if v.start < self.first or v.end > self.last)
        text = f"{month_title(self.month)}共 {len(leaves)} 条请假（{people} 人）"
        text += f"，其中 {across} 条跨月。" if across else "。"
        self.count_label.setText(text if leaves else f"{month_title(self.month)}没有请假记录。")
        if select_id is not None:
            self.model.select_in(self.table, lambda v: v.id == select_id)
        self._update_buttons()

    def selected(self) -> LeaveView | None:
        return self.model.selected_in(self.table)

    def _update_buttons(self) -> None:
        if self.can_edit:
            self.remove_button.setEnabled(self.selected() is not None)

    def add_leave(self) -> None:
        if not self.can_edit:
            return
        saved = LeaveEditor.ask(self.ctx, self.actor, self.month, self)
        if saved is not None:
            self._done(f"已登记{saved.member_name}{leave_span(saved)}的{saved.kind_label}。", saved.id)

    def remove_selected(self) -> None:
        leave = self.selected()
        if not self.can_edit or leave is None:
            return
        what = f"{leave.member_name}{leave_span(leave)}的{leave.kind_label}"
        if not confirm(self, "撤销请假", f"撤销{what}？撤销后这些日期可以正常排班。"):
            return
        try:
            with self.ctx.unit_of_work(self.actor, f"撤销请假：{leave.member_name}") as session:
                remove_leave(session, self.actor, leave.id)
        except Exception as exc:
            show_error(self, exc, "无法撤销请假")
            return
        self._done(f"已撤销{what}。")

    def _done(self, message: str, select_id: str | None = None) -> None:
        self.changed = True
        self.refresh(select_id)
        self.status_label.setText(message)
        self.status_label.show()

    @classmethod
    def ask(cls, ctx: AppContext, actor: Actor, month: str, parent: QWidget | None = None) -> bool:
        """True when leave was added or removed (the page re-checks the month)."""
        try:
            dialog = cls(ctx, actor, month, parent)
        except DomainError as exc:
            show_error(parent, exc, "无法打开请假登记")
            return False
        try:
            dialog.exec()
            return dialog.changed
        finally:
            dialog.deleteLater()
