"""Amounts in capitals (大写) and dates in full Arabic numerals."""

from __future__ import annotations

import datetime as dt

import pytest

from app.documents.text import date_zh
from app.reference.money import yuan_capital, yuan_digits


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "人民币零元整"),
        (5, "人民币伍分"),
        (50, "人民币伍角整"),
        (55, "人民币伍角伍分"),
        (100, "人民币壹元整"),
        (105, "人民币壹元零伍分"),
        (1_000, "人民币壹拾元整"),
        (1_050, "人民币壹拾元伍角整"),
        (2_000, "人民币贰拾元整"),
        (10_000, "人民币壹佰元整"),
        (10_050, "人民币壹佰元伍角整"),
        (10_100, "人民币壹佰零壹元整"),
        (100_000, "人民币壹仟元整"),
        (105_005, "人民币壹仟零伍拾元零伍分"),
        (110_000, "人民币壹仟壹佰元整"),
        (250_000, "人民币贰仟伍佰元整"),
        (300_000, "人民币叁仟元整"),
        (1_001_000, "人民币壹万零壹拾元整"),
        (1_010_000, "人民币壹万零壹佰元整"),
        (2_000_000, "人民币贰万元整"),
        (1_500_000, "人民币壹万伍仟元整"),
        (10_050_000, "人民币壹拾万零伍佰元整"),
        (10_500_000, "人民币壹拾万伍仟元整"),
        (100_000_000, "人民币壹佰万元整"),
        (100_001_000, "人民币壹佰万零壹拾元整"),
        (1_001_000_000, "人民币壹仟零壹万元整"),
        (10_000_000_000, "人民币壹亿元整"),
        (10_001_000_000, "人民币壹亿零壹万元整"),
        (123_456_789_012, "人民币壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分"),
        (10_000_000_000_000, "人民币壹仟亿元整"),
    ],
)
def test_yuan_capital(fen: int, text: str) -> None:
    assert yuan_capital(fen) == text


def test_yuan_capital_refuses_negative() -> None:
    with pytest.raises(ValueError):
        yuan_capital(-1)


def test_yuan_digits() -> None:
    assert yuan_digits(250_000) == "2,500.00元"
    assert yuan_digits(105_005) == "1,050.05元"
    assert yuan_digits(5) == "0.05元"


def test_date_zh() -> None:
    assert date_zh(dt.date(2026, 3, 5)) == "2026年3月5日"
    assert date_zh(dt.date(2026, 12, 31)) == "2026年12月31日"
