"""The evidence (证据) of a case in its workspace: a list in dossier order with photo thumbnails,
and the 添加证据 dialog for those who handle cases.

Storing a file copies it into the content store, which takes a while for a body-camera video, so
:class:`EvidenceDialog` saves through ``run_task`` off the GUI thread and stays open until the
task reports back; a refusal is shown and the dialog keeps what the clerk typed.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSize, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon
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
from app.cases.evidence import KIND_LABELS, EvidenceKind, EvidenceView, add_evidence, list_evidence
from app.context import AppContext
from app.errors import DomainError
from app.files import files_dir, path_of
from app.personnel.members import MemberQuery, search_members
from app.progress import Progress
from ui.errors import show_error
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

    def __init__(self, ctx: AppContext, actor: Actor, case: CaseView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.case = ctx, actor, case
        self.store = files_dir(ctx.data_dir)
        self._thumbs: dict[str, QIcon] = {}  # by sha256: stored files never change
        self.items: list[EvidenceView] = []
        self.table = QTableWidget(0, len(EVIDENCE_COLUMNS), objectName="evidence")
        self.table.setHorizontalHeaderLabels(list(EVIDENCE_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setIconSize(ROW_THUMB)
        self.table.setWordWrap(True)
        self.table.cellDoubleClicked.connect(self._open)
        self.summary = QLabel()
        self.summary.setStyleSheet("color:#607d8b")
        self.add_button = QPushButton(icon("photo.add"), "添加证据")
        self.add_button.clicked.connect(self.choose_file)
        final = case.stage in (CaseStage.CLOSED, CaseStage.ARCHIVED)
        if not actor.can(Permission.HANDLE_CASES):
            self.add_button.setEnabled(False)
            self.add_button.setToolTip(f"需要“{Permission.HANDLE_CASES.label}”权限")
        elif final:
            # The service refuses too; disabling says so before the clerk picks a file.
            self.add_button.setEnabled(False)
            self.add_button.setToolTip("已结案的案卷不能再添加证据，须由队领导先重新办理。")
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.refresh()

    def refresh(self) -> None:
        try:
            with self.ctx.read() as session:
                self.items = list_evidence(session, self.actor, self.case.id)
        except Exception as exc:
            show_error(self, exc)
            return
        self.summary.setText(f"证据 {len(self.items)} 件（双击打开文件）" if self.items else "尚无证据")
        self.table.setRowCount(len(self.items))
        for row, item in enumerate(self.items):
            self._fill(row, item)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(1, ROW_THUMB.width() + 8)
        self.table.setColumnWidth(3, 300)
        self.table.resizeRowsToContents()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)

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
        for column, text in enumerate(cells):
            cell = QTableWidgetItem(text)
            if column == 3:
                cell.setToolTip(text)
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

    def choose_file(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(self, "选择证据文件", "", EVIDENCE_FILTER)
        if name and EvidenceDialog.ask(self.ctx, self.actor, self.case, Path(name), self) is not None:
            self.refresh()

    def _open(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.items):
            path = path_of(self.store, self.items[row].sha256)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
