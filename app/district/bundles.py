"""Offline bundles at the district (离线数据包导入): take a device's push bundle, write its answer.

``squaddesk-district bundle-import FILE --answer OUT`` calls :func:`import_push_bundle` in one
transaction on the district database. The push bundle (app.sync.bundle; written by
app.sync.offline on the device) is verified whole before anything is taken:

* the device it names must be enrolled and not revoked; the signature must be its registered
  key, the squad its enrolled squad (never one named in the file), the schema one the district
  accepts;
* a replay — a bundle the district took before — is recognised by its hash: the last bundle
  taken from the device (``district_devices.last_bundle_hash``), or one of the bundles known to
  be of the history the district took from it (those it took and those they name as exported
  before them; kept in ``district_settings``, key ``bundles_taken:<device>``). Nothing of a
  replay is taken, but an answer is still written, so a device whose answer was lost gets
  another. Sequence numbers alone never make a replay: a device restored from an old backup
  numbers new changes again from where the backup ended;
* continuity against what the district took from the device (``district_devices.acked_seq``):
  a bundle starting after the next expected sequence is refused (``gap``: a bundle in between
  is missing);
* the chain: its ``previous_hash`` must be the last bundle taken from the device, or that bundle
  must be one the device lists as exported before this one (a second export made before the
  first answer came back). Anything else is another history of the device (e.g. a data folder
  restored from a backup), refused (``chain``) — also when every sequence number in it is one
  the district has taken: those were other changes.

Then the attachments go into the district's FileStore (hash checked, ``district_files``
recorded) — before the squad's lock is taken (:func:`app.district.service.lock_squad_stream`),
so copying them off a USB stick does not hold up the squad's other devices. Under the lock the
checks above are made again, the change-log entries and conflict resolutions are taken by
:func:`app.district.service.push` exactly as an online push, and the bundle becomes the
device's last one. The answer — signed with the district key — carries the acknowledgement, the
items refused with their reasons, the squad's other changes since the device's cursor, the
releases after its installed one, and the attachments those changes name. It is written in full
under a temporary name and renamed to ``answer_path`` only when the caller's transaction commits
(app.sync.commit_files): an answer never acknowledges what the district did not keep.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.district import service
from app.district.files import FileStore, FileStoreError
from app.district.releases import district_key, releases_after
from app.sync import files as sync_files
from app.sync.bundle import (
    MAX_EXPORTED,
    Bundle,
    BundleError,
    BundleFault,
    PushContent,
    answer_lines,
    is_replay,
    peek_manifest,
    push_content,
    read_bundle,
    write_bundle,
)
from app.sync.commit_files import publish_on_commit
from app.sync.protocol import ACCEPTED, SCHEMA_VERSION, upgrade_message
from db.models import DistrictDevice, DistrictSetting, PushRejection


@dataclass(frozen=True)
class ImportResult:
    """A push bundle imported (or recognised as taken before: ``replay``) and its answer written."""

    device_id: str
    device_label: str
    squad_id: str
    bundle_sha256: str
    replay: bool
    seq_from: int
    seq_to: int
    #: The device's sequence the district has taken, after this import.
    acked_seq: int
    applied: int
    rejected: int
    conflicts: int
    skipped: int
    files_in: int
    answer_path: Path
    answer_sha256: str
    #: What the answer carries.
    changes_out: int
    releases_out: tuple[int, ...]
    files_out: int

    @property
    def summary(self) -> str:
        device = f"设备“{self.device_label}”" if self.device_label else f"设备 {self.device_id}"
        if self.replay:
            carried = (
                f"序号 {self.seq_from}–{self.seq_to} 均已处理"
                if self.seq_to >= self.seq_from
                else "不含新的变更"
            )
            head = (
                f"{device}的该数据包已经导入过（{carried}），本次未重复导入；已确认至第 {self.acked_seq} 条"
            )
        else:
            head = f"已导入{device}的离线数据包：接收 {self.applied} 条变更"
            if self.rejected:
                head += f"，拒收 {self.rejected} 条"
            if self.conflicts:
                head += f"，冲突 {self.conflicts} 处"
            if self.files_in:
                head += f"，附件 {self.files_in} 个"
        out = f"答复包含该中队其他设备的变更 {self.changes_out} 条"
        if self.releases_out:
            out += "、参考数据第 " + "、".join(str(v) for v in self.releases_out) + " 版"
        if self.files_out:
            out += f"、附件 {self.files_out} 个"
        return f"{head}。{out}。"


def _device(session: Session, device_id: str) -> DistrictDevice:
    device = session.get(DistrictDevice, device_id)
    if device is None:
        raise BundleError(
            "revoked",
            f"该数据包来自未在区局登记的设备（设备编号 {device_id[:36]}），不能导入，未导入任何内容。"
            "请确认该电脑已用登记码登记，或请其在有网络时直接同步。",
        )
    if device.revoked_at is not None:
        raise BundleError(
            "revoked",
            f"该数据包来自已被区局停用的设备（{device.label or device.id}），不能导入，未导入任何内容。"
            "如该电脑仍在使用，请为其重新发放登记码并重新登记。",
        )
    return device


def _check_schema(schema_version: str) -> None:
    try:
        theirs: int | None = int(schema_version)
    except ValueError:
        theirs = None
    if theirs not in ACCEPTED:
        raise BundleError("upgrade", upgrade_message(theirs) + "（该数据包未导入任何内容。）")


_FILE_FAULTS: dict[str, BundleFault] = {
    "hash_mismatch": "checksum",
    "size": "checksum",
    "too_large": "too_large",
    "chunk_too_large": "too_large",
    "storage": "io",
}


def import_push_bundle(session: Session, path: Path, answer_path: Path, files_dir: Path) -> ImportResult:
    """Take the push bundle at ``path`` in the caller's transaction and write the answer to
    ``answer_path`` (it appears there when the transaction commits). ``files_dir`` is the
    district's attachment folder. Anything refused raises :class:`BundleError` with a Chinese
    message before anything is taken, and no answer is written."""
    path, answer_path = Path(path), Path(answer_path)
    device = _device(session, peek_manifest(path).device_id)
    bundle = read_bundle(
        path, device.public_key, expect_kind="push", expect_squad=device.squad_id, expect_device=device.id
    )
    manifest = bundle.manifest
    _check_schema(manifest.schema_version)
    content = push_content(bundle)
    store = FileStore(files_dir)

    # Judged first on what the district holds now, so that a refused bundle copies nothing; then
    # the attachments go into the store (the long part: gigabytes from a USB stick) before the
    # squad's lock is taken, so the squad's other devices can sync meanwhile. A file taken for a
    # bundle that is refused after all stays in the content-addressed store, harmless; its row
    # goes with the transaction.
    files_in = 0
    if not _judge(session, device, bundle, content):
        files_in += _take_files(session, store, device.squad_id, bundle)

    # From here on this transaction is the only one writing the squad's stream (and the device).
    service.lock_squad_stream(session, device.squad_id)
    session.refresh(device)
    replay = _judge(session, device, bundle, content)
    if replay:
        refused = _refused(session, device.id, manifest.seq_from, manifest.seq_to)
        result = service.PushResult(
            device.acked_seq, 0, len(refused), 0, len(content.entries), tuple(refused)
        )
    else:
        files_in += _take_files(session, store, device.squad_id, bundle)  # none, unless judged anew
        try:
            result = service.push(
                session,
                device,
                content.entries,
                seq_from=manifest.seq_from,
                seq_to=manifest.seq_to,
                resolved=content.resolved,
            )
        except service.PushGap as exc:  # pragma: no cover - checked above under the same lock
            raise BundleError("gap", exc.message) from exc
        device.last_bundle_hash = bundle.sha256
        device.last_seen = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        _remember_taken(session, device.id, [*content.exported, bundle.sha256])
        session.flush()

    # The answer: what the device lacks, from its cursor and release on.
    changes: list[dict[str, Any]] = []
    cursor = content.cursor
    while True:
        page = service.pull(session, device, cursor)
        changes.extend(page.changes)
        cursor = page.cursor
        if not page.more:
            break
    releases = releases_after(session, content.release_version)
    rows = [c for c in changes if c.get("kind", "row") == "row"]
    wanted = sync_files.referenced_files(rows) | set(content.missing_files)
    attachments = {
        sha: store.path_of(sha) for sha in sorted(wanted) if store.has(session, device.squad_id, sha)
    }
    lines = answer_lines(
        acked_seq=device.acked_seq,
        bundle_hash=device.last_bundle_hash or "",
        replay=replay,
        resolved=[] if replay else content.resolved,
        applied=result.applied,
        rejected=result.rejected,
        conflicts=result.conflicts,
        changes=changes,
        releases=releases,
        rejections=result.rejections,
    )
    temp = answer_path.with_name(f".{answer_path.name}.{secrets.token_hex(4)}.answer")
    info = write_bundle(
        temp,
        kind="answer",
        schema_version=str(SCHEMA_VERSION),
        device_id=device.id,
        squad_id=device.squad_id,
        seq_from=content.cursor + 1,
        seq_to=cursor,
        previous_hash=bundle.sha256,
        changes=lines,
        attachments=attachments,
        key=district_key(session),
    )
    publish_on_commit(
        session,
        temp,
        answer_path,
        "答复包",
        "请检查该位置的写权限和空间后，再导入一次同一数据包：区局不会重复导入，只重新写出答复包。",
    )
    return ImportResult(
        device_id=device.id,
        device_label=device.label,
        squad_id=device.squad_id,
        bundle_sha256=bundle.sha256,
        replay=replay,
        seq_from=manifest.seq_from,
        seq_to=manifest.seq_to,
        acked_seq=device.acked_seq,
        applied=result.applied,
        rejected=result.rejected,
        conflicts=result.conflicts,
        skipped=result.skipped,
        files_in=files_in,
        answer_path=answer_path,
        answer_sha256=info.sha256,
        changes_out=len(changes),
        releases_out=tuple(int(r["version"]) for r in releases),
        files_out=len(attachments),
    )


def _judge(session: Session, device: DistrictDevice, bundle: Bundle, content: PushContent) -> bool:
    """Whether the bundle is one the district took before (a replay: nothing of it is taken);
    :class:`BundleError` when it must be refused (a gap, or another history of the device).

    A replay is judged by the bundle's hash, never by its sequence numbers alone: the last bundle
    taken from the device, or one known to be of the history the district took (a bundle it
    took, or one such a bundle names as exported before it). A device whose data folder was
    restored from an old backup numbers its new changes again from where the backup ended: its
    bundle carries sequence numbers the district has taken, with other content."""
    manifest = bundle.manifest
    acked = device.acked_seq
    last = device.last_bundle_hash or ""
    if bundle.sha256 == last:
        return True
    if bundle.sha256 in _taken(session, device.id) and is_replay(manifest, acked):
        return True
    if manifest.seq_from > acked + 1:
        raise BundleError(
            "gap",
            f"该数据包与区局已收到的内容不衔接：缺少该设备第 {acked + 1}–{manifest.seq_from - 1} 条变更，"
            "未导入任何内容。请先导入该设备更早导出的数据包，或请该设备重新导出后再导入。",
        )
    if manifest.previous_hash != last and not (last and last in content.exported):
        if manifest.seq_from <= manifest.seq_to <= acked:
            raise BundleError(
                "chain",
                f"区局已经收到过该设备第 {manifest.seq_from}–{manifest.seq_to} 条变更，但该数据包不是区局导入过的，"
                "也接不上区局上一次从该设备导入的数据包：同样序号的变更内容不同。该设备的数据很可能曾从较早的备份恢复，"
                "恢复后又产生了新的变更。为免覆盖或丢失数据，未导入任何内容，也不会确认这些变更。"
                "请先不要在该设备上继续导出，联系区局核查该设备的数据。",
            )
        raise BundleError(
            "chain",
            "该数据包与区局上一次从该设备导入的数据包不衔接（前一数据包的校验值不符），未导入任何内容："
            "该设备的数据可能曾从备份恢复，或文件来自另一套数据。请该设备先导入区局最近一次的答复包，"
            "再重新导出数据包；如仍不符，请联系区局核查。",
        )
    return False


def _take_files(session: Session, store: FileStore, squad_id: str, bundle: Bundle) -> int:
    """Stream the bundle's attachments the squad does not have yet into the district's store
    (hash-checked there, recorded for the squad in the session); how many were taken."""
    taken = 0
    for sha in bundle.attachments:
        if store.has(session, squad_id, sha):
            continue
        with bundle.open_attachment(sha) as (stream, size):
            try:
                store.put_stream(session, squad_id, sha, stream, size)
            except FileStoreError as exc:
                fault = _FILE_FAULTS.get(exc.code, "format")
                raise BundleError(
                    fault, f"{exc.message}（数据包中的附件 {sha[:12]}…，未导入任何内容）"
                ) from exc
        taken += 1
    return taken


#: ``district_settings`` key of the bundles known to be of the history taken from a device.
_TAKEN_KEY = "bundles_taken:{device_id}"
#: How many such bundle hashes are kept per device.
KEEP_TAKEN = 4 * MAX_EXPORTED


def _taken(session: Session, device_id: str) -> list[str]:
    row = session.get(DistrictSetting, _TAKEN_KEY.format(device_id=device_id))
    try:
        value = json.loads(row.value) if row is not None else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _remember_taken(session: Session, device_id: str, hashes: list[str]) -> None:
    """Add the bundle just taken and the exports it names (oldest first) to the device's list."""
    known = [h for h in _taken(session, device_id) if h not in hashes] + hashes
    value = json.dumps(list(dict.fromkeys(known))[-KEEP_TAKEN:])
    key = _TAKEN_KEY.format(device_id=device_id)
    row = session.get(DistrictSetting, key)
    if row is None:
        session.add(DistrictSetting(key=key, value=value))
    else:
        row.value = value


def _refused(session: Session, device_id: str, seq_from: int, seq_to: int) -> list[dict[str, Any]]:
    """The items of the range the district refused when it took them (for the answer to a
    replay: the device whose first answer was lost must still learn of them)."""
    rows = session.execute(
        select(PushRejection.device_seq, PushRejection.table_name, PushRejection.row_id, PushRejection.reason)
        .where(PushRejection.device_id == device_id, PushRejection.device_seq.between(seq_from, seq_to))
        .order_by(PushRejection.device_seq)
    )
    return [
        {"seq": r.device_seq, "table": r.table_name, "row_id": r.row_id, "reason": r.reason} for r in rows
    ]


__all__ = ["ImportResult", "import_push_bundle"]
