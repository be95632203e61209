"""值班排班 — the monthly roster page: the month grid (members × days), the checker's findings, the
fairness summary with the balance carried in, and the record of changes after publication.

A clerk picks the month, draws it up with 自动排班 (OR-Tools off the GUI thread, with progress and
cancel; the outcome is shown before anything is written), edits any cell by double-click or the
context menu — the grid flags a broken rule the moment the edit is saved —, locks the cells that
must stay and re-solves the rest, then a leader publishes. After publication every change asks
for its reason (调班原因) and is recorded. The roster prints on A4 landscape in the documents'
fonts and exports to Excel. Every action is one unit of work; the page only re-reads the sheet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.context import AppContext
from app.progress import Progress
from app.rosters.checker import RULE_LABELS, Violation
from app.rosters.data import get_or_create_roster, month_of, month_title, publish_roster, set_cell, set_locked
from app.rosters.fairness import CATEGORY_NAMES, PEER_GROUP_LABELS
from app.rosters.month import apply_solution, solve_month
from app.rosters.sheet import MonthSheet, month_sheet
from app.squad import get_squad
from ui.documents.preview import PdfPreview, safe_file_name
from ui.errors import confirm, show_error
from ui.icons import icon
from ui.rosters.models import KEY_ROLE, TOTALS, RosterCellDelegate, RosterGridModel
from ui.rosters.setup import DemandDialog, LeaveDialog, ShiftTypesDialog
from ui.tasks import Task, run_task

if TYPE_CHECKING:  # OR-Tools loads only when a month is solved, not at start-up
    from app.rosters.solver import SolveResult

#: Seconds the solver may search; the clerk may allow more for a hard month.
DEFAULT_SECONDS = 10


def needs(permission: Permission) -> str:
    return f"需要“{permission.label}”权限"


def ask_reason(parent: QWidget | None, month: str) -> str | None:
    """The reason for changing a published roster (调班原因); None when cancelled or left empty."""
    text, ok = QInputDialog.getText(
        parent, "调班原因", f"{month_title(month)}的值班表已发布，请填写调班原因："
    )
    return text.strip() if ok and text.strip() else None


def outcome_text(result: SolveResult) -> str:
    """What the solve found, as the outcome dialog says it."""
    from app.rosters.solver import STATUS_LABELS

    lines = [STATUS_LABELS[result.status] + f"（用时 {result.wall_seconds:.1f} 秒）"]
    if result.assignments:
        lines.append(f"排班 {len(result.assignments)} 人次，与当前排班相比改动 {result.changes} 格。")
    if result.objective is not None and result.feasible:
        lines.append(f"公平性目标值 {result.objective:g}，下界 {result.bound:g}。")
    if result.explanation:
        lines.append("无法同时满足的规则：")
        lines += [f"　{line}" for line in result.explanation]
    if result.violations:
        lines.append(f"以下 {len(result.violations)} 处仍不满足，应用后将在排班表中标红：")
        lines += [f"　{v.message}" for v in result.violations[:12]]
        if len(result.violations) > 12:
            lines.append(f"　……另有 {len(result.violations) - 12} 处")
    return "\n".join(lines)


class SolveOutcomeDialog(QDialog):
    """The solver's outcome before anything is written: 应用 writes it, 放弃 leaves the roster."""

    def __init__(self, result: SolveResult, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("自动排班结果")
        self.resize(560, 360)
        layout = QVBoxLayout(self)
        text = QLabel(outcome_text(result), wordWrap=True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(text, 1)
        buttons = QDialogButtonBox()
        apply = buttons.addButton("应用到排班表", QDialogButtonBox.ButtonRole.AcceptRole)
        apply.setEnabled(bool(result.assignments))
        buttons.addButton("放弃", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @classmethod
    def ask(cls, result: SolveResult, parent: QWidget | None = None) -> bool:
        dialog = cls(result, parent)
        try:
            return dialog.exec() == QDialog.DialogCode.Accepted
        finally:
            dialog.deleteLater()


class RostersPage(QWidget):
    sig_sheet_loaded = Signal(object)  # MonthSheet
    sig_solved = Signal(object)  # SolveResult

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.sheet: MonthSheet | None = None
        self.task: Task | None = None
        self.last_result: SolveResult | None = None
        self.can_edit = actor.can(Permission.EDIT_ROSTERS)
        self.can_publish = actor.can(Permission.PUBLISH_ROSTERS)

        self.month_edit = QDateEdit(displayFormat="yyyy年M月")
        self.month_edit.setDate(QDate.currentDate())
        self.month_edit.setCalendarPopup(False)
        self.month_edit.dateChanged.connect(self._month_changed)
        previous = QPushButton(icon("previous"), "")
        previous.setToolTip("上个月")
        previous.clicked.connect(self.previous_month)
        following = QPushButton(icon("next"), "")
        following.setToolTip("下个月")
        following.clicked.connect(self.next_month)

        self.solve_button = QPushButton(icon("state"), "自动排班…")
        self.solve_button.setToolTip("按规则和公平性排出本月；已锁定的格子保持不变，其余尽量少改动")
        self.solve_button.clicked.connect(self.solve)
        self.seconds = QSpinBox(minimum=2, maximum=300, value=DEFAULT_SECONDS, suffix=" 秒")
        self.seconds.setToolTip("求解时限：时间越长，公平性越好")
        self.lock_button = QPushButton(icon("lock"), "锁定/解锁")
        self.lock_button.setToolTip("锁定选中的格子：重新排班时保持不变")
        self.lock_button.clicked.connect(self.toggle_lock)
        self.clear_button = QPushButton(icon("delete"), "清空")
        self.clear_button.setToolTip("把选中的格子改为休息")
        self.clear_button.clicked.connect(self.clear_selection)
        self.publish_button = QPushButton(icon("issue"), "发布…")
        self.publish_button.clicked.connect(self.publish)
        for button in (self.solve_button, self.lock_button, self.clear_button):
            button.setEnabled(self.can_edit)
            if not self.can_edit:
                button.setToolTip(needs(Permission.EDIT_ROSTERS))
        self.seconds.setEnabled(self.can_edit)
        self.publish_button.setEnabled(self.can_publish)
        if not self.can_publish:
            self.publish_button.setToolTip(needs(Permission.PUBLISH_ROSTERS))

        setup = QPushButton(icon("thresholds"), "设置")
        menu = QMenu(setup)
        menu.addAction("班次设置…", self.edit_shift_types)
        menu.addAction("排班需求…", self.edit_demand)
        menu.addAction("请假登记…", self.edit_leave)
        setup.setMenu(menu)
        output = QPushButton(icon("print"), "打印/导出")
        out_menu = QMenu(output)
        out_menu.addAction(icon("print"), "打印排班表…", self.print_roster)
        out_menu.addAction(icon("print"), "打印值班安排表…", self.print_duty_table)
        out_menu.addAction(icon("export"), "导出 Excel…", self.export_excel)
        output.setMenu(out_menu)

        bar = QHBoxLayout()
        for widget in (previous, self.month_edit, following):
            bar.addWidget(widget)
        bar.addSpacing(12)
        for widget in (
            self.solve_button,
            self.seconds,
            self.lock_button,
            self.clear_button,
            self.publish_button,
        ):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(setup)
        bar.addWidget(output)

        self.status = QLabel()
        self.status.setObjectName("rosterStatus")

        self.model = RosterGridModel(self)
        self.model.sig_assign.connect(self._assign_one)
        self.grid = QTableView()
        self.grid.setModel(self.model)
        self.grid.setItemDelegate(RosterCellDelegate(self.grid))
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.grid.horizontalHeader().setDefaultSectionSize(34)
        self.grid.horizontalHeader().setMinimumHeight(38)
        self.grid.verticalHeader().setDefaultSectionSize(24)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)

        self.findings = QListWidget()
        self.findings.itemActivated.connect(self._go_to_finding)
        self.findings.itemClicked.connect(self._go_to_finding)
        self.fairness = QTableWidget(0, 4)
        self.fairness.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.fairness.verticalHeader().hide()
        self.changes = QTableWidget(0, 6)
        self.changes.setHorizontalHeaderLabels(["版本", "时间", "修改人", "队员·日期", "原→新", "原因"])
        self.changes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changes.verticalHeader().hide()
        self.changes.horizontalHeader().setStretchLastSection(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.findings, "规则检查")
        self.tabs.addTab(self.fairness, "公平性")
        self.tabs.addTab(self.changes, "调班记录")

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.grid)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([640, 160])

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    # ---- the month ----

    @property
    def month(self) -> str:
        day = self.month_edit.date()
        return f"{day.year():04d}-{day.month():02d}"

    def set_month(self, month: str) -> None:
        year, number = (int(x) for x in month.split("-"))
        if (self.month_edit.date().year(), self.month_edit.date().month()) == (year, number):
            self.refresh()
        else:
            self.month_edit.setDate(QDate(year, number, 1))

    def previous_month(self) -> None:
        self.month_edit.setDate(self.month_edit.date().addMonths(-1))

    def next_month(self) -> None:
        self.month_edit.setDate(self.month_edit.date().addMonths(1))

    def _month_changed(self, _date: QDate) -> None:
        self.refresh()

    def refresh(self) -> None:
        try:
            with self.ctx.read() as session:
                sheet = month_sheet(session, self.actor, self.month)
        except Exception as exc:
            show_error(self, exc, "无法读取排班表")
            return
        self.show_sheet(sheet)

    def show_sheet(self, sheet: MonthSheet) -> None:
        self.sheet = sheet
        self.model.set_sheet(sheet, self.can_edit)
        self.grid.horizontalHeader().setMinimumSectionSize(24)
        for column in range(len(sheet.days), len(sheet.days) + len(TOTALS)):
            self.grid.setColumnWidth(column, 40)
        self._show_status(sheet)
        self._show_findings(sheet.violations)
        self._show_fairness(sheet)
        self._show_changes(sheet)
        self.sig_sheet_loaded.emit(sheet)

    def _show_status(self, sheet: MonthSheet) -> None:
        roster = sheet.roster
        if roster is None:
            state = "尚未排班"
        elif roster.published_version:
            when = f"{roster.published_at:%Y-%m-%d %H:%M}" if roster.published_at else ""
            state = f"已发布第 {roster.published_version} 版（{roster.published_by_name} {when}）"
            if sheet.changes:
                state += f"，其后调班 {len(sheet.changes)} 次"
        else:
            state = "草稿"
        people = len(sheet.people)
        problems = len(sheet.violations)
        verdict = (
            f"<span style='color:#c62828'>{problems} 处不符合排班规则</span>"
            if problems
            else "符合全部排班规则"
        )
        if roster is None or not sheet.cells:
            verdict = "尚无排班" if not sheet.demands else f"需求 {len(sheet.demands)} 项待排"
        self.status.setText(
            f"<b>{month_title(sheet.month)}值班表</b>　{state}　·　{people} 名队员　·　{verdict}"
        )

    def _show_findings(self, violations: Iterable[Violation]) -> None:
        self.findings.clear()
        for v in violations:
            item = QListWidgetItem(icon("alert.red"), f"[{RULE_LABELS[v.rule]}] {v.message}")
            item.setData(Qt.ItemDataRole.UserRole, (v.member_id, v.day, v.shift))
            self.findings.addItem(item)
        if not self.findings.count():
            self.findings.addItem(QListWidgetItem(icon("ok"), "没有发现违反排班规则的情况。"))
        self.tabs.setTabText(
            0, f"规则检查（{self.findings.count() if self.sheet and self.sheet.violations else 0}）"
        )

    def _show_fairness(self, sheet: MonthSheet) -> None:
        summary = sheet.summary()
        headers = ["分组", *CATEGORY_NAMES.values()]
        self.fairness.setColumnCount(len(headers))
        self.fairness.setHorizontalHeaderLabels(headers)
        self.fairness.setRowCount(len(summary))
        for row, (group, spreads) in enumerate(summary.items()):
            members = sum(1 for p in sheet.people if p.group is group)
            self.fairness.setItem(row, 0, QTableWidgetItem(f"{PEER_GROUP_LABELS[group]}（{members}人）"))
            for column, key in enumerate(CATEGORY_NAMES, start=1):
                spread = spreads[key]
                item = QTableWidgetItem(f"{spread.minimum}–{spread.maximum}（差 {spread.spread}）")
                item.setToolTip("含上月结转：同组中多于最少者的次数会带入下月，由排班逐步拉平")
                self.fairness.setItem(row, column, item)
        self.fairness.resizeColumnsToContents()

    def _show_changes(self, sheet: MonthSheet) -> None:
        self.changes.setRowCount(len(sheet.changes))
        for row, c in enumerate(sheet.changes):
            values = (
                f"第{c.published_version}版",
                f"{c.changed_at:%m-%d %H:%M}",
                c.changed_by_name,
                f"{c.member_name} {c.day.month}月{c.day.day}日",
                f"{c.before_code or '休'} → {c.after_code or '休'}",
                c.reason,
            )
            for column, value in enumerate(values):
                self.changes.setItem(row, column, QTableWidgetItem(value))
        self.changes.resizeColumnsToContents()
        self.tabs.setTabText(2, f"调班记录（{len(sheet.changes)}）")

    def _go_to_finding(self, item: QListWidgetItem) -> None:
        found = item.data(Qt.ItemDataRole.UserRole)
        if not found:
            return
        member_id, day, _shift = found
        index = self.model.index_of(member_id, day) if member_id else QModelIndex()
        if not index.isValid() and self.sheet is not None:
            column = next((i for i, d in enumerate(self.sheet.days) if d.day == day), 0)
            index = self.model.index(len(self.sheet.people), column)
        if index.isValid():
            self.grid.setCurrentIndex(index)
            self.grid.scrollTo(index)

    # ---- editing ----

    def selected_cells(self) -> list[tuple[str, dt.date]]:
        keys = [self.model.data(i, KEY_ROLE) for i in self.grid.selectionModel().selectedIndexes()]
        return sorted({k for k in keys if k})

    def _reason(self) -> str | None:
        """ "" for a draft; the clerk's reason for a published roster; None if they cancelled."""
        if self.sheet is None or not self.sheet.published:
            return ""
        return ask_reason(self, self.month)

    def _assign_one(self, member_id: str, day: dt.date, shift_type_id: str | None) -> None:
        self.assign([(member_id, day)], shift_type_id)

    def assign(self, cells: list[tuple[str, dt.date]], shift_type_id: str | None) -> bool:
        """Put every cell on ``shift_type_id`` (None: 休息) in one unit of work, then re-check."""
        if not cells:
            return False
        reason = self._reason()
        if reason is None:
            return False
        what = "排班调整" if len(cells) == 1 else f"排班调整（{len(cells)}格）"
        try:
            with self.ctx.unit_of_work(self.actor, what) as session:
                roster = get_or_create_roster(session, self.actor, self.month)
                for member_id, day in cells:
                    set_cell(session, self.actor, roster.id, member_id, day, shift_type_id, reason=reason)
        except Exception as exc:
            show_error(self, exc, "无法修改排班")
            return False
        self.refresh()
        return True

    def clear_selection(self) -> bool:
        cells = [k for k in self.selected_cells() if self.sheet and self.sheet.cells.get(k)]
        return self.assign(cells, None)

    def toggle_lock(self) -> bool:
        """Lock the selected cells, or unlock them when all of them are locked already."""
        sheet = self.sheet
        cells = [k for k in self.selected_cells() if sheet and sheet.cells.get(k)]
        if sheet is None or not cells:
            QMessageBox.information(self, "锁定", "请先选中已排班的格子。")
            return False
        lock = not all(c.locked for k in cells for c in sheet.cells[k])
        return self.set_locked(cells, lock)

    def set_locked(self, cells: list[tuple[str, dt.date]], locked: bool) -> bool:
        try:
            with self.ctx.unit_of_work(self.actor, "锁定排班" if locked else "解锁排班") as session:
                roster = get_or_create_roster(session, self.actor, self.month)
                for member_id, day in cells:
                    set_locked(session, self.actor, roster.id, member_id, day, locked)
        except Exception as exc:
            show_error(self, exc, "无法锁定")
            return False
        self.refresh()
        return True

    def _context_menu(self, point: QPoint) -> None:
        if self.sheet is None or not self.can_edit:
            return
        cells = self.selected_cells()
        if not cells:
            return
        menu = QMenu(self)
        for shift in self.sheet.shifts:
            if shift.active:
                action = menu.addAction(f"排为 {shift.name}（{shift.code}）")
                action.setData(shift.id)
        menu.addAction("改为休息").setData("")
        menu.addSeparator()
        menu.addAction(icon("lock"), "锁定/解锁").setData("lock")
        chosen = menu.exec(self.grid.viewport().mapToGlobal(point))
        if chosen is None:
            return
        value = chosen.data()
        if value == "lock":
            self.toggle_lock()
        else:
            self.assign(cells, value or None)

    # ---- solving ----

    def solve(self) -> Task | None:
        if self.task is not None or self.sheet is None:
            return None
        if self.sheet.cells and not confirm(
            self,
            "自动排班",
            "将保留已锁定的格子，重新排列其余格子（尽量少改动）。结果会先给您查看，确认后才写入。继续吗？",
        ):
            return None
        self.solve_button.setEnabled(False)
        month, seconds = self.month, float(self.seconds.value())
        self._solving = (month, seconds)
        self.task = run_task(
            self, f"自动排班 {month_title(month)}", self._solve, on_done=self._solved, on_error=self._failed
        )
        return self.task

    def _solve(self, progress: Progress) -> SolveResult:
        month, seconds = self._solving
        with self.ctx.read() as session:
            return solve_month(session, self.actor, month, seconds=seconds, progress=progress)

    def _solved(self, result: SolveResult) -> None:
        self.task = None
        self.solve_button.setEnabled(self.can_edit)
        self.last_result = result
        self.sig_solved.emit(result)
        if SolveOutcomeDialog.ask(result, self):
            self.apply(result)

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self.solve_button.setEnabled(self.can_edit)
        show_error(self, exc, "自动排班失败")

    def apply(self, result: SolveResult) -> bool:
        reason = self._reason()
        if reason is None:
            return False
        try:
            with self.ctx.unit_of_work(self.actor, "自动排班") as session:
                apply_solution(session, self.actor, month_of(result.month), result, reason=reason)
        except Exception as exc:
            show_error(self, exc, "无法写入排班")
            return False
        self.refresh()
        return True

    # ---- publishing ----

    def publish(self) -> bool:
        sheet = self.sheet
        if sheet is None or sheet.roster is None:
            QMessageBox.information(self, "发布", "本月还没有排班，排班后再发布。")
            return False
        warn = f"\n\n注意：仍有 {len(sheet.violations)} 处不符合排班规则。" if sheet.violations else ""
        again = f"（第 {sheet.roster.published_version + 1} 版）" if sheet.roster.published_version else ""
        if not confirm(
            self,
            "发布值班表",
            f"发布{month_title(sheet.month)}值班表{again}？发布后的调班需填写原因并留痕。{warn}",
        ):
            return False
        try:
            with self.ctx.unit_of_work(self.actor, "发布值班表") as session:
                publish_roster(session, self.actor, sheet.roster.id, version=sheet.roster.version)
        except Exception as exc:
            show_error(self, exc, "无法发布")
            return False
        self.refresh()
        return True

    # ---- set-up ----

    def edit_shift_types(self) -> None:
        if ShiftTypesDialog.ask(self.ctx, self.actor, self):
            self.refresh()

    def edit_demand(self) -> None:
        if DemandDialog.ask(self.ctx, self.actor, self.month, self):
            self.refresh()

    def edit_leave(self) -> None:
        if LeaveDialog.ask(self.ctx, self.actor, self.month, self):
            self.refresh()

    # ---- output ----

    def _squad_name(self) -> str:
        with self.ctx.read() as session:
            return get_squad(session, self.ctx.require_squad()).name

    def roster_pdf(self) -> bytes:
        from app.rosters.export import roster_pdf

        assert self.sheet is not None
        return roster_pdf(self.sheet, self._squad_name())

    def duty_table_pdf(self) -> bytes:
        from app.rosters.export import duty_table_pdf

        assert self.sheet is not None
        return duty_table_pdf(self.sheet, self._squad_name(), self.sheet.days[0].day, self.sheet.days[-1].day)

    def print_roster(self) -> None:
        if self.sheet is None:
            return
        try:
            pdf = self.roster_pdf()
        except Exception as exc:
            show_error(self, exc, "无法生成排班表")
            return
        PdfPreview.show_pdf(pdf, f"{month_title(self.month)}排班表", "", self)

    def print_duty_table(self) -> None:
        if self.sheet is None:
            return
        try:
            pdf = self.duty_table_pdf()
        except Exception as exc:
            show_error(self, exc, "无法生成值班安排表")
            return
        PdfPreview.show_pdf(pdf, f"{month_title(self.month)}值班安排表", "", self)

    def export_excel(self) -> Path | None:
        if self.sheet is None:
            return None
        name, _ = QFileDialog.getSaveFileName(
            self,
            "导出 Excel",
            f"{safe_file_name(month_title(self.month) + '排班表')}.xlsx",
            "Excel 文件 (*.xlsx)",
        )
        if not name:
            return None
        path = Path(name if name.lower().endswith(".xlsx") else f"{name}.xlsx")
        try:
            from app.rosters.export import roster_xlsx

            path.write_bytes(roster_xlsx(self.sheet, self._squad_name()))
        except Exception as exc:
            show_error(self, exc, "无法导出")
            return None
        return path


__all__ = ["RostersPage", "SolveOutcomeDialog", "ask_reason", "month_title", "outcome_text"]
