"""API-client management for national administrators: register (secret shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from auth.permissions import Permission, can
from auth.principal import Role
from hub.clients import service as client_service
from hub.clients.repository import ClientFilter
from hub.db.engine import unit_of_work
from hub.errors import Forbidden, HubError
from hub.models import ApiClient as ApiClientModel
from hub.paging import Page
from schema.context import Info
from schema.errors import ErrorCode, UserError
from schema.types.common import After, Connection, First, connection, page_args
from schema.workflow.boundary import read_session


@strawberry.enum(description="What a registered client is: a third-party application, or a ministry's own system.")
class ApiClientRole(Enum):
    API_CLIENT = "api_client"
    MINISTRY_SYSTEM = "ministry_system"


@strawberry.type(description="A system allowed to obtain tokens with the OAuth 2.0 client-credentials grant.")
class ApiClient:
    client_id: str
    name: str
    role: ApiClientRole
    regions: list[str] = strawberry.field(description="Region codes the client may read ('*' = national).")
    programmes: list[str] = strawberry.field(description="Programme codes the client acts for.")
    purpose: str = strawberry.field(description="Declared purpose of processing, recorded with every access.")
    active: bool
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, row: ApiClientModel) -> ApiClient:
        return cls(client_id=row.client_id, name=row.name, role=ApiClientRole(row.role), regions=list(row.regions),
                   programmes=list(row.programmes), purpose=row.purpose, active=row.active,
                   created_at=row.created_at, revoked_at=row.revoked_at)


@strawberry.type(description="A new client and its secret. The secret is shown here once and never again.")
class ApiClientRegistration:
    client: ApiClient
    client_secret: str


@strawberry.input(description="Register a client. Scope and programmes are checked against the permission table.")
class RegisterApiClientInput:
    client_id: str
    name: str
    role: ApiClientRole = ApiClientRole.API_CLIENT
    regions: list[str]
    programmes: list[str] = strawberry.field(default_factory=list)
    purpose: str


RegisterApiClientResult = Annotated[ApiClientRegistration | UserError, strawberry.union("RegisterApiClientResult")]
RevokeApiClientResult = Annotated[ApiClient | UserError, strawberry.union("RevokeApiClientResult")]


def _refusal(info: Info) -> UserError | None:
    principal = info.context.principal
    if principal is None:
        return UserError(code=ErrorCode.UNAUTHENTICATED, message="authentication required")
    if not can(principal, Permission.manage_clients):
        return UserError.from_error(Forbidden("managing API clients needs the national_officer role"))
    return None


@strawberry.input(description="Narrow the list of API clients. All given conditions must hold.")
class ApiClientFilterInput:
    active: bool | None = strawberry.field(
        default=None, description="True: only clients that may still get tokens; false: only revoked ones.")
    role: ApiClientRole | None = strawberry.field(default=None, description="Only clients of this kind.")

    def to_filter(self) -> ClientFilter:
        return ClientFilter(active=self.active, role=self.role.value if self.role else None)


async def _no_clients() -> int:
    return 0


@strawberry.type
class ClientsQuery:
    @strawberry.field(description="Registered API clients, oldest first, a page at a time (`first` at most 100). "
                                  "National officers only: for anyone else the list is empty.")
    async def api_clients(
        self, info: Info, first: First = None, after: After = None,
        filter: Annotated[ApiClientFilterInput | None, strawberry.argument(
            description="Conditions the clients must all meet.")] = None,
    ) -> Connection[ApiClient]:
        page = page_args(info, first, after)
        wanted = (filter or ApiClientFilterInput()).to_filter()
        if _refusal(info) is not None:
            return connection([], Page(items=[], offset=page.offset, has_next=False), _no_clients)
        async with read_session(info.context) as (session, _):
            found = await client_service.page_clients(session, wanted, page)

        async def count() -> int:
            async with read_session(info.context) as (session, _):
                return await client_service.count_clients(session, wanted)

        return connection([ApiClient.from_model(r) for r in found.items], found, count)


@strawberry.type
class ClientsMutation:
    @strawberry.mutation(description="Register an API client and return its secret, once.")
    async def register_api_client(self, info: Info, input: RegisterApiClientInput) -> RegisterApiClientResult:
        if (refusal := _refusal(info)) is not None or info.context.principal is None:
            return refusal or UserError(code=ErrorCode.UNAUTHENTICATED, message="authentication required")
        try:
            async with unit_of_work(info.context.sessionmaker, info.context.principal) as session:
                registration = await client_service.create(
                    session, client_id=input.client_id, name=input.name, role=Role(input.role.value),
                    regions=input.regions, programmes=input.programmes, purpose=input.purpose)
        except HubError as exc:
            return UserError.from_error(exc)
        return ApiClientRegistration(client=ApiClient.from_model(registration.client),
                                     client_secret=registration.secret)

    @strawberry.mutation(description="Revoke a client: it gets no new tokens; issued ones expire within their TTL.")
    async def revoke_api_client(self, info: Info, client_id: str) -> RevokeApiClientResult:
        if (refusal := _refusal(info)) is not None or info.context.principal is None:
            return refusal or UserError(code=ErrorCode.UNAUTHENTICATED, message="authentication required")
        try:
            async with unit_of_work(info.context.sessionmaker, info.context.principal) as session:
                row = await client_service.revoke(session, client_id)
        except HubError as exc:
            return UserError.from_error(exc)
        return ApiClient.from_model(row)
