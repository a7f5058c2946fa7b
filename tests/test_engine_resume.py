"""Resume: a stopped batch runs only its unfinished runs, with the seeds they would have had, and merges them."""

from __future__ import annotations

import asyncio

import pytest
from foundation_helpers import ToneSynthesizer

import russo_nb
from russo_nb import ToolCall
from russo_nb.errors import InvalidArgumentError
from russo_nb.resume import resume
from russo_nb.runner import start_batch

PROMPTS = [f"Book flight {i} to LA" for i in range(5)]
EXPECT = ["book_flight(to_city='LA')"]


def _gated_agent(finish_first: int):
    """An agent whose first ``finish_first`` calls answer at once; the rest wait for ``gate``."""
    calls: list[str] = []
    gate = asyncio.Event()

    @russo_nb.agent
    async def agent(heard):
        calls.append("call")
        if len(calls) > finish_first:
            await gate.wait()
        return [ToolCall(name="book_flight", arguments={"to_city": "LA"})]

    return agent, calls, gate


async def _stopped_after(job, finished: int):
    task = job.start()
    while job.progress.done < finished:
        await asyncio.sleep(0.005)
    job.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return job.result()


def test_resume_runs_only_the_cancelled_runs_with_the_same_seeds_and_merges():
    async def scenario():
        agent, calls, gate = _gated_agent(6)
        job = start_batch(
            PROMPTS, ToneSynthesizer(), agent, expect=EXPECT, runs=4, max_concurrency=2, effects="noise:20db", seed=7
        )
        partial = await _stopped_after(job, 6)
        gate.set()
        made = len(calls)
        resumed = job.resume()
        assert resumed.total == partial.status_counts["cancelled"]  # only what did not finish
        whole = await resumed
        # the same batch uninterrupted, for the seeds each run should have had
        reference_agent, _, reference_gate = _gated_agent(0)
        reference_gate.set()
        reference = await start_batch(
            PROMPTS, ToneSynthesizer(), reference_agent, expect=EXPECT, runs=4, effects="noise:20db", seed=7
        )
        return partial, made, calls, whole, reference

    partial, made, calls, whole, reference = asyncio.run(scenario())
    cancelled = partial.status_counts["cancelled"]
    assert partial.status_counts["passed"] >= 6 and cancelled >= 1 and partial.metadata.params["interrupted"]
    assert len(calls) - made == cancelled  # the finished runs were not run again
    assert whole.total == 20 and whole.passed_count == 20 and "cancelled" not in whole.status_counts
    assert not whole.metadata.params.get("interrupted")
    assert [(r.prompt, r.run_index, r.seed) for r in whole.runs] == [
        (r.prompt, r.run_index, r.seed) for r in reference.runs
    ]  # every run in its place, with the seed an uninterrupted batch gives it
    kept = {(r.prompt, r.run_index): r for r in partial.runs if r.status == "passed"}
    kept_again = [r for r in whole.runs if (r.prompt, r.run_index) in kept]
    assert len(kept_again) == len(kept) and all(r is kept[(r.prompt, r.run_index)] for r in kept_again)


def test_a_loaded_export_resumes_with_the_agent_given(tmp_path):
    from russo_nb.report import export, load_batch

    async def stopped():
        agent, _, gate = _gated_agent(5)
        job = start_batch(PROMPTS, None, agent, expect=EXPECT, runs=3, max_concurrency=2, seed=3)
        partial = await _stopped_after(job, 5)
        gate.set()
        return partial

    partial = asyncio.run(stopped())
    path = export(partial, tmp_path / "partial.jsonl")
    loaded = load_batch(path)
    agent, calls, _ = _gated_agent(100)  # 15 calls: the gate is never reached
    job = resume(loaded, agent)
    assert job.total == partial.status_counts["cancelled"]
    whole = asyncio.run(job.wait())
    assert len(calls) == partial.status_counts["cancelled"]
    assert whole.total == 15 and whole.passed_count == 15
    assert [(r.prompt, r.run_index) for r in whole.runs] == [(p, i) for p in PROMPTS for i in range(3)]
    again = resume(whole, agent)
    assert again.total == 0  # nothing left to run


def test_resume_refuses_a_batch_without_runs():
    with pytest.raises(InvalidArgumentError, match="nothing to resume"):
        resume(russo_nb.BatchResult(), agent=None)


def test_resume_refuses_what_is_not_a_prompt_batch():
    with pytest.raises(InvalidArgumentError, match=r"takes a prompt batch .*not list"):
        resume(russo_nb.BatchResult().runs, agent=None)  # the runs, not the batch holding them
    scenarios_as_prompts = russo_nb.BatchResult(metadata=russo_nb.BatchMetadata(kind="scenarios"))
    with pytest.raises(InvalidArgumentError, match=r"holds 'scenarios' runs .*resume\(scenario_batch"):
        resume(scenarios_as_prompts, agent=None)
