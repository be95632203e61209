"""案源登记 — the lead register: every lead newest first with filters by status, source, date
received and text; a detail pane with the lead's data, its triage and its photos as thumbnails;
and the actions of triage for those who may register leads: 登记案源, 编辑, 不予立案, 移送; and for
those who handle cases 立案 (an ordinary case) and 当场处罚 (a summary case) from the lead.
``sig_case_opened`` carries the new case's id, so the main window can open its workspace."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.cases import CaseView
from app.context import AppContext
from app.files import files_dir, path_of
from app.leads import SOURCE_LABELS, STATUS_LABELS, LeadSource, LeadStatus, LeadView, get_lead, list_leads
from ui.cases.opening import OpenCaseDialog, SpotDecisionDialog
from ui.errors import show_error
from ui.forms import date_edit, from_qdate, search_box
from ui.icons import icon
from ui.leads.dialogs import CloseLeadDialog, LeadDialog, TransferLeadDialog
from ui.leads.models import LeadModel
from ui.thumbnails import THUMB, load_thumbnail

#: Rows loaded at once; a squad registers a few thousand leads a year, the filters find older ones.
PAGE_LIMIT = 500


def needs(permission: Permission) -> str:
    return f"需要“{permission.label}”权限"


def _when(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "不详"


def detail_html(lead: LeadView) -> str:
    """The lead as the detail pane shows it; every value escaped, the description's paragraphs kept."""

    def row(label: str, value: str) -> str:
        return f"<tr><td style='color:#607d8b;padding-right:10px'>{label}</td><td>{value}</td></tr>"

    e = html.escape
    source = e(lead.source_label) + (f"　{e(lead.source_ref)}" if lead.source_ref else "")
    reporter = "　".join(e(x) for x in (lead.reporter_name, lead.reporter_phone) if x) or "—"
    rows = [
        row("状态", f"<b>{e(lead.status_label)}</b>"),
        row("来源", source),
        row("受理时间", _when(lead.received_at)),
        row("发生时间", _when(lead.occurred_at)),
        row("地址", e(lead.address)),
        row("所属网格", e(lead.grid_zone) or "—"),
        row("举报人", reporter),
        row("登记人", e(lead.registered_by_name)),
    ]
    if lead.status is not LeadStatus.REGISTERED and lead.triaged_by_name:
        rows.append(row("处置", f"{e(lead.triaged_by_name)}　{_when(lead.triaged_at)}"))
    if lead.transferred_to:
        rows.append(row("移送至", e(lead.transferred_to)))
    if lead.triage_reason:
        rows.append(row("理由", e(lead.triage_reason).replace("\n", "<br>")))
    description = e(lead.description).replace("\n", "<br>")
    return (
        f"<h3 style='margin:0'>{e(lead.number)}</h3>"
        f"<table style='margin-top:6px'>{''.join(rows)}</table>"
        f"<p style='margin-top:8px'><span style='color:#607d8b'>简要情况</span><br>{description}</p>"
    )


