"""Rich HTML for results: a batch's header, per-prompt table, failures with diffs, transcripts.

Everything an agent or a user wrote (prompts, arguments, text, errors, messages) goes
through :func:`html.escape`. Output is capped (prompt rows, failure groups, runs) so a
100,000-run batch renders in well under a second and stays small; what is left out is
said in the output.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...model.columns import Run
from ...model.conditions import conditions_text
from ...results.view.html import (
    MAX_PROMPTS,
    STYLE,
    batch_html,
    call_diff_html,
    eval_diff_html,
    failure_groups,
    failures_html,
    headline_html,
    middle,
    notes_html,
    prompt_stats,
    prompt_table_html,
)
from ...results.view.kit import escape_text
from ...results.view.transcript import transcript_html

__all__ = [
    "STYLE",
    "batch_html",
    "failures_html",
    "headline_html",
    "middle",
    "notes_html",
    "prompt_table_html",
    "call_diff_html",
    "comparison_html",
    "error_html",
    "eval_diff_html",
    "failure_groups",
    "prompt_stats",
    "run_html",
    "scenario_result_html",
    "transcript_html",
]


# -- one run, transcripts, scenarios ------------------------------------------------------
def _calls_html(calls: Iterable[Any]) -> str:
    return "".join(f"<span class='call'>→ {escape_text(str(call), 300)}</span>" for call in calls)


def run_html(run: Run) -> str:
    """One run in a list: status, conditions, what the agent said and called, the diff or verdict when it failed."""
    status = run.status or ""
    badge = "ok" if status == "passed" else "bad"
    parts = [f"<div><span class='badge {badge}'>{escape_text(status)}</span> run {run.run_index}"]
    if run.latency_s is not None:
        parts.append(f" <span class='muted'>{run.latency_s:.2f}s</span>")
    if run.score is not None:
        parts.append(f" <span class='muted'>score {run.score:.2f}</span>")
    conditions = conditions_text(run.conditions)
    if conditions:
        parts.append(f" <span class='muted russo-run-conditions'>{escape_text(conditions, 300)}</span>")
    parts.append("</div>")
    if run.response is not None:
        if run.response.text:
            parts.append(f"<div><span class='muted'>heard / said:</span> {escape_text(run.response.text)}</div>")
        if run.response.tool_calls:
            parts.append(_calls_html(run.response.tool_calls))
        else:
            parts.append("<div class='muted'>no tool calls</div>")
    if run.error is not None:
        parts.append(f"<div class='err'>{escape_text(str(run.error))}</div>")
    elif run.kind == "scenario":
        parts.append(_verdict_html(run))
    elif status != "passed" and run.eval_result is not None:
        parts.append(eval_diff_html(run.eval_result))
    if run.transcript:
        parts.append(transcript_html(run.transcript, audio=run.audio))
    return "".join(parts)


def _verdict_html(run: Run) -> str:
    status = run.status or "failed"
    css = "ok" if status == "passed" else "bad"
    lines = [f"<b>Verdict: {escape_text(status)}</b>"]
    if run.score is not None:
        lines[0] += f" · score {run.score:.2f}"
    # what failed leads: the criterion not met, then the judge's reasoning ("Reached maximum turns…"), then the rest
    for criterion in run.failed_criteria:
        lines.append(f"✘ {escape_text(criterion, 300)}")
    if run.reasoning:
        lines.append(f"<span class='muted'>{escape_text(run.reasoning, 1000)}</span>")
    for criterion in run.passed_criteria:
        lines.append(f"✔ {escape_text(criterion, 300)}")
    if run.error is not None:
        lines.append(f"error: {escape_text(str(run.error))}")
    return f"<div class='verdict {css}'>{'<br>'.join(lines)}</div>"


def scenario_result_html(run: Run, *, with_style: bool = True) -> str:
    """One scenario run: its name, conditions, the conversation as bubbles and the judge's verdict."""
    head = f"<div><b>{escape_text(run.prompt or 'scenario', 200)}</b> <span class='muted'>run {run.run_index}"
    if run.turns:
        head += f" · {run.turns} turns"
    if run.total_time is not None:
        head += f" · {run.total_time:.2f}s"
    conditions = conditions_text(run.conditions)
    if conditions:
        head += f" · <span class='russo-run-conditions'>{escape_text(conditions, 300)}</span>"
    head += "</span></div>"
    body = transcript_html(run.transcript or [], verdict=_verdict_html(run), audio=run.audio)
    return (STYLE if with_style else "") + f"<div class='russo russo-scenario'>{head}{body}</div>"


# -- comparison and errors ---------------------------------------------------------------
def comparison_html(comparison: Any, name_a: str = "A", name_b: str = "B", *, max_rows: int = MAX_PROMPTS) -> str:
    """A paired comparison as its direction-aware verdict and per-prompt table (see :mod:`.compare_view`)."""
    from .compare_view import comparison_html as _comparison_html

    return _comparison_html(comparison, name_a, name_b, max_rows=max_rows)


def error_html(message: str) -> str:
    """The box a magic shows for a user mistake: one escaped message, no traceback."""
    return f"{STYLE}<div class='russo'><div class='err'><b>russo:</b> {escape_text(message, 4000)}</div></div>"
