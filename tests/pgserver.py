"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl in a temporary folder.

The server listens on a free port of 127.0.0.1 (its unix socket stays inside the folder), runs
without fsync, and is stopped (``-m immediate``) and deleted at the end. Tests ask it for a fresh
database each (``CREATE DATABASE … TEMPLATE template0``), so no test sees another's rows.

The server binaries are looked up in ``$SQUADDESK_PG_BIN`` when that is set (and only there),
else on PATH, else in /usr/lib/postgresql/<version>/bin (Debian's postgresql package, not on
PATH), newest version first. Without them the tests skip — unless ``SQUADDESK_REQUIRE_POSTGRES=1``
(CI sets it), where a missing PostgreSQL is a failure.

PostgreSQL refuses to run as root, and CI runs the tests as root: there initdb and pg_ctl run as
the ``postgres`` user (the package creates it), or ``nobody``, and the folder is handed to it.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

REQUIRE_ENV = "SQUADDESK_REQUIRE_POSTGRES"
BIN_ENV = "SQUADDESK_PG_BIN"
DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "squaddesk"
BASE_DB = "squaddesk"
#: The unprivileged accounts tried, in order, when the tests run as root.
RUN_AS_CANDIDATES = ("postgres", "nobody")
_SERVER_SETTINGS = {
    # A test cluster: losing it in a power cut costs nothing, waiting for the disk costs a lot.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "100",
    "listen_addresses": "'127.0.0.1'",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
}
ROOT_PREFIX = "squaddesk-pg-"
OWNER_FILE = "owner.pid"  # the pid of the test process that made the cluster
_START_ATTEMPTS = 3  # a free port found by bind(0) can be taken by another process before we use it


class PostgresUnavailable(RuntimeError):
    """The server binaries are present but a cluster could not be made or started."""


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", bin_dir.parent.name)
    return tuple(int(n) for n in numbers)


