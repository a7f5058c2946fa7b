"""Criteria a judge can check without a language model.

A criterion is either a predicate on the :class:`ScenarioState` (any callable
returning a bool, a ``(bool, reason)`` pair or a :class:`CriterionResult`), one of
the built-in checks below, or a plain sentence, which needs a language model.

    JudgeAgent(criteria=[
        tool_called("book_flight", to_city="LA"),
        never_called("cancel_booking"),
        text_contains("booked"),
        max_turns(3),
        check(lambda s: s.variables["city"] in s.last_message()["content"], "names the city"),
    ])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..model.errors import InvalidArgumentError, PatternTimeoutError
from ..model.types import format_call
from ..model.user_regex import DEFAULT_TIMEOUT_S, check_timeout, compile_user_pattern, search_texts
from .result import CriterionResult
from .state import ScenarioState, message_text

__all__ = [
    "Criterion",
    "check",
    "criterion_from_data",
    "criterion_name",
    "evaluate_local",
    "is_sentence",
    "max_turns",
    "never_called",
    "text_contains",
    "text_matches",
    "tool_called",
]


class Criterion:
    """A named predicate on the state; ``str(criterion)`` is how verdicts list it."""

    def __init__(self, description: str, predicate: Callable[[ScenarioState], Any]) -> None:
        self.description = description
        self.predicate = predicate

    def __call__(self, state: ScenarioState) -> Any:
        return self.predicate(state)

    def __str__(self) -> str:
        return self.description

    def __repr__(self) -> str:
        return f"Criterion({self.description!r})"


def check(predicate: Callable[[ScenarioState], Any], description: str) -> Criterion:
    """Name a predicate so verdicts show ``description`` instead of ``<lambda>``."""
    if not callable(predicate):
        raise InvalidArgumentError(f"check() needs a function of the state, got {predicate!r}")
    return Criterion(description, predicate)


def tool_called(name: str, **arguments: Any) -> Criterion:
    """The agent called ``name`` with at least these argument values (others may be present)."""

    def predicate(state: ScenarioState) -> tuple[bool, str]:
        calls = state.tool_calls(name)
        if not calls:
            made = ", ".join(str(call) for call in state.tool_calls()) or "none"
            return False, f"{name} was never called (calls made: {made})"
        for call in calls:
            if all(key in call.arguments and call.arguments[key] == value for key, value in arguments.items()):
                return True, f"called {call}"
        return False, "called, but with other arguments: " + ", ".join(str(call) for call in calls)

    shown = format_call(name, arguments) if arguments else name
    return Criterion(f"tool_called({shown})", predicate)


def never_called(name: str) -> Criterion:
    """The agent never called the (forbidden) tool ``name``."""

    def predicate(state: ScenarioState) -> tuple[bool, str]:
        calls = state.tool_calls(name)
        if calls:
            return False, f"called {calls[0]}"
        return True, f"{name} was not called"

    return Criterion(f"never_called({name})", predicate)


def text_contains(text: str, *, role: str = "assistant", case_sensitive: bool = False) -> Criterion:
    """Some message from ``role`` (the agent by default) contains ``text``."""
    needle = text if case_sensitive else text.lower()

    def predicate(state: ScenarioState) -> bool:
        for message in state.messages:
            if message.get("role") != role:
                continue
            content = message_text(message)
            if needle in (content if case_sensitive else content.lower()):
                return True
        return False

    return Criterion(f"text_contains({text!r})", predicate)


def text_matches(
    pattern: str, *, role: str = "assistant", flags: int = re.IGNORECASE, timeout: float = DEFAULT_TIMEOUT_S
) -> Criterion:
    """Some message from ``role`` (the agent by default) matches the regular expression (``re`` syntax).

    The search is bounded by ``timeout`` seconds: a pattern that backtracks catastrophically
    on the agent's text fails the criterion with a reason saying it timed out, instead of
    hanging the run (``re`` cannot be interrupted; see :mod:`russo_nb.model.user_regex`).
    """
    where = f"text_matches({pattern!r})"
    compiled = compile_user_pattern(pattern, flags, where=where)
    timeout = check_timeout(timeout, f"{where}: timeout")

    def predicate(state: ScenarioState) -> tuple[bool, str]:
        texts = [message_text(m) for m in state.messages if m.get("role") == role]
        try:
            match = search_texts(compiled, texts, timeout_s=timeout)
        except PatternTimeoutError as exc:
            return False, str(exc)
        if match is None:
            return False, f"no {role} message matches"
        return True, f"matched {match.group(0)[:80]!r}"

    return Criterion(f"text_matches({pattern!r})", predicate)


def max_turns(n: int) -> Criterion:
    """The conversation took at most ``n`` turns (turns in which something was said)."""
    if not isinstance(n, int) or n < 1:
        raise InvalidArgumentError(f"max_turns(n) needs a whole number >= 1, got {n!r}")

    def predicate(state: ScenarioState) -> tuple[bool, str]:
        taken = state.turns_taken
        return taken <= n, f"{taken} turns (limit {n})"

    return Criterion(f"max_turns({n})", predicate)


def is_sentence(criterion: Any) -> bool:
    """True for a criterion written in words, which only a language model can judge."""
    return isinstance(criterion, str)


def criterion_name(criterion: Any, index: int = 0) -> str:
    """How a criterion is listed in passed/failed criteria."""
    if isinstance(criterion, (str, Criterion)):
        return str(criterion)
    name = getattr(criterion, "__name__", None) or type(criterion).__name__
    if name == "<lambda>":
        return f"criterion {index + 1} (lambda; name it with criteria.check(fn, 'what it checks'))"
    doc = (getattr(criterion, "__doc__", None) or "").strip().splitlines()
    return f"{name}: {doc[0]}" if doc and doc[0] and not isinstance(criterion, type) else name


def evaluate_local(criterion: Any, state: ScenarioState, index: int = 0) -> CriterionResult:
    """Run a predicate criterion; an AssertionError inside it counts as not passed."""
    name = criterion_name(criterion, index)
    try:
        value = criterion(state)
    except AssertionError as exc:
        return CriterionResult(criterion=name, passed=False, reasoning=str(exc) or "assertion failed")
    if isinstance(value, CriterionResult):
        return value.model_copy(update={"criterion": name})
    if isinstance(value, tuple) and len(value) == 2:
        return CriterionResult(criterion=name, passed=bool(value[0]), reasoning=str(value[1]))
    return CriterionResult(criterion=name, passed=bool(value))


_BUILTINS = ("tool_called", "never_called", "text_contains", "text_matches", "max_turns")


def criterion_from_data(item: Any) -> Any:
    """A criterion from suite-file data: a sentence, or ``{tool_called: "book_flight(to_city='LA')"}``,
    ``{never_called: name}``, ``{text_contains: text}``, ``{text_matches: regex}``, ``{max_turns: n}``."""
    if isinstance(item, str) or callable(item):
        return item
    if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in _BUILTINS:
        raise InvalidArgumentError(
            f"criterion {item!r} is neither a sentence nor one of {{{', '.join(_BUILTINS)}: ...}}"
        )
    kind, value = next(iter(item.items()))
    if kind == "tool_called":
        from ..model.expectations import parse_expectation

        call = parse_expectation(value) if isinstance(value, str) else None
        if call is None:
            raise InvalidArgumentError(f"tool_called takes a call like \"book_flight(to_city='LA')\", got {value!r}")
        return tool_called(call.name, **call.arguments)
    if kind == "max_turns":
        return max_turns(value)
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{kind} takes a string, got {value!r}")
    return {"never_called": never_called, "text_contains": text_contains, "text_matches": text_matches}[kind](value)
