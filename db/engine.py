"""Engine and session factory for the embedded SQLite store and the district's PostgreSQL.

SQLite is opened with WAL (readers never block the writer), foreign keys on, and a busy
timeout. pysqlite's own transaction handling is turned off so that SQLAlchemy's BEGIN is the
real one: write sessions begin IMMEDIATE, taking the write lock at once, so two writers never
both read the audit chain's last hash and then race to append after it.

PostgreSQL (through psycopg 3) needs no such set-up: its writers run side by side, and the audit
chain takes an advisory lock of its own there (see :func:`db.hooks.audit_head`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from db import hooks

BUSY_TIMEOUT_MS = 10_000


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        # SQLAlchemy's default PostgreSQL driver is psycopg2; the project ships psycopg 3.
        url = f"postgresql+psycopg://{rest}"
    if url.startswith("sqlite"):
        # Sessions run on the GUI thread and on the background worker; each checks a connection
        # out of the pool for its own use, so handing connections between threads is safe.
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_session_factory(engine: Engine, **info: Any) -> sessionmaker[Session]:
    """Sessions that carry the device, squad and clock in ``Session.info`` for the flush hook."""
    return sessionmaker(bind=engine, class_=hooks.AuditedSession, expire_on_commit=False, info=info)


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the SQLite write lock at BEGIN."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine
