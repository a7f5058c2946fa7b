"""Issue 24, engine: stuck threads never starve healthy runs, every BaseException has a policy,
teardowns are waited for on Ctrl-C, huge cancelled batches stay counts, waits are bounded."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest
from interrupt_helpers import interrupt, scenario_teardown_script

import russo_nb as russo
from russo_nb import engine, scenario, threads
from russo_nb.engine import EngineOptions
from russo_nb.errors import InvalidArgumentError, RetryableError
from russo_nb.partial_runs import PartialRuns
from russo_nb.ratelimit import RateLimit
from russo_nb.testing import wait_for_progress

OK = "book(to='LA')"
BOOK = [russo.ToolCall(name="book", arguments={"to": "LA"})]


# -- threads ------------------------------------------------------------------------------------


def test_a_sync_agent_stuck_past_its_timeout_does_not_starve_the_healthy_runs():
    release = threading.Event()
    called: list[str] = []

    @russo.agent
    def agent(text):
        called.append(text)
        if text.startswith("stuck"):
            release.wait(60)  # blocked in I/O far past the run's timeout
        return BOOK

    prompts = ["stuck 1", "stuck 2"] + [f"healthy {i}" for i in range(6)]
    try:
        batch = russo.run_concurrent_sync(prompts, agent=agent, expect=[OK], max_concurrency=2, timeout=1.0)
    finally:
        release.set()
    statuses = {run.prompt: run.status for run in batch.runs}
    assert statuses["stuck 1"] == statuses["stuck 2"] == "timeout"
    assert all(statuses[f"healthy {i}"] == "passed" for i in range(6)), statuses
    assert sorted(called) == sorted(prompts)  # every healthy run really reached the agent


def test_a_timed_out_run_gets_the_teardown_bound_to_unwind_before_the_next_run_starts(caplog):
    events: list[str] = []

    @russo.agent
    async def agent(text):
        events.append(f"start {text}")
        try:
            await asyncio.sleep(60)  # far past the deadline
        finally:
            await asyncio.sleep(1)  # a 1 s cleanup: closing a session, flushing a log
            events.append(f"cleaned {text}")
        return BOOK

    batch = russo.run_concurrent_sync(["a", "b"], agent=agent, expect=[OK], max_concurrency=1, timeout=0.2)
    assert [run.status for run in batch.runs] == ["timeout", "timeout"]
    assert events == ["start a", "cleaned a", "start b", "cleaned b"]  # 'a' unwound before 'b' took its slot
    assert "abandoning" not in caplog.text
    assert engine.TEARDOWN_WAIT_S >= 1


def test_sync_agents_run_more_than_256_at_once_when_the_cap_says_so():
    parties = 300
    barrier = threading.Barrier(parties, timeout=60)  # passes only when 300 calls run at the same time

    @russo.agent
    def agent(text):
        barrier.wait()
        return BOOK

    prompts = [f"p{i}" for i in range(parties)]
    batch = russo.run_concurrent_sync(prompts, agent=agent, expect=[OK], max_concurrency=parties)
    assert batch.passed_count == parties, batch.status_counts


def test_blocking_calls_past_the_thread_limit_are_refused_as_that_runs_error(monkeypatch):
    monkeypatch.setattr(threads, "MAX_THREADS", 4)
    release = threading.Event()

    @russo.agent
    def agent(text):
        release.wait(60)
        return BOOK

    def on_progress(progress):
        if progress.errors >= 2:
            release.set()

    try:
        batch = russo.run_concurrent_sync(
            [f"p{i}" for i in range(6)], agent=agent, expect=[OK], max_concurrency=6, on_progress=on_progress
        )
    finally:
        release.set()
    assert batch.status_counts == {"passed": 4, "error": 2} or sorted(batch.status_counts.items()) == [
        ("error", 2),
        ("passed", 4),
    ]
    refused = [run.error for run in batch.runs if run.status == "error"]
    assert all(error.type == "TooManyBlockingCallsError" and "at most 4" in error.message for error in refused)


# -- BaseException policy -------------------------------------------------------------------------


class Custom(BaseException):
    """A library's own BaseException subclass."""


def _raise_failed():
    pytest.fail("asserted inside the agent")


