"""The one place options become a run pipeline: components, defaults and batch labels.

Every front end (and the suite loader, the scenario voice adapter) turns an ``effects`` option
into effect objects with :func:`build_effects` only.

Every front end (``run_concurrent``/``start_batch``, the ``%russo`` magics, the ``russo``
CLI and suite files, the pytest plugin, the demo) only translates its own syntax into the
arguments of :func:`make_pipeline` and :func:`batch_labels`; the defaults are decided here.

Default evaluator policy: ``ExactEvaluator(ignore_extra_args=True)``. An expectation names
the tool calls and the arguments that must be there with those values; arguments the agent
adds beyond them do not fail a run, calls it makes beyond the expected ones do not either
(``ignore_extra_calls=True``), a missing or different call or argument does. Pass
``evaluator=ExactEvaluator()`` for the strict variant. russo itself has no such default
(its ``run()`` needs ``evaluator=``); where russo has one — the pytest plugin's
``russo_evaluator`` fixture — russo_nb uses russo's: :func:`strict_evaluator`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.errors import InvalidArgumentError, RussoError

__all__ = [
    "RunPipeline",
    "batch_labels",
    "build_effects",
    "check_seed",
    "default_agent",
    "default_evaluator",
    "strict_evaluator",
    "default_synthesizer",
    "make_pipeline",
    "wrap_cache",
]


def default_synthesizer(cache: bool = False, **options: Any) -> Any:
    """The offline voice: :class:`EspeakSynthesizer` (``cache=True`` wraps it in CachedSynthesizer)."""
    from ..voice.audio.espeak import EspeakSynthesizer

    synthesizer = EspeakSynthesizer(**options)
    if cache:
        from ..voice.cache import CachedSynthesizer

        return CachedSynthesizer(synthesizer)
    return synthesizer


def default_agent(**options: Any) -> Any:
    """The offline agent under test: :meth:`LocalVoiceAgent.demo`."""
    from ..adapters.local import LocalVoiceAgent

    return LocalVoiceAgent.demo(**options)


def default_evaluator() -> Any:
    """The evaluator a batch gets when none is given (see the module docstring for the policy)."""
    from ..model.evaluators import ExactEvaluator

    return ExactEvaluator(ignore_extra_args=True)


def strict_evaluator() -> Any:
    """russo's default evaluator, ``ExactEvaluator()``: extra arguments fail a run (the pytest plugin's default)."""
    from ..model.evaluators import ExactEvaluator

    return ExactEvaluator()


def check_seed(seed: Any, what: str = "seed") -> int:
    """``seed`` as an int (numpy integers accepted), or a clear error."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidArgumentError(f"{what} must be a whole number, got {seed!r}")
    return int(seed)


def batch_labels(name: Any, tags: Any) -> tuple[str | None, list[str]]:
    """A batch's ``name`` (a string or None) and ``tags`` (strings), checked."""
    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError(f"name must be a string (or None), got {name!r}")
    if isinstance(tags, (str, bytes)):
        raise InvalidArgumentError(f"tags must be a list of strings, got {tags!r}; write tags=[{tags!r}]")
    if tags is None:
        return name, []
    if not isinstance(tags, (Sequence, set, frozenset)):
        raise InvalidArgumentError(f"tags must be a list of strings, got {type(tags).__name__}")
    out = list(tags)
    for tag in out:
        if not isinstance(tag, str):
            raise InvalidArgumentError(f"every tag must be a string, got {tag!r}")
    return name, out


def _is_effect(value: Any) -> bool:
    return callable(getattr(value, "apply", None))


def _effects_of_item(item: Any) -> list[Any]:
    """One item of an effects option: a spec string, a component mapping, an effect, or a nested list."""
    from ..model.protocols import check_effects
    from ..voice.audio.effects import parse_effects

    if isinstance(item, str):
        return parse_effects(item)
    if isinstance(item, Mapping):
        if not {"class", "factory", "object"} & set(item):
            raise InvalidArgumentError(
                f"expected a spec like 'noise:10db' or {{class: ..., params: ...}}, got {item!r}"
            )
        from .components import build_component

        return check_effects([build_component(dict(item))])
    if not _is_effect(item) and isinstance(item, Iterable) and not isinstance(item, bytes):
        return build_effects(list(item))
    return check_effects([item])


