"""The step forms of the case workspace (办理环节): one small dialog per step of the procedure.

Each form asks for what its service needs — the day the act was performed, the officers, the
proposal or decision, the party's statement … — and calls that one service inside one unit of
work. The rules live in app/cases: a refusal comes back as the service's Chinese message, the
field it names gets the focus, and the form keeps what the clerk typed.

``STEP_DIALOGS`` maps every step to its form; ``NotApplicableDialog`` records an optional step as
not applicable with its reason. Each dialog has ``ask(...) -> CaseView | None`` (the case after
the step), so tests and the workspace drive them the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.cases import (
    OUTCOME_LABELS,
    CaseView,
    Outcome,
    PenaltyProposal,
    StepKind,
    archive_case,
    close_case,
    conclude,
    decide,
    file_case,
    file_spot_record,
    legal_review,
    mark_not_applicable,
    prior_notice,
    record_collective_discussion,
    record_hearing,
    record_investigation,
    record_payment,
    record_statement,
    serve,
)
from app.cases.service import SERVICE_METHODS
from app.context import AppContext
from app.errors import ValidationError
from app.parties import get_party
from app.personnel.members import MemberQuery, MemberView, search_members
from app.reference import ItemView, PartyKind, TierView, get_item, parse_yuan, tiers_for, yuan_short
from ui.errors import show_error
from ui.forms import MEMBER_LIMIT, buttons, chosen_member, date_edit, focus_field, from_qdate, member_combo

#: Who may take each step (the service checks again; the workspace greys the button out).
STEP_PERMISSIONS: dict[StepKind, Permission] = {
    StepKind.FILING: Permission.APPROVE_CASES,
    StepKind.INVESTIGATION: Permission.HANDLE_CASES,
    StepKind.CONCLUSION: Permission.APPROVE_CASES,
    StepKind.LEGAL_REVIEW: Permission.LEGAL_REVIEW,
    StepKind.PRIOR_NOTICE: Permission.HANDLE_CASES,
    StepKind.STATEMENT: Permission.HANDLE_CASES,
    StepKind.HEARING: Permission.HANDLE_CASES,
    StepKind.COLLECTIVE_DISCUSSION: Permission.APPROVE_CASES,
    StepKind.DECISION: Permission.APPROVE_CASES,
    StepKind.SERVICE: Permission.HANDLE_CASES,
    StepKind.EXECUTION: Permission.HANDLE_CASES,
    StepKind.CLOSURE: Permission.APPROVE_CASES,
    StepKind.ARCHIVE: Permission.HANDLE_CASES,
    StepKind.SPOT_DECISION: Permission.HANDLE_CASES,
    StepKind.RECORD_FILING: Permission.HANDLE_CASES,
}

#: The records an investigation usually produces (APL 46's kinds of evidence, as squads name them).
COMMON_RECORDS = (
    "现场检查笔录",
    "勘验笔录",
    "询问笔录",
    "现场照片",
    "视听资料",
    "当事人身份证明",
    "责令改正通知书",
)


def yuan_edit(fen: int | None = None, placeholder: str = "元") -> QLineEdit:
    edit = QLineEdit(placeholderText=placeholder)
    if fen is not None:
        edit.setText(f"{fen / 100:g}" if fen % 100 else str(fen // 100))
    edit.setMaximumWidth(180)
    return edit


def text_edit(placeholder: str, height: int = 70, text: str = "") -> QPlainTextEdit:
    edit = QPlainTextEdit(text, placeholderText=placeholder)
    edit.setMinimumHeight(height)
    # A form of many fields: a text box grows a little with the dialog, not without bound.
    edit.setMaximumHeight(height + 50)
    edit.setTabChangesFocus(True)
    return edit


class MemberChecklist(QListWidget):
    """Members to tick (officers of an act, attendees of a discussion), by name and unit."""

    def __init__(self, members: list[MemberView], checked: tuple[str, ...] = ()) -> None:
        super().__init__()
        for m in members:
            item = QListWidgetItem(f"{m.name}（{m.unit}）" if m.unit else m.name)
            item.setData(Qt.ItemDataRole.UserRole, m.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if m.id in checked else Qt.CheckState.Unchecked)
            self.addItem(item)
        self.setMinimumHeight(110)
        self.setMaximumHeight(170)

    def rows(self) -> list[QListWidgetItem]:
        return [self.item(i) for i in range(self.count())]

    def chosen(self) -> list[str]:
        return [
            str(item.data(Qt.ItemDataRole.UserRole))
            for item in self.rows()
            if item.checkState() == Qt.CheckState.Checked
        ]

    def check(self, member_ids: list[str]) -> None:
        for item in self.rows():
            wanted = item.data(Qt.ItemDataRole.UserRole) in member_ids
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)


class StepDialog(QDialog):
    """One step of one case: the act's date, the step's own fields, and 办理."""

    kind: ClassVar[StepKind | None] = None
    #: Every form defines ``call(session, on) -> CaseView``: the one service call ``save`` makes
    #: inside its unit of work (the step's own service, with the fields the form asks for).
    call: Callable[[Any, dt.date], CaseView]
    #: The act's name where it is no step of the procedure (中止办案, 延长期限 …).
    act: ClassVar[str] = ""
    #: How the date row reads (the day the act was performed, not the day it is typed in).
    date_label: ClassVar[str] = "办理日期"
    #: False where the service takes no date (an extension is recorded when approved).
    dated: ClassVar[bool] = True
    hint: ClassVar[str] = ""

    def __init__(self, ctx: AppContext, actor: Actor, case: CaseView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.case = ctx, actor, case
        self.saved: CaseView | None = None
        self.setWindowTitle(f"{self.name} — {case.number}")
        self.form = QFormLayout()
        self.form.addRow("案件", QLabel(f"{case.number}　{case.title}"))
        # An act is recorded on the day it was performed; a future day would be a false record.
        self.on: QDateEdit = date_edit(dt.date.today(), latest=dt.date.today())
        if self.dated:
            self.form.addRow(f"{self.date_label} *", self.on)
        self.fields: dict[str, QWidget] = {"on": self.on, "decided_on": self.on}
        with ctx.read() as session:
            self.build(session)
        layout = QVBoxLayout(self)
        if self.hint:
            note = QLabel(self.hint, objectName="step_hint", wordWrap=True)
            note.setStyleSheet("color:#546e7a")
            layout.addWidget(note)
        layout.addLayout(self.form)
        self.button_box = buttons(self, self.save, self.act or f"办理{self.name}")
        layout.addWidget(self.button_box)
        self.resize(560, self.sizeHint().height())

    @property
    def name(self) -> str:
        return self.act or (self.kind.label if self.kind is not None else "")

    def build(self, session: Any) -> None:
        """Add the step's fields to ``self.form`` (data the form needs is read with ``session``)."""

    def day(self) -> dt.date:
        return from_qdate(self.on.date())

    def save(self) -> bool:
        try:
            with self.ctx.unit_of_work(self.actor, f"{self.name}：{self.case.number}") as session:
                self.saved = self.call(session, self.day())
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, f"无法办理“{self.name}”")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, case: CaseView, parent: QWidget | None = None
    ) -> CaseView | None:
        dialog = cls(ctx, actor, case, parent)
        return dialog.saved if dialog.exec() else None

    def members(self, session: Any) -> list[MemberView]:
        return search_members(session, self.actor, MemberQuery(include_left=False), limit=MEMBER_LIMIT)

    def opinion_row(self, label: str, default: str) -> QLineEdit:
        edit = QLineEdit(placeholderText=default)
        self.form.addRow(label, edit)
        self.fields["opinion"] = edit
        return edit


