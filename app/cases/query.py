"""The case list (案件列表): filters and a page of rows at a time, fast at 100,000 cases.

One page costs a fixed handful of set-based queries whatever its length: the page of cases, then
their main parties, item names and officers for the whole page at once — never one query per
row. The page is ordered by case number, newest first: numbers are issued in the order cases are
opened (one sequence per squad and year for both procedures), so this is the order of opening,
and it walks the unique index (squad_id, number_year, number_seq) instead of sorting the table.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.cases.machine import CaseStage
from db.models import Member, Party, Squad
from db.models.cases import Case, CaseParty, CaseStep, CaseStepOfficer, Procedure, StepStatus
from db.models.leads import Lead, LeadSource
from db.models.reference import ViolationItem

PROCEDURE_LABELS = {Procedure.SUMMARY: "简易程序", Procedure.ORDINARY: "普通程序"}
#: Stages at which a case is finished with: "only open" leaves them out.
FINISHED_STAGES = (CaseStage.CLOSED, CaseStage.ARCHIVED)


@dataclass(frozen=True)
class CaseQuery:
    """What the case list is filtered by; empty fields do not filter."""

    #: Case number (part of it), party name, party pinyin initials, ID number or credit code.
    text: str = ""
    stage: CaseStage | None = None
    procedure: Procedure | None = None
    item_code: str = ""
    lead_source: LeadSource | None = None
    #: A member who performed any step of the case.
    officer_id: str = ""
    #: A party of the case: its earlier cases are shown when the party is named in a new one.
    party_id: str = ""
    opened_from: dt.date | None = None
    opened_to: dt.date | None = None
    #: Leave out closed and archived cases.
    only_open: bool = False


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list."""

    id: str
    number: str
    title: str
    procedure: Procedure
    procedure_label: str
    stage: CaseStage
    stage_label: str
    item_code: str
    item_name: str
    party_name: str  # the main party (first named); "等 N 人" appended when there are more
    opened_on: dt.date
    fine_fen: int
    officer_names: tuple[str, ...]

    @property
    def is_open(self) -> bool:
        return self.stage not in FINISHED_STAGES


def _party_match(actor: Actor, needle: str) -> Select[str]:
    """Ids of the cases whose parties match ``needle`` by name, pinyin initials or identity."""
    # As the party search: NFKC turns full-width digits and letters pasted from a PDF into ASCII.
    code = "".join(unicodedata.normalize("NFKC", needle).split()).upper()
    conds = [
        Party.name.like(f"%{needle}%"),
        Party.name_initials.like(f"{needle.lower()}%"),
        Party.credit_code.like(f"%{code}%"),
    ]
    if actor.can(Permission.VIEW_FULL_ID):
        conds.append(Party.id_number.like(f"%{code}%"))
    elif len(code) <= 4:
        # As in the party search: a role that sees masked numbers may search by the visible last
        # four digits only, never probe the hidden middle ones.
        conds.append(Party.id_number.like(f"%{code}"))
    parties = select(Party.id).where(Party.deleted.is_(False), or_(*conds))
    return select(CaseParty.case_id).where(CaseParty.deleted.is_(False), CaseParty.party_id.in_(parties))


#: What a case number is made of besides the squad's prefix: 车综执立〔2026〕第0001号.
NUMBER_CHARS = frozenset("立简〔〕第号0123456789")


def _could_be_number(session: Session, squad_id: str | None, needle: str) -> bool:
    """Whether ``needle`` may be part of a case number: only its characters occur in them."""
    row = session.get(Squad, squad_id) if squad_id else None
    prefix = row.doc_prefix if row is not None else ""
    return set(needle) <= NUMBER_CHARS | set(prefix)


