"""Generated queries (hypothesis): no id or count outside the caller's scope ever appears.

Each example picks a caller, a root field, its filters, page size and a nested path; every global ID
anywhere in the answer must be one the SQL oracle lets that caller read, and every ``totalCount`` at
most what the oracle counts for that list.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from schema.ids import parse_global_id
from tests.authz.world import PRINCIPALS, VILLAGES, Caller, World, gid, oracle

KIND_TABLE = {"Household": "households", "Person": "persons", "Family": "families", "Enrolment": "enrolments",
              "Need": "needs", "Complaint": "complaints", "Proposal": "proposals", "Case": "cases"}
PUBLIC_KINDS = {"Programme", "Partner"}

HOUSEHOLD = "id members { id family { id } enrolments { id household { id } person { id } } } families { id }"
NESTED = {
    "plain": "id",
    "members": f"{HOUSEHOLD}",
    "enrolments": "id enrolments { id programme { id } household { id } person { household { id } } }",
}
PERSON = "id household { %s } family { id members { id } household { id } } enrolments { id household { id } }"


@st.composite
def queries(draw: st.DrawFn, world: World) -> tuple[str, dict[str, Any]]:
    field = draw(st.sampled_from(["households", "household", "node", "personByNik", "familyByKk", "programme",
                                  "programmes", "needs", "complaints", "proposals", "cases", "entities"]))
    first = draw(st.integers(min_value=1, max_value=100))
    nested = NESTED[draw(st.sampled_from(sorted(NESTED)))]
    village = draw(st.sampled_from(VILLAGES))
    if field == "households":
        filters = {}
        if draw(st.booleans()):
            filters["regionCode"] = draw(st.sampled_from(["33", "34", "33.14", "33.15", "33.14.01", *VILLAGES]))
        if draw(st.booleans()):
            filters["programmeId"] = gid("Programme", draw(st.sampled_from(sorted(world.programmes.values()))))
        if draw(st.booleans()):
            filters["decileMax"] = draw(st.integers(min_value=1, max_value=10))
        order = draw(st.sampled_from(["UPDATED_AT_DESC", "DECILE_ASC"]))
        return (f"query($f: HouseholdFilterInput, $n: Int) {{ households(first: $n, filter: $f, orderBy: {order}) "
                f"{{ totalCount nodes {{ {HOUSEHOLD} }} }} }}"), {"f": filters, "n": first}
    if field == "household":
        return f"query($id: ID!) {{ household(id: $id) {{ {HOUSEHOLD} }} }}", {
            "id": gid("Household", world.households[village])}
    if field == "node":
        workflow_kind = draw(st.sampled_from([None, "Need", "Complaint", "Proposal", "Case"]))
        if workflow_kind is not None:
            extra = "history { totalCount }" if workflow_kind == "Case" else "reviews { totalCount }"
            return (f"query($id: ID!) {{ node(id: $id) {{ id ... on {workflow_kind} {{ householdId {extra} }} }} }}"), {
                "id": gid(workflow_kind, draw(st.sampled_from(world.ids[KIND_TABLE[workflow_kind]])))}
        kind, ids = draw(st.sampled_from([("Household", world.households), ("Person", world.persons),
                                          ("Family", world.families)]))
        return ("query($id: ID!) { node(id: $id) { id ... on Household { members { id } } "
                "... on Person { household { id } } ... on Family { household { id } } } }"), {
            "id": gid(kind, ids[village])}
    if field == "personByNik":
        return f"query($n: String!) {{ personByNik(nik: $n) {{ {PERSON % nested} }} }}", {"n": world.niks[village]}
    if field == "familyByKk":
        return f"query($k: String!) {{ familyByKk(kk: $k) {{ id household {{ {nested} }} members {{ id }} }} }}", {
            "k": world.kks[village]}
    status = draw(st.sampled_from([None, "ACTIVE"]))
    enrolments = (f"enrolments(first: {first}, status: $s) {{ totalCount nodes {{ id household {{ {nested} }} "
                  f"person {{ {PERSON % 'id'} }} }} }}")
    if field == "programme":
        return f"query($id: ID!, $s: EnrolmentStatus) {{ programme(id: $id) {{ id {enrolments} }} }}", {
            "id": gid("Programme", draw(st.sampled_from(sorted(world.programmes.values())))), "s": status}
    if field == "programmes":
        return (f"query($s: EnrolmentStatus) {{ programmes(first: {first}) {{ totalCount nodes {{ id {enrolments} }} "
                "} }"), {"s": status}
    if field == "entities":
        reps = [{"__typename": "Household", "id": gid("Household", world.households[v])}
                for v in draw(st.lists(st.sampled_from(VILLAGES), min_size=1, max_size=5))]
        return ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Household { "
                f"{HOUSEHOLD} }} }} }}"), {"r": reps}
    filters = {}
    if draw(st.booleans()):
        filters["regionCode"] = draw(st.sampled_from(["33", "34", "33.14", "33.15", "33.14.01", *VILLAGES]))
    nested_list = "history { totalCount }" if field == "cases" else "reviews { totalCount }"
    return (f"query($n: Int!, $f: {'Case' if field == 'cases' else 'Submission'}FilterInput) {{ "
            f"{field}(first: $n, filter: $f) {{ totalCount nodes {{ id householdId {nested_list} }} }} }}"), {
        "n": first, "f": filters}


def global_ids(value: Any) -> list[tuple[str, uuid.UUID]]:
    found: list[tuple[str, uuid.UUID]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("id", "householdId", "personId") and isinstance(item, str):
                found.append(parse_global_id(item))
            else:
                found.extend(global_ids(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(global_ids(item))
    return found


def total_counts(value: Any, kind: str | None = None) -> list[tuple[str | None, int]]:
    """(kind of the nodes, totalCount) for every connection in the answer."""
    found: list[tuple[str | None, int]] = []
    if isinstance(value, dict):
        if "totalCount" in value:
            ids = global_ids(value.get("nodes", []))
            found.append((ids[0][0] if ids else kind, value["totalCount"]))
        for item in value.values():
            found.extend(total_counts(item, kind))
    elif isinstance(value, list):
        for item in value:
            found.extend(total_counts(item, kind))
    return found


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_generated_queries_never_leak(api: Caller, world: World, session: AsyncSession,
                                            data: st.DataObject) -> None:
    # The world and the client are built once for all examples; the examples only read.
    who = data.draw(st.sampled_from(sorted(PRINCIPALS)), label="caller")
    document, variables = data.draw(queries(world), label="query")
    visible = {kind: await oracle(session, table, PRINCIPALS[who]) for kind, table in KIND_TABLE.items()}
    body = await api(who, document, **variables)
    assert "errors" not in body, (who, document, body)
    for kind, row_id in global_ids(body["data"]):
        if kind not in PUBLIC_KINDS:
            assert row_id in visible[kind], (who, document, variables, kind)
    for kind, count in total_counts(body["data"]):
        if kind is not None and kind not in PUBLIC_KINDS:
            assert count <= len(visible[kind]), (who, document, variables, kind, count)
