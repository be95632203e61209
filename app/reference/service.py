"""Reference-data services: install the bundled catalog, read a release, edit it copy-on-write,
import a newer release.

Reads need no permission beyond being logged in; every edit needs ``EDIT_REFERENCE`` (the admin,
until the district takes the data over). An edit never changes a release in place: it copies the
newest release into a new local one and changes the copy, so a case keeps the rules it was decided
under. Several edits made in one unit of work (one "save" in the editor) share one new release.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.errors import NotFoundError, ValidationError
from app.paths import resource_path
from app.reference.catalog import read_release, release_to_json
from app.reference.model import (
    THRESHOLD_FIELDS,
    FineRange,
    ItemInput,
    ItemView,
    PenaltyType,
    RateRange,
    ReleaseData,
    ReleaseView,
    Thresholds,
    TierInput,
    TierView,
)
from app.reference.rules import normalize_item, standard_tiers, validate_thresholds, validate_tiers
from db.base import Synced
from db.ids import new_id
from db.models.reference import (
    DiscretionTier,
    ReferenceRelease,
    ReferenceThreshold,
    ReleaseSource,
    ViolationItem,
)
from db.serialize import column_keys

BUNDLED_CATALOG = ("reference", "catalog.json")
#: session.info key: the id of the local release this unit of work has opened for its edits
_DRAFT = "_squaddesk_reference_draft"
_BASE_COLUMNS = frozenset({"id", "squad_id", "version", "updated_at", "updated_by", "deleted"})


# ---- reading -----------------------------------------------------------------------------------


def _release_view(r: ReferenceRelease) -> ReleaseView:
    return ReleaseView(
        id=r.id,
        release_no=r.release_no,
        name=r.name,
        source=ReleaseSource(r.source),
        published=r.published,
        schema_version=r.schema_version,
        based_on=r.based_on,
        note=r.note,
    )


def _current_row(session: Session) -> ReferenceRelease | None:
    return session.scalar(
        select(ReferenceRelease)
        .where(ReferenceRelease.deleted.is_(False))
        .order_by(ReferenceRelease.release_no.desc())
        .limit(1)
    )


def current_release(session: Session) -> ReleaseView:
    """The newest release: the one new cases are handled under."""
    row = _current_row(session)
    if row is None:
        raise NotFoundError("尚未安装执法事项目录，请先完成首次设置或由管理员导入区局下发的目录。")
    return _release_view(row)


def list_releases(session: Session) -> list[ReleaseView]:
    """Every release, newest first (older ones stay for cases decided under them)."""
    rows = session.scalars(
        select(ReferenceRelease)
        .where(ReferenceRelease.deleted.is_(False))
        .order_by(ReferenceRelease.release_no.desc())
    )
    return [_release_view(r) for r in rows]


def _resolve(session: Session, release_no: int | None) -> int:
    if release_no is None:
        return current_release(session).release_no
    exists = session.scalar(
        select(ReferenceRelease.id).where(
            ReferenceRelease.release_no == release_no, ReferenceRelease.deleted.is_(False)
        )
    )
    if exists is None:
        raise NotFoundError(f"找不到第 {release_no} 版执法事项目录。")
    return release_no


def _fine(low: int | None, high: int | None, derived: bool = False) -> FineRange:
    return FineRange(low, high, derived_min=derived)


def _item_input(row: ViolationItem) -> ItemInput:
    return ItemInput(
        code=row.code,
        name=row.name,
        category=row.category,
        breach_basis=row.breach_basis,
        penalty_basis=row.penalty_basis,
        penalty_types=tuple(PenaltyType(t) for t in json.loads(row.penalty_types or "[]")),
        person_fine=_fine(row.person_fine_min, row.person_fine_max, row.person_min_derived),
        org_fine=_fine(row.org_fine_min, row.org_fine_max, row.org_min_derived),
        fine_rate=RateRange(row.fine_rate_min_bp, row.fine_rate_max_bp, row.rate_min_derived),
        rate_base=row.rate_base,
        fine_basis_note=row.fine_basis_note,
        limitation_years=row.limitation_years,
        local_rule=row.local_rule,
        note=row.note,
    )


def _item_view(row: ViolationItem) -> ItemView:
    base = _item_input(row)
    return ItemView(
        **{f.name: getattr(base, f.name) for f in dataclasses.fields(ItemInput)},
        id=row.id,
        release_no=row.release_no,
        sort_order=row.sort_order,
        version=row.version,
    )


def _tier_input(row: DiscretionTier) -> TierInput:
    return TierInput(
        name=row.name,
        conditions=row.conditions,
        measure=row.measure,
        no_penalty=row.no_penalty,
        person_fine=_fine(row.person_fine_min, row.person_fine_max),
        org_fine=_fine(row.org_fine_min, row.org_fine_max),
        fine_rate=RateRange(row.fine_rate_min_bp, row.fine_rate_max_bp),
    )


def _tier_view(row: DiscretionTier, item: ViolationItem) -> TierView:
    base = _tier_input(row)
    return TierView(
        **{f.name: getattr(base, f.name) for f in dataclasses.fields(TierInput)},
        id=row.id,
        item_code=item.code,
        release_no=item.release_no,
        rank=row.rank,
        version=row.version,
    )


def _item_rows(session: Session, release_no: int) -> list[ViolationItem]:
    return list(
        session.scalars(
            select(ViolationItem)
            .where(ViolationItem.release_no == release_no, ViolationItem.deleted.is_(False))
            .order_by(ViolationItem.sort_order, ViolationItem.code)
        )
    )


def _item_row(session: Session, code: str, release_no: int) -> ViolationItem | None:
    return session.scalar(
        select(ViolationItem).where(
            ViolationItem.release_no == release_no,
            ViolationItem.code == code.strip(),
            ViolationItem.deleted.is_(False),
        )
    )


def _tier_rows(session: Session, item_ids: Sequence[str]) -> list[DiscretionTier]:
    if not item_ids:
        return []
    return list(
        session.scalars(
            select(DiscretionTier)
            .where(DiscretionTier.item_id.in_(item_ids), DiscretionTier.deleted.is_(False))
            .order_by(DiscretionTier.item_id, DiscretionTier.rank)
        )
    )


def _threshold_rows(session: Session, release_no: int) -> list[ReferenceThreshold]:
    return list(
        session.scalars(
            select(ReferenceThreshold).where(
                ReferenceThreshold.release_no == release_no, ReferenceThreshold.deleted.is_(False)
            )
        )
    )


@functools.lru_cache(maxsize=4096)
def _initials(name: str) -> str:
    # Imported here: pypinyin loads its dictionary at import (~0.25 s); only a pinyin search pays it.
    from pypinyin import Style, lazy_pinyin

    return "".join(p[:1] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")).lower()


def list_items(
    session: Session, text: str = "", category: str | None = None, release_no: int | None = None
) -> list[ItemView]:
    """The items of a release (the newest by default) in catalog order, optionally those whose
    code or name contains ``text``, or whose pinyin initials contain it (szzy → 擅自占用…)."""
    number = _resolve(session, release_no)
    rows = _item_rows(session, number)
    if category:
        rows = [r for r in rows if r.category == category]
    needle = text.strip().lower()
    if needle:
        # a catalog holds hundreds of items, not thousands: filtering here keeps pinyin out of SQL
        pinyin = needle.isascii() and needle.isalpha()
        rows = [
            r
            for r in rows
            if needle in r.code.lower()
            or needle in r.name.lower()
            or (pinyin and (needle in _initials(r.name)))
        ]
    return [_item_view(r) for r in rows]


def categories(session: Session, release_no: int | None = None) -> list[str]:
    """The categories of a release, in catalog order."""
    number = _resolve(session, release_no)
    return list(dict.fromkeys(r.category for r in _item_rows(session, number)))


def _get_row(session: Session, code: str, release_no: int) -> ViolationItem:
    row = _item_row(session, code, release_no)
    if row is None:
        raise NotFoundError(
            f"第 {release_no} 版执法事项目录中没有编码为“{code}”的事项，请核对编码或重新选择。"
        )
    return row


def get_item(session: Session, code: str, release_no: int | None = None) -> ItemView:
    return _item_view(_get_row(session, code, _resolve(session, release_no)))


def tiers_for(session: Session, code: str, release_no: int | None = None) -> list[TierView]:
    """The discretion tiers of an item, lightest first."""
    row = _get_row(session, code, _resolve(session, release_no))
    return [_tier_view(t, row) for t in _tier_rows(session, [row.id])]


def get_tier(session: Session, code: str, name: str, release_no: int | None = None) -> TierView:
    for tier in tiers_for(session, code, release_no):
        if tier.name == name:
            return tier
    raise NotFoundError(f"事项“{code}”没有名为“{name}”的裁量阶次，请重新选择。")


def thresholds(session: Session, release_no: int | None = None) -> Thresholds:
    """The procedural thresholds of a release; a key the release lacks takes the default."""
    number = _resolve(session, release_no)
    values = {r.key: r.value for r in _threshold_rows(session, number) if r.key in THRESHOLD_FIELDS}
    return Thresholds(**values)


def _release_data(session: Session, release_no: int) -> ReleaseData:
    release = session.scalar(
        select(ReferenceRelease).where(
            ReferenceRelease.release_no == release_no, ReferenceRelease.deleted.is_(False)
        )
    )
    assert release is not None  # callers resolved the number first
    rows = _item_rows(session, release_no)
    tiers: dict[str, list[TierInput]] = {}
    for t in _tier_rows(session, [r.id for r in rows]):
        tiers.setdefault(t.item_id, []).append(_tier_input(t))
    return ReleaseData(
        release_no=release.release_no,
        schema_version=release.schema_version,
        source=ReleaseSource(release.source),
        name=release.name,
        published=release.published,
        note=release.note,
        items=tuple((_item_input(r), tuple(tiers.get(r.id, []))) for r in rows),
        thresholds=thresholds(session, release_no),
    )


def export_release(session: Session, release_no: int | None = None) -> dict[str, Any]:
    """A release in the file format of :mod:`app.reference.catalog` (for the district, or a backup)."""
    return release_to_json(_release_data(session, _resolve(session, release_no)))


# ---- writing -----------------------------------------------------------------------------------


def _item_values(item: ItemInput) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.name,
        "category": item.category,
        "breach_basis": item.breach_basis,
        "penalty_basis": item.penalty_basis,
        "penalty_types": json.dumps([t.value for t in item.penalty_types]),
        "person_fine_min": item.person_fine.min_fen,
        "person_fine_max": item.person_fine.max_fen,
        "person_min_derived": item.person_fine.derived_min,
        "org_fine_min": item.org_fine.min_fen,
        "org_fine_max": item.org_fine.max_fen,
        "org_min_derived": item.org_fine.derived_min,
        "fine_rate_min_bp": item.fine_rate.min_bp,
        "fine_rate_max_bp": item.fine_rate.max_bp,
        "rate_min_derived": item.fine_rate.derived_min,
        "rate_base": item.rate_base,
        "fine_basis_note": item.fine_basis_note,
        "limitation_years": item.limitation_years,
        "local_rule": item.local_rule,
        "note": item.note,
    }


def _tier_values(tier: TierInput, rank: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "name": tier.name,
        "conditions": tier.conditions,
        "measure": tier.measure,
        "no_penalty": tier.no_penalty,
        "person_fine_min": tier.person_fine.min_fen,
        "person_fine_max": tier.person_fine.max_fen,
        "org_fine_min": tier.org_fine.min_fen,
        "org_fine_max": tier.org_fine.max_fen,
        "fine_rate_min_bp": tier.fine_rate.min_bp,
        "fine_rate_max_bp": tier.fine_rate.max_bp,
    }


def _assign(row: Synced, values: Mapping[str, Any]) -> None:
    # Only changed columns are set, so the audit entry of an edit lists just what was edited.
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)


def _write_release(session: Session, data: ReleaseData, based_on: int | None = None) -> ReferenceRelease:
    release = ReferenceRelease(
        id=new_id(),
        release_no=data.release_no,
        name=data.name,
        source=data.source.value,
        published=data.published,
        schema_version=data.schema_version,
        based_on=based_on,
        note=data.note,
    )
    parents: list[Synced] = [release]
    children: list[Synced] = []
    for order, (item, tiers) in enumerate(data.items, start=1):
        item_row = ViolationItem(
            id=new_id(), release_no=data.release_no, sort_order=order, **_item_values(item)
        )
        parents.append(item_row)
        children.extend(
            DiscretionTier(item_id=item_row.id, **_tier_values(tier, rank))
            for rank, tier in enumerate(tiers, start=1)
        )
    parents.extend(
        ReferenceThreshold(
            release_no=data.release_no, key=key, value=getattr(data.thresholds, key), note=label
        )
        for key, (label, _ceiling) in THRESHOLD_FIELDS.items()
    )
    _add_in_order(session, parents, children)
    return release


def _add_in_order(session: Session, parents: list[Synced], children: list[Synced]) -> None:
    # The models declare no relationship(), so the unit of work does not know that a tier must be
    # inserted after its item: flushing the items first keeps the foreign key satisfied.
    session.add_all(parents)
    session.flush()
    session.add_all(children)
    session.flush()


def install_bundled(session: Session) -> bool:
    """Install the bundled catalog as the first release when no release exists yet (idempotent).
    Called by the first-run set-up inside its unit of work; True when it installed something."""
    if session.scalar(select(func.count()).select_from(ReferenceRelease)):
        return False
    data = read_release(resource_path(*BUNDLED_CATALOG))
    _write_release(session, dataclasses.replace(data, source=ReleaseSource.BUNDLED))
    return True


def _clone(row: Synced, **changes: Any) -> Synced:
    values = {key: getattr(row, key) for key, _secret in column_keys(row) if key not in _BASE_COLUMNS}
    values.update(changes)
    return type(row)(id=new_id(), **values)


def _edit_release(session: Session, change: str) -> int:
    """The number of the local release this unit of work edits: the one it already opened, or a
    new copy of the newest release. ``change`` is added to the release note."""
    current = _current_row(session)
    if current is None:
        raise NotFoundError("尚未安装执法事项目录，不能修改。请先完成首次设置或导入区局下发的目录。")
    if session.info.get(_DRAFT) == current.id:
        current.note = f"{current.note}；{change}" if current.note else change
        return current.release_no
    number = current.release_no + 1
    release = ReferenceRelease(
        id=new_id(),
        release_no=number,
        name="本地修订",
        source=ReleaseSource.LOCAL.value,
        published=dt.date.today(),
        schema_version=current.schema_version,
        based_on=current.release_no,
        note=change,
    )
    parents: list[Synced] = [release]
    new_ids: dict[str, str] = {}
    for item in _item_rows(session, current.release_no):
        copy = _clone(item, release_no=number)
        new_ids[item.id] = copy.id
        parents.append(copy)
    parents.extend(_clone(t, release_no=number) for t in _threshold_rows(session, current.release_no))
    children = [_clone(t, item_id=new_ids[t.item_id]) for t in _tier_rows(session, list(new_ids))]
    _add_in_order(session, parents, children)
    session.info[_DRAFT] = release.id
    return number


def _sync_tiers(session: Session, item_row: ViolationItem, tiers: Sequence[TierInput]) -> None:
    """Make the item's tier rows say ``tiers``: update by rank, add the extra, tombstone the surplus."""
    existing = _tier_rows(session, [item_row.id])
    for rank, tier in enumerate(tiers, start=1):
        values = _tier_values(tier, rank)
        if rank <= len(existing):
            _assign(existing[rank - 1], values)
        else:
            session.add(DiscretionTier(item_id=item_row.id, **values))
    for surplus in existing[len(tiers) :]:
        surplus.deleted = True


