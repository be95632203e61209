"""Case services on real SQLite: whole cases walked from lead to closure, and each rule refused and
allowed — officers, tiers, hearing window, APL 45, limitation, order of steps, approvals."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.audit import verify
from app.auth.roles import Actor, Role
from app.auth.service import create_user
from app.cases import (
    CaseOpening,
    CaseStage,
    CaseView,
    Outcome,
    PenaltyProposal,
    SpotDecision,
    StepKind,
    StepStatus,
    archive_case,
    close_case,
    conclude,
    decide,
    decide_on_the_spot,
    file_case,
    file_spot_record,
    get_case,
    hand_over_cash,
    legal_review,
    mark_not_applicable,
    open_case_from_lead,
    prior_notice,
    record_hearing,
    record_investigation,
    record_payment,
    record_statement,
    reopen_case,
    serve,
)
from app.certificates import CertificateInput, add_certificate
from app.context import AppContext
from app.errors import PermissionDenied, ValidationError
from app.leads import LeadInput, get_lead, register_lead
from app.parties import PartyInput, create_party
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, create_member
from app.reference import PenaltyType
from db.models import AuditEntry, CaseStep
from db.models.leads import LeadSource, LeadStatus
from db.models.parties import PartyKind
from db.models.personnel import CertificateKind, StaffCategory

D = dt.date
FINE = (PenaltyType.ORDER_CORRECTION, PenaltyType.FINE)
_serial = itertools.count(200)
MARCH_1, MARCH_2, MARCH_12 = D(2026, 3, 1), D(2026, 3, 2), D(2026, 3, 12)


def _id_number() -> str:
    first17 = f"44010619850101{next(_serial):03d}"
    return first17 + check_digit(first17)


def yuan(n: int) -> int:
    return n * 100


@dataclass
class Squad:
    ctx: AppContext
    admin: Actor
    leader: Actor
    officer: Actor
    clerk: Actor
    legal: Actor
    officers: dict[str, str]  # name → member id
    party_id: str


def _member(s: object, admin: Actor, name: str, category: StaffCategory, valid_to: dt.date) -> str:
    member_id = create_member(s, admin, MemberInput(name, _id_number(), category)).id  # type: ignore[arg-type]
    add_certificate(
        s,  # type: ignore[arg-type]
        admin,
        CertificateInput(
            member_id,
            CertificateKind.ENFORCEMENT,
            f"粤{next(_serial)}",
            valid_from=D(2024, 1, 1),
            valid_to=valid_to,
        ),
        today=D(2026, 1, 5),
    )
    return member_id


@pytest.fixture
def squad(ctx: AppContext, actors: dict[Role, Actor]) -> Squad:
    admin = actors[Role.ADMIN]
    with ctx.unit_of_work(admin, "准备办案人员") as s:
        officers = {
            "陈志强": _member(s, admin, "陈志强", StaffCategory.CIVIL_SERVANT, D(2029, 12, 31)),
            "李明": _member(s, admin, "李明", StaffCategory.CAREER, D(2029, 12, 31)),
            "周平": _member(s, admin, "周平", StaffCategory.CIVIL_SERVANT, D(2029, 12, 31)),
            "赵协": _member(s, admin, "赵协", StaffCategory.AUXILIARY, D(2029, 12, 31)),
            "孙过期": _member(s, admin, "孙过期", StaffCategory.CIVIL_SERVANT, D(2026, 2, 28)),
        }
        party_id = create_party(s, admin, PartyInput(PartyKind.PERSON, "王某", id_number=_id_number())).id
    return Squad(
        ctx,
        admin,
        actors[Role.LEADER],
        actors[Role.OFFICER],
        actors[Role.CLERK],
        actors[Role.LEGAL],
        officers,
        party_id,
    )


def _qualified_reviewer(sq: Squad) -> Actor:
    """A legal reviewer whose user is linked to a member holding a 法律职业资格."""
    with sq.ctx.unit_of_work(sq.admin) as s:
        member = create_member(
            s,
            sq.admin,
            MemberInput(
                "吴法审", _id_number(), StaffCategory.CIVIL_SERVANT, legal_qualification_no="A20191100000123"
            ),
        )
        u = create_user(s, sq.admin, "legal_qualified", "吴法审", Role.LEGAL, "test1234", member_id=member.id)
    return Actor(u.id, u.username, u.display_name, Role.LEGAL)


def _open(
    sq: Squad,
    item: str = "SZ-001",
    on: dt.date = MARCH_2,
    ended: dt.date | None = MARCH_1,
    party_id: str | None = None,
) -> CaseView:
    with sq.ctx.unit_of_work(sq.officer) as s:
        lead = register_lead(
            s,
            sq.officer,
            LeadInput(
                LeadSource.PATROL,
                "车陂路 123 号门前",
                "占道堆放建材",
                received_at=dt.datetime.combine(on, dt.time(9)),
            ),
        )
        return open_case_from_lead(
            s,
            sq.officer,
            lead.id,
            CaseOpening(
                item, (party_id or sq.party_id,), "擅自占用城市道路堆放物料", on, violation_ended=ended
            ),
        )


def _file_and_investigate(sq: Squad, case: CaseView, filed: dt.date, investigated: dt.date) -> None:
    with sq.ctx.unit_of_work(sq.leader) as s:
        file_case(s, sq.leader, case.id, filed)
    with sq.ctx.unit_of_work(sq.officer) as s:
        record_investigation(
            s,
            sq.officer,
            case.id,
            investigated,
            [sq.officers["陈志强"], sq.officers["李明"]],
            ["现场检查笔录", "询问笔录", "现场照片 6 张"],
        )


def _to_notice(sq: Squad, tier: str, fine_yuan: int, notified: dt.date = MARCH_12) -> CaseView:
    case = _open(sq)
    _file_and_investigate(sq, case, D(2026, 3, 3), D(2026, 3, 4))
    with sq.ctx.unit_of_work(sq.leader) as s:
        conclude(
            s,
            sq.leader,
            case.id,
            D(2026, 3, 10),
            PenaltyProposal(Outcome.PENALTY, tier, yuan(fine_yuan), FINE),
        )
    with sq.ctx.unit_of_work(sq.clerk) as s:
        view = get_case(s, sq.clerk, case.id)
        if view.next[0].step is StepKind.LEGAL_REVIEW and fine_yuan < 5000:
            mark_not_applicable(
                s, sq.clerk, case.id, StepKind.LEGAL_REVIEW, D(2026, 3, 11), "未达法制审核起点"
            )
    if fine_yuan >= 5000:
        reviewer = _qualified_reviewer(sq)
        with sq.ctx.unit_of_work(reviewer) as s:
            legal_review(s, reviewer, case.id, D(2026, 3, 11), "事实清楚，证据确凿，适用依据正确，同意。")
    with sq.ctx.unit_of_work(sq.officer) as s:
        return prior_notice(s, sq.officer, case.id, notified, notified)


# ---- whole cases ------------------------------------------------------------------------------


def test_ordinary_case_with_legal_review_and_hearing_from_lead_to_archive(squad: Squad) -> None:
    sq = squad
    case = _open(sq)
    assert case.number == "车综执立〔2026〕第0001号"
    assert case.stage is CaseStage.OPENED and case.next[0].step is StepKind.FILING
    with sq.ctx.read() as s:
        assert get_lead(s, sq.officer, case.lead_id or "").status is LeadStatus.FILED
    _file_and_investigate(sq, case, D(2026, 3, 3), D(2026, 3, 4))
    with sq.ctx.unit_of_work(sq.leader) as s:
        # 严重 tier: 10,000–20,000 元; 15,000 元 triggers legal review and hearing rights
        conclude(
            s, sq.leader, case.id, D(2026, 3, 10), PenaltyProposal(Outcome.PENALTY, "严重", yuan(15000), FINE)
        )
    with sq.ctx.unit_of_work(sq.clerk) as s, pytest.raises(ValidationError) as err:
        mark_not_applicable(s, sq.clerk, case.id, StepKind.LEGAL_REVIEW, D(2026, 3, 11), "不需要")
    assert "须经法制审核" in err.value.message and "15,000 元" in err.value.message
    # the legal user of the fixture holds no 法律职业资格: refused, naming the reviewer
    with sq.ctx.unit_of_work(sq.legal) as s, pytest.raises(ValidationError) as err:
        legal_review(s, sq.legal, case.id, D(2026, 3, 11), "同意")
    assert sq.legal.display_name in err.value.message and "法律职业资格" in err.value.message
    reviewer = _qualified_reviewer(sq)
    with sq.ctx.unit_of_work(reviewer) as s:
        legal_review(s, reviewer, case.id, D(2026, 3, 11), "事实清楚，证据确凿，同意。")
    with sq.ctx.unit_of_work(sq.officer) as s:
        view = prior_notice(s, sq.officer, case.id, D(2026, 3, 12), D(2026, 3, 12))
    assert view.hearing_rights and view.notice_fine_fen == yuan(15000)
    with sq.ctx.unit_of_work(sq.officer) as s:
        record_statement(
            s,
            sq.officer,
            case.id,
            D(2026, 3, 13),
            statement="已自行清理，请求从轻",
            review="经复核，当事人已改正，予以采纳部分意见",
            hearing_requested=True,
        )
    # the chair must not be an investigator, and the notice must come 7 working days ahead
    with sq.ctx.unit_of_work(sq.officer) as s, pytest.raises(ValidationError, match="陈志强参与了本案调查"):
        record_hearing(
            s,
            sq.officer,
            case.id,
            D(2026, 3, 30),
            chair_member_id=sq.officers["陈志强"],
            notified_on=D(2026, 3, 18),
            record="听证笔录",
        )
    with (
        sq.ctx.unit_of_work(sq.officer) as s,
        pytest.raises(ValidationError, match="最迟应于 2026-03-19 通知"),
    ):
        record_hearing(
            s,
            sq.officer,
            case.id,
            D(2026, 3, 30),
            chair_member_id=sq.officers["周平"],
            notified_on=D(2026, 3, 20),
            record="听证笔录",
        )
    with sq.ctx.unit_of_work(sq.officer) as s:
        record_hearing(
            s,
            sq.officer,
            case.id,
            D(2026, 3, 30),
            chair_member_id=sq.officers["周平"],
            notified_on=D(2026, 3, 18),
            record="当事人对事实无异议，请求从轻",
        )
        mark_not_applicable(
            s, sq.officer, case.id, StepKind.COLLECTIVE_DISCUSSION, D(2026, 3, 31), "非重大复杂案件"
        )
    with sq.ctx.unit_of_work(sq.leader) as s:
        view = decide(
            s,
            sq.leader,
            case.id,
            D(2026, 4, 1),
            PenaltyProposal(Outcome.PENALTY, "严重", yuan(12000), FINE, reasons="当事人已改正，从轻"),
        )
    assert view.outcome is Outcome.PENALTY and view.fine_fen == yuan(12000)
    with sq.ctx.unit_of_work(sq.officer) as s:
        serve(s, sq.officer, case.id, D(2026, 4, 1), "直接送达", "王某")
        with pytest.raises(ValidationError, match="应缴 12,000 元"):
            record_payment(s, sq.officer, case.id, D(2026, 4, 10), yuan(10000), "NO.001")
        record_payment(s, sq.officer, case.id, D(2026, 4, 10), yuan(12000), "NO.001")
    with sq.ctx.unit_of_work(sq.leader) as s:
        close_case(s, sq.leader, case.id, D(2026, 4, 13))
    with sq.ctx.unit_of_work(sq.clerk) as s:
        view = archive_case(s, sq.clerk, case.id, D(2026, 4, 14))
    assert view.stage is CaseStage.ARCHIVED and view.next == ()
    assert [st.kind for st in view.steps] == [
        StepKind.FILING,
        StepKind.INVESTIGATION,
        StepKind.CONCLUSION,
        StepKind.LEGAL_REVIEW,
        StepKind.PRIOR_NOTICE,
        StepKind.STATEMENT,
        StepKind.HEARING,
        StepKind.COLLECTIVE_DISCUSSION,
        StepKind.DECISION,
        StepKind.SERVICE,
        StepKind.EXECUTION,
        StepKind.CLOSURE,
        StepKind.ARCHIVE,
    ]
    investigation = view.steps[1]
    assert set(investigation.officer_ids) == {sq.officers["陈志强"], sq.officers["李明"]}
    assert view.steps[0].approved_by_name == sq.leader.display_name
    assert view.steps[7].status is StepStatus.NOT_APPLICABLE and view.steps[7].reason == "非重大复杂案件"

    # reopening: leader only, with a reason; closure and archive are kept, marked withdrawn
    with sq.ctx.unit_of_work(sq.officer) as s, pytest.raises(PermissionDenied):
        reopen_case(s, sq.officer, case.id, D(2026, 5, 6), "复议机关责令重作")
    with sq.ctx.unit_of_work(sq.leader) as s, pytest.raises(ValidationError, match="须写明理由"):
        reopen_case(s, sq.leader, case.id, D(2026, 5, 6), " ")
    with sq.ctx.unit_of_work(sq.leader) as s:
        view = reopen_case(s, sq.leader, case.id, D(2026, 5, 6), "发现缴款凭证登记错误")
    assert view.stage is CaseStage.EXECUTED and view.closed_on is None
    assert [st.status for st in view.steps[-2:]] == [StepStatus.WITHDRAWN, StepStatus.WITHDRAWN]
    with sq.ctx.unit_of_work(sq.leader) as s:
        assert close_case(s, sq.leader, case.id, D(2026, 5, 7)).stage is CaseStage.CLOSED

    with sq.ctx.read() as s:
        assert verify(s).ok
        audited = set(s.scalars(select(AuditEntry.entity_id).where(AuditEntry.entity == "case_steps")))
        assert {st.id for st in get_case(s, sq.officer, case.id).steps} <= audited


def test_summary_case_on_the_spot(squad: Squad) -> None:
    sq = squad
    two = (sq.officers["陈志强"], sq.officers["李明"])

    def spot(fine_yuan: int, collected: bool = False, tier: str = "一般") -> SpotDecision:
        return SpotDecision(
            "SR-001",
            sq.party_id,
            "占道经营",
            D(2026, 3, 5),
            two,
            FINE,
            yuan(fine_yuan),
            tier,
            violation_ended=D(2026, 3, 5),
            collected_on_spot=collected,
        )

    with sq.ctx.unit_of_work(sq.officer) as s, pytest.raises(ValidationError) as err:
        decide_on_the_spot(s, sq.officer, spot(250))
    assert "250 元" in err.value.message and "200 元" in err.value.message and "普通程序" in err.value.message
    with sq.ctx.unit_of_work(sq.officer) as s, pytest.raises(ValidationError) as err:
        decide_on_the_spot(s, sq.officer, spot(150, collected=True))
    assert "150 元" in err.value.message and "100 元" in err.value.message
    with sq.ctx.unit_of_work(sq.officer) as s:
        case = decide_on_the_spot(s, sq.officer, spot(100, collected=True))
    assert case.number == "车综执简〔2026〕第0001号" and case.stage is CaseStage.SPOT_DECIDED
    with sq.ctx.unit_of_work(sq.clerk) as s:
        # the cash collected on the spot is handed in before the decision is filed (APL 71)
        hand_over_cash(s, sq.clerk, case.id, D(2026, 3, 6), "JK-0001")
        assert file_spot_record(s, sq.clerk, case.id, D(2026, 3, 6)).stage is CaseStage.CLOSED
        assert archive_case(s, sq.clerk, case.id, D(2026, 3, 9)).stage is CaseStage.ARCHIVED
    with sq.ctx.read() as s:
        assert verify(s).ok


def _no_penalty_walk(sq: Squad, case: CaseView, outcome: Outcome, transfer_to: str = "") -> CaseView:
    _file_and_investigate(sq, case, D(2026, 3, 3), D(2026, 3, 4))
    with sq.ctx.unit_of_work(sq.leader) as s:
        conclude(s, sq.leader, case.id, D(2026, 3, 10), PenaltyProposal(outcome, transfer_to=transfer_to))
    with sq.ctx.unit_of_work(sq.officer) as s:
        for step, reason in (
            (StepKind.LEGAL_REVIEW, "不罚款，未触发法制审核"),
            (StepKind.PRIOR_NOTICE, "拟不予处罚"),
            (StepKind.STATEMENT, "未告知，无陈述申辩"),
            (StepKind.HEARING, "无听证权利"),
            (StepKind.COLLECTIVE_DISCUSSION, "非重大复杂案件"),
        ):
            mark_not_applicable(s, sq.officer, case.id, step, D(2026, 3, 11), reason)
    with sq.ctx.unit_of_work(sq.leader) as s:
        return decide(
            s,
            sq.leader,
            case.id,
            D(2026, 3, 12),
            PenaltyProposal(outcome, reasons="情节", transfer_to=transfer_to),
        )


def test_first_violation_no_penalty_case_and_a_second_violation(squad: Squad) -> None:
    sq = squad
    case = _open(sq, item="SR-001")
    view = _no_penalty_walk(sq, case, Outcome.FIRST_VIOLATION_NO_PENALTY)
    assert view.outcome is Outcome.FIRST_VIOLATION_NO_PENALTY and view.fine_fen == 0
    with sq.ctx.unit_of_work(sq.officer) as s:
        serve(s, sq.officer, case.id, D(2026, 3, 12), "直接送达")
        mark_not_applicable(s, sq.officer, case.id, StepKind.EXECUTION, D(2026, 3, 12), "不予处罚，无需执行")
    with sq.ctx.unit_of_work(sq.leader) as s:
        assert close_case(s, sq.leader, case.id, D(2026, 3, 13)).stage is CaseStage.CLOSED
    second = _open(sq, item="SR-001", on=D(2026, 3, 2))
    with pytest.raises(ValidationError) as err:
        _no_penalty_walk(sq, second, Outcome.FIRST_VIOLATION_NO_PENALTY)
    assert case.number in err.value.message and "首违不罚" in err.value.message


def test_transfer_case(squad: Squad) -> None:
    sq = squad
    with pytest.raises(ValidationError, match="移送须写明接收机关"):
        _no_penalty_walk(sq, _open(sq), Outcome.TRANSFER)
    case = _open(sq)
    view = _no_penalty_walk(sq, case, Outcome.TRANSFER, transfer_to="广州市公安局天河区分局")
    assert view.outcome is Outcome.TRANSFER
    with sq.ctx.unit_of_work(sq.officer) as s:
        mark_not_applicable(s, sq.officer, case.id, StepKind.SERVICE, D(2026, 3, 12), "已移送公安机关")
        mark_not_applicable(s, sq.officer, case.id, StepKind.EXECUTION, D(2026, 3, 12), "已移送")
    with sq.ctx.unit_of_work(sq.leader) as s:
        assert close_case(s, sq.leader, case.id, D(2026, 3, 13)).stage is CaseStage.CLOSED
    with sq.ctx.read() as s:
        assert verify(s).ok


# ---- each rule refused and allowed ------------------------------------------------------------


def test_investigation_officers(squad: Squad) -> None:
    sq = squad
    case = _open(sq, on=D(2026, 2, 9), ended=D(2026, 2, 8))
    with sq.ctx.unit_of_work(sq.leader) as s:
        file_case(s, sq.leader, case.id, D(2026, 2, 10))

    def investigate(names: list[str], on: dt.date) -> None:
        with sq.ctx.unit_of_work(sq.officer) as s:
            record_investigation(
                s, sq.officer, case.id, on, [sq.officers[n] for n in names], ["现场检查笔录"]
            )

    with pytest.raises(ValidationError) as err:
        investigate(["陈志强"], D(2026, 3, 4))
    assert "至少 2 名" in err.value.message and "陈志强" in err.value.message
    with pytest.raises(ValidationError) as err:
        investigate(["陈志强", "赵协"], D(2026, 3, 4))
    assert "赵协" in err.value.message and "辅助人员" in err.value.message
    with pytest.raises(ValidationError) as err:
        investigate(["陈志强", "孙过期"], D(2026, 3, 4))
    assert "孙过期" in err.value.message and "2026-02-28" in err.value.message
    # the same officer on a day his certificate was still valid
    investigate(["陈志强", "孙过期"], D(2026, 2, 20))
    with sq.ctx.read() as s:
        assert get_case(s, sq.officer, case.id).stage is CaseStage.INVESTIGATED


def test_fine_outside_the_tier_is_refused_inside_allowed(squad: Squad) -> None:
    sq = squad
    case = _open(sq)
    _file_and_investigate(sq, case, D(2026, 3, 3), D(2026, 3, 4))
    with sq.ctx.unit_of_work(sq.leader) as s, pytest.raises(ValidationError) as err:
        conclude(
            s, sq.leader, case.id, D(2026, 3, 10), PenaltyProposal(Outcome.PENALTY, "一般", yuan(15000), FINE)
        )
    assert "15,000 元" in err.value.message and "一般" in err.value.message
    with sq.ctx.unit_of_work(sq.leader) as s, pytest.raises(ValidationError, match="超出法定幅度"):
        conclude(
            s, sq.leader, case.id, D(2026, 3, 10), PenaltyProposal(Outcome.PENALTY, "严重", yuan(25000), FINE)
        )
    with sq.ctx.unit_of_work(sq.leader) as s:
        view = conclude(
            s, sq.leader, case.id, D(2026, 3, 10), PenaltyProposal(Outcome.PENALTY, "一般", yuan(3000), FINE)
        )
    assert view.fine_fen == yuan(3000) and view.tier_name == "一般"


def test_no_decision_before_the_hearing_window_has_passed(squad: Squad) -> None:
    sq = squad
    case = _to_notice(sq, "严重", 12000)  # hearing rights; notice received Thursday 2026-03-12
    with sq.ctx.unit_of_work(sq.officer) as s:
        record_statement(s, sq.officer, case.id, D(2026, 3, 13), waived=True)
        mark_not_applicable(s, sq.officer, case.id, StepKind.HEARING, D(2026, 3, 13), "当事人未申请听证")
        mark_not_applicable(s, sq.officer, case.id, StepKind.COLLECTIVE_DISCUSSION, D(2026, 3, 13), "非重大")
    decision = PenaltyProposal(Outcome.PENALTY, "严重", yuan(12000), FINE)
    with sq.ctx.unit_of_work(sq.leader) as s, pytest.raises(ValidationError) as err:
        decide(s, sq.leader, case.id, D(2026, 3, 19), decision)
    assert "2026-03-19" in err.value.message and "听证" in err.value.message
    with sq.ctx.unit_of_work(sq.leader) as s:
        assert decide(s, sq.leader, case.id, D(2026, 3, 20), decision).stage is CaseStage.DECIDED


def test_no_heavier_penalty_after_the_statement(squad: Squad) -> None:
    sq = squad
    case = _to_notice(sq, "一般", 3000)  # no hearing rights, no legal review
    assert not case.hearing_rights
    with sq.ctx.unit_of_work(sq.officer) as s:
        record_statement(s, sq.officer, case.id, D(2026, 3, 13), statement="不服", review="经复核，不予采纳")
        mark_not_applicable(s, sq.officer, case.id, StepKind.HEARING, D(2026, 3, 13), "不属听证范围")
        mark_not_applicable(s, sq.officer, case.id, StepKind.COLLECTIVE_DISCUSSION, D(2026, 3, 13), "非重大")
    with sq.ctx.unit_of_work(sq.leader) as s, pytest.raises(ValidationError) as err:
        decide(
            s, sq.leader, case.id, D(2026, 3, 16), PenaltyProposal(Outcome.PENALTY, "一般", yuan(4000), FINE)
        )
    assert (
        "4,000 元" in err.value.message
        and "3,000 元" in err.value.message
        and "第四十五条" in err.value.message
    )
    with sq.ctx.unit_of_work(sq.leader) as s:
        view = decide(
            s, sq.leader, case.id, D(2026, 3, 16), PenaltyProposal(Outcome.PENALTY, "一般", yuan(3000), FINE)
        )
    assert view.fine_fen == yuan(3000)


def test_limitation_period_checked_at_filing(squad: Squad) -> None:
    sq = squad
    late = _open(sq, ended=D(2024, 1, 10))
    with sq.ctx.unit_of_work(sq.leader) as s, pytest.raises(ValidationError) as err:
        file_case(s, sq.leader, late.id, D(2026, 3, 3))
    assert "2026-01-10" in err.value.message and late.number in err.value.message
    in_time = _open(sq, ended=D(2024, 6, 1))
    with sq.ctx.unit_of_work(sq.leader) as s:
        assert file_case(s, sq.leader, in_time.id, D(2026, 3, 3)).stage is CaseStage.FILED


def test_skipping_a_step_is_refused(squad: Squad) -> None:
    sq = squad
    case = _open(sq)
    with sq.ctx.unit_of_work(sq.officer) as s, pytest.raises(ValidationError, match="当前应先办理“立案”"):
        record_investigation(s, sq.officer, case.id, D(2026, 3, 3), list(sq.officers.values())[:2], ["笔录"])
    with sq.ctx.unit_of_work(sq.leader) as s:
        file_case(s, sq.leader, case.id, D(2026, 3, 3))
    with sq.ctx.unit_of_work(sq.leader) as s, pytest.raises(ValidationError, match="当前应先办理“调查取证”"):
        conclude(
            s, sq.leader, case.id, D(2026, 3, 4), PenaltyProposal(Outcome.PENALTY, "一般", yuan(3000), FINE)
        )
    with sq.ctx.read() as s:
        assert len(s.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()) == 1


@pytest.mark.parametrize("role", [Role.OFFICER, Role.CLERK, Role.LEGAL])
def test_only_the_leader_approves(squad: Squad, actors: dict[Role, Actor], role: Role) -> None:
    sq = squad
    case = _open(sq)
    actor = actors[role]
    with sq.ctx.unit_of_work(actor) as s, pytest.raises(PermissionDenied) as err:
        file_case(s, actor, case.id, D(2026, 3, 3))
    assert actor.display_name in err.value.message and "审批案件" in err.value.message
    with sq.ctx.unit_of_work(sq.leader) as s:
        assert (
            file_case(s, sq.leader, case.id, D(2026, 3, 3)).steps[0].approved_by_name
            == sq.leader.display_name
        )


def test_electronic_service_needs_the_partys_signed_consent(ctx: AppContext, admin: Actor) -> None:
    """APL 61 para. 2: e-mail or fax only where the party agreed in writing; refused otherwise."""
    from case_builders import decide_case, make_crew, open_and_file

    crew = make_crew(ctx, admin)
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    decide_case(crew, case_id, D(2026, 3, 10))
    with ctx.unit_of_work(admin) as s:
        with pytest.raises(ValidationError, match="确认书") as refused:
            serve(s, admin, case_id, D(2026, 3, 11), "电子送达", "wang@example.com")
        assert refused.value.field == "method"
    with ctx.unit_of_work(admin) as s:
        view = serve(
            s, admin, case_id, D(2026, 3, 11), "电子送达", "wang@example.com", electronic_consent=True
        )
    assert view.served_on == D(2026, 3, 11) and view.steps[-1].data["electronic_consent"] is True