def _usable(bin_dir: Path) -> Path | None:
    """The real folder holding initdb, pg_ctl and postgres, or None when one of them is missing."""
    initdb = bin_dir / "initdb"
    if not initdb.is_file():
        return None
    real = initdb.resolve().parent  # /usr/local/bin/initdb may be a link into the versioned folder
    if all(os.access(real / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
        return real
    return None


def find_bin_dir() -> Path | None:
    """The folder with the PostgreSQL server binaries, or None when there is none."""
    override = os.environ.get(BIN_ENV)
    if override:
        return _usable(Path(override))
    on_path = shutil.which("initdb")
    if on_path:
        found = _usable(Path(on_path).parent)
        if found:
            return found
    candidates = sorted((Path(p) for p in glob.glob(DEBIAN_BIN_GLOB)), key=_version_key, reverse=True)
    for candidate in candidates:
        found = _usable(candidate)
        if found:
            return found
    return None


def require_bin_dir() -> Path:
    """The binaries folder; when missing, skip the test, or fail it when PostgreSQL is required."""
    bin_dir = find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    where = f"${BIN_ENV}={os.environ[BIN_ENV]}" if os.environ.get(BIN_ENV) else f"PATH or {DEBIAN_BIN_GLOB}"
    reason = f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in {where}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(
            f"{reason}, and {REQUIRE_ENV}=1 requires them: install the server "
            "(Debian: apt-get install postgresql) or point "
            f"{BIN_ENV} at the folder holding initdb.",
            pytrace=False,
        )
    pytest.skip(f"{reason} (install postgresql, or set {BIN_ENV})")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class _RunAs:
    """Who runs the server: ourselves, or (when we are root) an unprivileged account."""

    uid: int | None = None
    gid: int | None = None
    name: str = ""

    @classmethod
    def for_this_process(cls) -> _RunAs:
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            return cls()
        import pwd

        for name in RUN_AS_CANDIDATES:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return cls(entry.pw_uid, entry.pw_gid, name)
        raise PostgresUnavailable(
            "the tests run as root, which PostgreSQL refuses, and none of the accounts "
            f"{', '.join(RUN_AS_CANDIDATES)} exists to run it as"
        )

    def hand_over(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def run(self, args: list[str], cwd: Path, log: Path) -> subprocess.CompletedProcess[bytes]:
        # Output goes to a file, not a pipe: the server that pg_ctl starts outlives the call and
        # must not hold our pipe open.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        with log.open("ab") as out:
            if self.uid is None:
                return subprocess.run(
                    args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
                )
            return subprocess.run(
                args,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
                user=self.uid,
                group=self.gid,
                extra_groups=[],
            )


@dataclass
class PostgresCluster:
    """One running throwaway cluster. ``url`` is its base database; ``new_database()`` makes more."""

    bin_dir: Path
    root: Path
    port: int
    run_as: _RunAs
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    startup_seconds: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return self.url_of(BASE_DB)

    def url_of(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A plain psycopg connection in autocommit mode (CREATE/DROP DATABASE need one)."""
        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname=dbname, autocommit=True)

    def new_database(self, name: str | None = None, template: str | None = None) -> str:
        """Create a database and return its SQLAlchemy URL.

        ``template`` clones an existing database of this cluster (for example one already
        migrated to head), which is much faster than migrating again; PostgreSQL refuses to clone
        a database while anyone is connected to it, so dispose of its engines first.
        """
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template or "template0")
                )
            )
        return self.url_of(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any connection a test left open to it."""
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth a clean shutdown) and delete the folder."""
        if self._stopped:
            return
        self._stopped = True
        if (self.data_dir / "postmaster.pid").exists():
            self.run_as.run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                cwd=self.root,
                log=self.root / "pg_ctl.log",
            )
        shutil.rmtree(self.root, ignore_errors=True)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _logged_since(path: Path, offset: int, needle: bytes) -> bool:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            return needle in log.read()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphans(bin_dir: Path, run_as: _RunAs) -> None:
    """Stop and delete the clusters of earlier runs that were killed before their teardown (a
    SIGKILLed pytest leaves its server running); a folder whose owner still lives is left alone."""
    for root in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        orphan = PostgresCluster(bin_dir=bin_dir, root=root, port=0, run_as=run_as)
        orphan.stop()


def start_cluster(bin_dir: Path | None = None) -> PostgresCluster:
    """initdb a cluster in a new temporary folder, start it, create the base database.

    Skips (or fails, under ``SQUADDESK_REQUIRE_POSTGRES=1``) when the binaries are missing; raises
    :class:`PostgresUnavailable` when they are present but the cluster does not come up.
    """
    bin_dir = bin_dir or require_bin_dir()
    run_as = _RunAs.for_this_process()
    began = time.monotonic()
    _reap_orphans(bin_dir, run_as)
    # Directly under the system temp folder, not pytest's (mode 0700, root's): the server's
    # account must reach it, and the socket path must stay short.
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
    (root / OWNER_FILE).write_text(str(os.getpid()))
    try:
        cluster = _init_and_start(bin_dir, run_as, root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    cluster.startup_seconds = time.monotonic() - began
    atexit.register(cluster.stop)  # a run interrupted before the fixture's teardown
    return cluster


def _init_and_start(bin_dir: Path, run_as: _RunAs, root: Path) -> PostgresCluster:
    sockets = root / "sock"
    sockets.mkdir()
    for path in (root, sockets):
        run_as.hand_over(path)
    data = root / "data"
    initdb_log = root / "initdb.log"
    initdb_log.touch()
    run_as.hand_over(initdb_log)
    result = run_as.run(
        [
            str(bin_dir / "initdb"),
            "-D", str(data),
            "-U", SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",  # byte order, like SQLite's default collation; no OS locale needed
            "--no-sync",
            "--no-instructions",
        ],
        cwd=root,
        log=initdb_log,
    )  # fmt: skip
    if result.returncode != 0:
        who = f" as {run_as.name}" if run_as.name else ""
        raise PostgresUnavailable(f"initdb{who} failed in {root}:\n{_tail(initdb_log)}")
    settings = dict(_SERVER_SETTINGS, unix_socket_directories=f"'{sockets}'")
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n# squaddesk test cluster\n")
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    cluster = PostgresCluster(bin_dir=bin_dir, root=root, port=0, run_as=run_as)
    ctl_log = root / "pg_ctl.log"
    ctl_log.touch()
    run_as.hand_over(ctl_log)
    for _attempt in range(_START_ATTEMPTS):
        cluster.port = _free_port()
        log_start = cluster.log_file.stat().st_size if cluster.log_file.exists() else 0
        result = run_as.run(
            [
                str(bin_dir / "pg_ctl"),
                "-D", str(data),
                "-l", str(cluster.log_file),
                "-o", f"-p {cluster.port}",
                "-w", "-t", "60",
                "start",
            ],
            cwd=root,
            log=ctl_log,
        )  # fmt: skip
        if result.returncode == 0:
            break
        if not _logged_since(cluster.log_file, log_start, b"could not bind"):
            break
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"pg_ctl start failed (port {cluster.port}):\n{_tail(ctl_log)}\n{_tail(cluster.log_file)}"
        )
    try:
        with cluster.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(BASE_DB)))
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextlib.contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """``with running_cluster() as pg:`` — for scripts and benchmarks outside pytest fixtures."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