def _as_input(view: ItemInput) -> ItemInput:
    return ItemInput(**{f.name: getattr(view, f.name) for f in dataclasses.fields(ItemInput)})


def _as_tier_input(view: TierInput) -> TierInput:
    return TierInput(**{f.name: getattr(view, f.name) for f in dataclasses.fields(TierInput)})


def upsert_item(
    session: Session, actor: Actor, data: ItemInput, tiers: Sequence[TierInput] | None = None
) -> ItemView:
    """Add an item, or change the item with the same code, in a new local release.

    ``tiers`` None keeps the item's tiers (checked against its new range) or, for a new item,
    gives it the standard five tiers. An edit that changes nothing makes no release.
    """
    require(actor, Permission.EDIT_REFERENCE)
    clean = normalize_item(_as_input(data))
    current = current_release(session).release_no
    existing = _item_row(session, clean.code, current)
    old_tiers = [_tier_input(t) for t in _tier_rows(session, [existing.id])] if existing else []
    if tiers is not None:
        new_tiers = validate_tiers(clean, [_as_tier_input(t) for t in tiers])
    elif existing is not None:
        try:
            new_tiers = validate_tiers(clean, old_tiers)
        except ValidationError as exc:
            raise ValidationError(
                f"修改后的法定幅度与现有裁量阶次不符，请同时调整裁量阶次。{exc.message}", field="tiers"
            ) from None
    else:
        new_tiers = standard_tiers(clean)
    if existing is not None and _item_input(existing) == clean and tuple(old_tiers) == new_tiers:
        return _item_view(existing)
    verb = "修改" if existing is not None else "新增"
    number = _edit_release(session, f"{verb}事项 {clean.code} {clean.name}")
    row = _item_row(session, clean.code, number)
    if row is None:
        last = session.scalar(
            select(func.max(ViolationItem.sort_order)).where(ViolationItem.release_no == number)
        )
        row = ViolationItem(id=new_id(), release_no=number, sort_order=(last or 0) + 1, **_item_values(clean))
        session.add(row)
        session.flush()
    else:
        _assign(row, _item_values(clean))
    _sync_tiers(session, row, new_tiers)
    session.flush()
    return _item_view(row)


