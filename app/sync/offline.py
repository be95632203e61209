"""Offline sync by USB stick (离线同步文件), this device's side.

A field station without network exports its outbox as a signed *push* bundle
(:func:`export_bundle`), someone carries it to the district, the district imports it
(``squaddesk-district bundle-import``, app.district.bundles) and writes a signed *answer*
bundle, which is carried back and imported here (:func:`import_answer`). The file format is
app.sync.bundle; what its lines hold is described there.

Exporting changes nothing that is acknowledged: the outbox entries stay until an answer
acknowledges them, so a stick lost on the way costs nothing — the next export carries the same
entries again (and the online sync, when there is network, sends them as usual). An export
covers the whole outbox from ``sync.acked_seq`` + 1, names the last push bundle the district is
known to have taken (``sync.last_bundle_hash``, learnt from an answer) and the bundles exported
since (``sync.exported_bundles``), so that the district also takes a second export made before
the answer to the first came back.

Importing an answer is one transaction: the acknowledgement, the items the district refused
(with their reasons, kept to show on the sync page as after an online push), the squad's changes
(applied as a pull is), the district's releases (those at or below the installed one skipped; an
answer whose newest release is older than the installed one is refused: no rollback) and the
cursor — or, when anything is refused, a :class:`app.sync.bundle.BundleError` with a Chinese
message and nothing applied. The answer's attachments are copied into the store (hash-verified,
content-addressed) after the answer is checked and before that transaction opens, so the
database is not held while a stick is read; a file left in the store by an import that fails
later is harmless. The templates of a release appear only when the transaction commits
(app.sync.releases). An answer imported before is recognised and left alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import files as store
from app.auth.roles import SYSTEM
from app.context import AppContext
from app.errors import DomainError
from app.progress import Progress, step
from app.sync import client
from app.sync import files as sync_files
from app.sync.apply import ApplyError
from app.sync.bundle import (
    MAX_EXPORTED,
    AnswerContent,
    Bundle,
    BundleError,
    answer_content,
    push_lines,
    read_bundle,
    write_bundle,
)
from app.sync.client import SyncReport, get_meta, set_meta
from app.sync.protocol import SCHEMA_VERSION
from app.sync.releases import ReleaseError, verify_release
from db.models import ChangeLogEntry
from db.serialize import dumps

# LocalMeta keys of offline sync (besides those of app.sync.client).
LAST_BUNDLE = "sync.last_bundle_hash"
LAST_ANSWER = "sync.last_answer_hash"
#: The push bundles exported, oldest first (the last MAX_EXPORTED).
EXPORTED = "sync.exported_bundles"
#: The answers imported, oldest first (the last MAX_EXPORTED): a second import is a no-op.
IMPORTED_ANSWERS = "sync.imported_answers"


def _hash_list(session: Session, key: str) -> list[str]:
    try:
        value = json.loads(get_meta(session, key) or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _remember(session: Session, key: str, sha256: str) -> None:
    hashes = [h for h in _hash_list(session, key) if h != sha256] + [sha256]
    set_meta(session, key, dumps(hashes[-MAX_EXPORTED:]))


def _int_meta(session: Session, key: str) -> int:
    return int(get_meta(session, key) or 0)


def _require_enrolled(ctx: AppContext) -> str:
    if not client.is_enrolled(ctx):
        raise DomainError("本机尚未在区局登记，不能导出或导入离线同步文件。请先在“同步”页完成登记。")
    return ctx.require_squad()


# ---- export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportInfo:
    """A push bundle just written."""

    path: Path
    sha256: str
    size: int
    seq_from: int
    seq_to: int
    #: Change-log entries carried (the device's reference-data entries are covered, not carried).
    entries: int
    resolutions: int
    files: int
    #: Attachments the carried rows name that this device does not have intact: not carried.
    files_missing: frozenset[str] = frozenset()

    @property
    def summary(self) -> str:
        parts = [f"已导出离线同步文件“{self.path.name}”：{self.entries} 条变更"]
        if self.files:
            parts.append(f"附件 {self.files} 个")
        if self.resolutions:
            parts.append(f"冲突处理 {self.resolutions} 条")
        if self.files_missing:
            parts.append(f"{len(self.files_missing)} 个附件本机缺失或已损坏，未能带上")
        return (
            "，".join(parts)
            + "。请交区局导入，并把区局给的回执文件拿回本机导入；导入回执之前，这些变更仍留在本机待上传。"
        )


def export_bundle(ctx: AppContext, path: Path, progress: Progress | None = None) -> ExportInfo:
    """Write this device's outbox as a signed push bundle to ``path`` (e.g. on a USB stick).

    Carries every change-log entry after ``sync.acked_seq`` (reference tables left out, their
    sequence numbers covered by the range), the attachments those rows name, the conflict
    resolutions not yet acknowledged, and the device's pull cursor and release version. The file
    appears under ``path`` only when complete. Nothing acknowledged changes."""
    squad_id = _require_enrolled(ctx)
    path = Path(path)
    key = client.device_key(ctx)
    step(progress, 0, 1, "正在读取待上传的变更")
    with ctx.read() as s:
        acked = _int_meta(s, client.ACKED)
        entries: list[dict[str, Any]] = []
        seq_to = acked
        while (batch := client.next_batch(s, seq_to)) is not None:
            entries.extend(batch.entries)
            seq_to = batch.seq_to
        resolved = json.loads(get_meta(s, client.PENDING_RESOLUTIONS) or "[]")
        cursor = _int_meta(s, client.CURSOR)
        release = _int_meta(s, client.RELEASE)
        previous = get_meta(s, LAST_BUNDLE) or ""
        exported = _hash_list(s, EXPORTED)
        waiting = json.loads(get_meta(s, client.MISSING_FILES) or "[]")
    store_dir = store.files_dir(ctx.data_dir)
    attachments: dict[str, Path] = {}
    missing: set[str] = set()
    wanted = sorted(sync_files.referenced_files(entries))
    for number, sha in enumerate(wanted):
        step(progress, number, len(wanted), "正在检查附件")
        if store.verify(store_dir, sha):
            attachments[sha] = store.path_of(store_dir, sha)
        else:
            missing.add(sha)  # its row goes anyway, as in the online sync (a wedged outbox is worse)
    lines = push_lines(
        cursor=cursor,
        release_version=release,
        exported=exported,
        missing_files=[sha for sha in waiting if isinstance(sha, str)],
        resolved=resolved,
        entries=entries,
    )
    # Written under a temporary name first; the name becomes the real one only after the bundle
    # is recorded as exported, so an answer to any file under the real name is recognised.
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.export")
    try:
        info = write_bundle(
            temp,
            kind="push",
            schema_version=str(SCHEMA_VERSION),
            device_id=ctx.device_id,
            squad_id=squad_id,
            seq_from=acked + 1,
            seq_to=seq_to,
            previous_hash=previous,
            changes=lines,
            attachments=attachments,
            key=key,
            progress=progress,
        )
        with ctx.unit_of_work(SYSTEM, "导出离线同步文件") as s:
            _remember(s, EXPORTED, info.sha256)
        try:
            os.replace(temp, path)
        except OSError as exc:
            raise BundleError(
                "io",
                f"无法写入同步文件“{path}”：{exc.strerror or exc}。请确认 U 盘已插好、没有写保护且空间足够，然后重新导出。",
            ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return ExportInfo(
        path=path,
        sha256=info.sha256,
        size=info.size,
        seq_from=acked + 1,
        seq_to=seq_to,
        entries=len(entries),
        resolutions=len(resolved),
        files=len(attachments),
        files_missing=frozenset(missing),
    )


# ---- import ------------------------------------------------------------------------------------


@dataclass
class ImportInfo:
    """An answer bundle imported (or recognised as imported before: ``replay``)."""

    path: Path
    sha256: str
    replay: bool = False
    #: The device's change-log sequence the district has taken, after this import.
    acked_seq: int = 0
    report: SyncReport = field(default_factory=SyncReport)
    #: Attachments the received rows name that neither this device nor the answer has.
    files_missing: frozenset[str] = frozenset()

    @property
    def summary(self) -> str:
        if self.replay:
            return "该回执文件已经导入过，本次未作任何更改，无需再次导入。"
        text = "已导入区局回执：" + self.report.summary()
        if self.files_missing:
            text += f"另有 {len(self.files_missing)} 个附件区局尚未收到，下次同步时再取。"
        return text


def _refuse_schema(schema_version: str) -> None:
    """An answer is written by the district in its own schema: this one or the next."""
    try:
        theirs = int(schema_version)
    except ValueError:
        theirs = None
    if theirs is not None and theirs > SCHEMA_VERSION + 1:
        raise BundleError(
            "upgrade",
            f"该回执文件由较新版本的区局程序生成（数据版本 {theirs}），本机（数据版本 {SCHEMA_VERSION}）不能导入。"
            "请先升级本机的 SquadDesk，再导入该回执文件；本机未上传的数据会保留。",
        )
    if theirs is None or theirs < SCHEMA_VERSION:
        raise BundleError(
            "upgrade",
            f"该回执文件的数据版本（{schema_version}）与本机（{SCHEMA_VERSION}）不符，不能导入。"
            "请联系区局升级区局程序后重新生成回执文件。",
        )


def _verified_releases(district_pem: str, content: AnswerContent) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for item in content.releases:
        try:
            body = verify_release(district_pem, item)
        except ReleaseError as exc:
            raise BundleError("signature" if exc.reason == "signature" else "checksum", exc.message) from exc
        out.append((int(body["version"]), item))
    return out


def import_answer(ctx: AppContext, path: Path, progress: Progress | None = None) -> ImportInfo:
    """Import the district's answer bundle at ``path``: verified with the district key recorded at
    enrollment, addressed to this device of this squad, then applied in one transaction.

    An answer imported before is a no-op (``ImportInfo.replay``). Anything refused raises
    :class:`BundleError` with a Chinese message; nothing of the answer is applied then."""
    squad_id = _require_enrolled(ctx)
    path = Path(path)
    with ctx.read() as s:
        district_pem = get_meta(s, client.DISTRICT_KEY) or ""
    if not district_pem:
        raise BundleError(
            "signature",
            "本机没有记下区局的签名公钥，无法核验回执文件。请联系区局重新发放登记码并重新登记本机。",
        )
    bundle = read_bundle(
        path,
        district_pem,
        expect_kind="answer",
        expect_squad=squad_id,
        expect_device=ctx.device_id,
        progress=progress,
    )
    _refuse_schema(bundle.manifest.schema_version)
    content = answer_content(bundle)
    releases = _verified_releases(district_pem, content)
    info = ImportInfo(path=path, sha256=bundle.sha256)
    # Judged first without writing, so that an answer imported before or refused copies nothing.
    with ctx.read() as s:
        if _imported_before(s, bundle.sha256):
            return _replay(s, info)
        _check_answer(s, bundle, content, releases)
    # The attachments go into the store before the write transaction opens (copying them off a
    # stick may take minutes, and the database stays free meanwhile). The store is content-
    # addressed and every file hash-checked: a file left there by an import that then fails is
    # harmless, and a row is never committed before its file is in the store.
    files_down = _store_attachments(ctx, bundle, progress)
    with ctx.unit_of_work(SYSTEM, "导入区局回执") as s:
        # Again, under the write lock: a sync may have run meanwhile.
        if _imported_before(s, bundle.sha256):
            return _replay(s, info)
        _check_answer(s, bundle, content, releases)
        info.report.files_down = files_down
        _apply_answer(ctx, s, squad_id, bundle, content, releases, info, progress)
    return info


def _imported_before(s: Session, sha256: str) -> bool:
    return sha256 in _hash_list(s, IMPORTED_ANSWERS) or sha256 == get_meta(s, LAST_ANSWER)


def _replay(s: Session, info: ImportInfo) -> ImportInfo:
    info.replay = True
    info.acked_seq = _int_meta(s, client.ACKED)
    return info


def _check_answer(
    s: Session, bundle: Bundle, content: AnswerContent, releases: list[tuple[int, dict[str, Any]]]
) -> None:
    """Refuse an answer that does not follow from this device's state (nothing is written)."""
    manifest = bundle.manifest
    exported = _hash_list(s, EXPORTED)
    last_bundle = get_meta(s, LAST_BUNDLE) or ""
    if manifest.previous_hash not in exported and manifest.previous_hash != last_bundle:
        raise BundleError(
            "chain",
            "该回执文件答复的不是本机导出的上报文件（可能本机数据曾从备份恢复，或文件来自另一台电脑），未导入任何内容。"
            "请在本机重新导出上报文件，交区局导入后再导入新的回执文件。",
        )
    newest_seq = int(s.scalar(select(func.max(ChangeLogEntry.seq))) or 0)
    if content.acked_seq > newest_seq:
        raise BundleError(
            "chain",
            f"该回执文件确认区局已收到本机第 {content.acked_seq} 条变更，而本机只有 {newest_seq} 条"
            "（本机数据可能曾从备份恢复），未导入任何内容。请联系区局核查。",
        )
    cursor = _int_meta(s, client.CURSOR)
    if manifest.seq_from > cursor + 1:
        raise BundleError(
            "gap",
            f"该回执文件与本机已接收的内容不衔接：缺少区局第 {cursor + 1}–{manifest.seq_from - 1} 条变更"
            "（本机数据可能曾从备份恢复），未导入任何内容。请在本机重新导出上报文件，交区局导入后再导入新的回执文件。",
        )
    # Releases at or below the installed one are skipped (e.g. one installed by an online sync
    # meanwhile); only an answer whose newest release is older than the installed one is refused.
    installed = _int_meta(s, client.RELEASE)
    newest = max((version for version, _item in releases), default=None)
    if newest is not None and newest < installed:
        raise BundleError(
            "rollback",
            f"该回执文件带有的区局参考数据最新为第 {newest} 版，早于本机已安装的第 {installed} 版：参考数据不能回退，"
            "未导入任何内容。这是一份较早的回执文件，请导入最新的回执文件（或重新导出上报文件交区局）。",
        )


