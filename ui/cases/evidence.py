"""The evidence (证据) of a case in its workspace: a list in dossier order with photo thumbnails;
for those who handle cases the 添加证据 dialog, 上移 / 下移 and 移除 (which renumber the dossier),
and 核验文件, which re-hashes every stored file and marks the items whose file is gone or altered.

Storing a file copies it into the content store, which takes a while for a body-camera video, so
:class:`EvidenceDialog` saves through ``run_task`` off the GUI thread and stays open until the
task reports back; a refusal is shown and the dialog keeps what the clerk typed. Verifying reads
every file in full, so it runs off the GUI thread too and reports in the panel.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSize, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.cases import CaseStage, CaseView
from app.cases.evidence import (
    KIND_LABELS,
    EvidenceKind,
    EvidenceProblem,
    EvidenceView,
    add_evidence,
    list_evidence,
    remove_evidence,
    reorder_evidence,
    verify_evidence,
)
from app.context import AppContext
from app.errors import DomainError
from app.files import files_dir, path_of
from app.personnel.members import MemberQuery, search_members
from app.progress import Progress
from ui.errors import confirm, show_error
from ui.forms import buttons, chosen_member, focus_field, member_combo
from ui.icons import icon
from ui.leads.dialogs import datetime_edit, from_qdatetime
from ui.tasks import Task, run_task
from ui.thumbnails import load_thumbnail

EVIDENCE_COLUMNS = ("序号", "照片", "类型", "说明", "采集人", "采集时间", "采集设备", "文件")
#: Smaller than the lead pane's thumbnails: here they sit in table rows beside the text.
ROW_THUMB = QSize(96, 72)
#: Kinds whose files are pictures worth a thumbnail (a scan is usually a JPEG or PNG too).
PICTURE_KINDS = frozenset({EvidenceKind.PHOTO, EvidenceKind.SCAN})
EVIDENCE_FILTER = (
    "证据文件 (*.jpg *.jpeg *.png *.bmp *.gif *.webp *.tif *.tiff *.heic *.mp4 *.mov *.avi *.mkv"
    " *.mp3 *.wav *.m4a *.amr *.pdf);;所有文件 (*)"
)
_SUFFIX_KINDS = {
    EvidenceKind.PHOTO: {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".heic"},
    EvidenceKind.SCAN: {".tif", ".tiff", ".pdf"},
    EvidenceKind.VIDEO: {".mp4", ".mov", ".avi", ".mkv", ".3gp"},
    EvidenceKind.AUDIO: {".mp3", ".wav", ".m4a", ".amr", ".aac"},
}
#: Enough for any squad; members who have left are not offered as collectors.
MEMBER_LIMIT = 1000
PROBLEM_BACKGROUND = QColor("#ffebee")
FINAL_TOOLTIP = "已结案的案卷不能再{}，须由队领导先重新办理。"


def guess_kind(path: Path) -> EvidenceKind:
    """A first guess from the file's suffix; the clerk confirms it in the dialog."""
    suffix = path.suffix.lower()
    for kind, suffixes in _SUFFIX_KINDS.items():
        if suffix in suffixes:
            return kind
    return EvidenceKind.OTHER


def _file_time(path: Path) -> dt.datetime:
    """The file's modification time (for a photo copied with its date kept, when it was taken),
    never later than now: only the dialog's starting value, the clerk confirms it."""
    now = dt.datetime.now().replace(second=0, microsecond=0)
    try:
        taken = dt.datetime.fromtimestamp(path.stat().st_mtime).replace(second=0, microsecond=0)
    except (OSError, ValueError, OverflowError):
        return now
    return min(taken, now)


