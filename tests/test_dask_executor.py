"""DaskExecutor: the same job and result on a real LocalCluster (2 worker processes), and its guards."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import pytest
import scenario_helpers
from kernel_helpers import execute
from scenario_helpers import BookingAgent

import russo_nb as russo
from russo_nb.config import parse_suite
from russo_nb.dask_executor import (
    DaskExecutor,
    ShippingError,
    Span,
    chunk_cells,
    decode_block,
    decode_rows,
    encode_rows,
    plan_shares,
)
from russo_nb.engine import Plan, schedule
from russo_nb.errors import SuiteFileError
from russo_nb.extras import MissingExtraError
from russo_nb.model.run_blocks import RunBlock, plan_positions
from russo_nb.testing import Gate, ScriptedAgent, ToneSynthesizer

# the workers are other processes: classes of this test module travel by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(scenario_helpers)

BOOKED = russo.AgentResponse(tool_calls=[russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})])
TIMINGS = {"latency_s", "synth_s", "started_at"}


def _rows(result):
    """Each run's fields but timings, as JSON text (so a NaN condition equals itself)."""
    return [json.dumps(run.model_dump(exclude=TIMINGS), sort_keys=True, default=str) for run in result.runs]


class PacedAgent:
    """Answers by prompt after a short pause, so a job lasts long enough to disturb it."""

    name = "paced"

    def __init__(self, pause: float) -> None:
        self.pause = pause

    async def run(self, heard):
        await asyncio.sleep(self.pause)
        return BOOKED


class HoldingAgent:
    """Answers 'quick' prompts at once; a closed Gate holds 'held' ones (a marker file per held run).

    The gate travels to the workers closed (:class:`~russo_nb.testing.Gate` pickles as a new gate), so held
    runs wait there until their job is cancelled.
    """

    name = "holding"

    def __init__(self, markers: str) -> None:
        self.markers = markers
        self.gate = Gate()

    async def run(self, heard):
        if str(heard).startswith("held"):
            Path(self.markers, f"{os.getpid()}-{time.monotonic_ns()}").touch()
            await self.gate.wait()
        return BOOKED


class MarkingSynthesizer:
    """Tones, leaving a marker file per synthesis (pid and prompt), so a test can count them across processes."""

    name = "marking"

    def __init__(self, markers: str) -> None:
        self.markers = markers
        self.tones = ToneSynthesizer()

    async def synthesize(self, text):
        Path(self.markers, f"{os.getpid()}-{text}-{time.monotonic_ns()}").touch()
        return await self.tones.synthesize(text)


class LockedAgent:
    name = "locked"

    def __init__(self) -> None:
        self.lock = threading.Lock()

    async def run(self, heard):
        return None


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


async def _cancelled(job):
    """Cancel ``job``, wait for its end, and give its result (the finished runs kept)."""
    job.cancel()
    try:
        await job
    except asyncio.CancelledError:
        pass
    return job.result()


# -- without a cluster ------------------------------------------------------------------------------


class _Shape(Plan):
    def __init__(self, units: int, runs: int) -> None:
        self.units = units
        self.runs = runs


def test_schedule_from_any_index_continues_the_round_robin():
    plans = [_Shape(3, 4), _Shape(0, 9), _Shape(2, 1), _Shape(1, 6)]
    full = list(schedule(plans))
    assert len(full) == sum(plan.total for plan in plans) == 20
    assert full[:6] == [(0, 0, 0), (0, 1, 0), (0, 2, 0), (2, 0, 0), (2, 1, 0), (3, 0, 0)]
    assert sorted(set(full)) == sorted(full)  # every (plan, unit, run) once
    for start in range(len(full) + 1):
        assert list(schedule(plans, start)) == full[start:]


def test_shares_cut_the_runs_by_weight_and_their_chunks_keep_the_round_robin():
    plans = [_Shape(3, 4), _Shape(0, 9), _Shape(2, 1), _Shape(1, 6), _Shape(8, 6)]
    full = list(schedule(plans))
    for weights in ([1, 1], [1, 1, 1], [3, 1], [1, 2, 1, 1]):
        shares = plan_shares(plans, weights)
        assert len(shares) == len(weights)
        cells = []
        for share, weight in zip(shares, weights):
            size = sum(span.units * span.runs for span in share)
            assert abs(size - len(full) * weight / sum(weights)) <= 1  # its part of the runs
            units = {(span.plan, span.first + unit) for span in share for unit in range(span.units)}
            mine = chunk_cells(share, 0, size)
            assert {(index, unit) for index, unit, _ in mine} == units  # a share's chunks hold its units only
            first_run = {(span.plan, span.first + unit): span.first_run for span in share for unit in range(span.units)}
            rounds = [run - first_run[index, unit] for index, unit, run in mine]
            assert rounds == sorted(rounds)  # round-robin: each unit's first run of the share, then the second...
            for start in range(size + 1):
                assert chunk_cells(share, start, min(size, start + 5)) == mine[start : start + 5]
            cells += mine
        assert sorted(cells) == sorted(full)  # every (plan, unit, run) in exactly one share
    assert plan_shares(plans, [1]) == [[Span(0, 0, 3, 4), Span(2, 0, 2, 1), Span(3, 0, 1, 6), Span(4, 0, 8, 6)]]
    # where two shares meet, a unit's runs are split: one prompt on two workers, 3 on 2 (not 2 + 1)
    assert plan_shares([_Shape(1, 100)], [1, 1]) == [[Span(0, 0, 1, 50)], [Span(0, 0, 1, 50, 50)]]
    assert plan_shares([_Shape(3, 10)], [1, 1]) == [
        [Span(0, 0, 1, 10), Span(0, 1, 1, 5)],
        [Span(0, 1, 1, 5, 5), Span(0, 2, 1, 10)],
    ]


def test_each_worker_is_sent_the_chunks_of_its_own_share():
    from russo_nb.dask_executor import _Driver

    prompts = [f"prompt {n}" for n in range(8)]
    two = {"tcp://b:2": 1, "tcp://a:1": 1}

    def planned(workers, chunk_size=None, **options):
        job = russo.start_batch(prompts, agent=ScriptedAgent(), runs=6, **options)
        executor = DaskExecutor(object.__new__(_FakeClient), chunk_size=chunk_size)
        driver = _Driver(executor, executor._client, job, b"", asyncio.new_event_loop())
        threads = sum(workers.values())
        cap = job.settings.max_concurrency
        running = threads if cap is None else min(threads, cap)
        return driver._plan(workers, threads, running, 2 if cap is None or cap >= threads else 1, 1)

    shares = planned(two)
    assert [(share.owner, share.quota, share.spans) for share in shares] == [
        ("tcp://a:1", 2, [Span(0, 0, 4, 6)]),
        ("tcp://b:2", 2, [Span(0, 4, 4, 6)]),
    ]
    assert [share.bounds for share in shares] == [[(0, 12), (12, 18), (18, 21), (21, 23), (23, 24)]] * 2
    assert [share.bounds for share in planned(two, chunk_size=10)] == [[(0, 10), (10, 20), (20, 24)]] * 2
    alone = planned(two, max_concurrency=1)  # one run at a time: one worker, one share, any worker
    assert [(share.owner, share.quota, share.spans) for share in alone] == [(None, 1, [Span(0, 0, 8, 6)])]
    assert [share.owner for share in planned({"tcp://a:1": 3})] == [None]


