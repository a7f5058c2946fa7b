"""GeminiResponseParser: function calls of a ``generate_content`` answer (SDK object or dict)."""

from __future__ import annotations

from typing import Any

from ...model.types import AgentResponse, ToolCall
from ._common import arguments_dict, field, usage

__all__ = ["GeminiResponseParser", "gemini_usage"]


def gemini_usage(raw: Any) -> dict[str, float] | None:
    """Token counts from ``usage_metadata`` (prompt / candidates / total token counts)."""
    meta = field(raw, "usage_metadata", None)
    if meta is None:
        return None
    output = field(meta, "candidates_token_count", None)
    if output is None:
        output = field(meta, "response_token_count", None)  # the Live API's name
    return usage(
        input_tokens=field(meta, "prompt_token_count", None),
        output_tokens=output,
        total_tokens=field(meta, "total_token_count", None),
    )


class GeminiResponseParser:
    """Reads ``candidates[*].content.parts[*].function_call`` (name, args) and the text parts."""

    def parse(self, raw_response: Any, who: str = "Gemini") -> AgentResponse:
        """Parse a Gemini response into an AgentResponse with ``text`` and ``usage`` when present."""
        calls: list[ToolCall] = []
        texts: list[str] = []
        for candidate in field(raw_response, "candidates", None) or []:
            content = field(candidate, "content", None)
            if content is None:
                continue
            for part in field(content, "parts", None) or []:
                call = field(part, "function_call", None)
                if call is not None:
                    name = field(call, "name", "")
                    if isinstance(name, str) and name:
                        calls.append(
                            ToolCall(name=name, arguments=arguments_dict(field(call, "args", None), name, who))
                        )
                    continue
                text = field(part, "text", None)
                if isinstance(text, str):
                    texts.append(text)
        return AgentResponse(
            tool_calls=calls, text="".join(texts) or None, raw=raw_response, usage=gemini_usage(raw_response)
        )
