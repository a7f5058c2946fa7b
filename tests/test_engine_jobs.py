"""One Job over plans: round-robin scheduling, lazy work items, suites under one cap, run bounds."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
import yaml

import russo_nb as russo
from russo_nb.config import parse_suite, start_suite
from russo_nb.engine import MAX_RUNS, EngineOptions, Job
from russo_nb.evaluators import ExactEvaluator
from russo_nb.pipeline import make_pipeline
from russo_nb.runner import plan_prompts
from russo_nb.testing import wait_for_progress


def test_runs_are_scheduled_round_robin_so_a_partial_batch_covers_every_prompt():
    order: list[str] = []

    @russo.agent
    async def recording(text):
        order.append(text)
        return []

    result = asyncio.run(russo.run_concurrent(["a", "b", "c"], agent=recording, runs=3, max_concurrency=1))
    assert order == ["a", "b", "c"] * 3
    # the result keeps prompt-major order whatever order the runs ran in
    assert [(run.prompt, run.run_index) for run in result.runs] == [(p, i) for p in "abc" for i in range(3)]


def test_a_stopped_batch_has_finished_runs_of_every_prompt():
    async def main():
        @russo.agent
        async def agent(text):
            return []

        def on_progress(progress):
            if progress.done == 4:
                job.cancel()

        job = russo.start_batch(["a", "b", "c", "d"], agent=agent, runs=5, max_concurrency=1, on_progress=on_progress)
        with pytest.raises(asyncio.CancelledError):
            await job
        return job.result()

    result = asyncio.run(main())
    finished = [run for run in result.runs if run.status != "cancelled"]
    assert sorted(run.prompt for run in finished) == ["a", "b", "c", "d"]
    assert sum(run.status == "cancelled" for run in result.runs) == 16
    assert result.metadata.params["interrupted"] is True


def test_work_items_are_built_when_run_not_up_front():
    made: list[tuple[int, int]] = []
    pipeline = make_pipeline(lambda text: [])
    plan = plan_prompts(["a", "b"], pipeline, runs=50_000)
    original = plan.item

    def counting(unit, run):
        made.append((unit, run))
        return original(unit, run)

    plan.item = counting  # type: ignore[method-assign]
    job = Job([plan], EngineOptions(max_concurrency=2))
    assert made == [] and job.progress.total == 100_000

    async def partial():
        await wait_for_progress(job, 10)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(partial())
    assert len(made) < 100  # only what ran (the cancelled rest is filled without running)


def test_runs_have_an_upper_bound_with_a_clear_error():
    with pytest.raises(russo.InvalidArgumentError, match="at most 1,000,000"):
        russo.start_batch("p", agent=lambda t: [], runs=10**9)
    with pytest.raises(russo.InvalidArgumentError, match="at most 10,000,000 in one batch"):
        russo.start_batch([f"p{i}" for i in range(20)], agent=lambda t: [], runs=MAX_RUNS)
    from russo_nb.scenario import start_scenarios  # the module _scenario builds from (pytester may re-import)

    with pytest.raises(russo.InvalidArgumentError, match="runs"):
        start_scenarios(_scenario("x"), runs=10**9)


def test_a_big_plan_costs_no_memory_until_it_runs():
    tracemalloc.start()
    try:
        job = russo.start_batch("p", agent=lambda t: [], runs=MAX_RUNS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert job.progress.total == MAX_RUNS
    assert peak < 12 * MAX_RUNS  # one result slot (8 bytes) per run, no work item per run


def _scenario(name: str, log: list[str] | None = None):
    from russo_nb.scenario import AgentAdapter, Scenario, agent, succeed, user

    class Agent(AgentAdapter):
        async def call(self, state):
            if log is not None:
                log.append(f"scenario {name}")
            return "ok"

    return Scenario(
        name=name,
        agents=[Agent()],
        script=[user("hi"), agent(), succeed()],
    )


SUITE = """
name: together
pipeline: {synthesizer: null, agent: {object: "cli_agents:keyword_agent"}}
runs: 3
max_concurrency: 1
tests:
  - id: la
    prompts: ["Book a flight from NYC to LA", "fly from rome to berlin"]
    expect: ["book_flight(to_city='LA')"]
scenarios:
  - name: weather
    script:
      - user: What is the weather in Rome
      - agent
      - judge: [{tool_called: "get_weather(city='Rome')"}]
