"""The access log's walk over a result finds exactly what the generic reading of it finds.

``Seen.walk`` decodes global IDs with its own fast reader and reads each object in one pass; the
reference here is the walk as first written (every key of every object, ``parse_global_id`` and
``uuid.UUID`` for each), so any divergence in what gets recorded, stripped or refused shows up.
"""

from __future__ import annotations

import base64
import binascii
import copy
import random
import uuid
from typing import Any

import pytest

from hub.audit.service import Access, entry_values, record_uuids
from hub.errors import HubError
from schema.audit import DENIED_CODES, ID_ALIAS, PERSONAL_TYPES, RECORDED_AS, Seen
from schema.ids import global_id_parts, parse_global_id, to_global_id


def reference_walk(data: Any) -> tuple[dict[str, set[uuid.UUID]], set[str]]:
    by_type: dict[str, set[uuid.UUID]] = {}
    denied: set[str] = set()

    def add(type_name: str, id_: uuid.UUID) -> None:
        by_type.setdefault(RECORDED_AS.get(type_name, type_name), set()).add(id_)

    def uuid_of(value: Any) -> uuid.UUID | None:
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return parse_global_id(value)[1]
            except HubError:
                try:
                    return uuid.UUID(value)
                except ValueError:
                    return None
        return None

    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            injected = [key for key in item if key.startswith(ID_ALIAS)]
            for key in injected:
                id_ = uuid_of(item.pop(key))
                if id_ is not None:
                    add(key[len(ID_ALIAS):], id_)
            for key, value in item.items():
                if isinstance(value, str):
                    if injected and key == "id":
                        continue
                    if key == "id" or key.endswith("Id"):
                        try:
                            type_name, id_ = parse_global_id(value)
                        except HubError:
                            continue
                        if type_name in PERSONAL_TYPES:
                            add(type_name, id_)
                    elif key == "code" and value in DENIED_CODES:
                        denied.add(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return by_type, denied


def b64(text: str, pad: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(text.encode()).decode()
    return encoded if pad else encoded.rstrip("=")


def odd_ids(rng: random.Random) -> list[str]:
    """Strings a result may carry under an ``id``-like key: global IDs in every spelling the reader
    accepts or refuses, bare UUIDs, and text that is no ID at all."""
    u = uuid.UUID(int=rng.getrandbits(128))
    return [
        to_global_id(rng.choice(sorted(PERSONAL_TYPES)), u),
        to_global_id("Household", u),
        to_global_id("Programme", u),  # not personal
        to_global_id("FlaggedHousehold", u),
        b64(f"Person:{str(u).upper()}"),
        b64(f"Person:{{{u}}}"),
        b64(f"Person:urn:uuid:{u}"),
        b64(f"Person:{u.hex}"),
        b64(f"Person:{u}", pad=True),
        b64(f"Person:+{u.hex[1:]}"),
        b64(f"Person:{u.hex[:-1]}_"),
        b64(f"Person:{u.hex[:16]}_{u.hex[17:]}"),
        b64(f"Person:{u.hex}0"),
        b64(f"Person:{u.hex[:-1]}"),
        b64(f"Person:{u.hex[:-1]}\u0663"),  # a non-ASCII digit: uuid.UUID takes it
        b64(f"Person{u}"),
        b64(f"P\u00e9rson:{u}"),
        base64.urlsafe_b64encode(b"Person:\xff" + str(u).encode()).decode().rstrip("="),
        to_global_id("Person", u).replace("-", "+"),
        to_global_id("Person", u)[:-1],
        to_global_id("Person", u) + "!",
        "Pérson" + to_global_id("Person", u),
        str(u),
        str(u).upper(),
        "",
        "=",
        "not an id",
        "R-123",
    ]


def random_result(rng: random.Random, depth: int = 0) -> Any:
    ids = odd_ids(rng)
    if depth > 3 or rng.random() < 0.15:
        return rng.choice([None, 1, 2.5, True, rng.choice(ids), rng.choice(sorted(DENIED_CODES)), "OK"])
    if rng.random() < 0.3:
        return [random_result(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["id", "name", "householdId", "personId", "programmeId", "code", "registryId", "nodes", "node",
            "members", "household", "error", "raw", "villageCode"]
    keys += [ID_ALIAS + t for t in (*sorted(PERSONAL_TYPES), *RECORDED_AS, "Programme")]
    obj: dict[str, Any] = {}
    for key in rng.sample(keys, rng.randint(0, 6)):
        roll = rng.random()
        if roll < 0.5:
            obj[key] = rng.choice(ids)
        elif roll < 0.55:
            obj[key] = uuid.UUID(int=rng.getrandbits(128))
        elif roll < 0.6:
            obj[key] = rng.choice(sorted(DENIED_CODES))
        else:
            obj[key] = random_result(rng, depth + 1)
    return obj


def walked(data: Any) -> tuple[dict[str, set[uuid.UUID]], set[str]]:
    seen = Seen()
    seen.walk(data)
    return {t: {uuid.UUID(int=n) for n in ids} for t, ids in seen.by_type.items()}, seen.denied_in_data


@pytest.mark.parametrize("seeds", [range(0, 200), range(200, 400)])
def test_the_walk_records_and_strips_what_the_generic_walk_does(seeds: range) -> None:
    for seed in seeds:
        rng = random.Random(seed)
        data = {"data": random_result(rng)}
        reference_data = copy.deepcopy(data)
        assert walked(data) == reference_walk(reference_data), seed
        assert data == reference_data, seed  # the same keys stripped


def test_results_as_the_schema_returns_them() -> None:
    people = [uuid.uuid4() for _ in range(6)]
    homes = [uuid.uuid4() for _ in range(3)]
    enrolment = uuid.uuid4()
    data = {
        "households": {"nodes": [
            {"id": to_global_id("Household", homes[0]), "members": [
                {"id": to_global_id("Person", people[0]), "name": "A"}, {"name": "B", "_auditIdPerson":
                                                                          to_global_id("Person", people[1])}]},
            {"registryId": "R-1", "_auditIdHousehold": to_global_id("Household", homes[1]), "members": None},
            None,
        ]},
        # an aliased field under `id`: the injected id is the object's
        "aliased": {"id": "R-2", "_auditIdHousehold": to_global_id("Household", homes[2])},
        # `id @include(if: $x)` as well as the injected one
        "both": {"id": to_global_id("Person", people[2]), "_auditIdPerson": to_global_id("Person", people[2])},
        "node": {"_auditIdEnrolment": to_global_id("Enrolment", enrolment), "household":
                 {"id": to_global_id("Household", homes[0])}, "personId": to_global_id("Person", people[3])},
        "flagged": [{"_auditIdFlaggedHousehold": to_global_id("FlaggedHousehold", homes[1])}],
        "programme": {"id": to_global_id("Programme", uuid.uuid4())},
        "refused": {"code": "FORBIDDEN", "message": "no"},
    }
    reference_data = copy.deepcopy(data)
    seen = Seen()
    seen.walk(data)
    assert (seen.by_type, seen.denied_in_data) == (
        {"Household": {h.int for h in homes}, "Person": {p.int for p in people[:4]}, "Enrolment": {enrolment.int}},
        {"FORBIDDEN"})
    copied = copy.deepcopy(reference_data)
    assert walked(reference_data) == reference_walk(copied)
    assert ID_ALIAS not in str(data)
    assert seen.ids("Person") == sorted(people[:4])
    assert seen.ids("Household") == sorted(homes)
    assert seen.record_ids() == [f"Enrolment:{enrolment}"]
    assert seen.count == 8


def _reference_parts(value: str) -> tuple[str, int] | None:
    """What the standard library reads in a global ID: base64.urlsafe_b64decode, then uuid.UUID."""
    try:
        padded = value + "=" * (-len(value) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition(":")
        return type_name, uuid.UUID(raw).int
    except (ValueError, binascii.Error, UnicodeError):
        return None


def test_the_fast_reader_agrees_with_parse_global_id() -> None:
    for value in (value for seed in range(50) for value in odd_ids(random.Random(seed))):
        try:
            type_name, id_ = parse_global_id(value)
            expected: tuple[str, int] | None = (type_name, id_.int)
        except HubError:
            expected = None
        assert global_id_parts(value) == expected, value
        assert _reference_parts(value) == expected, value


def test_the_entry_keeps_ids_in_uuid_order_once_each() -> None:
    ids = [uuid.UUID(int=random.Random(i).getrandbits(128)) for i in range(200)]
    values = entry_values(Access(principal=None, outcome="allowed", person_ids=ids + ids[:10],
                                 household_ids=list(reversed(ids))))
    assert values["person_ids"] == values["household_ids"] == sorted(set(ids))


def test_record_uuids_are_uuids_equal_to_the_plain_ones() -> None:
    plain = [uuid.uuid4() for _ in range(5)]
    made = record_uuids(u.int for u in plain)
    assert all(isinstance(u, uuid.UUID) for u in made)
    assert made == plain
    assert {hash(u) for u in made} == {hash(u) for u in plain}
    assert [str(u) for u in made] == [str(u) for u in plain]
    assert sorted(made) == sorted(plain)
