"""What the adapters share: usage of the audio sent, and WebSocket failures as clear run errors (SDK failures:
:func:`russo_nb.model.providers.sdk_error`, shared with the synthesizers).

Every adapter turns its transport's transient failures (HTTP 429 / 5xx, WebSocket closes meaning "try again
later") into :class:`~russo_nb.model.errors.RetryableError` carrying ``retry_after``, so ``retries=`` handles them
the same way whichever adapter is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ..model.errors import AgentConnectionError, AgentHTTPError, AgentResponseError, RetryableError
from ..model.providers import closed_with
from ..model.ratelimit import parse_retry_after
from ..model.types import AgentResponse, Audio

__all__ = [
    "CLOSE_WAIT_S",
    "MAX_RECEIVE_BYTES",
    "MAX_RECEIVE_EVENTS",
    "ReceiveBudget",
    "close_within",
    "collect_within",
    "add_audio_usage",
    "check_seconds",
    "check_url",
    "close_error",
    "handshake_error",
    "run_streamed",
    "sdk_session",
    "wrong_prompt",
]

logger = logging.getLogger("russo_nb.adapters")

MAX_RECEIVE_BYTES = 64 * 1024 * 1024
"""Most bytes one run of a streaming adapter (WebSocket, OpenAI Realtime, Gemini Live) may receive in total."""
MAX_RECEIVE_EVENTS = 10_000
"""Most messages / events one run of a streaming adapter may receive."""
CLOSE_WAIT_S = 2.0
"""Seconds a streaming adapter waits for its connection to close before dropping it."""


def check_seconds(value: Any, what: str) -> float:
    """``value`` as a finite number of seconds > 0, or a one-line InvalidArgumentError naming ``what``."""
    from ..model.errors import InvalidArgumentError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise InvalidArgumentError(f"{what} must be a number of seconds > 0, got {value!r}")
    return float(value)


def check_url(url: Any, what: str, schemes: tuple[str, ...]) -> str:
    """``url`` if it is text starting with one of ``schemes`` (``("http://", "https://")``), else a one-line
    InvalidArgumentError naming ``what`` (the URL shown with its secrets redacted)."""
    from ..model.errors import InvalidArgumentError
    from .http_client import redact_url

    if not isinstance(url, str) or not url.startswith(schemes):
        raise InvalidArgumentError(f"{what} must start with {' or '.join(schemes)}, got {redact_url(str(url))!r}")
    return url


def time_limit(timeout: Any, response_timeout: Any, default: float) -> float:
    """An adapter's one time limit, in seconds: ``timeout=`` (its name on every adapter), or
    ``response_timeout=``, russo's name on the streaming adapters, accepted as an alias.

    Giving both is an :class:`~russo_nb.model.errors.InvalidArgumentError`; neither gives ``default``.
    """
    from ..model.errors import InvalidArgumentError

    if timeout is not None and response_timeout is not None:
        raise InvalidArgumentError(
            "give timeout= or russo's name for it, response_timeout=, not both "
            f"(got {timeout!r} and {response_timeout!r})"
        )
    chosen = timeout if timeout is not None else response_timeout
    return check_seconds(default if chosen is None else chosen, "timeout")


def wrong_prompt(who: str, prompt: Any) -> Exception:
    """The error for a prompt that is neither russo_nb.Audio nor text (every adapter takes those two)."""
    from ..model.errors import InvalidArgumentError

    return InvalidArgumentError(f"{who} takes russo_nb.Audio or str, got {type(prompt).__name__}")


async def collect_within(collect: Awaitable[Any], seconds: float, expired: Callable[[], str]) -> None:
    """Await a streaming adapter's ``collect``; past ``seconds`` the run is a ``TimeoutError`` whose message
    ``expired()`` writes then (what arrived so far)."""
    try:
        await asyncio.wait_for(collect, seconds)
    except asyncio.TimeoutError:
        raise TimeoutError(expired()) from None


def _size(value: Any, max_nodes: int = 10_000) -> int:
    """Roughly how many bytes ``value`` holds: the lengths of its strings and bytes, found by walking dicts,
    lists and objects' attributes (at most ``max_nodes`` of them, 8 bytes for anything else; never exact)."""
    total = 0
    stack = [value]
    seen = 0
    while stack and seen < max_nodes:
        item = stack.pop()
        seen += 1
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(getattr(item, "__dict__", None), dict):
            stack.extend(vars(item).values())
            stack.append(getattr(item, "__pydantic_extra__", None) or {})
        else:
            total += 8
    return total


