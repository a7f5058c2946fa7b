"""Broken agents end as that run's result, never a hang or a lost batch; Ctrl-C keeps what finished."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading

import pytest
from interrupt_helpers import interrupt, scenario_teardown_script

import russo_nb as russo
from russo_nb import scenario
from russo_nb.testing import Gate, ScriptedAgent, wait_for_progress

OK = "book(to='LA')"


def arun(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_an_agent_raising_cancelled_error_is_that_runs_error(timeout):
    agent = ScriptedAgent({"bad": asyncio.CancelledError("inner deadline")}, default=OK)
    batch = arun(russo.run_concurrent(["good", "bad"], agent=agent, expect=[OK], runs=2, timeout=timeout))
    assert [run.status for run in batch.runs] == ["passed", "passed", "error", "error"]
    assert batch.runs[2].error.type == "CancelledError" and batch.runs[2].error.stage == "agent"
    assert "interrupted" not in batch.metadata.params


def test_a_scenario_agent_raising_cancelled_error_is_that_runs_error():
    class Cancels(scenario.AgentAdapter):
        async def call(self, state):
            raise asyncio.CancelledError("library timeout")

    spec = scenario.Scenario(name="c", agents=[Cancels()], script=[scenario.user("hi"), scenario.agent()])
    batch = arun(scenario.run_scenarios(spec, runs=2))
    assert [run.status for run in batch.runs] == ["error", "error"]
    assert batch.runs[0].error.type == "CancelledError"


def test_timeout_ends_a_blocking_sync_agent_on_time():
    release = threading.Event()

    @russo.agent
    def blocking(text):
        if text == "slow":
            release.wait(30)  # a sync agent stuck in blocking I/O
        return [russo.ToolCall(name="book", arguments={"to": "LA"})]

    try:
        batch = russo.run_concurrent_sync(["fast", "slow"], agent=blocking, expect=[OK], timeout=0.5)
        still_blocked = not release.is_set()
    finally:
        release.set()
    assert [run.status for run in batch.runs] == ["passed", "timeout"]
    assert batch.runs[1].error.message == "run exceeded timeout of 0.5s"
    assert still_blocked  # the batch ended while the agent was still blocked: the deadline did not wait for it


def test_timeout_ends_an_agent_that_swallows_cancellation():
    release = threading.Event()

    @russo.agent
    async def stubborn(text):
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                pass  # swallowed
        return [russo.ToolCall(name="book", arguments={"to": "LA"})]

    try:
        batch = russo.run_concurrent_sync("p", agent=stubborn, expect=[OK], timeout=0.2)
        still_running = not release.is_set()
    finally:
        release.set()
    assert batch.runs[0].status == "timeout" and still_running


@pytest.mark.parametrize("sync", [False, True])
def test_system_exit_inside_an_agent_is_that_runs_error(sync):
    def answer(text):
        if text == "bad":
            raise SystemExit(3)
        return [russo.ToolCall(name="book", arguments={"to": "LA"})]

    async def async_answer(text):
        return answer(text)

    agent = russo.agent(answer if sync else async_answer)
    batch = russo.run_concurrent_sync(["good", "bad", "good2"], agent=agent, expect=[OK])
    assert [run.status for run in batch.runs] == ["passed", "error", "passed"]
    assert batch.runs[1].error.type == "SystemExit"


@pytest.mark.parametrize("how", ["await", "sync", "thread"])
def test_keyboard_interrupt_inside_an_agent_stops_the_batch_and_keeps_finished_runs(how):
    calls = []

    def answer(text):
        calls.append(text)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return [russo.ToolCall(name="book", arguments={"to": "LA"})]

    async def async_answer(text):
        return answer(text)

    agent = russo.agent(answer if how == "thread" else async_answer)
    options = {"agent": agent, "expect": [OK], "runs": 2, "max_concurrency": 1}
    if how == "await":
        batch = arun(russo.run_concurrent(["a", "b", "c"], **options))
    else:
        batch = russo.run_concurrent_sync(["a", "b", "c"], **options)
    statuses = {(run.prompt, run.run_index): run.status for run in batch.runs}
    assert statuses[("a", 0)] == statuses[("b", 0)] == "passed"
    assert statuses[("c", 0)] == "cancelled" and len(calls) == 3
    assert sum(status == "cancelled" for status in statuses.values()) == 4
    interrupted = next(run for run in batch.runs if run.error and run.error.type == "KeyboardInterrupt")
    assert interrupted.prompt == "c"
    assert batch.metadata.params["interrupted"] is True


def test_sync_agents_run_as_many_at_once_as_the_cap_allows():
    barrier = threading.Barrier(12, timeout=20)  # breaks (run errors) unless 12 calls wait at once

    @russo.agent
    def meets(text):
        barrier.wait()
        return [russo.ToolCall(name="book", arguments={"to": "LA"})]

    batch = russo.run_concurrent_sync("p", agent=meets, expect=[OK], runs=12, max_concurrency=12)
    assert batch.passed_count == 12, [str(run.error) for run in batch.runs if run.error]


def test_http_agents_run_as_many_at_once_as_the_cap_allows():
    barrier = threading.Barrier(12, timeout=20)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            barrier.wait()
            body = json.dumps({"tool_calls": [{"name": "book", "arguments": {"to": "LA"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        from russo_nb.adapters import HttpAgent

        agent = HttpAgent(f"http://127.0.0.1:{server.server_port}/agent", timeout=30)
        batch = russo.run_concurrent_sync("p", agent=agent, expect=[OK], runs=12, max_concurrency=12)
    finally:
        server.shutdown()
        server.server_close()
    assert batch.passed_count == 12, [str(run.error) for run in batch.runs if run.error]


def test_cancel_after_some_runs_waits_on_progress_not_on_sleep():
    gate = Gate()

    @russo.agent
    async def agent(text):
        if text == "held":
            await gate.wait()
        return [russo.ToolCall(name="book", arguments={"to": "LA"})]

    async def main():
        job = russo.start_batch(["free", "held"], agent=agent, expect=[OK], runs=3)
        await wait_for_progress(job, 3)
        assert gate.waiting == 3
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        return job.result()

    batch = arun(main())
    assert [run.status for run in batch.runs] == ["passed"] * 3 + ["cancelled"] * 3


# -- Ctrl-C in a real process ---------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_stops_the_batch_thread_before_returning(tmp_path):
    done = interrupt(
        tmp_path,
        """
        import asyncio, threading
        import russo_nb as russo

        @russo.agent
        async def agent(text):
            if text == "slow":
                print("READY", flush=True)
                await asyncio.sleep(60)
            return []

        batch = russo.run_concurrent_sync(["fast", "slow"], agent=agent, runs=2, max_concurrency=2)
        alive = sorted(t.name for t in threading.enumerate() if t.name.startswith("russo"))
        print("ALIVE", alive)
        print("STATUSES", sorted({r.status for r in batch.runs}), batch.metadata.params.get("interrupted"))
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "ALIVE []" in done.stdout
    assert "STATUSES ['cancelled', 'passed'] True" in done.stdout


