"""A device's sync in a process of its own, so that a test can SIGKILL it at a kill point
(app.sync.faults) and then resume with a clean run.

    python tests/sync_child.py DATA_DIR SERVER_URL

opens the data folder, runs :func:`app.sync.client.sync_once` against the district at
SERVER_URL and exits 0 (3 on a SyncError, with the message on stderr). With
``SQUADDESK_KILL_AT=name[:N]`` in its environment it dies by SIGKILL at that kill point instead
(return code -9). Batch sizes can be lowered for the run, so that a small outbox already spans
several push batches, pull pages and attachment chunks:

* ``SQUADDESK_PUSH_BATCH`` — change-log entries per push batch (app.sync.protocol.PUSH_BATCH);
* ``SQUADDESK_PULL_LIMIT`` — changes per pull answer (PULL_LIMIT);
* ``SQUADDESK_CHUNK_SIZE`` — bytes per attachment chunk (app.sync.files.CHUNK_SIZE).

Importing the app takes a couple of seconds, far longer than a sync of a few dozen rows, so
``python tests/sync_child.py --serve [TEMPLATE_DB]`` is a fork server for the tests
(:class:`ChildRunner`): it imports everything once (and warms up on a scratch copy of
TEMPLATE_DB, see :func:`_preload`), then for each request read from stdin (one JSON line:
data_dir, url, env) forks a fresh child that sets the environment, arms the kill points and
runs the same :func:`run` as above; the answer (one JSON line on stdout) is the child's return
code as ``subprocess`` reports it (-9: killed by SIGKILL). The child shares nothing with the
server but the imported modules: no database connection or thread is open when it forks.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENV_PUSH_BATCH = "SQUADDESK_PUSH_BATCH"
ENV_PULL_LIMIT = "SQUADDESK_PULL_LIMIT"
ENV_CHUNK_SIZE = "SQUADDESK_CHUNK_SIZE"
#: Return code of a run that ended with a SyncError (or another domain error).
SYNC_FAILED = 3
#: How long one run may take before the runner gives up on it.
RUN_TIMEOUT = 120.0


# ---- smaller batches ---------------------------------------------------------------------------


@contextmanager
def limits(
    push_batch: int | None = None, pull_limit: int | None = None, chunk_size: int | None = None
) -> Iterator[None]:
    """Lower the push batch, pull page and attachment chunk sizes of the sync client while inside
    (in this process). The client reads them as defaults bound at import, so the functions that
    take them are wrapped instead of the constants being changed."""
    from app.sync import client
    from app.sync import files as sync_files

    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    try:
        if push_batch:
            patch(client, "next_batch", functools.partial(client.next_batch, limit=push_batch))
        if pull_limit:
            patch(client, "PULL_LIMIT", pull_limit)
        if chunk_size:
            patch(
                sync_files,
                "upload_missing",
                functools.partial(sync_files.upload_missing, chunk_size=chunk_size),
            )
            patch(
                sync_files,
                "download_missing",
                functools.partial(sync_files.download_missing, chunk_size=chunk_size),
            )
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    return int(value) if value else None


# ---- one run -----------------------------------------------------------------------------------


#: The TLS settings of the fork server, made once (httpx would load the CA bundle in every child).
_ssl_context: ssl.SSLContext | None = None


def run(data_dir: str, url: str) -> int:
    """One sync of the device in ``data_dir`` with the district at ``url``; the exit code."""
    import httpx

    from app.context import open_data_dir
    from app.errors import DomainError
    from app.sync import client
    from app.sync.transport import TIMEOUT, HttpTransport

    env = os.environ
    with limits(_env_int(env, ENV_PUSH_BATCH), _env_int(env, ENV_PULL_LIMIT), _env_int(env, ENV_CHUNK_SIZE)):
        ctx = open_data_dir(Path(data_dir))
        http = httpx.Client(timeout=TIMEOUT, verify=_ssl_context) if _ssl_context is not None else None
        try:
            with HttpTransport(url, client.device_key(ctx), ctx.device_id, client=http) as transport:
                client.sync_once(ctx, transport)
        except DomainError as exc:
            print(f"sync failed: {exc}", file=sys.stderr, flush=True)
            return SYNC_FAILED
        finally:
            if http is not None:
                http.close()
            ctx.close()
    return 0


# ---- the fork server ---------------------------------------------------------------------------


#: Modules a run imports, several of them lazily on first use.
_PRELOAD = (
    "app.cases.due",
    "app.context",
    "app.district.service",
    "app.reference",
    "app.sync.apply",
    "app.sync.client",
    "app.sync.faults",
    "app.sync.files",
    "app.sync.numbers",
    "app.sync.releases",
    "app.sync.transport",
    "httpx",
)


def _preload(template: Path | None) -> None:
    """Do once what every run would do again: import what a run needs (httpx's transport too);
    load the CA bundle; read the migration scripts' head revision (opening a data folder
    compares the database with it, and alembic compiles every migration script to find it);
    and, given a ``template`` database file, open a scratch copy of it and read the sync state
    once, which configures the ORM. Nothing stays open: the scratch folder is closed and
    removed before the first fork."""
    global _ssl_context
    for name in _PRELOAD:
        importlib.import_module(name)
    import httpx

    from app.paths import DB_FILE
    from db import migrate

    migrate.head_revision = functools.cache(migrate.head_revision)
    migrate.head_revision()
    _ssl_context = httpx.create_ssl_context()
    httpx.Client(verify=_ssl_context).close()
    if template is not None:
        from app.context import open_data_dir
        from app.sync import client

        with tempfile.TemporaryDirectory(prefix="sync-child-warm-") as scratch:
            shutil.copyfile(template, Path(scratch) / DB_FILE)
            ctx = open_data_dir(Path(scratch))
            try:
                client.status(ctx)
                with ctx.read() as session:
                    client.next_batch(session, 0)
            finally:
                ctx.close()
    gc.collect()
    gc.freeze()  # the children leave the server's objects alone: fewer pages copied on write


def _child(request: dict[str, Any]) -> int:
    from app.sync import faults

    for key, value in (request.get("env") or {}).items():
        os.environ[str(key)] = str(value)
    faults.configure()
    return run(str(request["data_dir"]), str(request["url"]))


def serve(template: Path | None = None) -> None:
    """Answer run requests from stdin until it closes (see the module docstring)."""
    _preload(template)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: run, then leave without running the server's clean-ups
            os.dup2(2, 1)  # stdout is the server's answer channel: the child writes to the log
            code = 1
            try:
                code = _child(request)
            except BaseException as exc:  # reported, then the child ends
                print(f"sync child crashed: {exc!r}", file=sys.stderr, flush=True)
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}), flush=True)


def _without_kill_points(env: Mapping[str, str]) -> dict[str, str]:
    from app.sync.faults import ENV

    return {k: v for k, v in env.items() if k != ENV}


class ChildRunner:
    """The test's handle on a fork server (``python tests/sync_child.py --serve``): :meth:`run`
    syncs a device in a fresh child process and returns its return code (-9 when it was
    SIGKILLed at its kill point)."""

    def __init__(
        self, log_path: Path, env: Mapping[str, str] | None = None, template: Path | None = None
    ) -> None:
        """``env``: the environment of every run (e.g. smaller batches); ``template``: a device
        database file to warm the server up with (see :func:`_preload`)."""
        self.log_path = log_path
        self.runs = 0
        log = log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve",
                *([str(template)] if template else []),
            ],
            cwd=ROOT,
            env={**_without_kill_points(os.environ), "PYTHONPATH": str(ROOT), **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self._read(timeout=120.0)  # {"ready": pid}

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        buffer = b""
        while not buffer.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.close()
                raise TimeoutError(f"sync child did not answer in {timeout:.0f} s:\n{self.log_tail()}")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"sync child server ended:\n{self.log_tail()}")
            buffer += chunk
        answer = json.loads(buffer)
        assert isinstance(answer, dict)
        return answer

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def run(self, data_dir: Path, url: str, env: Mapping[str, str] | None = None) -> int:
        """Sync the device in ``data_dir`` once in a fresh child; its return code."""
        assert self.process.stdin is not None
        request = {"data_dir": str(data_dir), "url": url, "env": dict(env or {})}
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        self.runs += 1
        return int(self._read(RUN_TIMEOUT)["returncode"])

    def close(self) -> None:
        """End the fork server (closing its stdin); if it does not end — a child hangs — SIGKILL
        its process group, the server and the child it waits for."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def main(argv: list[str]) -> int:
    if argv[1:2] == ["--serve"] and len(argv) <= 3:
        serve(Path(argv[2]) if len(argv) == 3 else None)
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    from app.sync import faults

    faults.configure()
    return run(argv[1], argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
