"""The view of a batch: every number a result shows, computed once from any result.

:func:`build_view` takes a prompt batch, a scenario batch, a suite result or a loaded
file and gives a :class:`BatchView`: the headline, one row per prompt (or scenario) and
the failure groups. Text (:mod:`russo_nb.results.view.text`), notebook HTML, the explorer and the
standalone report all render this one object, so wording and thresholds live here.

Honest partial batches: only *finished* runs (not ``cancelled``) enter any rate,
interval or flakiness flag. Cancelled runs are a count; a prompt none of whose runs
finished is "not run", never "0%".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BatchView",
    "FailureGroup",
    "PromptRow",
    "build_view",
    "failure_groups",
    "interruption_text",
    "prompt_rows",
    "result_of",
]

from ...model.columns import Run
from ...model.conditions import conditions_text
from ...model.partial_runs import PartialRuns
from ...model.thresholds import CONFIDENCE, FLAKY_MARGIN, PER_RUN, SMALL_SAMPLE_RUNS, confidence_label
from ...model.types import ColumnarRuns
from ..analysis.rows import CANCELLED, PromptRow, condition_by, group_runs, prompt_rows, result_of
from .kit import pct, plural
from .signature import failure_signature

FLAKY_TITLE = f"reliably passes and fails: its Wilson interval stays {FLAKY_MARGIN * 100:g} points clear of 0% and 100%"
"""What the flaky flag means, in words (tooltips)."""

RATE_LABEL = PER_RUN
"""How the headline pass rate is weighted: pooled over finished runs."""


def _status(run: Run) -> str:
    """A run's status (the :class:`~russo_nb.model.columns.Run` protocol); a run without one counts as failed."""
    return str(run.status or "failed")


@dataclass
class FailureGroup:
    """Finished runs that did not pass in the same way (same status and failure signature), over prompts.

    ``what`` is the signature (``to_city → 'Boston'``); ``prompts`` the distinct prompts in
    first-seen order, ``prompt`` the first of them.
    """

    prompt: str
    status: str
    what: str
    runs: list[Any]
    prompts: list[str] = field(default_factory=list)

    @property
    def first(self) -> Any:
        """The run shown as the example of the group."""
        return self.runs[0]


