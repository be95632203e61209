"""A real district server process for the tests: uvicorn serving ``app.district.api`` on a free
port of 127.0.0.1, on a SQLite file or a PostgreSQL database, started and stopped by the test.

The test administers the district the way ``squaddesk-district`` does — through the service
functions on the same database — and devices talk to it over real HTTP with
:class:`app.sync.transport.HttpTransport`. ``kill()`` ends the process with SIGKILL (nothing
flushed, no shutdown hooks) and ``start()`` brings it back on the same port and database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.context import AppContext
from app.district import service
from app.district.paths import ENV_DB, ENV_FILES
from app.sync import client
from app.sync.transport import HttpTransport
from db import migrate
from db.engine import make_engine, writer

ROOT = Path(__file__).resolve().parent.parent
#: How long a server may take to answer /v1/hello after start.
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DistrictServer:
    db_url: str
    files_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _engine: Engine | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        return self._engine

    def start(self, env: Mapping[str, str] | None = None) -> None:
        """Start (or restart) the server and wait until it answers."""
        assert self.process is None or self.process.poll() is not None, "already running"
        environment = {
            **os.environ,
            ENV_DB: self.db_url,
            ENV_FILES: str(self.files_dir),
            "PYTHONPATH": str(ROOT),
            **self.extra_env,
            **(env or {}),
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.district.api:app_from_env",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"district server exited at start:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/v1/hello", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"district server did not answer:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server (and its workers) — no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # ---- administration, as squaddesk-district does it ------------------------------------------

    @contextmanager
    def admin(self) -> Iterator[Session]:
        with sessionmaker(bind=writer(self.engine), expire_on_commit=False).begin() as session:
            yield session

    def code(self, squad: str = "车陂街综合行政执法队") -> str:
        """A fresh one-time enrollment code for ``squad`` (registered first if new)."""
        with self.admin() as s:
            if not any(q.name == squad for q in service.list_squads(s)):
                service.create_squad(s, squad)
            return service.issue_code(s, squad)

    def transport(self, ctx: AppContext) -> HttpTransport:
        return HttpTransport(self.url, client.device_key(ctx), ctx.device_id)


def migrated(url: str) -> str:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url


def start_server(db_url: str, folder: Path, workers: int = 1) -> DistrictServer:
    folder.mkdir(parents=True, exist_ok=True)
    server = DistrictServer(
        db_url=migrated(db_url), files_dir=folder / "files", log_path=folder / "server.log", workers=workers
    )
    server.start()
    return server
