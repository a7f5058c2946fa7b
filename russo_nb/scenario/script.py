"""The scenario script DSL: ``message``, ``user``, ``agent``, ``judge``, ``proceed``, ``succeed``, ``fail``.

Each returns a step, a callable ``(state) -> ...`` the executor awaits in order;
any other sync or async function of the state is a step too, and a step that
returns a :class:`ScenarioResult` ends the scenario with it.

    script=[
        user("I need a flight to LA"),
        agent(),
        judge(criteria=[tool_called("book_flight", to_city="LA")]),   # checkpoint
        proceed(turns=2, on_step=check_no_cancel),
        succeed("booked"),
    ]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..model.errors import InvalidArgumentError
from ..model.plain_text import short_repr
from .result import ScenarioResult
from .state import ScenarioState

__all__ = [
    "FAIL_REASONING",
    "SUCCEED_REASONING",
    "ScriptStep",
    "Step",
    "agent",
    "fail",
    "judge",
    "message",
    "proceed",
    "script_from_data",
    "succeed",
    "user",
]

SUCCEED_REASONING = "Scenario marked as successful with scenario.succeed()"
"""The reasoning of ``succeed()`` given without one (the scenario library's words)."""
FAIL_REASONING = "Scenario marked as failed with scenario.fail()"
"""The reasoning of ``fail()`` given without one."""

ScriptStep = (
    Callable[[ScenarioState], None]
    | Callable[[ScenarioState], ScenarioResult | None]
    | Callable[[ScenarioState], Awaitable[None]]
    | Callable[[ScenarioState], Awaitable[ScenarioResult | None]]
)
"""A step of a script: a (sync or async) function of the state."""


class Step:
    """A DSL step: calls ``state._executor.<action>(*args)``; shows as ``user('Hi')``."""

    def __init__(self, action: str, *args: Any, shown: str = "") -> None:
        self.action = action
        self.args = args
        self.shown = shown

    def __call__(self, state: ScenarioState | None = None) -> Any:
        if state is None:
            if self.action in ("succeed", "fail"):
                # ``return scenario.succeed("why")()`` inside a check, as in the seed's examples
                default = SUCCEED_REASONING if self.action == "succeed" else FAIL_REASONING
                return ScenarioResult(success=self.action == "succeed", reasoning=self.args[0] or default)
            raise InvalidArgumentError(f"step {self} needs the scenario state: call it as step(state)")
        executor = state._executor
        if executor is None:
            raise InvalidArgumentError(f"step {self} runs only inside a scenario (russo_nb.scenario.run)")
        return getattr(executor, self.action)(*self.args)

    @property
    def criteria(self) -> list[Any] | None:
        """A judge step's inline criteria (None for other steps or a final judge())."""
        return self.args[0] if self.action == "judge" else None

    def __repr__(self) -> str:
        return f"{self.action}({self.shown})"


def _shown(value: Any) -> str:
    return "" if value is None else repr(value)


def message(message: dict[str, Any]) -> Step:
    """Add one OpenAI-format message (a tool result, a system note, a whole assistant turn)."""
    if not isinstance(message, dict) or "role" not in message:
        raise InvalidArgumentError(f"message() takes an OpenAI message dict with a 'role', got {message!r}")
    return Step("message", message, shown=_shown(message))


def user(content: str | dict[str, Any] | None = None) -> Step:
    """The user speaks: ``content`` as given, or a line from the user simulator when None."""
    return Step("user", content, shown=_shown(content))


def agent(content: str | dict[str, Any] | None = None) -> Step:
    """The agent answers: ``content`` as given, or the agent under test is called when None."""
    return Step("agent", content, shown=_shown(content))


def judge(criteria: list[Any] | None = None) -> Step:
    """With criteria: a checkpoint (continue if all pass, fail now otherwise). Without: the final verdict."""
    if criteria is not None and not isinstance(criteria, (list, tuple)):
        raise InvalidArgumentError(f"judge(criteria=...) takes a list of criteria, got {type(criteria).__name__}")
    return Step(
        "judge",
        None if criteria is None else list(criteria),
        shown="" if criteria is None else f"criteria={criteria!r}",
    )


def proceed(
    turns: int | None = None,
    on_turn: Callable[[ScenarioState], Any] | None = None,
    on_step: Callable[[ScenarioState], Any] | None = None,
) -> Step:
    """Let user → agent → judge play on: until ``turns``, a verdict or ``max_turns``.

    The turn in progress counts as the first of ``turns`` (after ``user(), agent()``,
    ``proceed(turns=1)`` only lets the judge look, ``turns=2`` plays one more turn).
    ``on_turn`` runs each time a new turn starts, ``on_step`` after every move (the
    judge's too, also the one that ends the run); either may be async, and an
    AssertionError inside fails the scenario with its message.
    """
    if turns is not None and (not isinstance(turns, int) or isinstance(turns, bool) or turns < 1):
        raise InvalidArgumentError(f"proceed(turns=...) must be a whole number >= 1 or None, got {turns!r}")
    return Step("proceed", turns, on_turn, on_step, shown="" if turns is None else f"turns={turns}")


def succeed(reasoning: str | None = None) -> Step:
    """End the scenario now, successfully."""
    return Step("succeed", reasoning, shown=_shown(reasoning))


def fail(reasoning: str | None = None) -> Step:
    """End the scenario now, as a failure."""
    return Step("fail", reasoning, shown=_shown(reasoning))


_STEP_KINDS = ("user", "agent", "message", "judge", "proceed", "succeed", "fail")
_STEP_VALUES: dict[str, tuple[tuple[type, ...], str]] = {
    "user": ((str, dict), "a string or a message mapping"),
    "agent": ((str, dict), "a string or a message mapping"),
    "message": ((dict,), "an OpenAI message mapping with a 'role'"),
    "judge": ((list, str, dict), "a list of criteria"),
    "proceed": ((int,), "a whole number of turns"),
    "succeed": ((str,), "a string (the reason)"),
    "fail": ((str,), "a string (the reason)"),
}


def _kind_of(value: Any) -> str:
    """``[1] (a list)``: a value and its kind, for messages about suite-file data."""
    kinds = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    kind = "empty (null)" if value is None else kinds.get(type(value), f"a {type(value).__name__}")
    return kind if value is None else f"{short_repr(value)} ({kind})"


def _step_parts(index: int, item: Any) -> tuple[str, Any]:
    """``(kind, value)`` of one suite-file script item, or an error naming the item and what is allowed."""
    where = f"script step {index + 1}"
    kinds = ", ".join(_STEP_KINDS)
    if isinstance(item, str):
        if item not in _STEP_KINDS:
            raise InvalidArgumentError(f"{where} is {item!r}; a step is one of {kinds}")
        return item, None
    if not isinstance(item, dict) or len(item) != 1:
        shape = f"a mapping with {len(item)} keys" if isinstance(item, dict) else _kind_of(item)
        raise InvalidArgumentError(
            f"{where} is {shape}; write one of {kinds} alone or as a one-key mapping like {{user: 'Hi'}}"
        )
    kind, value = next(iter(item.items()))
    if kind not in _STEP_KINDS:
        raise InvalidArgumentError(f"{where} has the unknown key {short_repr(kind)}; a step is one of {kinds}")
    types, wanted = _STEP_VALUES[kind]
    if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
        raise InvalidArgumentError(f"{where} ({kind}) takes {wanted}, got {_kind_of(value)}")
    return kind, value


def script_from_data(steps: list[Any]) -> list[Step]:
    """A script from suite-file data (YAML / JSON), one step per item.

    ``"agent"`` / ``"user"`` / ``"judge"`` / ``"succeed"`` / ``"fail"`` / ``"proceed"`` alone, or
    ``{user: text}``, ``{agent: text}``, ``{message: {...}}``, ``{judge: [criteria]}``,
    ``{proceed: turns}``, ``{succeed: reason}``, ``{fail: reason}``; criteria as in
    :func:`russo_nb.scenario.criteria.criterion_from_data`. Anything else (a number, a list,
    a value of the wrong type) is an :class:`InvalidArgumentError` naming the step.
    """
    from .criteria import criterion_from_data

    if not isinstance(steps, list):
        raise InvalidArgumentError(f"a script is a list of steps, got {type(steps).__name__}")
    out: list[Step] = []
    for index, item in enumerate(steps):
        kind, value = _step_parts(index, item)
        if kind == "judge" and value is not None:
            value = [criterion_from_data(c) for c in (value if isinstance(value, list) else [value])]
        maker = {"user": user, "agent": agent, "message": message, "judge": judge}.get(kind)
        maker = maker or {"proceed": proceed, "succeed": succeed, "fail": fail}[kind]
        out.append(maker(value))
    return out
