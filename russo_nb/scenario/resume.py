"""Resume a stopped scenario batch with the scenarios it ran: :func:`russo_nb.resume` of a ScenarioBatch.

The scenarios are planned in the batch's order with its runs per scenario, seed (None: each
scenario's own) and conditions, so each missing (scenario, run) gets the seed it would have had;
the finished runs are kept as they are. Registered with :func:`russo_nb.execution.resume.register_resume`
as this module is imported (the package imports it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..execution.engine import EngineOptions, Job, Progress, RemainingPlan, engine_options
from ..execution.resume import check_seeds, register_resume, run_columns
from ..model.errors import InvalidArgumentError
from ..model.types import BatchMetadata
from .batch import ScenarioBatch, checked_scenarios, plan_scenarios

__all__ = ["resume_scenarios"]


def resume_scenarios(
    result: ScenarioBatch,
    scenarios: Any,
    components: dict[str, Any],
    on_progress: Callable[[Progress], Any] | None,
    options: EngineOptions | None,
    engine: dict[str, Any],
) -> Job[Any]:
    """A job running a loaded scenario batch's cancelled runs, and its runs lost to the infrastructure
    (``NoWorkers``), with ``scenarios`` (see :func:`resume`; a run a scenario's agent answered is kept).

    The scenarios are planned in the batch's order (a run's seed derives from its scenario's
    place, ``derive_seed(seed, unit, run)``), with the batch's runs per scenario, seed (None: each
    scenario's own) and conditions; the finished runs' seeds are checked against the plan's.
    """
    given_components = [name for name, value in components.items() if value is not None]
    if given_components:
        raise InvalidArgumentError(
            f"a scenario batch is resumed with its scenarios alone (they hold its agents, voices and judges); "
            f"{' and '.join(given_components)} given: resume(batch, [scenario, ...])"
        )
    runs, metadata = result.runs, result.metadata
    if not len(runs):
        raise InvalidArgumentError("nothing to resume: the batch has no runs")
    if scenarios is None:
        raise InvalidArgumentError(
            "a scenario batch is resumed with the scenarios it ran (they do not travel in its file): "
            "resume(batch, [scenario, ...])"
        )
    given = {scenario.name: scenario for scenario in checked_scenarios(scenarios)}
    name_of, index_of, status_of = run_columns(runs)
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
    check_seeds(
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


register_resume(ScenarioBatch, resume_scenarios)
