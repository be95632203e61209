"""Offline sync bundles (离线同步文件): the signed file that travels on a USB stick.

A field station with no network exports its outbox as a *push* bundle; the district imports it
and writes an *answer* bundle (acknowledgements, the squad's other changes, releases) that the
device imports in turn. Both directions use this one format:

* one ZIP file holding ``changes.jsonl`` (one canonical JSON object per line),
  ``files/<sha256>`` for each attachment, ``manifest.json`` and ``manifest.sig``;
* the manifest names the device and squad, the sequence range carried, the hash of the bundle
  before this one, the schema version, the number of change lines and the sha256 of every
  other member; ``manifest.sig`` is the signer's Ed25519 signature over the manifest bytes
  (which are :func:`app.sync.signing.canonical` JSON). A push bundle is signed by the device,
  an answer by the district; in an answer, ``device_id`` names the device it is addressed to
  and the sequence range is the server's.

:func:`read_bundle` verifies everything before it returns anything, so a caller can never
apply part of a damaged or foreign bundle. It also refuses every changed byte of the file,
not only changed content: the manifest carries ``payload_sha256`` over the raw ZIP bytes before
the manifest (local headers and compressed data — a deflate stream has padding bits that can
change without changing what it decompresses to), and every other header is checked against
the one fixed layout the writer produces (fixed dates and attributes, no extra fields or
comments, members back to back). One flipped bit anywhere is refused.

Continuity: a receiver passes the sequence it expects next and the hash of the last bundle of
this device and kind it applied. A bundle entirely at or below what was applied is a replay
(reason ``replay``; the caller treats it as done, nothing to apply); one that starts later is
refused naming the missing range (``gap``); one that starts earlier but reaches further is
refused as ``overlap``; a wrong previous hash (``chain``) means a bundle in between is missing
or the file comes from another history. ``previous_hash`` should therefore name the last bundle
the receiver is known to have applied, so that a bundle lost on the way is simply superseded
by the next export.

What the change lines of a push bundle and of an answer hold (the device's cursor and release,
its entries and conflict resolutions; the district's acknowledgement, the squad's changes and
releases) is set out under "what the lines hold" below: :func:`push_lines`, :func:`answer_lines`
write them, :func:`push_content`, :func:`answer_content` check them. Attachments are read with
:meth:`Bundle.open_attachment` (streamed into a store that checks the hash) or copied out with
:meth:`Bundle.copy_attachment`.

The district does not know which device a push bundle comes from before opening it:
:func:`peek_manifest` reads the (unverified) device id to look up the key for :func:`read_bundle`.

ZIP64 is not used: a bundle stays below 2 GB (and a FAT32 stick cannot hold a 4 GB file anyway).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

from app.errors import DomainError
from app.files import fsync_dir
from app.progress import Progress, step
from app.sync.signing import DeviceKey, canonical, verify

FORMAT = "squaddesk-bundle"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = frozenset({1})

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
CHANGES_NAME = "changes.jsonl"
FILES_PREFIX = "files/"

BundleKind = Literal["push", "answer"]
KINDS: tuple[BundleKind, ...] = ("push", "answer")

#: Why a bundle was refused (``BundleError.reason``).
BundleFault = Literal[
    "truncated",  # the file ends too early: the copy was interrupted
    "signature",  # not signed by the expected key, or the manifest was changed
    "checksum",  # a member, header or the layout differs from what the manifest vouches for
    "foreign",  # another squad's or another device's bundle
    "kind",  # a push bundle where an answer is expected, or the other way round
    "replay",  # everything in it was applied already: nothing to do
    "gap",  # it starts after the next expected sequence: a bundle in between is missing
    "overlap",  # it starts before the next expected sequence but reaches beyond it
    "chain",  # its previous_hash is not the last bundle applied
    "format",  # not a bundle, or a format version this program does not read
    "too_large",  # would need ZIP64 (2 GB and more)
    "io",  # the file could not be read or written at all
    "revoked",  # signed by a device the district revoked (or never enrolled)
    "rollback",  # an answer carrying a district release older than the one installed
    "upgrade",  # written for a schema version the receiver does not accept
]

CHUNK_SIZE = 1 << 20
_MAX_MANIFEST_BYTES = 1 << 20
#: Below zipfile's ZIP64 limit with room for deflate's worst-case growth.
_MAX_MEMBER_BYTES = int(zipfile.ZIP64_LIMIT * 0.99)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# The one layout the writer produces (see the module docstring). Dates are fixed so that two
# exports of the same content differ only in the manifest; ``created_at`` says when.
_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_DOS_DATE = (1 << 5) | 1
_DOS_TIME = 0
_ZIP_VERSION = 20
_CREATE_SYSTEM = 3  # Unix, whatever system writes the bundle
_EXTERNAL_ATTR = 0o100644 << 16
_LOCAL = struct.Struct("<4sBBHHHHIIIHH")
_CENTRAL = struct.Struct("<4sBBBBHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIG = b"PK\x01\x02"
_END_SIG = b"PK\x05\x06"


class BundleError(DomainError):
    """A bundle refused (or one that could not be written); ``reason`` is a :data:`BundleFault`."""

    def __init__(self, reason: BundleFault, message: str) -> None:
        super().__init__(message)
        self.reason: BundleFault = reason


@dataclass(frozen=True)
class Manifest:
    kind: BundleKind
    schema_version: str
    device_id: str
    squad_id: str
    #: The sequence range carried, inclusive; empty when ``seq_to == seq_from - 1``.
    seq_from: int
    seq_to: int
    #: sha256 hex of the previous bundle of this device and kind ("" for the first).
    previous_hash: str
    #: When it was written, by the writer's clock: informative only, never compared.
    created_at: str
    #: Number of lines in changes.jsonl.
    counts: int
    #: sha256 hex of every member but the manifest and its signature, by member name.
    files: Mapping[str, str]
    #: sha256 hex of the raw ZIP bytes before manifest.json.
    payload_sha256: str
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def attachments(self) -> tuple[str, ...]:
        """The sha256 of each attachment carried."""
        return tuple(sorted(name[len(FILES_PREFIX) :] for name in self.files if name != CHANGES_NAME))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "kind": self.kind,
            "schema_version": self.schema_version,
            "device_id": self.device_id,
            "squad_id": self.squad_id,
            "seq_from": self.seq_from,
            "seq_to": self.seq_to,
            "previous_hash": self.previous_hash,
            "created_at": self.created_at,
            "counts": self.counts,
            "files": dict(self.files),
            "payload_sha256": self.payload_sha256,
        }

    @classmethod
    def from_dict(cls, data: object) -> Manifest:
        """Check every field's presence and type; ``BundleError("format")`` otherwise."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BundleError("format", _NOT_A_BUNDLE)
        version = data.get("format_version")
        if type(version) is not int or version not in SUPPORTED_FORMAT_VERSIONS:
            if type(version) is int and version > max(SUPPORTED_FORMAT_VERSIONS):
                raise BundleError(
                    "format",
                    f"该同步文件由较新版本的 SquadDesk 生成（文件格式版本 {version}），本程序不能读取。"
                    "请先将本程序升级到最新版本，再导入该文件。",
                )
            raise BundleError(
                "format",
                f"该同步文件的格式版本（{version}）已不再支持。请用当前版本的 SquadDesk 重新导出后再导入。",
            )
        expected = set(cls.__dataclass_fields__)
        if set(data) != expected:
            raise BundleError("format", _BAD_MANIFEST)
        kind = data["kind"]
        ints = [data[name] for name in ("seq_from", "seq_to", "counts")]
        texts = [
            data[name] for name in ("schema_version", "device_id", "squad_id", "previous_hash", "created_at")
        ]
        files = data["files"]
        if (
            kind not in KINDS
            or any(type(value) is not int for value in ints)
            or any(not isinstance(value, str) for value in texts)
            or not isinstance(files, dict)
            or not isinstance(data["payload_sha256"], str)
        ):
            raise BundleError("format", _BAD_MANIFEST)
        manifest = cls(
            kind=kind,
            schema_version=data["schema_version"],
            device_id=data["device_id"],
            squad_id=data["squad_id"],
            seq_from=data["seq_from"],
            seq_to=data["seq_to"],
            previous_hash=data["previous_hash"],
            created_at=data["created_at"],
            counts=data["counts"],
            files=dict(files),
            payload_sha256=data["payload_sha256"],
        )
        try:
            _check_fields(manifest)
        except ValueError as exc:
            raise BundleError("format", _BAD_MANIFEST) from exc
        return manifest


