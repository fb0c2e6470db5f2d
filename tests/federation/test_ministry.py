"""The ministry subgraph on its own: its register is keyed by the hub's Person IDs and programme codes."""

from __future__ import annotations

from hub.seed.population import Population
from mocks.ministry import data
from mocks.ministry.schema import build_schema
from schema.ids import to_global_id

schema = build_schema()


def test_the_ministry_keys_students_by_the_ids_the_hub_hands_out() -> None:
    household = next(Population(data.POPULATION_SEED).households(0, 1))
    for person in household.persons:
        assert data.hub_person_id(person.id) == to_global_id("Person", person.id)
    enrolled = data.school_enrolments()
    assert 50 <= len(enrolled) <= 200  # small, but enough students to spread over districts and villages
    assert all(7 <= 6 + e.grade <= 18 and e.level in {"SD", "SMP", "SMA"} for e in enrolled.values())


def test_entities_add_school_enrolment_and_budget() -> None:
    student_id, row = next(iter(data.school_enrolments().items()))
    unknown = to_global_id("Person", "00000000-0000-0000-0000-000000000001")
    result = schema.execute_sync(
        """query($r: [_Any!]!) { _entities(representations: $r) {
             ... on Person { id schoolEnrolment { npsn grade pipRecipient } }
             ... on Programme { code budget { allocatedMillionIdr disbursedMillionIdr } } } }""",
        variable_values={"r": [{"__typename": "Person", "id": student_id}, {"__typename": "Person", "id": unknown},
                               {"__typename": "Programme", "code": "PIP"},
                               {"__typename": "Programme", "code": "PKH"}]})
    assert result.errors is None
    assert result.data == {"_entities": [
        {"id": student_id, "schoolEnrolment": {"npsn": row.npsn, "grade": row.grade,
                                               "pipRecipient": row.pip_recipient}},
        {"id": unknown, "schoolEnrolment": None},
        {"code": "PIP", "budget": {"allocatedMillionIdr": 9_700_000, "disbursedMillionIdr": 8_215_000}},
        {"code": "PKH", "budget": None},
    ]}


def test_school_enrolments_filter_by_region_and_reference_the_hubs_person() -> None:
    district = next(iter(data.school_enrolments().values())).district_code
    expected = sorted(pid for pid, e in data.school_enrolments().items() if e.district_code == district)
    for region in (district, district[:5]):
        result = schema.execute_sync(
            "query($d: String) { schoolEnrolments(districtCode: $d, first: 100) { districtCode student { id } } }",
            variable_values={"d": region})
        assert result.errors is None
        rows = result.data["schoolEnrolments"]  # type: ignore[index]
        assert all(r["districtCode"].startswith(region + ".") or r["districtCode"] == region for r in rows)
        if region == district:
            assert sorted(r["student"]["id"] for r in rows) == expected
    first_two = schema.execute_sync("{ schoolEnrolments(first: 2) { npsn } }")
    assert len(first_two.data["schoolEnrolments"]) == 2  # type: ignore[index]
