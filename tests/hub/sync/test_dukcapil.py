"""Dukcapil bulk verification: evidence only, quota respected (429 + Retry-After), usage report,
and the precedence rule: a Dukcapil-verified identity is not overwritten by SIKS-NG."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect as sa_inspect

from auth.principal import Principal
from hub.db.engine import set_scope
from hub.models import NikCheck
from hub.sync import service
from hub.sync.dukcapil import verify_region
from hub.sync.wiring import build_source
from mocks.dukcapil import Quota
from tests.hub.sync.conftest import FAST, Harness


async def verify(harness: Harness, limit: int) -> Any:
    connector = await harness.connector("dukcapil", name="dukcapil-sragen")
    verifier: Any = build_source(connector, harness.settings, options=FAST)
    try:
        return await verify_region(harness.sessionmaker, connector, verifier, purpose="registry-verification",
                                   requested_by="tests", limit=limit)
    finally:
        await verifier.aclose()


async def test_bulk_check_stores_evidence_only_and_waits_out_the_quota(harness: Harness) -> None:
    await harness.sync(await harness.connector("siks-ng"), full=True)
    quota = Quota(limit=4, window=1.0)
    harness.mocks.apps["dukcapil"].state.quota = quota
    report = await verify(harness, limit=10)
    assert report.stopped is None
    assert report.checked + report.refused == 10
    assert quota.refused >= 1  # the quota answered 429 and the client waited for Retry-After
    assert sum(quota.calls.values()) == report.checked + report.refused
    assert await harness.scalar("SELECT count(*) FROM nik_checks") == report.checked
    # Evidence only: flags, similarity, time, reference, purpose. No column could hold registry data.
    columns = {c.key for c in sa_inspect(NikCheck).columns}
    assert columns == {"id", "person_id", "connector_id", "reference", "checked_at", "purpose", "requested_by",
                       "nik_found", "name_match", "name_similarity", "birth_date_match", "birth_place_match",
                       "birth_place_similarity", "province_code", "regency_code", "district_code", "village_code"}

    async with harness.sessionmaker() as session:
        await set_scope(session, Principal.system("tests"))
        usage = await service.usage_report(session)
    assert usage == [{"month": datetime.now(UTC).strftime("%Y-%m"), "purpose": "registry-verification",
                      "calls": report.checked}]


async def test_a_verified_identity_is_not_overwritten_by_the_registry(harness: Harness) -> None:
    siks = await harness.connector("siks-ng")
    await harness.sync(siks, full=True)
    world = harness.mocks.world
    household, person = next((h, p) for h in world.households for p in h.members
                             if p.registry_name == p.name and p.registry_birth_date == p.birth_date
                             and p.nik_in_civil_registry and len(p.nik) == 16)
    # Arranged directly: the evidence a Dukcapil check with every field matching leaves behind.
    await harness.scalar(
        "INSERT INTO nik_checks (id, person_id, reference, checked_at, purpose, requested_by, nik_found, name_match, "
        "birth_date_match, birth_place_match, province_code, regency_code, district_code, village_code) "
        "SELECT gen_random_uuid(), id, 'DKP-TEST', now(), 'registry-verification', 'tests', true, true, true, true, "
        "province_code, regency_code, district_code, village_code FROM persons WHERE source_record_id = :key "
        "RETURNING 1", key=person.member_id)

    person.registry_name = "Nama Salah Ketik"
    household.version += 1
    household.updated_at = datetime.now(UTC)
    world.reindex()
    result = await harness.sync(siks)
    assert result.progress.updated == 1
    assert await harness.scalar("SELECT name FROM persons WHERE source_record_id = :key",
                                key=person.member_id) == person.name
    conflict = await harness.scalar(
        "SELECT json_build_object('field', field, 'kept', kept_value, 'kept_source', kept_source, "
        "'rejected', rejected_value, 'rejected_source', rejected_source) FROM sync_conflicts")
    assert conflict == {"field": "name", "kept": person.name, "kept_source": "dukcapil",
                        "rejected": "Nama Salah Ketik", "rejected_source": "siks-ng"}
