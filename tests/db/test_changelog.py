"""The one flush hook: every insert, update and tombstone of every synced table leaves a change-log
entry (and an audit entry) in the same transaction. The test walks ``synced_tables()``, so a new
table cannot escape; rows are built generically from the column types and foreign keys."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, func, inspect, select
from sqlalchemy.orm import Session

import db.models  # noqa: F401  (registers every table)
from app.auth.roles import Actor, Role
from app.context import AppContext
from db.base import Base, Synced, synced_tables
from db.hlc import HlcStamp, HybridLogicalClock
from db.hooks import HardDeleteError
from db.ids import new_id
from db.models import AuditEntry, ChangeLogEntry, User

BASE_COLUMNS = {"id", "squad_id", "version", "updated_at", "updated_by", "deleted"}
#: Tables that stay on this machine. Any other table must be synced; adding one here is a decision.
LOCAL_ONLY = {
    "local_meta",
    "change_log",
    "audit_log",
    "case_due_index",
    # The district server's own bookkeeping (db.models.district).
    "district_squads",
    "district_devices",
    "district_enrollment_codes",
    "district_changes",
    "district_rejections",
    "district_nonces",
    "sync_conflicts",
    "district_releases",
    "district_settings",
    "district_number_blocks",
    "district_files",
}
SYNCED = synced_tables()
BY_TABLE: dict[str, type[Synced]] = {c.__tablename__: c for c in SYNCED}
_counter = itertools.count(1)


@pytest.fixture
def admin(ctx: AppContext) -> Actor:
    """The set-up administrator, taken from the users table: login (argon2, slow) is tested in test_auth."""
    with ctx.read() as s:
        user = s.scalar(select(User).where(User.username == "admin"))
    assert user is not None
    return Actor(user.id, user.username, user.display_name, Role(user.role))


def _key(cls: type[Synced], col: Column[Any]) -> str:
    return inspect(cls).get_property_by_column(col).key


def _sample(col: Column[Any]) -> Any:
    """A plausible value for a column, from its type alone."""
    n = next(_counter)
    kind = col.type.python_type
    if kind is bool:
        return True
    if kind is int:
        return n
    if kind is float:
        return n + 0.5
    if kind is dt.datetime:
        return dt.datetime(2026, 3, 1, 8, 30) + dt.timedelta(minutes=n)
    if kind is dt.date:
        return dt.date(2026, 3, 1) + dt.timedelta(days=n % 200)
    if kind is str:
        length = getattr(col.type, "length", None) or 100
        return f"v{n}"[:length]
    raise AssertionError(f"no sample value for column {col} of type {col.type}; extend _sample")


def _changed(col: Column[Any], old: Any) -> Any:
    value = _sample(col)
    if isinstance(old, bool):
        return not old
    assert value != old
    return value


def _build(session: Session, cls: type[Synced]) -> Synced:
    """A minimal valid row of ``cls``, its parents created first, every column filled."""
    values: dict[str, Any] = {}
    for col in cls.__table__.columns:
        if col.name in BASE_COLUMNS:
            continue
        fks = list(col.foreign_keys)
        if fks:
            parent_table = fks[0].column.table.name
            assert parent_table in BY_TABLE, (
                f"{cls.__tablename__}.{col.name} refers to unsynced {parent_table}"
            )
            values[_key(cls, col)] = _build(session, BY_TABLE[parent_table]).id
        else:
            values[_key(cls, col)] = _sample(col)
    obj = cls(**values)
    session.add(obj)
    session.flush()
    return obj


def _update_column(cls: type[Synced]) -> Column[Any]:
    """The first plain (non-key, non-base) column, preferring text."""
    plain = [c for c in cls.__table__.columns if c.name not in BASE_COLUMNS and not c.foreign_keys]
    assert plain, f"{cls.__tablename__} has no column to edit"
    return next((c for c in plain if c.type.python_type is str), plain[0])


def _log(session: Session, row_id: str) -> list[ChangeLogEntry]:
    return list(
        session.scalars(
            select(ChangeLogEntry).where(ChangeLogEntry.row_id == row_id).order_by(ChangeLogEntry.seq)
        )
    )


def _audit(session: Session, row_id: str) -> list[AuditEntry]:
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.entity_id == row_id).order_by(AuditEntry.seq))
    )


def _counts(ctx: AppContext) -> tuple[int, int]:
    with ctx.read() as s:
        return (
            s.scalar(select(func.count()).select_from(ChangeLogEntry)) or 0,
            s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def test_every_table_is_synced_or_declared_local() -> None:
    assert SYNCED, "no synced table found"
    names = set(Base.metadata.tables)
    assert names - LOCAL_ONLY == set(BY_TABLE), "a table is neither synced nor declared local-only"
    for cls in SYNCED:
        cols = {c.name for c in cls.__table__.columns}
        assert cols >= BASE_COLUMNS
        assert cls.label_zh, f"{cls.__name__} needs a Chinese label for audit messages"
        assert cls.__table__.c.id.primary_key


@pytest.mark.parametrize("cls", SYNCED, ids=[c.__tablename__ for c in SYNCED])
def test_insert_update_tombstone_are_logged(ctx: AppContext, admin: Actor, cls: type[Synced]) -> None:
    col = _update_column(cls)
    key = _key(cls, col)
    all_keys = {attr.key for attr in inspect(cls).column_attrs}

    with ctx.unit_of_work(admin, "插入") as s:
        obj = _build(s, cls)
        row_id = obj.id
        stamps = [obj.updated_at]
        assert obj.version == 1
    with ctx.unit_of_work(admin, "修改") as s:
        obj = s.get(cls, row_id)
        old = getattr(obj, key)
        new = _changed(col, old)
        setattr(obj, key, new)
    stamps.append(obj.updated_at)
    assert obj.version == 2
    with ctx.unit_of_work(admin, "删除") as s:
        obj = s.get(cls, row_id)
        obj.deleted = True
    stamps.append(obj.updated_at)
    assert obj.version == 3

    assert [HlcStamp.parse(x) for x in stamps] == sorted({HlcStamp.parse(x) for x in stamps}), "HLC must rise"
    with ctx.read() as s:
        row = s.get(cls, row_id)
        assert row is not None and row.deleted and row.version == 3
        assert row.updated_by == ctx.device_id
        assert row.squad_id == ctx.squad_id
        log = _log(s, row_id)
        audit = _audit(s, row_id)

    assert [e.op for e in log] == ["insert", "update", "delete"]
    assert [e.version for e in log] == [1, 2, 3]
    assert {e.table_name for e in log} == {cls.__tablename__}
    assert {e.device_id for e in log} == {ctx.device_id}
    assert [e.hlc for e in log] == stamps
    payloads = [json.loads(e.payload) for e in log]
    for version, payload in enumerate(payloads, start=1):
        assert set(payload) == all_keys, "the change log holds the whole row"
        assert payload["id"] == row_id
        assert payload["version"] == version
        assert payload["squad_id"] == ctx.squad_id
        assert payload["updated_by"] == ctx.device_id
    assert [p["deleted"] for p in payloads] == [False, False, True]
    assert [p["updated_at"] for p in payloads] == stamps
    plain_new = new.isoformat() if isinstance(new, dt.date) else new
    plain_old = old.isoformat() if isinstance(old, dt.date) else old
    assert payloads[0][key] == plain_old and payloads[1][key] == plain_new

    assert [a.action for a in audit] == ["insert", "update", "delete"]
    assert [a.summary for a in audit] == ["插入", "修改", "删除"]
    assert {a.entity for a in audit} == {cls.__tablename__}
    assert {a.user_name for a in audit} == {admin.display_name}
    assert audit[0].before is None
    before_image, after_image = json.loads(audit[1].before), json.loads(audit[1].after)
    if col.info.get("secret"):
        assert before_image[key].startswith("sha256:") and before_image[key] != after_image[key]
    else:
        assert (before_image[key], after_image[key]) == (plain_old, plain_new)
    assert json.loads(audit[2].after)["deleted"] is True


@pytest.mark.parametrize("cls", SYNCED, ids=[c.__tablename__ for c in SYNCED])
def test_hard_delete_is_refused_and_writes_nothing(ctx: AppContext, admin: Actor, cls: type[Synced]) -> None:
    with ctx.unit_of_work(admin) as s:
        row_id = _build(s, cls).id
    before = _counts(ctx)
    with pytest.raises(HardDeleteError), ctx.unit_of_work(admin, "硬删除") as s:
        s.delete(s.get(cls, row_id))
        s.flush()
    assert _counts(ctx) == before
    with ctx.read() as s:
        row = s.get(cls, row_id)
        assert row is not None and not row.deleted and row.version == 1
        assert len(_log(s, row_id)) == 1


@pytest.mark.parametrize("cls", SYNCED, ids=[c.__tablename__ for c in SYNCED])
def test_rolled_back_unit_of_work_leaves_no_trace(ctx: AppContext, admin: Actor, cls: type[Synced]) -> None:
    before = _counts(ctx)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), ctx.unit_of_work(admin, "中途失败") as s:
        obj = _build(s, cls)
        row_id = obj.id
        # the hook wrote its entries in the same transaction...
        assert len(_log(s, row_id)) == 1 and len(_audit(s, row_id)) == 1
        raise Boom
    # ...so they vanish with it
    assert _counts(ctx) == before
    with ctx.read() as s:
        assert s.get(cls, row_id) is None
        assert _log(s, row_id) == [] and _audit(s, row_id) == []


def test_unchanged_rows_write_no_entry(ctx: AppContext, admin: Actor) -> None:
    cls = BY_TABLE["members"]
    with ctx.unit_of_work(admin) as s:
        row_id = _build(s, cls).id
    before = _counts(ctx)
    with ctx.unit_of_work(admin) as s:
        obj = s.get(cls, row_id)
        obj.name = obj.name  # same value: no change
    assert _counts(ctx) == before
    with ctx.read() as s:
        assert s.get(cls, row_id).version == 1


def test_secrets_are_redacted_in_the_audit_but_whole_in_the_change_log(ctx: AppContext, admin: Actor) -> None:
    cls = BY_TABLE["users"]
    with ctx.unit_of_work(admin) as s:
        user = _build(s, cls)
        row_id, secret = user.id, user.password_hash
    with ctx.read() as s:
        (entry,) = _log(s, row_id)
        (audit,) = _audit(s, row_id)
    assert json.loads(entry.payload)["password_hash"] == secret
    assert secret not in audit.after
    assert json.loads(audit.after)["password_hash"].startswith("sha256:")


def test_reopened_clock_continues_after_the_last_stamp(ctx: AppContext, admin: Actor) -> None:
    from app.context import open_data_dir

    with ctx.unit_of_work(admin) as s:
        last = HlcStamp.parse(_build(s, BY_TABLE["members"]).updated_at)
    ctx.close()
    # a clock set far back: the reopened database still stamps later than what it holds
    again = open_data_dir(ctx.data_dir)
    try:
        again.clock._wall = lambda: 0  # the PC's clock reset to 1970
        with again.unit_of_work(admin) as s:
            stamp = HlcStamp.parse(_build(s, BY_TABLE["members"]).updated_at)
    finally:
        again.close()
    assert stamp > last


# ---- hybrid logical clock -------------------------------------------------------------------

millis = st.integers(min_value=0, max_value=4_000_000_000_000)
stamps = st.builds(HlcStamp, millis, st.integers(min_value=0, max_value=999_999))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("now"), millis, st.none()),
        st.tuples(st.just("observe"), millis, stamps),
    ),
    min_size=1,
    max_size=60,
)


class _Wall:
    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> int:
        return self.value


@given(ops)
def test_hlc_is_strictly_increasing_whatever_the_wall_clock_does(
    sequence: list[tuple[str, int, Any]],
) -> None:
    wall = _Wall()
    clock = HybridLogicalClock(wall=wall)
    previous = HlcStamp(-1, 0)
    for op, wall_ms, remote in sequence:
        wall.value = wall_ms  # may jump backwards
        if op == "now":
            stamp = clock.now()
        else:
            stamp = clock.observe(remote)
            assert stamp > remote
            nxt = clock.now()
            assert nxt > remote and nxt > stamp
            stamp = nxt
        assert stamp > previous
        assert stamp.millis >= wall_ms, "never behind the wall clock"
        previous = stamp


@given(st.lists(millis, min_size=2, max_size=50))
def test_hlc_now_never_runs_backwards(walls: list[int]) -> None:
    wall = _Wall()
    clock = HybridLogicalClock(wall=wall)
    out = []
    for w in walls:
        wall.value = w
        out.append(clock.now())
    assert all(a < b for a, b in itertools.pairwise(out))
    assert out[-1].millis == max(walls)


@given(stamps, stamps)
def test_hlc_text_sorts_like_the_clock(a: HlcStamp, b: HlcStamp) -> None:
    assert HlcStamp.parse(str(a)) == a
    assert (str(a) < str(b)) == (a < b)


def test_hlc_observe_absorbs_a_remote_clock_ahead_of_ours() -> None:
    clock = HybridLogicalClock(wall=lambda: 1_000)
    remote = HlcStamp(5_000, 7)
    clock.observe(remote)
    assert clock.now() == HlcStamp(5_000, 9)


# ---- identifiers ------------------------------------------------------------------------------


def test_new_id_is_uuid_version_7_and_time_ordered() -> None:
    before_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
    ids = [new_id() for _ in range(500)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        u = uuid.UUID(text)
        assert u.version == 7
        assert u.variant == uuid.RFC_4122
        assert str(u) == text and len(text) == 36
    assert ids == sorted(ids), "UUIDv7 text sorts in creation order"
    first_ms = uuid.UUID(ids[0]).int >> 80
    assert abs(first_ms - before_ms) < 60_000, "the leading 48 bits are the Unix time in milliseconds"
