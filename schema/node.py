"""``node(id:)``: any object with a global ID, fetched through the same scoped loaders as everywhere else.

Each type registers how to load itself by UUID. A well-formed ID of a type that is out of the
caller's scope, or that does not exist, both give ``null``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from hub.errors import Invalid
from hub.workflow.schemas import SubmissionKind
from schema import loaders
from schema.context import Context
from schema.ids import parse_global_id
from schema.types.common import Node
from schema.types.programme import Enrolment, Partner, Programme
from schema.types.registry import Family, Household, Person
from schema.workflow import loaders as workflow_loaders
from schema.workflow.types import Case, Complaint, Need, Proposal, Review

NodeResolver = Callable[[Context, uuid.UUID], Awaitable[Node | None]]
_resolvers: dict[str, NodeResolver] = {}


def register_node(type_name: str, resolver: NodeResolver) -> None:
    """Make ``node(id:)`` answer IDs of ``type_name`` (the GraphQL type name inside the global ID)."""
    _resolvers[type_name] = resolver


async def resolve_node(context: Context, global_id: str) -> Node | None:
    type_name, pk = parse_global_id(global_id)
    resolver = _resolvers.get(type_name)
    if resolver is None:
        raise Invalid("not a valid ID", code="INVALID_ID")
    return await resolver(context, pk)


def _via(loader: Callable[[Context], Any], convert: Callable[[Any, Context], Node]) -> NodeResolver:
    async def resolve(context: Context, pk: uuid.UUID) -> Node | None:
        row = await loader(context).load(pk)
        return convert(row, context) if row is not None else None

    return resolve


register_node("Household", _via(loaders.households, lambda row, _: Household.from_model(row)))
register_node("Person", _via(loaders.persons, lambda row, context: Person.from_model(row, context.principal)))
register_node("Family", _via(loaders.families, lambda row, _: Family.from_model(row)))
register_node("Enrolment", _via(loaders.enrolments, lambda row, _: Enrolment.from_model(row)))
register_node("Programme", _via(loaders.programmes, lambda row, _: Programme.from_model(row)))
register_node("Partner", _via(loaders.partners, lambda row, _: Partner.from_model(row)))
register_node("Case", _via(workflow_loaders.cases, lambda row, _: Case.from_model(row)))
register_node("Need", _via(lambda c: workflow_loaders.submissions(c, SubmissionKind.need),
                           lambda row, _: Need.from_model(row)))
register_node("Complaint", _via(lambda c: workflow_loaders.submissions(c, SubmissionKind.complaint),
                                lambda row, _: Complaint.from_model(row)))
register_node("Proposal", _via(lambda c: workflow_loaders.submissions(c, SubmissionKind.proposal),
                               lambda row, _: Proposal.from_model(row)))
register_node("Review", _via(workflow_loaders.reviews, lambda row, _: Review.from_model(row)))
