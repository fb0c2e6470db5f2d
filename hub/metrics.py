"""Prometheus metrics for the whole process, and the functions other modules call to record them.

Everything registers on prometheus_client's default registry, so a counter recorded anywhere (a
sync worker, the audit writer) appears at ``/metrics``. Labels never carry personal data or
caller-chosen free text without a bound: operation names are sanitised and capped.
"""

from __future__ import annotations

import re
import threading
from contextlib import AbstractContextManager

from prometheus_client import Counter, Gauge, Histogram

GRAPHQL_REQUESTS = Counter(
    "slrt_graphql_requests_total", "GraphQL operations executed, by operation name and type.",
    ["operation", "type"],
)
GRAPHQL_LATENCY = Histogram(
    "slrt_graphql_request_duration_seconds", "Time to execute one GraphQL operation.", ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
GRAPHQL_ERRORS = Counter(
    "slrt_graphql_errors_total", "GraphQL errors returned, by stable error code.", ["code"],
)
DB_POOL = Gauge(
    "slrt_db_pool_connections", "Database connections of the API's pool, by state (read at scrape time).",
    ["state"],
)
ENTITY_REFERENCES = Counter(
    "slrt_federation_entity_references_total",
    "Federation entity references resolved for a gateway; 'unresolved' are out of scope or absent.",
    ["entity", "outcome"],
)
SYNC_RUNS = Counter(
    "slrt_sync_runs_total", "Connector sync runs finished, by connector and outcome.", ["connector", "outcome"],
)
SYNC_RECORDS = Counter(
    "slrt_sync_records_total", "Records handled by connector sync runs, by connector and outcome.",
    ["connector", "outcome"],
)
SYNC_DURATION = Histogram(
    "slrt_sync_run_duration_seconds", "Wall time of one connector sync run.", ["connector"],
    buckets=(1, 5, 15, 60, 300, 900, 3600),
)
AUDIT_WRITE_LATENCY = Histogram(
    "slrt_audit_write_duration_seconds", "Time to append one entry to the audit log.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)

MAX_OPERATION_NAMES = 200
ANONYMOUS_OPERATION = "anonymous"
OTHER_OPERATION = "other"
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_seen_operations: set[str] = set()
_seen_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """A bounded label for a client-chosen operation name: the first 200 names, then 'other'."""
    if not name:
        return ANONYMOUS_OPERATION
    if not _OPERATION_NAME.match(name):
        return OTHER_OPERATION
    with _seen_lock:
        if name in _seen_operations:
            return name
        if len(_seen_operations) >= MAX_OPERATION_NAMES:
            return OTHER_OPERATION
        _seen_operations.add(name)
        return name


def record_sync_run(connector: str, outcome: str, records: dict[str, int], seconds: float) -> None:
    """For the sync worker: one finished run, e.g. ``record_sync_run("siks_ng", "ok", {"created": 3}, 1.2)``."""
    SYNC_RUNS.labels(connector, outcome).inc()
    for record_outcome, count in records.items():
        SYNC_RECORDS.labels(connector, record_outcome).inc(count)
    SYNC_DURATION.labels(connector).observe(seconds)


def audit_write_timer() -> AbstractContextManager[object]:
    """For the audit writer: ``with audit_write_timer(): await append(entry)``.

    The histogram's own timer (a class, not a generator context manager: this runs on every read)."""
    return AUDIT_WRITE_LATENCY.time()


def set_pool_gauges(size: int, checked_out: int, overflow: int) -> None:
    DB_POOL.labels("size").set(size)
    DB_POOL.labels("checked_out").set(checked_out)
    DB_POOL.labels("overflow").set(overflow)
