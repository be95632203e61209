"""Attachments in sync: the district's file store on a real folder and a real migrated SQLite
database, and the device's upload and download against it through an in-process transport (a
real implementation of the Transport protocol that calls the store the way the HTTP routes do).

Uploads are chunked and resume from wherever the server stands after an interruption; the
server checks the hash of the whole file and only then renames it into place; a squad fetches
only files it uploaded itself; nothing partial is ever found under a final name."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app import files as device_store
from app.auth.roles import Actor, Role
from app.context import AppContext
from app.district import files as district_files
from app.district.files import MAX_FILE_SIZE, FileStatus, FileStore, FileStoreError
from app.errors import Cancelled
from app.leads import LeadInput, register_lead
from app.progress import Progress
from app.sync import files as sync_files
from app.sync.files import (
    FILE_COLUMNS,
    download_missing,
    referenced_files,
    upload_missing,
)
from app.sync.protocol import SCHEMA_HEADER, SCHEMA_VERSION
from app.sync.signing import DeviceKey, check_request
from app.sync.transport import HttpTransport, SyncError, Transport
from db.base import synced_tables
from db.models import ChangeLogEntry, DistrictFile
from db.models.leads import LeadSource

SQUAD_A = "squad-aaaa"
SQUAD_B = "squad-bbbb"
CHUNK = 4096


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content(size: int, seed: int = 1) -> bytes:
    """Deterministic bytes that differ at every offset (so a misplaced chunk changes the hash)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


@pytest.fixture
def sessions(district_sqlite: sessionmaker[Session]) -> sessionmaker[Session]:
    """The district's database: a migrated SQLite file (conftest.district_sqlite)."""
    return district_sqlite


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "district-files"


@pytest.fixture
def server(folder: Path) -> FileStore:
    return FileStore(folder)


