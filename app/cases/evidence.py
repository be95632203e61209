"""Evidence (证据) of a case: the files of the dossier — photos, video, audio, scans, records —
with what each shows, who collected it, when and with what device, and its place in the dossier.

Files go to the content-addressed store (:mod:`app.files`) before their rows are written, as for
lead photos: content stored twice (the same photo in two cases) is kept once, and a rolled-back
row leaves only an unreferenced file, which is harmless. Within one case the same content is
refused a second time, naming the item that already holds it: two entries for one file would
make the evidence list claim two pieces of evidence where there is one.

The dossier of a closed or archived case is final (it may be reopened by a leader first), so
adding, removing and reordering evidence are refused then. Every write goes through the ORM in
the caller's unit of work, so each change lands in the change log and the audit chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import files
from app.auth.roles import Actor, Permission, require
from app.cases.machine import CaseStage
from app.cases.service import _get as _get_case
from app.errors import ConflictError, NotFoundError, ValidationError
from app.progress import Progress
from db.models import Lead, Member
from db.models.cases import Case, CaseEvidence, EvidenceKind

KIND_LABELS = MappingProxyType(
    {
        EvidenceKind.PHOTO: "照片",
        EvidenceKind.VIDEO: "视听资料",
        EvidenceKind.AUDIO: "录音",
        EvidenceKind.SCAN: "书证扫描件",
        EvidenceKind.RECORD: "笔录",
        EvidenceKind.OTHER: "其他",
    }
)
#: Stages whose dossier is final: a leader must reopen the case before its evidence changes.
_FINAL_STAGES = frozenset({CaseStage.CLOSED, CaseStage.ARCHIVED})
#: A PC clock a few minutes behind the camera a time was read from should not block the entry.
_CLOCK_SLACK = dt.timedelta(minutes=10)
_DESCRIPTION_LIMIT = 1000
_DEVICE_LIMIT = 100


@dataclass(frozen=True)
class EvidenceView:
    id: str
    case_id: str
    sha256: str
    kind: EvidenceKind
    description: str
    collected_by_id: str
    collected_by_name: str
    collected_at: dt.datetime
    device: str
    original_name: str
    size: int
    order: int

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class EvidenceProblem:
    """An item whose stored file is gone or no longer matches its hash."""

    item: EvidenceView
    missing: bool

    @property
    def message(self) -> str:
        what = "文件缺失" if self.missing else "文件内容已被改动（校验值不符）"
        return (
            f"第 {self.item.order} 号证据“{self.item.description}”{what}。"
            f"请从原始载体（{self.item.device or '原设备'}）重新导入同一文件以修复。"
        )


# ---- helpers ----------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _live(session: Session, case_id: str) -> list[CaseEvidence]:
    return list(
        session.scalars(
            select(CaseEvidence)
            .where(CaseEvidence.case_id == case_id, CaseEvidence.deleted.is_(False))
            .order_by(CaseEvidence.sort_order, CaseEvidence.id)
        )
    )


def _views(session: Session, rows: Sequence[CaseEvidence]) -> list[EvidenceView]:
    ids = {r.collected_by_id for r in rows}
    names: dict[str, str] = {}
    if ids:
        for member_id, name in session.execute(select(Member.id, Member.name).where(Member.id.in_(ids))):
            names[member_id] = name
    return [
        EvidenceView(
            id=r.id,
            case_id=r.case_id,
            sha256=r.sha256,
            kind=EvidenceKind(r.kind),
            description=r.description,
            collected_by_id=r.collected_by_id,
            # A member removed since keeps the row (tombstone), so a name is normally found.
            collected_by_name=names.get(r.collected_by_id, "（已删除人员）"),
            collected_at=r.collected_at,
            device=r.device,
            original_name=r.original_name,
            size=r.size,
            order=r.sort_order,
        )
        for r in rows
    ]


def _require_open(case: Case, action: str) -> None:
    if CaseStage(case.stage) in _FINAL_STAGES:
        raise ConflictError(
            f"{case.number}已{CaseStage(case.stage).label}，案卷不能再{action}。"
            "如确需补正，请由队领导先重新办理（撤销结案）并写明理由。"
        )


def _renumber(rows: Sequence[CaseEvidence]) -> None:
    # Only rows whose number changes are touched, so the audit shows what really moved.
    for n, row in enumerate(rows, start=1):
        if row.sort_order != n:
            row.sort_order = n


def _check_inputs(
    session: Session,
    case: Case,
    path: Path,
    kind: EvidenceKind | str,
    description: str,
    collected_by: str,
    collected_at: dt.datetime,
    device: str,
) -> tuple[EvidenceKind, str, str]:
    """The cleaned kind, description and device, or ValidationError naming the field at fault.
    Checked before the file is stored, so a wrong entry costs no copying."""
    try:
        clean_kind = EvidenceKind(kind)
    except ValueError:
        raise ValidationError(
            f"请选择证据类型（{'、'.join(KIND_LABELS.values())}）。", field="kind"
        ) from None
    text = description.strip()
    if not text:
        raise ValidationError(
            "请填写证据说明：证明什么事实，如“当事人在车陂路 123 号门前占道堆放建材的现场照片”。",
            field="description",
        )
    if len(text) > _DESCRIPTION_LIMIT:
        raise ValidationError(
            f"证据说明过长（最多 {_DESCRIPTION_LIMIT} 个字），请精简。", field="description"
        )
    clean_device = " ".join(device.split())
    if len(clean_device) > _DEVICE_LIMIT:
        raise ValidationError(f"采集设备过长（最多 {_DEVICE_LIMIT} 个字），请精简。", field="device")
    member = session.get(Member, collected_by) if collected_by else None
    if member is None or member.deleted:
        raise ValidationError("请从队员名单中选择采集人；采集人须是本队队员。", field="collected_by")
    if collected_at > _now() + _CLOCK_SLACK:
        raise ValidationError(
            f"采集时间 {collected_at:%Y-%m-%d %H:%M} 晚于现在，请核对（相机或执法记录仪的时钟可能不准）。",
            field="collected_at",
        )
    # A case without a lead (当场处罚) has no earlier moment on record to check against.
    lead = session.get(Lead, case.lead_id) if case.lead_id else None
    if lead is not None and collected_at < lead.received_at:
        raise ValidationError(
            f"采集时间 {collected_at:%Y-%m-%d %H:%M} 早于案源{lead.number}的受理时间 "
            f"{lead.received_at:%Y-%m-%d %H:%M}，请核对采集时间。",
            field="collected_at",
        )
    if not path.is_file():
        raise ValidationError(
            f"找不到证据文件“{path}”，可能已被移走或 U 盘已拔出，请重新选择。", field="path"
        )
    return clean_kind, text, clean_device


def _evidence(session: Session, evidence_id: str) -> CaseEvidence:
    row = session.get(CaseEvidence, evidence_id)
    if row is None or row.deleted:
        raise NotFoundError("找不到该证据，可能已被删除，请刷新后再试。")
    return row


# ---- services ---------------------------------------------------------------------------------


def add_evidence(
    session: Session,
    actor: Actor,
    case_id: str,
    path: Path,
    kind: EvidenceKind | str,
    description: str,
    collected_by: str,
    collected_at: dt.datetime,
    device: str,
    store_dir: Path,
    progress: Progress | None = None,
) -> EvidenceView:
    """Store the file at ``path`` in ``store_dir`` (``app.files.files_dir(ctx.data_dir)``) and add
    it as the case's last piece of evidence."""
    require(actor, Permission.HANDLE_CASES)
    case = _get_case(session, case_id)
    _require_open(case, "添加证据")
    clean_kind, text, clean_device = _check_inputs(
        session, case, path, kind, description, collected_by, collected_at, device
    )
    stored = files.put_file(store_dir, path, progress=progress)
    existing = _live(session, case.id)
    for row in existing:
        if row.sha256 == stored.sha256:
            raise ConflictError(
                f"该文件已作为{case.number}第 {row.sort_order} 号证据“{row.description}”收录，"
                "同一文件不能重复收录。如需补充说明，请修改该证据。",
            )
    row = CaseEvidence(
        case_id=case.id,
        sha256=stored.sha256,
        kind=clean_kind.value,
        description=text,
        collected_by_id=collected_by,
        collected_at=collected_at.replace(microsecond=0),
        device=clean_device,
        original_name=path.name[:255],
        size=stored.size,
        sort_order=max((r.sort_order for r in existing), default=0) + 1,
    )
    session.add(row)
    session.flush()
    return _views(session, [row])[0]