@pytest.mark.parametrize(
    ("raise_it", "name"),
    [
        (lambda: (_ for _ in ()).throw(GeneratorExit("closed")), "GeneratorExit"),
        (lambda: (_ for _ in ()).throw(Custom("custom")), "Custom"),
        (_raise_failed, "Failed"),
        (lambda: sys.exit(3), "SystemExit"),
    ],
)
@pytest.mark.parametrize("sync", [True, False])
def test_a_base_exception_from_an_agent_is_that_runs_error(raise_it, name, sync):
    if sync:

        def call(text):
            if text == "bad":
                raise_it()
            return BOOK

    else:

        async def call(text):
            if text == "bad":
                raise_it()
            return BOOK

    batch = russo.run_concurrent_sync(["good", "bad"], agent=russo.agent(call), expect=[OK], runs=2)
    assert [run.status for run in batch.runs] == ["passed", "passed", "error", "error"]
    assert batch.runs[2].error.type == name
    assert "interrupted" not in batch.metadata.params


@pytest.mark.parametrize("exc", [GeneratorExit("x"), Custom("y")])
def test_a_base_exception_from_an_evaluator_is_that_runs_error(exc):
    class Raises:
        def evaluate(self, expected, actual):
            raise exc

    batch = russo.run_concurrent_sync(["a", "b"], agent=lambda t: BOOK, evaluator=Raises(), expect=[OK], timeout=5)
    assert [run.status for run in batch.runs] == ["error", "error"]
    assert batch.runs[0].error.stage == "evaluate" and batch.runs[0].error.type == type(exc).__name__


def test_a_base_exception_from_a_scenario_agent_is_that_runs_error():
    class Raises(scenario.AgentAdapter):
        async def call(self, state):
            raise Custom("from a library")

    spec = scenario.Scenario(name="c", agents=[Raises()], script=[scenario.user("hi"), scenario.agent()])
    batch = asyncio.run(scenario.run_scenarios(spec, runs=2))
    assert [run.status for run in batch.runs] == ["error", "error"]
    assert batch.runs[0].error.type == "Custom"


