"""Ministry systems push enrolments and catalogue entries; each push is idempotent per key.

One bad item never fails the others: each gets its own outcome. A NIK that names nobody in the
registry is not an error either: the item waits in ``pending_enrolments`` and ``match_pending``
enrols it when the person appears (a facilitator's new-person proposal is approved, or a sync).
Functions flush, never commit.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import Permission, can
from auth.principal import Principal
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.identity import InvalidIdentifier, parse_nik
from hub.models import Enrolment, PendingEnrolment, Person, Programme
from hub.push.repository import (
    EnrolmentRepository,
    IdempotencyRepository,
    NaturalKey,
    PendingRepository,
    ProgrammeRegionRepository,
)
from hub.push.schemas import (
    MAX_ITEMS,
    EnrolmentItem,
    EnrolmentPushResult,
    ItemResult,
    Outcome,
    ProgrammePushResult,
    ProgrammeUpsert,
)
from hub.workflow.repository import CatalogueRepository, PersonRepository

UNKNOWN_NIK = "unknown_nik"
MAX_KEY_LENGTH = 128


def _require_pusher(principal: Principal, programme_code: str) -> None:
    if not can(principal, Permission.push):
        raise Forbidden("only a ministry system may push")
    if programme_code not in principal.programmes:
        raise Forbidden("this system may not push for that programme", field="programme")


def _caller(principal: Principal) -> str:
    return principal.client_id or principal.subject


def request_hash(operation: str, body: Any) -> str:
    canonical = json.dumps({"operation": operation, "body": body}, sort_keys=True, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _replay(session: AsyncSession, principal: Principal, key: str, operation: str,
                  body: Any) -> dict[str, Any] | None:
    """The stored response for a retried key; ``None`` when this call is the first."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters", field="idempotencyKey")
    stored = await IdempotencyRepository(session).claim(_caller(principal), key, operation,
                                                        request_hash(operation, body))
    if stored is None:
        return None
    if stored.operation != operation or stored.request_hash != request_hash(operation, body):
        raise Conflict("this idempotencyKey was used with a different request", code="IDEMPOTENCY_CONFLICT",
                       field="idempotencyKey")
    assert stored.response is not None  # written in the same transaction as the claim
    return stored.response


def _rejected(index: int, source_record_id: str | None, code: str, message: str) -> ItemResult:
    return ItemResult(index=index, source_record_id=source_record_id, outcome=Outcome.rejected,
                      error_code=code, message=message)


def _region(person: Person) -> dict[str, str]:
    return {"province_code": person.province_code, "regency_code": person.regency_code,
            "district_code": person.district_code, "village_code": person.village_code}


def _enrol(session: AsyncSession, existing: Enrolment | None, programme_id: uuid.UUID, source_system: str,
           item: EnrolmentItem, person: Person, now: datetime) -> tuple[Outcome, Enrolment]:
    wanted: dict[str, Any] = {"person_id": person.id, "household_id": person.household_id,
                              "family_id": person.family_id, "status": item.status,
                              "period_start": item.period_start, "period_end": item.period_end}
    if existing is None:
        enrolment = Enrolment(id=uuid.uuid4(), programme_id=programme_id, source_system=source_system,
                              source_record_id=item.source_record_id, synced_at=now, **wanted,
                              **_region(person))
        session.add(enrolment)
        return Outcome.created, enrolment
    if all(getattr(existing, name) == value for name, value in wanted.items()):
        return Outcome.unchanged, existing
    for name, value in wanted.items():
        setattr(existing, name, value)
    # A person who moved takes the enrolment to the new region.
    for name, value in _region(person).items():
        setattr(existing, name, value)
    existing.synced_at = now
    return Outcome.updated, existing


