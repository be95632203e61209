"""The content-addressed file store (附件库): photos, video, audio and scans, kept once by sha256.

Files live in a folder beside the database, ``<data dir>/files/ab/cdef…`` (the first two hex
digits of the hash name a sub-folder, so no folder grows to hundreds of thousands of entries).
Rows hold only the hash; the same photo attached to a lead and later to a case is stored once.

Writing is atomic: the content is streamed in chunks into a temporary file in the store folder
(the same file system, so the final rename is atomic), hashed on the way, flushed to disk, and
only then renamed to its hash. A source that fails or a user who cancels half way leaves no
partial file under a hash name. Stored files are made read-only: evidence is never edited in
place. :func:`verify` re-hashes a stored file to detect damage (disk errors, edits behind the
program's back); storing the same content again repairs a damaged copy.

The store never deletes: a file whose row was rolled back or tombstoned stays (a later clean-up
can collect unreferenced hashes). This keeps the database transaction and the file system
independent — a file may exist without a row, but a row never points at a missing file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.errors import DomainError
from app.progress import Progress, step

#: Name of the store folder inside the data folder.
FILES_DIR = "files"
#: 1 MiB: large enough to stream a video quickly, small enough never to hold a file in memory.
CHUNK_SIZE = 1 << 20
_TEMP_PREFIX = ".incoming-"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class StoreError(DomainError):
    """A file could not be stored or read back."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int


def files_dir(data_dir: Path) -> Path:
    """The store folder of a data folder (``ctx.data_dir``)."""
    return data_dir / FILES_DIR


def path_of(store_dir: Path, sha256: str) -> Path:
    """Where the file with this hash lives (whether or not it is there)."""
    # Hashes arrive from synced rows too: accept exactly 64 lower-case hex digits, so a crafted
    # value can never point outside the store ("../../").
    if not _HEX64.match(sha256):
        raise StoreError(f"“{sha256}”不是有效的文件校验值（应为 64 位十六进制数字）。")
    return store_dir / sha256[:2] / sha256[2:]


def exists(store_dir: Path, sha256: str) -> bool:
    return path_of(store_dir, sha256).is_file()


def put_file(
    store_dir: Path,
    source: Path,
    progress: Progress | None = None,
    expected_sha256: str | None = None,
) -> StoredFile:
    """Store the file at ``source`` (streamed, never read whole) and return its hash and size."""
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise StoreError(
            f"无法打开文件“{source}”：{exc.strerror or exc}。请确认文件存在且未被占用。"
        ) from exc
    with handle:
        try:
            total = os.fstat(handle.fileno()).st_size
        except OSError:
            total = 0
        return put_stream(
            store_dir,
            handle,
            name=source.name,
            total=total,
            progress=progress,
            expected_sha256=expected_sha256,
        )


def put_bytes(store_dir: Path, data: bytes, expected_sha256: str | None = None) -> StoredFile:
    """Store content already in memory (a scan from a device, a generated image)."""
    return put_stream(store_dir, io.BytesIO(data), name="", total=len(data), expected_sha256=expected_sha256)


def put_stream(
    store_dir: Path,
    stream: BinaryIO,
    *,
    name: str = "",
    total: int = 0,
    progress: Progress | None = None,
    expected_sha256: str | None = None,
) -> StoredFile:
    """Store everything ``stream`` yields. ``total`` (bytes, if known) drives the progress bar;
    ``expected_sha256`` (e.g. a hash received with a synced row) is checked before the file
    takes its name, so a damaged transfer never enters the store."""
    label = f"“{name}”" if name else "文件"
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=store_dir)
    except OSError as exc:
        raise StoreError(
            f"无法在附件文件夹“{store_dir}”中写入：{exc.strerror or exc}。请检查磁盘空间和写权限。"
        ) from exc
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                step(progress, 0, total, name)
                for chunk in _chunks(stream, label):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    step(progress, size, max(total, size), name)
                out.flush()
                # The rename below must not become visible before the content is on disk, or a
                # power cut could leave a hash-named file holding zeros.
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            if expected_sha256 is not None and sha != expected_sha256.lower():
                raise StoreError(f"{label}内容与预期校验值不符（传输中损坏），未保存。请重新获取该文件。")
            _install(store_dir, temp, sha)
        except OSError as exc:
            # Read errors were turned into StoreError by _chunks; what is left is the store's side.
            raise StoreError(
                f"保存{label}时写盘失败：{exc.strerror or exc}。请检查磁盘空间和附件文件夹“{store_dir}”的写权限。"
            ) from exc
        return StoredFile(sha256=sha, size=size)
    finally:
        # Gone already when installed; otherwise (error, cancel) no partial file may remain.
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _chunks(stream: BinaryIO, label: str) -> Iterator[bytes]:
    while True:
        try:
            chunk = stream.read(CHUNK_SIZE)
        except OSError as exc:
            raise StoreError(
                f"读取{label}时出错：{exc.strerror or exc}。文件未保存，请确认来源（U 盘、相机）连接正常后重试。"
            ) from exc
        if not chunk:
            return
        yield chunk


def _install(store_dir: Path, temp: Path, sha: str) -> None:
    target = path_of(store_dir, sha)
    if target.is_file() and _hash_of(target) == sha:
        return  # already stored (and intact): the temporary copy is dropped by the caller
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        # A damaged copy is being repaired. Windows refuses to replace a read-only file.
        os.chmod(target, stat.S_IREAD | stat.S_IWRITE)
    os.chmod(temp, stat.S_IREAD | stat.S_IRGRP | stat.S_IROTH)
    os.replace(temp, target)
    fsync_dir(target.parent)


def fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a folder for fsync)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def verify(store_dir: Path, sha256: str) -> bool:
    """True when the stored file is present and its content still hashes to its name."""
    path = path_of(store_dir, sha256)
    try:
        return _hash_of(path) == sha256
    except OSError:
        return False


def remove_incomplete(store_dir: Path) -> int:
    """Delete temporary files left by a crash or power cut during a write; returns how many.
    Call at start-up, before any write begins (a running write's temporary file would go too)."""
    count = 0
    if not store_dir.is_dir():
        return 0
    for temp in store_dir.glob(_TEMP_PREFIX + "*"):
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
            count += 1
    return count
