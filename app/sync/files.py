"""Attachments in sync (附件同步): which files the synced rows point at, uploading those the
district lacks before the rows go, and fetching those this device lacks after a pull.

Rows hold only the sha256 of a file in the device's content-addressed store (app.files):
case evidence, lead photos and the PDFs of issued documents (:data:`FILE_COLUMNS`). Files go up
before the rows that name them: the client calls :func:`referenced_files` on the batch it is
about to push and :func:`upload_missing` on the result, then pushes. A file this device does not
have (or whose bytes no longer match its hash) cannot be sent; its row goes anyway — holding it
back would wedge the outbox for good — and the file is reported missing on the sync page.

An upload asks the district how much of the file it holds for this squad
(``GET /v1/files/<sha>/status`` → ``{received, complete}``) and sends the rest in chunks
(``PUT /v1/files/<sha>?offset=N&total=SIZE``, body = the raw chunk → ``{received, complete}``),
each from the offset the server reports — so an upload cut off by a lost network, a killed
program or a cancel resumes where the server stands, and a chunk whose answer was lost is
simply sent again. The chunk reaching ``total`` completes it; the server checks the hash.

A download asks the status the same way (a file that is not complete there is not available
yet) and fetches the file in ranges (``GET /v1/files/<sha>?offset=N&length=M``), streamed through
:func:`app.files.put_stream`: into a temporary file, hashed on the way, renamed to its hash only
when the hash is right.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import files as store
from app.errors import Cancelled
from app.progress import Progress, step
from app.sync.faults import checkpoint
from app.sync.transport import SyncError, Transport

#: Synced tables and their columns holding the sha256 of a file in the content-addressed store.
FILE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "case_evidence": ("sha256",),
    "issued_documents": ("pdf_sha256",),
    "lead_photos": ("sha256",),
}
#: One chunk of an upload or download.
CHUNK_SIZE = 1 << 20
#: How often an upload starts over after the server refused the whole file's hash (a transfer
#: damaged on the way) before giving up.
_HASH_RETRIES = 1
#: How often in a row an upload re-reads the server's offset without getting further.
_OFFSET_RETRIES = 3
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ---- API paths ---------------------------------------------------------------------------------


def status_path(sha256: str) -> str:
    return f"/v1/files/{sha256}/status"


def chunk_path(sha256: str, offset: int, total: int) -> str:
    return f"/v1/files/{sha256}?offset={offset}&total={total}"


def range_path(sha256: str, offset: int, length: int) -> str:
    return f"/v1/files/{sha256}?offset={offset}&length={length}"


# ---- which files -------------------------------------------------------------------------------


def files_of_row(table: str, payload: Mapping[str, Any]) -> set[str]:
    """The hashes of stored files one row image points at (empty for tables without files)."""
    out: set[str] = set()
    for column in FILE_COLUMNS.get(table, ()):
        value = payload.get(column)
        # Anything but a well-formed hash cannot name a stored file (app.files.path_of refuses it).
        if isinstance(value, str) and _HEX64.match(value):
            out.add(value)
    return out


def referenced_files(entries: Iterable[Mapping[str, Any]]) -> set[str]:
    """The hashes of the stored files that change-log entries point at.

    An entry is a push entry (``table`` and ``payload`` as a dict) or a change-log row turned
    into a dict (``table_name`` and ``payload`` as JSON text). Tombstones count too: a deleted
    row can come back when a clerk resolves a conflict for it, and then its file must be there.
    """
    out: set[str] = set()
    for entry in entries:
        table = entry.get("table") or entry.get("table_name")
        if not isinstance(table, str) or table not in FILE_COLUMNS:
            continue
        payload = entry.get("payload")
        if isinstance(payload, str | bytes):
            payload = json.loads(payload)
        if isinstance(payload, Mapping):
            out |= files_of_row(table, payload)
    return out


# ---- upload ------------------------------------------------------------------------------------


@dataclass
class UploadReport:
    """What :func:`upload_missing` did. Hashes in ``missing`` or ``damaged`` are files the
    district does not get from this device: their rows go up without them, and are reported."""

    #: Sent (or finished) now.
    uploaded: list[str] = field(default_factory=list)
    #: Already complete on the server for this squad.
    present: list[str] = field(default_factory=list)
    #: Neither on the server nor in this device's store (e.g. a pulled row whose file never came).
    missing: list[str] = field(default_factory=list)
    #: In this device's store, but its content no longer matches its hash (disk damage).
    damaged: list[str] = field(default_factory=list)
    #: Bytes sent in chunks.
    bytes_sent: int = 0

    @property
    def blocked(self) -> set[str]:
        """The hashes whose rows must wait."""
        return set(self.missing) | set(self.damaged)


def _status(transport: Transport, sha256: str) -> tuple[int, bool]:
    answer = transport.call("GET", status_path(sha256), None)
    return _answer(answer)


def _answer(answer: Mapping[str, Any]) -> tuple[int, bool]:
    try:
        received = int(answer["received"])
        complete = bool(answer["complete"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SyncError(
            "区局同步服务对附件请求的回答不完整，请稍后重试；如果一直出现，请联系区局升级同步服务。",
            code="bad_response",
            transient=True,
        ) from exc
    return received, complete


def upload_missing(
    transport: Transport,
    store_dir: Path,
    shas: Iterable[str],
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> UploadReport:
    """Upload those of ``shas`` (files in the device's store ``store_dir``, i.e.
    ``app.files.files_dir(ctx.data_dir)``) that the district does not hold complete for this
    squad, each resumed from where the server stands.

    ``progress`` is stepped with the bytes sent of all files together; its cancel raises
    :class:`app.errors.Cancelled` between two chunks (what was sent stays on the server and the
    next upload resumes there). Transport failures raise :class:`SyncError` (``transient`` for
    network faults): call again later and the upload resumes.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    report = UploadReport()
    todo: list[tuple[str, Path, int, int]] = []  # sha, local path, size, server offset
    for sha in sorted(set(shas)):
        received, complete = _status(transport, sha)
        if complete:
            report.present.append(sha)
            continue
        path = store.path_of(store_dir, sha)
        try:
            size = path.stat().st_size
        except OSError:
            report.missing.append(sha)
            continue
        todo.append((sha, path, size, received))
    total = sum(max(0, size - received) for _, _, size, received in todo)
    step(progress, 0, total, "上传附件")
    done = 0
    for number, (sha, path, size, received) in enumerate(todo, start=1):
        label = f"上传附件 {number}/{len(todo)}"

        def sent(count: int, label: str = label) -> None:
            nonlocal done
            done += count
            report.bytes_sent += count
            step(progress, done, max(total, done), label)

        if _upload_one(transport, store_dir, sha, path, size, received, chunk_size, sent, progress):
            report.uploaded.append(sha)
        else:
            report.damaged.append(sha)
    return report


