"""Ministry systems and programme owners: only their programmes (issue 5 "Roles and scope").

A ministry system pushes enrolments and catalogue entries for the programmes its registration names and
reads back those programmes' enrolments, nothing of the registry behind them. A programme owner reads
the households of its programmes, and of their enrolments only its own programmes'. Expected values
here are written out by hand, not computed by the oracle of ``world.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import Permission, can
from tests.authz.world import PRINCIPALS, V1, V2, V4, V5, Caller, World, error_codes, gid

USER_ERROR = "... on UserError { code field message }"
PUSH = ("mutation($p: String!, $items: [EnrolmentItemInput!]!, $key: String!) { upsertEnrolments(programme: $p, "
        "items: $items, idempotencyKey: $key) { __typename ... on UpsertEnrolmentsPayload { programmeCode "
        f"results {{ sourceRecordId outcome code enrolmentId }} }} {USER_ERROR} }} }}")
PROGRAMME = ("mutation($input: ProgrammeInput!, $key: String!) { upsertProgramme(input: $input, "
             "idempotencyKey: $key) { __typename ... on UpsertProgrammePayload { programmeCode outcome } "
             f"{USER_ERROR} }} }}")


def programme_input(code: str) -> dict[str, Any]:
    return {"code": code, "name": f"Programme {code}", "ownerAgency": "Kemensos", "level": "CENTRAL",
            "targetUnit": "HOUSEHOLD"}


async def test_only_a_ministry_system_pushes_and_only_for_its_programmes(api: Caller, world: World) -> None:
    for who, principal in PRINCIPALS.items():
        for code in ("PKH", "BPNT"):
            allowed = can(principal, Permission.push) and code in principal.programmes
            body = await api(who, PUSH, p=code, key=f"{who}-{code}", items=[
                {"sourceRecordId": f"{who}-1", "nik": world.niks[V1]}])
            result = body["data"]["upsertEnrolments"]
            if allowed:
                assert (result["__typename"], result["programmeCode"]) == ("UpsertEnrolmentsPayload", code), who
                assert [r["outcome"] for r in result["results"]] == ["CREATED"], who
            else:
                assert (result["__typename"], result["code"]) == ("UserError", "FORBIDDEN"), (who, code)
            body = await api(who, PROGRAMME, input=programme_input(code), key=f"{who}-{code}-p")
            result = body["data"]["upsertProgramme"]
            if allowed:
                assert result == {"__typename": "UpsertProgrammePayload", "programmeCode": code,
                                  "outcome": "UPDATED"}, who
            else:
                assert (result["__typename"], result["code"]) == ("UserError", "FORBIDDEN"), (who, code)
    assert {w for w, p in PRINCIPALS.items() if can(p, Permission.push)} == {"ministry_pkh", "ministry_bpnt_33"}


async def test_a_ministry_system_matches_in_its_regions_and_reads_back_only_enrolments(
        api: Caller, world: World, session: AsyncSession) -> None:
    # V2 is not in BPNT yet: the push finds the person although the system reads no person.
    body = await api("ministry_bpnt_33", PUSH, p="BPNT", key="k-1", items=[
        {"sourceRecordId": "b-2", "nik": world.niks[V2]}, {"sourceRecordId": "b-5", "nik": world.niks[V5]}])
    results = body["data"]["upsertEnrolments"]["results"]
    assert [(r["sourceRecordId"], r["outcome"], r["code"]) for r in results] == [
        ("b-2", "CREATED", None), ("b-5", "PENDING", "UNKNOWN_NIK")]  # V5 lives in province 34
    created = results[0]["enrolmentId"]
    row = (await session.execute(text(
        "SELECT household_id, village_code FROM enrolments WHERE source_record_id = 'b-2'"))).one()
    assert tuple(row) == (world.households[V2], V2)

    enrolment = ("query($id: ID!) { node(id: $id) { ... on Enrolment { id status sourceRecordId "
                 "programme { code } household { id } person { id nik } } } }")
    assert await api("ministry_bpnt_33", enrolment, id=created) == {"data": {"node": {
        "id": created, "status": "ACTIVE", "sourceRecordId": "b-2", "programme": {"code": "BPNT"},
        "household": None, "person": None}}}
    listed = await api("ministry_bpnt_33", '{ programmeByCode(code: "BPNT") { enrolments(first: 10) { '
                                           "totalCount nodes { household { id } } } } }")
    # BPNT enrolments in province 33: V1, V4 and the new V2; V5 (province 34) is outside.
    assert listed["data"]["programmeByCode"]["enrolments"]["totalCount"] == 3
    assert listed["data"]["programmeByCode"]["enrolments"]["nodes"] == [{"household": None}] * 3
    other = await api("ministry_bpnt_33", '{ programmeByCode(code: "PKH") { enrolments { totalCount } } }')
    assert other == {"data": {"programmeByCode": {"enrolments": {"totalCount": 0}}}}


# Every root field that reads personal data, as a ministry system: nothing of the registry.
MINISTRY_READS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("{ households(first: 100) { totalCount nodes { id } } }", {},
     {"households": {"totalCount": 0, "nodes": []}}),
    ("query($id: ID!) { household(id: $id) { id } }", {"id": "H1"}, {"household": None}),
    ("query($id: ID!) { node(id: $id) { id } }", {"id": "H1"}, {"node": None}),
    ("query($id: ID!) { node(id: $id) { id } }", {"id": "P1"}, {"node": None}),
    ("query($nik: String!) { personByNik(nik: $nik) { id } }", {"nik": "N1"}, {"personByNik": None}),
    ("query($kk: String!) { familyByKk(kk: $kk) { id } }", {"kk": "K1"}, {"familyByKk": None}),
    ("{ needs(first: 100) { totalCount nodes { id } } }", {}, {"needs": {"totalCount": 0, "nodes": []}}),
    ("{ complaints(first: 100) { totalCount nodes { id } } }", {}, {"complaints": {"totalCount": 0, "nodes": []}}),
    ("{ proposals(first: 100) { totalCount nodes { id } } }", {}, {"proposals": {"totalCount": 0, "nodes": []}}),
    ("{ cases(first: 100) { totalCount nodes { id } } }", {}, {"cases": {"totalCount": 0, "nodes": []}}),
    ("query($id: ID!) { case(id: $id) { id } }", {"id": "C1"}, {"case": None}),
    ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Household { id } ... on Person { id } } }",
     {"r": "E1"}, {"_entities": [None, None]}),
    ("{ apiClients(first: 100) { totalCount nodes { clientId } } }", {},
     {"apiClients": {"totalCount": 0, "nodes": []}}),
]


async def test_a_ministry_system_browses_no_registry_data(api: Caller, world: World) -> None:
    cases = (await api("national", "{ cases(first: 100) { nodes { id villageCode } } }"))["data"]["cases"]["nodes"]
    values = {"H1": gid("Household", world.households[V1]), "P1": gid("Person", world.persons[V1]),
              "N1": world.niks[V1], "K1": world.kks[V1],
              "C1": next(c["id"] for c in cases if c["villageCode"] == V1),
              "E1": [{"__typename": "Household", "id": gid("Household", world.households[V1])},
                     {"__typename": "Person", "id": gid("Person", world.persons[V1])}]}
    for who in ("ministry_pkh", "ministry_bpnt_33"):
        for query, variables, expected in MINISTRY_READS:
            body = await api(who, query, **{k: values[v] for k, v in variables.items()})
            assert body == {"data": expected}, (who, query)
        for denied in ("{ accessLogs(first: 5) { nodes { id } } }", "{ connectors { nodes { id } } }"):
            assert error_codes(await api(who, denied)) == ["FORBIDDEN"], (who, denied)


async def test_a_programme_owner_does_not_reach_other_programmes_through_households(
        api: Caller, world: World) -> None:
    query = """query($id: ID!) { household(id: $id) { enrolments { programme { code } }
      members { enrolments { programme { code } } } } }"""
    # V1 is in PKH (household and its person) and in BPNT (household).
    v1 = gid("Household", world.households[V1])
    assert await api("owner_bpnt", query, id=v1) == {"data": {"household": {
        "enrolments": [{"programme": {"code": "BPNT"}}], "members": [{"enrolments": []}]}}}
    pkh = (await api("owner_pkh", query, id=v1))["data"]["household"]
    assert pkh == {"enrolments": [{"programme": {"code": "PKH"}}],
                   "members": [{"enrolments": [{"programme": {"code": "PKH"}}]}]}
    national = (await api("national", query, id=v1))["data"]["household"]
    assert sorted(e["programme"]["code"] for e in national["enrolments"]) == ["BPNT", "PKH"]
    # V2 is in PKH only: the BPNT owner reaches it neither directly nor through the PKH enrolment.
    assert await api("owner_bpnt", query, id=gid("Household", world.households[V2])) == {
        "data": {"household": None}}
    via_programme = """{ programmeByCode(code: "PKH") { enrolments(first: 100) { totalCount
      nodes { household { id } } } } }"""
    assert await api("owner_bpnt", via_programme) == {"data": {"programmeByCode": {
        "enrolments": {"totalCount": 0, "nodes": []}}}}
    # V4's case goes to BPNT and V4 is in PKH too: the BPNT owner sees the case and V4, not V4's PKH enrolment.
    v4 = gid("Household", world.households[V4])
    assert await api("owner_bpnt", query, id=v4) == {"data": {"household": {
        "enrolments": [{"programme": {"code": "BPNT"}}], "members": [{"enrolments": []}]}}}
