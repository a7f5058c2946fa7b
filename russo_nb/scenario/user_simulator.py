"""The simulated user: plays the user's side of the conversation.

Offline (no model) it plays lines derived from the scenario: the ``lines`` given, in
order, each either a string or a list of variants, with ``{placeholders}`` filled
from ``variables`` (a value or a list of choices, drawn once per run). Every draw
uses the run's seed, so a run can be replayed exactly. With no lines it opens with
the scenario's description and then answers with ``followups``.

With a model — ``model=``, or one configured (``scenario.configure(default_model=...)``,
``RUSSO_LLM_MODEL``) for a simulator given no lines — it asks an OpenAI-compatible model
to play the user, as LangWatch Scenario does: the conversation is sent with the roles
reversed (the agent's messages as ``user``, the user's as ``assistant``, tool traffic
summarized as text) under a system prompt holding the scenario's description, and the
model's reply is the user's next message, in the first person. ``model=False`` keeps a
simulator offline even when a model is configured.
"""

from __future__ import annotations

import random
import string
from typing import Any, ClassVar

from ..model.errors import InvalidArgumentError
from .adapters import AgentAdapter, AgentInput, AgentRole
from .calls import collect_tool_calls
from .llm import ModelConnection, chat, require_model
from .state import ScenarioState, message_text

__all__ = ["DEFAULT_FOLLOWUPS", "UserSimulatorAgent"]

DEFAULT_FOLLOWUPS = [
    "Yes, that's right.",
    "Yes, please go ahead.",
    "That works for me.",
    "Okay, thanks.",
]

USER_SYSTEM_PROMPT = """You are playing a user talking to an AI agent, to test the agent.
Your situation and goal: {description}
You are the user, speaking in the first person: write only your next message to the agent, short and natural,
in lowercase like a person typing quickly. Never act as the assistant, never answer your own questions, and do
not say you are testing anything."""

OPENING = "Hello, how can I help you today?"
"""What the simulator hears first when the conversation is still empty (upstream's opening)."""


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


class UserSimulatorAgent(ModelConnection, AgentAdapter):
    """Plays the user, from scripted/templated lines (offline) or with a language model.

    Args:
        lines: what the user says, turn by turn; an item may be a list of variants.
        variables: values for ``{placeholders}`` in lines; a list is a set of choices.
        followups: what the user says once the lines run out (drawn with the seed).
        model: a model name, True for the configured one, False to stay offline; None uses the configured
            model when there is one and no lines were given.
        api_base, api_key, temperature, max_tokens: the model connection, LangWatch Scenario's names
            (``base_url`` / ``api_key_env`` are russo_nb's).
    """

    role: ClassVar[AgentRole] = AgentRole.USER

    def __init__(
        self,
        lines: list[str | list[str]] | None = None,
        *,
        variables: dict[str, Any] | None = None,
        followups: list[str] | None = None,
        model: str | bool | None = None,
        base_url: str | None = None,
        api_key_env: str | None = None,
        system_prompt: str | None = None,
        name: str = "user",
        api_base: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.lines = list(lines or [])
        for item in self.lines:
            if not isinstance(item, (str, list)) or (isinstance(item, list) and not item):
                raise InvalidArgumentError(
                    f"each user line must be a string or a non-empty list of variants, got {item!r}"
                )
        self.variables = dict(variables or {})
        self.followups = list(followups) if followups is not None else list(DEFAULT_FOLLOWUPS)
        self._connect(model, base_url, api_base, api_key_env, api_key, temperature, max_tokens)
        self.system_prompt = system_prompt or USER_SYSTEM_PROMPT
        self.name = name

    @property
    def uses_model(self) -> bool:
        """True when this simulator asks a model for its lines (asked for, or configured and no lines given)."""
        if self.lines or self.model is False:
            return False
        return bool(self.model) or self.llm_config().model is not None

    def check_ready(self) -> None:
        """Raise now if a model was asked for and none is configured, or a line names an unknown variable."""
        if self.uses_model:
            require_model(self.llm_config(), "UserSimulatorAgent", "it plays the user with a model")
        for item in self.lines:
            for text in item if isinstance(item, list) else [item]:
                try:
                    fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
                except ValueError as exc:
                    raise InvalidArgumentError(
                        f"user line {text!r} is not a valid template ({exc}); double literal braces {{{{ }}}}"
                    ) from None
                for name in fields:
                    if name not in self.variables:
                        raise InvalidArgumentError(
                            f"user line {text!r} uses {{{name}}} but UserSimulatorAgent has no variable {name!r}; "
                            f"pass variables={{'{name}': [...]}}"
                        )

    # -- offline lines -----------------------------------------------------------------
    def draw_variables(self, state: ScenarioState) -> dict[str, Any]:
        """Draw this run's variable values (once per run, with the run's seed) into ``state.variables``."""
        rng = random.Random(f"{state.seed or 0}/variables")
        for key, value in self.variables.items():
            if key not in state.variables:
                state.variables[key] = rng.choice(value) if isinstance(value, (list, tuple)) and value else value
        return state.variables

    def line_for(self, state: ScenarioState, turn: int) -> str:
        """The user's line for its ``turn``-th message of this run (0-based)."""
        rng = random.Random(f"{state.seed or 0}/line/{turn}")
        if turn < len(self.lines):
            item = self.lines[turn]
        elif not self.lines and turn == 0 and state.description:
            item = state.description
        elif self.followups:
            item = self.followups
        else:
            item = "Okay."
        text = rng.choice(item) if isinstance(item, list) else item
        values = self.draw_variables(state)
        try:
            return text.format_map(_Blank(values))
        except KeyError as exc:
            raise InvalidArgumentError(
                f"user line {text!r} uses {{{exc.args[0]}}} but UserSimulatorAgent has no variable "
                f"{exc.args[0]!r}; pass variables={{'{exc.args[0]}': [...]}}"
            ) from None
        except (ValueError, IndexError) as exc:
            raise InvalidArgumentError(
                f"user line {text!r} is not a valid template ({exc}); double literal braces"
            ) from None

    async def call(self, input: AgentInput) -> dict[str, Any]:
        state = input.scenario_state
        turn = state.agent_data.get(id(self), 0)
        state.agent_data[id(self)] = turn + 1
        if self.uses_model:
            config = require_model(self.llm_config(), "UserSimulatorAgent", "it plays the user with a model")
            messages = [
                {"role": "system", "content": self.system_prompt.format(description=state.description)},
                *reverse_roles(state.messages),
            ]
            text = (await chat(config, messages)).strip()
        else:
            text = self.line_for(state, turn)
        return {"role": "user", "content": text}

    def __repr__(self) -> str:
        mode = f"model={self.model!r}" if self.uses_model else f"{len(self.lines)} lines"
        return f"UserSimulatorAgent({mode})"


def reverse_roles(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as the simulated user's model sees it: its lines as ``assistant``, the agent's as ``user``.

    Tool calls and tool results become plain text in the agent's turn (a chat model
    cannot take another party's tool traffic as its own); an empty conversation gets
    the agent's usual opening line, so the model has something to answer.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "user":
            out.append({"role": "assistant", "content": message_text(message)})
        elif role == "assistant":
            text = message_text(message)
            calls = collect_tool_calls([message])
            if calls:
                text = "\n".join([text, *(f"[called {call.name}({call.arguments})]" for call in calls)]).strip()
            if text:
                out.append({"role": "user", "content": text})
        elif role == "tool":
            out.append({"role": "user", "content": f"[tool result] {message_text(message)}"})
    if not out:
        out.append({"role": "user", "content": OPENING})
    return out
