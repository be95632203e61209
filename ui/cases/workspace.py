"""The case workspace (案件办理台): the case's header; tabs for the timeline of its steps (who
performed and approved each), its statutory clocks (期限, amber and red as on the start page),
its evidence (证据), the dossier pre-check (案卷评查) and its documents (文书: draft, issue, void,
reissue, print — ui.documents.panel); and the action bar: the one next step
the procedure allows as a button that opens its form (greyed out, with the role it needs, for
those who may not take it), 记为不适用 for an optional step, and the leader's acts — 中止/恢复,
延长期限, 重新办理. After every act the workspace reloads the case and says so with
``sig_changed``, so the case list refreshes too."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.cases import OUTCOME_LABELS, CaseStage, CaseView, Procedure, StepKind, StepStatus, StepView, get_case
from app.cases.clocks import ClockState
from app.cases.measures import AppealKind, AppealResult, PreservationOutcome, SeizureMeasure, SeizureOutcome
from app.cases.precheck import Finding, Severity, precheck
from app.cases.query import PROCEDURE_LABELS
from app.cases.timing import ClockView, clocks_for_case
from app.context import AppContext
from app.errors import DomainError
from app.parties import get_party
from app.personnel.members import get_member
from app.reference import PenaltyType, get_item, yuan_short
from db.models.cases import Outcome
from ui.cases import measures
from ui.cases.actions import ExtendDialog, PauseDialog, ReopenDialog, ResumeDialog
from ui.cases.evidence import EvidencePanel
from ui.cases.steps import STEP_DIALOGS, STEP_PERMISSIONS, NotApplicableDialog, StepDialog
from ui.documents.panel import DocumentsPanel
from ui.errors import show_error
from ui.icons import icon

STATUS_LABELS = {
    StepStatus.DONE: "已办理",
    StepStatus.NOT_APPLICABLE: "不适用",
    StepStatus.WITHDRAWN: "已撤销",
}
STATUS_COLORS = {StepStatus.NOT_APPLICABLE: QColor("#78909c"), StepStatus.WITHDRAWN: QColor("#b0bec5")}
#: How the facts a step stores read in the timeline; keys not listed are not shown.
DATA_LABELS = {
    "records": "笔录",
    "note": "说明",
    "proposed_outcome": "拟处理",
    "outcome": "处理结果",
    "tier_name": "裁量阶次",
    "fine_fen": "罚款",
    "amount_fen": "缴款",
    "late_fee_fen": "加处罚款",
    "receipt_no": "票据号",
    "penalty_types": "处罚种类",
    "received_on": "当事人收到",
    "hearing_rights": "听证权利",
    "statement": "陈述申辩",
    "review": "复核意见",
    "waived": "放弃陈述申辩",
    "hearing_requested": "申请听证",
    "method": "送达方式",
    "received_by": "签收人",
    "electronic_consent": "已签订电子送达确认书",
    "transfer_to": "移送至",
    "conclusion": "讨论结论",
    "record": "听证笔录",
    "collected_on_spot": "当场收缴",
    "qualification_no": "法律职业资格证号",
    "reasons": "理由",
    # side measures (强制措施与执行)
    "measure": "措施",
    "items": "物品",
    "place": "存放地点",
    "place_of_keeping": "保管场所",
    "reason": "理由",
    "days": "延长天数",
    "applied_on": "申请日期",
    "until": "暂缓至",
    "schedule": "分期计划",
    "no": "期次",
    "instalment_fen": "本期金额",
    "late": "逾期",
    "court": "受理法院",
    "via": "执行方式",
    # the party's appeal (行政复议、行政诉讼) and its result
    "appeal_kind": "复议或诉讼",
    "body": "受理机关",
    "reference": "案号",
    "result": "结果",
}
STEP_COLUMNS = ("序号", "环节", "状态", "日期", "办案人员", "记录 / 审批", "内容")
CLOCK_COLUMNS = ("期限", "依据", "到期日", "状态", "说明")
CLOCK_STATES = {
    ClockState.NONE: ("进行中", None),
    ClockState.AMBER: ("即将到期", QColor("#ffe082")),
    ClockState.RED: ("已逾期", QColor("#ef9a9a")),
    ClockState.DONE: ("已办结", None),
}
FINDING_COLUMNS = ("类别", "问题", "在哪里纠正")
#: Stages after which the case's clocks can no longer be paused or extended.
FINISHED = frozenset({CaseStage.CLOSED, CaseStage.ARCHIVED})


def _item_lines(value: Any) -> str:
    """An inventory (物品清单) as one line: 钢管 20 根、扣件 50 个."""
    return "、".join(
        f"{i.get('name', '')} {i.get('quantity', '')} {i.get('unit', '')}".strip() for i in value
    )


def _schedule(value: Any) -> str:
    return "；".join(f"{r['due']} 缴 {yuan_short(int(r['amount_fen']))}" for r in value)


#: What "outcome" means depends on the step: the decision's, or how a measure ended.
_OUTCOME_LABELS: dict[StepKind, Callable[[str], str]] = {
    StepKind.PRESERVATION_HANDLING: lambda v: PreservationOutcome(v).label,
    StepKind.SEIZURE_RELEASE: lambda v: SeizureOutcome(v).label,
}
_SPECIAL: dict[str, Callable[[Any], str]] = {
    "penalty_types": lambda v: "、".join(PenaltyType(t).label for t in v),
    "items": _item_lines,
    "schedule": _schedule,
    "measure": lambda v: SeizureMeasure(v).label,
    "via": lambda v: "申请人民法院强制执行" if v == "court_application" else str(v),
    "appeal_kind": lambda v: AppealKind(v).label,
    "result": lambda v: AppealResult(v).label,
}


def _value(key: str, value: Any, kind: StepKind | None = None) -> str:
    if key.endswith("_fen") and isinstance(value, int):
        return yuan_short(value)
    if key in ("outcome", "proposed_outcome") and value:
        special = _OUTCOME_LABELS.get(kind) if kind is not None else None
        return special(value) if special is not None else OUTCOME_LABELS[Outcome(value)]
    if key in _SPECIAL:
        return _SPECIAL[key](value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def data_summary(data: Mapping[str, Any], kind: StepKind | None = None) -> str:
    """The step's own facts on one line: 拟处理：给予行政处罚；罚款：3,000 元 …"""
    parts = [
        f"{label}：{_value(key, data[key], kind)}"
        for key, label in DATA_LABELS.items()
        if key in data and data[key] not in ("", None, [], False)
    ]
    return "；".join(parts)


