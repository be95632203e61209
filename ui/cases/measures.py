"""The side measures of a case in its workspace (强制措施与执行): 先行登记保存 and its handling,
查封扣押 with its one extension and its release, 暂缓缴纳 and 分期缴纳 with each instalment paid,
the party's 行政复议 or 行政诉讼 and its result, 催告, 申请法院强制执行, and the hand-over of cash
collected on the spot.

They are not steps of the procedure: they happen beside it, when the case needs them. Each form
is a :class:`ui.cases.steps.StepDialog`; which measures a case may take now is read from its
steps by :func:`available`, so the menu offers only what makes sense (the services check again).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.cases import CaseStage, CaseView, Procedure, StepKind, StepView
from app.cases.measures import (
    AppealKind,
    AppealResult,
    Instalment,
    ItemLine,
    PreservationOutcome,
    SeizureMeasure,
    SeizureOutcome,
    apply_to_court,
    approve_instalments,
    extend_seizure,
    grant_deferral,
    hand_over_cash,
    handle_preservation,
    pay_instalment,
    preserve_evidence,
    record_appeal,
    record_appeal_result,
    release_seizure,
    seize,
    serve_reminder,
)
from app.cases.service import SERVICE_METHODS
from app.errors import ValidationError
from app.reference import parse_yuan, yuan_short
from ui.cases.steps import MemberChecklist, StepDialog, text_edit, yuan_edit
from ui.forms import date_edit, from_qdate
from ui.icons import icon

#: Stages during which evidence may be preserved or things seized: filed, not yet decided.
INVESTIGATING = frozenset(
    {
        CaseStage.FILED,
        CaseStage.INVESTIGATED,
        CaseStage.CONCLUDED,
        CaseStage.REVIEWED,
        CaseStage.NOTIFIED,
        CaseStage.STATED,
        CaseStage.HEARD,
        CaseStage.DISCUSSED,
    }
)
#: Stages in which nothing more is recorded (a closed case is reopened first).
FINISHED = frozenset({CaseStage.CLOSED, CaseStage.ARCHIVED})


def _steps(case: CaseView, kind: StepKind) -> list[StepView]:
    return [s for s in case.steps if s.kind is kind]


def open_measures(case: CaseView, kind: StepKind, ending: StepKind, key: str) -> list[StepView]:
    """Preservations (or seizures) of the case not yet handled (released)."""
    ended = {s.data.get(key) for s in _steps(case, ending)}
    return [s for s in _steps(case, kind) if s.id not in ended]


def open_instalments(case: CaseView) -> int:
    """How many approved instalments are still unpaid (0 when there is no plan)."""
    plans = _steps(case, StepKind.INSTALMENTS)
    if not plans:
        return 0
    plan = plans[-1]
    paid = [p for p in _steps(case, StepKind.INSTALMENT_PAYMENT) if p.data.get("instalments_id") == plan.id]
    return len(plan.data.get("schedule", [])) - len(paid)


def pending_appeal(case: CaseView) -> StepView | None:
    """The party's reconsideration or lawsuit still without a result, if any."""
    decided = {r.data.get("appeal_id") for r in _steps(case, StepKind.APPEAL_RESULT)}
    return next((a for a in _steps(case, StepKind.APPEAL) if a.id not in decided), None)


def revoked(case: CaseView) -> bool:
    """Whether a reconsideration decision or judgment revoked the case's decision (撤销)."""
    return any(
        r.data.get("result") == AppealResult.REVOKED.value for r in _steps(case, StepKind.APPEAL_RESULT)
    )


def appeal_text(step: StepView) -> str:
    """2026-04-20 申请行政复议（广州市天河区人民政府）"""
    return f"{step.performed_on:%Y-%m-%d} {AppealKind(step.data['appeal_kind']).act}（{step.data.get('body', '')}）"


def _item_text(step: StepView) -> str:
    items = step.data.get("items", [])
    names = "、".join(str(i.get("name", "")) for i in items[:2]) + ("等" if len(items) > 2 else "")
    return f"{step.performed_on:%Y-%m-%d} {names}"