class _ApprovalDialog(StepDialog):
    """A leader's approval with an opinion (立案, 结案): the default opinion when left empty."""

    default_opinion: ClassVar[str] = "同意"

    def build(self, session: Any) -> None:
        self.opinion = self.opinion_row("审批意见", self.default_opinion)


class FilingDialog(_ApprovalDialog):
    kind = StepKind.FILING
    date_label = "批准立案日期"
    default_opinion = "同意立案"
    hint = "立案审批（《行政处罚法》第五十四条）：批准时核对追责时效（第三十六条）。"

    def call(self, session: Any, on: dt.date) -> CaseView:
        return file_case(session, self.actor, self.case.id, on, self.opinion.text())


class InvestigationDialog(StepDialog):
    kind = StepKind.INVESTIGATION
    date_label = "调查日期"
    hint = "调查取证须由 2 名以上在该日持有效执法证的执法人员进行（《行政处罚法》第四十二条、第五十五条）。"

    def build(self, session: Any) -> None:
        self.officers = MemberChecklist(self.members(session))
        self.form.addRow("执法人员 *", self.officers)
        self.records = QWidget()
        grid = QGridLayout(self.records)
        grid.setContentsMargins(0, 0, 0, 0)
        self.record_boxes = [QCheckBox(name) for name in COMMON_RECORDS]
        for i, box in enumerate(self.record_boxes):
            grid.addWidget(box, i // 3, i % 3)
        self.other_records = QLineEdit(placeholderText="其他记录，用顿号分隔，如：鉴定意见、证人证言")
        grid.addWidget(self.other_records, (len(COMMON_RECORDS) + 2) // 3, 0, 1, 3)
        self.form.addRow("调查取证记录 *", self.records)
        self.note = text_edit("调查经过与查明的事实（选填）")
        self.form.addRow("说明", self.note)
        self.fields |= {"officers": self.officers, "officer_ids": self.officers, "records": self.records}

    def chosen_records(self) -> list[str]:
        other = self.other_records.text().replace("，", "、").replace(",", "、").split("、")
        return [b.text() for b in self.record_boxes if b.isChecked()] + [r for r in other if r.strip()]

    def call(self, session: Any, on: dt.date) -> CaseView:
        return record_investigation(
            session,
            self.actor,
            self.case.id,
            on,
            self.officers.chosen(),
            self.chosen_records(),
            self.note.toPlainText(),
        )


class PenaltyFields(QWidget):
    """The outcome and penalty of a proposal or decision: outcome, 裁量阶次, penalty types, fine,
    the base of a rate-based fine, reasons and — for a transfer — the receiving body. The legal and
    tier ranges for the case's party are shown beside the fine as the clerk chooses."""

    def __init__(self, item: ItemView, tiers: list[TierView], party_kind: PartyKind, case: CaseView) -> None:
        super().__init__()
        self.item, self.tiers, self.party_kind = item, tiers, party_kind
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.outcome = QComboBox()
        for outcome, label in OUTCOME_LABELS.items():
            self.outcome.addItem(label, outcome.value)
        self.tier = QComboBox()
        self.tier.addItem("（请选择）", "")
        for t in tiers:
            self.tier.addItem(t.name, t.name)
        self.types = QWidget()
        row = QHBoxLayout(self.types)
        row.setContentsMargins(0, 0, 0, 0)
        self.type_boxes = {t: QCheckBox(t.label) for t in item.penalty_types}
        for box in self.type_boxes.values():
            row.addWidget(box)
        row.addStretch(1)
        self.fine = yuan_edit(placeholder="罚款金额（元）")
        self.base = yuan_edit(placeholder=f"{item.rate_base or '计罚基数'}（元）")
        self.range_hint = QLabel(objectName="range_hint", wordWrap=True)
        self.range_hint.setStyleSheet("color:#546e7a")
        self.reasons = text_edit("适用该裁量阶次的情节与理由")
        self.transfer_to = QLineEdit(placeholderText="接收机关全称，如：广州市公安局天河区分局")
        form.addRow("处理意见 *", self.outcome)
        form.addRow("裁量阶次", self.tier)
        form.addRow("处罚种类", self.types)
        form.addRow("罚款", self.fine)
        if item.fined_by_rate:
            form.addRow(item.rate_base or "计罚基数", self.base)
        form.addRow("", self.range_hint)
        form.addRow("理由", self.reasons)
        form.addRow("移送至", self.transfer_to)
        self.fields: dict[str, QWidget] = {
            "outcome": self.outcome,
            "tier": self.tier,
            "penalty_types": self.types,
            "fine": self.fine,
            "transfer_to": self.transfer_to,
            "reasons": self.reasons,
        }
        self.outcome.currentIndexChanged.connect(self._outcome_changed)
        self.tier.currentIndexChanged.connect(self._show_ranges)
        self._fill(case)
        self._outcome_changed()

    def _fill(self, case: CaseView) -> None:
        proposed = next(
            (s.data.get("proposed_outcome") for s in case.steps if s.kind is StepKind.CONCLUSION), None
        )
        outcome = case.outcome.value if case.outcome else proposed
        if outcome:
            self.outcome.setCurrentIndex(self.outcome.findData(outcome))
        if case.tier_name:
            self.tier.setCurrentIndex(max(0, self.tier.findData(case.tier_name)))
        for t in case.penalty_types:
            if t in self.type_boxes:
                self.type_boxes[t].setChecked(True)
        if case.fine_fen:
            self.fine.setText(yuan_edit(case.fine_fen).text())

    def outcome_value(self) -> Outcome:
        return Outcome(self.outcome.currentData())

    def _outcome_changed(self) -> None:
        penalty = self.outcome_value() is Outcome.PENALTY
        for widget in (self.tier, self.types, self.fine, self.base):
            widget.setEnabled(penalty)
        self.transfer_to.setEnabled(self.outcome_value() is Outcome.TRANSFER)
        self._show_ranges()

    def _show_ranges(self) -> None:
        legal = self.item.fine_for(self.party_kind)
        who = "个人" if self.party_kind is PartyKind.PERSON else "单位"
        parts = [f"对{who}法定罚款：{legal.text if legal.is_set else '未规定'}"]
        if self.item.fined_by_rate:
            parts.append(f"按{self.item.rate_base or '基数'}的 {self.item.fine_rate.text}")
        tier = next((t for t in self.tiers if t.name == self.tier.currentData()), None)
        if tier is not None:
            rng = tier.fine_for(self.party_kind)
            parts.append(
                f"“{tier.name}”阶次：{rng.text if rng.is_set else ('不予处罚' if tier.no_penalty else '不罚款')}"
            )
            if tier.conditions:
                parts.append(f"情节：{tier.conditions}")
        self.range_hint.setText("；".join(parts))

    def proposal(self) -> PenaltyProposal:
        outcome = self.outcome_value()
        if outcome is not Outcome.PENALTY:
            return PenaltyProposal(
                outcome, reasons=self.reasons.toPlainText(), transfer_to=self.transfer_to.text()
            )
        fine_text = self.fine.text().strip()
        base_text = self.base.text().strip()
        return PenaltyProposal(
            outcome,
            tier_name=str(self.tier.currentData() or ""),
            fine_fen=parse_yuan(fine_text, "fine") if fine_text else 0,
            penalty_types=tuple(t for t, box in self.type_boxes.items() if box.isChecked()),
            base_fen=parse_yuan(base_text, "base") if base_text and self.item.fined_by_rate else None,
            reasons=self.reasons.toPlainText(),
        )


class _PenaltyStepDialog(StepDialog):
    def build(self, session: Any) -> None:
        item = get_item(session, self.case.item_code, self.case.release_no)
        tiers = tiers_for(session, self.case.item_code, self.case.release_no)
        kind = (
            get_party(session, self.actor, self.case.party_ids[0]).kind
            if self.case.party_ids
            else PartyKind.PERSON
        )
        self.penalty = PenaltyFields(item, tiers, kind, self.case)
        self.form.addRow(self.penalty)
        self.fields |= self.penalty.fields


class ConclusionDialog(_PenaltyStepDialog):
    kind = StepKind.CONCLUSION
    date_label = "批准调查终结日期"
    hint = "调查终结：提出拟处理意见，由队长审批。拟罚款数额决定是否须法制审核、当事人是否享有听证权利。"

    def build(self, session: Any) -> None:
        super().build(session)
        self.opinion = self.opinion_row("审批意见", "同意调查终结")

    def call(self, session: Any, on: dt.date) -> CaseView:
        return conclude(session, self.actor, self.case.id, on, self.penalty.proposal(), self.opinion.text())


class LegalReviewDialog(StepDialog):
    kind = StepKind.LEGAL_REVIEW
    date_label = "审核日期"
    hint = "法制审核（《行政处罚法》第五十八条）：审核人员须持有法律职业资格证书。"

    def build(self, session: Any) -> None:
        self.opinion = text_edit("如：事实清楚，证据确凿，适用依据正确，程序合法，裁量适当，同意。", 90)
        self.form.addRow("审核意见 *", self.opinion)
        self.fields["opinion"] = self.opinion

    def call(self, session: Any, on: dt.date) -> CaseView:
        return legal_review(session, self.actor, self.case.id, on, self.opinion.toPlainText())


class PriorNoticeDialog(StepDialog):
    kind = StepKind.PRIOR_NOTICE
    date_label = "告知日期"
    hint = "事先告知（《行政处罚法》第四十四条）：告知拟作出的处罚及事实、理由、依据和陈述、申辩、听证权利。"

    def build(self, session: Any) -> None:
        self.received_on = date_edit(dt.date.today(), latest=dt.date.today())
        self.form.addRow("当事人收到日期 *", self.received_on)
        if self.case.fine_fen:
            self.form.addRow("拟罚款", QLabel(yuan_short(self.case.fine_fen)))
        self.fields["received_on"] = self.received_on

    def call(self, session: Any, on: dt.date) -> CaseView:
        return prior_notice(session, self.actor, self.case.id, on, from_qdate(self.received_on.date()))


class StatementDialog(StepDialog):
    kind = StepKind.STATEMENT
    date_label = "陈述申辩日期"
    hint = "当事人提出的事实、理由和证据应当复核；不得因当事人陈述申辩而给予更重的处罚（第四十五条）。"

    def build(self, session: Any) -> None:
        self.waived = QCheckBox("当事人放弃陈述申辩")
        self.statement = text_edit("当事人陈述申辩的内容")
        self.review = text_edit("对陈述申辩的复核意见")
        self.form.addRow("", self.waived)
        self.form.addRow("陈述申辩", self.statement)
        self.form.addRow("复核意见", self.review)
        self.hearing_requested = QCheckBox("当事人申请听证")
        self.hearing_waived = QCheckBox("当事人书面放弃听证")
        if self.case.hearing_rights:
            self.form.addRow("听证", self.hearing_requested)
            self.form.addRow("", self.hearing_waived)
        self.waived.toggled.connect(self.statement.setDisabled)
        self.fields |= {
            "statement": self.statement,
            "review": self.review,
            "hearing_requested": self.hearing_requested,
        }

    def call(self, session: Any, on: dt.date) -> CaseView:
        return record_statement(
            session,
            self.actor,
            self.case.id,
            on,
            statement="" if self.waived.isChecked() else self.statement.toPlainText(),
            review=self.review.toPlainText(),
            waived=self.waived.isChecked(),
            hearing_requested=self.hearing_requested.isChecked(),
            hearing_waived=self.hearing_waived.isChecked(),
        )


class HearingDialog(StepDialog):
    kind = StepKind.HEARING
    date_label = "听证日期"
    hint = "听证由非本案调查人员主持，举行 7 个工作日前通知当事人（《行政处罚法》第六十四条）。"

    def build(self, session: Any) -> None:
        self.chair = member_combo(self.members(session))
        self.notified_on = date_edit(dt.date.today(), latest=dt.date.today())
        self.record = text_edit("听证笔录摘要：当事人意见、质证情况等", 90)
        self.form.addRow("主持人 *", self.chair)
        self.form.addRow("通知日期 *", self.notified_on)
        self.form.addRow("听证笔录 *", self.record)
        self.fields |= {
            "chair": self.chair,
            "member_id": self.chair,
            "notified_on": self.notified_on,
            "record": self.record,
        }

    def call(self, session: Any, on: dt.date) -> CaseView:
        return record_hearing(
            session,
            self.actor,
            self.case.id,
            on,
            chair_member_id=chosen_member(self.chair),
            notified_on=from_qdate(self.notified_on.date()),
            record=self.record.toPlainText(),
        )


class DiscussionDialog(StepDialog):
    kind = StepKind.COLLECTIVE_DISCUSSION
    date_label = "讨论日期"
    hint = "情节复杂或重大的案件由负责人集体讨论决定（《行政处罚法》第五十七条），至少 3 人参加。"

    def build(self, session: Any) -> None:
        self.attendees = MemberChecklist(self.members(session))
        self.conclusion = text_edit("集体讨论结论", 80)
        self.form.addRow("参加人员 *", self.attendees)
        self.form.addRow("讨论结论 *", self.conclusion)
        self.fields |= {"attendees": self.attendees, "conclusion": self.conclusion}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return record_collective_discussion(
            session, self.actor, self.case.id, on, self.attendees.chosen(), self.conclusion.toPlainText()
        )


class DecisionDialog(_PenaltyStepDialog):
    kind = StepKind.DECISION
    date_label = "决定日期"
    hint = "队长作出决定（《行政处罚法》第五十七条）；不得重于事先告知的处罚，须在立案之日起 90 日内作出。"

    def call(self, session: Any, on: dt.date) -> CaseView:
        return decide(session, self.actor, self.case.id, on, self.penalty.proposal())


class ServiceDialog(StepDialog):
    kind = StepKind.SERVICE
    date_label = "送达日期"
    hint = "决定书宣告后当场交付；当事人不在场的，7 个工作日内依照民事诉讼法的规定送达（第六十一条）。"

    def build(self, session: Any) -> None:
        self.method = QComboBox()
        self.method.addItems(list(SERVICE_METHODS))
        self.received_by = QLineEdit(placeholderText="签收人姓名；留置送达写明见证人")
        self.consent = QCheckBox("当事人已签订确认书，同意以传真、电子邮件等方式送达")
        self.form.addRow("送达方式 *", self.method)
        self.form.addRow("签收人", self.received_by)
        self.form.addRow("", self.consent)
        self.fields |= {"method": self.method, "received_by": self.received_by}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return serve(
            session,
            self.actor,
            self.case.id,
            on,
            self.method.currentText(),
            self.received_by.text(),
            electronic_consent=self.consent.isChecked(),
        )


class PaymentDialog(StepDialog):
    kind = StepKind.EXECUTION
    date_label = "缴款日期"
    hint = "罚缴分离：当事人到指定银行缴纳（第六十七条）；逾期每日按罚款数额的 3% 加处罚款，不超过罚款数额（第七十二条）。"

    def build(self, session: Any) -> None:
        self.amount = yuan_edit(self.case.fine_fen, "实缴金额（元）")
        self.receipt_no = QLineEdit(placeholderText="银行缴款凭证（票据）编号")
        self.form.addRow("罚款", QLabel(yuan_short(self.case.fine_fen)))
        self.form.addRow("实缴金额 *", self.amount)
        self.form.addRow("缴款凭证号 *", self.receipt_no)
        self.fields |= {"amount": self.amount, "receipt_no": self.receipt_no}

    def call(self, session: Any, on: dt.date) -> CaseView:
        text = self.amount.text().strip()
        if not text:
            raise ValidationError("请填写实缴金额。", field="amount")
        return record_payment(
            session, self.actor, self.case.id, on, parse_yuan(text, "amount"), self.receipt_no.text()
        )


class ClosureDialog(_ApprovalDialog):
    kind = StepKind.CLOSURE
    date_label = "批准结案日期"
    default_opinion = "同意结案"
    hint = "结案审批：案卷评查有否决项时不能结案（在“案卷评查”页查看）。"

    def call(self, session: Any, on: dt.date) -> CaseView:
        return close_case(session, self.actor, self.case.id, on, self.opinion.text())


class ArchiveDialog(StepDialog):
    kind = StepKind.ARCHIVE
    date_label = "归档日期"
    hint = "案卷装订后移交档案室归档。"

    def call(self, session: Any, on: dt.date) -> CaseView:
        return archive_case(session, self.actor, self.case.id, on)


class RecordFilingDialog(StepDialog):
    kind = StepKind.RECORD_FILING
    date_label = "备案日期"
    hint = "当场处罚决定书报所属行政机关备案（《行政处罚法》第五十二条）；备案即结案。"

    def call(self, session: Any, on: dt.date) -> CaseView:
        return file_spot_record(session, self.actor, self.case.id, on)


#: The form of each step that is taken in the workspace (the on-the-spot decision opens a case,
#: so it has its own dialog where cases are created).
STEP_DIALOGS: dict[StepKind, type[StepDialog]] = {
    d.kind: d
    for d in (
        FilingDialog,
        InvestigationDialog,
        ConclusionDialog,
        LegalReviewDialog,
        PriorNoticeDialog,
        StatementDialog,
        HearingDialog,
        DiscussionDialog,
        DecisionDialog,
        ServiceDialog,
        PaymentDialog,
        ClosureDialog,
        ArchiveDialog,
        RecordFilingDialog,
    )
    if d.kind is not None
}


class NotApplicableDialog(QDialog):
    """记为不适用: an optional step passed over, with the reason the dossier will show."""

    def __init__(
        self, ctx: AppContext, actor: Actor, case: CaseView, step: StepKind, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.case, self.step = ctx, actor, case, step
        self.saved: CaseView | None = None
        self.setWindowTitle(f"“{step.label}”不适用 — {case.number}")
        self.on = date_edit(dt.date.today(), latest=dt.date.today())
        self.reason = text_edit(_NA_EXAMPLES.get(step, "写明该环节不适用于本案的理由"), 80)
        form = QFormLayout()
        form.addRow("案件", QLabel(f"{case.number}　{case.title}"))
        form.addRow("日期 *", self.on)
        form.addRow("理由 *", self.reason)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons(self, self.save, "记为不适用"))
        self.resize(520, self.sizeHint().height())

    def save(self) -> bool:
        try:
            with self.ctx.unit_of_work(self.actor, f"{self.step.label}不适用：{self.case.number}") as session:
                self.saved = mark_not_applicable(
                    session,
                    self.actor,
                    self.case.id,
                    self.step,
                    from_qdate(self.on.date()),
                    self.reason.toPlainText(),
                )
        except Exception as exc:
            self.reason.setFocus()
            show_error(self, exc, f"不能将“{self.step.label}”记为不适用")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, case: CaseView, step: StepKind, parent: QWidget | None = None
    ) -> CaseView | None:
        dialog = cls(ctx, actor, case, step, parent)
        return dialog.saved if dialog.exec() else None


_NA_EXAMPLES = {
    StepKind.LEGAL_REVIEW: "如：拟罚款未达法制审核起点，案件不属重大复杂案件。",
    StepKind.PRIOR_NOTICE: "如：违法事实不能成立，拟不予行政处罚。",
    StepKind.STATEMENT: "如：未事先告知，无陈述申辩。",
    StepKind.HEARING: "如：当事人未在法定期限内申请听证。",
    StepKind.COLLECTIVE_DISCUSSION: "如：案件事实清楚、情节简单，不属情节复杂或重大违法案件。",
    StepKind.SERVICE: "如：案件已移送公安机关。",
    StepKind.EXECUTION: "如：决定不予行政处罚，无需执行。",
}


__all__ = [
    "STEP_DIALOGS",
    "STEP_PERMISSIONS",
    "MemberChecklist",
    "NotApplicableDialog",
    "PenaltyFields",
    "StepDialog",
]
