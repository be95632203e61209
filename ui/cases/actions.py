"""The leader's acts on a case outside the order of steps: 中止办案 and 恢复办理 (the clocks stop
and restart), 延长期限 (an approved extension of one clock), and 重新办理 (reopen a closed case).

Each is a :class:`ui.cases.steps.StepDialog` with its own fields, so it reads and behaves like
the step forms: one service call in one unit of work, the refusal shown with the field focused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox

from app.cases import CaseView, get_case, reopen_case
from app.cases.clocks import PERIODS, ClockKind
from app.cases.timing import extend_case_period, pause_case, resume_case
from ui.cases.steps import StepDialog, text_edit

#: The clocks a leader may extend here: the decision period (APL 60), the seizure period (ACL 25),
#: the payment period on the party's application (暂缓缴纳, APL 66). Which of them the case has
#: running is known from its clocks; the service refuses an extension beyond what the law allows.
EXTENDABLE = (ClockKind.DECISION, ClockKind.SEIZURE, ClockKind.PAYMENT)


class PauseDialog(StepDialog):
    act = "中止办案"
    date_label = "中止日期"
    hint = "中止期间案件的办理期限停止计算（如当事人下落不明、需等待鉴定结论），须经队长批准。"

    def build(self, session: Any) -> None:
        self.reason = text_edit("中止理由，如：当事人下落不明", 70)
        self.form.addRow("理由 *", self.reason)
        self.fields |= {"start": self.on, "reason": self.reason}

    def call(self, session: Any, on: dt.date) -> CaseView:
        pause_case(session, self.actor, self.case.id, on, self.reason.toPlainText())
        return get_case(session, self.actor, self.case.id)


class ResumeDialog(StepDialog):
    act = "恢复办理"
    date_label = "中止最后一日"
    hint = "中止的情形消除后恢复办理；中止期间（含最后一日）不计入办案期限。"

    def build(self, session: Any) -> None:
        self.fields["end"] = self.on

    def call(self, session: Any, on: dt.date) -> CaseView:
        resume_case(session, self.actor, self.case.id, on)
        return get_case(session, self.actor, self.case.id)


class ExtendDialog(StepDialog):
    act = "延长期限"
    dated = False
    hint = "经批准延长办案期限（《行政处罚法》第六十条）、查封扣押期限（《行政强制法》第二十五条）或暂缓缴纳罚款（第六十六条）。"

    def build(self, session: Any) -> None:
        self.clock = QComboBox(objectName="clock")
        for kind in EXTENDABLE:
            period = PERIODS[kind]
            self.clock.addItem(f"{period.name}（{period.basis}）", kind.value)
        self.days = QSpinBox(minimum=1, maximum=365, value=30, suffix=" 日")
        self.reason = text_edit("延长理由", 70)
        self.form.addRow("期限 *", self.clock)
        self.form.addRow("延长 *", self.days)
        self.form.addRow("理由 *", self.reason)
        self.form.addRow("", QLabel("延长天数按该期限的计算单位（日或工作日）计。"))
        self.fields |= {"clock": self.clock, "days": self.days, "reason": self.reason}

    def call(self, session: Any, on: dt.date) -> CaseView:
        kind = ClockKind(self.clock.currentData())
        extend_case_period(
            session, self.actor, self.case.id, kind, self.days.value(), self.reason.toPlainText()
        )
        return get_case(session, self.actor, self.case.id)


class ReopenDialog(StepDialog):
    act = "重新办理"
    date_label = "批准日期"
    hint = (
        "已结案（或归档）的案件经队长批准重新办理：结案审批记为已撤销并保留在案卷中，案件回到结案前的环节。"
    )

    def build(self, session: Any) -> None:
        self.reason = text_edit("重新办理的理由，如：发现新证据", 70)
        self.form.addRow("理由 *", self.reason)
        self.fields["reason"] = self.reason

    def call(self, session: Any, on: dt.date) -> CaseView:
        return reopen_case(session, self.actor, self.case.id, on, self.reason.toPlainText())


__all__ = ["EXTENDABLE", "ExtendDialog", "PauseDialog", "ReopenDialog", "ResumeDialog"]
