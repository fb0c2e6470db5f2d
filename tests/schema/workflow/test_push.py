"""Ministry pushes over HTTP: per-item outcomes, idempotency, and NIKs not yet in the registry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.models import Enrolment, EnrolmentStatus, IdempotencyKey, PendingEnrolment, Person, Programme, ProgrammeRegion
from schema.ids import parse_global_id, to_global_id
from tests.fixtures.factories import make_person
from tests.schema.workflow.conftest import FACILITATOR, MINISTRY, SUPERVISOR, Api, World, count, q, reload

UPSERT = q("""mutation($programme: String!, $items: [EnrolmentItemInput!]!, $key: String!) {
  upsertEnrolments(programme: $programme, items: $items, idempotencyKey: $key) { __typename
    ... on UpsertEnrolmentsPayload { programmeCode replayed
      results { index sourceRecordId outcome code message enrolmentId } }
    ERROR } }""")
UPSERT_PROGRAMME = q("""mutation($input: ProgrammeInput!, $key: String!) {
  upsertProgramme(input: $input, idempotencyKey: $key) { __typename
    ... on UpsertProgrammePayload { programmeCode outcome programmeId replayed } ERROR } }""")
PROPOSE_PERSON = q("""mutation($input: ProposePersonInput!) { proposePerson(input: $input) {
  ... on ProposalPayload { proposal { id } } ERROR } }""")
REVIEW = q("""mutation($input: ReviewInput!) { reviewSubmission(input: $input) {
  ... on ReviewPayload { personId } ERROR } }""")

UNKNOWN_NIK = "3314016012850007"  # valid, nobody in the registry has it


async def push(api: Api, items: list[dict[str, Any]], key: str, principal: Principal = MINISTRY,
               programme: str = "PKH") -> dict[str, Any]:
    body = await api(principal, UPSERT, programme=programme, items=items, key=key)
    return body["data"]["upsertEnrolments"]  # type: ignore[no-any-return]


def outcomes(result: dict[str, Any]) -> list[tuple[int, str | None, str, str | None]]:
    return [(r["index"], r["sourceRecordId"], r["outcome"], r["code"]) for r in result["results"]]


async def test_each_item_gets_its_own_outcome(api: Api, world: World, session: AsyncSession) -> None:
    result = await push(api, [
        {"sourceRecordId": "pkh-1", "nik": world.head.nik},
        {"sourceRecordId": "pkh-2", "nik": "12345"},
        {"sourceRecordId": "pkh-3", "nik": UNKNOWN_NIK, "status": "SUSPENDED"},
        {"sourceRecordId": "pkh-4", "nik": world.head.nik, "periodStart": "2026-02-01", "periodEnd": "2026-01-01"},
        {"sourceRecordId": "pkh-1", "nik": world.head.nik},
    ], key="k-1")
    assert (result["__typename"], result["programmeCode"], result["replayed"]) == (
        "UpsertEnrolmentsPayload", "PKH", False)
    assert outcomes(result) == [
        (0, "pkh-1", "CREATED", None),
        (1, "pkh-2", "REJECTED", "INVALID_NIK"),
        (2, "pkh-3", "PENDING", "UNKNOWN_NIK"),
        (3, "pkh-4", "REJECTED", "INVALID_INPUT"),
        (4, "pkh-1", "REJECTED", "INVALID_INPUT"),
    ]
    assert result["results"][1]["message"] == "NIK must be exactly 16 digits; got 5"
    enrolment = await reload(session, Enrolment, parse_global_id(result["results"][0]["enrolmentId"])[1])
    assert (enrolment.programme_id, enrolment.person_id, enrolment.household_id, enrolment.status) == (
        world.pkh.id, world.head.id, world.household.id, EnrolmentStatus.active)
    assert (enrolment.source_system, enrolment.source_record_id, enrolment.village_code) == (
        "kemensos-pkh", "pkh-1", world.household.village_code)
    assert await count(session, Enrolment) == 1
    pending = (await session.execute(select(PendingEnrolment))).scalars().one()
    assert (pending.nik, pending.reason, pending.status, pending.matched_at) == (
        UNKNOWN_NIK, "unknown_nik", EnrolmentStatus.suspended, None)
    assert (pending.province_code, pending.regency_code, pending.district_code) == ("33", "33.14", "33.14.01")


async def test_second_push_updates_then_reports_unchanged(api: Api, world: World, session: AsyncSession) -> None:
    item = {"sourceRecordId": "pkh-1", "nik": world.head.nik}
    await push(api, [item], key="a")
    assert outcomes(await push(api, [item | {"status": "ENDED"}], key="b")) == [(0, "pkh-1", "UPDATED", None)]
    assert outcomes(await push(api, [item | {"status": "ENDED"}], key="c")) == [(0, "pkh-1", "UNCHANGED", None)]
    enrolments = (await session.execute(select(Enrolment))).scalars().all()
    assert [(e.source_record_id, e.status) for e in enrolments] == [("pkh-1", EnrolmentStatus.ended)]


async def test_a_retry_returns_the_stored_response_and_changes_nothing(api: Api, world: World,
                                                                      session: AsyncSession) -> None:
    items = [{"sourceRecordId": "pkh-1", "nik": world.head.nik}, {"sourceRecordId": "pkh-2", "nik": UNKNOWN_NIK}]
    first = await push(api, items, key="retry-me")
    enrolment = await reload(session, Enrolment, parse_global_id(first["results"][0]["enrolmentId"])[1])
    enrolment.status = EnrolmentStatus.suspended  # changed since: a replay must not re-apply the push
    await session.flush()
    again = await push(api, items, key="retry-me")
    assert again == first | {"replayed": True}
    assert (await reload(session, Enrolment, enrolment.id)).status is EnrolmentStatus.suspended
    assert await count(session, Enrolment) == 1
    assert await count(session, PendingEnrolment) == 1


async def test_the_same_key_with_another_payload_is_a_conflict(api: Api, world: World,
                                                               session: AsyncSession) -> None:
    await push(api, [{"sourceRecordId": "pkh-1", "nik": world.head.nik}], key="k")
    clash = await push(api, [{"sourceRecordId": "pkh-1", "nik": world.head.nik, "status": "ENDED"}], key="k")
    assert clash == {"__typename": "UserError", "code": "IDEMPOTENCY_CONFLICT", "field": "idempotencyKey",
                     "message": "this idempotencyKey was used with a different request"}
    assert (await session.execute(select(Enrolment.status))).scalars().all() == [EnrolmentStatus.active]


async def test_keys_belong_to_one_caller(api: Api, world: World, session: AsyncSession) -> None:
    other = Principal("bpjs", Role.ministry_system, RegionScope.national(), programmes=frozenset({"PKH"}),
                      client_id="bpjs-pkh")
    await push(api, [{"sourceRecordId": "pkh-1", "nik": world.head.nik}], key="shared")
    result = await push(api, [{"sourceRecordId": "x-9", "nik": world.head.nik}], key="shared", principal=other)
    assert (result["replayed"], outcomes(result)) == (False, [(0, "x-9", "CREATED", None)])


async def test_only_ministry_systems_push_and_only_their_programmes(api: Api, world: World,
                                                                    session: AsyncSession) -> None:
    item = [{"sourceRecordId": "pkh-1", "nik": world.head.nik}]
    assert (await push(api, item, key="k", principal=SUPERVISOR))["code"] == "FORBIDDEN"
    assert await push(api, item, key="k", programme="BPNT") == {
        "__typename": "UserError", "code": "FORBIDDEN", "field": "programme",
        "message": "this system may not push for that programme"}
    assert await count(session, Enrolment) == 0
    assert await count(session, IdempotencyKey) == 0


async def test_more_than_a_thousand_items_is_refused_whole(api: Api, world: World, session: AsyncSession) -> None:
    items = [{"sourceRecordId": f"r{i}", "nik": world.head.nik} for i in range(1001)]
    assert await push(api, items, key="big") == {"__typename": "UserError", "code": "INVALID_INPUT",
                                                  "field": "items", "message": "at most 1000 items per push"}
    assert await count(session, IdempotencyKey) == 0
    assert await count(session, Enrolment) == 0


async def test_a_nik_carried_by_two_persons_is_not_guessed(api: Api, world: World, session: AsyncSession) -> None:
    await make_person(session, world.other_household, nik=world.head.nik)
    result = await push(api, [{"sourceRecordId": "pkh-1", "nik": world.head.nik}], key="k")
    assert outcomes(result) == [(0, "pkh-1", "REJECTED", "AMBIGUOUS_NIK")]
    assert await count(session, Enrolment) == 0


async def test_a_pending_item_is_enrolled_when_the_person_is_registered(api: Api, world: World,
                                                                        session: AsyncSession) -> None:
    await push(api, [{"sourceRecordId": "pkh-9", "nik": UNKNOWN_NIK, "periodStart": "2026-01-01"}], key="k")
    proposal = await api(FACILITATOR, PROPOSE_PERSON, input={
        "householdId": to_global_id("Household", world.household.id), "nik": UNKNOWN_NIK, "name": "Siti"})
    reviewed = await api(SUPERVISOR, REVIEW, input={"id": proposal["data"]["proposePerson"]["proposal"]["id"],
                                                     "decision": "APPROVE"})
    person_id = parse_global_id(reviewed["data"]["reviewSubmission"]["personId"])[1]
    enrolment = (await session.execute(select(Enrolment))).scalars().one()
    assert (enrolment.person_id, enrolment.household_id, enrolment.source_record_id, str(enrolment.period_start)) == (
        person_id, world.household.id, "pkh-9", "2026-01-01")
    pending = (await session.execute(select(PendingEnrolment))).scalars().one()
    assert (pending.enrolment_id, pending.matched_at is not None) == (enrolment.id, True)
    assert (await reload(session, Person, person_id)).nik == UNKNOWN_NIK


# Programme catalogue.

PROGRAMME = {"code": "PKH", "name": "Program Keluarga Harapan", "ownerAgency": "Kemensos", "level": "CENTRAL",
             "targetUnit": "HOUSEHOLD", "decileMin": 1, "decileMax": 4, "regionCodes": ["33.14"]}


async def test_upsert_programme_creates_updates_and_replays(api: Api, world: World, session: AsyncSession) -> None:
    await session.delete(world.pkh)
    await session.flush()
    created = (await api(MINISTRY, UPSERT_PROGRAMME, input=PROGRAMME, key="p1"))["data"]["upsertProgramme"]
    assert (created["programmeCode"], created["outcome"], created["replayed"]) == ("PKH", "CREATED", False)
    programme = await reload(session, Programme, parse_global_id(created["programmeId"])[1])
    assert (programme.name, programme.decile_min, programme.decile_max) == ("Program Keluarga Harapan", 1, 4)
    regions = (await session.execute(select(ProgrammeRegion.region_code))).scalars().all()
    assert regions == ["33.14"]

    replay = (await api(MINISTRY, UPSERT_PROGRAMME, input=PROGRAMME, key="p1"))["data"]["upsertProgramme"]
    assert replay == created | {"replayed": True}
    same = (await api(MINISTRY, UPSERT_PROGRAMME, input=PROGRAMME, key="p2"))["data"]["upsertProgramme"]
    assert same["outcome"] == "UNCHANGED"
    renamed = await api(MINISTRY, UPSERT_PROGRAMME, input=PROGRAMME | {"name": "PKH Plus"}, key="p3")
    assert renamed["data"]["upsertProgramme"]["outcome"] == "UPDATED"
    assert (await reload(session, Programme, programme.id)).name == "PKH Plus"
    clash = await api(MINISTRY, UPSERT_PROGRAMME, input=PROGRAMME | {"name": "Other"}, key="p1")
    assert clash["data"]["upsertProgramme"]["code"] == "IDEMPOTENCY_CONFLICT"


async def test_upsert_programme_refusals(api: Api, world: World, session: AsyncSession) -> None:
    unknown_region = await api(MINISTRY, UPSERT_PROGRAMME, input=PROGRAMME | {"regionCodes": ["99.99"]}, key="x")
    assert unknown_region["data"]["upsertProgramme"] == {"__typename": "UserError", "code": "INVALID_INPUT",
                                                         "field": "regionCodes",
                                                         "message": "unknown region codes: 99.99"}
    band = await api(MINISTRY, UPSERT_PROGRAMME, input=PROGRAMME | {"decileMin": 5, "decileMax": 2}, key="y")
    assert band["data"]["upsertProgramme"]["code"] == "INVALID_INPUT"
    other = await api(MINISTRY, UPSERT_PROGRAMME, input=PROGRAMME | {"code": "BPNT"}, key="z")
    assert other["data"]["upsertProgramme"]["code"] == "FORBIDDEN"
    assert (await reload(session, Programme, world.pkh.id)).name == "Program Keluarga Harapan"
    assert await count(session, ProgrammeRegion) == 0
    assert await count(session, IdempotencyKey) == 0


async def test_statements_per_push_do_not_grow_with_the_items(api: Api, world: World, session: AsyncSession,
                                                              statements: Any) -> None:
    persons = [await make_person(session, world.household) for _ in range(20)]

    async def statements_for(items: list[dict[str, Any]], key: str) -> int:
        statements.statements.clear()
        result = await push(api, items, key=key)
        assert {r["outcome"] for r in result["results"]} == {"CREATED"}
        return len(statements.statements)

    one = await statements_for([{"sourceRecordId": "one", "nik": persons[0].nik}], "k1")
    twenty = await statements_for([{"sourceRecordId": f"r{i}", "nik": p.nik} for i, p in enumerate(persons)], "k2")
    # set scope, claim key, programme, persons, enrolments, pending, insert enrolments, store response (2)
    assert one == twenty == 9 + 1, statements.statements  # + the access-log entry of the returned enrolments


async def test_an_idempotency_key_must_be_short_and_not_blank(api: Api, world: World, session: AsyncSession) -> None:
    item = [{"sourceRecordId": "pkh-1", "nik": world.head.nik}]
    for key in ("  ", "k" * 129):
        assert await push(api, item, key=key) == {
            "__typename": "UserError", "code": "INVALID_INPUT", "field": "idempotencyKey",
            "message": "idempotencyKey must be 1 to 128 characters"}
    assert await count(session, Enrolment) == 0
