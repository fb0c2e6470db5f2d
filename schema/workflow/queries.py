"""Workflow queries: what is waiting for whom, and a case with its history."""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.errors import NotFound
from hub.models import CaseStatus as CaseStatusModel
from hub.models import SubmissionStatus as SubmissionStatusModel
from hub.workflow import service as workflow_service
from hub.workflow.schemas import CaseFilter, SubmissionFilter, SubmissionKind, validated
from schema.context import Info
from schema.ids import from_global_id
from schema.workflow.boundary import read_session
from schema.workflow.types import Case, CaseStatus, Complaint, Need, Proposal, SubmissionStatus

FIRST = "How many to return, newest first: 1 to 100 (default 50)."


def _submission_filter(status: SubmissionStatus | None, first: int) -> SubmissionFilter:
    return validated(SubmissionFilter, status=SubmissionStatusModel(status.value) if status else None,
                     first=first)


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="Programme needs in your regions, newest first.")
    async def needs(self, info: Info, status: SubmissionStatus | None = None,
                    first: Annotated[int, strawberry.argument(description=FIRST)] = 50) -> list[Need]:
        async with read_session(info.context) as (session, principal):
            rows = await workflow_service.list_submissions(session, principal, SubmissionKind.need,
                                                           _submission_filter(status, first))
        return [Need.from_model(r) for r in rows]

    @strawberry.field(description="Complaints in your regions, newest first.")
    async def complaints(self, info: Info, status: SubmissionStatus | None = None,
                         first: Annotated[int, strawberry.argument(description=FIRST)] = 50) -> list[Complaint]:
        async with read_session(info.context) as (session, principal):
            rows = await workflow_service.list_submissions(session, principal, SubmissionKind.complaint,
                                                           _submission_filter(status, first))
        return [Complaint.from_model(r) for r in rows]

    @strawberry.field(description="Proposals to add to or correct the registry in your regions, newest first.")
    async def proposals(self, info: Info, status: SubmissionStatus | None = None,
                        first: Annotated[int, strawberry.argument(description=FIRST)] = 50) -> list[Proposal]:
        async with read_session(info.context) as (session, principal):
            rows = await workflow_service.list_submissions(session, principal, SubmissionKind.proposal,
                                                           _submission_filter(status, first))
        return [Proposal.from_model(r) for r in rows]

    @strawberry.field(description="Cases in your regions (for a programme owner: of your programmes), newest "
                                  "first. `overdue: true` keeps only cases whose current step is past its due date.")
    async def cases(self, info: Info, status: CaseStatus | None = None, overdue: bool | None = None,
                    first: Annotated[int, strawberry.argument(description=FIRST)] = 50) -> list[Case]:
        filter_ = validated(CaseFilter, status=CaseStatusModel(status.value) if status else None, overdue=overdue,
                            first=first)
        async with read_session(info.context) as (session, principal):
            rows = await workflow_service.list_cases(session, principal, filter_)
        return [Case.from_model(r) for r in rows]

    @strawberry.field(description="One case by its global ID, or null when it does not exist or is outside "
                                  "your regions or programmes.")
    async def case(self, info: Info, id: strawberry.ID) -> Case | None:
        case_id = from_global_id(id, "Case")
        async with read_session(info.context) as (session, principal):
            try:
                row = await workflow_service.get_case(session, principal, case_id)
            except NotFound:
                return None
        return Case.from_model(row)
