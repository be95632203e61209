"""The demo squad (``squaddesk --demo``) is realistic: about 40 members, their certificates and
training, three logins, a clean audit log, and a ledger that shows every colour."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select

from app.audit import verify
from app.auth.roles import Role
from app.auth.service import authenticate
from app.cases import CaseStage, Outcome, Procedure, StepKind, StepStatus, get_case
from app.cases.query import CaseQuery, search_cases
from app.certificates import Alert, list_certificates
from app.context import AppContext
from app.demo import fill_demo
from app.leads import LeadStatus, list_leads
from app.personnel.enforce import can_enforce
from app.personnel.members import count_members
from app.todos import todos
from app.training import list_training, yearly_hours
from db.models import Certificate, Member, TrainingRecord, User
from db.models.personnel import StaffCategory


@pytest.fixture
def demo(bare_ctx: AppContext) -> AppContext:
    fill_demo(bare_ctx)
    return bare_ctx


def test_demo_squad(demo: AppContext) -> None:
    today = dt.date.today()
    assert demo.squad_id is not None
    actors = {
        name: authenticate(demo, name, "squad2026") for name in ("admin", "neiqin", "duizhang", "fazhi")
    }
    assert {n: a.role for n, a in actors.items()} == {
        "admin": Role.ADMIN,
        "neiqin": Role.CLERK,
        "duizhang": Role.LEADER,
        "fazhi": Role.LEGAL,
    }
    admin = actors["admin"]
    with demo.read() as s:
        assert 35 <= count_members(s, admin) <= 45
        members = list(s.scalars(select(Member)))
        categories = {StaffCategory(m.category) for m in members}
        assert {StaffCategory.CIVIL_SERVANT, StaffCategory.AUXILIARY, StaffCategory.POLICE} <= categories
        assert len({m.id_number for m in members}) == len(members)
        assert s.scalar(select(func.count()).select_from(Certificate)) >= 20
        assert s.scalar(select(func.count()).select_from(TrainingRecord)) >= 40
        assert list_training(s, admin, today.year)

        ledger = list_certificates(s, admin, demo.settings, today)
        alerts = {c.alert for c in ledger}
        assert Alert.RED in alerts and Alert.AMBER in alerts and Alert.NONE in alerts
        assert any("暂扣" in c.alert_text for c in ledger)
        assert any("年审逾期" in c.alert_text for c in ledger)
        assert todos(s, admin, demo.settings, today)[0].level is Alert.RED

        enforcing = [m for m in members if can_enforce(s, m, today)]
        assert 15 <= len(enforcing) < len(members)
        assert all(m.category in ("civil_servant", "career") for m in enforcing)
        assert yearly_hours(s, admin, today.year, demo.settings.training_min_hours)

        report = verify(s)
    assert report.ok, report.problems
    assert report.rows_checked > len(members)


def test_demo_cases_at_every_stage(demo: AppContext) -> None:
    leader = authenticate(demo, "duizhang", "squad2026")
    legal = authenticate(demo, "fazhi", "squad2026")
    with demo.read() as s:
        # the legal reviewer is a 法制组 member holding a 法律职业资格
        user = s.scalars(select(User).where(User.username == "fazhi")).one()
        reviewer = s.get(Member, user.member_id)
        assert reviewer is not None and reviewer.legal_qualification_no and reviewer.unit == "法制组"
        rows = search_cases(s, leader, CaseQuery())
        assert 12 <= len(rows) <= 15
        stages = {r.stage for r in rows}
        assert {
            CaseStage.OPENED,
            CaseStage.FILED,
            CaseStage.INVESTIGATED,
            CaseStage.NOTIFIED,
            CaseStage.DECIDED,
            CaseStage.SERVED,
            CaseStage.CLOSED,
            CaseStage.ARCHIVED,
            CaseStage.SPOT_DECIDED,
        } <= stages
        assert {r.procedure for r in rows} == {Procedure.SUMMARY, Procedure.ORDINARY}
        outcomes = {get_case(s, leader, r.id).outcome for r in rows}
        assert {Outcome.PENALTY, Outcome.FIRST_VIOLATION_NO_PENALTY, Outcome.TRANSFER} <= outcomes
        reviewed = [
            step
            for r in rows
            for step in get_case(s, legal, r.id).steps
            if step.kind is StepKind.LEGAL_REVIEW and step.status is StepStatus.DONE
        ]
        assert reviewed and reviewed[0].recorded_by_name == reviewer.name
        statuses = {lead.status for lead in list_leads(s, leader)}
        assert {LeadStatus.REGISTERED, LeadStatus.TRANSFERRED_OUT, LeadStatus.FILED} <= statuses
        assert all(r.opened_on <= dt.date.today() for r in rows)
        report = verify(s)
    assert report.ok, report.problems


def test_demo_is_fast(bare_ctx: AppContext) -> None:
    started = time.perf_counter()
    fill_demo(bare_ctx)
    # Generous on a loaded 2-core runner; about 2 s here (four argon2 hashes included).
    assert time.perf_counter() - started < 6
