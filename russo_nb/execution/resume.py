"""Resume a stopped batch: run only the runs that never finished, with the seeds they would have had,
and merge them with the runs that did, so a Ctrl-C costs nothing.

:meth:`russo_nb.execution.engine.Job.resume` resumes a job of this session (``%russo resume NAME`` too);
:func:`resume` resumes a batch loaded from an export, given the agent (and synthesizer) to run
it with, or for a scenario batch the scenarios it ran. A resumed run is built exactly as the
first job would have built it: the same prompt (scenario), expected calls, conditions and
derived seed (``derive_seed(seed, prompt, run)``), so the merged batch is the batch an
uninterrupted job would have produced.

What runs again (:func:`russo_nb.execution.engine.runs_again`, one rule for every resume): the
runs that never finished (``cancelled``, or never made), and the runs that ended ``error`` for a
reason of the infrastructure, not the agent — an error type in
:data:`~russo_nb.execution.engine.INFRASTRUCTURE_ERRORS` (``NoWorkers``: the Dask cluster lost every
worker before the run came back). Every run the agent answered stays as it is: passed, failed,
timed out, or an error the agent (or its synthesizer, evaluator, effects) raised. Resuming completes
a batch that was cut short; it never asks an agent again for an answer it already gave.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..model.errors import InvalidArgumentError
from ..model.types import BatchMetadata, BatchResult, ColumnarRuns
from .engine import EngineOptions, Job, RemainingPlan, engine_options

if TYPE_CHECKING:
    from ..model.columns import Run
    from .engine import Progress

__all__ = ["check_seeds", "register_resume", "resume", "resumed_text", "run_columns"]

ResumeKind = Callable[..., Job[Any]]
"""How a batch kind resumes: ``(result, agent, components, on_progress, options, engine) -> Job``, where
``agent`` is what :func:`resume` was given second and ``components`` its synthesizer, evaluator and effects."""

_RESUMES: dict[type, ResumeKind] = {}


def register_resume(kind: type, resume_kind: ResumeKind) -> None:
    """Make :func:`resume` resume batches of type ``kind`` with ``resume_kind``.

    The scenario room registers its ScenarioBatch as it is imported (a batch of it exists only then), so
    this room, below it, never imports it (``tests/test_foundation_layering.py``).
    """
    _RESUMES[kind] = resume_kind


def resume(
    result: Any,
    agent: Any,
    synthesizer: Any = None,
    evaluator: Any = None,
    *,
    effects: Sequence[Any] | None = None,
    on_progress: Callable[[Progress], Any] | None = None,
    options: EngineOptions | None = None,
    **engine: Any,
) -> Job[Any]:
    """A job that runs a loaded batch's cancelled runs with ``agent`` and merges them (await it, or ``run_sync``).

    The batch's prompts, runs per prompt, expected calls, conditions and seed come from the
    file; the components do not travel in it, so give the ``agent`` (and for a voice batch the
    ``synthesizer``) it was run with. ``effects`` default to the ones the metadata names (built-in
    effects); ``seed`` to the metadata's (a CSV file has none: give it, it is checked against the
    runs' own seeds). Engine options (:class:`~russo_nb.execution.engine.EngineOptions`: ``max_concurrency``,
    ``timeout``, ``seed`` ...) as keywords or ``options=``. Runs the agent answered are kept as they
    are (passed, failed, timeout, its own error); the cancelled runs and the ``error`` runs lost to the
    infrastructure (``NoWorkers``, see the module doc) run again, in this process. The runs' statuses
    are read from the file's columns: the unfinished runs are never built one object each.

    A :class:`~russo_nb.scenario.ScenarioBatch` (a scenario batch's JSON lines / Parquet file)
    is resumed with the scenarios it ran in place of the agent: ``resume(batch, [scenario, ...])``
    (their agents, simulated users and judges are in them; no synthesizer, evaluator or effects).
    They run in the batch's order, with its runs per scenario, seed (None: each scenario's own)
    and conditions, so each missing (scenario, run) gets the seed it would have had.
    """
    from .runner import start_batch

    for kind, resume_kind in _RESUMES.items():
        if isinstance(result, kind):
            components = {"synthesizer": synthesizer, "evaluator": evaluator, "effects": effects}
            return resume_kind(result, agent, components, on_progress, options, engine)
    if not isinstance(result, BatchResult):
        raise InvalidArgumentError(
            f"resume() takes a prompt batch (a result, or russo_nb.load_results(path)), not {type(result).__name__}"
        )
    if result.metadata.kind != "prompts":
        raise InvalidArgumentError(
            f"this BatchResult holds {result.metadata.kind!r} runs (to_batch_result()); resume the "
            "ScenarioBatch itself: resume(scenario_batch, [scenario, ...])"
        )
    runs, metadata = result.runs, result.metadata
    if not len(runs):
        raise InvalidArgumentError("nothing to resume: the batch has no runs")
    layout = _layout(runs)
    prompts, per_prompt = layout.prompts, layout.runs_per_prompt
    declared = metadata.runs_per_prompt
    per_prompt = max(per_prompt, int(declared)) if isinstance(declared, int) else per_prompt
    first = {prompt: runs[row] for prompt, row in layout.first_row.items()}  # one run per prompt, for its expectations
    expected = {prompt: list(run.eval_result.expected) if run.eval_result else [] for prompt, run in first.items()}
    conditions = dict(first[prompts[0]].conditions or {})
    settings = engine_options(options, where="resume()", **engine)
    seed = settings.seed if settings.seed is not None else metadata.seed
    if effects is None and metadata.effects:
        effects = _effects_named(list(metadata.effects))
    job = start_batch(
        prompts,
        synthesizer,
        agent,
        evaluator,
        expect=expected,
        runs=per_prompt,
        options=replace(settings, seed=int(seed or 0)),
        effects=effects,
        name=metadata.name,
        conditions=conditions or None,
        on_progress=on_progress,
    )
    plan = job.plans[0]
    slot_of = {prompt: index for index, prompt in enumerate(prompts)}
    previous: list[Any] = [None] * plan.total
    for row in layout.finished_rows:
        run = runs[row]
        previous[slot_of[str(run.prompt)] * per_prompt + int(run.run_index)] = run
    _check_same_batch(plan, previous, metadata, seed)
    plan.ctx.audio.update(result.audio)
    started_at = metadata.started_at.timestamp()
    parts = (metadata.params.get("resumed") or {}).get("parts") or ()
    return Job([RemainingPlan(plan, previous, started_at, parts)], job.settings, on_progress)


def resumed_text(params: dict[str, Any]) -> str:
    """ "Resumed: 7 runs, then 13" for a resumed batch (``params["resumed"]["parts"]``), "" otherwise."""
    parts = (params.get("resumed") or {}).get("parts") if isinstance(params.get("resumed"), dict) else None
    if not parts:
        return ""
    counts = [f"{int(count):,}" for count in parts]
    return f"Resumed: {counts[0]} runs, then {', then '.join(counts[1:])} (one batch, same seeds)"


@dataclass
class _Layout:
    """Where a loaded batch's runs are: its prompts in order, runs per prompt, one row per prompt, the finished rows."""

    prompts: list[str]
    runs_per_prompt: int
    first_row: dict[str, int]
    finished_rows: list[int]