@pytest.mark.slow
def test_ctrl_c_runs_scenario_teardown(tmp_path):
    done = interrupt(tmp_path, scenario_teardown_script(0.2))
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("TORN DOWN 0") < done.stdout.index("RESULT cancelled torn_down")


@pytest.mark.slow
def test_ctrl_c_during_synthesis_leaves_no_pending_task(tmp_path):
    done = interrupt(
        tmp_path,
        """
        import asyncio
        import russo_nb as russo

        class SlowVoice:
            async def synthesize(self, text):
                print("READY", flush=True)
                await asyncio.sleep(60)

        batch = russo.run_concurrent_sync(["a", "b"], synthesizer=SlowVoice(), agent=lambda audio: [], runs=3)
        print("STATUSES", sorted({r.status for r in batch.runs}), flush=True)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "STATUSES ['cancelled']" in done.stdout
    assert "Task was destroyed" not in done.stderr and "never retrieved" not in done.stderr


@pytest.mark.slow
def test_ctrl_c_with_a_blocked_sync_agent_returns_and_the_process_exits(tmp_path):
    done = interrupt(
        tmp_path,
        """
        import time
        import russo_nb as russo

        @russo.agent
        def stuck(text):
            print("READY", flush=True)
            time.sleep(600)

        batch = russo.run_concurrent_sync("p", agent=stuck, runs=2)
        print("STATUSES", [r.status for r in batch.runs], flush=True)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "STATUSES ['cancelled', 'cancelled']" in done.stdout