class ItemTable(QWidget):
    """An inventory (物品清单): name, quantity, unit — rows added and removed by the clerk."""

    COLUMNS = ("名称", "数量", "单位")

    def __init__(self) -> None:
        super().__init__()
        self.table = QTableWidget(1, 3, objectName="items")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(150)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        add = QPushButton(icon("add"), "加一行")
        add.clicked.connect(self.add_row)
        remove = QPushButton(icon("delete"), "删除行")
        remove.clicked.connect(self.remove_row)
        buttons = QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.table, 1)
        row.addLayout(buttons)

    def add_row(self) -> None:
        self.table.insertRow(self.table.rowCount())

    def remove_row(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)

    def set_rows(self, rows: list[tuple[str, str, str]]) -> None:
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def lines(self) -> list[ItemLine]:
        out: list[ItemLine] = []
        for r in range(self.table.rowCount()):
            name, quantity, unit = (self._cell(r, c) for c in range(3))
            if not (name or quantity or unit):
                continue  # an empty row left over
            try:
                amount = Decimal(quantity)
            except InvalidOperation:
                raise ValidationError(
                    f"物品清单第 {r + 1} 行的数量“{quantity}”不是数字。", field="items"
                ) from None
            out.append(ItemLine(name, amount, unit))
        return out


def _measure_combo(steps: list[StepView]) -> QComboBox:
    combo = QComboBox(objectName="measure")
    for s in steps:
        combo.addItem(_item_text(s), s.id)
    return combo


def _chosen(combo: QComboBox, what: str) -> str:
    if combo.currentIndex() < 0:
        raise ValidationError(f"本案没有尚未处理的{what}。", field="measure")
    return str(combo.currentData())


class PreservationDialog(StepDialog):
    act = "先行登记保存"
    date_label = "保存日期"
    hint = "证据可能灭失或者以后难以取得时，经队长批准先行登记保存，7 个工作日内作出处理决定（《行政处罚法》第五十六条）。"

    def build(self, session: Any) -> None:
        self.officers = MemberChecklist(self.members(session))
        self.items = ItemTable()
        self.place = QLineEdit(placeholderText="就地保存或存放地点")
        self.reason = text_edit("理由，如：证据可能灭失或者以后难以取得", 60)
        self.form.addRow("执法人员 *", self.officers)
        self.form.addRow("物品清单 *", self.items)
        self.form.addRow("存放地点", self.place)
        self.form.addRow("理由 *", self.reason)
        self.fields |= {"officers": self.officers, "items": self.items, "reason": self.reason}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return preserve_evidence(
            session,
            self.actor,
            self.case.id,
            on,
            self.officers.chosen(),
            self.items.lines(),
            self.reason.toPlainText(),
            self.place.text(),
        )


class _EndMeasureDialog(StepDialog):
    """The decision that ends an open measure (a preservation handled, a seizure released): which
    measure, how it ends, a note."""

    opened: ClassVar[StepKind]  # the measure's own step
    ending: ClassVar[StepKind]
    key: ClassVar[str]  # the ending step's data key naming the measure
    what: ClassVar[str]
    outcome_label: ClassVar[str]
    outcomes: ClassVar[type[PreservationOutcome] | type[SeizureOutcome]]

    def build(self, session: Any) -> None:
        self.measure = _measure_combo(open_measures(self.case, self.opened, self.ending, self.key))
        self.outcome = QComboBox(objectName="outcome")
        for outcome in self.outcomes:
            self.outcome.addItem(outcome.label, outcome.value)
        self.note = text_edit("说明（选填）", 50)
        self.form.addRow(f"{self.what} *", self.measure)
        self.form.addRow(f"{self.outcome_label} *", self.outcome)
        self.form.addRow("说明", self.note)
        self.fields |= {"measure": self.measure, "outcome": self.outcome}

    def chosen_measure(self) -> str:
        return _chosen(self.measure, self.what)


