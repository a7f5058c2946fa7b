"""Renderers read runs through the ``Run`` protocol (russo_nb.columns.Run), never by probing.

Every run type answers every protocol member (scenario fields neutral on prompt runs), and
each renderer (run detail, explorer, report, the batch's rich HTML) draws a prompt batch, a
scenario batch, a batch with conditions, their reloads from JSON lines and Parquet, and a
bare dataclass that has the protocol's attributes and nothing else.
"""

from __future__ import annotations

import typing

import pytest
from notebook_helpers import make_batch

from russo_nb.columns import Run
from russo_nb.lazy_runs import LazyRuns
from russo_nb.report import export, load_batch

PROTOCOL = sorted(name for name in vars(Run) if not name.startswith("_") and isinstance(vars(Run)[name], property))
SCENARIO_ONLY = {
    "reasoning": None,
    "passed_criteria": [],
    "failed_criteria": [],
    "score": None,
    "scores": {},
    "turns": None,
    "total_time": None,
    "audio": {},
}


def test_the_protocol_names_what_renderers_read():
    assert {"kind", "transcript", "response", "retried", "conditions", *SCENARIO_ONLY} <= set(PROTOCOL)
    assert typing.get_type_hints(Run.kind.fget)["return"] == typing.Literal["prompt", "scenario"]


def test_prompt_runs_answer_the_scenario_fields_with_neutral_values(tmp_path):
    batch = make_batch(transcript=True)
    loaded = load_batch(export(batch, tmp_path / "b.parquet"))
    assert isinstance(loaded.runs, LazyRuns)
    for runs in (batch.runs, loaded.runs):
        for run in runs:
            assert isinstance(run, Run) and run.kind == "prompt"
            assert {name: getattr(run, name) for name in SCENARIO_ONLY} == SCENARIO_ONLY
            assert all(getattr(run, name) is not None or name in NULLABLE for name in PROTOCOL)


NULLABLE = {
    "prompt_id", "status", "error", "latency_s", "synth_s", "audio_key", "seed", "started_at", "transcript",
    "eval_result", "text", "response", "reasoning", "score", "turns", "total_time",
}  # fmt: skip


def test_scenario_runs_answer_the_prompt_fields(scenario_batch, tmp_path):
    loaded = load_batch(export(scenario_batch, tmp_path / "s.jsonl"))
    for runs in (scenario_batch.runs, loaded.runs):
        for run in runs:
            assert isinstance(run, Run) and run.kind == "scenario"
            assert run.response is None and run.transcript == run.messages and run.turns >= 1
            assert all(getattr(run, name) is not None or name in NULLABLE for name in PROTOCOL)


@pytest.fixture(scope="module")
def scenario_batch():
    from scenario_helpers import booking_scenario

    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    spec = booking_scenario(
        "book <Oslo>",
        "a flight to Oslo",
        [tool_called("book_flight")],
        scorers=[scenario.scorers.tool_call_match(["book_flight(to_city='Oslo')"]), scenario.scorers.success()],
    )
    asks = booking_scenario("ask <first>", "hello", [tool_called("book_flight")])
    return scenario.run_scenarios_sync([spec, asks], runs=2, seed=3, conditions={"agent_version": "v<2>"})
