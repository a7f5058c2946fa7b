"""Resume a stopped batch: run only the runs that never finished, with the seeds they would have had,
and merge them with the runs that did, so a Ctrl-C costs nothing.

:meth:`russo_nb.engine.Job.resume` resumes a job of this session (``%russo resume NAME`` too);
:func:`resume` resumes a batch loaded from an export, given the agent (and synthesizer) to run
it with, or for a scenario batch the scenarios it ran. A resumed run is built exactly as the
first job would have built it: the same prompt (scenario), expected calls, conditions and
derived seed (``derive_seed(seed, prompt, run)``), so the merged batch is the batch an
uninterrupted job would have produced.
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
    from ..scenario.batch import ScenarioBatch
    from .engine import Progress

__all__ = ["resume", "resumed_text"]


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
    runs' own seeds). Engine options (:class:`~russo_nb.engine.EngineOptions`: ``max_concurrency``,
    ``timeout``, ``seed`` ...) as keywords or ``options=``. Runs that finished are kept as they are;
    only the cancelled ones run, and the unfinished runs are read from the file's columns, never
    built one object each.

    A :class:`~russo_nb.scenario.ScenarioBatch` (a scenario batch's JSON lines / Parquet file)
    is resumed with the scenarios it ran in place of the agent: ``resume(batch, [scenario, ...])``
    (their agents, simulated users and judges are in them; no synthesizer, evaluator or effects).
    They run in the batch's order, with its runs per scenario, seed (None: each scenario's own)
    and conditions, so each missing (scenario, run) gets the seed it would have had.
    """
    from ..scenario.batch import ScenarioBatch
    from .runner import start_batch

    if isinstance(result, ScenarioBatch):
        others = {"synthesizer": synthesizer, "evaluator": evaluator, "effects": effects}
        given = [name for name, value in others.items() if value is not None]
        if given:
            raise InvalidArgumentError(
                f"a scenario batch is resumed with its scenarios alone (they hold its agents, voices and judges); "
                f"{' and '.join(given)} given: resume(batch, [scenario, ...])"
            )
        return _resume_scenarios(result, agent, on_progress, options, engine)
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


def _resume_scenarios(
    result: ScenarioBatch,
    scenarios: Any,
    on_progress: Callable[[Progress], Any] | None,
    options: EngineOptions | None,
    engine: dict[str, Any],
) -> Job[Any]:
    """A job running a loaded scenario batch's cancelled runs with ``scenarios`` (see :func:`resume`).

    The scenarios are planned in the batch's order (a run's seed derives from its scenario's
    place, ``derive_seed(seed, unit, run)``), with the batch's runs per scenario, seed (None: each
    scenario's own) and conditions; the finished runs' seeds are checked against the plan's.
    """
    from ..scenario.batch import checked_scenarios, plan_scenarios

    runs, metadata = result.runs, result.metadata
    if not len(runs):
        raise InvalidArgumentError("nothing to resume: the batch has no runs")
    if scenarios is None:
        raise InvalidArgumentError(
            "a scenario batch is resumed with the scenarios it ran (they do not travel in its file): "
            "resume(batch, [scenario, ...])"
        )
    given = {scenario.name: scenario for scenario in checked_scenarios(scenarios)}
    name_of, index_of, status_of = _columns(runs)
    ran = [str(name) for name in metadata.params.get("scenarios") or []]
    names = ran + [name for name in dict.fromkeys(map(str, name_of)) if name not in ran]  # the plan's order
    missing = [name for name in names if name not in given]
    if missing:
        raise InvalidArgumentError(
            f"this batch ran scenarios {names}; give {missing} too: resume(batch, [scenario, ...])"
        )
    extra = [name for name in given if name not in names]
    if extra:
        raise InvalidArgumentError(f"scenarios {extra} are not in this batch (it ran {names}); leave them out")
    counts: dict[str, int] = {}
    for name, index in zip(name_of, index_of, strict=True):
        counts[str(name)] = max(counts.get(str(name), 0), int(index) + 1)
    if len(set(counts.values())) > 1:
        raise InvalidArgumentError(
            f"the scenarios of this batch ran different numbers of times ({counts}: a suite's scenario groups "
            "merged into one batch); it cannot be resumed as one plan: rerun the groups, or resume their jobs"
        )
    per_scenario = max(max(counts.values()), metadata.runs_per_prompt or 0)
    first = runs[int(next(row for row, name in enumerate(name_of) if str(name) == names[0]))]
    settings = engine_options(options, where="resume()", **engine)
    seed = settings.seed if settings.seed is not None else metadata.seed  # None: each scenario's own seed
    base = BatchMetadata(name=metadata.name, tags=list(metadata.tags), **settings.metadata_fields())
    plan = plan_scenarios(
        [given[name] for name in names],
        per_scenario,
        seed=seed,
        metadata=base,
        conditions=dict(first.conditions or {}) or None,
    )
    unit_of = {name: unit for unit, name in enumerate(names)}
    previous: list[Any] = [None] * (len(names) * per_scenario)
    for row, status in enumerate(status_of):
        if status != "cancelled":
            run = runs[row]
            previous[unit_of[str(run.prompt)] * per_scenario + int(run.run_index)] = run
    _check_seeds(
        plan,
        previous,
        each_unit=True,  # with no batch seed each scenario has its own
        given="each scenario's own seed" if seed is None else f"seed={seed}",
        fix="give the batch's seed: resume(batch, scenarios, seed=N), and the scenarios as they were "
        "(a scenario's own seed= counts when the batch had none)",
    )
    parts = (metadata.params.get("resumed") or {}).get("parts") or ()
    remaining = RemainingPlan(plan, previous, metadata.started_at.timestamp(), parts)
    return Job([remaining], settings, on_progress)


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
    prompt_of, index_of, status_of = _columns(runs)
    first_row: dict[str, int] = {}
    for row, prompt in enumerate(prompt_of):
        first_row.setdefault(str(prompt), row)
    finished = [row for row, status in enumerate(status_of) if status != "cancelled"]
    return _Layout(list(first_row), max(int(index) for index in index_of) + 1, first_row, finished)


def _columns(runs: Any) -> list[list[Any]]:
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
    _check_seeds(
        plan,
        previous,
        each_unit=False,  # every run's seed derives from the batch seed: one seeded run checks it
        given="its metadata's seed" if seed is None else f"seed={seed}",
        fix="give the batch's seed: resume(result, agent, ..., seed=N) "
        "(a CSV export has no metadata block: the seed is not in it)",
    )


def _check_seeds(plan: Any, previous: list[Any], *, each_unit: bool, given: str, fix: str) -> None:
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
