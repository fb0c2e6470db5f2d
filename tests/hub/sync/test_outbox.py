"""Outbox: written with the change, delivered after commit, retried, and idempotent at the partner."""

from __future__ import annotations

import uuid
from typing import Any

from auth.principal import Principal
from connectors.http import ClientOptions
from connectors.ports import SubmissionKind
from connectors.retry import RetryPolicy
from hub.db.engine import set_scope
from hub.sync.outbox import deliver_due, enqueue, referral_handler, submission_handler
from hub.sync.wiring import build_source
from mocks.faults import FaultConfig
from tests.hub.sync.conftest import Harness, set_faults

# One attempt per delivery round, so the outbox's own retry is what gets exercised.
ONE_SHOT = ClientOptions(timeout=5, retry=RetryPolicy(attempts=1, deadline=5))


def referral(n: int, programme: str = "BZN-ZMK") -> dict[str, Any]:
    return {"programme_code": programme, "nik": f"33140101019{n:05d}", "name": f"Warga {n}",
            "village_code": "33.14.01.2001", "reason": "lansia tanpa penghasilan"}


async def add(harness: Harness, messages: list[tuple[str, dict[str, Any]]], *, commit: bool = True) -> None:
    async with harness.sessionmaker() as session:
        await session.begin()
        await set_scope(session, Principal.system("tests"))
        for topic, payload in messages:
            enqueue(session, topic=topic, idempotency_key=str(uuid.uuid4()), payload=payload,
                    region_code=payload.get("village_code", "33.14"))
        await (session.commit() if commit else session.rollback())


async def test_messages_of_a_rolled_back_change_never_exist(harness: Harness) -> None:
    await add(harness, [("baznas.referral", referral(1))], commit=False)
    assert await harness.scalar("SELECT count(*) FROM outbox") == 0


async def test_flaky_partner_gets_each_referral_exactly_once(harness: Harness) -> None:
    baznas = await harness.connector("baznas")
    sink: Any = build_source(baznas, harness.settings, options=ONE_SHOT)
    # Truncated and garbled answers come after Baznas has stored the referral: the resend must not duplicate it.
    set_faults(harness.mocks, "baznas", FaultConfig(error_rate=0.15, truncate_rate=0.2, malformed_rate=0.15, seed=4))
    before = len(harness.mocks.world.referrals)
    await add(harness, [("baznas.referral", referral(n)) for n in range(8)])
    handlers = {"baznas.referral": referral_handler(sink)}
    rounds = 0
    while await harness.scalar("SELECT count(*) FROM outbox WHERE status = 'pending'") and rounds < 30:
        await deliver_due(harness.sessionmaker, handlers, backoff_base=0)
        rounds += 1
    await sink.aclose()
    assert rounds > 1  # something had to be retried
    assert await harness.scalar("SELECT count(*) FROM outbox WHERE status = 'delivered'") == 8
    assert len(harness.mocks.world.referrals) - before == 8
    assert await harness.scalar("SELECT count(*) FROM outbox WHERE result->>'referral_id' IS NULL "
                                "AND status = 'delivered'") == 0


async def test_a_refused_message_fails_at_once_and_is_kept(harness: Harness) -> None:
    sink: Any = build_source(await harness.connector("baznas"), harness.settings, options=ONE_SHOT)
    await add(harness, [("baznas.referral", referral(99, programme="NOT-A-PROGRAMME"))])
    report = await deliver_due(harness.sessionmaker, {"baznas.referral": referral_handler(sink)}, backoff_base=0)
    again = await deliver_due(harness.sessionmaker, {"baznas.referral": referral_handler(sink)}, backoff_base=0)
    await sink.aclose()
    assert (report.failed, again.failed + again.delivered + again.retrying) == (1, 0)
    failed = await harness.scalar("SELECT json_build_object('attempts', attempts, 'error', last_error) "
                                  "FROM outbox WHERE status = 'failed'")
    assert failed["attempts"] == 1
    assert failed["error"].startswith("Rejected: baznas: HTTP 422")


async def test_prelist_and_proposals_reach_siks_ng(harness: Harness) -> None:
    siks = await harness.connector("siks-ng")
    sink: Any = build_source(siks, harness.settings, options=ONE_SHOT)
    household = str(uuid.uuid4())
    await add(harness, [("siks-ng.prelist", {"kind": "new_household", "household_id": household,
                                             "village_code": "33.14.01.2001", "address": "Dukuh Baru"}),
                        ("siks-ng.proposal", {"kind": "correction", "household_id": household,
                                              "registry_id": "RT0110000001", "village_code": "33.14.01.2001",
                                              "changes": {"address": "Dukuh Lama 2"}})])
    report = await deliver_due(harness.sessionmaker, {
        "siks-ng.prelist": submission_handler(sink, SubmissionKind.prelist),
        "siks-ng.proposal": submission_handler(sink, SubmissionKind.proposal)})
    await sink.aclose()
    assert report.delivered == 2
    assert await harness.scalar("SELECT count(*) FROM outbox WHERE result->>'status' = 'DITERIMA'") == 2
