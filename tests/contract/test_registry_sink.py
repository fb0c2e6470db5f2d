"""Contract of ``RegistrySink`` (SIKS-NG proposals and prelist): the client writes SIKS-NG's own
document from the hub's vocabulary, and SIKS-NG refuses (422, with the reason) a document that is not one."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from connectors.errors import BadPayload, Rejected
from connectors.ports import RegistrySink, Submission, SubmissionKind
from tests.contract.conftest import Backend

HOUSEHOLD = str(uuid.uuid4())


def prelist(key: str) -> Submission:
    return Submission(kind=SubmissionKind.prelist, key=key, payload={
        "proposal_id": key, "kind": "new_household", "household_id": HOUSEHOLD, "registry_id": None,
        "village_code": "33.14.01.2001", "address": "Dukuh Keden RT 02", "submitted_by": "f-1",
        "approved_by": "s-1"})


def new_member(key: str, **changes: Any) -> Submission:
    return Submission(kind=SubmissionKind.proposal, key=key, payload={
        "proposal_id": key, "kind": "new_person", "household_id": HOUSEHOLD, "registry_id": "RT0070000001",
        "village_code": "33.14.01.2001", "submitted_by": "f-1", "approved_by": "s-1", "person_id": None,
        "member_id": None, "previous": None,
        "changes": {"nik": "3314015505900003", "name": "Sri Lestari", "sex": "F", "birth_date": "1990-05-15",
                    "birth_place": "Sragen", "relationship_to_head": "spouse", "has_disability": False,
                    "disabilities": [], **changes}})


async def test_resubmitting_returns_the_first_receipt_and_status_moves_on(backend: Backend) -> None:
    sink = backend.client("siks-ng")
    assert isinstance(sink, RegistrySink)
    key = str(uuid.uuid4())
    first = await sink.submit(prelist(key))
    again = await sink.submit(prelist(key))
    assert first.status == "DITERIMA"
    assert (again.key, again.ticket) == (key, first.ticket)
    states = [(await sink.submission_status(key)).status for _ in range(4)]
    assert states[-1] == "DISETUJUI"
    await sink.aclose()
    assert backend.world.proposals[key]["dokumen"] == {
        "id_usulan": key, "jenis_usulan": "PRELIST", "kode_desa": "3314012001", "alamat": "Dukuh Keden RT 02",
        "id_rt": None, "ref_hub_rt": HOUSEHOLD, "diusulkan_oleh": "f-1", "disetujui_oleh": "s-1"}


async def test_a_member_proposal_arrives_in_siks_ng_field_names(backend: Backend) -> None:
    sink = backend.client("siks-ng")
    key = str(uuid.uuid4())
    receipt = await sink.submit(new_member(key))
    await sink.aclose()
    assert receipt.ticket
    document = backend.world.proposals[key]["dokumen"]
    assert isinstance(document, dict)
    assert (document["jenis_usulan"], document["id_rt"], document["kode_desa"]) == (
        "TAMBAH_ART", "RT0070000001", "3314012001")
    assert document["perubahan"] == {"nik": "3314015505900003", "nama": "Sri Lestari", "jenis_kelamin": 2,
                                     "tgl_lahir": "1990-05-15", "tempat_lahir": "Sragen", "hub_krt": 2,
                                     "disabilitas": 0, "jenis_disabilitas": []}


async def test_a_household_correction_is_a_perbaikan_rt(backend: Backend) -> None:
    sink = backend.client("siks-ng")
    key = str(uuid.uuid4())
    await sink.submit(Submission(kind=SubmissionKind.proposal, key=key, payload={
        "kind": "correction", "household_id": HOUSEHOLD, "registry_id": "RT0070000001",
        "village_code": "33.14.01.2001", "changes": {"address": "Jl. Baru 3"}, "previous": {"address": "Jl. Lama"}}))
    await sink.aclose()
    document = backend.world.proposals[key]["dokumen"]
    assert isinstance(document, dict)
    assert (document["jenis_usulan"], document["perubahan"], document["sebelumnya"]) == (
        "PERBAIKAN_RT", {"alamat": "Jl. Baru 3"}, {"alamat": "Jl. Lama"})


async def test_a_hub_field_siks_ng_has_no_place_for_is_refused_before_sending(backend: Backend) -> None:
    sink = backend.client("siks-ng")
    key = str(uuid.uuid4())
    with pytest.raises(BadPayload, match="favourite_colour"):
        await sink.submit(new_member(key, favourite_colour="blue"))
    await sink.aclose()
    assert key not in backend.world.proposals


async def test_siks_ng_refuses_a_document_that_breaks_its_format(backend: Backend) -> None:
    sink = backend.client("siks-ng")
    key = str(uuid.uuid4())
    with pytest.raises(Rejected, match=r"HTTP 422 .*perubahan\.nik tidak valid"):
        await sink.submit(new_member(key, nik="12345"))  # SIKS-NG's rule: 16 digits
    await sink.aclose()
    assert key not in backend.world.proposals


@pytest.mark.parametrize(("path", "document", "reason"), [
    ("/api/v1/usulan", {"id_usulan": "u-1", "kode_desa": "3314012001", "nama_krt": "Warga Baru"},
     "jenis_usulan"),  # the hub's old ad-hoc shape
    ("/api/v1/prelist", {"id_usulan": "u-2", "jenis_usulan": "PRELIST", "kode_desa": "33.14.01.2001",
                         "alamat": "x", "ref_hub_rt": "h"}, "kode_desa harus 10 digit"),
    ("/api/v1/usulan", {"id_usulan": "u-3", "jenis_usulan": "PERBAIKAN_RT", "kode_desa": "3314012001",
                        "ref_hub_rt": "h", "perubahan": {"address": "x"}}, "perubahan.address tidak dikenal"),
    ("/api/v1/usulan", {"id_usulan": "u-4", "jenis_usulan": "TAMBAH_ART", "kode_desa": "3314012001",
                        "ref_hub_rt": "h", "perubahan": {"nama": "A", "nik": "3314015505900003", "hub_krt": 9}},
     "perubahan.hub_krt tidak valid"),
    ("/api/v1/prelist", {"jenis_usulan": "PRELIST", "kode_desa": "3314012001", "alamat": "x",
                         "ref_hub_rt": "h"}, "id_usulan wajib diisi"),
])
async def test_the_mock_validates_raw_documents(backend: Backend, path: str, document: dict[str, Any],
                                                reason: str) -> None:
    key = backend.config.client_credentials("siks-ng")["api_key"]
    async with httpx.AsyncClient(base_url=backend.urls["siks-ng"], transport=backend.transports["siks-ng"](),
                                 headers={"X-API-Key": key}) as client:
        response = await client.post(path, json=document)
    assert response.status_code == 422
    assert reason in response.json()["error"]
    assert str(document.get("id_usulan")) not in backend.world.proposals
