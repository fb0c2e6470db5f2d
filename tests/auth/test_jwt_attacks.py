"""Every forged, misused or malformed token gets the same 401 and the same body; valid ones pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from hub import tokens as hub_tokens
from hub.config import Settings
from schema.auth import UNAUTHORIZED_BODY

QUERY = {"query": '{ region(code: "33") { name } }'}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(header: dict[str, Any], claims: Any, key: Any, alg: str | None = None) -> str:
    alg = alg or header["alg"]
    payload = json.dumps(claims).encode()
    if isinstance(key, OKPKey):
        # Signed by hand, so headers a library would refuse to produce can still be forged.
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}"
        return f"{signing_input}.{b64(key.private_key.sign(signing_input.encode()))}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(header, payload, key, algorithms=[alg])


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def hs256_with(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.fixture
def dev_key(auth_settings: Settings) -> OKPKey:
    signer = hub_tokens.issuer(auth_settings)
    assert signer is not None
    return signer.key  # type: ignore[return-value]


@pytest.fixture
def claims(auth_settings: Settings) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": auth_settings.token_issuer, "aud": auth_settings.token_audience, "sub": "u-1",
            "iat": now, "nbf": now, "exp": now + 300, "role": "facilitator", "regions": ["33.14.01.2001"]}


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await make_client()
    return client


async def call(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})


def attacks(dev: OKPKey, rsa: RSAKey, ec: ECKey, c: dict[str, Any]) -> dict[str, str]:
    ed = {"alg": "EdDSA", "kid": dev.kid, "typ": "at+jwt"}
    rs = {"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"}
    attacker = OKPKey.generate_key("Ed25519", parameters={"kid": "evil", "alg": "EdDSA"}, private=True)
    rsa_pem = rsa.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    return {
        "alg none": unsigned({"alg": "none", "kid": dev.kid, "typ": "at+jwt"}, c),
        "alg none, no kid": unsigned({"alg": "none", "typ": "JWT"}, c),
        "HS256 keyed with the RSA public key": hs256_with(rsa_pem, {**rs, "alg": "HS256"}, c),
        "HS256 keyed with the Ed25519 public key": hs256_with(
            base64.urlsafe_b64decode(dev.as_dict()["x"] + "=="), {**ed, "alg": "HS256"}, c),
        "alg swapped to ES256 on the RSA kid": sign({**rs, "alg": "ES256"}, c, ec, "ES256"),
        "unknown kid": sign({**ed, "kid": "nobody"}, c, attacker),
        "path-like kid": sign({**ed, "kid": "../../../../dev/null"}, c, attacker),
        "kid with SQL": sign({**ed, "kid": "x' OR '1'='1"}, c, attacker),
        "jku header to an attacker JWKS": sign({**ed, "kid": dev.kid, "jku": "https://evil.example/jwks"}, c, dev),
        "x5u header": sign({**ed, "x5u": "https://evil.example/cert.pem"}, c, dev),
        "embedded jwk header": sign({**ed, "kid": "evil", "jwk": attacker.as_dict()}, c, attacker),
        "crit header": sign({**ed, "crit": ["exp"], "exp": 1}, c, dev),
        "signed by an attacker key with a known kid": sign(ed, c, attacker),
        "tampered payload": sign(ed, c, dev).split(".")[0] + "." + b64(json.dumps({**c, "role": "national_officer",
                            "regions": ["*"]}).encode()) + "." + sign(ed, c, dev).split(".")[2],
        "stripped signature": sign(ed, c, dev).rsplit(".", 1)[0] + ".",
        "ID token (nonce, client audience)": sign({**ed, "typ": "JWT"}, {**c, "aud": "dashboard", "nonce": "n"}, dev),
        "ID token with the API audience": sign({**ed, "typ": "JWT"}, {**c, "nonce": "n", "at_hash": "x"}, dev),
        "token_use id": sign(ed, {**c, "token_use": "id"}, dev),
        "typ claim ID (Keycloak ID token)": sign({**ed, "typ": "JWT"}, {**c, "typ": "ID"}, dev),
        "refresh-token typ header": sign({**ed, "typ": "refresh+jwt"}, c, dev),
        "expired beyond leeway": sign(ed, {**c, "iat": now - 600, "nbf": now - 600, "exp": now - 120}, dev),
        "not yet valid": sign(ed, {**c, "nbf": now + 600, "exp": now + 900}, dev),
        "issued in the future": sign(ed, {**c, "iat": now + 600}, dev),
        "no exp": sign(ed, {k: v for k, v in c.items() if k != "exp"}, dev),
        "lifetime of a year": sign(ed, {**c, "exp": now + 365 * 86400}, dev),
        "wrong audience": sign(ed, {**c, "aud": "another-api"}, dev),
        "wrong issuer": sign(ed, {**c, "iss": "https://evil.example"}, dev),
        "missing sub": sign(ed, {k: v for k, v in c.items() if k != "sub"}, dev),
        "missing role": sign(ed, {k: v for k, v in c.items() if k != "role"}, dev),
        "missing regions": sign(ed, {k: v for k, v in c.items() if k != "regions"}, dev),
        "unknown role": sign(ed, {**c, "role": "superuser"}, dev),
        "system role": sign(ed, {**c, "role": "system", "regions": ["*"]}, dev),
        "malformed region code": sign(ed, {**c, "regions": ["33.14.01.2001' OR 1=1"]}, dev),
        "region wildcard pattern": sign(ed, {**c, "regions": ["33.%"]}, dev),
        "facilitator with a province scope": sign(ed, {**c, "regions": ["33"]}, dev),
        "facilitator with national scope": sign(ed, {**c, "regions": ["*"]}, dev),
        "programme owner without programmes": sign(ed, {**c, "role": "programme_owner", "regions": ["*"]}, dev),
        "exp as a string": sign(ed, {**c, "exp": str(now + 300)}, dev),
        "payload not an object": sign(ed, ["not", "claims"], dev),  # type: ignore[arg-type]
        "garbage": "not-a-jwt",
        "JWE-shaped (5 parts)": "a.b.c.d.e",
        "oversized": "a" * 9000 + "." + "b" + "." + "c",
    }


async def test_every_attack_gets_the_same_401(
    client: httpx.AsyncClient, dev_key: OKPKey, rsa_key: RSAKey, ec_key: ECKey, claims: dict[str, Any]
) -> None:
    variants = attacks(dev_key, rsa_key, ec_key, claims)
    assert len(variants) >= 14
    failures = {}
    for name, token in variants.items():
        response = await call(client, token)
        outcome = (response.status_code, response.text, response.headers.get("www-authenticate"))
        if outcome != (401, json.dumps(UNAUTHORIZED_BODY, separators=(",", ":")), 'Bearer error="invalid_token"'):
            failures[name] = outcome
    assert failures == {}


async def test_other_schemes_get_the_same_401(client: httpx.AsyncClient) -> None:
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc"):
        response = await client.post("/graphql", json=QUERY, headers={"Authorization": header})
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED_BODY)


async def test_valid_tokens_of_every_pinned_algorithm_pass(
    client: httpx.AsyncClient, dev_key: OKPKey, rsa_key: RSAKey, ec_key: ECKey, claims: dict[str, Any]
) -> None:
    for header, key in (({"alg": "EdDSA", "kid": dev_key.kid, "typ": "at+jwt"}, dev_key),
                        ({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"}, rsa_key),
                        ({"alg": "ES256", "kid": "ec-1", "typ": "JWT"}, ec_key)):
        response = await call(client, sign(header, claims, key))
        assert response.status_code == 200, header
        assert response.json() == {"data": {"region": {"name": "Jawa Tengah"}}}


async def test_expiry_within_leeway_is_accepted(
    client: httpx.AsyncClient, dev_key: OKPKey, claims: dict[str, Any], auth_settings: Settings
) -> None:
    now = int(time.time())
    assert auth_settings.token_leeway_seconds >= 10
    token = sign({"alg": "EdDSA", "kid": dev_key.kid, "typ": "at+jwt"},
                 {**claims, "iat": now - 300, "nbf": now - 300, "exp": now - 5}, dev_key)
    assert (await call(client, token)).status_code == 200


async def test_no_token_is_anonymous_not_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=QUERY)
    assert response.status_code == 200