async def upsert_enrolments(session: AsyncSession, principal: Principal, programme_code: str,
                            items: Sequence[Mapping[str, Any]], idempotency_key: str, *,
                            now: datetime | None = None) -> EnrolmentPushResult:
    """Create or update a programme's enrolments by the ministry's record ids, item by item.

    ``items`` are raw mappings so that one malformed item is rejected alone, with its index.
    """
    _require_pusher(principal, programme_code)
    if len(items) > MAX_ITEMS:
        raise Invalid(f"at most {MAX_ITEMS} items per push", field="items")
    body = {"programme": programme_code, "items": [dict(item) for item in items]}
    replayed = await _replay(session, principal, idempotency_key, "upsertEnrolments", body)
    if replayed is not None:
        return EnrolmentPushResult.model_validate(replayed | {"replayed": True})
    programme = await CatalogueRepository(session).programme(programme_code)
    if programme is None:
        raise NotFound("Programme not found", field="programme")
    at = now or datetime.now(UTC)
    source_system = _caller(principal)

    results: dict[int, ItemResult] = {}
    valid: list[tuple[int, EnrolmentItem, str]] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        record_id = raw.get("source_record_id")
        try:
            item = EnrolmentItem.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            results[index] = _rejected(index, record_id if isinstance(record_id, str) else None, "INVALID_INPUT",
                                       f"{'.'.join(map(str, error['loc']))}: {error['msg']}")
            continue
        try:
            nik = parse_nik(item.nik).nik
        except InvalidIdentifier as exc:
            results[index] = _rejected(index, item.source_record_id, exc.code, exc.message)
            continue
        if item.source_record_id in seen:
            results[index] = _rejected(index, item.source_record_id, "INVALID_INPUT",
                                       "sourceRecordId appears twice in this push")
            continue
        seen.add(item.source_record_id)
        valid.append((index, item, nik))

    keys: list[NaturalKey] = [(programme.id, source_system, item.source_record_id) for _, item, _ in valid]
    # Matching a push looks at the pusher's regions, not only at its programmes' households (for_push).
    persons = await PersonRepository(session, principal).by_niks((nik for _, _, nik in valid), push=True)
    existing = await EnrolmentRepository(session, principal).by_natural_keys(keys, push=True)
    pending = await PendingRepository(session, principal).by_natural_keys(keys, push=True)
    for index, item, nik in valid:
        key = (programme.id, source_system, item.source_record_id)
        matches = persons.get(nik, [])
        if len(matches) > 1:
            results[index] = _rejected(index, item.source_record_id, "AMBIGUOUS_NIK",
                                       "several persons in the registry carry this NIK; it is flagged for review")
            continue
        if not matches:
            results[index] = _keep_pending(session, principal, pending.get(key), programme.id, source_system,
                                           item, nik, index)
            continue
        outcome, enrolment = _enrol(session, existing.get(key), programme.id, source_system, item, matches[0], at)
        if (waiting := pending.get(key)) is not None and waiting.matched_at is None:
            waiting.matched_at, waiting.enrolment_id = at, enrolment.id
        results[index] = ItemResult(index=index, source_record_id=item.source_record_id, outcome=outcome,
                                    enrolment_id=enrolment.id)
    await session.flush()
    response = EnrolmentPushResult(programme_code=programme_code, results=[results[i] for i in sorted(results)])
    await IdempotencyRepository(session).store(_caller(principal), idempotency_key.strip(),
                                               response.model_dump(mode="json"))
    return response