@dataclass
class BatchView:
    """What a result shows: headline numbers, per-prompt rows, failure groups.

    Every rate and interval counts finished runs only (``finished``); ``cancelled`` is
    a count shown beside them. Build with :func:`build_view`.
    """

    result: Any
    kind: str
    name: str | None
    metadata: Any
    total: int
    finished: int
    passed: int
    statuses: dict[str, int]
    rows: list[PromptRow]
    groups: list[FailureGroup]
    interrupted: bool
    low: float | None = None
    high: float | None = None
    confidence: float = CONFIDENCE
    scores: dict[str, Any] | None = None
    by: tuple[str, ...] = ()
    """The conditions the rows split by (each row's ``conditions``); empty: one row per prompt."""

    @property
    def conditions(self) -> dict[str, list[Any]]:
        """Each condition the runs carry, with its distinct values in first-seen order (empty: none)."""
        from ...model.columns import field, field_cells

        runs = getattr(self.result, "runs", None) or []
        values: dict[str, dict[str, Any]] = {}
        seen: set[int] = set()
        for conditions in field_cells(runs, field("conditions")):
            if conditions and id(conditions) not in seen:
                seen.add(id(conditions))
                for name, value in conditions.items():
                    values.setdefault(name, {}).setdefault(repr(value), value)
        return {name: list(by_text.values()) for name, by_text in values.items()}

    @property
    def conditions_text(self) -> str:
        """``conditions: voice en-us, en-gb · snr_db 0, 10`` ('' when the runs carry none); 8 values each at most."""
        parts = []
        for name, values in self.conditions.items():
            shown = ", ".join(str(value) for value in values[:8]) + (
                f" (+{len(values) - 8} more)" if len(values) > 8 else ""
            )
            parts.append(f"{name} {shown}")
        return "conditions: " + " · ".join(parts) if parts else ""

    @property
    def prompt_count(self) -> int:
        """Distinct prompts (or scenarios): ``len(rows)`` unless the rows split by conditions (``by``)."""
        return len({row.prompt for row in self.rows}) if self.by else len(self.rows)

    @property
    def noun(self) -> str:
        """What a row is: "prompt" or "scenario"."""
        return "scenario" if self.kind == "scenarios" else "prompt"

    @property
    def cancelled(self) -> int:
        """Runs that never finished."""
        return self.statuses.get(CANCELLED, 0)

    @property
    def rate(self) -> float | None:
        """Pass rate per run over finished runs; None when no run finished."""
        return self.passed / self.finished if self.finished else None

    @property
    def all_passed(self) -> bool:
        """Every run finished and passed (an empty or interrupted batch did not pass)."""
        return self.total > 0 and self.passed == self.total

    @property
    def verdict(self) -> str:
        """PASSED, FAILED, or INTERRUPTED when runs were cancelled and none of the finished failed."""
        if self.all_passed:
            return "PASSED"
        if self.cancelled and self.passed == self.finished:
            return "INTERRUPTED"
        return "FAILED"

    @property
    def not_run(self) -> list[PromptRow]:
        """Rows none of whose runs finished: prompts, or (prompt, condition values) rows when split ``by``."""
        return [row for row in self.rows if row.not_run]

    @property
    def row_noun(self) -> str:
        """What one row of the table is: "prompt" ("scenario"), or "prompt × voice" when the rows split ``by``."""
        return " × ".join((self.noun, *self.by))

    @property
    def not_run_text(self) -> str:
        """ "14 prompts not run", or split ``by``: "2 prompt × voice rows not run" — the count is of the rows the
        table shows (a prompt that ran under one voice and not under another is one such row); "" when none."""
        count = len(self.not_run)
        if not count:
            return ""
        return f"{plural(count, f'{self.row_noun} row' if self.by else self.noun)} not run"

    def row_label(self, row: PromptRow) -> str:
        """A row's name as text: its prompt, then its condition values when the rows split (``a · voice=en-gb``)."""
        return f"{row.prompt} · {conditions_text(row.conditions)}" if row.conditions else row.prompt

    @property
    def flaky(self) -> list[PromptRow]:
        """Prompts flaky by margin: each reliably both passes and fails (see :attr:`PromptRow.flaky`)."""
        return [row for row in self.rows if row.flaky]

    @property
    def mixed(self) -> list[PromptRow]:
        """Prompts whose finished runs disagree at all (the raw count beside ``flaky``)."""
        return [row for row in self.rows if row.mixed]

    @property
    def failing(self) -> int:
        """Finished runs that did not pass (failed, error, timeout)."""
        return self.finished - self.passed

    @property
    def small_sample(self) -> bool:
        """Fewer finished runs than the statistics call small: the interval is wide."""
        return 0 < self.finished < SMALL_SAMPLE_RUNS

    @property
    def cancelled_text(self) -> str:
        """ "145 cancelled — interrupted after 15 runs", or "" when every run finished."""
        return interruption_text(self.cancelled, self.finished, self.interrupted)

    @property
    def stopping_text(self) -> str:
        """Why a batch run ``until=Precision(...)`` stopped (precision or the cap), or ""."""
        return stopping_text(getattr(self.metadata, "params", None) or {})

    @property
    def resumed_text(self) -> str:
        """ "Resumed: 7 runs, then 13 (one batch, same seeds)" for a resumed batch, or ""."""
        from ...execution.resume import resumed_text

        return resumed_text(getattr(self.metadata, "params", None) or {})

    @property
    def interval_text(self) -> str:
        """ "95% CI 61.0%–100%" (clustered by prompt, finished runs), or "" without finished runs."""
        if self.low is None or self.high is None:
            return ""
        return f"{confidence_label(self.confidence)} CI {pct(self.low)}–{pct(self.high)}"

    def status_text(self) -> str:
        """Errors, timeouts and the like, e.g. "1 error · 2 timeouts" (cancellations are said separately)."""
        return " · ".join(
            plural(count, status)
            for status, count in self.statuses.items()
            if status not in ("passed", "failed", CANCELLED)
        )

    def lowest_rows(self, limit: int) -> list[PromptRow]:
        """The rows most worth seeing first: not run and lowest pass rate, then most runs."""
        if len(self.rows) <= limit:
            return list(self.rows)
        return sorted(self.rows, key=_row_order)[:limit]


def _row_order(row: PromptRow) -> tuple[float, int]:
    rate = row.rate
    return (-1.0 if rate is None else rate, -row.finished)


def stopping_text(params: dict[str, Any]) -> str:
    """Why a batch run with ``until=`` (:mod:`russo_nb.execution.precision`) stopped, for the summary and the view."""
    until = params.get("until")
    reason = params.get("stopped_for")
    if not isinstance(until, dict) or not reason:
        return ""
    rounds = [int(count) for count in until.get("rounds") or []]
    shown = (
        f" ({len(rounds)} round{'s' if len(rounds) != 1 else ''}: {' + '.join(map(str, rounds))} runs)"
        if rounds
        else ""
    )
    if until.get("stopped") == "precision":
        lead = f"Stopped for {reason}{shown}"
    elif until.get("stopped") == "cap":
        lead = f"Stopped at the {reason}{shown}"
    else:
        return f"Rounds until ±{float(until.get('half_width', 0)):.1%} {reason}{shown}"
    return f"{lead} — an estimate to a chosen precision, not a hypothesis test"


