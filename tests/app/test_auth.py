"""Roles and login. Every role × every permission is tried against a real service call, and the
outcome must match ``MATRIX``; login lockout is stored, committed and audited."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import list_entries, verify
from app.auth.roles import MATRIX, SYSTEM, Actor, Permission, Role
from app.auth.service import (
    authenticate,
    change_password,
    create_user,
    list_users,
    set_user_active,
    verify_password,
)
from app.backup import backup_now, restore
from app.calendar import calendar_for, set_override
from app.cases import (
    CaseOpening,
    CaseView,
    Outcome,
    PenaltyProposal,
    conclude,
    file_case,
    legal_review,
    open_case_from_lead,
    record_investigation,
)
from app.certificates import CertificateInput, add_certificate
from app.context import AppContext, open_data_dir
from app.errors import AccountLocked, AuthenticationFailed, ConflictError, PermissionDenied, ValidationError
from app.leads import LeadInput, list_leads, register_lead
from app.parties import PartyInput, create_party, search_parties
from app.personnel.excel import export_ledgers, preview_import
from app.personnel.idcard import check_digit, mask_id_number
from app.personnel.members import MemberInput, MemberQuery, create_member, search_members
from app.reference import PenaltyType, Thresholds, set_thresholds
from app.rosters.data import (
    LeaveInput,
    add_leave,
    ensure_default_shift_types,
    get_or_create_roster,
    publish_roster,
    set_cell,
)
from app.squad import SquadInput, get_squad, initialize, update_squad
from app.training import TrainingInput, add_training
from db.models import AuditEntry, ChangeLogEntry, User
from db.models.leads import LeadSource
from db.models.parties import PartyKind
from db.models.personnel import CertificateKind, StaffCategory
from db.models.rosters import LeaveKind

PASSWORD = "test1234"
_serial = itertools.count(100)


def new_id_number() -> str:
    first17 = f"44010619850101{next(_serial):03d}"
    return first17 + check_digit(first17)


ADMIN_NAME = "管理员"


@dataclass
class Shared:
    """One squad with a user per role, shared by the matrix tests (argon2 makes users costly)."""

    ctx: AppContext
    actors: dict[Role, Actor]
    member_id: str
    id_number: str


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    ctx = open_data_dir(tmp_path_factory.mktemp("matrix") / "data")
    admin = initialize(
        ctx, SquadInput("测试中队", "某某街道办事处", "440106", "测综执"), "admin", ADMIN_NAME, PASSWORD
    )
    actors = {Role.ADMIN: admin}
    number = "44010619900101123" + check_digit("44010619900101123")
    with ctx.unit_of_work(admin) as s:
        for role in Role:
            if role is not Role.ADMIN:
                u = create_user(s, admin, f"user_{role.value}", f"{role.label}甲", role, PASSWORD)
                actors[role] = Actor(u.id, u.username, u.display_name, role)
        member_id = create_member(s, admin, MemberInput("陈志强", number, StaffCategory.CIVIL_SERVANT)).id
    yield Shared(ctx, actors, member_id, number)
    ctx.close()


# ---- one real service call per permission -------------------------------------------------------
# Each returns normally when allowed and raises PermissionDenied when not; VIEW_FULL_ID returns
# whether the full number was shown.

Attempt = Callable[[AppContext, Actor, str], Any]


def _view_personnel(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.read() as s:
        assert member_id in [m.id for m in search_members(s, actor)]


def _edit_personnel(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        create_member(s, actor, MemberInput("新队员", new_id_number(), StaffCategory.CAREER))


def _view_full_id(ctx: AppContext, actor: Actor, member_id: str) -> bool:
    with ctx.read() as s:
        (view,) = search_members(s, actor, MemberQuery(text="陈志强"))
    if "*" in view.id_number:
        assert re.fullmatch(r"440106\*{8}\d{3}[\dX]", view.id_number), view.id_number
        return False
    assert check_digit(view.id_number[:17]) == view.id_number[17]
    return True


def _edit_certificates(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        add_certificate(
            s,
            actor,
            CertificateInput(
                member_id,
                CertificateKind.ENFORCEMENT,
                f"粤{next(_serial)}",
                valid_from=dt.date(2024, 1, 1),
                valid_to=dt.date(2029, 1, 1),
            ),
        )


def _edit_training(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        add_training(s, actor, TrainingInput(member_id, dt.date(2026, 3, 2), "行政处罚法专题培训", 4))


def _import_ledger(ctx: AppContext, actor: Actor, member_id: str) -> None:
    path = ctx.data_dir / f"ledger{next(_serial)}.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "身份证号", "人员类别"])
    wb.active.append(["周新", "11010519491231002X", "公务员"])
    wb.save(path)
    with ctx.read() as s:
        preview = preview_import(s, actor, path)
    assert len(preview.rows) == 1


def _export_ledger(ctx: AppContext, actor: Actor, member_id: str) -> None:
    path = ctx.data_dir / f"export{next(_serial)}.xlsx"
    with ctx.read() as s:
        assert export_ledgers(s, actor, ctx.settings, path) >= 1
    assert path.is_file()


def _view_audit(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.read() as s:
        assert any(e.entity_id == member_id for e in list_entries(s, actor))


def _manage_users(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        assert list_users(s, actor)
        create_user(s, actor, f"new{next(_serial)}", "新用户", Role.OFFICER, PASSWORD)


def _edit_settings(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        set_override(s, actor, dt.date(2026, 3, 3), False, "停工")
    with ctx.unit_of_work(actor) as s:
        squad = get_squad(s, ctx.require_squad())
        update_squad(
            s, actor, squad.id, SquadInput(squad.name + "（改）", squad.enforcing_body, "440106", "车综执")
        )


def _backup(ctx: AppContext, actor: Actor, member_id: str) -> None:
    info = backup_now(ctx.db_path, ctx.backup_dir, actor, target=ctx.backup_dir / f"b{next(_serial)}.sqlite3")
    assert info.path.is_file()


def _view_cases(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.read() as s:
        search_parties(s, actor, "王")
        list_leads(s, actor)


def _register_leads(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        register_lead(s, actor, LeadInput(LeadSource.PATROL, "车陂路 1 号", "流动摊贩占道经营"))


def _edit_parties(ctx: AppContext, actor: Actor, member_id: str) -> None:
    first17 = f"44010619800101{next(_serial) % 1000:03d}"
    with ctx.unit_of_work(actor) as s:
        create_party(s, actor, PartyInput(PartyKind.PERSON, "王某", id_number=first17 + check_digit(first17)))


def _edit_reference(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        set_thresholds(s, actor, Thresholds(hearing_person_fen=next(_serial) * 10_000))


def _opened_case(s: Session, actor: Actor) -> CaseView:
    """A lead and a party registered by the program, and the case opened by ``actor``; written in
    the caller's unit of work, so a refusal rolls it all back."""
    lead = register_lead(s, SYSTEM, LeadInput(LeadSource.PATROL, "车陂路 2 号", "占道堆放建材"))
    first17 = f"44010619790101{next(_serial) % 1000:03d}"
    party = create_party(
        s, SYSTEM, PartyInput(PartyKind.PERSON, "李某", id_number=first17 + check_digit(first17))
    )
    return open_case_from_lead(
        s, actor, lead.id, CaseOpening("SZ-001", (party.id,), "擅自占用城市道路", dt.date(2026, 3, 2))
    )


