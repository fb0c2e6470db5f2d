"""Outbox messages of approvals and referrals delivered to the mock SIKS-NG and Baznas over loopback HTTP.

Delivery runs through the worker's wiring (``outbox_handlers``) on the test's connection, so what
it commits is a savepoint of the test's transaction and goes with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from connectors.http import ClientOptions
from connectors.retry import RetryPolicy
from hub.config import Settings
from hub.db.engine import make_sessionmaker
from hub.models import Case, Connector, OutboxMessage, OutboxStatus, Proposal
from hub.sync.outbox import DeliveryReport, deliver_due, poll_statuses
from hub.sync.secrets import seal
from hub.sync.wiring import outbox_handlers
from hub.workflow import service
from hub.workflow.rules import ReviewDecision
from hub.workflow.schemas import NewHousehold, NewPerson, RecordSubmission, Referral, ReviewItem, SubmissionKind
from mocks.faults import FaultConfig
from mocks.server import SYSTEMS, MockConfig, MockSystems
from schema.ids import to_global_id
from tests.schema.workflow.conftest import (
    FACILITATOR,
    MANAGER,
    SUPERVISOR,
    VILLAGE,
    Api,
    World,
    reload,
    reset_scope,
)

# One HTTP attempt per delivery round: the outbox's own retry is what is under test.
ONE_SHOT = ClientOptions(timeout=5, retry=RetryPolicy(attempts=1, deadline=5))
VALID_NIK = "3314015505900003"


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockSystems]:
    systems = MockSystems(MockConfig(ports=dict.fromkeys(SYSTEMS, 0), size=20, seed=5))
    with systems.running():
        yield systems


@pytest.fixture(autouse=True)
def calm(mocks: MockSystems) -> Iterator[None]:
    yield
    for app in mocks.apps.values():
        app.state.faults.config = FaultConfig()


def faults(mocks: MockSystems, system: str, config: FaultConfig) -> None:
    state = mocks.apps[system].state.faults
    state.config = config
    state.rng.seed(config.seed)


def connector(settings: Settings, mocks: MockSystems, kind: str, *, region: str | None = "33.14",
              credentials: dict[str, str] | None = None, **options: Any) -> Connector:
    return Connector(id=uuid.uuid4(), name=f"{kind}-{region}", kind=kind, base_url=mocks.urls[kind],
                     credentials=seal(settings, credentials or mocks.config.client_credentials(kind)),
                     region_code=region, enabled=True, options=options)


async def deliver(connection: AsyncConnection, settings: Settings, *connectors: Connector) -> DeliveryReport:
    clients: list[Any] = []
    try:
        handlers = outbox_handlers(connectors, settings, clients, options=ONE_SHOT)
        return await deliver_due(make_sessionmaker(connection), handlers, backoff_base=0)
    finally:
        for client in clients:
            await client.aclose()


async def poll(connection: AsyncConnection, settings: Settings, *connectors: Connector) -> int:
    clients: list[Any] = []
    try:
        pollers = outbox_handlers(connectors, settings, clients, options=ONE_SHOT, status=True)
        return await poll_statuses(make_sessionmaker(connection), pollers)
    finally:
        for client in clients:
            await client.aclose()


async def message(session: AsyncSession, key: str) -> OutboxMessage:
    await reset_scope(session)
    return (await session.execute(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
                                  .execution_options(populate_existing=True))).scalar_one()


async def lose_acknowledgement(session: AsyncSession) -> None:
    """As if the worker died after the partner answered but before it recorded the delivery."""
    await reset_scope(session)
    await session.execute(update(OutboxMessage).values(status=OutboxStatus.pending, result=None))


async def approved_proposals(session: AsyncSession, world: World) -> list[uuid.UUID]:
    proposals = [
        await service.propose_household(session, FACILITATOR, NewHousehold(village_code=VILLAGE, address="Keden")),
        await service.propose_person(session, FACILITATOR, NewPerson(household_id=world.household.id,
                                                                     nik=VALID_NIK, name="Sri Lestari")),
    ]
    for proposal in proposals:
        await service.review(session, SUPERVISOR, ReviewItem(kind=SubmissionKind.proposal, id=proposal.id,
                                                             decision=ReviewDecision.approve))
    return [p.id for p in proposals]


async def referred_case(session: AsyncSession, world: World) -> uuid.UUID:
    need = await service.record_need(session, FACILITATOR, RecordSubmission(household_id=world.household.id,
                                                                             category="housing"))
    outcome = await service.review(session, SUPERVISOR, ReviewItem(kind=SubmissionKind.need, id=need.id,
                                                                   decision=ReviewDecision.approve))
    assert outcome.case_id is not None
    await service.refer(session, MANAGER, Referral(case_id=outcome.case_id, partner_code=world.partner.code))
    return outcome.case_id


async def test_approvals_reach_siks_ng_once_even_when_delivered_twice(
        session: AsyncSession, connection: AsyncConnection, world: World, settings: Settings,
        mocks: MockSystems) -> None:
    household_proposal, person_proposal = await approved_proposals(session, world)
    siks = connector(settings, mocks, "siks-ng")
    before = len(mocks.world.proposals)

    assert (await deliver(connection, settings, siks)).delivered == 2
    prelist = await message(session, f"usulan-{household_proposal}")
    usulan = await message(session, f"usulan-{person_proposal}")
    assert (prelist.status, usulan.status) == (OutboxStatus.delivered, OutboxStatus.delivered)
    received = mocks.world.proposals
    assert len(received) - before == 2
    assert (received[prelist.idempotency_key]["jenis"], received[usulan.idempotency_key]["jenis"]) == (
        "prelist", "usulan")
    first_tickets = (prelist.result, usulan.result)
    assert prelist.result is not None
    assert prelist.result["ticket"] == received[prelist.idempotency_key]["no_tiket"]

    await lose_acknowledgement(session)
    assert (await deliver(connection, settings, siks)).delivered == 2
    assert len(received) - before == 2  # the resend was read as the first send
    again = (await message(session, prelist.idempotency_key), await message(session, usulan.idempotency_key))
    assert (again[0].result, again[1].result) == first_tickets


async def test_a_503_is_retried_on_a_later_round(session: AsyncSession, connection: AsyncConnection, world: World,
                                                  settings: Settings, mocks: MockSystems) -> None:
    household_proposal, _ = await approved_proposals(session, world)
    siks = connector(settings, mocks, "siks-ng")
    faults(mocks, "siks-ng", FaultConfig(error_rate=1.0))
    report = await deliver(connection, settings, siks)
    assert (report.delivered, report.retrying, report.failed) == (0, 2, 0)
    waiting = await message(session, f"usulan-{household_proposal}")
    assert (waiting.status, waiting.attempts) == (OutboxStatus.pending, 1)
    assert "HTTP 503" in str(waiting.last_error)

    faults(mocks, "siks-ng", FaultConfig())
    assert (await deliver(connection, settings, siks)).delivered == 2
    delivered = await message(session, f"usulan-{household_proposal}")
    assert (delivered.status, delivered.attempts, delivered.last_error) == (OutboxStatus.delivered, 2, None)
    assert delivered.idempotency_key in mocks.world.proposals


async def test_a_refusal_fails_the_message_and_is_not_retried(session: AsyncSession, connection: AsyncConnection,
                                                             world: World, settings: Settings,
                                                             mocks: MockSystems) -> None:
    household_proposal, _ = await approved_proposals(session, world)
    wrong_key = connector(settings, mocks, "siks-ng", credentials={"api_key": "not-the-key"})
    report = await deliver(connection, settings, wrong_key)
    assert (report.delivered, report.retrying, report.failed) == (0, 0, 2)
    again = await deliver(connection, settings, wrong_key)
    assert again == DeliveryReport()  # nothing left to try
    failed = await message(session, f"usulan-{household_proposal}")
    assert (failed.status, failed.attempts) == (OutboxStatus.failed, 1)
    assert str(failed.last_error).startswith("Rejected")
    assert failed.idempotency_key not in mocks.world.proposals


async def test_a_baznas_referral_needs_the_partners_programme_and_arrives_once(
        session: AsyncSession, connection: AsyncConnection, world: World, settings: Settings,
        mocks: MockSystems) -> None:
    first, second = await referred_case(session, world), None
    # No programme mapping: Baznas does not know the hub's codes and refuses (422), once.
    unmapped = await deliver(connection, settings, connector(settings, mocks, "baznas"))
    assert unmapped.failed == 1
    refused = await message(session, f"rujukan-{first}")
    assert str(refused.last_error).startswith("Rejected: baznas: HTTP 422")

    second = await referred_case(session, world)
    baznas = connector(settings, mocks, "baznas", programmes={"housing": "BZN-ZMK"})
    before = len(mocks.world.referrals)
    assert (await deliver(connection, settings, baznas)).delivered == 1
    await lose_acknowledgement(session)  # the failed one too: it now goes out with the mapping
    assert (await deliver(connection, settings, baznas)).delivered == 2
    assert len(mocks.world.referrals) - before == 2  # one per case, however often delivered
    sent = await message(session, f"rujukan-{second}")
    assert sent.result is not None
    stored = mocks.world.referrals[sent.result["referral_id"]].payload
    assert (stored["program"], stored["nik"]) == ("BZN-ZMK", world.head.nik)


async def test_messages_go_to_the_connector_of_their_region(session: AsyncSession, connection: AsyncConnection,
                                                            world: World, settings: Settings,
                                                            mocks: MockSystems) -> None:
    household_proposal, _ = await approved_proposals(session, world)
    elsewhere = connector(settings, mocks, "siks-ng", region="33.15")
    assert (await deliver(connection, settings, elsewhere)).retrying == 2
    waiting = await message(session, f"usulan-{household_proposal}")
    assert waiting.last_error == f"Unavailable: no enabled connector for siks-ng.prelist in {VILLAGE}"
    national = connector(settings, mocks, "siks-ng", region=None)
    assert (await deliver(connection, settings, elsewhere, national)).delivered == 2


async def test_reported_statuses_are_polled_until_final(session: AsyncSession, connection: AsyncConnection,
                                                        world: World, settings: Settings, mocks: MockSystems,
                                                        api: Api) -> None:
    household_proposal, _ = await approved_proposals(session, world)
    case_id = await referred_case(session, world)
    case_updated = (await reload(session, Case, case_id)).updated_at
    siks = connector(settings, mocks, "siks-ng")
    baznas = connector(settings, mocks, "baznas", programmes={"*": "BZN-ZMK"})
    assert (await deliver(connection, settings, siks, baznas)).delivered == 3
    assert (await reload(session, Proposal, household_proposal)).registry_status == "DITERIMA"
    assert (await reload(session, Case, case_id)).partner_status == "received"
    seen: list[str] = []
    for _ in range(10):
        if not await poll(connection, settings, siks, baznas):
            break
        prelist = await message(session, f"usulan-{household_proposal}")
        assert prelist.result is not None
        seen.append(prelist.result["status"])
    assert seen == ["DITERIMA", "VERIVALI", "VERIVALI", "DISETUJUI"]  # the mock's processing steps
    referral = await message(session, f"rujukan-{case_id}")
    assert referral.result is not None
    assert referral.result["state"] in ("approved", "rejected")
    assert referral.result["referral_id"] in mocks.world.referrals
    assert await poll(connection, settings, siks, baznas) == 0  # final statuses are not asked again
    proposal = await reload(session, Proposal, household_proposal)
    case = await reload(session, Case, case_id)
    assert (proposal.registry_status, case.partner_status) == ("DISETUJUI", referral.result["state"])
    assert (case.status.value, case.updated_at) == ("referred", case_updated)  # a report is not a step

    body = await api(MANAGER, "query($id: ID!) { case(id: $id) { partnerStatus } }", id=to_global_id("Case", case_id))
    assert body["data"]["case"] == {"partnerStatus": referral.result["state"]}
    body = await api(SUPERVISOR, "query { proposals(first: 10) { nodes { kind registryStatus } } }")
    assert {"kind": "NEW_HOUSEHOLD", "registryStatus": "DISETUJUI"} in body["data"]["proposals"]["nodes"]
