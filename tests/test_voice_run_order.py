"""Runs reach the offline agent's recognition pool in the engine's round-robin order, so an interrupted
demo has finished runs of every prompt (README: "a batch stopped early has finished runs of every prompt").

Before the fix a batch with no concurrency limit (the one default) started all its runs at once; each
prompt's runs waited for its clip and reached the process pool together, which served them first come,
first served: stopped after 22 of 160 runs, the demo had 2 prompts at 10/10 and 13 "not run".
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

import russo_nb as russo
from russo_nb.audio.transcribe import RunOrderQueue, inline_queue, recognition_queue
from russo_nb.demo import demo_suite, start_demo
from russo_nb.engine import Plan, run_position, schedule

PROMPTS = ["alpha", "bravo", "charlie", "delta"]
RUNS = 5


class ClipGatedAgent:
    """A text agent whose runs wait for their prompt's "clip" (released prompt by prompt, as synthesis
    finishes) and then for one shared worker: the shape of the demo, without processes."""

    def __init__(self, submit) -> None:
        self.submit = submit
        self.ready = {prompt: asyncio.Event() for prompt in PROMPTS}
        self.arrived: list[int] = []  # run positions in the order runs reached the worker's queue
        self.served: list[int] = []  # run positions in the order the worker ran them

    async def run(self, text: str) -> russo.AgentResponse:
        await self.ready[text].wait()
        position = run_position()
        self.arrived.append(position)
        await asyncio.wrap_future(self.submit(self.served.append, position))
        return russo.AgentResponse(tool_calls=[russo.ToolCall(name="noop", arguments={})], text=text)


async def _served_order(make_submit) -> ClipGatedAgent:
    with ThreadPoolExecutor(max_workers=1) as worker:
        gate = threading.Event()
        blocker = worker.submit(gate.wait)  # the worker is busy while every run queues behind it
        agent = ClipGatedAgent(make_submit(worker))
        job = russo.start_batch(PROMPTS, None, agent, expect=[russo.tool_call("noop")], runs=RUNS)
        task = asyncio.ensure_future(job.wait())
        for prompt in PROMPTS:  # clips become ready one prompt after another: arrivals are prompt-major
            agent.ready[prompt].set()
            for _ in range(20):
                await asyncio.sleep(0)
        while len(agent.arrived) < len(PROMPTS) * RUNS:
            await asyncio.sleep(0.01)
        gate.set()
        result = await task
        blocker.result()
    assert result.passed_count == len(PROMPTS) * RUNS
    return agent


def test_run_position_is_the_round_robin_place_of_the_run():
    seen: dict[tuple[str, int], int] = {}
    count: Counter = Counter()

    class Recorder:
        async def run(self, text: str) -> russo.AgentResponse:
            seen[(text, count[text])] = run_position()  # runs of a prompt start in run-index order
            count[text] += 1
            await asyncio.sleep(0)
            return russo.AgentResponse(text=text)

    russo.run_concurrent_sync(PROMPTS, None, Recorder(), runs=3, max_concurrency=2)
    assert sorted(seen.values()) == list(range(len(PROMPTS) * 3))
    plan_order = [(PROMPTS[unit], run) for _, unit, run in schedule([_Plan(len(PROMPTS), 3)])]
    assert [seen[key] for key in plan_order] == list(range(len(PROMPTS) * 3))
    assert run_position() is None  # outside a run


class _Plan(Plan):
    def __init__(self, units: int, runs: int) -> None:
        self.units, self.runs = units, runs


def test_the_queue_serves_waiting_runs_in_round_robin_order_not_arrival_order():
    agent = asyncio.run(_served_order(lambda worker: RunOrderQueue(worker, 1).submit))
    round_robin = list(range(len(PROMPTS) * RUNS))
    assert agent.arrived != round_robin  # they arrived prompt by prompt ...
    assert agent.served == round_robin  # ... and were served run 0 of every prompt, then run 1, ...


def test_a_plain_pool_serves_them_prompt_by_prompt():
    """The control: the executor alone (first come, first served) is what left prompts not run."""
    agent = asyncio.run(_served_order(lambda worker: worker.submit))
    assert agent.served == agent.arrived
    assert agent.served[:RUNS] == [run * len(PROMPTS) for run in range(RUNS)]  # prompt 0's five runs first


def test_a_cancelled_waiting_call_never_reaches_the_pool():
    with ThreadPoolExecutor(max_workers=1) as worker:
        queue = RunOrderQueue(worker, 1)
        gate = threading.Event()
        first = queue.submit(gate.wait)
        ran = []
        dropped = queue.submit(ran.append, "dropped")
        kept = queue.submit(ran.append, "kept")
        assert queue.waiting == 2
        assert dropped.cancel()
        assert queue.waiting == 1
        gate.set()
        first.result(timeout=10)
        kept.result(timeout=10)
    assert ran == ["kept"]


def test_calls_that_finish_at_once_do_not_recurse():
    """A pool whose calls are done before their callback is added: 5,000 of them in a row."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        queue = RunOrderQueue(worker, 1)
        futures = [queue.submit(int, str(index)) for index in range(5000)]
        assert [future.result(timeout=30) for future in futures] == list(range(5000))