def _store_attachments(ctx: AppContext, bundle: Bundle, progress: Progress | None) -> int:
    """Copy the answer's attachments this device lacks into its store (app.files: hash-checked,
    written under a temporary name and renamed); how many were copied."""
    store_dir = store.files_dir(ctx.data_dir)
    carried = sorted(bundle.attachments)
    copied = 0
    for number, sha in enumerate(carried):
        step(progress, number, len(carried), "正在保存附件")
        if store.exists(store_dir, sha):
            continue
        with bundle.open_attachment(sha) as (stream, size):
            try:
                store.put_stream(store_dir, stream, total=size, expected_sha256=sha)
            except store.StoreError as exc:
                raise BundleError(
                    "checksum", f"{exc.message}（回执文件“{bundle.path.name}”中的附件）"
                ) from exc
        copied += 1
    return copied


def _apply_answer(
    ctx: AppContext,
    s: Session,
    squad_id: str,
    bundle: Bundle,
    content: AnswerContent,
    releases: list[tuple[int, dict[str, Any]]],
    info: ImportInfo,
    progress: Progress | None,
) -> None:
    """Apply a checked answer in the caller's transaction."""
    manifest = bundle.manifest
    exported = _hash_list(s, EXPORTED)
    last_bundle = get_meta(s, LAST_BUNDLE) or ""
    cursor = _int_meta(s, client.CURSOR)
    installed = _int_meta(s, client.RELEASE)
    report = info.report
    fresh = [c for c in content.changes if int(c["server_seq"]) > cursor]
    step(progress, 0, 1, f"正在接收：{len(fresh)} 条")
    try:
        applied = client.apply_pulled(ctx, s, squad_id, fresh)
        for version, item in releases:
            if version > installed:
                report.releases.append(client.apply_release_item(ctx, s, item))
    except ApplyError as exc:
        raise BundleError("foreign", f"{exc.message}（回执文件“{bundle.path.name}”）") from exc
    except ReleaseError as exc:
        raise BundleError("rollback" if exc.reason == "rollback" else "format", exc.message) from exc
    report.pushed = content.applied + content.conflicts
    report.rejected = content.rejected
    report.pulled = len(fresh)
    report.applied = applied.applied
    report.conflicts = applied.conflicts
    if content.rejections:
        # Kept to show on the sync page, as after an online push.
        client._remember_rejections(s, content.rejections)

    acked = max(_int_meta(s, client.ACKED), content.acked_seq)
    set_meta(s, client.ACKED, str(acked))
    info.acked_seq = acked
    pending = json.loads(get_meta(s, client.PENDING_RESOLUTIONS) or "[]")
    if content.resolved:
        still = [p for p in pending if p not in content.resolved]
        set_meta(s, client.PENDING_RESOLUTIONS, dumps(still) if still else None)
    set_meta(s, client.CURSOR, str(max(cursor, manifest.seq_to)))
    head = content.bundle_hash
    if head in exported and (
        last_bundle not in exported or exported.index(head) > exported.index(last_bundle)
    ):
        set_meta(s, LAST_BUNDLE, head)
    set_meta(s, LAST_ANSWER, bundle.sha256)
    _remember(s, IMPORTED_ANSWERS, bundle.sha256)
    set_meta(s, client.LAST_SYNC, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    # The answer's attachments are in the store already; those the received rows name that
    # neither this device nor the answer has are fetched at the next sync.
    store_dir = store.files_dir(ctx.data_dir)
    rows = [c for c in fresh if c.get("kind", "row") == "row"]
    waiting = set(json.loads(get_meta(s, client.MISSING_FILES) or "[]")) | sync_files.referenced_files(rows)
    unavailable = {sha for sha in waiting if not store.exists(store_dir, sha)}
    set_meta(s, client.MISSING_FILES, dumps(sorted(unavailable)) if unavailable else None)
    info.files_missing = frozenset(unavailable)
    step(progress, 1, 1, "回执文件已导入")


__all__ = [
    "EXPORTED",
    "IMPORTED_ANSWERS",
    "LAST_ANSWER",
    "LAST_BUNDLE",
    "ExportInfo",
    "ImportInfo",
    "export_bundle",
    "import_answer",
]