class PreservationHandlingDialog(_EndMeasureDialog):
    act = "先行登记保存处理"
    date_label = "处理日期"
    hint = "先行登记保存的证据，应在 7 个工作日内作出处理决定；逾期未处理的，先行登记保存措施自动解除。"
    opened = StepKind.PRESERVATION
    ending = StepKind.PRESERVATION_HANDLING
    key = "preservation_id"
    what = "先行登记保存"
    outcome_label = "处理决定"
    outcomes = PreservationOutcome

    def call(self, session: Any, on: dt.date) -> CaseView:
        outcome = PreservationOutcome(self.outcome.currentData())
        return handle_preservation(
            session, self.actor, self.case.id, self.chosen_measure(), on, outcome, self.note.toPlainText()
        )


class SeizureDialog(StepDialog):
    act = "查封扣押"
    date_label = "实施日期"
    hint = "实施查封、扣押须经队长批准，由 2 名以上执法人员实施，当场交付决定书和清单；期限不超过 30 日（《行政强制法》第十八条、第二十四条、第二十五条）。"

    def build(self, session: Any) -> None:
        self.measure_kind = QComboBox(objectName="measure_kind")
        for measure in SeizureMeasure:
            self.measure_kind.addItem(measure.label, measure.value)
        self.measure_kind.setCurrentIndex(self.measure_kind.findData(SeizureMeasure.SEIZE.value))
        self.officers = MemberChecklist(self.members(session))
        self.items = ItemTable()
        self.place = QLineEdit(placeholderText="保管场所，如：街道执法队暂扣物品仓库")
        self.reason = text_edit("理由和依据", 60)
        self.form.addRow("措施 *", self.measure_kind)
        self.form.addRow("执法人员 *", self.officers)
        self.form.addRow("物品清单 *", self.items)
        self.form.addRow("保管场所 *", self.place)
        self.form.addRow("理由 *", self.reason)
        self.fields |= {
            "officers": self.officers,
            "items": self.items,
            "place_of_keeping": self.place,
            "reason": self.reason,
        }

    def call(self, session: Any, on: dt.date) -> CaseView:
        return seize(
            session,
            self.actor,
            self.case.id,
            on,
            self.officers.chosen(),
            self.items.lines(),
            self.place.text(),
            self.reason.toPlainText(),
            SeizureMeasure(self.measure_kind.currentData()),
        )


class SeizureExtensionDialog(StepDialog):
    act = "查封扣押延期"
    date_label = "批准日期"
    hint = "情况复杂的，经队长批准可以延长，延长期限不超过 30 日，只能延长一次（《行政强制法》第二十五条）。"

    def build(self, session: Any) -> None:
        self.measure = _measure_combo(
            open_measures(self.case, StepKind.SEIZURE, StepKind.SEIZURE_RELEASE, "seizure_id")
        )
        self.days = QSpinBox(minimum=1, maximum=30, value=30, suffix=" 日")
        self.reason = text_edit("延长理由", 50)
        self.form.addRow("查封扣押 *", self.measure)
        self.form.addRow("延长 *", self.days)
        self.form.addRow("理由 *", self.reason)
        self.fields |= {"measure": self.measure, "days": self.days, "reason": self.reason}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return extend_seizure(
            session,
            self.actor,
            self.case.id,
            _chosen(self.measure, "查封扣押"),
            on,
            self.days.value(),
            self.reason.toPlainText(),
        )


class SeizureReleaseDialog(_EndMeasureDialog):
    act = "解除或处理查封扣押"
    date_label = "决定日期"
    hint = "在查封扣押期限内作出处理决定：解除并退还财物，或依行政处罚决定没收，或依法销毁、移送（《行政强制法》第二十七条、第二十八条）。"
    opened = StepKind.SEIZURE
    ending = StepKind.SEIZURE_RELEASE
    key = "seizure_id"
    what = "查封扣押"
    outcome_label = "处理"
    outcomes = SeizureOutcome

    def call(self, session: Any, on: dt.date) -> CaseView:
        outcome = SeizureOutcome(self.outcome.currentData())
        return release_seizure(
            session, self.actor, self.case.id, self.chosen_measure(), on, outcome, self.note.toPlainText()
        )


