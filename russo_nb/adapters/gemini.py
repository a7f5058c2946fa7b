"""google-genai adapters (needs ``pip install 'russo_nb[google]'``).

- :class:`GeminiAgent`: ``client.aio.models.generate_content`` with the audio as a part (PCM is wrapped
  in WAV), function calls read by :class:`~russo_nb.parsers.GeminiResponseParser`;
- :class:`GeminiLiveAgent`: a Live API session (``client.aio.live.connect``): the audio goes as 16 kHz
  PCM through ``send_realtime_input``, and the first ``tool_call`` message ends the turn.

Both take the ``genai.Client`` you configured (API key, Vertex AI, or ``http_options=HttpOptions(base_url=...)``);
without ``client=`` they make one as russo does (:func:`_make_client`: ``GOOGLE_API_KEY``, else
``GOOGLE_CLOUD_PROJECT`` + ``GOOGLE_CLOUD_LOCATION``, else the SDK's own resolution) through this module's
``genai`` (patch ``russo_nb.adapters.gemini.genai`` in tests). Beyond russo, ``api_key=``, ``vertexai=``,
``project=``, ``location=`` and ``http_options=`` go to that client; no credentials at all is one
:class:`~russo_nb.model.errors.ConfigurationError` line.
SDK failures become run errors: 429 / 5xx are :class:`~russo_nb.model.errors.RetryableError`, Live sessions
closed with 1011-1014 are retryable; ``usage`` records the token counts the API reports and ``audio_s``.
"""

from __future__ import annotations

import logging
from typing import Any

from ..model.errors import AgentConnectionError, AgentResponseError, InvalidArgumentError
from ..model.extras import require
from ..model.providers import genai_client, sdk_error
from ..model.types import AgentResponse, Audio, ToolCall
from ..voice.audio.constants import Gemini
from ..voice.audio.manager import AudioManager
from ._common import (
    ReceiveBudget,
    add_audio_usage,
    collect_within,
    run_streamed,
    time_limit,
    wrong_prompt,
)
from .parsers._common import field, named_call
from .parsers.gemini import GeminiResponseParser, gemini_usage

require("google.genai", "GeminiAgent")

from google import genai  # noqa: E402 - after the check that names the extra to install; tests patch it

__all__ = ["GeminiAgent", "GeminiLiveAgent"]

logger = logging.getLogger("russo_nb.adapters.gemini")


def _make_client(who: str = "GeminiAgent", **credentials: Any) -> Any:
    """russo's auto-created ``genai.Client`` (its name; see :func:`~russo_nb.model.providers.genai_client`)."""
    return genai_client(genai, who, **credentials)


class _GeminiBase:
    """What both Gemini agents share: the client (given, or made as russo does), model, tools and config.

    ``config`` replaces ``tools`` and ``system_instruction`` when given. Without ``client`` one is made as
    russo does; ``api_key`` / ``vertexai`` / ``project`` / ``location`` / ``http_options`` (russo_nb
    additions) go to it.
    """

    _kind = "GeminiAgent"

    def __init__(
        self,
        *,
        client: Any | None = None,
        model: str = "gemini-2.0-flash",
        tools: list[Any] | None = None,
        system_instruction: str | None = None,
        config: Any | None = None,
        name: str | None = None,
        api_key: str | None = None,
        vertexai: bool = False,
        project: str | None = None,
        location: str | None = None,
        http_options: Any | None = None,
    ) -> None:
        if client is None and self._needs_client():
            client = _make_client(
                self._kind,
                api_key=api_key,
                vertexai=vertexai,
                project=project,
                location=location,
                http_options=http_options,
            )
        self.client = client
        self.model = model
        self.tools = tools
        self.system_instruction = system_instruction
        self.config = config
        self.name = name or f"{self._kind}({model})"

    def _needs_client(self) -> bool:
        """Whether a client must be made when none is given."""
        return True

    def _config_kwargs(self) -> dict[str, Any]:
        """``tools`` and ``system_instruction`` for the SDK's config, when set."""
        kwargs: dict[str, Any] = {}
        if self.tools:
            kwargs["tools"] = self.tools
        if self.system_instruction:
            kwargs["system_instruction"] = self.system_instruction
        return kwargs

    def __repr__(self) -> str:
        return f"{self._kind}(model={self.model!r})"


class GeminiAgent(_GeminiBase):
    """A ``google.genai.Client`` as an agent (russo's constructor arguments, plus ``name``).

    ``config`` (a ``GenerateContentConfig``) replaces ``tools`` and ``system_instruction`` when given.
    Without ``client`` one is made as russo does; ``api_key`` / ``vertexai`` / ``project`` / ``location`` /
    ``http_options`` (russo_nb additions) go to it.
    """

    _parser = GeminiResponseParser()  # stateless: one for every agent

    def _build_config(self, types: Any) -> Any:
        if self.config is not None:
            return self.config
        kwargs = self._config_kwargs()
        return types.GenerateContentConfig(**kwargs) if kwargs else None

    async def run(self, audio: Audio | str) -> AgentResponse:
        """Send the audio (or text) to Gemini and parse the function calls."""
        from google.genai import types

        if isinstance(audio, str):
            contents: list[Any] = [audio]
        elif isinstance(audio, Audio):
            data, mime_type = AudioManager.prepare_for_generate_content(audio)
            contents = [types.Part.from_bytes(data=data, mime_type=mime_type)]
        else:
            raise wrong_prompt(self.name, audio)
        try:
            response = await self.client.aio.models.generate_content(
                model=self.model, contents=contents, config=self._build_config(types)
            )
        except Exception as exc:
            raise sdk_error(exc, self.name) from exc
        return add_audio_usage(self._parser.parse(response, self.name), audio)


