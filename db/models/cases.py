"""Cases (案件) and their procedure steps (办案环节): the rows the dossier is built from.

A case row holds what the procedure has settled so far (stage, item, tier, fine, outcome and the
key dates); every step of the procedure is one ``CaseStep`` row saying who recorded it, when it
was performed, who approved it and the officers who performed it (``CaseStepOfficer``). Steps
are never rewritten: a reopened closure is marked withdrawn, not deleted, so the dossier keeps
its history. The order of the steps is the business of :mod:`app.cases.machine`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import BigInt, Synced


class Procedure(StrEnum):
    SUMMARY = "summary"  # 简易程序
    ORDINARY = "ordinary"  # 普通程序


class Outcome(StrEnum):
    PENALTY = "penalty"  # 给予行政处罚
    NO_PENALTY = "no_penalty"  # 不予行政处罚（违法行为轻微并及时改正，没有造成危害后果）
    FIRST_VIOLATION_NO_PENALTY = "first_violation_no_penalty"  # 首违不罚（APL 33）
    NOT_ESTABLISHED = "not_established"  # 违法事实不能成立
    TRANSFER = "transfer"  # 移送司法机关或其他机关


class StepStatus(StrEnum):
    DONE = "done"  # 已办理
    NOT_APPLICABLE = "not_applicable"  # 不适用（须写明理由）
    WITHDRAWN = "withdrawn"  # 已撤销（结案后经批准重新办理）


class Case(Synced):
    """One case. Its number 车综执立〔2026〕第0001号 is unique per squad and year and never reused;
    like lead numbers it is computed inside the opening transaction (see ``db.models.leads.Lead``)."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("squad_id", "number_year", "number_seq"),
        # The case list reads its order, count and number search from this index alone.
        Index("ix_cases_list", "squad_id", "number_year", "number_seq", "deleted", "number", "id"),
        # Open cases for the start page's clocks, without touching the case rows.
        Index("ix_cases_open", "stage", "deleted", "id"),
    )
    label_zh = "案件"
    number: Mapped[str] = mapped_column(String(60), index=True)
    number_year: Mapped[int] = mapped_column(Integer)
    number_seq: Mapped[int] = mapped_column(Integer)
    procedure: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(24), index=True)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id"), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(200), default="")  # 案由
    facts: Mapped[str] = mapped_column(Text, default="")
    item_code: Mapped[str] = mapped_column(String(40), index=True)
    release_no: Mapped[int] = mapped_column(Integer)  # the reference release the case is handled under
    tier_name: Mapped[str] = mapped_column(String(20), default="")
    #: APL 36: five years' limitation where life, health or financial safety was harmed.
    limitation_harm: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The day a continuing violation ended; None while it continues.
    violation_ended: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    #: 重大 / 复杂: legal review and collective discussion are then required.
    major: Mapped[bool] = mapped_column(Boolean, default=False)
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_on: Mapped[dt.date] = mapped_column(Date)
    filed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    decided_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    fine_fen: Mapped[int] = mapped_column(BigInt, default=0)
    #: A rate-based fine's base amount (e.g. the construction cost), in fen.
    base_fen: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    penalty_types: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of PenaltyType values
    #: The fine stated in the prior notice (事先告知书); the decision may not exceed it (APL 45).
    notice_fine_fen: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    hearing_rights: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(32), default="")
    transferred_to: Mapped[str] = mapped_column(String(100), default="")
    served_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class CaseParty(Synced):
    """A party (当事人) of a case; a party is kept once and linked to each of its cases."""

    __tablename__ = "case_parties"
    label_zh = "案件当事人"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class CaseStep(Synced):
    """One step of a case's procedure (办案环节): done, or not applicable with the reason."""

    __tablename__ = "case_steps"
    label_zh = "办案环节"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)  # order within the case, from 1
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")  # why not applicable / why withdrawn
    performed_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by_id: Mapped[str] = mapped_column(String(36), default="")
    recorded_by_name: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the step's own facts
    approved_by_id: Mapped[str] = mapped_column(String(36), default="")
    approved_by_name: Mapped[str] = mapped_column(String(64), default="")
    approved_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    opinion: Mapped[str] = mapped_column(Text, default="")


class CaseStepOfficer(Synced):
    """An officer who performed a step (the ≥ 2 enforcement officers of APL 42 and 55)."""

    __tablename__ = "case_step_officers"
    label_zh = "办案人员"
    step_id: Mapped[str] = mapped_column(ForeignKey("case_steps.id"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    #: 主办 (the first officer named, who answers for the step) or 协办.
    role: Mapped[str] = mapped_column(String(8), default="协办")


class CasePauseKind(StrEnum):
    PAUSE = "pause"  # 中止（案件中止调查、中止执行）
    EXTENSION = "extension"  # 经批准延长期限


class CasePause(Synced):
    """A pause (中止) of a case's clocks, or an approved extension (延长) of one clock.

    Kept apart from ``CaseStep``: a pause is no step of the procedure and must not move the
    stage, but like a step it is approved by the leader, synced and audited. A pause runs from
    ``start`` to ``end`` inclusive (``end`` None while it lasts); an extension lengthens ``clock``
    (a ``ClockKind`` value) by ``days`` in that clock's unit.
    """

    __tablename__ = "case_pauses"
    label_zh = "期限中止与延长"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    clock: Mapped[str] = mapped_column(String(32), default="")
    start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    days: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    approved_by_id: Mapped[str] = mapped_column(String(36), default="")
    approved_by_name: Mapped[str] = mapped_column(String(64), default="")
    #: Who approved the end of a pause (恢复), which may be another leader than its start.
    resumed_by_name: Mapped[str] = mapped_column(String(64), default="")


class EvidenceKind(StrEnum):
    """The kinds of evidence a squad collects. APL 46 lists the legal kinds (书证、物证、视听资料、
    电子数据、证人证言、当事人的陈述、鉴定意见、勘验笔录、现场笔录); these are the kinds of *file* the
    dossier holds, each mapping onto one of those: a photo is 视听资料 or fixes a 物证, a scan is a
    书证, a record (笔录) the statement, inspection or on-site record."""

    PHOTO = "photo"  # 照片
    VIDEO = "video"  # 视听资料（视频）
    AUDIO = "audio"  # 录音
    SCAN = "scan"  # 书证扫描件
    RECORD = "record"  # 笔录
    OTHER = "other"  # 其他


class CaseEvidence(Synced):
    """One piece of evidence (证据) in a case's dossier: the file lives in the content-addressed
    store under ``sha256`` (the same content in two cases is stored once); the row says what it
    is, who collected it, when and with what device, and where it sits in the dossier."""

    __tablename__ = "case_evidence"
    label_zh = "证据"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    collected_by_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    collected_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: The camera, recorder or body camera used, e.g. "执法记录仪 3 号".
    device: Mapped[str] = mapped_column(String(100), default="")
    original_name: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(BigInt, default=0)
    #: The order within the dossier, from 1 (the printed evidence list numbers them so).
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
