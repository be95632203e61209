"""The case workspace (案件办理台): the case's header, the timeline of its steps with who performed
and approved each, the case's evidence (证据, with 添加证据 for those who handle cases), and the
next step the procedure allows. The step forms come later; until then the next action is shown
as text, not as a button that does nothing."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.cases import OUTCOME_LABELS, CaseView, StepStatus, StepView, get_case
from app.cases.query import PROCEDURE_LABELS
from app.context import AppContext
from app.errors import DomainError
from app.parties import get_party
from app.personnel.members import get_member
from app.reference import PenaltyType, get_item, yuan_short
from db.models.cases import Outcome
from ui.cases.evidence import EvidencePanel

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
    "transfer_to": "移送至",
    "conclusion": "讨论结论",
    "record": "听证笔录",
    "collected_on_spot": "当场收缴",
    "qualification_no": "法律职业资格证号",
    "reasons": "理由",
}
STEP_COLUMNS = ("序号", "环节", "状态", "日期", "办案人员", "记录 / 审批", "内容")


def _value(key: str, value: Any) -> str:
    if key.endswith("_fen") and isinstance(value, int):
        return yuan_short(value)
    if key in ("outcome", "proposed_outcome") and value:
        return OUTCOME_LABELS[Outcome(value)]
    if key == "penalty_types":
        return "、".join(PenaltyType(v).label for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def data_summary(data: Mapping[str, Any]) -> str:
    """The step's own facts on one line: 拟处理：给予行政处罚；罚款：3,000 元 …"""
    parts = [
        f"{label}：{_value(key, data[key])}"
        for key, label in DATA_LABELS.items()
        if key in data and data[key] not in ("", None, [], False)
    ]
    return "；".join(parts)


class CaseWorkspace(QDialog):
    """One case: header, timeline of steps, evidence, next allowed action."""

    def __init__(self, ctx: AppContext, actor: Actor, case_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        with ctx.read() as session:
            self.case = get_case(session, actor, case_id)
            self.item_name = get_item(session, self.case.item_code, self.case.release_no).name
            self.party_names = [get_party(session, actor, p).name for p in self.case.party_ids]
            ids = {i for step in self.case.steps for i in step.officer_ids}
            self.officer_names = {i: self._member_name(session, i) for i in ids}
        self.setWindowTitle(f"案件办理 — {self.case.number}")
        layout = QVBoxLayout(self)
        self.header = QLabel(self.header_html(), objectName="case_header")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.header)
        self.timeline = QTableWidget(len(self.case.steps), len(STEP_COLUMNS), objectName="timeline")
        self.timeline.setHorizontalHeaderLabels(list(STEP_COLUMNS))
        self.timeline.verticalHeader().setVisible(False)
        self.timeline.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.timeline.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.timeline.setWordWrap(True)
        for row, step in enumerate(self.case.steps):
            self._fill_step(row, step)
        header = self.timeline.horizontalHeader()
        header.setStretchLastSection(True)
        self.timeline.resizeColumnsToContents()
        self.timeline.setColumnWidth(5, min(self.timeline.columnWidth(5), 220))
        # Rows are measured against the width the content column will have in the dialog,
        # not its narrow default, or every wrapped row would be twice as tall as needed.
        self.timeline.setColumnWidth(6, 400)
        self.timeline.resizeRowsToContents()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Steps and evidence share the space below the header: each needs the full width.
        self.evidence = EvidencePanel(ctx, actor, self.case)
        self.tabs = QTabWidget(objectName="case_tabs")
        self.tabs.addTab(self.timeline, "办案环节")
        self.tabs.addTab(self.evidence, "证据")
        layout.addWidget(self.tabs, 1)
        self.next_label = QLabel(self.next_text(), objectName="next_actions")
        self.next_label.setWordWrap(True)
        self.next_label.setStyleSheet("padding:6px;background:#e3f2fd;border-radius:3px")
        layout.addWidget(self.next_label)
        buttons = QDialogButtonBox()
        buttons.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(1000, 620)

    def _member_name(self, session: Any, member_id: str) -> str:
        try:
            return get_member(session, self.actor, member_id).name
        except DomainError:
            # A member removed since the step was taken: the dossier still names a person.
            return "（已删除人员）"

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
        return "下一步：" + "；".join(a.label for a in self.case.next) + "　（办理表单将在后续版本提供）"

    def _fill_step(self, row: int, step: StepView) -> None:
        officers = "、".join(self.officer_names.get(i, "") for i in step.officer_ids)
        who = step.recorded_by_name
        if step.approved_by_name:
            who += f"\n审批：{step.approved_by_name}"
            if step.opinion:
                who += f"（{step.opinion}）"
        elif step.opinion:
            who += f"\n意见：{step.opinion}"
        content = step.reason if step.status is not StepStatus.DONE else data_summary(step.data)
        cells = (
            str(step.seq),
            step.kind.label,
            STATUS_LABELS[step.status],
            f"{step.performed_on:%Y-%m-%d}",
            officers,
            who,
            content,
        )
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column == 6:
                item.setToolTip(text)
            color = STATUS_COLORS.get(step.status)
            if color is not None:
                item.setForeground(color)
            self.timeline.setItem(row, column, item)