# -- the real demo: espeak-ng, the local pocketsphinx agent, its process pool ---------------------------


def _finished_by_prompt(result) -> Counter:
    return Counter(run.prompt for run in result.runs if run.status != "cancelled")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["process", "inline"])
def test_a_cancelled_demo_has_finished_runs_of_every_prompt(mode):
    """In the recognition pool, and inline (one decoding thread: how a Dask worker decodes)."""
    from russo_nb.adapters.local import LocalVoiceAgent

    prompts = demo_suite().prompts
    stop_after = 22

    async def main():
        job = start_demo(runs=10, agent=LocalVoiceAgent.demo(mode=mode))
        finished = 0
        async for _ in job:
            finished += 1
            if finished >= stop_after:
                job.cancel()
                break
        await asyncio.gather(job.wait(), return_exceptions=True)
        return job.result()

    result = asyncio.run(main())
    by_prompt = _finished_by_prompt(result)
    assert result.total == len(prompts) * 10 and sum(by_prompt.values()) >= stop_after
    # round-robin: 22 finished runs over 16 prompts (before: 10 + 10 + 2 over 3 prompts)
    assert len(by_prompt) >= len(prompts) - 2, by_prompt
    assert max(by_prompt.values()) <= 3, by_prompt
    queue = inline_queue() if mode == "inline" else recognition_queue()
    assert queue.waiting == 0  # the stopped batch left no clip waiting for a worker


@pytest.mark.slow
def test_ctrl_c_in_russo_demo_keeps_finished_runs_of_every_prompt(tmp_path, cli_env):
    prompts = len(demo_suite().prompts)
    total = prompts * 10
    process = subprocess.Popen(
        [sys.executable, "-m", "russo_nb", "demo", "--runs", "10"],
        cwd=tmp_path,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    for line in process.stderr:  # plain progress lines at each 10% step: 1/160, 16/160, ...
        seen.append(line)
        done = re.search(rf"demo: (\d+)/{total} runs done", line)
        if done and int(done.group(1)) >= total // 10:
            break
    else:
        raise AssertionError(f"no progress line reached 10%: {seen!r}")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    head = re.search(rf"over (\d+) finished runs of {total}", out)
    assert head and out.startswith("INTERRUPTED"), out[:500]
    finished = int(head.group(1))
    not_run = out.count("    not run (10 cancelled)")
    assert finished >= total // 10
    assert prompts - not_run >= min(finished, prompts) - 2, out  # before the fix: 13 of 16 prompts not run
    assert "Misheard / failed runs:" not in out or "cancelled: CancelledError" not in out  # cancelled ≠ misheard
