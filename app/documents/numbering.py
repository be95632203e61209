"""Document numbers (文号): one register per squad, document type and year, and the numbers this
device takes from its own block (号段) of that register.

A number such as 车综执罚决字〔2026〕第12号 is unique per squad, type and year and never reused; a
voided number stays voided (DOMAIN.md). Numbers are taken by moving a lease's ``next_seq`` forward
inside the caller's write transaction: SQLite's BEGIN IMMEDIATE makes writers take turns, so
threads and programs sharing one data folder never take the same number, and a transaction that
rolls back gives its number back. Why the counter lives on a lease, and how sync hands out
smaller blocks to offline devices, is told in :mod:`db.models.documents`.

Until the device is enrolled with the district (:func:`is_enrolled`), the first number of a register
grants this device the whole range; from enrolment on, numbers come only from blocks the district
granted (:mod:`app.sync.numbers` installs them), and a device whose blocks are used up refuses.

A register's id is derived from (squad, type, year) (:func:`register_id_for`): two offline devices
that each open the same register make the same row, which sync then meets as one row, not two
rows fighting over the unique (squad, type, year).

The pattern of a register is set by the administrator (:func:`set_pattern`, 修改系统设置); a new
year's register takes the pattern of the nearest year that has one, else the template's pattern
(``default_pattern``), else the type's default from :data:`DOC_TYPES`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from types import MappingProxyType

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.errors import ConflictError, DomainError, SetupRequired, ValidationError
from app.squad import get_squad
from db.models import LocalMeta
from db.models.documents import (
    FIRST_SEQ,
    LAST_SEQ,
    DocumentStatus,
    IssuedDocument,
    LeaseSource,
    NumberLease,
    NumberRegister,
)


@dataclass(frozen=True)
class DocType:
    """A numbered document type: its code, its Chinese name and the word of its number (罚决字)."""

    code: str
    name: str
    word: str

    @property
    def default_pattern(self) -> str:
        return "{prefix}" + self.word + "字〔{year}〕第{seq}号"


def _types(*items: tuple[str, str, str]) -> Mapping[str, DocType]:
    return MappingProxyType({code: DocType(code, name, word) for code, name, word in items})


#: The numbered documents of DOMAIN.md and the word each number carries by default. A template may
#: bring its own pattern (``default_pattern``); a clerk may change any of them (:func:`set_pattern`).
#: Codes are the template codes (resources/templates/CODE.json), whose ``number_word`` is the word
#: here followed by 字 (tests/app/documents/test_documents.py checks both).
DOC_TYPES: Mapping[str, DocType] = _types(
    ("penalty_decision", "行政处罚决定书", "罚决"),
    ("spot_decision", "当场行政处罚决定书", "当罚"),
    ("no_penalty_decision", "不予行政处罚决定书", "不罚"),
    ("prior_notice", "行政处罚事先告知书", "罚告"),
    ("hearing_rights_notice", "听证告知书", "听告"),
    ("hearing_notice", "听证通知书", "听通"),
    ("correction_order", "责令（限期）改正通知书", "责改"),
    ("preservation_notice", "先行登记保存证据通知书", "登存"),
    ("preservation_decision", "先行登记保存证据处理决定书", "登处"),
    ("seizure_decision", "查封（扣押）决定书", "查扣"),
    ("reminder", "催告书", "催告"),
    ("enforcement_application", "强制执行申请书", "强执"),
    ("transfer_letter", "案件移送函", "移送"),
    ("legal_review_opinion", "法制审核意见书", "法审"),
)

#: LocalMeta key the sync client sets to "1" when this device is enrolled with the district.
ENROLLED_KEY = "sync.enrolled"
#: LocalMeta key holding the district's public key, stored at enrolment (also means enrolled).
DISTRICT_KEY = "sync.district_key"
#: Namespace of the register ids derived from (squad, type, year) (:func:`register_id_for`).
REGISTER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "squaddesk:number_registers")

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FIELDS = ("prefix", "year", "seq")
#: The number text must fit ``IssuedDocument.number`` with a 20-character prefix and a wide seq.
PATTERN_LIMIT = 60
MAX_SEQ_WIDTH = 8


class LeaseExhausted(DomainError):
    """This device has no free number left in its blocks of a register."""


def exhausted_message(doc_type: str, year: int) -> str:
    return f"{type_label(doc_type)}（{year} 年）：本机的文号段已用完，请与区局同步领取新的文号段。"


@dataclass(frozen=True)
class TakenNumber:
    register_id: str
    doc_type: str
    year: int
    seq: int
    number: str


@dataclass(frozen=True)
class RegisterView:
    """One register (文号登记簿) as the settings page and the register view show it."""

    id: str
    doc_type: str
    type_label: str
    year: int
    pattern: str
    seq_width: int
    example: str  # the pattern applied to number 12
    issued: int  # documents issued under it, voided ones included
    voided: int
    next_here: int | None  # the next number this device will give; None when its blocks are used up
    free_here: int  # numbers left in this device's blocks


# ---- patterns ---------------------------------------------------------------------------------


def type_label(doc_type: str) -> str:
    """The Chinese name of a document type (its code when the type is not one of DOC_TYPES)."""
    known = DOC_TYPES.get(doc_type)
    return known.name if known else doc_type


def check_doc_type(doc_type: str) -> str:
    code = doc_type.strip()
    if not _CODE.match(code):
        raise ValidationError(
            f"文书类型代码“{doc_type}”无效：应为小写英文字母开头的字母、数字或下划线（如 penalty_decision）。",
            field="doc_type",
        )
    return code


def check_pattern(pattern: str) -> str:
    """The pattern, trimmed, if it can number documents; a Chinese ``ValidationError`` otherwise."""
    text = pattern.strip()
    example = "如“{prefix}罚决字〔{year}〕第{seq}号”"
    if not text:
        raise ValidationError(f"请填写文号格式，{example}。", field="pattern")
    if len(text) > PATTERN_LIMIT:
        raise ValidationError(f"文号格式最多 {PATTERN_LIMIT} 个字符。", field="pattern")
    try:
        parts = list(Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(
            f"文号格式中的花括号不成对：{{ 与 }} 只用于 {{prefix}}、{{year}}、{{seq}}，{example}。",
            field="pattern",
        ) from exc
    names: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in _FIELDS or spec or conversion:
            raise ValidationError(
                f"文号格式中的“{{{name}{':' + spec if spec else ''}}}”无法识别：只能使用 {{prefix}}（文号前缀）、"
                "{year}（年份）和 {seq}（序号）；序号补零位数请在“序号位数”中设定。",
                field="pattern",
            )
        names.append(name)
    if "year" not in names or "seq" not in names:
        raise ValidationError(
            f"文号格式必须包含 {{year}}（年份）和 {{seq}}（序号），{example}。", field="pattern"
        )
    return text


def format_number(pattern: str, *, prefix: str, year: int, seq: int, seq_width: int = 0) -> str:
    """The number text: ``format_number("{prefix}罚决字〔{year}〕第{seq}号", prefix="车综执",
    year=2026, seq=12)`` gives 车综执罚决字〔2026〕第12号; ``seq_width=4`` gives 第0012号."""
    return pattern.format(prefix=prefix, year=year, seq=f"{seq:0{seq_width}d}" if seq_width else str(seq))


# ---- registers and leases ---------------------------------------------------------------------


def _squad_id(session: Session) -> str:
    squad_id = session.info.get("squad_id")
    if not squad_id:
        raise SetupRequired("尚未完成初始设置，不能编文号。请先运行首次设置向导。")
    return str(squad_id)


def is_enrolled(session: Session) -> bool:
    """True once this device is enrolled with the district: from then on it never grants itself
    a block; its numbers come from the district's (see :mod:`db.models.documents`)."""
    query = select(LocalMeta.key, LocalMeta.value).where(LocalMeta.key.in_((ENROLLED_KEY, DISTRICT_KEY)))
    rows = {key: value for key, value in session.execute(query)}
    return rows.get(ENROLLED_KEY) == "1" or bool(rows.get(DISTRICT_KEY))


