"""Global IDs: the fast encoding and decoding give exactly what the base64 module gives."""

from __future__ import annotations

import base64
import binascii
import uuid

import pytest
from asyncpg.pgproto.pgproto import UUID as PgUUID

from hub.errors import Invalid
from schema import ids
from schema.ids import from_global_id, parse_global_id, to_global_id


def reference_to_global_id(type_name: str, id_: uuid.UUID | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id_}".encode()).decode().rstrip("=")


def reference_parse_global_id(global_id: str) -> tuple[str, uuid.UUID]:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw_id = base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition(":")
        return type_name, uuid.UUID(raw_id)
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise Invalid("not a valid ID", code="INVALID_ID") from exc


@pytest.mark.parametrize("type_name", ["Person", "Household", "Enrolment", "Programme", "X", "Family",
                                       "ÄccessEntry"])
def test_encoding_is_the_base64_modules_and_decodes_back(type_name: str) -> None:
    for _ in range(50):
        plain = uuid.uuid4()
        for id_ in (plain, PgUUID(plain.bytes), str(plain), str(plain).upper()):
            encoded = to_global_id(type_name, id_)
            assert encoded == reference_to_global_id(type_name, id_)
            parsed = parse_global_id(encoded)
            assert parsed == reference_parse_global_id(encoded) == (type_name, plain)
            assert type(parsed[1]) is uuid.UUID  # never asyncpg's subclass
            assert ids._decode(encoded) == parsed


def test_a_remembered_id_decodes_like_a_computed_one() -> None:
    id_ = PgUUID(uuid.uuid4().bytes)
    encoded = to_global_id("Person", id_)
    assert encoded in ids._DECODED  # the audit walk's look-up
    remembered = parse_global_id(encoded)
    computed = ids._decode(encoded)
    assert remembered == computed
    assert type(remembered[1]) is type(computed[1]) is uuid.UUID
    assert remembered[1].is_safe is computed[1].is_safe
    assert str(remembered[1]) == str(computed[1])
    assert hash(remembered[1]) == hash(computed[1])
    assert from_global_id(encoded, "Person") == id_


def test_the_memory_of_encoded_ids_is_bounded() -> None:
    for _ in range(ids._DECODED_MAX + 10):
        to_global_id("Household", uuid.uuid4())
    assert 0 < len(ids._DECODED) <= ids._DECODED_MAX


@pytest.mark.parametrize("bad", ["RT00000001", "", "!!!", "QQ", "UGVyc29uOg", "é", "UGVyc29uOm5vdC1hLXV1aWQ",
                                 reference_to_global_id("Person", "1234")])
def test_invalid_ids_fail_as_before(bad: str) -> None:
    with pytest.raises(Invalid) as fast:
        parse_global_id(bad)
    with pytest.raises(Invalid) as slow:
        reference_parse_global_id(bad)
    assert fast.value.code == slow.value.code == "INVALID_ID"
    assert type(fast.value.__cause__) is type(slow.value.__cause__)


def outcome(parse: object, global_id: str) -> object:
    try:
        return parse(global_id)  # type: ignore[operator]
    except Invalid as error:
        return type(error), error.code, type(error.__cause__)


def test_odd_forms_decode_as_the_base64_module_decodes_them() -> None:
    # the base64 module also accepts '+' and '/', and ignores characters outside the alphabet
    for _ in range(200):
        encoded = reference_to_global_id("Person", uuid.uuid4())
        for variant in (encoded.replace("-", "+").replace("_", "/"), encoded + "==", f" {encoded}", f"{encoded}.",
                        encoded[:-1]):
            assert outcome(ids._decode, variant) == outcome(reference_parse_global_id, variant)
