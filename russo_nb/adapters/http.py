"""HttpAgent: test any agent that listens on HTTP, by POSTing it the audio (or the text).

The audio goes as base64 inside JSON (``mode="base64_json"``, russo's default: ``{"audio": ..., "format":
"wav", "sample_rate": ...}``) or as a WAV body (``mode="wav"``); text-mode prompts go as ``{"text": ...}``.
A parser (``parser=JsonResponseParser(...)``, or ``mapping=`` with dotted paths) says where the answer keeps
its tool calls. Requests go through :mod:`russo_nb.adapters.http_client` (total deadline, body cap, no cross-host
redirects, 429/5xx retryable), and the agent's name never shows the URL's query (API keys live there).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from ..model.errors import InvalidArgumentError
from ..model.types import AgentResponse, Audio
from ._common import add_audio_usage, check_seconds, check_url
from .http_client import DEFAULT_MAX_BYTES, post_json, redact_url
from .parsers._common import get_path
from .parsers.mapping import JsonMapping, JsonResponseParser

__all__ = ["HttpAgent", "JsonMapping", "get_path"]


class HttpAgent:
    """An agent behind an HTTP endpoint. ``await HttpAgent(url=...).run(audio)``.

    russo's arguments (``url``, ``parser``, ``method``, ``headers``, ``audio_field``, ``format_field``,
    ``timeout``) mean what they mean there; ``mode``, ``mapping``, ``extra``, ``name`` and ``max_bytes``
    are russo_nb's additions.
    """

    def __init__(
        self,
        url: str | None = None,
        mode: Literal["wav", "base64_json"] = "base64_json",
        mapping: JsonMapping | dict[str, Any] | None = None,
        timeout: float = 60.0,
        headers: dict[str, str] | None = None,
        *,
        parser: Any | None = None,
        method: str = "POST",
        audio_field: str = "audio",
        format_field: str = "format",
        extra: dict[str, Any] | None = None,
        name: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        check_url(url, "url", ("http://", "https://"))
        if mode not in ("wav", "base64_json"):
            raise InvalidArgumentError(f"mode must be 'wav' or 'base64_json', got {mode!r}")
        if isinstance(mapping, dict):
            try:
                mapping = JsonMapping(**mapping)
            except TypeError as exc:
                raise InvalidArgumentError(
                    f"bad mapping {mapping!r}: {exc}; keys: calls, name, arguments, text"
                ) from None
        if parser is not None and not callable(getattr(parser, "parse", None)):
            raise InvalidArgumentError(f"parser must have a parse(raw) method, got {type(parser).__name__}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise InvalidArgumentError(f"max_bytes must be a whole number of bytes >= 1, got {max_bytes!r}")
        self.url = url
        self.mode = mode
        self.parser = parser
        self.mapping: JsonResponseParser = mapping or JsonMapping()
        self.method = str(method).upper()
        self.timeout = check_seconds(timeout, "timeout")
        self.headers = dict(headers or {})
        self.audio_field = audio_field
        self.format_field = format_field
        self.extra = dict(extra or {})
        self.max_bytes = max_bytes
        self.name = name or f"HttpAgent({redact_url(url)})"

    def request_body(self, audio: Audio | str) -> tuple[bytes, dict[str, str]]:
        """The body and headers sent for ``audio`` (or text)."""
        headers = {"Accept": "application/json", **self.headers}
        if isinstance(audio, str):
            body = json.dumps({"text": audio, **self.extra}).encode()
            return body, {"Content-Type": "application/json", **headers}
        if not isinstance(audio, Audio):
            raise InvalidArgumentError(f"HttpAgent sends russo_nb.Audio or str, got {type(audio).__name__}")
        wav = audio.to_wav_bytes()
        if self.mode == "wav":
            return wav, {"Content-Type": "audio/wav", **headers}
        payload = {
            self.audio_field: base64.b64encode(wav).decode("ascii"),
            self.format_field: "wav" if audio.format in ("wav", "pcm") else audio.format,
            "sample_rate": audio.sample_rate,
            **self.extra,
        }
        return json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}

    async def run(self, audio: Audio | str) -> AgentResponse:
        """Send the audio and map the JSON answer to tool calls."""
        body, headers = self.request_body(audio)
        data = await post_json(
            self.url, body, headers, self.timeout, self.name, method=self.method, max_bytes=self.max_bytes
        )
        if self.parser is not None:
            response = self.parser.parse(data)
            if not isinstance(response, AgentResponse):
                raise TypeError(f"{type(self.parser).__name__}.parse() returned {type(response).__name__}")
        else:
            response = self.mapping.read(data, self.name)
        return add_audio_usage(response, audio)

    def __repr__(self) -> str:
        return f"HttpAgent({redact_url(self.url)!r}, mode={self.mode!r})"