def register_id_for(squad_id: str, doc_type: str, year: int) -> str:
    """The id of the register (squad, type, year): the same on every device, so registers that
    two offline devices open are one row when they meet."""
    return str(uuid.uuid5(REGISTER_NAMESPACE, f"{squad_id}/{doc_type}/{int(year)}"))


def _register(session: Session, squad_id: str, doc_type: str, year: int) -> NumberRegister | None:
    return session.scalar(
        select(NumberRegister).where(
            NumberRegister.squad_id == squad_id,
            NumberRegister.doc_type == doc_type,
            NumberRegister.year == year,
        )
    )


def _inherited(
    session: Session, squad_id: str, doc_type: str, year: int, default_pattern: str | None
) -> tuple[str, int]:
    """(pattern, width) for a new register: the nearest year's register of the type, else the
    template's pattern, else the type's default."""
    nearest = session.scalar(
        select(NumberRegister)
        .where(NumberRegister.squad_id == squad_id, NumberRegister.doc_type == doc_type)
        .order_by(func.abs(NumberRegister.year - year), NumberRegister.year.desc())
        .limit(1)
    )
    if nearest is not None:
        return nearest.pattern, nearest.seq_width
    if default_pattern:
        return check_pattern(default_pattern), 0
    known = DOC_TYPES.get(doc_type)
    if known is None:
        raise ValidationError(
            f"文书类型“{doc_type}”尚未设定文号格式，请由管理员先在“文号设置”中设定。", field="doc_type"
        )
    return known.default_pattern, 0


