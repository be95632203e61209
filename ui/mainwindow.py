"""The main window: navigation on the left showing only the modules that exist and that the
user's role may open, pages on the right, the idle lock, and the user in the status bar."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.context import AppContext
from app.squad import get_squad
from ui.audit.page import AuditPage
from ui.cases.page import CasesPage
from ui.certificates.page import CertificatesPage
from ui.documents.register import RegisterPage
from ui.icons import icon
from ui.leads.page import LeadsPage
from ui.login import LockDialog
from ui.personnel.page import MembersPage
from ui.reference.page import ReferencePage
from ui.rosters.page import RostersPage
from ui.settings.page import SettingsPage
from ui.start.page import StartPage
from ui.sync.page import SyncPage
from ui.training.page import TrainingPage


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    icon: str
    factory: Callable[[AppContext, Actor], QWidget]
    permission: Permission | None


PAGES = (
    PageSpec("start", "首页", "nav.start", StartPage, None),
    PageSpec("personnel", "人员台账", "nav.personnel", MembersPage, Permission.VIEW_PERSONNEL),
    PageSpec("certificates", "执法证台账", "nav.certificates", CertificatesPage, Permission.VIEW_PERSONNEL),
    PageSpec("training", "培训记录", "nav.training", TrainingPage, Permission.VIEW_PERSONNEL),
    PageSpec("rosters", "值班排班", "nav.rosters", RostersPage, Permission.VIEW_PERSONNEL),
    PageSpec("leads", "案源登记", "nav.leads", LeadsPage, Permission.VIEW_CASES),
    PageSpec("cases", "案件办理", "nav.cases", CasesPage, Permission.VIEW_CASES),
    PageSpec("documents", "文书登记", "nav.documents", RegisterPage, Permission.VIEW_CASES),
    PageSpec("reference", "执法事项", "nav.reference", ReferencePage, Permission.VIEW_CASES),
    # Visible to every role: those who may not sync still see its state (read-only, with a hint).
    PageSpec("sync", "与区局同步", "nav.sync", SyncPage, None),
    PageSpec("audit", "审计日志", "nav.audit", AuditPage, Permission.VIEW_AUDIT),
    PageSpec("settings", "系统设置", "nav.settings", SettingsPage, None),
)


class _IdleWatcher(QObject):
    """Notes the time of the last keyboard or mouse input anywhere in the application."""

    INPUT: ClassVar[set[QEvent.Type]] = {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
    }

    def __init__(self) -> None:
        super().__init__()
        self.last = time.monotonic()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() in self.INPUT:
            self.last = time.monotonic()
        return False


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, actor: Actor) -> None:
        super().__init__()
        self.ctx, self.actor = ctx, actor
        with ctx.read() as session:
            self.squad = get_squad(session, ctx.require_squad())
        self.setWindowTitle(f"SquadDesk 执法队务台 — {self.squad.name}")
        self.nav = QListWidget(objectName="nav")
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setFixedWidth(170)
        self.nav.setStyleSheet(
            "QListWidget{background:#263238;color:#eceff1;border:none;outline:0;font-size:11pt;"
            "selection-background-color:#37474f;selection-color:white}"
            "QListWidget::item{padding:10px 8px}"
            "QListWidget::item:selected{background:#37474f;color:white;border-left:4px solid #4fc3f7}"
        )
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for spec in PAGES:
            if spec.permission is not None and not actor.can(spec.permission):
                continue
            page = spec.factory(ctx, actor)
            self.pages[spec.key] = page
            self.stack.addWidget(page)
            item = QListWidgetItem(icon(spec.icon, color="#cfd8dc"), spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self._show_row)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        start = self.pages.get("start")
        if isinstance(start, StartPage):
            start.sig_open.connect(self.open_page)
        leads = self.pages.get("leads")
        if isinstance(leads, LeadsPage):
            leads.sig_case_opened.connect(self.open_case)
        self.nav.setCurrentRow(0)

        toolbar = self.addToolBar("常用")
        toolbar.setMovable(False)
        lock = QAction(icon("lock"), "锁定", self)
        lock.triggered.connect(self.lock)
        toolbar.addAction(lock)
        self.statusBar().addPermanentWidget(QLabel(f"{actor.display_name}（{actor.role.label}）"))
        self.statusBar().addWidget(QLabel(self.squad.name))

        self.idle = _IdleWatcher()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.idle)
        self.idle_timer = QTimer(self, interval=15_000)
        self.idle_timer.timeout.connect(self._check_idle)
        self.idle_timer.start()
        self._locked = False
        self.resize(1200, 760)

    def _show_row(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        page = self.stack.currentWidget()
        refresh = getattr(page, "refresh", None)
        if callable(refresh):
            refresh()

    def open_page(self, key: str) -> None:
        for row in range(self.nav.count()):
            if self.nav.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.nav.setCurrentRow(row)
                return

    def open_case(self, case_id: str) -> None:
        """Show a case's workspace over the case list (a case just opened from a lead)."""
        cases = self.pages.get("cases")
        if isinstance(cases, CasesPage):
            self.open_page("cases")
            cases.open_case_id(case_id)

    def page_keys(self) -> list[str]:
        return [self.nav.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.nav.count())]

    def _check_idle(self) -> None:
        minutes = self.ctx.settings.idle_lock_minutes
        if minutes > 0 and not self._locked and time.monotonic() - self.idle.last > minutes * 60:
            self.lock()

    def lock(self) -> None:
        self._locked = True
        self.centralWidget().setVisible(False)
        dialog = LockDialog(self.ctx, self.actor, self)
        unlocked = dialog.exec()
        self._locked = False
        self.idle.last = time.monotonic()
        if unlocked:
            self.centralWidget().setVisible(True)
        else:
            self.close()

    def closeEvent(self, event: object) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.idle)
        super().closeEvent(event)  # type: ignore[arg-type]
