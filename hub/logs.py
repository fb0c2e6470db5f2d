"""Structured JSON logs, one line per event, for every logger in the process.

What a log line may carry: request id, principal subject and role, operation name and type,
durations, error codes, counts, exception types and stack frames. What it never carries: query
variables, argument values, error messages from the database or GraphQL validation (both echo
input values, such as a NIK), or a query string. Exceptions are logged by type and frames only.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import IO, Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

_HANDLER_NAME = "slrt-json"


def _exception_without_values(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Replace ``exc_info`` with the exception's type and frames: its message may quote input."""
    exc_info = event.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        exc_type, _, tb = exc_info
        if exc_type is not None:
            event["exc_type"] = f"{exc_type.__module__}.{exc_type.__qualname__}"
            event["stack"] = [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)]
    return event


SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Route structlog and the standard library through one JSON handler on the root logger.

    Safe to call again (the app's lifespan does, after uvicorn set up its own handlers): it
    replaces only the handler it installed before, so other handlers (pytest's) stay.
    """
    structlog.configure(
        processors=[*SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        # Records from other libraries (uvicorn, SQLAlchemy) keep their message template, not the
        # formatted message: the arguments may be values from a query.
        use_get_message=False,
        processors=[
            _exception_without_values,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(sort_keys=True, default=str),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # The access log prints query strings (GraphQL GET variables); schema.observability logs
    # each request without them instead.
    logging.getLogger("uvicorn.access").disabled = True
    # strawberry logs every GraphQL error with its message; the schema logs them safely instead.
    logging.getLogger("strawberry.execution").disabled = True
    return handler


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
