"""The state machine alone: every (state, step) pair either moves to the documented state or is refused."""

from __future__ import annotations

import pytest

from auth.principal import Principal, RegionScope, Role
from hub.errors import Forbidden, Invalid, NotFound
from hub.models import CaseStatus, SubmissionStatus
from hub.workflow import rules
from hub.workflow.rules import CaseDecision, CaseTarget, IllegalTransition, ReviewDecision

FAC = Principal("fac", Role.facilitator, RegionScope.of("33.14.01.2001"))
SUP = Principal("sup", Role.supervisor, RegionScope.of("33.14.01"))
MAN = Principal("man", Role.manager, RegionScope.of("33.14"))
OWNER = Principal("own", Role.programme_owner, RegionScope.national(), programmes=frozenset({"PKH"}))
PKH = CaseTarget("PKH", None)

REVIEWS = {
    (SubmissionStatus.submitted, ReviewDecision.approve): SubmissionStatus.approved,
    (SubmissionStatus.submitted, ReviewDecision.reject): SubmissionStatus.rejected,
    (SubmissionStatus.submitted, ReviewDecision.return_): SubmissionStatus.returned,
}


@pytest.mark.parametrize("status", list(SubmissionStatus))
@pytest.mark.parametrize("decision", list(ReviewDecision))
def test_review_table(status: SubmissionStatus, decision: ReviewDecision) -> None:
    expected = REVIEWS.get((status, decision))
    if expected is None:
        with pytest.raises(IllegalTransition):
            rules.review(SUP, status=status, submitted_by="fac", decision=decision, reason="why")
    else:
        assert rules.review(SUP, status=status, submitted_by="fac", decision=decision, reason=" why ") == (
            expected, "why")


def test_review_refusals() -> None:
    with pytest.raises(Forbidden, match="own submission"):
        rules.review(SUP, status=SubmissionStatus.submitted, submitted_by="sup", decision=ReviewDecision.approve,
                     reason="")
    with pytest.raises(Forbidden):
        rules.review(FAC, status=SubmissionStatus.submitted, submitted_by="x", decision=ReviewDecision.approve,
                     reason="")
    with pytest.raises(Invalid) as caught:
        rules.review(SUP, status=SubmissionStatus.submitted, submitted_by="x", decision=ReviewDecision.reject,
                     reason=" ")
    assert caught.value.details == {"field": "reason"}


@pytest.mark.parametrize("status", list(SubmissionStatus))
def test_resubmit_only_from_returned(status: SubmissionStatus) -> None:
    if status is SubmissionStatus.returned:
        assert rules.resubmit(FAC, status=status) is SubmissionStatus.submitted
    else:
        with pytest.raises(IllegalTransition):
            rules.resubmit(FAC, status=status)


@pytest.mark.parametrize("status", list(CaseStatus))
def test_refer_only_from_open(status: CaseStatus) -> None:
    if status is CaseStatus.open:
        assert rules.refer(MAN, status=status, programme_code="PKH", partner_code=None) is CaseStatus.referred
    else:
        with pytest.raises(IllegalTransition):
            rules.refer(MAN, status=status, programme_code="PKH", partner_code=None)


DECISIONS = {
    (CaseStatus.referred, CaseDecision.approve): CaseStatus.approved,
    (CaseStatus.referred, CaseDecision.reject): CaseStatus.rejected,
    (CaseStatus.referred, CaseDecision.further_study): CaseStatus.further_study,
    (CaseStatus.further_study, CaseDecision.approve): CaseStatus.approved,
    (CaseStatus.further_study, CaseDecision.reject): CaseStatus.rejected,
}


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("decision", list(CaseDecision))
def test_decision_table(status: CaseStatus, decision: CaseDecision) -> None:
    expected = DECISIONS.get((status, decision))
    if expected is None:
        with pytest.raises(IllegalTransition):
            rules.decide(OWNER, status=status, target=PKH, decision=decision, reason="r")
    else:
        assert rules.decide(OWNER, status=status, target=PKH, decision=decision, reason="r") == (expected, "r")


def test_decision_refusals() -> None:
    with pytest.raises(IllegalTransition, match="not been referred"):
        rules.decide(OWNER, status=CaseStatus.open, target=PKH, decision=CaseDecision.approve, reason="r")
    with pytest.raises(NotFound, match="Case not found"):
        rules.decide(OWNER, status=CaseStatus.referred, target=CaseTarget("BPNT", None),
                     decision=CaseDecision.approve, reason="r")
    with pytest.raises(Forbidden):
        rules.decide(MAN, status=CaseStatus.referred, target=PKH, decision=CaseDecision.approve, reason="r")
    with pytest.raises(Invalid):
        rules.decide(OWNER, status=CaseStatus.referred, target=PKH, decision=CaseDecision.approve, reason="")


@pytest.mark.parametrize("status", list(CaseStatus))
def test_inform_only_after_a_decision(status: CaseStatus) -> None:
    if status in (CaseStatus.approved, CaseStatus.rejected):
        assert rules.inform(FAC, status=status) is CaseStatus.informed
    else:
        with pytest.raises(IllegalTransition):
            rules.inform(FAC, status=status)


def test_every_status_waits_for_a_step_except_the_last() -> None:
    assert {s for s, step in rules.WAITING_FOR.items() if step is None} == {CaseStatus.informed}
    assert set(rules.WAITING_FOR) == set(CaseStatus)


ALLOWED_ROLE = {
    "record": Role.facilitator,
    "review": Role.supervisor,
    "resubmit": Role.facilitator,
    "refer": Role.manager,
    "decide": Role.programme_owner,
    "inform": Role.facilitator,
}


def _attempt(step: str, principal: Principal) -> object:
    if step == "record":
        return rules.can_record(principal)
    if step == "review":
        return rules.review(principal, status=SubmissionStatus.submitted, submitted_by="someone else",
                            decision=ReviewDecision.approve, reason="")
    if step == "resubmit":
        return rules.resubmit(principal, status=SubmissionStatus.returned)
    if step == "refer":
        return rules.refer(principal, status=CaseStatus.open, programme_code="PKH", partner_code=None)
    if step == "decide":
        return rules.decide(principal, status=CaseStatus.referred, target=PKH, decision=CaseDecision.approve,
                            reason="r")
    return rules.inform(principal, status=CaseStatus.approved)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("step", list(ALLOWED_ROLE))
def test_each_step_belongs_to_one_role(step: str, role: Role) -> None:
    principal = Principal("p", role, RegionScope.national(), programmes=frozenset({"PKH"}))
    if role is ALLOWED_ROLE[step]:
        _attempt(step, principal)
    else:
        with pytest.raises(Forbidden):
            _attempt(step, principal)
