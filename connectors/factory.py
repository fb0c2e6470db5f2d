"""Build a client for a connector kind. The only place that maps kinds to concrete clients."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import httpx

from connectors.baznas import BaznasClient
from connectors.dukcapil import DukcapilClient
from connectors.education import EducationClient
from connectors.health import HealthClient
from connectors.http import ClientOptions, Credentials
from connectors.siks_ng import SiksNgClient


class Kind(StrEnum):
    siks_ng = "siks-ng"
    dukcapil = "dukcapil"
    education = "education"
    health = "health"
    baznas = "baznas"


class Client(Protocol):
    system: str

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


CLIENTS: dict[Kind, type[SiksNgClient | DukcapilClient | EducationClient | HealthClient | BaznasClient]] = {
    Kind.siks_ng: SiksNgClient,
    Kind.dukcapil: DukcapilClient,
    Kind.education: EducationClient,
    Kind.health: HealthClient,
    Kind.baznas: BaznasClient,
}


def build_client(
    kind: Kind | str,
    base_url: str,
    credentials: Credentials,
    *,
    options: ClientOptions | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SiksNgClient | DukcapilClient | EducationClient | HealthClient | BaznasClient:
    cls = CLIENTS[Kind(kind)]
    if options is None:
        return cls(base_url, credentials, transport=transport)
    return cls(base_url, credentials, options=options, transport=transport)
