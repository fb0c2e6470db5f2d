"""The outbox: pushes to other systems written in the same transaction as the change they report,
delivered after commit, retried with backoff, idempotent on the receiving side.

A message is delivered at least once: a worker that dies after the partner accepted but before it
recorded the delivery sends it again, and the partner's idempotency key (Baznas ``Idempotency-Key``,
SIKS-NG ``id_usulan``) turns the second send into a read of the first answer. Several workers can
deliver at once: each claims its batch with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal
from connectors.errors import ConnectorError, Unavailable
from connectors.ports import PartnerReferralSink, Referral, RegistrySink, Submission, SubmissionKind
from hub.db.engine import set_scope
from hub.models import Case, OutboxMessage, OutboxStatus, Proposal
from hub.sync.engine import region_columns

SYSTEM = Principal.system("outbox")
Handler = Callable[[OutboxMessage], Awaitable[dict[str, Any]]]

# Topics, each delivered through one port.
REFERRAL = "baznas.referral"  # PartnerReferralSink.refer
PROPOSAL = "siks-ng.proposal"  # RegistrySink.submit, SubmissionKind.proposal
PRELIST = "siks-ng.prelist"  # RegistrySink.submit, SubmissionKind.prelist


def enqueue(session: AsyncSession, *, topic: str, idempotency_key: str, payload: dict[str, Any],
            region_code: str, connector_id: uuid.UUID | None = None) -> OutboxMessage:
    """Add a message to the caller's transaction: it exists if and only if the change commits."""
    message = OutboxMessage(topic=topic, idempotency_key=idempotency_key, payload=payload,
                            connector_id=connector_id, **region_columns(region_code))
    session.add(message)
    return message


def partner_programme(payload: Mapping[str, Any], programmes: Mapping[str, str]) -> str:
    """The partner's own programme code for a referral.

    ``programmes`` (the connector's ``options.programmes``) maps the hub's programme code, or the
    need's category, or ``"*"`` to a code of the partner's catalogue; without a match the hub's
    programme code is sent as it is (and the partner refuses it if it does not know it).
    """
    for key in (payload.get("programme_code"), payload.get("category"), "*"):
        if key is not None and key in programmes:
            return programmes[key]
    return str(payload.get("programme_code") or "")


def referral_handler(sink: PartnerReferralSink, programmes: Mapping[str, str] | None = None) -> Handler:
    async def deliver(message: OutboxMessage) -> dict[str, Any]:
        p = message.payload
        status = await sink.refer(Referral(idempotency_key=message.idempotency_key,
                                           programme_code=partner_programme(p, programmes or {}), nik=p["nik"],
                                           name=p["name"], village_code=p["village_code"], reason=p["reason"]))
        return {"referral_id": status.referral_id, "state": status.state.value}

    return deliver


def submission_handler(sink: RegistrySink, kind: SubmissionKind) -> Handler:
    async def deliver(message: OutboxMessage) -> dict[str, Any]:
        receipt = await sink.submit(Submission(kind=kind, key=message.idempotency_key, payload=message.payload))
        return {"ticket": receipt.ticket, "status": receipt.status}

    return deliver


def by_region(handlers: Sequence[tuple[str | None, Handler]]) -> Handler:
    """Route a topic over several connectors of one kind: a message goes to the connector whose region
    holds its village (the most specific wins); a connector without a region serves everywhere. With no
    connector for its region a message waits (``Unavailable``) until one is configured."""
    ordered = sorted(handlers, key=lambda pair: -len(pair[0] or ""))

    async def deliver(message: OutboxMessage) -> dict[str, Any]:
        for region, handler in ordered:
            if region is None or message.village_code == region or message.village_code.startswith(region + "."):
                return await handler(message)
        raise Unavailable(f"no enabled connector for {message.topic} in {message.village_code}")

    return deliver


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def _backoff(attempts: int, base: float) -> timedelta:
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 3600.0))


