"""Keep a batch's runs lean: equal tool calls, evaluations and responses stored once.

An agent that builds a fresh response per run makes 100,000 equal ``ToolCall``,
``AgentResponse`` and ``EvalResult`` objects in a 100,000-run batch. :class:`RunInterner`
hands back one shared instance per distinct value, so a batch holds each distinct call,
evaluation and response once while ``result.runs`` still yields ordinary
:class:`~russo_nb.model.types.SingleRunResult` objects. The engine interns each run as it
finishes (so the peak stays low); :func:`compact` does the same for a batch built another
way. Values that cannot be compared cheaply (unhashable, self-referencing) are kept as they are.
"""

from __future__ import annotations

from typing import Any

from .types import AgentResponse, BatchResult, EvalResult, SingleRunResult, ToolCall

__all__ = ["RunInterner", "compact", "conditions_key"]

_ATOMS = (str, int, float, bool, type(None))


def conditions_key(conditions: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable key equal for two flat dicts of scalars (a run's conditions) only when JSON writes them the same:
    names, values and the values' types (``True``, ``1`` and ``1.0`` are equal in Python, not in JSON), and ``0.0``
    apart from ``-0.0`` (equal, and hashed alike). TypeError for an unhashable value. A NaN matches only itself
    (a miss, never a wrong value)."""
    values = conditions.values()
    kinds = tuple(map(type, values))
    if float in kinds and 0.0 in values:  # equal to -0.0, yet written apart
        return tuple(conditions.items()), kinds, tuple(map(repr, values))
    return tuple(conditions.items()), kinds


def _freeze(value: Any, depth: int = 0) -> Any:
    """A hashable stand-in for a JSON-like value (TypeError for anything else or too deep)."""
    if isinstance(value, _ATOMS):
        if type(value) is float and (not value or value != value):  # 0.0 == -0.0; NaN != NaN
            return (float, repr(value))  # 0.0 and -0.0 kept apart, every NaN one key
        return (type(value), value)  # 1 and True and 1.0 stay different
    if depth > 20:
        raise TypeError("too deep")
    if isinstance(value, dict):
        return ("d", tuple((key, _freeze(item, depth + 1)) for key, item in value.items()))
    if isinstance(value, list):
        return ("l", tuple(_freeze(item, depth + 1) for item in value))
    raise TypeError(type(value).__name__)


class RunInterner:
    """Shares equal calls, call lists, evaluations and responses between the runs it sees."""

    def __init__(self) -> None:
        self._calls: dict[Any, ToolCall] = {}
        self._lists: dict[tuple[int, ...], list[ToolCall]] = {}
        self._evals: dict[Any, EvalResult] = {}
        self._responses: dict[Any, AgentResponse] = {}
        self._conditions: dict[Any, dict[str, Any]] = {}

    def call(self, call: ToolCall) -> ToolCall:
        """The shared instance equal to ``call``."""
        try:
            key = (call.name, _freeze(call.arguments))
        except TypeError:
            return call
        return self._calls.setdefault(key, call)

    def calls(self, calls: list[ToolCall]) -> list[ToolCall]:
        """The shared list of shared calls equal to ``calls``."""
        shared = [self.call(call) for call in calls]
        return self._lists.setdefault(tuple(id(call) for call in shared), shared)

    def conditions(self, conditions: dict[str, Any]) -> dict[str, Any]:
        """The shared dict equal to ``conditions`` (as the runs of an engine batch share theirs)."""
        try:
            key = conditions_key(conditions)
            return self._conditions.setdefault(key, conditions)
        except TypeError:  # an unhashable value (conditions are scalars: a caller's mistake, not shared)
            return conditions

    def evaluation(self, ev: EvalResult) -> EvalResult:
        """The shared evaluation equal to ``ev`` (same verdict, calls, matches and details)."""
        if type(ev) is not EvalResult:
            return ev
        expected, actual = self.calls(ev.expected), self.calls(ev.actual)
        matches = []
        for match in ev.matches:
            got = None if match.actual is None else id(self.call(match.actual))
            matches.append((id(self.call(match.expected)), got, match.matched, match.details))
        key = (ev.passed, ev.details, id(expected), id(actual), tuple(matches))
        hit = self._evals.get(key)
        if hit is None:
            ev.__dict__["expected"], ev.__dict__["actual"] = expected, actual
            for match in ev.matches:
                match.__dict__["expected"] = self.call(match.expected)
                if match.actual is not None:
                    match.__dict__["actual"] = self.call(match.actual)
            hit = self._evals[key] = ev
        return hit

    def response(self, response: AgentResponse | None) -> AgentResponse | None:
        """The shared response equal to ``response`` (calls, text and raw payload)."""
        if response is None or type(response) is not AgentResponse:
            return response
        calls = self.calls(response.tool_calls)
        try:
            key = (id(calls), response.text, _freeze(response.raw), _freeze(getattr(response, "usage", None)))
        except TypeError:
            response.__dict__["tool_calls"] = calls
            return response
        hit = self._responses.get(key)
        if hit is None:
            response.__dict__["tool_calls"] = calls
            hit = self._responses[key] = response
        return hit

    def run(self, run: Any) -> Any:
        """``run`` with its evaluation and response replaced by the shared equal ones (in place)."""
        if type(run) is not SingleRunResult:
            return run
        values = run.__dict__
        values["eval_result"] = self.evaluation(values["eval_result"])
        values["response"] = self.response(values["response"])
        return run


def compact(result: BatchResult) -> BatchResult:
    """Share equal calls, evaluations and responses across ``result``'s runs (in place); returns it."""
    interner = RunInterner()
    for run in result.runs:
        interner.run(run)
    return result
