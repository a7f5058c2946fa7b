"""Evaluators compare expected tool calls with the calls an agent made.

:class:`ExactEvaluator` is russo's evaluator: names and argument values must be
equal, with switches for order, extra arguments and extra calls. When a call does
not match, its :class:`~russo_nb.model.types.ToolCallMatch` names the closest actual call
and what differs, so a failure says *why* and not only *that*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .types import EvalResult, ToolCall, ToolCallMatch, construct_fast

__all__ = ["ExactEvaluator", "describe_difference"]

_MISSING = object()


def _has_tuple(value: Any) -> bool:
    if isinstance(value, tuple):
        return True
    if isinstance(value, list):
        return any(_has_tuple(item) for item in value)
    if isinstance(value, dict):
        return any(_has_tuple(item) for item in value.values())
    return False


def _listed(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_listed(item) for item in value]
    if isinstance(value, dict):
        return {key: _listed(item) for key, item in value.items()}
    return value


def _json_shaped(call: ToolCall) -> ToolCall:
    """``call`` with tuples in its arguments as lists, as expectations hold them (a JSON answer has no tuples).

    An in-process agent may answer ``seats=(1, 2)``; the expectation ``seats=(1, 2)`` is stored
    as ``[1, 2]`` (see :mod:`russo_nb.model.expectations`), so the two still match.
    """
    if not _has_tuple(call.arguments):
        return call
    return ToolCall(name=call.name, arguments=_listed(call.arguments))


def describe_difference(expected: ToolCall, actual: ToolCall | None, *, ignore_extra_args: bool) -> str:
    """Say in words how ``actual`` differs from ``expected`` (empty when they match)."""
    if actual is None:
        return f"no call to {expected.name} was made"
    problems: list[str] = []
    if actual.name != expected.name:
        problems.append(f"name: expected {expected.name!r}, got {actual.name!r}")
    for key, want in expected.arguments.items():
        got = actual.arguments.get(key, _MISSING)
        if got is _MISSING:
            problems.append(f"missing argument {key}={want!r}")
        elif got != want:
            problems.append(f"{key}: expected {want!r}, got {got!r}")
    if not ignore_extra_args:
        for key, got in actual.arguments.items():
            if key not in expected.arguments:
                problems.append(f"unexpected argument {key}={got!r}")
    return "; ".join(problems)


class ExactEvaluator:
    """Exact match of names and argument values.

    Args:
        match_order: expected calls must appear in this order among the actual calls.
        ignore_extra_args: actual calls may carry arguments the expectation does not name.
        ignore_extra_calls: actual calls that match no expectation do not fail the run.
    """

    def __init__(
        self,
        match_order: bool = False,
        ignore_extra_args: bool = False,
        ignore_extra_calls: bool = True,
    ) -> None:
        self.match_order = match_order
        self.ignore_extra_args = ignore_extra_args
        self.ignore_extra_calls = ignore_extra_calls

    @property
    def params(self) -> dict[str, Any]:
        """The settings, recorded on every batch this evaluator scores."""
        return {
            "match_order": self.match_order,
            "ignore_extra_args": self.ignore_extra_args,
            "ignore_extra_calls": self.ignore_extra_calls,
        }

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value}" for key, value in self.params.items())
        return f"ExactEvaluator({settings})"

    def call_matches(self, expected: ToolCall, actual: ToolCall) -> bool:
        """True when ``actual`` satisfies ``expected`` under this evaluator's settings."""
        if expected.name != actual.name:
            return False
        if self.ignore_extra_args:
            arguments = actual.arguments
            return all(key in arguments and arguments[key] == value for key, value in expected.arguments.items())
        return expected.arguments == actual.arguments

    def _closest(self, expected: ToolCall, actual: Sequence[ToolCall], used: set[int]) -> ToolCall | None:
        best: ToolCall | None = None
        best_score = -1.0
        for index, call in enumerate(actual):
            if index in used:
                continue
            shared = sum(1 for key, value in expected.arguments.items() if call.arguments.get(key, _MISSING) == value)
            score = (10.0 if call.name == expected.name else 0.0) + shared
            if score > best_score:
                best, best_score = call, score
        return best

    def evaluate(self, expected: list[ToolCall], actual: list[ToolCall]) -> EvalResult:
        """Match each expected call to an unused actual call; explain every miss."""
        actual = [_json_shaped(call) for call in actual]
        used: set[int] = set()
        matches: list[ToolCallMatch] = []
        position = -1
        all_matched = True
        for want in expected:
            start = position + 1 if self.match_order else 0
            found = -1
            for index in range(start, len(actual)):
                if index not in used and self.call_matches(want, actual[index]):
                    found = index
                    break
            if found >= 0:
                used.add(found)
                position = found
                matches.append(
                    construct_fast(
                        ToolCallMatch, {"expected": want, "actual": actual[found], "matched": True, "details": ""}
                    )
                )
                continue
            all_matched = False
            closest = self._closest(want, actual, used)
            details = describe_difference(want, closest, ignore_extra_args=self.ignore_extra_args)
            if self.match_order and any(self.call_matches(want, call) for call in actual[:start]):
                details = f"out of order: {want.name} came before the call expected ahead of it"
            matches.append(
                construct_fast(
                    ToolCallMatch, {"expected": want, "actual": closest, "matched": False, "details": details}
                )
            )
        passed = all_matched
        summary = ""
        if not self.ignore_extra_calls and len(used) < len(actual):
            extra = [call for index, call in enumerate(actual) if index not in used]
            passed = False
            summary = "unexpected extra calls: " + ", ".join(str(call) for call in extra)
        return construct_fast(
            EvalResult,
            {"passed": passed, "expected": expected, "actual": actual, "matches": matches, "details": summary},
        )
