"""培训记录 — the year's training records on the left, and on the right each enforcement
member's hours against the yearly minimum, the members still short highlighted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.context import AppContext
from app.training import list_training, remove_training, yearly_hours
from ui.errors import confirm, show_error
from ui.icons import icon
from ui.tablemodel import RowTableModel
from ui.training.dialogs import TrainingDialog
from ui.training.models import HoursModel, TrainingModel


def _table(model: RowTableModel[Any], name: str) -> QTableView:
    view = QTableView(objectName=name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.setSortingEnabled(True)
    return view


class TrainingPage(QWidget):
    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.can_edit = actor.can(Permission.EDIT_TRAINING)
        #: When set, the records table shows this member only (double-click on the right).
        self.member_filter: tuple[str, str] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        header = QHBoxLayout()
        header.addWidget(QLabel("<h2 style='margin:0'>培训记录</h2>"))
        header.addSpacing(24)
        header.addWidget(QLabel("年度"))
        self.year = QSpinBox(objectName="year", minimum=2000, maximum=dt.date.today().year + 1)
        self.year.setValue(dt.date.today().year)
        self.year.setSuffix(" 年")
        self.year.valueChanged.connect(self.refresh)
        header.addWidget(self.year)
        header.addStretch(1)
        self.minimum = QLabel(objectName="minimum")
        self.minimum.setStyleSheet("color:#607d8b")
        header.addWidget(self.minimum)
        layout.addLayout(header)

        # Left: the records.
        self.records = TrainingModel(self)
        self.records_view = _table(self.records, "records")
        self.records_view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.add_button = QPushButton(icon("add"), "新增")
        self.add_button.clicked.connect(self.add_records)
        self.delete_button = QPushButton(icon("delete"), "删除")
        self.delete_button.clicked.connect(self.delete_selected)
        if not self.can_edit:
            for button in (self.add_button, self.delete_button):
                button.setToolTip(f"需要“{Permission.EDIT_TRAINING.label}”权限")
        self.filter_label = QLabel()
        self.show_all = QPushButton("显示全部")
        self.show_all.clicked.connect(self.clear_member_filter)
        left_box = QGroupBox("培训记录")
        left = QVBoxLayout(left_box)
        bar = QHBoxLayout()
        bar.addWidget(self.add_button)
        bar.addWidget(self.delete_button)
        bar.addStretch(1)
        bar.addWidget(self.filter_label)
        bar.addWidget(self.show_all)
        left.addLayout(bar)
        left.addWidget(self.records_view, 1)
        self.records_count = QLabel()
        self.records_count.setStyleSheet("color:#607d8b")
        left.addWidget(self.records_count)

        # Right: the hours per member.
        self.hours = HoursModel(self)
        self.hours_view = _table(self.hours, "hours")
        self.hours_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.hours_view.doubleClicked.connect(self._filter_to_member)
        right_box = QGroupBox("年度学时（执法人员）")
        right = QVBoxLayout(right_box)
        self.short_label = QLabel(objectName="short")
        right.addWidget(self.short_label)
        right.addWidget(self.hours_view, 1)
        hint = QLabel("双击某人只看其培训记录")
        hint.setStyleSheet("color:#607d8b")
        right.addWidget(hint)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left_box)
        splitter.addWidget(right_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self._sized = False
        self._update_buttons()

    def refresh(self) -> None:
        year, required = self.year.value(), self.ctx.settings.training_min_hours
        member_id = self.member_filter[0] if self.member_filter else None
        with self.ctx.read() as session:
            records = list_training(session, self.actor, year, member_id=member_id)
            hours = yearly_hours(session, self.actor, year, required)
        self.records.set_rows(records)
        self.hours.set_rows(hours)
        self.minimum.setText(f"每人每年至少 {required:g} 学时")
        short = sum(1 for h in hours if h.short > 0)
        self.short_label.setText(
            f"{len(hours)} 人中 <b style='color:#ef8f00'>{short}</b> 人未达到 {required:g} 学时"
            if short
            else f"{len(hours)} 人均已达到 {required:g} 学时"
        )
        total = sum(r.hours for r in records)
        self.records_count.setText(f"共 {len(records)} 条，合计 {total:g} 学时")
        if self.member_filter:
            self.filter_label.setText(f"仅显示：{self.member_filter[1]}")
        self.filter_label.setVisible(self.member_filter is not None)
        self.show_all.setVisible(self.member_filter is not None)
        if not self._sized and records:
            self.records_view.resizeColumnsToContents()
            self.hours_view.resizeColumnsToContents()
            self._sized = True
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.add_button.setEnabled(self.can_edit)
        self.delete_button.setEnabled(self.can_edit and self.records_view.selectionModel().hasSelection())

    def _filter_to_member(self, index: QModelIndex) -> None:
        row = self.hours.row_at(index.row())
        if row is not None:
            self.member_filter = (row.member_id, row.member_name)
            self.refresh()

    def clear_member_filter(self) -> None:
        self.member_filter = None
        self.refresh()

    def add_records(self) -> None:
        today = dt.date.today()
        year = self.year.value()
        day = today if year >= today.year else dt.date(year, 12, 31)
        courses = [r.course for r in self.records.rows()]
        if TrainingDialog.ask(self.ctx, self.actor, day, courses, self):
            self.refresh()

    def delete_selected(self) -> None:
        chosen = [
            r
            for i in self.records_view.selectionModel().selectedRows()
            if (r := self.records.row_at(i.row()))
        ]
        if not chosen:
            return
        if len(chosen) == 1:
            one = chosen[0]
            text = (
                f"删除 {one.member_name} 于 {one.day:%Y-%m-%d} 参加的“{one.course}”（{one.hours:g} 学时）？"
            )
        else:
            text = f"删除选中的 {len(chosen)} 条培训记录？"
        if not confirm(self, "删除培训记录", text + "\n删除会记入审计日志。"):
            return
        try:
            with self.ctx.unit_of_work(self.actor, f"删除培训记录 {len(chosen)} 条") as session:
                for record in chosen:
                    remove_training(session, self.actor, record.id)
        except Exception as exc:
            show_error(self, exc, "无法删除培训记录")
        self.refresh()
