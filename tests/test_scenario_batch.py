"""Repeated scenario runs through the concurrent engine: ScenarioBatch, timeouts, cancel, analysis."""

from __future__ import annotations

import asyncio
import sys

import pandas as pd
import pytest
from scenario_helpers import BookingAgent, arun

from russo_nb import scenario
from russo_nb.errors import ConfigurationError, InvalidArgumentError
from russo_nb.scenario import AgentAdapter, Scenario, ScenarioBatch, run_scenarios, scorers, start_scenarios
from russo_nb.scenario.criteria import tool_called
from russo_nb.testing import Gate, wait_for_progress
from russo_nb.types import BatchResult


class FlakyBooker(BookingAgent):
    """Books, except on runs whose seed is odd (it then only chats): a deterministic 'flaky' agent."""

    async def call(self, input):
        if input.scenario_state.seed % 2:
            return "Sorry, could you repeat that?"
        return await super().call(input)


def flaky_scenario(name="flaky booking", **overrides):
    spec = {
        "name": name,
        "description": "The user wants a flight to Oslo",
        "agents": lambda: [
            FlakyBooker(),
            scenario.UserSimulatorAgent(lines=["a flight to Oslo"], followups=["to Oslo please"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Oslo")]),
        ],
        "max_turns": 2,
        "scorers": [scorers.tool_call_match(["book_flight(to_city='Oslo')"], weight=0.7), scorers.success(weight=0.3)],
    }
    spec.update(overrides)
    return Scenario(**spec)


def test_repeated_runs_give_rates_scores_pass_hat_k_and_a_frame():
    steady = flaky_scenario(
        "steady booking",
        agents=lambda: [
            BookingAgent(),
            scenario.UserSimulatorAgent(lines=["a flight to Oslo"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight")]),
        ],
    )
    progress = []
    batch = arun(
        run_scenarios([flaky_scenario(), steady], runs=6, max_concurrency=4, seed=11, on_progress=progress.append)
    )
    assert isinstance(batch, ScenarioBatch) and batch.total == 12
    assert progress[-1].done == 12 and batch.metadata.kind == "scenarios"
    flaky_runs = batch.by_scenario()["flaky booking"]
    odd = [run for run in flaky_runs if run.seed % 2]
    assert 0 < len(odd) < 6, "seeds derived per run should mix odd and even"
    for run in flaky_runs:
        assert run.status == ("failed" if run.seed % 2 else "passed")
        assert run.score == (0.0 if run.seed % 2 else 1.0)
    c = 6 - len(odd)
    assert batch.passed_count == c + 6
    assert batch.pass_rate == pytest.approx((c + 6) / 12) and batch.success_rate == batch.pass_rate
    from math import comb

    assert batch.pass_hat_k(2) == pytest.approx((comb(c, 2) / comb(6, 2) + 1.0) / 2)
    assert batch.pass_at_k(1) == pytest.approx(batch.pass_rate)
    with pytest.raises(InvalidArgumentError, match="only 6 runs"):
        batch.pass_hat_k(7)
    stats = batch.score_stats()
    assert stats["n"] == 12 and stats["min"] == 0.0 and stats["max"] == 1.0
    assert stats["mean"] == pytest.approx((c + 6) / 12)

    frame = batch.to_dataframe()
    assert len(frame) == 12
    for column in (
        "scenario",
        "run_index",
        "success",
        "score",
        "turns",
        "tool_calls",
        "criteria_passed",
        "criteria_failed",
        "total_time",
        "status",
        "error",
        "score_tool_calls",
        "score_success",
    ):
        assert column in frame.columns
    assert sorted(frame[frame.scenario == "flaky booking"].run_index) == list(range(6))
    assert frame[frame.status == "failed"].tool_calls.eq(0).all()
    assert frame[frame.status == "passed"].criteria_passed.eq(1).all()
    text = batch.summary()
    assert text.startswith(f"FAILED ({batch.pass_rate:.0%} pass rate, 12 runs, 2 scenarios)")
    assert "Scenario: 'flaky booking'" in text and f"{c}/6 passed" in text and "6/6 passed" in text


def test_same_seed_same_outcomes():
    first = arun(run_scenarios(flaky_scenario(), runs=4, seed=5))
    second = arun(run_scenarios(flaky_scenario(), runs=4, seed=5))
    assert [r.status for r in first.runs] == [r.status for r in second.runs]
    assert [r.seed for r in first.runs] == [r.seed for r in second.runs]


def test_hanging_agent_times_out_others_finish_and_teardown_runs():
    torn = []

    class HangsOnSecondRun(AgentAdapter):
        async def call(self, input):
            if input.scenario_state.run_index == 1:
                await asyncio.sleep(30)
            return "hello"

    spec = Scenario(
        name="hang",
        description="d",
        agents=[HangsOnSecondRun(), scenario.UserSimulatorAgent(lines=["hi"])],
        script=[scenario.user(), scenario.agent(), scenario.succeed()],
        teardown=lambda state: torn.append(state.run_index),
        scorers=[scorers.success()],
    )
    batch = arun(run_scenarios(spec, runs=3, timeout=0.3))
    statuses = [run.status for run in batch.runs]
    assert statuses == ["passed", "timeout", "passed"]
    hung = batch.runs[1]
    assert hung.error.type == "TimeoutError" and hung.error.stage == "agent" and "0.3s" in hung.error.message
    assert hung.messages == [{"role": "user", "content": "hi"}]  # what happened before the hang is kept
    assert hung.score == 0.0 and hung.phases[-2:] == ["completed", "torn_down"]
    assert sorted(torn) == [0, 1, 2]
    assert batch.status_counts == {"passed": 2, "timeout": 1}


def test_cancel_keeps_finished_runs_and_tears_down_started_ones():
    torn = []
    gate = Gate()
    started: list[int] = []

    class SlowAfterFirst(AgentAdapter):
        async def call(self, input):
            started.append(input.scenario_state.run_index)
            if input.scenario_state.run_index > 0:
                await gate.wait()  # never opened
            return "done"

    spec = Scenario(
        name="cancel me",
        description="d",
        agents=[SlowAfterFirst()],
        script=[scenario.user("hi"), scenario.agent(), scenario.succeed()],
        teardown=lambda state: torn.append(state.run_index),
    )

    async def main():
        handle = start_scenarios(spec, runs=4, max_concurrency=2)
        await wait_for_progress(handle, 1)
        await gate.until_waiting(2)  # runs 1 and 2 hold the two slots (run 0 finished and freed its slot)
        handle.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handle.wait()
        return handle.result()

    batch = arun(main())
    assert [run.status for run in batch.runs] == ["passed", "cancelled", "cancelled", "cancelled"]
    assert sorted(torn) == [0, 1, 2]  # runs 1 and 2 had started: both torn down; run 3 never started
    assert batch.runs[1].phases[-1] == "torn_down" and batch.runs[3].phases == ["created", "completed"]
    # the finished run is the denominator: cancelled runs are not failures (issue 12)
    assert batch.pass_rate == 1.0 and batch.pass_hat_k(1) == 1.0 and batch.finished_count == 1
    with pytest.raises(InvalidArgumentError, match="only 1 runs that finished"):
        batch.pass_hat_k(2)


def test_max_concurrency_is_respected():
    """The first runs wait at a gate until all three slots are taken: the peak is the cap, not a sleep's race."""
    active = {"now": 0, "peak": 0}
    gate = Gate()

    class Counting(AgentAdapter):
        async def call(self, input):
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
            try:
                await gate.wait()
            finally:
                active["now"] -= 1
            return "ok"

    spec = Scenario(
        name="cap",
        description="d",
        agents=[Counting()],
        script=[scenario.user("x"), scenario.agent(), scenario.succeed()],
    )

    async def main():
        batch = asyncio.ensure_future(run_scenarios(spec, runs=8, max_concurrency=3))
        await gate.until_waiting(3)
        gate.open()
        return await batch

    batch = arun(main())
    assert batch.passed and batch.total == 8 and active["peak"] == 3


def test_batch_errors_raise_before_any_run(monkeypatch):
    for var in ("RUSSO_LLM_MODEL", "RUSSO_LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    agent = BookingAgent()
    needs_model = Scenario(name="m", description="d", agents=[agent, scenario.JudgeAgent(criteria=["Books it"])])
    with pytest.raises(ConfigurationError):
        start_scenarios(needs_model, runs=3)
    assert agent.calls == 0
    with pytest.raises(InvalidArgumentError, match="runs"):
        start_scenarios(flaky_scenario(), runs=0)
    with pytest.raises(InvalidArgumentError, match="share the name"):
        start_scenarios([flaky_scenario(), flaky_scenario()])
    with pytest.raises(InvalidArgumentError, match="Scenario"):
        start_scenarios(["not a scenario"])
    with pytest.raises(InvalidArgumentError, match="timeout"):
        start_scenarios(flaky_scenario(), timeout=-1)


def test_sync_runner_and_analysis_functions_work_on_scenario_batches():
    from russo_nb.analysis import prompts_frame, runs_frame
    from russo_nb.scenario import run_scenarios_sync

    batch = run_scenarios_sync(flaky_scenario(), runs=4, seed=2)
    frame = runs_frame(batch)
    assert list(frame.prompt.unique()) == ["flaky booking"] and len(frame) == 4
    assert list(frame.status.astype(str)) == [run.status for run in batch.runs]
    assert "score" in frame.columns and "n_turns" in frame.columns

    converted = batch.to_batch_result()
    assert isinstance(converted, BatchResult) and converted.metadata.kind == "scenarios"
    assert converted.pass_rate == batch.pass_rate
    run = converted.runs[0]
    assert run.prompt == "flaky booking" and run.transcript == batch.runs[0].messages
    assert [str(call) for call in run.eval_result.expected] == ["book_flight(to_city='Oslo')"]
    assert run.response.raw is None  # nothing packed: scores and verdicts stay on the scenario runs
    for source in (converted, batch):
        per_prompt = prompts_frame(source)
        assert len(per_prompt) == 1 and per_prompt.iloc[0]["runs"] == 4
        assert per_prompt.iloc[0]["passed"] == batch.passed_count
    passed_runs = [r for r in converted.runs if r.status == "passed"]
    assert all(r.eval_result.match_rate == 1.0 for r in passed_runs)


@pytest.mark.slow
def test_scenario_module_does_not_import_heavy_packages():
    import subprocess

    heavy = "('pandas', 'matplotlib', 'ipywidgets')"
    code = (
        "import sys, russo_nb; lazy = 'russo_nb.scenario' not in sys.modules; "
        "run = russo_nb.scenario.run; "
        f"print(lazy, run.__module__, sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "True russo_nb.scenario.spec []"


def test_results_render_as_escaped_html():
    spec = Scenario(
        name="<b>html</b>",
        description="d",
        agents=[BookingAgent()],
        script=[scenario.user("<script>alert(1)</script> to Oslo"), scenario.agent(), scenario.succeed()],
    )
    batch = arun(run_scenarios(spec, runs=2))
    page = batch._repr_html_() + batch.runs[0]._repr_html_()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>html</b>" not in page and "Oslo" in page


def test_analysis_charts_draw_a_scenario_batch():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from russo_nb import analysis
    from russo_nb.scenario import run_scenarios_sync

    batch = run_scenarios_sync(flaky_scenario(), runs=4, seed=2)
    rate = batch.pass_rate
    assert 0 < rate < 1

    def axes():
        return Figure().subplots()

    bars = analysis.plot_pass_rates(batch, ax=axes())
    assert [label.get_text() for label in bars.get_yticklabels()] == ["flaky booking (n=4)"]
    assert bars.patches[0].get_width() == pytest.approx(rate)
    curve = analysis.plot_pass_at_k(batch, ax=axes())
    pass_at, pass_hat = (line.get_ydata() for line in curve.lines[:2])
    assert pass_at[0] == pytest.approx(rate) and pass_hat[1] == pytest.approx(batch.pass_hat_k(2))
    latency = analysis.plot_latency(batch, ax=axes())
    assert [label.get_text() for label in latency.get_yticklabels()] == ["flaky booking"]
    assert analysis.plot_flakiness(batch, ax=axes()).images  # the per-run pass/fail grid


def test_a_scenario_batch_has_one_run_table():
    from russo_nb.analysis import runs_frame
    from russo_nb.columns import Run
    from russo_nb.scenario import run_scenarios_sync

    batch = run_scenarios_sync(flaky_scenario(), runs=4, seed=2)
    frame = batch.to_dataframe()
    pd.testing.assert_frame_equal(frame, runs_frame(batch))
    assert {"prompt", "scenario", "status", "match_rate", "expected", "actual", "score", "turns"} <= set(frame.columns)
    assert frame["expected"].eq("book_flight(to_city='Oslo')").all()
    assert all(isinstance(run, Run) for run in batch.runs)
    assert all(isinstance(run, Run) for run in batch.to_batch_result().runs)


def test_catastrophic_regex_criterion_fails_with_timed_out_and_the_batch_finishes():
    from russo_nb.scenario.criteria import text_matches

    class SaysAs(AgentAdapter):
        async def call(self, input):
            return "a" * 40 + "b"  # (a|aa)+$ backtracks exponentially on this (never returns under `re`)

    spec = Scenario(
        name="backtracking",
        description="d",
        agents=lambda: [
            SaysAs(),
            scenario.UserSimulatorAgent(lines=["hi"]),
            scenario.JudgeAgent(criteria=[text_matches(r"(a|aa)+$", timeout=0.2), text_matches("a+b")]),
        ],
        script=[scenario.user(), scenario.agent(), scenario.judge()],
    )
    batch = arun(run_scenarios(spec, runs=2, timeout=30))
    assert batch.total == 2 and [run.status for run in batch.runs] == ["failed", "failed"]
    for run in batch.runs:
        slow, fine = run.criteria_results
        assert not slow.passed and "timed out after 0.2s" in slow.reasoning and "(a|aa)+$" in slow.reasoning
        assert fine.passed and run.failed_criteria == ["text_matches('(a|aa)+$')"]
