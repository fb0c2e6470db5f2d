"""Per-client budgets: requests per minute and personal records returned per minute.

Fixed one-minute windows held in memory, per process. With several worker processes each keeps its
own counters, so the effective limit is the configured one times the number of workers; put a
shared limiter (the reverse proxy, or Redis) in front when that matters. The window resets at the
minute boundary, and ``Retry-After`` tells the client how long until then.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from auth.principal import Principal


def rate_key(principal: Principal | None, client_host: str | None) -> str:
    """Whose budget a request spends: the API client, else the token subject, else the IP address."""
    if principal is not None:
        return f"client:{principal.client_id}" if principal.client_id else f"sub:{principal.subject}"
    return f"ip:{client_host or 'unknown'}"


@dataclass
class _Window:
    start: float
    requests: int = 0
    objects: int = 0


@dataclass
class RateLimiter:
    requests_per_minute: int
    objects_per_minute: int
    clock: Callable[[], float] = time.monotonic
    window_seconds: float = 60.0
    max_keys: int = 100_000
    _windows: dict[str, _Window] = field(default_factory=dict)

    def _window(self, key: str) -> _Window:
        now = self.clock()
        start = now - (now % self.window_seconds)
        window = self._windows.get(key)
        if window is None or window.start != start:
            if len(self._windows) >= self.max_keys:
                # Forget finished windows; bounded memory even under a flood of distinct keys.
                self._windows = {k: w for k, w in self._windows.items() if w.start == start}
            window = self._windows[key] = _Window(start)
        return window

    def _retry_after(self, window: _Window) -> int:
        return max(1, math.ceil(window.start + self.window_seconds - self.clock()))

    def hit(self, key: str) -> int | None:
        """Count one request; the seconds to wait when over budget, else ``None``."""
        window = self._window(key)
        if window.requests >= self.requests_per_minute or window.objects >= self.objects_per_minute:
            return self._retry_after(window)
        window.requests += 1
        return None

    def charge_objects(self, key: str, count: int) -> None:
        """Records returned by a request; the next request waits once the budget is spent."""
        self._window(key).objects += count
