"""The per-list mask decisions (``hub.masking.visibility_of``, ``Person.from_models``) and the fast path
for stored NIKs give exactly what the per-field helpers give, for every role."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from auth.principal import Principal, RegionScope, Role
from hub.db.repository import Snapshot
from hub.identity import InvalidIdentifier, mask_nik
from hub.identity.nik import normalize_digits
from hub.masking import MALFORMED_MASK, detail_for, disability_for, mask_nik_for, masked_nik
from hub.models import LifeStatus, RecordStatus, Relationship, Sex
from schema.ids import to_global_id
from schema.types.registry import _LIFE_STATUS, _RECORD_STATUS, _RELATIONSHIP, _SEX, Person

PRINCIPALS: list[Principal | None] = [None] + [
    Principal(subject="t", role=role, scope=RegionScope.national(), programmes=programmes)
    for role in Role for programmes in (frozenset(), frozenset({"PKH"}))]


def reference_view(row: Any, principal: Principal | None) -> dict[str, Any]:
    """What ``Person.from_model`` built before the decisions were taken once per list."""
    d = row.__dict__
    birth_date = d["birth_date"]
    return {
        "id": to_global_id("Person", d["id"]), "pk": d["id"], "household_pk": d["household_id"],
        "family_pk": d["family_id"], "nik": mask_nik_for(principal, d["nik"]), "nik_valid": d["nik_valid"],
        "nik_flags": d["nik_flags"] or [], "name": d["name"], "sex": _SEX.get(d["sex"]),
        "birth_date": detail_for(principal, birth_date),
        "birth_year": birth_date.year if birth_date else None,
        "birth_place": detail_for(principal, d["birth_place"]),
        "relationship_to_head": _RELATIONSHIP[d["relationship_to_head"]],
        "has_disability": disability_for(principal, d["has_disability"]),
        "disabilities": disability_for(principal, d["disabilities"] or []),
        "life_status": _LIFE_STATUS[d["life_status"]], "status": _RECORD_STATUS[d["status"]],
        "removed_at_source": d.get("removed_at_source"),
        "village_code": d["village_code"], "updated_at": d["updated_at"]}


def row(**changes: Any) -> Snapshot:
    snapshot = object.__new__(Snapshot)
    snapshot.__dict__ = {
        "id": uuid.uuid4(), "household_id": uuid.uuid4(), "family_id": None, "nik": "3314010101900001",
        "nik_valid": True, "nik_flags": [], "name": "Warga", "sex": Sex.female, "birth_date": date(1990, 1, 1),
        "birth_place": "Sragen", "relationship_to_head": Relationship.head, "has_disability": True,
        "disabilities": ["netra"], "life_status": LifeStatus.alive, "status": RecordStatus.active,
        "removed_at_source": None, "village_code": "33.14.01.2001", "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
        **changes}
    return snapshot


ROWS = [row(), row(nik="not-a-nik", nik_flags=["invalid"], nik_valid=False), row(nik=" 3314010101900001 "),
        row(nik="３３１４０１０１０１９００００１"), row(nik=None, sex=None, birth_date=None, birth_place=None,
                                                  disabilities=None, has_disability=None)]


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: f"{p.role}-{len(p.programmes)}" if p else "none")
def test_persons_are_masked_as_the_per_field_helpers_mask_them(principal: Principal | None) -> None:
    expected = [reference_view(r, principal) for r in ROWS]
    assert [vars(p) for p in Person.from_models(ROWS, principal)] == expected
    assert [vars(Person.from_model(r, principal)) for r in ROWS] == expected


def test_the_roles_differ_in_what_they_see() -> None:
    # the comparison above covers principals that see everything and principals that see little
    seen = {tuple(v is None for v in vars(Person.from_model(ROWS[0], p)).values()) for p in PRINCIPALS}
    niks = {Person.from_model(ROWS[0], p).nik for p in PRINCIPALS}
    assert len(seen) > 1
    assert niks == {"3314010101900001", "3314**********01"}


@pytest.mark.parametrize("raw", ["3314010101900001", " 3314010101900001", "3314010101900001\n",
                                 "331401010190000", "33140101019000012", "３３１４０１０１０１９００００１",
                                 "٣٣١٤٠١٠١٠١٩٠٠٠٠١", "33140101019000a1", "", "1" * 16, "²" * 16])
def test_stored_niks_normalise_and_mask_as_before(raw: str) -> None:
    if raw.strip(" \t\r\n").isascii() and raw.strip(" \t\r\n").isdigit() and len(raw.strip(" \t\r\n")) == 16:
        digits = normalize_digits(raw)
    else:
        with pytest.raises(InvalidIdentifier):
            normalize_digits(raw)
        with pytest.raises(InvalidIdentifier):
            mask_nik(raw)
        assert masked_nik(raw) == MALFORMED_MASK
        return
    assert digits == raw.strip(" \t\r\n")
    assert len(digits) == 16
    assert digits.isascii()
    assert digits.isdigit()
    assert mask_nik(raw) == f"{digits[:4]}{'*' * 10}{digits[-2:]}"
    assert masked_nik(raw) == mask_nik(raw)  # its shortcut for normalised NIKs included
