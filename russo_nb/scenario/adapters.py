"""Agents in a scenario: the agent under test, the user simulator and the judge.

Each is an :class:`AgentAdapter` whose async ``call(input)`` gets an
:class:`AgentInput` and returns a string, an OpenAI message, a list of messages or a
:class:`ScenarioResult`. Plain functions and russo text agents (``run(text)``) are
wrapped so they can sit in ``agents=[...]`` directly.
"""

from __future__ import annotations

import enum
import inspect
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..model.errors import ProtocolError
from ..model.protocols import coerce_response, describe
from ..model.types import AgentResponse, ToolCall
from .result import ScenarioResult
from .state import ScenarioState, last_user_message_in, message_text

__all__ = [
    "AgentAdapter",
    "AgentInput",
    "AgentReturnTypes",
    "AgentRole",
    "FunctionAgentAdapter",
    "JudgmentRequest",
    "TextAgentAdapter",
    "agent_label",
    "as_adapter",
    "message_from_object",
    "response_to_message",
]

AgentReturnTypes = str | dict[str, Any] | list[dict[str, Any]] | ScenarioResult | AgentResponse | None
"""What ``AgentAdapter.call`` may return."""


class AgentRole(str, enum.Enum):
    """Which part an agent plays in a scenario."""

    AGENT = "agent"
    USER = "user"
    JUDGE = "judge"


@dataclass
class JudgmentRequest:
    """A request for a verdict now (LangWatch Scenario's name): ``criteria`` set for a checkpoint's own."""

    criteria: list[Any] | None = None
    additional_context: str | None = None


@dataclass
class AgentInput:
    """What an agent gets on each call.

    ``messages`` is the whole conversation, ``new_messages`` what the others said (and
    scripted steps added) since this agent last spoke, its own replies left out;
    ``judgment_request`` is a :class:`JudgmentRequest` (truthy) when a judge must give a
    verdict now and None otherwise, and ``criteria`` holds a checkpoint's inline criteria
    (also ``judgment_request.criteria``).
    """

    thread_id: str
    messages: list[dict[str, Any]]
    new_messages: list[dict[str, Any]]
    scenario_state: ScenarioState
    judgment_request: JudgmentRequest | None = None
    criteria: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def last_new_user_message(self) -> dict[str, Any]:
        """The newest user message among ``new_messages``; raises when there is none."""
        missing = ProtocolError("no new user message for this agent call; the script called agent() twice in a row?")
        return last_user_message_in(self.new_messages, missing)

    def last_new_user_message_str(self) -> str:
        """The text of :meth:`last_new_user_message`."""
        return message_text(self.last_new_user_message())


class AgentAdapter:
    """Base class for scenario agents; subclass and implement ``async call(input)``.

    Set the class attribute ``role`` to ``AgentRole.USER`` or ``AgentRole.JUDGE`` for
    a custom simulator or judge; the default is the agent under test.
    """

    role: ClassVar[AgentRole] = AgentRole.AGENT
    wraps: ClassVar[bool] = False
    """True for adapters around another agent (a function, a russo agent): errors name the agent inside."""

    async def call(self, input: AgentInput) -> AgentReturnTypes:
        raise NotImplementedError


class FunctionAgentAdapter(AgentAdapter):
    """An agent under test made from a function ``(AgentInput) -> reply`` (sync or async)."""

    wraps: ClassVar[bool] = True

    def __init__(self, func: Callable[[AgentInput], Any], name: str | None = None) -> None:
        self.func = func
        self.name = name or getattr(func, "__name__", "agent")

    async def call(self, input: AgentInput) -> AgentReturnTypes:
        value = self.func(input)
        if inspect.isawaitable(value):
            value = await value
        return value


class TextAgentAdapter(AgentAdapter):
    """A russo text agent (``async run(text) -> AgentResponse``) as the agent under test.

    It hears the newest user message as text; its tool calls become assistant
    ``tool_calls`` messages.
    """

    wraps: ClassVar[bool] = True

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.name = describe(agent)

    async def call(self, input: AgentInput) -> AgentReturnTypes:
        return coerce_response(await self.agent.run(input.last_new_user_message_str()))


_call_ids = itertools.count(1)


def tool_call_message(call: ToolCall, call_id: str | None = None) -> dict[str, Any]:
    """One OpenAI ``tool_calls`` entry for a russo ToolCall (arguments as a JSON string)."""
    return {
        "id": call_id or f"call_{next(_call_ids)}",
        "type": "function",
        "function": {"name": call.name, "arguments": json.dumps(call.arguments, default=str)},
    }


def response_to_message(response: AgentResponse) -> dict[str, Any]:
    """A russo AgentResponse as one assistant message with OpenAI ``tool_calls``."""
    message: dict[str, Any] = {"role": "assistant", "content": response.text}
    if response.tool_calls:
        message["tool_calls"] = [tool_call_message(call) for call in response.tool_calls]
    return message


def message_from_object(value: Any) -> dict[str, Any] | None:
    """An OpenAI message dict from litellm's or OpenAI's message object (``response.choices[0].message``).

    Both are pydantic models: their ``model_dump()`` is the wire message. Fields that are
    None are dropped (``tool_calls: None`` would read as a malformed call), and so are
    provider extras that are not part of a chat message. None when ``value`` is no such object.
    """
    dump = getattr(value, "model_dump", None)
    if not callable(dump) or isinstance(value, ScenarioResult):
        return None
    try:
        data = dump(exclude_none=True)
    except TypeError:
        data = dump()
    if not isinstance(data, dict) or ("role" not in data and "content" not in data and "tool_calls" not in data):
        return None
    keep = ("role", "content", "tool_calls", "tool_call_id", "name", "refusal", "audio", "function_call")
    message = {key: data[key] for key in keep if data.get(key) is not None}
    if message.get("tool_calls") == []:
        del message["tool_calls"]
    return message


def agent_label(adapter: Any) -> str:
    """How errors name an agent: its class, or for a wrapper the name of the agent inside it."""
    if getattr(adapter, "wraps", False):
        return describe(adapter)
    return type(adapter).__name__


def role_of(agent: Any) -> AgentRole:
    """The role an agent plays (its ``role`` attribute; the agent under test by default)."""
    role = getattr(agent, "role", AgentRole.AGENT)
    try:
        return AgentRole(role)
    except ValueError:
        return AgentRole.AGENT


def as_adapter(obj: Any) -> Any:
    """Accept an AgentAdapter, an object with ``call``, a russo agent (``run``) or a function."""
    if obj is None:
        raise ProtocolError("agents=[...] holds None; pass the agent under test, a UserSimulatorAgent and a JudgeAgent")
    if callable(getattr(obj, "call", None)):
        return obj
    if callable(getattr(obj, "run", None)) and not inspect.isfunction(obj):
        return TextAgentAdapter(obj)
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return FunctionAgentAdapter(obj)
    raise ProtocolError(
        f"scenario agent {describe(obj)} has neither call(input) nor run(text); subclass "
        "russo_nb.scenario.AgentAdapter with `async def call(self, input) -> str | dict | list`"
    )