class CaseWorkspace(QDialog):
    """One case: header, steps, clocks, evidence, pre-check, and the act the procedure allows next."""

    sig_changed = Signal(str)  # the case's id, after any act recorded here

    def __init__(self, ctx: AppContext, actor: Actor, case_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.clocks: list[ClockView] = []
        self.findings: list[Finding] = []
        self.officer_names: dict[str, str] = {}
        self._load(case_id)
        layout = QVBoxLayout(self)
        self.header = QLabel(objectName="case_header")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.header)
        self.timeline = self._table(STEP_COLUMNS, "timeline")
        self.clock_table = self._table(CLOCK_COLUMNS, "clocks")
        self.finding_table = self._table(FINDING_COLUMNS, "findings")
        self.evidence = EvidencePanel(ctx, actor, self.case)
        self.tabs = QTabWidget(objectName="case_tabs")
        self.tabs.addTab(self.timeline, "办案环节")
        self.tabs.addTab(self.clock_table, "期限")
        self.tabs.addTab(self.evidence, "证据")
        self.tabs.addTab(self.finding_table, "案卷评查")
        self.documents = DocumentsPanel(ctx, actor, self.case)
        self.tabs.addTab(self.documents, "文书")
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self._action_bar())
        buttons = QDialogButtonBox()
        buttons.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._show()
        self.resize(1040, 660)

    # --- data -----------------------------------------------------------------------------
    def _load(self, case_id: str) -> None:
        with self.ctx.read() as session:
            self.case = get_case(session, self.actor, case_id)
            self.item_name = get_item(session, self.case.item_code, self.case.release_no).name
            self.party_names = [get_party(session, self.actor, p).name for p in self.case.party_ids]
            ids = {i for step in self.case.steps for i in step.officer_ids} - set(self.officer_names)
            self.officer_names |= {i: self._member_name(session, i) for i in ids}
            self.clocks = clocks_for_case(session, self.actor, case_id, dt.date.today())
            self.findings = precheck(session, self.actor, case_id)

    def reload(self) -> None:
        """Read the case again (after an act here, or someone else's) and show it."""
        try:
            self._load(self.case.id)
        except Exception as exc:
            show_error(self, exc)
            return
        self.evidence.set_case(self.case)
        self.documents.set_case(self.case)
        self._show()

    def _member_name(self, session: Any, member_id: str) -> str:
        try:
            return get_member(session, self.actor, member_id).name
        except DomainError:
            # A member removed since the step was taken: the dossier still names a person.
            return "（已删除人员）"

    # --- widgets --------------------------------------------------------------------------
    @staticmethod
    def _table(columns: tuple[str, ...], name: str) -> QTableWidget:
        table = QTableWidget(0, len(columns), objectName=name)
        table.setHorizontalHeaderLabels(list(columns))
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setWordWrap(True)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def _action_bar(self) -> QWidget:
        bar = QWidget(objectName="action_bar")
        bar.setStyleSheet("#action_bar{background:#e3f2fd;border-radius:3px}")
        row = QHBoxLayout(bar)
        self.next_label = QLabel(objectName="next_actions")
        self.next_label.setWordWrap(True)
        self.next_button = QPushButton(icon("state"), "", objectName="next_button")
        self.next_button.clicked.connect(self.take_next)
        self.skip_button = QPushButton("记为不适用…", objectName="skip_button")
        self.skip_button.clicked.connect(self.skip_next)
        self.more_button = QPushButton("其他操作", objectName="more_button")
        self.more_menu = QMenu(self.more_button)
        self.pause_action = self.more_menu.addAction("中止办案…", self.pause)
        self.resume_action = self.more_menu.addAction("恢复办理…", self.resume)
        self.extend_action = self.more_menu.addAction("延长期限…", self.extend)
        self.more_menu.addSeparator()
        self.reopen_action = self.more_menu.addAction("重新办理…", self.reopen)
        self.more_button.setMenu(self.more_menu)
        self.measures_button = QPushButton("强制措施与执行", objectName="measures_button")
        self.measures_menu = QMenu(self.measures_button)
        self.measure_actions: dict[type[StepDialog], QAction] = {}
        for form in measures.MENU:
            if form is None:
                self.measures_menu.addSeparator()
                continue
            action = self.measures_menu.addAction(f"{form.act}…")
            action.setData(form)
            self.measure_actions[form] = action
        self.measures_menu.triggered.connect(self._measure_chosen)
        self.measures_button.setMenu(self.measures_menu)
        row.addWidget(self.next_label, 1)
        row.addWidget(self.next_button)
        row.addWidget(self.skip_button)
        row.addWidget(self.measures_button)
        row.addWidget(self.more_button)
        return bar

    def _show(self) -> None:
        self.setWindowTitle(f"案件办理 — {self.case.number}")
        self.header.setText(self.header_html())
        self._fill_table(self.timeline, [self._step_cells(s) for s in self.case.steps], self._step_color)
        self.timeline.setColumnWidth(5, min(self.timeline.columnWidth(5), 220))
        self._fill_table(self.clock_table, [self._clock_cells(c) for c in self.clocks], self._clock_color)
        self._fill_table(
            self.finding_table, [self._finding_cells(f) for f in self.findings], self._finding_color
        )
        vetoes = sum(f.severity is Severity.VETO for f in self.findings)
        self.tabs.setTabText(3, f"案卷评查（{len(self.findings)}）" if self.findings else "案卷评查")
        self.tabs.setTabIcon(3, icon("alert.red") if vetoes else icon("ok"))
        due = [c for c in self.clocks if c.state in (ClockState.AMBER, ClockState.RED)]
        self.tabs.setTabText(1, f"期限（{len(due)} 项需关注）" if due else "期限")
        red = any(c.state is ClockState.RED for c in due)
        self.tabs.setTabIcon(1, icon("alert.red" if red else "alert.amber") if due else icon("ok"))
        self._update_actions()

    def _fill_table(self, table: QTableWidget, rows: list[tuple[str, ...]], color: Any) -> None:
        table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            brush = color(r)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if brush is not None:
                    foreground, background = brush
                    if foreground is not None:
                        item.setForeground(foreground)
                    if background is not None:
                        item.setBackground(background)
                table.setItem(r, column, item)
        table.resizeColumnsToContents()
        # Rows are measured against the width the last column will have in the dialog, not its
        # narrow default, or every wrapped row would be twice as tall as needed.
        last = table.columnCount() - 1
        table.setColumnWidth(last, max(360, table.columnWidth(last)) if rows else 360)
        table.resizeRowsToContents()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.horizontalHeader().setStretchLastSection(True)

    def header_html(self) -> str:
        c: CaseView = self.case
        e = html.escape

        def row(label: str, value: str) -> str:
            return f"<tr><td style='color:#607d8b;padding-right:10px'>{label}</td><td>{value}</td></tr>"

        rows = [
            row("办理阶段", f"<b>{e(c.stage.label)}</b>　{PROCEDURE_LABELS[c.procedure]}"),
            row("执法事项", f"{e(c.item_code)}　{e(self.item_name)}"),
            row("当事人", e("、".join(self.party_names))),
            row(
                "登记日期",
                f"{c.opened_on:%Y-%m-%d}" + (f"　立案 {c.filed_on:%Y-%m-%d}" if c.filed_on else ""),
            ),
        ]
        if c.outcome is not None:
            result = OUTCOME_LABELS[c.outcome]
            if c.fine_fen:
                result += f"　罚款 {yuan_short(c.fine_fen)}"
            rows.append(row("处理结果", e(result)))
        elif c.fine_fen:
            rows.append(row("拟罚款", yuan_short(c.fine_fen)))
        return f"<h3 style='margin:0'>{e(c.number)}　{e(c.title)}</h3><table style='margin-top:6px'>{''.join(rows)}</table>"

    def next_text(self) -> str:
        if not self.case.next:
            return "本案已归档，没有待办环节。"
        # Whether an optional step may be skipped depends on the case's facts (the service
        # decides), so only the step itself is named here.
        return "下一步：" + "；".join(a.label for a in self.case.next)

    def _update_actions(self) -> None:
        self.next_label.setText(self.next_text())
        action = self.case.next[0] if self.case.next else None
        self.next_button.setVisible(action is not None)
        self.skip_button.setVisible(action is not None and action.may_skip)
        if action is not None:
            needed = STEP_PERMISSIONS[action.step]
            self.next_button.setText(f"办理“{action.label}”…")
            self.next_button.setEnabled(self.actor.can(needed))
            self.next_button.setToolTip("" if self.actor.can(needed) else f"需要“{needed.label}”权限")
            self.skip_button.setEnabled(self.actor.can(Permission.HANDLE_CASES))
        leader = self.actor.can(Permission.APPROVE_CASES)
        ordinary = self.case.procedure is Procedure.ORDINARY
        running = ordinary and self.case.stage not in FINISHED
        for item in (self.pause_action, self.resume_action, self.extend_action):
            item.setEnabled(leader and running)
        self.reopen_action.setEnabled(leader and self.case.stage in FINISHED)
        allowed = measures.available(self.case, self.actor)
        for form, action in self.measure_actions.items():
            action.setEnabled(allowed[form])
        self.measures_button.setEnabled(any(allowed.values()))
        self.more_button.setToolTip("" if leader else f"需要“{Permission.APPROVE_CASES.label}”权限")

    # --- rows -----------------------------------------------------------------------------
    def _step_cells(self, step: StepView) -> tuple[str, ...]:
        officers = "、".join(self.officer_names.get(i, "") for i in step.officer_ids)
        who = step.recorded_by_name
        if step.approved_by_name:
            who += f"\n审批：{step.approved_by_name}"
            if step.opinion:
                who += f"（{step.opinion}）"
        elif step.opinion:
            who += f"\n意见：{step.opinion}"
        content = step.reason if step.status is not StepStatus.DONE else data_summary(step.data, step.kind)
        return (
            str(step.seq),
            step.kind.label,
            STATUS_LABELS[step.status],
            f"{step.performed_on:%Y-%m-%d}",
            officers,
            who,
            content,
        )

    def _step_color(self, row: int) -> tuple[QColor | None, QColor | None] | None:
        color = STATUS_COLORS.get(self.case.steps[row].status)
        return (color, None) if color is not None else None

    @staticmethod
    def _clock_cells(clock: ClockView) -> tuple[str, ...]:
        state = CLOCK_STATES[clock.state][0]
        if clock.paused:
            state += "（中止中）"
        due = f"{clock.due:%Y-%m-%d}" + ("（暂定）" if clock.provisional else "")
        return (clock.name, clock.basis, due, state, clock.explanation)

    def _clock_color(self, row: int) -> tuple[QColor | None, QColor | None] | None:
        clock = self.clocks[row]
        background = CLOCK_STATES[clock.state][1]
        if background is not None:
            return (None, background)
        return (QColor("#90a4ae"), None) if clock.state is ClockState.DONE else None

    @staticmethod
    def _finding_cells(finding: Finding) -> tuple[str, ...]:
        return (finding.severity.label, finding.message, finding.where)

    def _finding_color(self, row: int) -> tuple[QColor | None, QColor | None] | None:
        veto = self.findings[row].severity is Severity.VETO
        return (QColor("#b71c1c"), None) if veto else None

    # --- acts -----------------------------------------------------------------------------
    def _after(self, view: CaseView | None) -> None:
        if view is not None:
            self.reload()
            self.sig_changed.emit(self.case.id)

    def _run(self, dialog: type[StepDialog]) -> None:
        self._after(dialog.ask(self.ctx, self.actor, self.case, self))

    def take_next(self) -> None:
        if self.case.next:
            self._run(STEP_DIALOGS[self.case.next[0].step])

    def skip_next(self) -> None:
        if self.case.next:
            self._after(
                NotApplicableDialog.ask(self.ctx, self.actor, self.case, self.case.next[0].step, self)
            )

    def _measure_chosen(self, action: QAction) -> None:
        form = action.data()
        if isinstance(form, type) and issubclass(form, StepDialog):
            self._run(form)

    def pause(self) -> None:
        self._run(PauseDialog)

    def resume(self) -> None:
        self._run(ResumeDialog)

    def extend(self) -> None:
        self._run(ExtendDialog)

    def reopen(self) -> None:
        self._run(ReopenDialog)