"""


def test_a_suite_runs_tests_and_scenarios_together_under_its_cap(monkeypatch):
    import cli_agents

    log: list[str] = []
    in_flight = 0
    peak = 0
    original = cli_agents.KeywordAgent.run

    async def recording(self, heard):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        log.append(str(heard))
        await asyncio.sleep(0)
        in_flight -= 1
        return await original(self, heard)

    monkeypatch.setattr(cli_agents.KeywordAgent, "run", recording)
    job = start_suite(parse_suite(yaml.safe_load(SUITE)))
    outcome = asyncio.run(job.wait())
    assert peak == 1
    # run 0 of both prompts, then run 0 of the scenario, then run 1 of each, ...
    assert log == ["Book a flight from NYC to LA", "fly from rome to berlin", "What is the weather in Rome"] * 3
    assert outcome.batch.total == 6 and outcome.scenarios.total == 3
    assert outcome.total == 9 and not outcome.interrupted
    assert job.progress.total == 9 and job.progress.done == 9


def test_job_result_is_a_method_everywhere_and_suite_result_has_batch():
    job = start_suite(parse_suite(yaml.safe_load(SUITE)))
    assert callable(job.result)
    outcome = asyncio.run(job.wait())
    assert not hasattr(outcome, "result")  # one name for the combined batch: outcome.batch
    assert isinstance(job, Job) and isinstance(russo.start_batch("p", agent=lambda t: []), russo.Job)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"retry_backoff": "x"}, "retry_backoff must be a finite number"),
        ({"retry_backoff": float("nan")}, "retry_backoff must be a finite number"),
        ({"timeout": float("nan")}, "timeout must be a finite number"),
        ({"timeout": float("inf")}, "timeout must be a finite number"),
        ({"seed": "abc"}, "seed must be a whole number"),
        ({"name": 123}, "name must be a string"),
        ({"tags": "abc"}, "tags must be a list of strings"),
        ({"tags": [1]}, "every tag must be a string"),
        ({"retry_on": "ValueError"}, "retry_on must be"),
    ],
)
def test_options_are_validated_with_clear_errors(kwargs, fragment):
    with pytest.raises(russo.InvalidArgumentError, match=fragment):
        russo.start_batch("p", agent=lambda t: [], **kwargs)
    if "retry" in next(iter(kwargs)) or "timeout" in kwargs or "name" in kwargs or "tags" in kwargs:
        from russo_nb.scenario import start_scenarios

        with pytest.raises(russo.InvalidArgumentError, match=fragment):
            start_scenarios(_scenario("x"), **kwargs)


def test_one_default_evaluator_policy_everywhere():
    from russo_nb.config import build_pipeline
    from russo_nb.pipeline import default_evaluator

    batch = asyncio.run(
        russo.run_concurrent(
            "p",
            agent=lambda t: [russo.ToolCall(name="book", arguments={"to": "LA", "extra": 1})],
            expect=["book(to='LA')"],
        )
    )
    assert batch.passed  # extra arguments do not fail a run by default
    assert batch.metadata.evaluator_params == default_evaluator().params
    suite = build_pipeline(parse_suite(yaml.safe_load(SUITE)))
    assert suite.evaluator.params == default_evaluator().params
    strict = asyncio.run(
        russo.run_concurrent(
            "p",
            agent=lambda t: [russo.ToolCall(name="book", arguments={"to": "LA", "extra": 1})],
            expect=["book(to='LA')"],
            evaluator=ExactEvaluator(),
        )
    )
    assert not strict.passed


def test_equal_answers_share_one_response_and_evaluation():
    @russo.agent
    async def fresh(text):  # a new response object every run, equal in value
        return russo.AgentResponse(tool_calls=[russo.ToolCall(name="book", arguments={"to": "LA"})], text="ok")

    batch = asyncio.run(russo.run_concurrent(["a", "b"], agent=fresh, expect=["book(to='LA')"], runs=50))
    assert batch.passed_count == 100
    assert len({id(run.response) for run in batch.runs}) == 1  # one answer kept, not 100
    assert len({id(run.eval_result) for run in batch.runs}) == 1  # same expectation: one evaluation


def test_a_custom_evaluator_sees_every_run():
    seen = []

    class Judge:
        def evaluate(self, expected, actual):
            seen.append(actual)
            return ExactEvaluator().evaluate(expected, actual)

    @russo.agent
    async def fresh(text):
        return [russo.ToolCall(name="book", arguments={"to": "LA"})]

    asyncio.run(russo.run_concurrent("a", agent=fresh, evaluator=Judge(), expect=["book(to='LA')"], runs=7))
    assert len(seen) == 7


def test_the_readme_layout_names_every_module_and_package():
    import re
    from pathlib import Path

    from russo_nb._moved import MOVED

    root = Path(__file__).resolve().parents[1]
    layout = (root / "README.md").read_text().split("## Layout", 1)[1].split("```")[1]
    named = set(re.findall(r"([a-z_]+)(?:\.py|/)", layout))
    package = root / "russo_nb"
    actual = {p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    actual |= {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    # the modules and packages that moved from the root into a room (model/types.py, results/report/ ...)
    actual |= {new.rsplit(".", 1)[1] for new in MOVED.values() if new.count(".") == 2}
    actual.add("data")
    assert actual - named == set(), "modules missing from the README layout"
    # the layout may also name a room's own modules (results/analysis/rows.py ...): each must exist
    anywhere = {p.stem for p in package.rglob("*.py")} | {p.name for p in package.rglob("*") if p.is_dir()}
    assert {name for name in named if name not in actual | anywhere} <= {
        "notebooks",
        "examples",
        "benchmarks",
        "tests",
        "russo_nb",
        "__init__",
        "__main__",
    }