def _upload_one(
    transport: Transport,
    store_dir: Path,
    sha: str,
    path: Path,
    size: int,
    offset: int,
    chunk_size: int,
    sent: Callable[[int], None],
    progress: Progress | None,
) -> bool:
    """Send one file from ``offset``; False when the local copy turns out to be damaged."""
    hash_retries = _HASH_RETRIES
    stuck = 0
    with path.open("rb") as handle:
        while True:
            if offset > size:
                # The server holds more than this file has: the local copy was cut short.
                if not store.verify(store_dir, sha):
                    return False
                offset = 0
            if progress is not None and progress.cancelled:
                raise Cancelled()  # between two chunks: what the server holds stays there
            handle.seek(offset)
            data = handle.read(min(chunk_size, size - offset))
            try:
                received, complete = _answer(transport.put_bytes(chunk_path(sha, offset, size), data))
            except SyncError as exc:
                if exc.code == "offset" and stuck < _OFFSET_RETRIES:
                    # Another device of the squad is sending the same file, or an answer was lost:
                    # carry on from where the server stands.
                    stuck += 1
                    offset = _resume_point(transport, sha)
                    if offset < 0:
                        return True  # the other sender finished it
                    continue
                if exc.code == "hash_mismatch":
                    if not store.verify(store_dir, sha):
                        return False
                    if hash_retries > 0:
                        hash_retries -= 1
                        offset = 0
                        continue
                raise
            checkpoint("client.file.chunk_sent")
            if complete:
                sent(max(0, size - offset))
                return True
            if received > offset:
                sent(min(received, size) - offset)
                stuck = 0
            elif data:
                stuck += 1
                if stuck > _OFFSET_RETRIES:
                    raise SyncError(
                        "区局同步服务没有接收附件数据，上传无法继续。请稍后重试；如果一直出现，请联系区局。",
                        code="stalled",
                        transient=True,
                    )
            offset = received


