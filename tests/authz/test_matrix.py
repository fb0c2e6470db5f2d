"""Role x region matrix over every root field that returns personal or scoped data (issue 5).

For each caller in ``world.PRINCIPALS`` (inside and outside the data's regions, every role), what the
API returns equals the SQL oracle, and an out-of-scope read is byte-for-byte the answer for an id, NIK or
KK that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import Permission, can
from auth.principal import Principal, RegionScope, Role
from hub.models import OutboxMessage, OutboxStatus, Review, SubmissionStatus
from hub.sync.engine import region_columns
from tests.authz.world import (
    PRINCIPALS,
    VILLAGES,
    Caller,
    World,
    error_codes,
    gid,
    oracle,
    oracle_connectors,
    oracle_rows,
)

UNKNOWN_NIK = "3314014501909999"
UNKNOWN_KK = "3314010101209999"


def gids(kind: str, ids: set[uuid.UUID]) -> set[str]:
    return {gid(kind, i) for i in ids}


async def test_households_list_and_count(api: Caller, world: World, session: AsyncSession) -> None:
    query = """query($r: String) { households(first: 100, filter: {regionCode: $r}) {
      totalCount nodes { id members { id } families { id } } } }"""
    for who, principal in PRINCIPALS.items():
        households = await oracle(session, "households", principal)
        persons = await oracle(session, "persons", principal)
        for region in (None, "33", "33.14", "33.14.01", *VILLAGES):
            expected = {h for v, h in world.households.items() if region is None or v.startswith(region)}
            expected &= households
            body = await api(who, query, r=region)
            page = body["data"]["households"]
            assert {n["id"] for n in page["nodes"]} == gids("Household", expected), (who, region)
            assert page["totalCount"] == len(expected), (who, region)
            members = {m["id"] for n in page["nodes"] for m in n["members"]}
            assert members <= gids("Person", persons), who


async def test_single_reads_out_of_scope_look_absent(api: Caller, world: World, session: AsyncSession) -> None:
    cases = (("household", "Household", "households", world.households),
             ("node", "Household", "households", world.households),
             ("node", "Person", "persons", world.persons),
             ("node", "Family", "families", world.families))
    for who, principal in PRINCIPALS.items():
        for field, kind, table, ids in cases:
            query = f"query($id: ID!) {{ {field}(id: $id) {{ id }} }}"
            absent = await api(who, query, id=gid(kind, uuid.uuid4()))
            assert absent == {"data": {field: None}}
            visible = await oracle(session, table, principal)
            for row_id in ids.values():
                body = await api(who, query, id=gid(kind, row_id))
                if row_id in visible:
                    assert body == {"data": {field: {"id": gid(kind, row_id)}}}, (who, field, kind)
                else:
                    assert body == absent, (who, field, kind)


async def test_enrolment_nodes(api: Caller, world: World, session: AsyncSession) -> None:
    query = "query($id: ID!) { node(id: $id) { id } }"
    for who, principal in PRINCIPALS.items():
        visible = await oracle(session, "enrolments", principal)
        for row_id in world.ids["enrolments"]:
            body = await api(who, query, id=gid("Enrolment", row_id))
            assert body == {"data": {"node": {"id": gid("Enrolment", row_id)} if row_id in visible else None}}, who


async def test_person_by_nik_and_person_to_household(api: Caller, world: World, session: AsyncSession) -> None:
    query = """query($nik: String!) { personByNik(nik: $nik) {
      id household { id members { id } } family { id household { id } } } }"""
    for who, principal in PRINCIPALS.items():
        persons = await oracle(session, "persons", principal)
        absent = await api(who, query, nik=UNKNOWN_NIK)
        assert absent == {"data": {"personByNik": None}}
        for village in VILLAGES:
            body = await api(who, query, nik=world.niks[village])
            if world.persons[village] not in persons:
                assert body == absent, (who, village)
                continue
            person_id, household_id = gid("Person", world.persons[village]), gid("Household", world.households[village])
            family_id = gid("Family", world.families[village])
            assert body == {"data": {"personByNik": {
                "id": person_id, "household": {"id": household_id, "members": [{"id": person_id}]},
                "family": {"id": family_id, "household": {"id": household_id}}}}}, (who, village)


async def test_family_by_kk(api: Caller, world: World, session: AsyncSession) -> None:
    query = "query($kk: String!) { familyByKk(kk: $kk) { id members { id } household { id } } }"
    for who, principal in PRINCIPALS.items():
        families = await oracle(session, "families", principal)
        absent = await api(who, query, kk=UNKNOWN_KK)
        assert absent == {"data": {"familyByKk": None}}
        for village in VILLAGES:
            body = await api(who, query, kk=world.kks[village])
            if world.families[village] not in families:
                assert body == absent, (who, village)
            else:
                assert body == {"data": {"familyByKk": {
                    "id": gid("Family", world.families[village]),
                    "members": [{"id": gid("Person", world.persons[village])}],
                    "household": {"id": gid("Household", world.households[village])}}}}, (who, village)


ENROLMENTS = "enrolments(first: 100) { totalCount nodes { id household { id } person { id } } }"


def _expected_enrolments(rows: list[tuple[Any, ...]], programme_id: uuid.UUID, households: set[uuid.UUID],
                         persons: set[uuid.UUID]) -> dict[str, Any]:
    """A ministry system reads its programmes' enrolments but not the households or persons behind them."""
    mine = sorted((r for r in rows if r[1] == programme_id), key=lambda r: str(r[0]))
    return {"totalCount": len(mine), "nodes": {
        (gid("Enrolment", r[0]), gid("Household", r[2]) if r[2] in households else None,
         gid("Person", r[3]) if r[3] in persons else None) for r in mine}}


