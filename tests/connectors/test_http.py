"""The HTTP boundary over scripted ``httpx.MockTransport`` responses: translation and retry rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors.errors import BadPayload, RateLimited, Rejected, Unavailable
from connectors.http import ClientOptions, Credentials
from connectors.retry import RetryPolicy, parse_retry_after
from connectors.siks_ng import SiksNgClient

PAGE = {"status": "OK", "halaman": 1, "jumlah": 0, "data": [], "cursor_berikutnya": None}


class Script:
    """Answers requests from a list of canned responses and records what was asked and how long the client slept."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, policy: RetryPolicy | None = None) -> SiksNgClient:
        options = ClientOptions(retry=policy or RetryPolicy(attempts=5, deadline=60, initial=0.01, maximum=0.1),
                                sleep=self.sleep)
        return SiksNgClient("http://siks.test", Credentials(api_key="k"), options=options,
                            transport=httpx.MockTransport(self.handler))


def ok() -> httpx.Response:
    return httpx.Response(200, json=PAGE)


async def test_429_retry_after_seconds_is_honoured() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    page = await script.client().households()
    assert page.number == 1
    assert len(script.requests) == 2
    assert script.sleeps == [7.0]


async def test_429_retry_after_http_date_is_honoured() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    script = Script(httpx.Response(429, headers={"Retry-After": when}), ok())
    await script.client().households()
    assert len(script.sleeps) == 1
    assert 27 <= script.sleeps[0] <= 30


async def test_retry_after_is_capped() -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "3600"}), ok())
    await script.client(RetryPolicy(attempts=3, deadline=600, max_retry_after=20)).households()
    assert script.sleeps == [20.0]


async def test_a_wait_past_the_deadline_is_not_started() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "50"}))
    with pytest.raises(RateLimited) as raised:
        await script.client(RetryPolicy(attempts=5, deadline=10)).households()
    assert raised.value.retry_after == 50
    assert len(script.requests) == 1
    assert script.sleeps == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_permanent_errors_are_not_retried(status: int) -> None:
    script = Script(httpx.Response(status, json={"error": "ditolak"}))
    with pytest.raises(Rejected) as raised:
        await script.client().households()
    assert raised.value.status == status
    assert len(script.requests) == 1
    assert script.sleeps == []


async def test_contract_breaking_body_is_bad_payload_and_not_retried() -> None:
    script = Script(httpx.Response(200, json={"unexpected": True}))
    with pytest.raises(BadPayload):
        await script.client().households()
    assert len(script.requests) == 1


@pytest.mark.parametrize("broken", [
    httpx.Response(200, content=b'{"status":"OK","halaman":1,"da'),  # truncated
    httpx.Response(200, content=b"<html>502 Bad Gateway</html>"),  # not JSON
    httpx.Response(200, json={**PAGE, "jumlah": 3}),  # fewer records than the page declares
    httpx.Response(503),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("slow"),
    httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
])
async def test_transient_failures_are_retried_then_succeed(broken: httpx.Response | Exception) -> None:
    script = Script(broken, ok())
    page = await script.client().households()
    assert page.records == []
    assert len(script.requests) == 2
    assert len(script.sleeps) == 1


async def test_attempts_are_bounded() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(Unavailable):
        await script.client(RetryPolicy(attempts=4, deadline=60, initial=0.01)).households()
    assert len(script.requests) == 4
    assert len(script.sleeps) == 3


async def test_unusable_url_is_rejected() -> None:
    client = SiksNgClient("ftp://siks.test", Credentials(api_key="k"))
    with pytest.raises(Rejected):
        await client.households()


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("12", now=now) == 12.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


async def test_api_key_is_sent_and_never_in_repr() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("X-API-Key"))
        return ok()

    creds = Credentials(api_key="very-secret-key")
    client = SiksNgClient("http://siks.test", creds, transport=httpx.MockTransport(handler))
    await client.households()
    assert seen == ["very-secret-key"]
    assert "very-secret-key" not in repr(creds)


async def test_oauth_token_is_fetched_once_and_refreshed_after_401() -> None:
    from connectors.dukcapil import DukcapilClient

    calls: list[str] = []
    tokens = iter(["t1", "t2"])
    result = {"ref_id": "R", "waktu": "2026-01-01T00:00:00Z",
              "hasil": {"NIK": "DITEMUKAN", **{f: {"status": "SESUAI", "skor": 100}
                                               for f in ("NAMA_LGKP", "TGL_LHR", "TMPT_LHR")}}}
    expired = {"t1": False}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.url.path} {request.headers.get('Authorization', '')}")
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": next(tokens), "expires_in": 3600})
        if request.headers["Authorization"] == "Bearer t1" and expired["t1"]:
            return httpx.Response(401)
        return httpx.Response(200, json=result)

    from connectors.ports import NikCheck

    client = DukcapilClient("http://dukcapil.test", Credentials(client_id="c", client_secret="s"),
                            transport=httpx.MockTransport(handler))
    check = NikCheck("3314010101900001", "A", datetime(1990, 1, 1).date(), "Sragen", "test")
    await client.verify(check)
    await client.verify(check)
    expired["t1"] = True
    await client.verify(check)
    paths = [c.split(" ")[0] for c in calls]
    assert paths.count("/oauth/token") == 2
    assert calls[-1].endswith("Bearer t2")

