"""Resume equals an uninterrupted run: a seeded voice batch with effects, stopped while a Gate holds runs, then resumed.

The agent's answer depends on the exact audio it heard (a checksum of the noisy clip), so a
resumed run with any other seed, effect or clip would show up as another status or evaluation.
"""

from __future__ import annotations

import asyncio
import zlib

import pytest

from russo_nb.errors import InvalidArgumentError
from russo_nb.report import export, load_batch
from russo_nb.resume import resume
from russo_nb.runner import start_batch
from russo_nb.testing import Gate, ToneSynthesizer, wait_for_progress

PROMPTS = [f"Book flight {i} to LA" for i in range(4)]
EXPECT = ["book_flight(to_city='LA')"]
SETUP = {"expect": EXPECT, "runs": 5, "effects": "noise:20db", "seed": 11}


class HeardAgent:
    """Answers from a checksum of the clip it heard (right 2 times in 3); after ``hold`` calls it waits for ``gate``."""

    def __init__(self, hold: int | None = None) -> None:
        self.hold = hold
        self.gate = Gate()
        self.calls = 0

    async def run(self, heard):
        self.calls += 1
        if self.hold is not None and self.calls > self.hold:
            await self.gate.wait()
        data = heard.data if hasattr(heard, "data") else str(heard).encode()
        city = "Boston" if zlib.crc32(data) % 3 == 0 else "LA"
        return [{"name": "book_flight", "arguments": {"to_city": city}}]


def _shape(result):
    """What must not change between a straight run and a resumed one, run by run."""
    return [
        (r.prompt, r.run_index, r.status, r.seed, r.audio_key, r.eval_result.model_dump(), r.effects)
        for r in result.runs
    ]


async def _stop(job, agent, finished: int, held: int):
    """Start ``job``, let ``finished`` runs finish, wait until ``held`` runs wait at the gate, cancel."""
    await wait_for_progress(job, finished)
    await agent.gate.until_waiting(held)
    job.cancel()
    await asyncio.gather(job.start(), return_exceptions=True)
    return job.result()


def _straight():
    return asyncio.run(start_batch(PROMPTS, ToneSynthesizer(), HeardAgent(), **SETUP).wait())


def test_a_resumed_seeded_batch_equals_the_uninterrupted_one():
    async def interrupted_then_resumed():
        agent = HeardAgent(hold=7)
        job = start_batch(PROMPTS, ToneSynthesizer(), agent, max_concurrency=2, **SETUP)
        partial = await _stop(job, agent, 7, 2)
        agent.gate.open()
        before = agent.calls
        whole = await job.resume()
        return partial, whole, agent.calls - before

    partial, whole, called_again = asyncio.run(interrupted_then_resumed())
    straight = _straight()
    cancelled = partial.status_counts["cancelled"]
    assert partial.metadata.params["interrupted"] and cancelled == 20 - 7
    assert called_again == cancelled  # only the cancelled runs ran again
    assert _shape(whole) == _shape(straight)
    assert set(whole.audio) == set(straight.audio)
    assert {"passed", "failed"} <= set(whole.status_counts)  # the checksum answers both ways: a real comparison
    assert whole.metadata.params["resumed"] == {"parts": [7, 13]}
    assert not whole.metadata.params.get("interrupted")
    assert whole.metadata.batch_id == partial.metadata.batch_id
    assert whole.metadata.started_at == partial.metadata.started_at  # one batch, begun when the first part began


def test_a_resume_stopped_again_resumes_from_where_both_left_off():
    async def twice():
        agent = HeardAgent(hold=4)
        job = start_batch(PROMPTS, ToneSynthesizer(), agent, max_concurrency=2, **SETUP)
        await _stop(job, agent, 4, 2)
        agent.hold, agent.calls, agent.gate = 5, 0, Gate()
        again = job.resume()
        stopped = await _stop(again, agent, 5, 2)
        agent.gate.open()
        return stopped, await again.resume()

    stopped, whole = asyncio.run(twice())
    assert stopped.status_counts["cancelled"] == 20 - 4 - 5 and stopped.metadata.params["resumed"] == {"parts": [4, 5]}
    assert stopped.runs.built_count == 0  # the still-unfinished runs stay a count
    assert whole.metadata.params["resumed"] == {"parts": [4, 5, 11]}
    assert _shape(whole) == _shape(_straight())


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_an_exported_partial_batch_resumes_to_the_uninterrupted_batch(tmp_path, suffix):
    async def stopped():
        agent = HeardAgent(hold=6)
        job = start_batch(PROMPTS, ToneSynthesizer(), agent, max_concurrency=2, **SETUP)
        return await _stop(job, agent, 6, 2)

    partial = asyncio.run(stopped())
    loaded = load_batch(export(partial, tmp_path / f"partial{suffix}"))
    agent = HeardAgent()
    if suffix == ".csv":  # a CSV file has no metadata block: no seed, no effects
        with pytest.raises(InvalidArgumentError, match="give the batch's seed"):
            resume(loaded, agent, ToneSynthesizer(), effects="noise:20db")
        job = resume(loaded, agent, ToneSynthesizer(), effects="noise:20db", seed=11)
    else:  # the seed and the effects come from the file
        job = resume(loaded, agent, ToneSynthesizer())
    assert job.total == 14
    if hasattr(loaded.runs, "built_count") and suffix != ".jsonl":
        assert loaded.runs.built_count <= 6 + len(PROMPTS)  # the unfinished rows were read as columns
    whole = asyncio.run(job.wait())
    assert agent.calls == 14
    straight = _straight()
    keep = ["prompt", "run_index", "status", "seed"]
    assert [[getattr(r, k) for k in keep] for r in whole.runs] == [[getattr(r, k) for k in keep] for r in straight.runs]
    resumed = [r for r in whole.runs if r.status != "cancelled" and r.audio_key]
    assert {r.audio_key for r in resumed} <= set(straight.audio)  # the resumed runs heard the same clips
    assert whole.metadata.params["resumed"] == {"parts": [6, 14]}


