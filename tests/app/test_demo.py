"""The demo squad (``squaddesk --demo``) is realistic: about 40 members, their certificates and
training, three logins, a clean audit log, and a ledger that shows every colour."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.audit import verify
from app.auth.roles import Role
from app.auth.service import authenticate
from app.certificates import Alert, list_certificates
from app.context import AppContext
from app.demo import fill_demo
from app.personnel.enforce import can_enforce
from app.personnel.members import count_members
from app.todos import todos
from app.training import list_training, yearly_hours
from db.models import Certificate, Member, TrainingRecord
from db.models.personnel import StaffCategory


@pytest.fixture
def demo(bare_ctx: AppContext) -> AppContext:
    fill_demo(bare_ctx)
    return bare_ctx


def test_demo_squad(demo: AppContext) -> None:
    today = dt.date.today()
    assert demo.squad_id is not None
    actors = {name: authenticate(demo, name, "squad2026") for name in ("admin", "neiqin", "duizhang")}
    assert {n: a.role for n, a in actors.items()} == {
        "admin": Role.ADMIN,
        "neiqin": Role.CLERK,
        "duizhang": Role.LEADER,
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
