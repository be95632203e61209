"""``can_enforce(member, day)`` — who may act as an enforcement officer (执法人员) on a day.

APL 42 and 55: only staff of the enforcing body holding a valid enforcement certificate may
enforce. Auxiliary staff (辅助人员) and seconded police (公安民警) are kept in the ledger but
never count, whatever papers they hold. Every later module (cases, rosters, documents) calls
this one rule; the plain-data form ``enforcement_check`` lets a roster check thousands of
(member, day) pairs without a query each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.certificates import CertFacts, load_facts
from app.personnel.labels import CATEGORY_LABELS, CERT_STATE_LABELS, STATUS_LABELS
from app.personnel.members import ENFORCING_CATEGORIES
from db.models import Member
from db.models.personnel import CertificateKind, MemberStatus, StaffCategory


@dataclass(frozen=True)
class EnforceCheck:
    ok: bool
    reason: str


def enforcement_check(
    name: str,
    category: StaffCategory,
    status: MemberStatus,
    join_date: dt.date | None,
    certificates: list[CertFacts],
    day: dt.date,
    today: dt.date | None = None,
) -> EnforceCheck:
    if category not in ENFORCING_CATEGORIES:
        return EnforceCheck(False, f"{name}是{CATEGORY_LABELS[category]}，不能作为执法人员。")
    # The ledger keeps only the current status; it binds from today on, not for past acts.
    if status in (MemberStatus.LEFT, MemberStatus.SECONDED) and day >= (today or dt.date.today()):
        return EnforceCheck(False, f"{name}当前状态为“{STATUS_LABELS[status]}”，不能执法。")
    if join_date is not None and day < join_date:
        return EnforceCheck(False, f"{name}于 {join_date:%Y-%m-%d} 入职，{day:%Y-%m-%d} 时尚未入职。")
    enforcement = [f for f in certificates if f.kind is CertificateKind.ENFORCEMENT]
    if not enforcement:
        return EnforceCheck(False, f"{name}没有登记行政执法证。")
    if any(f.valid_on(day) for f in enforcement):
        return EnforceCheck(True, "")
    latest = max(enforcement, key=lambda f: f.valid_to or dt.date.max)
    if latest.valid_to is not None and day > latest.valid_to:
        return EnforceCheck(
            False, f"{name}的行政执法证已于 {latest.valid_to:%Y-%m-%d} 到期，{day:%Y-%m-%d} 不能执法。"
        )
    if latest.valid_from is not None and day < latest.valid_from:
        return EnforceCheck(False, f"{name}的行政执法证 {latest.valid_from:%Y-%m-%d} 才生效。")
    state = latest.state_on(day)
    return EnforceCheck(False, f"{name}的行政执法证在 {day:%Y-%m-%d} 处于“{CERT_STATE_LABELS[state]}”状态。")


def explain_enforce(session: Session, member: Member, day: dt.date) -> EnforceCheck:
    facts = load_facts(session, [member.id])[member.id]
    return enforcement_check(
        member.name, StaffCategory(member.category), MemberStatus(member.status), member.join_date, facts, day
    )


def can_enforce(session: Session, member: Member, day: dt.date) -> bool:
    """May ``member`` act as an enforcement officer on ``day``?"""
    return explain_enforce(session, member, day).ok