class DeferralDialog(StepDialog):
    act = "暂缓缴纳罚款"
    date_label = "批准日期"
    hint = "当事人确有经济困难，经书面申请和队长批准，可以暂缓缴纳罚款（《行政处罚法》第六十六条）。"

    def build(self, session: Any) -> None:
        self.applied_on = date_edit(dt.date.today(), latest=dt.date.today())
        self.until = date_edit(dt.date.today() + dt.timedelta(days=30))
        self.reason = text_edit("当事人经济困难的情况及批准理由", 60)
        self.form.addRow("申请日期 *", self.applied_on)
        self.form.addRow("暂缓至 *", self.until)
        self.form.addRow("理由 *", self.reason)
        self.fields |= {"applied_on": self.applied_on, "until": self.until, "reason": self.reason}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return grant_deferral(
            session,
            self.actor,
            self.case.id,
            on,
            from_qdate(self.applied_on.date()),
            from_qdate(self.until.date()),
            self.reason.toPlainText(),
        )


class InstalmentsDialog(StepDialog):
    act = "分期缴纳罚款"
    date_label = "批准日期"
    hint = "分期缴纳：各期缴款日依次推后，各期金额合计须等于罚款数额；逾期的一期按其金额每日加处 3%（《行政处罚法》第六十六条、第七十二条）。"

    def build(self, session: Any) -> None:
        self.applied_on = date_edit(dt.date.today(), latest=dt.date.today())
        self.schedule = QTableWidget(2, 2, objectName="schedule")
        self.schedule.setHorizontalHeaderLabels(["缴款期限（年-月-日）", "金额（元）"])
        self.schedule.verticalHeader().setVisible(True)
        self.schedule.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.schedule.setMaximumHeight(150)
        add = QPushButton(icon("add"), "加一期")
        add.clicked.connect(self.add_row)
        row = QHBoxLayout()
        row.addWidget(self.schedule, 1)
        row.addWidget(add)
        self.reason = text_edit("当事人经济困难的情况及批准理由", 60)
        self.form.addRow("申请日期 *", self.applied_on)
        self.form.addRow(f"分期计划 *（罚款 {yuan_short(self.case.fine_fen)}）", row)
        self.form.addRow("理由 *", self.reason)
        self.fields |= {"applied_on": self.applied_on, "schedule": self.schedule, "reason": self.reason}

    def add_row(self) -> None:
        self.schedule.insertRow(self.schedule.rowCount())

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        self.schedule.setRowCount(len(rows))
        for r, (due, amount) in enumerate(rows):
            self.schedule.setItem(r, 0, QTableWidgetItem(due))
            self.schedule.setItem(r, 1, QTableWidgetItem(amount))

    def instalments(self) -> list[Instalment]:
        out: list[Instalment] = []
        for r in range(self.schedule.rowCount()):
            cells = [self.schedule.item(r, c) for c in range(2)]
            due, amount = (c.text().strip() if c is not None else "" for c in cells)
            if not (due or amount):
                continue
            try:
                day = dt.date.fromisoformat(due)
            except ValueError:
                raise ValidationError(
                    f"第 {r + 1} 期的缴款期限“{due}”不是日期，请按“2026-12-31”的格式填写。", field="schedule"
                ) from None
            out.append(Instalment(day, parse_yuan(amount, "schedule")))
        return out

    def call(self, session: Any, on: dt.date) -> CaseView:
        return approve_instalments(
            session,
            self.actor,
            self.case.id,
            on,
            from_qdate(self.applied_on.date()),
            self.instalments(),
            self.reason.toPlainText(),
        )


class InstalmentPaymentDialog(StepDialog):
    act = "分期缴款"
    date_label = "缴款日期"
    hint = "登记一期缴款；逾期缴纳的一期，按该期金额每日加处 3% 的罚款。"

    def build(self, session: Any) -> None:
        self.amount = yuan_edit(placeholder="本期实缴金额（元，含加处罚款）")
        self.receipt_no = QLineEdit(placeholderText="银行缴款凭证（票据）编号")
        self.form.addRow("实缴金额 *", self.amount)
        self.form.addRow("缴款凭证号 *", self.receipt_no)
        self.fields |= {"amount": self.amount, "receipt_no": self.receipt_no}

    def call(self, session: Any, on: dt.date) -> CaseView:
        text = self.amount.text().strip()
        if not text:
            raise ValidationError("请填写本期实缴金额。", field="amount")
        return pay_instalment(
            session, self.actor, self.case.id, on, parse_yuan(text, "amount"), self.receipt_no.text()
        )


