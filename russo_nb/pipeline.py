"""The one place options become a run pipeline: components, defaults and batch labels.

Every front end (``run_concurrent``/``start_batch``, the ``%russo`` magics, the ``russo``
CLI and suite files, the pytest plugin, the demo) only translates its own syntax into the
arguments of :func:`make_pipeline` and :func:`batch_labels`; the defaults are decided here.

Default evaluator policy: ``ExactEvaluator(ignore_extra_args=True)``. An expectation names
the tool calls and the arguments that must be there with those values; arguments the agent
adds beyond them do not fail a run, calls it makes beyond the expected ones do not either
(``ignore_extra_calls=True``), a missing or different call or argument does. Pass
``evaluator=ExactEvaluator()`` for the strict variant.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidArgumentError

__all__ = [
    "RunPipeline",
    "batch_labels",
    "check_seed",
    "default_agent",
    "default_evaluator",
    "default_synthesizer",
    "make_pipeline",
    "wrap_cache",
]


def default_synthesizer(cache: bool = False, **options: Any) -> Any:
    """The offline voice: :class:`EspeakSynthesizer` (``cache=True`` wraps it in CachedSynthesizer)."""
    from .audio.espeak import EspeakSynthesizer

    synthesizer = EspeakSynthesizer(**options)
    if cache:
        from .cache import CachedSynthesizer

        return CachedSynthesizer(synthesizer)
    return synthesizer


def default_agent(**options: Any) -> Any:
    """The offline agent under test: :meth:`LocalVoiceAgent.demo`."""
    from .adapters.local import LocalVoiceAgent

    return LocalVoiceAgent.demo(**options)


def default_evaluator() -> Any:
    """The evaluator a batch gets when none is given (see the module docstring for the policy)."""
    from .evaluators import ExactEvaluator

    return ExactEvaluator(ignore_extra_args=True)


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


def wrap_cache(synthesizer: Any, cache_dir: str | Path | None = None) -> Any:
    """Wrap ``synthesizer`` in a CachedSynthesizer (unless it already is one)."""
    from .cache import DEFAULT_CACHE_DIR, AudioCache, CachedSynthesizer

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
    is text mode; ``evaluator=None`` gives :func:`default_evaluator`; ``effects`` may be spec
    strings (``"noise:10db,telephone"``) or effect objects and need a synthesizer; ``cache``
    wraps the synthesizer in a disk cache under ``cache_dir``.
    """
    from .protocols import as_agent, check_effects, check_evaluator, check_synthesizer

    agent_obj = as_agent(agent)
    check_synthesizer(synthesizer)
    chosen = check_evaluator(evaluator if evaluator is not None else default_evaluator())
    chain = check_effects(effects)
    if chain and synthesizer is None:
        raise InvalidArgumentError("effects= change audio, so they need a synthesizer (text mode has no audio)")
    if cache and synthesizer is not None:
        synthesizer = wrap_cache(synthesizer, cache_dir)
    return RunPipeline(synthesizer, agent_obj, chosen, chain, check_seed(seed))
