"""``assert_tool_calls``: fail a test with the diff of what did not match."""

from __future__ import annotations

from .errors import ToolCallAssertionError
from .types import BatchResult, EvalResult

__all__ = ["ToolCallAssertionError", "assert_tool_calls"]


def _fail(result: EvalResult | BatchResult, message: str, detail: str) -> ToolCallAssertionError:
    error = ToolCallAssertionError(f"{message}\n{detail}" if message else detail)
    error.result = result  # type: ignore[attr-defined]  # as russo's error carries it
    return error


def assert_tool_calls(result: EvalResult | BatchResult, *, message: str = "", min_pass_rate: float = 1.0) -> None:
    """Raise :class:`ToolCallAssertionError` unless ``result`` passed.

    ``message`` (russo's argument) heads the error, above the diff; the error carries
    ``result``. For a batch, at least ``min_pass_rate`` of the runs must pass; the
    message lists each failing run with its diff.
    """
    if isinstance(result, EvalResult):
        if not result.passed:
            raise _fail(result, message, "tool calls did not match:\n" + result.summary())
        return
    if isinstance(result, BatchResult):
        if result.pass_rate >= min_pass_rate and (min_pass_rate < 1.0 or result.passed):
            return
        lines = [f"{result.passed_count}/{result.total} runs passed (needed {min_pass_rate:.0%}):"]
        for run in list(result.iter_failures())[:20]:
            lines.append(f"  run {run.run_index} of {run.prompt!r}: {run.status}")
            if run.error is not None:
                lines.append(f"    {run.error}")
            for match in run.eval_result.matches:
                if not match.matched:
                    lines.append(f"    [-] {match.expected}: {match.details}")
        if result.failed_count > 20:
            lines.append(f"  ... and {result.failed_count - 20} more")
        raise _fail(result, message, "\n".join(lines))
    raise TypeError(f"assert_tool_calls takes an EvalResult or BatchResult, got {type(result).__name__}")