class AppealDialog(StepDialog):
    act = "当事人申请复议或起诉"
    date_label = "申请（起诉）日期"
    hint = (
        "当事人可在收到处罚决定书之日起 60 日内申请行政复议，6 个月内提起行政诉讼（《行政复议法》第二十条、"
        "《行政诉讼法》第四十六条）；复议、诉讼期间决定不停止执行，但不计算加处罚款，也不能催告或申请人民法院"
        "强制执行（《行政处罚法》第七十三条、《行政强制法》第五十三条）。"
    )

    def build(self, session: Any) -> None:
        self.appeal_kind = QComboBox(objectName="appeal_kind")
        for kind in AppealKind:
            self.appeal_kind.addItem(kind.label, kind.value)
        self.body = QLineEdit(placeholderText="复议机关或人民法院，如：广州市天河区人民政府")
        self.reference = QLineEdit(placeholderText="复议或诉讼案号（选填）")
        self.form.addRow("方式 *", self.appeal_kind)
        self.form.addRow("受理机关 *", self.body)
        self.form.addRow("案号", self.reference)
        self.fields |= {"appeal_kind": self.appeal_kind, "body": self.body}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return record_appeal(
            session,
            self.actor,
            self.case.id,
            on,
            AppealKind(self.appeal_kind.currentData()),
            self.body.text(),
            self.reference.text(),
        )


class AppealResultDialog(StepDialog):
    act = "复议决定或判决"
    date_label = "送达当事人日期"
    hint = (
        "登记复议决定或生效判决，或者当事人撤回申请。决定被撤销的，罚款不再收缴，请将“执行”记为不适用后结案；"
        "决定被变更的，请在说明中写明变更后的处罚内容。"
    )

    def build(self, session: Any) -> None:
        appeal = pending_appeal(self.case)
        self.form.addRow("复议或诉讼", QLabel(appeal_text(appeal) if appeal is not None else "（无）"))
        self.result = QComboBox(objectName="result")
        for result in AppealResult:
            self.result.addItem(result.label, result.value)
        self.note = text_edit("说明，如：维持原处罚决定；变更后的罚款数额", 50)
        self.form.addRow("结果 *", self.result)
        self.form.addRow("说明", self.note)
        self.fields |= {"result": self.result, "note": self.note}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return record_appeal_result(
            session,
            self.actor,
            self.case.id,
            on,
            AppealResult(self.result.currentData()),
            self.note.toPlainText(),
        )


class ReminderDialog(StepDialog):
    act = "催告"
    date_label = "催告书送达日期"
    hint = "当事人逾期不缴纳罚款的，申请法院强制执行前应书面催告；催告书送达 10 日后仍未履行的，可以申请强制执行（《行政强制法》第五十四条）。"

    def build(self, session: Any) -> None:
        self.method = QComboBox(objectName="method")
        self.method.addItems(list(SERVICE_METHODS))
        self.received_by = QLineEdit(placeholderText="签收人")
        self.form.addRow("送达方式 *", self.method)
        self.form.addRow("签收人", self.received_by)
        self.fields |= {"method": self.method, "received_by": self.received_by}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return serve_reminder(
            session, self.actor, self.case.id, on, self.method.currentText(), self.received_by.text()
        )


class CourtApplicationDialog(StepDialog):
    act = "申请法院强制执行"
    date_label = "申请日期"
    hint = "催告书送达 10 日后仍未履行，且复议、诉讼期限届满之日起 3 个月内，申请人民法院强制执行（《行政强制法》第五十三条、第五十四条）。"

    def build(self, session: Any) -> None:
        self.court = QLineEdit(placeholderText="如：广州市天河区人民法院")
        self.form.addRow("受理法院 *", self.court)
        self.fields |= {"court": self.court}

    def call(self, session: Any, on: dt.date) -> CaseView:
        return apply_to_court(session, self.actor, self.case.id, on, self.court.text())