def _returned_enrolments(connection: dict[str, Any]) -> dict[str, Any]:
    return {"totalCount": connection["totalCount"], "nodes": {
        (n["id"], n["household"]["id"] if n["household"] else None, n["person"]["id"] if n["person"] else None)
        for n in connection["nodes"]}}


async def test_programme_enrolments_household_across_regions(api: Caller, world: World,
                                                              session: AsyncSession) -> None:
    by_id = f"query($id: ID!) {{ programme(id: $id) {{ code {ENROLMENTS} }} }}"
    by_code = f"query($code: String!) {{ programmeByCode(code: $code) {{ code {ENROLMENTS} }} }}"
    listed = f"{{ programmes(first: 100) {{ nodes {{ code {ENROLMENTS} }} }} }}"
    for who, principal in PRINCIPALS.items():
        rows = await oracle_rows(session, "enrolments", principal, "id, programme_id, household_id, person_id")
        households = await oracle(session, "households", principal)
        persons = await oracle(session, "persons", principal)
        everything = (await api(who, listed))["data"]["programmes"]["nodes"]
        assert {p["code"] for p in everything} == set(world.programmes)
        for code, programme_id in world.programmes.items():
            expected = _expected_enrolments(rows, programme_id, households, persons)
            one = (await api(who, by_id, id=gid("Programme", programme_id)))["data"]["programme"]
            assert _returned_enrolments(one["enrolments"]) == expected, (who, code)
            one = (await api(who, by_code, code=code))["data"]["programmeByCode"]
            assert _returned_enrolments(one["enrolments"]) == expected, (who, code)
            one = next(p for p in everything if p["code"] == code)
            assert _returned_enrolments(one["enrolments"]) == expected, (who, code)


async def test_workflow_lists(api: Caller, world: World, session: AsyncSession) -> None:
    for field, table, kind in (("needs", "needs", "Need"), ("complaints", "complaints", "Complaint"),
                               ("proposals", "proposals", "Proposal"), ("cases", "cases", "Case")):
        query = f"{{ {field}(first: 100) {{ totalCount nodes {{ id householdId }} }} }}"
        for who, principal in PRINCIPALS.items():
            rows = await oracle_rows(session, table, principal, "id, household_id")
            body = await api(who, query)
            assert "errors" not in body, (who, field, body)
            returned = {(n["id"], n["householdId"]) for n in body["data"][field]["nodes"]}
            assert returned == {(gid(kind, r[0]), gid("Household", r[1])) for r in rows}, (who, field)
            assert body["data"][field]["totalCount"] == len(rows), (who, field)


