"""What the workflow tells other systems: outbox messages written in the transaction of the step itself.

- An approved ``NEW_HOUSEHOLD`` proposal goes to the SIKS-NG prelist (verivali); an approved
  ``NEW_PERSON`` or ``CORRECTION`` goes to SIKS-NG as an update proposal. ``PARTICIPATION`` stays
  in the hub.
- A case referred to a Baznas partner, or to a programme run by one, goes to Baznas as a referral.

The idempotency key is derived from the proposal or case id (``usulan-<id>``, ``rujukan-<id>``):
it is SIKS-NG's ``id_usulan`` and Baznas' ``Idempotency-Key``, so a redelivery is read as the first
one, and the outbox's unique key refuses a second message for the same step. Payloads are in the
hub's vocabulary plus the source's own ids where the row came from SIKS-NG.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from hub.models import Case, Complaint, Household, Need, OutboxMessage, Partner, Person, Proposal
from hub.sync import outbox
from hub.workflow.repository import HouseholdRepository, PersonRepository, SubmissionRepository
from hub.workflow.schemas import ProposalKind

SIKS_NG = "siks-ng"


def _registry_id(row: Household | Person) -> str | None:
    """The SIKS-NG id of a row it came from (``id_rt`` / ``id_art``)."""
    if row.source_system == SIKS_NG and row.source_record_id:
        return row.source_record_id
    return row.registry_id if isinstance(row, Household) else None


async def proposal_approved(session: AsyncSession, principal: Principal, proposal: Proposal) -> OutboxMessage | None:
    """Queue the registry push of an approved proposal (after it was applied). None for participation."""
    kind = ProposalKind(proposal.kind)
    if kind is ProposalKind.participation:
        return None
    household = await HouseholdRepository(session, principal).get(proposal.household_id)  # type: ignore[arg-type]
    payload: dict[str, Any] = {"proposal_id": str(proposal.id), "kind": kind.value,
                               "household_id": str(household.id), "registry_id": _registry_id(household),
                               "village_code": household.village_code, "submitted_by": proposal.submitted_by,
                               "approved_by": principal.subject}
    if kind is ProposalKind.new_household:
        payload["address"] = household.address
        topic = outbox.PRELIST
    else:
        topic = outbox.PROPOSAL
        payload["changes"] = proposal.payload
        payload["previous"] = proposal.previous
        if proposal.person_id is not None:
            person = await PersonRepository(session, principal).get(proposal.person_id)
            payload["person_id"] = str(person.id)
            payload["member_id"] = _registry_id(person)
    message = outbox.enqueue(session, topic=topic, idempotency_key=f"usulan-{proposal.id}", payload=payload,
                             region_code=household.village_code)
    await session.flush()
    return message


async def _subject(session: AsyncSession, principal: Principal, case: Case) -> tuple[str, Person | None]:
    """The need's or complaint's category and the person it concerns: its own, else the household head."""
    source: Need | Complaint
    if case.need_id is not None:
        source = await SubmissionRepository(session, principal, Need).get(case.need_id)
    else:
        source = await SubmissionRepository(session, principal, Complaint).get(case.complaint_id)  # type: ignore[arg-type]
    people = PersonRepository(session, principal)
    if source.person_id is not None:
        return source.category, await people.get(source.person_id)
    return source.category, await people.head_of(case.household_id)


async def case_referred(session: AsyncSession, principal: Principal, case: Case, partner: Partner | None, *,
                        programme_code: str | None, reason: str) -> OutboxMessage | None:
    """Queue the Baznas referral of a case referred to a Baznas partner (directly or through its programme)."""
    if partner is None or partner.kind != "baznas":
        return None
    category, person = await _subject(session, principal, case)
    payload = {"case_id": str(case.id), "partner_code": partner.code, "programme_code": programme_code,
               "category": category, "nik": person.nik if person else "", "name": person.name if person else "",
               "person_id": str(person.id) if person else None, "village_code": case.village_code,
               "reason": "; ".join(part for part in (reason, case.recommendation or "") if part),
               "referred_by": principal.subject}
    message = outbox.enqueue(session, topic=outbox.REFERRAL, idempotency_key=f"rujukan-{case.id}",
                             payload=payload, region_code=case.village_code)
    await session.flush()
    return message
