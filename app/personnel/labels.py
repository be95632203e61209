"""Chinese labels for the personnel vocabularies, and parsing of what clerks type for them."""

from __future__ import annotations

from typing import Any

from db.models.personnel import CertificateKind, CertificateState, MemberStatus, StaffCategory

__all__ = [
    "CATEGORY_LABELS",
    "CERT_KIND_LABELS",
    "CERT_STATE_LABELS",
    "STATUS_LABELS",
    "CertificateKind",
    "CertificateState",
    "MemberStatus",
    "StaffCategory",
    "parse_category",
    "parse_cert_kind",
    "parse_cert_state",
    "parse_status",
]

CATEGORY_LABELS = {
    StaffCategory.CIVIL_SERVANT: "行政执法类公务员",
    StaffCategory.CAREER: "参公/事业编（执法岗位）",
    StaffCategory.AUXILIARY: "辅助人员",
    StaffCategory.POLICE: "公安民警",
}
#: Words found in clerks' own ledgers for each category.
CATEGORY_ALIASES = {
    StaffCategory.CIVIL_SERVANT: ("行政执法类公务员", "公务员", "行政编", "行政执法公务员", "执法类公务员"),
    StaffCategory.CAREER: (
        "参公/事业编（执法岗位）",
        "参公",
        "参公人员",
        "事业编",
        "事业编制",
        "参公/事业编",
        "事业单位",
    ),
    StaffCategory.AUXILIARY: (
        "辅助人员",
        "协管员",
        "辅警",
        "协管",
        "执法辅助人员",
        "辅助",
        "合同工",
        "劳务派遣",
    ),
    StaffCategory.POLICE: ("公安民警", "民警", "公安", "警察", "联勤民警"),
}
STATUS_LABELS = {
    MemberStatus.ON_DUTY: "在岗",
    MemberStatus.ON_LEAVE: "休假",
    MemberStatus.SECONDED: "借调",
    MemberStatus.LEFT: "离岗",
}
CERT_KIND_LABELS = {
    CertificateKind.ENFORCEMENT: "行政执法证",
    CertificateKind.LEGAL: "法律职业资格证书",
    CertificateKind.OTHER: "其他证件",
}
CERT_STATE_LABELS = {
    CertificateState.VALID: "有效",
    CertificateState.EXPIRED: "已过期",
    CertificateState.SUSPENDED: "暂扣",
    CertificateState.REVOKED: "注销",
    CertificateState.LOST: "挂失",
}


def _lookup(text: str, table: dict[Any, Any]) -> object | None:
    cleaned = text.strip().replace("(", "（").replace(")", "）")
    for key, aliases in table.items():
        if cleaned == key.value or cleaned in (aliases if isinstance(aliases, tuple) else (aliases,)):
            return key
    return None


def parse_category(text: str) -> StaffCategory | None:
    found = _lookup(text, CATEGORY_ALIASES)
    return found if isinstance(found, StaffCategory) else None


def parse_status(text: str) -> MemberStatus | None:
    found = _lookup(
        text,
        {k: (v, "在职", "正常") if k is MemberStatus.ON_DUTY else (v,) for k, v in STATUS_LABELS.items()},
    )
    return found if isinstance(found, MemberStatus) else None


def parse_cert_state(text: str) -> CertificateState | None:
    found = _lookup(
        text,
        {
            k: (v, "正常")
            if k is CertificateState.VALID
            else (v, "过期")
            if k is CertificateState.EXPIRED
            else (v,)
            for k, v in CERT_STATE_LABELS.items()
        },
    )
    return found if isinstance(found, CertificateState) else None


def parse_cert_kind(text: str) -> CertificateKind | None:
    table = {
        CertificateKind.ENFORCEMENT: ("行政执法证", "执法证", "执法证件"),
        CertificateKind.LEGAL: ("法律职业资格证书", "法律职业资格证", "法律职业资格"),
        CertificateKind.OTHER: ("其他证件", "其他"),
    }
    found = _lookup(text, table)
    return found if isinstance(found, CertificateKind) else None
