"""Side measures of whole cases on real SQLite: preservation (APL 56), seizure (ACL 18, 25, 27),
deferral and instalments (APL 66, 72), reminder and court application (ACL 53, 54), cash
collected on the spot handed in (APL 71), the party's reconsideration or lawsuit and its result
(APL 73, ACL 53) — each rule refused and allowed, with the clocks they start and stop and the
pre-check findings they leave."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from case_builders import FINE, Crew, D, decide_case, make_crew, open_and_file, serve_case

from app.audit import verify
from app.auth.roles import Actor, Role
from app.cases import (
    SIDE_STEPS,
    STEPS,
    AppealKind,
    AppealResult,
    CaseStage,
    CaseView,
    Instalment,
    ItemLine,
    PreservationOutcome,
    SeizureOutcome,
    SpotDecision,
    StepKind,
    apply_to_court,
    approve_instalments,
    close_case,
    decide_on_the_spot,
    extend_seizure,
    file_spot_record,
    get_case,
    grant_deferral,
    hand_over_cash,
    handle_preservation,
    mark_not_applicable,
    pay_instalment,
    preserve_evidence,
    record_appeal,
    record_appeal_result,
    record_payment,
    release_seizure,
    seize,
    serve_reminder,
)
from app.cases.clocks import ClockKind, ClockState
from app.cases.due import due_clocks
from app.cases.precheck import Severity, precheck
from app.cases.timing import ClockView, clocks_for_case, extend_case_period
from app.context import AppContext
from app.errors import PermissionDenied, ValidationError

ITEMS = (ItemLine("钢管", 20, "根"), ItemLine("砂石", Decimal("3.5"), "立方米"))


@pytest.fixture
def crew(ctx: AppContext, admin: Actor) -> Crew:
    return make_crew(ctx, admin)


@pytest.fixture
def leader(actors: dict[Role, Actor]) -> Actor:
    return actors[Role.LEADER]


def _clock(crew: Crew, case_id: str, kind: ClockKind, today: dt.date) -> ClockView:
    with crew.ctx.read() as s:
        return next(c for c in clocks_for_case(s, crew.actor, case_id, today) if c.kind is kind)


def _view(crew: Crew, case_id: str) -> CaseView:
    with crew.ctx.read() as s:
        return get_case(s, crew.actor, case_id)


def _last(view: CaseView, kind: StepKind) -> str:
    return next(st.id for st in reversed(view.steps) if st.kind is kind)


def _served_case(crew: Crew, fine_yuan: int = 3000) -> str:
    """Filed 2 March 2026, decided and served Tuesday 10 March: payment due Wednesday 25 March."""
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    decide_case(crew, case_id, D(2026, 3, 10), fine_yuan)
    serve_case(crew, case_id, D(2026, 3, 10))
    return case_id


def _preserve(crew: Crew, leader: Actor, case_id: str, on: dt.date) -> str:
    with crew.ctx.unit_of_work(leader) as s:
        view = preserve_evidence(
            s, leader, case_id, on, list(crew.officers.values()), ITEMS, "证据可能灭失", "车陂路 123 号门前"
        )
    return _last(view, StepKind.PRESERVATION)


# ---- side steps are no procedure steps ------------------------------------------------------


def test_side_steps_never_enter_the_machine(crew: Crew) -> None:
    assert not SIDE_STEPS & {step for steps in STEPS.values() for step in steps}
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="附随措施"):
        mark_not_applicable(s, crew.actor, case_id, StepKind.REMINDER, D(2026, 3, 4), "不需要")


# ---- 先行登记保存 (APL 56) ------------------------------------------------------------------


def test_preservation_handled_in_time_and_the_decision_waits_for_it(
    crew: Crew, leader: Actor, actors: dict[Role, Actor]
) -> None:
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    officer = actors[Role.OFFICER]
    two = list(crew.officers.values())
    with crew.ctx.unit_of_work(officer) as s, pytest.raises(PermissionDenied):
        preserve_evidence(s, officer, case_id, D(2026, 3, 3), two, ITEMS, "证据可能灭失")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError) as err:
        preserve_evidence(s, leader, case_id, D(2026, 3, 3), two[:1], ITEMS, "证据可能灭失")
    assert "至少 2 名" in err.value.message and "陈志强" in err.value.message
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="物品清单"):
        preserve_evidence(s, leader, case_id, D(2026, 3, 3), two, (), "证据可能灭失")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="“砂石”的数量应大于 0"):
        preserve_evidence(s, leader, case_id, D(2026, 3, 3), two, (ItemLine("砂石", 0, "方"),), "灭失")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="早于立案日期 2026-03-02"):
        preserve_evidence(s, leader, case_id, D(2026, 3, 1), two, ITEMS, "证据可能灭失")

    preservation = _preserve(crew, leader, case_id, D(2026, 3, 3))
    view = _view(crew, case_id)
    step = view.steps[-1]
    assert view.stage is CaseStage.INVESTIGATED  # a side measure never moves the stage
    assert step.kind is StepKind.PRESERVATION and step.seq == 3
    assert step.approved_by_name == leader.display_name and set(step.officer_ids) == set(two)
    assert step.data["items"][1] == {"name": "砂石", "quantity": "3.5", "unit": "立方米"}
    # 7 working days from Tuesday 3 March: Thursday 12 March
    clock = _clock(crew, case_id, ClockKind.PRESERVATION_DECISION, D(2026, 3, 4))
    assert clock.due == D(2026, 3, 12) and clock.state is ClockState.NONE

    # the decision waits for the handling, naming the preservation's day and its things
    with pytest.raises(ValidationError) as err:
        decide_case(crew, case_id, D(2026, 3, 10))
    assert "2026-03-03" in err.value.message and "“钢管”等 2 项物品" in err.value.message
    assert "2026-03-12" in err.value.message

    with crew.ctx.unit_of_work(leader) as s:
        handle_preservation(
            s, leader, case_id, preservation, D(2026, 3, 10), PreservationOutcome.RETURN, "拍照后退还"
        )
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError) as err:
        handle_preservation(s, leader, case_id, preservation, D(2026, 3, 11), PreservationOutcome.RELEASE)
    assert "已于 2026-03-10 作出处理决定（退还当事人）" in err.value.message
    clock = _clock(crew, case_id, ClockKind.PRESERVATION_DECISION, D(2026, 3, 10))
    assert clock.state is ClockState.DONE and "已于 2026-03-10 作出处理决定" in clock.explanation
    assert "超过期限" not in clock.explanation

    decide_case(crew, case_id, D(2026, 3, 10))
    assert _view(crew, case_id).stage is CaseStage.DECIDED
    with crew.ctx.read() as s:
        assert not [f for f in precheck(s, crew.actor, case_id) if "先行登记保存" in f.message]
        assert verify(s).ok
    # after the decision no preservation is taken any more
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="作出决定前"):
        preserve_evidence(s, leader, case_id, D(2026, 3, 11), two, ITEMS, "证据可能灭失")


def test_preservation_handled_late_turns_the_clock_red_and_is_found(crew: Crew, leader: Actor) -> None:
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    preservation = _preserve(crew, leader, case_id, D(2026, 3, 3))
    assert _clock(crew, case_id, ClockKind.PRESERVATION_DECISION, D(2026, 3, 12)).state is ClockState.AMBER
    assert _clock(crew, case_id, ClockKind.PRESERVATION_DECISION, D(2026, 3, 13)).state is ClockState.RED
    # late, but recorded: the act happened
    with crew.ctx.unit_of_work(leader) as s:
        view = handle_preservation(
            s, leader, case_id, preservation, D(2026, 3, 16), PreservationOutcome.EXAMINE, "送鉴定"
        )
    assert view.steps[-1].data["late"] is True and view.steps[-1].data["due"] == "2026-03-12"
    clock = _clock(crew, case_id, ClockKind.PRESERVATION_DECISION, D(2026, 3, 16))
    assert clock.state is ClockState.DONE and "已于 2026-03-16 作出处理决定，已超过期限" in clock.explanation
    with crew.ctx.read() as s:
        found = [f for f in precheck(s, crew.actor, case_id) if f.step is StepKind.PRESERVATION_HANDLING]
    assert [f.severity for f in found] == [Severity.FORM]
    assert "2026-03-16" in found[0].message and "2026-03-12" in found[0].message


# ---- 查封、扣押 (ACL 18, 25, 27) ------------------------------------------------------------


def test_seizure_extended_once_then_released_before_closure(crew: Crew, leader: Actor) -> None:
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    two = list(crew.officers.values())
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="保管场所"):
        seize(s, leader, case_id, D(2026, 3, 4), two, ITEMS, " ", "拒不停止违法行为")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="至少 2 名"):
        seize(s, leader, case_id, D(2026, 3, 4), two[:1], ITEMS, "队暂扣仓库", "拒不停止违法行为")
    with crew.ctx.unit_of_work(leader) as s:
        view = seize(s, leader, case_id, D(2026, 3, 4), two, ITEMS, "队暂扣仓库", "拒不停止违法行为")
    seizure = _last(view, StepKind.SEIZURE)
    assert view.stage is CaseStage.INVESTIGATED
    clock = _clock(crew, case_id, ClockKind.SEIZURE, D(2026, 3, 5))
    assert clock.due == D(2026, 4, 3) and clock.state is ClockState.NONE  # 30 calendar days

    # the seizure clock is extended through its own measure, not as a bare period
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="查封扣押延期"):
        extend_case_period(s, leader, case_id, ClockKind.SEIZURE, 30, "情况复杂")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="1 至 30 日"):
        extend_seizure(s, leader, case_id, seizure, D(2026, 3, 30), 31, "情况复杂")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="已于 2026-04-03 届满"):
        extend_seizure(s, leader, case_id, seizure, D(2026, 4, 7), 30, "情况复杂")
    with crew.ctx.unit_of_work(leader) as s:
        extend_seizure(s, leader, case_id, seizure, D(2026, 3, 30), 30, "情况复杂，需检测")
    clock = _clock(crew, case_id, ClockKind.SEIZURE, D(2026, 3, 30))
    # 3 May is a Sunday inside the May Day holiday: moved on to Wednesday 6 May
    assert clock.due == D(2026, 5, 6) and "延长 30 日" in clock.explanation
    assert f"经{leader.display_name}批准延长 30 日（情况复杂，需检测" in clock.explanation
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError) as err:
        extend_seizure(s, leader, case_id, seizure, D(2026, 4, 20), 10, "再延")
    assert "2026-03-30" in err.value.message and leader.display_name in err.value.message
    assert "只能延长一次" in err.value.message

    # ACL 27: the decision is made with the seizure in force; confiscation needs a decision saying so
    decide_case(crew, case_id, D(2026, 4, 10))
    serve_case(crew, case_id, D(2026, 4, 10))
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="尚无没收的行政处罚决定"):
        release_seizure(s, leader, case_id, seizure, D(2026, 4, 13), SeizureOutcome.CONFISCATE)
    with crew.ctx.unit_of_work(crew.actor) as s:
        record_payment(s, crew.actor, case_id, D(2026, 4, 13), 300000, "NO.7")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError) as err:
        close_case(s, leader, case_id, D(2026, 4, 14))
    assert "查封扣押（2026-03-04）" in err.value.message and "仍未解除或处理" in err.value.message
    with crew.ctx.unit_of_work(leader) as s:
        release_seizure(
            s, leader, case_id, seizure, D(2026, 4, 14), SeizureOutcome.RELEASE, "罚款已缴纳，退还"
        )
    clock = _clock(crew, case_id, ClockKind.SEIZURE, D(2026, 4, 14))
    assert clock.state is ClockState.DONE
    with (
        crew.ctx.unit_of_work(leader) as s,
        pytest.raises(ValidationError, match="已于 2026-04-14 解除查封扣押"),
    ):
        release_seizure(s, leader, case_id, seizure, D(2026, 4, 15), SeizureOutcome.RELEASE)
    with crew.ctx.unit_of_work(leader) as s:
        assert close_case(s, leader, case_id, D(2026, 4, 15)).stage is CaseStage.CLOSED
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="已结案"):
        seize(s, leader, case_id, D(2026, 4, 16), two, ITEMS, "队暂扣仓库", "再扣")


# ---- 暂缓、分期缴纳 (APL 66, 72) ------------------------------------------------------------


def test_deferral_moves_the_payment_due_day(crew: Crew, leader: Actor, actors: dict[Role, Actor]) -> None:
    case_id = _served_case(crew)
    assert _clock(crew, case_id, ClockKind.PAYMENT, D(2026, 3, 20)).due == D(2026, 3, 25)
    officer = actors[Role.OFFICER]
    with crew.ctx.unit_of_work(officer) as s, pytest.raises(PermissionDenied):
        grant_deferral(s, officer, case_id, D(2026, 3, 23), D(2026, 3, 20), D(2026, 4, 24), "经济困难")
    with (
        crew.ctx.unit_of_work(leader) as s,
        pytest.raises(ValidationError, match="早于决定书送达日期 2026-03-10"),
    ):
        grant_deferral(s, leader, case_id, D(2026, 3, 23), D(2026, 3, 9), D(2026, 4, 24), "经济困难")
    with (
        crew.ctx.unit_of_work(leader) as s,
        pytest.raises(ValidationError, match="不晚于现在的缴纳期限 2026-03-25"),
    ):
        grant_deferral(s, leader, case_id, D(2026, 3, 23), D(2026, 3, 20), D(2026, 3, 25), "经济困难")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="已于 2026-03-25 届满"):
        grant_deferral(s, leader, case_id, D(2026, 3, 27), D(2026, 3, 26), D(2026, 4, 24), "经济困难")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="暂缓缴纳罚款"):
        extend_case_period(s, leader, case_id, ClockKind.PAYMENT, 30, "经济困难")
    with crew.ctx.unit_of_work(leader) as s:
        view = grant_deferral(
            s, leader, case_id, D(2026, 3, 23), D(2026, 3, 20), D(2026, 4, 24), "店铺停业，经济困难"
        )
    assert view.stage is CaseStage.SERVED and view.steps[-1].approved_by_name == leader.display_name
    payment = _clock(crew, case_id, ClockKind.PAYMENT, D(2026, 3, 23))
    assert payment.due == D(2026, 4, 24) and payment.state is ClockState.NONE
    assert "暂缓缴纳至 2026-04-24" in payment.explanation and "第六十六条" in payment.explanation
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="已于 2026-03-23 经"):
        approve_instalments(
            s,
            leader,
            case_id,
            D(2026, 3, 24),
            D(2026, 3, 24),
            (Instalment(D(2026, 4, 1), 150000), Instalment(D(2026, 5, 1), 150000)),
            "经济困难",
        )
    # the late fee runs from the deferred day: three days after it, 9 % of 3,000 元
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="应缴 3,270 元"):
        record_payment(s, crew.actor, case_id, D(2026, 4, 27), 300000, "NO.3")
    with crew.ctx.unit_of_work(crew.actor) as s:
        assert (
            record_payment(s, crew.actor, case_id, D(2026, 4, 24), 300000, "NO.3").stage is CaseStage.EXECUTED
        )


def test_instalments_paid_on_time_late_and_capped_then_settled(crew: Crew, leader: Actor) -> None:
    case_id = _served_case(crew)  # fine 3,000 元, served 10 March

    def approve(schedule: tuple[Instalment, ...]) -> None:
        with crew.ctx.unit_of_work(leader) as s:
            approve_instalments(s, leader, case_id, D(2026, 3, 13), D(2026, 3, 12), schedule, "经济困难")

    k = 100_000  # 1,000 元
    with pytest.raises(ValidationError) as err:
        approve((Instalment(D(2026, 4, 10), k), Instalment(D(2026, 5, 11), 190_000)))
    assert "合计 2,900 元" in err.value.message and "3,000 元" in err.value.message
    with pytest.raises(ValidationError, match="第 2 期缴款日 2026-04-10 不晚于第 1 期"):
        approve((Instalment(D(2026, 4, 10), k), Instalment(D(2026, 4, 10), k), Instalment(D(2026, 6, 10), k)))
    with pytest.raises(ValidationError, match="不晚于决定书送达日 2026-03-10"):
        approve((Instalment(D(2026, 3, 10), k), Instalment(D(2026, 4, 10), 200_000)))
    with pytest.raises(ValidationError, match="至少分两期"):
        approve((Instalment(D(2026, 4, 10), 300_000),))
    schedule = (Instalment(D(2026, 4, 10), k), Instalment(D(2026, 5, 11), k), Instalment(D(2026, 6, 10), k))
    approve(schedule)
    payment = _clock(crew, case_id, ClockKind.PAYMENT, D(2026, 3, 13))
    assert (
        payment.due == D(2026, 4, 10)
        and "第 1 期 1,000 元" in payment.explanation
        and "共 3 期" in payment.explanation
    )

    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="第 1 期罚款 1,000 元"):
        record_payment(s, crew.actor, case_id, D(2026, 4, 9), 300000, "NO.1")
    with crew.ctx.unit_of_work(crew.actor) as s:
        pay_instalment(s, crew.actor, case_id, D(2026, 4, 9), k, "NO.1")
    assert _clock(crew, case_id, ClockKind.PAYMENT, D(2026, 4, 9)).due == D(2026, 5, 11)
    assert _clock(crew, case_id, ClockKind.PAYMENT, D(2026, 5, 12)).state is ClockState.RED
    # the second paid three days late: 3 % a day of its own 1,000 元
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        pay_instalment(s, crew.actor, case_id, D(2026, 5, 14), k, "NO.2")
    assert "应缴 1,090 元" in err.value.message and "加处罚款 90 元" in err.value.message
    with crew.ctx.unit_of_work(crew.actor) as s:
        pay_instalment(s, crew.actor, case_id, D(2026, 5, 14), 109_000, "NO.2")
    # the third 40 days late: 120 %, capped at the instalment (APL 72)
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = pay_instalment(s, crew.actor, case_id, D(2026, 7, 20), 200_000, "NO.3")
    assert view.stage is CaseStage.SERVED
    assert view.steps[-1].data["late_fee_fen"] == k and view.steps[-1].data["no"] == 3
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="已全部缴清"):
        pay_instalment(s, crew.actor, case_id, D(2026, 7, 21), k, "NO.4")
    assert _clock(crew, case_id, ClockKind.PAYMENT, D(2026, 7, 20)).state is ClockState.DONE

    # execution is the settlement of all instalments, late fees included
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        record_payment(s, crew.actor, case_id, D(2026, 7, 20), 300000, "NO.3")
    assert "共缴 4,090 元" in err.value.message and "加处罚款 1,090 元" in err.value.message
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = record_payment(s, crew.actor, case_id, D(2026, 7, 20), 409_000, "NO.1-3")
    assert view.stage is CaseStage.EXECUTED
    assert view.steps[-1].data["instalments"] == 3 and view.steps[-1].data["late_fee_fen"] == 109_000
    with crew.ctx.unit_of_work(leader) as s:
        assert close_case(s, leader, case_id, D(2026, 7, 21)).stage is CaseStage.CLOSED


# ---- 催告 and 申请法院强制执行 (ACL 53, 54) -------------------------------------------------


def test_reminder_then_court_application_across_the_2026_national_day(
    crew: Crew, leader: Actor, actors: dict[Role, Actor]
) -> None:
    case_id = _served_case(crew)  # payment due 25 March; lawsuit period ends 10 September
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        serve_reminder(s, crew.actor, case_id, D(2026, 3, 25), "直接送达")
    assert "尚未逾期" in err.value.message and "自 2026-03-26 起可以催告" in err.value.message
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError, match="须催告当事人履行义务"):
        apply_to_court(s, leader, case_id, D(2026, 10, 20), "广州市天河区人民法院")
    # served Tuesday 29 September; the National Day holiday runs 1–7 October, Saturday 10 October
    # is a make-up workday: the 10th working day is Monday 19 October
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = serve_reminder(s, crew.actor, case_id, D(2026, 9, 29), "留置送达", "王某")
    assert view.stage is CaseStage.SERVED and view.steps[-1].kind is StepKind.REMINDER
    reminder = _clock(crew, case_id, ClockKind.REMINDER, D(2026, 9, 29))
    assert reminder.due == D(2026, 10, 19) and reminder.binds_party
    with (
        crew.ctx.unit_of_work(crew.actor) as s,
        pytest.raises(ValidationError, match="已于 2026-09-29 送达催告书"),
    ):
        serve_reminder(s, crew.actor, case_id, D(2026, 9, 30), "直接送达")

    officer = actors[Role.OFFICER]
    with crew.ctx.unit_of_work(officer) as s, pytest.raises(PermissionDenied):
        apply_to_court(s, officer, case_id, D(2026, 10, 20), "广州市天河区人民法院")
    for day in (D(2026, 10, 16), D(2026, 10, 19)):  # the 9th and the 10th working day
        with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError) as err:
            apply_to_court(s, leader, case_id, day, "广州市天河区人民法院")
        assert "至 2026-10-19" in err.value.message and "最早 2026-10-20 可以申请" in err.value.message
    with crew.ctx.unit_of_work(leader) as s:
        view = apply_to_court(s, leader, case_id, D(2026, 10, 20), "广州市天河区人民法院")
    assert view.stage is CaseStage.EXECUTED
    execution = view.steps[-1]
    assert execution.kind is StepKind.EXECUTION and execution.data["via"] == "court_application"
    assert view.steps[-2].kind is StepKind.COURT_APPLICATION and view.steps[-2].approved_by_name
    assert _clock(crew, case_id, ClockKind.COURT_APPLICATION, D(2026, 10, 20)).state is ClockState.DONE
    with crew.ctx.unit_of_work(leader) as s:
        assert close_case(s, leader, case_id, D(2026, 10, 21)).stage is CaseStage.CLOSED


def test_court_application_only_between_the_lawsuit_period_and_three_months_after(
    crew: Crew, leader: Actor
) -> None:
    early = _served_case(crew)
    with crew.ctx.unit_of_work(crew.actor) as s:
        serve_reminder(s, crew.actor, early, D(2026, 4, 1), "直接送达")
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError) as err:
        apply_to_court(s, leader, early, D(2026, 5, 6), "广州市天河区人民法院")
    assert "至 2026-09-10 届满" in err.value.message and "最早 2026-09-11 可以申请" in err.value.message

    late = _served_case(crew)
    with crew.ctx.unit_of_work(crew.actor) as s:
        serve_reminder(s, crew.actor, late, D(2026, 11, 20), "直接送达")
    assert _clock(crew, late, ClockKind.COURT_APPLICATION, D(2026, 12, 14)).due == D(2026, 12, 10)
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError) as err:
        apply_to_court(s, leader, late, D(2026, 12, 14), "广州市天河区人民法院")
    assert "已于 2026-12-10 届满" in err.value.message


# ---- 当场收缴罚款交纳 (APL 71) ----------------------------------------------------------------


def _spot(crew: Crew, collected: bool = True) -> str:
    decision = SpotDecision(
        "SR-001",
        crew.party_id,
        "占道经营",
        D(2026, 3, 5),
        tuple(crew.officers.values()),
        FINE,
        10_000,
        "一般",
        violation_ended=D(2026, 3, 5),
        collected_on_spot=collected,
    )
    with crew.ctx.unit_of_work(crew.actor) as s:
        return decide_on_the_spot(s, crew.actor, decision).id


def test_cash_handed_in_on_time_and_record_filing_waits_for_it(crew: Crew) -> None:
    case_id = _spot(crew)  # Thursday 5 March: hand in by Monday 9 March
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        file_spot_record(s, crew.actor, case_id, D(2026, 3, 6))
    assert "2026-03-05 当场收缴罚款 100 元" in err.value.message and "2026-03-09" in err.value.message
    clock = _clock(crew, case_id, ClockKind.CASH_HANDOVER, D(2026, 3, 6))
    assert clock.due == D(2026, 3, 9) and clock.state is ClockState.AMBER
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="交纳凭证"):
        hand_over_cash(s, crew.actor, case_id, D(2026, 3, 9), " ")
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = hand_over_cash(s, crew.actor, case_id, D(2026, 3, 9), "JK-001")
    assert view.stage is CaseStage.SPOT_DECIDED and view.steps[-1].data["late"] is False
    assert _clock(crew, case_id, ClockKind.CASH_HANDOVER, D(2026, 3, 9)).state is ClockState.DONE
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="已于 2026-03-09 登记"):
        hand_over_cash(s, crew.actor, case_id, D(2026, 3, 10), "JK-002")
    with crew.ctx.unit_of_work(crew.actor) as s:
        assert file_spot_record(s, crew.actor, case_id, D(2026, 3, 9)).stage is CaseStage.CLOSED
    with crew.ctx.read() as s:
        assert not [f for f in precheck(s, crew.actor, case_id) if f.step is StepKind.CASH_HANDOVER]

    # nothing to hand in: no cash collected, or an ordinary case
    not_collected = _spot(crew, collected=False)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="没有当场收缴罚款"):
        hand_over_cash(s, crew.actor, not_collected, D(2026, 3, 6), "JK-003")
    ordinary = _served_case(crew)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="到银行缴纳"):
        hand_over_cash(s, crew.actor, ordinary, D(2026, 3, 11), "JK-004")


def test_cash_handed_in_late_is_recorded_as_late(crew: Crew) -> None:
    case_id = _spot(crew)
    assert _clock(crew, case_id, ClockKind.CASH_HANDOVER, D(2026, 3, 10)).state is ClockState.RED
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = hand_over_cash(s, crew.actor, case_id, D(2026, 3, 11), "JK-005")
    assert view.steps[-1].data["late"] is True
    clock = _clock(crew, case_id, ClockKind.CASH_HANDOVER, D(2026, 3, 11))
    assert clock.state is ClockState.DONE and "已超过期限" in clock.explanation
    with crew.ctx.unit_of_work(crew.actor) as s:
        file_spot_record(s, crew.actor, case_id, D(2026, 3, 11))
    with crew.ctx.read() as s:
        found = [f for f in precheck(s, crew.actor, case_id) if f.step is StepKind.CASH_HANDOVER]
    assert [f.severity for f in found] == [Severity.FORM]
    assert "2026-03-11" in found[0].message and "2026-03-09" in found[0].message


# ---- 行政复议、行政诉讼 (APL 73, ACL 53) --------------------------------------------------------

GOV = "广州市天河区人民政府"
COURT = "广州市天河区人民法院"


def _appeal(crew: Crew, case_id: str, on: dt.date, kind: AppealKind, body: str = GOV, ref: str = "") -> str:
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = record_appeal(s, crew.actor, case_id, on, kind, body, ref)
    return _last(view, StepKind.APPEAL)


def _result(crew: Crew, case_id: str, on: dt.date, result: AppealResult, note: str = "") -> str:
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = record_appeal_result(s, crew.actor, case_id, on, result, note)
    return _last(view, StepKind.APPEAL_RESULT)


def test_appeal_only_after_service_within_its_period_and_one_at_a_time(
    crew: Crew, actors: dict[Role, Actor]
) -> None:
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    decide_case(crew, case_id, D(2026, 3, 10))
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="决定书尚未送达"):
        record_appeal(s, crew.actor, case_id, D(2026, 3, 11), AppealKind.RECONSIDERATION, GOV)
    serve_case(crew, case_id, D(2026, 3, 10))
    legal = actors[Role.LEGAL]
    with crew.ctx.unit_of_work(legal) as s, pytest.raises(PermissionDenied):
        record_appeal(s, legal, case_id, D(2026, 4, 20), AppealKind.RECONSIDERATION, GOV)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="请填写复议机关"):
        record_appeal(s, crew.actor, case_id, D(2026, 4, 20), AppealKind.RECONSIDERATION, " ")
    # 60 days from Tuesday 10 March end on Saturday 9 May, a make-up workday: not moved
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        record_appeal(s, crew.actor, case_id, D(2026, 5, 11), AppealKind.RECONSIDERATION, GOV)
    assert "已于 2026-05-09 届满" in err.value.message and "第二十条" in err.value.message
    assert err.value.field == "on"

    appeal = _appeal(crew, case_id, D(2026, 5, 9), AppealKind.RECONSIDERATION, ref="天府行复〔2026〕12号")
    view = _view(crew, case_id)
    assert view.stage is CaseStage.SERVED  # a side step: the stage stays
    assert dict(view.steps[-1].data) == {
        "appeal_kind": "reconsideration",
        "body": GOV,
        "reference": "天府行复〔2026〕12号",
    }
    assert _clock(crew, case_id, ClockKind.RECONSIDERATION, D(2026, 5, 11)).state is ClockState.DONE
    lawsuit = _clock(crew, case_id, ClockKind.LAWSUIT, D(2026, 5, 11))
    assert lawsuit.state is ClockState.NONE and lawsuit.due == D(2026, 9, 10)

    # one appeal pending at a time, named
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        record_appeal(s, crew.actor, case_id, D(2026, 5, 12), AppealKind.LAWSUIT, COURT)
    assert "2026-05-09 申请行政复议（广州市天河区人民政府，案号 天府行复〔2026〕12号）" in err.value.message
    assert "尚未登记复议决定" in err.value.message

    # the result: not before the filing; a change says what was changed
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="早于申请行政复议日期"):
        record_appeal_result(s, crew.actor, case_id, D(2026, 5, 8), AppealResult.UPHELD)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="变更后的处罚内容"):
        record_appeal_result(s, crew.actor, case_id, D(2026, 6, 10), AppealResult.CHANGED)
    result = _result(crew, case_id, D(2026, 6, 10), AppealResult.UPHELD, "维持原处罚决定")
    step = _view(crew, case_id).steps[-1]
    assert step.data["appeal_id"] == appeal and step.data["result"] == "upheld" and step.id == result
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="没有尚未审结"):
        record_appeal_result(s, crew.actor, case_id, D(2026, 6, 11), AppealResult.REVOKED)

    # after the reconsideration decision the lawsuit period is 15 days from its receipt
    lawsuit = _clock(crew, case_id, ClockKind.LAWSUIT, D(2026, 6, 11))
    assert lawsuit.due == D(2026, 6, 25) and "第四十五条" in lawsuit.basis
    # and the court application follows it: 3 months to Friday 25 September, the Mid-Autumn Festival
    assert _clock(crew, case_id, ClockKind.COURT_APPLICATION, D(2026, 6, 11)).due == D(2026, 9, 28)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="不能再次申请行政复议"):
        record_appeal(s, crew.actor, case_id, D(2026, 6, 12), AppealKind.RECONSIDERATION, GOV)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        record_appeal(s, crew.actor, case_id, D(2026, 6, 26), AppealKind.LAWSUIT, COURT)
    assert "收到复议决定书之日起 15 日" in err.value.message and "已于 2026-06-25 届满" in err.value.message
    _appeal(crew, case_id, D(2026, 6, 25), AppealKind.LAWSUIT, COURT)
    assert _clock(crew, case_id, ClockKind.LAWSUIT, D(2026, 6, 26)).state is ClockState.DONE
    _result(crew, case_id, D(2026, 9, 30), AppealResult.UPHELD, "驳回诉讼请求")
    # a lawsuit accepted bars a reconsideration; a lawsuit is one appeal
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="第二十九条"):
        record_appeal(s, crew.actor, case_id, D(2026, 10, 8), AppealKind.RECONSIDERATION, GOV)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="不能重复登记起诉"):
        record_appeal(s, crew.actor, case_id, D(2026, 10, 8), AppealKind.LAWSUIT, COURT)
    with crew.ctx.read() as s:
        assert verify(s).ok

    # a lawsuit straight against the decision: within 6 months of its receipt
    direct = _served_case(crew)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        record_appeal(s, crew.actor, direct, D(2026, 9, 11), AppealKind.LAWSUIT, COURT)
    assert "6 个月" in err.value.message and "已于 2026-09-10 届满" in err.value.message
    _appeal(crew, direct, D(2026, 9, 10), AppealKind.LAWSUIT, COURT)
    # a summary case's decision is served on the spot
    spot = _spot(crew)
    _appeal(crew, spot, D(2026, 3, 6), AppealKind.RECONSIDERATION)


def test_pending_appeal_holds_the_reminder_and_the_court_application_back(crew: Crew, leader: Actor) -> None:
    case_id = _served_case(crew)  # payment due 25 March; lawsuit period ends 10 September
    _appeal(crew, case_id, D(2026, 3, 30), AppealKind.RECONSIDERATION, ref="天府行复〔2026〕7号")
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        serve_reminder(s, crew.actor, case_id, D(2026, 4, 1), "直接送达")
    assert (
        "2026-03-30 申请行政复议（广州市天河区人民政府，案号 天府行复〔2026〕7号），尚未审结"
        in err.value.message
    )
    assert "第五十三条" in err.value.message and "登记复议决定后再办理“催告”" in err.value.message
    with crew.ctx.unit_of_work(leader) as s, pytest.raises(ValidationError) as err:
        apply_to_court(s, leader, case_id, D(2026, 4, 1), COURT)
    assert "2026-03-30 申请行政复议" in err.value.message and "“申请法院强制执行”" in err.value.message
    # the fine stays due (the decision is not suspended), and the clock says so
    payment = _clock(crew, case_id, ClockKind.PAYMENT, D(2026, 4, 1))
    assert payment.due == D(2026, 3, 25) and payment.state is ClockState.RED
    assert "2026-03-30 申请行政复议，尚未审结" in payment.explanation and "第七十三条" in payment.explanation

    _result(crew, case_id, D(2026, 5, 20), AppealResult.CONFIRMED_ILLEGAL, "确认违法，不撤销")
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = serve_reminder(s, crew.actor, case_id, D(2026, 5, 21), "直接送达", "王某")
    assert view.steps[-1].kind is StepKind.REMINDER and "appeal_pending" not in view.steps[-1].data

    # a lawsuit pending past the lawsuit period: its days do not eat up the 3 months of ACL 53
    sued = _served_case(crew)
    with crew.ctx.unit_of_work(crew.actor) as s:
        serve_reminder(s, crew.actor, sued, D(2026, 4, 1), "直接送达")
    _appeal(crew, sued, D(2026, 9, 1), AppealKind.LAWSUIT, COURT)
    court = _clock(crew, sued, ClockKind.COURT_APPLICATION, D(2026, 9, 20))
    assert (
        court.state is ClockState.NONE and "中止" in court.explanation and "第五十三条" in court.explanation
    )
    # the start page's index reads the appeal rows as the exact query does
    with crew.ctx.read() as s:
        for today in (D(2026, 9, 20), D(2026, 12, 9), D(2026, 12, 29)):
            assert due_clocks(s, crew.actor, today) == due_clocks(s, crew.actor, today, use_index=False)
    reminder = _clock(crew, sued, ClockKind.REMINDER, D(2026, 9, 20))
    assert reminder.state is ClockState.RED  # it ran out before the lawsuit was filed
    _result(crew, sued, D(2026, 9, 30), AppealResult.UPHELD, "驳回诉讼请求")
    # 11–30 September were pending after the period's end: 10 December + 20 days
    court = _clock(crew, sued, ClockKind.COURT_APPLICATION, D(2026, 12, 14))
    assert court.due == D(2026, 12, 30) and court.state is ClockState.NONE
    with crew.ctx.unit_of_work(leader) as s:
        view = apply_to_court(s, leader, sued, D(2026, 12, 14), COURT)
    assert view.stage is CaseStage.EXECUTED


def test_late_fee_not_counted_while_an_appeal_is_pending(crew: Crew, leader: Actor) -> None:
    case_id = _served_case(crew)  # fine 3,000 元 due 25 March
    _appeal(crew, case_id, D(2026, 3, 30), AppealKind.RECONSIDERATION)
    _result(crew, case_id, D(2026, 4, 9), AppealResult.UPHELD)
    # 26 March – 14 April is 20 days late; 30 March – 9 April (11 days) the appeal was pending
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        record_payment(s, crew.actor, case_id, D(2026, 4, 14), 480_000, "NO.1")
    assert "应缴 3,810 元" in err.value.message and "11 日不计加处罚款" in err.value.message
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = record_payment(s, crew.actor, case_id, D(2026, 4, 14), 381_000, "NO.1")
    assert view.stage is CaseStage.EXECUTED and view.steps[-1].data["late_fee_fen"] == 81_000

    # an instalment paid late while an appeal is pending: only the day before it is charged
    split = _served_case(crew)
    k = 100_000
    with crew.ctx.unit_of_work(leader) as s:
        approve_instalments(
            s,
            leader,
            split,
            D(2026, 3, 13),
            D(2026, 3, 12),
            (Instalment(D(2026, 4, 10), k), Instalment(D(2026, 5, 11), k), Instalment(D(2026, 6, 10), k)),
            "经济困难",
        )
    _appeal(crew, split, D(2026, 4, 12), AppealKind.LAWSUIT, COURT)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="应缴 1,030 元"):
        pay_instalment(s, crew.actor, split, D(2026, 4, 20), 130_000, "NO.1")
    with crew.ctx.unit_of_work(crew.actor) as s:
        view = pay_instalment(s, crew.actor, split, D(2026, 4, 20), 103_000, "NO.1")
    assert view.steps[-1].data["late_fee_fen"] == 3_000


def test_a_revoked_decision_leaves_nothing_to_collect_and_the_case_closes(crew: Crew, leader: Actor) -> None:
    case_id = _served_case(crew)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        mark_not_applicable(s, crew.actor, case_id, StepKind.EXECUTION, D(2026, 4, 1), "决定已撤销")
    assert "不能记为不适用" in err.value.message and "登记复议决定或判决" in err.value.message
    _appeal(crew, case_id, D(2026, 4, 1), AppealKind.LAWSUIT, COURT, "（2026）粤0106行初88号")
    # a change is recorded only: the fine and its payment stay as decided (left to the clerk)
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="变更后的处罚内容"):
        record_appeal_result(s, crew.actor, case_id, D(2026, 6, 20), AppealResult.CHANGED, " ")
    result = _result(crew, case_id, D(2026, 6, 20), AppealResult.REVOKED, "判决撤销原处罚决定")

    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        record_payment(s, crew.actor, case_id, D(2026, 6, 22), 300_000, "NO.1")
    assert "已于 2026-06-20 被判决撤销" in err.value.message and "记为不适用" in err.value.message
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="被判决撤销"):
        serve_reminder(s, crew.actor, case_id, D(2026, 6, 22), "直接送达")
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="被判决撤销"):
        record_appeal(s, crew.actor, case_id, D(2026, 6, 22), AppealKind.RECONSIDERATION, GOV)
    for kind in (ClockKind.PAYMENT, ClockKind.REMINDER, ClockKind.COURT_APPLICATION, ClockKind.LAWSUIT):
        clocks = [c for c in _clocks(crew, case_id, D(2026, 6, 22)) if c.kind is kind]
        assert all(c.state is ClockState.DONE for c in clocks), kind
    payment = _clock(crew, case_id, ClockKind.PAYMENT, D(2026, 6, 22))
    assert "处罚决定已于 2026-06-20 被撤销，罚款不再收缴" in payment.explanation

    with crew.ctx.unit_of_work(crew.actor) as s:
        view = mark_not_applicable(
            s, crew.actor, case_id, StepKind.EXECUTION, D(2026, 6, 22), "处罚决定已被判决撤销"
        )
    assert view.stage is CaseStage.EXECUTED and view.steps[-1].data["appeal_result_id"] == result
    with crew.ctx.unit_of_work(leader) as s:
        assert close_case(s, leader, case_id, D(2026, 6, 23)).stage is CaseStage.CLOSED


def test_a_changed_decision_is_recorded_and_the_fine_stays_as_decided(crew: Crew) -> None:
    case_id = _served_case(crew)
    _appeal(crew, case_id, D(2026, 3, 20), AppealKind.RECONSIDERATION)
    _result(crew, case_id, D(2026, 3, 24), AppealResult.CHANGED, "罚款变更为 2,000 元")
    assert _view(crew, case_id).fine_fen == 300_000
    with crew.ctx.unit_of_work(crew.actor) as s:
        assert (
            record_payment(s, crew.actor, case_id, D(2026, 3, 25), 300_000, "NO.1").stage
            is CaseStage.EXECUTED
        )


def _clocks(crew: Crew, case_id: str, today: dt.date) -> list[ClockView]:
    with crew.ctx.read() as s:
        return clocks_for_case(s, crew.actor, case_id, today)
