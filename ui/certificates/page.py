"""执法证台账 — the certificate ledger: every certificate with its validity, last annual review
and the reason it needs attention, worst first; registering, editing, reviews, state changes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.certificates import Alert, CertificateView, list_certificates
from app.context import AppContext
from ui.certificates.dialogs import CertificateDialog, HistoryDialog, ReviewDialog, StateDialog
from ui.certificates.models import CertificateModel
from ui.forms import search_box
from ui.icons import icon


def needs(permission: Permission) -> str:
    return f"需要“{permission.label}”权限"


class CertificatesPage(QWidget):
    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.can_edit = actor.can(Permission.EDIT_CERTIFICATES)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        header = QHBoxLayout()
        header.addWidget(QLabel("<h2 style='margin:0'>执法证台账</h2>"))
        header.addStretch(1)
        self.summary = QLabel(objectName="summary")
        self.summary.setStyleSheet("color:#607d8b")
        header.addWidget(self.summary)
        layout.addLayout(header)

        bar = QHBoxLayout()
        self.search = search_box("姓名 / 拼音首字母 / 证件编号")
        self.only_alerts = QCheckBox("只看需提醒", objectName="only_alerts")
        bar.addWidget(self.search)
        bar.addWidget(self.only_alerts)
        bar.addStretch(1)
        self.add_button = self._button(bar, "新增证件", "add", self.add_certificate, editing=True)
        self.edit_button = self._button(bar, "编辑", "edit", self.edit_certificate, editing=True)
        self.review_button = self._button(bar, "登记年审", "review", self.add_review, editing=True)
        self.state_button = self._button(bar, "变更状态", "state", self.change_state, editing=True)
        self.history_button = self._button(bar, "履历", "history", self.show_history, editing=False)
        layout.addLayout(bar)

        self.model = CertificateModel(self)
        self.view = QTableView(objectName="certificates")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(False)
        self.view.verticalHeader().setVisible(False)
        header_view = self.view.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header_view.setStretchLastSection(True)
        header_view.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        layout.addWidget(self.view, 1)

        legend = QLabel(
            "<span style='color:#e57373'>■</span> 已失效、暂扣或即将到期（紧急）　"
            "<span style='color:#ffca28'>■</span> 临近到期或年审逾期　　"
            "双击一行可编辑（无编辑权限时查看履历）"
        )
        legend.setStyleSheet("color:#607d8b")
        layout.addWidget(legend)

        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._search_timer.start)
        self.only_alerts.toggled.connect(self.refresh)
        self._sized = False
        self._update_buttons()

    def _button(
        self, bar: QHBoxLayout, text: str, icon_name: str, slot: Callable[[], None], editing: bool
    ) -> QPushButton:
        button = QPushButton(icon(icon_name), text)
        button.clicked.connect(slot)
        if editing and not self.can_edit:
            button.setToolTip(needs(Permission.EDIT_CERTIFICATES))
        bar.addWidget(button)
        return button

    # --- data -----------------------------------------------------------------------------
    def refresh(self) -> None:
        keep = self.selected()
        with self.ctx.read() as session:
            rows = list_certificates(
                session,
                self.actor,
                self.ctx.settings,
                text=self.search.text(),
                only_alerts=self.only_alerts.isChecked(),
            )
        self.model.set_rows(rows)
        red = sum(1 for r in rows if r.alert is Alert.RED)
        amber = sum(1 for r in rows if r.alert is Alert.AMBER)
        self.summary.setText(f"共 {len(rows)} 本证件　紧急 {red}　提醒 {amber}")
        if rows and not self._sized:
            # Fit the columns once; after that the clerk's own widths stay.
            self.view.resizeColumnsToContents()
            self._sized = True
        if keep is not None:
            self.select(keep.id)
        self._update_buttons()

    def selected(self) -> CertificateView | None:
        return self.model.selected_in(self.view)

    def select(self, cert_id: str) -> None:
        self.model.select_in(self.view, lambda c: c.id == cert_id)

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        self.add_button.setEnabled(self.can_edit)
        for button in (self.edit_button, self.review_button, self.state_button):
            button.setEnabled(self.can_edit and has)
        self.history_button.setEnabled(has)

    def _double_clicked(self, index: QModelIndex) -> None:
        if self.can_edit:
            self.edit_certificate()
        else:
            self.show_history()

    # --- actions --------------------------------------------------------------------------
    def add_certificate(self) -> None:
        saved = CertificateDialog.ask(self.ctx, self.actor, None, self)
        if saved:
            self.refresh()
            self.select(saved)

    def edit_certificate(self) -> None:
        cert = self.selected()
        if cert is not None and CertificateDialog.ask(self.ctx, self.actor, cert, self):
            self.refresh()

    def add_review(self) -> None:
        cert = self.selected()
        if cert is not None and ReviewDialog.ask(self.ctx, self.actor, cert, self):
            self.refresh()

    def change_state(self) -> None:
        cert = self.selected()
        if cert is not None and StateDialog.ask(self.ctx, self.actor, cert, self):
            self.refresh()

    def show_history(self) -> None:
        cert = self.selected()
        if cert is not None:
            HistoryDialog.show_for(self.ctx, self.actor, cert, self)
