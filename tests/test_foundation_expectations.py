"""Expectations parse with ast (literals only) and bad ones say how to fix them."""

from __future__ import annotations

import pytest

from russo_nb import ExpectationError, ToolCall, parse_expectation, tool_call
from russo_nb.expectations import normalize_expectations


def test_parse_literal_arguments():
    assert parse_expectation("book_flight(from_city='NYC', to_city='LA')") == ToolCall(
        name="book_flight", arguments={"from_city": "NYC", "to_city": "LA"}
    )
    assert parse_expectation("get_weather") == ToolCall(name="get_weather")
    assert parse_expectation("f(n=3, xs=[1, 2], d={'a': None})").arguments == {"n": 3, "xs": [1, 2], "d": {"a": None}}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("book_flight(from_city=NYC)", "not a literal"),
        ("__import__('os').system('echo hi')", "positional"),
        ("book_flight('NYC')", "positional"),
        ("book_flight(**x)", "**kwargs"),
        ("book_flight(", "cannot parse"),
        ("1 + 2", "not a tool call"),
    ],
)
def test_bad_expectations_raise_a_clear_error(text, fragment):
    with pytest.raises(ExpectationError, match=fragment.replace("*", r"\*")):
        parse_expectation(text)


def test_name_call_is_not_evaluated():
    # An attribute call parses to its dotted name and nothing runs.
    assert parse_expectation("os.system(cmd='rm -rf /')").name == "os.system"


def test_normalize_accepts_calls_dicts_and_strings():
    calls = normalize_expectations([tool_call("a"), {"name": "b", "arguments": {"x": 1}}, "c(y=2)"])
    assert calls == [ToolCall(name="a"), ToolCall(name="b", arguments={"x": 1}), ToolCall(name="c", arguments={"y": 2})]
    assert normalize_expectations(tool_call("a")) == [ToolCall(name="a")]
    assert normalize_expectations(None) == []


def test_per_prompt_expectations_must_cover_every_prompt():
    per_prompt = normalize_expectations({"p1": ["a()"], "p2": "b()"}, ["p1", "p2"])
    assert per_prompt == {"p1": [ToolCall(name="a")], "p2": [ToolCall(name="b")]}
    with pytest.raises(ExpectationError, match="no entry for 'p3'"):
        normalize_expectations({"p1": ["a()"]}, ["p1", "p3"])


@pytest.mark.parametrize("bad", [42, {"name": 3}, [object()]])
def test_non_calls_are_rejected(bad):
    with pytest.raises(ExpectationError):
        normalize_expectations(bad)
