"""The district's attachment store (区局附件库): photos, video, scans and issued PDFs that squads
upload, kept once by sha256 — without HTTP (app/district/api.py wraps these functions).

Layout under the district's attachment folder::

    <folder>/tmp/<squad>-<sha256>.part   an upload in progress, one per (squad, file)
    <folder>/<sha256[:2]>/<sha256>        a complete, verified file (read-only)

An upload is content-addressed and resumable: the device asks :meth:`FileStore.status` how many
bytes of the file the district already holds *for its squad*, then sends the rest in chunks with
:meth:`FileStore.put_chunk`, each at the offset the server has reached (a chunk sent again after
a lost answer is simply taken as already there). Every chunk names the file's ``total_size``;
the chunk that reaches it completes the upload: the server hashes the whole part file, deletes
it when the hash is not the one named (nothing is stored), and otherwise flushes it to disk and
renames it to its final name — so a file under its final name is always whole and verified.
Only then is the ``district_files`` row (sha256, squad) recorded, in the caller's session.

Possession, not knowledge: when the same content is already stored for another squad, the
bytes stay on disk once, but the uploading squad must still send the whole file and pass the
hash check before it may fetch it. Otherwise a squad that merely knew a hash (from a document
number, a log, a guess at a common file) could fetch another squad's evidence, or learn that
another squad holds it. For the same reason :meth:`FileStore.open_for` answers "not found"
alike whether a file does not exist or belongs to another squad.

Several server workers may write one part file (two devices of a squad uploading the same photo):
each chunk is written under an exclusive lock on the part file, and a writer that waited for a
part file renamed meanwhile starts over on the new one, so no write ever lands in a final file.

Errors are :class:`FileStoreError` with a ``code`` and the HTTP ``status`` the API answers
with; ``offset`` errors carry ``received``, where the device should resume.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from sqlalchemy.orm import Session

from app.errors import DomainError
from app.files import fsync_dir
from db.models import DistrictFile

#: The largest attachment the district takes (a long body-camera video still fits).
MAX_FILE_SIZE = 2 * 1024**3
#: The largest chunk one request may carry.
MAX_CHUNK = 16 * 1024**2
#: The most one ranged read returns.
MAX_READ = 16 * 1024**2
#: Part files untouched for this long are abandoned uploads (:meth:`FileStore.remove_stale`).
STALE_AFTER = dt.timedelta(days=30)

TMP_DIR = "tmp"
_PART_SUFFIX = ".part"
_HASH_CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: Squad ids become part of a file name: letters, digits, '-' and '_' only.
_SQUAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_O_BINARY = getattr(os, "O_BINARY", 0)


class FileStatus(NamedTuple):
    """How much of one file the district holds for a squad."""

    received: int
    complete: bool


class FileStoreError(DomainError):
    """An upload or download the district refuses. ``code`` names the fault for the device
    (``bad_hash``, ``too_large``, ``chunk_too_large``, ``size``, ``offset``, ``hash_mismatch``,
    ``not_found``, ``range``, ``storage``); ``status`` is the HTTP status to answer with;
    ``received`` (for ``offset``) is how many bytes the server holds: resume there."""

    def __init__(self, code: str, message: str, status: int, received: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.received = received

    def to_json(self) -> dict[str, object]:
        """The error body the API sends: ``{"error", "message"}`` (+ ``received``)."""
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.received is not None:
            body["received"] = self.received
        return body


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _size_text(size: int) -> str:
    if size >= 1024**3:
        return f"{size / 1024**3:.2f} GiB"
    if size >= 1024**2:
        return f"{size / 1024**2:.1f} MiB"
    return f"{size} 字节"


def check_sha(sha256: str) -> str:
    """``sha256`` if it is exactly 64 lower-case hex digits (it becomes a file name)."""
    if not isinstance(sha256, str) or not _HEX64.match(sha256):
        raise FileStoreError(
            "bad_hash", f"“{str(sha256)[:80]}”不是有效的附件校验值（应为 64 位小写十六进制数字）。", 400
        )
    return sha256


def _check_squad(squad_id: str) -> str:
    if not _SQUAD.match(squad_id):
        # The squad comes from the device's enrollment, never from a request: a programming error.
        raise ValueError(f"unexpected squad id {squad_id!r}")
    return squad_id


class FileStore:
    """The district's attachment folder. Every method takes the caller's session on the
    district database and the squad of the requesting device (from its enrollment)."""

    def __init__(self, folder: Path, max_size: int = MAX_FILE_SIZE) -> None:
        self.folder = Path(folder)
        self.max_size = max_size

    # ---- paths ------------------------------------------------------------------------------

    def path_of(self, sha256: str) -> Path:
        """Where the complete file with this hash lives (whether or not it is there)."""
        check_sha(sha256)
        return self.folder / sha256[:2] / sha256

    def part_of(self, squad_id: str, sha256: str) -> Path:
        """The part file of an upload in progress of this file by this squad."""
        check_sha(sha256)
        return self.folder / TMP_DIR / f"{_check_squad(squad_id)}-{sha256}{_PART_SUFFIX}"

    # ---- queries ----------------------------------------------------------------------------

    def _stored(self, session: Session, squad_id: str, sha256: str) -> DistrictFile | None:
        """The squad's row for this file, if the file is also really on disk."""
        row = session.get(DistrictFile, (sha256, squad_id))
        if row is None or not self.path_of(sha256).is_file():
            # A row whose file was lost (disk replaced, restored backup) counts as missing: the
            # squad's devices upload it again and the row is renewed.
            return None
        return row

    def status(self, session: Session, squad_id: str, sha256: str) -> FileStatus:
        """How many bytes of the file the district holds for this squad, and whether it is complete."""
        check_sha(sha256)
        row = self._stored(session, squad_id, sha256)
        if row is not None:
            return FileStatus(row.size, True)
        try:
            return FileStatus(self.part_of(squad_id, sha256).stat().st_size, False)
        except FileNotFoundError:
            return FileStatus(0, False)

    def has(self, session: Session, squad_id: str, sha256: str) -> bool:
        """Whether the squad's devices may fetch this file (it uploaded it whole)."""
        return self._stored(session, squad_id, check_sha(sha256)) is not None

    def open_for(self, session: Session, squad_id: str, sha256: str) -> Path:
        """The path of the complete file — only if this squad uploaded it. Another squad's file
        is "not found" exactly like a file the district never had."""
        check_sha(sha256)
        if self._stored(session, squad_id, sha256) is None:
            raise FileStoreError(
                "not_found",
                "区局没有本中队的这个附件（可能尚未由本中队的其他电脑上传）。请稍后再同步。",
                404,
            )
        return self.path_of(sha256)

    def read_chunk(self, session: Session, squad_id: str, sha256: str, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of the squad's file from ``offset`` (a resumable download);
        empty at the end of the file."""
        path = self.open_for(session, squad_id, sha256)
        if offset < 0 or length < 0:
            raise FileStoreError("range", "下载附件的起始位置或长度无效。", 416)
        length = min(length, MAX_READ)
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if offset > size:
                raise FileStoreError(
                    "range", f"下载附件的起始位置 {offset} 超出了文件大小（{size} 字节）。", 416
                )
            handle.seek(offset)
            return handle.read(length)

    # ---- upload -----------------------------------------------------------------------------

    def put_chunk(
        self, session: Session, squad_id: str, sha256: str, offset: int, data: bytes, total_size: int
    ) -> FileStatus:
        """Take ``data`` at ``offset`` of the file ``sha256`` of ``total_size`` bytes.

        ``offset`` must be what the server holds so far (:meth:`status`); a chunk that lies
        wholly or partly within what is already held is fine (its new tail is taken). The chunk
        that reaches ``total_size`` completes the upload: the hash is checked (a mismatch
        deletes the part and raises ``hash_mismatch``), the file renamed into place and the
        ``district_files`` row added to ``session``. Returns what the server now holds.
        """
        check_sha(sha256)
        _check_squad(squad_id)
        self._check_sizes(offset, data, total_size)
        part = self.part_of(squad_id, sha256)
        row = self._stored(session, squad_id, sha256)
        if row is not None:
            # Already complete for this squad: nothing to take. A part file a second sender of
            # the squad began meanwhile is of no use any more.
            _drop(part)
            return FileStatus(row.size, True)
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
            with _locked(part) as held:
                fd = held.fd
                assert fd is not None
                received = os.fstat(fd).st_size
                if received > total_size:
                    # Left by an upload that declared another size: it can never hash right.
                    os.ftruncate(fd, 0)
                    received = 0
                if offset > received:
                    if received == 0:
                        # An empty part file this request created: leave nothing behind.
                        held.close_early()
                        _unlink(part)
                    raise FileStoreError(
                        "offset",
                        f"区局只收到该附件的前 {received} 字节，不能从第 {offset} 字节接收。"
                        f"请从第 {received} 字节续传。",
                        409,
                        received=received,
                    )
                end = offset + len(data)
                if end > received:
                    _write_at(fd, received, data[received - offset :])
                    received = end
                if received < total_size:
                    return FileStatus(received, False)
                self._finish(held, part, sha256)
        except OSError as exc:
            raise FileStoreError(
                "storage",
                f"区局服务器保存附件时写盘失败：{exc.strerror or exc}。请稍后重试，并请区局检查附件文件夹的磁盘空间。",
                507,
            ) from exc
        self._record(session, squad_id, sha256, total_size)
        return FileStatus(total_size, True)

    def put_stream(
        self,
        session: Session,
        squad_id: str,
        sha256: str,
        stream: BinaryIO,
        total_size: int,
        chunk_size: int = _HASH_CHUNK,
    ) -> FileStatus:
        """Take a whole file from ``stream`` (e.g. ``files/<sha>`` of an imported offline bundle)
        through the same checks as an upload: resumed past what the server already holds, the
        hash verified, renamed into place, recorded for the squad."""
        answer = self.status(session, squad_id, sha256)
        offset = 0
        while not answer.complete:
            data = stream.read(min(chunk_size, total_size - offset))
            if len(data) < min(chunk_size, total_size - offset):
                raise FileStoreError(
                    "size", f"附件的内容比声明的大小（{total_size} 字节）短，区局拒收。", 400
                )
            answer = self.put_chunk(session, squad_id, sha256, offset, data, total_size)
            offset += len(data)
        return answer

    def _check_sizes(self, offset: int, data: bytes, total_size: int) -> None:
        if total_size < 0 or offset < 0:
            raise FileStoreError("size", "附件的大小或续传位置无效。", 400)
        if total_size > self.max_size:
            raise FileStoreError(
                "too_large",
                f"附件大小为 {_size_text(total_size)}，超过区局接收的上限 {_size_text(self.max_size)}，无法上传。"
                "请将视频分段或压缩后重新保存为证据。",
                413,
            )
        if len(data) > MAX_CHUNK:
            raise FileStoreError(
                "chunk_too_large",
                f"一次上传的数据块不能超过 {_size_text(MAX_CHUNK)}，请升级本机软件后重试。",
                413,
            )
        if offset + len(data) > total_size:
            raise FileStoreError(
                "size", f"上传的数据超出了声明的附件大小（{total_size} 字节），区局拒收。请重新同步。", 400
            )

    def _finish(self, held: _Part, part: Path, sha256: str) -> None:
        """Hash the whole part file; refuse it or put it in place (under the part file's lock)."""
        fd = held.fd
        assert fd is not None
        digest = hashlib.sha256()
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, _HASH_CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != sha256:
            held.close_early()
            _unlink(part)
            raise FileStoreError(
                "hash_mismatch",
                "上传的附件内容与其校验值不符（传输中损坏或本机文件已损坏），区局未保存。请重新同步；"
                "若仍失败，请在本机检查该附件。",
                422,
            )
        # The rename must not become visible before the content is on disk, or a power cut could
        # leave a verified name holding zeros.
        os.fsync(fd)
        size = os.fstat(fd).st_size
        target = self.path_of(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            # The same content, stored for another squad (or a damaged copy being repaired).
            # Windows refuses to replace a read-only file.
            os.chmod(target, stat.S_IREAD | stat.S_IWRITE)
        os.chmod(part, stat.S_IREAD | stat.S_IRGRP)
        held.close_early()
        try:
            os.replace(part, target)
        except PermissionError:
            # Windows: the stored copy is open for a download. It holds this very content.
            if not (target.is_file() and target.stat().st_size == size):
                raise
            _unlink(part)
        fsync_dir(target.parent)

    def _record(self, session: Session, squad_id: str, sha256: str, size: int) -> None:
        row = session.get(DistrictFile, (sha256, squad_id))
        if row is None:
            session.add(DistrictFile(sha256=sha256, squad_id=squad_id, size=size, received_at=_now()))
        else:  # the file had been lost from disk and came again
            row.size = size
            row.received_at = _now()
        session.flush()

    # ---- housekeeping -----------------------------------------------------------------------

    def remove_stale(self, older_than: dt.timedelta = STALE_AFTER, now: float | None = None) -> int:
        """Delete part files of uploads abandoned for ``older_than``; returns how many."""
        folder = self.folder / TMP_DIR
        if not folder.is_dir():
            return 0
        limit = (now if now is not None else time.time()) - older_than.total_seconds()
        count = 0
        for part in folder.glob("*" + _PART_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                if part.stat().st_mtime < limit:
                    part.unlink()
                    count += 1
        return count


# ---- file-system helpers ----------------------------------------------------------------------


class _Part:
    """An open part file held under its lock; ``fd`` is None once closed early (Windows)."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def close_early(self) -> None:
        """Windows cannot rename or delete an open file: close it (the in-process lock stays)."""
        if sys.platform == "win32" and self.fd is not None:
            os.close(self.fd)
            self.fd = None


_guard = threading.Lock()
#: Per-path locks of this worker's threads, with how many threads hold or wait for each.
_thread_locks: dict[str, tuple[threading.Lock, int]] = {}


@contextlib.contextmanager
def _thread_lock(key: str) -> Iterator[None]:
    with _guard:
        lock, users = _thread_locks.get(key, (threading.Lock(), 0))
        _thread_locks[key] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _guard:
            lock, users = _thread_locks[key]
            if users == 1:
                del _thread_locks[key]
            else:
                _thread_locks[key] = (lock, users - 1)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[_Part]:
    """Open (creating) ``path`` and hold an exclusive lock on it.

    Within one worker a lock per path excludes other threads. Across workers (POSIX) an
    ``flock`` on the open file does; a file renamed or deleted by another worker while this one
    waited is left alone and the lock taken again on the file now under ``path``, so a write
    never lands in a file that has moved to its final name. (On Windows, where the trial server
    runs a single worker, an open file cannot be renamed at all.)"""
    with _thread_lock(str(path)):
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_BINARY, 0o600)
            try:
                _flock(fd)
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(path))
                except FileNotFoundError:
                    same = False
            except BaseException:
                os.close(fd)
                raise
            if same:
                break
            os.close(fd)  # closing releases the flock
        part = _Part(fd)
        try:
            yield part
        finally:
            if part.fd is not None:
                os.close(part.fd)


if sys.platform == "win32":

    def _flock(fd: int) -> None:
        return None

else:
    import fcntl

    # flock (not lockf): its lock belongs to the open file and is released when it is closed.
    def _flock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def _drop(part: Path) -> None:
    """Delete a part file no longer needed, under its lock (a writer may hold it)."""
    if not part.exists():
        return
    with contextlib.suppress(OSError), _locked(part) as held:
        held.close_early()
        _unlink(part)


def _write_at(fd: int, offset: int, data: bytes) -> None:
    os.lseek(fd, offset, os.SEEK_SET)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if sys.platform == "win32":
            os.chmod(path, stat.S_IREAD | stat.S_IWRITE)
        path.unlink()
