"""Text conventions of printed documents: dates in full Arabic numerals (GB/T 9704 7.3.5.1 —
“2026年3月5日”, no leading zeros, never abbreviated). Amounts in capitals are
:func:`app.reference.money.yuan_capital`, beside the other money helpers."""

from __future__ import annotations

import datetime as dt


def date_zh(day: dt.date) -> str:
    """2026年3月5日"""
    return f"{day.year}年{day.month}月{day.day}日"
