"""Dialogs of the lead register: register or correct a lead (登记案源 / 编辑案源) with its photos,
close it without filing (不予立案) and transfer it out (移送).

Registering stores the chosen photos in the file store, which can take a while for a phone's
full-size pictures, so :class:`LeadDialog` saves through ``run_task`` off the GUI thread and
stays open until the task reports back. A DomainError is shown and every dialog keeps what the
clerk typed, so nothing has to be entered twice.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.context import AppContext
from app.files import files_dir
from app.leads import (
    SOURCE_LABELS,
    LeadInput,
    LeadSource,
    LeadView,
    add_photos,
    close_lead,
    register_lead,
    transfer_lead_out,
    update_lead,
)
from app.progress import Progress
from ui.errors import show_error
from ui.forms import buttons, focus_field
from ui.icons import icon
from ui.tasks import Task, run_task

#: What the source reference means for each source; the hotline's work-order number is required.
SOURCE_REF_LABELS = {
    LeadSource.HOTLINE_12345: "12345 工单号 *",
    LeadSource.ASSIGNED: "交办文号",
    LeadSource.TRANSFER_IN: "移送函文号",
}
SOURCE_REF_HINTS = {
    LeadSource.HOTLINE_12345: "热线工单号，处置结果要按工单号回复",
    LeadSource.ASSIGNED: "如：天城管交〔2026〕15号",
    LeadSource.TRANSFER_IN: "移送函的文号",
}
PHOTO_FILTER = "照片 (*.jpg *.jpeg *.png *.bmp *.gif *.webp *.tif *.tiff);;所有文件 (*)"


def to_qdatetime(value: dt.datetime) -> QDateTime:
    return QDateTime(QDate(value.year, value.month, value.day), QTime(value.hour, value.minute))


def from_qdatetime(value: QDateTime) -> dt.datetime:
    day, time = value.date(), value.time()
    return dt.datetime(day.year(), day.month(), day.day(), time.hour(), time.minute())


def datetime_edit(value: dt.datetime) -> QDateTimeEdit:
    edit = QDateTimeEdit(calendarPopup=True, displayFormat="yyyy-MM-dd HH:mm")
    edit.setDateTime(to_qdatetime(value))
    return edit


class LeadDialog(QDialog):
    """登记案源 / 编辑案源. Photos chosen here are added to the lead when it is saved."""

    sig_saved = Signal(object)  # the LeadView saved

    def __init__(
        self, ctx: AppContext, actor: Actor, lead: LeadView | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.lead = ctx, actor, lead
        self.saved: LeadView | None = None
        self.task: Task | None = None
        self.setWindowTitle(f"编辑案源 — {lead.number}" if lead else "登记案源")
        now = dt.datetime.now().replace(second=0, microsecond=0)
        self.source = QComboBox()
        for source, label in SOURCE_LABELS.items():
            self.source.addItem(label, source)
        self.source_ref_label = QLabel()
        self.source_ref = QLineEdit()
        self.reporter_name = QLineEdit(placeholderText="匿名可不填")
        self.reporter_phone = QLineEdit(placeholderText="手机或座机，回访用")
        self.address = QLineEdit(placeholderText="如：车陂路 123 号门前人行道")
        self.grid_zone = QLineEdit(placeholderText="如：车陂第三网格")
        self.received_at = datetime_edit(now)
        self.occurred_at = datetime_edit(now)
        self.occurred_unknown = QCheckBox("不详")
        self.occurred_unknown.toggled.connect(self.occurred_at.setDisabled)
        occurred = QHBoxLayout()
        occurred.addWidget(self.occurred_at, 1)
        occurred.addWidget(self.occurred_unknown)
        self.description = QPlainTextEdit(placeholderText="发现了什么、在哪里、持续多久、是否已劝阻……")
        self.description.setMinimumHeight(90)
        self.photos = QListWidget(objectName="photos")
        self.photos.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.photos.setMaximumHeight(90)
        photo_buttons = QVBoxLayout()
        self.add_photo_button = QPushButton(icon("photo.add"), "添加照片…")
        self.add_photo_button.clicked.connect(self.choose_photos)
        self.remove_photo_button = QPushButton(icon("delete"), "移除")
        self.remove_photo_button.clicked.connect(self.remove_chosen)
        photo_buttons.addWidget(self.add_photo_button)
        photo_buttons.addWidget(self.remove_photo_button)
        photo_buttons.addStretch(1)
        photo_row = QHBoxLayout()
        photo_row.addWidget(self.photos, 1)
        photo_row.addLayout(photo_buttons)

        form = QFormLayout()
        form.addRow("来源 *", self.source)
        form.addRow(self.source_ref_label, self.source_ref)
        form.addRow("举报人", self.reporter_name)
        form.addRow("联系电话", self.reporter_phone)
        form.addRow("地址 *", self.address)
        form.addRow("所属网格", self.grid_zone)
        form.addRow("受理时间", self.received_at)
        form.addRow("发生时间", occurred)
        form.addRow("简要情况 *", self.description)
        form.addRow("新增照片" if lead else "照片", photo_row)
        self.fields: dict[str, QWidget] = {
            "source": self.source,
            "source_ref": self.source_ref,
            "reporter_name": self.reporter_name,
            "reporter_phone": self.reporter_phone,
            "address": self.address,
            "grid_zone": self.grid_zone,
            "received_at": self.received_at,
            "occurred_at": self.occurred_at,
            "description": self.description,
            "photos": self.photos,
        }
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if lead is not None and lead.photos:
            kept = QLabel(f"已有照片 {len(lead.photos)} 张，保留不变。")
            kept.setStyleSheet("color:#607d8b")
            layout.addWidget(kept)
        self.button_box: QDialogButtonBox = buttons(self, self.save, "保存" if lead else "登记")
        layout.addWidget(self.button_box)
        self.source.currentIndexChanged.connect(self._source_changed)
        if lead is not None:
            self._fill(lead)
        self._source_changed()
        self.resize(560, self.sizeHint().height())

    def _fill(self, lead: LeadView) -> None:
        self.source.setCurrentIndex(self.source.findData(lead.source))
        self.source_ref.setText(lead.source_ref)
        self.reporter_name.setText(lead.reporter_name)
        self.reporter_phone.setText(lead.reporter_phone)
        self.address.setText(lead.address)
        self.grid_zone.setText(lead.grid_zone)
        self.received_at.setDateTime(to_qdatetime(lead.received_at))
        if lead.occurred_at is None:
            self.occurred_unknown.setChecked(True)
        else:
            self.occurred_at.setDateTime(to_qdatetime(lead.occurred_at))
        self.description.setPlainText(lead.description)

    def _source_changed(self) -> None:
        source = LeadSource(self.source.currentData())
        self.source_ref_label.setText(SOURCE_REF_LABELS.get(source, "来源编号"))
        self.source_ref.setPlaceholderText(SOURCE_REF_HINTS.get(source, "如有编号可填写，没有可不填"))

    # --- photos ---------------------------------------------------------------------------
    def add_photo_paths(self, paths: list[Path]) -> None:
        chosen = set(self.photo_paths())
        for path in paths:
            if path not in chosen:
                item = QListWidgetItem(icon("photo"), path.name)
                item.setData(Qt.ItemDataRole.UserRole, str(path))
                item.setToolTip(str(path))
                self.photos.addItem(item)
                chosen.add(path)

    def photo_paths(self) -> list[Path]:
        return [Path(self.photos.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.photos.count())]

    def choose_photos(self) -> None:
        names, _filter = QFileDialog.getOpenFileNames(self, "选择案源照片", "", PHOTO_FILTER)
        self.add_photo_paths([Path(n) for n in names])

    def remove_chosen(self) -> None:
        for item in self.photos.selectedItems():
            self.photos.takeItem(self.photos.row(item))

    # --- saving ---------------------------------------------------------------------------
    def data(self) -> LeadInput:
        return LeadInput(
            source=LeadSource(self.source.currentData()),
            source_ref=self.source_ref.text(),
            reporter_name=self.reporter_name.text(),
            reporter_phone=self.reporter_phone.text(),
            address=self.address.text(),
            grid_zone=self.grid_zone.text(),
            received_at=from_qdatetime(self.received_at.dateTime()),
            occurred_at=None
            if self.occurred_unknown.isChecked()
            else from_qdatetime(self.occurred_at.dateTime()),
            description=self.description.toPlainText(),
        )

    def save(self) -> Task | None:
        """Start saving in the background; the dialog closes when the task reports success.
        Returns the task (tests wait on it), or None while one is already running."""
        if self.task is not None:
            return None
        # The inputs are read here, on the GUI thread; the worker never touches a widget.
        work = partial(self._work, self.data(), self.photo_paths())
        self.button_box.setEnabled(False)
        title = "正在保存案源……" if self.lead else "正在登记案源……"
        self.task = run_task(self, title, work, self._saved, self._failed)
        return self.task

    def _work(self, data: LeadInput, photos: list[Path], progress: Progress) -> LeadView:
        store = files_dir(self.ctx.data_dir)
        if self.lead is None:
            summary = f"登记案源：{data.address.strip()}"
            with self.ctx.unit_of_work(self.actor, summary) as session:
                return register_lead(session, self.actor, data, photos, store, progress)
        # Correcting and adding photos is one action: both are saved or neither.
        with self.ctx.unit_of_work(self.actor, f"编辑案源：{self.lead.number}") as session:
            view = update_lead(session, self.actor, self.lead.id, data, self.lead.version)
            if photos:
                view = add_photos(session, self.actor, self.lead.id, photos, store, progress)
            return view

    def _saved(self, view: LeadView) -> None:
        self.task = None
        self.saved = view
        self.sig_saved.emit(view)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self.button_box.setEnabled(True)
        focus_field(self.fields, exc)
        show_error(self, exc, "无法保存案源" if self.lead else "无法登记案源")

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, lead: LeadView | None = None, parent: QWidget | None = None
    ) -> LeadView | None:
        """The lead saved, or None when the user cancelled."""
        dialog = cls(ctx, actor, lead, parent)
        return dialog.saved if dialog.exec() else None


class CloseLeadDialog(QDialog):
    """不予立案: close a lead with the reason it will not become a case."""

    def __init__(self, ctx: AppContext, actor: Actor, lead: LeadView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.lead = ctx, actor, lead
        self.saved: LeadView | None = None
        self.setWindowTitle(f"不予立案 — {lead.number}")
        self.reason = QPlainTextEdit(placeholderText="如：经现场核查，未发现违法行为；当事人已自行整改完毕。")
        self.reason.setMinimumHeight(100)
        form = QFormLayout()
        form.addRow("案源", QLabel(f"{lead.number}　{lead.address}"))
        form.addRow("不予立案理由 *", self.reason)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons(self, self.save, "不予立案"))
        self.resize(500, self.sizeHint().height())

    def save(self) -> bool:
        try:
            with self.ctx.unit_of_work(self.actor, f"案源不予立案：{self.lead.number}") as session:
                self.saved = close_lead(session, self.actor, self.lead.id, self.reason.toPlainText())
        except Exception as exc:
            self.reason.setFocus()
            show_error(self, exc, "无法不予立案")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, lead: LeadView, parent: QWidget | None = None
    ) -> LeadView | None:
        dialog = cls(ctx, actor, lead, parent)
        return dialog.saved if dialog.exec() else None


class TransferLeadDialog(QDialog):
    """移送: hand a lead outside the squad's competence to the competent department."""

    def __init__(self, ctx: AppContext, actor: Actor, lead: LeadView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.lead = ctx, actor, lead
        self.saved: LeadView | None = None
        self.setWindowTitle(f"移送 — {lead.number}")
        self.department = QLineEdit(placeholderText="接收部门全称，如：广州市天河区市场监督管理局")
        self.reason = QPlainTextEdit(placeholderText="如：属食品经营监管事项，不属本队职权。")
        self.reason.setMinimumHeight(100)
        form = QFormLayout()
        form.addRow("案源", QLabel(f"{lead.number}　{lead.address}"))
        form.addRow("接收部门 *", self.department)
        form.addRow("移送理由 *", self.reason)
        self.fields: dict[str, QWidget] = {"to_department": self.department, "reason": self.reason}
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons(self, self.save, "移送"))
        self.resize(520, self.sizeHint().height())

    def save(self) -> bool:
        try:
            with self.ctx.unit_of_work(self.actor, f"案源移送：{self.lead.number}") as session:
                self.saved = transfer_lead_out(
                    session, self.actor, self.lead.id, self.department.text(), self.reason.toPlainText()
                )
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法移送")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, lead: LeadView, parent: QWidget | None = None
    ) -> LeadView | None:
        dialog = cls(ctx, actor, lead, parent)
        return dialog.saved if dialog.exec() else None