def _ensure_register(
    session: Session,
    squad_id: str,
    doc_type: str,
    year: int,
    default_pattern: str | None = None,
    register_id: str | None = None,
) -> NumberRegister:
    register = _register(session, squad_id, doc_type, year)
    if register is None:
        pattern, width = _inherited(session, squad_id, doc_type, year, default_pattern)
        register = NumberRegister(
            id=register_id or register_id_for(squad_id, doc_type, year),
            squad_id=squad_id,
            doc_type=doc_type,
            year=year,
            pattern=pattern,
            seq_width=width,
        )
        session.add(register)
        session.flush()
    return register


def ensure_register(
    session: Session,
    doc_type: str,
    year: int,
    *,
    register_id: str | None = None,
    default_pattern: str | None = None,
) -> NumberRegister:
    """The register of (this squad, ``doc_type``, ``year``), created when missing with the pattern
    it inherits and the id ``register_id`` (the one the district knows it by) or, without one,
    :func:`register_id_for`. No permission: numbering's own bookkeeping, used by sync."""
    code = check_doc_type(doc_type)
    return _ensure_register(session, _squad_id(session), code, year, default_pattern, register_id)


def grant_lease(
    session: Session,
    register_id: str,
    device_id: str,
    first_seq: int,
    last_seq: int,
    source: LeaseSource = LeaseSource.DISTRICT,
) -> NumberLease:
    """Give ``device_id`` the block [first_seq, last_seq] of a register. Refused when it overlaps
    any lease the register has or had (a tombstoned lease's numbers may have been used).

    No permission: this is the numbering's own bookkeeping, called when a device first numbers a
    register and, later, by sync when the district hands a block down."""
    if not FIRST_SEQ <= first_seq <= last_seq <= LAST_SEQ:
        raise ValidationError(
            f"文号段 {first_seq}–{last_seq} 无效：应在 {FIRST_SEQ}–{LAST_SEQ} 之内且首号不大于末号。"
        )
    clash = session.scalar(
        select(NumberLease)
        .where(
            NumberLease.register_id == register_id,
            NumberLease.first_seq <= last_seq,
            NumberLease.last_seq >= first_seq,
        )
        .limit(1)
    )
    if clash is not None:
        raise ConflictError(
            f"文号段 {first_seq}–{last_seq} 与已分配的文号段 {clash.first_seq}–{clash.last_seq} 重叠，"
            "同一文号不能分给两台电脑。"
        )
    lease = NumberLease(
        register_id=register_id,
        device_id=device_id,
        source=source.value,
        first_seq=first_seq,
        last_seq=last_seq,
        next_seq=first_seq,
    )
    session.add(lease)
    session.flush()
    return lease


