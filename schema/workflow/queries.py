"""Workflow queries: what is waiting for whom, and a case with its history, as Relay connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import strawberry

from hub.models import CaseStatus as CaseStatusModel
from hub.models import SubmissionStatus as SubmissionStatusModel
from hub.workflow import service as workflow_service
from hub.workflow.schemas import CaseFilter, CaseOrder, SubmissionFilter, SubmissionKind, SubmissionOrder, validated
from schema.context import Info
from schema.ids import from_global_id
from schema.types.common import After, Connection, First, connection, page_args
from schema.types.enums import value_of
from schema.workflow import loaders
from schema.workflow.boundary import read_session
from schema.workflow.types import (
    Case,
    CaseOrderBy,
    CaseStatus,
    Complaint,
    Need,
    Proposal,
    SubmissionOrderBy,
    SubmissionStatus,
)

T = TypeVar("T")

REGION_CODE = ("Only rows in this region, at any level: `33`, `33.14`, `33.14.01` or `33.14.01.2001`. It narrows "
               "your scope, never widens it.")


@strawberry.input(description="Narrow a list of needs, complaints or proposals. All given conditions must hold.")
class SubmissionFilterInput:
    status: SubmissionStatus | None = strawberry.field(
        default=None, description="Only submissions in this state; SUBMITTED is what awaits a supervisor's review.")
    region_code: str | None = strawberry.field(default=None, description=REGION_CODE)

    def to_filter(self) -> SubmissionFilter:
        return validated(SubmissionFilter, status=SubmissionStatusModel(value_of(self.status)) if self.status else None,
                         region_code=self.region_code)


@strawberry.input(description="Narrow a case list. All given conditions must hold.")
class CaseFilterInput:
    status: CaseStatus | None = strawberry.field(default=None, description="Only cases in this state.")
    overdue: bool | None = strawberry.field(
        default=None, description="True: only cases whose current step is past `dueAt`; false: only the others "
                                  "(including finished cases).")
    region_code: str | None = strawberry.field(default=None, description=REGION_CODE)

    def to_filter(self) -> CaseFilter:
        return validated(CaseFilter, status=CaseStatusModel(value_of(self.status)) if self.status else None,
                         overdue=self.overdue, region_code=self.region_code)


SubmissionFilterArg = Annotated[SubmissionFilterInput | None, strawberry.argument(
    description="Conditions the submissions must all meet.")]
SubmissionOrderArg = Annotated[SubmissionOrderBy, strawberry.argument(description="Sort order.")]


async def _submissions(info: Info, kind: SubmissionKind, first: int | None, after: str | None,
                       filter: SubmissionFilterInput | None, order_by: SubmissionOrderBy,
                       convert: Callable[[Any], T]) -> Connection[T]:
    page = page_args(info, first, after)
    wanted = (filter or SubmissionFilterInput()).to_filter()
    order = SubmissionOrder(value_of(order_by))
    async with read_session(info.context) as (session, principal):
        found = await workflow_service.list_submissions(session, principal, kind, wanted, order, page)

    async def count() -> int:
        async with read_session(info.context) as (session, principal):
            return await workflow_service.count_submissions(session, principal, kind, wanted)

    return connection([convert(r) for r in found.items], found, count)


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="Programme needs in your regions, a page at a time (`first` at most 100), "
                                  "newest first unless `orderBy` says otherwise.")
    async def needs(self, info: Info, first: First = None, after: After = None, filter: SubmissionFilterArg = None,
                    order_by: SubmissionOrderArg = SubmissionOrderBy.CREATED_AT_DESC) -> Connection[Need]:
        return await _submissions(info, SubmissionKind.need, first, after, filter, order_by, Need.from_model)

    @strawberry.field(description="Complaints in your regions, a page at a time (`first` at most 100), newest "
                                  "first unless `orderBy` says otherwise.")
    async def complaints(self, info: Info, first: First = None, after: After = None,
                         filter: SubmissionFilterArg = None,
                         order_by: SubmissionOrderArg = SubmissionOrderBy.CREATED_AT_DESC) -> Connection[Complaint]:
        return await _submissions(info, SubmissionKind.complaint, first, after, filter, order_by,
                                  Complaint.from_model)

    @strawberry.field(description="Proposals to add to or correct the registry in your regions, a page at a time "
                                  "(`first` at most 100), newest first unless `orderBy` says otherwise.")
    async def proposals(self, info: Info, first: First = None, after: After = None,
                        filter: SubmissionFilterArg = None,
                        order_by: SubmissionOrderArg = SubmissionOrderBy.CREATED_AT_DESC) -> Connection[Proposal]:
        return await _submissions(info, SubmissionKind.proposal, first, after, filter, order_by,
                                  Proposal.from_model)

    @strawberry.field(description="Cases in your regions (for a programme owner: of your programmes), a page at a "
                                  "time (`first` at most 100), newest first unless `orderBy` says otherwise. "
                                  "`filter: {overdue: true}` keeps only cases whose current step is past its due "
                                  "date; `orderBy: DUE_AT_ASC` puts the most urgent first.")
    async def cases(self, info: Info, first: First = None, after: After = None,
                    filter: Annotated[CaseFilterInput | None, strawberry.argument(
                        description="Conditions the cases must all meet.")] = None,
                    order_by: Annotated[CaseOrderBy, strawberry.argument(
                        description="Sort order.")] = CaseOrderBy.CREATED_AT_DESC) -> Connection[Case]:
        page = page_args(info, first, after)
        wanted = (filter or CaseFilterInput()).to_filter()
        order = CaseOrder(value_of(order_by))
        async with read_session(info.context) as (session, principal):
            found = await workflow_service.list_cases(session, principal, wanted, order, page)

        async def count() -> int:
            async with read_session(info.context) as (session, principal):
                return await workflow_service.count_cases(session, principal, wanted)

        return connection([Case.from_model(r) for r in found.items], found, count)

    @strawberry.field(description="One case by its global ID, or null when it does not exist or is outside "
                                  "your regions or programmes.")
    async def case(self, info: Info, id: strawberry.ID) -> Case | None:
        row = await loaders.cases(info.context).load(from_global_id(id, "Case"))
        return Case.from_model(row) if row else None
