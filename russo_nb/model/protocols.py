"""The three extension points: Synthesizer, Agent and Evaluator.

They are structural (``typing.Protocol``): any object with the right method works,
nobody has to inherit. :func:`as_agent` and friends check an object up front and
raise a clear :class:`~russo_nb.model.errors.ProtocolError` when a method is missing.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from .errors import ProtocolError
from .types import AgentResponse, Audio, EvalResult, ToolCall

__all__ = [
    "Agent",
    "Evaluator",
    "FunctionAgent",
    "ResponseParser",
    "Synthesizer",
    "agent",
    "as_agent",
    "check_evaluator",
    "check_synthesizer",
    "coerce_response",
    "describe",
]


@runtime_checkable
class Synthesizer(Protocol):
    """Turns text into audio (any TTS: local espeak-ng, a cloud voice, a recording)."""

    async def synthesize(self, text: str) -> Audio: ...


@runtime_checkable
class Agent(Protocol):
    """The agent under test: hears audio (or reads text in text mode) and answers."""

    async def run(self, audio: Audio) -> AgentResponse: ...


@runtime_checkable
class Evaluator(Protocol):
    """Compares the expected tool calls with the ones the agent made."""

    def evaluate(self, expected: list[ToolCall], actual: list[ToolCall]) -> EvalResult: ...


@runtime_checkable
class ResponseParser(Protocol):
    """Turns a provider's raw answer into an :class:`AgentResponse` (russo's parser protocol)."""

    def parse(self, raw_response: Any) -> AgentResponse: ...


@runtime_checkable
class Effect(Protocol):
    """Changes audio (noise, speed, telephone band, ...), deterministically for a given generator."""

    def apply(self, audio: Audio, rng: Any) -> Audio: ...


def check_effects(effects: Any) -> list[Any]:
    """Return effect objects as a list, raising a clear error for one without ``apply(audio, rng)``.

    Only checks objects: turning an effects option (spec strings, component mappings, lists)
    into effects is :func:`russo_nb.execution.pipeline.build_effects`, which calls this.
    """
    from .errors import InvalidArgumentError

    out = list(effects or [])
    for effect in out:
        _needs_method(
            effect,
            "apply",
            f"effect {effect!r} has no apply(audio, rng) method; use russo_nb.audio effects "
            "(Noise, Speed, TelephoneBand, ...) or parse_effects('noise:10db')",
            InvalidArgumentError,
        )
    return out


def _needs_method(obj: Any, method: str, message: str, error: type[Exception] = ProtocolError) -> None:
    """Raise ``error(message)`` unless ``obj`` has a callable ``method`` (what every component check asks)."""
    if not callable(getattr(obj, method, None)):
        raise error(message)


def effect_name(effect: Any) -> str:
    """How an effect is recorded on a run: its ``describe()`` text, else its name."""
    describe_effect = getattr(effect, "describe", None)
    if callable(describe_effect):
        return str(describe_effect())
    return describe(effect)


async def apply_effects(audio: Audio, effects: list[Any], seed: int) -> Audio:
    """Run an effect chain off the event loop with one seeded generator, so runs differ reproducibly."""
    import numpy as np

    from .threads import run_blocking

    def chain() -> Audio:
        rng = np.random.default_rng(seed)
        out = audio
        for effect in effects:
            out = effect.apply(out, rng)
        return out

    return await run_blocking(chain)


def coerce_response(value: Any) -> AgentResponse:
    """Accept what agents naturally return: an AgentResponse, a list of calls, a call, a dict."""
    if isinstance(value, AgentResponse):
        return value
    if value is None:
        return AgentResponse()
    if isinstance(value, ToolCall):
        return AgentResponse(tool_calls=[value])
    if isinstance(value, str):
        return AgentResponse(text=value)
    if isinstance(value, list):
        return AgentResponse(tool_calls=[_coerce_call(item) for item in value])
    if isinstance(value, dict):
        if "tool_calls" in value or "text" in value:
            return AgentResponse.model_validate(value)
        return AgentResponse(tool_calls=[_coerce_call(value)])
    raise ProtocolError(
        f"an agent returned {type(value).__name__}; return an AgentResponse, a list of ToolCall, "
        "a ToolCall, or a dict like {'tool_calls': [...], 'text': ...}"
    )


def _coerce_call(item: Any) -> ToolCall:
    if isinstance(item, ToolCall):
        return item
    if isinstance(item, dict) and "name" in item:
        return ToolCall(name=item["name"], arguments=dict(item.get("arguments") or {}))
    raise ProtocolError(f"an agent returned {item!r} as a tool call; use ToolCall(name=..., arguments=...)")


class FunctionAgent:
    """An agent made from a function (sync or async) that takes audio or text.

    A plain (sync) function runs on the batch's threads, so it blocks neither the event
    loop nor the other runs, and a ``timeout=`` can end its run on time.
    """

    def __init__(self, func: Callable[[Any], Any], name: str | None = None) -> None:
        self.func = func
        self.name = name or getattr(func, "__name__", "agent")
        self._is_async = inspect.iscoroutinefunction(func)
        self.__doc__ = func.__doc__

    async def run(self, audio: Any) -> AgentResponse:
        """Call the wrapped function and normalize what it returns."""
        if self._is_async:
            return coerce_response(await self.func(audio))
        from .threads import run_blocking

        value = await run_blocking(self.func, audio)  # a blocking function never stalls the other runs
        if inspect.isawaitable(value):
            value = await value
        return coerce_response(value)

    def __call__(self, audio: Any) -> Awaitable[AgentResponse]:
        return self.run(audio)

    def __repr__(self) -> str:
        return f"<russo agent {self.name}>"


def agent(func: Callable[[Any], Any] | None = None, *, name: str | None = None) -> Any:
    """Decorator turning ``async def my_agent(audio) -> AgentResponse`` into an Agent.

    Usable bare (``@agent``) or with a name (``@agent(name="v2")``).
    """
    if func is None:
        return lambda f: FunctionAgent(f, name=name)
    return FunctionAgent(func, name=name)


def as_agent(obj: Any) -> Any:
    """Return ``obj`` if it is an agent, wrap it if it is a plain function, else raise."""
    if obj is None:
        raise ProtocolError("no agent given; pass agent= an object with async run(audio) or an @russo.agent function")
    run = getattr(obj, "run", None)
    if callable(run):
        return obj
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return FunctionAgent(obj)
    raise ProtocolError(
        f"agent {describe(obj)} has no run() method; give it `async def run(self, audio) -> AgentResponse` "
        "or decorate a function with @russo_nb.agent"
    )


def check_synthesizer(obj: Any) -> Any:
    """Return ``obj`` if it has ``synthesize(text)``, else raise a ProtocolError."""
    if obj is not None:
        _needs_method(
            obj,
            "synthesize",
            f"synthesizer {describe(obj)} has no synthesize() method; give it "
            "`async def synthesize(self, text) -> Audio`, or pass synthesizer=None for text mode",
        )
    return obj


def check_evaluator(obj: Any) -> Any:
    """Return ``obj`` if it has ``evaluate(expected, actual)``, else raise a ProtocolError."""
    _needs_method(
        obj,
        "evaluate",
        f"evaluator {describe(obj)} has no evaluate() method; give it "
        "`evaluate(self, expected, actual) -> EvalResult` or use ExactEvaluator()",
    )
    return obj


def describe(obj: Any) -> str:
    """A short human name for a component: its ``name`` attribute, function or class name."""
    if obj is None:
        return "None"
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name:
        return name
    if inspect.isfunction(obj) or inspect.isclass(obj):
        return obj.__name__
    return type(obj).__name__
