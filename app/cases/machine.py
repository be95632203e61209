"""The procedure of a case as an explicit state machine (办案流程).

A case's ``stage`` says how far the procedure has got; each step (``StepKind``) moves it exactly
one stage on, so no step can be skipped and none taken out of order. A step that does not apply
to a case (legal review not triggered, no hearing requested, no fine to collect) is still a step:
it is recorded as not applicable with its reason, so the dossier shows that it was considered.
Which optional steps may be passed over *for a particular case* (legal review is required for a
large fine, …) is decided by the service with the case's facts; this module only knows which
steps can ever be not applicable.

Ordinary procedure (普通程序, DOMAIN.md): 立案 → 调查取证 → 调查终结 → 法制审核 → 事先告知 →
陈述申辩 → 听证 → 集体讨论 → 决定 → 送达 → 执行 → 结案 → 归档.
Summary procedure (简易程序, APL 51–52): 当场处罚决定 → 备案 → 归档.

Side measures (``SIDE_STEPS``: 先行登记保存, 查封扣押, 暂缓/分期缴纳, 催告, 申请法院强制执行, 当场收缴
罚款交纳, and the party's 行政复议/行政诉讼 with its result) are step rows too, but no step of the machine: they run beside the procedure, so they
never move the stage (:mod:`app.cases.measures` records them and holds their rules).

Pure Python: unit-tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Protocol

from app.errors import ValidationError
from db.models.cases import Procedure, StepStatus


class StepKind(StrEnum):
    FILING = "filing"  # 立案（队长审批）
    INVESTIGATION = "investigation"  # 调查取证
    CONCLUSION = "conclusion"  # 调查终结（审批）
    LEGAL_REVIEW = "legal_review"  # 法制审核
    PRIOR_NOTICE = "prior_notice"  # 事先告知
    STATEMENT = "statement"  # 陈述申辩（及复核）
    HEARING = "hearing"  # 听证
    COLLECTIVE_DISCUSSION = "collective_discussion"  # 集体讨论
    DECISION = "decision"  # 决定（队长）
    SERVICE = "service"  # 送达
    EXECUTION = "execution"  # 执行（缴纳罚款）
    CLOSURE = "closure"  # 结案（队长审批）
    ARCHIVE = "archive"  # 归档
    SPOT_DECISION = "spot_decision"  # 当场处罚决定（简易程序）
    RECORD_FILING = "record_filing"  # 备案（简易程序）
    # Side measures (附随措施): recorded beside the procedure, never moving the stage.
    PRESERVATION = "preservation"  # 先行登记保存（APL 56）
    PRESERVATION_HANDLING = "preservation_handling"  # 先行登记保存处理决定
    SEIZURE = "seizure"  # 查封、扣押（ACL 18、24）
    SEIZURE_EXTENSION = "seizure_extension"  # 查封、扣押延期（ACL 25）
    SEIZURE_RELEASE = "seizure_release"  # 解除查封、扣押或处理（ACL 27、28）
    DEFERRAL = "deferral"  # 暂缓缴纳罚款（APL 66）
    INSTALMENTS = "instalments"  # 分期缴纳罚款（APL 66）
    INSTALMENT_PAYMENT = "instalment_payment"  # 分期缴纳一期
    REMINDER = "reminder"  # 催告书送达（ACL 35、54）
    COURT_APPLICATION = "court_application"  # 申请人民法院强制执行（ACL 53）
    CASH_HANDOVER = "cash_handover"  # 当场收缴的罚款交至行政机关（APL 71）
    APPEAL = "appeal"  # 当事人申请行政复议或者提起行政诉讼
    APPEAL_RESULT = "appeal_result"  # 复议决定或者生效裁判（含撤回申请）

    @property
    def label(self) -> str:
        return STEP_LABELS[self]


STEP_LABELS: Final = MappingProxyType(
    {
        StepKind.FILING: "立案",
        StepKind.INVESTIGATION: "调查取证",
        StepKind.CONCLUSION: "调查终结",
        StepKind.LEGAL_REVIEW: "法制审核",
        StepKind.PRIOR_NOTICE: "事先告知",
        StepKind.STATEMENT: "陈述申辩",
        StepKind.HEARING: "听证",
        StepKind.COLLECTIVE_DISCUSSION: "集体讨论",
        StepKind.DECISION: "作出决定",
        StepKind.SERVICE: "送达",
        StepKind.EXECUTION: "执行",
        StepKind.CLOSURE: "结案",
        StepKind.ARCHIVE: "归档",
        StepKind.SPOT_DECISION: "当场处罚决定",
        StepKind.RECORD_FILING: "备案",
        StepKind.PRESERVATION: "先行登记保存",
        StepKind.PRESERVATION_HANDLING: "先行登记保存处理决定",
        StepKind.SEIZURE: "查封扣押",
        StepKind.SEIZURE_EXTENSION: "查封扣押延期",
        StepKind.SEIZURE_RELEASE: "解除查封扣押或处理",
        StepKind.DEFERRAL: "暂缓缴纳罚款",
        StepKind.INSTALMENTS: "分期缴纳罚款",
        StepKind.INSTALMENT_PAYMENT: "分期缴款",
        StepKind.REMINDER: "催告",
        StepKind.COURT_APPLICATION: "申请法院强制执行",
        StepKind.CASH_HANDOVER: "当场收缴罚款交纳",
        StepKind.APPEAL: "当事人申请复议或起诉",
        StepKind.APPEAL_RESULT: "复议决定或判决",
    }
)


class CaseStage(StrEnum):
    """How far a case has got: named after the last step taken (``OPENED`` before any)."""

    OPENED = "opened"  # 待立案
    FILED = "filed"  # 已立案，待调查
    INVESTIGATED = "investigated"  # 已调查，待调查终结
    CONCLUDED = "concluded"  # 调查终结，待法制审核
    REVIEWED = "reviewed"  # 待事先告知
    NOTIFIED = "notified"  # 已告知，待陈述申辩
    STATED = "stated"  # 待听证
    HEARD = "heard"  # 待集体讨论
    DISCUSSED = "discussed"  # 待决定
    DECIDED = "decided"  # 已决定，待送达
    SERVED = "served"  # 已送达，待执行
    EXECUTED = "executed"  # 已执行，待结案
    CLOSED = "closed"  # 已结案，待归档
    ARCHIVED = "archived"  # 已归档
    SPOT_DECIDED = "spot_decided"  # 已当场处罚，待备案

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS: Final = MappingProxyType(
    {
        CaseStage.OPENED: "待立案",
        CaseStage.FILED: "调查取证中",
        CaseStage.INVESTIGATED: "待调查终结",
        CaseStage.CONCLUDED: "待法制审核",
        CaseStage.REVIEWED: "待事先告知",
        CaseStage.NOTIFIED: "待陈述申辩",
        CaseStage.STATED: "待听证",
        CaseStage.HEARD: "待集体讨论",
        CaseStage.DISCUSSED: "待决定",
        CaseStage.DECIDED: "待送达",
        CaseStage.SERVED: "待执行",
        CaseStage.EXECUTED: "待结案",
        CaseStage.CLOSED: "已结案",
        CaseStage.ARCHIVED: "已归档",
        CaseStage.SPOT_DECIDED: "待备案",
    }
)

#: The steps of each procedure, in the only order they may be taken.
STEPS: Final = MappingProxyType(
    {
        Procedure.ORDINARY: (
            StepKind.FILING,
            StepKind.INVESTIGATION,
            StepKind.CONCLUSION,
            StepKind.LEGAL_REVIEW,
            StepKind.PRIOR_NOTICE,
            StepKind.STATEMENT,
            StepKind.HEARING,
            StepKind.COLLECTIVE_DISCUSSION,
            StepKind.DECISION,
            StepKind.SERVICE,
            StepKind.EXECUTION,
            StepKind.CLOSURE,
            StepKind.ARCHIVE,
        ),
        Procedure.SUMMARY: (StepKind.SPOT_DECISION, StepKind.RECORD_FILING, StepKind.ARCHIVE),
    }
)

_STAGES: Final = MappingProxyType(
    {
        Procedure.ORDINARY: (
            CaseStage.OPENED,
            CaseStage.FILED,
            CaseStage.INVESTIGATED,
            CaseStage.CONCLUDED,
            CaseStage.REVIEWED,
            CaseStage.NOTIFIED,
            CaseStage.STATED,
            CaseStage.HEARD,
            CaseStage.DISCUSSED,
            CaseStage.DECIDED,
            CaseStage.SERVED,
            CaseStage.EXECUTED,
            CaseStage.CLOSED,
            CaseStage.ARCHIVED,
        ),
        Procedure.SUMMARY: (CaseStage.OPENED, CaseStage.SPOT_DECIDED, CaseStage.CLOSED, CaseStage.ARCHIVED),
    }
)


def _table(procedure: Procedure) -> Mapping[CaseStage, tuple[StepKind, CaseStage]]:
    stages, steps = _STAGES[procedure], STEPS[procedure]
    return MappingProxyType({stages[i]: (steps[i], stages[i + 1]) for i in range(len(steps))})


#: The transition table: procedure → stage → (the one step allowed, the stage it leads to).
TRANSITIONS: Final = MappingProxyType({p: _table(p) for p in Procedure})

#: Steps that may be recorded as not applicable (with a reason) — for some cases. The service
#: decides whether they apply to *this* case: legal review when not triggered (APL 58); prior
#: notice and statement when no penalty is intended (facts not established, transfer); hearing
#: when not requested or no hearing rights (APL 63–64); collective discussion for a case neither
#: complex nor major (APL 57); service when a transfer ends the case; execution when no fine or
#: other performance is due.
OPTIONAL_STEPS: Final = frozenset(
    {
        StepKind.LEGAL_REVIEW,
        StepKind.PRIOR_NOTICE,
        StepKind.STATEMENT,
        StepKind.HEARING,
        StepKind.COLLECTIVE_DISCUSSION,
        StepKind.SERVICE,
        StepKind.EXECUTION,
    }
)

#: Steps the leader approves (队长审批): filing, conclusion, decision, closure (DOMAIN.md).
LEADER_APPROVED_STEPS: Final = frozenset(
    {StepKind.FILING, StepKind.CONCLUSION, StepKind.DECISION, StepKind.CLOSURE}
)

#: Side measures (附随措施) of a case — preservation, seizure, deferral and instalments, reminder,
#: court application, cash handover, and the party's appeal (复议、诉讼) and its result. They are recorded beside the procedure by
#: :mod:`app.cases.measures`: in no procedure's ``STEPS``, so they never move the stage, are never
#: a next action and are refused by ``advance``; their own rules (and clocks) are the measures'.
SIDE_STEPS: Final = frozenset(
    {
        StepKind.PRESERVATION,
        StepKind.PRESERVATION_HANDLING,
        StepKind.SEIZURE,
        StepKind.SEIZURE_EXTENSION,
        StepKind.SEIZURE_RELEASE,
        StepKind.DEFERRAL,
        StepKind.INSTALMENTS,
        StepKind.INSTALMENT_PAYMENT,
        StepKind.REMINDER,
        StepKind.COURT_APPLICATION,
        StepKind.CASH_HANDOVER,
        StepKind.APPEAL,
        StepKind.APPEAL_RESULT,
    }
)

#: Side measures the leader approves (负责人批准): preservation and its handling (APL 56),
#: seizure, its extension and its release (ACL 18, 25, 27), deferral and instalments (APL 66),
#: the application to court (ACL 53, signed by the head of the enforcing body).
LEADER_APPROVED_MEASURES: Final = frozenset(
    {
        StepKind.PRESERVATION,
        StepKind.PRESERVATION_HANDLING,
        StepKind.SEIZURE,
        StepKind.SEIZURE_EXTENSION,
        StepKind.SEIZURE_RELEASE,
        StepKind.DEFERRAL,
        StepKind.INSTALMENTS,
        StepKind.COURT_APPLICATION,
    }
)

#: A closed case reopened (leader only) goes back to the stage before its closure.
REOPENABLE: Final = frozenset({CaseStage.CLOSED, CaseStage.ARCHIVED})


class CaseState(Protocol):
    """What the machine needs of a case: a Case row, a view, or a test double."""

    @property
    def procedure(self) -> str: ...

    @property
    def stage(self) -> str: ...


@dataclass(frozen=True)
class NextAction:
    """The one step a case may take next; ``may_skip``: it can be recorded as not applicable."""

    step: StepKind
    may_skip: bool

    @property
    def label(self) -> str:
        return self.step.label


def _parse(case: CaseState) -> tuple[Procedure, CaseStage]:
    return Procedure(case.procedure), CaseStage(case.stage)


def next_actions(case: CaseState) -> list[NextAction]:
    """The step the case may take next (one, or none when archived)."""
    procedure, stage = _parse(case)
    entry = TRANSITIONS[procedure].get(stage)
    if entry is None:
        return []
    step = entry[0]
    return [NextAction(step, step in OPTIONAL_STEPS)]


def advance(case: CaseState, step: StepKind, status: StepStatus, reason: str = "") -> CaseStage:
    """The stage after ``step``, or ValidationError naming the step that must come first.

    A step recorded as not applicable needs a reason and must be one of ``OPTIONAL_STEPS``.
    """
    procedure, stage = _parse(case)
    if step in SIDE_STEPS:
        raise ValidationError(f"“{step.label}”是案件的附随措施，不是办案环节，请在相应措施中登记。")
    if step not in STEPS[procedure]:
        which = "简易程序" if procedure is Procedure.SUMMARY else "普通程序"
        raise ValidationError(f"{which}案件没有“{step.label}”环节。")
    entry = TRANSITIONS[procedure].get(stage)
    if entry is None:
        raise ValidationError(f"案件当前为“{stage.label}”，不能再办理“{step.label}”。")
    expected, after = entry
    if step is not expected:
        done = STEPS[procedure].index(step) < STEPS[procedure].index(expected)
        if done:
            raise ValidationError(f"“{step.label}”环节已经办理过，当前应办理“{expected.label}”。")
        raise ValidationError(
            f"当前应先办理“{expected.label}”，不能跳过它直接办理“{step.label}”（办案环节须依次进行）。"
        )
    if status is StepStatus.NOT_APPLICABLE:
        if step not in OPTIONAL_STEPS:
            raise ValidationError(f"“{step.label}”是必经环节，不能记为不适用。")
        if not reason.strip():
            raise ValidationError(f"“{step.label}”记为不适用时，须写明理由。", field="reason")
    elif status is not StepStatus.DONE:
        raise ValidationError(f"环节状态“{status}”不能用于办理环节。")
    return after


def reopen_stage(case: CaseState) -> CaseStage:
    """The stage a reopened case returns to: the one before its closure."""
    procedure, stage = _parse(case)
    if stage not in REOPENABLE:
        raise ValidationError(f"案件当前为“{stage.label}”，只有已结案或已归档的案件才能重新办理。")
    stages = _STAGES[procedure]
    return stages[stages.index(CaseStage.CLOSED) - 1]


def steps_taken(procedure: Procedure, stage: CaseStage) -> tuple[StepKind, ...]:
    """The steps already taken to reach ``stage`` (a reopening withdraws those after its stage)."""
    return STEPS[procedure][: _STAGES[procedure].index(stage)]


__all__ = [
    "LEADER_APPROVED_MEASURES",
    "LEADER_APPROVED_STEPS",
    "OPTIONAL_STEPS",
    "REOPENABLE",
    "SIDE_STEPS",
    "STAGE_LABELS",
    "STEPS",
    "STEP_LABELS",
    "TRANSITIONS",
    "CaseStage",
    "CaseState",
    "NextAction",
    "StepKind",
    "advance",
    "next_actions",
    "reopen_stage",
    "steps_taken",
]
