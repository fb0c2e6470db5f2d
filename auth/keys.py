"""Verification keys for access tokens: configured keys and/or a JWKS URL, each key pinned to one algorithm.

A key is accepted only with a ``kid`` that looks like an identifier and an ``alg`` this hub allows
for its key type, so a token can never pick the algorithm (no ``none``, no HS256 keyed with a public
key). The JWKS document is cached and refreshed at most once per ``min_refresh_seconds`` even when
tokens arrive with unknown ``kid`` values, so a flood of forged tokens cannot turn into a flood of
requests to the identity provider.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

log = logging.getLogger(__name__)

# The algorithms this hub verifies, and the key type and curve each one needs.
ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
    "Ed25519": ("OKP", "Ed25519"),
}
KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048


class UnusableKey(ValueError):
    """A key document this hub refuses to use."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    alg: str
    key: Key


def _import_public(data: Mapping[str, Any]) -> VerificationKey:
    if not isinstance(data, Mapping):
        raise UnusableKey("a JWK must be an object")
    kid, alg, kty = data.get("kid"), data.get("alg"), data.get("kty")
    if not isinstance(kid, str) or not KID.fullmatch(kid):
        raise UnusableKey("a JWK needs a kid made of letters, digits, '-' and '_'")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise UnusableKey(f"a JWK needs an alg among {sorted(ALGORITHMS)}; got {alg!r}")
    want_kty, want_crv = ALGORITHMS[alg]
    if kty != want_kty or (want_crv is not None and data.get("crv") != want_crv):
        raise UnusableKey(f"alg {alg} needs a {want_kty} key{' on ' + want_crv if want_crv else ''}")
    if data.get("use", "sig") != "sig":
        raise UnusableKey("only signing keys (use=sig) are accepted")
    # Drop every private member: a verifier holds public keys only.
    public_members = {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}
    public = {k: v for k, v in data.items() if k in public_members}
    try:
        key: Key
        if kty == "RSA":
            with warnings.catch_warnings():
                # joserfc warns about short RSA keys; this function refuses them outright below.
                warnings.simplefilter("ignore", SecurityWarning)
                key = RSAKey.import_key(public)
            if key.raw_value.key_size < MIN_RSA_BITS:
                raise UnusableKey(f"RSA keys need at least {MIN_RSA_BITS} bits")
        elif kty == "EC":
            key = ECKey.import_key(public)
        else:
            key = OKPKey.import_key(public)
    except (JoseError, ValueError, TypeError) as exc:
        if isinstance(exc, UnusableKey):
            raise
        raise UnusableKey(f"cannot import key {kid}: {exc}") from exc
    return VerificationKey(kid=kid, alg=alg, key=key)


def parse_jwks(document: object) -> dict[str, VerificationKey]:
    """``{"keys": [...]}`` -> keys by kid. Keys this hub cannot pin are skipped and logged."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise UnusableKey("a JWKS document is an object with a 'keys' list")
    keys: dict[str, VerificationKey] = {}
    for item in document["keys"]:
        try:
            key = _import_public(item)
        except UnusableKey as exc:
            log.warning("skipping a JWKS key: %s", exc)
            continue
        keys[key.kid] = key
    return keys


class KeyStore:
    """Keys by ``kid``: static ones plus those of a JWKS URL, fetched lazily and cached."""

    def __init__(
        self,
        static: Iterable[VerificationKey] = (),
        *,
        jwks_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        cache_seconds: float = 3600.0,
        min_refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._static = {k.kid: k for k in static}
        self._remote: dict[str, VerificationKey] = {}
        self.jwks_url = jwks_url
        self._http = http
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._clock = clock
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def add(self, key: VerificationKey) -> None:
        self._static[key.kid] = key

    async def get(self, kid: str) -> VerificationKey | None:
        if not KID.fullmatch(kid):
            return None
        if kid in self._static:
            return self._static[kid]
        if self.jwks_url is None:
            return None
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > self.cache_seconds
        if kid not in self._remote or stale:
            await self._refresh()
        return self._remote.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self.min_refresh_seconds:
                return
            self._attempted_at = now
            self.fetches += 1
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, UnusableKey, ValueError) as exc:
                # Keep the keys we have: an identity provider outage must not log everyone out.
                log.warning("JWKS refresh from %s failed: %s", self.jwks_url, exc)
                return
            self._remote = keys
            self._fetched_at = now

    async def _fetch(self) -> dict[str, VerificationKey]:
        assert self.jwks_url is not None
        client = self._http or httpx.AsyncClient(timeout=5.0)
        try:
            response = await client.get(self.jwks_url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise UnusableKey("JWKS document too large")
            return parse_jwks(json.loads(response.content))
        finally:
            if self._http is None:
                await client.aclose()


def load_jwks_file(path: Path) -> list[VerificationKey]:
    return list(parse_jwks(json.loads(path.read_text())).values())


# --- signing (the built-in token endpoint and development tokens) ---------------------------------

def generate_signing_key() -> OKPKey:
    key = OKPKey.generate_key("Ed25519", private=True)
    kid = "hub-" + key.thumbprint()[:16].replace("_", "-")
    return OKPKey.import_key({**key.as_dict(private=True), "kid": kid, "alg": "EdDSA", "use": "sig"})


def load_signing_key(path: Path) -> OKPKey | RSAKey | ECKey:
    """A private JWK with ``kid`` and ``alg`` (one of ``ALGORITHMS``)."""
    data = json.loads(path.read_text())
    _import_public(data)  # the same pinning rules as for verification
    kty = data["kty"]
    if kty == "OKP":
        return OKPKey.import_key(data)
    if kty == "EC":
        return ECKey.import_key(data)
    return RSAKey.import_key(data)


def load_or_create_signing_key(path: Path) -> OKPKey | RSAKey | ECKey:
    """The development signing key: created once under the data directory, readable by its owner only."""
    if path.exists():
        return load_signing_key(path)
    key = generate_signing_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(key.as_dict(private=True), handle)
    return key


def public_of(key: OKPKey | RSAKey | ECKey) -> VerificationKey:
    return _import_public(key.as_dict(private=False))
