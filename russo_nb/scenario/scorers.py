"""Scorers: each turns a finished run into a number from 0.0 to 1.0; weights combine them.

As in seed 002, a scenario may have several scorers whose weights add up to 1.0
(checked up front); the run's ``score`` is the weighted sum. When no scorer names a
weight they share equally. Built-ins: :func:`tool_call_match`, :func:`criteria_fraction`,
:func:`latency_budget`, :func:`success`; any callable ``(result)`` or
``(result, state)`` returning a number or a bool is a scorer too.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..model.errors import InvalidArgumentError
from ..model.evaluators import ExactEvaluator
from ..model.expectations import normalize_expectations
from .result import ScenarioResult
from .state import ScenarioState

__all__ = [
    "Scorer",
    "combine",
    "criteria_fraction",
    "latency_budget",
    "normalize_scorers",
    "scorer",
    "scorer_from_data",
    "success",
    "tool_call_match",
]

WEIGHT_TOLERANCE = 1e-6


class Scorer:
    """A named function of a finished run giving 0.0–1.0, with an optional weight."""

    def __init__(self, func: Callable[..., Any], name: str | None = None, weight: float | None = None) -> None:
        if not callable(func):
            raise InvalidArgumentError(f"a scorer must be callable, got {func!r}")
        if weight is not None and (not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0):
            raise InvalidArgumentError(f"scorer weight must be a number >= 0, got {weight!r}")
        self.func = func
        self.name = name or getattr(func, "__name__", "scorer")
        self.weight = None if weight is None else float(weight)
        try:
            params = [
                p
                for p in inspect.signature(func).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            self._wants_state = len(params) >= 2
        except (TypeError, ValueError):
            self._wants_state = False

    async def score(self, result: ScenarioResult, state: ScenarioState | None = None) -> float:
        """The run's score, checked to be a number from 0.0 to 1.0."""
        value = self.func(result, state) if self._wants_state else self.func(result)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, bool):
            value = 1.0 if value else 0.0
        if not isinstance(value, (int, float)) or math.isnan(value) or not 0.0 <= value <= 1.0:
            raise InvalidArgumentError(
                f"scorer {self.name!r} returned {value!r}; a score must be a number from 0.0 to 1.0"
            )
        return float(value)

    def __repr__(self) -> str:
        weight = "" if self.weight is None else f", weight={self.weight:g}"
        return f"Scorer({self.name!r}{weight})"


def scorer(func: Callable[..., Any], *, weight: float | None = None, name: str | None = None) -> Scorer:
    """Any function ``(result)`` or ``(result, state)`` returning 0.0–1.0 (or a bool) as a scorer."""
    return Scorer(func, name=name, weight=weight)


def tool_call_match(
    expected: Any, *, weight: float | None = None, evaluator: Any = None, name: str = "tool_calls"
) -> Scorer:
    """The share of ``expected`` calls the agent made (russo's match rate; extra calls allowed by default).

    ``expected`` takes what ``expect=`` takes: ``tool_call(...)`` objects, dicts or ``"name(arg='x')"``.
    """
    calls = normalize_expectations(expected)
    assert isinstance(calls, list)
    judge = evaluator if evaluator is not None else ExactEvaluator(ignore_extra_calls=True)

    def match_rate(result: ScenarioResult) -> float:
        return judge.evaluate(calls, result.tool_calls).match_rate

    match_rate.expected = calls  # type: ignore[attr-defined]
    return Scorer(match_rate, name=name, weight=weight)


def criteria_fraction(*, weight: float | None = None, name: str = "criteria") -> Scorer:
    """The share of the judge's criteria that passed (the verdict itself when there were none)."""

    def fraction(result: ScenarioResult) -> float:
        total = len(result.passed_criteria) + len(result.failed_criteria)
        if not total:
            return 1.0 if result.success else 0.0
        return len(result.passed_criteria) / total

    return Scorer(fraction, name=name, weight=weight)


def latency_budget(
    seconds: float, *, weight: float | None = None, metric: str = "agent_time", name: str = "latency"
) -> Scorer:
    """1.0 within ``seconds`` of agent time, falling linearly to 0.0 at twice the budget."""
    if not isinstance(seconds, (int, float)) or seconds <= 0:
        raise InvalidArgumentError(f"latency_budget(seconds) needs a number > 0, got {seconds!r}")
    if metric not in ("agent_time", "total_time"):
        raise InvalidArgumentError(f"latency_budget(metric=...) is 'agent_time' or 'total_time', got {metric!r}")

    def within_budget(result: ScenarioResult) -> float:
        spent = getattr(result, metric) or 0.0
        if spent <= seconds:
            return 1.0
        return max(0.0, 1.0 - (spent - seconds) / seconds)

    return Scorer(within_budget, name=name, weight=weight)


