"""Contract of ``RegistrySink`` (SIKS-NG proposals and prelist)."""

from __future__ import annotations

import uuid

from connectors.ports import RegistrySink, Submission, SubmissionKind
from tests.contract.conftest import Backend


async def test_resubmitting_returns_the_first_receipt_and_status_moves_on(backend: Backend) -> None:
    sink = backend.client("siks-ng")
    assert isinstance(sink, RegistrySink)
    key = str(uuid.uuid4())
    submission = Submission(kind=SubmissionKind.prelist, key=key,
                            payload={"kode_desa": "3314012001", "nama_krt": "Warga Baru"})
    first = await sink.submit(submission)
    again = await sink.submit(submission)
    assert first.status == "DITERIMA"
    assert (again.key, again.ticket) == (key, first.ticket)
    states = [(await sink.submission_status(key)).status for _ in range(4)]
    assert states[-1] == "DISETUJUI"
    await sink.aclose()


async def test_proposals_are_accepted(backend: Backend) -> None:
    sink = backend.client("siks-ng")
    receipt = await sink.submit(Submission(kind=SubmissionKind.proposal, key=str(uuid.uuid4()),
                                           payload={"id_rt": "RT0070000001", "perubahan": {"desil": 3}}))
    assert receipt.ticket
    await sink.aclose()
