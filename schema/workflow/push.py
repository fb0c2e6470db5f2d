"""Ministry pushes: programme catalogue entries and enrolments, idempotent per key."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from hub.push import service as push_service
from hub.push.schemas import MAX_ITEMS, EnrolmentPushResult, ProgrammePushResult
from schema.context import Info
from schema.errors import ErrorCode, UserError
from schema.ids import to_global_id
from schema.workflow.boundary import run_mutation
from schema.workflow.enums import EnrolmentStatus, ProgrammeLevel, TargetUnit


@strawberry.enum(description="What happened to one pushed item.")
class PushOutcome(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    PENDING = "pending"
    REJECTED = "rejected"


@strawberry.input(description="One enrolment as your system knows it. `sourceRecordId` is your own stable record "
                              "id: pushing it again updates the same enrolment.")
class EnrolmentItemInput:
    source_record_id: str
    nik: str = strawberry.field(description="16-digit NIK of the enrolled person.")
    status: EnrolmentStatus = EnrolmentStatus.ACTIVE
    period_start: date | None = None
    period_end: date | None = None


@strawberry.input(description="A programme catalogue entry your system owns.")
class ProgrammeInput:
    code: str = strawberry.field(description="Catalogue code, e.g. `PKH`; your credentials must name it.")
    name: str
    owner_agency: str
    level: ProgrammeLevel
    target_unit: TargetUnit
    eligibility: str = ""
    decile_min: int | None = None
    decile_max: int | None = None
    region_codes: list[str] | None = strawberry.field(
        default=None, description="Where it runs (any level). Empty list: nationally. Omitted: unchanged.")


@strawberry.type(description="The outcome of one pushed item.")
class PushItemResult:
    index: int = strawberry.field(description="Position of the item in the pushed list.")
    source_record_id: str | None
    outcome: PushOutcome
    code: ErrorCode | None = strawberry.field(
        description="Why the item was REJECTED (e.g. INVALID_NIK), or UNKNOWN_NIK when it is PENDING.")
    message: str | None
    enrolment_id: strawberry.ID | None = strawberry.field(description="The enrolment created, updated or unchanged.")


@strawberry.type(description="Per-item outcomes, in input order. A PENDING item names a NIK not (yet) in the "
                             "registry: it is kept and enrolled automatically when the person is registered.")
class UpsertEnrolmentsPayload:
    programme_code: str
    replayed: bool = strawberry.field(
        description="True when this is the stored response to an earlier request with the same idempotency key.")
    results: list[PushItemResult]

    @classmethod
    def from_result(cls, result: EnrolmentPushResult) -> UpsertEnrolmentsPayload:
        return cls(programme_code=result.programme_code, replayed=result.replayed, results=[
            PushItemResult(index=r.index, source_record_id=r.source_record_id, outcome=PushOutcome(r.outcome.value),
                           code=ErrorCode(r.error_code) if r.error_code else None, message=r.message,
                           enrolment_id=to_global_id("Enrolment", r.enrolment_id) if r.enrolment_id else None)
            for r in result.results])


@strawberry.type(description="What happened to the catalogue entry.")
class UpsertProgrammePayload:
    programme_code: str
    outcome: PushOutcome
    programme_id: strawberry.ID
    replayed: bool

    @classmethod
    def from_result(cls, result: ProgrammePushResult) -> UpsertProgrammePayload:
        return cls(programme_code=result.code, outcome=PushOutcome(result.outcome.value),
                   programme_id=to_global_id("Programme", result.programme_id), replayed=result.replayed)


UpsertEnrolmentsResult = Annotated[UpsertEnrolmentsPayload | UserError, strawberry.union("UpsertEnrolmentsResult")]
UpsertProgrammeResult = Annotated[UpsertProgrammePayload | UserError, strawberry.union("UpsertProgrammeResult")]


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: (v.value if isinstance(v := getattr(obj, f.name), Enum) else
                     v.isoformat() if isinstance(v, date) else v) for f in fields(obj)}


IDEMPOTENCY = ("Your unique key for this request. Retrying with the same key and the same payload returns the "
               "first response; the same key with a different payload fails with IDEMPOTENCY_CONFLICT.")


@strawberry.type
class PushMutation:
    @strawberry.mutation(description=f"Ministry system: create or update up to {MAX_ITEMS} enrolments of one of "
                                     "your programmes. Each item gets its own outcome; a bad item never fails the "
                                     "others.")
    async def upsert_enrolments(self, info: Info, programme: str, items: list[EnrolmentItemInput],
                                idempotency_key: Annotated[str, strawberry.argument(description=IDEMPOTENCY)],
                                ) -> UpsertEnrolmentsResult:
        async def op(session: AsyncSession, principal: Principal) -> UpsertEnrolmentsPayload:
            result = await push_service.upsert_enrolments(session, principal, programme,
                                                          [_plain(i) for i in items], idempotency_key)
            return UpsertEnrolmentsPayload.from_result(result)
        return await run_mutation(info, op)

    @strawberry.mutation(description="Ministry system: create or update one of your programmes in the catalogue.")
    async def upsert_programme(self, info: Info, input: ProgrammeInput,
                               idempotency_key: Annotated[str, strawberry.argument(description=IDEMPOTENCY)],
                               ) -> UpsertProgrammeResult:
        async def op(session: AsyncSession, principal: Principal) -> UpsertProgrammePayload:
            result = await push_service.upsert_programme(session, principal, _plain(input), idempotency_key)
            return UpsertProgrammePayload.from_result(result)
        return await run_mutation(info, op)
