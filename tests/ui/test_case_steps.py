"""One ordinary case driven through the GUI from its lead to closure (issue 3): the lead page's
立案 with a new party, then every step from the workspace's action bar — each form filled in
and saved as a clerk, the leader or the legal reviewer would — with refusals shown and the form
kept, optional steps recorded as not applicable, the clocks and the pre-check in their tabs.

Only the modal ``exec`` of the dialogs is replaced: by a function that fills the real widgets
and presses the real save, exactly what the user's clicks would do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.cases import CaseStage, get_case
from app.cases.query import CaseQuery, search_cases
from app.context import AppContext
from app.demo import fill_demo
from app.leads import LeadInput, LeadStatus, get_lead, register_lead
from app.personnel.enforce import can_enforce
from app.personnel.idcard import check_digit
from app.reference import tiers_for
from db.models import Member
from db.models.leads import LeadSource
from ui.cases import actions, opening, steps
from ui.cases.page import CasesPage
from ui.cases.workspace import CaseWorkspace
from ui.forms import to_qdate
from ui.leads.page import LeadsPage

TODAY = dt.date.today()
#: The case runs over a fortnight that ended before today: acts are never recorded in the future.
T0 = TODAY - dt.timedelta(days=40)


def day(n: int) -> dt.date:
    return T0 + dt.timedelta(days=n)


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    from ui.fonts import install_fonts

    install_fonts(qapp)


@pytest.fixture
def demo(bare_ctx: AppContext) -> AppContext:
    fill_demo(bare_ctx)
    return bare_ctx


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    return shown


class Driver:
    """Stands in for the user at the modal dialogs: ``fill`` is applied to the next dialog shown."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fill: Callable[[Any], None] | None = None
        self.shown: list[QDialog] = []
        for cls in (steps.StepDialog, steps.NotApplicableDialog, opening.OpenCaseDialog):
            # A plain function, so that the dialog binds as its first argument.
            monkeypatch.setattr(cls, "exec", lambda dialog: self._exec(dialog))

    def _exec(self, dialog: Any) -> bool:
        assert self.fill is not None, f"unexpected dialog {type(dialog).__name__}"
        self.shown.append(dialog)
        fill, self.fill = self.fill, None
        fill(dialog)
        return bool(dialog.save())


def set_day(edit: Any, n: int) -> None:
    edit.setDate(to_qdate(day(n)))


def new_id_number() -> str:
    first17 = "44010619850315271"
    return first17 + check_digit(first17)


def certified(ctx: AppContext, on: dt.date) -> list[str]:
    with ctx.read() as s:
        members = s.query(Member).filter(Member.deleted.is_(False)).order_by(Member.name).all()
        return [m.name for m in members if can_enforce(s, m, on)]


def tick(checklist: steps.MemberChecklist, names: list[str]) -> None:
    for item in checklist.rows():
        wanted = any(item.text().split("（")[0] == n for n in names)
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)


