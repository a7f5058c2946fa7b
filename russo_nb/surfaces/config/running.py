"""Running a suite: its prompt tests and scenarios run as one job (one concurrency cap, one progress).

``run_suite(path, runs=..., max_concurrency=..., tags=...)`` from sync code, or
``start_suite(...)`` for a handle to await, iterate or cancel. Arguments override the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ...execution.engine import EngineOptions, Job, check_runs
from ...model.errors import RussoError, SuiteFileError
from .combine import combine_batches
from .models import Suite, TestSpec
from .pipeline import Pipeline, as_suite, build_pipeline, modules_beside, parse_effects
from .scenarios import plan_suite_scenarios

__all__ = ["EXECUTOR_CLASSES", "SuiteResult", "make_executor", "run_suite", "start_suite", "suite_executor"]


class SuiteResult:
    """What a suite run produced: one BatchResult per test, the combined batch, and scenarios.

    ``batch`` (the combined BatchResult, ``metadata.name`` = the suite's name and the per-test
    slices in ``metadata.params['tests']``) is what reports, history and analysis take.
    """

    def __init__(
        self, name: str, tests: dict[str, Any], batch: Any, scenarios: Any = None, references: Any = None
    ) -> None:
        self.name = name
        self.tests = tests
        self.batch = batch
        self.scenarios = scenarios
        self.references: dict[str, Any] = dict(references or {})
        """Each scored scenario's validated reference result (score 1.0), by name."""

    @property
    def total(self) -> int:
        """Number of runs (prompt runs plus scenario runs)."""
        return self.batch.total + (self.scenarios.total if self.scenarios is not None else 0)

    @property
    def passed_count(self) -> int:
        """Runs that passed (prompt runs plus scenario runs)."""
        return self.batch.passed_count + (self.scenarios.passed_count if self.scenarios is not None else 0)

    @property
    def finished_count(self) -> int:
        """Runs that ran to the end (cancelled ones left out): the denominator of ``pass_rate``."""
        scenario = self.scenarios.finished_count if self.scenarios is not None else 0
        return self.batch.finished_count + scenario

    @property
    def pass_rate(self) -> float:
        """passed / finished runs (cancelled runs left out); NaN when nothing finished."""
        finished = self.finished_count
        return self.passed_count / finished if finished else float("nan")

    @property
    def passed(self) -> bool:
        """True only if every run passed."""
        return self.passed_count == self.total

    @property
    def interrupted(self) -> bool:
        """True when the run was cancelled or interrupted before every run finished."""
        return bool(self.batch.metadata.params.get("interrupted"))

    def summary(self) -> str:
        """One line per test (pass rate and flaky prompts), one per scenario, then the total."""
        from ...model.plain_text import terminal_safe
        from ...results.progress_text import flaky_lines, pass_line

        width = max([len(test_id) for test_id in self.tests] + [4])
        lines = [f"suite {terminal_safe(self.name)}"]
        for test_id, batch in self.tests.items():
            lines.append("  " + pass_line(test_id.ljust(width), batch))
            lines.extend(flaky_lines(batch, indent="  " + " " * (width + 2)))
        if self.scenarios is not None:
            lines.extend(self._scenario_lines(width))
        status = "PASSED" if self.passed else "FAILED"
        if not self.passed and self.total > self.finished_count and self.passed_count == self.finished_count:
            status = "INTERRUPTED"  # runs were cancelled, none that finished failed (as the notebook view says)
        from ...model.thresholds import format_rate

        lines.append(f"{status}: {self.passed_count}/{self.finished_count} runs passed ({format_rate(self.pass_rate)})")
        return "\n".join(lines)

    def _scenario_lines(self, width: int) -> list[str]:
        from ...model.plain_text import terminal_safe
        from ...model.thresholds import format_rate
        from ...results.view.model import prompt_rows

        # the one per-prompt aggregation: cancelled runs are never failures
        rows = prompt_rows(self.scenarios, measures=False)
        by_scenario = self.scenarios.by_scenario()
        width = max([len(terminal_safe(row.prompt)) for row in rows] + [width])
        lines = ["scenarios"]
        for row in rows:
            name = terminal_safe(row.prompt)
            tail = "".join(f", {count} {status}" for status, count in row.other_statuses.items())
            flaky = "  (flaky)" if row.flaky else ""
            rate = format_rate(row.rate if row.rate is not None else float("nan"), 0)
            lines.append(f"  {name.ljust(width)}  {row.passed}/{row.finished} passed ({rate}{tail}){flaky}")
            runs = by_scenario.get(row.prompt, [])
            scores = [run.score for run in runs if run.score is not None and run.status in ("passed", "failed")]
            if scores:
                lines.append(f"  {' ' * width}  score mean {sum(scores) / len(scores):.2f}, min {min(scores):.2f}")
        for name, reference in self.references.items():
            parts = ", ".join(f"{terminal_safe(key)}={value:.2f}" for key, value in reference.scores.items())
            lines.append(f"  {terminal_safe(name).ljust(width)}  reference scores {reference.score:.2f} ({parts})")
        return lines

    def __repr__(self) -> str:
        return f"SuiteResult({self.name!r}, {self.passed_count}/{self.total} passed, tests={len(self.tests)})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """The suite's text summary and the rich view of its combined batch (see :mod:`russo_nb.results.view`)."""
        from ...results.view import mimebundle

        bundle = mimebundle(self.batch)
        bundle["text/plain"] = self.summary()
        return bundle


