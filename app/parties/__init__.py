"""Parties (当事人): registering persons and organisations, validating their identity, finding
them again.

A party is kept once and reused across cases, so its identity — the ID number of a person
(GB 11643), the 统一社会信用代码 of an organisation (GB 32100-2015) — is validated on entry and a
second party with the same identity is refused, naming the one already registered. Roles that
may not see whole ID numbers get them masked in every view and search.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.errors import ConflictError, NotFoundError, ValidationError
from app.personnel.idcard import mask_id_number, normalize_id_number, normalize_phone
from app.personnel.members import initials
from db.models.parties import Party, PartyKind

KIND_LABELS = {PartyKind.PERSON: "自然人", PartyKind.ORGANISATION: "法人或其他组织"}

# ---- 统一社会信用代码 (GB 32100-2015) ------------------------------------------------------------

#: The code's character set: digits and capitals without I, O, Z, S, V (too easily misread).
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MISREAD = {"I": "1", "O": "0", "Z": "2", "S": "5"}

#: Registration-management department (第 1 位) → its name and its organisation types (第 2 位).
#: GB 32100-2015 names 1, 5, 9 and Y; the others were assigned since by the national coding
#: authority and appear on real certificates (law firms 31…, trade unions 81…, village
#: collectives N2…), so refusing them would refuse genuine parties.
CREDIT_DEPARTMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商（市场监管）", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}


def credit_check_char(first17: str) -> str:
    """The 18th character of a credit code whose first 17 are given (all from the charset)."""
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def _clean(text: str) -> str:
    # NFKC turns full-width letters and digits (pasted from Word or a PDF) into ASCII.
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def validate_credit_code(text: str) -> str:
    """A valid 18-character 统一社会信用代码, or ValidationError saying what to fix."""
    code = _clean(text or "")
    field = "credit_code"
    if not code:
        raise ValidationError("请填写统一社会信用代码（营业执照或登记证书上的 18 位代码）。", field=field)
    if len(code) == 15 and code.isdigit():
        raise ValidationError(
            f"“{code}”是 15 位的旧营业执照注册号，已停用。请向当事人索取新版执照上 18 位的统一社会信用代码。",
            field=field,
        )
    if len(code) != 18:
        raise ValidationError(f"统一社会信用代码应为 18 位，“{code}”是 {len(code)} 位。", field=field)
    bad = [c for c in code if c not in CREDIT_CHARSET]
    if bad:
        hints = "；".join(f"“{c}”多半应为“{_MISREAD[c]}”" for c in dict.fromkeys(bad) if c in _MISREAD)
        raise ValidationError(
            f"统一社会信用代码“{code}”含有不会出现的字符“{''.join(dict.fromkeys(bad))}”"
            f"（代码不用字母 I、O、Z、S、V）{'：' + hints if hints else ''}。请核对后重新输入。",
            field=field,
        )
    department = CREDIT_DEPARTMENTS.get(code[0])
    if department is None:
        raise ValidationError(
            f"统一社会信用代码“{code}”第 1 位“{code[0]}”不是登记管理部门代码"
            f"（应为 {'、'.join(CREDIT_DEPARTMENTS)} 之一，企业多为 9），请核对。",
            field=field,
        )
    dept_name, types = department
    if code[1] not in types:
        listed = "、".join(f"{k} {v}" for k, v in types.items())
        raise ValidationError(
            f"统一社会信用代码“{code}”第 2 位“{code[1]}”不是{dept_name}登记的机构类别代码（应为 {listed}），请核对。",
            field=field,
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            f"统一社会信用代码“{code}”第 3 至 8 位“{code[2:8]}”应为 6 位数字的行政区划代码，请核对。",
            field=field,
        )
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        raise ValidationError(
            f"统一社会信用代码“{code}”校验位不对（末位应为 {expected}），请对照营业执照逐位核对。",
            field=field,
        )
    return code


def _clean_identity(text: str) -> str:
    return _clean(text or "")


# ---- service ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyInput:
    kind: PartyKind
    name: str
    id_number: str = ""  # person
    credit_code: str = ""  # organisation
    legal_representative: str = ""  # organisation
    address: str = ""
    phone: str = ""
    note: str = ""


@dataclass(frozen=True)
class PartyView:
    id: str
    kind: PartyKind
    name: str
    id_number: str  # masked unless the actor may see it whole
    credit_code: str
    legal_representative: str
    address: str
    phone: str
    note: str
    version: int

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def identity(self) -> str:
        """The identifying number as shown: ID number (maybe masked) or credit code."""
        return self.id_number if self.kind is PartyKind.PERSON else self.credit_code


def _text(value: str, label: str, field: str, limit: int, required: bool = False) -> str:
    clean = " ".join(value.split())
    if required and not clean:
        raise ValidationError(f"请填写{label}。", field=field)
    if len(clean) > limit:
        raise ValidationError(f"{label}过长（最多 {limit} 个字），请核对。", field=field)
    return clean


def validate(data: PartyInput) -> PartyInput:
    """The cleaned input, or ValidationError naming the field to fix."""
    try:
        kind = PartyKind(data.kind)
    except ValueError:
        raise ValidationError("请选择当事人类别：自然人，或法人或其他组织。", field="kind") from None
    person = kind is PartyKind.PERSON
    name = _text(data.name, "姓名" if person else "单位名称", "name", 100, required=True)
    address = _text(data.address, "住址" if person else "地址", "address", 200)
    phone = normalize_phone(data.phone)
    if person:
        if data.credit_code.strip() or data.legal_representative.strip():
            raise ValidationError(
                "自然人没有统一社会信用代码和法定代表人；若当事人是单位或个体工商户，请把类别改为“法人或其他组织”。",
                field="kind",
            )
        return PartyInput(
            kind, name, normalize_id_number(data.id_number), "", "", address, phone, data.note.strip()
        )
    if data.id_number.strip():
        raise ValidationError(
            "单位当事人不填身份证号；法定代表人的身份请在询问笔录中记录，或把类别改为“自然人”。",
            field="id_number",
        )
    return PartyInput(
        kind,
        name,
        "",
        validate_credit_code(data.credit_code),
        _text(data.legal_representative, "法定代表人", "legal_representative", 50, required=True),
        address,
        phone,
        data.note.strip(),
    )


def _live() -> Select[Party]:
    return select(Party).where(Party.deleted.is_(False))


def _by_identity(session: Session, identity: str) -> Party | None:
    if not identity:
        return None
    return session.scalar(
        _live()
        .where(or_(Party.id_number == identity, Party.credit_code == identity))
        .order_by(Party.id)
        .limit(1)
    )


def _refuse_duplicate(session: Session, data: PartyInput, own_id: str | None) -> None:
    identity = data.id_number or data.credit_code
    other = _by_identity(session, identity)
    if other is not None and other.id != own_id:
        what = "身份证号" if data.kind is PartyKind.PERSON else "统一社会信用代码"
        raise ConflictError(
            f"{what} {identity} 已登记为当事人“{other.name}”，同一当事人不能重复登记，请直接选用该当事人。"
        )


def _apply(party: Party, data: PartyInput) -> None:
    party.kind = data.kind.value
    party.name = data.name
    party.name_initials = initials(data.name)
    party.id_number = data.id_number
    party.credit_code = data.credit_code
    party.legal_representative = data.legal_representative
    party.address = data.address
    party.phone = data.phone
    party.note = data.note


def to_view(party: Party, actor: Actor) -> PartyView:
    full = actor.can(Permission.VIEW_FULL_ID)
    return PartyView(
        id=party.id,
        kind=PartyKind(party.kind),
        name=party.name,
        id_number=party.id_number if full or not party.id_number else mask_id_number(party.id_number),
        credit_code=party.credit_code,
        legal_representative=party.legal_representative,
        address=party.address,
        phone=party.phone,
        note=party.note,
        version=party.version,
    )


def create_party(session: Session, actor: Actor, data: PartyInput) -> PartyView:
    require(actor, Permission.EDIT_PARTIES)
    clean = validate(data)
    _refuse_duplicate(session, clean, None)
    party = Party()
    _apply(party, clean)
    session.add(party)
    session.flush()
    return to_view(party, actor)


def update_party(session: Session, actor: Actor, party_id: str, data: PartyInput, version: int) -> PartyView:
    """Save an edit made on ``version``; a stale version means someone else saved meanwhile."""
    require(actor, Permission.EDIT_PARTIES)
    party = _get(session, party_id)
    if party.version != version:
        raise ConflictError(f"当事人“{party.name}”的信息刚被他人修改过，请关闭后重新打开再编辑。")
    clean = validate(data)
    _refuse_duplicate(session, clean, party.id)
    _apply(party, clean)
    session.flush()
    return to_view(party, actor)


def _get(session: Session, party_id: str) -> Party:
    party = session.get(Party, party_id)
    if party is None or party.deleted:
        raise NotFoundError("找不到该当事人，可能已被删除，请刷新列表。")
    return party


def get_party(session: Session, actor: Actor, party_id: str) -> PartyView:
    require(actor, Permission.VIEW_CASES)
    return to_view(_get(session, party_id), actor)


def find_party_by_identity(session: Session, actor: Actor, identity: str) -> PartyView | None:
    """The party registered under an ID number or credit code (as typed: full-width, lower case
    and spaces are tolerated), or None — so a form can offer the existing party for reuse."""
    require(actor, Permission.VIEW_CASES)
    party = _by_identity(session, _clean_identity(identity))
    return to_view(party, actor) if party is not None else None


def search_parties(
    session: Session,
    actor: Actor,
    text: str = "",
    kind: PartyKind | None = None,
    offset: int = 0,
    limit: int = 200,
) -> list[PartyView]:
    """Parties whose name, pinyin initials, ID number or credit code match ``text``, by name."""
    require(actor, Permission.VIEW_CASES)
    stmt = _live()
    needle = " ".join(text.split())
    if needle:
        code = _clean_identity(needle)
        conds = [
            Party.name.like(f"%{needle}%"),
            Party.name_initials.like(f"{needle.lower()}%"),
            Party.credit_code.like(f"%{code}%"),
        ]
        if actor.can(Permission.VIEW_FULL_ID):
            conds.append(Party.id_number.like(f"%{code}%"))
        elif len(code) <= 4:
            # A role that sees masked numbers can find a person by the visible last 4 digits,
            # but not probe the hidden middle ones.
            conds.append(Party.id_number.like(f"%{code}"))
        stmt = stmt.where(or_(*conds))
    if kind is not None:
        stmt = stmt.where(Party.kind == PartyKind(kind).value)
    stmt = stmt.order_by(Party.name_initials, Party.name, Party.id).offset(offset).limit(limit)
    return [to_view(p, actor) for p in session.scalars(stmt)]
