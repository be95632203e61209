"""Money as integer fen (分): formatting for messages and forms, and parsing what a clerk types.

Amounts are never floats or Decimals anywhere in SquadDesk: a fine of 2,500 yuan is 250000.
Rates of a base amount (e.g. 5 % of the construction cost) are integer basis points (万分之一).
"""

from __future__ import annotations

import re

from app.errors import ValidationError

FEN_PER_YUAN = 100
BP_PER_PERCENT = 100  # basis points per percent

_YUAN_TEXT = re.compile(r"^(\d+)(?:\.(\d{1,2}))?$")


def yuan(fen: int) -> str:
    """2,500.00 元 — the amount with cents, as tables and documents show it."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d} 元"


def yuan_plain(fen: int) -> str:
    """2,500 — without cents when there are none, without the unit (for ranges and messages)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}" if cents == 0 else f"{sign}{whole:,}.{cents:02d}"


def yuan_short(fen: int) -> str:
    """2,500 元 — as messages quote an amount."""
    return f"{yuan_plain(fen)} 元"


_CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_CAPITAL_PLACES = ("仟", "佰", "拾", "")
_CAPITAL_GROUPS = ("", "万", "亿", "万亿")


def _capital_group(n: int) -> str:
    """0 < n < 10,000 in capitals: 1050 → 壹仟零伍拾; a run of inner zeros reads as one 零."""
    out: list[str] = []
    zero = False
    for place, digit in zip(_CAPITAL_PLACES, (n // 1000, n // 100 % 10, n // 10 % 10, n % 10), strict=True):
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_CAPITAL_DIGITS[digit] + place)
    return "".join(out)


def yuan_capital(fen: int) -> str:
    """人民币贰仟伍佰元整 — the amount in capitals (大写) as documents and receipts write it.

    The People's Bank rules: 壹拾 (never a bare 拾); one 零 for a run of zeros inside the amount
    (壹仟零伍拾元), also across 万 and 亿 (壹拾万零伍佰元, 壹亿零壹万元); none for zeros at the end
    of a group (贰万元); 整 after 元 or 角, none after 分; 零 between 元 and 分 when 角 is zero
    (壹元零伍分); an amount below one yuan without 元 (人民币伍角整).
    """
    if fen < 0:
        raise ValueError("yuan_capital: a negative amount has no capitals")
    whole, cents = divmod(fen, FEN_PER_YUAN)
    jiao, fen_digit = divmod(cents, 10)
    if whole >= 10**16:
        raise ValueError("yuan_capital: amount too large")
    groups: list[int] = []
    rest = whole
    while rest:
        rest, group = divmod(rest, 10_000)
        groups.append(group)
    text = ""
    zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero = bool(text)
            continue
        if text and (zero or group < 1000):
            text += "零"
        text += _capital_group(group) + _CAPITAL_GROUPS[index]
        zero = False
    if whole:
        text += "元"
    if jiao:
        text += _CAPITAL_DIGITS[jiao] + "角"
    if fen_digit:
        text += ("零" if whole and not jiao else "") + _CAPITAL_DIGITS[fen_digit] + "分"
    elif whole or jiao:
        text += "整"
    else:
        text = "零元整"
    return "人民币" + text


def yuan_digits(fen: int) -> str:
    """2,500.00元 — the amount in figures beside its capitals in a document (no space, always
    with 角分)."""
    return yuan(fen).replace(" ", "")


def yuan_range(low: int | None, high: int | None) -> str:
    """1,000–5,000 元, 5,000 元以下, 1,000 元以上 or 500 元 (a fixed amount)."""
    if low is not None and high is not None:
        return yuan_short(low) if low == high else f"{yuan_plain(low)}–{yuan_plain(high)} 元"
    if high is not None:
        return f"{yuan_plain(high)} 元以下"
    if low is not None:
        return f"{yuan_plain(low)} 元以上"
    return "未规定数额"


def percent(bp: int) -> str:
    """500 → 5 %, 750 → 7.5 %."""
    whole, rest = divmod(bp, BP_PER_PERCENT)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


def parse_yuan(text: str, field: str | None = None) -> int:
    """What a clerk typed ("2500", "2,500.5", "2500元") as fen; ValidationError if it is not money."""
    clean = text.strip().replace(",", "").replace("，", "").replace(" ", "").removesuffix("元")
    match = _YUAN_TEXT.match(clean)
    if not match:
        raise ValidationError(f"“{text}”不是有效的金额，请填写元，如 2500 或 2500.50。", field=field)
    cents = (match.group(2) or "").ljust(2, "0")
    return int(match.group(1)) * FEN_PER_YUAN + int(cents or 0)
