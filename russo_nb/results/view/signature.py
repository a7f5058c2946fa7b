"""What went wrong in a run, in a few words: the argument that differs, the call that was
missing, the error, or the criterion that failed.

Two texts per run: :func:`difference_text` says it in full for one run
(``to_city: 'LA' → 'Boston'``), and :func:`failure_signature` drops what belongs to the
prompt (the expected value) so the same mistake made on different prompts is one
signature (``to_city → 'Boston'``): the view groups failures by it across prompts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...model.columns import Run
    from ...model.types import ToolCall

__all__ = ["MISSING_ARGUMENT", "calls_difference", "difference_text", "failure_signature"]

MISSING_ARGUMENT = "—"
"""How a side that lacks an argument is written in a difference."""

MAX_VALUE = 60
"""Argument values longer than this are cut in the middle."""


def _value(arguments: dict[str, Any], key: str) -> str:
    if key not in arguments:
        return MISSING_ARGUMENT
    text = repr(arguments[key])
    if len(text) > MAX_VALUE:
        half = (MAX_VALUE - 1) // 2
        text = f"{text[:half]}…{text[-half:]}"
    return text


def _differing_keys(expected: ToolCall, actual: ToolCall) -> list[str]:
    want, got = expected.arguments or {}, actual.arguments or {}
    keys = list(want) + [key for key in got if key not in want]
    return [key for key in keys if (key in want) != (key in got) or (key in want and want[key] != got[key])]


def _call_difference(expected: ToolCall, actual: ToolCall | None, *, full: bool) -> str:
    if actual is None:
        return f"no {expected.name} call"
    if expected.name != actual.name:
        return f"{actual.name} instead of {expected.name}"
    parts = []
    for key in _differing_keys(expected, actual):
        got = _value(actual.arguments or {}, key)
        if full:
            parts.append(f"{key}: {_value(expected.arguments or {}, key)} → {got}")
        else:
            parts.append(f"{key} → {got}")
    return "; ".join(parts) or "same call, judged different"


def _difference(run: Run, *, full: bool) -> str:
    error = run.error
    if error is not None:
        message = error.message.strip().splitlines()
        return f"{error.type}: {message[0] if message else ''}".strip()
    if run.failed_criteria:
        return f"criterion failed: {run.failed_criteria[0]}"
    evaluation = run.eval_result
    if evaluation is not None:
        unmatched = [match for match in evaluation.matches if not match.matched]
        if unmatched:
            return "; ".join(_call_difference(m.expected, m.actual, full=full) for m in unmatched[:3])
        extra = evaluation.extra_calls()
        if extra and evaluation.matches:
            return f"extra call {extra[0]}" if full else f"extra call {extra[0].name}"
        calls = " ".join(str(call) for call in evaluation.actual)
        return f"called {calls}" if calls else "no calls"
    return run.reasoning or run.status or ""


def difference_text(run: Run) -> str:
    """One run's failure in full: ``to_city: 'LA' → 'Boston'``, ``no book_flight call``, ``TimeoutError: …``."""
    return _difference(run, full=True)


def failure_signature(run: Run) -> str:
    """The kind of failure, without what is particular to the prompt: ``to_city → 'Boston'``.

    Runs of different prompts that made the same mistake (or hit the same error) share it.
    """
    return _difference(run, full=False)


def calls_difference(expected: str, actual: str) -> str:
    """Two runs-frame call texts (``book_flight(to_city='LA'); …``) as their difference: ``to_city: 'LA' → 'Boston'``.

    Used where only the texts are at hand (the runs table of a loaded batch); each expected call
    is paired with the agent's call of the same name. '' when they agree; the agent's calls as
    they are when a text cannot be read back as calls.
    """
    if expected == actual:
        return ""
    from ...model.expectations import parse_expectation

    try:
        want = [parse_expectation(text) for text in _split_calls(expected)]
        got = [parse_expectation(text) for text in _split_calls(actual)]
    except Exception:  # not literal calls (a judge's text, an exotic value): say what was called
        return f"called {actual}" if actual else "no calls"
    if not want:
        return f"extra call {got[0]}" if got else ""
    parts = []
    for call in want:
        same = next((other for other in got if other.name == call.name), None)
        if same is not None:
            got.remove(same)
        elif got:
            same = got.pop(0)
        if same is None or same != call:
            parts.append(_call_difference(call, same, full=True))
    if not parts and got:
        parts.append(f"extra call {got[0]}")
    return "; ".join(parts)


def _split_calls(text: str) -> list[str]:
    """Call texts joined by "; " split back (a "; " inside a quoted value is kept)."""
    if not text:
        return []
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ";" and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [part for part in out if part]
