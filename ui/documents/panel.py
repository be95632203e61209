"""The case workspace's 文书 tab: every standard document the case can have, in the order of the
procedure, with the step it belongs to and what has been issued of it.

预览草稿 draws the document as it would be issued now, unnumbered (for checking the data);
签发… takes the next 文号 and keeps the PDF — from then on it never changes; 查看 opens the kept
PDF to print or save; 作废… (leader) keeps the number and the reason; 重新签发 issues the
correction with a new number, both kept; 打印全部已签发 prints the case's documents in force as
one job; 装订案卷… compiles the whole dossier (cover, contents, documents, evidence, 备考表) off
the GUI thread with progress and cancel, and shows it to print or save.
"""

from __future__ import annotations

import io

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
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
from app.cases import CaseView
from app.context import AppContext
from app.documents.casework import (
    CaseDocument,
    case_documents,
    draft_case_document,
    issue_case_document,
    issued_pdf,
)
from app.documents.dossier import DossierResult, compile_dossier
from app.documents.issuing import IssuedView, void_document
from app.progress import Progress
from ui.documents.preview import PdfPreview, print_with_dialog
from ui.errors import confirm, show_error
from ui.icons import icon
from ui.tasks import Task, run_task

COLUMNS = ("文书", "所属环节", "状态", "文号", "签发", "说明")
GREY = QColor("#90a4ae")


def _status(doc: CaseDocument) -> str:
    current = doc.current
    voided = sum(1 for d in doc.issued if d.voided)
    if current is not None:
        return "已签发" + (f"（另有作废 {voided} 份）" if voided else "")
    if voided:
        return f"已作废 {voided} 份，待重新签发"
    return "可制作" if doc.available else "未到环节"


