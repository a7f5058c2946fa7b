"""The state of one scenario run: the conversation so far, the turn, and what the run carries.

Messages are OpenAI chat messages (dicts with ``role``, ``content``, and for the
assistant ``tool_calls`` whose ``arguments`` are JSON strings), so any chat agent's
output fits unchanged. Steps, criteria and callbacks all receive this object.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..model.errors import InvalidArgumentError
from ..model.types import Audio
from .calls import ToolCalls, collect_tool_calls

if TYPE_CHECKING:
    from .executor import ScenarioExecutor

__all__ = ["ScenarioState", "last_user_message_in", "message_text", "transcript"]


def message_text(message: dict[str, Any] | None) -> str:
    """The text of a message: its string content, or the text parts of a multimodal one."""
    if not message:
        return ""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict) and "text" in part)
    return str(content)


def last_user_message_in(messages: list[dict[str, Any]], missing: Exception) -> dict[str, Any]:
    """The newest message of ``messages`` whose role is ``user``; raises ``missing`` when there is none."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message
    raise missing


def transcript(messages: list[dict[str, Any]]) -> str:
    """The conversation as plain text: one ``role: text`` line per message, tool calls under theirs.

    An empty conversation gives an empty string.
    """
    lines = []
    for message in messages:
        role = message.get("role", "?")
        line = f"{role}: {message_text(message)}".rstrip()
        if role == "assistant":
            for call in collect_tool_calls([message]):
                line += f"\n  [tool call] {call.name}({json.dumps(call.arguments, default=str)})"
        lines.append(line)
    return "\n".join(lines)


class ScenarioState:
    """The conversation and bookkeeping of one run, shared by every step of its script.

    Attributes:
        description: the scenario's problem statement.
        messages: the conversation in OpenAI chat format.
        thread_id: an id unique to this run.
        current_turn: the 0-based index of the turn in progress, shared by the user, the agent and
            the judge of that turn (a turn is user → agent → judge; a role speaking again starts the next).
        seed: the run's seed (simulated users draw their lines with it).
        variables: values drawn for this run (template variables), visible to checks.
        env: whatever the scenario's ``setup`` hook returned (the agent's environment).
        audio: clips heard in a voice scenario, keyed by the ``audio_key`` on their message.
    """

    def __init__(
        self,
        description: str = "",
        messages: list[dict[str, Any]] | None = None,
        thread_id: str = "",
        *,
        name: str = "",
        seed: int | None = None,
        max_turns: int = 10,
        run_index: int = 0,
    ) -> None:
        self.name = name
        self.description = description
        self.messages: list[dict[str, Any]] = list(messages or [])
        self.thread_id = thread_id
        self.current_turn = 0
        self.seed = seed
        self.max_turns = max_turns
        self.run_index = run_index
        self.variables: dict[str, Any] = {}
        self.env: Any = None
        self.audio: dict[str, Audio] = {}
        self.agent_data: dict[int, Any] = {}
        self._executor: ScenarioExecutor | None = None
        self._turn_of: dict[int, int] = {}  # id(message) -> the turn it was added in

    # -- building the conversation -----------------------------------------------------
    def add_message(self, message: dict[str, Any]) -> None:
        """Append one OpenAI-format message (must have a ``role``)."""
        if not isinstance(message, dict) or "role" not in message:
            raise InvalidArgumentError(
                f"a message must be a dict with a 'role' (user / assistant / tool / system), got {message!r}"
            )
        self.messages.append(message)
        self._turn_of[id(message)] = self.current_turn

    # -- reading it ----------------------------------------------------------------------
    def last_message(self) -> dict[str, Any]:
        """The most recent message; raises when the conversation is still empty."""
        if not self.messages:
            raise InvalidArgumentError("the conversation has no messages yet; add a user() step first")
        return self.messages[-1]

    def last_user_message(self) -> dict[str, Any]:
        """The most recent user message; raises when the user has not spoken yet."""
        missing = InvalidArgumentError("the user has not said anything yet; add a user() step first")
        return last_user_message_in(self.messages, missing)

    def first_user_message(self) -> str:
        """The text of the first user message, or an empty string."""
        for message in self.messages:
            if message.get("role") == "user":
                return message_text(message)
        return ""

    def last_agent_message(self) -> str:
        """The text of the agent's most recent message, or an empty string."""
        for message in reversed(self.messages):
            if message.get("role") == "assistant":
                return message_text(message)
        return ""

    def transcript(self) -> str:
        """The conversation so far as plain text (see :func:`transcript`); empty when nothing was said."""
        return transcript(self.messages)

    @property
    def criteria(self) -> list[str]:
        """The judge's criteria, in order, as the names verdicts use (empty without a judge)."""
        judge = self._executor.judge_agent if self._executor is not None else None
        names = getattr(judge, "criterion_names", None)
        if callable(names):
            return list(names())
        return [str(criterion) for criterion in getattr(judge, "criteria", None) or []]  # a judge of your own

    def message_turns(self) -> list[int]:
        """The turn each message was added in; a message added behind the state's back joins the one before."""
        turns: list[int] = []
        for message in self.messages:
            turns.append(self._turn_of.get(id(message), turns[-1] if turns else 0))
        return turns

    @property
    def turns_taken(self) -> int:
        """How many turns had a message added in them."""
        return len(set(self.message_turns()))

    def last_tool_call(self, tool_name: str) -> dict[str, Any] | None:
        """The most recent OpenAI-format tool call to ``tool_name`` (``{"id", "function": ...}``), or None."""
        for message in reversed(self.messages):
            if message.get("role") != "assistant":
                continue
            for call in reversed(message.get("tool_calls") or []):
                if (call.get("function") or {}).get("name") == tool_name:
                    return call
        return None

    def has_tool_call(self, tool_name: str) -> bool:
        """True when the agent called ``tool_name`` at any point so far."""
        return self.last_tool_call(tool_name) is not None

    def tool_calls(self, tool_name: str | None = None) -> ToolCalls:
        """The agent's tool calls so far (all, or only ``tool_name``'s), in order.

        A list of russo ToolCalls with ``.first`` / ``.last`` (an empty, falsy call when
        there was none), ``.inputs`` (the arguments) and ``.outputs`` (the tool results)::

            assert state.tool_calls("book_flight").last.input == {"to_city": "LA"}
        """
        return collect_tool_calls(self.messages, tool_name, self.message_turns())

    def tool_call_arguments(self, tool_name: str) -> dict[str, Any] | None:
        """The decoded arguments of the last call to ``tool_name``, or None if it was never called."""
        call = self.last_tool_call(tool_name)
        if call is None:
            return None
        raw = (call.get("function") or {}).get("arguments") or "{}"
        return json.loads(raw) if isinstance(raw, str) else dict(raw)

    def texts(self, role: str | None = "assistant") -> list[str]:
        """The text of every message from ``role`` (all roles when None)."""
        return [message_text(m) for m in self.messages if role is None or m.get("role") == role]

    def __repr__(self) -> str:
        return (
            f"ScenarioState({self.name or self.description[:40]!r}, turn={self.current_turn}, "
            f"messages={len(self.messages)})"
        )
