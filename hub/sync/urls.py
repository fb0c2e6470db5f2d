"""Base URLs an admin may give a connector: an allowed scheme, and no private addresses unless allowed.

Without the private-range check, a district admin could point a connector at the hub's own
database host or a cloud metadata endpoint and read the answers through ``testConnection``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from hub.config import Settings
from hub.errors import Invalid


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast


async def validate_base_url(url: str, settings: Settings) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in settings.connector_url_schemes:
        raise Invalid(f"base URL scheme must be one of {', '.join(settings.connector_url_schemes)}",
                      field="baseUrl")
    if not parts.hostname:
        raise Invalid("base URL has no host", field="baseUrl")
    if parts.username or parts.password:
        raise Invalid("put credentials in the credentials field, not in the URL", field="baseUrl")
    if not settings.allows_private_connector_urls:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443,
                                                                 type=socket.SOCK_STREAM)
        except OSError:
            raise Invalid("base URL host does not resolve", field="baseUrl") from None
        if any(_private(str(info[4][0])) for info in infos):
            raise Invalid("base URL points at a private or loopback address", field="baseUrl")
    return url.strip().rstrip("/")