class CashHandoverDialog(StepDialog):
    act = "当场收缴罚款交纳"
    date_label = "交纳日期"
    hint = "当场收缴的罚款，应自收缴之日起 2 日内交至行政机关，再由行政机关 2 日内缴付指定银行（《行政处罚法》第七十一条）。"

    def build(self, session: Any) -> None:
        self.receipt_no = QLineEdit(placeholderText="交款凭证编号")
        self.form.addRow("罚款", QLabel(yuan_short(self.case.fine_fen)))
        self.form.addRow("交款凭证号 *", self.receipt_no)
        self.fields["receipt_no"] = self.receipt_no

    def call(self, session: Any, on: dt.date) -> CaseView:
        return hand_over_cash(session, self.actor, self.case.id, on, self.receipt_no.text())


def available(case: CaseView, actor: Actor) -> dict[type[StepDialog], bool]:
    """Each measure's form, and whether the case and the actor allow it now."""
    leader = actor.can(Permission.APPROVE_CASES)
    handler = actor.can(Permission.HANDLE_CASES)
    ordinary = case.procedure is Procedure.ORDINARY
    investigating = ordinary and case.stage in INVESTIGATING
    preserved = open_measures(case, StepKind.PRESERVATION, StepKind.PRESERVATION_HANDLING, "preservation_id")
    seized = open_measures(case, StepKind.SEIZURE, StepKind.SEIZURE_RELEASE, "seizure_id")
    # A decision revoked on appeal leaves no fine to collect.
    fined = ordinary and case.stage is CaseStage.SERVED and case.fine_fen > 0 and not revoked(case)
    arranged = bool(_steps(case, StepKind.DEFERRAL) or _steps(case, StepKind.INSTALMENTS))
    reminded = bool(_steps(case, StepKind.REMINDER))
    spot = next((s for s in case.steps if s.kind is StepKind.SPOT_DECISION), None)
    cash_due = (
        spot is not None
        and bool(spot.data.get("collected_on_spot"))
        and not _steps(case, StepKind.CASH_HANDOVER)
    )
    # The party may appeal against any decision served on it (on the spot in a summary case),
    # one appeal at a time; the service checks the periods.
    served = (case.served_on is not None or spot is not None) and case.stage not in FINISHED
    pending = pending_appeal(case) is not None
    return {
        PreservationDialog: leader and investigating,
        PreservationHandlingDialog: leader and bool(preserved),
        SeizureDialog: leader and investigating,
        SeizureExtensionDialog: leader and bool(seized),
        SeizureReleaseDialog: leader and bool(seized),
        DeferralDialog: leader and fined and not arranged,
        InstalmentsDialog: leader and fined and not arranged,
        InstalmentPaymentDialog: handler and fined and open_instalments(case) > 0,
        AppealDialog: handler and served and not pending and not revoked(case),
        AppealResultDialog: handler and pending and case.stage not in FINISHED,
        ReminderDialog: handler and fined and not reminded,
        CourtApplicationDialog: leader and fined and reminded,
        CashHandoverDialog: handler and cash_due,
    }


#: The measures menu, in the order of the procedure; None draws a separator.
MENU: tuple[type[StepDialog] | None, ...] = (
    PreservationDialog,
    PreservationHandlingDialog,
    None,
    SeizureDialog,
    SeizureExtensionDialog,
    SeizureReleaseDialog,
    None,
    DeferralDialog,
    InstalmentsDialog,
    InstalmentPaymentDialog,
    None,
    AppealDialog,
    AppealResultDialog,
    None,
    ReminderDialog,
    CourtApplicationDialog,
    None,
    CashHandoverDialog,
)

__all__ = [
    "MENU",
    "ItemTable",
    "appeal_text",
    "available",
    "open_instalments",
    "open_measures",
    "pending_appeal",
    "revoked",
]
