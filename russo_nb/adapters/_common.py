"""What the adapters share: usage of the audio sent, and SDK / WebSocket failures as clear run errors.

Every adapter turns its transport's transient failures (HTTP 429 / 5xx, WebSocket closes meaning "try again
later") into :class:`~russo_nb.errors.RetryableError` carrying ``retry_after``, so ``retries=`` handles them
the same way whichever adapter is used.
"""

from __future__ import annotations

from typing import Any

from ..errors import AgentResponseError, RetryableError
from ..http_client import AgentHTTPError
from ..ratelimit import parse_retry_after
from ..types import AgentResponse, Audio

__all__ = [
    "RETRYABLE_CLOSE_CODES",
    "AgentConnectionError",
    "add_audio_usage",
    "check_seconds",
    "close_error",
    "handshake_error",
    "sdk_error",
]

RETRYABLE_CLOSE_CODES = {1011: "internal error", 1012: "service restart", 1013: "try again later", 1014: "bad gateway"}
"""WebSocket close codes that mean the service failed for now, not that the request was wrong."""


def check_seconds(value: Any, what: str) -> float:
    """``value`` as a finite number of seconds > 0, or a one-line InvalidArgumentError naming ``what``."""
    from ..errors import InvalidArgumentError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise InvalidArgumentError(f"{what} must be a number of seconds > 0, got {value!r}")
    return float(value)


def time_limit(timeout: Any, response_timeout: Any, default: float) -> float:
    """An adapter's one time limit, in seconds: ``timeout=`` (its name on every adapter), or
    ``response_timeout=``, russo's name on the streaming adapters, accepted as an alias.

    Giving both is an :class:`~russo_nb.errors.InvalidArgumentError`; neither gives ``default``.
    """
    from ..errors import InvalidArgumentError

    if timeout is not None and response_timeout is not None:
        raise InvalidArgumentError(
            "give timeout= or russo's name for it, response_timeout=, not both "
            f"(got {timeout!r} and {response_timeout!r})"
        )
    chosen = timeout if timeout is not None else response_timeout
    return check_seconds(default if chosen is None else chosen, "timeout")


class AgentConnectionError(RuntimeError):
    """The agent's connection broke (closed before the answer was complete, refused, ...)."""


def add_audio_usage(response: AgentResponse, prompt: Any) -> AgentResponse:
    """Record the seconds of audio sent in ``response.usage['audio_s']`` (prompts in text mode add nothing)."""
    if isinstance(prompt, Audio):
        seconds = round(prompt.duration_s, 3)
        response.usage = {**(response.usage or {}), "audio_s": seconds}
    return response


def close_error(exc: Any, who: str, collected: int) -> Exception:
    """The run's error for a WebSocket closed before the answer was complete."""
    sent = getattr(exc, "sent", None)
    if getattr(sent, "code", None) == 1009:  # we closed it: a message was over max_size
        return AgentConnectionError(f"{who}: an answer message was over the size cap (close code 1009); refused")
    frame = getattr(exc, "rcvd", None)
    code = getattr(frame, "code", None) or 1006
    reason = getattr(frame, "reason", "") or ""
    where = f"after {collected} message{'s' if collected != 1 else ''}"
    if code in RETRYABLE_CLOSE_CODES or code == 1006:
        meaning = RETRYABLE_CLOSE_CODES.get(code, "abnormal closure")
        return RetryableError(
            f"{who}: the server closed the connection {where} with code {code} ({meaning})"
            + (f": {reason}" if reason else ""),
            retry_after=_reason_retry_after(reason),
            status=code,
        )
    return AgentConnectionError(
        f"{who}: the server closed the connection {where}, before the answer was complete "
        f"(code {code}{': ' + reason if reason else ''})"
    )


def _reason_retry_after(reason: str) -> float | None:
    import re

    match = re.search(r"retry[- _]after[=: ]+(\d+(?:\.\d+)?)", reason, re.IGNORECASE)
    return float(match.group(1)) if match else None


def handshake_error(exc: Any, who: str, shown_url: str) -> Exception:
    """The run's error for a WebSocket handshake the server refused (HTTP 429 / 5xx are retryable)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        return AgentConnectionError(f"{who}: cannot connect to {shown_url}: {exc}")
    message = f"{who}: {shown_url} refused the WebSocket connection with HTTP {status}"
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(getattr(response, "headers", None))
        if retry_after is not None:
            message += f" (retry after {retry_after:g}s)"
        return RetryableError(message, retry_after=retry_after, status=status)
    return AgentHTTPError(message, status=status)


def sdk_error(exc: BaseException, who: str) -> BaseException:
    """Map an openai / google-genai SDK exception to the error a run records; others pass through.

    429 and 5xx become :class:`RetryableError` with the server's Retry-After; SDK timeouts become
    :class:`TimeoutError`; other status errors keep their status and message on one line.
    """
    name = type(exc).__name__
    if "Timeout" in name:
        return TimeoutError(f"{who}: {exc}")
    if isinstance(exc, ValueError) and not isinstance(exc, AgentResponseError):  # JSON / pydantic errors of the SDK
        first = (str(exc).splitlines() or [name])[0]
        return AgentResponseError(f"{who}: the answer is malformed ({name}: {first[:200]})")
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = getattr(exc, "code", None)
    if not isinstance(status, int) or isinstance(status, bool):
        if name in ("APIConnectionError",):
            return AgentHTTPError(f"{who}: cannot reach the API: {exc}")
        return exc
    if status >= 1000:  # a WebSocket close code (the Live API reports them as APIError codes)
        meaning = RETRYABLE_CLOSE_CODES.get(status, "abnormal closure" if status == 1006 else "closed")
        message = f"{who}: the server closed the connection with code {status} ({meaning})"
        if status in RETRYABLE_CLOSE_CODES or status == 1006:
            return RetryableError(message, status=status)
        return AgentConnectionError(message)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    detail = str(getattr(exc, "message", None) or exc).splitlines()[0][:300] if str(exc) else name
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(headers) if headers is not None else None
        suffix = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
        return RetryableError(
            f"{who}: the API answered HTTP {status}: {detail}{suffix}", retry_after=retry_after, status=status
        )
    hint = " (check the API key)" if status in (401, 403) else ""
    return AgentHTTPError(f"{who}: the API answered HTTP {status}{hint}: {detail}", status=status)
