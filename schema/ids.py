"""Opaque global IDs: ``base64url("Household:<uuid>")``. Clients must treat them as opaque strings."""

from __future__ import annotations

import base64
import binascii
import uuid

import strawberry

from hub.errors import Invalid


def to_global_id(type_name: str, id_: uuid.UUID | str) -> strawberry.ID:
    raw = f"{type_name}:{id_}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def parse_global_id(global_id: str) -> tuple[str, uuid.UUID]:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw_id = base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition(":")
        return type_name, uuid.UUID(raw_id)
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise Invalid("not a valid ID", code="INVALID_ID") from exc


def from_global_id(global_id: str, expected: str) -> uuid.UUID:
    """The UUID inside ``global_id``, which must name type ``expected``."""
    type_name, id_ = parse_global_id(global_id)
    if type_name != expected:
        raise Invalid(f"expected an ID of a {expected}", code="INVALID_ID")
    return id_
