"""Looking a family card up by its KK number."""

from __future__ import annotations

from hub.errors import Invalid
from hub.family.repository import FamilyRepository
from hub.identity import InvalidIdentifier, parse_kk
from hub.models import Family


def normalise_kk(raw: str) -> str:
    try:
        return parse_kk(raw).kk
    except InvalidIdentifier as exc:
        raise Invalid(exc.message, code=exc.code, field="kk", reason=exc.reason) from exc


async def find_by_kk(repository: FamilyRepository, raw: str) -> Family | None:
    """The family card with this number, or ``None``: out of scope reads exactly like unknown."""
    return await repository.by_kk(normalise_kk(raw))
