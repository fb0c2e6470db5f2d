"""Contract of ``PartnerReferralSink`` (Baznas)."""

from __future__ import annotations

import uuid

import pytest

from connectors.errors import Rejected
from connectors.ports import PartnerReferralSink, Referral, ReferralState
from tests.contract.conftest import Backend


def referral(key: str, programme: str = "BZN-ZMK") -> Referral:
    return Referral(idempotency_key=key, programme_code=programme, nik="3314010101900001", name="Budi Santoso",
                    village_code="33.14.01.2001", reason="Lansia tanpa penghasilan")


async def test_programmes_are_listed(backend: Backend) -> None:
    sink = backend.client("baznas")
    assert isinstance(sink, PartnerReferralSink)
    assert {p.code for p in await sink.programmes()} == {"BZN-ZMK", "BZN-SEHAT", "BZN-CERDAS"}
    await sink.aclose()


async def test_resending_a_referral_is_idempotent(backend: Backend) -> None:
    sink = backend.client("baznas")
    key = str(uuid.uuid4())
    first = await sink.refer(referral(key))
    again = await sink.refer(referral(key))
    assert first.state is ReferralState.received
    assert again.referral_id == first.referral_id
    await sink.aclose()


async def test_status_moves_forward_to_a_decision(backend: Backend) -> None:
    sink = backend.client("baznas")
    sent = await sink.refer(referral(str(uuid.uuid4())))
    states = [(await sink.referral_status(sent.referral_id)).state for _ in range(3)]
    assert states[0] is ReferralState.in_review
    assert states[-1] in (ReferralState.approved, ReferralState.rejected)
    await sink.aclose()


async def test_unknown_programme_is_rejected(backend: Backend) -> None:
    sink = backend.client("baznas")
    with pytest.raises(Rejected) as raised:
        await sink.refer(referral(str(uuid.uuid4()), programme="NOPE"))
    assert raised.value.status == 422
    await sink.aclose()