class LocalTransport:
    """The Transport protocol served in process by the district's FileStore: the same paths,
    answers and error bodies as the HTTP routes, one transaction per request. The squad is the
    requesting device's, as the server takes it from the device's enrollment."""

    def __init__(self, store: FileStore, sessions: sessionmaker[Session], squad_id: str) -> None:
        self.store = store
        self.sessions = sessions
        self.squad_id = squad_id
        self.requests: list[tuple[str, str, int]] = []

    def _serve(self, method: str, path: str, data: bytes) -> Any:
        self.requests.append((method, path, len(data)))
        parts = urlsplit(path)
        query = {k: int(v[0]) for k, v in parse_qs(parts.query).items()}
        segments = parts.path.split("/")
        assert segments[:3] == ["", "v1", "files"], path
        file_sha = segments[3]
        try:
            with self.sessions.begin() as s:
                if method == "GET" and segments[4:] == ["status"]:
                    answer = self.store.status(s, self.squad_id, file_sha)
                    return {"received": answer.received, "complete": answer.complete}
                if method == "PUT":
                    answer = self.store.put_chunk(
                        s, self.squad_id, file_sha, query["offset"], data, query["total"]
                    )
                    return {"received": answer.received, "complete": answer.complete}
                if method == "GET" and "offset" in query:
                    return self.store.read_chunk(s, self.squad_id, file_sha, query["offset"], query["length"])
                if method == "GET":
                    return self.store.open_for(s, self.squad_id, file_sha).read_bytes()
        except FileStoreError as exc:
            raise SyncError.from_answer(exc.status, exc.to_json()) from exc
        raise AssertionError(f"no route for {method} {path}")

    def call(self, method: str, path: str, json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self._serve(method, path, b"")
        assert isinstance(answer, dict)
        return answer

    def put_bytes(self, path: str, data: bytes) -> dict[str, Any]:
        answer = self._serve("PUT", path, data)
        assert isinstance(answer, dict)
        return answer

    def get_bytes(self, path: str) -> bytes:
        answer = self._serve("GET", path, b"")
        assert isinstance(answer, bytes)
        return answer


class Flaky:
    """A transport whose network fails once, at the ``fail_at``-th chunk request: before the
    request reaches the server (``lost="request"``) or after the server took it but before
    the answer came back (``lost="answer"``)."""

    def __init__(self, inner: LocalTransport, fail_at: int, lost: str = "request") -> None:
        self.inner = inner
        self.fail_at = fail_at
        self.lost = lost
        self.chunks = 0

    def _maybe_fail(self, before: bool) -> None:
        if self.chunks == self.fail_at and (self.lost == "request") == before:
            self.fail_at = -1
            raise SyncError("网络中断", code="network", transient=True)

    def call(self, method: str, path: str, json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.inner.call(method, path, json_body)

    def put_bytes(self, path: str, data: bytes) -> dict[str, Any]:
        self.chunks += 1
        self._maybe_fail(before=True)
        answer = self.inner.put_bytes(path, data)
        self._maybe_fail(before=False)
        return answer

    def get_bytes(self, path: str) -> bytes:
        self.chunks += 1
        self._maybe_fail(before=True)
        answer = self.inner.get_bytes(path)
        self._maybe_fail(before=False)
        return answer


def _typed(t: Transport) -> Transport:
    """The test transports satisfy the protocol (checked by mypy when tests are type-checked)."""
    return t


def upload_whole(
    server: FileStore, sessions: sessionmaker[Session], squad: str, data: bytes, chunk: int = CHUNK
) -> FileStatus:
    answer = FileStatus(0, False)
    for offset in range(0, max(len(data), 1), chunk):
        with sessions.begin() as s:
            answer = server.put_chunk(s, squad, sha(data), offset, data[offset : offset + chunk], len(data))
    return answer


def status(server: FileStore, sessions: sessionmaker[Session], squad: str, file_sha: str) -> FileStatus:
    with sessions.begin() as s:
        return server.status(s, squad, file_sha)


def district_rows(sessions: sessionmaker[Session]) -> list[tuple[str, str, int]]:
    with sessions.begin() as s:
        return [
            (r.sha256, r.squad_id, r.size)
            for r in s.scalars(select(DistrictFile).order_by(DistrictFile.squad_id))
        ]


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# ---- the district's store ------------------------------------------------------------------------


def test_a_chunked_upload_lands_verified_under_its_hash(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    data = content(3 * CHUNK + 1000)
    file_sha = sha(data)
    assert status(server, sessions, SQUAD_A, file_sha) == (0, False)
    seen = []
    for offset in range(0, len(data), CHUNK):
        with sessions.begin() as s:
            seen.append(
                server.put_chunk(s, SQUAD_A, file_sha, offset, data[offset : offset + CHUNK], len(data))
            )
        assert status(server, sessions, SQUAD_A, file_sha) == seen[-1]
    assert seen == [(CHUNK, False), (2 * CHUNK, False), (3 * CHUNK, False), (len(data), True)]
    final = folder / file_sha[:2] / file_sha
    assert final.read_bytes() == data
    assert not final.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)  # read-only
    assert files_under(folder) == [final]  # the part file is gone
    assert district_rows(sessions) == [(file_sha, SQUAD_A, len(data))]
    with sessions.begin() as s:
        assert server.open_for(s, SQUAD_A, file_sha) == final
        assert server.has(s, SQUAD_A, file_sha)
        assert server.read_chunk(s, SQUAD_A, file_sha, CHUNK, 10) == data[CHUNK : CHUNK + 10]
        assert server.read_chunk(s, SQUAD_A, file_sha, len(data), 10) == b""
        assert not server.has(s, SQUAD_A, "0" * 64)


def test_an_empty_file_is_one_empty_chunk(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    assert upload_whole(server, sessions, SQUAD_A, b"") == (0, True)
    assert (folder / sha(b"")[:2] / sha(b"")).read_bytes() == b""


@pytest.mark.parametrize("cut", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 17, 3 * CHUNK - 1])
def test_an_interrupted_upload_resumes_where_the_server_stands(
    server: FileStore, sessions: sessionmaker[Session], folder: Path, cut: int
) -> None:
    data = content(3 * CHUNK, seed=cut)
    file_sha = sha(data)
    # The first attempt sends odd-sized chunks and stops at ``cut`` (network gone, program killed).
    offset = 0
    while offset < cut:
        piece = data[offset : min(cut, offset + 1500)]
        with sessions.begin() as s:
            server.put_chunk(s, SQUAD_A, file_sha, offset, piece, len(data))
        offset += len(piece)
    assert not (folder / file_sha[:2] / file_sha).exists()
    # A restarted server (a new store object) reports the part, and the rest goes from there.
    restarted = FileStore(folder)
    received, complete = status(restarted, sessions, SQUAD_A, file_sha)
    assert (received, complete) == (cut, False)
    while not complete:
        with sessions.begin() as s:
            received, complete = restarted.put_chunk(
                s, SQUAD_A, file_sha, received, data[received : received + CHUNK], len(data)
            )
    assert (folder / file_sha[:2] / file_sha).read_bytes() == data
    assert files_under(folder) == [folder / file_sha[:2] / file_sha]


def test_a_chunk_must_start_where_the_server_stands(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    data = content(3 * CHUNK)
    file_sha = sha(data)
    with sessions.begin() as s, pytest.raises(FileStoreError, match="请从第 0 字节续传") as gap:
        server.put_chunk(s, SQUAD_A, file_sha, CHUNK, data[CHUNK : 2 * CHUNK], len(data))
    assert (gap.value.code, gap.value.status, gap.value.received) == ("offset", 409, 0)
    assert gap.value.to_json() == {"error": "offset", "message": gap.value.message, "received": 0}
    assert files_under(folder) == []  # the refused request left no empty part file behind
    with sessions.begin() as s:
        assert server.put_chunk(s, SQUAD_A, file_sha, 0, data[:CHUNK], len(data)) == (CHUNK, False)
        # The same chunk again (its answer was lost): already there, nothing changes.
        assert server.put_chunk(s, SQUAD_A, file_sha, 0, data[:CHUNK], len(data)) == (CHUNK, False)
        # A chunk reaching past what is held: only its new tail is taken.
        assert server.put_chunk(
            s, SQUAD_A, file_sha, CHUNK // 2, data[CHUNK // 2 : 2 * CHUNK], len(data)
        ) == (
            2 * CHUNK,
            False,
        )
    with sessions.begin() as s, pytest.raises(FileStoreError, match=f"请从第 {2 * CHUNK} 字节续传") as ahead:
        server.put_chunk(s, SQUAD_A, file_sha, 2 * CHUNK + 1, data[2 * CHUNK + 1 :], len(data))
    assert ahead.value.received == 2 * CHUNK
    with sessions.begin() as s:
        assert server.put_chunk(s, SQUAD_A, file_sha, 2 * CHUNK, data[2 * CHUNK :], len(data)) == (
            len(data),
            True,
        )
        # Complete for the squad: any further chunk is answered "complete" at once.
        assert server.put_chunk(s, SQUAD_A, file_sha, 0, data[:10], len(data)) == (len(data), True)
    assert not list((folder / "tmp").iterdir())


def test_wrong_content_is_refused_and_nothing_is_stored(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    data = content(2 * CHUNK + 5)
    claimed = sha(b"something else entirely")
    with sessions.begin() as s:
        server.put_chunk(s, SQUAD_A, claimed, 0, data[:CHUNK], len(data))
        server.put_chunk(s, SQUAD_A, claimed, CHUNK, data[CHUNK : 2 * CHUNK], len(data))
    with sessions.begin() as s, pytest.raises(FileStoreError, match="校验值不符") as refused:
        server.put_chunk(s, SQUAD_A, claimed, 2 * CHUNK, data[2 * CHUNK :], len(data))
    assert (refused.value.code, refused.value.status) == ("hash_mismatch", 422)
    assert files_under(folder) == []  # the part is deleted, nothing under the claimed hash
    assert district_rows(sessions) == []
    assert status(server, sessions, SQUAD_A, claimed) == (0, False)  # the next try starts afresh


def test_one_flipped_bit_in_a_chunk_is_refused(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    data = content(2 * CHUNK)
    damaged = bytearray(data)
    damaged[CHUNK + 7] ^= 0x04
    with pytest.raises(FileStoreError, match="校验值不符"):
        for offset in range(0, len(data), CHUNK):
            with sessions.begin() as s:
                server.put_chunk(
                    s, SQUAD_A, sha(data), offset, bytes(damaged[offset : offset + CHUNK]), len(data)
                )
    assert files_under(folder) == [] and district_rows(sessions) == []


def test_no_partial_file_is_ever_under_a_final_name(
    server: FileStore, sessions: sessionmaker[Session], folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = content(4 * CHUNK + 3)
    file_sha = sha(data)
    final = folder / file_sha[:2] / file_sha
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def watched_replace(src: Any, dst: Any) -> None:
        # At the moment of the rename the source is already whole, verified and read-only.
        assert Path(src).parent == folder / "tmp"
        assert sha(Path(src).read_bytes()) == file_sha
        assert not Path(dst).exists() or Path(dst).read_bytes() == data
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(district_files.os, "replace", watched_replace)
    for offset in range(0, len(data), CHUNK):
        assert not final.exists()  # before the last chunk: only the part file exists
        with sessions.begin() as s:
            server.put_chunk(s, SQUAD_A, file_sha, offset, data[offset : offset + CHUNK], len(data))
    assert renames == [(folder / "tmp" / f"{SQUAD_A}-{file_sha}.part", final)]
    assert final.read_bytes() == data


def test_another_squad_cannot_fetch_and_must_upload_the_whole_file_itself(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    data = content(2 * CHUNK + 99)
    file_sha = sha(data)
    upload_whole(server, sessions, SQUAD_A, data)
    final = folder / file_sha[:2] / file_sha
    with sessions.begin() as s:
        # Exactly the answer for a file the district never had: nothing leaks.
        assert server.status(s, SQUAD_B, file_sha) == (0, False)
        assert not server.has(s, SQUAD_B, file_sha)
        with pytest.raises(FileStoreError, match="区局没有本中队的这个附件") as refused:
            server.open_for(s, SQUAD_B, file_sha)
        assert (refused.value.code, refused.value.status) == ("not_found", 404)
        with pytest.raises(FileStoreError, match="没有本中队"):
            server.read_chunk(s, SQUAD_B, file_sha, 0, 100)
        with pytest.raises(FileStoreError, match="没有本中队"):
            server.open_for(s, SQUAD_B, "f" * 64)
    # Knowing the hash is not enough: a squad B upload of other bytes under it is refused, and
    # squad A's file is untouched.
    forged = content(len(data), seed=7)
    with pytest.raises(FileStoreError, match="校验值不符"):
        for offset in range(0, len(forged), CHUNK):
            with sessions.begin() as s:
                server.put_chunk(s, SQUAD_B, file_sha, offset, forged[offset : offset + CHUNK], len(forged))
    assert final.read_bytes() == data
    with sessions.begin() as s, pytest.raises(FileStoreError):
        server.open_for(s, SQUAD_B, file_sha)
    # With the real bytes, squad B proves possession; the file is still stored once.
    assert upload_whole(server, sessions, SQUAD_B, data) == (len(data), True)
    assert files_under(folder) == [final]
    assert final.read_bytes() == data
    assert district_rows(sessions) == [(file_sha, SQUAD_A, len(data)), (file_sha, SQUAD_B, len(data))]
    with sessions.begin() as s:
        assert server.open_for(s, SQUAD_B, file_sha) == final


def test_sizes_and_hashes_are_checked_before_anything_is_written(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    with sessions.begin() as s:
        with pytest.raises(FileStoreError, match=r"超过区局接收的上限 2\.00 GiB") as too_big:
            server.put_chunk(s, SQUAD_A, "a" * 64, 0, b"x", MAX_FILE_SIZE + 1)
        assert (too_big.value.code, too_big.value.status) == ("too_large", 413)
        with pytest.raises(FileStoreError, match="超出了声明的附件大小"):
            server.put_chunk(s, SQUAD_A, "a" * 64, 0, b"xyz", 2)
        for bad in ["../../etc/passwd", "A" * 64, "a" * 63, ""]:
            with pytest.raises(FileStoreError, match="不是有效的附件校验值"):
                server.put_chunk(s, SQUAD_A, bad, 0, b"x", 1)
            with pytest.raises(FileStoreError, match="不是有效的附件校验值"):
                server.status(s, SQUAD_A, bad)
    assert files_under(folder) == []
    small = FileStore(folder, max_size=100)
    with sessions.begin() as s, pytest.raises(FileStoreError, match="超过区局接收的上限 100 字节"):
        small.put_chunk(s, SQUAD_A, sha(b"x" * 101), 0, b"x" * 50, 101)
    assert upload_whole(small, sessions, SQUAD_A, b"x" * 100, chunk=30) == (100, True)


def test_a_file_lost_from_disk_is_uploaded_again(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    data = content(CHUNK + 1)
    upload_whole(server, sessions, SQUAD_A, data)
    final = folder / sha(data)[:2] / sha(data)
    os.chmod(final, stat.S_IREAD | stat.S_IWRITE)
    final.unlink()
    assert status(server, sessions, SQUAD_A, sha(data)) == (0, False)
    assert upload_whole(server, sessions, SQUAD_A, data) == (len(data), True)
    assert final.read_bytes() == data
    assert district_rows(sessions) == [(sha(data), SQUAD_A, len(data))]


def test_a_whole_stream_is_taken_like_an_upload(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    import io

    data = content(5 * CHUNK + 3)
    with sessions.begin() as s:
        server.put_chunk(s, SQUAD_A, sha(data), 0, data[:CHUNK], len(data))  # an upload that broke off
    with sessions.begin() as s:
        assert server.put_stream(s, SQUAD_A, sha(data), io.BytesIO(data), len(data), chunk_size=CHUNK) == (
            len(data),
            True,
        )
    assert (folder / sha(data)[:2] / sha(data)).read_bytes() == data
    with sessions.begin() as s, pytest.raises(FileStoreError, match="比声明的大小"):
        server.put_stream(s, SQUAD_B, sha(b"abc"), io.BytesIO(b"ab"), 3)


def test_abandoned_parts_are_swept(server: FileStore, sessions: sessionmaker[Session], folder: Path) -> None:
    with sessions.begin() as s:
        server.put_chunk(s, SQUAD_A, sha(b"abcdef"), 0, b"abc", 6)
    assert server.remove_stale(dt.timedelta(days=30)) == 0
    later = (dt.datetime.now() + dt.timedelta(days=31)).timestamp()
    assert server.remove_stale(dt.timedelta(days=30), now=later) == 1
    assert status(server, sessions, SQUAD_A, sha(b"abcdef")) == (0, False)


def test_concurrent_writers_of_one_part_never_corrupt_it(
    server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    """Two devices of a squad sending the same file at once (threads of one worker, each its
    own session): every write is taken under the part file's lock and the result is whole."""
    data = content(40 * 512)
    file_sha = sha(data)
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            received, complete = status(server, sessions, SQUAD_A, file_sha)
            while not complete:
                try:
                    with sessions.begin() as s:
                        received, complete = server.put_chunk(
                            s, SQUAD_A, file_sha, received, data[received : received + 512], len(data)
                        )
                except FileStoreError as exc:
                    if exc.code != "offset":
                        raise
                    received, complete = status(server, sessions, SQUAD_A, file_sha)
                except DBAPIError:
                    # SQLite's one writer ("database is locked") or two finishing at once: the
                    # API answers 5xx and the device asks again.
                    received, complete = status(server, sessions, SQUAD_A, file_sha)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert (folder / file_sha[:2] / file_sha).read_bytes() == data
    assert files_under(folder) == [folder / file_sha[:2] / file_sha]  # no part file left behind
    assert district_rows(sessions) == [(file_sha, SQUAD_A, len(data))]


_WORKER = """
import hashlib, sys
from pathlib import Path
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from app.district.files import FileStore, FileStoreError
from db.engine import make_engine, sqlite_url

db, folder, source, squad = sys.argv[1:]
data = Path(source).read_bytes()
file_sha = hashlib.sha256(data).hexdigest()
sessions = sessionmaker(bind=make_engine(sqlite_url(Path(db))))
store = FileStore(Path(folder))

def status():
    with sessions.begin() as s:
        return store.status(s, squad, file_sha)

received, complete = status()
while not complete:
    try:
        with sessions.begin() as s:
            received, complete = store.put_chunk(s, squad, file_sha, received, data[received:received + 700], len(data))
    except FileStoreError as exc:
        if exc.code != "offset":
            raise
        received, complete = status()
    except DBAPIError:
        received, complete = status()
"""


def test_server_workers_in_separate_processes_share_one_part_safely(
    tmp_path: Path, sessions: sessionmaker[Session], folder: Path
) -> None:
    """Several server processes (workers behind a reverse proxy) taking chunks of one file: the
    part file's lock works across processes, and the stored file is whole."""
    data = content(60 * 700 + 3)
    source = tmp_path / "photo.jpg"
    source.write_bytes(data)
    db = tmp_path / "district.sqlite3"
    workers = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(db), str(folder), str(source), SQUAD_A])
        for _ in range(3)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    final = folder / sha(data)[:2] / sha(data)
    assert final.read_bytes() == data
    assert files_under(folder) == [final]
    assert district_rows(sessions) == [(sha(data), SQUAD_A, len(data))]


# ---- which files rows point at -------------------------------------------------------------------


def test_file_columns_name_every_hash_column_of_a_synced_table() -> None:
    """A new table holding a stored file's hash must be added to FILE_COLUMNS, or its files
    would never travel."""
    found: dict[str, tuple[str, ...]] = {}
    for cls in synced_tables():
        columns = tuple(
            c.name for c in cls.__table__.columns if c.name == "sha256" or c.name.endswith("_sha256")
        )
        if columns:
            found[cls.__tablename__] = columns
    assert found == dict(FILE_COLUMNS)


def test_referenced_files_of_push_entries_and_change_log_rows() -> None:
    a, b, c = sha(b"a"), sha(b"b"), sha(b"c")
    entries = [
        {"seq": 1, "table": "lead_photos", "row_id": "1", "payload": {"sha256": a, "deleted": False}},
        {"seq": 2, "table": "case_evidence", "row_id": "2", "payload": {"sha256": b, "deleted": True}},
        {"seq": 3, "table_name": "issued_documents", "row_id": "3", "payload": json.dumps({"pdf_sha256": c})},
        {"seq": 4, "table": "cases", "row_id": "4", "payload": {"sha256": sha(b"not a file column")}},
        {"seq": 5, "table": "lead_photos", "row_id": "5", "payload": {"sha256": "../../etc/passwd"}},
        {"seq": 6, "table": "lead_photos", "row_id": "6", "payload": {"sha256": None}},
        {"seq": 7, "table": "lead_photos", "row_id": "1", "payload": {"sha256": a}},
    ]
    assert referenced_files(entries) == {a, b, c}
    assert referenced_files([]) == set()


# ---- the device uploads and downloads --------------------------------------------------------------


def device_files(tmp_path: Path, name: str, *blobs: bytes) -> tuple[Path, list[str]]:
    store_dir = tmp_path / name / "files"
    return store_dir, [device_store.put_bytes(store_dir, blob).sha256 for blob in blobs]


def test_upload_sends_what_the_district_lacks_in_chunks(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    big, small, empty = content(5 * CHUNK + 123), b"small photo", b""
    store_dir, shas = device_files(tmp_path, "device", big, small, empty)
    upload_whole(server, sessions, SQUAD_A, small)  # already there for the squad
    transport = LocalTransport(server, sessions, SQUAD_A)
    steps: list[tuple[int, int, str]] = []
    report = upload_missing(
        _typed(transport), store_dir, shas, chunk_size=CHUNK, progress=Progress(lambda *a: steps.append(a))
    )
    assert sorted(report.uploaded) == sorted([sha(big), sha(empty)])
    assert report.present == [sha(small)]
    assert report.missing == report.damaged == [] and report.blocked == set()
    assert report.bytes_sent == len(big)
    puts = [r for r in transport.requests if r[0] == "PUT"]
    assert len(puts) == 6 + 1  # six chunks of the big file, one empty chunk for the empty file
    assert max(size for _, _, size in puts) == CHUNK
    assert steps[-1][:2] == (len(big), len(big))
    for blob in (big, small, empty):
        assert (folder / sha(blob)[:2] / sha(blob)).read_bytes() == blob
    # Nothing left to send: a second run only asks.
    again = upload_missing(transport, store_dir, shas, chunk_size=CHUNK)
    assert sorted(again.present) == sorted(shas) and again.bytes_sent == 0


@pytest.mark.parametrize("lost", ["request", "answer"])
@pytest.mark.parametrize("fail_at", [1, 2, 4, 6])
def test_upload_resumes_after_the_network_drops(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session], folder: Path, fail_at: int, lost: str
) -> None:
    data = content(5 * CHUNK + 1, seed=fail_at)
    store_dir, shas = device_files(tmp_path, "device", data)
    local = LocalTransport(server, sessions, SQUAD_A)
    flaky = Flaky(local, fail_at, lost)
    with pytest.raises(SyncError) as dropped:
        upload_missing(flaky, store_dir, shas, chunk_size=CHUNK)
    assert dropped.value.transient and dropped.value.code == "network"
    final = folder / sha(data)[:2] / sha(data)
    held, complete = status(server, sessions, SQUAD_A, sha(data))
    if lost == "answer" and fail_at == 6:
        assert complete and final.read_bytes() == data  # the last chunk arrived; only its answer was lost
    else:
        assert not complete and not final.exists()
        assert held == (fail_at - (1 if lost == "request" else 0)) * CHUNK
    local.requests.clear()
    report = upload_missing(flaky, store_dir, shas, chunk_size=CHUNK)
    assert final.read_bytes() == data
    if complete:
        assert report.present == shas
    else:
        assert report.uploaded == shas
        # Only what the server did not hold was sent again.
        assert report.bytes_sent == len(data) - held
        assert next(r[1] for r in local.requests if r[0] == "PUT").endswith(
            f"?offset={held}&total={len(data)}"
        )
    assert files_under(folder) == [final]


def test_a_cancelled_upload_resumes_next_time(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    data = content(4 * CHUNK)
    store_dir, shas = device_files(tmp_path, "device", data)
    transport = LocalTransport(server, sessions, SQUAD_A)
    progress = Progress(lambda done, total, text: progress.cancel() if done >= 2 * CHUNK else None)
    with pytest.raises(Cancelled):
        upload_missing(transport, store_dir, shas, chunk_size=CHUNK, progress=progress)
    assert status(server, sessions, SQUAD_A, shas[0]) == (2 * CHUNK, False)
    report = upload_missing(transport, store_dir, shas, chunk_size=CHUNK)
    assert report.uploaded == shas and report.bytes_sent == 2 * CHUNK


class Corrupting(LocalTransport):
    """Flips one bit of the ``at``-th chunk it carries, once (a transfer damaged on the way)."""

    def __init__(self, *args: Any, at: int) -> None:
        super().__init__(*args)
        self.at = at
        self.count = 0

    def put_bytes(self, path: str, data: bytes) -> dict[str, Any]:
        self.count += 1
        if self.count == self.at and data:
            data = bytes([data[0] ^ 1]) + data[1:]
        return super().put_bytes(path, data)


def test_a_transfer_damaged_on_the_way_is_refused_and_sent_again(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    data = content(3 * CHUNK)
    store_dir, shas = device_files(tmp_path, "device", data)
    transport = Corrupting(server, sessions, SQUAD_A, at=2)
    report = upload_missing(transport, store_dir, shas, chunk_size=CHUNK)
    assert report.uploaded == shas
    # Two chunks went before the server refused the whole, then the whole file again.
    assert report.bytes_sent == 2 * CHUNK + len(data)
    assert (folder / sha(data)[:2] / sha(data)).read_bytes() == data


def test_files_this_device_cannot_give_are_reported_not_sent(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    good, broken = content(CHUNK + 5, seed=1), content(2 * CHUNK, seed=2)
    store_dir, shas = device_files(tmp_path, "device", good, broken)
    damaged_path = device_store.path_of(store_dir, sha(broken))
    os.chmod(damaged_path, stat.S_IREAD | stat.S_IWRITE)
    damaged_path.write_bytes(broken[:-1] + b"!")  # disk damage behind the program's back
    never_had = sha(b"a photo that only ever was on another device")
    report = upload_missing(
        LocalTransport(server, sessions, SQUAD_A), store_dir, [*shas, never_had], chunk_size=CHUNK
    )
    assert report.uploaded == [sha(good)]
    assert report.damaged == [sha(broken)]
    assert report.missing == [never_had]
    assert report.blocked == {sha(broken), never_had}
    assert files_under(folder) == [folder / sha(good)[:2] / sha(good)]
    assert district_rows(sessions) == [(sha(good), SQUAD_A, len(good))]


def test_two_devices_of_a_squad_uploading_one_file_interleaved(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    """Device 1 is cut off half way; device 2 (the same photo, chunk size of its own) takes
    over from the server's offset; device 1 comes back and finds the file complete."""
    data = content(6 * CHUNK + 11)
    store_1, shas = device_files(tmp_path, "one", data)
    store_2, _ = device_files(tmp_path, "two", data)
    with pytest.raises(SyncError):
        upload_missing(Flaky(LocalTransport(server, sessions, SQUAD_A), 4), store_1, shas, chunk_size=CHUNK)
    second = upload_missing(LocalTransport(server, sessions, SQUAD_A), store_2, shas, chunk_size=3000)
    assert second.uploaded == shas and second.bytes_sent == len(data) - 3 * CHUNK
    first = upload_missing(LocalTransport(server, sessions, SQUAD_A), store_1, shas, chunk_size=CHUNK)
    assert first.present == shas
    assert (folder / sha(data)[:2] / sha(data)).read_bytes() == data


def test_download_fetches_verifies_and_renames_into_the_store(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session]
) -> None:
    big, photo = content(7 * CHUNK + 5), b"\xff\xd8 photo"
    up_dir, shas = device_files(tmp_path, "uploader", big, photo)
    upload_missing(LocalTransport(server, sessions, SQUAD_A), up_dir, shas, chunk_size=CHUNK)
    not_yet = sha(b"a file its device has not synced yet")
    down_dir, had = device_files(tmp_path, "downloader", b"already here")
    transport = LocalTransport(server, sessions, SQUAD_A)
    steps: list[tuple[int, int, str]] = []
    report = download_missing(
        transport,
        down_dir,
        [*shas, not_yet, *had],
        chunk_size=CHUNK,
        progress=Progress(lambda *a: steps.append(a)),
    )
    assert sorted(report.downloaded) == sorted(shas)
    assert report.present == had and report.unavailable == [not_yet] and report.damaged == []
    assert report.bytes_received == len(big) + len(photo)
    for blob in (big, photo):
        assert device_store.path_of(down_dir, sha(blob)).read_bytes() == blob
        assert device_store.verify(down_dir, sha(blob))
    gets = [r for r in transport.requests if r[0] == "GET" and "offset=" in r[1]]
    assert len(gets) == 8 + 1  # ranged reads of one chunk each
    assert steps[-1][:2] == (len(big) + len(photo), len(big) + len(photo))
    assert not [p for p in down_dir.rglob(".incoming-*")]


def test_another_squads_device_gets_nothing(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session]
) -> None:
    up_dir, shas = device_files(tmp_path, "squad-a-device", b"evidence of squad A")
    upload_missing(LocalTransport(server, sessions, SQUAD_A), up_dir, shas)
    foreign = LocalTransport(server, sessions, SQUAD_B)
    down_dir = tmp_path / "squad-b-device" / "files"
    report = download_missing(foreign, down_dir, shas)
    assert report.unavailable == shas and report.downloaded == []
    with pytest.raises(SyncError) as refused:
        foreign.get_bytes(sync_files.range_path(shas[0], 0, 100))
    assert (refused.value.code, refused.value.status, refused.value.transient) == ("not_found", 404, False)
    assert not down_dir.exists() or files_under(down_dir) == []


def test_an_interrupted_download_leaves_no_partial_file_and_resumes(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session]
) -> None:
    data = content(5 * CHUNK)
    up_dir, shas = device_files(tmp_path, "uploader", data)
    upload_missing(LocalTransport(server, sessions, SQUAD_A), up_dir, shas, chunk_size=CHUNK)
    down_dir = tmp_path / "downloader" / "files"
    with pytest.raises(SyncError):
        download_missing(
            Flaky(LocalTransport(server, sessions, SQUAD_A), 3), down_dir, shas, chunk_size=CHUNK
        )
    assert not device_store.exists(down_dir, shas[0])
    assert files_under(down_dir) == []  # the temporary file went too
    report = download_missing(LocalTransport(server, sessions, SQUAD_A), down_dir, shas, chunk_size=CHUNK)
    assert report.downloaded == shas
    assert device_store.path_of(down_dir, shas[0]).read_bytes() == data


def test_a_damaged_server_copy_is_not_stored(
    tmp_path: Path, server: FileStore, sessions: sessionmaker[Session], folder: Path
) -> None:
    good, bad = content(2 * CHUNK, seed=3), content(2 * CHUNK, seed=4)
    up_dir, shas = device_files(tmp_path, "uploader", good, bad)
    upload_missing(LocalTransport(server, sessions, SQUAD_A), up_dir, shas, chunk_size=CHUNK)
    on_server = folder / sha(bad)[:2] / sha(bad)
    os.chmod(on_server, stat.S_IREAD | stat.S_IWRITE)
    on_server.write_bytes(bad[:-1] + b"?")
    down_dir = tmp_path / "downloader" / "files"
    report = download_missing(LocalTransport(server, sessions, SQUAD_A), down_dir, shas, chunk_size=CHUNK)
    assert report.downloaded == [sha(good)] and report.damaged == [sha(bad)]
    assert files_under(down_dir) == [device_store.path_of(down_dir, sha(good))]


def test_lead_photos_travel_before_their_rows(
    tmp_path: Path,
    ctx: AppContext,
    actors: dict[Role, Actor],
    server: FileStore,
    sessions: sessionmaker[Session],
) -> None:
    """From a real change log: the photos a clerk attached are what the push must upload first."""
    camera = tmp_path / "camera"
    camera.mkdir()
    shots = []
    for i in range(2):
        shot = camera / f"IMG_000{i}.jpg"
        shot.write_bytes(b"\xff\xd8\xff\xe0" + content(3000, seed=i))
        shots.append(shot)
    clerk = actors[Role.CLERK]
    lead = LeadInput(
        source=LeadSource.PATROL,
        address="车陂路 123 号门前",
        description="占道经营：流动摊贩在人行道摆卖水果。",
        occurred_at=dt.datetime(2026, 3, 2, 9, 10),
        received_at=dt.datetime(2026, 3, 2, 9, 30),
        grid_zone="车陂第三网格",
    )
    store_dir = device_store.files_dir(ctx.data_dir)
    with ctx.unit_of_work(clerk, "登记案源") as s:
        register_lead(s, clerk, lead, shots, store_dir)
    with ctx.read() as s:
        entries = [
            {"table_name": e.table_name, "payload": e.payload}
            for e in s.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.seq))
        ]
        assert s.scalar(select(func.count()).select_from(ChangeLogEntry)) == len(entries)
    wanted = referenced_files(entries)
    assert wanted == {sha(p.read_bytes()) for p in shots}
    report = upload_missing(
        LocalTransport(server, sessions, ctx.require_squad()), store_dir, wanted, chunk_size=1024
    )
    assert sorted(report.uploaded) == sorted(wanted)
    with sessions.begin() as s:
        assert all(server.has(s, ctx.require_squad(), one) for one in wanted)


# ---- the HTTP transport -----------------------------------------------------------------------------


def test_http_transport_signs_every_request_and_maps_errors(tmp_path: Path) -> None:
    """httpx's in-process transport stands for the server: it checks each request's signature
    with the device's public key, as the district does, and answers like the API."""
    key = DeviceKey.generate()
    seen: list[str] = []

    def district(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        check_request(
            request.headers, request.method, path, request.content, key.public_pem(), dt.datetime.now(dt.UTC)
        )
        assert request.headers[SCHEMA_HEADER] == str(SCHEMA_VERSION)
        seen.append(f"{request.method} {path}")
        if path.endswith("/status"):
            return httpx.Response(200, json={"received": 5, "complete": False})
        if request.method == "PUT":
            if request.url.params["offset"] != "5":
                return httpx.Response(
                    409, json={"error": "offset", "message": "请从第 5 字节续传。", "received": 5}
                )
            return httpx.Response(200, json={"received": 5 + len(request.content), "complete": True})
        if path == "/v1/push":
            assert json.loads(request.content) == {"entries": ["车陂"]}
            return httpx.Response(503, text="<html>bad gateway</html>")
        if path == "/v1/pull":
            return httpx.Response(426, json={"error": "upgrade", "message": "请升级本机的 SquadDesk。"})
        return httpx.Response(200, content=b"raw bytes")

    client = httpx.Client(transport=httpx.MockTransport(district))
    with HttpTransport("https://district.example/", key, "device-1", client=client) as http:
        file_sha = "a" * 64
        assert http.call("GET", sync_files.status_path(file_sha)) == {"received": 5, "complete": False}
        assert http.put_bytes(sync_files.chunk_path(file_sha, 5, 8), b"abc") == {
            "received": 8,
            "complete": True,
        }
        with pytest.raises(SyncError, match="续传") as offset:
            http.put_bytes(sync_files.chunk_path(file_sha, 0, 8), b"abc")
        assert (offset.value.code, offset.value.status, offset.value.transient) == ("offset", 409, False)
        assert offset.value.body["received"] == 5
        assert http.get_bytes(sync_files.range_path(file_sha, 0, 9)) == b"raw bytes"
        with pytest.raises(SyncError) as server_down:
            http.call("POST", "/v1/push", {"entries": ["车陂"]})
        assert (server_down.value.code, server_down.value.status, server_down.value.transient) == (
            "http_503",
            503,
            True,
        )
        with pytest.raises(SyncError, match="请升级") as upgrade:
            http.call("POST", "/v1/pull", {})
        assert (upgrade.value.code, upgrade.value.transient) == ("upgrade", False)
    assert seen[0] == f"GET /v1/files/{'a' * 64}/status"
    assert seen[1] == f"PUT /v1/files/{'a' * 64}?offset=5&total=8"


def test_http_transport_network_faults_are_transient() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(unreachable))
    http = HttpTransport("http://127.0.0.1:9", DeviceKey.generate(), "device-1", client=client)
    with pytest.raises(SyncError, match="无法连接区局同步服务") as down:
        http.call("GET", "/v1/hello")
    assert (down.value.code, down.value.status, down.value.transient) == ("network", 0, True)

    def portal(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>请登录 Wi-Fi</html>")

    http = HttpTransport(
        "http://127.0.0.1:9",
        DeviceKey.generate(),
        "device-1",
        client=httpx.Client(transport=httpx.MockTransport(portal)),
    )
    with pytest.raises(SyncError, match="无法识别") as odd:
        http.call("GET", "/v1/hello")
    assert odd.value.transient
