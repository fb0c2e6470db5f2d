"""Opaque global IDs: ``base64url("Household:<uuid>")``. Clients must treat them as opaque strings.

Both directions are on every response's hot path: each returned object's ID is encoded, and the
audit walk (``schema.audit``) decodes every ID in the response again to charge the records to the
caller. So they call ``binascii`` directly (what ``base64.urlsafe_b64*`` does, without its layers),
and the IDs encoded most recently are remembered with what they decode to, so decoding an ID this
process just produced is a dictionary look-up. Decoding is a pure function of the string, so a
remembered answer is exactly the computed one.
"""

from __future__ import annotations

import binascii
import uuid

import strawberry
from asyncpg.pgproto.pgproto import UUID as _PG_UUID

from hub.errors import Invalid

_ENCODE = bytes.maketrans(b"+/", b"-_")
_DECODE = bytes.maketrans(b"-_", b"+/")

# Global ID -> (type name, UUID), for the IDs encoded most recently; cleared when full.
_DECODED: dict[str, tuple[str, uuid.UUID]] = {}
_DECODED_MAX = 8192

_new_object = object.__new__
_set_attribute = object.__setattr__
_UUID = uuid.UUID
_UNKNOWN = uuid.SafeUUID.unknown


def _plain_uuid(id_: uuid.UUID) -> uuid.UUID:
    """``uuid.UUID(str(id_))`` for a ``uuid.UUID`` or asyncpg's subclass, built from its int."""
    if type(id_) is _UUID:
        return id_
    plain = _new_object(_UUID)
    _set_attribute(plain, "int", id_.int)  # as uuid.UUID.__init__ sets them (the class is immutable)
    _set_attribute(plain, "is_safe", _UNKNOWN)
    return plain


def to_global_id(type_name: str, id_: uuid.UUID | str) -> strawberry.ID:
    global_id = binascii.b2a_base64(f"{type_name}:{id_}".encode(), newline=False).translate(_ENCODE).decode()
    global_id = global_id.rstrip("=")
    if (type(id_) is _UUID or type(id_) is _PG_UUID) and ":" not in type_name:
        # str(id_) is the canonical form of id_.int for both: decoding gives back (type_name, id_)
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        # kept as given (asyncpg's UUID as it is): made a plain uuid.UUID only if parse_global_id asks,
        # while the audit walk, which looks up every ID it sees, reads just its ``int``
        _DECODED[global_id] = (type_name, id_)  # type: ignore[assignment]  # a UUID, as checked
    return global_id  # type: ignore[return-value]  # strawberry.ID is a NewType of str


def _read(global_id: str) -> tuple[str, int]:
    """(type name, the UUID's integer) inside ``global_id``; raises what the standard library's
    ``base64.urlsafe_b64decode``, UTF-8 decoding and ``uuid.UUID`` raise for what is not one.

    Their steps, step for step (the same translation, a non-strict ``a2b_base64``, ``uuid.UUID``'s reading
    of the hex), without building the ``uuid.UUID``."""
    padded = (global_id + "=" * (-len(global_id) % 4)).encode("ascii")
    type_name, _, raw = binascii.a2b_base64(padded.translate(_DECODE)).decode().partition(":")
    hex_ = raw.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
    if len(hex_) != 32:
        raise ValueError("badly formed hexadecimal UUID string")
    return type_name, int(hex_, 16)


def _decode(global_id: str) -> tuple[str, uuid.UUID]:
    try:
        type_name, number = _read(global_id)
    except (ValueError, UnicodeError) as exc:  # binascii.Error is a ValueError
        raise Invalid("not a valid ID", code="INVALID_ID") from exc
    return type_name, uuid.UUID(int=number)


def global_id_parts(global_id: str) -> tuple[str, int] | None:
    """``parse_global_id`` with the UUID as its integer, or None where that raises; for the audit walk,
    which reads every global ID of every personal read. Most were encoded by this process moments ago
    (remembered): a dictionary look-up."""
    known = _DECODED.get(global_id)
    if known is not None:
        return known[0], known[1].int
    try:
        return _read(global_id)
    except (ValueError, UnicodeError):
        return None


def parse_global_id(global_id: str) -> tuple[str, uuid.UUID]:
    decoded = _DECODED.get(global_id) if type(global_id) is str else None
    return (decoded[0], _plain_uuid(decoded[1])) if decoded is not None else _decode(global_id)


def from_global_id(global_id: str, expected: str) -> uuid.UUID:
    """The UUID inside ``global_id``, which must name type ``expected``."""
    type_name, id_ = parse_global_id(global_id)
    if type_name != expected:
        raise Invalid(f"expected an ID of a {expected}", code="INVALID_ID")
    return id_