def list_evidence(session: Session, actor: Actor, case_id: str) -> list[EvidenceView]:
    """The case's evidence in dossier order."""
    require(actor, Permission.VIEW_CASES)
    case = _get_case(session, case_id)
    return _views(session, _live(session, case.id))


def reorder_evidence(
    session: Session, actor: Actor, case_id: str, ordered_ids: Sequence[str]
) -> list[EvidenceView]:
    """Put the case's evidence in the order given (every live item of the case, each once)."""
    require(actor, Permission.HANDLE_CASES)
    case = _get_case(session, case_id)
    _require_open(case, "调整证据顺序")
    current = {r.id: r for r in _live(session, case.id)}
    if len(ordered_ids) != len(set(ordered_ids)) or set(ordered_ids) != set(current):
        raise ConflictError(f"{case.number}的证据刚有增减，请刷新后重新排序。")
    _renumber([current[i] for i in ordered_ids])
    session.flush()
    return _views(session, _live(session, case.id))


def remove_evidence(session: Session, actor: Actor, evidence_id: str) -> list[EvidenceView]:
    """Take an item out of the dossier (tombstoned; the file stays in the store) and close the
    gap in the numbering. Returns the case's remaining evidence."""
    require(actor, Permission.HANDLE_CASES)
    row = _evidence(session, evidence_id)
    case = _get_case(session, row.case_id)
    _require_open(case, "删除证据")
    row.deleted = True
    session.flush()
    rest = _live(session, case.id)
    _renumber(rest)
    session.flush()
    return _views(session, rest)


def verify_evidence(session: Session, actor: Actor, case_id: str, store_dir: Path) -> list[EvidenceProblem]:
    """Re-hash each item's stored file: the items whose file is missing or altered, in order.
    Reads every file in full, so callers run it off the GUI thread for cases with video."""
    require(actor, Permission.VIEW_CASES)
    problems: list[EvidenceProblem] = []
    for item in list_evidence(session, actor, case_id):
        if not files.verify(store_dir, item.sha256):
            problems.append(EvidenceProblem(item, missing=not files.exists(store_dir, item.sha256)))
    return problems