def _layout(runs: Any) -> _Layout:
    """The batch's layout from its columns (a loaded table, a stopped batch) without building every run."""
    prompt_of, index_of, status_of = run_columns(runs)
    first_row: dict[str, int] = {}
    for row, prompt in enumerate(prompt_of):
        first_row.setdefault(str(prompt), row)
    finished = [row for row, status in enumerate(status_of) if status != "cancelled"]
    return _Layout(list(first_row), max(int(index) for index in index_of) + 1, first_row, finished)


def run_columns(runs: Any) -> list[list[Any]]:
    """Every run's prompt (a scenario's name), run index and status: from the runs' columns, else from the runs."""
    columns = [_column(runs, name) for name in ("prompt", "run_index", "status")]
    if all(column is not None for column in columns):
        return columns  # type: ignore[return-value]
    built: list[Run] = list(runs)
    return [[run.prompt for run in built], [run.run_index for run in built], [run.status for run in built]]


def _column(runs: Any, name: str) -> list[Any] | None:
    """Run field ``name`` of every run from the runs' columns (None when they have none)."""
    values = runs.field_values(name) if isinstance(runs, ColumnarRuns) else None
    if values is None:
        return None
    codes, distinct = values
    return list(distinct) if codes is None else [distinct[code] for code in codes]


def _effects_named(names: list[str]) -> list[Any]:
    """The effects a batch's metadata names (built-in effects' names are their specs)."""
    from ..voice.audio.effects import parse_effects

    try:
        return parse_effects(",".join(names))
    except InvalidArgumentError:
        raise InvalidArgumentError(
            f"this batch was run with effects {names}, which are not built-in effects; "
            "give the same effects again: resume(result, agent, synthesizer, effects=[...])"
        ) from None


def _check_same_batch(plan: Any, previous: list[Any], metadata: BatchMetadata, seed: Any) -> None:
    """Refuse a resume whose runs would not be the ones the batch would have run (other seed, other effects)."""
    names = list(metadata.effects)
    if names and list(plan.ctx.effect_names) != names:
        raise InvalidArgumentError(
            f"this batch was run with effects {names}, not {list(plan.ctx.effect_names)}; give the same effects"
        )
    check_seeds(
        plan,
        previous,
        each_unit=False,  # every run's seed derives from the batch seed: one seeded run checks it
        given="its metadata's seed" if seed is None else f"seed={seed}",
        fix="give the batch's seed: resume(result, agent, ..., seed=N) "
        "(a CSV export has no metadata block: the seed is not in it)",
    )


def check_seeds(plan: Any, previous: list[Any], *, each_unit: bool, given: str, fix: str) -> None:
    """Refuse finished runs whose seed is not the one ``plan`` gives their slot (another seed, another order).

    Checks the first seeded run, or with ``each_unit`` the first of each unit (prompt, scenario).
    """
    checked: set[int] = set()
    for slot, run in enumerate(previous):
        if run is None or run.seed is None:
            continue
        unit, index = divmod(slot, plan.runs)
        if unit in checked:
            continue
        if plan.item(unit, index).seed != run.seed:
            raise InvalidArgumentError(
                f"the runs of this batch were not seeded from {given} (run {index} of {run.prompt!r} has seed "
                f"{run.seed}); {fix}"
            )
        if not each_unit:
            return
        checked.add(unit)
