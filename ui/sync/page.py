"""与区局同步 — the sync page: enrolling this installation with the district, the state of sync
(last sync, outbox depth and age, last error, open conflicts), 立即同步 and automatic sync, the
conflicts a clerk resolves, the items the district refused (区局拒收) with their reasons, and the
offline bundles that travel on a USB stick.

Every request to the district runs off the GUI thread through :func:`ui.tasks.run_task`; the page
starts one at a time (a sync, an enrollment or a bundle), so two syncs never overlap. The
automatic sync is the page's timer: it syncs when the interval has passed since the last good
sync, and after a failure waits :func:`app.sync.client.retry_delay` of the failures so far before
trying again. It never opens a dialog — its failures show in the status block, in red. It is a
setting of the installation, not of a user: it runs whoever is logged in, like the automatic
backup, since the squad's changes must reach the district whoever works at the PC.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.context import AppContext
from app.errors import Cancelled, DomainError, ValidationError
from app.progress import Progress
from app.sync import client, offline
from app.sync.address import EXAMPLE, server_url
from app.sync.client import (
    KEEP_CURRENT,
    TAKE_OTHER,
    ConflictView,
    EnrollResult,
    Rejection,
    SyncReport,
    SyncStatus,
)
from app.sync.transport import HttpTransport, SyncError
from ui.errors import confirm, message_for, show_error
from ui.icons import icon
from ui.sync.models import ConflictModel, RejectionModel, conflict_title
from ui.sync.texts import age_text, delay_text, local_time, request_error
from ui.tablemodel import display
from ui.tasks import Task, run_task

log = logging.getLogger("squaddesk.ui")

#: How often the page checks whether an automatic sync is due, in milliseconds.
AUTO_TICK_MS = 15_000
#: Automatic sync waits at least this long after start-up, so the program's own start-up work
#: (the start page's to-do list shares the one background worker) goes first.
START_DELAY = 20.0
#: An outbox older than this is shown in amber: the district has not seen this work for days.
STALE_OUTBOX = dt.timedelta(days=3)
BUNDLE_FILTER = "SquadDesk 同步文件 (*.sdbundle)"
RED, AMBER, GREY = "#c62828", "#ef8f00", "#607d8b"


def needs(permission: Permission) -> str:
    return f"需要“{permission.label}”权限"


# ---- work done off the GUI thread ---------------------------------------------------------------


def enroll_device(ctx: AppContext, actor: Actor | None, url: str, code: str, label: str) -> EnrollResult:
    """Register this installation with the district at ``url`` (see :func:`app.sync.client.enroll`)."""
    with HttpTransport(url, client.device_key(ctx), ctx.device_id) as transport:
        return client.enroll(ctx, actor, transport, url, code, label)


def sync_device(ctx: AppContext, progress: Progress | None = None) -> SyncReport:
    """One whole sync with the district this installation is enrolled with."""
    state = client.status(ctx)
    if not state.enrolled:
        raise DomainError("本机尚未在区局登记。请先在“与区局同步”页填写区局地址和登记码完成登记。")
    with HttpTransport(state.server_url, client.device_key(ctx), ctx.device_id) as transport:
        return client.sync_once(ctx, transport, progress)


# ---- the enrollment form (also the first-run wizard's 加入已有中队 page) -------------------------------


class EnrollFields(QWidget):
    """区局地址, 登记码 and 本机名称 — what enrollment needs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.server = QLineEdit(objectName="server", placeholderText=f"如 {EXAMPLE}")
        self.code = QLineEdit(objectName="code", placeholderText="区局发放的一次性登记码")
        self.label = QLineEdit(objectName="label", placeholderText="如：内勤电脑、外勤站笔记本")
        self.label.setText(socket.gethostname()[:100])
        self.label.setMaxLength(100)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("区局地址", self.server)
        form.addRow("登记码", self.code)
        form.addRow("本机名称", self.label)

    def values(self) -> tuple[str, str, str]:
        """(address as a base URL, code, label); raises ValidationError naming what is missing."""
        url = server_url(self.server.text())
        code = self.code.text().strip()
        if not code:
            raise ValidationError("请填写区局发放的登记码。", field="code")
        return url, code, self.label.text().strip()


def hint(text: str) -> QLabel:
    label = QLabel(text, wordWrap=True)
    label.setStyleSheet(f"color:{GREY}")
    return label


