"""案卷评查 pre-check on whole cases: a clean case passes; records changed after the act (a
certificate's validity corrected, a tier edited, a reason erased) are found; closure is refused
while a veto item stands."""

from __future__ import annotations

import pytest
from case_builders import Crew, D, decide_case, make_crew, open_and_file, serve_case
from sqlalchemy import select

from app.auth.roles import Actor
from app.cases.clocks import ClockKind
from app.cases.machine import StepKind
from app.cases.precheck import Severity, precheck, vetoes
from app.cases.service import close_case, get_case, record_payment
from app.cases.timing import extend_case_period
from app.certificates import CertificateInput, update_certificate
from app.context import AppContext
from app.errors import ValidationError
from db.models import Certificate, DiscretionTier, ViolationItem
from db.models.cases import CaseStep
from db.models.personnel import CertificateKind


@pytest.fixture
def crew(ctx: AppContext, admin: Actor) -> Crew:
    return make_crew(ctx, admin)


def _paid_case(crew: Crew) -> str:
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 4))
    decide_case(crew, case_id, D(2026, 3, 10))
    serve_case(crew, case_id, D(2026, 3, 10))
    with crew.ctx.unit_of_work(crew.actor) as s:
        record_payment(s, crew.actor, case_id, D(2026, 3, 12), 300000, "NO.1")
    return case_id


def test_a_clean_case_has_no_veto_and_closes(crew: Crew) -> None:
    case_id = _paid_case(crew)
    with crew.ctx.read() as s:
        assert precheck(s, crew.actor, case_id) == []
    with crew.ctx.unit_of_work(crew.actor) as s:
        close_case(s, crew.actor, case_id, D(2026, 3, 13))


def test_certificate_expired_on_the_investigation_day_is_a_veto_and_blocks_closure(crew: Crew) -> None:
    case_id = _paid_case(crew)
    # The ledger is corrected later: 李明's certificate had in fact ended on 1 March.
    with crew.ctx.unit_of_work(crew.actor) as s:
        cert = s.get(Certificate, crew.certs["李明"])
        assert cert is not None
        update_certificate(
            s,
            crew.actor,
            cert.id,
            CertificateInput(
                cert.member_id,
                CertificateKind.ENFORCEMENT,
                cert.number,
                valid_from=D(2024, 1, 1),
                valid_to=D(2026, 3, 1),
            ),
            cert.version,
            today=D(2026, 3, 12),
        )
    with crew.ctx.read() as s:
        findings = vetoes(precheck(s, crew.actor, case_id))
    assert len(findings) == 1 and findings[0].step is StepKind.INVESTIGATION
    assert "李明" in findings[0].message and "2026-03-01 到期" in findings[0].message
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        close_case(s, crew.actor, case_id, D(2026, 3, 13))
    assert "否决项" in err.value.message and "李明" in err.value.message and "调查取证" in err.value.message


def test_fine_outside_the_tier_after_the_tier_was_changed(crew: Crew) -> None:
    case_id = _paid_case(crew)
    with crew.ctx.unit_of_work(crew.actor) as s:
        case = get_case(s, crew.actor, case_id)
        tier = s.scalar(
            select(DiscretionTier)
            .join(ViolationItem, ViolationItem.id == DiscretionTier.item_id)
            .where(
                ViolationItem.code == case.item_code,
                ViolationItem.release_no == case.release_no,
                DiscretionTier.name == "一般",
            )
        )
        assert tier is not None
        tier.person_fine_max = 200000  # 2,000 元: the 3,000 元 fine no longer fits
    with crew.ctx.read() as s:
        findings = vetoes(precheck(s, crew.actor, case_id))
    assert [f.step for f in findings] == [StepKind.DECISION]
    assert "3,000 元" in findings[0].message and "一般" in findings[0].message


def test_form_and_veto_items_written_around_the_service(crew: Crew) -> None:
    case_id = _paid_case(crew)
    with crew.ctx.unit_of_work(crew.actor) as s:
        steps = {st.kind: st for st in s.scalars(select(CaseStep).where(CaseStep.case_id == case_id))}
        steps[StepKind.HEARING.value].reason = ""  # a NOT_APPLICABLE step without its reason
        steps[StepKind.PRIOR_NOTICE.value].status = "not_applicable"  # the notice missing
        steps[StepKind.PRIOR_NOTICE.value].reason = "漏告知"
        steps[StepKind.CONCLUSION.value].performed_on = D(2026, 3, 1)  # before the investigation
    with crew.ctx.read() as s:
        findings = precheck(s, crew.actor, case_id)
    by_step = {(f.severity, f.step) for f in findings}
    assert (Severity.FORM, StepKind.HEARING) in by_step
    assert (Severity.VETO, StepKind.PRIOR_NOTICE) in by_step
    assert (Severity.VETO, StepKind.CONCLUSION) in by_step
    assert findings[0].severity is Severity.VETO  # vetoes first


def test_decision_after_the_90_days_needs_an_extension(crew: Crew) -> None:
    late = open_and_file(crew, D(2026, 1, 5), D(2026, 1, 6))
    decide_case(crew, late, D(2026, 4, 20))  # 90 days ended on 5 April (rolled to 7 April)
    with crew.ctx.read() as s:
        findings = vetoes(precheck(s, crew.actor, late))
    assert [f.step for f in findings] == [StepKind.DECISION] and "超过办案期限" in findings[0].message

    extended = open_and_file(crew, D(2026, 1, 5), D(2026, 1, 6))
    with crew.ctx.unit_of_work(crew.actor) as s:
        extend_case_period(s, crew.actor, extended, ClockKind.DECISION, 30, "案情复杂")
    decide_case(crew, extended, D(2026, 4, 20))
    with crew.ctx.read() as s:
        assert vetoes(precheck(s, crew.actor, extended)) == []
