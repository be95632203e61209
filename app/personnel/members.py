"""Members (队员): the ledger, its search, and ``can_enforce`` — the one rule every later module
calls to decide whether a person may act as an enforcement officer on a given day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.errors import ConflictError, NotFoundError, ValidationError
from app.personnel.idcard import birth_date, gender_of, mask_id_number, normalize_id_number, normalize_phone
from app.personnel.labels import CATEGORY_LABELS, STATUS_LABELS
from db.models import Certificate, Member
from db.models.personnel import CertificateKind, MemberStatus, StaffCategory

#: Categories that may act as enforcement officers when they hold a valid certificate.
ENFORCING_CATEGORIES = frozenset({StaffCategory.CIVIL_SERVANT, StaffCategory.CAREER})


@dataclass(frozen=True)
class MemberInput:
    name: str
    id_number: str
    category: StaffCategory
    phone: str = ""
    gender: str = ""
    position: str = ""
    unit: str = ""
    join_date: dt.date | None = None
    status: MemberStatus = MemberStatus.ON_DUTY
    legal_qualification_no: str = ""
    note: str = ""


@dataclass(frozen=True)
class MemberView:
    id: str
    name: str
    gender: str
    id_number: str  # masked unless the actor may see it whole
    phone: str
    category: StaffCategory
    position: str
    unit: str
    join_date: dt.date | None
    status: MemberStatus
    legal_qualification_no: str
    note: str
    version: int
    enforcement_cert_no: str = ""
    enforcement_cert_to: dt.date | None = None
    birth: dt.date | None = field(default=None)

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def initials(name: str) -> str:
    """Pinyin initials for search: 张三丰 → zsf. Heteronyms take pypinyin's usual reading."""
    # Imported here: pypinyin loads its dictionary at import (~0.3 s), which start-up need not pay.
    from pypinyin import Style, lazy_pinyin

    return "".join(p[:1] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")).lower()


def validate(data: MemberInput) -> MemberInput:
    """The cleaned input, or ValidationError naming the field to fix."""
    name = " ".join(data.name.split())
    if not name:
        raise ValidationError("请填写姓名。", field="name")
    if len(name) > 50:
        raise ValidationError("姓名过长（最多 50 个字），请核对。", field="name")
    id_number = normalize_id_number(data.id_number)
    phone = normalize_phone(data.phone)
    try:
        category = StaffCategory(data.category)
    except ValueError:
        raise ValidationError("请选择人员类别。", field="category") from None
    gender = data.gender or gender_of(id_number)
    if gender not in ("男", "女"):
        raise ValidationError("性别应为“男”或“女”。", field="gender")
    if gender != gender_of(id_number):
        raise ValidationError(
            f"性别“{gender}”与身份证号不符（身份证显示为{gender_of(id_number)}）。", field="gender"
        )
    for field_name, label, limit in (
        ("position", "职务", 50),
        ("unit", "分队", 50),
        ("legal_qualification_no", "法律职业资格证号", 40),
    ):
        if len(getattr(data, field_name).strip()) > limit:
            raise ValidationError(f"{label}过长（最多 {limit} 个字），请核对。", field=field_name)
    born = birth_date(id_number)
    if data.join_date is not None:
        if data.join_date > dt.date.today():
            raise ValidationError(
                f"入职日期 {data.join_date:%Y-%m-%d} 在今天之后，请核对。", field="join_date"
            )
        if born and (data.join_date - born).days < 16 * 365:
            raise ValidationError(
                f"入职日期 {data.join_date:%Y-%m-%d} 时未满 16 周岁，请核对。", field="join_date"
            )
    return MemberInput(
        name=name,
        id_number=id_number,
        category=category,
        phone=phone,
        gender=gender,
        position=data.position.strip(),
        unit=data.unit.strip(),
        join_date=data.join_date,
        status=MemberStatus(data.status),
        legal_qualification_no=data.legal_qualification_no.strip(),
        note=data.note.strip(),
    )


def _live() -> Select[Member]:
    return select(Member).where(Member.deleted.is_(False))


def find_by_id_number(session: Session, id_number: str) -> Member | None:
    return session.scalar(_live().where(Member.id_number == id_number))


def _apply(member: Member, data: MemberInput) -> None:
    member.name = data.name
    member.name_initials = initials(data.name)
    member.gender = data.gender
    member.id_number = data.id_number
    member.phone = data.phone
    member.category = data.category.value
    member.position = data.position
    member.unit = data.unit
    member.join_date = data.join_date
    member.status = data.status.value
    member.legal_qualification_no = data.legal_qualification_no
    member.note = data.note


def create_member(session: Session, actor: Actor, data: MemberInput) -> MemberView:
    require(actor, Permission.EDIT_PERSONNEL)
    clean = validate(data)
    other = find_by_id_number(session, clean.id_number)
    if other is not None:
        raise ConflictError(f"身份证号 {clean.id_number} 已登记在队员“{other.name}”名下，不能重复登记。")
    member = Member()
    _apply(member, clean)
    session.add(member)
    session.flush()
    return to_view(member, actor)


def update_member(
    session: Session, actor: Actor, member_id: str, data: MemberInput, version: int
) -> MemberView:
    """Save an edit made on ``version``; a stale version means someone else saved meanwhile."""
    require(actor, Permission.EDIT_PERSONNEL)
    member = _get(session, member_id)
    if member.version != version:
        raise ConflictError(f"队员“{member.name}”的信息刚被他人修改过，请关闭后重新打开再编辑。")
    clean = validate(data)
    other = find_by_id_number(session, clean.id_number)
    if other is not None and other.id != member.id:
        raise ConflictError(f"身份证号 {clean.id_number} 已登记在队员“{other.name}”名下。")
    _apply(member, clean)
    session.flush()
    return to_view(member, actor)


def remove_member(session: Session, actor: Actor, member_id: str) -> None:
    """Tombstone a member entered by mistake (a member who leaves is set to 离岗 instead)."""
    require(actor, Permission.EDIT_PERSONNEL)
    member = _get(session, member_id)
    member.deleted = True
    for cert in session.scalars(select(Certificate).where(Certificate.member_id == member.id)):
        cert.deleted = True


def _get(session: Session, member_id: str) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.deleted:
        raise NotFoundError("找不到该队员，可能已被删除，请刷新列表。")
    return member


def get_member(session: Session, actor: Actor, member_id: str) -> MemberView:
    require(actor, Permission.VIEW_PERSONNEL)
    return to_view(_get(session, member_id), actor)


def to_view(m: Member, actor: Actor, cert: Certificate | None = None) -> MemberView:
    full = actor.can(Permission.VIEW_FULL_ID)
    return MemberView(
        id=m.id,
        name=m.name,
        gender=m.gender,
        id_number=m.id_number if full else mask_id_number(m.id_number),
        phone=m.phone,
        category=StaffCategory(m.category),
        position=m.position,
        unit=m.unit,
        join_date=m.join_date,
        status=MemberStatus(m.status),
        legal_qualification_no=m.legal_qualification_no,
        note=m.note,
        version=m.version,
        enforcement_cert_no=cert.number if cert else "",
        enforcement_cert_to=cert.valid_to if cert else None,
        birth=birth_date(m.id_number),
    )


@dataclass(frozen=True)
class MemberQuery:
    text: str = ""
    category: StaffCategory | None = None
    status: MemberStatus | None = None
    unit: str = ""
    include_left: bool = True


def _filtered(actor: Actor, q: MemberQuery) -> Select[Member]:
    stmt = _live()
    text = q.text.strip()
    if text:
        like = f"%{text}%"
        conds = [
            Member.name.like(like),
            Member.name_initials.like(f"{text.lower()}%"),
            Member.phone.like(like),
        ]
        if actor.can(Permission.VIEW_FULL_ID) or len(text) <= 4:
            # roles that see masked numbers can still find someone by the visible last 4 digits
            conds.append(
                Member.id_number.like(like)
                if actor.can(Permission.VIEW_FULL_ID)
                else Member.id_number.like(f"%{text}")
            )
        cert_hit = select(Certificate.member_id).where(
            Certificate.deleted.is_(False), Certificate.number.like(like)
        )
        conds.append(Member.id.in_(cert_hit))
        stmt = stmt.where(or_(*conds))
    if q.category is not None:
        stmt = stmt.where(Member.category == q.category.value)
    if q.status is not None:
        stmt = stmt.where(Member.status == q.status.value)
    elif not q.include_left:
        stmt = stmt.where(Member.status != MemberStatus.LEFT.value)
    if q.unit:
        stmt = stmt.where(Member.unit == q.unit)
    return stmt


def count_members(session: Session, actor: Actor, q: MemberQuery = MemberQuery()) -> int:
    require(actor, Permission.VIEW_PERSONNEL)
    return session.scalar(select(func.count()).select_from(_filtered(actor, q).subquery())) or 0


def search_members(
    session: Session, actor: Actor, q: MemberQuery = MemberQuery(), offset: int = 0, limit: int = 200
) -> list[MemberView]:
    """One page of members, by unit then name, each with their enforcement certificate."""
    require(actor, Permission.VIEW_PERSONNEL)
    stmt = _filtered(actor, q).order_by(Member.unit, Member.name_initials, Member.name, Member.id)
    members = list(session.scalars(stmt.offset(offset).limit(limit)))
    certs = _latest_enforcement_certs(session, [m.id for m in members])
    return [to_view(m, actor, certs.get(m.id)) for m in members]


def _latest_enforcement_certs(session: Session, member_ids: list[str]) -> dict[str, Certificate]:
    out: dict[str, Certificate] = {}
    if not member_ids:
        return out
    rows = session.scalars(
        select(Certificate).where(
            Certificate.member_id.in_(member_ids),
            Certificate.deleted.is_(False),
            Certificate.kind == CertificateKind.ENFORCEMENT.value,
        )
    )
    for c in rows:
        best = out.get(c.member_id)
        if best is None or (c.valid_to or dt.date.min) > (best.valid_to or dt.date.min):
            out[c.member_id] = c
    return out


def units(session: Session) -> list[str]:
    return [
        u
        for u in session.scalars(
            select(Member.unit).where(Member.deleted.is_(False)).distinct().order_by(Member.unit)
        )
        if u
    ]
