"""The access log's chain: sealing, verification, tamper detection, and the append-only rules."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.audit import service as audit_service
from hub.models import AccessLog

DISABLE = text("ALTER TABLE access_logs DISABLE TRIGGER access_logs_append_only")


def access(n: int) -> audit_service.Access:
    principal = Principal(subject=f"fas-{n}", role=Role.facilitator, scope=RegionScope.of("33.14.01.2001"),
                          purpose="verivali")
    return audit_service.Access(principal=principal, outcome="allowed", operation_name=f"Op{n}",
                                person_ids=[uuid.uuid4()], fields=["Person.nik"], source_ip="10.0.0.1")


async def sealed_entries(owner_session: AsyncSession, n: int = 6) -> list[int]:
    """Write ``n`` entries, seal everything, return the positions of ours in chain order."""
    ids = [await audit_service.record(owner_session, access(i)) for i in range(n)]
    await audit_service.seal(owner_session)
    seqs = (await owner_session.execute(
        select(AccessLog.seq).where(AccessLog.id.in_(ids)).order_by(AccessLog.seq))).scalars().all()
    assert len(seqs) == n
    return [int(s) for s in seqs if s is not None]


async def test_sealing_chains_everything_in_one_order(owner_session: AsyncSession) -> None:
    seqs = await sealed_entries(owner_session, 5)
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    result = await audit_service.verify(owner_session)
    assert result.ok, result.problem
    assert result.pending == 0
    assert result.sealed >= 5
    await audit_service.record(owner_session, access(99))
    result = await audit_service.verify(owner_session)
    assert (result.ok, result.pending) == (True, 1)
    assert await audit_service.seal(owner_session) == 1
    assert (await audit_service.verify(owner_session)).pending == 0


async def test_editing_an_entry_is_detected_at_its_position(owner_session: AsyncSession) -> None:
    seqs = await sealed_entries(owner_session)
    await owner_session.execute(DISABLE)
    await owner_session.execute(text("UPDATE access_logs SET actor = 'someone-else' WHERE seq = :s"),
                                {"s": seqs[2]})
    result = await audit_service.verify(owner_session)
    assert result.first_bad == seqs[2]
    assert result.problem == "entry content does not match its hash"


@pytest.mark.parametrize(("written", "forged"), [("aggregate", "personal"), ("personal", "aggregate")])
async def test_changing_an_entry_kind_is_detected(owner_session: AsyncSession, written: str, forged: str) -> None:
    # kind is hashed only when not "personal" (entries sealed before it existed still verify), so a
    # flip either way must still change the canonical form.
    ids = [await audit_service.record(owner_session, replace(access(i), kind=written)) for i in range(3)]
    await audit_service.seal(owner_session)
    assert (await audit_service.verify(owner_session)).ok
    seq = (await owner_session.execute(select(AccessLog.seq).where(AccessLog.id == ids[1]))).scalar_one()
    await owner_session.execute(DISABLE)
    await owner_session.execute(text("UPDATE access_logs SET kind = :k WHERE seq = :s"), {"k": forged, "s": seq})
    result = await audit_service.verify(owner_session)
    assert (result.first_bad, result.problem) == (seq, "entry content does not match its hash")


async def test_editing_and_rehashing_an_entry_breaks_the_next_link(owner_session: AsyncSession) -> None:
    seqs = await sealed_entries(owner_session)
    await owner_session.execute(DISABLE)
    row = (await owner_session.execute(select(AccessLog).where(AccessLog.seq == seqs[2]))).scalar_one()
    row.fields = ["Person.name"]
    from hub.audit.chain import link

    await owner_session.flush()
    await owner_session.execute(text("UPDATE access_logs SET hash = :h WHERE seq = :s"),
                                {"h": link(str(row.prev_hash), row, seqs[2]), "s": seqs[2]})
    result = await audit_service.verify(owner_session)
    assert result.first_bad == seqs[3]
    assert result.problem == "prev_hash does not match the previous entry"


async def test_deleting_an_entry_is_detected_at_its_position(owner_session: AsyncSession) -> None:
    seqs = await sealed_entries(owner_session)
    await owner_session.execute(DISABLE)
    await owner_session.execute(text("DELETE FROM access_logs WHERE seq = :s"), {"s": seqs[3]})
    result = await audit_service.verify(owner_session)
    assert result.first_bad == seqs[3]
    assert "missing" in (result.problem or "")


async def test_reordering_two_entries_is_detected_at_the_first(owner_session: AsyncSession) -> None:
    seqs = await sealed_entries(owner_session)
    a, b = seqs[1], seqs[2]
    await owner_session.execute(DISABLE)
    await owner_session.execute(text("UPDATE access_logs SET seq = -1 WHERE seq = :a"), {"a": a})
    await owner_session.execute(text("UPDATE access_logs SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
    await owner_session.execute(text("UPDATE access_logs SET seq = :b WHERE seq = -1"), {"b": b})
    result = await audit_service.verify(owner_session)
    assert result.first_bad == a


async def test_a_truncated_tail_is_caught_only_with_the_anchor(owner_session: AsyncSession, tmp_path: Path) -> None:
    seqs = await sealed_entries(owner_session)
    anchor = await audit_service.anchor(owner_session)
    assert anchor.seq == seqs[-1]
    path = tmp_path / "anchor.json"
    path.write_text(anchor.dumps())
    assert (await audit_service.verify(owner_session, audit_service.Anchor.load(path))).ok
    await owner_session.execute(DISABLE)
    await owner_session.execute(text("DELETE FROM access_logs WHERE seq >= :s"), {"s": seqs[-2]})
    assert (await audit_service.verify(owner_session)).ok  # a clean prefix looks fine on its own...
    result = await audit_service.verify(owner_session, audit_service.Anchor.load(path))
    assert result.first_bad == seqs[-2]  # ...the anchor names where the tail went
    assert "truncated" in (result.problem or "")


async def test_a_forged_tail_with_a_new_head_is_caught_by_the_anchor(owner_session: AsyncSession) -> None:
    seqs = await sealed_entries(owner_session)
    anchor = await audit_service.anchor(owner_session)
    await owner_session.execute(DISABLE)
    await owner_session.execute(text("DELETE FROM access_logs WHERE seq = :s"), {"s": seqs[-1]})
    await audit_service.record(owner_session, access(42))
    await audit_service.seal(owner_session)
    assert (await audit_service.verify(owner_session)).ok
    result = await audit_service.verify(owner_session, anchor)
    assert result.first_bad == seqs[-1]


async def test_the_app_role_can_neither_update_nor_delete(session: AsyncSession) -> None:
    await audit_service.record(session, access(1))
    for statement in ("UPDATE access_logs SET actor = 'x'", "DELETE FROM access_logs",
                      "UPDATE access_logs SET seq = 1, prev_hash = repeat('0', 64), hash = repeat('0', 64)",
                      "TRUNCATE access_logs"):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with session.begin_nested():
                await session.execute(text(statement))


async def test_the_trigger_refuses_rewrites_even_by_the_owner(owner_session: AsyncSession) -> None:
    await sealed_entries(owner_session, 2)
    pending = await audit_service.record(owner_session, access(7))
    for statement, params in (
        ("UPDATE access_logs SET actor = 'x' WHERE seq IS NOT NULL", {}),
        ("DELETE FROM access_logs WHERE seq IS NOT NULL", {}),
        ("DELETE FROM access_logs WHERE id = :id", {"id": pending}),
        ("UPDATE access_logs SET actor = 'x', seq = 999999, prev_hash = repeat('0', 64), hash = repeat('0', 64) "
         "WHERE id = :id", {"id": pending}),
        ("UPDATE access_logs SET hash = repeat('f', 64) WHERE seq IS NOT NULL", {}),
        ("TRUNCATE access_logs", {}),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with owner_session.begin_nested():
                await owner_session.execute(text(statement), params)


async def test_sealing_in_limited_steps_gives_the_same_chain(owner_session: AsyncSession) -> None:
    await audit_service.seal(owner_session)
    for n in range(7):
        await audit_service.record(owner_session, access(n))
    assert await audit_service.seal(owner_session, batch=2, limit=3) == 3
    assert (await audit_service.verify(owner_session)).pending == 4
    assert await audit_service.seal(owner_session, batch=2, limit=3) == 3
    assert await audit_service.seal(owner_session, batch=2, limit=3) == 1
    result = await audit_service.verify(owner_session)
    assert (result.ok, result.pending) == (True, 0)
