"""Register, authenticate and revoke API clients. Secrets are shown once and stored as argon2id hashes."""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import ScopeError, parse_scope
from auth.principal import Principal, Role
from hub.clients.repository import ApiClientRepository, ClientFilter
from hub.errors import Conflict, Invalid, NotFound
from hub.models import ApiClient
from hub.paging import Page, PageRequest, to_page

CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the client does not exist, so an unknown id costs as much as a wrong secret.
    return _hasher.hash(secrets.token_urlsafe(32))


@dataclass(frozen=True, slots=True)
class Registration:
    client: ApiClient
    secret: str


async def create(
    session: AsyncSession,
    *,
    client_id: str,
    name: str,
    role: Role,
    regions: Sequence[str],
    programmes: Sequence[str] = (),
    purpose: str,
) -> Registration:
    if not CLIENT_ID.fullmatch(client_id):
        raise Invalid("client_id: 3-64 characters of a-z, 0-9, '.', '_' and '-'", field="clientId")
    if role not in (Role.api_client, Role.ministry_system):
        raise Invalid("API clients are registered as api_client or ministry_system", field="role")
    if not purpose.strip():
        raise Invalid("a declared purpose is required (UU PDP)", field="purpose")
    try:
        scope, programme_set = parse_scope(role, list(regions), list(programmes))
    except ScopeError as exc:
        raise Invalid(str(exc), field="regions") from exc
    repo = ApiClientRepository(session)
    if await repo.by_client_id(client_id) is not None:
        raise Conflict(f"client {client_id} already exists")
    secret = secrets.token_urlsafe(32)
    client = repo.add(ApiClient(
        client_id=client_id, name=name, role=role.value, regions=sorted(scope.codes),
        programmes=sorted(programme_set), purpose=purpose.strip(),
        secret_hash=await asyncio.to_thread(_hasher.hash, secret), active=True,
    ))
    await repo.flush()
    return Registration(client=client, secret=secret)


async def list_clients(session: AsyncSession) -> Sequence[ApiClient]:
    return await ApiClientRepository(session).all()


async def page_clients(session: AsyncSession, wanted: ClientFilter, page: PageRequest) -> Page[ApiClient]:
    """Oldest first (``limit + 1`` rows fetched: the extra one says another page follows)."""
    return to_page(await ApiClientRepository(session).page(wanted, page.offset, page.limit + 1), page)


async def count_clients(session: AsyncSession, wanted: ClientFilter) -> int:
    return await ApiClientRepository(session).count_filtered(wanted)


async def revoke(session: AsyncSession, client_id: str) -> ApiClient:
    client = await ApiClientRepository(session).by_client_id(client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    client.active = False
    client.revoked_at = datetime.now(UTC)
    await session.flush()
    return client


def _verify(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(session: AsyncSession, client_id: str, secret: str) -> Principal | None:
    """The client's principal, or ``None`` for an unknown, revoked or wrong-secret client (one answer for all)."""
    client = await ApiClientRepository(session).by_client_id(client_id) if CLIENT_ID.fullmatch(client_id) else None
    ok = await asyncio.to_thread(_verify, client.secret_hash if client else _dummy_hash(), secret)
    if client is None or not ok or not client.active:
        return None
    role = Role(client.role)
    scope, programmes = parse_scope(role, list(client.regions), list(client.programmes))
    return Principal(subject=f"client:{client.client_id}", role=role, scope=scope, programmes=programmes,
                     client_id=client.client_id, purpose=client.purpose)
