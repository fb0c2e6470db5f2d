"""What a principal may see of a record: NIK and KK masked, disability and health withheld.

The rights come from the one permission table (``auth.permissions``); the masks from ``hub.identity``.
GraphQL types call these helpers instead of checking roles themselves.
"""

from __future__ import annotations

from typing import TypeVar

from auth.permissions import Permission, can
from auth.principal import Principal
from hub.identity import InvalidIdentifier, mask_kk, mask_nik

T = TypeVar("T")

MALFORMED_MASK = "*" * 16


def mask_nik_for(principal: Principal | None, nik: str | None) -> str | None:
    if nik is None or can(principal, Permission.see_full_nik):
        return nik
    try:
        return mask_nik(nik)
    except InvalidIdentifier:
        # A malformed NIK from a source system: show nothing rather than a partial mask.
        return MALFORMED_MASK


def mask_kk_for(principal: Principal | None, kk_number: str | None) -> str | None:
    if kk_number is None or can(principal, Permission.see_full_nik):
        return kk_number
    try:
        return mask_kk(kk_number)
    except InvalidIdentifier:
        return MALFORMED_MASK


def disability_for(principal: Principal | None, value: T) -> T | None:
    """Disability and health fields: the value, or ``None`` without ``see_disability``."""
    return value if can(principal, Permission.see_disability) else None


def may_read_personal_data(principal: Principal | None) -> bool:
    return can(principal, Permission.read_personal_data)
