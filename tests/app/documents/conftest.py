"""A demo squad built once for the document tests: cases at every stage, on fixed dates — and one
more than the demo has, taken through a hearing and a collective discussion (``HEARD``)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.calendar import calendar_for
from app.cases import CaseOpening, Outcome, PenaltyProposal
from app.cases.clocks import subtract_working_days
from app.cases.service import (
    close_case,
    conclude,
    decide,
    file_case,
    legal_review,
    open_case_from_lead,
    prior_notice,
    record_collective_discussion,
    record_hearing,
    record_investigation,
    record_payment,
    record_statement,
    serve,
)
from app.context import AppContext, open_data_dir
from app.demo import DEMO_ADMIN, fill_demo
from app.leads import LeadInput, register_lead
from app.paths import DB_FILE
from app.personnel.enforce import can_enforce
from app.reference import PenaltyType
from db.models import Member, Party, User
from db.models.leads import LeadSource

TODAY = dt.date(2026, 6, 30)
#: The case added to the demo: numbered after the demo's 13 cases, though opened 60 days back.
HEARD = "车综执立〔2026〕第0014号"
PASSWORD = "squad2026"


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory, templates: dict[bool, Path]) -> Path:
    folder = tmp_path_factory.mktemp("documents-demo")
    shutil.copyfile(templates[False], folder / DB_FILE)
    ctx = open_data_dir(folder)
    fill_demo(ctx, today=TODAY)
    assert add_heard_case(ctx, TODAY) == HEARD
    ctx.close()
    return folder


def add_heard_case(ctx: AppContext, today: dt.date) -> str:
    """A fine above the hearing threshold (person: 10,000 yuan): legal review, prior notice with
    hearing rights, the party's request, a hearing chaired by the 法制组 member who did not
    investigate, the leaders' collective discussion, a lighter fine inside the same tier; served,
    paid and closed. Built through the real services, as the demo's own cases are."""
    clerk, leader, legal = (authenticate(ctx, name, PASSWORD) for name in ("neiqin", "duizhang", "fazhi"))

    def day(ago: int) -> dt.date:
        return today - dt.timedelta(days=ago)

    place = "车陂路 300 号至 306 号门前"
    with ctx.unit_of_work(leader, "听证案件") as s:
        members = list(s.scalars(select(Member).where(Member.deleted.is_(False)).order_by(Member.id)))
        officers = [m.id for m in members if can_enforce(s, m, day(70)) and can_enforce(s, m, today)]
        pair = officers[:2]
        chair = next(m.id for m in members if m.unit == "法制组" and m.id not in pair)
        boss = s.scalars(select(User.member_id).where(User.username == "duizhang")).one()
        attendees = [boss, *(i for i in officers[2:] if i not in (boss, chair))][:3]
        party = s.scalars(select(Party.id).where(Party.name == "黄志明")).one()
        lead = register_lead(
            s,
            clerk,
            LeadInput(
                LeadSource.COMPLAINT,
                place,
                "群众投诉有人在人行道上搭设摊棚经营，行人须绕行机动车道。",
                received_at=dt.datetime.combine(day(60), dt.time(10, 30)),
                reporter_name="市民王女士",
                reporter_phone="13900201234",
            ),
        )
        opening = CaseOpening(
            "SZ-001",
            (party,),
            "擅自占用城市道路搭设经营摊棚",
            day(60),
            facts=f"当事人自本年初起在{place}人行道上搭设钢架摊棚 3 个经营水果，占用城市道路约 30 平方米，"
            "未经市政工程行政主管部门批准。",
            violation_ended=day(60),
        )
        case = open_case_from_lead(s, clerk, lead.id, opening)
        file_case(s, leader, case.id, day(59))
        record_investigation(
            s,
            clerk,
            case.id,
            day(57),
            pair,
            ["现场检查笔录", "询问笔录", "现场照片 6 张"],
            note=f"现场检查发现，{place}人行道上搭有钢架摊棚 3 个，摊棚内摆放水果货架，占地约 30 平方米，"
            "行人须绕行机动车道通行；当事人在场，承认摊棚系其搭设。现场拍摄照片 6 张。",
        )
        fine = (PenaltyType.ORDER_CORRECTION, PenaltyType.FINE)
        proposal = PenaltyProposal(
            Outcome.PENALTY,
            "严重",
            1_500_000,
            fine,
            reasons="占道面积约 30 平方米，持续约两个月，影响行人通行",
        )
        conclude(s, leader, case.id, day(52), proposal)
        legal_review(
            s,
            legal,
            case.id,
            day(51),
            "执法主体合法，程序合法，事实清楚，证据确凿，适用依据正确，裁量阶次适当，同意承办机构意见。",
        )
        prior_notice(s, clerk, case.id, day(50), day(50))
        record_statement(
            s,
            clerk,
            case.id,
            day(48),
            statement="摊棚已全部拆除，经营困难，请求减轻罚款，并要求举行听证。",
            review="当事人提出的事实将在听证中核实。",
            hearing_requested=True,
        )
        # The hearing notice reaches the party at least 7 working days before the hearing (APL 64).
        notified = day(47)
        held = notified + dt.timedelta(days=9)
        while subtract_working_days(calendar_for(s), held, 7).day < notified:
            held += dt.timedelta(days=1)
        record_hearing(
            s,
            clerk,
            case.id,
            held,
            chair_member_id=chair,
            notified_on=notified,
            record="当事人到场参加听证，对占道事实和证据无异议，申辩称摊棚已于听证前全部拆除，"
            "经营困难，请求减轻罚款。案件调查人员出示了现场检查笔录、询问笔录和现场照片。"
            "当事人最后陈述：请求从轻处罚。",
        )
        discussed = held + dt.timedelta(days=1)
        record_collective_discussion(
            s,
            leader,
            case.id,
            discussed,
            attendees,
            "当事人占道面积大、持续时间长，属严重情形；听证前已全部自行拆除，在严重阶次内从轻，"
            "决定责令改正，罚款人民币壹万贰仟元。",
        )
        decided = discussed + dt.timedelta(days=1)
        decision = PenaltyProposal(
            Outcome.PENALTY,
            "严重",
            1_200_000,
            fine,
            reasons="当事人在听证前已自行拆除摊棚，在严重阶次内从轻处罚",
        )
        decide(s, leader, case.id, decided, decision)
        serve(s, clerk, case.id, decided + dt.timedelta(days=1), "直接送达", "黄志明")
        paid = decided + dt.timedelta(days=8)
        record_payment(s, clerk, case.id, paid, 1_200_000, "44010123456789")
        view = close_case(s, leader, case.id, paid + dt.timedelta(days=2), "罚款已缴纳，同意结案")
    assert view.closed_on is not None and view.closed_on <= today
    return view.number


@pytest.fixture
def demo(demo_folder: Path, tmp_path: Path) -> Iterator[AppContext]:
    """A copy of the demo folder of its own, so a test may change it."""
    folder = tmp_path / "demo"
    shutil.copytree(demo_folder, folder)
    ctx = open_data_dir(folder)
    yield ctx
    ctx.close()


@pytest.fixture
def boss(demo: AppContext) -> Actor:
    return authenticate(demo, DEMO_ADMIN[0], DEMO_ADMIN[2])