class EvidenceDialog(QDialog):
    """添加证据: what the chosen file shows, who collected it, when and with what device."""

    sig_saved = Signal(object)

    def __init__(
        self, ctx: AppContext, actor: Actor, case: CaseView, path: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.case, self.path = ctx, actor, case, path
        self.saved: EvidenceView | None = None
        self.task: Task | None = None
        self.setWindowTitle(f"添加证据 — {case.number}")
        with ctx.read() as session:
            members = search_members(session, actor, MemberQuery(include_left=False), limit=MEMBER_LIMIT)
        self.kind = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, kind.value)
        self.kind.setCurrentIndex(self.kind.findData(guess_kind(path).value))
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText(
            "证明什么事实，如“当事人在车陂路 123 号门前占道堆放建材的现场照片”"
        )
        self.description.setFixedHeight(80)
        self.collector = member_combo(members)
        self.collected_at = datetime_edit(_file_time(path))
        self.device = QLineEdit(placeholderText="如“执法记录仪 3 号”“华为 P60 手机”")
        self.fields: dict[str, QWidget] = {
            "kind": self.kind,
            "description": self.description,
            "collected_by": self.collector,
            "member_id": self.collector,
            "collected_at": self.collected_at,
            "device": self.device,
        }
        form = QFormLayout()
        file_label = QLabel(path.name)
        file_label.setToolTip(str(path))
        form.addRow("文件", file_label)
        form.addRow("证据类型 *", self.kind)
        form.addRow("证据说明 *", self.description)
        form.addRow("采集人 *", self.collector)
        form.addRow("采集时间 *", self.collected_at)
        form.addRow("采集设备", self.device)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.button_box = buttons(self, self.save)
        layout.addWidget(self.button_box)
        self.resize(520, 360)

    def save(self) -> Task | None:
        """Start saving in the background; the dialog closes when the task reports success.
        Returns the task (tests wait on it), or None while one runs or an input is refused."""
        if self.task is not None:
            return None
        try:
            collector = chosen_member(self.collector)
        except DomainError as exc:
            self._failed(exc)
            return None
        # The inputs are read here, on the GUI thread; the worker never touches a widget.
        work = partial(
            self._work,
            EvidenceKind(self.kind.currentData()),
            self.description.toPlainText(),
            collector,
            from_qdatetime(self.collected_at.dateTime()),
            self.device.text(),
        )
        self.button_box.setEnabled(False)
        self.task = run_task(self, "正在保存证据……", work, self._saved, self._failed)
        return self.task

    def _work(
        self,
        kind: EvidenceKind,
        description: str,
        collector: str,
        collected_at: dt.datetime,
        device: str,
        progress: Progress,
    ) -> EvidenceView:
        with self.ctx.unit_of_work(self.actor, f"添加证据：{self.case.number}") as session:
            return add_evidence(
                session,
                self.actor,
                self.case.id,
                self.path,
                kind,
                description,
                collector,
                collected_at,
                device,
                files_dir(self.ctx.data_dir),
                progress,
            )

    def _saved(self, view: EvidenceView) -> None:
        self.task = None
        self.saved = view
        self.sig_saved.emit(view)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self.button_box.setEnabled(True)
        focus_field(self.fields, exc)
        show_error(self, exc, "无法添加证据")

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, case: CaseView, path: Path, parent: QWidget | None = None
    ) -> EvidenceView | None:
        """The evidence added, or None when the user cancelled."""
        dialog = cls(ctx, actor, case, path, parent)
        return dialog.saved if dialog.exec() else None


