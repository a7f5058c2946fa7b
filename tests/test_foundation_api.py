"""The public API: every exported name resolves, and the russo contract's names are there."""

from __future__ import annotations

import russo_nb

RUSSO_CONTRACT = [
    "Audio",
    "ToolCall",
    "AgentResponse",
    "EvalResult",
    "ToolCallMatch",
    "SingleRunResult",
    "BatchResult",
    "tool_call",
    "agent",
    "run",
    "run_concurrent",
    "assert_tool_calls",
    "ToolCallAssertionError",
    "AudioCache",
    "CachedSynthesizer",
]


def test_every_exported_name_resolves():
    missing = [name for name in russo_nb.__all__ if getattr(russo_nb, name, None) is None]
    assert missing == []


def test_russo_contract_names_are_exported():
    assert set(RUSSO_CONTRACT) <= set(russo_nb.__all__)
    from russo_nb.evaluators import ExactEvaluator

    evaluator = ExactEvaluator(match_order=True, ignore_extra_args=True, ignore_extra_calls=False)
    assert evaluator.params == {"match_order": True, "ignore_extra_args": True, "ignore_extra_calls": False}


def test_unknown_attribute_is_an_attribute_error():
    try:
        russo_nb.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")
