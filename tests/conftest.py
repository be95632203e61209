"""Shared fixtures: real SQLite files in temporary folders, never a mocked database."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.auth.roles import Actor, Role
from app.auth.service import create_user
from app.context import AppContext, open_data_dir
from app.paths import DB_FILE
from app.squad import SquadInput, initialize

SQUAD = SquadInput("车陂街综合行政执法队", "广州市天河区人民政府车陂街道办事处", "440106", "车综执")
PASSWORD = "test1234"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _template(folder: Path, set_up: bool) -> Path:
    ctx = open_data_dir(folder)
    if set_up:
        initialize(ctx, SQUAD, "admin", "管理员", PASSWORD)
    ctx.close()  # closing checkpoints the WAL, so the one file holds everything
    return folder / DB_FILE


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Migrated database files, made once per run: bare, and set up with a squad and its admin.

    Each test gets its own copy — a real file of its own — instead of paying for the migrations,
    the bundled catalog and an argon2 hash again (about a second a test).
    """
    root = tmp_path_factory.mktemp("templates")
    return {False: _template(root / "bare", False), True: _template(root / "setup", True)}


def _copy_of(template: Path, data_dir: Path) -> AppContext:
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, data_dir / DB_FILE)
    return open_data_dir(data_dir)


@pytest.fixture
def bare_ctx(data_dir: Path, templates: dict[bool, Path]) -> Iterator[AppContext]:
    """An opened data folder before the first-run set-up."""
    ctx = _copy_of(templates[False], data_dir)
    yield ctx
    ctx.close()


@pytest.fixture
def ctx(data_dir: Path, templates: dict[bool, Path]) -> Iterator[AppContext]:
    """A set-up squad with one administrator (``admin`` / ``test1234``)."""
    ctx = _copy_of(templates[True], data_dir)
    yield ctx
    ctx.close()


@pytest.fixture
def admin(ctx: AppContext) -> Actor:
    from app.auth.service import authenticate

    return authenticate(ctx, "admin", PASSWORD)


@pytest.fixture
def actors(ctx: AppContext, admin: Actor) -> dict[Role, Actor]:
    """One real user per role, created through the service."""
    out = {Role.ADMIN: admin}
    with ctx.unit_of_work(admin, "创建测试用户") as s:
        for role in Role:
            if role is Role.ADMIN:
                continue
            u = create_user(s, admin, f"user_{role.value}", f"{role.label}甲", role, PASSWORD)
            out[role] = Actor(u.id, u.username, u.display_name, role)
    return out


# ---- PostgreSQL (the district server's database) ----------------------------------------------

import district_server as district_server_module  # noqa: E402
import pgserver  # noqa: E402  (this block of fixtures was added as a whole)
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from db import migrate  # noqa: E402
from db.engine import make_engine, sqlite_url  # noqa: E402


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[pgserver.PostgresCluster]:
    """A real PostgreSQL cluster for the whole run, started in a temporary folder (tests/pgserver.py).

    ``.url`` is its base database; ``.new_database(name=None, template=None)`` creates another and
    returns its URL. Skips when no server binaries are installed, fails instead under
    ``SQUADDESK_REQUIRE_POSTGRES=1`` (set by .ci/run).
    """
    cluster = pgserver.start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: pgserver.PostgresCluster) -> Iterator[str]:
    """A fresh, empty database of its own for one test (``postgresql+psycopg://…``); dropped after."""
    from sqlalchemy.engine import make_url

    url = postgres_cluster.new_database()
    yield url
    postgres_cluster.drop_database(str(make_url(url).database))


@pytest.fixture(params=["sqlite", "postgresql"])
def district_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[district_server_module.DistrictServer]:
    """A real district server process on 127.0.0.1 (tests/district_server.py), once on a SQLite
    file (the embedded default) and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite+pysqlite:///{tmp_path / 'district.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    server = district_server_module.start_server(url, tmp_path / "district")
    yield server
    server.stop()


def _district_sessions(url: str, folder: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(url)
    migrate.upgrade(engine, backup_dir=folder / "backups")
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def district_sqlite(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """The district's database without its server: a migrated SQLite file, used through plain
    sessions (the service functions run in them as the server's routes do)."""
    yield from _district_sessions(sqlite_url(tmp_path / "district.sqlite3"), tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def district_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """The same, once on a SQLite file and once on a fresh PostgreSQL database."""
    url = (
        sqlite_url(tmp_path / "district.sqlite3")
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    yield from _district_sessions(url, tmp_path)
