"""执法事项与裁量基准 — the reference data every case is handled under: the current release of the
violation catalog (执法事项), an item's discretion tiers (裁量阶次) and full legal texts, and the
procedural thresholds (程序阈值). The administrator (维护执法事项与裁量基准) may add, edit and delete
items, edit an item's tiers and the thresholds — each save making a new local release — and import
a release the district published, until the district ships releases by sync. Anyone who sees the
page may list the releases (版本记录) and export the current one to a file."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.context import AppContext
from app.reference import (
    THRESHOLD_FIELDS,
    ItemView,
    PenaltyType,
    ReleaseView,
    Thresholds,
    TierView,
    categories,
    current_release,
    export_release,
    import_release,
    list_items,
    list_releases,
    read_release,
    remove_item,
    thresholds,
    tiers_for,
    yuan_short,
)
from ui.errors import confirm, show_error
from ui.forms import search_box
from ui.icons import icon
from ui.reference.dialogs import ThresholdsDialog
from ui.reference.item_dialog import ItemDialog
from ui.reference.models import ItemModel, TierModel, fine_text
from ui.reference.releases import RELEASE_FILTER, ReleasesDialog, release_file_name, write_release_file
from ui.reference.tiers_dialog import TiersDialog

SYNC_NOTE = (
    "目录和裁量基准暂由本队管理员维护，每次修改生成新的本地修订版本，已办案件仍按原版本；"
    "今后区局将通过同步统一下发，届时以区局下发为准。"
)


def needs(permission: Permission) -> str:
    return f"需要“{permission.label}”权限"


def legal_html(item: ItemView) -> str:
    """The item's legal texts in full, as the detail pane shows them."""
    e = html.escape

    def section(title: str, body: str) -> str:
        return (
            f"<p><b style='color:#37474f'>{title}</b><br>{e(body).replace(chr(10), '<br>')}</p>"
            if body
            else ""
        )

    fines = []
    if PenaltyType.FINE in item.penalty_types:
        fines.append(f"个人：{fine_text(item.person_fine, item.fine_rate, item.rate_base)}")
        fines.append(f"单位：{fine_text(item.org_fine, item.fine_rate, item.rate_base)}")
        if item.person_fine.derived_min or item.org_fine.derived_min:
            fines.append("（法律只规定最高额，最低额按最高额的 10% 确定）")
    local = "　<span style='color:#ef8f00'>地方性规定，请按本地规定核对</span>" if item.local_rule else ""
    return (
        f"<h3 style='margin:0'>{e(item.code)}　{e(item.name)}</h3>"
        f"<p style='color:#607d8b'>{e(item.category)}　追责时效 {item.limitation_years} 年{local}</p>"
        + section("违法依据", item.breach_basis)
        + section("处罚依据", item.penalty_basis)
        + section("处罚种类", "、".join(item.penalty_type_labels))
        + section("法定罚款幅度", "\n".join(fines))
        + section("罚款依据说明", item.fine_basis_note)
        + section("说明", item.note)
    )


