"""The concurrent engine through run / run_concurrent: matrix, cap, errors, timeouts, retries,
progress, iteration, cancellation and bad input."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from foundation_helpers import ToneSynthesizer, flight_call

import russo_nb as russo
from russo_nb.evaluators import ExactEvaluator
from russo_nb.testing import Gate, ScriptedAgent, wait_for_progress

EXPECT = [russo.tool_call("book_flight", from_city="NYC", to_city="LA")]


@russo.agent
async def good_agent(audio):
    return russo.AgentResponse(tool_calls=[flight_call(from_city="NYC", to_city="LA")])


def run(coro):
    return asyncio.run(coro)


def test_single_prompt_n_runs_m_prompts_and_matrix():
    synth = ToneSynthesizer()
    one = run(russo.run_concurrent(prompts="Book", synthesizer=synth, agent=good_agent, expect=EXPECT, runs=5))
    assert one.total == 5 and one.passed and [r.run_index for r in one.runs] == [0, 1, 2, 3, 4]
    many = run(russo.run_concurrent(prompts=["a", "b", "c"], synthesizer=synth, agent=good_agent, expect=EXPECT))
    assert many.total == 3 and [r.prompt for r in many.runs] == ["a", "b", "c"]
    matrix = run(
        russo.run_concurrent(
            prompts=["x", "y"], synthesizer=synth, agent=good_agent, expect=EXPECT, runs=3, max_concurrency=4
        )
    )
    assert matrix.total == 6 and matrix.passed_count == 6
    assert matrix.metadata.runs_per_prompt == 3 and matrix.metadata.max_concurrency == 4
    assert matrix.metadata.agent == "good_agent" and matrix.metadata.synthesizer == "ToneSynthesizer"
    assert matrix.metadata.finished_at >= matrix.metadata.started_at


def test_each_prompt_is_synthesized_once_and_its_audio_stored_once():
    synth = ToneSynthesizer(delay=0.01)
    result = run(
        russo.run_concurrent(prompts=["one", "two"], synthesizer=synth, agent=good_agent, expect=EXPECT, runs=10)
    )
    assert sorted(synth.calls) == ["one", "two"]
    assert len(result.audio) == 2
    keys = {run.prompt: run.audio_key for run in result.runs}
    assert all(run.audio_key == keys[run.prompt] for run in result.runs)
    assert result.audio_for(result.runs[0]).duration_s == pytest.approx(0.1)
    assert all(run.synth_s is not None and run.synth_s >= 0.01 for run in result.runs)


def test_resynthesize_restores_one_synthesis_per_run():
    synth = ToneSynthesizer()
    run(russo.run_concurrent(prompts="one", synthesizer=synth, agent=good_agent, runs=4, resynthesize=True))
    assert synth.calls == ["one"] * 4


def test_max_concurrency_caps_runs_in_flight():
    """Runs are held at a gate until every slot is taken, so the peak is the cap (no sleep racing the clock)."""

    async def peak(max_concurrency):
        gate = Gate()
        agent = ScriptedAgent(default=[flight_call(from_city="NYC", to_city="LA")], gate=gate)
        batch = asyncio.ensure_future(
            russo.run_concurrent(prompts="p", agent=agent, expect=EXPECT, runs=20, max_concurrency=max_concurrency)
        )
        await gate.until_waiting(max_concurrency or 20)
        gate.open()
        result = await batch
        assert result.passed and len(agent.calls) == 20
        return agent.peak

    assert run(peak(3)) == 3
    assert run(peak(None)) == 20


def test_text_mode_hands_the_prompt_text_to_the_agent():
    heard = []

    @russo.agent
    def echo(text):
        heard.append(text)
        return []

    result = run(russo.run_concurrent(prompts=["hello", "bye"], synthesizer=None, agent=echo, expect=EXPECT))
    assert heard == ["hello", "bye"]
    assert result.runs[0].audio_key is None and result.runs[0].status == "failed"
    assert result.metadata.params["text_mode"] is True


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("stage", ["synthesize", "agent", "evaluate"])
def test_an_exception_in_any_stage_becomes_that_runs_error(stage):
    class Synth(ToneSynthesizer):
        async def synthesize(self, text):
            if stage == "synthesize" and text == "bad":
                raise Boom("tts down")
            return await super().synthesize(text)

    @russo.agent
    async def agent(audio):
        if stage == "agent" and audio.data == bad_audio.data:
            raise Boom("agent crashed")
        return [flight_call(from_city="NYC", to_city="LA")]

    class Evaluator(ExactEvaluator):
        def evaluate(self, expected, actual):
            if stage == "evaluate" and self.calls == 1:
                self.calls += 1
                raise Boom("evaluator bug")
            self.calls += 1
            return super().evaluate(expected, actual)

    bad_audio = asyncio.run(ToneSynthesizer().synthesize("bad"))
    evaluator = Evaluator()
    evaluator.calls = 0
    result = run(
        russo.run_concurrent(
            prompts=["good", "bad"],
            synthesizer=Synth(),
            agent=agent,
            evaluator=evaluator,
            expect=EXPECT,
            runs=2,
            max_concurrency=1,
        )
    )
    errors = [r for r in result.runs if r.status == "error"]
    assert result.total == 4
    assert len(errors) == (1 if stage == "evaluate" else 2)
    assert errors[0].error.type == "Boom" and errors[0].error.stage == stage
    assert errors[0].eval_result.passed is False and errors[0].eval_result.expected == EXPECT
    assert result.passed_count == 4 - len(errors)
    assert "(error: Boom during" in result.summary()


def test_timeout_marks_the_run_and_the_rest_complete():
    @russo.agent
    async def sometimes_hangs(text):
        if text == "hang":
            await asyncio.sleep(30)
        return [flight_call(from_city="NYC", to_city="LA")]

    started = time.perf_counter()
    result = run(
        russo.run_concurrent(prompts=["ok", "hang"], agent=sometimes_hangs, expect=EXPECT, runs=2, timeout=0.2)
    )
    assert time.perf_counter() - started < 5
    assert [r.status for r in result.runs] == ["passed", "passed", "timeout", "timeout"]
    assert result.runs[2].error.message == "run exceeded timeout of 0.2s"
    assert result.runs[2].error.stage == "agent"


def test_retries_with_backoff_only_for_named_errors():
    attempts: dict[int, int] = {}

    class Flaky(ConnectionError):
        pass

    @russo.agent
    async def flaky(text):
        attempts[id(asyncio.current_task())] = attempts.get(id(asyncio.current_task()), 0) + 1
        if flaky_state["left"] > 0:
            flaky_state["left"] -= 1
            raise Flaky("503")
        return [flight_call(from_city="NYC", to_city="LA")]

    flaky_state = {"left": 2}
    started = time.perf_counter()
    result = run(
        russo.run_concurrent(prompts="p", agent=flaky, expect=EXPECT, retries=3, retry_on=Flaky, retry_backoff=0.05)
    )
    elapsed = time.perf_counter() - started
    assert result.runs[0].status == "passed" and result.runs[0].attempts == 3
    assert elapsed >= 0.05 + 0.1  # two backoffs: 0.05 then 0.1

    flaky_state["left"] = 1
    result = run(russo.run_concurrent(prompts="p", agent=flaky, expect=EXPECT, retries=3, retry_on=KeyError))
    assert result.runs[0].status == "error" and result.runs[0].attempts == 1

    flaky_state["left"] = 10
    result = run(
        russo.run_concurrent(prompts="p", agent=flaky, expect=EXPECT, retries=2, retry_on=Flaky, retry_backoff=0.01)
    )
    assert result.runs[0].status == "error" and result.runs[0].attempts == 3


def test_progress_callback_and_async_iteration():
    seen = []
    result = run(
        russo.run_concurrent(
            prompts=["a", "b"],
            agent=good_agent,
            expect=EXPECT,
            runs=3,
            on_progress=lambda p: seen.append((p.done, p.total, p.passed)),
        )
    )
    assert seen[-1] == (6, 6, 6) and [d for d, _, _ in seen] == [1, 2, 3, 4, 5, 6]
    assert result.passed_count == 6

    async def iterate():
        batch = russo.start_batch(prompts=["a", "b"], agent=good_agent, expect=EXPECT, runs=3, max_concurrency=2)
        got = [r async for r in batch]
        return got, await batch

    got, final = run(iterate())
    assert len(got) == 6 and final.total == 6 and final.passed


def test_cancel_keeps_finished_runs_and_marks_the_rest_cancelled():
    gate = Gate()

    @russo.agent
    async def slow(text):
        if text == "slow":
            await gate.wait()  # never opened: these runs are still going when the batch is cancelled
        return [flight_call(from_city="NYC", to_city="LA")]

    async def main():
        batch = russo.start_batch(prompts=["fast", "slow"], agent=slow, expect=EXPECT, runs=3)
        task = asyncio.ensure_future(batch.wait())
        await wait_for_progress(batch, 3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return batch.result()

    result = run(main())
    assert [r.status for r in result.runs] == ["passed"] * 3 + ["cancelled"] * 3
    assert result.runs[3].error.type == "CancelledError"


def test_sync_wrapper_works_inside_a_running_loop():
    async def inside():
        return russo.run_concurrent_sync(prompts="p", agent=good_agent, expect=EXPECT, runs=2)

    assert run(inside()).passed


def test_sync_wrapper_interrupted_keeps_finished_runs():
    gate = Gate()

    @russo.agent
    async def slow(text):
        if text == "slow":
            await gate.wait()
        return [flight_call(from_city="NYC", to_city="LA")]

    def on_progress(progress):
        if progress.done == 2:  # both fast runs finished: Ctrl-C now (the signal reaches the main thread)
            os.kill(os.getpid(), signal.SIGINT)

    result = russo.run_concurrent_sync(
        prompts=["fast", "slow"], agent=slow, expect=EXPECT, runs=2, on_progress=on_progress
    )
    assert [r.status for r in result.runs] == ["passed", "passed", "cancelled", "cancelled"]
    assert result.metadata.params["interrupted"] is True


def test_run_returns_an_eval_result():
    result = run(
        russo.run(
            prompt="Book", synthesizer=ToneSynthesizer(), agent=good_agent, evaluator=ExactEvaluator(), expect=EXPECT
        )
    )
    assert isinstance(result, russo.EvalResult) and result.passed


def test_per_prompt_expectations():
    @russo.agent
    def by_text(text):
        return [russo.ToolCall(name=text)]

    result = run(russo.run_concurrent(prompts=["a", "b"], agent=by_text, expect={"a": ["a()"], "b": ["a()"]}))
    assert [r.status for r in result.runs] == ["passed", "failed"]


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"runs": 0}, russo.InvalidArgumentError, "runs must be a whole number >= 1"),
        ({"max_concurrency": 0}, russo.InvalidArgumentError, "max_concurrency must be"),
        ({"prompts": []}, russo.InvalidArgumentError, "prompts is empty"),
        ({"prompts": ["ok", ""]}, russo.InvalidArgumentError, "non-empty string"),
        ({"expect": [42]}, russo.ExpectationError, "is not a tool call"),
        ({"agent": object()}, russo.ProtocolError, "has no run"),
        ({"synthesizer": object()}, russo.ProtocolError, "has no synthesize"),
        ({"timeout": -1}, russo.InvalidArgumentError, "timeout must be"),
        ({"retries": 2, "retry_on": ["x"]}, russo.InvalidArgumentError, "retry_on must hold exception classes"),
        ({"rate_limit": "fast"}, russo.InvalidArgumentError, "rate_limit must be requests per time"),
        ({"rate_limit": 0}, russo.InvalidArgumentError, "rate limit requests must be a number > 0"),
    ],
)
def test_bad_input_raises_a_clear_russo_error(kwargs, error, fragment):
    arguments = {"prompts": "p", "agent": good_agent, "expect": EXPECT, **kwargs}
    with pytest.raises(error, match=fragment) as info:
        run(russo.run_concurrent(**arguments))
    assert isinstance(info.value, russo.RussoError)


@pytest.mark.slow
def test_import_does_not_load_heavy_libraries():
    code = "import sys, russo_nb; print(sorted(m for m in ('pandas','matplotlib','ipywidgets') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_the_seed_full_example_runs_unchanged(tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "concurrent_runs.py"
    out = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[:4] == [
        "PASSED (100% pass rate, 6 runs)",
        "  Passed: 6/6",
        "  Prompt: 'Book a flight from NYC to LA'",
        "    3/3 passed",
    ]
    assert "  Prompt: 'Fly me from NYC to LA'" in out
    assert out.strip().endswith("All 6 runs passed!")


def test_effects_given_as_spec_strings_are_parsed_and_recorded():
    from foundation_helpers import ToneSynthesizer

    result = run(
        russo.run_concurrent(
            prompts="p",
            synthesizer=ToneSynthesizer(),
            agent=good_agent,
            expect=EXPECT,
            runs=2,
            effects="noise:10db,gain:-3db",
        )
    )
    assert result.metadata.effects == result.runs[0].effects
    assert result.runs[0].effects[0].startswith("noise") and len(result.runs[0].effects) == 2
    heard = {run.audio_key for run in result.runs}
    assert len(heard) == 2  # each run heard its own seeded noise
    with pytest.raises(russo.InvalidArgumentError, match="effect"):
        run(russo.run_concurrent(prompts="p", synthesizer=ToneSynthesizer(), agent=good_agent, effects="reverb:9"))


def test_an_agents_own_timeout_keeps_its_message_and_deadlines_can_be_retried():
    @russo.agent
    async def own_timeout(text):
        raise TimeoutError("no answer from http://127.0.0.1:1/agent within 5s")

    result = run(russo.run_concurrent(prompts="p", agent=own_timeout, expect=EXPECT, timeout=10))
    assert result.runs[0].status == "timeout"
    assert result.runs[0].error.message == "no answer from http://127.0.0.1:1/agent within 5s"

    calls = {"n": 0}

    @russo.agent
    async def slow_first(text):
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(5)
        return [flight_call(from_city="NYC", to_city="LA")]

    result = run(
        russo.run_concurrent(
            prompts="p",
            agent=slow_first,
            expect=EXPECT,
            timeout=0.2,
            retries=1,
            retry_on=TimeoutError,
            retry_backoff=0.01,
        )
    )
    assert result.runs[0].status == "passed" and result.runs[0].attempts == 2


def test_a_batch_cancelled_before_it_starts_runs_nothing():
    calls = []

    @russo.agent
    async def counting(text):
        calls.append(text)
        return []

    async def main():
        batch = russo.start_batch(prompts=["a", "b"], agent=counting, expect=EXPECT, runs=2)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch.wait()
        return batch.result()

    result = run(main())
    assert calls == [] and [r.status for r in result.runs] == ["cancelled"] * 4
