"""Alembic migrations, applied automatically at start ("upgrade to head if not at head").

Before a file that already holds data is migrated, a copy is taken with SQLite's online backup
API, so a failed or unwanted migration can always be undone by restoring that copy.

On PostgreSQL (the district server) there is no file to copy — the district backs its server up
with its own tools — and several server workers may start at once: the migration runs under an
advisory lock, so one of them migrates and the others, waiting on the lock, then find it at head.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key held while migrating a PostgreSQL database (any constant unique to us).
PG_MIGRATION_LOCK = 0x5344_4D31  # "SDM1"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, backup_dir: Path | None = None) -> Path | None:
    """Bring the database to head. Returns the pre-migration backup file, if one was taken."""
    current = current_revision(engine)
    if current == head_revision():
        return None
    backup: Path | None = None
    db_path = engine.url.database if engine.dialect.name == "sqlite" else None
    if current is not None and backup_dir is not None and db_path:
        backup_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = backup_dir / f"pre-migrate-{current}-{stamp}.sqlite3"
        with closing(sqlite3.connect(db_path)) as src, closing(sqlite3.connect(backup)) as dst:
            src.backup(dst)
    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held to the end of this transaction; PostgreSQL's DDL is transactional, so a worker
            # that waited here sees the finished schema and alembic finds nothing left to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    if engine.dialect.name == "sqlite":
        # Fresh statistics, so the query planner picks up the indexes a migration added (SQLite
        # chooses between indexes by sqlite_stat1; without it, it may keep the older one).
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return backup
