"""文书登记 — the number register (文号登记簿): every document issued, voided ones included with
who voided them and why, by year and type; 查看 opens the kept PDF, 作废… (leader) voids one;
文号格式… (settings permission) sets each type's number pattern for the year, e.g.
``{prefix}罚决字〔{year}〕第{seq}号`` → 车综执罚决字〔2026〕第12号."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.context import AppContext
from app.documents.casework import issued_pdf
from app.documents.issuing import IssuedView, list_issued, void_document
from app.documents.numbering import PatternView, number_patterns, set_pattern
from app.documents.template import document_types
from ui.documents.preview import PdfPreview
from ui.errors import show_error
from ui.icons import icon

COLUMNS = ("文号", "文书", "案号", "状态", "签发人", "签发日期", "页数", "作废 / 更正")
VOIDED = QColor("#b0bec5")


class RegisterPage(QWidget):
    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.rows: list[IssuedView] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        header = QHBoxLayout()
        header.addWidget(QLabel("<h2 style='margin:0'>文书登记</h2>"))
        self.summary = QLabel(objectName="summary")
        self.summary.setStyleSheet("color:#607d8b;margin-left:12px")
        header.addWidget(self.summary)
        header.addStretch(1)
        self.view_button = QPushButton(icon("preview"), "查看")
        self.view_button.clicked.connect(self.view_selected)
        self.void_button = QPushButton(icon("void"), "作废…")
        self.void_button.clicked.connect(self.void_selected)
        if not actor.can(Permission.APPROVE_CASES):
            self.void_button.setToolTip(f"需要“{Permission.APPROVE_CASES.label}”权限")
        self.patterns_button = QPushButton(icon("edit"), "文号格式…")
        self.patterns_button.clicked.connect(self.edit_patterns)
        if not actor.can(Permission.EDIT_SETTINGS):
            self.patterns_button.setEnabled(False)
            self.patterns_button.setToolTip(f"需要“{Permission.EDIT_SETTINGS.label}”权限")
        header.addWidget(self.view_button)
        header.addWidget(self.void_button)
        header.addWidget(self.patterns_button)
        layout.addLayout(header)
        bar = QHBoxLayout()
        this_year = dt.date.today().year
        self.year = QComboBox(objectName="year")
        for year in range(this_year, this_year - 6, -1):
            self.year.addItem(f"{year} 年", year)
        self.doc_type = QComboBox(objectName="doc_type")
        self.doc_type.addItem("全部文书", None)
        for code, title in document_types().items():
            self.doc_type.addItem(title, code)
        bar.addWidget(self.year)
        bar.addWidget(self.doc_type)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.table = QTableWidget(0, len(COLUMNS), objectName="register")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        layout.addWidget(self.table, 1)
        hint = QLabel("文号一经签发不再重复使用；作废的文号连同作废理由一并保留。")
        hint.setStyleSheet("color:#607d8b")
        layout.addWidget(hint)
        self.year.currentIndexChanged.connect(self.refresh)
        self.doc_type.currentIndexChanged.connect(self.refresh)
        self._update_buttons()

    def refresh(self) -> None:
        try:
            with self.ctx.read() as session:
                self.rows = list_issued(
                    session, self.actor, doc_type=self.doc_type.currentData(), year=self.year.currentData()
                )
        except Exception as exc:
            show_error(self, exc)
            return
        self.table.setRowCount(len(self.rows))
        for row, doc in enumerate(self.rows):
            change = ""
            if doc.voided:
                change = f"{doc.voided_by_name}作废：{doc.void_reason}"
                if doc.replaced_by_number:
                    change += f"；由 {doc.replaced_by_number} 更正"
            elif doc.replaces_number:
                change = f"更正 {doc.replaces_number}"
            cells = (
                doc.number,
                doc.type_label,
                doc.case_number,
                doc.status_label,
                doc.issued_by_name,
                f"{doc.issued_on:%Y-%m-%d}",
                str(doc.pages),
                change,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if doc.voided:
                    item.setForeground(VOIDED)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        voided = sum(1 for d in self.rows if d.voided)
        self.summary.setText(f"共 {len(self.rows)} 份，其中作废 {voided} 份")
        self._update_buttons()

    def selected(self) -> IssuedView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows and rows[0].row() < len(self.rows) else None

    def _update_buttons(self) -> None:
        doc = self.selected()
        self.view_button.setEnabled(doc is not None)
        self.void_button.setEnabled(
            doc is not None and not doc.voided and self.actor.can(Permission.APPROVE_CASES)
        )

    def _double_clicked(self, _row: int, _column: int) -> None:
        self.view_selected()

    def view_selected(self) -> None:
        doc = self.selected()
        if doc is None:
            return
        try:
            with self.ctx.read() as session:
                pdf = issued_pdf(session, self.actor, doc.id)
        except Exception as exc:
            show_error(self, exc)
            return
        PdfPreview.show_pdf(pdf, f"{doc.type_label} {doc.number}", doc.status_label, self)

    def void_selected(self) -> None:
        doc = self.selected()
        if doc is None or doc.voided:
            return
        reason, ok = QInputDialog.getMultiLineText(
            self, "作废文书", f"作废 {doc.number}（{doc.type_label}）的理由（文号保留，不再使用）："
        )
        if not ok:
            return
        try:
            with self.ctx.unit_of_work(self.actor, f"作废文书：{doc.number}") as session:
                void_document(session, self.actor, doc.id, reason)
        except Exception as exc:
            show_error(self, exc, "无法作废")
            return
        self.refresh()

    def edit_patterns(self) -> None:
        if PatternsDialog.ask(self.ctx, self.actor, int(self.year.currentData()), self):
            self.refresh()


class PatternsDialog(QDialog):
    """The number pattern of every document type for one year: {prefix} is the squad's document
    prefix, {year} the year, {seq} the sequence (padded to the width when one is given)."""

    COLUMNS = ("文书", "文号格式", "序号位数", "示例（第 12 号）")

    def __init__(self, ctx: AppContext, actor: Actor, year: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.year = ctx, actor, year
        self.setWindowTitle(f"文号格式 — {year} 年")
        with ctx.read() as session:
            self.patterns: list[PatternView] = number_patterns(session, actor, year)
        self.table = QTableWidget(len(self.patterns), len(self.COLUMNS), objectName="patterns")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().setVisible(False)
        for row, p in enumerate(self.patterns):
            cells = (p.type_label, p.pattern, str(p.seq_width), p.example)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (0, 3):
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        hint = QLabel(
            "格式中 {prefix} 为本队文书前缀，{year} 为年度，{seq} 为序号；序号位数为 0 时不补零。"
            "修改只影响今后签发的文号，已签发的文号不变。",
            wordWrap=True,
        )
        hint.setStyleSheet("color:#546e7a")
        box = QDialogButtonBox()
        box.addButton("保存", QDialogButtonBox.ButtonRole.AcceptRole)
        box.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        box.accepted.connect(self.save)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(box)
        self.resize(760, 560)

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def changed(self) -> list[tuple[int, PatternView, str, int]]:
        out = []
        for row, p in enumerate(self.patterns):
            pattern, width_text = self._cell(row, 1), self._cell(row, 2)
            width = int(width_text) if width_text.isdigit() else -1
            if pattern != p.pattern or width != p.seq_width:
                out.append((row, p, pattern, width))
        return out

    def save(self) -> bool:
        changes = self.changed()
        row = -1
        try:
            with self.ctx.unit_of_work(self.actor, f"修改文号格式（{self.year} 年）") as session:
                for change in changes:
                    row, p, pattern, width = change  # the row a refusal points at
                    set_pattern(session, self.actor, p.doc_type, pattern, seq_width=width, year=self.year)
        except Exception as exc:
            if row >= 0:
                self.table.setCurrentCell(row, 1)
            show_error(self, exc, "无法保存文号格式")
            return False
        self.accept()
        return True

    @classmethod
    def ask(cls, ctx: AppContext, actor: Actor, year: int, parent: QWidget | None = None) -> bool:
        return bool(cls(ctx, actor, year, parent).exec())


__all__ = ["PatternsDialog", "RegisterPage"]
