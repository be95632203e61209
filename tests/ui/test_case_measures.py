"""The workspace's 强制措施与执行 menu driven offscreen on the demo squad: a preservation and its
handling, a seizure extended once and released, instalments refused when they do not add up and
approved when they do, one instalment paid, the party's reconsideration holding the reminder back
until its result is recorded — each through its real form, refusals shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from case_builders import decide_case, make_crew, open_and_file, serve_case
from PySide6.QtWidgets import QApplication, QMessageBox

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.cases import CaseStage, StepKind, get_case
from app.cases.query import CaseQuery, search_cases
from app.context import AppContext
from app.demo import fill_demo
from app.personnel.enforce import can_enforce
from db.models import Member
from ui.cases import measures, steps
from ui.cases.workspace import CaseWorkspace

TODAY = dt.date.today()


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


def use(monkeypatch: pytest.MonkeyPatch, fill: Any) -> None:
    """The next measure form is filled by ``fill`` and saved, as the user's clicks would."""
    monkeypatch.setattr(steps.StepDialog, "exec", lambda dialog: (fill(dialog), dialog.save())[1])


def choose(w: CaseWorkspace, form: type[steps.StepDialog]) -> None:
    action = w.measure_actions[form]
    assert action.isEnabled(), form.act
    action.trigger()


def certified_names(ctx: AppContext, on: dt.date) -> list[str]:
    with ctx.read() as s:
        members = s.query(Member).filter(Member.deleted.is_(False)).order_by(Member.name).all()
        return [m.name for m in members if can_enforce(s, m, on)][:2]


def tick(checklist: steps.MemberChecklist, names: list[str]) -> None:
    from PySide6.QtCore import Qt

    for item in checklist.rows():
        wanted = item.text().split("（")[0] in names
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)


def case_at(ctx: AppContext, actor: Actor, stage: CaseStage, form: type[steps.StepDialog]) -> str:
    """A demo case at ``stage`` on which ``form`` may be taken."""
    with ctx.read() as s:
        for row in search_cases(s, actor, CaseQuery(stage=stage)):
            if measures.available(get_case(s, actor, row.id), actor)[form]:
                return row.id
    raise AssertionError(f"no demo case at {stage} allows {form.act}")