class EvidencePanel(QWidget):
    """The case's evidence in dossier order; double-click opens the stored file."""

    #: A verification finished: the problems found (empty when every file is intact).
    sig_verified = Signal(object)

    def __init__(self, ctx: AppContext, actor: Actor, case: CaseView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.case = ctx, actor, case
        self.store = files_dir(ctx.data_dir)
        self._thumbs: dict[str, QIcon] = {}  # by sha256: stored files never change
        self.items: list[EvidenceView] = []
        #: The last verification's findings by evidence id, kept across reloads until the next one.
        self.problems: dict[str, EvidenceProblem] = {}
        self.task: Task | None = None
        self.table = QTableWidget(0, len(EVIDENCE_COLUMNS), objectName="evidence")
        self.table.setHorizontalHeaderLabels(list(EVIDENCE_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setIconSize(ROW_THUMB)
        self.table.setWordWrap(True)
        self.table.cellDoubleClicked.connect(self._open)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.summary = QLabel()
        self.summary.setStyleSheet("color:#607d8b")
        self.verify_label = QLabel(objectName="verify_result")
        self.verify_label.setWordWrap(True)
        self.verify_label.hide()
        self.add_button = QPushButton(icon("photo.add"), "添加证据")
        self.add_button.clicked.connect(self.choose_file)
        self.up_button = QPushButton(icon("move.up"), "上移")
        self.up_button.clicked.connect(self.move_up)
        self.down_button = QPushButton(icon("move.down"), "下移")
        self.down_button.clicked.connect(self.move_down)
        self.remove_button = QPushButton(icon("delete"), "移除")
        self.remove_button.clicked.connect(self.remove_selected)
        self.verify_button = QPushButton(icon("verify"), "核验文件")
        self.verify_button.setToolTip("重新计算每件证据文件的校验值，检查文件是否缺失或被改动")
        self.verify_button.clicked.connect(self.verify)
        self.can_handle = actor.can(Permission.HANDLE_CASES)
        # The service refuses changes to a final dossier too; disabling says so beforehand.
        self.final = case.stage in (CaseStage.CLOSED, CaseStage.ARCHIVED)
        if not self.can_handle:
            needed = f"需要“{Permission.HANDLE_CASES.label}”权限"
            for button in self._all_buttons():
                button.setToolTip(needed)
        elif self.final:
            self.add_button.setToolTip(FINAL_TOOLTIP.format("添加证据"))
            for button in (self.up_button, self.down_button):
                button.setToolTip(FINAL_TOOLTIP.format("调整证据顺序"))
            self.remove_button.setToolTip(FINAL_TOOLTIP.format("移除证据"))
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        for button in (self.up_button, self.down_button, self.remove_button, self.verify_button):
            bar.addWidget(button)
        bar.addSpacing(12)
        bar.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.verify_label)
        layout.addWidget(self.table, 1)
        self.refresh()

    def set_case(self, case: CaseView) -> None:
        """The case as it stands after an act in the workspace (closure makes the dossier final)."""
        self.case = case
        self.final = case.stage in (CaseStage.CLOSED, CaseStage.ARCHIVED)
        self.refresh()

    def _all_buttons(self) -> tuple[QPushButton, ...]:
        return (self.add_button, self.up_button, self.down_button, self.remove_button, self.verify_button)

    def refresh(self) -> None:
        try:
            with self.ctx.read() as session:
                self.items = list_evidence(session, self.actor, self.case.id)
        except Exception as exc:
            show_error(self, exc)
            return
        self.summary.setText(f"证据 {len(self.items)} 件（双击打开文件）" if self.items else "尚无证据")
        self.table.clearSelection()
        self.table.setRowCount(len(self.items))
        for row, item in enumerate(self.items):
            self._fill(row, item)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(1, ROW_THUMB.width() + 8)
        self.table.setColumnWidth(3, 300)
        self.table.resizeRowsToContents()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self._update_buttons()

    def _fill(self, row: int, item: EvidenceView) -> None:
        cells = (
            str(item.order),
            "",
            item.kind_label,
            item.description,
            item.collected_by_name,
            f"{item.collected_at:%Y-%m-%d %H:%M}",
            item.device,
            item.original_name,
        )
        problem = self.problems.get(item.id)
        if problem is not None:
            # Said in words in the file column: an icon would be drawn at thumbnail size.
            cells = (
                *cells[:-1],
                f"{item.original_name}（{'文件缺失' if problem.missing else '文件已被改动'}）",
            )
        for column, text in enumerate(cells):
            cell = QTableWidgetItem(text)
            if column == 3:
                cell.setToolTip(text)
            if problem is not None:
                cell.setBackground(PROBLEM_BACKGROUND)
                cell.setForeground(QColor("#b71c1c" if column == len(cells) - 1 else "#212121"))
                cell.setToolTip(problem.message)
            self.table.setItem(row, column, cell)
        thumb = self.thumbnail(item)
        if thumb is not None:
            self.table.item(row, 1).setIcon(thumb)

    def thumbnail(self, item: EvidenceView) -> QIcon | None:
        """The item's thumbnail; None for kinds that are no pictures (video, audio, records)."""
        if item.kind not in PICTURE_KINDS:
            return None
        if item.sha256 not in self._thumbs:
            pixmap = load_thumbnail(path_of(self.store, item.sha256), ROW_THUMB)
            # A file Qt cannot draw (a PDF scan, a damaged file) still shows as a placeholder.
            self._thumbs[item.sha256] = QIcon(pixmap) if pixmap is not None else icon("photo")
        return self._thumbs[item.sha256]

    # --- selection ------------------------------------------------------------------------
    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def selected(self) -> EvidenceView | None:
        row = self.selected_row()
        return self.items[row] if 0 <= row < len(self.items) else None

    def select(self, evidence_id: str) -> None:
        row = next((i for i, item in enumerate(self.items) if item.id == evidence_id), -1)
        if row >= 0:
            self.table.selectRow(row)

    def _update_buttons(self) -> None:
        row, count = self.selected_row(), len(self.items)
        editable = self.can_handle and not self.final
        self.add_button.setEnabled(editable)
        self.up_button.setEnabled(editable and row > 0)
        self.down_button.setEnabled(editable and 0 <= row < count - 1)
        self.remove_button.setEnabled(editable and row >= 0)
        self.verify_button.setEnabled(self.can_handle and count > 0 and self.task is None)

    # --- actions --------------------------------------------------------------------------
    def choose_file(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(self, "选择证据文件", "", EVIDENCE_FILTER)
        if name and EvidenceDialog.ask(self.ctx, self.actor, self.case, Path(name), self) is not None:
            self.refresh()

    def move_up(self) -> None:
        self._move(-1)

    def move_down(self) -> None:
        self._move(1)

    def _move(self, step: int) -> None:
        """Swap the selected item with its neighbour; the moved item stays selected."""
        row = self.selected_row()
        to = row + step
        if not (0 <= row < len(self.items) and 0 <= to < len(self.items)):
            return
        ids = [item.id for item in self.items]
        ids[row], ids[to] = ids[to], ids[row]
        try:
            with self.ctx.unit_of_work(self.actor, f"调整证据顺序：{self.case.number}") as session:
                reorder_evidence(session, self.actor, self.case.id, ids)
        except Exception as exc:
            show_error(self, exc, "无法调整证据顺序")
            self.refresh()  # e.g. another clerk added evidence meanwhile: show what is there now
            return
        self.refresh()
        self.select(ids[to])

    def remove_selected(self) -> None:
        item = self.selected()
        if item is None:
            return
        if not confirm(
            self,
            "移除证据",
            f"从{self.case.number}的案卷中移除第 {item.order} 号证据“{item.description}”？\n\n"
            "其后的证据序号依次前移；文件仍保留在附件库中，移除操作记入审计日志。",
        ):
            return
        row = self.selected_row()
        try:
            with self.ctx.unit_of_work(self.actor, f"移除证据：{self.case.number}") as session:
                remove_evidence(session, self.actor, item.id)
        except Exception as exc:
            show_error(self, exc, "无法移除证据")
            return
        self.problems.pop(item.id, None)
        self.refresh()
        if self.items:
            self.table.selectRow(min(row, len(self.items) - 1))

    def verify(self) -> Task | None:
        """Start re-hashing every stored file off the GUI thread; the result shows in the panel
        and ``sig_verified`` reports it. Returns the task, or None while one runs."""
        if self.task is not None:
            return None
        self.verify_button.setEnabled(False)
        self._show_verdict(f"正在核验 {len(self.items)} 件证据文件……", "#607d8b")
        self.task = run_task(
            self, "正在核验证据文件……", self._verify_work, self._verified, self._verify_failed, modal=False
        )
        return self.task

    def _verify_work(self, _progress: Progress) -> tuple[int, list[EvidenceProblem]]:
        with self.ctx.read() as session:
            count = len(list_evidence(session, self.actor, self.case.id))
            return count, verify_evidence(session, self.actor, self.case.id, self.store)

    def _verified(self, result: tuple[int, list[EvidenceProblem]]) -> None:
        self.task = None
        count, problems = result
        self.problems = {p.item.id: p for p in problems}
        if problems:
            lines = "\n".join(p.message for p in problems)
            self._show_verdict(
                f"核验 {count} 件证据文件，发现 {len(problems)} 件有问题：\n{lines}", "#c62828"
            )
        else:
            self._show_verdict(f"全部 {count} 件证据文件完好。", "#2e7d32")
        keep = self.selected()
        self.refresh()
        if keep is not None:
            self.select(keep.id)
        self.sig_verified.emit(problems)

    def _verify_failed(self, exc: BaseException) -> None:
        self.task = None
        self.verify_label.hide()
        self._update_buttons()
        show_error(self, exc, "无法核验证据文件")

    def _show_verdict(self, text: str, color: str) -> None:
        self.verify_label.setText(text)
        self.verify_label.setStyleSheet(f"color:{color}")
        self.verify_label.show()

    def _open(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.items):
            path = path_of(self.store, self.items[row].sha256)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
