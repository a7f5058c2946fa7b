"""The tool calls of a conversation as one collection: ``state.tool_calls("book_flight").last.input``.

Each call is a russo :class:`~russo_nb.model.types.ToolCall` (so evaluators and equality
work unchanged) that also carries what the tool answered (the ``tool`` message
with the same call id) and the 0-based turn it was made in. :class:`ToolCalls` is
a list with the picks ``first`` / ``last`` and the columns ``inputs`` / ``outputs``,
as in the scenario library: ``first`` and ``last`` of a tool that was never called
give an empty call that is falsy and whose input and output are None.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import Field

from ..model.types import ToolCall

__all__ = ["ScenarioToolCall", "ToolCalls", "collect_tool_calls", "parse_arguments"]


def parse_arguments(raw: Any) -> dict[str, Any]:
    """OpenAI ``function.arguments`` (a JSON string, or already a dict) as a dict.

    Text that is not JSON is kept under ``_raw`` and a JSON value that is not an
    object under ``_value``, so nothing the agent sent is lost.
    """
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            value = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return {"_raw": raw}
    else:
        value = raw
    if isinstance(value, dict):
        return dict(value)
    return {"_value": value}


class ScenarioToolCall(ToolCall):
    """A tool call the agent made in a scenario: name, arguments, the tool's answer and the turn.

    ``input`` is the arguments (the scenario library's name for them); ``output`` is
    the content of the matching ``tool`` message, or None when no result was added.
    """

    output: Any = None
    turn: int | None = None
    call_id: str | None = None
    made: bool = Field(default=True, exclude=True, repr=False)

    @property
    def input(self) -> dict[str, Any] | None:
        """The call's arguments (None for the empty call of a tool that was never called)."""
        return self.arguments if self.made else None

    def __bool__(self) -> bool:
        return self.made


class ToolCalls(list):  # type: ignore[type-arg]
    """Tool calls in the order they were made: a list, plus ``first``, ``last``, ``inputs``, ``outputs``."""

    def __init__(self, calls: Iterable[ScenarioToolCall] = (), name: str | None = None) -> None:
        super().__init__(calls)
        self.name = name

    def _empty(self) -> ScenarioToolCall:
        return ScenarioToolCall(name=self.name or "", made=False)

    @property
    def first(self) -> ScenarioToolCall:
        """The first call; an empty, falsy call when there was none."""
        return self[0] if self else self._empty()

    @property
    def last(self) -> ScenarioToolCall:
        """The last call; an empty, falsy call when there was none."""
        return self[-1] if self else self._empty()

    @property
    def inputs(self) -> list[dict[str, Any] | None]:
        """The arguments of every call, in order."""
        return [call.input for call in self]

    @property
    def outputs(self) -> list[Any]:
        """What the tool answered to every call (None where no result was added), in order."""
        return [call.output for call in self]

    def __repr__(self) -> str:
        return f"ToolCalls([{', '.join(str(call) for call in self)}])"


def collect_tool_calls(
    messages: Sequence[dict[str, Any]], name: str | None = None, turns: Sequence[int] | None = None
) -> ToolCalls:
    """Every assistant tool call in ``messages`` (only ``name``'s when given), joined to its result.

    ``turns`` gives the turn of each message (same length as ``messages``) when known.
    """
    outputs: dict[str, Any] = {}
    for message in messages:
        if message.get("role") == "tool" and message.get("tool_call_id") is not None:
            outputs[str(message["tool_call_id"])] = message.get("content")
    calls = ToolCalls(name=name)
    for index, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):  # a malformed call is counted, never fatal
                function = {}
            call_name = str(function.get("name", ""))
            if name is not None and call_name != name:
                continue
            call_id = call.get("id") if isinstance(call, dict) else None
            calls.append(
                ScenarioToolCall(
                    name=call_name,
                    arguments=parse_arguments(function.get("arguments")),
                    output=outputs.get(str(call_id)) if call_id is not None else None,
                    turn=turns[index] if turns is not None and index < len(turns) else None,
                    call_id=call_id,
                )
            )
    return calls