def _suite_result(suite: Suite, test_ids: list[str], job: Job[Any], parts: list[Any]) -> SuiteResult:
    """The suite's result from its plans' results: prompt tests first (in test order), then scenarios."""
    from ...scenario.batch import merge_scenario_batches

    started = datetime.fromtimestamp(job.started_at, tz=timezone.utc)
    tests = dict(zip(test_ids, parts[: len(test_ids)], strict=True))
    combined = combine_batches(
        tests,
        name=suite.label,
        seed=(suite.seed or 0),
        max_concurrency=job.settings.max_concurrency,
        timeout=job.settings.timeout,
        retries=job.settings.retries,
        started_at=started,
        params={"suite": str(suite.source) if suite.source else suite.label, **job.settings.params()},
    )
    if suite.sweep is not None and tests:
        combined.metadata.params["sweep"] = next(iter(tests.values())).metadata.params.get("sweep")
    scenario_parts = parts[len(test_ids) :]
    scenarios = merge_scenario_batches(scenario_parts) if scenario_parts else None
    stopped = job.interrupted or any(run.status == "cancelled" for run in combined.runs)
    if scenarios is not None:
        stopped = stopped or any(run.status == "cancelled" for run in scenarios.runs)
    if stopped:
        combined.metadata.params["interrupted"] = True
    return SuiteResult(suite.label, tests, combined, scenarios, suite.references)


def _test_effects(suite: Suite, test: TestSpec, index: int, pipeline: Pipeline) -> list[Any]:
    """The test's own ``effects:`` (replacing the suite's), or the suite's."""
    if test.effects is None:
        return pipeline.effects
    try:
        effects = parse_effects(test.effects, f"tests[{index}].effects")
    except SuiteFileError as exc:
        raise SuiteFileError(f"{suite.where()}{exc}") from None
    if effects and pipeline.synthesizer is None:
        raise SuiteFileError(f"{suite.where()}tests[{index}].effects: effects need a synthesizer (text mode has none)")
    return effects


def _plan_test(
    suite: Suite, index: int, test_id: str, pipeline: Pipeline, runs: int | None, settings: EngineOptions
) -> Any:
    """Plan one test's prompts × runs (run in the suite's one job)."""
    from ...execution.pipeline import batch_labels, make_pipeline
    from ...execution.runner import plan_prompts
    from ...model.types import BatchMetadata

    test = suite.tests[index]
    try:
        effects = _test_effects(suite, test, index, pipeline)
        checked = make_pipeline(pipeline.agent, pipeline.synthesizer, pipeline.evaluator, effects, (suite.seed or 0))
        name, tags = batch_labels(f"{suite.label}/{test_id}", test.tags)
        metadata = BatchMetadata(name=name, timeout=settings.timeout, retries=settings.retries, tags=tags)
        count = runs or test.runs or suite.runs
        if suite.sweep is not None:
            return _plan_sweep_test(suite, test, checked, count, metadata)
        return plan_prompts(test.prompt_list, checked, test.expect, count, metadata=metadata)
    except SuiteFileError:
        raise
    except RussoError as exc:
        raise SuiteFileError(f"{suite.where()}tests[{index}]: {exc}") from None


