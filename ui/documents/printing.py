"""Printing a PDF through Qt: each page rendered by QtPdf at the printer's resolution and drawn
onto the printer's page. The same path prints to paper and to a PDF file (QPrinter's PDF output),
so "print to file" is tested offscreen."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize
from PySide6.QtGui import QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter

from app.errors import DomainError


class PdfSource:
    """A QPdfDocument over bytes held in memory (the buffer lives as long as the document)."""

    def __init__(self, pdf_bytes: bytes) -> None:
        self.data = QByteArray(pdf_bytes)
        self.buffer = QBuffer(self.data)
        self.buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document = QPdfDocument()
        self.document.load(self.buffer)
        if self.document.status() != QPdfDocument.Status.Ready:
            raise DomainError("无法读取该 PDF 文件，文件可能已损坏。")

    @property
    def pages(self) -> int:
        return self.document.pageCount()

    @property
    def landscape(self) -> bool:
        """True when the first page is wider than high (the monthly roster is drawn so)."""
        size = self.document.pagePointSize(0)
        return size.width() > size.height()


def a4_printer(output_file: str = "", landscape: bool = False) -> QPrinter:
    """A high-resolution A4 printer, portrait unless ``landscape`` (the roster); ``output_file``:
    print into that PDF file instead."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    printer.setPageOrientation(
        QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
    )
    # The document's own margins are drawn into its pages: the printer adds none.
    printer.setFullPage(True)
    if output_file:
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(output_file)
    return printer


def print_pdf(sources: list[bytes], printer: QPrinter) -> int:
    """Print every page of every PDF in ``sources`` (a batch goes out as one job); the page count."""
    painter = QPainter()
    if not painter.begin(printer):
        raise DomainError("无法开始打印，请检查打印机是否可用。")
    printed = 0
    try:
        for pdf in sources:
            source = PdfSource(pdf)
            for index in range(source.pages):
                if printed:
                    printer.newPage()
                target = printer.pageLayout().fullRectPixels(printer.resolution())
                points = source.document.pagePointSize(index)
                # Fit the page into the paper keeping its proportions (an A4 page fills A4 paper).
                scale = min(target.width() / points.width(), target.height() / points.height())
                size = QSize(int(points.width() * scale), int(points.height() * scale))
                image = source.document.render(index, size)
                painter.drawImage(QRect(target.x(), target.y(), size.width(), size.height()), image)
                printed += 1
    finally:
        painter.end()
    return printed


__all__ = ["PdfSource", "a4_printer", "print_pdf"]