class DocumentsPanel(QWidget):
    """The documents of one case; ``refresh`` after the case changes."""

    sig_dossier = Signal(object)  # the DossierResult of a dossier just compiled

    def __init__(self, ctx: AppContext, actor: Actor, case: CaseView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.case = ctx, actor, case
        self.docs: list[CaseDocument] = []
        self.table = QTableWidget(0, len(COLUMNS), objectName="documents")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.summary = QLabel(objectName="documents_summary")
        self.summary.setStyleSheet("color:#607d8b")
        self.draft_button = self._button("预览草稿", "preview", self.preview_draft)
        self.issue_button = self._button("签发…", "issue", self.issue)
        self.view_button = self._button("查看", "preview", self.view_issued)
        self.void_button = self._button("作废…", "void", self.void)
        self.reissue_button = self._button("重新签发", "issue", self.reissue)
        self.print_all_button = self._button("打印全部已签发", "print", self.print_all)
        self.dossier_button = self._button("装订案卷…", "nav.documents", self.bind_dossier)
        self.task: Task | None = None
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        for button in (
            self.draft_button,
            self.issue_button,
            self.view_button,
            self.void_button,
            self.reissue_button,
            self.print_all_button,
            self.dossier_button,
        ):
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.refresh()

    def _button(self, text: str, icon_name: str, slot: object) -> QPushButton:
        button = QPushButton(icon(icon_name), text)
        button.clicked.connect(slot)
        return button

    # --- data -----------------------------------------------------------------------------
    def set_case(self, case: CaseView) -> None:
        self.case = case
        self.refresh()

    def refresh(self) -> None:
        selected = self.selected()
        try:
            with self.ctx.read() as session:
                self.docs = case_documents(session, self.actor, self.case.id)
        except Exception as exc:
            show_error(self, exc)
            return
        self.table.setRowCount(len(self.docs))
        for row, doc in enumerate(self.docs):
            current = doc.current
            cells = (
                doc.title,
                doc.step_label,
                _status(doc),
                current.number if current else "",
                f"{current.issued_by_name} {current.issued_on:%Y-%m-%d}" if current else "",
                doc.reason if not doc.available and not doc.issued else "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if not doc.available and not doc.issued:
                    item.setForeground(GREY)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        issued = sum(1 for d in self.docs if d.current is not None)
        ready = sum(1 for d in self.docs if d.available)
        self.summary.setText(f"可制作 {ready} 种，已签发 {issued} 种（双击预览）")
        if selected is not None:
            self.select(selected.doc_type)
        self._update_buttons()

    def selected(self) -> CaseDocument | None:
        rows = self.table.selectionModel().selectedRows()
        return self.docs[rows[0].row()] if rows and rows[0].row() < len(self.docs) else None

    def select(self, doc_type: str) -> None:
        row = next((i for i, d in enumerate(self.docs) if d.doc_type == doc_type), -1)
        if row >= 0:
            self.table.selectRow(row)

    def _pending_correction(self, doc: CaseDocument) -> IssuedView | None:
        """The voided document of this type not yet corrected by a reissue."""
        if doc.current is not None:
            return None
        voided = [d for d in doc.issued if d.voided and d.replaced_by_id is None]
        return voided[-1] if voided else None

    def _update_buttons(self) -> None:
        doc = self.selected()
        handle = self.actor.can(Permission.HANDLE_CASES)
        approve = self.actor.can(Permission.APPROVE_CASES)
        fresh = doc is not None and doc.available and doc.current is None and not doc.issued
        self.draft_button.setEnabled(doc is not None and doc.available)
        self.issue_button.setEnabled(handle and fresh)
        self.view_button.setEnabled(doc is not None and bool(doc.issued))
        self.void_button.setEnabled(approve and doc is not None and doc.current is not None)
        self.reissue_button.setEnabled(
            handle and doc is not None and doc.available and self._pending_correction(doc) is not None
        )
        self.print_all_button.setEnabled(any(d.current is not None for d in self.docs))
        for button, permission in (
            (self.issue_button, Permission.HANDLE_CASES),
            (self.reissue_button, Permission.HANDLE_CASES),
            (self.void_button, Permission.APPROVE_CASES),
        ):
            button.setToolTip("" if self.actor.can(permission) else f"需要“{permission.label}”权限")

    # --- acts -----------------------------------------------------------------------------
    def _double_clicked(self, _row: int, _column: int) -> None:
        doc = self.selected()
        if doc is not None and doc.issued:
            self.view_issued()
        elif doc is not None and doc.available:
            self.preview_draft()

    def preview_draft(self) -> None:
        doc = self.selected()
        if doc is None:
            return
        try:
            with self.ctx.read() as session:
                draft = draft_case_document(session, self.actor, self.case.id, doc.doc_type)
        except Exception as exc:
            show_error(self, exc, "无法制作草稿")
            return
        note = "草稿，未编号"
        if draft.missing:
            note += "；尚缺：" + "、".join(draft.missing)
        PdfPreview.show_pdf(draft.pdf_bytes, f"{doc.title}（草稿）", note, self)

    def _issue(self, doc: CaseDocument, replaces: IssuedView | None) -> None:
        what = "重新签发" if replaces is not None else "签发"
        text = (
            f"{what}{self.case.number}的“{doc.title}”？\n\n将使用下一个文号；签发后文书不可修改，"
            "如需更正须作废后重新签发。"
        )
        if replaces is not None:
            text += f"\n\n更正已作废的 {replaces.number}（{replaces.void_reason}）。"
        if not confirm(self, what, text):
            return
        try:
            with self.ctx.unit_of_work(self.actor, f"{what}{doc.title}：{self.case.number}") as session:
                issued = issue_case_document(
                    session,
                    self.actor,
                    self.case.id,
                    doc.doc_type,
                    replaces_id=replaces.id if replaces else None,
                )
        except Exception as exc:
            show_error(self, exc, f"无法{what}")
            return
        self.refresh()
        self.select(doc.doc_type)
        self._show_issued(issued)

    def issue(self) -> None:
        doc = self.selected()
        if doc is not None:
            self._issue(doc, None)

    def reissue(self) -> None:
        doc = self.selected()
        replaces = self._pending_correction(doc) if doc is not None else None
        if doc is not None and replaces is not None:
            self._issue(doc, replaces)

    def _show_issued(self, issued: IssuedView) -> None:
        try:
            with self.ctx.read() as session:
                pdf = issued_pdf(session, self.actor, issued.id)
        except Exception as exc:
            show_error(self, exc)
            return
        note = f"{issued.number}　{issued.status_label}"
        if issued.voided:
            note += f"（{issued.void_reason}）"
        PdfPreview.show_pdf(pdf, f"{issued.type_label} {issued.number}", note, self)

    def view_issued(self) -> None:
        doc = self.selected()
        if doc is not None and doc.issued:
            self._show_issued(doc.current or doc.issued[-1])

    def void(self) -> None:
        doc = self.selected()
        current = doc.current if doc is not None else None
        if current is None:
            return
        reason, ok = QInputDialog.getMultiLineText(
            self, "作废文书", f"作废 {current.number}（{current.type_label}）的理由（文号保留，不再使用）："
        )
        if not ok:
            return
        try:
            with self.ctx.unit_of_work(self.actor, f"作废文书：{current.number}") as session:
                void_document(session, self.actor, current.id, reason)
        except Exception as exc:
            show_error(self, exc, "无法作废")
            return
        self.refresh()

    def print_all(self) -> int:
        current = [d.current for d in self.docs if d.current is not None]
        try:
            with self.ctx.read() as session:
                sources = [issued_pdf(session, self.actor, d.id) for d in current]
        except Exception as exc:
            show_error(self, exc)
            return 0
        return print_with_dialog(self, sources, f"{self.case.number} 已签发文书")

    def bind_dossier(self) -> Task | None:
        if self.task is not None:
            return None
        self.dossier_button.setEnabled(False)
        self.task = run_task(
            self, f"装订案卷 {self.case.number}", self._compile, on_done=self._compiled, on_error=self._failed
        )
        return self.task

    def _compile(self, progress: Progress) -> tuple[bytes, DossierResult]:
        out = io.BytesIO()
        with self.ctx.read() as session:
            result = compile_dossier(session, self.actor, self.case.id, out, progress=progress)
        return out.getvalue(), result

    def _compiled(self, outcome: tuple[bytes, DossierResult]) -> None:
        self.task = None
        self.dossier_button.setEnabled(True)
        pdf, result = outcome
        self.sig_dossier.emit(result)
        note = f"卷内文书 {result.documents} 件（其中未出具 {result.drafts} 件）、照片 {result.photos} 张，正文 {result.numbered_pages} 页"
        if result.archive_number:
            note += f"；档号 {result.archive_number}"
        if result.warnings:
            note += "；注意：" + "；".join(result.warnings)
        PdfPreview.show_pdf(pdf, f"案卷 {self.case.number}", note, self)

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self.dossier_button.setEnabled(True)
        show_error(self, exc, "无法装订案卷")


__all__ = ["DocumentsPanel"]