class _FakeClient:
    """Stands for a distributed.Client where only the executor's argument check looks (``submit``)."""

    def submit(self, *args, **kwargs):
        raise AssertionError("nothing is submitted when a job is only planned")


def test_rows_round_trip_every_field():
    result = russo.run_concurrent_sync(
        ["Book a flight to LA", "hello"],
        agent=ScriptedAgent({"Book a flight to LA": "book_flight(to_city='LA')"}),
        expect="book_flight(to_city='LA')",
        runs=3,
    )
    back = decode_rows(encode_rows(result.runs))
    assert [run.model_dump() for run in back] == [run.model_dump() for run in result.runs]


def test_a_chunk_whose_values_do_not_pickle_travels_as_json():
    class Handle:  # an SDK object an agent hands back as raw: it does not pickle
        def __init__(self):
            self.lock = threading.Lock()

        def __repr__(self):
            return "Handle()"

    answer = russo.AgentResponse(text="ok", raw=Handle())
    result = russo.run_concurrent_sync(["hi"], agent=ScriptedAgent({"hi": answer}), expect=[], runs=2)
    blob = encode_rows(result.runs)
    assert blob.startswith(b"x")  # zlib: encode_runs' JSON, which writes an unknown object as its repr
    assert decode_block(blob) is None  # the driver decodes a JSON chunk into runs at once
    back = decode_rows(blob)
    assert [run.response.raw for run in back] == ["Handle()", "Handle()"]
    assert [run.status for run in back] == [run.status for run in result.runs]


