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


# -- what a resume runs again: cancelled runs and runs lost to the infrastructure, never the agent's answers --------


def _lost(plan, unit: int, run: int):
    """The run the Dask executor records when its cluster lost every worker before the run came back."""
    return plan.item(unit, run).failed("error", _lost_error(), 0)


def _counting_agent(fail: set[tuple[str, int]] = frozenset()):
    """An agent that books LA, raising on the (prompt, call number) pairs in ``fail``; records what it heard."""
    heard: list[str] = []

    @russo_nb.agent
    async def agent(text):
        heard.append(text)
        if (text, heard.count(text) - 1) in fail:
            raise RuntimeError(f"the agent's own bug on {text}")
        return [ToolCall(name="book_flight", arguments={"to_city": "LA"})]

    return agent, heard


def test_resume_reruns_cancelled_and_infrastructure_errors_but_keeps_the_agents_errors(tmp_path):
    from russo_nb.report import export, load_batch

    agent, _ = _counting_agent(fail={(PROMPTS[0], 0)})  # run 0 of prompt 0: the agent raises (its own error)
    job = start_batch(PROMPTS, None, agent, expect=EXPECT, runs=3, max_concurrency=1, seed=3)
    first = asyncio.run(job.wait())
    plan = job.plans[0]
    runs = list(first.runs)
    runs[4] = _lost(plan, 1, 1)  # prompt 1 run 1 and prompt 3 run 0: the cluster lost them
    runs[9] = _lost(plan, 3, 0)
    runs[13] = plan.item(4, 1).failed("cancelled", None, 0)  # prompt 4 run 1: never finished
    partial = first.model_copy(update={"runs": runs})
    assert partial.runs[0].status == "error" and partial.runs[0].error.type == "RuntimeError"
    assert partial.status_counts == {"error": 3, "passed": 11, "cancelled": 1}

    for source in (partial, load_batch(export(partial, tmp_path / "partial.parquet"))):
        again, heard = _counting_agent()
        resumed = resume(source, again)
        assert resumed.total == 3  # two lost to the infrastructure + one cancelled; the agent's error is kept
        whole = asyncio.run(resumed.wait())
        assert sorted(heard) == sorted([PROMPTS[1], PROMPTS[3], PROMPTS[4]])
        assert [(r.prompt, r.run_index) for r in whole.runs] == [(p, i) for p in PROMPTS for i in range(3)]
        assert whole.status_counts == {"error": 1, "passed": 14}
        kept = whole.runs[0]
        assert (kept.status, kept.error.type, kept.error.message) == (
            "error",
            "RuntimeError",
            f"the agent's own bug on {PROMPTS[0]}",
        )
        assert whole.metadata.params["resumed"]["parts"] == [12, 3]
        assert resume(whole, again).total == 0  # the agent's error is never asked again


class _LostCluster:
    """An executor whose cluster is gone: every run comes back ``NoWorkers``, as the Dask executor records it."""

    def check(self, job) -> None:
        pass

    def connect(self):
        return None

    def close(self) -> None:
        pass

    async def run(self, job) -> None:
        for index, plan in enumerate(job.plans):
            for slot in range(plan.units * plan.runs):
                unit, run = divmod(slot, plan.runs)
                job.deliver(index, slot, plan.item(unit, run).failed("error", _lost_error(), 0))


def _lost_error():
    from russo_nb.model.types import RunError

    return RunError(type="NoWorkers", message="the Dask cluster had no worker for 2 s", stage="dask")


def test_job_resume_completes_a_batch_its_cluster_lost_in_this_process():
    from russo_nb.execution.engine import InProcessExecutor, infrastructure_error

    agent, heard = _counting_agent()
    job = start_batch(PROMPTS, None, agent, expect=EXPECT, runs=2, executor=_LostCluster())
    lost = asyncio.run(job.wait())
    assert lost.status_counts == {"error": 10} and all(infrastructure_error(run) for run in lost.runs)
    assert heard == []
    on_cluster = job.resume()
    assert on_cluster.total == 10 and isinstance(on_cluster.executor, _LostCluster)  # the job's own executor
    here = job.resume(executor=InProcessExecutor())
    whole = asyncio.run(here.wait())
    assert whole.status_counts == {"passed": 10} and len(heard) == 10
    assert [(r.prompt, r.run_index) for r in whole.runs] == [(p, i) for p in PROMPTS for i in range(2)]
    assert here.resume().total == 0
