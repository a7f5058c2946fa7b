"""Retried attempts stay visible per run, and usage is kept in the history store (issue 13, items 3 and 4).

A real HTTP server on 127.0.0.1 answers 429 with Retry-After once, then 200; the run that passed on its
second try still shows the 429 of its first, in the run table, the summary, a JSONL file and the store.
"""

from __future__ import annotations

import json
import sqlite3

from adapter_helpers import BOOK
from analysis_helpers import batch_from_outcomes

import russo_nb as russo
from russo_nb.adapters import HttpAgent
from russo_nb.errors import RetryableError
from russo_nb.report.jsonl import read_jsonl, write_jsonl
from russo_nb.store import HistoryStore
from russo_nb.types import MAX_RETRIED_KEPT, MAX_RETRIED_MESSAGE, AgentResponse


def test_a_run_that_passed_after_a_429_keeps_the_429(http_agent_server, tmp_path):
    http_agent_server.httpd.counts.pop("/429", None)
    agent = HttpAgent(f"{http_agent_server.url}/429")
    result = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1, retries=2, retry_backoff=0.01)
    run = result.runs[0]
    assert run.status == "passed" and run.attempts == 2
    assert len(run.retried) == 1
    first = run.retried[0]
    assert first.type == "RetryableHTTPError" and "HTTP 429" in first.message
    assert first.retry_after == 1.0 and first.waited_s >= 1.0
    assert "after 2 attempts (last retried: RetryableHTTPError)" in result.summary()
    assert result.to_dataframe()["retried"].tolist() == ["1 retried, last RetryableHTTPError"]

    loaded = read_jsonl(write_jsonl(result, tmp_path / "b.jsonl"))
    assert loaded.runs[0].attempts == 2 and loaded.runs[0].retried == run.retried

    store = HistoryStore(tmp_path / "h.sqlite")
    batch_id = store.record(result)
    assert store.load(batch_id).runs[0].retried == run.retried
    with sqlite3.connect(tmp_path / "h.sqlite") as conn:
        assert conn.execute("SELECT retried FROM runs").fetchall() == [("1 retried, last RetryableHTTPError",)]


def test_a_run_without_retries_writes_the_same_jsonl_line_as_before(tmp_path):
    batch = batch_from_outcomes({"a": [True]})
    path = write_jsonl(batch, tmp_path / "b.jsonl")
    run_line = next(line for line in path.read_text().splitlines() if line.startswith("["))
    assert len(json.loads(run_line)) == 14
    assert read_jsonl(path).runs[0].retried == ()


def test_retried_attempts_are_bounded_in_count_and_size():
    tries = 0

    @russo.agent
    async def flaky(prompt):
        nonlocal tries
        tries += 1
        if tries <= 13:
            raise RetryableError(f"busy #{tries} " + "x" * 2000, status=503)
        return [russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})]

    result = russo.run_concurrent_sync("a", None, flaky, expect=[BOOK], runs=1, retries=13, retry_backoff=0.001)
    run = result.runs[0]
    assert run.status == "passed" and run.attempts == 14
    assert len(run.retried) == MAX_RETRIED_KEPT
    assert run.retried[0].message.startswith("busy #4 ") and run.retried[-1].message.startswith("busy #13 ")
    assert all(len(a.message) <= MAX_RETRIED_MESSAGE for a in run.retried)
    assert all(a.retry_after is None and a.waited_s is not None for a in run.retried)


def test_a_run_that_fails_on_every_attempt_keeps_the_earlier_ones():
    @russo.agent
    async def down(prompt):
        raise RetryableError("HTTP 503", status=503)

    result = russo.run_concurrent_sync("a", None, down, expect=[BOOK], runs=1, retries=2, retry_backoff=0.001)
    run = result.runs[0]
    assert run.status == "error" and run.attempts == 3
    assert [a.type for a in run.retried] == ["RetryableError", "RetryableError"]
    assert run.error.type == "RetryableError"  # the last attempt is the run's error, not repeated in retried


def test_the_history_store_keeps_usage_columns(tmp_path):
    batch = batch_from_outcomes({"a": [True, False]})
    batch.runs[0].response = AgentResponse(
        tool_calls=[], usage={"input_tokens": 120, "output_tokens": 30, "total_tokens": 150, "audio_s": 2.5}
    )
    path = tmp_path / "h.sqlite"
    store = HistoryStore(path)
    batch_id = store.record(batch)
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT input_tokens, output_tokens, total_tokens, audio_s FROM runs WHERE batch_id = ? ORDER BY seq",
            (batch_id,),
        ).fetchall()
    assert rows == [(120.0, 30.0, 150.0, 2.5), (None, None, None, None)]
    loaded = HistoryStore(path).load(batch_id)
    assert loaded.runs[0].response.usage == {
        "input_tokens": 120,
        "output_tokens": 30,
        "total_tokens": 150,
        "audio_s": 2.5,
    }


def test_an_older_store_gains_the_usage_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    HistoryStore(path)
    with sqlite3.connect(path) as conn:
        for name in ("input_tokens", "output_tokens", "total_tokens", "audio_s", "retried"):
            conn.execute(f"ALTER TABLE runs DROP COLUMN {name}")
    store = HistoryStore(path)
    batch = batch_from_outcomes({"a": [True]})
    batch.runs[0].response = AgentResponse(tool_calls=[], usage={"total_tokens": 7})
    batch_id = store.record(batch)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT total_tokens FROM runs WHERE batch_id = ?", (batch_id,)).fetchall() == [(7.0,)]


def test_a_scenario_run_keeps_its_retried_attempts_through_the_same_engine():
    from scenario_helpers import arun

    from russo_nb import scenario
    from russo_nb.scenario import AgentAdapter, Scenario, run_scenarios

    calls = 0

    class BusyOnce(AgentAdapter):
        async def call(self, input):
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RetryableError("HTTP 429", retry_after=0.05, status=429)
            return "hello"

    spec = Scenario(
        name="busy once",
        description="d",
        agents=[BusyOnce(), scenario.UserSimulatorAgent(lines=["hi"])],
        script=[scenario.user(), scenario.agent(), scenario.succeed()],
    )
    batch = arun(run_scenarios(spec, runs=1, retries=1, retry_backoff=0.001))
    run = batch.runs[0]
    assert run.status == "passed" and run.attempts == 2
    assert [(a.type, a.stage, a.retry_after) for a in run.retried] == [("RetryableError", "agent", 0.05)]
    assert batch.to_dataframe()["retried"].tolist() == ["1 retried, last RetryableError"]
    assert batch.to_batch_result().runs[0].retried == run.retried
