"""JSON logs with request id, principal and operation, and never a personal data value; metrics."""

from __future__ import annotations

import datetime
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import structlog
import structlog.testing
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub import metrics
from hub.config import Profile, Settings
from hub.logs import configure_logging, iso_utc
from schema import observability
from schema.app import create_app

NIK = "3314015001900001"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def as_facilitator(request: Request) -> Principal | None:
    return Principal(subject="fac-7", role=Role.facilitator, scope=RegionScope.of("33.14.01"))


@pytest.fixture
async def client(settings: Settings, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, bind=connection, authenticate=as_facilitator)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client


async def test_logs_carry_request_principal_operation_and_never_the_nik(
    client: httpx.AsyncClient, log_stream: io.StringIO
) -> None:
    ok = await client.post("/graphql", headers={"x-request-id": "req-42"}, json={
        "query": "query LookUp($nik: String!) { region(code: $nik) { name } }", "variables": {"nik": NIK}})
    assert ok.json() == {"data": {"region": None}}
    assert ok.headers["x-request-id"] == "req-42"

    # A variable of the wrong type: graphql-core quotes the value in its message. The caller gets
    # it back; the log must not.
    bad = await client.post("/graphql", json={
        "query": "query Bad($nik: Boolean!) { region(code: \"33\") @skip(if: $nik) { name } }",
        "variables": {"nik": NIK}})
    assert NIK in bad.json()["errors"][0]["message"]
    generated_id = bad.headers["x-request-id"]

    # GET puts variables in the query string, which must not reach the log either.
    got = await client.get("/graphql", params={"query": "query ViaGet($nik: String!) { region(code: $nik) { code } }",
                                               "variables": json.dumps({"nik": NIK})})
    assert got.json() == {"data": {"region": None}}

    output = log_stream.getvalue()
    assert output
    assert NIK not in output
    events = lines(log_stream)
    operations = [e for e in events if e["event"] == "graphql.operation"]
    assert [(e["operation"], e["request_id"], e["subject"], e["role"], e["error_codes"]) for e in operations] == [
        ("LookUp", "req-42", "fac-7", "facilitator", []),
        ("Bad", generated_id, "fac-7", "facilitator", ["GRAPHQL_VALIDATION_FAILED"]),
        ("ViaGet", got.headers["x-request-id"], "fac-7", "facilitator", []),
    ]
    requests = [e for e in events if e["event"] == "http.request"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [
        ("POST", "/graphql", 200), ("POST", "/graphql", 200), ("GET", "/graphql", 200)]
    assert {e["level"] for e in events} <= {"info", "error"}


def test_exception_logs_keep_type_and_frames_not_the_message(log_stream: io.StringIO) -> None:
    try:
        raise ValueError(f'duplicate key value violates unique constraint: Key (nik)=({NIK})')
    except ValueError as exc:
        structlog.get_logger("slrt.test").error("write.failed", exc_info=exc)
        logging.getLogger("sqlalchemy.engine").error("failed for %s", NIK, exc_info=True)
    output = log_stream.getvalue()
    assert NIK not in output
    first, second = lines(log_stream)
    assert first["exc_type"] == "builtins.ValueError"
    assert any("test_observability.py" in frame for frame in first["stack"])
    assert second["event"] == "failed for %s"
    assert second["logger"] == "sqlalchemy.engine"


async def test_metrics_count_operations_errors_and_pool(settings: Settings, app_engine: AsyncEngine) -> None:
    app = create_app(settings, bind=app_engine, authenticate=as_facilitator)
    before_ok = sample("slrt_graphql_requests_total", operation="RegionName", type="query")
    before_err = sample("slrt_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED")
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        await client.post("/graphql", json={"query": 'query RegionName { region(code: "33") { name } }'})
        await client.post("/graphql", json={"query": "query Broken { region { name } }"})
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert sample("slrt_graphql_requests_total", operation="RegionName", type="query") == before_ok + 1
    assert sample("slrt_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == before_err + 1
    body = response.text
    assert 'slrt_graphql_request_duration_seconds_count{operation="RegionName"}' in body
    assert 'slrt_db_pool_connections{state="size"} 5.0' in body


async def test_metrics_token_and_production_default(settings: Settings) -> None:
    guarded = create_app(settings.model_copy(update={"metrics_token": SecretStr("scrape-me")}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://hub.test") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"authorization": "Bearer wrong"})).status_code == 401
        assert (await client.get("/metrics", headers={"authorization": "Bearer scrape-me"})).status_code == 200

    prod = Settings(profile=Profile.prod, database_url="postgresql://db/slrt", credentials_key=SecretStr("k" * 32),
                    token_secret=SecretStr("t" * 32), data_dir=settings.data_dir)
    unguarded = create_app(prod)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unguarded), base_url="http://hub.test") as client:
        assert (await client.get("/metrics")).status_code == 404


def test_hooks_for_sync_runs_and_audit_writes() -> None:
    runs = sample("slrt_sync_runs_total", connector="siks_ng", outcome="ok")
    created = sample("slrt_sync_records_total", connector="siks_ng", outcome="created")
    audits = sample("slrt_audit_write_duration_seconds_count")
    metrics.record_sync_run("siks_ng", "ok", {"created": 3, "unchanged": 7}, 1.5)
    with metrics.audit_write_timer():
        pass
    assert sample("slrt_sync_runs_total", connector="siks_ng", outcome="ok") == runs + 1
    assert sample("slrt_sync_records_total", connector="siks_ng", outcome="created") == created + 3
    assert sample("slrt_audit_write_duration_seconds_count") == audits + 1


def test_operation_labels_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_seen_operations", {f"Op{i}" for i in range(metrics.MAX_OPERATION_NAMES)})
    assert metrics.operation_label("Op3") == "Op3"
    assert metrics.operation_label("BrandNew") == "other"
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("has space") == "other"


@pytest.mark.parametrize("ns", [0, 1_764_056_382_000_000_000, 1_764_056_382_924_517_999, 1_764_056_382_000_000_999,
                                1_764_056_382_999_999_000, 1_764_056_383_000_001_000, 951_782_400_123_456_789])
def test_timestamps_read_as_structlog_wrote_them(ns: int) -> None:
    expected = (datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(microseconds=ns // 1000))
    assert iso_utc(ns) == expected.isoformat().replace("+00:00", "Z")
    assert iso_utc(ns) == iso_utc(ns)  # the second's text, remembered, is the same


def test_the_request_logger_follows_reconfiguration() -> None:
    first, second = io.StringIO(), io.StringIO()
    handler = configure_logging("INFO", stream=first)
    try:
        observability.log.info("probe.one")
        logging.getLogger().removeHandler(handler)
        handler = configure_logging("INFO", stream=second)
        observability.log.info("probe.two")
        with structlog.testing.capture_logs() as captured:
            observability.log.info("probe.three")
        observability.log.info("probe.four")
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()
    assert [e["event"] for e in lines(first)] == ["probe.one"]
    assert [e["event"] for e in lines(second)] == ["probe.two", "probe.four"]
    assert [e["event"] for e in captured] == ["probe.three"]


def test_generated_request_ids_are_uuid4_hex() -> None:
    ids = {observability.new_request_id() for _ in range(200)}
    assert len(ids) == 200
    for request_id in ids:
        parsed = uuid.UUID(hex=request_id)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, request_id)
