"""Building a suite's components: synthesizer (cached), agent, evaluator and effects.

A component the file leaves out comes from the offline demo pipeline (espeak-ng voice,
the local voice agent) and, for the evaluator, from :func:`russo_nb.execution.pipeline.default_evaluator`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...execution.components import ComponentRef, build_component
from ...execution.pipeline import build_effects, default_agent, default_evaluator, default_synthesizer, wrap_cache
from ...model.errors import RussoError, SuiteFileError
from .loading import load_suite
from .models import PipelineSpec, Suite

__all__ = ["Pipeline", "as_suite", "build_pipeline", "modules_beside", "parse_effects", "wrap_cache"]

_LOCAL_AGENT = "russo_nb.adapters.LocalVoiceAgent"


class Pipeline:
    """The built components of a suite: synthesizer (None in text mode), agent, evaluator, effects."""

    def __init__(self, synthesizer: Any, agent: Any, evaluator: Any, effects: list[Any]) -> None:
        self.synthesizer = synthesizer
        self.agent = agent
        self.evaluator = evaluator
        self.effects = effects


def as_suite(suite: Any) -> Suite:
    """A :class:`Suite` from a Suite or a suite file path."""
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, (str, Path)):
        return load_suite(suite)
    raise SuiteFileError(f"expected a suite (russo_nb.config.Suite or a suite file path), got {type(suite).__name__}")


def parse_effects(items: Sequence[Any], where: str) -> list[Any]:
    """A suite file's effect specs as effect objects
    (:func:`russo_nb.execution.pipeline.build_effects`, SuiteFileError)."""
    return build_effects(list(items), where=where, error=SuiteFileError)


def _build(suite: Suite, ref: ComponentRef, slot: str) -> Any:
    """Build one component; an error names the suite file and the slot (``pipeline.agent``)."""
    try:
        return build_component(ref)
    except RussoError as exc:
        raise SuiteFileError(f"{suite.where()}{slot}: {exc}") from None


def _build_synthesizer(suite: Suite, spec: PipelineSpec) -> Any:
    if spec.text_mode:
        return None
    if spec.synthesizer is not None:
        return _build(suite, spec.synthesizer, "pipeline.synthesizer")
    return default_synthesizer()


def _build_evaluator(suite: Suite, spec: PipelineSpec) -> Any:
    if spec.evaluator is not None:
        return _build(suite, spec.evaluator, "pipeline.evaluator")
    return default_evaluator()


def _local_agent_with_intents(suite: Suite, ref: ComponentRef | None, intents: Path) -> ComponentRef:
    """The local voice agent reading the suite's ``intents:`` file."""
    if ref is not None and ref.path not in (_LOCAL_AGENT, f"{_LOCAL_AGENT}.demo"):
        raise SuiteFileError(f"{suite.where()}intents: only the local voice agent reads an intents file")
    if not intents.exists():
        raise SuiteFileError(f"{suite.where()}intents: no such intents file {intents}")
    params = {**(ref.params if ref is not None else {}), "intents": str(intents)}
    return ComponentRef.model_validate({"class": _LOCAL_AGENT, "params": params})


def _build_agent(suite: Suite) -> Any:
    ref = suite.agent_ref()
    intents = suite.intents_path()
    if intents is not None:
        ref = _local_agent_with_intents(suite, ref, intents)
    if ref is None:
        return default_agent()
    return _build(suite, ref, "agent" if suite.agent is not None else "pipeline.agent")


def modules_beside(suite: Suite) -> None:
    """Put the suite file's folder first on ``sys.path``: its ``class:`` / ``factory:`` / scenario references may
    name modules beside it, as a conftest's do, whichever surface starts it (``russo``, ``%russo suite``, code)."""
    if suite.source is None:
        return
    folder = str(suite.source.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)


def build_pipeline(suite: Suite, *, cache: bool | None = None, cache_dir: str | Path | None = None) -> Pipeline:
    """Build the suite's components; missing ones come from the offline demo pipeline.

    ``cache`` / ``cache_dir`` override the file's ``pipeline.cache`` / ``pipeline.cache_dir``;
    when on, the synthesizer is wrapped in a :class:`~russo_nb.voice.cache.CachedSynthesizer`.
    """
    suite = as_suite(suite)
    modules_beside(suite)
    spec = suite.pipeline or PipelineSpec()
    synthesizer = _build_synthesizer(suite, spec)
    agent = _build_agent(suite)
    evaluator = _build_evaluator(suite, spec)
    if synthesizer is not None and (spec.cache if cache is None else cache):
        synthesizer = wrap_cache(synthesizer, cache_dir or spec.cache_dir)
    try:
        effects = parse_effects(suite.effect_items(), "effects")
    except SuiteFileError as exc:
        raise SuiteFileError(f"{suite.where()}{exc}") from None
    if effects and synthesizer is None:
        raise SuiteFileError(
            f"{suite.where()}effects: effects change audio, so they need a synthesizer (text mode has none)"
        )
    return Pipeline(synthesizer, agent, evaluator, effects)