def _table(model: ItemModel | TierModel, name: str) -> QTableView:
    view = QTableView(objectName=name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class ReferencePage(QWidget):
    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.can_edit = actor.can(Permission.EDIT_REFERENCE)
        self.release: ReleaseView | None = None
        self.limits = Thresholds()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        header = QHBoxLayout()
        header.addWidget(QLabel("<h2 style='margin:0'>执法事项与裁量基准</h2>"))
        self.release_label = QLabel(objectName="release")
        self.release_label.setStyleSheet("color:#607d8b;margin-left:12px")
        # Wraps rather than widening the page: a district release may have a long name.
        self.release_label.setWordWrap(True)
        header.addWidget(self.release_label, 1)
        self.history_button = QPushButton(icon("history"), "版本记录")
        self.history_button.clicked.connect(self.show_releases)
        header.addWidget(self.history_button)
        self.import_button = self._button(header, "导入区局发布…", "import", self.import_release_file)
        self.export_button = QPushButton(icon("export"), "导出当前版本…")
        self.export_button.setToolTip("把当前版本的目录、裁量基准和程序阈值保存为 JSON 文件")
        self.export_button.clicked.connect(self.export_release_file)
        header.addWidget(self.export_button)
        layout.addLayout(header)

        bar = QHBoxLayout()
        self.search = search_box("编码 / 事项名称 / 拼音首字母")
        self.category = QComboBox(objectName="category")
        self.category.setMinimumWidth(140)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color:#607d8b")
        bar.addWidget(self.search)
        bar.addWidget(self.category)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        self.add_button = self._button(bar, "新增事项", "add", self.new_item)
        self.edit_button = self._button(bar, "编辑事项", "edit", self.edit_item)
        self.remove_button = self._button(bar, "删除事项", "delete", self.delete_item)
        layout.addLayout(bar)

        self.items = ItemModel(self)
        self.item_view = _table(self.items, "items")
        self.item_view.setWordWrap(False)
        self.item_view.selectionModel().selectionChanged.connect(self._item_changed)
        self.item_view.doubleClicked.connect(self._item_double_clicked)
        self.tiers = TierModel(self)
        self.tier_view = _table(self.tiers, "tiers")
        self.tier_view.setWordWrap(True)
        self.tier_view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.tier_view.doubleClicked.connect(self._tier_double_clicked)
        self.legal = QTextBrowser(objectName="legal")
        self.legal.setOpenLinks(False)
        tier_box = QWidget()
        tier_column = QVBoxLayout(tier_box)
        tier_column.setContentsMargins(0, 4, 0, 0)
        self.tier_title = QLabel("裁量基准")
        self.tier_title.setStyleSheet("font-weight:bold;color:#37474f")
        self.tier_title.setWordWrap(True)  # a long item name must not widen the page
        tier_bar = QHBoxLayout()
        tier_bar.addWidget(self.tier_title, 1)
        self.tier_button = self._button(tier_bar, "编辑裁量基准", "tiers", self.edit_tiers)
        tier_column.addLayout(tier_bar)
        tier_column.addWidget(self.tier_view, 1)

        box = QGroupBox("程序阈值")
        self.threshold_form = QFormLayout(box)
        self.threshold_labels: dict[str, QLabel] = {}
        for key, (label, _ceiling) in THRESHOLD_FIELDS.items():
            value = QLabel(objectName=f"threshold_{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.threshold_labels[key] = value
            self.threshold_form.addRow(label, value)
        self.threshold_button = QPushButton(icon("thresholds"), "修改程序阈值")
        self.threshold_button.clicked.connect(self.edit_thresholds)
        if not self.can_edit:
            self.threshold_button.setToolTip(needs(Permission.EDIT_REFERENCE))
        self.threshold_form.addRow(self.threshold_button)
        box.setFixedWidth(270)

        # The catalog takes the whole width so every column is in view; under it the selected
        # item's tiers, its legal texts, and the thresholds, which hold for every item.
        detail = QSplitter(Qt.Orientation.Horizontal)
        detail.addWidget(tier_box)
        detail.addWidget(self.legal)
        detail.setStretchFactor(0, 3)
        detail.setStretchFactor(1, 2)
        detail.setSizes([430, 270])
        lower = QWidget()
        lower_row = QHBoxLayout(lower)
        lower_row.setContentsMargins(0, 0, 0, 0)
        lower_row.addWidget(detail, 1)
        lower_row.addWidget(box, 0, Qt.AlignmentFlag.AlignTop)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.item_view)
        body.addWidget(lower)
        body.setSizes([260, 340])
        layout.addWidget(body, 1)

        self.status_label = QLabel(objectName="status")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color:#2e7d32")
        self.status_label.hide()
        layout.addWidget(self.status_label)
        note = QLabel(SYNC_NOTE, objectName="sync_note")
        note.setWordWrap(True)
        note.setStyleSheet("color:#607d8b")
        layout.addWidget(note)

        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh_items)
        self.search.textChanged.connect(self._search_timer.start)
        self.category.currentIndexChanged.connect(self.refresh_items)
        self._sized = False
        self._update_buttons()

    def _button(self, bar: QHBoxLayout, text: str, icon_name: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(icon(icon_name), text)
        button.clicked.connect(slot)
        if not self.can_edit:
            button.setToolTip(needs(Permission.EDIT_REFERENCE))
        bar.addWidget(button)
        return button

    # --- data -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the release, its categories, thresholds and items (keeping the filters)."""
        try:
            with self.ctx.read() as session:
                release = current_release(session)
                releases = list_releases(session)
                names = categories(session)
                limits = thresholds(session)
        except Exception as exc:
            # Before the catalog is installed the page says so instead of failing to open.
            self.release_label.setText("尚未安装执法事项目录")
            show_error(self, exc, "无法读取执法事项目录")
            return
        self.release, self.limits = release, limits
        published = f"　{release.published:%Y-%m-%d} 发布" if release.published else ""
        self.release_label.setText(f"当前目录：{release.title}{published}")
        history = "\n".join(f"第 {r.release_no} 版（{r.source_label}）{r.note}" for r in releases[:10])
        self.release_label.setToolTip(f"历史版本（新的在前）：\n{history}")
        chosen = self.category.currentData()
        self.category.blockSignals(True)  # one reload below, not one per item added
        self.category.clear()
        self.category.addItem("全部类别", None)
        for name in names:
            self.category.addItem(name, name)
        self.category.setCurrentIndex(max(0, self.category.findData(chosen)))
        self.category.blockSignals(False)
        for key, label in self.threshold_labels.items():
            label.setText(yuan_short(getattr(limits, key)))
        self.refresh_items()

    def refresh_items(self) -> None:
        if self.release is None:
            return
        keep = self.selected_item()
        with self.ctx.read() as session:
            rows = list_items(session, text=self.search.text(), category=self.category.currentData())
        self.items.set_rows(rows)
        self.count_label.setText(f"共 {len(rows)} 项")
        if rows and not self._sized:
            # Fit once, with the name and basis columns capped so the fine columns stay in view.
            self.item_view.resizeColumnsToContents()
            for column, cap in ((1, 210), (3, 150), (4, 150), (5, 140)):
                self.item_view.setColumnWidth(column, min(self.item_view.columnWidth(column), cap))
            self._sized = True
        row = self.items.find(lambda i: i.code == keep.code) if keep is not None else -1
        self.item_view.selectRow(row if row >= 0 else 0)
        self._item_changed()

    def selected_item(self) -> ItemView | None:
        rows = self.item_view.selectionModel().selectedRows()
        return self.items.row_at(rows[0].row()) if rows else None

    def selected_tier(self) -> int:
        rows = self.tier_view.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def select_item(self, code: str) -> None:
        row = self.items.find(lambda i: i.code == code)
        if row >= 0:
            self.item_view.selectRow(row)

    def _item_changed(self) -> None:
        item = self.selected_item()
        if item is None:
            self.tiers.set_rows([])
            self.legal.setHtml("<p style='color:#90a4ae'>选择一个执法事项查看裁量基准和法律依据。</p>")
            self.tier_title.setText("裁量基准")
        else:
            with self.ctx.read() as session:
                tiers: list[TierView] = tiers_for(session, item.code)
            self.tiers.set_rows(tiers)
            for column in range(TierModel.CONDITIONS):
                self.tier_view.resizeColumnToContents(column)
            self.tier_view.resizeRowsToContents()
            self.legal.setHtml(legal_html(item))
            self.tier_title.setText(f"裁量基准 — {item.code} {item.name}")
        self._update_buttons()

    def _update_buttons(self) -> None:
        installed = self.release is not None
        chosen = self.selected_item() is not None
        self.threshold_button.setEnabled(self.can_edit and installed)
        self.tier_button.setEnabled(self.can_edit and chosen)
        self.add_button.setEnabled(self.can_edit and installed)
        self.edit_button.setEnabled(self.can_edit and chosen)
        self.remove_button.setEnabled(self.can_edit and chosen)
        # Importing is how a catalog gets here when none is installed yet.
        self.import_button.setEnabled(self.can_edit)
        self.export_button.setEnabled(installed)
        self.history_button.setEnabled(installed)

    def _item_double_clicked(self) -> None:
        if self.edit_button.isEnabled():
            self.edit_item()

    def _tier_double_clicked(self) -> None:
        if self.tier_button.isEnabled():
            self.edit_tiers()

    def set_status(self, text: str) -> None:
        """The page's status line: what the last edit, import or export did."""
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    def _saved(self, what: str, release_no: int, before: int | None) -> None:
        if release_no == before:
            self.set_status(f"{what}：内容没有改动，未生成新版本。")
        else:
            self.set_status(f"{what}，已生成第 {release_no} 版（本地修订）。")

    def _show_item(self, code: str) -> None:
        """Reload and select ``code``, clearing the filters if they hide it."""
        self.refresh()
        if self.items.find(lambda i: i.code == code) < 0:
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.category.setCurrentIndex(0)
            self.refresh_items()
        self.select_item(code)

    # --- editing (管理员) -------------------------------------------------------------------
    def _before(self) -> int | None:
        return self.release.release_no if self.release is not None else None

    def new_item(self) -> None:
        before = self._before()
        with self.ctx.read() as session:
            names = categories(session)
        saved = ItemDialog.ask(self.ctx, self.actor, None, names, self)
        if saved is not None:
            self._show_item(saved.code)
            self._saved(f"已新增事项 {saved.code} {saved.name}", saved.release_no, before)

    def edit_item(self) -> None:
        item = self.selected_item()
        if item is None:
            return
        before = self._before()
        with self.ctx.read() as session:
            names = categories(session)
        saved = ItemDialog.ask(self.ctx, self.actor, item, names, self)
        if saved is not None:
            self._show_item(saved.code)
            self._saved(f"已保存事项 {saved.code} {saved.name}", saved.release_no, before)

    def delete_item(self) -> None:
        item = self.selected_item()
        if item is None:
            return
        if not confirm(
            self,
            "删除执法事项",
            f"从执法事项目录中删除“{item.code} {item.name}”？\n\n"
            "删除后生成新的本地修订版本，新案件不能再选用该事项；已按旧版本办理的案件不受影响。",
        ):
            return
        row = self.item_view.selectionModel().selectedRows()[0].row()
        try:
            with self.ctx.unit_of_work(self.actor, f"删除执法事项：{item.code} {item.name}") as session:
                release = remove_item(session, self.actor, item.code)
        except Exception as exc:
            show_error(self, exc, "无法删除执法事项")
            return
        self.refresh()
        # The row that took its place is selected, so several items can be removed in a row.
        if self.items.rowCount():
            self.item_view.selectRow(min(row, self.items.rowCount() - 1))
        self.set_status(f"已删除事项 {item.code} {item.name}，已生成第 {release.release_no} 版（本地修订）。")

    def edit_tiers(self) -> None:
        item = self.selected_item()
        if item is None:
            return
        before = self._before()
        saved = TiersDialog.ask(
            self.ctx, self.actor, item, self.tiers.rows(), max(self.selected_tier(), 0), self
        )
        if saved is not None:
            self.refresh()
            self.select_item(item.code)
            release_no = saved[0].release_no if saved else before or 0
            self._saved(f"已保存 {item.code} {item.name} 的裁量基准", release_no, before)

    def edit_thresholds(self) -> None:
        before = self._before()
        if ThresholdsDialog.ask(self.ctx, self.actor, self.limits, self) is not None:
            self.refresh()
            if self.release is not None:
                self._saved("已保存程序阈值", self.release.release_no, before)

    # --- releases ---------------------------------------------------------------------------
    def show_releases(self) -> None:
        ReleasesDialog.show_for(self.ctx, self)

    def import_release_file(self) -> None:
        """导入区局发布: read and check the file, confirm what it holds, install it as the newest release."""
        name, _filter = QFileDialog.getOpenFileName(self, "导入区局发布的基准数据", "", RELEASE_FILTER)
        if not name:
            return
        path = Path(name)
        try:
            data = read_release(path)  # checked whole before anything is asked or written
        except Exception as exc:
            show_error(self, exc, "无法导入基准数据")
            return
        title = f"第 {data.release_no} 版" + (f"“{data.name}”" if data.name else "")
        published = f"（{data.published:%Y-%m-%d} 发布）" if data.published else ""
        if not confirm(
            self,
            "导入区局发布",
            f"导入{title}{published}，共 {len(data.items)} 个执法事项？\n\n"
            "导入后新办案件按此版本的目录、裁量基准和程序阈值办理；已办案件仍按原版本。"
            "导入后不能退回旧版本。",
        ):
            return
        try:
            with self.ctx.unit_of_work(self.actor, f"导入基准数据第 {data.release_no} 版") as session:
                release = import_release(session, self.actor, path)
                count = len(list_items(session, release_no=release.release_no))
        except Exception as exc:
            show_error(self, exc, "无法导入基准数据")
            return
        self.refresh()
        self.set_status(f"已导入{release.title}，共 {count} 个执法事项。")

    def export_release_file(self) -> None:
        """导出当前版本: the current release as a catalog file (UTF-8 JSON)."""
        if self.release is None:
            return
        suggested = str(Path.home() / release_file_name(self.release.release_no))
        name, _filter = QFileDialog.getSaveFileName(self, "导出当前版本", suggested, RELEASE_FILTER)
        if not name:
            return
        try:
            with self.ctx.read() as session:
                data = export_release(session)
            written = write_release_file(Path(name), data)
        except Exception as exc:
            show_error(self, exc, "无法导出基准数据")
            return
        self.set_status(f"已将第 {data['release']} 版导出到 {written}")
