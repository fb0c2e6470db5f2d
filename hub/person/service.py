"""Looking a person up by NIK: the input is checked before the registry is asked."""

from __future__ import annotations

from hub.errors import Invalid
from hub.identity import InvalidIdentifier, normalize_digits
from hub.models import Person
from hub.person.repository import PersonRepository


def normalise_nik(raw: str) -> str:
    """The NIK as stored (16 ASCII digits), or ``Invalid`` (INVALID_NIK) for anything else.

    ``parse_nik(raw).nik`` without the rest of the parse (birth date, sex, serial, flags): only this
    first step can refuse a NIK; the rest reads a valid one and flags, never raises."""
    try:
        return normalize_digits(raw, kind="NIK")
    except InvalidIdentifier as exc:
        raise Invalid(exc.message, code=exc.code, field="nik", reason=exc.reason) from exc


async def find_by_nik(repository: PersonRepository, raw: str) -> Person | None:
    """The person with this NIK, or ``None``: out of the caller's scope reads exactly like unknown."""
    return await repository.by_nik(normalise_nik(raw))
