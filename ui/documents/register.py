"""文书登记 — the number register (文号登记簿): every document issued, voided ones included with
who voided them and why, by year and type; 查看 opens the kept PDF, 作废… (leader) voids one."""

from __future__ import annotations

import datetime as dt

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
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
        header.addWidget(self.view_button)
        header.addWidget(self.void_button)
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


__all__ = ["RegisterPage"]
