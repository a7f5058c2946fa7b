"""HttpAgent: test any agent that listens on HTTP, by POSTing it the audio.

The audio goes as a WAV body (``mode="wav"``) or base64 inside JSON
(``mode="base64_json"``); text-mode prompts go as ``{"text": ...}``. A
:class:`JsonMapping` of dotted paths says where the answer keeps its tool calls.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InvalidArgumentError
from ..types import AgentResponse, Audio, ToolCall
from ._http import AgentResponseError, post

__all__ = ["HttpAgent", "JsonMapping", "get_path"]

_MISSING = object()


def get_path(data: Any, path: str, default: Any = _MISSING) -> Any:
    """Follow a dotted path (``choices.0.message``) through dicts and lists."""
    current = data
    for part in path.split(".") if path else []:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            if default is _MISSING:
                raise KeyError(path)
            return default
    return current


@dataclass(frozen=True)
class JsonMapping:
    """Where the answer keeps things: ``calls`` (list, or one call), and per call ``name``/``arguments``.

    The default reads ``{"tool_calls": [{"name": ..., "arguments": {...}}], "text": ...}``;
    arguments given as a JSON string are decoded. Example for an OpenAI-shaped answer:
    ``JsonMapping(calls="choices.0.message.tool_calls", name="function.name", arguments="function.arguments")``.
    """

    calls: str = "tool_calls"
    name: str = "name"
    arguments: str = "arguments"
    text: str | None = "text"

    def read(self, data: Any, who: str) -> AgentResponse:
        """Map a decoded JSON answer to an AgentResponse; a missing path raises AgentResponseError."""
        try:
            found = get_path(data, self.calls)
        except KeyError:
            keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise AgentResponseError(
                f"{who}: the answer has no {self.calls!r} (it has: {keys}); set mapping=JsonMapping(calls=...)"
            ) from None
        items = [] if found is None else found if isinstance(found, list) else [found]
        calls = [self._call(item, who) for item in items]
        text = get_path(data, self.text, None) if self.text else None
        return AgentResponse(tool_calls=calls, text=None if text is None else str(text), raw=data)

    def _call(self, item: Any, who: str) -> ToolCall:
        name = get_path(item, self.name, None)
        if not isinstance(name, str) or not name:
            raise AgentResponseError(f"{who}: a tool call in the answer has no {self.name!r} string: {item!r:.200}")
        arguments = get_path(item, self.arguments, {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                raise AgentResponseError(
                    f"{who}: the arguments of {name!r} are not valid JSON: {arguments[:120]!r}"
                ) from None
        if not isinstance(arguments, dict):
            raise AgentResponseError(f"{who}: the arguments of {name!r} are not an object: {arguments!r:.120}")
        return ToolCall(name=name, arguments=arguments)


class HttpAgent:
    """An agent behind an HTTP endpoint. ``await HttpAgent(url).run(audio)``."""

    def __init__(
        self,
        url: str,
        mode: Literal["wav", "base64_json"] = "wav",
        mapping: JsonMapping | dict[str, Any] | None = None,
        timeout: float = 30.0,
        headers: dict[str, str] | None = None,
        *,
        audio_field: str = "audio",
        extra: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidArgumentError(f"url must start with http:// or https://, got {url!r}")
        if mode not in ("wav", "base64_json"):
            raise InvalidArgumentError(f"mode must be 'wav' or 'base64_json', got {mode!r}")
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidArgumentError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        if isinstance(mapping, dict):
            try:
                mapping = JsonMapping(**mapping)
            except TypeError as exc:
                raise InvalidArgumentError(
                    f"bad mapping {mapping!r}: {exc}; keys: calls, name, arguments, text"
                ) from None
        self.url = url
        self.mode = mode
        self.mapping = mapping or JsonMapping()
        self.timeout = float(timeout)
        self.headers = dict(headers or {})
        self.audio_field = audio_field
        self.extra = dict(extra or {})
        self.name = name or f"HttpAgent({url})"

    def request_body(self, audio: Audio | str) -> tuple[bytes, dict[str, str]]:
        """The body and headers POSTed for ``audio`` (or text)."""
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
            "format": "wav",
            "sample_rate": audio.sample_rate,
            **self.extra,
        }
        return json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}

    async def run(self, audio: Audio | str) -> AgentResponse:
        """POST the audio and map the JSON answer to tool calls."""
        body, headers = self.request_body(audio)
        data = await post(self.url, body, headers, self.timeout, self.name)
        return self.mapping.read(data, self.name)

    def __repr__(self) -> str:
        return f"HttpAgent({self.url!r}, mode={self.mode!r})"