def test_an_ordinary_case_from_lead_to_closure_through_the_gui(
    qtbot: Any, demo: AppContext, monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    clerk = authenticate(demo, "neiqin", "squad2026")
    leader = authenticate(demo, "duizhang", "squad2026")
    legal = authenticate(demo, "fazhi", "squad2026")
    driver = Driver(monkeypatch)
    with demo.unit_of_work(clerk, "登记案源") as s:
        lead = register_lead(
            s,
            clerk,
            LeadInput(
                LeadSource.PATROL,
                "车陂路 45 号门前",
                "当事人在车陂路 45 号门前占道堆放建材约 12 平方米，影响行人通行。",
                received_at=dt.datetime.combine(day(0), dt.time(9, 30)),
            ),
        )

    # --- 立案 from the lead page, registering the party with the case --------------------------
    leads = LeadsPage(demo, clerk)
    qtbot.addWidget(leads)
    leads.refresh()
    leads.select(lead.id)
    assert leads.open_button.isEnabled() and leads.spot_button.isEnabled()
    opened: list[str] = []
    leads.sig_case_opened.connect(opened.append)

    def open_case(d: opening.OpenCaseDialog) -> None:
        d.item.setCurrentIndex(d.item.findData("SZ-001"))
        assert d.title.text() == "擅自占用城市道路"  # suggested from the item
        d.title.setText("擅自占用城市道路堆放物料")
        d.parties.setCurrentIndex(1)
        d.parties.name.setText("周建华")
        d.parties.identity.setText(new_id_number())
        d.parties.address.setText("广州市天河区车陂路 45 号")
        d.opened_on.setDate(to_qdate(day(0)))

    driver.fill = open_case
    leads.open_button.click()
    assert errors == [] and len(opened) == 1
    case_id = opened[0]
    with demo.read() as s:
        assert get_lead(s, clerk, lead.id).status is LeadStatus.FILED
        assert get_case(s, clerk, case_id).stage is CaseStage.OPENED
    assert not leads.open_button.isEnabled()  # the lead is no longer awaiting triage

    def workspace(actor: Actor) -> CaseWorkspace:
        w = CaseWorkspace(demo, actor, case_id)
        qtbot.addWidget(w)
        return w

    def take(actor: Actor, label: str, fill: Callable[[Any], None]) -> CaseWorkspace:
        w = workspace(actor)
        assert w.next_button.text() == f"办理“{label}”…", w.next_label.text()
        assert w.next_button.isEnabled(), w.next_button.toolTip()
        changed: list[str] = []
        w.sig_changed.connect(changed.append)
        driver.fill = fill
        w.next_button.click()
        assert errors == [], errors
        assert changed == [case_id]
        return w

    def skip(actor: Actor, label: str, reason: str, n: int) -> CaseWorkspace:
        w = workspace(actor)
        assert w.next_label.text() == f"下一步：{label}" and w.skip_button.isVisible() is not None
        assert w.skip_button.isEnabled()

        def fill(d: steps.NotApplicableDialog) -> None:
            set_day(d.on, n)
            d.reason.setPlainText(reason)

        driver.fill = fill
        w.skip_button.click()
        return w

    # The clerk may not approve the filing: the button says which permission it needs.
    w = workspace(clerk)
    assert not w.next_button.isEnabled() and "审批案件" in w.next_button.toolTip()

    def filing(d: steps.FilingDialog) -> None:
        set_day(d.on, 0)

    w = take(leader, "立案", filing)
    assert w.case.stage is CaseStage.FILED and "调查取证中" in w.header.text()
    assert w.clock_table.rowCount() >= 1 and w.clock_table.item(0, 0).text() == "案件办理期限"

    # --- 调查取证: one officer is refused (APL 42), two certified officers are accepted ------------
    officers = certified(demo, day(1))[:2]
    assert len(officers) == 2

    def investigation_alone(d: steps.InvestigationDialog) -> None:
        set_day(d.on, 1)
        tick(d.officers, officers[:1])
        d.record_boxes[0].setChecked(True)

    w = workspace(clerk)
    driver.fill = investigation_alone
    w.next_button.click()
    assert len(errors) == 1 and "至少" in errors[0] and "2" in errors[0]
    assert w.case.stage is CaseStage.FILED  # nothing was written
    errors.clear()

    def investigation(d: steps.InvestigationDialog) -> None:
        set_day(d.on, 1)
        tick(d.officers, officers)
        d.record_boxes[0].setChecked(True)  # 现场检查笔录
        d.record_boxes[2].setChecked(True)  # 询问笔录
        d.other_records.setText("现场照片 6 张")
        d.note.setPlainText("现场查明占道面积约 12 平方米。")

    w = take(clerk, "调查取证", investigation)
    step = w.case.steps[-1]
    assert (
        step.data["records"] == ["现场检查笔录", "询问笔录", "现场照片 6 张"] and len(step.officer_ids) == 2
    )
    assert officers[0] in w.timeline.item(1, 4).text()

    def conclusion(d: steps.ConclusionDialog) -> None:
        set_day(d.on, 5)
        p = d.penalty
        assert p.outcome.currentData() is not None
        p.tier.setCurrentIndex(p.tier.findData("一般"))
        assert "2,000" in p.range_hint.text() and "10,000" in p.range_hint.text()
        for box in p.type_boxes.values():
            box.setChecked(True)
        p.fine.setText("6000")
        p.reasons.setPlainText("占道面积 12 平方米，影响通行，适用一般阶次。")

    w = take(leader, "调查终结", conclusion)
    assert w.case.fine_fen == 600_000

    # 6,000 yuan reaches the legal-review threshold: "not applicable" is refused, naming why.
    w = skip(clerk, "法制审核", "无需审核", 6)
    assert len(errors) == 1 and "法制审核" in errors[0] and "5,000" in errors[0]
    errors.clear()

    def review(d: steps.LegalReviewDialog) -> None:
        set_day(d.on, 6)
        d.opinion.setPlainText("事实清楚，证据确凿，适用依据正确，程序合法，裁量适当，同意。")

    take(legal, "法制审核", review)

    def notice(d: steps.PriorNoticeDialog) -> None:
        set_day(d.on, 7)
        set_day(d.received_on, 7)

    take(clerk, "事先告知", notice)

    def statement(d: steps.StatementDialog) -> None:
        set_day(d.on, 8)
        d.statement.setPlainText("当事人称系临时堆放，已于当日清理。")
        d.review.setPlainText("经复核，当事人所述不影响违法事实的认定，维持拟处罚意见。")

    w = take(clerk, "陈述申辩", statement)
    assert w.case.stage is CaseStage.STATED

    skip(clerk, "听证", "拟罚款未达听证标准，当事人不享有听证权利。", 8)
    assert errors == []
    skip(clerk, "集体讨论", "案件事实清楚、情节简单，不属情节复杂或重大违法案件。", 8)
    assert errors == []

    def decision(d: steps.DecisionDialog) -> None:
        set_day(d.on, 9)
        p = d.penalty
        # The form starts from the proposal approved at the conclusion of the investigation.
        assert p.tier.currentData() == "一般" and p.fine.text() == "6000"
        p.reasons.setPlainText("当事人擅自占用城市道路堆放物料，依法处罚。")

    w = take(leader, "作出决定", decision)
    assert w.case.outcome is not None and w.case.decided_on == day(9)

    def service(d: steps.ServiceDialog) -> None:
        set_day(d.on, 10)
        d.method.setCurrentText("直接送达")
        d.received_by.setText("周建华")

    w = take(clerk, "送达", service)
    names = [w.clock_table.item(r, 0).text() for r in range(w.clock_table.rowCount())]
    assert "罚款缴纳期限" in names

    def wrong_payment(d: steps.PaymentDialog) -> None:
        set_day(d.on, 12)
        d.amount.setText("5000")
        d.receipt_no.setText("GZ-2026-004512")

    w = workspace(clerk)
    driver.fill = wrong_payment
    w.next_button.click()
    assert len(errors) == 1 and "6,000" in errors[0]
    errors.clear()

    def payment(d: steps.PaymentDialog) -> None:
        set_day(d.on, 12)
        assert d.amount.text() == "6000"  # the fine, as the form suggests it
        d.receipt_no.setText("GZ-2026-004512")

    take(clerk, "执行", payment)

    def closure(d: steps.ClosureDialog) -> None:
        set_day(d.on, 13)

    w = take(leader, "结案", closure)
    assert w.case.stage is CaseStage.CLOSED and w.case.closed_on == day(13)
    assert [s.kind.label for s in w.case.steps] == [
        "立案",
        "调查取证",
        "调查终结",
        "法制审核",
        "事先告知",
        "陈述申辩",
        "听证",
        "集体讨论",
        "作出决定",
        "送达",
        "执行",
        "结案",
    ]
    assert w.timeline.rowCount() == 12 and w.timeline.item(6, 2).text() == "不适用"
    assert not any(f.severity.value == "veto" for f in w.findings)
    # After closure only archiving is left; the leader may reopen, nobody may pause any more.
    assert w.next_button.text() == "办理“归档”…"
    assert w.reopen_action.isEnabled() and not w.pause_action.isEnabled()

    # The case list knows the case by the new party's name.
    page = CasesPage(demo, clerk)
    qtbot.addWidget(page)
    page.search.setText("周建华")
    page.refresh()
    assert page.model.rowCount() == 1 and page.model.index(0, 4).data() == "已结案"
    with demo.read() as s:
        assert [r.id for r in search_cases(s, clerk, CaseQuery(text="ZJH"))] == [case_id]
    assert all(
        isinstance(d, (steps.StepDialog, steps.NotApplicableDialog, opening.OpenCaseDialog))
        for d in driver.shown
    )


def test_leader_pauses_and_resumes_a_case_and_the_clock_moves(
    qtbot: Any, demo: AppContext, monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    leader = authenticate(demo, "duizhang", "squad2026")
    with demo.read() as s:
        case = search_cases(s, leader, CaseQuery(stage=CaseStage.FILED))[0]
    w = CaseWorkspace(demo, leader, case.id)
    qtbot.addWidget(w)
    decision = next(c for c in w.clocks if c.name == "案件办理期限")
    assert w.pause_action.isEnabled() and not w.reopen_action.isEnabled()
    driver = Driver(monkeypatch)
    start = max(case.opened_on, TODAY - dt.timedelta(days=3))

    def pause(d: actions.PauseDialog) -> None:
        d.on.setDate(to_qdate(start))
        d.reason.setPlainText("当事人下落不明")

    driver.fill = pause
    w.pause()
    assert errors == []
    paused = next(c for c in w.clocks if c.name == "案件办理期限")
    assert paused.paused and "中止中" in w.clock_table.item(w.clocks.index(paused), 3).text()

    def resume(d: actions.ResumeDialog) -> None:
        d.on.setDate(to_qdate(TODAY))

    driver.fill = resume
    w.resume()
    assert errors == []
    resumed = next(c for c in w.clocks if c.name == "案件办理期限")
    paused_days = (TODAY - start).days + 1
    # The due day moves by the paused days (then, as always, off a rest day).
    assert not resumed.paused and f"中止 {paused_days} 日" in resumed.explanation
    assert (
        decision.due + dt.timedelta(days=paused_days - 3)
        <= resumed.due
        <= decision.due + dt.timedelta(days=paused_days + 3)
    )

    def extend_without_reason(d: actions.ExtendDialog) -> None:
        d.days.setValue(30)

    driver.fill = extend_without_reason
    w.extend()
    assert len(errors) == 1 and "理由" in errors[0]


def test_a_summary_case_on_the_spot_then_filed(
    qtbot: Any, demo: AppContext, monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    """当场处罚 from the case list: over the summary limit is refused naming it; a 100-yuan fine by
    two certified officers opens a summary case whose one remaining step, 备案, closes it."""
    clerk = authenticate(demo, "neiqin", "squad2026")
    with demo.read() as s:
        tier = next(
            t for t in tiers_for(s, "SR-001") if t.person_fine.is_set and t.person_fine.contains(10_000)
        )
    officers = certified(demo, TODAY)[:2]
    page = CasesPage(demo, clerk)
    qtbot.addWidget(page)
    page.refresh()
    before = page.model.total

    def fill(d: opening.SpotDecisionDialog, fine: str) -> None:
        d.item.setCurrentIndex(d.item.findData("SR-001"))
        d.parties.search.setText("陈国栋")
        d.parties.find()
        d.parties.results.setCurrentRow(0)
        assert "已有 2 件案件" in d.parties.history.text()  # a repeat party shows its record
        tick(d.officers, officers)
        d.fine_box.setChecked(True)
        d.tier.setCurrentIndex(d.tier.findData(tier.name))
        d.fine.setText(fine)

    monkeypatch.setattr(
        opening.SpotDecisionDialog, "exec", lambda dialog: (fill(dialog, "300"), dialog.save())[1]
    )
    page.spot_button.click()
    assert len(errors) == 1 and "200" in errors[0] and "普通程序" in errors[0]
    errors.clear()
    assert page.model.total == before

    monkeypatch.setattr(
        opening.SpotDecisionDialog, "exec", lambda dialog: (fill(dialog, "100"), dialog.save())[1]
    )
    page.spot_button.click()
    assert errors == []
    assert page.model.total == before + 1
    w = page.workspace
    assert w is not None and w.case.stage is CaseStage.SPOT_DECIDED and w.case.fine_fen == 10_000
    assert w.next_button.text() == "办理“备案”…"

    driver = Driver(monkeypatch)
    driver.fill = lambda d: None  # filed today
    w.next_button.click()
    assert errors == [] and w.case.stage is CaseStage.CLOSED
