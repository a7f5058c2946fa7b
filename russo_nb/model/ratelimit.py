"""Rate limits and the pauses servers ask for.

``rate_limit=`` (on ``run_concurrent``, suites, ``%russo`` and ``russo --rate-limit``) caps how often runs
*start* an attempt: ``"10/s"``, ``"600/min"``, ``"5000/h"`` or a number (per second). Starts are spaced
evenly (no bursts), which keeps a batch under a provider's requests-per-minute quota. When an agent's server
answers 429 with ``Retry-After``, the adapter raises :class:`~russo_nb.model.errors.RetryableError` with
``retry_after``; the engine waits at least that long before retrying, and the limiter holds every other run
back for the same pause (a quota is shared by the whole batch).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from .errors import InvalidArgumentError

__all__ = ["MAX_INTERVAL_S", "MAX_RETRY_AFTER_S", "RateLimit", "RateLimiter", "parse_retry_after"]

MAX_RETRY_AFTER_S = 600.0
"""A server's ``Retry-After`` is honoured up to this many seconds (a hostile value cannot park a batch)."""

MAX_INTERVAL_S = 3600.0
"""The slowest rate limit accepted: one start per hour (``"0.0000001/h"`` would start runs years apart)."""

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/|per\s+)\s*([a-z]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` attempt starts per ``per_s`` seconds."""

    requests: float
    per_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("requests", "per_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise InvalidArgumentError(f"rate limit {name} must be a number > 0, got {value!r}")
        if self.per_s / self.requests > MAX_INTERVAL_S:
            raise InvalidArgumentError(
                f"rate limit {self} starts a run every {self.per_s / self.requests:,.0f}s; "
                f"russo accepts at most one start per {MAX_INTERVAL_S:g}s (1/h) or faster"
            )

    @property
    def interval_s(self) -> float:
        """Seconds between two attempt starts."""
        return self.per_s / self.requests

    @classmethod
    def parse(cls, value: Any) -> RateLimit | None:
        """``None``, a RateLimit, a number (per second) or ``"10/s"`` / ``"600/min"`` / ``"5000 per hour"``."""
        if value is None or isinstance(value, RateLimit):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(value, 1.0)
        if isinstance(value, str):
            match = _SPEC.match(value)
            if match and match.group(2).lower() in _UNITS:
                return cls(float(match.group(1)), _UNITS[match.group(2).lower()])
            if re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
                return cls(float(value), 1.0)
        raise InvalidArgumentError(
            f"rate_limit must be requests per time like '10/s', '600/min', '5000/h' or a number per second, "
            f"got {value!r:.80}"
        )

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}.get(self.per_s)
        count = f"{self.requests:g}"
        return f"{count}/{unit}" if unit else f"{count}/{self.per_s:g}s"


class RateLimiter:
    """Spaces attempt starts ``limit.interval_s`` apart on one event loop; :meth:`pause` holds them all back.

    Without a limit it only honours pauses. Slots are reserved synchronously, so concurrent callers on one
    loop never share a slot and no lock is needed.
    """

    def __init__(self, limit: RateLimit | None = None) -> None:
        self.limit = limit
        self._next = 0.0
        self._paused_until = 0.0

    @property
    def active(self) -> bool:
        """True when a caller may have to wait (a limit is set, or a pause was asked for)."""
        return self.limit is not None or self._paused_until > 0.0

    async def acquire(self) -> None:
        """Wait for this caller's slot."""
        now = time.monotonic()
        slot = max(now, self._next, self._paused_until)
        if self.limit is not None:
            self._next = slot + self.limit.interval_s
        if slot > now:
            await asyncio.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        """No new attempt starts for ``seconds`` (a server's Retry-After applies to the whole quota)."""
        self._paused_until = max(self._paused_until, time.monotonic() + min(seconds, MAX_RETRY_AFTER_S))


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from a response's ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date).

    ``headers`` is any mapping with case-insensitive ``get`` (httpx, the openai SDK) or a plain dict.
    Unreadable or negative values give None; huge ones are capped at :data:`MAX_RETRY_AFTER_S`.
    """
    if headers is None:
        return None

    def header(name: str) -> str | None:
        value = headers.get(name)
        if value is None and isinstance(headers, dict):
            value = next((v for k, v in headers.items() if str(k).lower() == name), None)
        return None if value is None else str(value).strip()

    millis = header("retry-after-ms")
    if millis:
        try:
            return _bounded(float(millis) / 1000.0)
        except ValueError:
            pass
    value = header("retry-after")
    if not value:
        return None
    try:
        return _bounded(float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return _bounded(when.timestamp() - time.time(), floor=0.0)


def _bounded(seconds: float, floor: float | None = None) -> float | None:
    if seconds != seconds or seconds == float("inf"):  # NaN / inf
        return None
    if seconds < 0:
        if floor is None:
            return None
        seconds = floor
    return min(seconds, MAX_RETRY_AFTER_S)
