"""Contract of ``NikVerifier`` (Dukcapil): per-field match flags, never registry data."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from connectors.errors import Rejected
from connectors.ports import NikCheck, NikEvidence, NikVerifier
from tests.contract.conftest import Backend


def a_person(backend: Backend):  # type: ignore[no-untyped-def]
    return next(p for h in backend.world.households for p in h.members if p.nik_in_civil_registry)


async def test_matching_identity_matches_every_field(backend: Backend) -> None:
    verifier = backend.client("dukcapil")
    assert isinstance(verifier, NikVerifier)
    p = a_person(backend)
    evidence = await verifier.verify(NikCheck(p.nik, p.name, p.birth_date, p.birth_place, "test"))
    assert evidence.nik_found is True
    assert {k: v.matched for k, v in evidence.fields.items()} == {"name": True, "birth_date": True,
                                                                 "birth_place": True}
    assert evidence.reference.startswith("DKP-")
    # Evidence only: the result type has no field that could carry the civil registry's own data.
    assert {f.name for f in dataclasses.fields(NikEvidence)} == {"reference", "checked_at", "nik_found", "fields"}
    await verifier.aclose()


async def test_mismatches_are_reported_per_field(backend: Backend) -> None:
    verifier = backend.client("dukcapil")
    p = a_person(backend)
    evidence = await verifier.verify(NikCheck(p.nik, "Orang Lain Sekali", p.birth_date + timedelta(days=1),
                                              p.birth_place, "test"))
    assert evidence.nik_found is True
    assert evidence.fields["name"].matched is False
    assert evidence.fields["name"].similarity is not None
    assert evidence.fields["name"].similarity < 90
    assert evidence.fields["birth_date"].matched is False
    assert evidence.fields["birth_place"].matched is True
    await verifier.aclose()


async def test_unknown_nik_is_not_found(backend: Backend) -> None:
    verifier = backend.client("dukcapil")
    p = a_person(backend)
    evidence = await verifier.verify(NikCheck("9999990101990001", p.name, p.birth_date, p.birth_place, "test"))
    assert evidence.nik_found is False
    await verifier.aclose()


async def test_malformed_nik_is_rejected(backend: Backend) -> None:
    verifier = backend.client("dukcapil")
    p = a_person(backend)
    with pytest.raises(Rejected) as raised:
        await verifier.verify(NikCheck("12345", p.name, p.birth_date, p.birth_place, "test"))
    assert raised.value.status == 422
    await verifier.aclose()


async def test_wrong_client_secret_is_rejected(backend: Backend) -> None:
    verifier = backend.client("dukcapil", {"client_id": "slrt-hub", "client_secret": "wrong"})
    p = a_person(backend)
    with pytest.raises(Rejected):
        await verifier.verify(NikCheck(p.nik, p.name, p.birth_date, p.birth_place, "test"))
    await verifier.aclose()
