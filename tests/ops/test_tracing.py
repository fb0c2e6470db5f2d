"""Optional tracing: one span per operation, joined to the caller's trace, without personal data."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from schema.app import build_schema, create_app
from schema.tracing import OperationTracing

NIK = "3314015001900001"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def test_tracing_is_off_by_default(settings: Settings) -> None:
    assert OperationTracing not in build_schema(settings).extensions
    assert OperationTracing in build_schema(settings.model_copy(update={"otel_enabled": True})).extensions


async def test_operation_span_joins_the_callers_trace_and_carries_no_values(
    settings: Settings, connection: AsyncConnection, spans: InMemorySpanExporter
) -> None:
    spans.clear()
    app = create_app(settings.model_copy(update={"otel_enabled": True}), bind=connection)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        await client.post(
            "/graphql", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
            json={"query": f'query LookUp {{ region(code: "{NIK}") {{ name }} }}'})
        await client.post("/graphql", json={"query": "query Broken { region { name } }"})

    lookup, broken = spans.get_finished_spans()
    assert lookup.name == "graphql LookUp"
    assert lookup.kind == trace.SpanKind.SERVER
    assert format(lookup.context.trace_id, "032x") == TRACE_ID
    assert dict(lookup.attributes or {}) == {"graphql.operation.name": "LookUp", "graphql.operation.type": "query"}
    assert broken.status.status_code == trace.StatusCode.ERROR
    assert dict(broken.attributes or {})["graphql.error.codes"] == ("GRAPHQL_VALIDATION_FAILED",)
    for span in (lookup, broken):
        assert NIK not in repr(dict(span.attributes or {}))
        assert NIK not in span.name
