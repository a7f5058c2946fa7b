"""WebSocketAgent: test an agent that talks over a WebSocket (needs ``pip install 'russo_nb[ws]'``).

One connection per run: connect, send the audio (JSON ``{"audio": <base64 of the clip's bytes>, "format":
<its format>, "sample_rate": <rate>}`` by default, as russo sends it plus the rate, and a clip labelled
"wav" whose bytes lack a WAV header gets one; raw bytes with
``send_bytes=True``, or whatever ``on_send(audio)`` returns), collect answer messages, parse tool calls.
Without ``is_complete`` the first message is the answer; with it, messages are collected until
``is_complete(messages)`` is true (at most ``max_messages``), then ``aggregate(messages)`` (default: the
one message, or the list) goes to the parser.

Beyond russo: a server that does not take the prompt, or sends nothing, within ``timeout`` (russo's
``response_timeout``, an alias) is a *timeout* of the run (sending is covered too: a server that never
reads cannot block a run), a connection closed before ``is_complete`` is satisfied is an error (close
codes 1011-1014 and abnormal closes are retryable), a handshake refused with 429/5xx is retryable with
its Retry-After, a redirect is followed only to the same origin (scheme, host, port) as for HTTP,
messages over ``max_bytes`` are refused, one run receives at most
:data:`~russo_nb.adapters._common.MAX_RECEIVE_BYTES` and :data:`~russo_nb.adapters._common.MAX_RECEIVE_EVENTS`
in total, and closing waits at most :data:`~russo_nb.adapters._common.CLOSE_WAIT_S`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from typing import Any

from ..model.errors import AgentResponseError, InvalidArgumentError
from ..model.extras import require
from ..model.types import AgentResponse, Audio
from ._common import (
    ReceiveBudget,
    add_audio_usage,
    check_seconds,
    check_url,
    close_error,
    close_within,
    handshake_error,
    time_limit,
)
from .http_client import DEFAULT_MAX_BYTES, AgentHTTPError, redact_url
from .parsers.mapping import JsonResponseParser

require("websockets", "WebSocketAgent")

__all__ = ["WebSocketAgent"]

logger = logging.getLogger("russo_nb.adapters.websocket")

_DEFAULT_PARSER = JsonResponseParser(text_key="text")


def _same_origin_connect() -> Any:
    """websockets' ``connect``, following a redirect only to the same origin (credentials stay on one host)."""
    global _CONNECT
    if _CONNECT is None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus
        from websockets.uri import parse_uri

        class SameOriginConnect(connect):  # type: ignore[misc,valid-type]
            who = "WebSocketAgent"

            def process_redirect(self, exc: Exception) -> Exception | str:
                target = super().process_redirect(exc)
                if not isinstance(target, str):
                    return target
                old, new = parse_uri(self.uri), parse_uri(target)
                if (old.secure, old.host, old.port) != (new.secure, new.host, new.port):
                    status = exc.response.status_code if isinstance(exc, InvalidStatus) else None
                    return AgentHTTPError(
                        f"{self.who}: {redact_url(self.uri)} answered HTTP {status} redirecting to "
                        f"{redact_url(target)}; a redirect to another host is not followed, so credentials never "
                        "go there: point the agent at the final URL",
                        status=status,
                    )
                return target

        _CONNECT = SameOriginConnect
    return _CONNECT


_CONNECT: Any = None


