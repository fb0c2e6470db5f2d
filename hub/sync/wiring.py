"""The one place in the hub that builds concrete connector clients from stored configuration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from connectors.factory import Kind, build_client
from connectors.http import ClientOptions, Credentials
from connectors.ports import SubmissionKind
from hub.config import Settings
from hub.models import Connector
from hub.sync import outbox
from hub.sync.outbox import (
    Handler,
    by_region,
    referral_handler,
    referral_status_poller,
    submission_handler,
    submission_status_poller,
)
from hub.sync.secrets import unseal

KINDS = [k.value for k in Kind]


def build_source(connector: Connector, settings: Settings, *, options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> object:
    credentials = Credentials.from_mapping(unseal(settings, connector.credentials))
    return build_client(connector.kind, connector.base_url, credentials, options=options, transport=transport)


def outbox_handlers(connectors: Sequence[Connector], settings: Settings, clients: list[Any], *,
                    options: ClientOptions | None = None, status: bool = False) -> dict[str, Handler]:
    """A handler per outbox topic over the enabled connectors of its kind, routed by region: delivery,
    or with ``status`` the poll of the status the receiving side reports.

    Clients are appended to ``clients`` for the caller to close.
    """
    routes: dict[str, list[tuple[str | None, Handler]]] = {}
    for connector in connectors:
        if connector.kind not in ("baznas", "siks-ng"):
            continue
        client: Any = build_source(connector, settings, options=options)
        clients.append(client)
        region = connector.region_code
        if connector.kind == "baznas":
            programmes = connector.options.get("programmes") or {}
            referral = referral_status_poller(client) if status else referral_handler(client, programmes)
            routes.setdefault(outbox.REFERRAL, []).append((region, referral))
        else:
            for topic, kind in ((outbox.PROPOSAL, SubmissionKind.proposal), (outbox.PRELIST, SubmissionKind.prelist)):
                handler = submission_status_poller(client) if status else submission_handler(client, kind)
                routes.setdefault(topic, []).append((region, handler))
    return {topic: by_region(handlers) for topic, handlers in routes.items()}