def _check_fields(manifest: Manifest) -> None:
    """The invariants of a manifest, for the writer's arguments and the reader's file alike."""
    if manifest.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if not manifest.device_id or not manifest.squad_id:
        raise ValueError("device_id and squad_id are required")
    if manifest.seq_from < 1 or manifest.seq_to < manifest.seq_from - 1:
        raise ValueError("the sequence range is seq_from >= 1 .. seq_to >= seq_from - 1")
    if manifest.previous_hash and not _HEX64.match(manifest.previous_hash):
        raise ValueError("previous_hash is '' or 64 lower-case hex digits")
    if manifest.counts < 0 or not _HEX64.match(manifest.payload_sha256):
        raise ValueError("bad counts or payload_sha256")
    if CHANGES_NAME not in manifest.files:
        raise ValueError(f"{CHANGES_NAME} must be listed")
    for name, sha in manifest.files.items():
        if not isinstance(name, str) or not isinstance(sha, str) or not _HEX64.match(sha):
            raise ValueError("files maps member names to sha256 hex")
        if name != CHANGES_NAME and name != FILES_PREFIX + sha:
            raise ValueError("an attachment is named files/<its sha256>")


@dataclass(frozen=True)
class BundleInfo:
    """A bundle just written: where, its own sha256 (the next bundle's ``previous_hash``) and size."""

    path: Path
    sha256: str
    size: int
    manifest: Manifest