def interruption_text(cancelled: int, finished: int, interrupted: bool = True) -> str:
    """The one sentence that says a batch stopped early: "145 cancelled — interrupted after 15 runs"."""
    if not cancelled:
        return ""
    cause = "interrupted" if interrupted else "stopped"
    return f"{cancelled:,} cancelled — {cause} after {finished:,} run{'s' if finished != 1 else ''}"


def _failure_key(run: Run, cache: dict[int, str]) -> str:
    """The run's failure signature (:func:`~russo_nb.results.view.signature.failure_signature`), computed once
    per shared evaluation object (runs of one prompt often share one)."""
    evaluation = run.eval_result if run.kind == "prompt" else None  # a scenario run's is made on each read
    if run.error is None and evaluation is not None:
        key = id(evaluation)
        text = cache.get(key)
        if text is None:
            text = cache[key] = failure_signature(run)
        return text
    return failure_signature(run)


def failure_groups(runs: Any) -> list[FailureGroup]:
    """Finished runs that did not pass, grouped by (status, failure signature) across prompts, largest first.

    The same mistake on twelve prompts is one group ("to_city → 'Boston' in 60 runs over 12
    prompts"). Cancelled runs are not failures and are left out.
    """
    groups: dict[tuple[str, str], list[Any]] = {}
    cache: dict[int, str] = {}
    for run in runs:
        status = _status(run)
        if status in ("passed", CANCELLED):
            continue
        groups.setdefault((status, _failure_key(run, cache)), []).append(run)
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    out = []
    for (status, what), members in ordered:
        prompts = list(dict.fromkeys(run.prompt for run in members))
        out.append(FailureGroup(prompts[0], status, what, members, prompts))
    return out


def build_view(
    result: Any, *, confidence: float = CONFIDENCE, groups: bool = True, by: str | Sequence[str] | None = None
) -> BatchView:
    """The view of ``result`` (BatchResult, ScenarioBatch, SuiteResult, a loaded batch, anything with ``runs``).

    ``groups=False`` skips grouping the failures (a headline and table only). ``by``: the
    conditions the prompt rows split by; default: those whose values differ between runs
    (:func:`~russo_nb.results.analysis.rows.condition_by`), so a plain batch has one row per prompt and a
    sweep or a batch merged from two agent versions one per prompt and condition values.
    """
    from ..analysis.stats import clustered_se

    result = result_of(result)
    stored = getattr(result, "runs", None)
    metadata = getattr(result, "metadata", None)
    kind = str(getattr(metadata, "kind", None) or "prompts")
    if kind == "prompts" and type(result).__name__ == "ScenarioBatch":
        kind = "scenarios"
    if by is None:  # split the rows by the conditions that differ between runs (a sweep, merged versions)
        by = condition_by(stored) if stored else ()
    names = (by,) if isinstance(by, str) else tuple(by)
    grouped = group_runs(result, by=names, confidence=confidence)
    rows = grouped.rows
    total = sum(row.runs for row in rows)
    runs: list[Any] = []
    if groups and isinstance(stored, PartialRuns) and (units := stored.units()) is not None:
        runs = [run for unit in units for run in unit.finished]  # a stopped batch: unfinished runs never built
    elif groups and isinstance(stored, ColumnarRuns):  # a loaded table: only the failing runs are built
        failing = (grouped.statuses != "passed") & (grouped.statuses != CANCELLED)
        runs = [stored[index] for index in np.flatnonzero(failing).tolist()]
    elif groups:
        runs = list(stored or [])
    statuses: dict[str, int] = {}
    clusters: dict[str, list[int]] = {}  # the batch interval is clustered by prompt, however the rows split
    for row in rows:
        for status, count in row.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
        if row.finished:
            cluster = clusters.setdefault(row.prompt, [0, 0])
            cluster[0] += row.passed
            cluster[1] += row.finished
    finished = sum(row.finished for row in rows)
    passed = sum(row.passed for row in rows)
    low = high = None
    if finished:  # the batch rate's one interval: clustered by prompt (one prompt: its Wilson interval)
        counts = list(clusters.values())
        interval = clustered_se([c for c, _ in counts], [n for _, n in counts], confidence)
        low, high = interval.low, interval.high
    params = getattr(metadata, "params", None) or {}
    score_stats = getattr(result, "score_stats", None)
    scores = score_stats() if callable(score_stats) else None
    return BatchView(
        result=result,
        kind=kind,
        name=getattr(metadata, "name", None),
        metadata=metadata,
        total=total,
        finished=finished,
        passed=passed,
        statuses=statuses,
        rows=rows,
        by=names,
        groups=failure_groups(runs) if groups else [],
        interrupted=bool(params.get("interrupted")),
        low=low,
        high=high,
        confidence=confidence,
        scores=scores if scores and scores.get("n") else None,
    )
