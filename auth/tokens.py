"""Bearer access tokens: verify (every request) and mint (the token endpoint and development tokens).

Verification never lets the token choose how it is checked: the header is inspected first and
anything unusual (``jku``, ``x5u``, embedded keys, ``crit``, unknown ``kid``, an ``alg`` other than
the one pinned to that key) is refused before any cryptography runs. Every failure raises the same
``InvalidToken``; the reason is logged for operators and never sent to the caller.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from auth.keys import ALGORITHMS, KID, KeyStore
from auth.permissions import ScopeError, parse_scope
from auth.principal import Principal, Role

log = logging.getLogger(__name__)

MAX_TOKEN_BYTES = 8192
MAX_LEEWAY_SECONDS = 60
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
# Headers that would let the token name its own key or extend the rules: refused outright.
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "x5c", "jwk", "crit", "zip", "enc", "b64"})
ALLOWED_HEADERS = frozenset({"alg", "kid", "typ", "cty", "x5t", "x5t#S256"})
# Claims that only ID tokens carry: an ID token is proof of a login, not a grant to call an API.
ID_TOKEN_CLAIMS = frozenset({"nonce", "at_hash", "c_hash", "s_hash"})
TEXT_CLAIM_MAX = 256


class InvalidToken(Exception):
    """The bearer token cannot be trusted. Callers answer 401 with one generic body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64json(segment: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("segment is not base64url JSON") from exc


def _text(claims: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidToken(f"missing claim {name}")
        return None
    if not isinstance(value, str) or not value or len(value) > TEXT_CLAIM_MAX or not value.isprintable():
        raise InvalidToken(f"malformed claim {name}")
    return value


def _timestamp(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidToken(f"missing claim {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"malformed claim {name}")
    return float(value)


@dataclass
class TokenVerifier:
    keys: KeyStore
    issuer: str
    audience: str
    leeway: int = 30
    max_lifetime: int = 24 * 3600
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if not 0 <= self.leeway <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"token leeway must be 0..{MAX_LEEWAY_SECONDS} seconds")

    async def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_BYTES or not token.isascii():
            raise InvalidToken("token too long or not ASCII")
        parts = token.split(".")
        if len(parts) != 3 or not all(parts):
            raise InvalidToken("not a signed compact JWT")
        header = _b64json(parts[0])
        if not isinstance(header, dict):
            raise InvalidToken("header is not an object")
        if FORBIDDEN_HEADERS & header.keys() or not header.keys() <= ALLOWED_HEADERS:
            raise InvalidToken(f"refused header parameters {sorted(header.keys() - {'alg', 'kid', 'typ'})}")
        alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
        if alg not in ALGORITHMS:
            raise InvalidToken(f"algorithm {alg!r} not allowed")
        if not isinstance(kid, str) or not KID.fullmatch(kid):
            raise InvalidToken("missing or malformed kid")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken(f"token type {typ!r} is not an access token")
        key = await self.keys.get(kid)
        if key is None:
            raise InvalidToken(f"unknown kid {kid!r}")
        if alg != key.alg:
            raise InvalidToken(f"algorithm {alg} does not match the key's pinned {key.alg}")
        try:
            with warnings.catch_warnings():
                # joserfc flags the JOSE name "EdDSA" as superseded by "Ed25519" (RFC 9864); both name Ed25519 here.
                warnings.simplefilter("ignore", SecurityWarning)
                signed = jws.deserialize_compact(token, key.key, algorithms=[key.alg])
        except (JoseError, ValueError) as exc:
            raise InvalidToken(f"signature: {type(exc).__name__}") from exc
        try:
            claims = json.loads(signed.payload)
        except ValueError as exc:
            raise InvalidToken("payload is not JSON") from exc
        if not isinstance(claims, dict):
            raise InvalidToken("payload is not an object")
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        now = self.clock()
        if claims.get("iss") != self.issuer:
            raise InvalidToken("wrong issuer")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self.audience not in audiences:
            raise InvalidToken("wrong audience")
        exp = _timestamp(claims, "exp", required=True)
        assert exp is not None
        if now > exp + self.leeway:
            raise InvalidToken("expired")
        nbf = _timestamp(claims, "nbf", required=False)
        if nbf is not None and now + self.leeway < nbf:
            raise InvalidToken("not yet valid")
        iat = _timestamp(claims, "iat", required=False)
        if iat is not None and iat > now + self.leeway:
            raise InvalidToken("issued in the future")
        if exp - (iat if iat is not None else now) > self.max_lifetime:
            raise InvalidToken("lifetime too long")
        if ID_TOKEN_CLAIMS & claims.keys():
            raise InvalidToken("an ID token is not an access token")
        if claims.get("token_use", "access") != "access" or claims.get("typ", "Bearer") not in ("Bearer", "at+jwt"):
            raise InvalidToken("not an access token")
        subject = _text(claims, "sub", required=True)
        role_name = _text(claims, "role", required=True)
        assert subject is not None
        assert role_name is not None
        try:
            role = Role(role_name)
        except ValueError as exc:
            raise InvalidToken("unknown role") from exc
        try:
            scope, programmes = parse_scope(role, claims.get("regions"), claims.get("programmes", []))
        except ScopeError as exc:
            raise InvalidToken(f"scope: {exc}") from exc
        return Principal(
            subject=subject,
            role=role,
            scope=scope,
            programmes=programmes,
            client_id=_text(claims, "client_id", required=False),
            purpose=_text(claims, "purpose", required=False),
        )


@dataclass
class TokenIssuer:
    """Signs access tokens with one private key (the built-in token endpoint, development tokens)."""

    key: OKPKey | RSAKey | ECKey
    issuer: str
    audience: str
    clock: Callable[[], float] = time.time

    def mint(
        self,
        *,
        subject: str,
        role: Role,
        regions: Iterable[str],
        programmes: Iterable[str] = (),
        client_id: str | None = None,
        purpose: str | None = None,
        ttl: int = 900,
    ) -> str:
        regions, programmes = sorted(regions), sorted(programmes)
        parse_scope(role, regions, programmes)  # never mint what the verifier would refuse
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "sub": subject, "iat": now, "nbf": now,
            "exp": now + ttl, "jti": uuid.uuid4().hex, "role": role.value, "regions": regions,
        }
        if programmes:
            claims["programmes"] = programmes
        if client_id:
            claims["client_id"] = client_id
        if purpose:
            claims["purpose"] = purpose
        alg = self.key.alg or "EdDSA"
        header = {"alg": alg, "kid": self.key.kid, "typ": "at+jwt"}
        payload = json.dumps(claims, separators=(",", ":")).encode()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            return jws.serialize_compact(header, payload, self.key, algorithms=[alg])