def _officer(s: Session, name: str, qualification: str = "") -> str:
    member_id = create_member(
        s,
        SYSTEM,
        MemberInput(name, new_id_number(), StaffCategory.CIVIL_SERVANT, legal_qualification_no=qualification),
    ).id
    add_certificate(
        s,
        SYSTEM,
        CertificateInput(
            member_id,
            CertificateKind.ENFORCEMENT,
            f"粤{next(_serial)}",
            valid_from=dt.date(2024, 1, 1),
            valid_to=dt.date(2029, 1, 1),
        ),
    )
    return member_id


def _handle_cases(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        _opened_case(s, actor)


def _approve_cases(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        case = _opened_case(s, SYSTEM)
        file_case(s, actor, case.id, dt.date(2026, 3, 3))


def _legal_review(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        case = _opened_case(s, SYSTEM)
        file_case(s, SYSTEM, case.id, dt.date(2026, 3, 3))
        officers = [_officer(s, "甲队员"), _officer(s, "乙队员")]
        record_investigation(s, SYSTEM, case.id, dt.date(2026, 3, 4), officers, ["现场检查笔录"])
        proposal = PenaltyProposal(Outcome.PENALTY, "一般", 800_000, (PenaltyType.FINE,))
        conclude(s, SYSTEM, case.id, dt.date(2026, 3, 5), proposal)
        # the reviewer must hold a 法律职业资格: link this user to a qualified member first
        user = s.get(User, actor.user_id)
        assert user is not None
        user.member_id = _officer(s, "丙法审", qualification="A20191100000999")
        legal_review(s, actor, case.id, dt.date(2026, 3, 6), "同意")


def _edit_rosters(ctx: AppContext, actor: Actor, member_id: str) -> None:
    day = dt.date(2027, 1, 1) + dt.timedelta(days=next(_serial))  # leaves of one member may not overlap
    with ctx.unit_of_work(actor) as s:
        add_leave(s, actor, LeaveInput(member_id, LeaveKind.ANNUAL, day, day))


def _publish_rosters(ctx: AppContext, actor: Actor, member_id: str) -> None:
    with ctx.unit_of_work(actor) as s:
        roster = get_or_create_roster(s, SYSTEM, "2027-02")
        early = next(t for t in ensure_default_shift_types(s, SYSTEM) if t.code == "早")
        set_cell(s, SYSTEM, roster.id, member_id, dt.date(2027, 2, 1), early.id, reason="调班")
        publish_roster(s, actor, roster.id)


def _sync(ctx: AppContext, actor: Actor, member_id: str) -> None:
    from app.sync import client

    client.set_auto_minutes(ctx, actor, 30)


def _resolve_conflicts(ctx: AppContext, actor: Actor, member_id: str) -> None:
    from app.sync import client
    from db.models import SyncConflict

    with ctx.unit_of_work(SYSTEM) as s:
        conflict = SyncConflict(
            squad_id=ctx.require_squad(),
            table_name="members",
            row_id=member_id,
            winner_version=2,
            winner_by="device-b",
            loser_version=2,
            loser_by="device-a",
            loser_payload="{}",
            detected_at=dt.datetime(2026, 5, 1, 9, 0),
        )
        s.add(conflict)
        s.flush()
        conflict_id = conflict.id
    client.resolve_conflict(ctx, actor, conflict_id, client.KEEP_CURRENT)


ATTEMPTS: dict[Permission, Attempt] = {
    Permission.VIEW_PERSONNEL: _view_personnel,
    Permission.EDIT_PERSONNEL: _edit_personnel,
    Permission.VIEW_FULL_ID: _view_full_id,
    Permission.EDIT_CERTIFICATES: _edit_certificates,
    Permission.EDIT_TRAINING: _edit_training,
    Permission.IMPORT_LEDGER: _import_ledger,
    Permission.EXPORT_LEDGER: _export_ledger,
    Permission.VIEW_AUDIT: _view_audit,
    Permission.MANAGE_USERS: _manage_users,
    Permission.EDIT_SETTINGS: _edit_settings,
    Permission.BACKUP: _backup,
    Permission.VIEW_CASES: _view_cases,
    Permission.REGISTER_LEADS: _register_leads,
    Permission.EDIT_PARTIES: _edit_parties,
    Permission.EDIT_REFERENCE: _edit_reference,
    Permission.HANDLE_CASES: _handle_cases,
    Permission.APPROVE_CASES: _approve_cases,
    Permission.LEGAL_REVIEW: _legal_review,
    Permission.EDIT_ROSTERS: _edit_rosters,
    Permission.PUBLISH_ROSTERS: _publish_rosters,
    Permission.SYNC: _sync,
    Permission.RESOLVE_CONFLICTS: _resolve_conflicts,
}


def _state(ctx: AppContext) -> tuple[int, int, int]:
    with ctx.read() as s:
        changes = s.scalar(select(func.count()).select_from(ChangeLogEntry)) or 0
        audit = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
    backups = len(list(ctx.backup_dir.glob("*"))) if ctx.backup_dir.exists() else 0
    return changes, audit, backups


def _assert_denial_message(exc: PermissionDenied, actor: Actor, permission: Permission) -> None:
    assert actor.display_name in exc.message
    assert actor.role.label in exc.message
    assert permission.label in exc.message
    assert "权限" in exc.message


@pytest.mark.parametrize("permission", ATTEMPTS, ids=[p.value for p in ATTEMPTS])
def test_every_role_against_every_permission(shared: Shared, permission: Permission) -> None:
    ctx = shared.ctx
    outcome: dict[Role, bool] = {}
    for role in Role:
        actor = shared.actors[role]
        before = _state(ctx)
        try:
            shown = ATTEMPTS[permission](ctx, actor, shared.member_id)
        except PermissionDenied as exc:
            _assert_denial_message(exc, actor, permission)
            assert _state(ctx) == before, "a refused call must write nothing"
            outcome[role] = False
        else:
            outcome[role] = shown if isinstance(shown, bool) else True
    assert outcome == {role: permission in MATRIX[role] for role in Role}


def test_restore_permission(ctx: AppContext, admin: Actor, shared: Shared) -> None:
    actors = shared.actors  # restore needs no user row, only the role
    with ctx.unit_of_work(admin) as s:
        set_override(s, admin, dt.date(2026, 3, 3), False, "停工")
    source = backup_now(ctx.db_path, ctx.backup_dir, admin).path
    with ctx.unit_of_work(admin) as s:
        set_override(s, admin, dt.date(2026, 3, 3), True, "复工")
    data_dir, db_path, backup_dir = ctx.data_dir, ctx.db_path, ctx.backup_dir
    ctx.close()  # restore needs the database closed
    outcome: dict[Role, bool] = {}
    for role in Role:
        actor = actors[role]
        before = db_path.read_bytes()
        try:
            restore(db_path, backup_dir, actor, source, confirmed=True)
        except PermissionDenied as exc:
            _assert_denial_message(exc, actor, Permission.RESTORE)
            assert db_path.read_bytes() == before
            outcome[role] = False
        else:
            outcome[role] = True
    assert outcome == {role: Permission.RESTORE in MATRIX[role] for role in Role}
    reopened = open_data_dir(data_dir)
    try:
        with reopened.read() as s:
            assert not calendar_for(s).is_workday(dt.date(2026, 3, 3))  # as at backup time
    finally:
        reopened.close()


def test_matrix_is_complete_and_sensible() -> None:
    assert set(MATRIX) == set(Role)
    assert MATRIX[Role.ADMIN] == frozenset(Permission)
    assert SYSTEM.can(Permission.RESTORE)
    for role in (Role.OFFICER, Role.LEGAL):
        assert not any(
            role_can in MATRIX[role]
            for role_can in (Permission.EDIT_PERSONNEL, Permission.VIEW_FULL_ID, Permission.MANAGE_USERS)
        )
    assert set(ATTEMPTS) | {Permission.RESTORE} == set(Permission)


def test_search_shows_full_or_masked_id(shared: Shared) -> None:
    with shared.ctx.read() as s:
        query = MemberQuery(text="陈志强")
        full = search_members(s, shared.actors[Role.CLERK], query)[0].id_number
        masked = search_members(s, shared.actors[Role.OFFICER], query)[0].id_number
    assert full == shared.id_number
    assert masked == "440106********" + full[-4:] == mask_id_number(full)


# ---- login ----------------------------------------------------------------------------------

T = dt.datetime(2026, 5, 1, 9, 0)
UserFactory = Callable[[Role], Actor]


@pytest.fixture
def admin(ctx: AppContext) -> Actor:
    """The set-up administrator, taken from the users table (each argon2 hash costs time)."""
    with ctx.read() as s:
        user = s.scalar(select(User).where(User.username == "admin"))
    assert user is not None
    return Actor(user.id, user.username, user.display_name, Role(user.role))


@pytest.fixture
def user(ctx: AppContext, admin: Actor) -> UserFactory:
    """Create ``user_<role>`` with the test password through the service, on demand."""

    def make(role: Role) -> Actor:
        with ctx.unit_of_work(admin, "创建测试用户") as s:
            u = create_user(s, admin, f"user_{role.value}", f"{role.label}甲", role, PASSWORD)
        return Actor(u.id, u.username, u.display_name, role)

    return make


def test_correct_password_returns_the_actor(ctx: AppContext, user: UserFactory) -> None:
    clerk = user(Role.CLERK)
    actor = authenticate(ctx, "user_clerk", PASSWORD, now=T)
    assert actor == clerk and actor.role is Role.CLERK
    # the login name is not case-sensitive and tolerates stray spaces
    assert authenticate(ctx, " USER_Clerk ", PASSWORD, now=T) == clerk
    with ctx.read() as s:
        assert s.scalar(select(User.last_login).where(User.id == clerk.user_id)) == T


def test_wrong_passwords_count_down_then_lock(ctx: AppContext, user: UserFactory) -> None:
    officer = user(Role.OFFICER)
    for left in (4, 3, 2, 1):
        with pytest.raises(AuthenticationFailed) as err:
            authenticate(ctx, "user_officer", "wrong-pass1", now=T)
        assert not isinstance(err.value, AccountLocked)
        assert f"再输错 {left} 次" in err.value.message
    with pytest.raises(AccountLocked, match="锁定 15 分钟"):
        authenticate(ctx, "user_officer", "wrong-pass1", now=T)
    # locked: even the right password is refused
    with pytest.raises(AccountLocked, match="分钟后再试"):
        authenticate(ctx, "user_officer", PASSWORD, now=T + dt.timedelta(minutes=1))
    with pytest.raises(AccountLocked):
        authenticate(ctx, "user_officer", PASSWORD, now=T + dt.timedelta(minutes=14, seconds=59))
    # other accounts are not affected
    assert authenticate(ctx, "admin", PASSWORD, now=T).role is Role.ADMIN
    # after 15 minutes the right password works again, and the count starts afresh
    assert authenticate(ctx, "user_officer", PASSWORD, now=T + dt.timedelta(minutes=15)) == officer
    with pytest.raises(AuthenticationFailed, match="再输错 4 次"):
        authenticate(ctx, "user_officer", "wrong-pass1", now=T + dt.timedelta(minutes=16))


def test_success_resets_the_failure_count(ctx: AppContext, user: UserFactory) -> None:
    user(Role.LEGAL)
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            authenticate(ctx, "user_legal", "wrong-pass1", now=T)
    authenticate(ctx, "user_legal", PASSWORD, now=T)
    with pytest.raises(AuthenticationFailed, match="再输错 4 次"):
        authenticate(ctx, "user_legal", "wrong-pass1", now=T)


def test_failures_and_lock_survive_a_reopen(ctx: AppContext, user: UserFactory) -> None:
    user(Role.LEADER)
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            authenticate(ctx, "user_leader", "wrong-pass1", now=T)
    ctx.close()
    again = open_data_dir(ctx.data_dir)
    try:
        with pytest.raises(AuthenticationFailed, match="再输错 2 次"):
            authenticate(again, "user_leader", "wrong-pass1", now=T)
        for _ in range(2):
            with pytest.raises(AuthenticationFailed):
                authenticate(again, "user_leader", "wrong-pass1", now=T)
    finally:
        again.close()
    third = open_data_dir(ctx.data_dir)
    try:
        with pytest.raises(AccountLocked):
            authenticate(third, "user_leader", PASSWORD, now=T + dt.timedelta(minutes=5))
        assert (
            authenticate(third, "user_leader", PASSWORD, now=T + dt.timedelta(minutes=15)).role is Role.LEADER
        )
    finally:
        third.close()


def test_unknown_user(ctx: AppContext) -> None:
    with pytest.raises(AuthenticationFailed) as err:
        authenticate(ctx, "nobody", PASSWORD, now=T)
    assert not isinstance(err.value, AccountLocked)
    assert err.value.message == "登录名或密码不正确。"  # does not reveal whether the name exists


def test_weak_password_is_refused(ctx: AppContext, admin: Actor) -> None:
    for weak in ("short1", "abcdefghij", "1234567890", ""):
        with pytest.raises(ValidationError) as err, ctx.unit_of_work(admin) as s:
            create_user(s, admin, "weakling", "弱密码", Role.OFFICER, weak)
        assert err.value.field == "password" and "密码" in err.value.message
    with ctx.read() as s:
        assert [u.username for u in list_users(s, admin)] == ["admin"]


def test_duplicate_username_and_blank_names_are_refused(ctx: AppContext, admin: Actor) -> None:
    with pytest.raises(ConflictError, match="ADMIN"), ctx.unit_of_work(admin) as s:
        create_user(s, admin, "ADMIN", "另一个管理员", Role.ADMIN, PASSWORD)
    with pytest.raises(ValidationError, match="登录名"), ctx.unit_of_work(admin) as s:
        create_user(s, admin, "  ", "某人", Role.OFFICER, PASSWORD)
    with pytest.raises(ValidationError, match="姓名"), ctx.unit_of_work(admin) as s:
        create_user(s, admin, "someone", " ", Role.OFFICER, PASSWORD)


def test_deactivated_user_cannot_log_in(ctx: AppContext, admin: Actor, user: UserFactory) -> None:
    officer = user(Role.OFFICER)
    with ctx.unit_of_work(admin) as s:
        set_user_active(s, admin, officer.user_id, False)
    with pytest.raises(AuthenticationFailed) as err:
        authenticate(ctx, "user_officer", PASSWORD, now=T)
    assert not isinstance(err.value, AccountLocked)
    with ctx.unit_of_work(admin) as s:
        views = {u.username: u for u in list_users(s, admin)}
        assert views["user_officer"].active is False
        set_user_active(s, admin, officer.user_id, True)
    assert authenticate(ctx, "user_officer", PASSWORD, now=T) == officer
    with pytest.raises(ValidationError, match="不能停用自己"), ctx.unit_of_work(admin) as s:
        set_user_active(s, admin, admin.user_id, False)


def test_change_password(ctx: AppContext, user: UserFactory) -> None:
    officer, clerk = user(Role.OFFICER), user(Role.CLERK)
    with ctx.unit_of_work(officer) as s:
        change_password(s, officer, officer.user_id, "new-pass-42")
    with pytest.raises(PermissionDenied), ctx.unit_of_work(officer) as s:
        change_password(s, officer, clerk.user_id, "new-pass-42")
    with pytest.raises(ValidationError), ctx.unit_of_work(officer) as s:
        change_password(s, officer, officer.user_id, "weak")
    with pytest.raises(AuthenticationFailed):
        authenticate(ctx, "user_officer", PASSWORD, now=T)
    assert authenticate(ctx, "user_officer", "new-pass-42", now=T) == officer
    with ctx.read() as s:
        assert verify_password(s, officer, "new-pass-42")
        assert not verify_password(s, officer, PASSWORD)


def test_logins_are_audited(ctx: AppContext, admin: Actor, user: UserFactory) -> None:
    user(Role.LEGAL)
    authenticate(ctx, "admin", PASSWORD, now=T)
    with pytest.raises(AuthenticationFailed):
        authenticate(ctx, "admin", "wrong-pass1", now=T)
    with pytest.raises(AuthenticationFailed):
        authenticate(ctx, "ghost", "wrong-pass1", now=T)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            authenticate(ctx, "user_legal", "wrong-pass1", now=T)
    with ctx.read() as s:
        entries = list_entries(s, admin)
        assert verify(s).ok
    events = [(e.action, e.user_name) for e in entries if e.action in ("login", "login_failed", "locked")]
    assert ("login", admin.display_name) in events
    assert ("login_failed", "admin") in events
    assert ("login_failed", "ghost") in events
    assert ("locked", "user_legal") in events
    assert events.count(("login_failed", "user_legal")) == 4
    failed = next(e for e in entries if e.action == "login_failed" and e.user_name == "admin")
    assert "再输错" in failed.summary and failed.action_label == "登录失败"
