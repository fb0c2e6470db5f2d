"""The one place in the hub that builds concrete connector clients from stored configuration."""

from __future__ import annotations

import httpx

from connectors.factory import Kind, build_client
from connectors.http import ClientOptions, Credentials
from hub.config import Settings
from hub.models import Connector
from hub.sync.secrets import unseal

KINDS = [k.value for k in Kind]


def build_source(connector: Connector, settings: Settings, *, options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> object:
    credentials = Credentials.from_mapping(unseal(settings, connector.credentials))
    return build_client(connector.kind, connector.base_url, credentials, options=options, transport=transport)
