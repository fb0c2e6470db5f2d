"""Hub -> SIKS-NG: update proposals (``usulan``) and the prelist of new households in SIKS-NG's own fields.

The outbox holds a push in the hub's vocabulary (``hub.workflow.outbound``); this module writes the
document SIKS-NG accepts, with the names its pull API uses (``id_rt``, ``id_art``, ``kode_desa``,
``nama``, ``jenis_kelamin`` 1/2, ``tgl_lahir`` ISO, ``hub_krt`` 1-7, ``disabilitas`` 0/1 ...).

Prelist (``POST /api/v1/prelist``)::

    {"id_usulan", "jenis_usulan": "PRELIST", "kode_desa": "3314012001", "alamat",
     "id_rt": null | "<SIKS-NG id>", "ref_hub_rt": "<hub household id>", "diusulkan_oleh", "disetujui_oleh"}

Update proposal (``POST /api/v1/usulan``)::

    {"id_usulan", "jenis_usulan": "TAMBAH_ART" | "PERBAIKAN_ART" | "PERBAIKAN_RT", "kode_desa",
     "id_rt": null | str, "ref_hub_rt", "id_art": null | str, "ref_hub_art": null | str,
     "perubahan": {<field>: value, ...}, "sebelumnya": {<field>: value, ...}, "diusulkan_oleh", "disetujui_oleh"}

``id_rt`` is null for a household SIKS-NG only knows from the hub's prelist: ``ref_hub_rt`` links the two.
Member fields (``*_ART``): ``nama nik jenis_kelamin tgl_lahir tempat_lahir hub_krt no_kk disabilitas
jenis_disabilitas status_hidup``; household fields (``PERBAIKAN_RT``): ``alamat``. A hub field SIKS-NG has
no place for is not silently dropped: the push is refused here (``BadPayload``, permanent) and the
outbox keeps it as failed for an admin, except the hub's own link fields (``household_id``,
``registry_id``), which are not registry data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connectors.errors import BadPayload
from connectors.ports import Submission, SubmissionKind

SYSTEM = "siks-ng"

HUB_RELATIONSHIPS = {"head": 1, "spouse": 2, "child": 3, "other_relative": 4, "grandchild": 5, "parent": 6,
                     "other": 7}
HUB_SEXES = {"M": 1, "F": 2}
HUB_LIFE = {"alive": "HIDUP", "deceased": "MENINGGAL", "moved": "PINDAH"}


def _mapped(table: Mapping[str, Any], name: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        if value not in table:
            raise BadPayload(f"{SYSTEM}: {name} {value!r} has no SIKS-NG code", system=SYSTEM)
        return table[value]

    return convert


def _same(value: Any) -> Any:
    return value


def _flag(value: Any) -> Any:
    return None if value is None else int(bool(value))


# hub field -> (SIKS-NG field, converter)
MEMBER_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "name": ("nama", _same),
    "nik": ("nik", _same),
    "sex": ("jenis_kelamin", _mapped(HUB_SEXES, "sex")),
    "birth_date": ("tgl_lahir", _same),
    "birth_place": ("tempat_lahir", _same),
    "relationship_to_head": ("hub_krt", _mapped(HUB_RELATIONSHIPS, "relationship_to_head")),
    "kk_number": ("no_kk", _same),
    "has_disability": ("disabilitas", _flag),
    "disabilities": ("jenis_disabilitas", _same),
    "life_status": ("status_hidup", _mapped(HUB_LIFE, "life_status")),
}
HOUSEHOLD_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {"address": ("alamat", _same)}
NOT_REGISTRY_DATA = {"household_id", "registry_id"}


def _fields(values: Mapping[str, Any] | None, vocabulary: Mapping[str, tuple[str, Callable[[Any], Any]]],
            what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in (values or {}).items():
        if name in NOT_REGISTRY_DATA:
            continue
        if name not in vocabulary:
            raise BadPayload(f"{SYSTEM}: {what} field {name!r} has no SIKS-NG equivalent", system=SYSTEM)
        wire_name, convert = vocabulary[name]
        out[wire_name] = convert(value)
    return out


def _digits(village: Any) -> str:
    text = str(village or "").replace(".", "")
    if len(text) != 10 or not text.isdigit():
        raise BadPayload(f"{SYSTEM}: village code {village!r} is not a village", system=SYSTEM)
    return text


def to_wire(submission: Submission) -> tuple[str, dict[str, Any]]:
    """``(path, document)`` for a push whose payload is in the hub's vocabulary."""
    p = submission.payload
    common = {"id_usulan": submission.key, "kode_desa": _digits(p.get("village_code")),
              "id_rt": p.get("registry_id"), "ref_hub_rt": str(p.get("household_id") or ""),
              "diusulkan_oleh": str(p.get("submitted_by") or ""), "disetujui_oleh": str(p.get("approved_by") or "")}
    if submission.kind is SubmissionKind.prelist:
        return "/api/v1/prelist", {**common, "jenis_usulan": "PRELIST", "alamat": str(p.get("address") or "")}
    member = p.get("person_id") is not None or p.get("kind") == "new_person"
    vocabulary, what = (MEMBER_FIELDS, "member") if member else (HOUSEHOLD_FIELDS, "household")
    changes = _fields(p.get("changes"), vocabulary, what)
    if not changes:
        raise BadPayload(f"{SYSTEM}: the proposal changes nothing SIKS-NG records", system=SYSTEM)
    kind = "TAMBAH_ART" if p.get("kind") == "new_person" else "PERBAIKAN_ART" if member else "PERBAIKAN_RT"
    document = {**common, "jenis_usulan": kind, "perubahan": changes,
                "sebelumnya": _fields(p.get("previous"), vocabulary, what)}
    if member:
        document["id_art"] = p.get("member_id")
        document["ref_hub_art"] = p.get("person_id")
    return "/api/v1/usulan", document
