from __future__ import annotations

import json
import warnings

import httpx
import pytest
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from auth.keys import KeyStore, UnusableKey, _import_public, parse_jwks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jwks_transport(document: dict[str, object], calls: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, json=document)
    return httpx.MockTransport(handler)


async def test_jwks_is_cached_and_refreshes_are_rate_limited(ec_key: ECKey) -> None:
    calls: list[str] = []
    clock = Clock()
    async with httpx.AsyncClient(transport=jwks_transport({"keys": [ec_key.as_dict(private=False)]}, calls)) as http:
        store = KeyStore(jwks_url="https://idp.example/jwks", http=http, clock=clock, min_refresh_seconds=60)
        assert (await store.get("ec-1")) is not None
        assert (await store.get("ec-1")) is not None
        assert len(calls) == 1
        # A flood of unknown kids: at most one refetch per minute.
        for n in range(50):
            assert await store.get(f"unknown-{n}") is None
        assert len(calls) == 1
        clock.now += 61
        assert await store.get("unknown-x") is None
        assert len(calls) == 2
        # Path-like kids never reach the network.
        clock.now += 61
        assert await store.get("../../etc/passwd") is None
        assert len(calls) == 2


async def test_jwks_outage_keeps_the_cached_keys(ec_key: ECKey) -> None:
    state = {"up": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if state["up"]:
            return httpx.Response(200, json={"keys": [ec_key.as_dict(private=False)]})
        return httpx.Response(503)

    clock = Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        store = KeyStore(jwks_url="https://idp.example/jwks", http=http, clock=clock, cache_seconds=100)
        assert await store.get("ec-1") is not None
        state["up"] = False
        clock.now += 200
        assert await store.get("ec-1") is not None


def test_keys_must_be_pinned_to_an_allowed_algorithm(rsa_key: RSAKey, ec_key: ECKey) -> None:
    public = rsa_key.as_dict(private=False)
    with pytest.raises(UnusableKey):
        _import_public({k: v for k, v in public.items() if k != "alg"})
    with pytest.raises(UnusableKey):
        _import_public({**public, "alg": "HS256"})
    with pytest.raises(UnusableKey):
        _import_public({**public, "alg": "ES256"})
    with pytest.raises(UnusableKey):
        _import_public({**public, "kid": "../keys/1"})
    with pytest.raises(UnusableKey):
        _import_public({"kty": "oct", "k": "c2VjcmV0", "kid": "k", "alg": "HS256"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        small = RSAKey.generate_key(1024, parameters={"kid": "small", "alg": "RS256"})
    with pytest.raises(UnusableKey):
        _import_public(small.as_dict(private=False))
    key = _import_public(ec_key.as_dict(private=True))
    assert not key.key.is_private


def test_a_jwks_skips_unusable_keys(ec_key: ECKey) -> None:
    ed = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1", "alg": "EdDSA"})
    document = json.loads(json.dumps({"keys": [ec_key.as_dict(private=False), ed.as_dict(private=False),
                                               {"kty": "oct", "k": "eA", "kid": "hs", "alg": "HS256"}]}))
    assert sorted(parse_jwks(document)) == ["ec-1", "ed-1"]