def _plan_sweep_test(suite: Suite, test: TestSpec, pipeline: Any, runs: int, metadata: Any) -> Any:
    """One test's prompts over the suite's ``sweep:`` cells (voices × noise × conditions) × runs."""
    from ...execution.sweep import plan_sweep

    spec = suite.sweep
    assert spec is not None
    try:
        return plan_sweep(
            test.prompt_list,
            pipeline.agent,
            test.expect,
            voices=spec.voices,
            snr_db=spec.snr_db,
            conditions=spec.conditions,
            noise=spec.noise,
            runs=runs,
            seed=suite.seed or 0,
            synthesizer=None if spec.voices else pipeline.synthesizer,
            evaluator=pipeline.evaluator,
            effects=pipeline.effects or None,
            metadata=metadata,
        )
    except RussoError as exc:
        raise SuiteFileError(f"{suite.where()}sweep: {exc}") from None


#: Executor kinds a suite file or ``--dask`` may name, by import path (built like a suite's components).
EXECUTOR_CLASSES = {"dask": "russo_nb.execution.dask_executor.DaskExecutor"}


def make_executor(kind: str = "dask", address: str | None = None, **options: Any) -> Any:
    """The executor of ``kind`` (``dask``: a DaskExecutor on ``address``, or on a local cluster when None)."""
    from ...execution.components import build_component

    return build_component({"class": EXECUTOR_CLASSES[kind], "params": {"client": address, **options}})


def suite_executor(suite: Suite) -> Any:
    """The executor a suite file's ``executor:`` block asks for (None: in process)."""
    spec = suite.executor
    if spec is None or spec.kind == "local":
        return None
    return make_executor(spec.kind, spec.address, chunk_size=spec.chunk_size, n_workers=spec.n_workers)


def start_suite(
    suite: Suite | str | Path,
    runs: int | None = None,
    max_concurrency: int | None = None,
    tags: Sequence[str] | None = None,
    on_progress: Any = None,
    *,
    pipeline: Pipeline | None = None,
    cache: bool | None = None,
    cache_dir: str | Path | None = None,
    options: EngineOptions | None = None,
    executor: Any = None,
    **engine: Any,
) -> Job[SuiteResult]:
    """Validate, build the pipeline and plan every test and scenario (without running them).

    The returned :class:`~russo_nb.execution.engine.Job` runs the prompt tests and the scenarios
    together under the suite's cap; its ``result()`` is a :class:`SuiteResult`. Engine options
    (:class:`~russo_nb.execution.engine.EngineOptions`) come from the file's keys; ``options=`` replaces them,
    and keywords that are not None (``max_concurrency``, ``timeout``, ``rate_limit``, ``seed`` ...) win.
    ``executor`` (an :class:`~russo_nb.execution.engine.Executor`, e.g. a DaskExecutor) overrides the file's
    ``executor:`` block.
    """
    from ...execution.engine import engine_options

    suite = as_suite(suite)
    modules_beside(suite)  # scenario references too (a pipeline given is built already)
    if runs is not None:
        check_runs(runs)
    base = options if options is not None else suite.options()
    settings = engine_options(base, where=suite.label, max_concurrency=max_concurrency, **engine)
    if settings.seed is not None and settings.seed != suite.seed:
        suite = suite.model_copy(update={"seed": settings.seed})
    tests, scenarios = suite.select(tags)
    if pipeline is None:
        pipeline = build_pipeline(suite, cache=cache, cache_dir=cache_dir)
    chosen = {id(test) for test in tests}
    picked = [(index, test_id) for index, test_id in enumerate(suite.test_ids()) if id(suite.tests[index]) in chosen]
    plans = [_plan_test(suite, index, test_id, pipeline, runs, settings) for index, test_id in picked]
    if scenarios:
        plans.extend(plan_suite_scenarios(suite, scenarios, pipeline, runs, settings))
    test_ids = [test_id for _, test_id in picked]
    if executor is None:
        executor = suite_executor(suite)
    job: Job[SuiteResult] = Job(plans, settings, on_progress, executor=executor)
    job.combine = lambda parts: _suite_result(suite, test_ids, job, parts)
    return job


def run_suite(
    suite: Suite | str | Path,
    runs: int | None = None,
    max_concurrency: int | None = None,
    tags: Sequence[str] | None = None,
    on_progress: Any = None,
    **options: Any,
) -> SuiteResult:
    """Run a suite (a :class:`Suite` or a file path) from sync code; ``runs`` etc. override the file.

    Works inside a running event loop (a notebook) too; Ctrl-C keeps the finished runs.
    """
    from ...execution.sync import run_sync

    return run_sync(start_suite(suite, runs, max_concurrency, tags, on_progress, **options))