def success(*, weight: float | None = None, name: str = "success") -> Scorer:
    """1.0 when the verdict was success, else 0.0."""
    return Scorer(lambda result: 1.0 if result.success else 0.0, name=name, weight=weight)


def normalize_scorers(items: Sequence[Any] | None) -> list[Scorer]:
    """Accept Scorers, callables and ``(callable, weight)`` pairs; check the weights add up to 1.0."""
    scorers: list[Scorer] = []
    for item in items or []:
        if isinstance(item, Scorer):
            scorers.append(item)
        elif isinstance(item, tuple) and len(item) == 2 and (isinstance(item[0], Scorer) or callable(item[0])):
            base = item[0]
            scorers.append(
                Scorer(base.func, name=base.name, weight=item[1])
                if isinstance(base, Scorer)
                else Scorer(base, weight=item[1])
            )
        elif callable(item):
            scorers.append(Scorer(item))
        else:
            raise InvalidArgumentError(
                f"scorer {item!r} is not callable; use russo_nb.scenario.scorers.scorer(fn, weight=...) or a built-in"
            )
    if not scorers:
        return []
    seen: dict[str, int] = {}
    for s in scorers:
        count = seen.get(s.name, 0)
        seen[s.name] = count + 1
        if count:
            s.name = f"{s.name}_{count + 1}"
    weighted = [s for s in scorers if s.weight is not None]
    if not weighted:
        share = 1.0 / len(scorers)
        return [Scorer(s.func, name=s.name, weight=share) for s in scorers]
    if len(weighted) != len(scorers):
        missing = ", ".join(s.name for s in scorers if s.weight is None)
        raise InvalidArgumentError(
            f"some scorers have weights and some do not ({missing}); give every scorer a weight, or none "
            "(then they share equally)"
        )
    total = math.fsum(s.weight or 0.0 for s in scorers)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        parts = ", ".join(f"{s.name}={s.weight:g}" for s in scorers)
        raise InvalidArgumentError(f"scorer weights add up to {total:g} ({parts}); they must add up to 1.0")
    return scorers


async def combine(
    scorers: Sequence[Scorer], result: ScenarioResult, state: ScenarioState | None = None
) -> tuple[dict[str, float], float | None]:
    """Every scorer's score and their weighted sum (None when there are no scorers)."""
    if not scorers:
        return {}, None
    scores: dict[str, float] = {}
    for s in scorers:
        scores[s.name] = await s.score(result, state)
    total = round(math.fsum(scores[s.name] * (s.weight or 0.0) for s in scorers), 12)
    return scores, min(1.0, max(0.0, total))


SCORER_KINDS = ("tool_calls", "criteria", "latency", "success", "scorer")
"""The kinds a suite file's ``scorers:`` items name (see :func:`scorer_from_data`)."""


def scorer_from_data(item: Any) -> Scorer:
    """A scorer from suite-file data: one kind plus optional ``weight`` and ``name``.

    ``{tool_calls: ["book_flight(to_city='LA')"], weight: 0.5}`` (:func:`tool_call_match`),
    ``{criteria: null}`` (:func:`criteria_fraction`), ``{latency: 2.0}`` (:func:`latency_budget`,
    seconds), ``{success: null}`` (:func:`success`), ``{scorer: "module:function"}`` (a function
    ``(result)`` or ``(result, state)`` returning 0.0-1.0, imported by path). Anything else is an
    :class:`InvalidArgumentError` naming the item and the kinds.
    """
    kinds = ", ".join(SCORER_KINDS)
    if not isinstance(item, dict):
        raise InvalidArgumentError(f"scorer {item!r} is not a mapping; write one of {kinds} with an optional weight")
    extra = set(item) - {*SCORER_KINDS, "weight", "name"}
    named = [kind for kind in SCORER_KINDS if kind in item]
    if extra or len(named) != 1:
        wrong = f"unknown key {sorted(extra)[0]!r}" if extra else f"{len(named)} kinds"
        raise InvalidArgumentError(f"scorer {item!r} has {wrong}; give exactly one of {kinds}, plus weight / name")
    kind, value = named[0], item[named[0]]
    weight, name = item.get("weight"), item.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError(f"scorer name must be a string, got {name!r}")
    if kind == "tool_calls":
        calls = value if isinstance(value, list) else [value]
        return tool_call_match(calls, weight=weight, name=name or "tool_calls")
    if kind == "criteria":
        return criteria_fraction(weight=weight, name=name or "criteria")
    if kind == "success":
        return success(weight=weight, name=name or "success")
    if kind == "latency":
        return latency_budget(value, weight=weight, name=name or "latency")
    from ..execution.components import import_object

    if not isinstance(value, str):
        raise InvalidArgumentError(f"scorer: takes an import path like 'my_module:my_scorer', got {value!r}")
    func = import_object(value)
    return Scorer(func, name=name or getattr(func, "__name__", value), weight=weight)