@dataclass(frozen=True)
class Bundle:
    """A bundle that passed every check of :func:`read_bundle`."""

    path: Path
    #: sha256 hex of the whole file, as read and verified.
    sha256: str
    size: int
    manifest: Manifest
    changes: list[dict[str, Any]]

    @property
    def attachments(self) -> tuple[str, ...]:
        return self.manifest.attachments

    @contextlib.contextmanager
    def open_attachment(self, sha256: str) -> Iterator[tuple[BinaryIO, int]]:
        """One attachment as a stream, and its size, read straight from the file on the stick —
        for a store that hashes what it takes (app.files.put_stream, the district's FileStore):
        the file may have changed since it was verified, so the reader must check the hash.
        A read that fails raises :class:`BundleError` (``checksum`` or ``io``)."""
        name = FILES_PREFIX + sha256
        if name not in self.manifest.files:
            raise KeyError(sha256)
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise BundleError("io", _cannot_read(self.path, exc)) from exc
        with handle:
            try:
                archive = zipfile.ZipFile(handle)
                info = archive.getinfo(name)
                member = archive.open(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
                raise BundleError("checksum", _changed_since(self.path)) from exc
            except OSError as exc:
                raise BundleError("io", _cannot_read(self.path, exc)) from exc
            with archive, member:
                yield io.BufferedReader(_MemberReader(member, self.path), CHUNK_SIZE), info.file_size

    def copy_attachment(self, sha256: str, destination: Path) -> Path:
        """Copy one attachment out to ``destination`` (a temporary file renamed when complete),
        re-checking its hash: the file on the stick may have changed since it was verified."""
        name = FILES_PREFIX + sha256
        if name not in self.manifest.files:
            raise KeyError(sha256)
        destination = Path(destination)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(
                prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent
            )
        except OSError as exc:
            raise BundleError(
                "io",
                f"无法在“{destination.parent}”中写入附件：{exc.strerror or exc}。请检查磁盘空间和写权限。",
            ) from exc
        temp = Path(temp_name)
        try:
            digest = hashlib.sha256()
            with (
                os.fdopen(fd, "wb") as out,
                self.path.open("rb") as handle,
                zipfile.ZipFile(handle) as archive,
                archive.open(name) as member,
            ):
                while chunk := member.read(CHUNK_SIZE):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise BundleError("checksum", _changed_since(self.path))
            os.chmod(temp, 0o644)
            os.replace(temp, destination)
            return destination
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
            raise BundleError("checksum", _changed_since(self.path)) from exc
        except OSError as exc:
            raise BundleError(
                "io",
                f"从“{self.path}”取出附件时读写失败：{exc.strerror or exc}。"
                "请确认 U 盘仍插好、目标磁盘空间充足，然后重试。",
            ) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


class _MemberReader(io.RawIOBase):
    """A member of the ZIP being read, its read errors turned into :class:`BundleError`."""

    def __init__(self, member: IO[bytes], path: Path) -> None:
        super().__init__()
        self._member = member
        self._path = path

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        try:
            data = self._member.read(len(view))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BundleError("checksum", _changed_since(self._path)) from exc
        except OSError as exc:
            raise BundleError("io", _cannot_read(self._path, exc)) from exc
        view[: len(data)] = data
        return len(data)


def is_replay(bundle: Bundle | Manifest, last_applied_seq: int) -> bool:
    """Whether everything the bundle carries was applied already (a no-op for the caller). An
    empty bundle right after ``last_applied_seq`` is not a replay: it is the next one, with
    nothing but acknowledgements in it."""
    manifest = bundle.manifest if isinstance(bundle, Bundle) else bundle
    return manifest.seq_from <= last_applied_seq and manifest.seq_to <= last_applied_seq


# -- writing -----------------------------------------------------------------------------------


def write_bundle(
    path: Path,
    *,
    kind: BundleKind,
    schema_version: str,
    device_id: str,
    squad_id: str,
    seq_from: int,
    seq_to: int,
    previous_hash: str,
    changes: Iterable[Mapping[str, Any]],
    attachments: Mapping[str, Path] | None = None,
    key: DeviceKey,
    created_at: str | None = None,
    progress: Progress | None = None,
) -> BundleInfo:
    """Write a signed bundle to ``path``: in full under a temporary name beside it, flushed to
    disk, then renamed, so an interrupted export never leaves a file under the real name.
    ``attachments`` maps each sha256 to the file holding it; the content is checked on the way.
    The file is created readable by its owner only: it holds the squad's case data."""
    path = Path(path)
    attachments = dict(attachments or {})
    # The same invariants the reader enforces, checked before anything is written.
    _check_fields(
        Manifest(
            kind=kind,
            schema_version=schema_version,
            device_id=device_id,
            squad_id=squad_id,
            seq_from=seq_from,
            seq_to=seq_to,
            previous_hash=previous_hash,
            created_at="",
            counts=0,
            files={CHANGES_NAME: "0" * 64, **{FILES_PREFIX + sha: sha for sha in attachments}},
            payload_sha256="0" * 64,
        )
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise BundleError("io", _cannot_write(path, exc)) from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            with zipfile.ZipFile(handle, "w", allowZip64=False) as archive:
                files: dict[str, str] = {}
                files[CHANGES_NAME], counts = _write_changes(archive, changes)
                total = len(attachments)
                for done, sha in enumerate(sorted(attachments)):
                    step(progress, done, total, "正在写入附件")
                    files[FILES_PREFIX + sha] = _write_attachment(archive, sha, Path(attachments[sha]))
                step(progress, total, total, "正在签名")
                payload_end = handle.tell()
                manifest = Manifest(
                    kind=kind,
                    schema_version=schema_version,
                    device_id=device_id,
                    squad_id=squad_id,
                    seq_from=seq_from,
                    seq_to=seq_to,
                    previous_hash=previous_hash,
                    created_at=created_at or dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    counts=counts,
                    files=files,
                    payload_sha256=_hash_range(handle, 0, payload_end),
                )
                handle.seek(payload_end)
                manifest_bytes = canonical(manifest.to_dict())
                archive.writestr(_member(MANIFEST_NAME, zipfile.ZIP_STORED), manifest_bytes)
                archive.writestr(
                    _member(SIGNATURE_NAME, zipfile.ZIP_STORED), key.sign(manifest_bytes).encode("ascii")
                )
            handle.flush()
            os.fsync(handle.fileno())
            size = handle.seek(0, os.SEEK_END)
            sha256 = _hash_range(handle, 0, size)
        os.replace(temp, path)
        fsync_dir(path.parent)
    except (zipfile.LargeZipFile, _TooLarge) as exc:
        raise BundleError(
            "too_large",
            "要导出的内容超过 2 GB，无法写成一个同步文件。请分几次导出（每次少带一些附件），或在有网络时直接同步。",
        ) from exc
    except OSError as exc:
        raise BundleError("io", _cannot_write(path, exc)) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return BundleInfo(path=path, sha256=sha256, size=size, manifest=manifest)


class _TooLarge(Exception):
    pass


def _member(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE_TIME)
    info.compress_type = compression
    info.create_system = _CREATE_SYSTEM
    info.external_attr = _EXTERNAL_ATTR
    return info


def _write_changes(archive: zipfile.ZipFile, changes: Iterable[Mapping[str, Any]]) -> tuple[str, int]:
    digest = hashlib.sha256()
    count = 0
    written = 0
    with archive.open(_member(CHANGES_NAME, zipfile.ZIP_DEFLATED), "w") as out:
        for change in changes:
            if not isinstance(change, Mapping):
                raise TypeError(f"a change is a JSON object, not {type(change).__name__}")
            # Canonical JSON never holds a raw line break (they are escaped inside strings).
            line = canonical(dict(change)) + b"\n"
            written += len(line)
            if written > _MAX_MEMBER_BYTES:
                # Stop before zipfile would (its error on closing the member is a bare RuntimeError).
                raise _TooLarge()
            digest.update(line)
            out.write(line)
            count += 1
    return digest.hexdigest(), count


def _write_attachment(archive: zipfile.ZipFile, sha256: str, source: Path) -> str:
    info = _member(FILES_PREFIX + sha256, zipfile.ZIP_DEFLATED)
    digest = hashlib.sha256()
    try:
        src = source.open("rb")
        info.file_size = os.fstat(src.fileno()).st_size
    except OSError as exc:
        raise BundleError(
            "io",
            f"无法读取附件文件“{source}”：{exc.strerror or exc}，同步文件未导出。请先在附件库中检查该附件，再重新导出。",
        ) from exc
    try:
        with src, archive.open(info, "w") as out:
            while chunk := src.read(CHUNK_SIZE):
                digest.update(chunk)
                out.write(chunk)
    except RuntimeError as exc:
        raise _TooLarge() from exc
    if digest.hexdigest() != sha256:
        raise BundleError(
            "checksum",
            f"附件文件“{source}”的内容与其校验值不符（文件可能已损坏或被改动），同步文件未导出。"
            "请先在附件库中检查并修复该附件，再重新导出。",
        )
    return sha256


# -- reading -----------------------------------------------------------------------------------


def read_bundle(
    path: Path,
    public_pem: str,
    *,
    expect_kind: BundleKind,
    expect_squad: str | None = None,
    expect_device: str | None = None,
    previous_hash: str | None = None,
    expected_seq_from: int | None = None,
    progress: Progress | None = None,
) -> Bundle:
    """Verify a bundle completely and return it; raise :class:`BundleError` otherwise.

    In order: the ZIP layout, the signature by ``public_pem``, the format version, kind, squad
    and device, continuity (``expected_seq_from`` is the next sequence the receiver expects,
    ``previous_hash`` the sha256 of the last bundle of this device and kind it applied, "" if
    none), then the raw bytes and every member against the manifest's checksums and counts.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            entries = _read_layout(handle, size)
            manifest_bytes, signature = _read_manifest_bytes(handle, entries)
            if not verify(public_pem, manifest_bytes, signature):
                raise BundleError("signature", _bad_signature(expect_kind))
            manifest = _parse_manifest(manifest_bytes)
            _check_identity(manifest, expect_kind, expect_squad, expect_device)
            _check_continuity(manifest, previous_hash, expected_seq_from)

            names = [entry.name for entry in entries[:-2]]
            if sorted(names) != sorted(manifest.files):
                raise BundleError(
                    "checksum", _damaged(expect_kind, "（文件中的内容与清单不符：多出或缺少了部分内容）")
                )
            payload_end = entries[-2].offset
            payload_sha, file_sha = _hash_file(handle, size, payload_end)
            if payload_sha != manifest.payload_sha256:
                raise BundleError("checksum", _damaged(expect_kind))
            changes = _read_members(handle, manifest, names, expect_kind, progress)
    except OSError as exc:
        raise BundleError(
            "io",
            f"无法读取文件“{path}”：{exc.strerror or exc}。请确认 U 盘已插好、文件仍在，然后重试。",
        ) from exc
    return Bundle(path=path, sha256=file_sha, size=size, manifest=manifest, changes=changes)


def peek_manifest(path: Path) -> Manifest:
    """The manifest of a bundle **without verifying its signature**: only to find out which
    device sent it, so the caller can look up the public key to pass to :func:`read_bundle`.
    Never act on anything else in it."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            entries = _read_layout(handle, os.fstat(handle.fileno()).st_size)
            manifest_bytes, _signature = _read_manifest_bytes(handle, entries)
    except OSError as exc:
        raise BundleError(
            "io",
            f"无法读取文件“{path}”：{exc.strerror or exc}。请确认 U 盘已插好、文件仍在，然后重试。",
        ) from exc
    return _parse_manifest(manifest_bytes)


# -- what the lines hold ------------------------------------------------------------------------
#
# The format above carries any JSON objects; the sync (app.sync.offline on a device,
# app.district.bundles at the district) fills changes.jsonl as follows, every line naming its
# ``type``. Everything here is covered by the manifest's checksums and signature.
#
# push bundle (device → district), seq range = the device's change-log sequences carried:
#   1. {"type": "device", "cursor": n, "release_version": v, "exported": [sha256, …],
#       "missing_files": [sha256, …]} — the district sequence up to which the device applied the
#      squad's changes and the release it has installed (what the answer should start after), the
#      push bundles it exported before this one (oldest first, the last ones only), and
#      attachments it is still waiting for;
#   2. {"type": "resolved", …} — a conflict resolved on the device, as /v1/push ``resolved``;
#   3. {"type": "entry", "seq": …, "table": …, "row_id": …, "base_version": …, "base_by": …,
#      "payload": …} — a change-log entry, as /v1/push ``entries``, in sequence order.
# answer bundle (district → device), seq range = the district change sequences carried,
# previous_hash = the push bundle it answers:
#   1. {"type": "district", "acked_seq": n, "bundle_hash": sha256 | "", "replay": bool,
#       "resolved": [...], "applied": n, "rejected": n, "conflicts": n,
#       "rejections": [{"seq": n, "table": …, "row_id": …, "reason": 中文}, …]} — the device's
#      sequence the district has taken, the last push bundle it took from the device, whether the
#      push was one it had taken before, the resolutions it took, and the items of the push it
#      refused with the reason of each (as a /v1/push answer's ``rejections``; an answer written
#      by an earlier district program has no ``rejections``: read as none);
#   2. {"type": "change", "server_seq": …, "kind": …, "table": …, "row_id": …, "version": …,
#      "base_version": …, "base_by": …, "payload": …} — as a /v1/pull change, in order;
#   3. {"type": "release", "version": …, "sha256": …, "signature": …, "payload": …} — a district
#      release, as in a /v1/pull answer, oldest first.

LINE_DEVICE = "device"
LINE_RESOLVED = "resolved"
LINE_ENTRY = "entry"
LINE_DISTRICT = "district"
LINE_CHANGE = "change"
LINE_RELEASE = "release"
#: How many earlier exports a push bundle names at most.
MAX_EXPORTED = 100
#: What an answer says of each item of the push the district refused.
REJECTION_FIELDS = ("seq", "table", "row_id", "reason")


@dataclass(frozen=True)
class PushContent:
    """What a verified push bundle carries, its lines checked (:func:`push_content`)."""

    cursor: int
    release_version: int
    exported: tuple[str, ...]
    missing_files: tuple[str, ...]
    resolved: list[dict[str, Any]]
    entries: list[dict[str, Any]]


@dataclass(frozen=True)
class AnswerContent:
    """What a verified answer bundle carries, its lines checked (:func:`answer_content`)."""

    acked_seq: int
    bundle_hash: str
    replay: bool
    resolved: list[dict[str, Any]]
    applied: int
    rejected: int
    conflicts: int
    changes: list[dict[str, Any]]
    releases: list[dict[str, Any]]
    #: The items of the push the district refused: {seq, table, row_id, reason}.
    rejections: list[dict[str, Any]] = field(default_factory=list)


def push_lines(
    *,
    cursor: int,
    release_version: int,
    exported: Iterable[str],
    missing_files: Iterable[str],
    resolved: Iterable[Mapping[str, Any]],
    entries: Iterable[Mapping[str, Any]],
) -> Iterator[dict[str, Any]]:
    """The lines of a push bundle, for :func:`write_bundle`'s ``changes``."""
    yield {
        "type": LINE_DEVICE,
        "cursor": cursor,
        "release_version": release_version,
        "exported": list(exported)[-MAX_EXPORTED:],
        "missing_files": sorted(set(missing_files)),
    }
    for item in resolved:
        yield {**item, "type": LINE_RESOLVED}
    for entry in entries:
        yield {**entry, "type": LINE_ENTRY}


def answer_lines(
    *,
    acked_seq: int,
    bundle_hash: str,
    replay: bool,
    resolved: Iterable[Mapping[str, Any]],
    applied: int,
    rejected: int,
    conflicts: int,
    changes: Iterable[Mapping[str, Any]],
    releases: Iterable[Mapping[str, Any]],
    rejections: Iterable[Mapping[str, Any]] = (),
) -> Iterator[dict[str, Any]]:
    """The lines of an answer bundle, for :func:`write_bundle`'s ``changes``. ``rejections`` are
    the refused items of the push ({seq, table, row_id, reason}, as the district's PushResult)."""
    yield {
        "type": LINE_DISTRICT,
        "acked_seq": acked_seq,
        "bundle_hash": bundle_hash,
        "replay": replay,
        "resolved": [dict(item) for item in resolved],
        "applied": applied,
        "rejected": rejected,
        "conflicts": conflicts,
        "rejections": [{key: item[key] for key in REJECTION_FIELDS} for item in rejections],
    }
    for change in changes:
        yield {**change, "type": LINE_CHANGE}
    for release in releases:
        yield {**release, "type": LINE_RELEASE}


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _rejection(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and _count(item.get("seq"))
        and all(isinstance(item.get(key), str) for key in ("table", "row_id", "reason"))
    )


def _hashes(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and _HEX64.match(v) for v in value)


def _split(bundle: Bundle, kind: BundleKind, header_type: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if bundle.manifest.kind != kind:  # read_bundle(expect_kind=...) refuses it first
        raise ValueError(f"expected a {kind} bundle, got {bundle.manifest.kind}")
    lines = bundle.changes
    if not lines or lines[0].get("type") != header_type:
        raise BundleError("format", _BAD_MANIFEST)
    header = dict(lines[0])
    del header["type"]
    return header, lines[1:]


def _strip(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k != "type"}


def _in_order(seqs: list[Any], manifest: Manifest) -> bool:
    """Sequence numbers all integers within the manifest's range, strictly increasing."""
    previous = manifest.seq_from - 1
    for seq in seqs:
        if type(seq) is not int or not previous < seq <= manifest.seq_to:
            return False
        previous = seq
    return True


def push_content(bundle: Bundle) -> PushContent:
    """The content of a verified push bundle; ``BundleError("format")`` when a line is not what
    the sync writes (only a faulty program could sign such a file)."""
    header, lines = _split(bundle, "push", LINE_DEVICE)
    resolved: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for line in lines:
        kind = line.get("type")
        if kind == LINE_RESOLVED:
            resolved.append(_strip(line))
        elif (
            kind == LINE_ENTRY and isinstance(line.get("table"), str) and isinstance(line.get("row_id"), str)
        ):
            entries.append(_strip(line))
        else:
            raise BundleError("format", _BAD_MANIFEST)
    if (
        set(header) != {"cursor", "release_version", "exported", "missing_files"}
        or not _count(header["cursor"])
        or not _count(header["release_version"])
        or not _hashes(header["exported"])
        or len(header["exported"]) > MAX_EXPORTED
        or not _hashes(header["missing_files"])
        or not _in_order([e.get("seq") for e in entries], bundle.manifest)
    ):
        raise BundleError("format", _BAD_MANIFEST)
    return PushContent(
        cursor=header["cursor"],
        release_version=header["release_version"],
        exported=tuple(header["exported"]),
        missing_files=tuple(header["missing_files"]),
        resolved=resolved,
        entries=entries,
    )


def answer_content(bundle: Bundle) -> AnswerContent:
    """The content of a verified answer bundle; ``BundleError("format")`` as :func:`push_content`."""
    header, lines = _split(bundle, "answer", LINE_DISTRICT)
    changes: list[dict[str, Any]] = []
    releases: list[dict[str, Any]] = []
    for line in lines:
        kind = line.get("type")
        if kind == LINE_CHANGE and isinstance(line.get("table"), str) and isinstance(line.get("row_id"), str):
            changes.append(_strip(line))
        elif kind == LINE_RELEASE and _count(line.get("version")):
            releases.append(_strip(line))
        else:
            raise BundleError("format", _BAD_MANIFEST)
    fields = {"acked_seq", "bundle_hash", "replay", "resolved", "applied", "rejected", "conflicts"}
    versions = [r["version"] for r in releases]
    rejections = header.get("rejections", [])
    if (
        set(header) - {"rejections"} != fields
        or not isinstance(rejections, list)
        or not all(_rejection(item) for item in rejections)
        or not all(_count(header[name]) for name in ("acked_seq", "applied", "rejected", "conflicts"))
        or not isinstance(header["bundle_hash"], str)
        or (header["bundle_hash"] and not _HEX64.match(header["bundle_hash"]))
        or not isinstance(header["replay"], bool)
        or not isinstance(header["resolved"], list)
        or not all(isinstance(item, dict) for item in header["resolved"])
        or not _in_order([c.get("server_seq") for c in changes], bundle.manifest)
        or versions != sorted(set(versions))
    ):
        raise BundleError("format", _BAD_MANIFEST)
    return AnswerContent(
        acked_seq=header["acked_seq"],
        bundle_hash=header["bundle_hash"],
        replay=header["replay"],
        resolved=header["resolved"],
        applied=header["applied"],
        rejected=header["rejected"],
        conflicts=header["conflicts"],
        changes=changes,
        releases=releases,
        rejections=[{key: item[key] for key in REJECTION_FIELDS} for item in rejections],
    )


@dataclass(frozen=True)
class _Entry:
    name: str
    method: int
    crc: int
    compressed: int
    size: int
    offset: int

    def data_offset(self) -> int:
        return self.offset + _LOCAL.size + len(self.name.encode("ascii"))


def _read_layout(handle: IO[bytes], size: int) -> list[_Entry]:
    """Parse and check the ZIP structure against the one layout the writer produces."""
    head = handle.read(len(_LOCAL_SIG))
    end = b""
    if size >= len(_LOCAL_SIG) + _END.size:
        handle.seek(size - _END.size)
        end = handle.read(_END.size)
    if not end.startswith(_END_SIG):
        # No end record at the very end: a bundle that was cut off, or no bundle at all.
        if _LOCAL_SIG.startswith(head):
            raise BundleError("truncated", _TRUNCATED)
        raise BundleError("format", _NOT_A_BUNDLE)
    (_signature, disk, cd_disk, disk_entries, count, cd_size, cd_offset, comment) = _END.unpack(end)
    if (disk, cd_disk, comment) != (0, 0, 0) or disk_entries != count or count < 3:
        raise BundleError("checksum", _DAMAGED_LAYOUT)
    if cd_offset + cd_size != size - _END.size:
        raise BundleError("checksum", _DAMAGED_LAYOUT)
    handle.seek(cd_offset)
    directory = handle.read(cd_size)
    entries: list[_Entry] = []
    position = 0
    next_offset = 0
    for _ in range(count):
        fields = _CENTRAL.unpack_from(directory, position) if position + _CENTRAL.size <= cd_size else None
        if fields is None:
            raise BundleError("checksum", _DAMAGED_LAYOUT)
        (sig, made_by, system, needed, reserved, flags, method, time, date, crc, compressed, length) = fields[
            :12
        ]
        (name_len, extra_len, comment_len, disk_start, internal, external, offset) = fields[12:]
        position += _CENTRAL.size
        raw_name = directory[position : position + name_len]
        position += name_len
        if (
            sig != _CENTRAL_SIG
            or (made_by, system, needed, reserved, flags)
            != (_ZIP_VERSION, _CREATE_SYSTEM, _ZIP_VERSION, 0, 0)
            or (time, date, extra_len, comment_len, disk_start, internal)
            != (_DOS_TIME, _DOS_DATE, 0, 0, 0, 0)
            or external != _EXTERNAL_ATTR
            or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
            or (method == zipfile.ZIP_STORED and compressed != length)
            or offset != next_offset
            or len(raw_name) != name_len
            or not raw_name.isascii()
        ):
            raise BundleError("checksum", _DAMAGED_LAYOUT)
        entry = _Entry(raw_name.decode("ascii"), method, crc, compressed, length, offset)
        _check_local_header(handle, entry, raw_name)
        entries.append(entry)
        next_offset = entry.data_offset() + compressed
    if position != cd_size or next_offset != cd_offset:
        raise BundleError("checksum", _DAMAGED_LAYOUT)
    names = [entry.name for entry in entries]
    if len(set(names)) != len(names) or names[-2:] != [MANIFEST_NAME, SIGNATURE_NAME]:
        raise BundleError("checksum", _DAMAGED_LAYOUT)
    stored = [entry.method == zipfile.ZIP_STORED for entry in entries]
    if stored != [False] * (len(entries) - 2) + [True, True]:
        raise BundleError("checksum", _DAMAGED_LAYOUT)
    return entries


def _check_local_header(handle: IO[bytes], entry: _Entry, raw_name: bytes) -> None:
    handle.seek(entry.offset)
    header = handle.read(_LOCAL.size + len(raw_name))
    if len(header) != _LOCAL.size + len(raw_name):
        raise BundleError("checksum", _DAMAGED_LAYOUT)
    fields = _LOCAL.unpack_from(header)
    expected = (
        _LOCAL_SIG,
        _ZIP_VERSION,
        0,
        0,
        entry.method,
        _DOS_TIME,
        _DOS_DATE,
        entry.crc,
        entry.compressed,
        entry.size,
        len(raw_name),
        0,
    )
    if fields != expected or header[_LOCAL.size :] != raw_name:
        raise BundleError("checksum", _DAMAGED_LAYOUT)


def _read_manifest_bytes(handle: IO[bytes], entries: list[_Entry]) -> tuple[bytes, str]:
    """The manifest and signature members, stored uncompressed, with their CRCs checked."""
    contents: list[bytes] = []
    for entry in entries[-2:]:
        if entry.size > _MAX_MANIFEST_BYTES:
            raise BundleError("format", _NOT_A_BUNDLE)
        handle.seek(entry.data_offset())
        data = handle.read(entry.size)
        if len(data) != entry.size or zlib.crc32(data) != entry.crc:
            raise BundleError("checksum", _DAMAGED_LAYOUT)
        contents.append(data)
    manifest_bytes, signature = contents
    try:
        return manifest_bytes, signature.decode("ascii")
    except UnicodeDecodeError:
        return manifest_bytes, ""  # fails verification like any other wrong signature


def _parse_manifest(manifest_bytes: bytes) -> Manifest:
    try:
        data = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError("format", _BAD_MANIFEST) from exc
    manifest = Manifest.from_dict(data)
    if canonical(data) != manifest_bytes:
        raise BundleError("format", _BAD_MANIFEST)
    return manifest


def _check_identity(
    manifest: Manifest, expect_kind: BundleKind, expect_squad: str | None, expect_device: str | None
) -> None:
    if manifest.kind != expect_kind:
        if expect_kind == "answer":
            message = (
                "这是设备导出的上报文件，不是区局的回执文件。上报文件应在区局导入；"
                "本机请导入区局返回的回执文件。"
            )
        else:
            message = "这是区局的回执文件，不是设备导出的上报文件。回执文件应在设备上导入；区局请导入设备导出的上报文件。"
        raise BundleError("kind", message)
    if expect_squad is not None and manifest.squad_id != expect_squad:
        raise BundleError(
            "foreign",
            f"该文件属于其他中队（中队编号 {manifest.squad_id}），不能导入。请确认选择的是本中队的同步文件。",
        )
    if expect_device is not None and manifest.device_id != expect_device:
        raise BundleError(
            "foreign",
            f"该文件属于其他设备（设备编号 {manifest.device_id}），不是预期的设备。请确认选择的是对应设备的同步文件。",
        )


def _check_continuity(manifest: Manifest, previous_hash: str | None, expected_seq_from: int | None) -> None:
    what = _what(manifest.kind)
    again = "请在该设备上重新导出" if manifest.kind == "push" else "请到区局重新生成回执文件"
    if expected_seq_from is not None:
        last = expected_seq_from - 1
        if is_replay(manifest, last):
            raise BundleError(
                "replay",
                f"该{what}已经导入过（序号 {manifest.seq_from}–{manifest.seq_to} 均已处理），无需再次导入。",
            )
        if manifest.seq_from > expected_seq_from:
            raise BundleError(
                "gap",
                f"该{what}与已导入的内容不衔接：缺少序号 {expected_seq_from}–{manifest.seq_from - 1}。"
                f"请先导入更早导出的文件，或{again}后再导入。",
            )
        if manifest.seq_from < expected_seq_from:
            raise BundleError(
                "overlap",
                f"该{what}的序号 {manifest.seq_from}–{manifest.seq_to} 与已导入的内容部分重叠"
                f"（已处理到 {last}）。{again}后再导入。",
            )
    if previous_hash is not None and manifest.previous_hash != previous_hash:
        raise BundleError(
            "chain",
            f"该{what}与上一次导入的文件不衔接（前一文件的校验值不符）：可能漏导入了中间的文件，"
            f"或文件来自另一套数据。请按导出顺序导入，或{again}后再导入。",
        )


def _hash_range(handle: IO[bytes], start: int, end: int) -> str:
    digest = hashlib.sha256()
    handle.seek(start)
    remaining = end - start
    while remaining > 0:
        chunk = handle.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            raise BundleError("truncated", _TRUNCATED)
        digest.update(chunk)
        remaining -= len(chunk)
    return digest.hexdigest()


def _hash_file(handle: IO[bytes], size: int, payload_end: int) -> tuple[str, str]:
    """sha256 of the bytes before ``payload_end`` and of the whole file, in one pass."""
    payload = hashlib.sha256()
    whole = hashlib.sha256()
    handle.seek(0)
    position = 0
    while position < size:
        chunk = handle.read(min(CHUNK_SIZE, size - position))
        if not chunk:
            raise BundleError("truncated", _TRUNCATED)
        whole.update(chunk)
        if position < payload_end:
            payload.update(chunk[: payload_end - position])
        position += len(chunk)
    return payload.hexdigest(), whole.hexdigest()


def _read_members(
    handle: IO[bytes], manifest: Manifest, names: list[str], kind: BundleKind, progress: Progress | None
) -> list[dict[str, Any]]:
    """Hash every member against the manifest; parse and count the change lines."""
    changes_data = b""
    try:
        with zipfile.ZipFile(handle) as archive:
            for done, name in enumerate(names):
                step(progress, done, len(names), "正在校验同步文件")
                digest = hashlib.sha256()
                parts: list[bytes] = []
                with archive.open(name) as member:
                    while chunk := member.read(CHUNK_SIZE):
                        digest.update(chunk)
                        if name == CHANGES_NAME:
                            parts.append(chunk)
                if digest.hexdigest() != manifest.files[name]:
                    raise BundleError("checksum", _damaged(kind))
                if name == CHANGES_NAME:
                    changes_data = b"".join(parts)
            step(progress, len(names), len(names), "正在校验同步文件")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BundleError("checksum", _damaged(kind)) from exc
    changes = _parse_changes(changes_data)
    if len(changes) != manifest.counts:
        raise BundleError("checksum", _damaged(kind, "（变更条数与清单不符）"))
    return changes


def _parse_changes(data: bytes) -> list[dict[str, Any]]:
    if data and not data.endswith(b"\n"):
        raise BundleError("format", _BAD_MANIFEST)
    changes: list[dict[str, Any]] = []
    for line in data.split(b"\n")[:-1]:
        try:
            change = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BundleError("format", _BAD_MANIFEST) from exc
        if not isinstance(change, dict):
            raise BundleError("format", _BAD_MANIFEST)
        changes.append(change)
    return changes


def _what(kind: BundleKind) -> str:
    return "上报文件" if kind == "push" else "回执文件"


def _damaged(kind: BundleKind, detail: str = "") -> str:
    source = "在原设备上重新导出" if kind == "push" else "到区局重新生成回执文件"
    return f"文件已损坏{detail}，校验不符（可能复制出错或被改动过），未导入任何内容。请{source}后再导入。"


def _bad_signature(kind: BundleKind) -> str:
    if kind == "push":
        return (
            "签名不符：该文件不是由本中队已登记的设备签发的，或导出后被改动过，未导入任何内容。"
            "请在原设备上重新导出后再导入；若设备曾重新登记，请确认使用的是新登记后导出的文件。"
        )
    return (
        "签名不符：该文件不是区局签发的回执文件，或生成后被改动过，未导入任何内容。"
        "请到区局重新生成回执文件后再导入。"
    )


def _changed_since(path: Path) -> str:
    return f"文件“{path}”在校验之后被改动或已损坏，附件未取出。请重新复制该文件后再导入。"


def _cannot_read(path: Path, exc: OSError) -> str:
    return f"从“{path}”取出附件时读取失败：{exc.strerror or exc}。请确认 U 盘仍插好、文件仍在，然后重试。"


def _cannot_write(path: Path, exc: OSError) -> str:
    return (
        f"无法写入同步文件“{path}”：{exc.strerror or exc}。"
        "请确认 U 盘已插好、没有写保护且空间足够，然后重新导出。"
    )


_TRUNCATED = "文件不完整（可能复制中断），未导入任何内容。请重新导出（或重新复制）该文件后再导入。"
_DAMAGED_LAYOUT = (
    "文件已损坏，或不是 SquadDesk 导出的同步文件（文件结构校验不符），未导入任何内容。请重新导出后再导入。"
)
_NOT_A_BUNDLE = "所选文件不是 SquadDesk 的同步文件。请选择设备导出的上报文件或区局的回执文件（.zip）。"
_BAD_MANIFEST = (
    "同步文件的内容格式不正确（可能由有缺陷的程序版本生成），未导入任何内容。"
    "请将导出方的 SquadDesk 升级到最新版本后重新导出。"
)
