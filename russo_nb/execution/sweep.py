"""Sweeps: which voices, accents and noise levels break an agent — one job, one table, one curve.

``start_sweep(prompts, agent=..., expect=..., voices=[...], snr_db=[None, 20, 10, 5],
conditions={...}, runs=5)`` plans prompts × voices × SNR levels × conditions × runs as one
ordinary :class:`~russo_nb.execution.engine.Job` over one plan (:class:`SweepPlan`, a prompt plan whose
units are *(prompt, cell)* and whose runs carry their cell as run conditions). So the engine
does what it does for any batch (cap, timeouts, retries, progress, cancellation that keeps
finished runs; ``executor=`` to run it on a Dask cluster), and the result is an ordinary
:class:`~russo_nb.model.types.BatchResult` whose runs carry ``voice``, ``snr_db`` (NaN for clean) and
``condition``: exports, the history store, the explorer and ``paired_comparison`` take it as is;
:func:`russo_nb.analysis.by_factor` and friends read the factors.

- Round-robin: run 0 of every (prompt, cell) before any run 1, cells varying fastest, so a
  stopped sweep has finished runs in every cell.
- Synthesis is per (prompt, voice), not per run, SNR or condition: each clip is spoken once and
  shared; the noise and condition chain are applied per run.
- Each run's effects are seeded by (sweep seed, prompt, run), as a batch's are, so the same
  prompt and run hear the same noise draw in every voice and SNR (common random numbers: the
  voices are compared on equal noise), and a one-cell sweep replays ``start_batch`` exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..model.errors import InvalidArgumentError
from ..model.protocols import check_synthesizer, describe, effect_name
from ..model.types import BatchMetadata, BatchResult, ColumnarRuns, Conditions
from .engine import EngineOptions, Executor, Job, Progress, engine_options
from .pipeline import batch_labels, build_effects, make_pipeline
from .runner import PromptPlan, PromptRun, derive_seed, plan_prompts

__all__ = [
    "NO_CONDITION",
    "parse_conditions_text",
    "parse_list_text",
    "SWEEP_FACTORS",
    "SweepCell",
    "is_sweep",
    "sweep_factors",
    "SweepPlan",
    "plan_sweep",
    "run_sweep",
    "run_sweep_sync",
    "start_sweep",
    "sweep_voices",
]

NO_CONDITION = "none"
"""The ``condition`` of runs in a sweep given no ``conditions=`` (no extra effect chain)."""

DEFAULT_VOICE = "en-us"

SWEEP_FACTORS = ("voice", "snr_db", "condition")
"""The run conditions a sweep sets on every run."""


@dataclass(frozen=True)
class SweepCell:
    """One cell of a sweep: a voice, an SNR (None: clean) and a condition, with the chain its runs hear."""

    voice: str
    snr_db: float | None
    condition: str
    effects: tuple[Any, ...]
    effect_names: tuple[str, ...]

    def conditions(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """The run conditions of this cell's runs (``extra``: the sweep's own, e.g. agent_version)."""
        snr = math.nan if self.snr_db is None else float(self.snr_db)
        return {**extra, "voice": self.voice, "snr_db": snr, "condition": self.condition}


def sweep_voices(voices: Any, synthesizer: Any = None) -> dict[str, Any]:
    """``voices=`` as ``{label: synthesizer}``, checked.

    Accepts espeak-ng voice names (``"en-gb-scotland"``, ``"en-us+f3"``), entries of
    :func:`russo_nb.audio.espeak_voices`, a ``{label: synthesizer or voice name}`` mapping (any
    synthesizers: a user's cloud TTS voices), or None: ``synthesizer`` (default: espeak-ng en-us).
    """
    from ..voice.audio.espeak import EspeakSynthesizer
    from ..voice.audio.voices import EspeakVoice, check_voice

    if voices is None:
        if synthesizer is None:
            return {DEFAULT_VOICE: EspeakSynthesizer(voice=DEFAULT_VOICE)}
        check_synthesizer(synthesizer)
        return {str(getattr(synthesizer, "voice", None) or describe(synthesizer)): synthesizer}
    if synthesizer is not None:
        raise InvalidArgumentError(
            "give voices= or synthesizer=, not both; to sweep several synthesizers pass voices={label: synthesizer}"
        )
    if isinstance(voices, (str, EspeakVoice)):
        voices = [voices]
    items: list[tuple[str, Any]] = []
    if isinstance(voices, Mapping):
        items = [(label, value) for label, value in voices.items()]
    elif isinstance(voices, Sequence) and not isinstance(voices, bytes):
        for value in voices:
            if isinstance(value, EspeakVoice):
                items.append((value.label, value))
            elif isinstance(value, str):
                items.append((value, value))
            else:
                raise InvalidArgumentError(
                    f"voices= holds espeak-ng voice names or espeak_voices() entries, got {value!r}; "
                    "pass synthesizers as a dict {label: synthesizer}"
                )
    else:
        raise InvalidArgumentError(
            f"voices= must be a list of espeak-ng voice names or a dict {{label: synthesizer}}, got {voices!r}"
        )
    if not items:
        raise InvalidArgumentError("voices= is empty; give at least one voice, e.g. ['en-us']")
    out: dict[str, Any] = {}
    for label, value in items:
        if not isinstance(label, str) or not label.strip():
            raise InvalidArgumentError(f"a voice label must be a non-empty string, got {label!r}")
        if label in out:
            raise InvalidArgumentError(f"voice {label!r} is given twice; each voice is one level of the sweep")
        if isinstance(value, EspeakVoice):
            out[label] = value.synthesizer()
        elif isinstance(value, str):
            out[label] = EspeakSynthesizer(voice=check_voice(value))
        elif callable(getattr(value, "synthesize", None)):
            out[label] = value
        else:
            raise InvalidArgumentError(
                f"voice {label!r} is {describe(value)}; give an espeak-ng voice name or a synthesizer "
                "with `async def synthesize(self, text) -> Audio`"
            )
    return out


def parse_list_text(text: str | None) -> list[str] | None:
    """``"en-us, en-gb-scotland"`` -> ``["en-us", "en-gb-scotland"]`` (None / blank -> None): the magic's and
    the CLI's ``--voices`` / ``--snr``."""
    if text is None or not str(text).strip():
        return None
    return [part.strip() for part in str(text).split(",") if part.strip()]


def parse_conditions_text(text: str | None) -> dict[str, str | None] | None:
    """``"plain=;phone=telephone;fast=speed:1.25"`` -> ``{"plain": None, "phone": "telephone", ...}``.

    Conditions are separated by ``;`` (an effect chain has commas); ``label=`` is no extra effect;
    a bare spec (``telephone``) is labelled by itself.
    """
    if text is None or not str(text).strip():
        return None
    out: dict[str, str | None] = {}
    for part in str(text).split(";"):
        if not part.strip():
            continue
        label, has_label, spec = part.partition("=")
        if not has_label:
            label, spec = part, part
        label = label.strip()
        if not label:
            raise InvalidArgumentError(
                f"condition {part.strip()!r} has no label; write label=effects, e.g. phone=telephone"
            )
        if label in out:
            raise InvalidArgumentError(f"condition {label!r} is given twice")
        out[label] = spec.strip() or None
    return out


def _snr_levels(snr_db: Any) -> list[float | None]:
    from ..voice.audio.effects import Noise

    levels = [snr_db] if snr_db is None or isinstance(snr_db, (int, float, str)) else list(snr_db)
    if not levels:
        raise InvalidArgumentError("snr_db= is empty; give levels like [None, 20, 10, 5] (None = clean)")
    out: list[float | None] = []
    for level in levels:
        if isinstance(level, str) and level.strip().lower() in ("clean", "none", ""):
            level = None
        elif isinstance(level, str):
            try:
                level = float(level.strip().lower().removesuffix("db"))
            except ValueError:
                raise InvalidArgumentError(f"snr_db level {level!r} is not a number of dB or 'clean'") from None
        elif level is not None and isinstance(level, float) and math.isnan(level):
            level = None
        if level is not None:
            if isinstance(level, bool) or not isinstance(level, (int, float)):
                raise InvalidArgumentError(f"snr_db levels are numbers of dB or None (clean), got {level!r}")
            Noise(snr_db=float(level))  # the effect's own range check
            level = float(level)
        if any((level is None and seen is None) or (level is not None and seen == level) for seen in out):
            raise InvalidArgumentError(f"snr_db level {level!r} is given twice")
        out.append(level)
    return out


def _condition_chains(conditions: Any) -> dict[str, list[Any]]:
    if conditions is None:
        return {NO_CONDITION: []}
    if not isinstance(conditions, Mapping) or not conditions:
        raise InvalidArgumentError(
            "conditions= must be a non-empty dict {label: effects}, e.g. {'plain': None, 'telephone': 'telephone'}"
        )
    out = {}
    for label, effects in conditions.items():
        if not isinstance(label, str) or not label.strip():
            raise InvalidArgumentError(f"a condition label must be a non-empty string, got {label!r}")
        out[label] = build_effects(effects, where=f"conditions[{label!r}]")
    return out


def _cells(
    voices: dict[str, Any], levels: list[float | None], chains: dict[str, list[Any]], base: list[Any], noise: str
) -> list[SweepCell]:
    from ..voice.audio.effects import Noise

    cells = []
    for label in voices:
        for level in levels:
            for condition, chain in chains.items():
                effects = [*base, *([Noise(snr_db=level, kind=noise)] if level is not None else []), *chain]
                cells.append(SweepCell(label, level, condition, tuple(effects), tuple(effect_name(e) for e in effects)))
    return cells


def sweep_factors(result: Any) -> list[str]:
    """The sweep factors the result's runs carry (empty for a batch that is not a sweep)."""
    params = getattr(getattr(result, "metadata", None), "params", None) or {}
    declared = params.get("sweep", {}).get("factors") if isinstance(params.get("sweep"), dict) else None
    if declared:
        return [str(name) for name in declared]
    runs = getattr(result, "runs", None) or []
    if not len(runs):
        return []
    first = _first_conditions(runs) or {}
    return [name for name in SWEEP_FACTORS if name in first]


def _first_conditions(runs: Any) -> Conditions | None:
    """The first run's conditions: from the runs' column when kept as columns (a loaded file: no run built)."""
    stored = runs.field_values("conditions") if isinstance(runs, ColumnarRuns) else None
    if stored is None:
        return runs[0].conditions  # a Run: every run type has conditions
    codes, values = stored
    return values[0] if codes is None else values[int(codes[0])]


def is_sweep(result: Any) -> bool:
    """True when the result varies voice or noise level across its runs (a Sweep tab is worth showing)."""
    factors = sweep_factors(result)
    return "voice" in factors or "snr_db" in factors


class _SweepRun(PromptRun):
    """A prompt run spoken by its cell's voice and heard through its cell's chain."""

    __slots__ = ("cell", "voice")

    @property
    def effects(self) -> list[Any]:
        return list(self.cell.effects)

    @property
    def effect_names(self) -> list[str]:
        return list(self.cell.effect_names)


class SweepPlan(PromptPlan):
    """Prompts × cells (voice, SNR, condition) × runs; unit ``u`` is prompt ``u // C``, cell ``u % C``.

    Cells vary fastest, so each round of the engine's round-robin reaches every cell early.
    """

    def __init__(self, base: PromptPlan, voices: dict[str, Any], cells: list[SweepCell]) -> None:
        self.__dict__.update(base.__dict__)
        self.voices = voices
        self.cells = cells
        self.prompt_count = len(base.prompts)
        self.units = self.prompt_count * len(cells)
        self._cell_conditions = [cell.conditions(self.conditions) for cell in cells]

    def components(self) -> list[tuple[str, Any]]:
        voices = [(f"voice {label!r}", synthesizer) for label, synthesizer in self.voices.items()]
        return super().components() + voices

    def cell_of(self, unit: int) -> tuple[int, SweepCell]:
        """(prompt index, cell) of a unit."""
        prompt, cell = divmod(unit, len(self.cells))
        return prompt, self.cells[cell]

    def conditions_for(self, unit: int, run: int) -> dict[str, Any]:
        return self._cell_conditions[unit % len(self.cells)]

    def item(self, unit: int, run: int) -> _SweepRun:
        prompt, cell = self.cell_of(unit)
        seed = derive_seed(self.ctx.seed, prompt, run) if cell.effects else None
        item = _SweepRun(
            self.ctx,
            self.prompts[prompt],
            self.pids[prompt],
            run,
            self.expected[prompt],
            seed,
            self.conditions_for(unit, run),
        )
        item.cell = cell
        item.voice = (cell.voice, self.voices[cell.voice])
        return item


def plan_sweep(
    prompts: str | Sequence[str],
    agent: Any,
    expect: Any = None,
    *,
    voices: Any = None,
    snr_db: Any = None,
    conditions: Any = None,
    runs: int = 1,
    seed: int = 0,
    synthesizer: Any = None,
    evaluator: Any = None,
    effects: Any = None,
    noise: str = "white",
    keep_audio: bool = True,
    run_conditions: Mapping[str, Any] | None = None,
    metadata: BatchMetadata | None = None,
) -> SweepPlan:
    """The sweep as a plan (checked input; nothing runs yet); :func:`start_sweep` wraps it in a Job."""
    voice_map = sweep_voices(voices, synthesizer)
    levels = _snr_levels(snr_db)
    chains = _condition_chains(conditions)
    first = next(iter(voice_map.values()))
    pipeline = make_pipeline(agent, first, evaluator, effects, seed)
    base_chain = list(pipeline.effects)
    pipeline.effects = []  # each cell carries its whole chain
    from ..voice.audio.effects import NOISE_KINDS

    noise_kind = str(noise).lower()
    if noise_kind not in NOISE_KINDS:
        raise InvalidArgumentError(f"noise= must be one of {', '.join(NOISE_KINDS)}, got {noise!r}")
    cells = _cells(voice_map, levels, chains, base_chain, noise_kind)
    plan = plan_prompts(
        prompts, pipeline, expect, runs, keep_audio=keep_audio, metadata=metadata, conditions=run_conditions
    )
    plan.metadata.synthesizer = ", ".join(f"{label}: {describe(s)}" for label, s in voice_map.items())
    plan.metadata.effects = [effect_name(e) for e in base_chain]
    plan.metadata.params = {
        **plan.metadata.params,
        "sweep": {
            "factors": list(SWEEP_FACTORS),
            "voices": list(voice_map),
            "snr_db": levels,
            "conditions": {label: [effect_name(e) for e in chain] for label, chain in chains.items()},
            "noise": noise_kind,
            "cells": len(cells),
        },
    }
    return SweepPlan(plan, voice_map, cells)


def start_sweep(
    prompts: str | Sequence[str],
    agent: Any = None,
    expect: Any = None,
    *,
    voices: Any = None,
    snr_db: Any = None,
    conditions: Any = None,
    runs: int = 1,
    max_concurrency: int | None = None,
    options: EngineOptions | None = None,
    synthesizer: Any = None,
    evaluator: Any = None,
    effects: Any = None,
    noise: str = "white",
    keep_audio: bool = True,
    on_progress: Callable[[Progress], Any] | None = None,
    name: str | None = None,
    tags: Sequence[str] = (),
    run_conditions: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    **engine: Any,
) -> Job[BatchResult]:
    """Plan a sweep of prompts × voices × SNR levels × conditions × runs as one :class:`Job` (not yet run).

    ``voices``: espeak-ng voice names (``["en-us", "en-gb-scotland", "en-us+f3"]``), entries of
    :func:`russo_nb.audio.espeak_voices`, or ``{label: synthesizer}`` (any synthesizers, e.g. a
    cloud TTS's voices); default ``synthesizer`` or espeak-ng ``en-us``. ``snr_db``: levels of
    ``noise`` (white by default; pink, babble) at that signal-to-noise ratio in dB, None = clean
    (default ``[None]``). ``conditions``: extra effect chains by label (``{"plain": None,
    "telephone": "telephone", "fast": "speed:1.25"}``), applied after the noise; only the labels
    given are run (include a ``None`` chain for a plain baseline). ``effects``: a chain applied
    to every run first. ``run_conditions``: constant run conditions (``{"agent_version": "v2"}``).
    Engine options (:class:`~russo_nb.execution.engine.EngineOptions`: ``max_concurrency``, ``timeout``,
    ``retries``, ``rate_limit``, ``seed`` ...) as :func:`russo_nb.start_batch`, ``executor`` too (a
    DaskExecutor runs the sweep on a cluster). ``await job`` gives a :class:`BatchResult` whose runs carry
    ``voice``, ``snr_db`` (NaN for clean) and ``condition``.
    """
    settings = engine_options(options, where="start_sweep()", max_concurrency=max_concurrency, **engine)
    seed = settings.seed or 0
    label, tag_list = batch_labels(name, tags)
    metadata = BatchMetadata(name=label, tags=tag_list, **settings.metadata_fields())
    plan = plan_sweep(
        prompts,
        agent,
        expect,
        voices=voices,
        snr_db=snr_db,
        conditions=conditions,
        runs=runs,
        seed=seed,
        synthesizer=synthesizer,
        evaluator=evaluator,
        effects=effects,
        noise=noise,
        keep_audio=keep_audio,
        run_conditions=run_conditions,
        metadata=metadata,
    )
    return Job([plan], settings, on_progress, executor=executor)


async def run_sweep(prompts: str | Sequence[str], agent: Any = None, expect: Any = None, **options: Any) -> BatchResult:
    """Run a sweep to the end and return its :class:`BatchResult` (arguments as :func:`start_sweep`)."""
    return await start_sweep(prompts, agent, expect, **options).wait()


def run_sweep_sync(prompts: str | Sequence[str], agent: Any = None, expect: Any = None, **options: Any) -> BatchResult:
    """:func:`run_sweep` for code that cannot ``await`` (scripts, the CLI); Ctrl-C keeps finished runs."""
    from .sync import run_sync

    return run_sync(start_sweep(prompts, agent, expect, **options))
