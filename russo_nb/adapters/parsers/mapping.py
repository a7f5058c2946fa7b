"""JsonResponseParser: read tool calls from any JSON answer through dotted paths.

``JsonResponseParser(tool_calls_key="result.calls", name_key="fn", arguments_key="params")`` reads
``{"result": {"calls": [{"fn": ..., "params": {...}}]}}``; ``single=True`` for one call object instead of a
list; a list of answers (WebSocket messages) is searched in order. Arguments given as a JSON string are
decoded. Unlike russo, a *malformed* call (no name, arguments that are not JSON) is an error of the run,
not silently an empty call: a broken agent should not look like a quiet one.
"""

from __future__ import annotations

from typing import Any

from ...model.errors import AgentResponseError
from ...model.types import AgentResponse, ToolCall
from ._common import arguments_dict, get_path

__all__ = ["JsonMapping", "JsonResponseParser"]


class JsonResponseParser:
    """Configurable parser for endpoints that return tool calls in their own JSON structure.

    ``text_key`` (a dotted path) fills the response's text; ``required=True`` makes an answer without
    ``tool_calls_key`` an error instead of "no tool calls".
    """

    def __init__(
        self,
        *,
        tool_calls_key: str = "tool_calls",
        name_key: str = "name",
        arguments_key: str = "arguments",
        single: bool = False,
        text_key: str | None = None,
        required: bool = False,
    ) -> None:
        self.tool_calls_key = tool_calls_key
        self.name_key = name_key
        self.arguments_key = arguments_key
        self.single = single
        self.text_key = text_key
        self.required = required

    def parse(self, raw_response: Any) -> AgentResponse:
        """Parse a decoded JSON answer (or a list of them) into an AgentResponse."""
        return self.read(raw_response, "agent")

    def read(self, data: Any, who: str) -> AgentResponse:
        """:meth:`parse`, naming ``who`` in errors."""
        if isinstance(data, list) and not isinstance(get_path(data, self.tool_calls_key, None), list):
            for item in data:
                if get_path(item, self.tool_calls_key, None) is not None:
                    response = self._read_one(item, who)
                    response.raw = data
                    return response
            if self.required:
                self._raise_missing(data, who)
            return AgentResponse(tool_calls=[], raw=data)
        return self._read_one(data, who)

    def _read_one(self, data: Any, who: str) -> AgentResponse:
        found = get_path(data, self.tool_calls_key, None)
        if found is None and self.required:
            self._raise_missing(data, who)
        if self.single and found is not None:
            items = [found]
        else:
            items = [] if found is None else found if isinstance(found, list) else [found]
        calls = [self._call(item, who) for item in items]
        text = get_path(data, self.text_key, None) if self.text_key else None
        return AgentResponse(tool_calls=calls, text=None if text is None else str(text), raw=data)

    def _raise_missing(self, data: Any, who: str) -> None:
        keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise AgentResponseError(
            f"{who}: the answer has no {self.tool_calls_key!r} (it has: {keys:.200}); "
            "say where the calls are with JsonResponseParser(tool_calls_key=...)"
        )

    def _call(self, item: Any, who: str) -> ToolCall:
        name = get_path(item, self.name_key, None)
        if not isinstance(name, str) or not name:
            raise AgentResponseError(f"{who}: a tool call in the answer has no {self.name_key!r} string: {item!r:.200}")
        arguments = arguments_dict(get_path(item, self.arguments_key, None), name, who)
        return ToolCall(name=name, arguments=arguments)

    def __repr__(self) -> str:
        return (
            f"JsonResponseParser(tool_calls_key={self.tool_calls_key!r}, name_key={self.name_key!r}, "
            f"arguments_key={self.arguments_key!r}, single={self.single!r})"
        )


class JsonMapping(JsonResponseParser):
    """russo_nb's short spelling: ``JsonMapping(calls=, name=, arguments=, text=)``; missing ``calls`` is an error."""

    def __init__(
        self, calls: str = "tool_calls", name: str = "name", arguments: str = "arguments", text: str | None = "text"
    ) -> None:
        super().__init__(tool_calls_key=calls, name_key=name, arguments_key=arguments, text_key=text, required=True)

    def _raise_missing(self, data: Any, who: str) -> None:
        keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise AgentResponseError(
            f"{who}: the answer has no {self.tool_calls_key!r} (it has: {keys:.200}); "
            "set mapping=JsonMapping(calls=...)"
        )
