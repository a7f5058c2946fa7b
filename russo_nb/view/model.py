"""The view of a batch: every number a result shows, computed once from any result.

:func:`build_view` takes a prompt batch, a scenario batch, a suite result or a loaded
file and gives a :class:`BatchView`: the headline, one row per prompt (or scenario) and
the failure groups. Text (:mod:`russo_nb.view.text`), notebook HTML, the explorer and the
standalone report all render this one object, so wording and thresholds live here.

Honest partial batches: only *finished* runs (not ``cancelled``) enter any rate,
interval or flakiness flag. Cancelled runs are a count; a prompt none of whose runs
finished is "not run", never "0%".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

from ..columns import Run, table_columns
from ..partial_runs import PartialRuns
from ..run_fields import column
from ..thresholds import CONFIDENCE, FLAKY_MARGIN, PER_RUN, SMALL_SAMPLE_RUNS, confidence_label
from ..types import ColumnarRuns
from .kit import pct, plural
from .signature import failure_signature

CANCELLED = "cancelled"
"""The status of a run that never finished (interrupted or cancelled): counted, never scored."""

FLAKY_TITLE = f"reliably passes and fails: its Wilson interval stays {FLAKY_MARGIN * 100:g} points clear of 0% and 100%"
"""What the flaky flag means, in words (tooltips)."""

RATE_LABEL = PER_RUN
"""How the headline pass rate is weighted: pooled over finished runs."""


def result_of(obj: Any) -> Any:
    """The batch inside ``obj``: a SuiteResult's combined batch, or ``obj`` itself."""
    inner = getattr(obj, "batch", None)
    if inner is not None and not callable(inner) and hasattr(inner, "runs"):
        return inner
    return obj


def _status(run: Run) -> str:
    """A run's status (the :class:`~russo_nb.columns.Run` protocol); a run without one counts as failed."""
    return str(run.status or "failed")