def list_view(name: str, model: Any) -> QTableView:
    """A read-only table of whole rows, its columns as wide as their contents."""
    view = QTableView(objectName=name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return view


def tab_page(text: str) -> tuple[QWidget, QVBoxLayout]:
    """A page of the conflicts / refused tabs, with its explanation on top."""
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(hint(text))
    return page, layout


def red_label(name: str) -> QLabel:
    label = QLabel(objectName=name, wordWrap=True)
    label.setStyleSheet(f"color:{RED}")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class SyncPage(QWidget):
    sig_status = Signal(object)  # SyncStatus, after every reload
    sig_enrolled = Signal(object)  # EnrollResult
    sig_enroll_failed = Signal(str)
    sig_synced = Signal(object)  # SyncReport
    sig_sync_failed = Signal(str)  # what the status block shows
    sig_bundle_done = Signal(str)
    sig_bundle_failed = Signal(str)
    sig_conflict_resolved = Signal(int)

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.can_sync = actor.can(Permission.SYNC)
        self.can_resolve = actor.can(Permission.RESOLVE_CONFLICTS)
        self.can_enroll = actor.can(Permission.EDIT_SETTINGS)
        self.status: SyncStatus | None = None
        self.task: Task | None = None
        #: When (time.monotonic()) the next automatic sync is due; None: not automatic.
        self.auto_due: float | None = None
        #: The last failure of a sync that left nothing stored (an unexpected error).
        self._unstored_error = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        layout.addWidget(QLabel("<h2 style='margin:0'>与区局同步</h2>"))
        self.permission_hint = hint(self._permission_text())
        self.permission_hint.setObjectName("permission_hint")
        self.permission_hint.setVisible(bool(self.permission_hint.text()))
        layout.addWidget(self.permission_hint)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_enroll_panel())
        self.stack.addWidget(self._build_main_panel())
        layout.addWidget(self.stack, 1)

        self._save_timer = QTimer(self, singleShot=True, interval=700)
        self._save_timer.timeout.connect(self.save_auto_minutes)
        self.auto_timer = QTimer(self, interval=AUTO_TICK_MS)
        self.auto_timer.timeout.connect(self._tick)
        self.refresh()
        self._schedule(start=True)
        self.auto_timer.start()

    # ---- building ------------------------------------------------------------------------------

    def _permission_text(self) -> str:
        parts = []
        if not self.can_sync:
            parts.append("您可以查看同步状态；同步、自动同步和离线同步文件" + needs(Permission.SYNC) + "。")
        if not self.can_resolve:
            parts.append("处理冲突" + needs(Permission.RESOLVE_CONFLICTS) + "。")
        return "".join(parts)

    def _build_enroll_panel(self) -> QWidget:
        panel = QWidget()
        box = QGroupBox("在区局登记本机")
        inner = QVBoxLayout(box)
        inner.addWidget(
            hint(
                "本机尚未在区局登记，数据只保存在本机。请向区局索取区局同步服务的地址和本机的一次性登记码"
                "（每台电脑一个），填写后点击“登记本机”。登记后，本机的数据会上传到区局，"
                "并接收本中队其他电脑和区局下发的数据。"
            )
        )
        self.enroll_fields = EnrollFields()
        inner.addWidget(self.enroll_fields)
        self.enroll_button = QPushButton(icon("enroll"), "登记本机")
        self.enroll_button.clicked.connect(self.enroll)
        if not self.can_enroll:
            self.enroll_button.setEnabled(False)
            self.enroll_button.setToolTip(needs(Permission.EDIT_SETTINGS))
            self.enroll_fields.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.enroll_button)
        row.addStretch(1)
        inner.addLayout(row)
        self.enroll_message = red_label("enroll_message")
        inner.addWidget(self.enroll_message)
        if not self.can_enroll:
            inner.addWidget(hint("登记本机" + needs(Permission.EDIT_SETTINGS) + "，请由管理员登记。"))
        box.setMaximumWidth(640)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(box)
        layout.addStretch(1)
        return panel

    def _build_main_panel(self) -> QWidget:
        panel = QWidget()

        # -- the status block
        status_box = QGroupBox("同步状态")
        form = QFormLayout()
        self.server_label = QLabel(objectName="server_label")
        self.squad_label = QLabel(objectName="squad_label")
        self.last_sync_label = QLabel(objectName="last_sync_label")
        self.outbox_label = QLabel(objectName="outbox_label")
        self.conflicts_label = QLabel(objectName="conflicts_label")
        self.rejections_label = QLabel(objectName="rejections_label")
        self.release_label = QLabel(objectName="release_label")
        self.auto_label = QLabel(objectName="auto_label")
        for text, widget in (
            ("区局地址", self.server_label),
            ("中队", self.squad_label),
            ("上次同步", self.last_sync_label),
            ("待上传", self.outbox_label),
            ("未处理冲突", self.conflicts_label),
            ("区局拒收", self.rejections_label),
            ("区局参考数据", self.release_label),
            ("自动同步", self.auto_label),
        ):
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(text, widget)
        self.error_label = red_label("error_label")
        status_layout = QVBoxLayout(status_box)
        status_layout.addLayout(form)
        status_layout.addWidget(self.error_label)
        status_layout.addStretch(1)

        # -- the actions
        actions = QGroupBox("同步")
        self.sync_button = QPushButton(icon("sync"), "立即同步")
        self.sync_button.setToolTip("上传本机的改动，接收本中队其他电脑的改动和区局下发的参考数据")
        self.sync_button.clicked.connect(self.sync_now)
        self.result_label = QLabel(objectName="result_label", wordWrap=True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.auto_minutes = QSpinBox(objectName="auto_minutes", minimum=0, maximum=24 * 60)
        self.auto_minutes.setPrefix("每 ")
        self.auto_minutes.setSuffix(" 分钟")
        self.auto_minutes.setSpecialValueText("不自动同步")
        self.auto_minutes.setToolTip("联网时按此间隔自动同步；0 为不自动同步")
        self.auto_minutes.valueChanged.connect(lambda _v: self._save_timer.start())
        self.export_button = QPushButton(icon("bundle.export"), "导出同步文件…")
        self.export_button.setToolTip("把待上传的改动导出为签名的同步文件，用 U 盘交给区局")
        self.export_button.clicked.connect(self.export_bundle)
        self.import_button = QPushButton(icon("bundle.import"), "导入区局答复…")
        self.import_button.setToolTip("导入区局对同步文件的答复（确认、本中队其他电脑的改动、参考数据）")
        self.import_button.clicked.connect(self.import_answer)
        for widget in (self.sync_button, self.auto_minutes, self.export_button, self.import_button):
            if not self.can_sync:
                widget.setEnabled(False)
                widget.setToolTip(needs(Permission.SYNC))
        row = QHBoxLayout()
        row.addWidget(self.sync_button)
        row.addStretch(1)
        auto_row = QHBoxLayout()
        auto_row.addWidget(QLabel("每 N 分钟自动同步（0 为不自动）"))
        auto_row.addWidget(self.auto_minutes)
        auto_row.addStretch(1)
        bundle_row = QHBoxLayout()
        bundle_row.addWidget(self.export_button)
        bundle_row.addWidget(self.import_button)
        bundle_row.addStretch(1)
        actions_layout = QVBoxLayout(actions)
        actions_layout.addLayout(row)
        actions_layout.addLayout(auto_row)
        actions_layout.addSpacing(8)
        offline_title = QLabel("<b>没有网络时（U 盘）</b>")
        offline_title.setToolTip(
            "导出的同步文件交区局导入，区局给出答复文件后在本机导入。同步文件已签名，改动过的文件会被拒收。"
        )
        actions_layout.addWidget(offline_title)
        actions_layout.addLayout(bundle_row)
        actions_layout.addWidget(hint("同步文件交区局导入；区局的答复文件拿回本机导入。"))
        actions_layout.addStretch(1)

        top = QHBoxLayout()
        top.addWidget(status_box, 3)
        top.addWidget(actions, 2)
        self.result_label.setStyleSheet("padding:2px 2px 4px 2px")

        # -- the conflicts
        self.show_resolved = QCheckBox("同时显示已处理的冲突")
        self.show_resolved.toggled.connect(lambda _on: self.load_conflicts())
        self.conflict_model = ConflictModel(self)
        self.conflict_view = list_view("conflicts", self.conflict_model)
        self.conflict_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.conflict_view.horizontalHeader().setStretchLastSection(True)
        self.conflict_view.selectionModel().selectionChanged.connect(lambda *_a: self._show_conflict())
        self.detail_caption = QLabel(objectName="detail_caption", wordWrap=True)
        self.details = QTableWidget(0, 3, objectName="details")
        self.details.setHorizontalHeaderLabels(["字段", "当前版本", "另一版本"])
        self.details.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.details.verticalHeader().setVisible(False)
        self.details.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.details.setWordWrap(True)
        self.keep_button = QPushButton(icon("conflict.keep"), "保留当前版本")
        self.keep_button.setToolTip("保留正在使用的版本，放弃另一版本的修改")
        self.keep_button.clicked.connect(lambda: self.resolve(KEEP_CURRENT))
        self.take_button = QPushButton(icon("conflict.take"), "采用另一版本")
        self.take_button.setToolTip("用另一版本的内容覆盖当前版本")
        self.take_button.clicked.connect(lambda: self.resolve(TAKE_OTHER))
        detail_panel = QWidget()
        detail_layout = QVBoxLayout(detail_panel)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail_caption)
        detail_layout.addWidget(self.details, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.take_button)
        buttons.addStretch(1)
        detail_layout.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.conflict_view)
        split.addWidget(detail_panel)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        conflicts, conflicts_layout = tab_page(
            "两台电脑同时修改了同一条记录时，系统按版本先保留一个版本继续使用（“当前版本”），另一版本"
            "保存在这里，等待处理。处理结果会在下次同步时通知区局和本中队的其他电脑。"
        )
        conflicts_layout.addWidget(self.show_resolved)
        conflicts_layout.addWidget(split, 1)

        # -- what the district refused
        self.rejection_model = RejectionModel(self)
        self.rejection_view = list_view("rejections", self.rejection_model)
        self.rejection_view.setWordWrap(True)
        self.rejection_view.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        refused, refused_layout = tab_page(
            "区局没有接受的改动列在这里，并写明原因（如记录属于其他中队、参考数据只能由区局发布、"
            "关联的记录区局没有）。它们已不在待上传之列，不会自动重发：请按原因核对该记录，"
            "修改后再同步；无法处理的请联系区局。"
        )
        refused_layout.addWidget(self.rejection_view, 1)

        self.lists = QTabWidget(objectName="lists")
        self.lists.addTab(conflicts, icon("sync.conflicts"), "冲突")
        self.lists.addTab(refused, icon("sync.refused"), "区局拒收")

        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.result_label)
        layout.addWidget(self.lists, 1)
        return panel

    # ---- state ----------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A sync, an enrollment or a bundle is running: the page starts no other."""
        return self.task is not None

    def refresh(self) -> None:
        self.load_status()
        self.load_conflicts()
        self.load_rejections()

    def load_status(self) -> SyncStatus:
        status = client.status(self.ctx)
        self.status = status
        self.stack.setCurrentIndex(1 if status.enrolled else 0)
        self.server_label.setText(status.server_url or "—")
        self.squad_label.setText(status.squad_name or "—")
        self.last_sync_label.setText(local_time(status.last_sync, "从未同步"))
        self.outbox_label.setText(self._outbox_text(status))
        age = status.oldest_age
        stale = status.outbox and age is not None and age > STALE_OUTBOX
        self.outbox_label.setStyleSheet(f"color:{AMBER}" if stale else "")
        self.conflicts_label.setText(
            f"{status.open_conflicts} 处，请在下方处理" if status.open_conflicts else "无"
        )
        self.conflicts_label.setStyleSheet(f"color:{RED}" if status.open_conflicts else "")
        self.rejections_label.setText(
            f"{status.rejections} 条，原因见下方“区局拒收”" if status.rejections else "无"
        )
        self.rejections_label.setStyleSheet(f"color:{AMBER}" if status.rejections else "")
        self.release_label.setText(
            f"第 {status.release_version} 版" if status.release_version else "尚未收到"
        )
        self.auto_label.setText(self._auto_text(status))
        self.error_label.setText(self._error_text(status))
        self.error_label.setVisible(bool(self.error_label.text()))
        if not self.auto_minutes.hasFocus() and not self._save_timer.isActive():
            self.auto_minutes.blockSignals(True)
            self.auto_minutes.setValue(status.auto_minutes)
            self.auto_minutes.blockSignals(False)
        self._update_buttons()
        self.sig_status.emit(status)
        return status

    @staticmethod
    def _outbox_text(status: SyncStatus) -> str:
        if not status.outbox:
            return "0 条（本机的改动已全部上传）"
        text = f"{status.outbox} 条"
        age = status.oldest_age
        if age is not None:
            words = age_text(age)
            text += f"，最早一条已等待{' ' if words[0].isdigit() else ''}{words}"
        return text

    def _auto_text(self, status: SyncStatus) -> str:
        if status.auto_minutes <= 0:
            return "未开启（只在点击“立即同步”时同步）"
        text = f"每 {status.auto_minutes} 分钟"
        if self.auto_due is not None:
            seconds = self.auto_due - time.monotonic()
            when = dt.datetime.now() + dt.timedelta(seconds=max(0.0, seconds))
            text += f"，下次约 {when:%H:%M}"
        return text

    def _error_text(self, status: SyncStatus) -> str:
        error = status.last_error or self._unstored_error
        if not error:
            return ""
        text = f"上次同步失败：{error}"
        if status.failures > 1:
            text += f"（已连续失败 {status.failures} 次）"
        if self.auto_due is not None:
            text += f"　约 {delay_text(self.auto_due - time.monotonic())}后自动重试。"
        return text

    def _update_buttons(self) -> None:
        idle = not self.busy
        for widget in (self.sync_button, self.export_button, self.import_button):
            widget.setEnabled(self.can_sync and idle)
        self.enroll_button.setEnabled(self.can_enroll and idle)
        chosen = self.selected_conflict()
        open_one = chosen is not None and chosen.resolved_at is None
        for button in (self.keep_button, self.take_button):
            button.setEnabled(self.can_resolve and open_one and idle)
            if not self.can_resolve:
                button.setToolTip(needs(Permission.RESOLVE_CONFLICTS))

    # ---- enrollment ------------------------------------------------------------------------------

    def enroll(self) -> Task | None:
        if self.busy or not self.can_enroll:
            return None
        try:
            url, code, label = self.enroll_fields.values()
        except DomainError as exc:
            self.enroll_message.setText(exc.message)
            return None
        self.enroll_message.clear()
        return self._start(
            "正在向区局登记本机……",
            lambda progress: enroll_device(self.ctx, self.actor, url, code, label),
            self._enrolled,
            partial(self._enroll_failed, url),
        )

    def _enrolled(self, result: EnrollResult) -> None:
        self.enroll_fields.code.clear()
        self.refresh()
        self._schedule()
        self.result_label.setText(
            f"已登记为“{result.squad_name}”的设备。点击“立即同步”上传本机的数据，并接收本中队其他电脑的数据。"
        )
        self.sig_enrolled.emit(result)

    def _enroll_failed(self, url: str, exc: BaseException) -> None:
        if not isinstance(exc, DomainError):
            log.error("enrollment failed", exc_info=(type(exc), exc, exc.__traceback__))
        text = request_error(exc, url)
        self.enroll_message.setText(text)
        self.sig_enroll_failed.emit(text)

    # ---- sync ---------------------------------------------------------------------------------------

    def sync_now(self) -> Task | None:
        """立即同步, with a progress dialog and its cancel button."""
        if not self.can_sync:
            return None
        return self.start_sync(automatic=False)

    def start_sync(self, automatic: bool) -> Task | None:
        if self.busy:
            return None
        self.result_label.setText("正在同步……")
        return self._start(
            "正在与区局同步……",
            partial(sync_device, self.ctx),
            partial(self._synced, automatic),
            partial(self._sync_failed, automatic),
            modal=not automatic,
        )

    def _tick(self) -> None:
        if self.isVisible() and not self.busy:
            self.load_status()  # the outbox grows and ages while the clerk works elsewhere
        self.auto_sync_if_due()

    def auto_sync_if_due(self) -> bool:
        """Start an automatic sync when one is due; True when one was started."""
        if self.busy or self.auto_due is None or time.monotonic() < self.auto_due:
            return False
        return self.start_sync(automatic=True) is not None

    def _synced(self, automatic: bool, report: SyncReport) -> None:
        self._unstored_error = ""
        when = dt.datetime.now().strftime("%H:%M")
        self.result_label.setText(f"{when}{'自动' if automatic else ''}同步完成：{report.summary()}")
        self.refresh()
        if report.rejected:
            self.lists.setCurrentIndex(1)  # what the district refused, with its reasons
        self._schedule()
        self.sig_synced.emit(report)

    def _sync_failed(self, automatic: bool, exc: BaseException) -> None:
        status = self.load_status()
        # The client stores what went wrong; an unexpected error it did not see is kept here.
        self._unstored_error = "" if status.last_error else message_for(exc)
        self._schedule(failed=exc)
        self.refresh()
        self.result_label.setText("同步未完成，原因见“同步状态”。")
        if automatic:
            # Never a dialog from the timer: the status block says it in red.
            if not isinstance(exc, DomainError):
                log.error("automatic sync failed", exc_info=(type(exc), exc, exc.__traceback__))
        else:
            show_error(self, exc, "同步失败")
        self.sig_sync_failed.emit(self.error_label.text())

    def _schedule(self, failed: BaseException | None = None, start: bool = False) -> None:
        """When the next automatic sync is due: an interval after the last good one, or — after a
        failure — the retry delay of the failures so far (at least the interval when retrying
        soon cannot help: a refused code, a revoked device, an old program)."""
        status = self.status
        if status is None or not status.enrolled or status.auto_minutes <= 0:
            self.auto_due = None
        else:
            interval = status.auto_minutes * 60.0
            if failed is not None or status.failures:
                wait = client.retry_delay(max(status.failures, 1))
                transient = failed is None or (isinstance(failed, SyncError) and failed.transient)
                if not transient:
                    wait = max(wait, interval)
            elif status.last_sync is None:
                wait = 0.0
            else:
                since = (dt.datetime.now(dt.UTC) - status.last_sync).total_seconds()
                wait = interval - since
            if start:
                wait = max(wait, START_DELAY)
            self.auto_due = time.monotonic() + max(0.0, wait)
        if status is not None:
            self.auto_label.setText(self._auto_text(status))
            self.error_label.setText(self._error_text(status))

    def save_auto_minutes(self) -> bool:
        self._save_timer.stop()
        if not self.can_sync:
            return False
        try:
            client.set_auto_minutes(self.ctx, self.actor, self.auto_minutes.value())
        except Exception as exc:
            show_error(self, exc, "无法设置自动同步")
            self.load_status()
            return False
        self.load_status()
        self._schedule()
        return True

    # ---- offline bundles ------------------------------------------------------------------------------

    def export_bundle(self) -> Task | None:
        if self.busy or not self.can_sync:
            return None
        squad = (self.status.squad_name if self.status else "") or "SquadDesk"
        default = Path.home() / f"{squad}-同步文件-{dt.date.today():%Y%m%d}.sdbundle"
        name, _ = QFileDialog.getSaveFileName(self, "导出同步文件", str(default), BUNDLE_FILTER)
        if not name:
            return None
        path = Path(name)
        if path.suffix.lower() != ".sdbundle":
            path = path.with_name(path.name + ".sdbundle")
        return self.export_bundle_to(path)

    def export_bundle_to(self, path: Path) -> Task | None:
        if self.busy or not self.can_sync:
            return None

        def job(progress: Progress) -> str:
            return offline.export_bundle(self.ctx, path, progress=progress).summary

        return self._start(
            "正在导出同步文件……", job, self._bundle_done, partial(self._bundle_failed, "导出同步文件失败")
        )

    def import_answer(self) -> Task | None:
        if self.busy or not self.can_sync:
            return None
        name, _ = QFileDialog.getOpenFileName(
            self, "导入区局答复", str(Path.home()), f"{BUNDLE_FILTER};;所有文件 (*)"
        )
        return self.import_answer_from(Path(name)) if name else None

    def import_answer_from(self, path: Path) -> Task | None:
        if self.busy or not self.can_sync:
            return None

        def job(progress: Progress) -> str:
            return offline.import_answer(self.ctx, path, progress=progress).summary

        return self._start(
            "正在导入区局答复……", job, self._bundle_done, partial(self._bundle_failed, "导入区局答复失败")
        )

    def _bundle_done(self, text: str) -> None:
        self.result_label.setText(text)
        self.refresh()
        self.sig_bundle_done.emit(text)

    def _bundle_failed(self, title: str, exc: BaseException) -> None:
        self.refresh()
        self.result_label.clear()
        show_error(self, exc, title)
        self.sig_bundle_failed.emit(message_for(exc))

    # ---- conflicts ------------------------------------------------------------------------------------

    def load_conflicts(self) -> list[ConflictView]:
        chosen = self.selected_conflict()
        rows = client.list_conflicts(self.ctx, include_resolved=self.show_resolved.isChecked())
        self.conflict_model.set_rows(rows)
        if chosen is not None:
            self.conflict_model.select_in(self.conflict_view, lambda c: c.id == chosen.id)
        waiting = sum(1 for c in rows if c.resolved_at is None)
        self.lists.setTabText(0, f"冲突（{waiting}）" if waiting else "冲突")
        if self.selected_conflict() is None and rows:
            self.conflict_view.selectRow(0)
        self._show_conflict()
        return rows

    def load_rejections(self) -> list[Rejection]:
        rows = client.list_rejections(self.ctx)
        self.rejection_model.set_rows(rows)
        self.lists.setTabText(1, f"区局拒收（{len(rows)}）" if rows else "区局拒收")
        return rows

    def selected_conflict(self) -> ConflictView | None:
        return self.conflict_model.selected_in(self.conflict_view)

    def _show_conflict(self) -> None:
        chosen = self.selected_conflict()
        self.details.setRowCount(0)
        if chosen is None:
            self.detail_caption.setText("没有待处理的冲突。" if not self.conflict_model.rowCount() else "")
            self._update_buttons()
            return
        here = self.ctx.device_id

        def origin(version: tuple[int, str]) -> str:
            return f"第 {version[0]} 版，{'本机' if version[1] == here else '另一台电脑'}"

        self.detail_caption.setText(
            f"<b>{chosen.table_label}：{conflict_title(chosen)}</b><br>"
            f"当前版本（{origin(chosen.winner)}）与另一版本（{origin(chosen.loser)}）不同的内容："
        )
        differences = chosen.differences or {"（无）": ("内容相同，仅版本不同", "")}
        self.details.setRowCount(len(differences))
        for row, (name, (current, other)) in enumerate(differences.items()):
            for column, value in enumerate((name, display(current) or "（空）", display(other) or "（空）")):
                item = QTableWidgetItem(str(value))
                item.setToolTip(str(value))
                self.details.setItem(row, column, item)
        self.details.resizeRowsToContents()
        self._update_buttons()

    def resolve(self, choice: str) -> bool:
        chosen = self.selected_conflict()
        if chosen is None or chosen.resolved_at is not None or not self.can_resolve or self.busy:
            return False
        title = f"{chosen.table_label}“{conflict_title(chosen)}”"
        fields = "、".join(chosen.differences) or "无字段差异"
        if choice == KEEP_CURRENT:
            text = f"保留{title}的当前版本，放弃另一版本的修改（{fields}）？"
        else:
            text = f"用另一版本覆盖{title}的当前内容（{fields}）？"
        text += "\n\n处理结果会在下次同步时通知区局和本中队的其他电脑。"
        if not confirm(self, "处理同步冲突", text):
            return False
        try:
            client.resolve_conflict(self.ctx, self.actor, chosen.id, choice)
        except Exception as exc:
            show_error(self, exc, "无法处理冲突")
            self.refresh()
            return False
        self.refresh()
        self.result_label.setText(f"已处理{title}的冲突，下次同步时通知区局。")
        self.sig_conflict_resolved.emit(chosen.id)
        return True

    # ---- tasks --------------------------------------------------------------------------------------------

    def _start(
        self,
        title: str,
        job: Callable[[Progress], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        modal: bool = True,
    ) -> Task:
        task = run_task(self, title, job, on_done, on_error, modal=modal)
        self.task = task
        # sig_finished comes before the callbacks, and also after a cancel (which has none).
        task.sig_finished.connect(partial(self._task_over, task))
        self._update_buttons()
        return task

    def _task_over(self, task: Task) -> None:
        if self.task is task:
            self.task = None
        self._update_buttons()
        if task.progress.cancelled:
            self.result_label.setText("已取消。")
            self.load_status()
            # A sync cancelled by hand: the timer does not start it again at once.
            self._schedule(failed=Cancelled())
            self.refresh()
