"""until=Precision: rounds of runs until the pass rate's interval is narrow enough, or a cap."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

import russo_nb
from russo_nb import Precision, ToolCall
from russo_nb.arguments import parse_magic
from russo_nb.errors import InvalidArgumentError
from russo_nb.testing import Gate, ScriptedAgent
from russo_nb.view import build_view

PROMPTS = [f"Book flight {i} to LA" for i in range(6)]
EXPECT = ["book_flight(to_city='LA')"]


def _agent(pattern):
    """An agent that answers right or wrong following ``pattern`` (a cycle of booleans), counting its calls."""
    calls = []
    answers = itertools.cycle(pattern)

    @russo_nb.agent
    async def agent(text):
        calls.append(text)
        return [ToolCall(name="book_flight", arguments={"to_city": "LA" if next(answers) else "Boston"})]

    return agent, calls


def test_rounds_are_added_until_the_interval_is_narrow_enough():
    agent, calls = _agent([True, True, True, False])
    until = Precision(half_width=0.08, max_runs=60, step=4)
    result = asyncio.run(russo_nb.run_concurrent(PROMPTS, agent=agent, expect=EXPECT, runs=4, until=until))
    view = build_view(result)
    width = (view.high - view.low) / 2
    per_prompt = result.metadata.runs_per_prompt
    assert width <= 0.08 and 4 < per_prompt < 60 and per_prompt % 4 == 0
    assert result.total == len(calls) == 6 * per_prompt  # every run ran once: earlier rounds were not re-run
    assert [(r.prompt, r.run_index) for r in result.runs] == [(p, i) for p in PROMPTS for i in range(per_prompt)]
    # one round fewer would not have been precise enough: it stopped at the first round that was
    fewer = russo_nb.BatchResult(runs=[r for r in result.runs if r.run_index < per_prompt - 4])
    fewer_view = build_view(fewer)
    assert (fewer_view.high - fewer_view.low) / 2 > 0.08
    assert result.metadata.params["stopped_for"].startswith(f"precision: ±{width:.1%} ≤ ±8.0%")
    assert "not a hypothesis test" in result._repr_mimebundle_()["text/html"]


def test_the_cap_stops_it_and_says_so():
    agent, _ = _agent([True, False])
    result = russo_nb.run_concurrent_sync(
        PROMPTS, agent=agent, expect=EXPECT, runs=2, until=Precision(half_width=0.01, max_runs=6)
    )
    assert result.metadata.runs_per_prompt == 6 and result.total == 36
    assert result.metadata.params["stopped_for"].startswith("cap: 6 runs per prompt (±")


def test_bad_precision_is_refused_with_a_fix():
    with pytest.raises(InvalidArgumentError, match=r"between 0 and 0\.5"):
        Precision(half_width=0.7)
    agent, _ = _agent([True])
    with pytest.raises(InvalidArgumentError, match="raise max_runs"):
        asyncio.run(russo_nb.run_concurrent(PROMPTS, agent=agent, runs=10, until=Precision(max_runs=5)))
    with pytest.raises(InvalidArgumentError, match=r"until= takes russo_nb\.Precision"):
        asyncio.run(russo_nb.run_concurrent(PROMPTS, agent=agent, until=0.05))


# -- seeded flaky agents (russo_nb.testing.ScriptedAgent) ----------------------------------------
FLAKY_PROMPTS = [f"Book flight {i} to LA" for i in range(8)]


def _flaky(rate: float, seed: int) -> ScriptedAgent:
    """A scripted agent right with probability ``rate`` on each call, from a seeded stream of draws."""
    draws = random.Random(seed)
    return ScriptedAgent(
        lambda text: "book_flight(to_city='LA')" if draws.random() < rate else "book_flight(to_city='Boston')"
    )


def _reported_matches_the_view(result) -> float:
    view = build_view(result)
    until = result.metadata.params["until"]
    assert until["reached"] == pytest.approx((view.high - view.low) / 2)  # the view's clustered interval, exactly
    assert sum(until["rounds"]) == result.total == view.finished  # each round's runs, none cancelled
    return until["reached"]


def test_a_stable_agent_stops_early_for_precision():
    agent = _flaky(0.98, seed=1)
    until = Precision(half_width=0.05, max_runs=200, step=5)
    result = russo_nb.run_concurrent_sync(FLAKY_PROMPTS, agent=agent, expect=EXPECT, runs=5, until=until)
    reached = _reported_matches_the_view(result)
    per_prompt = result.metadata.runs_per_prompt
    assert result.metadata.params["until"]["stopped"] == "precision" and reached <= 0.05
    assert per_prompt < 40 and len(agent.calls) == 8 * per_prompt  # far below the cap; no run ran twice
    summary = result.summary()
    assert "Stopped for precision: ±" in summary and "not a hypothesis test" in summary


def test_a_coin_flip_agent_runs_to_the_cap_and_says_so():
    agent = _flaky(0.5, seed=2)
    until = Precision(half_width=0.05, max_runs=20, step=5)
    seen = []
    result = asyncio.run(
        russo_nb.run_concurrent(
            FLAKY_PROMPTS,
            agent=agent,
            expect=EXPECT,
            runs=5,
            until=until,
            on_progress=lambda p: seen.append((p.done, p.total)),
        )
    )
    assert [done for done, _ in seen] == list(range(1, 161))  # one progress over every round
    assert {total for _, total in seen} == {40, 80, 120, 160}  # the total grows as rounds are added
    reached = _reported_matches_the_view(result)
    params = result.metadata.params
    assert params["until"]["stopped"] == "cap" and params["until"]["rounds"] == [40, 40, 40, 40]
    assert result.metadata.runs_per_prompt == 20 and result.total == 160 and reached > 0.05
    assert "resumed" not in params  # rounds are not a resume
    summary = result.summary()
    assert f"Stopped at the cap: 20 runs per prompt (±{reached:.1%}" in summary and "4 rounds" in summary


def test_start_batch_until_is_a_job_that_can_be_stopped_between_rounds():
    gate = Gate()
    answered = []

    def answer(text):
        answered.append(text)
        return "book_flight(to_city='LA')" if len(answered) % 2 else "book_flight(to_city='Boston')"

    agent = ScriptedAgent(answer, gate=None)

    async def stopped():
        batch = russo_nb.start_batch(
            FLAKY_PROMPTS, None, agent, expect=EXPECT, runs=2, until=Precision(half_width=0.01, max_runs=50)
        )
        assert batch.total == 16 and batch.progress.total == 16
        task = batch.start()
        while batch.runs < 6:  # two rounds done, the third under way
            await asyncio.sleep(0.001)
        agent.gate = gate  # the third round's runs now wait
        await gate.until_waiting(1)
        batch.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return batch.result()

    result = asyncio.run(stopped())
    params = result.metadata.params
    assert params["until"]["stopped"] == "interrupted" and result.status_counts.get("cancelled", 0) >= 1
    assert params["until"]["rounds"][:2] == [16, 16] and "not a hypothesis test" not in result.summary()


def test_the_magic_takes_until_half_width(ip):
    ip.user_ns["coin"] = _flaky(0.5, seed=3)
    try:
        result = ip.run_line_magic(
            "russo",
            "run 'Book flight 1 to LA' 'Book flight 2 to LA' --agent coin --text "
            "--expect \"book_flight(to_city='LA')\" --runs 3 --until-half-width 5% --max-runs 9 --quiet",
        )
    finally:
        ip.user_ns.pop("coin", None)
    assert result.metadata.params["until"]["stopped"] == "cap" and result.metadata.runs_per_prompt == 9
    with pytest.raises(InvalidArgumentError, match=r"half-width between 0 and 0\.5"):
        parse_magic("run x --agent a --until-half-width 0.7")
