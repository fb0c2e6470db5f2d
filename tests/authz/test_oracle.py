"""No existence oracle: out of scope answers exactly like "does not exist" (issue 5 "Roles and scope").

For each look-up, a caller asks for a row that exists outside its scope and for one that does not exist
at all. The two HTTP bodies must be byte-for-byte equal AND the hub must send the same SQL statements
(same count, same text) for both, so neither the answer nor the work done tells them apart. The timing
class is measured by ``python -m benchmarks.oracle``. Mutations run inside a savepoint rolled back after
each call, so the first call leaves no row that changes the second.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.authz.world import V1, V2, V3, V4, V5, Caller, World, gid
from tests.fixtures.read_api import count_statements

UNKNOWN_NIK = "3314014501909999"
UNKNOWN_KK = "3314010101209999"
USER_ERROR = "... on UserError { code field message }"


@asynccontextmanager
async def nothing_kept(connection: AsyncConnection) -> AsyncIterator[None]:
    savepoint = await connection.begin_nested()
    try:
        yield
    finally:
        await savepoint.rollback()


async def answer(api: Caller, engine: AsyncEngine, connection: AsyncConnection, who: str, query: str,
                 **variables: Any) -> tuple[bytes, list[str]]:
    async with nothing_kept(connection):
        with count_statements(engine) as counter:
            response = await api.client.post("/graphql", json={"query": query, "variables": variables},
                                              headers={"x-test-caller": who})
    assert response.status_code == 200, response.text
    # Savepoint names count up over the test's connection; the statements are otherwise compared verbatim.
    return response.content, [re.sub(r"sa_savepoint_\d+", "sa_savepoint", s) for s in counter.statements]


async def assert_indistinguishable(api: Caller, engine: AsyncEngine, connection: AsyncConnection, who: str,
                                   query: str, out_of_scope: dict[str, Any], missing: dict[str, Any],
                                   in_scope: dict[str, Any] | None = None) -> bytes:
    hidden, hidden_sql = await answer(api, engine, connection, who, query, **out_of_scope)
    absent, absent_sql = await answer(api, engine, connection, who, query, **missing)
    assert hidden == absent, (who, query)
    assert len(hidden_sql) == len(absent_sql), (who, query, hidden_sql, absent_sql)
    assert hidden_sql == absent_sql, (who, query)
    if in_scope is not None:
        # The same query does find rows in scope: the test would pass vacuously otherwise.
        shown, _ = await answer(api, engine, connection, who, query, **in_scope)
        assert shown != absent, (who, query)
    return absent


def ids(world: World, kind: str, village: str) -> str:
    table = {"Household": world.households, "Person": world.persons, "Family": world.families}[kind]
    return gid(kind, table[village])


@pytest.mark.parametrize("kind", ["Household", "Person", "Family"])
async def test_node_and_household_by_id(api: Caller, world: World, app_engine: AsyncEngine,
                                        connection: AsyncConnection, kind: str) -> None:
    node = ("query($id: ID!) { node(id: $id) { id ... on Household { decile members { id } } "
            "... on Person { name household { id } } ... on Family { members { id } } } }")
    for who, hidden, shown in (("fac_v1", V2, V1), ("man_3314", V4, V3), ("prov_34", V1, V5),
                               ("owner_bpnt", V2, V1), ("client_3314_02", V1, V3)):
        body = await assert_indistinguishable(
            api, app_engine, connection, who, node, {"id": ids(world, kind, hidden)},
            {"id": gid(kind, uuid.uuid4())}, {"id": ids(world, kind, shown)})
        assert body == b'{"data":{"node":null}}'
    query = "query($id: ID!) { household(id: $id) { id address members { nik } } }"
    body = await assert_indistinguishable(api, app_engine, connection, "sup_3314_01", query,
                                          {"id": ids(world, "Household", V3)}, {"id": gid("Household", uuid.uuid4())},
                                          {"id": ids(world, "Household", V1)})
    assert body == b'{"data":{"household":null}}'


async def test_node_of_enrolment_and_case(api: Caller, world: World, app_engine: AsyncEngine,
                                          connection: AsyncConnection) -> None:
    node = "query($id: ID!) { node(id: $id) { id } }"
    enrolments = await enrolment_ids(api, world)
    # owner_bpnt: V2's only enrolment is PKH's; ministry_bpnt_33: V5 is outside its province.
    for who, hidden, shown in (("owner_bpnt", enrolments[("PKH", V2)], enrolments[("BPNT", V1)]),
                               ("ministry_bpnt_33", enrolments[("BPNT", V5)], enrolments[("BPNT", V4)]),
                               ("ministry_pkh", enrolments[("BPNT", V1)], enrolments[("PKH", V1)])):
        await assert_indistinguishable(api, app_engine, connection, who, node, {"id": hidden},
                                       {"id": gid("Enrolment", uuid.uuid4())}, {"id": shown})
    case = "query($id: ID!) { case(id: $id) { id status householdId } }"
    cases = await case_ids(api)
    body = await assert_indistinguishable(api, app_engine, connection, "man_3314", case, {"id": cases[V4]},
                                          {"id": gid("Case", uuid.uuid4())}, {"id": cases[V1]})
    assert body == b'{"data":{"case":null}}'


async def test_person_by_nik_and_family_by_kk(api: Caller, world: World, app_engine: AsyncEngine,
                                              connection: AsyncConnection) -> None:
    person = ("query($nik: String!) { personByNik(nik: $nik) { id nik household { id members { id } } "
              "family { kkNumber } enrolments { id } } }")
    family = "query($kk: String!) { familyByKk(kk: $kk) { id kkNumber members { nik } household { id } } }"
    for who, hidden, shown in (("fac_v1", V2, V1), ("sup_3315_01", V3, V4), ("owner_bpnt", V3, V4),
                               ("client_34", V4, V5)):
        body = await assert_indistinguishable(api, app_engine, connection, who, person, {"nik": world.niks[hidden]},
                                              {"nik": UNKNOWN_NIK}, {"nik": world.niks[shown]})
        assert body == b'{"data":{"personByNik":null}}'
        body = await assert_indistinguishable(api, app_engine, connection, who, family, {"kk": world.kks[hidden]},
                                              {"kk": UNKNOWN_KK}, {"kk": world.kks[shown]})
        assert body == b'{"data":{"familyByKk":null}}'
    # A ministry system reads no person at all, in or out of its programmes.
    body = await assert_indistinguishable(api, app_engine, connection, "ministry_pkh", person,
                                          {"nik": world.niks[V1]}, {"nik": UNKNOWN_NIK})
    assert body == b'{"data":{"personByNik":null}}'


async def test_nested_paths(api: Caller, world: World, app_engine: AsyncEngine, connection: AsyncConnection) -> None:
    # Household -> enrolments -> another programme's enrolment -> its household: the owner of BPNT
    # reads V1 (in BPNT), but V1's PKH enrolment and V2 (PKH only) stay out of reach.
    household = ("query($id: ID!) { household(id: $id) { id enrolments { id programme { code } "
                 "household { id } person { id } } members { id enrolments { id } } } }")
    body = await answer(api, app_engine, connection, "owner_bpnt", household, id=ids(world, "Household", V1))
    enrolments = await enrolment_ids(api, world)
    v1 = ids(world, "Household", V1)
    assert json.loads(body[0]) == {"data": {"household": {
        "id": v1, "enrolments": [{"id": enrolments[("BPNT", V1)], "programme": {"code": "BPNT"},
                                  "household": {"id": v1}, "person": None}],
        "members": [{"id": ids(world, "Person", V1), "enrolments": []}]}}}
    nested = ("query($id: ID!) { node(id: $id) { ... on Enrolment { id household { id members { id } } "
              "person { id household { id } } } } }")
    await assert_indistinguishable(api, app_engine, connection, "owner_bpnt", nested,
                                   {"id": enrolments[("PKH", V1)]}, {"id": gid("Enrolment", uuid.uuid4())},
                                   {"id": enrolments[("BPNT", V1)]})
    programme = ("query($code: String!) { programmeByCode(code: $code) { code enrolments(first: 10) { "
                 "totalCount nodes { id household { id } } } } }")
    body = await answer(api, app_engine, connection, "owner_bpnt", programme, code="PKH")
    assert body[0] == b'{"data":{"programmeByCode":{"code":"PKH","enrolments":{"totalCount":0,"nodes":[]}}}}'
    # A ministry system's own enrolments do not lead it to the household behind them.
    body = await answer(api, app_engine, connection, "ministry_pkh", nested, id=enrolments[("PKH", V1)])
    assert json.loads(body[0]) == {"data": {"node": {"id": enrolments[("PKH", V1)], "household": None,
                                                     "person": None}}}


async def test_federation_entities(api: Caller, world: World, app_engine: AsyncEngine,
                                   connection: AsyncConnection) -> None:
    query = ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Household { id members { id } } "
             "... on Person { id household { id } } } }")
    for kind in ("Household", "Person"):
        body = await assert_indistinguishable(
            api, app_engine, connection, "man_3315", query,
            {"r": [{"__typename": kind, "id": ids(world, kind, V1)}]},
            {"r": [{"__typename": kind, "id": gid(kind, uuid.uuid4())}]},
            {"r": [{"__typename": kind, "id": ids(world, kind, V4)}]})
        assert body == b'{"data":{"_entities":[null]}}'


async def test_mutations_on_out_of_scope_rows(api: Caller, world: World, app_engine: AsyncEngine,
                                              connection: AsyncConnection) -> None:
    cases = await case_ids(api)
    refer = (f'mutation($id: ID!) {{ referCase(input: {{caseId: $id, programmeCode: "PKH"}}) {{ __typename '
             f'... on CasePayload {{ case {{ id }} }} {USER_ERROR} }} }}')
    body = await assert_indistinguishable(api, app_engine, connection, "man_3314", refer, {"id": cases[V4]},
                                          {"id": gid("Case", uuid.uuid4())}, {"id": cases[V1]})
    assert b'"code":"NOT_FOUND"' in body
    decide = (f'mutation($id: ID!) {{ decideCase(input: {{caseId: $id, decision: APPROVE, reason: "fits"}}) {{ '
              f'__typename ... on CasePayload {{ case {{ id }} }} {USER_ERROR} }} }}')
    body = await assert_indistinguishable(api, app_engine, connection, "owner_bpnt", decide, {"id": cases[V1]},
                                          {"id": gid("Case", uuid.uuid4())})
    assert b'"code":"NOT_FOUND"' in body
    need = (f'mutation($id: ID!) {{ recordNeed(input: {{householdId: $id, category: "health"}}) {{ '
            f'... on RecordNeedPayload {{ need {{ id }} }} {USER_ERROR} }} }}')
    body = await assert_indistinguishable(api, app_engine, connection, "fac_v1", need,
                                          {"id": ids(world, "Household", V2)}, {"id": gid("Household", uuid.uuid4())},
                                          {"id": ids(world, "Household", V1)})
    assert b'"code":"NOT_FOUND"' in body


async def test_push_of_an_out_of_region_nik_reads_like_an_unknown_one(
        api: Caller, world: World, app_engine: AsyncEngine, connection: AsyncConnection) -> None:
    # V5's person lives in province 34, outside the BPNT system's province 33; its NIK was issued in
    # 33.14.01 like the unknown one, so both are kept pending, with the same statements.
    push = ("mutation($nik: String!) { upsertEnrolments(programme: \"BPNT\", idempotencyKey: \"k-1\", "
            "items: [{sourceRecordId: \"b-1\", nik: $nik}]) { __typename ... on UpsertEnrolmentsPayload { "
            f"results {{ outcome code message enrolmentId }} }} {USER_ERROR} }} }}")
    body = await assert_indistinguishable(api, app_engine, connection, "ministry_bpnt_33", push,
                                          {"nik": world.niks[V5]}, {"nik": UNKNOWN_NIK}, {"nik": world.niks[V2]})
    assert b'"outcome":"PENDING","code":"UNKNOWN_NIK"' in body


async def enrolment_ids(api: Caller, world: World) -> dict[tuple[str, str], str]:
    """(programme code, village) -> Enrolment global ID, read as the national officer."""
    found: dict[tuple[str, str], str] = {}
    villages = {gid("Household", h): v for v, h in world.households.items()}
    for code in ("PKH", "BPNT"):
        body = await api("national", "query($c: String!) { programmeByCode(code: $c) { enrolments(first: 100) { "
                                     "nodes { id household { id } } } } }", c=code)
        for node in body["data"]["programmeByCode"]["enrolments"]["nodes"]:
            found[(code, villages[node["household"]["id"]])] = node["id"]
    return found


async def case_ids(api: Caller) -> dict[str, str]:
    """village -> Case global ID (one case per village), read as the national officer."""
    body = await api("national", "{ cases(first: 100) { nodes { id villageCode } } }")
    return {c["villageCode"]: c["id"] for c in body["data"]["cases"]["nodes"]}
