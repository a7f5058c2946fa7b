"""A scenario batch saved mid-way (cancelled) resumes from its file: finished runs kept, only the
missing (scenario, run) pairs run, with the seeds an uninterrupted batch would have given them.

The scenarios' verdict depends on the run's seed (a script step fails the run when
``state.seed % 3 == 0``) and the agent's reply quotes it, so a resumed run with another seed
shows up as another status, reasoning or message.
"""

from __future__ import annotations

import asyncio

import pytest

from russo_nb.errors import InvalidArgumentError
from russo_nb.execution.resume import resume
from russo_nb.results.report import export, load_batch
from russo_nb.surfaces.testing import Gate, wait_for_progress

RUNS = 4


def _scenarios(hold: int | None = None, own_seeds: tuple[int, ...] = (0, 0, 0)):
    """Three scenarios; the agent answers with the run's seed and, after ``hold`` calls, waits at the gate."""
    from russo_nb.scenario import AgentAdapter, Scenario, agent, fail, succeed, user

    gate, calls = Gate(), []

    class Held(AgentAdapter):
        async def call(self, state):
            seed = state.scenario_state.seed  # an AgentInput: the run's state is in it
            calls.append(seed)
            if hold is not None and len(calls) > hold:
                await gate.wait()
            return f"ok, seed {seed}"

    def verdict(state):
        return fail(f"seed {state.seed} is a multiple of 3")() if state.seed % 3 == 0 else succeed()()

    specs = [
        Scenario(name=f"s{i}", agents=[Held()], script=[user("hi"), agent(), verdict], seed=own_seeds[i])
        for i in range(3)
    ]
    return specs, gate, calls


def _shape(batch):
    return [
        (r.name, r.run_index, r.status, r.seed, r.reasoning, [m.get("content") for m in r.messages]) for r in batch.runs
    ]


def _stopped(seed: int | None, own_seeds: tuple[int, ...], finished: int = 5):
    from russo_nb.scenario import start_scenarios

    async def main():
        specs, gate, _ = _scenarios(hold=finished, own_seeds=own_seeds)
        job = start_scenarios(specs, runs=RUNS, max_concurrency=2, seed=seed, name="nightly")
        await wait_for_progress(job, finished)
        await gate.until_waiting(2)
        job.cancel()
        await asyncio.gather(job.start(), return_exceptions=True)
        return job.result()

    return asyncio.run(main())


def _straight(seed: int | None, own_seeds: tuple[int, ...]):
    from russo_nb.scenario import start_scenarios

    specs, _, _ = _scenarios(own_seeds=own_seeds)
    return asyncio.run(start_scenarios(specs, runs=RUNS, seed=seed, name="nightly").wait())


@pytest.mark.parametrize(
    ("seed", "own_seeds", "suffix"),
    [(9, (0, 0, 0), "jsonl"), (None, (11, 12, 13), "jsonl"), (9, (0, 0, 0), "parquet")],
    ids=["batch-seed-jsonl", "own-seeds-jsonl", "batch-seed-parquet"],
)
def test_a_cancelled_scenario_batch_resumes_from_its_file_to_the_uninterrupted_one(tmp_path, seed, own_seeds, suffix):
    from russo_nb.scenario import ScenarioBatch

    partial = _stopped(seed, own_seeds)
    cancelled = partial.status_counts["cancelled"]
    assert partial.metadata.params["interrupted"] and cancelled == 3 * RUNS - 5
    loaded = load_batch(export(partial, tmp_path / f"partial.{suffix}"))
    assert isinstance(loaded, ScenarioBatch) and loaded.status_counts["cancelled"] == cancelled

    specs, _, calls = _scenarios(own_seeds=own_seeds)
    job = resume(loaded, specs)
    assert job.total == cancelled  # only the missing (scenario, run) pairs
    whole = asyncio.run(job.wait())
    straight = _straight(seed, own_seeds)
    assert len(calls) == cancelled
    assert _shape(whole) == _shape(straight)
    assert {"passed", "failed"} <= {r.status for r in whole.runs}  # the seeds decide both ways: a real comparison
    missing = {(r.name, r.run_index) for r in partial.runs if r.status == "cancelled"}
    assert sorted(calls) == sorted(r.seed for r in straight.runs if (r.name, r.run_index) in missing)
    kept = {(r.name, r.run_index): r.started_at for r in partial.runs if r.status != "cancelled"}
    assert {(r.name, r.run_index): r.started_at for r in whole.runs if (r.name, r.run_index) in kept} == kept
    assert whole.metadata.params["resumed"] == {"parts": [5, cancelled]}
    assert whole.metadata.name == "nightly" and whole.metadata.seed == seed
    assert whole.metadata.started_at == loaded.metadata.started_at  # one batch: the first part's start
    assert "Resumed: 5 runs, then 7" in whole.summary()
    again = resume(load_batch(export(whole, tmp_path / f"whole.{suffix}")), _scenarios(own_seeds=own_seeds)[0])
    assert again.total == 0  # nothing left to run