async def test_review_nodes_follow_their_submission(api: Caller, world: World, session: AsyncSession) -> None:
    # A review's own region columns are the submission's; its visibility is the submission's too,
    # programme-owner rules included, so the oracle is the submission table's.
    reviews: dict[uuid.UUID, tuple[str, uuid.UUID]] = {}
    for table, kind in (("needs", "need"), ("complaints", "complaint"), ("proposals", "proposal")):
        rows = (await session.execute(text(
            f"SELECT id, province_code, regency_code, district_code, village_code FROM {table}"))).all()
        for subject_id, province, regency, district, village in rows:
            review = Review(subject_type=kind, subject_id=subject_id, reviewer="sup",
                            decision=SubmissionStatus.returned, reason="check", province_code=province,
                            regency_code=regency, district_code=district, village_code=village)
            session.add(review)
            await session.flush()
            reviews[review.id] = (table, subject_id)
    assert len(reviews) == 3 * len(VILLAGES)
    query = "query($id: ID!) { node(id: $id) { ... on Review { id submissionId } } }"
    for who, principal in PRINCIPALS.items():
        visible = {table: await oracle(session, table, principal) for table in ("needs", "complaints", "proposals")}
        absent = await api(who, query, id=gid("Review", uuid.uuid4()))
        assert absent == {"data": {"node": None}}, who
        for review_id, (table, subject_id) in reviews.items():
            body = await api(who, query, id=gid("Review", review_id))
            assert body == ({"data": {"node": {"id": gid("Review", review_id),
                                                "submissionId": gid(table[:-1].capitalize(), subject_id)}}}
                            if subject_id in visible[table] else absent), (who, table)


async def test_case_by_id(api: Caller, world: World, session: AsyncSession) -> None:
    query = "query($id: ID!) { case(id: $id) { id householdId } }"
    for who, principal in PRINCIPALS.items():
        visible = await oracle(session, "cases", principal)
        absent = await api(who, query, id=gid("Case", uuid.uuid4()))
        assert absent == {"data": {"case": None}}
        for case_id in world.ids["cases"]:
            body = await api(who, query, id=gid("Case", case_id))
            if case_id in visible:
                assert body["data"]["case"]["id"] == gid("Case", case_id), who
            else:
                assert body == absent, who