def test_a_damaged_chunk_blob_is_one_clear_error():
    from russo_nb.errors import InvalidArgumentError

    blob = encode_rows(russo.run_concurrent_sync(["hi"], agent=ScriptedAgent(), expect=[], runs=2).runs)
    with pytest.raises(InvalidArgumentError, match="damaged runs blob"):
        decode_rows(blob[: len(blob) // 2])


def test_a_damaged_chunk_kept_as_rows_is_one_clear_error_on_arrival_or_when_its_run_is_built():
    import pickle

    from russo_nb.errors import InvalidArgumentError

    blob = encode_rows(russo.run_concurrent_sync(["hi"], agent=ScriptedAgent(), expect=[], runs=2).runs)
    with pytest.raises(InvalidArgumentError, match="damaged runs blob"):
        decode_block(blob[: len(blob) // 2])
    payload = pickle.loads(blob)
    status = payload["fields"].index("status")
    payload["columns"][status][1] = "exploded"
    with pytest.raises(InvalidArgumentError, match=r"damaged russo_nb runs blob \(KeyError: 'exploded'"):
        decode_block(pickle.dumps(payload))  # the status column is checked on arrival: the counts read it
    payload = pickle.loads(blob)
    payload["columns"][payload["fields"].index("eval_result")][1] = 99  # no such evaluation in the tables
    block = decode_block(pickle.dumps(payload))
    assert block.run_at(0) == decode_rows(blob)[0]
    with pytest.raises(InvalidArgumentError, match=r"damaged russo_nb runs blob \(IndexError"):
        block.run_at(1)  # the other cells are checked when the run is built


def test_chunks_decoded_with_one_texts_memo_share_their_prompt_texts():
    result = russo.run_concurrent_sync(["Book a flight to LA", "hello"], agent=ScriptedAgent(), expect=[], runs=2)
    texts: dict[str, str] = {}
    first, second = (decode_rows(encode_rows(result.runs), texts) for _ in range(2))
    assert first == second == result.runs
    assert first[0].prompt is second[0].prompt and first[0].prompt_id is second[0].prompt_id
    alone = decode_rows(encode_rows(result.runs))
    assert alone[0].prompt == first[0].prompt and alone[0].prompt is not first[0].prompt


def test_each_chunk_gets_its_share_of_the_cap_and_the_rate_limit():
    from russo_nb.dask_executor import _chunk_settings
    from russo_nb.engine import EngineOptions

    shared = _chunk_settings(EngineOptions(max_concurrency=10, rate_limit="60/min", timeout=3), 4)
    assert shared.max_concurrency == 2 and shared.timeout == 3
    assert shared.rate_limit.requests == 15 and shared.rate_limit.per_s == 60
    assert _chunk_settings(EngineOptions(), 4).max_concurrency is None
    assert _chunk_settings(EngineOptions(max_concurrency=2), 2).max_concurrency == 1


def test_job_keeps_the_first_result_per_index():
    job = russo.start_batch("hello", agent=ScriptedAgent(), runs=2)
    first = job.plans[0].item(0, 1).failed("error", None, 1)
    again = job.plans[0].item(0, 1).failed("timeout", None, 1)
    assert job.deliver(0, 1, first) is True
    assert job.deliver(0, 1, again) is False
    assert job.progress.done == 1
    assert job.result().runs[1].status == "error"


# -- the driver keeps each chunk's rows and builds runs on access ----------------------------------------------


def _built(runs):
    """How many runs the blocks a job's result keeps built (0: every count came from the rows)."""
    blocks = {id(entry): entry for entry in runs._results if type(entry) is RunBlock}
    return sum(block.built for block in blocks.values())


def _chunk_of(result):
    """A finished batch's runs as the block the driver keeps of a chunk holding them all (slot i is row i)."""
    block = decode_block(encode_rows(result.runs))
    assert block is not None and block.built == 0
    return block


MIXED = dict(
    agent=ScriptedAgent({"Book a flight to LA": "book_flight(to_city='LA')"}), expect="book_flight(to_city='LA')"
)


def test_a_chunk_kept_as_rows_counts_without_building_and_builds_each_run_as_decoded():
    here = russo.run_concurrent_sync(["Book a flight to LA", "hello"], runs=3, seed=3, **MIXED)
    eager = decode_rows(encode_rows(here.runs))
    block = _chunk_of(here)
    job = russo.start_batch(["Book a flight to LA", "hello"], runs=3, seed=3, **MIXED)
    rows = block.for_plan(plan_positions(6))
    assert job.deliver_rows(0, rows, range(6), range(6)) == 6
    assert (job.progress.done, job.progress.passed, job.progress.failed) == (6, 3, 3)
    result = job.result()
    assert (result.total, result.passed_count, result.status_counts) == (6, 3, {"passed": 3, "failed": 3})
    assert result.tally().finished == 6 and _built(result.runs) == 0  # every count came from the status column
    assert result.runs[4] == eager[4] and rows.built == 1
    assert result.runs[4] is result.runs[4]  # built once, then kept in its slot
    assert list(result.runs) == eager == here.runs
    assert rows.built == 6
    assert RunBlock not in map(type, job._results[0])  # the job keeps the built runs too: the block is freed
    assert job.result().runs[0] is result.runs[0]


def test_a_chunk_delivered_twice_keeps_the_first_rows():
    prompts = ["Book a flight to LA", "hello"]
    first = _chunk_of(russo.run_concurrent_sync(prompts, runs=2, **MIXED))  # passed, passed, failed, failed
    failing = ScriptedAgent()  # answers nothing: every run fails
    again = _chunk_of(russo.run_concurrent_sync(prompts, runs=2, agent=failing, expect=MIXED["expect"]))
    job = russo.start_batch(prompts, runs=2, **MIXED)
    positions = plan_positions(4)
    assert job.deliver_rows(0, first.for_plan(positions), [0, 1], [0, 1]) == 2
    twice = again.for_plan(positions)
    assert job.deliver_rows(0, twice, [0, 1, 2, 3], [0, 1, 2, 3]) == 2  # only the slots not kept yet
    assert job.deliver(0, 1, job.plans[0].item(0, 1).failed("error", None, 1)) is False
    assert job.progress.done == 4 and job.progress.passed == 2
    runs = job.result().runs
    assert [run.status for run in runs] == ["passed", "passed", "failed", "failed"]  # 0, 1 from the first chunk
    assert [again.status_at(row) for row in range(4)] == ["failed"] * 4
    assert twice.built == 2  # the runs of slots 2 and 3; rows 0 and 1 of the second chunk were never built


def test_a_cancelled_job_kept_as_rows_shows_its_finished_runs_and_cancels_the_rest():
    here = russo.run_concurrent_sync(["Book a flight to LA", "hello"], runs=3, **MIXED)
    job = russo.start_batch(["Book a flight to LA", "hello"], runs=3, **MIXED)
    cut = job.plans[0].item(1, 0).failed("cancelled", None, 0)  # a run the cancel cut off on its worker
    rows = _chunk_of(here).for_plan(plan_positions(6))
    assert job.deliver_rows(0, rows, [0, 1], [0, 1]) == 2
    assert job.deliver_rows(0, _chunk_of(russo.BatchResult(runs=[cut])).for_plan(plan_positions(6)), [0], [3]) == 0
    job.cancel()
    result = job.result()
    assert result.status_counts == {"passed": 2, "cancelled": 4} and _built(result.runs) == 0
    assert job.progress.done == 2
    assert list(result.runs)[:2] == here.runs[:2]
    assert [run.status for run in result.runs] == ["passed", "passed"] + ["cancelled"] * 4


def test_a_job_kept_as_rows_resumes_to_the_uninterrupted_result():
    from russo_nb.engine import InProcessExecutor

    options = dict(runs=3, seed=5, synthesizer=ToneSynthesizer(), effects="noise:10db", **MIXED)
    prompts = ["Book a flight to LA", "hello"]
    here = russo.run_concurrent_sync(prompts, **options)
    job = russo.start_batch(prompts, **options)
    assert job.deliver_rows(0, _chunk_of(here).for_plan(plan_positions(6)), [0, 1, 3], [0, 1, 3]) == 3
    job.cancel()
    resumed = job.resume(executor=InProcessExecutor())
    assert resumed.total == 3
    whole = asyncio.run(resumed.wait())
    assert _rows(whole) == _rows(here)
    assert whole.metadata.params["resumed"]["parts"] == [3, 3]


# -- the driver's delivery of a chunk: damaged, of both run kinds --------------------------------------------


def _driver_of(job):
    """The driver of ``job`` on a loop of its own, with no cluster (only its delivery of chunks is used)."""
    from russo_nb.execution.dask_executor import _Driver, _Share

    loop = asyncio.new_event_loop()
    driver = _Driver(DaskExecutor("tcp://127.0.0.1:1"), None, job, b"", loop)
    spans = [Span(index, 0, plan.units, plan.runs) for index, plan in enumerate(job.plans)]
    return driver, _Share(0, spans, [(0, job.total)], None, 1), loop


def test_a_damaged_chunk_delivers_its_runs_as_errors_naming_it():
    prompts = ["Book a flight to LA", "hello"]
    runs = russo.run_concurrent_sync(prompts, runs=2, **MIXED).runs
    blob = encode_rows(runs)
    for damaged, why in [(blob[: len(blob) // 2], "damaged runs blob"), (encode_rows(runs[:3]), "not 4 runs")]:
        job = russo.start_batch(prompts, runs=2, **MIXED)
        driver, share, loop = _driver_of(job)
        driver._deliver(share, 0, 4, damaged, {}, None)
        loop.close()
        runs = job.result().runs
        assert [run.status for run in runs] == ["error"] * 4 and job.progress.done == 4
        assert {(run.error.type, run.error.stage) for run in runs} == {("InvalidArgumentError", "dask")}
        assert why in runs[0].error.message and "chunk failed on the Dask cluster" in runs[0].error.message


def _suite_job(**options):
    from russo_nb.config import start_suite

    return start_suite(Path(__file__).resolve().parents[1] / "data" / "suites" / "text_conversations.yaml", **options)


def test_a_chunk_of_prompt_runs_and_scenario_runs_travels_in_one_part_per_kind():
    from russo_nb.dask_executor import chunk_parts

    here = _suite_job(runs=2, seed=4)
    asyncio.run(here.wait())
    spans = [Span(index, 0, plan.units, plan.runs) for index, plan in enumerate(here.plans)]
    cells = chunk_cells(spans, 0, here.total)
    runs = [here._results[index][unit * here.plans[index].runs + run] for index, unit, run in cells]
    kinds = [type(run).__name__ for run in runs]
    assert {"SingleRunResult", "ScenarioResult"} == set(kinds) and kinds != sorted(kinds)  # interleaved
    blob = encode_rows(runs)
    parts = chunk_parts(blob)
    assert [kinds[positions[0]] for positions, _ in parts] == ["SingleRunResult", "ScenarioResult"]
    assert decode_rows(blob) == runs
    assert [decode_block(part) is not None for _, part in parts] == [True, True]  # each kept as rows
    job = _suite_job(runs=2, seed=4)
    driver, share, loop = _driver_of(job)
    driver._deliver(share, 0, job.total, blob, {}, None)
    loop.close()
    assert {type(entry).__name__ for results in job._results for entry in results} == {"RunBlock"}
    result, expected = job.result(), here.result()  # a suite's result builds its runs (its combined batch)
    assert job.progress.done == job.total and result.passed_count == expected.passed_count
    for name, batch in expected.tests.items():
        assert result.tests[name].runs == batch.runs
    assert result.scenarios.runs == expected.scenarios.runs
    with pytest.raises(russo.InvalidArgumentError, match="damaged runs blob"):
        chunk_parts(blob[:-3])


def test_missing_distributed_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'russo_nb\[dask\]'"):
        DaskExecutor()


def test_bad_client_is_one_clear_error():
    with pytest.raises(russo.InvalidArgumentError, match="client must be None, a scheduler address"):
        DaskExecutor(42)


def test_suite_executor_block():
    from russo_nb.config.running import suite_executor

    tests = [{"prompt": "hello", "expect": "greet()"}]
    suite = parse_suite(
        {"tests": tests, "executor": {"kind": "dask", "address": "tcp://127.0.0.1:1", "chunk_size": 50}}
    )
    executor = suite_executor(suite)
    assert isinstance(executor, DaskExecutor) and executor.chunk_size == 50
    assert suite_executor(parse_suite({"tests": tests, "executor": "local"})) is None
    with pytest.raises(SuiteFileError, match=r"executor.*kind must be 'local' or 'dask'"):
        parse_suite({"tests": tests, "executor": {"kind": "ray"}})


def test_unpicklable_agent_is_named_before_anything_ships():
    executor = DaskExecutor("tcp://127.0.0.1:1")  # never reached: the check comes first
    with pytest.raises(ShippingError, match=r"^agent LockedAgent cannot be sent to Dask workers \(cannot pickle"):
        russo.start_batch("hello", agent=LockedAgent(), executor=executor)


# -- on a LocalCluster ----------------------------------------------------------------------------


@pytest.mark.slow
def test_seeded_job_equals_the_in_process_run(client):
    options = dict(
        synthesizer=ToneSynthesizer(),
        agent=ScriptedAgent(lambda text: "book_flight(to_city='LA')"),
        expect="book_flight(to_city='LA')",
        runs=9,
        effects="noise:10db",
        seed=7,
        conditions={"agent_version": "v2"},
    )
    prompts = ["Book a flight to LA", "Fly me to LA", "hello there"]
    here = russo.run_concurrent_sync(prompts, **options)
    there = russo.run_concurrent_sync(prompts, executor=DaskExecutor(client, chunk_size=4), **options)
    # the driver kept each chunk's rows: the counts come from them, no run built
    assert (there.total, there.status_counts) == (27, here.status_counts) and _built(there.runs) == 0
    _blocks_freed_once_built(there)
    assert list(there.runs) == there.runs and _rows(there) == _rows(here)  # built on access, as in process
    assert _frame(there).equals(_frame(here)) and "agent_version" in _frame(here).columns
    assert {run.conditions["agent_version"] for run in there.runs} == {"v2"}
    assert len({run.seed for run in here.runs}) == 27  # every run had its own noise
    assert there.audio.keys() == here.audio.keys() and len(here.audio) == 30  # 3 clean clips + 27 noisy
    assert all(there.audio[key].data == clip.data for key, clip in here.audio.items())
    skip = {"started_at", "finished_at", "batch_id"}
    assert there.metadata.model_dump(exclude=skip) == here.metadata.model_dump(exclude=skip)


@pytest.mark.slow
def test_each_prompt_is_synthesized_once_per_worker_and_clips_ship_only_when_kept(client, tmp_path):
    prompts = ["a", "b", "c"]
    options = dict(agent=ScriptedAgent(), runs=8, executor=DaskExecutor(client, chunk_size=2))
    result = russo.run_concurrent_sync(prompts, MarkingSynthesizer(str(tmp_path)), keep_audio=False, **options)
    assert result.audio == {} and all(run.audio_key for run in result.runs) and result.total == 24
    made = [name.rsplit("-", 1)[0] for name in os.listdir(tmp_path)]  # "pid-prompt" per synthesis
    assert len(made) == len(set(made))  # never twice in one worker, over 12 chunks
    assert {name.split("-", 1)[1] for name in made} == set(prompts)
    kept = russo.run_concurrent_sync(prompts, ToneSynthesizer(), **options)
    assert set(kept.audio) == {run.audio_key for run in kept.runs} and len(kept.audio) == 3


@pytest.mark.slow
def test_each_worker_synthesizes_only_its_own_prompts(client, tmp_path):
    """Chunks have prompt affinity: 8 prompts on 2 workers are synthesized 8 times, not 16 (each worker all 8).

    A worker whose share is done helps the other's (and Dask may steal a queued chunk), so on a loaded machine
    a few prompts can be synthesized on both workers, never twice on one.
    """
    prompts = [f"prompt {n}" for n in range(8)]
    result = russo.run_concurrent_sync(
        prompts,
        MarkingSynthesizer(str(tmp_path)),
        agent=PacedAgent(0.05),  # runs long beside the scheduling noise, so the workers keep pace
        runs=6,
        executor=DaskExecutor(client, chunk_size=2),  # 24 chunks: without affinity each worker meets every prompt
    )
    assert result.total == 48 and {run.status for run in result.runs} == {"passed"}
    made = [name.rsplit("-", 1)[0] for name in os.listdir(tmp_path)]  # "pid-prompt" per synthesis
    assert len(made) == len(set(made))  # never twice in one worker
    assert {name.split("-", 1)[1] for name in made} == set(prompts)
    assert len(made) <= 12, sorted(made)


@pytest.mark.slow
def test_scenarios_run_on_the_cluster_as_in_process(client):
    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    class FlakyBooker(BookingAgent):
        async def call(self, input):
            if input.scenario_state.seed % 2:
                return "Sorry, could you repeat that?"
            return await super().call(input)

    spec = scenario.Scenario(
        name="flaky booking",
        description="The user wants a flight to Oslo",
        agents=lambda: [
            FlakyBooker(),
            scenario.UserSimulatorAgent(lines=["a flight to Oslo"], followups=["to Oslo please"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Oslo")]),
        ],
        max_turns=2,
    )
    here = scenario.run_scenarios_sync(spec, runs=6, seed=5)
    there = scenario.run_scenarios_sync(spec, runs=6, seed=5, executor=DaskExecutor(client, chunk_size=4))
    assert {run.status for run in here.runs} == {"passed", "failed"}  # the seeds decide, on both sides alike
    # timings, and thread_id (a fresh random id per run, in process too)
    volatile = {"total_time", "agent_time", "started_at", "lifecycle", "thread_id"}

    def rows(batch):
        return [(r.model_dump(exclude=volatile), [step.phase for step in r.lifecycle]) for r in batch.runs]

    assert rows(there) == rows(here) and _frame(there).equals(_frame(here))


@pytest.mark.slow
def test_every_index_exactly_once_as_chunks_return(client):
    prompts = [f"prompt {n}" for n in range(7)]
    job = russo.start_batch(prompts, agent=ScriptedAgent(), runs=13, executor=DaskExecutor(client, chunk_size=5))

    async def collect():
        return [(run.prompt, run.run_index) async for run in job]

    seen = asyncio.run(collect())
    assert len(seen) == len(set(seen)) == 91
    assert set(seen) == {(p, i) for p in prompts for i in range(13)}
    assert job.progress.done == 91 and job.result().total == 91


@pytest.mark.slow
def test_a_dask_job_stopped_early_resumes_on_the_cluster_to_the_in_process_result(client):
    prompts = ["Book a flight to LA", "hello"]
    options = dict(runs=30, seed=11, max_concurrency=2, expect="book_flight(to_city='LA')")
    here = russo.run_concurrent_sync(prompts, agent=PacedAgent(0), **options)
    job = russo.start_batch(prompts, agent=PacedAgent(0.02), executor=DaskExecutor(client, chunk_size=5), **options)

    async def stop_early():
        async for _ in job:
            if job.progress.done >= 10:
                break
        return await _cancelled(job)

    partial = asyncio.run(asyncio.wait_for(stop_early(), 120))  # a hang guard, not a speed target
    finished = partial.finished_count
    assert 10 <= finished < 60 and job.progress.done == finished
    resumed = job.resume()  # on the same cluster
    assert resumed.total == 60 - finished
    whole = asyncio.run(asyncio.wait_for(resumed.wait(), 120))
    assert whole.status_counts == here.status_counts == {"passed": 60}
    assert _rows(whole) == _rows(here)  # every run once, with the seed it had in process
    assert whole.metadata.params["resumed"]["parts"] == [finished, 60 - finished]


@pytest.mark.slow
def test_killed_worker_loses_and_duplicates_nothing(client):
    """A worker SIGKILLed mid-job: its chunks run again elsewhere (its nanny restarts it), nothing lost or twice.

    Every worker at once is not killed on this module's cluster: when that was tried (on a loaded machine) one
    nanny closed ('Reason: nanny-close') instead of restarting its worker, the cluster went on with one worker,
    and a later test waiting for both workers hung. That case has a cluster of its own
    (test_every_worker_killed_ends_the_job_with_the_finished_runs_kept), and waits here are bounded.
    """
    victims = list(client.run(os.getpid).values())[:1]
    prompts = ["Book a flight to LA", "Fly me to LA"]
    job = russo.start_batch(
        prompts,
        agent=PacedAgent(0.03),
        runs=150,
        max_concurrency=4,
        expect="book_flight(to_city='LA')",
        executor=DaskExecutor(client, chunk_size=20),
    )
    seen = []

    async def main():
        async for run in job:
            seen.append((run.prompt, run.run_index))
            if len(seen) == 40:
                for pid in victims:
                    os.kill(pid, signal.SIGKILL)
        return job.result()

    result = asyncio.run(asyncio.wait_for(main(), 120))  # a hang guard, not a speed target
    assert len(seen) == len(set(seen)) == 300
    assert result.passed_count == 300 and job.progress.done == 300
    client.wait_for_workers(2, timeout=60)
    assert not set(client.run(os.getpid).values()) & set(victims)  # the killed workers really were replaced


@pytest.mark.slow
def test_cancel_keeps_finished_runs_and_leaves_workers_idle(client, tmp_path):
    prompts = ["quick one", "quick two", "held"]
    job = russo.start_batch(
        prompts,
        agent=HoldingAgent(str(tmp_path)),
        runs=40,
        expect="book_flight(to_city='LA')",
        executor=DaskExecutor(client, chunk_size=3),
    )

    async def main():
        job.start()
        # both workers hold a run (markers are named by pid; one worker's chunk alone holds 3 at once, and with
        # prompt affinity the other runs the quick prompts first): at most a minute, a missing worker fails, not hangs
        for _ in range(3000):
            holding = {name.split("-")[0] for name in os.listdir(tmp_path)}
            if len(holding) >= 2:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"{len(holding)} workers held runs, not 2, within a minute")
        return await _cancelled(job)

    result = asyncio.run(main())
    statuses = [(run.prompt, run.status) for run in result.runs]
    assert result.total == 120
    assert {status for prompt, status in statuses if prompt == "held"} == {"cancelled"}
    quick_passed = sum(1 for prompt, status in statuses if status == "passed")
    assert quick_passed >= 4  # the quick runs of the chunks the workers were running came back
    assert quick_passed == job.progress.passed == job.progress.done
    assert {status for _, status in statuses} == {"passed", "cancelled"}
    assert result.metadata.params.get("interrupted") is True
    assert not any(client.processing().values())  # no chunk still runs on any worker


@pytest.mark.slow
def test_a_sweep_of_real_espeak_voices_equals_the_in_process_run(client):
    options = dict(
        agent=ScriptedAgent(lambda text: "book_flight(to_city='LA')"),
        expect="book_flight(to_city='LA')",
        voices=["en-us", "en-gb-scotland"],
        snr_db=[None, 10],
        runs=2,
        seed=4,
    )
    prompts = ["Book a flight to LA", "Fly me to LA"]
    here = russo.run_sweep_sync(prompts, **options)
    there = russo.run_sweep_sync(prompts, executor=DaskExecutor(client, chunk_size=3), **options)
    assert here.total == 16 and _rows(there) == _rows(here) and _frame(there).equals(_frame(here))
    assert there.audio.keys() == here.audio.keys()
    assert all(there.audio[key].data == clip.data for key, clip in here.audio.items())


@pytest.mark.slow
def test_the_command_line_runs_a_suite_on_the_cluster(client, tmp_path, capsys):
    from russo_nb.cli import main
    from russo_nb.report import load_batch

    suite = Path(__file__).resolve().parents[1] / "data" / "suites" / "text_flights.yaml"
    here, there = tmp_path / "here.jsonl", tmp_path / "there.jsonl"
    assert main(["--config", str(suite), "--no-history", "-q", "--json", str(here)]) == 0
    address = client.scheduler.address
    assert main(["--config", str(suite), "--no-history", "--json", str(there), "--dask", address]) == 0
    assert "dashboard: http" in capsys.readouterr().err
    assert _rows(load_batch(there)) == _rows(load_batch(here))
    assert client.status == "running"  # the command closed only what it opened: its own connection


def test_magic_dask_option_takes_an_address_or_nothing():
    from russo_nb.arguments import parse_magic as parse_command

    assert parse_command('run "Book a flight" --agent a --dask').get("dask") == "local"
    assert parse_command('run "Book a flight" --dask --agent a').get("dask") == "local"
    assert parse_command('run "hi" --agent a --dask tcp://scheduler:8786').get("dask") == "tcp://scheduler:8786"
    assert parse_command("suite s.yaml --dask 10.0.0.5:8786").get("dask") == "10.0.0.5:8786"
    assert parse_command('run "hi" --agent a').get("dask") is None
    with pytest.raises(russo.InvalidArgumentError, match="--dask takes a scheduler address"):
        parse_command('run --agent a --dask "Book a flight"')


def test_progress_shows_the_dashboard_link_beside_the_bar(capsys):
    import io

    from russo_nb.engine import Progress
    from russo_nb.notebook.progress import ProgressDisplay

    stream = io.StringIO()
    ProgressDisplay(4, "russo run", mode="text", stream=stream, link="http://127.0.0.1:8787/status").show()
    assert stream.getvalue() == "russo run dashboard: http://127.0.0.1:8787/status\n"
    display = ProgressDisplay(4, "russo run", mode="widget", link='http://h/"><script>x</script>')
    link_html = display.box.children[-1].value
    assert "<script>" not in link_html and "&quot;&gt;&lt;script&gt;" in link_html
    assert display._bundle("0/4 runs")["text/plain"].endswith('dashboard http://h/"><script>x</script>')
    display(Progress(total=4, done=4, passed=4))
    assert display.bar.value == 4


@pytest.mark.slow
def test_the_offline_voice_agent_recognises_on_workers(client):
    from russo_nb.adapters.local import LocalVoiceAgent
    from russo_nb.audio import EspeakSynthesizer

    prompts = ["Book a flight from New York to Los Angeles", "What is the weather in Boston"]
    expect = {prompts[0]: "book_flight(from_city='NYC', to_city='LA')", prompts[1]: "get_weather(city='Boston')"}
    options = dict(expect=expect, runs=2)
    here = russo.run_concurrent_sync(prompts, EspeakSynthesizer(), LocalVoiceAgent.demo(mode="inline"), **options)
    # the default mode decodes in a process pool, which a (daemonic) Dask worker may not start: it decodes inline
    there = russo.run_concurrent_sync(
        prompts, EspeakSynthesizer(), LocalVoiceAgent.demo(), executor=DaskExecutor(client), **options
    )
    assert [(r.status, r.response.tool_calls, r.response.text) for r in there.runs] == [
        (r.status, r.response.tool_calls, r.response.text) for r in here.runs
    ]
    assert here.passed_count == 4


def test_testing_fakes_travel_to_workers():
    import pickle

    closed, opened = Gate(), Gate()
    opened.open()
    assert not pickle.loads(pickle.dumps(closed)).is_open and pickle.loads(pickle.dumps(opened)).is_open
    agent = pickle.loads(pickle.dumps(ScriptedAgent({"hi": "greet()"}, gate=opened)))
    assert asyncio.run(agent.run("hi")).tool_calls[0].name == "greet" and agent.calls == ["hi"]
    from russo_nb.audio import EspeakSynthesizer

    voice = pickle.loads(pickle.dumps(EspeakSynthesizer(voice="en-gb", rate=180)))
    assert (voice.voice, voice.rate) == ("en-gb", 180)


@pytest.mark.slow
def test_the_magic_runs_on_the_cluster_with_the_dashboard_beside_the_progress(client, ip, capsys, monkeypatch):
    import notebook_helpers

    cloudpickle.register_pickle_by_value(notebook_helpers)
    monkeypatch.setenv("RUSSO_PROGRESS", "text")
    ip.user_ns["booker"] = russo.agent(notebook_helpers.booking_agent)
    line = '"Book a flight to LA" --agent booker --text --runs 6 --expect "book_flight(to_city=\'LA\')"'
    try:
        ip.run_line_magic("russo", f"run {line} --as here")
        ip.run_line_magic("russo", f"run {line} --dask {client.scheduler.address} --as there")
        here, there = ip.user_ns["here"], ip.user_ns["there"]
    finally:
        for name in ("booker", "here", "there"):
            ip.user_ns.pop(name, None)
        # the magic keeps its executor for the session's next cells: close it before this module's cluster goes
        # (left open, its client tried to reconnect for 10 s at exit, logging CommClosedError tracebacks)
        kept = ip.magics_manager.registry["RussoMagics"]._executors.pop(client.scheduler.address, None)
        if kept is not None:
            kept.close()
    assert there.passed_count == 6 and _rows(there) == _rows(here)
    assert "russo run dashboard: http" in capsys.readouterr().err


# -- a Dask result read like an in-process one, and its failure paths (the driver keeps rows) ---------------

VOLATILE_COLUMNS = ["batch_id", "latency_s", "synth_s", "started_at", "total_time", "agent_time", "thread_id"]


def _frame(result):
    """The runs frame but its timings (and the batch id, and a scenario run's random thread id)."""
    frame = result.to_dataframe()
    return frame.drop(columns=[name for name in VOLATILE_COLUMNS if name in frame.columns])


def _blocks_freed_once_built(result) -> None:
    """Every block the result's runs hold dies once they are all built (the driver then holds runs only)."""
    import gc
    import weakref

    watched = [weakref.ref(entry) for entry in getattr(result.runs, "_results", ()) if type(entry) is RunBlock]
    list(result.runs)
    gc.collect()
    assert [ref() for ref in watched] == [None] * len(watched)


class FussyAgent(PacedAgent):
    """An agent that cannot be loaded in process ``refuse_pid`` (a worker missing a package): its chunks fail."""

    def __init__(self, refuse_pid: int) -> None:
        super().__init__(0.01)
        self.refuse_pid = refuse_pid

    def __setstate__(self, state):
        if os.getpid() == state["refuse_pid"]:
            raise RuntimeError("this worker cannot load the agent")
        self.__dict__.update(state)


class Handle:
    """An SDK object an agent hands back as raw: it does not pickle, so its chunk travels as JSON."""

    def __init__(self):
        self.lock = threading.Lock()

    def __repr__(self):
        return "Handle()"


class HandleAgent:
    """Books; the prompt 'handle' answers with an unpicklable raw object."""

    name = "handle"

    async def run(self, heard):
        return russo.AgentResponse(tool_calls=BOOKED.tool_calls, raw=Handle() if heard == "handle" else None)


@pytest.mark.slow
def test_a_suite_file_job_on_the_cluster_equals_the_in_process_one(client):
    from russo_nb.config import start_suite

    suite = Path(__file__).resolve().parents[1] / "data" / "suites" / "text_conversations.yaml"
    here = asyncio.run(start_suite(suite, runs=4, seed=2).wait())
    # chunks of 3 span the prompt test's plan and the scenarios' (one block, one view of it per plan)
    there = asyncio.run(start_suite(suite, runs=4, seed=2, executor=DaskExecutor(client, chunk_size=3)).wait())
    assert (there.total, there.passed_count, there.pass_rate) == (here.total, here.passed_count, here.pass_rate)
    assert there.tests.keys() == here.tests.keys()
    for name, batch in here.tests.items():
        assert _frame(there.tests[name]).equals(_frame(batch)), name
    assert _frame(there.batch).equals(_frame(here.batch))
    assert _frame(there.scenarios).equals(_frame(here.scenarios))
    assert there.summary().splitlines()[1:] == here.summary().splitlines()[1:]


@pytest.mark.slow
def test_a_chunk_that_fails_on_a_worker_makes_its_runs_errors_and_keeps_the_others(client):
    victim = sorted(client.run(os.getpid).items())[0][1]  # the first worker: its share's chunks go to it first
    prompts = [f"prompt {n}" for n in range(4)]
    options = dict(runs=10, seed=3, expect="book_flight(to_city='LA')")
    here = russo.run_concurrent_sync(prompts, agent=PacedAgent(0), **options)
    there = russo.run_concurrent_sync(
        prompts, agent=FussyAgent(victim), executor=DaskExecutor(client, chunk_size=4), **options
    )
    counts = there.status_counts
    assert there.total == 40 and set(counts) == {"passed", "error"}, counts  # each share's first chunks ran
    errors = [run for run in there.runs if run.status == "error"]
    assert {(run.error.type, run.error.stage) for run in errors} == {("RuntimeError", "dask")}
    assert "chunk failed on the Dask cluster: this worker cannot load the agent" in errors[0].error.message
    assert _keys(there) == _keys(here)  # every run once, in its place
    # the chunks that ran gave the in-process runs; the failed chunks' runs are errors
    assert [row == twin for row, twin in zip(_rows(there), _rows(here))] == [
        run.status == "passed" for run in there.runs
    ]


def _keys(result):
    return [(run.prompt, run.run_index) for run in result.runs]


@pytest.mark.slow
def test_a_worker_killed_while_the_job_is_awaited_loses_and_duplicates_no_run_kept_as_rows(client):
    """As test_killed_worker_loses_and_duplicates_nothing, but awaited (not iterated): runs stay rows."""
    victims = list(client.run(os.getpid).values())[:1]
    prompts = ["Book a flight to LA", "Fly me to LA"]
    options = dict(runs=120, seed=8, max_concurrency=4, expect="book_flight(to_city='LA')")
    here = russo.run_concurrent_sync(prompts, agent=PacedAgent(0), **options)

    def kill(progress):
        if progress.done >= 40 and victims:
            os.kill(victims.pop(), signal.SIGKILL)

    job = russo.start_batch(
        prompts, agent=PacedAgent(0.03), on_progress=kill, executor=DaskExecutor(client, chunk_size=16), **options
    )
    result = asyncio.run(asyncio.wait_for(job.wait(), 120))  # a hang guard, not a speed target
    assert not victims and result.status_counts == {"passed": 240} and job.progress.done == 240
    assert RunBlock in map(type, result.runs._results)  # kept as rows, not built as the chunks came back
    assert _rows(result) == _rows(here)  # every slot once, with the seed it had in process
    client.wait_for_workers(2, timeout=60)


@pytest.mark.slow
def test_cancel_mid_job_then_result_twice_then_resume_on_the_cluster(client):
    prompts = ["Book a flight to LA", "hello"]
    options = dict(runs=40, seed=12, max_concurrency=2, expect="book_flight(to_city='LA')")
    here = russo.run_concurrent_sync(prompts, agent=PacedAgent(0), **options)

    def stop(progress):
        if progress.done >= 10:
            job.cancel()

    job = russo.start_batch(
        prompts, agent=PacedAgent(0.02), on_progress=stop, executor=DaskExecutor(client, chunk_size=5), **options
    )

    async def main():
        try:
            await job
        except asyncio.CancelledError:  # stopped by its own on_progress
            pass
        return job.result()

    first = asyncio.run(asyncio.wait_for(main(), 120))  # a hang guard, not a speed target
    assert RunBlock in map(type, first.runs._results)  # kept as rows (asyncio.run formatted it: no run built)
    second = job.result()
    finished = first.finished_count
    assert 10 <= finished < 80 and finished == second.finished_count == job.progress.done
    assert first.status_counts == second.status_counts and second.runs == first.runs
    assert all(a is b for a, b in zip(first.runs, second.runs) if a.status != "cancelled")  # one run per slot
    kept = {key: row for key, row, run in zip(_keys(first), _rows(first), first.runs) if run.status != "cancelled"}
    assert kept.items() <= dict(zip(_keys(here), _rows(here))).items()  # what finished is the in-process runs
    resumed = job.resume(on_progress=lambda progress: None)
    assert resumed.total == 80 - finished
    whole = asyncio.run(asyncio.wait_for(resumed.wait(), 120))
    assert _rows(whole) == _rows(here) and whole.metadata.params["resumed"]["parts"] == [finished, 80 - finished]
    _blocks_freed_once_built(whole)


@pytest.mark.slow
def test_a_precision_run_on_the_cluster_counts_its_progress_as_in_process(client):
    """until=Precision forwards each round's progress events into its own; kept as rows, a run has no `last`."""
    prompts = [f"Book flight {n} to LA" for n in range(3)]
    options = dict(
        agent=ScriptedAgent(lambda text: "book_flight(to_city='LA')" if text[-4] in "02" else None),
        expect="book_flight(to_city='LA')",
        runs=4,
        seed=6,
        until=russo.Precision(half_width=0.01, max_runs=8, step=4),  # the cap stops it: two rounds
    )
    seen = {}

    def progress(where):
        def record(state):
            seen[where] = (state.total, state.done, state.passed, state.failed, state.errors)

        return record

    here = russo.run_concurrent_sync(prompts, on_progress=progress("here"), **options)
    there = russo.run_concurrent_sync(
        prompts, on_progress=progress("there"), executor=DaskExecutor(client, chunk_size=3), **options
    )
    assert there.total == here.total == 24 and _rows(there) == _rows(here)
    assert seen["there"] == seen["here"] == (24, 24, here.passed_count, here.failed_count, 0)


@pytest.mark.slow
def test_voice_scenarios_bring_their_clips_back_from_the_cluster(client):
    from scenario_helpers import ToneSynthesizer as ScenarioTones
    from scenario_helpers import ToneVoiceAgent, WhiteNoise, decode_tones

    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    spec = scenario.Scenario(
        name="voice batch",
        description="d",
        agents=lambda: [
            scenario.VoiceAgentAdapter(ToneVoiceAgent(), ScenarioTones(), effects=[WhiteNoise(500)]),
            scenario.UserSimulatorAgent(lines=["a flight to Rome"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Rome")]),
        ],
    )
    here = scenario.run_scenarios_sync(spec, runs=5, seed=4)
    there = scenario.run_scenarios_sync(spec, runs=5, seed=4, executor=DaskExecutor(client, chunk_size=2))
    assert there.passed and len(there.audio) == len(here.audio) == 5  # a noise draw per run
    assert {key: clip.data for key, clip in there.audio.items()} == {key: clip.data for key, clip in here.audio.items()}
    assert _frame(there).equals(_frame(here))
    converted = there.to_batch_result()
    assert {decode_tones(converted.audio_for(run)) for run in converted.runs} == {"a flight to Rome"}


class CrashingAgent:
    """Books; the prompt 'crash' ends the worker process that runs it (a native crash in a local model, say)."""

    name = "crashing"

    async def run(self, heard):
        if heard == "crash":
            os._exit(1)
        return BOOKED


@pytest.mark.slow
def test_a_run_that_kills_every_worker_that_tries_it_is_an_error_and_the_runs_beside_it_are_not():
    """Dask gives a chunk up (KilledWorker) once allowed-failures + 1 workers died while they held it, also a chunk
    only queued beside the crashing one: each run of a given-up chunk is sent again alone, once, so only the run
    that kills its workers ends an error.

    A cluster of its own (nannies restart the killed workers): killing workers on the module's cluster can leave it
    with one worker (see test_killed_worker_loses_and_duplicates_nothing).
    """
    import dask
    from distributed import Client, LocalCluster

    prompts = ["Book a flight to LA", "crash", "Fly me to LA"]
    options = dict(runs=2, seed=5, expect="book_flight(to_city='LA')")
    here = russo.run_concurrent_sync(prompts, agent=PacedAgent(0), **options)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        try:
            job = russo.start_batch(
                prompts, agent=CrashingAgent(), executor=DaskExecutor(client, chunk_size=2), **options
            )
            there = asyncio.run(asyncio.wait_for(job.wait(), 180))  # a hang guard, not a speed target
        finally:
            client.close()
            cluster.close()
    crashed = [run for run in there.runs if run.prompt == "crash"]
    assert [run.status for run in crashed] == ["error", "error"]
    assert {(run.error.type, run.error.stage) for run in crashed} == {("KilledWorker", "dask")}
    assert "chunk failed on the Dask cluster" in crashed[0].error.message
    assert there.status_counts == {"passed": 4, "error": 2} and job.progress.done == 6
    kept = [row for run, row in zip(there.runs, _rows(there)) if run.prompt != "crash"]
    assert kept == [row for run, row in zip(here.runs, _rows(here)) if run.prompt != "crash"]


@pytest.mark.slow
def test_chunks_that_travel_as_json_mix_with_chunks_kept_as_rows(client):
    prompts = ["Book a flight to LA", "handle", "Fly me to LA"]
    options = dict(agent=HandleAgent(), runs=6, seed=1, expect="book_flight(to_city='LA')")
    here = russo.run_concurrent_sync(prompts, **options)
    there = russo.run_concurrent_sync(prompts, executor=DaskExecutor(client, chunk_size=1), **options)  # a chunk a run
    kinds = {type(entry).__name__ for entry in there.runs._results}
    assert kinds == {"RunBlock", "SingleRunResult"}, kinds  # JSON chunks decoded at once, the others kept as rows
    assert there.status_counts == here.status_counts == {"passed": 18}
    assert _rows(there) == _rows(here)  # a Handle is its repr in a JSON chunk, as _rows writes it
    assert {run.response.raw for run in there.runs if run.prompt == "handle"} == {"Handle()"}
    assert _frame(there).equals(_frame(here))


NO_NANNY_WORKER = ("--no-nanny", "--nthreads", "1", "--no-dashboard")


def _start_workers(address: str, count: int) -> list:
    """``count`` Dask worker processes without a nanny (a killed one stays dead), one thread each."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, *NO_NANNY_WORKER],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(count)
    ]


@pytest.mark.slow
def test_every_worker_killed_ends_the_job_with_the_finished_runs_kept():
    """Workers gone for good (no nanny to restart them): the job ends, finished runs kept, the rest errors."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=0, processes=True, dashboard_address=":0")
    client = Client(cluster)
    workers = _start_workers(cluster.scheduler_address, 2)
    try:
        client.wait_for_workers(2, timeout=60)
        pids = set(client.run(os.getpid).values())
        assert pids == {proc.pid for proc in workers}
        prompts = ["Book a flight to LA", "Fly me to LA"]
        job = russo.start_batch(
            prompts,
            agent=PacedAgent(0.02),
            runs=200,
            max_concurrency=4,
            expect="book_flight(to_city='LA')",
            executor=DaskExecutor(client, chunk_size=20, worker_wait_s=2),
        )
        seen = []

        async def main():
            async for run in job:
                seen.append((run.prompt, run.run_index, run.status))
                if len(seen) == 40:
                    for proc in workers:
                        os.kill(proc.pid, signal.SIGKILL)
            return job.result()

        # a hang guard, not a speed target: the job must end on its own (2 s without workers + shutdown)
        result = asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        for proc in workers:
            proc.kill()
            proc.wait()
        client.close()
        cluster.close()
    statuses = result.status_counts
    assert result.total == 400 and len(seen) == len({(p, i) for p, i, _ in seen}) == 400  # each run once
    assert statuses.get("passed", 0) >= 40 and statuses.get("passed", 0) + statuses.get("error", 0) == 400
    lost = [run for run in result.runs if run.status == "error"]
    assert lost, "killing every worker mid-job lost no run: the kill came too late to test anything"
    assert {run.error.type for run in lost} == {"NoWorkers"}
    assert "had no worker for 2 s" in lost[0].error.message
    assert job.progress.done == 400 and job.progress.passed == statuses["passed"]


# -- %russo --dask in a real Jupyter kernel ---------------------------------------------------------

KERNEL_SETUP = """
import os
import russo_nb
%load_ext russo_nb

@russo_nb.agent
async def booker(text):
    # the process that answered, so the test sees where the runs happened
    return russo_nb.AgentResponse(
        tool_calls=[russo_nb.ToolCall(name="book_flight", arguments={"to_city": "LA"})], raw={"pid": os.getpid()}
    )
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path_factory.mktemp("kernel")))
    try:
        setup = execute(client, KERNEL_SETUP)
        assert setup["error"] is None, setup
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@pytest.mark.slow
def test_the_magic_runs_on_the_cluster_and_shows_the_dashboard_beside_the_progress(kernel, client):
    address = client.scheduler.address
    out = execute(
        kernel,
        f'%russo run "Book a flight to LA" "Fly me to LA" --agent booker --text --runs 6 '
        f"--expect \"book_flight(to_city='LA')\" --dask {address} --as there",
    )
    assert out["error"] is None and "Traceback" not in out["stderr"], out
    # the progress bar (a widget) with the cluster's dashboard linked beside it
    link = client.dashboard_link
    bars = [state for state in out["widgets"] if state.get("_model_name") == "IntProgressModel"]
    assert bars and bars[-1]["max"] == 12
    links = [state["value"] for state in out["widgets"] if "Dask dashboard" in str(state.get("value", ""))]
    assert links == [f'<a href="{link}" target="_blank" rel="noopener">Dask dashboard</a>']
    assert any(f"· dashboard {link}" in bundle.get("text/plain", "") for bundle in out["data"])
    # the result renders as an in-process one does
    html = [bundle["text/html"] for bundle in out["data"] if "russo-batch" in bundle.get("text/html", "")]
    assert html and "12/12 runs" in html[-1] and "100%" in html[-1]

    check = execute(
        kernel,
        "print(there.passed_count, there.total, os.getpid())\n"
        "print(*sorted({run.response.raw['pid'] for run in there.runs}))",
    )
    assert check["error"] is None, check
    first, second = check["stdout"].splitlines()
    passed, total, kernel_pid = first.split()
    assert (passed, total) == ("12", "12")
    answered = {int(pid) for pid in second.split()}
    workers = set(client.run(os.getpid).values())
    assert answered and answered <= workers and int(kernel_pid) not in answered  # the workers ran them