class GeminiLiveAgent(_GeminiBase):
    """The Gemini Live API as an agent: a new session per run from ``client``, or a given ``session``.

    With neither, a client is made as russo does (``credentials``: ``api_key`` / ``vertexai`` / ``project`` /
    ``location`` / ``http_options`` go to it, as for :class:`GeminiAgent`).

    A run ends at the first ``tool_call`` message or at the end of the model's turn; nothing within
    ``timeout`` (russo's ``response_timeout``, an alias) makes the run a timeout (russo returned an empty answer).
    """

    _kind = "GeminiLiveAgent"

    def __init__(
        self,
        *,
        client: Any | None = None,
        session: Any | None = None,
        model: str = "gemini-live-2.5-flash-native-audio",
        tools: list[Any] | None = None,
        system_instruction: str | None = None,
        config: Any | None = None,
        timeout: float | None = None,
        response_timeout: float | None = None,
        name: str | None = None,
        **credentials: Any,
    ) -> None:
        self.session = session
        super().__init__(
            client=client,
            model=model,
            tools=tools,
            system_instruction=system_instruction,
            config=config,
            name=name,
            **credentials,
        )
        self.timeout = time_limit(timeout, response_timeout, 30.0)

    def _needs_client(self) -> bool:
        return self.session is None  # a given session needs no client

    def _build_config(self, types: Any) -> Any:
        if self.config is not None:
            return self.config
        return types.LiveConnectConfig(
            response_modalities=list(Gemini.LIVE_RESPONSE_MODALITIES), **self._config_kwargs()
        )

    async def run(self, audio: Audio | str) -> AgentResponse:
        """Send the audio to a Live session and collect the function calls of one turn."""
        return await run_streamed(
            self.name,
            audio,
            self.session,
            self._connect,
            "_ws",
            lambda session, _new: self._run_on(session, audio),
            self._failed,
        )

    def _connect(self) -> Any:
        from google.genai import types

        return self.client.aio.live.connect(model=self.model, config=self._build_config(types))

    def _failed(self, exc: Exception) -> BaseException | None:
        """SDK failures as run errors (our own errors as they are)."""
        if isinstance(exc, (TimeoutError, InvalidArgumentError, AgentResponseError, AgentConnectionError)):
            return None
        return sdk_error(exc, self.name)

    async def _run_on(self, session: Any, prompt: Audio | str) -> AgentResponse:
        from google.genai import types

        if isinstance(prompt, str):
            await session.send_realtime_input(text=prompt)
        elif isinstance(prompt, Audio):
            pcm, mime_type = AudioManager.prepare_for_live(prompt)
            await session.send_realtime_input(audio=types.Blob(data=pcm, mime_type=mime_type))
            await session.send_realtime_input(audio_stream_end=True)
        else:
            raise wrong_prompt(self.name, prompt)
        calls: list[ToolCall] = []
        messages: list[Any] = []
        texts: list[str] = []
        await collect_within(
            self._collect(session, calls, messages, texts),
            self.timeout,
            lambda: (
                f"{self.name}: no tool call or end of turn within timeout={self.timeout:g}s "
                f"({len(messages)} messages so far)"
            ),
        )
        usage = None
        for message in messages:
            usage = gemini_usage(message) or usage
        return AgentResponse(tool_calls=calls, text="".join(texts) or None, raw=messages or None, usage=usage)

    async def _collect(self, session: Any, calls: list[ToolCall], messages: list[Any], texts: list[str]) -> None:
        budget = ReceiveBudget(self.name)
        async for message in session.receive():
            budget.take(message)
            messages.append(message)
            tool_call = field(message, "tool_call", None)
            function_calls = field(tool_call, "function_calls", None) if tool_call is not None else None
            if function_calls:
                for call in function_calls:
                    calls.append(named_call(field(call, "name", None), field(call, "args", None), self.name, call))
                return  # the model now waits for the tool's answer: the turn is ours to end
            content = field(message, "server_content", None)
            turn = field(content, "model_turn", None) if content is not None else None
            for part in (field(turn, "parts", None) or []) if turn is not None else []:
                text = field(part, "text", None)
                if isinstance(text, str):
                    texts.append(text)
            if content is not None and field(content, "turn_complete", False) is True:
                return
        raise AgentConnectionError(  # as the Realtime agent: an answer cut short is not an answer
            f"{self.name}: the stream ended before turn_complete or a tool call ({len(messages)} messages received)"
        )
