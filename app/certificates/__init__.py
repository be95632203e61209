"""Certificates (执法证件): ledger, annual reviews (年审), history, validity on a date, warnings.

``certificate_valid_on`` answers for any date, past ones included: a certificate suspended on
1 May was still valid for an inspection on 30 April. The state on a day is replayed from the
certificate's history of state events; the validity window bounds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.errors import ConflictError, NotFoundError, ValidationError
from app.personnel.labels import CERT_KIND_LABELS, CERT_STATE_LABELS
from app.settings import Settings
from db.models import Certificate, CertificateEvent, CertificateReview, Member
from db.models.personnel import CertificateKind, CertificateState


class Alert(StrEnum):
    NONE = "none"
    AMBER = "amber"  # expires within the warning window, or annual review overdue
    RED = "red"  # expires within the urgent window, or not valid today


@dataclass(frozen=True)
class CertificateInput:
    member_id: str
    kind: CertificateKind
    number: str
    issuer: str = ""
    scope: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    state: CertificateState = CertificateState.VALID
    note: str = ""


@dataclass(frozen=True)
class ReviewView:
    id: str
    review_date: dt.date
    passed: bool
    note: str


@dataclass(frozen=True)
class EventView:
    day: dt.date
    kind: str
    old_state: str
    new_state: str
    note: str


@dataclass(frozen=True)
class CertificateView:
    id: str
    member_id: str
    member_name: str
    kind: CertificateKind
    number: str
    issuer: str
    scope: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    state: CertificateState
    note: str
    version: int
    last_review: dt.date | None
    alert: Alert
    alert_text: str

    @property
    def kind_label(self) -> str:
        return CERT_KIND_LABELS[self.kind]

    @property
    def state_label(self) -> str:
        return CERT_STATE_LABELS[self.state]


@dataclass(frozen=True)
class CertFacts:
    """What validity on a date depends on — plain data, so rosters can check thousands fast."""

    kind: CertificateKind
    valid_from: dt.date | None
    valid_to: dt.date | None
    state: CertificateState
    #: (day, new state) in date order; empty means the current ``state`` has always held.
    state_events: tuple[tuple[dt.date, CertificateState], ...] = ()

    def state_on(self, day: dt.date) -> CertificateState:
        if not self.state_events:
            return self.state
        state = CertificateState.VALID
        for when, new in self.state_events:
            if when <= day:
                state = new
        return state

    def valid_on(self, day: dt.date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_to is not None and day > self.valid_to:
            return False
        return self.state_on(day) is CertificateState.VALID


def facts_of(cert: Certificate | Any, events: Iterable[CertificateEvent | Any] = ()) -> CertFacts:
    """Facts of a certificate (an ORM object or a row with the same column names) and its events."""
    evs = tuple(
        (e.day, CertificateState(e.new_state))
        for e in sorted(events, key=lambda e: (e.day, e.updated_at))
        if e.kind in ("issued", "state") and e.new_state
    )
    return CertFacts(
        CertificateKind(cert.kind), cert.valid_from, cert.valid_to, CertificateState(cert.state), evs
    )


def load_facts(session: Session, member_ids: Sequence[str]) -> dict[str, list[CertFacts]]:
    """Every live certificate of the given members, as facts, in two queries."""
    certs = list(
        session.scalars(
            select(Certificate).where(Certificate.member_id.in_(member_ids), Certificate.deleted.is_(False))
        )
    )
    events: dict[str, list[CertificateEvent]] = {}
    if certs:
        for e in session.scalars(
            select(CertificateEvent).where(
                CertificateEvent.certificate_id.in_([c.id for c in certs]),
                CertificateEvent.deleted.is_(False),
            )
        ):
            events.setdefault(e.certificate_id, []).append(e)
    out: dict[str, list[CertFacts]] = {m: [] for m in member_ids}
    for c in certs:
        out[c.member_id].append(facts_of(c, events.get(c.id, ())))
    return out


def certificate_valid_on(session: Session, member: Member, day: dt.date) -> bool:
    """Does ``member`` hold an enforcement certificate (行政执法证) valid on ``day``?"""
    return any(
        f.kind is CertificateKind.ENFORCEMENT and f.valid_on(day)
        for f in load_facts(session, [member.id])[member.id]
    )


def alert_for(
    facts: CertFacts, last_review: dt.date | None, today: dt.date, settings: Settings
) -> tuple[Alert, str]:
    """The colour a ledger row shows, and why."""
    state = facts.state_on(today)
    if state is not CertificateState.VALID:
        return Alert.RED, f"证件{CERT_STATE_LABELS[state]}"
    if facts.valid_from and today < facts.valid_from:
        return Alert.AMBER, f"{facts.valid_from:%Y-%m-%d} 起生效"
    if facts.valid_to is not None:
        left = (facts.valid_to - today).days
        if left < 0:
            return Alert.RED, f"已于 {facts.valid_to:%Y-%m-%d} 过期"
        if left <= settings.cert_urgent_days:
            return Alert.RED, f"{left} 天后到期（{facts.valid_to:%Y-%m-%d}）"
        if left <= settings.cert_warn_days:
            return Alert.AMBER, f"{left} 天后到期（{facts.valid_to:%Y-%m-%d}）"
    if facts.kind is CertificateKind.ENFORCEMENT:
        # a review of an earlier validity window does not count against a renewed certificate
        since = max((d for d in (last_review, facts.valid_from) if d is not None), default=None)
        if since is not None and (today - since).days > settings.annual_review_interval_days:
            return Alert.AMBER, f"年审逾期（上次 {since:%Y-%m-%d}）"
    return Alert.NONE, ""


def validate(data: CertificateInput) -> CertificateInput:
    number = data.number.strip()
    if not number:
        raise ValidationError("请填写证件编号。", field="number")
    try:
        kind = CertificateKind(data.kind)
        state = CertificateState(data.state)
    except ValueError:
        raise ValidationError("证件类型或状态不正确，请从列表中选择。") from None
    if kind is CertificateKind.ENFORCEMENT and data.valid_to is None:
        raise ValidationError("行政执法证须填写有效期至。", field="valid_to")
    if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
        raise ValidationError(
            f"有效期至 {data.valid_to:%Y-%m-%d} 早于发证日期 {data.valid_from:%Y-%m-%d}，请核对。",
            field="valid_to",
        )
    return CertificateInput(
        member_id=data.member_id,
        kind=kind,
        number=number,
        issuer=data.issuer.strip(),
        scope=data.scope.strip(),
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        state=state,
        note=data.note.strip(),
    )


def _duplicate(
    session: Session, kind: CertificateKind, number: str, exclude: str | None
) -> Certificate | None:
    q = select(Certificate).where(
        Certificate.deleted.is_(False), Certificate.kind == kind.value, Certificate.number == number
    )
    return next((c for c in session.scalars(q) if c.id != exclude), None)


def add_certificate(
    session: Session, actor: Actor, data: CertificateInput, today: dt.date | None = None
) -> str:
    require(actor, Permission.EDIT_CERTIFICATES)
    clean = validate(data)
    member = session.get(Member, clean.member_id)
    if member is None or member.deleted:
        raise NotFoundError("找不到证件所属的队员，请刷新后重试。")
    if _duplicate(session, clean.kind, clean.number, None):
        raise ConflictError(f"证件编号“{clean.number}”已经登记过，请核对。")
    cert = Certificate(
        member_id=member.id,
        kind=clean.kind.value,
        number=clean.number,
        issuer=clean.issuer,
        scope=clean.scope,
        valid_from=clean.valid_from,
        valid_to=clean.valid_to,
        state=clean.state.value,
        note=clean.note,
    )
    session.add(cert)
    session.flush()
    session.add(
        CertificateEvent(
            certificate_id=cert.id,
            day=clean.valid_from or today or dt.date.today(),
            kind="issued",
            old_state="",
            new_state=clean.state.value,
            note="登记证件",
        )
    )
    return cert.id


def update_certificate(
    session: Session,
    actor: Actor,
    cert_id: str,
    data: CertificateInput,
    version: int,
    today: dt.date | None = None,
) -> None:
    """Edit; a new validity window is recorded as a renewal, a new state as a state change."""
    require(actor, Permission.EDIT_CERTIFICATES)
    cert = _get(session, cert_id)
    if cert.version != version:
        raise ConflictError(f"证件“{cert.number}”刚被他人修改过，请重新打开后再编辑。")
    clean = validate(data)
    if _duplicate(session, clean.kind, clean.number, cert.id):
        raise ConflictError(f"证件编号“{clean.number}”已经登记过，请核对。")
    today = today or dt.date.today()
    if clean.valid_to != cert.valid_to:
        session.add(
            CertificateEvent(
                certificate_id=cert.id,
                day=today,
                kind="renewed",
                note=f"有效期 {_d(cert.valid_from)}—{_d(cert.valid_to)} 改为 {_d(clean.valid_from)}—{_d(clean.valid_to)}",
            )
        )
    if clean.state.value != cert.state:
        session.add(
            CertificateEvent(
                certificate_id=cert.id,
                day=today,
                kind="state",
                old_state=cert.state,
                new_state=clean.state.value,
                note=clean.note,
            )
        )
    cert.kind, cert.number, cert.issuer, cert.scope = (
        clean.kind.value,
        clean.number,
        clean.issuer,
        clean.scope,
    )
    cert.valid_from, cert.valid_to, cert.state, cert.note = (
        clean.valid_from,
        clean.valid_to,
        clean.state.value,
        clean.note,
    )


def set_state(
    session: Session, actor: Actor, cert_id: str, state: CertificateState, day: dt.date, note: str = ""
) -> None:
    """Suspend, revoke, report lost or reinstate from ``day`` on; the history keeps the change."""
    require(actor, Permission.EDIT_CERTIFICATES)
    cert = _get(session, cert_id)
    if state.value == cert.state:
        raise ValidationError(f"证件已经是“{CERT_STATE_LABELS[state]}”状态。")
    session.add(
        CertificateEvent(
            certificate_id=cert.id,
            day=day,
            kind="state",
            old_state=cert.state,
            new_state=state.value,
            note=note.strip(),
        )
    )
    cert.state = state.value


def add_review(
    session: Session, actor: Actor, cert_id: str, review_date: dt.date, passed: bool, note: str = ""
) -> None:
    require(actor, Permission.EDIT_CERTIFICATES)
    cert = _get(session, cert_id)
    if review_date > dt.date.today():
        raise ValidationError(f"年审日期 {review_date:%Y-%m-%d} 在今天之后，请核对。")
    session.add(
        CertificateReview(certificate_id=cert.id, review_date=review_date, passed=passed, note=note.strip())
    )


def remove_certificate(session: Session, actor: Actor, cert_id: str) -> None:
    require(actor, Permission.EDIT_CERTIFICATES)
    _get(session, cert_id).deleted = True


def _get(session: Session, cert_id: str) -> Certificate:
    cert = session.get(Certificate, cert_id)
    if cert is None or cert.deleted:
        raise NotFoundError("找不到该证件，可能已被删除，请刷新。")
    return cert


def _d(day: dt.date | None) -> str:
    return f"{day:%Y-%m-%d}" if day else "—"


def list_certificates(
    session: Session,
    actor: Actor,
    settings: Settings,
    today: dt.date | None = None,
    member_id: str | None = None,
    text: str = "",
    only_alerts: bool = False,
) -> list[CertificateView]:
    """The certificate ledger, worst alerts first.

    Reads plain columns rather than ORM objects and lets SQLite pick each certificate's last
    review: the start page runs this on every start, over ~10,000 certificates in a district-size
    ledger.
    """
    require(actor, Permission.VIEW_PERSONNEL)
    today = today or dt.date.today()
    wanted = (
        select(Certificate.id)
        .join(Member, Member.id == Certificate.member_id)
        .where(Certificate.deleted.is_(False), Member.deleted.is_(False))
    )
    if member_id:
        wanted = wanted.where(Certificate.member_id == member_id)
    if text.strip():
        like = f"%{text.strip()}%"
        wanted = wanted.where(
            Member.name.like(like)
            | Certificate.number.like(like)
            | Member.name_initials.like(f"{text.strip().lower()}%")
        )
    ids = wanted.scalar_subquery()
    c = Certificate.__table__.c
    rows = session.execute(
        select(
            c.id,
            c.member_id,
            Member.name,
            c.kind,
            c.number,
            c.issuer,
            c.scope,
            c.valid_from,
            c.valid_to,
            c.state,
            c.note,
            c.version,
        )
        .join(Member, Member.id == c.member_id)
        .where(c.id.in_(ids))
    ).all()
    reviews: dict[str, dt.date] = {
        cert_id: day
        for cert_id, day in session.execute(
            select(CertificateReview.certificate_id, func.max(CertificateReview.review_date))
            .where(
                CertificateReview.certificate_id.in_(ids),
                CertificateReview.deleted.is_(False),
                CertificateReview.passed.is_(True),
            )
            .group_by(CertificateReview.certificate_id)
        )
    }
    events: dict[str, list[Any]] = {}
    for e in session.execute(
        select(
            CertificateEvent.certificate_id,
            CertificateEvent.day,
            CertificateEvent.updated_at,
            CertificateEvent.kind,
            CertificateEvent.new_state,
        ).where(
            CertificateEvent.certificate_id.in_(ids),
            CertificateEvent.deleted.is_(False),
            CertificateEvent.kind.in_(("issued", "state")),
        )
    ):
        events.setdefault(e.certificate_id, []).append(e)
    out = []
    for row in rows:
        facts = facts_of(row, events.get(row.id, ()))
        alert, why = alert_for(facts, reviews.get(row.id), today, settings)
        if only_alerts and alert is Alert.NONE:
            continue
        out.append(
            CertificateView(
                id=row.id,
                member_id=row.member_id,
                member_name=row.name,
                kind=facts.kind,
                number=row.number,
                issuer=row.issuer,
                scope=row.scope,
                valid_from=row.valid_from,
                valid_to=row.valid_to,
                state=facts.state,
                note=row.note,
                version=row.version,
                last_review=reviews.get(row.id),
                alert=alert,
                alert_text=why,
            )
        )
    rank = {Alert.RED: 0, Alert.AMBER: 1, Alert.NONE: 2}
    out.sort(key=lambda v: (rank[v.alert], v.valid_to or dt.date.max, v.member_name))
    return out


def history(session: Session, actor: Actor, cert_id: str) -> tuple[list[ReviewView], list[EventView]]:
    require(actor, Permission.VIEW_PERSONNEL)
    reviews = [
        ReviewView(r.id, r.review_date, r.passed, r.note)
        for r in session.scalars(
            select(CertificateReview)
            .where(CertificateReview.certificate_id == cert_id, CertificateReview.deleted.is_(False))
            .order_by(CertificateReview.review_date)
        )
    ]
    events = [
        EventView(e.day, e.kind, e.old_state, e.new_state, e.note)
        for e in session.scalars(
            select(CertificateEvent)
            .where(CertificateEvent.certificate_id == cert_id, CertificateEvent.deleted.is_(False))
            .order_by(CertificateEvent.day, CertificateEvent.updated_at)
        )
    ]
    return reviews, events
