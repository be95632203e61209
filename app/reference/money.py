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