def add_item(
    session: Session, actor: Actor, data: ItemInput, tiers: Sequence[TierInput] | None = None
) -> ItemView:
    """Add a new item (新增事项): as :func:`upsert_item`, but a code the current release already
    uses is refused instead of silently editing that item."""
    require(actor, Permission.EDIT_REFERENCE)
    code = data.code.strip()
    taken = _item_row(session, code, current_release(session).release_no) if code else None
    if taken is not None:
        raise ValidationError(
            f"编码 {code} 已被事项“{taken.name}”使用，请换一个编码；如要修改该事项，请选中它后点“编辑事项”。",
            field="code",
        )
    return upsert_item(session, actor, data, tiers)


def remove_item(session: Session, actor: Actor, code: str) -> ReleaseView:
    """Take an item out of the catalog: a new local release in which its rows are tombstoned.
    Earlier releases keep it, for the cases decided under them."""
    require(actor, Permission.EDIT_REFERENCE)
    current = current_release(session).release_no
    item = _get_row(session, code, current)
    number = _edit_release(session, f"删除事项 {item.code} {item.name}")
    row = _get_row(session, code, number)
    row.deleted = True
    for tier in _tier_rows(session, [row.id]):
        tier.deleted = True
    session.flush()
    return current_release(session)


def set_tiers(session: Session, actor: Actor, code: str, tiers: Sequence[TierInput]) -> list[TierView]:
    """Replace an item's discretion benchmark (validated) in a new local release."""
    require(actor, Permission.EDIT_REFERENCE)
    current = current_release(session).release_no
    item = _get_row(session, code, current)
    clean = validate_tiers(_item_input(item), [_as_tier_input(t) for t in tiers])
    if tuple(_tier_input(t) for t in _tier_rows(session, [item.id])) == clean:
        return tiers_for(session, code, current)
    number = _edit_release(session, f"调整事项 {item.code} {item.name} 的裁量基准")
    row = _get_row(session, code, number)
    _sync_tiers(session, row, clean)
    session.flush()
    return tiers_for(session, code, number)


