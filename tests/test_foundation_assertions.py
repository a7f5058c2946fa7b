"""assert_tool_calls: passes silently, or fails with the diff of each miss."""

from __future__ import annotations

import pytest

import russo_nb as russo
from russo_nb.evaluators import ExactEvaluator


def _eval(actual):
    return ExactEvaluator().evaluate([russo.tool_call("book_flight", to_city="LA")], actual)


def test_passing_eval_result_does_not_raise():
    russo.assert_tool_calls(_eval([russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})]))


def test_failing_eval_result_raises_with_the_diff():
    with pytest.raises(russo.ToolCallAssertionError) as info:
        russo.assert_tool_calls(_eval([russo.ToolCall(name="book_flight", arguments={"to_city": "LAX"})]))
    assert "to_city: expected 'LA', got 'LAX'" in str(info.value)
    assert isinstance(info.value, AssertionError) and isinstance(info.value, russo.RussoError)


def test_batch_needs_every_run_or_the_given_pass_rate():
    good = russo.SingleRunResult(
        prompt="p", run_index=0, eval_result=_eval([russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})])
    )
    bad = russo.SingleRunResult(prompt="p", run_index=1, eval_result=_eval([]))
    batch = russo.BatchResult(runs=[good, bad])
    with pytest.raises(russo.ToolCallAssertionError) as info:
        russo.assert_tool_calls(batch)
    message = str(info.value)
    assert message.startswith("1/2 runs passed (needed 100%)")
    assert "run 1 of 'p': failed" in message and "no call to book_flight was made" in message
    russo.assert_tool_calls(batch, min_pass_rate=0.5)
    with pytest.raises(TypeError):
        russo.assert_tool_calls("not a result")
