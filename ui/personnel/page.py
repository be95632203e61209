"""人员台账 — the member ledger page: search (name, pinyin initials, ID, certificate number),
filters, the lazy member table, and add / edit / remove / Excel import and export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.context import AppContext
from app.personnel.labels import CATEGORY_LABELS, STATUS_LABELS, MemberStatus, StaffCategory
from app.personnel.members import MemberQuery, get_member, remove_member
from ui.errors import confirm, show_error
from ui.forms import search_box
from ui.icons import icon
from ui.personnel.editor import MemberEditor
from ui.personnel.models import MemberTableModel
from ui.tasks import run_task


class MembersPage(QWidget):
    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.search = search_box("搜索：姓名、拼音首字母（如 zsf）、身份证号、执法证号、手机")
        self.category = QComboBox(objectName="category")
        self.category.addItem("全部类别", None)
        for cat, label in CATEGORY_LABELS.items():
            self.category.addItem(label, cat.value)
        self.status = QComboBox(objectName="status")
        self.status.addItem("在册（不含离岗）", "active")
        self.status.addItem("全部状态", None)
        for st, label in STATUS_LABELS.items():
            self.status.addItem(label, st.value)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.category)
        bar.addWidget(self.status)
        layout.addLayout(bar)

        buttons = QHBoxLayout()
        can_edit = actor.can(Permission.EDIT_PERSONNEL)
        self.add_btn = self._button(
            buttons, "新增队员", "add", self.add_member, can_edit, Permission.EDIT_PERSONNEL
        )
        self.edit_btn = self._button(buttons, "编辑", "edit", self.edit_member, True, None)
        self.remove_btn = self._button(
            buttons, "删除", "delete", self.remove_member, can_edit, Permission.EDIT_PERSONNEL
        )
        buttons.addSpacing(16)
        self.import_btn = self._button(
            buttons,
            "从 Excel 导入",
            "import",
            self.import_excel,
            actor.can(Permission.IMPORT_LEDGER),
            Permission.IMPORT_LEDGER,
        )
        self.export_btn = self._button(
            buttons,
            "导出 Excel",
            "export",
            self.export_excel,
            actor.can(Permission.EXPORT_LEDGER),
            Permission.EXPORT_LEDGER,
        )
        buttons.addStretch(1)
        self.count_label = QLabel(objectName="count")
        buttons.addWidget(self.count_label)
        layout.addLayout(buttons)

        self.model = MemberTableModel(ctx, actor, self)
        self.table = QTableView(objectName="members")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._on_double_click)
        layout.addWidget(self.table, 1)

        # Search as the clerk types, but not on every keystroke of a fast typist.
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(self._on_text_changed)
        self.category.currentIndexChanged.connect(self._on_filter_changed)
        self.status.currentIndexChanged.connect(self._on_filter_changed)
        self._loaded = False

    def _button(
        self,
        layout: QHBoxLayout,
        text: str,
        meaning: str,
        slot: object,
        enabled: bool,
        permission: Permission | None,
    ) -> QPushButton:
        btn = QPushButton(icon(meaning), text)
        btn.clicked.connect(slot)
        btn.setEnabled(enabled)
        if not enabled and permission is not None:
            btn.setToolTip(f"需要“{permission.label}”权限")
        layout.addWidget(btn)
        return btn

    # Bound methods rather than lambdas: PySide6 6.12 can crash at exit on lambdas capturing self.
    def _on_double_click(self, _index: QModelIndex) -> None:
        self.edit_member()

    def _on_text_changed(self, _text: str) -> None:
        self._debounce.start()

    def _on_filter_changed(self, _index: int) -> None:
        self.apply_filter()

    def query(self) -> MemberQuery:
        cat, st = self.category.currentData(), self.status.currentData()
        return MemberQuery(
            text=self.search.text(),
            category=StaffCategory(cat) if cat else None,
            status=MemberStatus(st) if st and st != "active" else None,
            include_left=st != "active",
        )

    def apply_filter(self) -> None:
        try:
            self.model.set_query(self.query())
        except Exception as exc:
            show_error(self, exc)
        self.count_label.setText(f"共 {self.model.total} 人")

    def refresh(self) -> None:
        self.apply_filter()

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        idx: QModelIndex | None = rows[0] if rows else self.table.currentIndex()
        if idx is None or not idx.isValid():
            return None
        return self.model.data(self.model.index(idx.row(), 0), Qt.ItemDataRole.UserRole)

    def add_member(self) -> None:
        if MemberEditor.ask(self.ctx, self.actor, None, self) is not None:
            self.refresh()

    def edit_member(self) -> None:
        member_id = self.selected_id()
        if member_id is None:
            QMessageBox.information(self, "编辑队员", "请先在列表中选择一名队员。")
            return
        try:
            with self.ctx.read() as session:
                member = get_member(session, self.actor, member_id)
        except Exception as exc:
            show_error(self, exc)
            return
        editor = MemberEditor(self.ctx, self.actor, member, self)
        if not self.actor.can(Permission.EDIT_PERSONNEL):
            editor.setWindowTitle("队员信息（只读）")
            for w in editor.findChildren(QWidget):
                if hasattr(w, "setReadOnly"):
                    w.setReadOnly(True)
                elif isinstance(w, QComboBox):
                    w.setEnabled(False)
        if editor.exec():
            self.refresh()

    def remove_member(self) -> None:
        member_id = self.selected_id()
        if member_id is None:
            return
        row = next(m for m in self.model.rows if m.id == member_id)
        if not confirm(
            self,
            "删除队员",
            f"确定删除队员“{row.name}”及其证件记录？\n"
            "离职人员请改为“离岗”状态而不是删除。删除会记入审计日志。",
        ):
            return
        try:
            with self.ctx.unit_of_work(self.actor, f"删除队员 {row.name}") as session:
                remove_member(session, self.actor, member_id)
        except Exception as exc:
            show_error(self, exc)
        self.refresh()

    def import_excel(self) -> None:
        from ui.personnel.import_dialog import ImportDialog

        path, _ = QFileDialog.getOpenFileName(
            self, "选择人员台账 Excel 文件", "", "Excel 文件 (*.xlsx *.xlsm)"
        )
        if path and ImportDialog.ask(self.ctx, self.actor, Path(path), self):
            self.refresh()

    def export_excel(self) -> None:
        from app.audit import record
        from app.personnel.excel import export_ledgers

        path, _ = QFileDialog.getSaveFileName(
            self, "导出人员与执法证台账", "人员与执法证台账.xlsx", "Excel 文件 (*.xlsx)"
        )
        if not path:
            return

        def work(progress: object) -> int:
            with self.ctx.read() as session:
                count = export_ledgers(session, self.actor, self.ctx.settings, Path(path))
            record(self.ctx, self.actor, "export", f"导出人员与执法证台账（{count} 人）到 {Path(path).name}")
            return count

        run_task(
            self,
            "正在导出台账……",
            work,
            lambda n: QMessageBox.information(self, "导出完成", f"已导出 {n} 名队员及其证件到\n{path}"),
        )
