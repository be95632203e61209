"""审计日志 — the audit log (全过程记录): who changed what and when, newest first, with the
record before and after each change, and a check that nobody altered the log or the data
behind the program's back."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.audit import AuditReport, AuditView, list_entries, verify
from app.auth.roles import Actor
from app.context import AppContext
from app.progress import Progress
from ui.audit.models import AuditModel, when
from ui.errors import show_error
from ui.forms import search_box
from ui.icons import icon
from ui.tasks import Task, run_task

PAGE_SIZE = 300
#: Problems listed in the message itself; the rest go under 显示详细信息.
SHOWN_PROBLEMS = 8


def pretty(image: dict[str, Any] | None) -> str:
    if image is None:
        return "（无）"
    return json.dumps(image, ensure_ascii=False, indent=2, sort_keys=True)


def report_text(report: AuditReport) -> str:
    if report.ok:
        return (
            f"审计日志完整：共 {report.entries} 条记录，逐条衔接无误；"
            f"核对了 {report.rows_checked} 行数据，均与审计记录一致。"
        )
    lines = [f"发现 {len(report.problems)} 处问题，数据或审计日志可能在程序之外被改动过：", ""]
    lines += [f"• {p.message}" for p in report.problems[:SHOWN_PROBLEMS]]
    if len(report.problems) > SHOWN_PROBLEMS:
        lines.append(f"……另有 {len(report.problems) - SHOWN_PROBLEMS} 处，见详细信息。")
    lines += ["", "请保留现场，不要再修改数据，并报告管理员；必要时从备份恢复。"]
    return "\n".join(lines)


class AuditPage(QWidget):
    sig_verified = Signal(object)  # AuditReport

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.task: Task | None = None
        self.report_box: QMessageBox | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        header = QHBoxLayout()
        header.addWidget(QLabel("<h2 style='margin:0'>审计日志</h2>"))
        header.addStretch(1)
        self.verify_button = QPushButton(icon("verify"), "校验完整性")
        self.verify_button.setToolTip("检查审计日志是否被删改，以及每条数据是否与其最后一条审计记录一致")
        self.verify_button.clicked.connect(self.start_verify)
        header.addWidget(self.verify_button)
        layout.addLayout(header)

        bar = QHBoxLayout()
        self.search = search_box("用户 / 摘要 / 内容")
        bar.addWidget(self.search)
        refresh = QPushButton(icon("refresh"), "刷新")
        refresh.clicked.connect(self.refresh)
        bar.addWidget(refresh)
        bar.addStretch(1)
        self.count = QLabel()
        self.count.setStyleSheet("color:#607d8b")
        bar.addWidget(self.count)
        self.more_button = QPushButton("加载更早的记录")
        self.more_button.clicked.connect(self.load_more)
        bar.addWidget(self.more_button)
        layout.addLayout(bar)

        self.model = AuditModel(self)
        self.view = QTableView(objectName="entries")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.selectionModel().selectionChanged.connect(self._show_detail)

        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 4, 0, 0)
        self.detail_title = QLabel("选中一条记录查看修改前后的内容。")
        self.detail_title.setWordWrap(True)
        detail_layout.addWidget(self.detail_title)
        panes = QHBoxLayout()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.before, self.after = QPlainTextEdit(readOnly=True), QPlainTextEdit(readOnly=True)
        for caption, pane in (("修改前", self.before), ("修改后", self.after)):
            pane.setFont(mono)
            pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            column = QVBoxLayout()
            column.addWidget(QLabel(caption))
            column.addWidget(pane)
            panes.addLayout(column)
        detail_layout.addLayout(panes, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([420, 260])
        layout.addWidget(splitter, 1)

        self._search_timer = QTimer(self, singleShot=True, interval=300)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._search_timer.start)
        self._sized = False

    # --- reading --------------------------------------------------------------------------
    def _page(self, before_seq: int | None) -> list[AuditView]:
        with self.ctx.read() as session:
            return list_entries(
                session, self.actor, text=self.search.text().strip(), limit=PAGE_SIZE, before_seq=before_seq
            )

    def refresh(self) -> None:
        entries = self._page(None)
        self.model.set_rows(entries)
        self._after_load(len(entries))
        if not self._sized and entries:
            self.view.resizeColumnsToContents()
            self.view.setColumnWidth(4, max(240, min(self.view.columnWidth(4), 360)))
            self._sized = True
        self._show_detail()

    def load_more(self) -> None:
        oldest = self.model.last_seq()
        if oldest is None:
            return
        entries = self._page(oldest)
        self.model.append_rows(entries)
        self._after_load(len(entries))

    def _after_load(self, fetched: int) -> None:
        # A short page means the start of the log has been reached.
        self.more_button.setEnabled(fetched == PAGE_SIZE)
        self.count.setText(f"已显示 {self.model.rowCount()} 条")

    def selected(self) -> AuditView | None:
        return self.model.selected_in(self.view)

    def _show_detail(self, *_: object) -> None:
        entry = self.selected()
        if entry is None:
            self.detail_title.setText("选中一条记录查看修改前后的内容。")
            self.before.clear()
            self.after.clear()
            return
        changed = "、".join(entry.changed_labels)
        self.detail_title.setText(
            f"<b>第 {entry.seq} 条</b>　{when(entry.at)}　{entry.user_name}　{entry.action_label}　"
            f"{entry.entity} {entry.entity_id}" + (f"<br>变更字段：{changed}" if changed else "")
        )
        self.before.setPlainText(pretty(entry.before))
        self.after.setPlainText(pretty(entry.after))

    # --- verifying ------------------------------------------------------------------------
    def start_verify(self) -> Task:
        """Check the chain off the GUI thread; it reads every entry and every row."""
        self.verify_button.setEnabled(False)
        self.task = run_task(
            self, "正在校验审计日志……", self._verify_job, self._verified, self._verify_failed
        )
        return self.task

    def _verify_job(self, progress: Progress) -> AuditReport:
        with self.ctx.read() as session:
            return verify(session)

    def _verify_failed(self, exc: BaseException) -> None:
        self.verify_button.setEnabled(True)
        show_error(self, exc, "无法校验审计日志")

    def _verified(self, report: AuditReport) -> None:
        self.verify_button.setEnabled(True)
        box = QMessageBox(
            QMessageBox.Icon.Information if report.ok else QMessageBox.Icon.Warning,
            "审计日志完整" if report.ok else "审计日志校验发现问题",
            report_text(report),
            QMessageBox.StandardButton.Ok,
            self,
        )
        if len(report.problems) > SHOWN_PROBLEMS:
            box.setDetailedText("\n".join(p.message for p in report.problems))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # open(), not exec(): window-modal without a nested event loop.
        box.open()
        self.report_box = box
        self.sig_verified.emit(report)
