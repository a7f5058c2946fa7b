"""until=Precision: rounds of runs until the pass rate's interval is narrow enough, or a cap."""

from __future__ import annotations

import asyncio
import itertools

import pytest

import russo_nb
from russo_nb import Precision, ToolCall
from russo_nb.errors import InvalidArgumentError
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
    assert "not a test" in result._repr_mimebundle_()["text/html"]


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
