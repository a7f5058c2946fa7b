"""A batch view as plain text: ``BatchResult.summary()`` / ``ScenarioBatch.summary()`` and ``str(result)``.

A complete batch keeps russo's format exactly::

    FAILED (83% pass rate, 6 runs)
      Passed: 5/6
      Prompt: 'Book a flight from Berlin to Rome'
        3/3 passed
        [+] run 0: 100% match

A partial batch says so once in its first line and counts finished runs only; a prompt
none of whose runs finished says "not run".
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np

from ...model.columns import Run, field, field_cells, table_columns
from ...model.conditions import conditions_text
from ...model.partial_runs import PartialRuns
from ...model.plain_text import terminal_safe
from ...model.run_fields import column
from ...model.types import ColumnarRuns
from ..analysis.rows import run_key
from .model import CANCELLED, BatchView, FailureGroup, PromptRow, build_view

__all__ = ["headline_lines", "summary_text"]


def _run_ranges(indices: Any) -> str:
    """``[0, 1, 2, 5]`` -> ``"0–2, 5"`` (a list or an array of run indices; a million in milliseconds)."""
    ordered = np.sort(np.asarray(indices, dtype=np.int64))
    if not ordered.size:
        return ""
    breaks = np.flatnonzero(np.diff(ordered) != 1)
    starts = ordered[np.concatenate(([0], breaks + 1))].tolist()
    ends = ordered[np.concatenate((breaks, [ordered.size - 1]))].tolist()
    return ", ".join(str(start) if start == end else f"{start}–{end}" for start, end in zip(starts, ends))


def _attempts_text(run: Run) -> str:
    """`` after 2 attempts (last retried: ConnectionError)`` for a retried run (429 / 5xx / retry_on), else ``''``."""
    if run.attempts <= 1:
        return ""
    last = f" (last retried: {terminal_safe(run.retried[-1].type)})" if run.retried else ""
    return f" after {run.attempts} attempts{last}"


def _prompt_run_line(run: Run) -> str:
    icon = "+" if run.status == "passed" else "-"
    evaluation = run.eval_result
    match = evaluation.match_rate if evaluation is not None else (1.0 if run.status == "passed" else 0.0)
    line = f"    [{icon}] run {run.run_index}: {match:.0%} match{_attempts_text(run)}"
    if run.status in ("error", "timeout"):
        line += f" ({run.status}{': ' + terminal_safe(run.error) if run.error else ''})"
    return line


def _scenario_run_line(run: Run) -> str:
    icon = "+" if run.status == "passed" else "-"
    score = f", score {run.score:.2f}" if run.score is not None else ""
    turns = run.turns or 0
    line = f"    [{icon}] run {run.run_index}: {run.status}, {turns} turn{'' if turns == 1 else 's'}{score}"
    line += _attempts_text(run)
    if run.error is not None:
        line += f" ({terminal_safe(run.error)})"
    elif run.status != "passed" and run.reasoning:
        line += f" ({terminal_safe(run.reasoning[:120])})"
    return line


def headline_lines(view: BatchView) -> list[str]:
    """The summary's first two lines: verdict, pass rate and run count; then passed / finished runs."""
    count = view.prompt_count
    scenarios = f", {count} scenario{'' if count == 1 else 's'}" if view.kind == "scenarios" else ""
    if not view.cancelled:
        rate = f"{view.rate:.0%}" if view.rate is not None else "n/a"  # no finished run: no rate (as pass_rate)
        verdict = "PASSED" if view.passed == view.total else "FAILED"
        return [
            f"{verdict} ({rate} pass rate, {view.total} runs{scenarios})",
            f"  Passed: {view.passed}/{view.total}",
        ]
    rate = f"{view.rate:.0%} pass rate over {view.finished} finished runs" if view.finished else "no run finished"
    return [
        f"{view.verdict} ({rate} of {view.total}{scenarios}; {view.cancelled_text})",
        f"  Passed: {view.passed}/{view.finished} finished runs",
    ]


def _row_lines(view: BatchView, row: PromptRow, runs: list[Any], cancelled: Any) -> list[str]:
    """A prompt's lines: its count, one line per finished run, its cancelled runs (indices: list or array) as ranges."""
    label = "Scenario" if view.kind == "scenarios" else "Prompt"
    lines = [
        f"  {label}: {row.prompt!r}"
        + (f" · {terminal_safe(conditions_text(row.conditions))}" if row.conditions else "")
    ]
    if row.not_run:
        lines.append(f"    not run ({len(cancelled)} cancelled)")
        return lines
    tail = f" ({len(cancelled)} cancelled)" if len(cancelled) else ""
    lines.append(f"    {row.passed}/{row.finished} passed{tail}")
    line = _scenario_run_line if view.kind == "scenarios" else _prompt_run_line
    lines.extend(line(run) for run in runs)
    if len(cancelled):
        lines.append(f"    [ ] run{'s' if len(cancelled) > 1 else ''} {_run_ranges(cancelled)}: cancelled")
    return lines