def test_resuming_a_scenario_batch_says_what_to_give(tmp_path):
    loaded = load_batch(export(_stopped(9, (0, 0, 0)), tmp_path / "partial.jsonl"))
    specs, _, calls = _scenarios()
    with pytest.raises(InvalidArgumentError, match="resumed with the scenarios it ran"):
        resume(loaded, None)
    with pytest.raises(InvalidArgumentError, match=r"give \['s2'\] too"):
        resume(loaded, specs[:2])
    other, _, _ = _scenarios()
    other[0].name = "s9"
    with pytest.raises(InvalidArgumentError, match=r"\['s9'\] are not in this batch"):
        resume(loaded, [*specs, other[0]])
    with pytest.raises(InvalidArgumentError, match="synthesizer given"):
        resume(loaded, specs, synthesizer=object())
    with pytest.raises(InvalidArgumentError, match="not seeded from seed=10"):
        resume(loaded, specs, seed=10)
    assert calls == []  # nothing ran


def test_a_scenario_seed_changed_since_the_batch_is_refused(tmp_path):
    loaded = load_batch(export(_stopped(None, (11, 12, 13)), tmp_path / "partial.jsonl"))
    specs, _, calls = _scenarios(own_seeds=(11, 12, 99))
    with pytest.raises(InvalidArgumentError, match=r"not seeded from each scenario's own seed .*'s2'"):
        resume(loaded, specs)
    assert calls == []


def test_the_magic_resumes_a_loaded_scenario_batch_given_its_scenarios(ip, tmp_path, capsys):
    partial = _stopped(9, (0, 0, 0))
    specs, _, calls = _scenarios()
    ip.user_ns.update(loaded=load_batch(export(partial, tmp_path / "partial.jsonl")), s0=specs[0], rest=specs[1:])
    try:
        assert ip.run_line_magic("russo", "resume loaded --quiet") is None  # refused: one line saying what to give
        error = [text for text in capsys.readouterr().err.splitlines() if text.startswith("russo:")]
        assert len(error) == 1 and "--scenarios NAME" in error[0]
        whole = ip.run_line_magic("russo", "resume loaded --scenarios s0 rest --quiet")
        assert ip.user_ns["loaded"] is whole
    finally:
        for name in ("loaded", "s0", "rest"):
            ip.user_ns.pop(name, None)
    assert len(calls) == partial.status_counts["cancelled"]
    assert _shape(whole) == _shape(_straight(9, (0, 0, 0)))


def test_scenario_runs_lost_to_the_cluster_run_again_and_the_agents_answers_are_kept(tmp_path):
    """Runs the Dask executor recorded as NoWorkers run again; every other run (failed ones too) is kept."""
    from russo_nb.model.types import RunError
    from russo_nb.scenario import start_scenarios

    specs, _, _ = _scenarios()
    job = start_scenarios(specs, runs=RUNS, seed=9, name="nightly")
    straight = asyncio.run(job.wait())
    assert {"passed", "failed"} <= set(straight.status_counts)  # the agent's own failures, to be kept
    plan = job.plans[0]
    lost = RunError(type="NoWorkers", message="the Dask cluster had no worker for 2 s", stage="dask")
    runs = list(straight.runs)
    for slot in (1, 6):  # s0 run 1 and s1 run 2: lost, as the executor records them
        runs[slot] = plan.item(*divmod(slot, RUNS)).failed("error", lost, 0)
    partial = straight.model_copy(update={"runs": runs})
    loaded = load_batch(export(partial, tmp_path / "lost.jsonl"))
    assert [r.error.type for r in loaded.runs if r.status == "error"] == ["NoWorkers", "NoWorkers"]
    fresh, _, calls = _scenarios()
    resumed = resume(loaded, fresh)
    assert resumed.total == 2
    whole = asyncio.run(resumed.wait())
    assert len(calls) == 2 and _shape(whole) == _shape(straight)  # as the uninterrupted batch, same seeds
