"""The hub's expected errors. Anything else reaching a caller is a bug and gets masked."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """An expected failure with a stable, documented code that clients may branch on."""

    code: str = "ERROR"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class NotFound(HubError):
    # Out-of-scope rows raise this too: callers must not learn that a row exists elsewhere.
    code = "NOT_FOUND"


class Invalid(HubError):
    code = "INVALID_INPUT"


class Conflict(HubError):
    code = "CONFLICT"


class Forbidden(HubError):
    code = "FORBIDDEN"


class UpstreamUnavailable(HubError):
    code = "UPSTREAM_UNAVAILABLE"
