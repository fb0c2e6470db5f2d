"""Retries for retryable connector errors: exponential backoff with jitter, a total deadline,
and the source's ``Retry-After`` honoured (seconds or HTTP-date), capped so a hostile or broken
source cannot park a worker for an hour.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from connectors.errors import Unavailable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 8
    deadline: float = 120.0  # seconds from the first attempt; no attempt starts after it
    initial: float = 0.25
    maximum: float = 15.0  # backoff cap
    jitter: float = 0.25
    max_retry_after: float = 60.0  # cap on a source's Retry-After


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(delta, 0.0)


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Unavailable) and exc.retry_after is not None:
            return min(exc.retry_after, policy.max_retry_after)
        exponential: float = policy.initial * 2.0 ** (state.attempt_number - 1)
        return min(policy.maximum, exponential) + random.uniform(0, policy.jitter)  # noqa: S311  (jitter, not crypto)

    return wait


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Run ``fn`` until it succeeds, raises a non-retryable error, or the policy gives up.

    When it gives up, the last ``Unavailable`` is raised as is. ``stop_before_delay`` means a wait
    that would cross the deadline is not started at all.
    """

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action is not None:
            exc = state.outcome.exception()
            if exc is not None:
                on_retry(exc, state.next_action.sleep)

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Unavailable),
        stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.deadline),
        wait=_wait(policy),
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )
    async for attempt in retrying:
        with attempt:
            return await fn()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