def _runs_by_row(runs: Any, by: tuple[str, ...] = ()) -> dict[tuple[Any, ...], tuple[list[Any], Any]]:
    """Per row (:attr:`~russo_nb.results.analysis.rows.PromptRow.key`: the prompt, and its values of the conditions
    ``by``): its finished runs, and the indices of its cancelled ones.

    Runs kept as columns (a loaded table, a stopped batch's :class:`~russo_nb.model.partial_runs.PartialRuns`)
    build only their finished runs: a stopped 1M-run batch lists its cancelled runs as index ranges.
    """
    groups: dict[tuple[Any, ...], tuple[list[Any], Any]] = {}
    units = runs.units() if isinstance(runs, PartialRuns) else None
    if units is not None:  # a stopped batch: its cancelled run indices as an array, no run built
        for unit in units:
            shown = [run for run in unit.finished if run.status != CANCELLED]
            every = np.arange(len(unit.finished) + unit.unfinished)
            cancelled = np.setdiff1d(every, [run.run_index for run in shown], assume_unique=True)
            key = run_key(unit.example.prompt, unit.example.conditions if by else None, by)
            kept, before = groups.get(key, ([], None))
            both = cancelled if before is None else np.concatenate((before, cancelled))
            groups[key] = (kept + shown, both)
        return groups
    if isinstance(runs, ColumnarRuns):
        cells = table_columns(runs, [column(name) for name in ("prompt", "status", "run_index")])
        conditions = field_cells(runs, field("conditions", default=None)) if by else repeat(None)
        columns = zip(cells["prompt"], cells["status"], cells["run_index"], conditions)
        for row, (prompt, status, index, values) in enumerate(columns):
            group = groups.setdefault(run_key(prompt, values, by), ([], []))
            if status == CANCELLED:
                group[1].append(index)
            else:
                group[0].append(runs[row])
        return groups
    keyed: dict[Any, tuple[list[Any], Any]] = {}  # a plain batch: keyed by the prompt alone, no key built per run
    for run in runs:
        key = run_key(run.prompt, run.conditions, by) if by else run.prompt
        group = keyed.get(key)
        if group is None:
            group = keyed[key] = ([], [])
        if run.status == CANCELLED:
            group[1].append(run.run_index)
        else:
            group[0].append(run)
    return keyed if by else {run_key(prompt, None, ()): group for prompt, group in keyed.items()}


def summary_text(result: Any, view: BatchView | None = None) -> str:
    """The readable report of a batch, grouped by prompt (or scenario), in russo's format."""
    view = view or build_view(result, groups=False)
    lines = headline_lines(view)
    lines.extend(f"  {note}" for note in (view.stopping_text, view.resumed_text) if note)
    usage = getattr(view.result, "usage", None)
    if usage and isinstance(usage, dict):
        from ...model.types import format_usage

        lines.append(f"  Usage: {format_usage(usage)}")
    if view.scores:
        stats = view.scores
        lines.append(
            f"  Score: mean {stats['mean']:.2f} (sd {stats['std']:.2f}, min {stats['min']:.2f}, max {stats['max']:.2f})"
        )
    by_row = _runs_by_row(view.result.runs, view.by)
    for row in view.rows:
        lines.extend(_row_lines(view, row, *by_row.get(row.key, ([], []))))
    return "\n".join(lines)


MAX_SIGNATURE_LINES = 10
"""The text summary lists at most this many failure signatures."""


def failure_lines(groups: list[FailureGroup], limit: int = MAX_SIGNATURE_LINES) -> list[str]:
    """The failure signatures across prompts, largest first: ``to_city → 'Boston': 60 runs over 12 prompts``."""
    if not groups:
        return []
    failing = sum(len(group.runs) for group in groups)
    lines = [f"  Failures: {failing} run{'s' if failing != 1 else ''} with {len(groups)} "
             f"signature{'s' if len(groups) != 1 else ''}"]  # fmt: skip
    for group in groups[:limit]:
        over = f" over {len(group.prompts)} prompts" if len(group.prompts) > 1 else ""
        count = len(group.runs)
        lines.append(
            f"    [{group.status}] {terminal_safe(group.what[:160])}: {count} run{'s' if count != 1 else ''}{over}"
        )
    if len(groups) > limit:
        lines.append(f"    … {len(groups) - limit} more signatures")
    return lines
