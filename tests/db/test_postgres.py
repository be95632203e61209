"""The same migrations and models on a real PostgreSQL (the district server's database).

A fresh ``upgrade`` must equal the models there too, several server workers may start (and
migrate) at once, and the flush hook must stamp rows and write the change log and an unbroken
audit chain — also when writers run side by side, which PostgreSQL allows and SQLite does not.
The cluster comes from the ``postgres_cluster`` fixture (tests/pgserver.py); each test gets its
own database.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pgserver
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import BigInteger, Engine, func, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

import db.models  # noqa: F401  (registers every table)
from app.audit import verify
from db import migrate
from db.base import Base
from db.engine import make_engine, make_session_factory, writer
from db.hlc import HlcStamp, HybridLogicalClock
from db.ids import new_id
from db.models import AuditEntry, ChangeLogEntry, Member, ReferenceThreshold, Squad, User

ROOT = Path(__file__).resolve().parents[2]
SQUAD_ID = new_id()
DEVICE_ID = new_id()


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    eng = make_engine(postgres_url)
    yield eng
    eng.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    migrate.upgrade(engine)
    return engine


def _factory(engine: Engine, clock: HybridLogicalClock | None = None) -> sessionmaker[Session]:
    """Sessions as app.context makes them: device, clock and squad in ``Session.info``."""
    return make_session_factory(
        writer(engine), device_id=DEVICE_ID, clock=clock or HybridLogicalClock(), squad_id=SQUAD_ID
    )


def _member(name: str, **extra: Any) -> Member:
    values: dict[str, Any] = {"name": name, "id_number": "440106199001011234", "category": "staff"}
    values.update(extra)
    return Member(**values)


def test_fresh_upgrade_equals_the_models(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        # Server defaults compared too: the models declare none, and PostgreSQL must not grow any
        # (the SERIAL keys' nextval() defaults are recognised by alembic and not reported).
        context = MigrationContext.configure(conn, opts={"compare_server_default": True})
        diff = compare_metadata(context, Base.metadata)
        tables = set(engine.dialect.get_table_names(conn))
    assert diff == [], f"migrations and models differ on PostgreSQL: {diff}"
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_plain_postgresql_urls_use_psycopg_3(postgres_url: str) -> None:
    """``--db postgresql://…`` (DESIGN.md) works: SQLAlchemy's default driver would be psycopg2."""
    plain = make_engine(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert plain.dialect.driver == "psycopg"
        with plain.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        plain.dispose()


def test_an_older_revision_is_migrated_without_a_sqlite_backup(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-migration copy is SQLite's; on PostgreSQL the URL's database name is no file path."""
    previous = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_revision(
        migrate.head_revision()
    )
    assert previous is not None and isinstance(previous.down_revision, str)
    with engine.begin() as conn:
        cfg = migrate.alembic_config(str(engine.url))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, previous.down_revision)
    monkeypatch.chdir(tmp_path)
    backups = tmp_path / "backups"
    assert migrate.upgrade(engine, backup_dir=backups) is None
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert list(tmp_path.iterdir()) == [], "nothing written beside the process"


def test_upgrade_at_head_does_nothing(migrated: Engine, tmp_path: Path) -> None:
    assert migrate.upgrade(migrated, backup_dir=tmp_path / "backups") is None
    assert migrate.current_revision(migrated) == migrate.head_revision()


WORKER = """
import sys
from db import migrate
from db.engine import make_engine

engine = make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # the test releases every worker at once
migrate.upgrade(engine)
print(migrate.current_revision(engine), flush=True)
"""


def test_workers_starting_together_migrate_once(postgres_url: str) -> None:
    """Each server worker process upgrades at start; the advisory lock makes the others wait,
    then find the schema at head (without it they race to CREATE TABLE, and all but one fail)."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, postgres_url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = [w.communicate(timeout=120) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    for w, (out, err) in zip(workers, results, strict=True):
        assert w.returncode == 0, err
        assert out.strip() == migrate.head_revision()


def test_flush_hook_round_trip(migrated: Engine) -> None:
    clock = HybridLogicalClock()
    factory = _factory(migrated, clock)
    login = dt.datetime(2026, 3, 1, 8, 30, 15, 250_000)
    with factory() as s, s.begin():
        s.info.update(actor="管理员", summary="建立中队")
        s.add(Squad(id=SQUAD_ID, squad_id=SQUAD_ID, name="车陂街综合行政执法队", enforcing_body="车陂街道办事处",
                    district_code="440106", doc_prefix="车综执"))  # fmt: skip
        member = _member("张三", join_date=dt.date(2020, 7, 1))
        s.add(member)
        s.flush()
        s.add(User(username="zhangsan", display_name="张三", role="officer", password_hash="argon2$secret",
                   member_id=member.id, last_login=login))  # fmt: skip
        # 60 million yuan in fen: past PostgreSQL's 32-bit INTEGER, hence db.base.BigInt
        s.add(ReferenceThreshold(release_no=1, key="big_amount", value=6_000_000_000))
        member_id = member.id
    with factory() as s, s.begin():
        s.info.update(actor="管理员", summary="修改队员")
        row = s.get(Member, member_id)
        assert row is not None
        row.phone = "13800138000"
    with factory() as s, s.begin():
        s.info.update(actor="管理员", summary="删除队员")
        row = s.get(Member, member_id)
        assert row is not None
        row.deleted = True

    with factory() as s:
        squad = s.get(Squad, SQUAD_ID)
        member = s.get(Member, member_id)
        user = s.scalar(select(User).where(User.username == "zhangsan"))
        threshold = s.scalar(select(ReferenceThreshold))
        log = list(s.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.seq)))
        audit = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        report = verify(s)
    assert squad is not None and squad.name == "车陂街综合行政执法队" and squad.version == 1
    assert member is not None and member.deleted and member.version == 3 and member.phone == "13800138000"
    assert member.join_date == dt.date(2020, 7, 1) and member.updated_by == DEVICE_ID
    assert member.squad_id == SQUAD_ID
    assert user is not None and user.last_login == login and user.active is True
    assert threshold is not None and threshold.value == 6_000_000_000

    member_log = [e for e in log if e.row_id == member_id]
    assert [e.op for e in member_log] == ["insert", "update", "delete"]
    assert [e.version for e in member_log] == [1, 2, 3]
    assert [e.hlc for e in member_log] == sorted(e.hlc for e in member_log)
    assert HlcStamp.parse(member_log[-1].hlc) == HlcStamp.parse(member.updated_at)
    assert {e.table_name for e in log} == {"squads", "members", "users", "reference_thresholds"}
    assert {e.device_id for e in log} == {DEVICE_ID}
    assert json.loads(member_log[-1].payload)["deleted"] is True
    assert json.loads(member_log[0].payload)["join_date"] == "2020-07-01"

    assert [a.seq for a in audit] == list(range(1, len(log) + 1))
    assert [a.summary for a in audit if a.entity_id == member_id] == ["建立中队", "修改队员", "删除队员"]
    assert "argon2$secret" not in "".join(a.after or "" for a in audit), "secrets are redacted"
    # the chain verifies, and every row read back from PostgreSQL equals its last audited image
    assert report.ok, report.problems
    assert (report.entries, report.rows_checked) == (len(log), 4)


