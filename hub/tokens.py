"""Settings -> the token verifier and issuer. The only module that knows where keys come from."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from auth.keys import KeyStore, load_jwks_file, load_or_create_signing_key, load_signing_key, public_of
from auth.permissions import PERMISSIONS, ScopeKind
from auth.principal import NATIONAL, Role
from auth.tokens import TokenIssuer, TokenVerifier
from hub.config import Profile, Settings


class DevTokensRefused(RuntimeError):
    pass


def issuer(settings: Settings) -> TokenIssuer | None:
    """The signer of the built-in token endpoint; ``None`` in production without a configured key."""
    path = settings.signing_key_path
    if path is None:
        return None
    configured = settings.token_signing_key_file is not None
    key = load_signing_key(path) if configured else load_or_create_signing_key(path)
    return TokenIssuer(key, settings.token_issuer, settings.token_audience)


def key_store(settings: Settings, http: httpx.AsyncClient | None = None) -> KeyStore:
    static = load_jwks_file(settings.jwks_file) if settings.jwks_file else []
    store = KeyStore(static, jwks_url=settings.jwks_url, http=http)
    signer = issuer(settings)
    if signer is not None:
        store.add(public_of(signer.key))
    return store


def verifier(settings: Settings, http: httpx.AsyncClient | None = None) -> TokenVerifier:
    return TokenVerifier(key_store(settings, http), settings.token_issuer, settings.token_audience,
                         leeway=settings.token_leeway_seconds)


def mint_dev_token(
    settings: Settings,
    role: Role,
    regions: Iterable[str],
    programmes: Iterable[str] = (),
    *,
    subject: str | None = None,
    ttl: int | None = None,
    purpose: str = "development",
) -> str:
    if settings.profile is Profile.prod:
        raise DevTokensRefused("development tokens are refused in the production profile")
    signer = issuer(settings)
    assert signer is not None  # dev and test always have a signing key
    return signer.mint(subject=subject or f"dev-{role.value}", role=role, regions=regions,
                       programmes=programmes, purpose=purpose, ttl=ttl or settings.token_ttl_seconds)


# One example scope per role, in the demo's region (Sragen, Central Java).
DEMO_SCOPES: dict[ScopeKind, list[str]] = {
    ScopeKind.villages: ["33.14.01.2001"],
    ScopeKind.districts: ["33.14.01"],
    ScopeKind.regency: ["33.14"],
    ScopeKind.province: ["33"],
    ScopeKind.nation: [NATIONAL],
    ScopeKind.registration: ["33.14"],
}


def dev_tokens_per_role(settings: Settings, ttl: int = 8 * 3600) -> dict[Role, str]:
    """One development token per role, for the demo to print."""
    tokens: dict[Role, str] = {}
    for role, rule in PERMISSIONS.items():
        if role is Role.system:
            continue
        programmes = ["PKH"] if rule.needs_programmes else []
        tokens[role] = mint_dev_token(settings, role, DEMO_SCOPES[rule.scope], programmes, ttl=ttl)
    return tokens