def build_effects(value: Any, *, where: str | None = None, error: type[RussoError] = InvalidArgumentError) -> list[Any]:
    """The one place an ``effects`` option becomes a checked chain of effect objects.

    ``value`` may be None (no effects), a spec string (``"noise:10db,telephone"``), an effect
    object (anything with ``apply(audio, rng)``), a suite file's component mapping
    (``{class: my.Effect, params: {...}}``) or a list mixing these. The API, the magics, the
    CLI, the pytest marker, suite files and the voice scenario adapter all come through here,
    so one spec gives one chain everywhere. A bad item raises ``error`` (suite files pass
    SuiteFileError), prefixed ``where[index]:`` when ``where`` names the option's place.
    """
    from pydantic import ValidationError

    if value is None:
        return []
    items = [value] if isinstance(value, (str, Mapping)) or _is_effect(value) else value
    if not isinstance(items, Iterable) or isinstance(items, bytes):
        raise error(
            f"{where + ': ' if where else ''}cannot use {value!r} as effects; "
            "give a spec like 'noise:10db,telephone', an Effect, or a list of them"
        )
    chain: list[Any] = []
    for index, item in enumerate(items):
        try:
            chain.extend(_effects_of_item(item))
        except RussoError as exc:
            if where is None:
                raise
            raise error(f"{where}[{index}]: {exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            place = ".".join(str(part) for part in first["loc"] if part != "class")
            problem = str(first["msg"]).removeprefix("Value error, ")
            raise error(f"{where or 'effects'}[{index}]: {place + ': ' if place else ''}{problem}") from None
    return chain


def wrap_cache(synthesizer: Any, cache_dir: str | Path | None = None) -> Any:
    """Wrap ``synthesizer`` in a CachedSynthesizer (unless it already is one)."""
    from ..voice.cache import DEFAULT_CACHE_DIR, AudioCache, CachedSynthesizer

    if isinstance(synthesizer, CachedSynthesizer):
        if cache_dir is not None:
            synthesizer.cache = AudioCache(cache_dir)
        return synthesizer
    return CachedSynthesizer(synthesizer, cache=AudioCache(cache_dir or DEFAULT_CACHE_DIR))


@dataclass
class RunPipeline:
    """Checked components of a batch: synthesizer (None in text mode), agent, evaluator, effects, seed."""

    synthesizer: Any
    agent: Any
    evaluator: Any
    effects: list[Any] = field(default_factory=list)
    seed: int = 0


def make_pipeline(
    agent: Any,
    synthesizer: Any = None,
    evaluator: Any = None,
    effects: Any = None,
    seed: Any = 0,
    *,
    cache: bool = False,
    cache_dir: str | Path | None = None,
) -> RunPipeline:
    """Check the components and fill in the defaults; raise a clear RussoError for bad ones.

    ``agent``: an object with ``async run(audio)`` or a function (wrapped); ``synthesizer=None``
    is text mode; ``evaluator=None`` gives :func:`default_evaluator`; ``effects`` (see
    :func:`build_effects`) need a synthesizer; ``cache``
    wraps the synthesizer in a disk cache under ``cache_dir``.
    """
    from ..model.protocols import as_agent, check_evaluator, check_synthesizer

    agent_obj = as_agent(agent)
    check_synthesizer(synthesizer)
    chosen = check_evaluator(evaluator if evaluator is not None else default_evaluator())
    chain = build_effects(effects)
    if chain and synthesizer is None:
        raise InvalidArgumentError("effects= change audio, so they need a synthesizer (text mode has no audio)")
    if cache and synthesizer is not None:
        synthesizer = wrap_cache(synthesizer, cache_dir)
    return RunPipeline(synthesizer, agent_obj, chosen, chain, check_seed(seed))
