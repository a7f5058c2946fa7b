"""OpenAI SDK adapters (needs ``pip install 'russo_nb[openai]'``).

- :class:`OpenAIAgent`: Chat Completions with the audio as an ``input_audio`` part (``gpt-4o-audio-preview``
  and similar), tool calls read by :class:`~russo_nb.parsers.OpenAIResponseParser`;
- :class:`OpenAIRealtimeAgent`: the Realtime API over WebSocket: ``session.update`` (tools),
  ``input_audio_buffer.append`` / ``commit``, ``response.create``, then the
  ``response.function_call_arguments.done`` events up to ``response.done``.

Both take the client you already configured (``AsyncOpenAI(base_url=..., websocket_base_url=...)``).
SDK failures become run errors: 429 / 5xx are :class:`~russo_nb.model.errors.RetryableError` with the server's
Retry-After, SDK timeouts are timeouts; ``usage`` records the tokens the API reports and ``audio_s``.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from ..model.errors import AgentConnectionError, AgentResponseError, InvalidArgumentError, RetryableError
from ..model.extras import require
from ..model.providers import sdk_error
from ..model.types import AgentResponse, Audio, ToolCall
from ..voice.audio.manager import AudioManager
from ._common import (
    ReceiveBudget,
    add_audio_usage,
    collect_within,
    handshake_error,
    run_streamed,
    time_limit,
    wrong_prompt,
)
from .parsers._common import field, named_call
from .parsers.openai import OpenAIResponseParser, openai_usage

require("openai", "OpenAIAgent")

__all__ = ["OpenAIAgent", "OpenAIRealtimeAgent"]

logger = logging.getLogger("russo_nb.adapters.openai")


def _audio_part(audio: Audio) -> dict[str, Any]:
    if audio.format in ("wav", "pcm"):
        data, fmt = audio.to_wav_bytes(), "wav"
    else:
        data, fmt = audio.data, audio.format
    return {"type": "input_audio", "input_audio": {"data": base64.b64encode(data).decode("ascii"), "format": fmt}}


class OpenAIAgent:
    """An ``AsyncOpenAI`` client's Chat Completions as an agent (russo's constructor arguments, plus ``name``)."""

    def __init__(
        self,
        *,
        client: Any,
        model: str = "gpt-4o-audio-preview",
        tools: list[Any] | None = None,
        system_prompt: str | None = None,
        extra_create_kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        if client is None:
            raise InvalidArgumentError("OpenAIAgent needs client=AsyncOpenAI(...)")
        self.client = client
        self.model = model
        self.tools = tools
        self.system_prompt = system_prompt
        self.extra_create_kwargs = dict(extra_create_kwargs or {})
        self.name = name or f"OpenAIAgent({model})"
        self._parser = OpenAIResponseParser()

    def request_kwargs(self, prompt: Audio | str) -> dict[str, Any]:
        """The keyword arguments given to ``client.chat.completions.create`` for one prompt."""
        if isinstance(prompt, str):
            content: Any = prompt
        elif isinstance(prompt, Audio):
            content = [_audio_part(prompt)]
        else:
            raise wrong_prompt(self.name, prompt)
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": content})
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, **self.extra_create_kwargs}
        if self.tools:
            kwargs["tools"] = self.tools
        return kwargs

    async def run(self, audio: Audio | str) -> AgentResponse:
        """Send the prompt via Chat Completions and parse the tool calls."""
        kwargs = self.request_kwargs(audio)
        try:
            response = await self.client.chat.completions.create(**kwargs)
        except Exception as exc:
            mapped = sdk_error(exc, self.name)
            if mapped is exc:
                raise
            raise mapped from None
        if isinstance(response, (str, bytes)) or field(response, "choices", None) is None:
            raise AgentResponseError(f"{self.name}: the answer is not a chat completion: {response!r:.200}")
        return add_audio_usage(self._parser.parse(response, self.name), audio)

    def __repr__(self) -> str:
        return f"OpenAIAgent(model={self.model!r})"


class OpenAIRealtimeAgent:
    """The Realtime API as an agent: a new connection per run from ``client``, or a given ``connection``.

    Audio is sent as 16-bit mono PCM at 24 kHz (resampled when needed). A run ends at ``response.done``;
    if none arrives within ``timeout`` (russo's ``response_timeout``, an alias) the run is a timeout, and a
    connection closed before it is an error (retryable for close codes 1011-1014). An ``error`` event ends
    the run with its message (retryable when its code says rate limit).
    """

    def __init__(
        self,
        *,
        client: Any | None = None,
        connection: Any | None = None,
        model: str = "gpt-4o-realtime-preview",
        tools: list[Any] | None = None,
        timeout: float | None = None,
        response_timeout: float | None = None,
        name: str | None = None,
    ) -> None:
        if client is None and connection is None:
            raise InvalidArgumentError("Provide either 'client' (AsyncOpenAI) or 'connection' (realtime connection)")
        self.client = client
        self.connection = connection
        self.model = model
        self.tools = tools
        self.timeout = time_limit(timeout, response_timeout, 30.0)
        self.name = name or f"OpenAIRealtimeAgent({model})"

    def _connect(self) -> Any:
        beta = getattr(self.client, "beta", None)
        realtime = getattr(beta, "realtime", None) or self.client.realtime
        return realtime.connect(model=self.model)

    async def run(self, audio: Audio | str) -> AgentResponse:
        """Send the audio to a Realtime session and collect the function calls of one response."""
        return await run_streamed(
            self.name,
            audio,
            self.connection,
            self._connect,
            "_connection",
            lambda conn, new: self._run_on(conn, audio, configure=new),
            self._failed,
        )

    def _failed(self, exc: Exception) -> BaseException | None:
        """A refused WebSocket handshake as a run error naming the endpoint (others as they are)."""
        from websockets.exceptions import InvalidStatus

        return handshake_error(exc, self.name, "the Realtime endpoint") if isinstance(exc, InvalidStatus) else None

    async def _send_prompt(self, conn: Any, prompt: Audio | str) -> None:
        if isinstance(prompt, str):
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}
            await conn.conversation.item.create(item=item)
        elif isinstance(prompt, Audio):
            pcm = AudioManager.prepare_for_openai_realtime(prompt)
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm).decode("ascii"))
            await conn.input_audio_buffer.commit()
        else:
            raise wrong_prompt(self.name, prompt)

    async def _run_on(self, conn: Any, prompt: Audio | str, *, configure: bool) -> AgentResponse:
        """One audio -> tool calls round on an open connection."""
        if configure and self.tools:
            await conn.session.update(session={"tools": self.tools})
        await self._send_prompt(conn, prompt)
        await conn.response.create()
        calls: list[ToolCall] = []
        events: list[Any] = []
        state: dict[str, Any] = {"done": None}
        await collect_within(
            self._collect(conn, calls, events, state),
            self.timeout,
            lambda: (
                f"{self.name}: no response.done within timeout={self.timeout:g}s "
                f"({len(events)} events, {len(calls)} function calls so far)"
            ),
        )
        if state["done"] is None:
            raise AgentConnectionError(
                f"{self.name}: the connection ended before response.done ({len(events)} events received)"
            )
        done = state["done"]
        text = state.get("text") or None
        return AgentResponse(
            tool_calls=calls, text=text, raw=events or None, usage=openai_usage(field(done, "response"))
        )

    async def _collect(self, conn: Any, calls: list[ToolCall], events: list[Any], state: dict[str, Any]) -> None:
        budget = ReceiveBudget(self.name)
        async for event in conn:
            budget.take(event)
            events.append(event)
            kind = field(event, "type", None)
            if kind == "response.function_call_arguments.done":
                name, arguments = field(event, "name", None), field(event, "arguments", None)
                calls.append(named_call(name, arguments, self.name, event, "a function call event"))
            elif kind in ("response.text.done", "response.output_text.done"):
                text = field(event, "text", None)
                if isinstance(text, str):
                    state["text"] = (state.get("text") or "") + text
            elif kind == "error":
                error = field(event, "error", None)
                code = field(error, "code", None) or field(error, "type", None)
                message = f"{self.name}: the Realtime API sent an error: {field(error, 'message', error)}"
                if isinstance(code, str) and ("rate_limit" in code or code in ("server_error", "overloaded")):
                    raise RetryableError(message)
                raise AgentResponseError(message)
            elif kind == "response.done":
                state["done"] = event
                return

    def __repr__(self) -> str:
        return f"OpenAIRealtimeAgent(model={self.model!r})"