def test_preservation_and_seizure_from_the_measures_menu(
    qtbot: Any, demo: AppContext, monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    leader = authenticate(demo, "duizhang", "squad2026")
    clerk = authenticate(demo, "neiqin", "squad2026")
    case_id = case_at(demo, leader, CaseStage.FILED, measures.PreservationDialog)
    officers = certified_names(demo, TODAY)

    # A clerk sees the menu but may take none of the leader's measures.
    w = CaseWorkspace(demo, clerk, case_id)
    qtbot.addWidget(w)
    assert not w.measure_actions[measures.PreservationDialog].isEnabled()

    w = CaseWorkspace(demo, leader, case_id)
    qtbot.addWidget(w)
    assert not w.measure_actions[measures.InstalmentsDialog].isEnabled()  # nothing decided yet

    def bad_quantity(d: measures.PreservationDialog) -> None:
        tick(d.officers, officers)
        d.items.set_rows([("钢管", "二十", "根")])
        d.reason.setPlainText("证据可能灭失")

    use(monkeypatch, bad_quantity)
    choose(w, measures.PreservationDialog)
    assert len(errors) == 1 and "不是数字" in errors[0]
    errors.clear()

    def preserve(d: measures.PreservationDialog) -> None:
        tick(d.officers, officers)
        d.items.set_rows([("钢管", "20", "根"), ("扣件", "50", "个")])
        d.place.setText("现场就地保存")
        d.reason.setPlainText("证据可能灭失或者以后难以取得")

    use(monkeypatch, preserve)
    choose(w, measures.PreservationDialog)
    assert errors == []
    preservation = [s for s in w.case.steps if s.kind is StepKind.PRESERVATION][-1]
    assert [i["name"] for i in preservation.data["items"]] == ["钢管", "扣件"]
    assert "钢管 20 根" in w.timeline.item(w.timeline.rowCount() - 1, 6).text()
    assert any(c.name == "先行登记保存处理期限" for c in w.clocks)

    def handle(d: measures.PreservationHandlingDialog) -> None:
        assert d.measure.count() >= 1
        d.measure.setCurrentIndex(d.measure.findData(preservation.id))
        d.outcome.setCurrentIndex(0)  # 退还当事人

    use(monkeypatch, handle)
    choose(w, measures.PreservationHandlingDialog)
    assert errors == []
    assert "退还当事人" in w.timeline.item(w.timeline.rowCount() - 1, 6).text()

    def seize(d: measures.SeizureDialog) -> None:
        tick(d.officers, officers)
        d.items.set_rows([("三轮车", "1", "辆")])
        d.place.setText("街道执法队暂扣物品仓库")
        d.reason.setPlainText("当事人拒不改正，依法扣押经营工具")

    use(monkeypatch, seize)
    choose(w, measures.SeizureDialog)
    assert errors == []
    assert w.measure_actions[measures.SeizureExtensionDialog].isEnabled()

    def extend(d: measures.SeizureExtensionDialog) -> None:
        d.days.setValue(15)
        d.reason.setPlainText("案情复杂，需进一步调查")

    use(monkeypatch, extend)
    choose(w, measures.SeizureExtensionDialog)
    assert errors == []
    use(monkeypatch, extend)
    choose(w, measures.SeizureExtensionDialog)  # a second extension: refused, naming the first
    assert len(errors) == 1 and "只能延长一次" in errors[0]
    errors.clear()

    def release(d: measures.SeizureReleaseDialog) -> None:
        d.outcome.setCurrentIndex(0)  # 解除，退还财物

    def in_force() -> int:
        return len(measures.open_measures(w.case, StepKind.SEIZURE, StepKind.SEIZURE_RELEASE, "seizure_id"))

    before = in_force()
    use(monkeypatch, release)
    choose(w, measures.SeizureReleaseDialog)
    assert errors == [] and in_force() == before - 1
    assert "解除查封扣押" in w.timeline.item(w.timeline.rowCount() - 1, 6).text()


def test_instalments_are_approved_and_paid_from_the_menu(
    qtbot: Any, ctx: AppContext, admin: Actor, monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    crew = make_crew(ctx, admin)
    case_id = open_and_file(crew, TODAY - dt.timedelta(days=20), TODAY - dt.timedelta(days=19))
    decide_case(crew, case_id, TODAY - dt.timedelta(days=10))
    serve_case(crew, case_id, TODAY - dt.timedelta(days=5))
    w = CaseWorkspace(ctx, admin, case_id)
    qtbot.addWidget(w)
    fine = w.case.fine_fen
    first, second = fine // 2, fine - fine // 2
    later = [TODAY + dt.timedelta(days=10), TODAY + dt.timedelta(days=40)]

    def short(d: measures.InstalmentsDialog) -> None:
        d.set_rows([(later[0].isoformat(), str(first // 100)), (later[1].isoformat(), "1")])
        d.reason.setPlainText("当事人经营困难，申请分两期缴纳")

    use(monkeypatch, short)
    choose(w, measures.InstalmentsDialog)
    assert len(errors) == 1 and "不符" in errors[0]
    errors.clear()

    def plan(d: measures.InstalmentsDialog) -> None:
        d.set_rows([(later[0].isoformat(), f"{first / 100:g}"), (later[1].isoformat(), f"{second / 100:g}")])
        d.reason.setPlainText("当事人经营困难，申请分两期缴纳")

    use(monkeypatch, plan)
    choose(w, measures.InstalmentsDialog)
    assert errors == []
    assert measures.open_instalments(w.case) == 2
    assert not w.measure_actions[measures.DeferralDialog].isEnabled()  # one arrangement per fine

    c = CaseWorkspace(ctx, admin, case_id)
    qtbot.addWidget(c)

    def pay(d: measures.InstalmentPaymentDialog) -> None:
        d.amount.setText(f"{first / 100:g}")
        d.receipt_no.setText("GZ-2026-007731")

    use(monkeypatch, pay)
    choose(c, measures.InstalmentPaymentDialog)
    assert errors == []
    assert measures.open_instalments(c.case) == 1
    # The reminder is refused while the next instalment is not yet overdue.
    use(monkeypatch, lambda d: None)
    choose(c, measures.ReminderDialog)
    assert len(errors) == 1 and "催告" in errors[0]


def test_an_appeal_holds_the_reminder_back_until_its_result(
    qtbot: Any, ctx: AppContext, admin: Actor, monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    crew = make_crew(ctx, admin)
    case_id = open_and_file(crew, TODAY - dt.timedelta(days=40), TODAY - dt.timedelta(days=39))
    decide_case(crew, case_id, TODAY - dt.timedelta(days=30))
    serve_case(crew, case_id, TODAY - dt.timedelta(days=20))  # the fine is overdue
    w = CaseWorkspace(ctx, admin, case_id)
    qtbot.addWidget(w)
    assert not w.measure_actions[measures.AppealResultDialog].isEnabled()  # nothing pending

    def appeal(d: measures.AppealDialog) -> None:
        d.appeal_kind.setCurrentIndex(d.appeal_kind.findData("reconsideration"))
        d.body.setText("广州市天河区人民政府")
        d.reference.setText("天府行复〔2026〕31号")

    use(monkeypatch, appeal)
    choose(w, measures.AppealDialog)
    assert errors == []
    assert not w.measure_actions[measures.AppealDialog].isEnabled()  # one pending at a time
    row = w.timeline.item(w.timeline.rowCount() - 1, 6).text()
    assert "复议或诉讼：行政复议" in row and "受理机关：广州市天河区人民政府" in row

    # the reminder is refused while the reconsideration is pending, naming it
    use(monkeypatch, lambda d: None)
    choose(w, measures.ReminderDialog)
    assert len(errors) == 1
    assert "申请行政复议（广州市天河区人民政府，案号 天府行复〔2026〕31号），尚未审结" in errors[0]
    errors.clear()

    def upheld(d: measures.AppealResultDialog) -> None:
        d.result.setCurrentIndex(d.result.findData("upheld"))
        d.note.setPlainText("维持原处罚决定")

    use(monkeypatch, upheld)
    choose(w, measures.AppealResultDialog)
    assert errors == []
    assert "结果：维持（驳回）" in w.timeline.item(w.timeline.rowCount() - 1, 6).text()
    assert not w.measure_actions[measures.AppealResultDialog].isEnabled()

    def remind(d: measures.ReminderDialog) -> None:
        d.received_by.setText("王某")

    use(monkeypatch, remind)
    choose(w, measures.ReminderDialog)
    assert errors == []
    assert w.case.steps[-1].kind is StepKind.REMINDER
