"""Migrations: a fresh ``upgrade`` equals the models, the SQLite pragmas hold, and a file that is
already at head (or is not a database at all) is handled without harm."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

import db.models  # noqa: F401  (registers every table)
from app.context import open_data_dir
from app.errors import DomainError
from app.paths import DB_FILE
from db import migrate
from db.base import Base
from db.engine import BUSY_TIMEOUT_MS, make_engine, sqlite_url


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(sqlite_url(tmp_path / "fresh.sqlite3"))
    yield eng
    eng.dispose()


def test_fresh_upgrade_equals_the_models(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(engine.dialect.get_table_names(conn))
    assert diff == [], f"migrations and models differ: {diff}"
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_pragmas_are_in_force_on_every_connection(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy is not None and busy > 0
        assert busy == BUSY_TIMEOUT_MS


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    migrate.upgrade(engine)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO certificates (id, squad_id, version, updated_at, updated_by, deleted,"
                " member_id, kind, number, issuer, scope, state, note) VALUES ('c1', 's', 1, 'x', 'd', 0,"
                " 'no-such-member', 'enforcement', 'N1', '', '', 'valid', '')"
            )
        )


def test_upgrade_at_head_returns_none_and_takes_no_backup(engine: Engine, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    migrate.upgrade(engine, backup_dir=backups)  # fresh file: nothing to back up
    assert not backups.exists() or not any(backups.iterdir())
    assert migrate.upgrade(engine, backup_dir=backups) is None
    assert not backups.exists() or not any(backups.iterdir())
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_fresh_file_is_migrated_without_backup(tmp_path: Path) -> None:
    eng = make_engine(sqlite_url(tmp_path / "new.sqlite3"))
    try:
        assert migrate.upgrade(eng, backup_dir=tmp_path / "backups") is None
    finally:
        eng.dispose()


NOOP_REVISION = '''"""a later revision for the test

Revision ID: 9999
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("test_extra", sa.Column("k", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("test_extra")
'''


def test_older_revision_is_backed_up_before_it_is_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file at the current head becomes an *older* revision once a later migration ships."""
    data_dir = tmp_path / "data"
    ctx = open_data_dir(data_dir)
    device_id = ctx.device_id
    ctx.close()
    old_head = migrate.head_revision()

    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_test_extra.py").write_text(NOOP_REVISION.format(down=old_head))
    monkeypatch.setattr(migrate, "MIGRATIONS", scripts)
    assert migrate.head_revision() == "9999"

    eng = make_engine(sqlite_url(data_dir / DB_FILE))
    try:
        backup = migrate.upgrade(eng, backup_dir=data_dir / "backups")
        assert migrate.current_revision(eng) == "9999"
    finally:
        eng.dispose()
    assert backup is not None and backup.is_file()
    assert backup.parent == data_dir / "backups"
    assert old_head in backup.name
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == old_head
        assert conn.execute("SELECT value FROM local_meta WHERE key='device_id'").fetchone()[0] == device_id
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "test_extra" not in tables
    with sqlite3.connect(data_dir / DB_FILE) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "test_extra" in tables


def test_open_data_dir_creates_and_migrates(tmp_path: Path) -> None:
    ctx = open_data_dir(tmp_path / "d")
    try:
        assert ctx.db_path.is_file()
        assert migrate.current_revision(ctx.engine) == migrate.head_revision()
        assert ctx.squad_id is None
        assert len(ctx.device_id) == 36
    finally:
        ctx.close()
    again = open_data_dir(tmp_path / "d")
    try:
        assert again.device_id == ctx.device_id  # the device identity is kept
    finally:
        again.close()


def test_open_data_dir_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / DB_FILE).write_bytes(b"this is not a database \x00\x01\x02" * 200)
    with pytest.raises(DomainError) as err:
        open_data_dir(data_dir)
    message = err.value.message
    assert "无法打开" in message and DB_FILE in message
    assert "备份" in message  # tells the clerk what to do