def test_resuming_with_other_effects_is_refused(tmp_path):
    async def stopped():
        agent = HeardAgent(hold=3)
        job = start_batch(PROMPTS, ToneSynthesizer(), agent, max_concurrency=2, **SETUP)
        return await _stop(job, agent, 3, 2)

    loaded = load_batch(export(asyncio.run(stopped()), tmp_path / "partial.jsonl"))
    with pytest.raises(InvalidArgumentError, match="was run with effects"):
        resume(loaded, HeardAgent(), ToneSynthesizer(), effects="noise:10db")


# -- scenario batches resume through their job ----------------------------------------------------


def _scenarios(hold: int | None):
    """Three scenarios whose agent answers "ok"; after ``hold`` calls it waits at the gate."""
    from russo_nb.scenario import AgentAdapter, Scenario, agent, succeed, user

    gate, calls = Gate(), []

    class Held(AgentAdapter):
        async def call(self, state):
            calls.append(1)
            if hold is not None and len(calls) > hold:
                await gate.wait()
            return "ok"

    specs = [Scenario(name=f"s{i}", agents=[Held()], script=[user("hi"), agent(), succeed()]) for i in range(3)]
    return specs, gate, calls


def test_a_stopped_scenario_batch_resumes_to_the_uninterrupted_one():
    from russo_nb.scenario import start_scenarios

    def shape(batch):
        return [(r.name, r.run_index, r.status, r.seed) for r in batch.runs]

    async def stopped_then_resumed():
        specs, gate, calls = _scenarios(hold=5)
        job = start_scenarios(specs, runs=4, max_concurrency=2, seed=9)
        await wait_for_progress(job, 5)
        await gate.until_waiting(2)
        job.cancel()
        await asyncio.gather(job.start(), return_exceptions=True)
        partial = job.result()
        gate.open()
        before = len(calls)
        whole = await job.resume()
        return partial, whole, len(calls) - before

    partial, whole, called_again = asyncio.run(stopped_then_resumed())
    specs, _, _ = _scenarios(hold=None)
    straight = asyncio.run(start_scenarios(specs, runs=4, seed=9).wait())
    assert partial.metadata.params["interrupted"] and called_again == 12 - 5
    assert shape(whole) == shape(straight) and {r.status for r in whole.runs} == {"passed"}
    assert whole.metadata.params["resumed"] == {"parts": [5, 7]}
    assert "Resumed: 5 runs, then 7" in whole.summary()


def test_the_magic_resumes_a_loaded_csv_given_the_seed(ip, tmp_path, capsys):
    async def stopped():
        agent = HeardAgent(hold=6)
        job = start_batch(PROMPTS, ToneSynthesizer(), agent, max_concurrency=2, **SETUP)
        return await _stop(job, agent, 6, 2)

    ip.user_ns.update(
        loaded=load_batch(export(asyncio.run(stopped()), tmp_path / "partial.csv")),
        heard=HeardAgent(),
        tones=ToneSynthesizer(),
    )
    line = "resume loaded --agent heard --synthesizer tones --effects noise:20db --quiet"
    try:
        assert ip.run_line_magic("russo", line) is None  # refused: one line saying what to give
        error = [text for text in capsys.readouterr().err.splitlines() if text.startswith("russo:")]
        assert len(error) == 1 and "give the batch's seed" in error[0]
        whole = ip.run_line_magic("russo", f"{line} --seed 11")
        assert ip.user_ns["loaded"] is whole and ip.user_ns["heard"].calls == 14
    finally:
        for name in ("loaded", "heard", "tones"):
            ip.user_ns.pop(name, None)
    straight = _straight()
    keep = ["prompt", "run_index", "status", "seed"]
    assert [[getattr(r, k) for k in keep] for r in whole.runs] == [[getattr(r, k) for k in keep] for r in straight.runs]


def test_resume_of_a_huge_stopped_result_reads_counts_not_runs():
    async def stopped():
        agent = HeardAgent(hold=50)
        job = start_batch(["p0", "p1"], None, agent, expect=EXPECT, runs=100_000, max_concurrency=2)
        return await _stop(job, agent, 50, 2)

    partial = asyncio.run(stopped())
    job = resume(partial, HeardAgent())
    assert job.total == partial.status_counts["cancelled"] == 200_000 - partial.finished_count
    assert partial.runs.built_count <= 2  # at most one run per prompt looked at, for its expectations
    assert job.plans[0].slots.size == job.total and job.plans[0].plan.runs == 100_000
