"""Expected errors as data: every mutation returns ``<Payload> | UserError``.

Add a code here when a new expected failure appears; clients branch on ``code``, never on ``message``.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from hub.errors import HubError


@strawberry.enum(description="Stable machine-readable error codes. New codes may be added; none will change meaning.")
class ErrorCode(Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_ID = "INVALID_ID"
    INVALID_NIK = "INVALID_NIK"
    INVALID_KK = "INVALID_KK"
    UNKNOWN_NIK = "UNKNOWN_NIK"
    AMBIGUOUS_NIK = "AMBIGUOUS_NIK"
    CONFLICT = "CONFLICT"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
    PAGE_TOO_LARGE = "PAGE_TOO_LARGE"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    SYNC_IN_PROGRESS = "SYNC_IN_PROGRESS"
    INTERNAL = "INTERNAL"


@strawberry.type(description="An expected failure: the request was understood and refused, and nothing changed.")
class UserError:
    code: ErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation, in English.")
    field: str | None = strawberry.field(default=None, description="The input field at fault, when one is.")

    @classmethod
    def from_error(cls, error: HubError, field: str | None = None) -> UserError:
        try:
            code = ErrorCode(error.code)
        except ValueError:
            code = ErrorCode.INVALID_INPUT
        return cls(code=code, message=error.message, field=field or error.details.get("field"))
