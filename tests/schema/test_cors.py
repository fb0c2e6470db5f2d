"""The API's CORS middleware answers exactly as Starlette's, with or without an Origin."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

from schema.auth import Cors

OPTIONS: dict[str, Any] = {"allow_origins": ["https://portal.example"], "allow_methods": ["GET", "POST"],
                           "allow_headers": ["Authorization", "Content-Type"], "allow_credentials": False,
                           "max_age": 600}


def app_answering(headers: list[tuple[bytes, bytes]]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"{}"})
    return app


async def answer(middleware: type[CORSMiddleware], response_headers: list[tuple[bytes, bytes]],
                 request_headers: list[tuple[bytes, bytes]], method: str = "POST") -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/graphql", "headers": request_headers, "query_string": b""}
    await middleware(app_answering(response_headers), **OPTIONS)(scope, receive, send)
    return sent


@pytest.mark.parametrize("response_headers", [
    [],
    [(b"content-type", b"application/json")],
    [(b"vary", b"Accept-Encoding"), (b"content-type", b"application/json")],
    [(b"vary", b"Accept"), (b"content-type", b"application/json"), (b"vary", b"Cookie")],
])
@pytest.mark.parametrize("request_headers", [
    [],
    [(b"content-type", b"application/json"), (b"accept", b"application/json")],
    [(b"origin", b"https://portal.example")],
    [(b"origin", b"https://elsewhere.example")],
])
async def test_the_same_answer_as_starlettes(response_headers: list[tuple[bytes, bytes]],
                                             request_headers: list[tuple[bytes, bytes]]) -> None:
    assert await answer(Cors, response_headers, request_headers) == \
           await answer(CORSMiddleware, response_headers, request_headers)


async def test_a_preflight_is_starlettes() -> None:
    preflight = [(b"origin", b"https://portal.example"), (b"access-control-request-method", b"POST")]
    assert await answer(Cors, [], preflight, "OPTIONS") == await answer(CORSMiddleware, [], preflight, "OPTIONS")
