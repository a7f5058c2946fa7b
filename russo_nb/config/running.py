"""Running a suite: every test's runs share one engine execution (one concurrency cap, one progress).

``run_suite(path, runs=..., max_concurrency=..., tags=...)`` from sync code, or
``start_suite(...)`` for a handle to await, iterate or cancel. Arguments override the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import RussoError, SuiteFileError
from .combine import combine_batches
from .models import Suite, TestSpec
from .pipeline import Pipeline, as_suite, build_pipeline, parse_effects
from .scenarios import start_suite_scenarios

__all__ = ["SuiteResult", "SuiteRun", "run_suite", "start_suite"]


class SuiteResult:
    """What a suite run produced: one BatchResult per test, the combined batch, and scenarios.

    ``result`` (the combined batch, ``metadata.name`` = the suite's name and the per-test
    slices in ``metadata.params['tests']``) is what reports, history and analysis take.
    """

    def __init__(self, name: str, tests: dict[str, Any], result: Any, scenarios: Any = None) -> None:
        self.name = name
        self.tests = tests
        self.result = result
        self.scenarios = scenarios

    @property
    def total(self) -> int:
        """Number of runs (prompt runs plus scenario runs)."""
        return self.result.total + (self.scenarios.total if self.scenarios is not None else 0)

    @property
    def passed_count(self) -> int:
        """Runs that passed (prompt runs plus scenario runs)."""
        return self.result.passed_count + (self.scenarios.passed_count if self.scenarios is not None else 0)

    @property
    def finished_count(self) -> int:
        """Runs that ran to the end (cancelled ones left out): the denominator of ``pass_rate``."""
        scenario = self.scenarios.finished_count if self.scenarios is not None else 0
        return self.result.finished_count + scenario

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
        return bool(self.result.metadata.params.get("interrupted"))

    def summary(self) -> str:
        """One line per test (pass rate and flaky prompts), one per scenario, then the total."""
        from ..plain_text import terminal_safe
        from ..progress_text import flaky_lines, pass_line

        width = max([len(test_id) for test_id in self.tests] + [4])
        lines = [f"suite {terminal_safe(self.name)}"]
        for test_id, batch in self.tests.items():
            lines.append("  " + pass_line(test_id.ljust(width), batch))
            lines.extend(flaky_lines(batch, indent="  " + " " * (width + 2)))
        if self.scenarios is not None:
            lines.extend(self._scenario_lines(width))
        status = "PASSED" if self.passed else "FAILED"
        from ..analysis.thresholds import format_rate

        lines.append(f"{status}: {self.passed_count}/{self.finished_count} runs passed ({format_rate(self.pass_rate)})")
        return "\n".join(lines)

    def _scenario_lines(self, width: int) -> list[str]:
        from ..plain_text import terminal_safe

        by_name = {terminal_safe(name): runs for name, runs in self.scenarios.by_scenario().items()}
        width = max([len(name) for name in by_name] + [width])
        lines = ["scenarios"]
        for name, runs in by_name.items():
            passed = sum(1 for run in runs if run.status == "passed")
            extra = [run.status for run in runs if run.status not in ("passed", "failed")]
            tail = f", {len(extra)} {extra[0]}" if extra else ""
            flaky = "  (flaky)" if 0 < passed < len(runs) else ""
            lines.append(f"  {name.ljust(width)}  {passed}/{len(runs)} passed ({passed / len(runs):.0%}{tail}){flaky}")
        return lines

    def __repr__(self) -> str:
        return f"SuiteResult({self.name!r}, {self.passed_count}/{self.total} passed, tests={len(self.tests)})"


class SuiteRun:
    """A suite being executed: all its tests share one engine run (one concurrency cap, one progress).

    ``await run.wait()`` or ``run_sync(run)`` gives the :class:`SuiteResult`; ``cancel()``
    stops it and ``result()`` keeps what finished.
    """

    def __init__(self, suite: Suite, test_ids: list[str], batches: list[Any], execution: Any, scenarios: Any) -> None:
        self.suite = suite
        self.test_ids = test_ids
        self.batches = batches
        self.execution = execution
        self.scenario_run = scenarios
        self._scenario_result: Any = None
        self._cancelled = False

    async def wait(self) -> SuiteResult:
        """Run every test (then every scenario) and return the result."""
        if self.execution is not None:
            await self.execution.wait()
        if self.scenario_run is not None and not self._cancelled:
            self._scenario_result = await self.scenario_run.wait()
        return self.result()

    def cancel(self) -> None:
        """Cancel unfinished runs; finished ones are kept."""
        self._cancelled = True
        if self.execution is not None:
            self.execution.cancel()
        if self.scenario_run is not None:
            self.scenario_run.cancel()

    def _test_results(self, started: datetime, finished: datetime) -> dict[str, Any]:
        """Each test's BatchResult, cut from the shared execution's runs in test order."""
        from ..types import BatchResult

        runs = self.execution.results() if self.execution is not None else []
        tests: dict[str, Any] = {}
        offset = 0
        for test_id, batch in zip(self.test_ids, self.batches, strict=True):
            # The test's own execution never ran (the shared one did): take its audio store and
            # metadata from its result and put in the runs the shared execution produced for it.
            own = batch.result()
            size = len(own.runs)
            metadata = own.metadata.model_copy()
            metadata.started_at, metadata.finished_at = started, finished
            chunk = runs[offset : offset + size]
            tests[test_id] = BatchResult.model_construct(runs=chunk, audio=dict(own.audio), metadata=metadata)
            offset += size
        return tests

    def result(self) -> SuiteResult:
        """The suite as it stands, unfinished runs marked ``cancelled``."""
        finished = datetime.now(timezone.utc)
        execution = self.execution
        started = datetime.fromtimestamp(execution.started_at, tz=timezone.utc) if execution is not None else finished
        tests = self._test_results(started, finished)
        suite = self.suite
        combined = combine_batches(
            tests,
            name=suite.label,
            seed=suite.seed,
            max_concurrency=execution.settings.max_concurrency if execution is not None else None,
            timeout=suite.timeout,
            started_at=started,
            params={"suite": str(suite.source) if suite.source else suite.label},
        )
        if self._cancelled or any(run.status == "cancelled" for run in combined.runs):
            combined.metadata.params["interrupted"] = True
        scenarios = self._scenario_result
        if scenarios is None and self.scenario_run is not None and self._cancelled:
            scenarios = self.scenario_run.result()
        return SuiteResult(suite.label, tests, combined, scenarios)


def _check_runs(runs: Any) -> None:
    from ..errors import InvalidArgumentError

    if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 1):
        raise InvalidArgumentError(f"runs must be a whole number >= 1, got {runs!r}")


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


def _start_test(suite: Suite, index: int, test_id: str, pipeline: Pipeline, runs: int | None) -> Any:
    """Prepare one test's runs as a PromptBatch (run through the suite's shared execution)."""
    from ..runner import start_batch

    test = suite.tests[index]
    try:
        return start_batch(
            test.prompt_list,
            pipeline.synthesizer,
            pipeline.agent,
            pipeline.evaluator,
            test.expect,
            runs or test.runs or suite.runs,
            effects=_test_effects(suite, test, index, pipeline),
            seed=suite.seed,
            name=f"{suite.label}/{test_id}",
            tags=test.tags,
        )
    except SuiteFileError:
        raise
    except RussoError as exc:
        raise SuiteFileError(f"{suite.where()}tests[{index}]: {exc}") from None


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
) -> SuiteRun:
    """Validate, build the pipeline and prepare every test's runs (without running them)."""
    from ..engine import EngineSettings, Execution

    suite = as_suite(suite)
    _check_runs(runs)
    tests, scenarios = suite.select(tags)
    if pipeline is None:
        pipeline = build_pipeline(suite, cache=cache, cache_dir=cache_dir)
    chosen = {id(test) for test in tests}
    picked = [(index, test_id) for index, test_id in enumerate(suite.test_ids()) if id(suite.tests[index]) in chosen]
    batches = [_start_test(suite, index, test_id, pipeline, runs) for index, test_id in picked]
    concurrency = max_concurrency if max_concurrency is not None else suite.max_concurrency
    settings = EngineSettings(max_concurrency=concurrency, timeout=suite.timeout)
    items = [item for batch in batches for item in batch.execution.items]
    execution = Execution(items, settings, on_progress) if items else None
    scenario_run = start_suite_scenarios(suite, scenarios, pipeline, runs, concurrency) if scenarios else None
    return SuiteRun(suite, [test_id for _, test_id in picked], batches, execution, scenario_run)


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
    from ..sync import run_sync

    return run_sync(start_suite(suite, runs, max_concurrency, tags, on_progress, **options))
