"""OpenAIResponseParser: tool calls of a Chat Completions answer (SDK object or dict)."""

from __future__ import annotations

from typing import Any

from ...model.errors import AgentResponseError
from ...model.types import AgentResponse, ToolCall
from ._common import arguments_dict, field, number, usage

__all__ = ["OpenAIResponseParser", "openai_usage"]


def openai_usage(raw: Any) -> dict[str, float] | None:
    """Token counts of a chat completion (``prompt_tokens`` / ``completion_tokens``) or a Realtime response."""
    counts = field(raw, "usage", None)
    if counts is None:
        return None

    def first(*names: str) -> float | None:
        return next(
            (value for value in (number(field(counts, name, None)) for name in names) if value is not None), None
        )

    return usage(
        input_tokens=first("prompt_tokens", "input_tokens"),
        output_tokens=first("completion_tokens", "output_tokens"),
        total_tokens=first("total_tokens"),
    )


def _tool_call(tool_call: Any, who: str) -> ToolCall:
    """One ``tool_calls`` entry as a ToolCall; a malformed one is the run's error, never silently dropped."""
    function = field(tool_call, "function", None)
    if function is None:
        raise AgentResponseError(f"{who}: a tool call has no 'function': {tool_call!r:.200}")
    name = field(function, "name", None)
    if not isinstance(name, str) or not name.strip():
        raise AgentResponseError(f"{who}: a tool call's function has no name (got {name!r:.80}): {tool_call!r:.200}")
    return ToolCall(name=name, arguments=arguments_dict(field(function, "arguments", None), name, who))


class OpenAIResponseParser:
    """Reads ``choices[*].message.tool_calls[*].function`` (``arguments`` is a JSON string) and the text.

    Arguments that are not valid JSON, ``tool_calls`` that is not a list, an entry without ``function``
    or a function without a name make the run an error (russo silently used ``{}`` or dropped the call,
    so the run "failed" as if the agent had chosen no tool).
    """

    def parse(self, raw_response: Any, who: str = "OpenAI") -> AgentResponse:
        """Parse a chat completion into an AgentResponse with ``text`` and ``usage`` when present."""
        calls: list[ToolCall] = []
        text: str | None = None
        for choice in field(raw_response, "choices", None) or []:
            message = field(choice, "message", None)
            if message is None:
                continue
            content = field(message, "content", None)
            if isinstance(content, str) and text is None:
                text = content
            tool_calls = field(message, "tool_calls", None)
            if tool_calls is None:
                continue
            if isinstance(tool_calls, (str, bytes, dict)) or not hasattr(tool_calls, "__iter__"):
                raise AgentResponseError(f"{who}: tool_calls is not a list: {tool_calls!r:.200}")
            for tool_call in tool_calls:
                calls.append(_tool_call(tool_call, who))
        return AgentResponse(tool_calls=calls, text=text, raw=raw_response, usage=openai_usage(raw_response))