def set_thresholds(session: Session, actor: Actor, values: Thresholds) -> Thresholds:
    """Change the procedural thresholds (validated) in a new local release."""
    require(actor, Permission.EDIT_REFERENCE)
    clean = validate_thresholds(values)
    if thresholds(session) == clean:
        return clean
    number = _edit_release(session, "调整程序阈值")
    rows = {r.key: r for r in _threshold_rows(session, number)}
    for key, (label, _ceiling) in THRESHOLD_FIELDS.items():
        value = getattr(clean, key)
        if key in rows:
            _assign(rows[key], {"value": value})
        else:
            session.add(ReferenceThreshold(release_no=number, key=key, value=value, note=label))
    session.flush()
    return thresholds(session, number)


def import_release(
    session: Session, actor: Actor, source: Path | str | Mapping[str, Any], *, district: bool = False
) -> ReleaseView:
    """Install a whole release from a file (or parsed JSON) in the catalog format. It must be newer
    than the newest release here; a file with any error is refused and nothing is written.

    ``district``: a catalog the district shipped through sync (app.sync.releases), already checked
    to be newer than the district release installed before. It is stored with the source
    ``district`` and, because local revisions may already have taken its number, numbered after
    the newest release here when need be: ``max(newest + 1, its own number)``."""
    require(actor, Permission.EDIT_REFERENCE)
    data = read_release(source)
    current = _current_row(session)
    if district:
        number = max(data.release_no, current.release_no + 1 if current is not None else 1)
        data = dataclasses.replace(data, release_no=number, source=ReleaseSource.DISTRICT)
    if current is not None and data.release_no <= current.release_no:
        raise ValidationError(
            f"要导入的是第 {data.release_no} 版，本机已是第 {current.release_no} 版：不能回退到旧版本，"
            "也不能重复导入同一版本。请确认文件是区局最新下发的版本。",
            field="release",
        )
    # A savepoint: should the database refuse a row half-way, the release vanishes whole even if
    # the caller goes on with its unit of work.
    with session.begin_nested():
        release = _write_release(session, data)
    session.info.pop(_DRAFT, None)  # later edits in this unit of work start from the import
    return _release_view(release)