async def deliver_due(sessionmaker: async_sessionmaker[AsyncSession], handlers: Mapping[str, Handler], *,
                      batch: int = 50, backoff_base: float = 5.0) -> DeliveryReport:
    """Deliver one batch of due messages whose topic has a handler."""
    report = DeliveryReport()
    async with sessionmaker() as session, session.begin():
        await set_scope(session, SYSTEM)
        stmt = (select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.pending,
                       OutboxMessage.next_attempt_at <= datetime.now(UTC),
                       OutboxMessage.topic.in_(list(handlers)))
                .order_by(OutboxMessage.created_at).limit(batch).with_for_update(skip_locked=True))
        for message in (await session.execute(stmt)).scalars():
            message.attempts += 1
            try:
                message.result = await handlers[message.topic](message)
            except Unavailable as exc:
                message.last_error = f"{type(exc).__name__}: {exc.message}"
                message.next_attempt_at = datetime.now(UTC) + _backoff(message.attempts, backoff_base)
                report.retrying += 1
                continue
            except ConnectorError as exc:  # refused or contract broken: retrying sends the same thing
                message.last_error = f"{type(exc).__name__}: {exc.message}"
                message.status = OutboxStatus.failed
                report.failed += 1
                continue
            message.status = OutboxStatus.delivered
            message.delivered_at = datetime.now(UTC)
            message.last_error = None
            await report_status(session, message)
            report.delivered += 1
    return report


async def report_status(session: AsyncSession, message: OutboxMessage) -> None:
    """Copy the status the receiver reported onto the proposal or case the message is about.

    Written as a plain UPDATE that keeps ``updated_at``: a status from outside is not a step of the workflow.
    """
    result, payload = message.result or {}, message.payload
    if payload.get("proposal_id") and result.get("status"):
        await session.execute(update(Proposal).where(Proposal.id == uuid.UUID(payload["proposal_id"]))
                              .values(registry_status=str(result["status"])[:32], updated_at=Proposal.updated_at))
    elif payload.get("case_id") and result.get("state"):
        await session.execute(update(Case).where(Case.id == uuid.UUID(payload["case_id"]))
                              .values(partner_status=str(result["state"])[:32], updated_at=Case.updated_at))


# Statuses the receiving side reports later: SIKS-NG's processing of a proposal, Baznas' of a referral.
FINAL_STATUSES = ("DISETUJUI", "DITOLAK", "approved", "rejected")


def submission_status_poller(sink: RegistrySink) -> Handler:
    async def poll(message: OutboxMessage) -> dict[str, Any]:
        receipt = await sink.submission_status(message.idempotency_key)
        return {"ticket": receipt.ticket, "status": receipt.status}

    return poll


def referral_status_poller(sink: PartnerReferralSink) -> Handler:
    async def poll(message: OutboxMessage) -> dict[str, Any]:
        status = await sink.referral_status(str((message.result or {})["referral_id"]))
        return {"referral_id": status.referral_id, "state": status.state.value, "note": status.note}

    return poll


async def poll_statuses(sessionmaker: async_sessionmaker[AsyncSession], pollers: Mapping[str, Handler], *,
                        batch: int = 50) -> int:
    """Refresh the reported status in ``result`` of delivered messages not yet final. Returns how many
    were refreshed; a message whose poll fails keeps its last status and the error, and is asked again
    next time."""
    refreshed = 0
    reported = func.coalesce(OutboxMessage.result["status"].astext, OutboxMessage.result["state"].astext)
    async with sessionmaker() as session, session.begin():
        await set_scope(session, SYSTEM)
        stmt = (select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.delivered, OutboxMessage.topic.in_(list(pollers)),
                       reported.not_in(FINAL_STATUSES))
                .order_by(OutboxMessage.delivered_at).limit(batch).with_for_update(skip_locked=True))
        for message in (await session.execute(stmt)).scalars():
            try:
                status = await pollers[message.topic](message)
            except ConnectorError as exc:
                message.last_error = f"status: {type(exc).__name__}: {exc.message}"
                continue
            message.result = {**(message.result or {}), **status, "polled_at": datetime.now(UTC).isoformat()}
            message.last_error = None
            await report_status(session, message)
            refreshed += 1
    return refreshed
