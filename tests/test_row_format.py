"""The compact row format: a chunk of runs as one bytes blob and back, lossless (russo_nb.records)."""

from __future__ import annotations

import math
import pickle
import zlib

import pytest
from analysis_helpers import make_run
from scenario_helpers import arun, booking_scenario

from russo_nb import scenario
from russo_nb.errors import InvalidArgumentError
from russo_nb.records import decode_runs, encode_runs
from russo_nb.scenario.criteria import tool_called
from russo_nb.sync import run_concurrent_sync
from russo_nb.testing import ScriptedAgent, TextSynthesizer
from russo_nb.types import AgentResponse, RetriedAttempt, RunError, ToolCall


def _prompt_runs():
    agent = ScriptedAgent(
        {
            "book": AgentResponse(
                tool_calls=[ToolCall(name="book", arguments={"to": "LA", "n": [1, 2]})],
                text="done \ud800",
                raw={"id": 7},
                usage={"total_tokens": 12.0},
            ),
            "boom": RuntimeError("agent down"),
        }
    )
    batch = run_concurrent_sync(
        ["book", "boom", "other"],
        TextSynthesizer(),
        agent,
        expect=["book(to='LA')"],
        runs=3,
        conditions={"voice": "en-us", "snr_db": math.nan},
    )
    batch.runs[0].retried = (RetriedAttempt(type="RetryableError", message="429", stage="agent", waited_s=0.5),)
    batch.runs[1].transcript = [{"role": "user", "content": "hi"}]
    batch.runs[2].latency_s = math.inf
    return batch


def test_prompt_runs_and_their_clips_round_trip_exactly():
    batch = _prompt_runs()
    blob = encode_runs(batch.runs, batch.audio)
    audio: dict = {}
    runs = decode_runs(blob, audio)
    assert [r.conditions["voice"] for r in runs] == ["en-us"] * 9
    assert all(math.isnan(r.conditions["snr_db"]) for r in runs)  # NaN is NaN again (and NaN != NaN, so:)
    for run in (*runs, *batch.runs):
        run.conditions = {**run.conditions, "snr_db": "nan"}
    assert runs == batch.runs  # every field
    assert audio == batch.audio and runs[0].response.text == "done \ud800"
    assert {r.status for r in runs} == {"passed", "error", "failed"}
    assert isinstance(runs[3].error, RunError) and runs[3].error.message == "agent down"
    assert runs[2].latency_s == math.inf and runs[0].retried == batch.runs[0].retried


def test_the_dask_rows_decode_to_the_same_runs_as_the_json_blob():
    """The Dask executor's chunk blob (the same rows, pickled) gives back exactly what the JSON blob gives."""
    from russo_nb.execution.dask_executor import decode_rows, encode_rows

    batch = _prompt_runs()
    blob = encode_rows(batch.runs)
    assert not blob.startswith(b"x")  # pickled, not zlib-compressed JSON
    runs, via_json = decode_rows(blob), decode_runs(encode_runs(batch.runs))
    for run in (*runs, *via_json, *batch.runs):
        run.conditions = {**run.conditions, "snr_db": "nan"}  # NaN != NaN
    assert runs == via_json == batch.runs
    assert runs[0].response.text == "done \ud800" and runs[2].latency_s == math.inf
    assert runs[0].eval_result is runs[1].eval_result  # decoded runs share what they shared


def test_rows_as_columns_decode_alike_and_uneven_columns_are_one_clear_error():
    from russo_nb.records import rows_to_columns, runs_from_payload, runs_payload

    batch = _prompt_runs()  # rows of different lengths: one run has retried attempts
    payload = rows_to_columns(runs_payload(batch.runs))
    assert len({len(column) for column in payload["columns"]}) == 1
    runs = runs_from_payload(payload)
    assert [run.retried for run in runs] == [run.retried for run in batch.runs]
    assert [run.status for run in runs] == [run.status for run in batch.runs]
    uneven = rows_to_columns(runs_payload(batch.runs))
    uneven["columns"][0].pop()
    with pytest.raises(InvalidArgumentError, match="columns are not all as long"):
        runs_from_payload(uneven)


def test_shared_values_are_written_once():
    batch = run_concurrent_sync(["book"], agent=ScriptedAgent({"book": "book(to='LA')"}), expect=[], runs=2000)
    blob = encode_runs(batch.runs)
    assert len(blob) < 40 * 2000  # a run is a short row of references, not its evaluation again
    assert len(pickle.dumps(batch.runs)) > 5 * len(blob)
    runs = decode_runs(blob)
    assert runs == batch.runs
    assert runs[0].eval_result is runs[1999].eval_result  # decoded runs share what they shared


def test_scenario_runs_round_trip_with_transcripts_verdicts_and_scores():
    spec = booking_scenario(
        "book <Oslo>",
        "a flight to Oslo",
        [tool_called("book_flight")],
        max_turns=2,
        scorers=[scenario.scorers.tool_call_match(["book_flight(to_city='Oslo')"]), scenario.scorers.success()],
        tags=["smoke"],
    )
    batch = arun(scenario.run_scenarios(spec, runs=3, seed=2, conditions={"agent_version": "v2"}))
    runs = decode_runs(encode_runs(batch.runs))
    assert runs == batch.runs
    first = runs[0]
    assert first.messages == batch.runs[0].messages and first.scores == batch.runs[0].scores
    assert first.lifecycle == batch.runs[0].lifecycle and first.expected_calls == batch.runs[0].expected_calls
    assert first.conditions == {"agent_version": "v2"} and first.tags == ["smoke"]


def test_an_empty_chunk_round_trips():
    assert decode_runs(encode_runs([])) == []


@pytest.mark.parametrize(
    "blob",
    [
        b"not zlib",
        zlib.compress(b"[1, 2]"),
        zlib.compress(b'{"kind": "russo_nb.runs", "version": 99}'),
    ],
)
def test_a_damaged_blob_is_one_clear_error(blob):
    with pytest.raises(InvalidArgumentError, match="runs blob"):
        decode_runs(blob)


def test_a_row_with_a_bad_cell_is_one_clear_error():
    text = zlib.decompress(encode_runs([make_run("a", 0, True)]))
    damaged = zlib.compress(text.replace(b'"passed"', b'"exploded"'))
    with pytest.raises(InvalidArgumentError, match="exploded"):
        decode_runs(damaged)


def test_other_objects_are_refused():
    with pytest.raises(InvalidArgumentError, match="SingleRunResult or ScenarioResult"):
        encode_runs([{"prompt": "a"}])


def test_a_text_and_a_list_that_print_alike_stay_apart():
    run = make_run('["a"]', 0, True, audio_key='["a"]', effects=["a"])
    again = decode_runs(encode_runs([run]))[0]
    assert again.audio_key == '["a"]' and again.effects == ["a"]


def test_equal_evaluations_made_per_run_are_written_once_and_different_ones_apart():
    import json

    batch = run_concurrent_sync(
        ["book", "fly"],
        agent=ScriptedAgent({"book": "book(to='LA')", "fly": "book(to='NY')"}),
        expect="book(to='LA')",
        runs=50,
    )
    for run in batch.runs:  # a fresh evaluation object per run, as a worker's chunk makes them
        run.eval_result = run.eval_result.model_copy(deep=True)
    tables = json.loads(zlib.decompress(encode_runs(batch.runs)))["tables"]
    assert len(tables["evals"]) == 2  # passed LA, failed NY: once each
    runs = decode_runs(encode_runs(batch.runs))
    assert runs == batch.runs
    assert {r.eval_result.passed for r in runs} == {True, False}
