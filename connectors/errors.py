"""The exception tree every connector raises. Callers branch on the class, never on a message.

- ``Unavailable``: the source could not answer now (network, timeout, 5xx, a garbled or truncated
  body). Retry with backoff; ``retry_after`` (seconds) is the source's own hint when it gave one.
- ``RateLimited``: a 429. Retryable, and ``retry_after`` is nearly always set.
- ``Rejected``: the source understood the request and refused it (4xx other than 429: bad
  credentials, unknown NIK format, validation). Retrying sends the same refusal: never retried.
- ``BadPayload``: the source answered with a document that breaks the agreed contract (a valid JSON
  body of the wrong shape). A programming or version mismatch on one side: never retried.

A body that is not JSON at all, or a page whose item count does not match its own envelope, is
``Unavailable``: that is what a proxy cutting a response short looks like, and it goes away on retry.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class. ``system`` names the source (``siks-ng``, ``dukcapil`` ...)."""

    retryable: bool = False

    def __init__(self, message: str, *, system: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.status = status


class Unavailable(ConnectorError):
    retryable = True

    def __init__(self, message: str, *, system: str = "", status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, system=system, status=status)
        self.retry_after = retry_after


class RateLimited(Unavailable):
    pass


class Rejected(ConnectorError):
    pass


class BadPayload(ConnectorError):
    pass
