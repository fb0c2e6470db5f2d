"""Looking a person up by NIK: the input is checked before the registry is asked."""

from __future__ import annotations

from hub.errors import Invalid
from hub.identity import InvalidIdentifier, parse_nik
from hub.models import Person
from hub.person.repository import PersonRepository


def normalise_nik(raw: str) -> str:
    try:
        return parse_nik(raw).nik
    except InvalidIdentifier as exc:
        raise Invalid(exc.message, code=exc.code, field="nik", reason=exc.reason) from exc


async def find_by_nik(repository: PersonRepository, raw: str) -> Person | None:
    """The person with this NIK, or ``None``: out of the caller's scope reads exactly like unknown."""
    return await repository.by_nik(normalise_nik(raw))
