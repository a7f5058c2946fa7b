"""Frames: columns and values on small hand-built batches."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from analysis_helpers import batch_from_outcomes, make_run, synthetic_batch

from russo_nb.analysis import (
    PROMPT_COLUMNS,
    RUN_COLUMNS,
    calls_frame,
    pass_hat_k,
    prompts_frame,
    runs_frame,
    wilson_interval,
)
from russo_nb.errors import InvalidArgumentError
from russo_nb.types import BatchMetadata, BatchResult, RunError, ToolCall


@pytest.fixture
def batch() -> BatchResult:
    want = [ToolCall(name="book_flight", arguments={"from_city": "NYC", "to_city": "LA"})]
    runs = [
        make_run("Fly NYC to LA", 0, True, expected=want, latency_s=0.5, started_at=1_700_000_000.0),
        make_run(
            "Fly NYC to LA",
            1,
            False,
            expected=want,
            actual=[ToolCall(name="book_flight", arguments={"from_city": "NYC", "to_city": "SF"})],
            latency_s=1.5,
            effects=["noise:white:10dB"],
            audio_key="k1",
        ),
        make_run(
            "Fly NYC to LA",
            2,
            False,
            expected=want,
            actual=[],
            status="timeout",
            error=RunError(type="TimeoutError", message="took 5 s", stage="agent"),
        ),
        make_run("Weather in Paris", 0, True, expected=[ToolCall(name="get_weather", arguments={"city": "Paris"})]),
    ]
    return BatchResult(runs=runs, metadata=BatchMetadata(batch_id="b1", agent="local"))


def test_runs_frame_columns_and_values(batch):
    frame = runs_frame(batch)
    assert list(frame.columns) == RUN_COLUMNS
    assert len(frame) == 4
    first, second, third = (frame.iloc[i] for i in range(3))
    assert first["batch_id"] == "b1" and first["agent"] == "local"
    assert first["status"] == "passed" and bool(first["passed"]) and first["match_rate"] == 1.0
    assert first["expected"] == "book_flight(from_city='NYC', to_city='LA')" == first["actual"]
    assert first["started_at"] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    assert second["status"] == "failed" and not second["passed"]
    assert second["actual"] == "book_flight(from_city='NYC', to_city='SF')"
    assert (second["n_expected"], second["n_actual"], second["n_matched"]) == (1, 1, 0)
    assert "to_city" in second["details"]
    assert second["effects"] == "noise:white:10dB" and second["audio_key"] == "k1"
    assert second["latency_s"] == 1.5 and np.isnan(first["synth_s"])
    assert third["status"] == "timeout" and third["error_type"] == "TimeoutError" and third["error"] == "took 5 s"
    assert third["actual"] == "" and third["n_actual"] == 0 and np.isnan(third["latency_s"])
    assert frame["prompt_id"].iloc[0] == batch.runs[0].prompt_id
    assert frame["passed"].dtype == bool and frame["run_index"].tolist() == [0, 1, 2, 0]


def test_to_dataframe_is_the_runs_frame(batch):
    pd.testing.assert_frame_equal(batch.to_dataframe(), runs_frame(batch))


@pytest.mark.slow
def test_import_russo_nb_does_not_import_pandas_or_matplotlib():
    code = (
        "import sys, russo_nb; "
        "r = russo_nb.BatchResult(); "
        "print('pandas' in sys.modules, 'matplotlib' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False"]


def test_calls_frame_one_row_per_expected_call():
    want = [ToolCall(name="a", arguments={"x": 1}), ToolCall(name="b")]
    runs = [
        make_run("two calls", 0, True, expected=want, actual=list(want)),
        make_run("two calls", 1, False, expected=want, actual=[ToolCall(name="a", arguments={"x": 2})]),
    ]
    frame = calls_frame(BatchResult(runs=runs))
    assert len(frame) == 4
    assert frame["position"].tolist() == [0, 1, 0, 1]
    assert frame["matched"].tolist() == [True, True, False, False]
    assert frame["expected_name"].tolist() == ["a", "b", "a", "b"]
    assert frame["expected_args"].iloc[0] == '{"x": 1}'
    assert frame["actual"].iloc[2] == "a(x=2)"
    assert frame["details"].iloc[0] == ""


def test_prompts_frame_values(batch):
    frame = prompts_frame(batch)
    assert list(frame.columns[: len(PROMPT_COLUMNS)]) == PROMPT_COLUMNS
    assert frame["prompt"].tolist() == ["Fly NYC to LA", "Weather in Paris"]
    fly = frame.iloc[0]
    assert (fly["runs"], fly["passed"], fly["failed"], fly["errors"]) == (3, 1, 2, 1)
    assert fly["pass_rate"] == pytest.approx(1 / 3)
    low, high = wilson_interval(1, 3)
    assert (fly["wilson_low"], fly["wilson_high"]) == pytest.approx((low, high))
    assert fly["flaky"] and fly["flakiness"] == pytest.approx(4 * 1 * 2 / (3 * 2))  # unbiased 4c(n-c)/(n(n-1))
    assert fly["match_rate"] == pytest.approx(1 / 3)
    # the timed-out run (no known limit) took at least as long as the slowest run that finished in
    # time (1.5 s): it enters there, censored, so the percentiles are lower bounds, not flattering
    assert fly["latency_p50"] == pytest.approx(1.5) and fly["latency_p95"] == pytest.approx(1.5)
    assert fly["latency_censored"] == 1
    assert fly["mixed"] and fly["flaky"]  # 1 of 3: Wilson 6.1%–79.2%, inside 5–95%
    assert fly["small_sample"]
    assert [c for c in frame.columns if c[:5] in ("pass@", "pass^")] == [
        "pass@1",
        "pass@2",
        "pass@3",
        "pass^1",
        "pass^2",
        "pass^3",
    ]
    assert fly["pass@2"] == pytest.approx(1 - 1 / 3)  # C(2,2)/C(3,2) pairs have no pass
    paris = frame.iloc[1]
    assert np.isnan(paris["pass@2"]) and not paris["flaky"] and np.isnan(paris["latency_p50"])


def test_prompts_frame_from_result_equals_from_runs_frame():
    batch = synthetic_batch(n_prompts=12, runs=7, seed=4)
    direct = prompts_frame(batch)
    via = prompts_frame(runs_frame(batch))
    pd.testing.assert_frame_equal(direct, via)
    frame = runs_frame(batch)
    for prompt, group in frame.groupby("prompt", sort=False):
        row = direct[direct["prompt"] == prompt].iloc[0]
        assert row["latency_p95"] == pytest.approx(np.percentile(group["latency_s"], 95))
        assert row["passed"] == group["passed"].sum()
        assert row["pass^5"] == pytest.approx(pass_hat_k(len(group), int(group["passed"].sum()), 5))


def test_prompts_frame_custom_ks():
    batch = batch_from_outcomes({"a": [True, False, True, True]})
    frame = prompts_frame(batch, ks=[2])
    assert "pass@2" in frame.columns and "pass@1" not in frame.columns


def test_empty_batch_frames():
    empty = BatchResult()
    assert list(runs_frame(empty).columns) == RUN_COLUMNS and len(runs_frame(empty)) == 0
    assert len(prompts_frame(empty)) == 0
    assert len(calls_frame(empty)) == 0


def test_frames_reject_non_batches():
    with pytest.raises(InvalidArgumentError, match="BatchResult"):
        runs_frame(42)
    with pytest.raises(InvalidArgumentError, match="BatchResult"):
        prompts_frame("not a batch")
    with pytest.raises(InvalidArgumentError, match="needs a runs frame"):
        prompts_frame(pd.DataFrame({"x": [1]}))


def test_scenario_runs_built_by_hand_get_the_scenario_columns():
    from russo_nb.scenario import ScenarioBatch, ScenarioResult

    batch = ScenarioBatch(
        runs=[
            ScenarioResult(
                name="refund",
                run_index=0,
                success=True,
                score=1.0,
                agent_time=1.0,
                messages=[{"role": "user"}, {"role": "assistant"}],
            ),
            ScenarioResult(
                name="refund", run_index=1, success=False, score=0.4, agent_time=1.0, messages=[{"role": "user"}]
            ),
        ]
    )
    frame = runs_frame(batch)
    assert frame["prompt"].tolist() == ["refund", "refund"] == frame["scenario"].tolist()
    assert frame["status"].tolist() == ["passed", "failed"]
    assert frame["n_turns"].tolist() == [2, 1]
    assert frame["score"].tolist() == [1.0, 0.4]
    assert frame["latency_s"].tolist() == [1.0, 1.0]
    prompts = prompts_frame(batch)
    assert prompts.iloc[0]["passed"] == 1 and prompts.iloc[0]["runs"] == 2


def test_scenario_batch_frames_carry_match_rates_and_scores():
    import asyncio

    import russo_nb as russo
    from russo_nb import analysis, scenario
    from russo_nb.scenario.criteria import tool_called

    @russo.agent
    def agent(text):
        return [russo.ToolCall(name="book_flight", arguments={"to_city": "LA" if "LA" in text else "?"})]

    spec = scenario.Scenario(
        name="fly",
        description="book",
        agents=[
            agent,
            scenario.UserSimulatorAgent(lines=["{line}"], variables={"line": ["to LA", "to Rome"]}),
            scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="LA")]),
        ],
        scorers=[scenario.scorers.tool_call_match(["book_flight(to_city='LA')"], weight=1.0)],
    )
    batch = asyncio.run(scenario.run_scenarios(spec, runs=6, seed=3))
    frame = analysis.runs_frame(batch)
    converted = analysis.runs_frame(batch.to_batch_result())
    assert frame["match_rate"].notna().all()
    assert list(frame["match_rate"]) == list(converted["match_rate"])
    assert set(frame["match_rate"]) <= {0.0, 1.0} and "score" in frame.columns
    assert list(frame["passed"]) == [run.status == "passed" for run in batch.runs]