def test_concurrent_writers_keep_one_audit_chain(migrated: Engine) -> None:
    """PostgreSQL lets writers run side by side (SQLite takes its write lock at BEGIN); the audit
    chain must still come out as one unbroken sequence."""
    factory = _factory(migrated)
    writers, each = 4, 8
    start = threading.Barrier(writers)

    def work(n: int) -> None:
        start.wait()
        for i in range(each):
            with factory() as s, s.begin():
                s.info.update(actor=f"队员{n}", summary=f"第 {i} 次")
                s.add(_member(f"队员{n}-{i}"))

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(work, range(writers)))
    with factory() as s:
        report = verify(s)
        seqs = list(s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
        logged = s.scalar(select(func.count()).select_from(ChangeLogEntry))
    assert seqs == list(range(1, writers * each + 1))
    assert logged == writers * each
    assert report.ok, report.problems


def test_an_appender_waits_for_the_one_holding_the_chain(migrated: Engine) -> None:
    """The second writer waits before it reads the chain's head, not later on a clash of its
    entry's sequence number with the first writer's (what would happen without the lock)."""
    factory = _factory(migrated)
    with factory() as first, first.begin():
        first.add(_member("甲"))
        first.flush()  # the audit chain's lock is now held until ``first`` commits
        with (
            factory() as second,
            pytest.raises(OperationalError, match="lock timeout") as err,
            second.begin(),
        ):
            second.execute(text("SET LOCAL lock_timeout = '100ms'"))
            second.add(_member("乙"))
            second.flush()
        assert "pg_advisory_xact_lock" in str(err.value.statement)
    with factory() as second, second.begin():
        second.add(_member("乙"))
    with factory() as s:
        assert verify(s).ok
        assert list(s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq))) == [1, 2]


def test_bigint_columns_are_declared_alike_in_models_and_migrations(migrated: Engine) -> None:
    """Every BigInt column of the models is BIGINT on PostgreSQL (compare_metadata checks the
    rest); listed here so that the widening is visible and kept."""
    wide = {
        (t.name, c.name)
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if isinstance(c.type.dialect_impl(migrated.dialect), BigInteger)
    }
    with migrated.connect() as conn:
        insp = inspect(conn)
        actual = {
            (table, col["name"])
            for table in insp.get_table_names()
            for col in insp.get_columns(table)
            if str(col["type"]) == "BIGINT"
        }
    assert {("cases", "base_fen"), ("case_evidence", "size"), ("issued_documents", "pdf_size")} <= wide
    assert wide <= actual


# ---- the fixture's own contract: skip without a server, fail when CI requires one --------------


def _outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except pytest.skip.Exception:
        return "skip"
    except pytest.fail.Exception:
        return "fail"
    return "found"


def test_missing_server_skips_unless_required(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(pgserver.BIN_ENV, str(tmp_path / "no-such-folder"))
    monkeypatch.delenv(pgserver.REQUIRE_ENV, raising=False)
    assert pgserver.find_bin_dir() is None
    assert _outcome(pgserver.require_bin_dir) == "skip"
    monkeypatch.setenv(pgserver.REQUIRE_ENV, "1")
    assert _outcome(pgserver.require_bin_dir) == "fail"