def _resume_point(transport: Transport, sha: str) -> int:
    """Where to resume after an ``offset`` refusal; -1 when the file is complete meanwhile."""
    received, complete = _status(transport, sha)
    return -1 if complete else received


# ---- download ----------------------------------------------------------------------------------


@dataclass
class DownloadReport:
    """What :func:`download_missing` did."""

    #: Fetched now, verified and stored.
    downloaded: list[str] = field(default_factory=list)
    #: Already in this device's store.
    present: list[str] = field(default_factory=list)
    #: Not (yet) complete on the server for this squad: the device that has it has not synced.
    unavailable: list[str] = field(default_factory=list)
    #: The server's bytes did not match the hash; nothing was stored.
    damaged: list[str] = field(default_factory=list)
    bytes_received: int = 0


class _RemoteFile(io.RawIOBase):
    """The server's copy of one file, read in ranges; hashes what it hands out."""

    def __init__(self, transport: Transport, sha: str, size: int, chunk_size: int) -> None:
        super().__init__()
        self._transport = transport
        self._sha = sha
        self._size = size
        self._chunk = chunk_size
        self.offset = 0
        self.digest = hashlib.sha256()
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        if not self._buffer:
            if self.offset >= self._size:
                return 0
            length = min(self._chunk, self._size - self.offset)
            data = self._transport.get_bytes(range_path(self._sha, self.offset, length))
            if not data or len(data) > length:
                raise SyncError(
                    "从区局下载附件时数据不完整，已放弃本次下载。请稍后重新同步。",
                    code="truncated",
                    transient=True,
                )
            self.digest.update(data)
            self.offset += len(data)
            self._buffer = data
        count = min(len(view), len(self._buffer))
        view[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


def download_missing(
    transport: Transport,
    store_dir: Path,
    shas: Iterable[str],
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> DownloadReport:
    """Fetch those of ``shas`` this device's store ``store_dir`` lacks, each into a temporary
    file, verified against its hash and only then renamed into the store. A file the server
    does not hold complete for this squad is reported ``unavailable``, not an error."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    report = DownloadReport()
    todo: list[tuple[str, int]] = []
    for sha in sorted(set(shas)):
        if store.exists(store_dir, sha):
            report.present.append(sha)
            continue
        size, complete = _status(transport, sha)
        if complete:
            todo.append((sha, size))
        else:
            report.unavailable.append(sha)
    total = sum(size for _, size in todo)
    step(progress, 0, total, "下载附件")
    done = 0
    for number, (sha, size) in enumerate(todo, start=1):
        label = f"下载附件 {number}/{len(todo)}"
        base = done

        def report_step(now: int, _total: int, _text: str, base: int = base, label: str = label) -> None:
            step(progress, base + now, max(total, base + now), label)

        remote = _RemoteFile(transport, sha, size, chunk_size)
        reader = io.BufferedReader(remote, buffer_size=chunk_size)
        try:
            stored = store.put_stream(
                store_dir, reader, total=size, progress=Progress(report_step), expected_sha256=sha
            )
        except store.StoreError:
            if remote.offset >= size and remote.digest.hexdigest() != sha:
                report.damaged.append(sha)  # the server's copy: nothing stored, the others go on
                done += size
                continue
            raise
        report.downloaded.append(sha)
        report.bytes_received += stored.size
        done += size
    return report
