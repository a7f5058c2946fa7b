"""Repeated scenario runs through the one concurrent engine, collected in a ScenarioBatch.

``run_scenarios(scenarios, runs=N)`` hands scenarios × runs to
:class:`russo_nb.execution.engine.Job` (the same cap, timeouts, retries, progress and
cancellation as prompt runs). The :class:`ScenarioBatch` gives success rate, score
statistics, pass^k, a DataFrame with one row per run, and :meth:`ScenarioBatch.to_batch_result`
so every analysis function written for prompt batches works on scenarios too.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..execution.engine import EngineOptions, Executor, Job, Plan, Progress, check_runs, engine_options, stamped
from ..execution.pipeline import batch_labels, check_seed
from ..execution.runner import derive_seed
from ..model.conditions import check_conditions
from ..model.errors import InvalidArgumentError
from ..model.rendering import Rendered
from ..model.types import (
    AgentResponse,
    Audio,
    BatchMetadata,
    BatchResult,
    Conditions,
    RunCounts,
    SingleRunResult,
    ToolCall,
    runs_by,
)
from .result import ScenarioResult
from .spec import Scenario, ScenarioRun

__all__ = [
    "ScenarioBatch",
    "ScenarioPlan",
    "checked_scenarios",
    "merge_scenario_batches",
    "plan_scenarios",
    "run_scenarios",
    "run_scenarios_sync",
    "start_scenarios",
]


class ScenarioBatch(RunCounts, Rendered, BaseModel):
    """Every run of a set of scenarios, with the batch's parameters.

    ``pass_rate`` counts runs whose status is ``passed`` (verdict, and score threshold
    when set); ``success_rate`` counts verdicts alone.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    runs: list[ScenarioResult] = Field(default_factory=list)
    metadata: BatchMetadata = Field(default_factory=lambda: BatchMetadata(kind="scenarios"))

    @model_validator(mode="after")
    def _attach_expected_calls(self) -> ScenarioBatch:
        """Give each run the calls its scenario's scorers expect, so every run carries its own evaluation."""
        for run in self.runs:
            if not run.expected_calls:
                expected = _expected_calls(self.metadata, run.name)
                if expected:
                    run.expected_calls = expected
        return self

    # -- counts (total, passed_count, failed_count, passed, pass_rate: RunCounts) ----------
    @property
    def success_rate(self) -> float:
        """Fraction of runs whose verdict was success."""
        return sum(1 for run in self.runs if run.success) / self.total if self.runs else 1.0

    @property
    def audio(self) -> dict[str, Audio]:
        """Every clip heard in the batch's voice runs, keyed by audio_key."""
        clips: dict[str, Audio] = {}
        for run in self.runs:
            clips.update(run.audio)
        return clips

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in first-seen order."""
        return list(self.by_scenario())

    def by_scenario(self) -> dict[str, list[ScenarioResult]]:
        """Runs grouped by scenario name."""
        return runs_by(self.runs, lambda run: run.name)

    def iter_failures(self) -> list[ScenarioResult]:
        """Runs that did not pass, in order."""
        return [run for run in self.runs if run.status != "passed"]

    # -- statistics ----------------------------------------------------------------------
    @property
    def scores(self) -> list[float]:
        """The scores of runs that have one."""
        return [run.score for run in self.runs if run.score is not None]

    @property
    def mean_score(self) -> float | None:
        """Mean score over runs with a score (None when no scenario has scorers)."""
        scores = self.scores
        return statistics.fmean(scores) if scores else None

    def score_stats(self) -> dict[str, float | int | None]:
        """n, mean, standard deviation, min, median and max of the scores."""
        scores = self.scores
        if not scores:
            return {"n": 0, "mean": None, "std": None, "min": None, "median": None, "max": None}
        return {
            "n": len(scores),
            "mean": statistics.fmean(scores),
            "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "min": min(scores),
            "median": statistics.median(scores),
            "max": max(scores),
        }

    def pass_hat_k(self, k: int) -> float:
        """pass^k (τ-bench): chance that k runs of a scenario *all* pass, averaged over scenarios."""
        from ..model.rendering import render

        return render("pass_k", self, k=k, every=True)  # the results room computes it

    def pass_at_k(self, k: int) -> float:
        """pass@k: chance that at least one of k runs passes (unbiased estimator), averaged over scenarios."""
        from ..model.rendering import render

        return render("pass_k", self, k=k, every=False)

    # -- views ---------------------------------------------------------------------------
    def to_dataframe(self) -> Any:
        """One row per run: the run table, the same as :func:`russo_nb.analysis.runs_frame` of this batch.

        The prompt-run columns (prompt is the scenario's name) and the scenario columns:
        scenario, success, score, score_<name> per scorer, turns, n_turns, tool_calls (count),
        tools, criteria_passed, criteria_failed, failed_criteria, total_time, agent_time,
        reasoning, tags, thread_id (see :func:`russo_nb.model.run_fields.run_table`).
        """
        from ..model.rendering import render

        return render("runs_frame", self)  # a loaded CSV / Parquet table: read from its columns, no run built

    def to_batch_result(self) -> BatchResult:
        """This batch as a russo BatchResult (``metadata.kind == "scenarios"``) for the analysis functions.

        Each run becomes a SingleRunResult: ``prompt`` is the scenario name, ``eval_result``
        holds the verdict, the expected calls of a ``tool_call_match`` scorer and the calls
        made; ``latency_s`` is agent time; ``transcript`` the messages. ``audio_key`` is the first
        clip the agent heard. Scores, criteria and reasoning stay on the scenario runs: exports, the
        history store and reloads keep a ScenarioBatch as it is (nothing is packed into ``response.raw``).
        """
        runs: list[SingleRunResult] = []
        for run in self.runs:
            eval_result = run.eval_result
            actual = eval_result.actual
            audio_key = next(
                (m["audio_key"] for m in run.messages if m.get("role") == "user" and m.get("audio_key")), None
            )
            last_text = next(
                (m.get("content") for m in reversed(run.messages) if m.get("role") == "assistant" and m.get("content")),
                None,
            )
            runs.append(
                SingleRunResult(
                    prompt=run.name,
                    run_index=run.run_index,
                    eval_result=eval_result,
                    status=run.status,
                    error=run.error,
                    latency_s=run.agent_time,
                    attempts=run.attempts,
                    retried=run.retried,
                    audio_key=audio_key,
                    response=AgentResponse(tool_calls=actual, text=last_text if isinstance(last_text, str) else None),
                    seed=run.seed,
                    started_at=run.started_at,
                    transcript=run.messages,
                    conditions=run.conditions,
                )
            )
        metadata = self.metadata.model_copy(update={"kind": "scenarios"})
        return BatchResult(runs=runs, audio=self.audio, metadata=metadata)

    def __repr__(self) -> str:
        return (
            f"ScenarioBatch({self.passed_count}/{self.total} passed, pass_rate={self.pass_rate:.1%}, "
            f"scenarios={len(self.by_scenario())})"
        )


def _expected_calls(metadata: BatchMetadata, scenario: str) -> list[ToolCall]:
    """The calls a scenario's tool_call_match scorers expect (kept as dicts in the metadata)."""
    per_scorer = metadata.params.get("expected_calls", {}).get(scenario, {})
    return [ToolCall(**call) for calls in per_scorer.values() for call in calls]


class ScenarioPlan(Plan[ScenarioResult, "ScenarioBatch"]):
    """Scenarios × runs: builds each run's work item on demand and collects a :class:`ScenarioBatch`."""

    def __init__(
        self,
        scenarios: list[Scenario],
        runs: int,
        seed: int | None,
        metadata: BatchMetadata,
        conditions: Conditions | None = None,
    ) -> None:
        self.conditions = conditions or {}
        self.scenarios = scenarios
        self.units = len(scenarios)
        self.runs = runs
        self.seed = seed
        self.metadata = metadata

    def item(self, unit: int, run: int) -> ScenarioRun:
        scenario = self.scenarios[unit]
        base = scenario.seed if self.seed is None else self.seed
        item = scenario.prepare(run, derive_seed(base, unit, run))
        item.conditions = self.conditions_for(unit, run)
        return item

    def collect(
        self, runs: list[ScenarioResult], started_at: float, finished_at: float, interrupted: bool
    ) -> ScenarioBatch:
        # scenario runs are few and costly: a stopped batch's unfinished ones are built (runs may be PartialRuns)
        return ScenarioBatch(runs=list(runs), metadata=stamped(self.metadata, started_at, finished_at, interrupted))

    def components(self) -> list[tuple[str, Any]]:
        return [(f"scenario {scenario.name!r}", scenario) for scenario in self.scenarios]


def merge_scenario_batches(parts: list[ScenarioBatch]) -> ScenarioBatch:
    """One ScenarioBatch from several (scenario groups with different run counts)."""
    if len(parts) == 1:
        return parts[0]
    metadata = parts[0].metadata.model_copy()
    counts = {part.metadata.runs_per_prompt for part in parts}
    metadata.runs_per_prompt = counts.pop() if len(counts) == 1 else None
    names = [name for part in parts for name in part.metadata.params.get("scenarios", [])]
    expected: dict[str, Any] = {}
    for part in parts:
        expected.update(part.metadata.params.get("expected_calls", {}))
    interrupted = any(part.metadata.params.get("interrupted") for part in parts)
    metadata.params = {**metadata.params, "scenarios": names, "expected_calls": expected}
    if interrupted:
        metadata.params["interrupted"] = True
    return ScenarioBatch(runs=[run for part in parts for run in part.runs], metadata=metadata)


def checked_scenarios(scenarios: Any) -> list[Scenario]:
    """``scenarios`` (one Scenario or a non-empty list of them, with distinct names) as a list; else a clear error."""
    if isinstance(scenarios, Scenario):
        return [scenarios]
    if not isinstance(scenarios, Sequence) or isinstance(scenarios, (str, bytes)) or not scenarios:
        raise InvalidArgumentError("scenarios must be a Scenario or a non-empty list of them")
    out = list(scenarios)
    for item in out:
        if not isinstance(item, Scenario):
            raise InvalidArgumentError(
                f"scenarios holds {type(item).__name__}; build each with russo_nb.scenario.Scenario(name=..., ...)"
            )
    names = [s.name for s in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidArgumentError(
            f"two scenarios share the name {duplicates[0]!r}; names identify runs, make them unique"
        )
    return out


def plan_scenarios(
    scenarios: Scenario | Sequence[Scenario],
    runs: int = 1,
    *,
    seed: int | None = None,
    metadata: BatchMetadata | None = None,
    conditions: Conditions | None = None,
) -> ScenarioPlan:
    """Check the scenarios and plan scenarios × runs (nothing runs yet); every run carries ``conditions``."""
    conditions = check_conditions(conditions)
    scenario_list = checked_scenarios(scenarios)
    runs = check_runs(runs)
    if seed is not None:
        seed = check_seed(seed)
    for scenario in scenario_list:
        scenario.check()  # a misconfiguration raises now, not once per run
    expected: dict[str, dict[str, list[Any]]] = {}
    for scenario in scenario_list:
        for scorer in scenario.weighted_scorers:
            calls = getattr(scorer.func, "expected", None)
            if calls:
                expected.setdefault(scenario.name, {})[scorer.name] = [call.model_dump() for call in calls]
    agents = sorted({_agent_name(s) for s in scenario_list})
    base = metadata if metadata is not None else BatchMetadata()
    metadata = base.model_copy(
        update={
            "kind": "scenarios",
            "agent": ", ".join(agents) or None,
            "evaluator": "scenario judge",
            "seed": seed,
            "runs_per_prompt": runs,
            "params": {
                **base.params,
                "scenarios": [s.name for s in scenario_list],
                "expected_calls": expected,
            },
        }
    )
    return ScenarioPlan(scenario_list, runs, seed, metadata, conditions)


def start_scenarios(
    scenarios: Scenario | Sequence[Scenario],
    runs: int = 1,
    max_concurrency: int | None = None,
    *,
    options: EngineOptions | None = None,
    on_progress: Callable[[Progress], Any] | None = None,
    name: str | None = None,
    tags: Sequence[str] = (),
    conditions: Conditions | None = None,
    executor: Executor | None = None,
    **engine: Any,
) -> Job[ScenarioBatch]:
    """Check everything and prepare the batch without running it (see :func:`run_scenarios`).

    ``conditions`` (``{"agent_version": "v2"}``) is carried by every run, as for prompt batches.
    Engine options (:class:`~russo_nb.execution.engine.EngineOptions`) as keywords or ``options=``; ``seed``
    left at None gives each scenario its own seed.
    """
    settings = engine_options(options, where="start_scenarios()", max_concurrency=max_concurrency, **engine)
    name, tag_list = batch_labels(name, tags)
    metadata = BatchMetadata(name=name, tags=tag_list, **settings.metadata_fields())
    plan = plan_scenarios(scenarios, runs, seed=settings.seed, metadata=metadata, conditions=conditions)
    return Job([plan], settings, on_progress, executor=executor)


def _agent_name(scenario: Scenario) -> str:
    from ..model.protocols import describe
    from .adapters import AgentRole, as_adapter, role_of

    try:
        for agent in scenario.make_agents():
            adapter = as_adapter(agent)
            if role_of(adapter) == AgentRole.AGENT:
                return describe(adapter)
    except Exception:
        return "?"
    return "?"


async def run_scenarios(
    scenarios: Scenario | Sequence[Scenario], runs: int = 1, max_concurrency: int | None = None, **options: Any
) -> ScenarioBatch:
    """Run each scenario ``runs`` times through the concurrent engine and collect a :class:`ScenarioBatch`.

    Options as for prompt batches: ``timeout`` (per run), ``retries``/``retry_on``/``retry_backoff``,
    ``seed`` (each run gets its own seed derived from it), ``on_progress``, ``name``, ``tags``,
    ``conditions`` (carried by every run).
    """
    return await start_scenarios(scenarios, runs, max_concurrency, **options).wait()


def run_scenarios_sync(
    scenarios: Scenario | Sequence[Scenario], runs: int = 1, max_concurrency: int | None = None, **options: Any
) -> ScenarioBatch:
    """:func:`run_scenarios` for code that cannot ``await``; Ctrl-C keeps finished runs."""
    from ..execution.sync import run_sync

    return run_sync(start_scenarios(scenarios, runs, max_concurrency, **options))
