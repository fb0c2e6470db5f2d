"""Bulk NIK verification against Dukcapil for a region, storing evidence only, within the quota.

What is stored per check: the person it concerns, per-field match flags and similarity, the time,
Dukcapil's reference, the purpose and who asked. The civil registry's own data is never requested
and never stored. Calls per month and purpose (``usage``) is the report the Dukcapil data-sharing
agreement asks for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal, RegionScope, Role
from connectors.errors import ConnectorError, Rejected, Unavailable
from connectors.ports import NikCheck as NikCheckRequest
from connectors.ports import NikVerifier
from hub.db.engine import set_scope
from hub.db.repository import ScopedRepository
from hub.models import Connector, NikCheck, Person, RecordStatus


@dataclass
class VerificationReport:
    checked: int = 0
    all_matched: int = 0
    not_found: int = 0
    mismatched: int = 0
    refused: int = 0
    stopped: str | None = None
    references: list[str] = field(default_factory=list)


class PersonsToVerify(ScopedRepository[Person]):
    model = Person

    async def due(self, *, limit: int, recheck_after: timedelta) -> Sequence[Person]:
        recent = exists().where(NikCheck.person_id == Person.id,
                                NikCheck.checked_at > datetime.now(UTC) - recheck_after)
        stmt = (select(Person).where(Person.nik_valid.is_(True), Person.status == RecordStatus.active,
                                     Person.birth_date.is_not(None), ~recent)
                .order_by(Person.id).limit(limit))
        return await self.get_all(self.readable(stmt))


def _principal(region: str | None, requested_by: str) -> Principal:
    scope = RegionScope.of(region) if region else RegionScope.national()
    return Principal(subject=requested_by, role=Role.system, scope=scope, purpose="nik-verification")


async def verify_region(
    sessionmaker: async_sessionmaker[AsyncSession],
    connector: Connector,
    verifier: NikVerifier,
    *,
    purpose: str,
    requested_by: str,
    limit: int = 100,
    per_minute: int | None = None,
    recheck_after: timedelta = timedelta(days=365),
) -> VerificationReport:
    """Check up to ``limit`` persons of the connector's region not checked within ``recheck_after``.

    ``per_minute`` paces calls under the agreed quota; a 429 is still honoured through ``Retry-After``
    by the client. When the source stays unavailable the batch stops and says why; checks already
    made are kept (each is committed as it arrives).
    """
    principal = _principal(connector.region_code, requested_by)
    report = VerificationReport()
    async with sessionmaker() as session, session.begin():
        await set_scope(session, principal)
        persons = await PersonsToVerify(session, principal).due(limit=limit, recheck_after=recheck_after)
    gap = 60.0 / per_minute if per_minute else 0.0
    for person in persons:
        started = time.monotonic()
        assert person.birth_date is not None  # selected with birth_date IS NOT NULL
        try:
            evidence = await verifier.verify(NikCheckRequest(nik=person.nik, name=person.name,
                                                             birth_date=person.birth_date,
                                                             birth_place=person.birth_place or "", purpose=purpose))
        except Rejected:
            report.refused += 1
            continue
        except (Unavailable, ConnectorError) as exc:
            report.stopped = f"{type(exc).__name__}: {exc.message}"
            break
        fields: dict[str, Any] = dict(evidence.fields)
        row = NikCheck(
            person_id=person.id, connector_id=connector.id, reference=evidence.reference,
            checked_at=evidence.checked_at, purpose=purpose, requested_by=requested_by,
            nik_found=evidence.nik_found, name_match=fields["name"].matched,
            name_similarity=fields["name"].similarity, birth_date_match=fields["birth_date"].matched,
            birth_place_match=fields["birth_place"].matched,
            birth_place_similarity=fields["birth_place"].similarity,
            province_code=person.province_code, regency_code=person.regency_code,
            district_code=person.district_code, village_code=person.village_code)
        async with sessionmaker() as session, session.begin():
            await set_scope(session, principal)
            session.add(row)
        report.checked += 1
        report.references.append(evidence.reference)
        if not evidence.nik_found:
            report.not_found += 1
        elif all(f.matched for f in evidence.fields.values()):
            report.all_matched += 1
        else:
            report.mismatched += 1
        if gap:
            await asyncio.sleep(max(0.0, gap - (time.monotonic() - started)))
    return report