async def test_federation_entities(api: Caller, world: World, session: AsyncSession) -> None:
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Household { id } ... on Person { id } ... on Case { id } } }"""
    entities = (("Household", "households", world.households.values()), ("Person", "persons", world.persons.values()),
                ("Case", "cases", world.ids["cases"]))
    for who, principal in PRINCIPALS.items():
        reps, expected = [], []
        for kind, table, ids in entities:
            visible = await oracle(session, table, principal)
            for row_id in [*ids, uuid.uuid4()]:
                reps.append({"__typename": kind, "id": gid(kind, row_id)})
                expected.append({"id": gid(kind, row_id)} if row_id in visible else None)
        body = await api(who, query, r=reps)
        assert body == {"data": {"_entities": expected}}, who


async def test_connectors(api: Caller, world: World, session: AsyncSession) -> None:
    for who, principal in PRINCIPALS.items():
        expected = await oracle_connectors(session, principal)
        body = await api(who, "{ connectors(first: 100) { totalCount nodes { id } } }")
        one = "query($id: ID!) { connector(id: $id) { id } }"
        if expected is None:
            assert body["data"] is None, who
            assert error_codes(body) == ["FORBIDDEN"], who
            continue
        assert {c["id"] for c in body["data"]["connectors"]["nodes"]} == gids("Connector", expected), who
        assert body["data"]["connectors"]["totalCount"] == len(expected), who
        absent = await api(who, one, id=gid("Connector", uuid.uuid4()))
        assert absent == {"data": {"connector": None}}
        for connector_id in world.ids["connectors"]:
            body = await api(who, one, id=gid("Connector", connector_id))
            assert body == ({"data": {"connector": {"id": gid("Connector", connector_id)}}}
                            if connector_id in expected else absent), who


async def test_access_logs_and_api_clients_need_their_permission(api: Caller, world: World,
                                                                  session: AsyncSession) -> None:
    registered = set((await session.execute(text("SELECT client_id FROM api_clients"))).scalars())
    assert "c-registered" in registered
    for who, principal in PRINCIPALS.items():
        body = await api(who, "{ accessLogs(first: 5) { nodes { id } } }")
        if can(principal, Permission.read_audit):
            assert "errors" not in body, who
            assert len(body["data"]["accessLogs"]["nodes"]) > 0, who
        else:
            assert body["data"] is None, who
            assert error_codes(body) == ["FORBIDDEN"], who
        # Documented: the client list is empty for anyone but a national officer.
        body = await api(who, "{ apiClients(first: 100) { totalCount nodes { clientId } } }")
        returned = {c["clientId"] for c in body["data"]["apiClients"]["nodes"]}
        expected = registered if can(principal, Permission.manage_clients) else set()
        assert (returned, body["data"]["apiClients"]["totalCount"]) == (expected, len(expected)), who


DETAILED = {Role.manager, Role.province_officer, Role.national_officer}
AGGREGATE_READERS = DETAILED | {Role.facilitator, Role.supervisor, Role.programme_owner}


def test_the_table_says_who_reads_aggregates_and_small_cells() -> None:
    assert {r for r in Role if can(Principal("t", r, RegionScope.national()), Permission.read_aggregates)} == (
        AGGREGATE_READERS | {Role.system})
    assert {r for r in Role if can(Principal("t", r, RegionScope.national()), Permission.read_small_cells)} == (
        DETAILED | {Role.system})


def assert_forbidden(body: dict[str, Any], field: str) -> None:
    assert body["data"] is None, body
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", [field])]


async def test_dashboard_counts(api: Caller, world: World, session: AsyncSession) -> None:
    query = '{ dashboard(programmeCodes: ["PKH"]) { coverage { programmeCode registryHouseholds } } }'
    for who, principal in PRINCIPALS.items():
        body = await api(who, query)
        if not can(principal, Permission.read_aggregates):
            assert_forbidden(body, "dashboard")
            continue
        households = await oracle(session, "households", principal, aggregate=True)
        assert "errors" not in body, (who, body)
        counted = [c["registryHouseholds"] for c in body["data"]["dashboard"]["coverage"]]
        shown = sum(c for c in counted if c is not None)
        if can(principal, Permission.read_small_cells):
            assert shown == len(households), who
        else:
            assert shown <= len(households), who


async def test_targeting_flags(api: Caller, world: World, session: AsyncSession) -> None:
    query = '{ targetingFlags(programmeCode: "PKH", first: 100) { total withheld items { id } } }'
    excluded = {world.households["34.01.01.2001"]}  # the one decile-1 household not in PKH
    for who, principal in PRINCIPALS.items():
        expected = gids("Household", excluded & await oracle(session, "households", principal, aggregate=True))
        body = await api(who, query)
        if not can(principal, Permission.read_aggregates):
            assert_forbidden(body, "targetingFlags")
            continue
        assert "errors" not in body, (who, body)
        page = body["data"]["targetingFlags"]
        returned = {i["id"] for i in page["items"]}
        assert page["withheld"] is not can(principal, Permission.read_small_cells), who
        if page["withheld"]:
            assert returned == set(), who
        else:
            assert returned == expected, who
            assert page["total"] == len(expected), who


async def test_outbox(api: Caller, world: World, session: AsyncSession) -> None:
    """Failed pushes: listed for connector admins within their regions only (no payload), refused to others."""
    messages = {}
    for village in VILLAGES:
        message = OutboxMessage(topic="baznas.referral", idempotency_key=f"authz-{village}", payload={},
                                status=OutboxStatus.failed, last_error="Rejected", **region_columns(village))
        session.add(message)
        await session.flush()
        messages[message.id] = village
    for who, principal in PRINCIPALS.items():
        body = await api(who, "{ outbox(first: 100) { totalCount nodes { id villageCode } } }")
        if not can(principal, Permission.manage_connectors):
            assert body["data"] is None, who
            assert error_codes(body) == ["FORBIDDEN"], who
            continue
        expected = {gid("OutboxMessage", i) for i, v in messages.items() if principal.scope.contains(v)}
        assert {m["id"] for m in body["data"]["outbox"]["nodes"]} == expected, who
        assert body["data"]["outbox"]["totalCount"] == len(expected), who
        assert expected, who  # the admin's regions hold some of them: the test sees a non-empty answer