class WebSocketAgent:
    """Agent behind a WebSocket endpoint; russo's constructor arguments, plus ``name`` and ``max_bytes``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        parser: Any | None = None,
        headers: dict[str, str] | None = None,
        send_bytes: bool = False,
        audio_field: str = "audio",
        format_field: str = "format",
        timeout: float | None = None,
        response_timeout: float | None = None,
        max_messages: int = 100,
        on_send: Callable[[Audio], str | bytes] | None = None,
        is_complete: Callable[[list[Any]], bool] | None = None,
        aggregate: Callable[[list[Any]], Any] | None = None,
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        extra_ws_kwargs: dict[str, Any] | None = None,
        name: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        check_url(url, "url", ("ws://", "wss://"))
        check_seconds(open_timeout, "open_timeout")
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise InvalidArgumentError(f"max_messages must be a whole number >= 1, got {max_messages!r}")
        if parser is not None and not callable(getattr(parser, "parse", None)):
            raise InvalidArgumentError(f"parser must have a parse(raw) method, got {type(parser).__name__}")
        self.url = url
        self.parser = parser
        self.headers = dict(headers or {})
        self.send_bytes = send_bytes
        self.audio_field = audio_field
        self.format_field = format_field
        self.timeout = time_limit(timeout, response_timeout, 30.0)
        self.max_messages = max_messages
        self.on_send = on_send
        self.is_complete = is_complete
        self.aggregate = aggregate
        self.open_timeout = float(open_timeout)
        self.close_timeout = close_timeout
        self.extra_ws_kwargs = dict(extra_ws_kwargs or {})
        self.max_bytes = max_bytes
        self.name = name or f"WebSocketAgent({redact_url(url)})"

    def _prepare_message(self, audio: Audio | str) -> str | bytes:
        """The outgoing message for one prompt."""
        if self.on_send is not None:
            return self.on_send(audio)  # type: ignore[arg-type]
        if isinstance(audio, str):
            return json.dumps({"text": audio})
        if not isinstance(audio, Audio):
            raise InvalidArgumentError(f"{self.name} sends russo_nb.Audio or str, got {type(audio).__name__}")
        if self.send_bytes:
            return audio.data
        data = audio.data
        if audio.format == "wav" and data[:4] != b"RIFF":
            data = audio.to_wav_bytes()  # beyond russo: a clip labelled "wav" is sent as a WAV file
        return json.dumps(
            {
                self.audio_field: base64.b64encode(data).decode("ascii"),
                self.format_field: audio.format,
                "sample_rate": audio.sample_rate,  # beyond russo: a "pcm" clip carries no rate of its own
            }
        )

    async def run(self, audio: Audio | str) -> AgentResponse:
        """Connect, send, collect the answer and parse its tool calls."""
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

        message = self._prepare_message(audio)
        shown = redact_url(self.url)
        options = {"max_size": self.max_bytes, **self.extra_ws_kwargs}
        connect = _same_origin_connect()(
            self.url,
            additional_headers=self.headers or None,
            open_timeout=self.open_timeout,
            close_timeout=self.close_timeout,
            **options,
        )
        connect.who = self.name
        try:
            connection = await connect
        except AgentHTTPError:
            raise
        except InvalidStatus as exc:
            raise handshake_error(exc, self.name, shown) from None
        except (InvalidHandshake, OSError) as exc:
            raise handshake_error(exc, self.name, shown) from None
        except asyncio.TimeoutError:
            raise TimeoutError(f"{self.name}: cannot connect to {shown} within {self.open_timeout:g}s") from None
        messages: list[Any] = []
        try:
            await self._send(connection, message)
            await self._collect(connection, messages)
        except ConnectionClosed as exc:
            if self.is_complete is None and messages:
                pass  # the one message russo takes arrived; a close after it is fine
            else:
                raise close_error(exc, self.name, len(messages)) from None
        finally:
            await close_within(connection.close, self.name, getattr(connection.transport, "abort", None))
        return add_audio_usage(self._parse(self._aggregate(messages)), audio)

    async def _send(self, connection: Any, message: str | bytes) -> None:
        """Send the prompt within ``timeout`` (a server that never reads cannot hold the run)."""
        try:
            await asyncio.wait_for(connection.send(message), self.timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"{self.name}: the server did not take the prompt ({len(message):,} bytes) within "
                f"timeout={self.timeout:g}s"
            ) from None

    async def _collect(self, connection: Any, messages: list[Any]) -> None:
        """Read messages until ``is_complete``, ``max_messages`` or ``timeout``."""
        try:
            await asyncio.wait_for(self._read(connection, messages), self.timeout)
        except asyncio.TimeoutError:
            if not messages:
                raise TimeoutError(f"{self.name}: no answer within timeout={self.timeout:g}s") from None
            logger.debug("%s: timeout with %d messages; parsing what arrived", self.name, len(messages))

    async def _read(self, connection: Any, messages: list[Any]) -> None:
        from websockets.exceptions import ConnectionClosedOK

        budget = ReceiveBudget(self.name)
        while True:
            try:
                raw = await connection.recv()
            except ConnectionClosedOK:
                if self.is_complete is not None or not messages:
                    raise
                return
            budget.take(raw, len(raw))
            messages.append(self._parse_incoming(raw))
            if self.is_complete is None or self.is_complete(messages):
                return
            if len(messages) >= self.max_messages:
                logger.warning("%s: stopped after max_messages=%d", self.name, self.max_messages)
                return

    @staticmethod
    def _parse_incoming(raw: str | bytes) -> Any:
        """A message as JSON when it is JSON, else as it came."""
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return raw

    def _aggregate(self, messages: list[Any]) -> Any:
        if self.aggregate is not None:
            return self.aggregate(messages)
        return messages[0] if len(messages) == 1 else messages

    def _parse(self, raw: Any) -> AgentResponse:
        if self.parser is not None:
            response = self.parser.parse(raw)
            if not isinstance(response, AgentResponse):
                raise TypeError(f"{type(self.parser).__name__}.parse() returned {type(response).__name__}")
            return response
        items = raw if isinstance(raw, list) else [raw]
        if not any(isinstance(item, (dict, list)) for item in items):
            shown = items[0] if items else raw
            if isinstance(shown, bytes):
                shown = shown[:80]
            raise AgentResponseError(
                f"{self.name}: the answer is not JSON ({shown!r:.120}); pass parser= (or aggregate=) to read it"
            )
        return _DEFAULT_PARSER.read(raw, self.name)

    def __repr__(self) -> str:
        return f"WebSocketAgent({redact_url(self.url)!r})"
