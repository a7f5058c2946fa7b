"""Scenario runs are first-class in every file and the store: reloaded, a scenario batch is the batch it was."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scenario_helpers import booking_scenario

from russo_nb import scenario
from russo_nb.report import export, load_batch
from russo_nb.scenario import ScenarioBatch
from russo_nb.scenario.criteria import tool_called
from russo_nb.store import HistoryStore


@pytest.fixture(scope="module")
def batch() -> ScenarioBatch:
    spec = booking_scenario(
        "=book <Oslo>",  # a would-be spreadsheet formula and markup, both kept as text
        "a flight to Oslo",
        [tool_called("book_flight")],
        max_turns=2,
        scorers=[scenario.scorers.tool_call_match(["book_flight(to_city='Oslo')"]), scenario.scorers.success()],
        tags=["smoke"],
    )
    chatty = booking_scenario("ask first", "hello", [tool_called("book_flight")], max_turns=1)
    return scenario.run_scenarios_sync(
        [spec, chatty], runs=3, seed=4, conditions={"agent_version": "v2", "snr_db": math.nan}
    )


def _loaded(batch: ScenarioBatch, tmp_path, where: str) -> ScenarioBatch:
    if where == "store":
        store = HistoryStore(tmp_path / "history.sqlite")
        return store.load(store.record(batch))
    return load_batch(export(batch, tmp_path / f"scenarios{where}"))


@pytest.mark.parametrize("where", [".jsonl", ".jsonl.gz", ".csv", ".parquet", "store"])
def test_every_column_of_a_scenario_frame_survives(batch, tmp_path, where):
    loaded = _loaded(batch, tmp_path, where)
    assert isinstance(loaded, ScenarioBatch) and loaded.metadata.kind == "scenarios"
    original = batch.to_dataframe()
    assert {"success", "score", "score_tool_calls", "turns", "failed_criteria", "agent_version", "snr_db"} <= set(
        original.columns
    )
    pd.testing.assert_frame_equal(loaded.to_dataframe(), original)


@pytest.mark.parametrize("where", [".jsonl", ".csv", ".parquet", "store"])
def test_a_reloaded_scenario_batch_renders_as_the_original(batch, tmp_path, where):
    loaded = _loaded(batch, tmp_path, where)
    for before, after in zip(batch.runs, loaded.runs):
        assert after.messages == before.messages and after.scores == before.scores
        assert after.passed_criteria == before.passed_criteria and after.reasoning == before.reasoning
        assert after.lifecycle == before.lifecycle and after.expected_calls == before.expected_calls
        assert after._repr_html_() == before._repr_html_()  # transcript bubbles, verdict, scores
        assert after.summary() == before.summary()
    assert loaded.pass_hat_k(2) == batch.pass_hat_k(2) and loaded.score_stats() == batch.score_stats()
    if where != ".csv":  # a CSV file keeps no metadata block (name, tags, parameters)
        assert loaded.summary() == batch.summary()


def test_the_batch_rows_of_the_store_leave_cancelled_runs_out_of_the_rate(tmp_path):
    job = scenario.start_scenarios([booking_scenario("b", "a flight to Oslo", [tool_called("book_flight")])], runs=4)
    job.cancel()
    cancelled = job.result()
    store = HistoryStore(tmp_path / "history.sqlite")
    store.record(cancelled)
    row = store.list().iloc[0]
    assert row["runs"] == 4 and row["errors"] == 0 and pd.isna(row["pass_rate"])


HOSTILE_TEXT = ["caf\u00e9 \u2028 line\u0085sep", "\ud800 lone surrogate", "plain ascii"]


@pytest.mark.parametrize("where", [".jsonl", ".csv", ".parquet"])
def test_scenario_runs_with_hostile_text_and_shared_values_load_back_equal(batch, tmp_path, where):
    """Non-ASCII text, characters str.splitlines splits at, a lone surrogate, NaN and equal values made
    afresh per run (criteria, tags, conditions) survive every scenario writer."""
    runs = []
    for number, run in enumerate(batch.runs):
        text = HOSTILE_TEXT[number % len(HOSTILE_TEXT)]
        messages = [*run.messages, {"role": "assistant", "content": text, "extra": {"score": math.inf}}]
        runs.append(
            run.model_copy(
                update={
                    "messages": messages,
                    "passed_criteria": list(run.passed_criteria),
                    "tags": [*run.tags, text],
                    "conditions": dict(run.conditions),
                }
            )
        )
    changed = batch.model_copy(update={"runs": runs})
    path = export(changed, tmp_path / f"hostile{where}")
    if where == ".jsonl":
        raw = path.read_bytes()
        assert raw.isascii() and raw.count(b"\n") == len(raw.decode("ascii").splitlines())
    loaded = load_batch(path)
    for before, after in zip(runs, loaded.runs):
        assert after.messages == before.messages and after.tags == before.tags
        assert after.conditions.keys() == before.conditions.keys() and after.passed_criteria == before.passed_criteria


@pytest.mark.parametrize("source", [".csv", ".parquet"])
@pytest.mark.parametrize("target", [".csv", ".parquet", ".jsonl"])
def test_a_loaded_scenario_table_is_written_again_from_its_own_columns(batch, tmp_path, source, target):
    """Exporting a loaded table writes its records and columns as read (no run built): a CSV comes out byte for
    byte, a Parquet table column for column, and either loads back as the original batch."""
    original = export(batch, tmp_path / f"first{target}")
    loaded = load_batch(export(batch, tmp_path / f"first{source}"))
    again = export(loaded, tmp_path / f"again{target}")
    assert loaded.runs.built_count == (len(batch.runs) if target == ".jsonl" else 0)
    if target == ".csv":
        assert again.read_bytes() == original.read_bytes()
    elif target == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(again), pd.read_parquet(original))
    reloaded = load_batch(again)
    pd.testing.assert_frame_equal(reloaded.to_dataframe(), batch.to_dataframe())
    everything_but_conditions = [run.model_dump(exclude={"conditions"}) for run in batch.runs]  # NaN != NaN
    assert [run.model_dump(exclude={"conditions"}) for run in reloaded.runs] == everything_but_conditions


def test_a_loaded_scenario_table_with_a_run_changed_is_written_from_its_runs(batch, tmp_path):
    loaded = load_batch(export(batch, tmp_path / "first.parquet"))
    loaded.runs[1].reasoning = "edited after loading"
    reloaded = load_batch(export(loaded, tmp_path / "again.csv"))
    assert reloaded.runs[1].reasoning == "edited after loading"
    assert [run.reasoning for run in reloaded.runs] == [run.reasoning for run in loaded.runs]