class LeadDetail(QWidget):
    """The selected lead: its data, how it was triaged, and its photos (double-click opens one)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = files_dir(ctx.data_dir)
        self._thumbs: dict[str, QIcon] = {}  # by sha256: stored files never change
        self.text = QLabel(objectName="lead_detail")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.photo_title = QLabel()
        self.photo_title.setStyleSheet("color:#607d8b")
        self.photos = QListWidget(objectName="lead_photos")
        self.photos.setViewMode(QListView.ViewMode.IconMode)
        self.photos.setIconSize(THUMB)
        self.photos.setGridSize(QSize(THUMB.width() + 12, THUMB.height() + 30))
        self.photos.setResizeMode(QListView.ResizeMode.Adjust)
        self.photos.setMovement(QListView.Movement.Static)
        self.photos.setWordWrap(False)
        self.photos.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.photos.setMinimumHeight(THUMB.height() + 40)
        self.photos.itemDoubleClicked.connect(self._open_photo)
        # Text on the left, photos on the right: the pane sits under the table, which keeps the
        # whole width for its columns.
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(10, 6, 10, 6)
        column.addWidget(self.text)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        photo_box = QWidget()
        photo_column = QVBoxLayout(photo_box)
        photo_column.setContentsMargins(0, 0, 0, 0)
        photo_column.addWidget(self.photo_title)
        photo_column.addWidget(self.photos, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addWidget(photo_box, 1)
        self.show_lead(None)

    def show_lead(self, lead: LeadView | None) -> None:
        self.photos.clear()
        if lead is None:
            self.text.setText("<span style='color:#90a4ae'>在左侧选择一条案源查看详情和照片。</span>")
            self.photo_title.setText("")
            self.photos.setVisible(False)
            return
        self.text.setText(detail_html(lead))
        self.photo_title.setText(f"照片 {len(lead.photos)} 张（双击查看原图）" if lead.photos else "无照片")
        self.photos.setVisible(bool(lead.photos))
        for n, photo in enumerate(lead.photos, start=1):
            item = QListWidgetItem(self._thumbnail(photo.sha256), f"{n}. {photo.original_name}")
            item.setData(Qt.ItemDataRole.UserRole, photo.sha256)
            taken = f"\n拍摄/修改时间：{photo.taken_at:%Y-%m-%d %H:%M}" if photo.taken_at else ""
            item.setToolTip(f"{photo.original_name}{taken}")
            self.photos.addItem(item)

    def _thumbnail(self, sha256: str) -> QIcon:
        if sha256 not in self._thumbs:
            pixmap = load_thumbnail(path_of(self.store, sha256))
            # A file the store cannot read (damaged, or not a picture) still shows as a placeholder.
            self._thumbs[sha256] = QIcon(pixmap) if pixmap is not None else icon("photo")
        return self._thumbs[sha256]

    def thumbnail_count(self) -> int:
        return self.photos.count()

    def _open_photo(self, item: QListWidgetItem) -> None:
        path = path_of(self.store, str(item.data(Qt.ItemDataRole.UserRole)))
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class LeadsPage(QWidget):
    sig_case_opened = Signal(str)  # the id of a case just opened from a lead

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.can_edit = actor.can(Permission.REGISTER_LEADS)
        self.can_open = actor.can(Permission.HANDLE_CASES)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        header = QHBoxLayout()
        header.addWidget(QLabel("<h2 style='margin:0'>案源登记</h2>"))
        self.summary = QLabel(objectName="summary")
        self.summary.setStyleSheet("color:#607d8b;margin-left:12px")
        header.addWidget(self.summary)
        header.addStretch(1)
        self.add_button = self._button(header, "登记案源", "lead.register", self.add_lead)
        self.edit_button = self._button(header, "编辑", "edit", self.edit_lead)
        self.close_button = self._button(header, "不予立案", "lead.close", self.close_lead)
        self.transfer_button = self._button(header, "移送", "lead.transfer", self.transfer_lead)
        self.open_button = self._button(header, "立案…", "add", self.open_case, Permission.HANDLE_CASES)
        self.spot_button = self._button(
            header, "当场处罚…", "state", self.spot_decision, Permission.HANDLE_CASES
        )
        layout.addLayout(header)

        bar = QHBoxLayout()
        self.search = search_box("编号 / 地址 / 情况 / 举报人 / 网格 / 工单号", 240)
        self.status = QComboBox(objectName="status")
        self.status.addItem("全部状态", None)
        for status, label in STATUS_LABELS.items():
            self.status.addItem(label, status)
        self.source = QComboBox(objectName="source")
        self.source.addItem("全部来源", None)
        for source, label in SOURCE_LABELS.items():
            self.source.addItem(label, source)
        today = dt.date.today()
        self.by_date = QCheckBox("受理日期", objectName="by_date")
        self.date_from = date_edit(today.replace(day=1))
        self.date_to = date_edit(today)
        for edit in (self.date_from, self.date_to):
            edit.setEnabled(False)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.status)
        bar.addWidget(self.source)
        bar.addSpacing(8)
        bar.addWidget(self.by_date)
        bar.addWidget(self.date_from)
        bar.addWidget(QLabel("至"))
        bar.addWidget(self.date_to)
        layout.addLayout(bar)

        self.model = LeadModel(self)
        self.view = QTableView(objectName="leads")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.setWordWrap(False)
        header_view = self.view.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header_view.setStretchLastSection(True)
        header_view.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.detail = LeadDetail(ctx)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([330, 260])
        layout.addWidget(splitter, 1)

        legend = QLabel("<span style='color:#ffca28'>■</span> 待处置（尚未立案、移送或不予立案）")
        legend.setStyleSheet("color:#607d8b")
        layout.addWidget(legend)

        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._search_timer.start)
        self.status.currentIndexChanged.connect(self.refresh)
        self.source.currentIndexChanged.connect(self.refresh)
        self.by_date.toggled.connect(self._date_toggled)
        self.date_from.dateChanged.connect(self.refresh)
        self.date_to.dateChanged.connect(self.refresh)
        self._sized = False
        self._update_buttons()

    def _button(
        self,
        bar: QHBoxLayout,
        text: str,
        icon_name: str,
        slot: Callable[[], None],
        permission: Permission = Permission.REGISTER_LEADS,
    ) -> QPushButton:
        button = QPushButton(icon(icon_name), text)
        button.clicked.connect(slot)
        if not self.actor.can(permission):
            button.setToolTip(needs(permission))
        bar.addWidget(button)
        return button

    # --- data -----------------------------------------------------------------------------
    def _date_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.refresh()

    def refresh(self) -> None:
        keep = self.selected()
        dated = self.by_date.isChecked()
        status, source = self.status.currentData(), self.source.currentData()
        with self.ctx.read() as session:
            rows = list_leads(
                session,
                self.actor,
                # Qt hands enum item data back as plain str.
                status=LeadStatus(status) if status else None,
                source=LeadSource(source) if source else None,
                text=self.search.text(),
                received_from=from_qdate(self.date_from.date()) if dated else None,
                received_to=from_qdate(self.date_to.date()) if dated else None,
                limit=PAGE_LIMIT,
            )
        self.model.set_rows(rows)
        open_count = sum(1 for r in rows if r.status is LeadStatus.REGISTERED)
        more = f"（只显示最近 {PAGE_LIMIT} 条，请用筛选缩小范围）" if len(rows) >= PAGE_LIMIT else ""
        self.summary.setText(f"共 {len(rows)} 条　待处置 {open_count}{more}")
        if rows and not self._sized:
            # Fit the columns once; after that the clerk's own widths stay. The address column
            # and source columns are capped so the description excerpt keeps room.
            self.view.resizeColumnsToContents()
            for column, cap in ((2, 150), (3, 220), (4, 130)):
                self.view.setColumnWidth(column, min(self.view.columnWidth(column), cap))
            self._sized = True
        if keep is not None:
            self.select(keep.id)
        self._selection_changed()

    def selected(self) -> LeadView | None:
        return self.model.selected_in(self.view)

    def select(self, lead_id: str) -> None:
        self.model.select_in(self.view, lambda v: v.id == lead_id)

    def _selection_changed(self) -> None:
        self.detail.show_lead(self.selected())
        self._update_buttons()

    def _update_buttons(self) -> None:
        lead = self.selected()
        # Only a lead still awaiting triage can be corrected, closed or transferred (the service
        # refuses the rest); greying the buttons says so before the clerk tries.
        open_lead = lead is not None and lead.status is LeadStatus.REGISTERED
        self.add_button.setEnabled(self.can_edit)
        for button in (self.edit_button, self.close_button, self.transfer_button):
            button.setEnabled(self.can_edit and open_lead)
        for button in (self.open_button, self.spot_button):
            button.setEnabled(self.can_open and open_lead)

    def _double_clicked(self) -> None:
        if self.edit_button.isEnabled():
            self.edit_lead()

    def _current(self) -> LeadView | None:
        """The selected lead as stored now — someone else may have triaged it since the list loaded."""
        lead = self.selected()
        if lead is None:
            return None
        try:
            with self.ctx.read() as session:
                return get_lead(session, self.actor, lead.id)
        except Exception as exc:
            show_error(self, exc)
            self.refresh()
            return None

    def _done(self, saved: LeadView | None) -> None:
        if saved is not None:
            self.refresh()
            self.select(saved.id)

    # --- actions --------------------------------------------------------------------------
    def add_lead(self) -> None:
        self._done(LeadDialog.ask(self.ctx, self.actor, None, self))

    def edit_lead(self) -> None:
        lead = self._current()
        if lead is not None:
            self._done(LeadDialog.ask(self.ctx, self.actor, lead, self))

    def close_lead(self) -> None:
        lead = self._current()
        if lead is not None:
            self._done(CloseLeadDialog.ask(self.ctx, self.actor, lead, self))

    def transfer_lead(self) -> None:
        lead = self._current()
        if lead is not None:
            self._done(TransferLeadDialog.ask(self.ctx, self.actor, lead, self))

    def _case_opened(self, lead: LeadView, case: CaseView | None) -> None:
        if case is None:
            return
        self.refresh()
        self.select(lead.id)
        self.sig_case_opened.emit(case.id)

    def open_case(self) -> None:
        lead = self._current()
        if lead is not None:
            self._case_opened(lead, OpenCaseDialog.ask(self.ctx, self.actor, lead, self))

    def spot_decision(self) -> None:
        lead = self._current()
        if lead is not None:
            self._case_opened(lead, SpotDecisionDialog.ask(self.ctx, self.actor, lead, self))
