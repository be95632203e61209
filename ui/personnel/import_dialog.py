"""导入预览 — the Excel import preview: every rejected row by its Excel row number and reason,
the rows that will be imported, and one button that imports them all in one transaction (or,
on any error, nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.context import AppContext
from app.personnel.excel import ImportPreview, ImportResult, commit_import, preview_import
from app.personnel.labels import CATEGORY_LABELS
from app.progress import Progress
from ui.errors import confirm, show_error
from ui.tasks import run_task


class ImportDialog(QDialog):
    sig_previewed = Signal()
    sig_imported = Signal(object)

    def __init__(self, ctx: AppContext, actor: Actor, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.path = ctx, actor, path
        self.preview: ImportPreview | None = None
        self.result: ImportResult | None = None
        self.setWindowTitle(f"导入人员台账 — {path.name}")
        layout = QVBoxLayout(self)
        self.summary = QLabel("正在读取……", objectName="summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.tabs = QTabWidget()
        self.rejected = self._table(["Excel 行号", "姓名", "拒绝原因"], "rejected")
        self.valid = self._table(["Excel 行号", "姓名", "身份证号", "人员类别", "分队", "证件数"], "valid")
        self.tabs.addTab(self.rejected, "被拒绝的行")
        self.tabs.addTab(self.valid, "将导入的行")
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox()
        self.import_btn = QPushButton("导入有效行")
        self.import_btn.setEnabled(False)
        buttons.addButton(self.import_btn, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
        self.import_btn.clicked.connect(self.do_import)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(820, 560)

    def _table(self, headers: list[str], name: str) -> QTableWidget:
        t = QTableWidget(0, len(headers), objectName=name)
        t.setHorizontalHeaderLabels(headers)
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.horizontalHeader().setStretchLastSection(True)
        return t

    def start_preview(self) -> None:
        def work(progress: Progress) -> ImportPreview:
            with self.ctx.read() as session:
                return preview_import(session, self.actor, self.path, progress)

        run_task(self, "正在检查 Excel 台账……", work, self.show_preview, self._preview_failed)

    def _preview_failed(self, exc: BaseException) -> None:
        self.summary.setText("无法读取该文件。")
        show_error(self, exc, "无法导入")

    def show_preview(self, preview: ImportPreview) -> None:
        self.preview = preview
        self.summary.setText(
            f"工作表“{preview.sheet}”，表头在第 {preview.header_row} 行。"
            f"可导入 <b>{len(preview.rows)}</b> 人（证件 {preview.certificate_count} 本）；"
            f"<span style='color:#c62828'>拒绝 <b>{len(preview.rejected)}</b> 行</span>；"
            f"跳过空行和备注行 {preview.skipped} 行。"
            + ("<br>被拒绝的行不会导入；请在 Excel 中改正后可再次导入它们。" if preview.rejected else "")
        )
        self.rejected.setRowCount(len(preview.rejected))
        for i, r in enumerate(preview.rejected):
            for j, value in enumerate((str(r.row), r.name, r.reason)):
                item = QTableWidgetItem(value)
                item.setForeground(QColor("#c62828") if j == 2 else QColor("#263238"))
                self.rejected.setItem(i, j, item)
        self.valid.setRowCount(len(preview.rows))
        for i, p in enumerate(preview.rows):
            values: list[Any] = [
                p.row,
                p.member.name,
                p.member.id_number,
                CATEGORY_LABELS[p.member.category],
                p.member.unit,
                len(p.certificates),
            ]
            for j, value in enumerate(values):
                self.valid.setItem(i, j, QTableWidgetItem(str(value)))
        self.tabs.setCurrentIndex(0 if preview.rejected else 1)
        self.import_btn.setEnabled(bool(preview.rows))
        self.sig_previewed.emit()

    def do_import(self, confirmed: bool = False) -> None:
        preview = self.preview
        if preview is None or not preview.rows:
            return
        if not confirmed and not confirm(
            self,
            "确认导入",
            f"将导入 {len(preview.rows)} 名队员和 {preview.certificate_count} 本证件"
            + (f"，{len(preview.rejected)} 行被拒绝的行不导入" if preview.rejected else "")
            + "。继续？",
        ):
            return

        def work(progress: Progress) -> ImportResult:
            with self.ctx.unit_of_work(self.actor, f"导入人员台账 {self.path.name}") as session:
                return commit_import(session, self.actor, preview, progress)

        self.import_btn.setEnabled(False)
        run_task(self, "正在导入……", work, self._imported, self._import_failed)

    def _imported(self, result: ImportResult) -> None:
        self.result = result
        self.summary.setText(f"已导入 {result.members} 名队员、{result.certificates} 本证件。")
        self.sig_imported.emit(result)
        self.accept()

    def _import_failed(self, exc: BaseException) -> None:
        self.import_btn.setEnabled(True)
        show_error(self, exc, "导入未完成，没有写入任何数据")

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, path: Path, parent: QWidget | None = None
    ) -> ImportResult | None:
        dialog = cls(ctx, actor, path, parent)
        dialog.start_preview()
        return dialog.result if dialog.exec() else None
