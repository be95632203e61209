"""The procedure state machine without a database: order, skipping, not-applicable steps, reopening."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.cases.machine import (
    OPTIONAL_STEPS,
    STEPS,
    TRANSITIONS,
    CaseStage,
    StepKind,
    advance,
    next_actions,
    reopen_stage,
    steps_taken,
)
from app.errors import ValidationError
from db.models.cases import Procedure, StepStatus


@dataclass
class FakeCase:
    procedure: str
    stage: str


def _walk(procedure: Procedure) -> FakeCase:
    case = FakeCase(procedure.value, CaseStage.OPENED.value)
    for step in STEPS[procedure]:
        (action,) = next_actions(case)
        assert action.step is step
        case.stage = advance(case, step, StepStatus.DONE).value
    return case


def test_ordinary_procedure_runs_in_the_order_of_domain_md() -> None:
    assert [s.label for s in STEPS[Procedure.ORDINARY]] == [
        "立案",
        "调查取证",
        "调查终结",
        "法制审核",
        "事先告知",
        "陈述申辩",
        "听证",
        "集体讨论",
        "作出决定",
        "送达",
        "执行",
        "结案",
        "归档",
    ]
    case = _walk(Procedure.ORDINARY)
    assert case.stage == CaseStage.ARCHIVED
    assert next_actions(case) == []


def test_summary_procedure_is_decision_then_record_filing() -> None:
    assert STEPS[Procedure.SUMMARY] == (StepKind.SPOT_DECISION, StepKind.RECORD_FILING, StepKind.ARCHIVE)
    case = FakeCase(Procedure.SUMMARY.value, CaseStage.OPENED.value)
    case.stage = advance(case, StepKind.SPOT_DECISION, StepStatus.DONE).value
    assert case.stage == CaseStage.SPOT_DECIDED
    case.stage = advance(case, StepKind.RECORD_FILING, StepStatus.DONE).value
    assert case.stage == CaseStage.CLOSED
    with pytest.raises(ValidationError, match="简易程序案件没有“法制审核”环节"):
        advance(case, StepKind.LEGAL_REVIEW, StepStatus.DONE)


def test_transition_table_has_one_step_per_stage() -> None:
    for procedure, table in TRANSITIONS.items():
        assert [step for step, _ in table.values()] == list(STEPS[procedure])
        assert len({after for _, after in table.values()}) == len(STEPS[procedure])


def test_no_step_skipped_and_none_repeated() -> None:
    case = FakeCase(Procedure.ORDINARY.value, CaseStage.FILED.value)
    with pytest.raises(ValidationError, match="当前应先办理“调查取证”，不能跳过它直接办理“作出决定”"):
        advance(case, StepKind.DECISION, StepStatus.DONE)
    with pytest.raises(ValidationError, match="“立案”环节已经办理过，当前应办理“调查取证”"):
        advance(case, StepKind.FILING, StepStatus.DONE)
    assert advance(case, StepKind.INVESTIGATION, StepStatus.DONE) is CaseStage.INVESTIGATED


def test_not_applicable_needs_an_optional_step_and_a_reason() -> None:
    case = FakeCase(Procedure.ORDINARY.value, CaseStage.CONCLUDED.value)
    (action,) = next_actions(case)
    assert action.step is StepKind.LEGAL_REVIEW and action.may_skip
    with pytest.raises(ValidationError, match="须写明理由"):
        advance(case, StepKind.LEGAL_REVIEW, StepStatus.NOT_APPLICABLE, "  ")
    assert (
        advance(case, StepKind.LEGAL_REVIEW, StepStatus.NOT_APPLICABLE, "拟罚款未达法制审核起点")
        is CaseStage.REVIEWED
    )
    for step in (StepKind.FILING, StepKind.INVESTIGATION, StepKind.DECISION, StepKind.CLOSURE):
        assert step not in OPTIONAL_STEPS
    filed = FakeCase(Procedure.ORDINARY.value, CaseStage.FILED.value)
    with pytest.raises(ValidationError, match="“调查取证”是必经环节，不能记为不适用"):
        advance(filed, StepKind.INVESTIGATION, StepStatus.NOT_APPLICABLE, "无需调查")
    with pytest.raises(ValidationError, match="不能用于办理环节"):
        advance(filed, StepKind.INVESTIGATION, StepStatus.WITHDRAWN)


def test_an_archived_case_takes_no_step_and_reopens_before_closure() -> None:
    case = _walk(Procedure.ORDINARY)
    with pytest.raises(ValidationError, match="案件当前为“已归档”，不能再办理“归档”"):
        advance(case, StepKind.ARCHIVE, StepStatus.DONE)
    assert reopen_stage(case) is CaseStage.EXECUTED
    summary = FakeCase(Procedure.SUMMARY.value, CaseStage.CLOSED.value)
    assert reopen_stage(summary) is CaseStage.SPOT_DECIDED
    with pytest.raises(ValidationError, match="只有已结案或已归档的案件才能重新办理"):
        reopen_stage(FakeCase(Procedure.ORDINARY.value, CaseStage.DECIDED.value))


def test_steps_taken_to_reach_a_stage() -> None:
    assert steps_taken(Procedure.ORDINARY, CaseStage.OPENED) == ()
    assert steps_taken(Procedure.ORDINARY, CaseStage.INVESTIGATED) == (
        StepKind.FILING,
        StepKind.INVESTIGATION,
    )
