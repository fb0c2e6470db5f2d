"""Optional OpenTelemetry tracing (``SLRT_OTEL_ENABLED=true``; ``pip install 'slrt-hub[otel]'``).

One server span per GraphQL operation, child of the caller's ``traceparent`` when there is one,
named by the operation. Deliberately not strawberry's OpenTelemetryExtension: that one records the
query text and every resolver argument as span attributes, and those hold personal data (a NIK
written inline in a query). Spans here carry the operation's name and type and error codes only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from hub.config import Settings
from hub.metrics import operation_label
from schema.observability import error_code

INSTALL_HINT = "SLRT_OTEL_ENABLED needs the OpenTelemetry packages: pip install 'slrt-hub[otel]'"


class OperationTracing(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        from opentelemetry import propagate, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        request = getattr(self.execution_context.context, "request", None)
        parent = propagate.extract(dict(request.headers)) if request is not None else None
        tracer = trace.get_tracer("slrt-hub")
        with tracer.start_as_current_span("graphql", context=parent, kind=SpanKind.SERVER) as span:
            yield
            context = self.execution_context
            label = operation_label(context.operation_name)
            span.update_name(f"graphql {label}")
            span.set_attribute("graphql.operation.name", label)
            try:
                span.set_attribute("graphql.operation.type", context.operation_type.value)
            except Exception:  # an unparsable document has no operation type
                span.set_attribute("graphql.operation.type", "unknown")
            errors = context.result.errors if context.result is not None else None
            if errors:
                span.set_attribute("graphql.error.codes", sorted({error_code(e) for e in errors}))
                span.set_status(Status(StatusCode.ERROR))


def tracing_extensions(settings: Settings | None) -> list[Any]:
    if settings is None or not settings.otel_enabled:
        return []
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(INSTALL_HINT) from exc
    return [OperationTracing]


def configure_tracing(settings: Settings) -> None:
    """Install an SDK tracer provider exporting over OTLP/HTTP, unless one is installed already
    (``opentelemetry-instrument`` or the embedding process). The exporter reads the standard
    ``OTEL_EXPORTER_OTLP_*`` and ``OTEL_SERVICE_NAME`` variables."""
    if not settings.otel_enabled:
        return
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise RuntimeError(INSTALL_HINT) from exc
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise RuntimeError(INSTALL_HINT) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": "slrt-hub"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
