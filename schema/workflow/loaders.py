"""Per-request DataLoaders of the workflow types: one query per batch, whatever the page size."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from hub.models import CaseEvent, Review
from hub.workflow import service as workflow_service
from schema.context import Context, Info
from schema.workflow.boundary import read_session

CASE_HISTORY = "workflow.case_history"
REVIEWS = "workflow.reviews"


def case_history_loader(info: Info) -> DataLoader[uuid.UUID, list[CaseEvent]]:
    context: Context = info.context
    loader = context.loaders.get(CASE_HISTORY)
    if loader is None:
        async def load(case_ids: Sequence[uuid.UUID]) -> list[list[CaseEvent]]:
            async with read_session(context) as (session, principal):
                grouped = await workflow_service.case_events(session, principal, list(case_ids))
            return [grouped.get(id_, []) for id_ in case_ids]

        loader = context.loaders[CASE_HISTORY] = DataLoader(load_fn=load)
    return loader


def reviews_loader(info: Info) -> DataLoader[uuid.UUID, list[Review]]:
    context: Context = info.context
    loader = context.loaders.get(REVIEWS)
    if loader is None:
        async def load(subject_ids: Sequence[uuid.UUID]) -> list[list[Review]]:
            async with read_session(context) as (session, principal):
                grouped = await workflow_service.reviews_of(session, principal, list(subject_ids))
            return [grouped.get(id_, []) for id_ in subject_ids]

        loader = context.loaders[REVIEWS] = DataLoader(load_fn=load)
    return loader
