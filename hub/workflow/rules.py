"""The SLRT workflow as a pure state machine: which step may follow which, and who may take it.

No I/O here. The service loads the rows, asks these functions, and only then writes; a refusal
raises before anything changes. Out-of-scope rows never reach these functions: the scoped
repository reports them as ``NOT_FOUND``, exactly like rows that do not exist. The one exception is
programme scope (a programme owner acting on another programme's case), which is checked here and
refused with the same ``NOT_FOUND`` the repository would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from auth.principal import Principal, Role
from hub.errors import Forbidden, HubError, Invalid, NotFound
from hub.models.workflow import CaseStatus, SubmissionStatus


class IllegalTransition(HubError):
    code = "ILLEGAL_TRANSITION"


class ReviewDecision(StrEnum):
    approve = "approve"
    reject = "reject"
    return_ = "return"


class CaseDecision(StrEnum):
    approve = "approve"
    reject = "reject"
    further_study = "further_study"


class CaseStep(StrEnum):
    """The step a case is waiting for; each has its own SLA (``Settings.sla_hours``)."""

    refer = "refer"  # open: the manager must refer it
    decide = "decide"  # referred: the programme owner must decide
    study = "study"  # further_study: the programme owner must conclude the study
    inform = "inform"  # approved / rejected: the facilitator must tell the household


SUBMISSION_TRANSITIONS: dict[SubmissionStatus, dict[ReviewDecision, SubmissionStatus]] = {
    SubmissionStatus.submitted: {
        ReviewDecision.approve: SubmissionStatus.approved,
        ReviewDecision.reject: SubmissionStatus.rejected,
        ReviewDecision.return_: SubmissionStatus.returned,
    },
}

CASE_DECISIONS: dict[CaseStatus, dict[CaseDecision, CaseStatus]] = {
    CaseStatus.referred: {
        CaseDecision.approve: CaseStatus.approved,
        CaseDecision.reject: CaseStatus.rejected,
        CaseDecision.further_study: CaseStatus.further_study,
    },
    CaseStatus.further_study: {
        CaseDecision.approve: CaseStatus.approved,
        CaseDecision.reject: CaseStatus.rejected,
    },
}

# The step a case in each status waits for; ``informed`` is terminal and waits for nothing.
WAITING_FOR: dict[CaseStatus, CaseStep | None] = {
    CaseStatus.open: CaseStep.refer,
    CaseStatus.referred: CaseStep.decide,
    CaseStatus.further_study: CaseStep.study,
    CaseStatus.approved: CaseStep.inform,
    CaseStatus.rejected: CaseStep.inform,
    CaseStatus.informed: None,
}


def _require_role(principal: Principal, role: Role, action: str) -> None:
    if principal.role is not role:
        raise Forbidden(f"only a {role.value} may {action}")


def _require_reason(reason: str, action: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise Invalid(f"a reason is required to {action}", field="reason")
    return cleaned


# Submissions: needs, complaints and proposals.

def can_record(principal: Principal) -> None:
    """Facilitators record; the region check is the scoped read of the household."""
    _require_role(principal, Role.facilitator, "record needs, complaints and proposals")


def review(
    principal: Principal, *, status: SubmissionStatus, submitted_by: str, decision: ReviewDecision, reason: str
) -> tuple[SubmissionStatus, str]:
    """The status after a supervisor's review, and the cleaned reason."""
    _require_role(principal, Role.supervisor, "review submissions")
    if submitted_by == principal.subject:
        raise Forbidden("a supervisor may not review their own submission")
    target = SUBMISSION_TRANSITIONS.get(status, {}).get(decision)
    if target is None:
        raise IllegalTransition(f"a {status.value} submission cannot be given the decision '{decision.value}'")
    if decision is not ReviewDecision.approve:
        reason = _require_reason(reason, decision.value)
    return target, reason.strip()


def resubmit(principal: Principal, *, status: SubmissionStatus) -> SubmissionStatus:
    _require_role(principal, Role.facilitator, "resubmit")
    if status is not SubmissionStatus.returned:
        raise IllegalTransition(f"only a returned submission can be resubmitted; this one is {status.value}")
    return SubmissionStatus.submitted


# Cases: referral of an approved need or complaint.

@dataclass(frozen=True, slots=True)
class CaseTarget:
    """Whom a case is referred to, by catalogue code. Exactly one of the two is set."""

    programme_code: str | None
    partner_code: str | None

    @property
    def owner_code(self) -> str | None:
        return self.programme_code or self.partner_code


def ensure_case_visible(principal: Principal, target: CaseTarget) -> None:
    """A programme owner sees only the cases of their programmes (or partner codes)."""
    if principal.role is Role.programme_owner and target.owner_code not in principal.programmes:
        raise NotFound("Case not found")


def refer(principal: Principal, *, status: CaseStatus, programme_code: str | None,
          partner_code: str | None) -> CaseStatus:
    _require_role(principal, Role.manager, "refer a case")
    if status is not CaseStatus.open:
        raise IllegalTransition(f"only an open case can be referred; this one is {status.value}")
    if (programme_code is None) == (partner_code is None):
        raise Invalid("refer to exactly one of a programme or a partner", field="programmeCode")
    return CaseStatus.referred


def decide(principal: Principal, *, status: CaseStatus, target: CaseTarget, decision: CaseDecision,
           reason: str) -> tuple[CaseStatus, str]:
    ensure_case_visible(principal, target)
    _require_role(principal, Role.programme_owner, "decide on a case")
    to = CASE_DECISIONS.get(status, {}).get(decision)
    if to is None:
        if status is CaseStatus.open:
            raise IllegalTransition("the case has not been referred yet")
        raise IllegalTransition(f"a {status.value} case cannot be given the decision '{decision.value}'")
    return to, _require_reason(reason, decision.value)


def inform(principal: Principal, *, status: CaseStatus) -> CaseStatus:
    _require_role(principal, Role.facilitator, "record that the household was informed")
    if status not in (CaseStatus.approved, CaseStatus.rejected):
        raise IllegalTransition(f"the household can be informed only of a decision; the case is {status.value}")
    return CaseStatus.informed
