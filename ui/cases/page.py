"""案件办理 — the case list: every case newest first, fetched page by page as the view scrolls,
with filters by stage, procedure and open/finished and a search by case number, party name,
pinyin initials or identity number; double-click opens the case workspace. 当场处罚 opens a
summary case straight from a patrol; an ordinary case is opened from its lead (案源登记 → 立案)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.cases import CaseStage, Procedure
from app.cases.machine import STAGE_LABELS
from app.cases.query import PROCEDURE_LABELS, CaseQuery
from app.context import AppContext
from ui.cases.models import CaseTableModel
from ui.cases.opening import SpotDecisionDialog
from ui.cases.workspace import CaseWorkspace
from ui.errors import show_error
from ui.forms import search_box
from ui.icons import icon


class CasesPage(QWidget):
    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.workspace: CaseWorkspace | None = None
        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        title = QLabel("案件办理")
        title.setStyleSheet("font-size:15pt;font-weight:bold")
        header.addWidget(title)
        self.summary = QLabel(objectName="summary")
        self.summary.setStyleSheet("color:#607d8b")
        header.addWidget(self.summary)
        header.addStretch(1)
        self.spot_button = QPushButton(icon("add"), "当场处罚…", objectName="spot_button")
        self.spot_button.clicked.connect(self.decide_on_the_spot)
        if not actor.can(Permission.HANDLE_CASES):
            self.spot_button.setEnabled(False)
            self.spot_button.setToolTip(f"需要“{Permission.HANDLE_CASES.label}”权限")
        header.addWidget(self.spot_button)
        layout.addLayout(header)

        bar = QHBoxLayout()
        self.search = search_box("案件编号 / 当事人 / 拼音首字母 / 身份证号 / 信用代码")
        self.stage = QComboBox(objectName="stage")
        self.stage.addItem("全部阶段", None)
        for stage, label in STAGE_LABELS.items():
            self.stage.addItem(label, stage.value)
        self.procedure = QComboBox(objectName="procedure")
        self.procedure.addItem("全部程序", None)
        for procedure, label in PROCEDURE_LABELS.items():
            self.procedure.addItem(label, procedure.value)
        self.only_open = QCheckBox("只看在办", objectName="only_open")
        bar.addWidget(self.search, 1)
        bar.addWidget(self.stage)
        bar.addWidget(self.procedure)
        bar.addWidget(self.only_open)
        layout.addLayout(bar)

        self.model = CaseTableModel(ctx, actor, self)
        self.view = QTableView(objectName="cases")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.setWordWrap(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.doubleClicked.connect(self._double_clicked)
        layout.addWidget(self.view, 1)
        hint = QLabel("双击案件打开办案台；灰色为已结案、已归档的案件。")
        hint.setStyleSheet("color:#607d8b")
        layout.addWidget(hint)

        # Typing fires one search after a pause, not one per keystroke.
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._search_timer.start)
        self.stage.currentIndexChanged.connect(self.refresh)
        self.procedure.currentIndexChanged.connect(self.refresh)
        self.only_open.toggled.connect(self.refresh)
        self._sized = False

    def query(self) -> CaseQuery:
        # Qt hands enum item data back as plain str.
        stage, procedure = self.stage.currentData(), self.procedure.currentData()
        return CaseQuery(
            text=self.search.text(),
            stage=CaseStage(stage) if stage else None,
            procedure=Procedure(procedure) if procedure else None,
            only_open=self.only_open.isChecked(),
        )

    def refresh(self) -> None:
        try:
            self.model.set_query(self.query())
        except Exception as exc:
            show_error(self, exc)
            return
        self.summary.setText(f"共 {self.model.total} 件")
        if self.model.rows and not self._sized:
            # Fit the columns once to the first page; after that the user's widths stay.
            self.view.resizeColumnsToContents()
            for column, cap in ((1, 220), (2, 200), (5, 220)):
                self.view.setColumnWidth(column, min(self.view.columnWidth(column), cap))
            self._sized = True

    def _double_clicked(self, index: QModelIndex) -> None:
        self.open_case(index.row())

    def open_case(self, row: int) -> CaseWorkspace | None:
        case = self.model.case(row)
        return self.open_case_id(case.id) if case is not None else None

    def open_case_id(self, case_id: str) -> CaseWorkspace | None:
        """Open the workspace of a case not necessarily on the loaded page (a case just opened)."""
        try:
            workspace = CaseWorkspace(self.ctx, self.actor, case_id, self)
        except Exception as exc:
            show_error(self, exc)
            return None
        workspace.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        workspace.sig_changed.connect(self._case_changed)
        workspace.show()
        self.workspace = workspace
        return workspace

    def _case_changed(self, _case_id: str) -> None:
        self.refresh()

    def decide_on_the_spot(self) -> None:
        view = SpotDecisionDialog.ask(self.ctx, self.actor, None, self)
        if view is not None:
            self.refresh()
            self.open_case_id(view.id)
