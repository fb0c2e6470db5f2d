"""The one HTTP layer under every client: credentials, httpx errors translated into the connector
exception tree, JSON decoding, and retries. Nothing above this module sees an httpx exception.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.errors import BadPayload, RateLimited, Rejected, Unavailable
from connectors.retry import RetryPolicy, call_with_retry, parse_retry_after

log = logging.getLogger("connectors.http")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Either an API key, or OAuth2 client credentials. Secrets never appear in ``repr``."""

    api_key: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @property
    def is_oauth(self) -> bool:
        return self.client_id is not None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Credentials:
        return cls(api_key=data.get("api_key"), client_id=data.get("client_id"),
                   client_secret=data.get("client_secret"))


@dataclass(frozen=True, slots=True)
class ClientOptions:
    timeout: float = 15.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests pass a recorder
    token_path: str = "/oauth/token"  # noqa: S105  (a URL path, not a secret)


def translate(exc: httpx.HTTPError, system: str) -> Unavailable | Rejected:
    """An httpx exception as a connector error: the boundary translation."""
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Rejected(f"{system}: unusable URL ({type(exc).__name__})", system=system)
    if isinstance(exc, httpx.TimeoutException):
        return Unavailable(f"{system}: timed out ({type(exc).__name__})", system=system)
    return Unavailable(f"{system}: transport failure ({type(exc).__name__})", system=system)


def check_status(response: httpx.Response, system: str) -> None:
    status = response.status_code
    if status < 400:
        return
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        raise RateLimited(f"{system}: rate limited", system=system, status=status, retry_after=retry_after)
    if status >= 500 or status == 408:
        raise Unavailable(f"{system}: HTTP {status}", system=system, status=status, retry_after=retry_after)
    raise Rejected(f"{system}: HTTP {status} {_reason(response)}".rstrip(), system=system, status=status)


def _reason(response: httpx.Response) -> str:
    # The source's own short error text helps an admin; cap it so a whole echoed body never lands in a log.
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("error", "message", "pesan", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])[:200]
    return ""


class HttpClient:
    """httpx.AsyncClient with the connector conventions. One per configured connector instance."""

    def __init__(
        self,
        system: str,
        base_url: str,
        credentials: Credentials,
        *,
        options: ClientOptions | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        api_key_header: str = "X-API-Key",
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> None:
        self.system = system
        self.api_key_header = api_key_header
        self.options = options or ClientOptions()
        self._credentials = credentials
        self._client = httpx.AsyncClient(base_url=base_url, timeout=self.options.timeout, transport=transport)
        self._token: str | None = None
        self._token_expires = 0.0
        self.on_retry = on_retry

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _fetch_token(self) -> str:
        creds = self._credentials
        try:
            response = await self._client.post(
                self.options.token_path,
                data={"grant_type": "client_credentials", "client_id": creds.client_id or "",
                      "client_secret": creds.client_secret or ""},
            )
        except httpx.HTTPError as exc:
            raise translate(exc, self.system) from None
        check_status(response, self.system)
        body = self._decode(response)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise BadPayload(f"{self.system}: token response without access_token", system=self.system)
        self._token = str(body["access_token"])
        self._token_expires = time.monotonic() + float(body.get("expires_in", 300)) - 10
        return self._token

    async def _auth_headers(self) -> dict[str, str]:
        creds = self._credentials
        if creds.is_oauth:
            token = self._token if self._token and time.monotonic() < self._token_expires else None
            return {"Authorization": f"Bearer {token or await self._fetch_token()}"}
        if creds.api_key:
            return {self.api_key_header: creds.api_key}
        return {}

    def _decode(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            # A cut or garbled body: what a proxy or an overloaded source produces; gone on retry.
            raise Unavailable(f"{self.system}: body is not valid JSON (truncated or garbled)",
                              system=self.system, status=response.status_code) from None

    async def _once(self, method: str, path: str, params: Mapping[str, Any] | None,
                    json: Any, headers: Mapping[str, str] | None) -> Any:
        all_headers = {**(headers or {}), **await self._auth_headers()}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._client.request(method, path, params=clean, json=json, headers=all_headers)
            if response.status_code == 401 and self._credentials.is_oauth and self._token is not None:
                # An expired or revoked token: fetch a new one once, then let the answer stand.
                self._token = None
                all_headers.update(await self._auth_headers())
                response = await self._client.request(method, path, params=clean, json=json, headers=all_headers)
        except httpx.HTTPError as exc:
            raise translate(exc, self.system) from None
        check_status(response, self.system)
        return self._decode(response)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        validate: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Send with retries. ``validate`` runs inside the retry loop, so a page it finds truncated
        (raising ``Unavailable``) is fetched again."""

        async def attempt() -> Any:
            body = await self._once(method, path, params, json, headers)
            return validate(body) if validate is not None else body

        def on_retry(exc: BaseException, wait: float) -> None:
            log.warning("%s %s %s: %s; retrying in %.2fs", self.system, method, path, type(exc).__name__, wait)
            if self.on_retry is not None:
                self.on_retry(exc, wait)

        return await call_with_retry(attempt, self.options.retry, sleep=self.options.sleep, on_retry=on_retry)


def expect_dict(body: Any, system: str, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadPayload(f"{system}: {what} is not a JSON object", system=system)
    return body


def expect_list(value: Any, system: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadPayload(f"{system}: {what} is not a JSON array", system=system)
    return value
