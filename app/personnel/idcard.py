"""Resident identity card numbers (公民身份号码, GB 11643-1999) and phone numbers.

``normalize_id_number`` accepts what clerks paste: full-width digits, a lower-case x, spaces.
It rejects with a reason a clerk understands, including the classic Excel damage: a number
shown in scientific notation (4.40106E+17) or with its last digits turned into zeros, because
Excel keeps only 15 significant digits of a number.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from app.errors import ValidationError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SCI = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().replace(" ", "").upper()


def normalize_id_number(raw: object) -> str:
    """A valid 18-character ID number, or ValidationError saying what is wrong."""
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        raise ValidationError(
            "身份证号被 Excel 存成了数字，末尾几位已丢失。请把该列设为“文本”格式后重新录入身份证号。",
            field="id_number",
        )
    text = _clean(str(raw or ""))
    if not text:
        raise ValidationError("请填写身份证号。", field="id_number")
    if _SCI.match(text):
        raise ValidationError(
            f"身份证号“{text}”是 Excel 的科学计数法，原号码已丢失。请把该列设为“文本”格式后重新录入。",
            field="id_number",
        )
    if text.endswith(".0") and text[:-2].isdigit():
        raise ValidationError(
            "身份证号被 Excel 存成了数字（末尾带“.0”），请把该列设为“文本”格式后重新录入。", field="id_number"
        )
    if len(text) != 18:
        raise ValidationError(f"身份证号应为 18 位，“{text}”是 {len(text)} 位。", field="id_number")
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise ValidationError(
            f"身份证号“{text}”含有非法字符：前 17 位应为数字，末位为数字或 X。", field="id_number"
        )
    birth = birth_date(text)
    if birth is None:
        raise ValidationError(f"身份证号“{text}”中的出生日期 {text[6:14]} 不存在。", field="id_number")
    expected = check_digit(text[:17])
    if text[17] != expected:
        if text.endswith("000"):
            raise ValidationError(
                f"身份证号“{text}”校验位不对，末尾为 000，多半是 Excel 把它当数字截断了。"
                "请把该列设为“文本”格式后重新录入。",
                field="id_number",
            )
        raise ValidationError(
            f"身份证号“{text}”校验位不对（末位应为 {expected}），请核对后重新输入。", field="id_number"
        )
    return text


def birth_date(id_number: str) -> dt.date | None:
    try:
        return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def gender_of(id_number: str) -> str:
    """The 17th digit is odd for men, even for women."""
    return "男" if int(id_number[16]) % 2 else "女"


def mask_id_number(id_number: str) -> str:
    """440106********1234 — for lists seen by roles that do not need the full number."""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def normalize_phone(raw: object) -> str:
    """A mobile (11 digits) or landline (with area code) number; empty stays empty."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = _clean(str(raw or "")).replace("（", "(").replace("）", ")")
    text = re.sub(r"[()\s]", "", text)
    if text.startswith("+86"):
        text = text[3:]
    if not text:
        return ""
    if _MOBILE.match(text) or _LANDLINE.match(text):
        return text
    raise ValidationError(
        f"电话号码“{text}”格式不对：手机号应为 11 位（1 开头），固话应带区号，如 020-83001234。",
        field="phone",
    )
