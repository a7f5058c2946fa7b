"""OpenAIChatAgent: an agent behind any OpenAI-compatible ``/chat/completions`` endpoint.

The prompt goes as a user message (text, or the audio as an ``input_audio`` part),
with the tool definitions; the answer's ``tool_calls`` (arguments are a JSON
string) become the run's tool calls. Works with OpenAI, vLLM, llama.cpp, Ollama...
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Literal

from ..model.errors import AgentResponseError, ConfigurationError, InvalidArgumentError
from ..model.types import AgentResponse, Audio
from ._common import add_audio_usage, check_seconds, check_url, wrong_prompt
from .http_client import DEFAULT_MAX_BYTES, post_json, redact_url
from .parsers._common import get_path
from .parsers.openai import OpenAIResponseParser

__all__ = ["OpenAIChatAgent", "tools_from_intents"]

_PARSER = OpenAIResponseParser()


def _tool_definition(tool: Any) -> dict[str, Any]:
    if isinstance(tool, dict) and tool.get("type") == "function" and "function" in tool:
        return tool
    if isinstance(tool, dict) and "name" in tool:
        function = {"name": tool["name"], "parameters": tool.get("parameters", {"type": "object", "properties": {}})}
        if tool.get("description"):
            function["description"] = tool["description"]
        return {"type": "function", "function": function}
    raise InvalidArgumentError(
        f"tool {tool!r:.120} is not a tool definition; give {{'name':..., 'description':..., 'parameters':{{...}}}} "
        "or the OpenAI form {'type': 'function', 'function': {...}}"
    )


def tools_from_intents(intents: Any) -> list[dict[str, Any]]:
    """OpenAI tool definitions from an :class:`~russo_nb.adapters.intents.IntentSet` (slots become enums)."""
    tools = []
    for intent in intents.intents:
        properties = {
            slot: {"type": "string", "enum": [str(value) for value in intents.slot_types[type_name]]}
            for slot, type_name in intent.slots.items()
        }
        parameters = {"type": "object", "properties": properties}
        tools.append(
            _tool_definition({"name": intent.tool, "description": intent.description, "parameters": parameters})
        )
    return tools


class OpenAIChatAgent:
    """Chat-completions with tools. ``input="text"`` needs text-mode runs (or gets the transcript-free
    prompt); ``input="audio"`` sends the synthesized clip as ``input_audio`` (audio-capable models)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = "OPENAI_API_KEY",
        tools: list[Any] | None = None,
        input: Literal["text", "audio"] = "text",
        *,
        system_prompt: str | None = None,
        timeout: float = 60.0,
        temperature: float | None = None,
        headers: dict[str, str] | None = None,
        name: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        check_url(base_url, "base_url", ("http://", "https://"))
        if input not in ("text", "audio"):
            raise InvalidArgumentError(f"input must be 'text' or 'audio', got {input!r}")
        if api_key_env is not None and not os.environ.get(api_key_env):
            raise ConfigurationError(
                f"environment variable {api_key_env} is not set; set it to your API key, or pass "
                "api_key_env=None for a server that needs no key"
            )
        if tools is not None and hasattr(tools, "intents"):
            tools = tools_from_intents(tools)
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.tools = [_tool_definition(tool) for tool in tools or []]
        self.input = input
        self.system_prompt = system_prompt
        self.timeout = check_seconds(timeout, "timeout")
        self.temperature = temperature
        self.headers = dict(headers or {})
        self.max_bytes = max_bytes
        self.name = name or f"OpenAIChatAgent({model})"

    def request_payload(self, prompt: Audio | str) -> dict[str, Any]:
        """The JSON body sent for one prompt."""
        if isinstance(prompt, str):
            content: Any = prompt
        elif isinstance(prompt, Audio):
            if self.input != "audio":
                raise InvalidArgumentError(
                    f"{self.name} takes text (input='text'); run it in text mode (synthesizer=None) "
                    "or create it with input='audio' for an audio-capable model"
                )
            encoded = base64.b64encode(prompt.to_wav_bytes()).decode("ascii")
            content = [{"type": "input_audio", "input_audio": {"data": encoded, "format": "wav"}}]
        else:
            raise wrong_prompt(self.name, prompt)
        messages = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": content})
        payload: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.tools:
            payload["tools"] = self.tools
        if self.temperature is not None:
            payload["temperature"] = self.temperature
        return payload

    async def run(self, prompt: Audio | str) -> AgentResponse:
        """Send the prompt with the tools; return the tool calls the model made."""
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self.headers}
        if self.api_key_env is not None:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise ConfigurationError(f"environment variable {self.api_key_env} is not set")
            headers["Authorization"] = f"Bearer {key}"
        body = json.dumps(self.request_payload(prompt)).encode()
        data = await post_json(self.url, body, headers, self.timeout, self.name, max_bytes=self.max_bytes)
        if not isinstance(get_path(data, "choices.0.message", None), dict):
            raise AgentResponseError(
                f"{self.name}: the answer from {redact_url(self.url)} has no choices[0].message: {data!r:.200}"
            )
        return add_audio_usage(_PARSER.parse(data, self.name), prompt)

    def __repr__(self) -> str:
        return f"OpenAIChatAgent({redact_url(self.url)!r}, model={self.model!r}, input={self.input!r})"
