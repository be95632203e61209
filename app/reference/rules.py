"""The rules reference data must obey, and the fine check every decision goes through.

* Where the law gives only a maximum fine, the minimum is 10 % of it (:func:`default_minimum`).
* An item needs both legal bases and at least one penalty type; a fine type needs a range, a
  rate or a note saying where the amounts come from.
* A discretion benchmark (裁量基准) lists tiers lightest first: no-penalty tiers (APL 33) first and
  without a fine, every fine range inside the statutory range, and each tier starting where the
  one before ends or above it (adjacent tiers may share an end point, as "以上/以下" texts do).
* :func:`check_fine` refuses a fine outside the statutory range or the chosen tier, naming both.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from app.errors import ValidationError
from app.reference.model import (
    NO_FINE,
    NO_RATE,
    THRESHOLD_FIELDS,
    FineRange,
    ItemInput,
    ItemView,
    PartyKind,
    PenaltyType,
    RateRange,
    Thresholds,
    TierInput,
    TierView,
)
from app.reference.money import FEN_PER_YUAN, yuan_short

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")

#: The tier names of the usual five-step benchmark (DOMAIN: discretion benchmark shape).
STANDARD_TIER_NAMES = ("特别轻微", "轻微", "一般", "严重", "特别严重")

#: Conditions and handling of the standard tiers; a district's benchmark replaces them per item.
_STANDARD_TIER_TEXT = {
    "特别轻微": (
        "违法行为轻微并及时改正，没有造成危害后果；或初次违法且危害后果轻微并及时改正"
        "（《中华人民共和国行政处罚法》第三十三条第一款）。",
        "不予行政处罚，对当事人进行教育，责令改正。",
    ),
    "轻微": ("违法情节较轻，危害后果较小，经指出后能主动改正。", "按法定最低罚款额处罚。"),
    "一般": (
        "违法情节一般，造成一定危害后果，或经责令后在限期内改正。",
        "在法定最低额以上、最高额的一半以下处罚。",
    ),
    "严重": (
        "违法情节较重，危害后果较大，或经责令拒不改正、一年内再次违法。",
        "在法定最高额的一半以上、最高额以下处罚。",
    ),
    "特别严重": (
        "违法情节恶劣，造成严重危害后果或恶劣社会影响，或多次违法、阻碍执法。",
        "按法定最高罚款额处罚。",
    ),
}


def default_minimum(max_fen: int) -> int:
    """The minimum fine where the law names only a maximum: 10 % of it, to the nearest yuan."""
    return (max_fen + 5 * FEN_PER_YUAN) // (10 * FEN_PER_YUAN) * FEN_PER_YUAN


def default_minimum_bp(max_bp: int) -> int:
    """The same 10 % rule for a fine set as a share of a base amount (basis points)."""
    return (max_bp + 5) // 10


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fine_range(rng: FineRange, what: str, field: str) -> FineRange:
    """A statutory range, with the 10 % minimum filled in where only the maximum is given."""
    low, high = rng.min_fen, rng.max_fen
    for value in (low, high):
        if value is not None and (not _is_int(value) or value < 0):
            raise ValidationError(f"{what}的罚款数额应为不小于 0 的金额。", field=field)
    if low is None and high is None:
        return NO_FINE
    if high is None:
        raise ValidationError(
            f"{what}只填写了最低罚款额，请同时填写法定最高额（法律只规定最低额的，请按本地规定填写上限）。",
            field=field,
        )
    if low is None or rng.derived_min:
        return FineRange(default_minimum(high), high, derived_min=True)
    if low > high:
        raise ValidationError(
            f"{what}的最低罚款额 {yuan_short(low)}高于最高额 {yuan_short(high)}，请核对。", field=field
        )
    return FineRange(low, high)


def _rate_range(rng: RateRange, what: str) -> RateRange:
    low, high = rng.min_bp, rng.max_bp
    for value in (low, high):
        if value is not None and (not _is_int(value) or value < 0):
            raise ValidationError(f"{what}的罚款比例应为不小于 0 的百分比。", field="fine_rate")
    if low is None and high is None:
        return NO_RATE
    if high is None:
        raise ValidationError(f"{what}只填写了最低罚款比例，请同时填写最高比例。", field="fine_rate")
    if low is None or rng.derived_min:
        return RateRange(default_minimum_bp(high), high, derived_min=True)
    if low > high:
        raise ValidationError(f"{what}的最低罚款比例高于最高比例，请核对。", field="fine_rate")
    return RateRange(low, high)


def normalize_item(data: ItemInput) -> ItemInput:
    """The cleaned item (minimums filled in by the 10 % rule), or ValidationError naming the field."""
    code = data.code.strip()
    if not _CODE.match(code):
        raise ValidationError(
            f"事项编码“{data.code}”无效：请用字母、数字、“-”“_”“.”，不超过 40 个字符（如 SZ-001）。",
            field="code",
        )
    name = " ".join(data.name.split())
    what = f"事项“{code}”"
    if not name or len(name) > 200:
        raise ValidationError(f"{what}请填写事项名称（最多 200 个字）。", field="name")
    what = f"事项“{code} {name}”"
    category = data.category.strip()
    if not category or len(category) > 40:
        raise ValidationError(f"{what}请填写类别（如“市容环境卫生”，最多 40 个字）。", field="category")
    breach, penalty = data.breach_basis.strip(), data.penalty_basis.strip()
    if not breach:
        raise ValidationError(
            f"{what}缺少违法依据：请写明违反的法律条款，如“《城市道路管理条例》第二十七条”。",
            field="breach_basis",
        )
    if not penalty:
        raise ValidationError(
            f"{what}缺少处罚依据：请写明处罚所依据的条款，如“《城市道路管理条例》第四十二条”。",
            field="penalty_basis",
        )
    try:
        types = tuple(dict.fromkeys(PenaltyType(t) for t in data.penalty_types))
    except ValueError as exc:
        raise ValidationError(f"{what}的处罚种类无效：{exc}。", field="penalty_types") from None
    if not types:
        raise ValidationError(f"{what}请至少选择一种处罚种类（如警告、罚款）。", field="penalty_types")
    person = _fine_range(data.person_fine, f"{what}对个人", "person_fine")
    org = _fine_range(data.org_fine, f"{what}对单位", "org_fine")
    rate = _rate_range(data.fine_rate, what)
    rate_base = data.rate_base.strip()
    note = data.fine_basis_note.strip()
    if rate.is_set and (person.is_set or org.is_set):
        raise ValidationError(
            f"{what}不能同时设定固定罚款幅度和按比例罚款，请只保留法律规定的一种。", field="fine_rate"
        )
    if rate.is_set and not rate_base:
        raise ValidationError(
            f"{what}按比例罚款，请写明比例的计算基数（如“建设工程造价”）。", field="rate_base"
        )
    fined = person.is_set or org.is_set or rate.is_set
    if fined and PenaltyType.FINE not in types:
        raise ValidationError(
            f"{what}设定了罚款幅度，处罚种类中却没有“罚款”，请补选或删去罚款幅度。", field="penalty_types"
        )
    if PenaltyType.FINE in types and not fined and not note:
        raise ValidationError(
            f"{what}的处罚种类含“罚款”，请填写罚款幅度，或在“罚款说明”中写明数额依据（如地方性法规的条款）。",
            field="fine_basis_note",
        )
    if data.limitation_years not in (2, 5):
        raise ValidationError(
            f"{what}的追责时效应为 2 年，或涉及生命健康、金融安全且有危害后果的 5 年（《行政处罚法》第三十六条）。",
            field="limitation_years",
        )
    return ItemInput(
        code=code,
        name=name,
        category=category,
        breach_basis=breach,
        penalty_basis=penalty,
        penalty_types=types,
        person_fine=person,
        org_fine=org,
        fine_rate=rate,
        rate_base=rate_base if rate.is_set else "",
        fine_basis_note=note,
        limitation_years=data.limitation_years,
        local_rule=bool(data.local_rule),
        note=data.note.strip(),
    )


def _split(low: int, high: int, unit: int) -> int:
    """Where "general" ends and "serious" begins: half the maximum, or the middle of the range
    when half the maximum is not above the minimum (e.g. 5–10 %, 100,000–200,000 元)."""
    mid = high // 2 // unit * unit
    if mid <= low:
        mid = (low + high) // 2 // unit * unit
    return max(mid, low)


def _standard_ranges(low: int, high: int, unit: int) -> list[tuple[int, int]]:
    split = _split(low, high, unit)
    return [(low, low), (low, split), (split, high), (high, high)]


def standard_tiers(item: ItemInput) -> tuple[TierInput, ...]:
    """The usual five tiers for ``item`` (normalized): especially minor → no penalty (APL 33);
    minor → the statutory minimum; general → minimum to half the maximum; serious → half the
    maximum to the maximum; especially serious → the maximum."""
    per_kind: dict[str, list[FineRange]] = {}
    for key, rng in (("person_fine", item.person_fine), ("org_fine", item.org_fine)):
        if rng.min_fen is not None and rng.max_fen is not None:
            per_kind[key] = [
                FineRange(a, b) for a, b in _standard_ranges(rng.min_fen, rng.max_fen, FEN_PER_YUAN)
            ]
    rates: list[RateRange] = []
    if item.fine_rate.min_bp is not None and item.fine_rate.max_bp is not None:
        rates = [
            RateRange(a, b) for a, b in _standard_ranges(item.fine_rate.min_bp, item.fine_rate.max_bp, 1)
        ]
    tiers = [
        TierInput(
            name="特别轻微",
            conditions=_STANDARD_TIER_TEXT["特别轻微"][0],
            measure=_STANDARD_TIER_TEXT["特别轻微"][1],
            no_penalty=True,
        )
    ]
    for i, name in enumerate(STANDARD_TIER_NAMES[1:]):
        conditions, measure = _STANDARD_TIER_TEXT[name]
        tiers.append(
            TierInput(
                name=name,
                conditions=conditions,
                measure=measure,
                person_fine=per_kind["person_fine"][i] if "person_fine" in per_kind else NO_FINE,
                org_fine=per_kind["org_fine"][i] if "org_fine" in per_kind else NO_FINE,
                fine_rate=rates[i] if rates else NO_RATE,
            )
        )
    return tuple(tiers)


def validate_tiers(item: ItemInput, tiers: Sequence[TierInput]) -> tuple[TierInput, ...]:
    """The cleaned tiers of ``item`` (normalized), or ValidationError saying which tier to fix."""
    what = f"事项“{item.code} {item.name}”的裁量基准"
    if not tiers:
        raise ValidationError(f"{what}至少需要一个裁量阶次。", field="tiers")
    if len(tiers) > 10:
        raise ValidationError(f"{what}最多设 10 个阶次，现有 {len(tiers)} 个。", field="tiers")
    clean: list[TierInput] = []
    seen: set[str] = set()
    for tier in tiers:
        name = tier.name.strip()
        if not name or len(name) > 20:
            raise ValidationError(f"{what}中有阶次没有名称（最多 20 个字），请填写如“一般”。", field="tiers")
        if name in seen:
            raise ValidationError(f"{what}中阶次“{name}”出现了两次，请改名或删去一个。", field="tiers")
        seen.add(name)
        clean.append(
            dataclasses.replace(
                tier,
                name=name,
                conditions=tier.conditions.strip(),
                measure=tier.measure.strip(),
                no_penalty=bool(tier.no_penalty),
            )
        )
    fined_seen = False
    for tier in clean:
        has_fine = tier.person_fine.is_set or tier.org_fine.is_set or tier.fine_rate.is_set
        if tier.no_penalty:
            if has_fine:
                raise ValidationError(
                    f"{what}：“{tier.name}”是不予处罚的阶次，不能设罚款幅度，请删去其罚款或取消“不予处罚”。",
                    field="tiers",
                )
            if fined_seen:
                raise ValidationError(
                    f"{what}：不予处罚的阶次“{tier.name}”应排在所有罚款阶次之前（阶次从轻到重排列）。",
                    field="tiers",
                )
        fined_seen = fined_seen or has_fine
    dimensions: list[tuple[str, FineRange | RateRange, list[FineRange | RateRange]]] = [
        ("个人罚款", item.person_fine, [t.person_fine for t in clean]),
        ("单位罚款", item.org_fine, [t.org_fine for t in clean]),
        ("罚款比例", item.fine_rate, [t.fine_rate for t in clean]),
    ]
    for label, legal, ranges in dimensions:
        previous: tuple[TierInput, FineRange | RateRange, int] | None = None
        for tier, rng in zip(clean, ranges, strict=True):
            if not rng.is_set:
                continue
            low, high = _ends(rng)
            shown = rng.text
            if low is None or high is None:
                raise ValidationError(
                    f"{what}：阶次“{tier.name}”的{label}请同时填写下限和上限（固定数额请填相同的两个数）。",
                    field="tiers",
                )
            if low > high:
                raise ValidationError(
                    f"{what}：阶次“{tier.name}”的{label}下限高于上限，请核对。", field="tiers"
                )
            legal_low, legal_high = _ends(legal)
            if not legal.is_set:
                raise ValidationError(
                    f"{what}：该事项没有规定{label}，阶次“{tier.name}”不能设{label} {shown}。", field="tiers"
                )
            if (legal_low is not None and low < legal_low) or (legal_high is not None and high > legal_high):
                raise ValidationError(
                    f"{what}：阶次“{tier.name}”的{label} {shown}超出法定幅度 {legal.text}，请调整到法定幅度以内。",
                    field="tiers",
                )
            if previous is not None and low < previous[2]:
                before, before_range, _ = previous
                raise ValidationError(
                    f"{what}：阶次“{tier.name}”的{label} {shown}与前一阶次“{before.name}”"
                    f"（{before_range.text}）重叠或次序颠倒；阶次应从轻到重排列，"
                    "后一阶次的下限不低于前一阶次的上限（可以相等）。",
                    field="tiers",
                )
            previous = (tier, rng, high)
    return tuple(clean)


def _ends(rng: FineRange | RateRange) -> tuple[int | None, int | None]:
    if isinstance(rng, FineRange):
        return rng.min_fen, rng.max_fen
    return rng.min_bp, rng.max_bp


def validate_thresholds(values: Thresholds) -> Thresholds:
    """The thresholds, or ValidationError naming the one to fix (national ceilings included)."""
    for key, (label, ceiling) in THRESHOLD_FIELDS.items():
        value = getattr(values, key)
        if not _is_int(value) or value <= 0:
            raise ValidationError(f"“{label}”应为大于 0 的金额，请核对。", field=key)
        if ceiling is not None and value > ceiling:
            raise ValidationError(
                f"“{label}”为 {yuan_short(value)}，超过《中华人民共和国行政处罚法》规定的 {yuan_short(ceiling)}，"
                "地方只能定得更低，请改为不超过该数额。",
                field=key,
            )
    return values


def _legal_range(item: ItemInput, kind: PartyKind, base_fen: int | None) -> tuple[FineRange, str]:
    """The statutory range for this party kind, and how to describe it in a message."""
    if item.fine_rate.is_set:
        if base_fen is None or not _is_int(base_fen) or base_fen <= 0:
            raise ValidationError(
                f"事项“{item.name}”按{item.rate_base}的 {item.fine_rate.text} 罚款，请先填写{item.rate_base}（元）。",
                field="base_amount",
            )
        rng = item.fine_rate.for_base(base_fen)
        return rng, f"{item.rate_base} {yuan_short(base_fen)} 的 {item.fine_rate.text}，即 {rng.text}"
    rng = item.fine_for(kind)
    return rng, f"对{kind.label} {rng.text}"


def check_fine(
    item: ItemInput,
    tier: TierInput | None,
    amount_fen: int,
    party_kind: PartyKind | str,
    base_fen: int | None = None,
) -> None:
    """Refuse a fine outside the statutory range of ``item`` or outside the chosen ``tier``.

    ``amount_fen`` 0 means no fine (a warning, or no penalty). ``base_fen`` is the base amount of
    items fined by a rate (e.g. the construction cost). Raises ValidationError naming the amount,
    the tier and its range, and the legal basis.
    """
    try:
        kind = PartyKind(party_kind)
    except ValueError:
        raise ValidationError(f"当事人类别“{party_kind}”无效，应为个人或单位。", field="party_kind") from None
    if not _is_int(amount_fen) or amount_fen < 0:
        raise ValidationError("罚款金额应为不小于 0 的金额，请核对。", field="fine")
    if (
        isinstance(tier, TierView)
        and isinstance(item, ItemView)
        and (tier.item_code != item.code or tier.release_no != item.release_no)
    ):
        raise ValidationError(
            f"裁量阶次“{tier.name}”属于第 {tier.release_no} 版的事项 {tier.item_code}，"
            f"不属于第 {item.release_no} 版的事项 {item.code}，请重新选择阶次。",
            field="tier",
        )
    amount = yuan_short(amount_fen)
    if amount_fen > 0:
        legal, described = _legal_range(item, kind, base_fen)
        if not legal.is_set:
            extra = f"（{item.fine_basis_note}）" if item.fine_basis_note else ""
            raise ValidationError(
                f"事项“{item.name}”对{kind.label}没有规定罚款数额{extra}，不能处以罚款 {amount}；"
                "如本地规定了数额，请由管理员先在执法事项中补充。",
                field="fine",
            )
        if not legal.contains(amount_fen):
            raise ValidationError(
                f"罚款 {amount}超出法定幅度：事项“{item.name}”{described}（{item.penalty_basis}），请调整罚款数额。",
                field="fine",
            )
    if tier is None:
        return
    if tier.no_penalty:
        if amount_fen > 0:
            raise ValidationError(
                f"“{tier.name}”阶次不予行政处罚，不能处以罚款 {amount}；如需罚款，请改选与情节相符的阶次。",
                field="fine",
            )
        return
    if tier.fine_rate.is_set:
        if base_fen is None or not _is_int(base_fen) or base_fen <= 0:
            raise ValidationError(
                f"“{tier.name}”阶次按{item.rate_base}的 {tier.fine_rate.text} 罚款，请先填写{item.rate_base}（元）。",
                field="base_amount",
            )
        band = tier.fine_rate.for_base(base_fen)
        band_text = f"{item.rate_base}的 {tier.fine_rate.text}（{band.text}）"
    else:
        band = tier.fine_for(kind)
        band_text = band.text
    if not band.is_set:
        if amount_fen > 0:
            raise ValidationError(
                f"“{tier.name}”阶次对{kind.label}不处罚款，不能处以罚款 {amount}；请改选与情节相符的阶次。",
                field="fine",
            )
        return
    if amount_fen == 0:
        raise ValidationError(
            f"“{tier.name}”阶次应对{kind.label}处以罚款 {band_text}，请填写罚款数额或改选阶次。", field="fine"
        )
    if not band.contains(amount_fen):
        raise ValidationError(
            f"罚款 {amount}超出“{tier.name}”阶次 {band_text}的范围，请调整罚款数额或改选与情节相符的阶次。",
            field="fine",
        )