def _filtered(session: Session, actor: Actor, q: CaseQuery) -> Select[Case]:
    stmt = select(Case).where(Case.deleted.is_(False))
    squad_id = session.info.get("squad_id")
    if squad_id:
        # Equality on squad_id lets SQLite order by the (squad_id, year, seq) unique index.
        stmt = stmt.where(Case.squad_id == squad_id)
    needle = " ".join(q.text.split())
    if needle:
        parties = Case.id.in_(_party_match(actor, needle))
        if _could_be_number(session, squad_id, needle):
            stmt = stmt.where(or_(Case.number.like(f"%{needle}%"), parties))
        else:
            # A name or pinyin that no case number can contain: the LIKE over every number
            # would only cost a scan of the whole list index (a third of the search at 100,000).
            stmt = stmt.where(parties)
    if q.stage is not None:
        stmt = stmt.where(Case.stage == CaseStage(q.stage).value)
    if q.procedure is not None:
        stmt = stmt.where(Case.procedure == Procedure(q.procedure).value)
    if q.item_code:
        stmt = stmt.where(Case.item_code == q.item_code)
    if q.lead_source is not None:
        leads = select(Lead.id).where(Lead.source == LeadSource(q.lead_source).value)
        stmt = stmt.where(Case.lead_id.in_(leads))
    if q.officer_id:
        steps = (
            select(CaseStep.case_id)
            .join(CaseStepOfficer, CaseStepOfficer.step_id == CaseStep.id)
            .where(CaseStepOfficer.member_id == q.officer_id, CaseStepOfficer.deleted.is_(False))
        )
        stmt = stmt.where(Case.id.in_(steps))
    if q.party_id:
        linked = select(CaseParty.case_id).where(
            CaseParty.party_id == q.party_id, CaseParty.deleted.is_(False)
        )
        stmt = stmt.where(Case.id.in_(linked))
    if q.opened_from is not None:
        stmt = stmt.where(Case.opened_on >= q.opened_from)
    if q.opened_to is not None:
        stmt = stmt.where(Case.opened_on <= q.opened_to)
    if q.only_open:
        stmt = stmt.where(Case.stage.not_in([s.value for s in FINISHED_STAGES]))
    return stmt


def count_cases(session: Session, actor: Actor, q: CaseQuery = CaseQuery()) -> int:
    require(actor, Permission.VIEW_CASES)
    inner = _filtered(session, actor, q).with_only_columns(Case.id).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


def _main_parties(session: Session, case_ids: list[str]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {i: [] for i in case_ids}
    rows = session.execute(
        select(CaseParty.case_id, Party.name)
        .join(Party, Party.id == CaseParty.party_id)
        .where(CaseParty.case_id.in_(case_ids), CaseParty.deleted.is_(False))
        .order_by(CaseParty.case_id, CaseParty.sort_order)
    )
    for case_id, name in rows:
        names[case_id].append(name)
    return names


def _item_names(session: Session, cases: list[Case]) -> dict[tuple[str, int], str]:
    codes = {c.item_code for c in cases}
    releases = {c.release_no for c in cases}
    rows = session.execute(
        select(ViolationItem.code, ViolationItem.release_no, ViolationItem.name).where(
            ViolationItem.code.in_(codes), ViolationItem.release_no.in_(releases)
        )
    )
    return {(code, release): name for code, release, name in rows}


def _officers(session: Session, case_ids: list[str]) -> dict[str, list[str]]:
    """The officers who performed the cases' steps, in the order they first acted."""
    names: dict[str, list[str]] = {i: [] for i in case_ids}
    rows = session.execute(
        select(CaseStep.case_id, Member.name)
        .join(CaseStepOfficer, CaseStepOfficer.step_id == CaseStep.id)
        .join(Member, Member.id == CaseStepOfficer.member_id)
        .where(
            CaseStep.case_id.in_(case_ids),
            CaseStep.deleted.is_(False),
            CaseStep.status != StepStatus.WITHDRAWN.value,
            CaseStepOfficer.deleted.is_(False),
        )
        .order_by(CaseStep.case_id, CaseStep.seq, CaseStepOfficer.role.desc())
    )
    for case_id, name in rows:
        if name not in names[case_id]:
            names[case_id].append(name)
    return names


def search_cases(
    session: Session,
    actor: Actor,
    q: CaseQuery = CaseQuery(),
    offset: int = 0,
    limit: int = 200,
) -> list[CaseRow]:
    """One page of the case list, newest first (by case number)."""
    require(actor, Permission.VIEW_CASES)
    stmt = (
        _filtered(session, actor, q)
        .order_by(Case.squad_id, Case.number_year.desc(), Case.number_seq.desc())
        .offset(offset)
        .limit(limit)
    )
    cases = list(session.scalars(stmt))
    if not cases:
        return []
    ids = [c.id for c in cases]
    parties, officers, items = (
        _main_parties(session, ids),
        _officers(session, ids),
        _item_names(session, cases),
    )
    out = []
    for c in cases:
        names = parties[c.id]
        party = names[0] if names else ""
        if len(names) > 1:
            party += f" 等 {len(names)} 人"
        procedure, stage = Procedure(c.procedure), CaseStage(c.stage)
        out.append(
            CaseRow(
                id=c.id,
                number=c.number,
                title=c.title,
                procedure=procedure,
                procedure_label=PROCEDURE_LABELS[procedure],
                stage=stage,
                stage_label=stage.label,
                item_code=c.item_code,
                item_name=items.get((c.item_code, c.release_no), ""),
                party_name=party,
                opened_on=c.opened_on,
                fine_fen=c.fine_fen,
                officer_names=tuple(officers[c.id]),
            )
        )
    return out


__all__ = ["FINISHED_STAGES", "PROCEDURE_LABELS", "CaseQuery", "CaseRow", "count_cases", "search_cases"]