def _free_lease(session: Session, register_id: str, device_id: str) -> NumberLease | None:
    """This device's first block of the register that still has a number."""
    return session.scalar(
        select(NumberLease)
        .where(
            NumberLease.register_id == register_id,
            NumberLease.device_id == device_id,
            NumberLease.deleted.is_(False),
            NumberLease.next_seq <= NumberLease.last_seq,
        )
        .order_by(NumberLease.first_seq)
        .limit(1)
    )


def take_number(
    session: Session, doc_type: str, year: int, *, default_pattern: str | None = None
) -> TakenNumber:
    """Take the next number of (this squad, ``doc_type``, ``year``) from this device's block,
    creating the register and — until this device is enrolled with the district — a block of the
    whole range on first use. An enrolled device only uses the blocks the district granted it.

    Call it inside the unit of work that records the document: the number is the transaction's,
    kept when it commits and given back when it rolls back."""
    code = check_doc_type(doc_type)
    squad_id = _squad_id(session)
    device_id = str(session.info["device_id"])
    register = _ensure_register(session, squad_id, code, year, default_pattern)
    lease = _free_lease(session, register.id, device_id)
    if lease is None:
        any_lease = session.scalar(
            select(NumberLease.id).where(NumberLease.register_id == register.id).limit(1)
        )
        if any_lease is not None or is_enrolled(session):
            raise LeaseExhausted(exhausted_message(code, year))
        # No sync yet: the device that numbers a register first holds all of it (see db.models.documents).
        lease = grant_lease(session, register.id, device_id, FIRST_SEQ, LAST_SEQ, LeaseSource.DEVICE)
    seq = lease.next_seq
    lease.next_seq = seq + 1
    session.flush()
    prefix = get_squad(session, squad_id).doc_prefix
    number = format_number(register.pattern, prefix=prefix, year=year, seq=seq, seq_width=register.seq_width)
    return TakenNumber(register_id=register.id, doc_type=code, year=year, seq=seq, number=number)


def next_number(
    session: Session, doc_type: str, year: int, *, default_pattern: str | None = None
) -> tuple[str, int]:
    """(number text, seq) of the next number; see :func:`take_number`."""
    taken = take_number(session, doc_type, year, default_pattern=default_pattern)
    return taken.number, taken.seq


# ---- settings and the register view -----------------------------------------------------------


def _effective_patterns(session: Session, squad_id: str, year: int) -> dict[str, tuple[str, int]]:
    """Every type's (pattern, width) for ``year`` as the next number would use it."""
    rows = session.scalars(select(NumberRegister).where(NumberRegister.squad_id == squad_id)).all()
    out: dict[str, tuple[str, int]] = {code: (t.default_pattern, 0) for code, t in DOC_TYPES.items()}
    best: dict[str, tuple[int, int]] = {}
    for row in rows:
        rank = (abs(row.year - year), -row.year)
        if row.doc_type not in best or rank < best[row.doc_type]:
            best[row.doc_type] = rank
            out[row.doc_type] = (row.pattern, row.seq_width)
    return out


def set_pattern(
    session: Session,
    actor: Actor,
    doc_type: str,
    pattern: str,
    *,
    seq_width: int = 0,
    year: int | None = None,
) -> RegisterView:
    """Set the number pattern of a document type for ``year`` (default: this year) and, through
    inheritance, the years after it. Numbers already issued keep their text."""
    require(actor, Permission.EDIT_SETTINGS)
    code = check_doc_type(doc_type)
    text = check_pattern(pattern)
    if not 0 <= seq_width <= MAX_SEQ_WIDTH:
        raise ValidationError(f"序号位数应在 0（不补零）到 {MAX_SEQ_WIDTH} 之间。", field="seq_width")
    squad_id = _squad_id(session)
    on_year = year if year is not None else dt.date.today().year
    for other, (other_pattern, other_width) in _effective_patterns(session, squad_id, on_year).items():
        if other != code and other_pattern == text and other_width == seq_width:
            raise ValidationError(
                f"该格式与“{type_label(other)}”的文号格式相同，两种文书会印出相同的文号。"
                "请加入区分文书类型的字，如“罚决”“责改”。",
                field="pattern",
            )
    register = _register(session, squad_id, code, on_year)
    if register is None:
        register = NumberRegister(
            id=register_id_for(squad_id, code, on_year),
            squad_id=squad_id,
            doc_type=code,
            year=on_year,
            pattern=text,
            seq_width=seq_width,
        )
        session.add(register)
    else:
        register.pattern = text
        register.seq_width = seq_width
    session.flush()
    return _register_views(session, [register])[0]