@dataclass
class PromptRow:
    """One prompt (or scenario): its finished runs, passes and what else happened.

    ``runs`` counts every run of the prompt, ``finished`` those that were not cancelled;
    ``rate``, ``low`` / ``high`` (Wilson interval) and ``flaky`` use finished runs only.
    """

    prompt: str
    conditions: dict[str, Any] = field(default_factory=dict)
    """The condition values this row groups by (empty unless :func:`prompt_rows` was given ``by``)."""
    runs: int = 0
    finished: int = 0
    passed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    match_sum: float = 0.0
    latency_sum: float = 0.0
    latency_n: int = 0
    latency_censored: int = 0
    """Timed-out runs without a latency: each took at least as long as any run that finished in time."""
    low: float | None = None
    high: float | None = None

    @property
    def cancelled(self) -> int:
        """Runs of this prompt that never finished."""
        return self.statuses.get(CANCELLED, 0)

    @property
    def not_run(self) -> bool:
        """True when none of the prompt's runs finished: it has no pass rate at all."""
        return self.finished == 0

    @property
    def rate(self) -> float | None:
        """Pass rate over finished runs; None when nothing finished."""
        return self.passed / self.finished if self.finished else None

    @property
    def match(self) -> float | None:
        """Mean match rate over finished runs."""
        return self.match_sum / self.finished if self.finished else None

    @property
    def latency(self) -> float | None:
        """Mean latency (s) over the finished runs that recorded one; a lower bound when ``latency_censored``."""
        return self.latency_sum / self.latency_n if self.latency_n else None

    @property
    def mixed(self) -> bool:
        """Finished runs disagree (some passed, some did not); cancellations never count."""
        return 0 < self.passed < self.finished

    @property
    def flaky(self) -> bool:
        """Its Wilson interval lies inside [FLAKY_MARGIN, 1 − FLAKY_MARGIN] (see analysis.stats.is_flaky)."""
        if self.low is None or self.high is None:
            return False
        return self.mixed and self.low >= FLAKY_MARGIN and self.high <= 1.0 - FLAKY_MARGIN

    @property
    def other_statuses(self) -> dict[str, int]:
        """Counts of statuses besides passed / failed (errors, timeouts, cancellations)."""
        return {s: c for s, c in self.statuses.items() if s not in ("passed", "failed")}


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

    @property
    def conditions(self) -> dict[str, list[Any]]:
        """Each condition the runs carry, with its distinct values in first-seen order (empty: none)."""
        from ..columns import field, field_cells

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
        """Prompts none of whose runs finished."""
        return [row for row in self.rows if row.not_run]

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
        from ..resume import resumed_text

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
    """Why a batch run with ``until=`` (:mod:`russo_nb.precision`) stopped, for the summary and the view."""
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
    """The run's failure signature (:func:`~russo_nb.view.signature.failure_signature`), computed once
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


def _counted(rows: dict[Any, PromptRow], prompt: str, status: str, key: Any = None, count: int = 1) -> PromptRow | None:
    """The row of ``key`` (the prompt, or the prompt and its condition values) with one more run of
    ``status`` counted (``count`` more cancelled ones); None when cancelled (nothing to measure)."""
    row = rows.get(prompt if key is None else key)
    if row is None:
        row = rows[prompt if key is None else key] = PromptRow(prompt)
    row.runs += count
    row.statuses[status] = row.statuses.get(status, 0) + count
    if status == CANCELLED:
        return None
    row.finished += 1
    if status == "passed":
        row.passed += 1
    return row


def _measured(row: PromptRow, match_rate: float, latency: float | None, status: str = "") -> None:
    row.match_sum += match_rate
    if latency is None and status == "timeout":
        row.latency_censored += 1
    if latency is not None:
        row.latency_sum += latency
        row.latency_n += 1


def _rows(runs: list[Run], by: tuple[str, ...] = ()) -> list[PromptRow]:
    rows: dict[Any, PromptRow] = {}
    for run in runs:
        if by:
            values = tuple(_condition_value(run.conditions.get(name)) for name in by)
            key = (run.prompt, values)
            fresh = key not in rows
            row = _counted(rows, run.prompt, _status(run), key)
            if fresh:
                rows[key].conditions = {name: run.conditions.get(name) for name in by}
        else:
            row = _counted(rows, run.prompt, _status(run))
        if row is not None:
            _measured(row, run.match_rate, run.latency_s, _status(run))
    return list(rows.values())


def _partial_rows(runs: PartialRuns) -> tuple[list[PromptRow], list[Any]] | None:
    """The prompt rows of a stopped batch, and its finished runs: each finished run counted, each
    prompt's unfinished runs added as one count (a stopped 1M-run batch in milliseconds).

    The rows equal those of the same runs built one by one (:func:`_rows`), status order included.
    None when the runs became a plain list.
    """
    units = runs.units()
    if units is None:
        return None
    rows: dict[Any, PromptRow] = {}
    finished: list[Any] = []
    for unit in units:
        prompt = unit.example.prompt
        pending = unit.unfinished
        for run in unit.finished:
            if pending and run.run_index > unit.first_unfinished:
                _counted(rows, prompt, CANCELLED, count=pending)
                pending = 0
            status = _status(run)
            row = _counted(rows, run.prompt, status)
            if row is not None:
                _measured(row, run.match_rate, run.latency_s, status)
        if pending:
            _counted(rows, prompt, CANCELLED, count=pending)
        finished.extend(unit.finished)
    return list(rows.values()), finished


def _condition_value(value: Any) -> Any:
    """A condition value as a grouping key: every NaN is one key (NaN != NaN)."""
    return "\x00nan" if isinstance(value, float) and value != value else value


def prompt_rows(
    result: Any, *, by: str | list[str] | tuple[str, ...] = (), confidence: float = CONFIDENCE
) -> list[PromptRow]:
    """One row per prompt (or scenario) — and, with ``by``, per value of those conditions — in first-seen order.

    The one per-prompt aggregation: runs, finished, passed, statuses, mean match rate and
    latency, and the Wilson interval over finished runs. Cancelled runs are counted and never
    scored. ``by="voice"`` or ``by=["voice", "snr_db"]`` splits each prompt by run conditions
    (``row.conditions`` says which); a run without a condition groups under None.
    """
    names = (by,) if isinstance(by, str) else tuple(by)
    result = result_of(result)
    stored = getattr(result, "runs", None)
    partial = _partial_rows(stored) if isinstance(stored, PartialRuns) and not names else None
    if partial is not None:
        rows = partial[0]
    elif isinstance(stored, ColumnarRuns) and not names:
        rows, _ = _column_rows(stored)
    else:
        rows = _rows(list(stored or []), names)
    _wilson_rows(rows, confidence)
    return rows


def _column_rows(runs: ColumnarRuns) -> tuple[list[PromptRow], list[int]]:
    """The prompt rows of runs kept as columns, and the rows of the finished runs that did not pass."""
    cells = table_columns(runs, [column(name) for name in ("prompt", "status", "match_rate", "latency_s")])
    rows: dict[str, PromptRow] = {}
    failing = []
    columns = zip(cells["prompt"], cells["status"], cells["match_rate"], cells["latency_s"])
    for index, (prompt, status, match_rate, latency) in enumerate(columns):
        status = str(status or "failed")
        row = _counted(rows, prompt, status)
        if row is not None:
            _measured(row, match_rate, latency, status)
            if status != "passed":
                failing.append(index)
    return list(rows.values()), failing


def _wilson_rows(rows: list[PromptRow], confidence: float) -> None:
    from ..analysis.stats import wilson_interval

    ran = [row for row in rows if row.finished]
    if not ran:
        return
    lows, highs = wilson_interval([row.passed for row in ran], [row.finished for row in ran], confidence)
    for row, low, high in zip(ran, lows, highs, strict=True):
        row.low, row.high = float(low), float(high)


def build_view(result: Any, *, confidence: float = CONFIDENCE, groups: bool = True) -> BatchView:
    """The view of ``result`` (BatchResult, ScenarioBatch, SuiteResult, a loaded batch, anything with ``runs``).

    ``groups=False`` skips grouping the failures (a headline and table only).
    """
    from ..analysis.stats import clustered_se

    result = result_of(result)
    stored = getattr(result, "runs", None)
    metadata = getattr(result, "metadata", None)
    kind = str(getattr(metadata, "kind", None) or "prompts")
    if kind == "prompts" and type(result).__name__ == "ScenarioBatch":
        kind = "scenarios"
    partial = _partial_rows(stored) if isinstance(stored, PartialRuns) else None
    if partial is not None:  # a stopped batch: its unfinished runs are a count per prompt, never built
        rows, total, runs = partial[0], len(stored), partial[1] if groups else []
    elif isinstance(stored, ColumnarRuns):  # a loaded table: only the failing runs are built (for the groups)
        rows, failing = _column_rows(stored)
        total, runs = len(stored), [stored[index] for index in failing] if groups else []
    else:
        runs = list(stored or [])
        rows, total = _rows(runs), len(runs)
    _wilson_rows(rows, confidence)
    statuses: dict[str, int] = {}
    for row in rows:
        for status, count in row.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    finished = sum(row.finished for row in rows)
    passed = sum(row.passed for row in rows)
    low = high = None
    if finished:  # the batch rate's one interval: clustered by prompt (one prompt: its Wilson interval)
        ran = [row for row in rows if row.finished]
        interval = clustered_se([row.passed for row in ran], [row.finished for row in ran], confidence)
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
        groups=failure_groups(runs) if groups else [],
        interrupted=bool(params.get("interrupted")),
        low=low,
        high=high,
        confidence=confidence,
        scores=scores if scores and scores.get("n") else None,
    )