class ReceiveBudget:
    """What one run of a streaming adapter may receive: :data:`MAX_RECEIVE_BYTES` and :data:`MAX_RECEIVE_EVENTS`.

    Every streaming adapter takes each message through :meth:`take`; past either cap the run ends with an
    :class:`~russo_nb.model.errors.AgentResponseError` saying how much arrived (a server flooding one run cannot
    grow the process by gigabytes; the per-message cap alone allowed 60 × 31 MB).
    """

    def __init__(self, who: str, max_bytes: int | None = None, max_events: int | None = None) -> None:
        self.who = who
        self.max_bytes = MAX_RECEIVE_BYTES if max_bytes is None else max_bytes
        self.max_events = MAX_RECEIVE_EVENTS if max_events is None else max_events
        self.bytes = 0
        self.events = 0

    def take(self, message: Any, size: int | None = None) -> None:
        """Count one message (``size`` bytes, estimated from its strings when not given); refuse past a cap."""
        self.events += 1
        self.bytes += _size(message) if size is None else size
        if self.bytes > self.max_bytes or self.events > self.max_events:
            raise AgentResponseError(
                f"{self.who}: the server sent more than one run may receive ({self.events:,} messages, "
                f"{self.bytes / 1e6:,.1f} MB; at most {self.max_events:,} messages and "
                f"{self.max_bytes / 1e6:,.0f} MB per run); refused"
            )


async def close_within(close: Callable[[], Awaitable[Any]], who: str, abort: Callable[[], Any] | None = None) -> None:
    """Close a connection, waiting at most :data:`CLOSE_WAIT_S`; then ``abort()`` it (a server that never
    answers the close cannot add seconds to a run). Errors while closing are logged, never the run's error."""
    try:
        await asyncio.wait_for(close(), CLOSE_WAIT_S)
    except asyncio.TimeoutError:
        logger.debug("%s: the connection did not close within %gs; dropped", who, CLOSE_WAIT_S)
        if abort is not None:
            try:
                abort()
            except Exception:
                pass
    except Exception as exc:
        logger.debug("%s: closing the connection failed: %s", who, exc)


@contextlib.asynccontextmanager
async def sdk_session(manager: Any, who: str, socket_attribute: str) -> AsyncIterator[Any]:
    """The session of an SDK's ``connect(...)`` manager (OpenAI Realtime, Gemini Live), closed within bounds.

    On the way out the manager is closed with :func:`close_within`, then the socket the session keeps
    under ``socket_attribute`` is aborted: a server that never answers the close cannot add seconds to the run.
    """
    session = await manager.__aenter__()
    try:
        yield session
    finally:
        socket = getattr(session, socket_attribute, None)
        abort = getattr(getattr(socket, "transport", None), "abort", None)
        await close_within(lambda: manager.__aexit__(None, None, None), who, abort)


async def run_streamed(
    who: str,
    prompt: Any,
    given: Any,
    connect: Callable[[], Any],
    socket_attribute: str,
    run_on: Callable[[Any, bool], Awaitable[AgentResponse]],
    failed: Callable[[Exception], BaseException | None],
) -> AgentResponse:
    """One run of a streaming SDK agent (OpenAI Realtime, Gemini Live): ``run_on(session, new)`` on the
    ``given`` session, or on a new one from ``connect()`` (an SDK ``connect(...)`` manager, closed within
    bounds by :func:`sdk_session`). A WebSocket closed early is :func:`close_error`; any other exception
    becomes ``failed(exc)`` (None: raised as it is). The seconds of audio sent are added to ``usage``."""
    from websockets.exceptions import ConnectionClosed

    try:
        if given is not None:
            response = await run_on(given, False)
        else:
            async with sdk_session(connect(), who, socket_attribute) as session:
                response = await run_on(session, True)
    except ConnectionClosed as exc:
        raise close_error(exc, who, 0) from None
    except Exception as exc:
        mapped = failed(exc)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc
    return add_audio_usage(response, prompt)


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
    retryable = closed_with(
        code, f"{who}: the server closed the connection {where}", reason, retry_after=_reason_retry_after(reason)
    )
    if retryable is not None:
        return retryable
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
