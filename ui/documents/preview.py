"""The PDF preview (文书预览): the pages in QtPdf's view, 打印… through the system print dialog
(which also prints to a PDF file), and 另存为 PDF…. Used for drafts, issued documents and dossiers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.documents.printing import PdfSource, a4_printer, print_pdf
from ui.errors import show_error
from ui.icons import icon


def safe_file_name(title: str) -> str:
    """A file name from a document's title and number (no characters Windows refuses)."""
    return "".join("_" if ch in '\\/:*?"<>|' else ch for ch in title).strip() or "文书"


def print_with_dialog(parent: QWidget | None, sources: list[bytes], title: str) -> int:
    """Ask for the printer (or a PDF file) and print; the number of pages printed, 0 if cancelled."""
    printer = a4_printer(landscape=bool(sources) and PdfSource(sources[0]).landscape)
    printer.setDocName(title)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(f"打印 — {title}")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return 0
    try:
        return print_pdf(sources, printer)
    except Exception as exc:
        show_error(parent, exc, "打印失败")
        return 0


def save_pdf(parent: QWidget | None, pdf_bytes: bytes, title: str) -> Path | None:
    name, _filter = QFileDialog.getSaveFileName(
        parent, "另存为 PDF", f"{safe_file_name(title)}.pdf", "PDF 文件 (*.pdf)"
    )
    if not name:
        return None
    path = Path(name if name.lower().endswith(".pdf") else f"{name}.pdf")
    try:
        path.write_bytes(pdf_bytes)
    except OSError as exc:
        show_error(parent, exc, "无法保存")
        return None
    return path


class PdfPreview(QDialog):
    """One PDF shown page after page, with print and save."""

    def __init__(self, pdf_bytes: bytes, title: str, note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pdf_bytes, self.title = pdf_bytes, title
        self.setWindowTitle(f"预览 — {title}")
        self.source = PdfSource(pdf_bytes)
        self.view = QPdfView(self)
        self.view.setObjectName("pdf_view")
        self.view.setDocument(self.source.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.pages_label = QLabel(
            f"共 {self.source.pages} 页" + (f"　{note}" if note else ""), objectName="pages"
        )
        self.pages_label.setStyleSheet("color:#546e7a")
        self.print_button = QPushButton(icon("print"), "打印…", objectName="print_button")
        self.print_button.clicked.connect(self.print_document)
        self.save_button = QPushButton(icon("export"), "另存为 PDF…", objectName="save_button")
        self.save_button.clicked.connect(self.save)
        bar = QHBoxLayout()
        bar.addWidget(self.pages_label, 1)
        bar.addWidget(self.print_button)
        bar.addWidget(self.save_button)
        buttons = QDialogButtonBox()
        buttons.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.resize(760, 900)

    def print_document(self) -> int:
        return print_with_dialog(self, [self.pdf_bytes], self.title)

    def save(self) -> Path | None:
        return save_pdf(self, self.pdf_bytes, self.title)

    @classmethod
    def show_pdf(cls, pdf_bytes: bytes, title: str, note: str = "", parent: QWidget | None = None) -> None:
        try:
            dialog = cls(pdf_bytes, title, note, parent)
        except Exception as exc:
            show_error(parent, exc, "无法预览")
            return
        dialog.exec()


__all__ = ["PdfPreview", "print_with_dialog", "safe_file_name", "save_pdf"]
