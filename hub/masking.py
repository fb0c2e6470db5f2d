"""What a principal may see of a record: NIK and KK masked; disability, health and personal details withheld.

The rights come from the one permission table (``auth.permissions``); the masks from ``hub.identity``.
GraphQL types call these helpers instead of checking roles themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, TypeVar, overload

from auth.permissions import Permission, can
from auth.principal import Principal
from hub.identity import InvalidIdentifier, mask_kk, mask_nik
from hub.identity.nik import is_normalised, mask_digits

T = TypeVar("T")

MALFORMED_MASK = "*" * 16


@overload
def mask_nik_for(principal: Principal | None, nik: str) -> str: ...
@overload
def mask_nik_for(principal: Principal | None, nik: None) -> None: ...
def mask_nik_for(principal: Principal | None, nik: str | None) -> str | None:
    if nik is None or can(principal, Permission.see_full_nik):
        return nik
    return masked_nik(nik)


def masked_nik(nik: str) -> str:
    """The NIK as a principal without ``see_full_nik`` sees it."""
    if is_normalised(nik):
        # Already normalised, as stored NIKs are: what mask_nik returns for it, without its three calls
        # (this runs for every person of every list a facilitator or manager reads).
        return mask_digits(nik)
    try:
        return mask_nik(nik)
    except InvalidIdentifier:
        # A malformed NIK from a source system: show nothing rather than a partial mask.
        return MALFORMED_MASK


@overload
def mask_kk_for(principal: Principal | None, kk_number: str) -> str: ...
@overload
def mask_kk_for(principal: Principal | None, kk_number: None) -> None: ...
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


def detail_for(principal: Principal | None, value: T) -> T | None:
    """Address and exact date and place of birth: the value, or ``None`` without ``see_personal_details``."""
    return value if can(principal, Permission.see_personal_details) else None


class Visibility(NamedTuple):
    """What one principal may see, decided once for many records (a page of persons) instead of per
    field of each: the same answers as ``mask_nik_for``, ``detail_for`` and ``disability_for``."""

    full_nik: bool
    details: bool
    disability: bool


def visibility_of(principal: Principal | None) -> Visibility:
    return Visibility(full_nik=can(principal, Permission.see_full_nik),
                      details=can(principal, Permission.see_personal_details),
                      disability=can(principal, Permission.see_disability))


NIK_KEYS = frozenset({"nik"})
KK_KEYS = frozenset({"kk_number", "kk"})
DISABILITY_KEYS = frozenset({"has_disability", "disabilities"})
DETAIL_KEYS = frozenset({"address", "birth_date", "birth_place", "phone"})


def mask_record_for(principal: Principal | None, record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A free-form record (e.g. a proposal's payload) with the same masks as the typed fields.

    NIK and KK values are masked, disability keys and personal details (address, birth date and place,
    phone) set to ``None`` without their permissions; other keys are copied unchanged.
    """
    if record is None:
        return None
    out = dict(record)
    for key, value in record.items():
        if key in NIK_KEYS and isinstance(value, str):
            out[key] = mask_nik_for(principal, value)
        elif key in KK_KEYS and isinstance(value, str):
            out[key] = mask_kk_for(principal, value)
        elif key in DISABILITY_KEYS:
            out[key] = disability_for(principal, value)
        elif key in DETAIL_KEYS:
            out[key] = detail_for(principal, value)
    return out


def may_read_personal_data(principal: Principal | None) -> bool:
    return can(principal, Permission.read_personal_data)
