"""Leads (案源): the squad's lead register — registering where a possible case came from, with
its photos, and triaging it: transferred out to the competent department, or closed without
filing (不予立案) with a reason. Filing a case from a lead is the cases module's business; it sets
the status :attr:`LeadStatus.FILED`.

Every function takes the caller's unit of work (``ctx.unit_of_work``): one user action is one
transaction. Photos go to the content-addressed store (:mod:`app.files`) before their rows are
written; if the transaction then rolls back, the stored files stay unreferenced, which is
harmless (see that module).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app import files
from app.auth.roles import Actor, Permission, require
from app.errors import ConflictError, NotFoundError, SetupRequired, ValidationError
from app.personnel.idcard import normalize_phone
from app.progress import Progress, step
from db.models.leads import Lead, LeadPhoto, LeadSource, LeadStatus

SOURCE_LABELS = {
    LeadSource.PATROL: "巡查发现",
    LeadSource.COMPLAINT: "群众投诉举报",
    LeadSource.HOTLINE_12345: "12345热线",
    LeadSource.GRID: "网格上报",
    LeadSource.ASSIGNED: "上级交办",
    LeadSource.TRANSFER_IN: "部门移送",
    LeadSource.MEDIA: "媒体曝光",
}

STATUS_LABELS = {
    LeadStatus.REGISTERED: "待处置",
    LeadStatus.TRANSFERRED_OUT: "已移送",
    LeadStatus.CLOSED: "不予立案已结",
    LeadStatus.FILED: "已立案",
}

#: A PC clock a few minutes behind the phone a time was read from should not block registering.
_CLOCK_SLACK = dt.timedelta(minutes=10)


class LeadStatusError(ConflictError):
    """The lead is no longer in the status the action needs (often: someone else triaged it)."""


def lead_number(year: int, seq: int) -> str:
    """案源〔2026〕第0012号"""
    return f"案源〔{year}〕第{seq:04d}号"


@dataclass(frozen=True)
class LeadInput:
    source: LeadSource
    address: str
    description: str
    occurred_at: dt.datetime | None = None  # when the matter happened, if known
    received_at: dt.datetime | None = None  # when the squad received it; now when None
    reporter_name: str = ""
    reporter_phone: str = ""
    grid_zone: str = ""
    source_ref: str = ""  # 12345 work-order number, an assignment's 文号 …


@dataclass(frozen=True)
class LeadPhotoView:
    id: str
    sha256: str
    original_name: str
    order: int
    taken_at: dt.datetime | None


@dataclass(frozen=True)
class LeadView:
    id: str
    number: str
    source: LeadSource
    source_ref: str
    reporter_name: str
    reporter_phone: str
    address: str
    grid_zone: str
    occurred_at: dt.datetime | None
    received_at: dt.datetime
    description: str
    status: LeadStatus
    registered_by_name: str
    triaged_by_name: str
    triaged_at: dt.datetime | None
    triage_reason: str
    transferred_to: str
    version: int
    photos: tuple[LeadPhotoView, ...]

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS[self.source]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


# ---- validation -------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _text(value: str, label: str, field: str, limit: int, hint: str = "", multiline: bool = False) -> str:
    """Trimmed text; a ``hint`` makes it required. One-line fields also lose doubled and pasted
    line breaks; free text (description, reasons) keeps its paragraphs."""
    clean = value.strip() if multiline else " ".join(value.split())
    if hint and not clean:
        raise ValidationError(hint, field=field)
    if len(clean) > limit:
        raise ValidationError(f"{label}过长（最多 {limit} 个字），请精简。", field=field)
    return clean


def validate(data: LeadInput, now: dt.datetime | None = None) -> LeadInput:
    """The cleaned input, or ValidationError naming the field to fix."""
    now = now or _now()
    try:
        source = LeadSource(data.source)
    except ValueError:
        raise ValidationError(
            f"请选择案源来源（{'、'.join(SOURCE_LABELS.values())}）。", field="source"
        ) from None
    address = _text(
        data.address, "地址", "address", 200, "请填写案源地址（发生地点），如“车陂路 123 号门前”。"
    )
    description = _text(
        data.description,
        "简要情况",
        "description",
        2000,
        "请填写案源简要情况：发现了什么、在哪里、持续多久。",
        multiline=True,
    )
    source_ref = _text(data.source_ref, "来源编号", "source_ref", 60)
    if source is LeadSource.HOTLINE_12345 and not source_ref:
        raise ValidationError("请填写 12345 工单号：处置结果要按工单号回复热线。", field="source_ref")
    try:
        phone = normalize_phone(data.reporter_phone)
    except ValidationError as exc:
        raise ValidationError(f"举报人{exc.message}", field="reporter_phone") from None
    received = (data.received_at or now).replace(microsecond=0)
    if received > now + _CLOCK_SLACK:
        raise ValidationError(
            f"受理时间 {received:%Y-%m-%d %H:%M} 晚于现在（{now:%Y-%m-%d %H:%M}），请核对，必要时先校准电脑时间。",
            field="received_at",
        )
    occurred = data.occurred_at.replace(microsecond=0) if data.occurred_at else None
    if occurred is not None and occurred > received:
        raise ValidationError(
            f"发生时间 {occurred:%Y-%m-%d %H:%M} 晚于受理时间 {received:%Y-%m-%d %H:%M}，请核对。",
            field="occurred_at",
        )
    return LeadInput(
        source=source,
        address=address,
        description=description,
        occurred_at=occurred,
        received_at=received,
        reporter_name=_text(data.reporter_name, "举报人姓名", "reporter_name", 50),
        reporter_phone=phone,
        grid_zone=_text(data.grid_zone, "网格", "grid_zone", 50),
        source_ref=source_ref,
    )


def _check_photo_paths(photos: Sequence[Path]) -> None:
    # Checked before anything is stored or numbered, so a wrong pick costs nothing.
    for path in photos:
        if not path.is_file():
            raise ValidationError(
                f"找不到照片文件“{path}”，可能已被移走或 U 盘已拔出，请重新选择。", field="photos"
            )


# ---- reading ----------------------------------------------------------------------------------


def _get(session: Session, lead_id: str) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None or lead.deleted:
        raise NotFoundError("找不到该案源，可能已被删除，请刷新列表。")
    return lead


def _photos(session: Session, lead_ids: Sequence[str]) -> dict[str, list[LeadPhoto]]:
    out: dict[str, list[LeadPhoto]] = {i: [] for i in lead_ids}
    if not lead_ids:
        return out
    rows = session.scalars(
        select(LeadPhoto)
        .where(LeadPhoto.lead_id.in_(lead_ids), LeadPhoto.deleted.is_(False))
        .order_by(LeadPhoto.lead_id, LeadPhoto.sort_order, LeadPhoto.id)
    )
    for photo in rows:
        out[photo.lead_id].append(photo)
    return out


def _view(lead: Lead, photos: Sequence[LeadPhoto]) -> LeadView:
    return LeadView(
        id=lead.id,
        number=lead.number,
        source=LeadSource(lead.source),
        source_ref=lead.source_ref,
        reporter_name=lead.reporter_name,
        reporter_phone=lead.reporter_phone,
        address=lead.address,
        grid_zone=lead.grid_zone,
        occurred_at=lead.occurred_at,
        received_at=lead.received_at,
        description=lead.description,
        status=LeadStatus(lead.status),
        registered_by_name=lead.registered_by_name,
        triaged_by_name=lead.triaged_by_name,
        triaged_at=lead.triaged_at,
        triage_reason=lead.triage_reason,
        transferred_to=lead.transferred_to,
        version=lead.version,
        photos=tuple(
            LeadPhotoView(p.id, p.sha256, p.original_name, p.sort_order, p.taken_at) for p in photos
        ),
    )


def _view_of(session: Session, lead: Lead) -> LeadView:
    session.flush()
    return _view(lead, _photos(session, [lead.id])[lead.id])


def get_lead(session: Session, actor: Actor, lead_id: str) -> LeadView:
    require(actor, Permission.VIEW_CASES)
    return _view_of(session, _get(session, lead_id))


def list_leads(
    session: Session,
    actor: Actor,
    status: LeadStatus | None = None,
    source: LeadSource | None = None,
    text: str = "",
    received_from: dt.date | None = None,
    received_to: dt.date | None = None,
    offset: int = 0,
    limit: int = 200,
) -> list[LeadView]:
    """One page of the lead register, newest first. ``text`` matches the number, address,
    description, reporter, grid zone and source reference; the date range is inclusive."""
    require(actor, Permission.VIEW_CASES)
    stmt: Select[Lead] = select(Lead).where(Lead.deleted.is_(False))
    if status is not None:
        stmt = stmt.where(Lead.status == LeadStatus(status).value)
    if source is not None:
        stmt = stmt.where(Lead.source == LeadSource(source).value)
    needle = " ".join(text.split())
    if needle:
        like = f"%{needle}%"
        stmt = stmt.where(
            or_(
                Lead.number.like(like),
                Lead.address.like(like),
                Lead.description.like(like),
                Lead.reporter_name.like(like),
                Lead.grid_zone.like(like),
                Lead.source_ref.like(like),
            )
        )
    if received_from is not None:
        stmt = stmt.where(Lead.received_at >= dt.datetime.combine(received_from, dt.time()))
    if received_to is not None:
        stmt = stmt.where(
            Lead.received_at < dt.datetime.combine(received_to + dt.timedelta(days=1), dt.time())
        )
    stmt = stmt.order_by(
        Lead.received_at.desc(), Lead.number_year.desc(), Lead.number_seq.desc(), Lead.id.desc()
    )
    leads = list(session.scalars(stmt.offset(offset).limit(limit)))
    photos = _photos(session, [lead.id for lead in leads])
    return [_view(lead, photos[lead.id]) for lead in leads]


# ---- writing ----------------------------------------------------------------------------------


def _next_seq(session: Session, squad_id: str, year: int) -> int:
    # Tombstoned leads count too: a number once issued is never issued again.
    last = session.scalar(
        select(func.max(Lead.number_seq)).where(Lead.squad_id == squad_id, Lead.number_year == year)
    )
    return (last or 0) + 1


def _apply(lead: Lead, data: LeadInput) -> None:
    assert data.received_at is not None  # validate() fills it
    lead.source = data.source.value
    lead.source_ref = data.source_ref
    lead.reporter_name = data.reporter_name
    lead.reporter_phone = data.reporter_phone
    lead.address = data.address
    lead.grid_zone = data.grid_zone
    lead.occurred_at = data.occurred_at
    lead.received_at = data.received_at
    lead.description = data.description


def register_lead(
    session: Session,
    actor: Actor,
    data: LeadInput,
    photos: Sequence[Path] | None = None,
    store_dir: Path | None = None,
    progress: Progress | None = None,
) -> LeadView:
    """Register a lead with the next number of its year (the year it was received) and its
    photos, stored in ``store_dir`` (``app.files.files_dir(ctx.data_dir)``)."""
    require(actor, Permission.REGISTER_LEADS)
    clean = validate(data)
    assert clean.received_at is not None
    photos = list(photos or [])
    store = _store(store_dir) if photos else None
    _check_photo_paths(photos)
    squad_id = session.info.get("squad_id")
    if not squad_id:
        raise SetupRequired("尚未完成初始设置，不能登记案源。请先运行首次设置向导。")
    year = clean.received_at.year
    seq = _next_seq(session, squad_id, year)
    lead = Lead(
        squad_id=squad_id,
        number=lead_number(year, seq),
        number_year=year,
        number_seq=seq,
        status=LeadStatus.REGISTERED.value,
        registered_by_id=actor.user_id,
        registered_by_name=actor.display_name or actor.username,
    )
    _apply(lead, clean)
    session.add(lead)
    session.flush()
    if store is not None:
        _attach(session, lead, photos, store, progress)
    return _view_of(session, lead)


def _store(store_dir: Path | None) -> Path:
    if store_dir is None:
        # A programming error, not a clerk's: the caller forgot to say where files live.
        raise TypeError("store_dir is required when photos are given")
    return store_dir


def _attach(
    session: Session, lead: Lead, photos: Sequence[Path], store_dir: Path, progress: Progress | None
) -> None:
    existing = _photos(session, [lead.id])[lead.id]
    linked = {p.sha256 for p in existing}
    order = max((p.sort_order for p in existing), default=0)
    for i, path in enumerate(photos):
        step(progress, i, len(photos), path.name)
        stored = files.put_file(store_dir, path, progress=None)
        if stored.sha256 in linked:
            continue  # the same picture chosen twice (or copied under two names) is shown once
        linked.add(stored.sha256)
        order += 1
        session.add(
            LeadPhoto(
                lead_id=lead.id,
                sha256=stored.sha256,
                original_name=path.name[:255],
                sort_order=order,
                taken_at=_taken_at(path),
            )
        )
    step(progress, len(photos), len(photos))
    session.flush()


def _taken_at(path: Path) -> dt.datetime | None:
    """The file's modification time: for a photo copied off a phone or camera with its date kept,
    when it was taken. Only a hint on a lead — evidence in a case records the confirmed time."""
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)
    except (OSError, ValueError, OverflowError):
        return None


def _require_registered(lead: Lead, action: str) -> None:
    if lead.status != LeadStatus.REGISTERED.value:
        current = STATUS_LABELS[LeadStatus(lead.status)]
        raise LeadStatusError(
            f"{lead.number}当前状态为“{current}”，只有“待处置”的案源才能{action}。请刷新后查看该案源的处置情况。"
        )


def update_lead(session: Session, actor: Actor, lead_id: str, data: LeadInput, version: int) -> LeadView:
    """Correct a lead still awaiting triage, as edited on ``version``."""
    require(actor, Permission.REGISTER_LEADS)
    lead = _get(session, lead_id)
    if lead.version != version:
        raise ConflictError(f"{lead.number}刚被他人修改过，请关闭后重新打开再编辑。")
    _require_registered(lead, "修改")
    clean = validate(data)
    assert clean.received_at is not None
    if clean.received_at.year != lead.number_year:
        # The number carries the year; a lead received in another year is another register entry.
        raise ValidationError(
            f"{lead.number}是 {lead.number_year} 年的编号，受理时间不能改到 {clean.received_at.year} 年。"
            "如确属另一年受理，请重新登记案源，并将本条不予立案结案、注明原因。",
            field="received_at",
        )
    _apply(lead, clean)
    return _view_of(session, lead)


def _triage(lead: Lead, actor: Actor, status: LeadStatus, reason: str, to_department: str = "") -> None:
    lead.status = status.value
    lead.triaged_by_id = actor.user_id
    lead.triaged_by_name = actor.display_name or actor.username
    lead.triaged_at = _now()
    lead.triage_reason = reason
    lead.transferred_to = to_department


def file_lead(session: Session, actor: Actor, lead_id: str, case_number: str) -> LeadView:
    """立案: mark a lead as turned into a case. Called by :mod:`app.cases` in the unit of work that
    opens the case, which checks the permission to handle cases; the lead keeps the case number
    as its triage reason, so the register shows where each lead went."""
    lead = _get(session, lead_id)
    _require_registered(lead, "立案")
    _triage(lead, actor, LeadStatus.FILED, f"已立案：{case_number}")
    return _view_of(session, lead)


def close_lead(session: Session, actor: Actor, lead_id: str, reason: str) -> LeadView:
    """不予立案: close a lead that will not become a case (no violation found, outside the squad's
    competence and nobody to transfer to, already corrected …), with the reason."""
    require(actor, Permission.REGISTER_LEADS)
    lead = _get(session, lead_id)
    _require_registered(lead, "不予立案结案")
    clean = _text(
        reason,
        "理由",
        "reason",
        1000,
        f"请填写{lead.number}不予立案的理由，如“经现场核查，未发现违法行为”。",
        multiline=True,
    )
    _triage(lead, actor, LeadStatus.CLOSED, clean)
    return _view_of(session, lead)


def transfer_lead_out(
    session: Session, actor: Actor, lead_id: str, to_department: str, reason: str
) -> LeadView:
    """移送: hand a lead outside the squad's competence to the competent department."""
    require(actor, Permission.REGISTER_LEADS)
    lead = _get(session, lead_id)
    _require_registered(lead, "移送")
    department = _text(
        to_department,
        "接收部门",
        "to_department",
        100,
        f"请填写{lead.number}移送的接收部门全称，如“广州市天河区市场监督管理局”。",
    )
    clean = _text(
        reason,
        "理由",
        "reason",
        1000,
        f"请填写{lead.number}移送的理由，如“属食品经营监管事项，不属本队职权”。",
        multiline=True,
    )
    _triage(lead, actor, LeadStatus.TRANSFERRED_OUT, clean, department)
    return _view_of(session, lead)


