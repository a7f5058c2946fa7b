"""Every run carries ``conditions`` (name → scalar): set for a batch, per run by a plan, kept by every format."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scenario_helpers import arun, booking_scenario

from russo_nb.errors import InvalidArgumentError
from russo_nb.report import export, load_batch
from russo_nb.runner import PromptPlan, run_concurrent, start_batch
from russo_nb.scenario import Scenario, run_scenarios, start_scenarios
from russo_nb.scenario.criteria import tool_called
from russo_nb.sync import run_concurrent_sync
from russo_nb.testing import ScriptedAgent
from russo_nb.types import SingleRunResult, ToolCall

CONDITIONS = {"agent_version": "v2", "snr_db": math.nan, "level": 3, "noisy": True, "note": None}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (x == y) or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a.values(), (b[k] for k in a))
    )


def _agent() -> ScriptedAgent:
    return ScriptedAgent({"book": [ToolCall(name="book", arguments={"to": "LA"})]})


def test_a_plain_run_has_no_conditions_and_no_condition_columns():
    run = SingleRunResult(prompt="p", run_index=0, eval_result={"passed": True, "expected": [], "actual": []})
    assert run.conditions == {}
    batch = run_concurrent_sync(["book a flight"], agent=_agent(), expect=[])
    assert all(r.conditions == {} for r in batch.runs)
    assert "agent_version" not in batch.to_dataframe().columns


def test_batch_conditions_reach_every_run_and_typed_frame_columns():
    batch = run_concurrent_sync(["book", "other"], agent=_agent(), expect=[], runs=2, conditions=CONDITIONS)
    assert all(_same(r.conditions, CONDITIONS) for r in batch.runs)
    frame = batch.to_dataframe()
    assert list(frame.columns[-5:]) == list(CONDITIONS)
    assert frame["agent_version"].tolist() == ["v2"] * 4
    assert frame["snr_db"].dtype == float and frame["snr_db"].isna().all()
    assert str(frame["level"].dtype) == "Int64" and frame["noisy"].dtype == bool
    assert frame.groupby("agent_version")["passed"].size().to_dict() == {"v2": 4}


def test_async_entry_points_take_conditions_too():
    batch = arun(run_concurrent(["book"], agent=_agent(), expect=[], conditions={"agent_version": "v1"}))
    assert batch.runs[0].conditions == {"agent_version": "v1"}
    job = start_batch(["book"], agent=_agent(), expect=[], runs=3, conditions={"k": 1})
    job.cancel()
    cancelled = job.result()
    assert {r.status for r in cancelled.runs} == {"cancelled"}
    assert all(r.conditions == {"k": 1} for r in cancelled.runs)  # cancelled runs keep them as well


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"status": "x"}, "column of the run table"),
        ({"score_x": 1}, "column of the run table"),
        ({"": 1}, "non-empty strings"),
        ({"voice": ["a"]}, "one str, int, float, bool or None"),
        ("v2", "must be a dict"),
    ],
)
def test_bad_conditions_are_one_clear_error_before_anything_runs(conditions, message):
    with pytest.raises(InvalidArgumentError, match=message):
        start_batch(["book"], agent=_agent(), expect=[], conditions=conditions)


def test_a_plan_gives_conditions_per_run():
    """The hook a sweep uses: override conditions_for on the plan; each run (and its frame row) gets its own."""
    from russo_nb.engine import EngineOptions, Job
    from russo_nb.pipeline import make_pipeline
    from russo_nb.runner import plan_prompts

    class VoicePlan(PromptPlan):
        voices = ("en-us", "en-gb")

        def conditions_for(self, unit: int, run: int) -> dict:
            return {**self.conditions, "voice": self.voices[run % 2], "snr_db": 5.0 * run}

    plan = plan_prompts(["book"], make_pipeline(_agent()), [], runs=4, conditions={"agent_version": "v3"})
    plan.__class__ = VoicePlan
    batch = arun(Job([plan], EngineOptions()).wait())
    frame = batch.to_dataframe()
    assert frame["voice"].tolist() == ["en-us", "en-gb", "en-us", "en-gb"]
    assert frame["snr_db"].tolist() == [0.0, 5.0, 10.0, 15.0]
    assert set(frame["agent_version"]) == {"v3"}


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".csv", ".parquet"])
def test_conditions_survive_every_file_format(tmp_path, suffix):
    plain = run_concurrent_sync(["book"], agent=_agent(), expect=[], runs=2)
    marked = run_concurrent_sync(["book"], agent=_agent(), expect=[], runs=2, conditions=CONDITIONS)
    mixed = marked.model_copy(update={"runs": [*plain.runs, *marked.runs]})
    loaded = load_batch(export(mixed, tmp_path / f"runs{suffix}"))
    assert [r.conditions == {} for r in loaded.runs] == [True, True, False, False]
    assert all(_same(r.conditions, CONDITIONS) for r in loaded.runs[2:])
    original, again = mixed.to_dataframe(), loaded.to_dataframe()
    for name in CONDITIONS:
        pd.testing.assert_series_equal(again[name], original[name], check_names=True)


def _scenario(name: str) -> Scenario:
    return booking_scenario(name, "a flight to Oslo", [tool_called("book_flight")])


def test_scenario_runs_carry_batch_conditions(tmp_path):
    batch = arun(run_scenarios([_scenario("oslo")], runs=2, conditions={"agent_version": "v2"}))
    assert all(run.conditions == {"agent_version": "v2"} for run in batch.runs)
    assert batch.to_dataframe()["agent_version"].tolist() == ["v2", "v2"]
    loaded = load_batch(export(batch, tmp_path / "scenarios.jsonl"))
    assert [run.conditions for run in loaded.runs] == [{"agent_version": "v2"}] * 2
    job = start_scenarios([_scenario("oslo")], runs=2, conditions={"v": 1})
    job.cancel()
    assert [run.conditions for run in job.result().runs] == [{"v": 1}, {"v": 1}]


def test_conditions_survive_the_history_store(tmp_path):
    from russo_nb.store import HistoryStore

    batch = run_concurrent_sync(["book"], agent=_agent(), expect=[], runs=2, conditions=CONDITIONS)
    store = HistoryStore(tmp_path / "history.sqlite")
    loaded = store.load(store.record(batch))
    assert all(_same(run.conditions, CONDITIONS) for run in loaded.runs)
    pd.testing.assert_series_equal(loaded.to_dataframe()["snr_db"], batch.to_dataframe()["snr_db"])


def test_the_notebook_view_and_the_report_name_the_conditions_escaped(tmp_path):
    from russo_nb.report import to_html

    batch = run_concurrent_sync(["book"], agent=_agent(), expect=[], runs=2, conditions={"voice": "<en-us>", "k": 3})
    for page in (batch._repr_html_(), to_html(batch)):
        assert "conditions: voice &lt;en-us&gt; · k 3" in page and "<en-us>" not in page
    plain = run_concurrent_sync(["book"], agent=_agent(), expect=[])
    assert "conditions:" not in plain._repr_html_()
