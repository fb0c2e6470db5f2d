"""Structured JSON logs, one line per event, for every logger in the process.

What a log line may carry: request id, principal subject and role, operation name and type,
durations, error codes, counts, exception types and stack frames. What it never carries: query
variables, argument values, error messages from the database or GraphQL validation (both echo
input values, such as a NIK), or a query string. Exceptions are logged by type and frames only.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from typing import IO, Any

import orjson
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


_second: tuple[int, str] = (-1, "")  # the last second stamped, as text


def iso_utc(ns: int) -> str:
    """``ns`` (nanoseconds since the epoch) as structlog's ``TimeStamper(fmt="iso", utc=True)`` writes it:
    ``datetime.isoformat`` of the instant to the microsecond (floored, as ``datetime.now``), ``Z`` for UTC.

    The text of the second is made once per second, not once per line (two lines per request)."""
    global _second
    seconds, rest = divmod(ns, 1_000_000_000)
    second = _second
    if second[0] != seconds:
        second = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    micro = rest // 1000
    return f"{second[1]}.{micro:06d}Z" if micro else f"{second[1]}Z"  # isoformat leaves out zero microseconds


def _timestamp(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    event["timestamp"] = iso_utc(time.time_ns())
    return event


SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _JsonLines:
    """structlog's logger for the app's own events: each rendered line straight onto the stream the
    standard library's handler writes to, under that handler's lock, so lines never interleave.

    The app writes two lines per request; routing them through the standard library (a LogRecord, the
    handler, the formatter running the processors again, ``json.dumps``) cost more CPU than some of
    the requests they describe."""

    def __init__(self, handler: logging.StreamHandler[IO[str]], name: str | None) -> None:
        self.handler = handler
        self.name = name or "root"

    def msg(self, line: str) -> None:
        with self.handler.lock or _NO_LOCK:
            self.handler.stream.write(line + "\n")
            self.handler.flush()

    info = debug = warning = error = critical = exception = log = msg


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


_NO_LOCK = _NoLock()


def _render(logger: WrappedLogger, method: str, event: EventDict) -> str:
    return orjson.dumps(event, default=str, option=orjson.OPT_SORT_KEYS).decode()


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Route structlog and the standard library through one JSON stream.

    Safe to call again (the app's lifespan does, after uvicorn set up its own handlers): it
    replaces only the handler it installed before, so other handlers (pytest's) stay.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.stdlib.add_logger_name,
                    structlog.stdlib.add_log_level, _timestamp, _exception_without_values, _render],
        logger_factory=lambda *args: _JsonLines(handler, args[0] if args else None),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
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


class HotLogger:
    """``structlog.get_logger(name)`` for lines written on every request, without its per-call cost.

    structlog's lazy logger builds a new bound logger (and a ``_JsonLines``) on every call, because
    loggers are not cached on first use: the app's lifespan and the tests configure logging again, and
    a cached logger would keep writing to the old stream. Here the bound logger is built once per
    configuration: it is rebuilt whenever any part of structlog's configuration it was built from is
    no longer the one in force (``configure_logging``, ``structlog.configure``, ``reset_defaults``,
    ``structlog.testing.capture_logs``), so it always writes what ``structlog.get_logger`` would."""

    __slots__ = ("_built_from", "_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._built_from: tuple[Any, ...] = ()
        self._logger: Any = None

    def _bound(self) -> Any:
        config = structlog.get_config()
        current = (config["processors"], config["logger_factory"], config["wrapper_class"], config["context_class"])
        built_from = self._built_from
        if len(built_from) != len(current) or any(a is not b for a, b in zip(built_from, current, strict=True)):
            self._logger = structlog.get_logger(self.name).bind()
            self._built_from = current
        return self._logger

    def info(self, event: str, **values: Any) -> None:
        self._bound().info(event, **values)

    def error(self, event: str, **values: Any) -> None:
        self._bound().error(event, **values)