# -- Ctrl-C waits for teardowns and finally blocks ---------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_waits_for_a_two_second_teardown_and_finally_block(tmp_path):
    done = interrupt(tmp_path, scenario_teardown_script(2))
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("TORN DOWN 0") < done.stdout.index("RESULT cancelled torn_down")
    assert "Task was destroyed" not in done.stderr

    done = interrupt(
        tmp_path,
        """
        import asyncio
        import russo_nb as russo

        @russo.agent
        async def agent(text):
            try:
                print("READY", flush=True)
                await asyncio.sleep(60)
            finally:
                await asyncio.sleep(2)
                print("FINALLY RAN", flush=True)

        batch = russo.run_concurrent_sync("p", agent=agent, runs=1, timeout=30)
        print("RESULT", batch.runs[0].status, flush=True)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("FINALLY RAN") < done.stdout.index("RESULT cancelled")
    assert "Task was destroyed" not in done.stderr


# -- a huge batch stopped early ------------------------------------------------------------------------


def _stopped(prompts: int, runs: int, after: int):
    async def go():
        job = russo.start_batch([f"p{i}" for i in range(prompts)], agent=lambda t: BOOK, expect=[OK], runs=runs)
        await wait_for_progress(job, after)
        job.cancel()
        await asyncio.gather(job.start(), return_exceptions=True)
        return job

    return asyncio.run(go())


def test_cancelling_a_million_run_batch_counts_the_unfinished_runs_instead_of_building_them():
    job = _stopped(1, 1_000_000, 50)
    result = job.result()
    runs = result.runs
    assert isinstance(runs, PartialRuns) and runs.built_count == 0
    assert len(runs) == result.total == 1_000_000
    assert result.finished_count >= 50 and result.cancelled_count == 1_000_000 - result.finished_count
    assert result.pass_rate == 1.0 and result.metadata.params["interrupted"] is True
    last = runs[-1]  # looked at: built then, and only then
    assert (last.status, last.run_index, last.error.type) == ("cancelled", 999_999, "CancelledError")
    assert runs.built_count == 1
    assert result.prompts == ["p0"]


def test_cancelling_ten_million_run_batch_gives_a_result():
    job = _stopped(10, 1_000_000, 50)
    result = job.result()
    assert result.total == 10_000_000 and result.runs.built_count == 0
    assert result.cancelled_count + result.finished_count == 10_000_000
    assert result.prompts == [f"p{i}" for i in range(10)]
    run = result.runs[7_000_123]
    assert (run.prompt, run.run_index, run.status) == ("p7", 123, "cancelled")


def test_a_stopped_batchs_summary_lists_cancelled_runs_as_ranges():
    job = _stopped(2, 500, 10)
    result = job.result()
    text = result.summary()
    assert "cancelled" in text and text.count("[ ] runs") == 2
    assert result.runs.built_count == 0  # the summary built only the finished runs
    assert list(result.runs) == [result.runs[i] for i in range(len(result.runs))]


def test_a_stopped_batchs_summary_and_html_count_unfinished_runs_per_prompt_as_the_same_batch_built_eagerly():
    import pandas as pd

    from russo_nb.view.model import build_view, prompt_rows

    def agent(text):
        if text == "p1":
            raise RuntimeError("boom")
        return [] if text == "p2" else BOOK

    async def go():
        job = russo.start_batch(
            ["p0", "p1", "p2", "p0"], agent=agent, expect=[OK], runs=300, max_concurrency=3, retries=0
        )
        await wait_for_progress(job, 500)
        job.cancel()
        await asyncio.gather(job.start(), return_exceptions=True)
        return job.result()

    result = asyncio.run(go())
    runs = result.runs
    assert isinstance(runs, PartialRuns)
    built: list[int] = []
    fill = runs._fill
    runs._fill = lambda slot: built.append(slot) or fill(slot)  # count every unfinished run built
    text, html, rows = result.summary(), result._repr_mimebundle_(), prompt_rows(result)
    view = build_view(result)
    assert len(built) <= 3 * len(result.prompts) + 4  # a few per prompt, never one per unfinished run
    eager = result.model_copy(update={"runs": list(runs)})  # the same runs, every one an object
    assert type(eager.runs) is list and len(eager.runs) == 1200
    assert text == eager.summary() and html == eager._repr_mimebundle_()
    assert result.prompts == eager.prompts and result.usage == eager.usage
    pd.testing.assert_frame_equal(result.to_dataframe(), eager.to_dataframe())  # cells decoded from coded columns
    assert rows == prompt_rows(eager) and view.statuses == build_view(eager).statuses
    assert [row.prompt for row in rows] == ["p0", "p1", "p2"] and rows[0].runs == 600
    assert sum(row.cancelled for row in rows) == result.cancelled_count > 0
    assert {"passed", "error", "failed", "cancelled"} <= set(view.statuses)
    assert "cancelled" in text and text.count("[ ] runs") == 3


# -- retries, backoff and waits ----------------------------------------------------------------


def test_retries_past_the_limit_are_refused_and_backoff_never_overflows():
    with pytest.raises(InvalidArgumentError, match=r"retries=1,100 .*\(at most 100\)"):
        EngineOptions(retries=1100, retry_backoff=0)
    settings = EngineOptions(retries=100, retry_backoff=0.0)
    assert settings.retry_delay(1100, RuntimeError()) == 0.0
    assert EngineOptions(retries=100, retry_backoff=1.0).retry_delay(5000, RuntimeError()) == 30.0


def test_a_runs_retry_waits_scale_with_timeout_so_a_huge_retry_after_ends_the_run_quickly(http_agent_server):
    from russo_nb.adapters import HttpAgent

    assert EngineOptions(timeout=1, retries=3).wait_bound() == 60.0  # timeout × 4 = 4 s, but at least 60 s
    assert EngineOptions(timeout=50, retries=3).wait_bound() == 200.0
    assert EngineOptions(timeout=500, retries=3).wait_bound() == EngineOptions().wait_bound() == 600.0
    first = len(http_agent_server.received)
    started = time.monotonic()
    batch = russo.run_concurrent_sync(  # Retry-After: 1e9 (capped at 600 s a wait) from a real server
        "p", agent=HttpAgent(f"{http_agent_server.url}/429-forever"), expect=[OK], retries=3, timeout=1
    )
    took = time.monotonic() - started
    run = batch.runs[0]
    assert run.status == "error" and run.attempts == 1 and run.error.type == "RetryableHTTPError"
    assert "not retried: waiting 600s more would pass the 60s a run may spend waiting" in run.error.message
    assert "timeout × (retries + 1)" in run.error.message
    assert [item["path"] for item in http_agent_server.received[first:]] == ["/429-forever"]
    assert took < 30  # ended, not parked (a 600 s wait would time the test out)


@pytest.mark.parametrize("spec", ["0.0000001/h", "0.5/h", 1e-9])
def test_absurdly_slow_rate_limits_are_refused(spec):
    with pytest.raises(InvalidArgumentError):
        RateLimit.parse(spec)
    assert str(RateLimit.parse("1/h")) == "1/h"


def test_a_runs_retry_waits_are_bounded_in_total(monkeypatch):
    monkeypatch.setattr(engine, "MAX_RUN_WAIT_S", 0.25)
    attempts = []

    @russo.agent
    async def agent(text):
        attempts.append(text)
        raise RetryableError("429 too many requests", retry_after=0.2, status=429)

    batch = russo.run_concurrent_sync("p", agent=agent, expect=[OK], retries=5, retry_backoff=0.01, timeout=1)
    run = batch.runs[0]
    assert run.status == "error" and run.attempts == 2 and len(attempts) == 2
    assert "not retried" in run.error.message and "0.25s a run may spend waiting" in run.error.message