@dataclass(frozen=True)
class PatternView:
    """The number pattern a document type uses in a year (set, inherited or the default)."""

    doc_type: str
    type_label: str
    pattern: str
    seq_width: int
    example: str  # the pattern applied to number 12


def number_patterns(session: Session, actor: Actor, year: int | None = None) -> list[PatternView]:
    """Every numbered document type with the pattern its next number of ``year`` will use."""
    require(actor, Permission.VIEW_CASES)
    squad_id = _squad_id(session)
    on_year = year if year is not None else dt.date.today().year
    prefix = get_squad(session, squad_id).doc_prefix
    return [
        PatternView(
            code,
            type_label(code),
            pattern,
            width,
            format_number(pattern, prefix=prefix, year=on_year, seq=12, seq_width=width),
        )
        for code, (pattern, width) in _effective_patterns(session, squad_id, on_year).items()
    ]


def list_registers(session: Session, actor: Actor, year: int | None = None) -> list[RegisterView]:
    """The squad's registers (of one year, or all), by year and type."""
    require(actor, Permission.VIEW_CASES)
    squad_id = _squad_id(session)
    query = select(NumberRegister).where(
        NumberRegister.squad_id == squad_id, NumberRegister.deleted.is_(False)
    )
    if year is not None:
        query = query.where(NumberRegister.year == year)
    rows = session.scalars(query.order_by(NumberRegister.year, NumberRegister.doc_type)).all()
    return _register_views(session, list(rows))


def _register_views(session: Session, rows: list[NumberRegister]) -> list[RegisterView]:
    if not rows:
        return []
    session.flush()
    ids = [r.id for r in rows]
    device_id = session.info.get("device_id")
    counts: dict[tuple[str, str], int] = {}
    for register_id, status, count in session.execute(
        select(IssuedDocument.register_id, IssuedDocument.status, func.count())
        .where(IssuedDocument.register_id.in_(ids), IssuedDocument.deleted.is_(False))
        .group_by(IssuedDocument.register_id, IssuedDocument.status)
    ):
        counts[(register_id, status)] = count
    leases: dict[str, list[NumberLease]] = {}
    for lease in session.scalars(
        select(NumberLease)
        .where(
            NumberLease.register_id.in_(ids),
            NumberLease.device_id == device_id,
            NumberLease.deleted.is_(False),
        )
        .order_by(NumberLease.first_seq)
    ):
        leases.setdefault(lease.register_id, []).append(lease)
    leased = set(session.scalars(select(NumberLease.register_id).where(NumberLease.register_id.in_(ids))))
    prefix = get_squad(session, _squad_id(session)).doc_prefix
    self_grant = not is_enrolled(session)
    out = []
    for r in rows:
        free = [lease for lease in leases.get(r.id, []) if lease.next_seq <= lease.last_seq]
        # The first number will grant this device the whole range (before enrolment only).
        unleased = self_grant and r.id not in leased
        issued = counts.get((r.id, DocumentStatus.ISSUED.value), 0)
        voided = counts.get((r.id, DocumentStatus.VOIDED.value), 0)
        out.append(
            RegisterView(
                id=r.id,
                doc_type=r.doc_type,
                type_label=type_label(r.doc_type),
                year=r.year,
                pattern=r.pattern,
                seq_width=r.seq_width,
                example=format_number(r.pattern, prefix=prefix, year=r.year, seq=12, seq_width=r.seq_width),
                issued=issued + voided,
                voided=voided,
                next_here=free[0].next_seq if free else (FIRST_SEQ if unleased else None),
                free_here=sum(lease.last_seq - lease.next_seq + 1 for lease in free)
                + (LAST_SEQ - FIRST_SEQ + 1 if unleased else 0),
            )
        )
    return out