def _keep_pending(session: AsyncSession, principal: Principal, row: PendingEnrolment | None,
                  programme_id: uuid.UUID, source_system: str, item: EnrolmentItem, nik: str,
                  index: int) -> ItemResult:
    parsed = parse_nik(nik)
    # The NIK's issuing district is the only region known before the person is.
    if not principal.scope.contains(parsed.district_code):
        return _rejected(index, item.source_record_id, "NOT_FOUND", "Person not found")
    values = {"nik": nik, "status": item.status, "period_start": item.period_start,
              "period_end": item.period_end, "reason": UNKNOWN_NIK}
    if row is None:
        session.add(PendingEnrolment(programme_id=programme_id, source_system=source_system,
                                     source_record_id=item.source_record_id, province_code=parsed.province_code,
                                     regency_code=parsed.regency_code, district_code=parsed.district_code,
                                     village_code=parsed.district_code, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.matched_at = None
        row.enrolment_id = None
    return ItemResult(index=index, source_record_id=item.source_record_id, outcome=Outcome.pending,
                      error_code="UNKNOWN_NIK", message="no person with this NIK yet; kept and matched later")


async def match_pending(session: AsyncSession, principal: Principal | None = None, *,
                        niks: Sequence[str] | None = None, now: datetime | None = None, batch: int = 500) -> int:
    """Enrol the pending items whose NIK now names exactly one person; returns how many were matched.

    Runs with the session's scope (set by the caller): the hub's job passes the system principal,
    an approved new-person proposal passes the supervisor and the new NIK.
    """
    principal = principal or Principal.system("match-pending")
    at = now or datetime.now(UTC)
    pending, enrolments = PendingRepository(session, principal), EnrolmentRepository(session, principal)
    matched = 0
    while True:
        rows = await pending.matchable(niks, limit=batch)
        if not rows:
            return matched
        persons = await PersonRepository(session, principal).by_niks(row.nik for row in rows)
        existing = await enrolments.by_natural_keys(
            (row.programme_id, row.source_system, row.source_record_id) for row in rows)
        for row in rows:
            item = EnrolmentItem(source_record_id=row.source_record_id, nik=row.nik, status=row.status,
                                 period_start=row.period_start, period_end=row.period_end)
            key = (row.programme_id, row.source_system, row.source_record_id)
            _, enrolment = _enrol(session, existing.get(key), row.programme_id, row.source_system, item,
                                  persons[row.nik][0], at)
            row.matched_at, row.enrolment_id = at, enrolment.id
        await session.flush()
        matched += len(rows)
        if len(rows) < batch:
            return matched


async def upsert_programme(session: AsyncSession, principal: Principal, data: Mapping[str, Any],
                           idempotency_key: str) -> ProgrammePushResult:
    """Create or update one catalogue entry the caller's system owns."""
    code = str(data.get("code", ""))
    _require_pusher(principal, code)
    try:
        upsert = ProgrammeUpsert.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(map(str, error["loc"]))
        raise Invalid(f"{field}: {error['msg']}", field=field) from exc
    replayed = await _replay(session, principal, idempotency_key, "upsertProgramme", dict(data))
    if replayed is not None:
        return ProgrammePushResult.model_validate(replayed | {"replayed": True})
    regions = ProgrammeRegionRepository(session)
    if upsert.region_codes and (unknown := await regions.unknown_regions(upsert.region_codes)):
        raise Invalid(f"unknown region codes: {', '.join(unknown[:5])}", field="regionCodes")
    catalogue = CatalogueRepository(session)
    programme = await catalogue.programme(upsert.code)
    fields = upsert.model_dump(exclude={"code", "region_codes"})
    outcome = Outcome.unchanged
    if programme is None:
        programme = Programme(id=uuid.uuid4(), code=upsert.code, source_system=_caller(principal), **fields)
        catalogue.add(programme)
        outcome = Outcome.created
    elif any(getattr(programme, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(programme, name, value)
        outcome = Outcome.updated
    await session.flush()
    if upsert.region_codes is not None and set(upsert.region_codes) != await regions.codes(programme.id):
        await regions.replace(programme.id, upsert.region_codes)
        outcome = Outcome.created if outcome is Outcome.created else Outcome.updated
    response = ProgrammePushResult(code=upsert.code, outcome=outcome, programme_id=programme.id)
    await IdempotencyRepository(session).store(_caller(principal), idempotency_key.strip(),
                                               response.model_dump(mode="json"))
    return response