def add_photos(
    session: Session,
    actor: Actor,
    lead_id: str,
    photos: Sequence[Path],
    store_dir: Path,
    progress: Progress | None = None,
) -> LeadView:
    """Attach more photos after registering; a picture already attached is not added twice."""
    require(actor, Permission.REGISTER_LEADS)
    lead = _get(session, lead_id)
    _require_registered(lead, "添加照片")
    _check_photo_paths(photos)
    _attach(session, lead, photos, store_dir, progress)
    return _view_of(session, lead)


def _photo(session: Session, photo_id: str) -> LeadPhoto:
    photo = session.get(LeadPhoto, photo_id)
    if photo is None or photo.deleted:
        raise NotFoundError("找不到该照片，可能已被删除，请刷新后再试。")
    return photo


def remove_photo(session: Session, actor: Actor, photo_id: str) -> LeadView:
    """Take a photo off a lead (tombstoned; the file stays in the store)."""
    require(actor, Permission.REGISTER_LEADS)
    photo = _photo(session, photo_id)
    lead = _get(session, photo.lead_id)
    _require_registered(lead, "删除照片")
    photo.deleted = True
    session.flush()
    # Close the gap, so the printed register numbers its photos 1, 2, 3 …
    for n, rest in enumerate(_photos(session, [lead.id])[lead.id], start=1):
        if rest.sort_order != n:
            rest.sort_order = n
    return _view_of(session, lead)


def reorder_photos(session: Session, actor: Actor, lead_id: str, photo_ids: Sequence[str]) -> LeadView:
    """Put the lead's photos in the order given (every photo of the lead, each once)."""
    require(actor, Permission.REGISTER_LEADS)
    lead = _get(session, lead_id)
    _require_registered(lead, "调整照片顺序")
    current = {p.id: p for p in _photos(session, [lead.id])[lead.id]}
    if len(photo_ids) != len(set(photo_ids)) or set(photo_ids) != set(current):
        raise ConflictError(f"{lead.number}的照片刚有增减，请刷新后重新排序。")
    for n, photo_id in enumerate(photo_ids, start=1):
        if current[photo_id].sort_order != n:
            current[photo_id].sort_order = n
    return _view_of(session, lead)
