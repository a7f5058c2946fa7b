"""The one per-prompt aggregation: runs grouped by prompt (and, where asked, by condition values).

:func:`group_runs` reads a batch's runs once — objects, runs kept as columns (a loaded file),
a stopped batch's :class:`~russo_nb.model.partial_runs.PartialRuns`, or a runs DataFrame — and
counts each group with vectorized numpy. :func:`prompt_rows` gives its rows; the view
(:func:`~russo_nb.results.view.model.build_view`), the prompts frame and the summary
(:mod:`russo_nb.analysis`), the CLI's interval, suite lines, progress text, paired
comparisons, the sweep's cell counts and the store's filtered trend all start from it.

Cancelled runs are counted (``runs``, ``statuses``) and never scored: ``finished`` is every
rate's denominator, and a group none of whose runs finished is "not run", never "0%".
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...model.columns import field as run_field
from ...model.columns import field_cells, table_columns
from ...model.partial_runs import PartialRuns
from ...model.run_fields import column
from ...model.thresholds import CONFIDENCE, FLAKY_MARGIN
from ...model.types import ColumnarRuns
from .stats import censored_latency, wilson_interval

__all__ = [
    "CANCELLED",
    "Grouped",
    "PromptRow",
    "condition_by",
    "group_runs",
    "mean_pass_k",
    "prompt_rows",
    "result_of",
    "run_key",
]

CANCELLED = "cancelled"
"""The status of a run that never finished (interrupted or cancelled): counted, never scored."""

_ERRORS = ("error", "timeout")


@dataclass
class PromptRow:
    """One prompt (or scenario) — or one prompt under one set of condition values: its runs counted.

    ``runs`` counts every run of the group, ``finished`` those that were not cancelled;
    ``rate``, ``low`` / ``high`` (Wilson interval), ``match`` and ``flaky`` use finished runs only.
    """

    prompt: str
    conditions: dict[str, Any] = field(default_factory=dict)
    """The condition values this row groups by (empty unless grouped ``by`` conditions)."""
    runs: int = 0
    finished: int = 0
    passed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    """Runs per status, in the order each status first appears in the group."""
    match_sum: float = 0.0
    match_n: int = 0
    """Finished runs with a match rate (an evaluation): the denominator of ``match``."""
    latency_sum: float = 0.0
    latency_n: int = 0
    latency_censored: int = 0
    """Timed-out runs: each took at least the timeout (or as long as any run that finished in time)."""
    low: float | None = None
    high: float | None = None
    prompt_id: str | None = None

    @property
    def cancelled(self) -> int:
        """Runs of this group that never finished."""
        return self.statuses.get(CANCELLED, 0)

    @property
    def errors(self) -> int:
        """Finished runs that raised or timed out."""
        return sum(self.statuses.get(status, 0) for status in _ERRORS)

    @property
    def not_run(self) -> bool:
        """True when none of the group's runs finished: it has no pass rate at all."""
        return self.finished == 0

    @property
    def rate(self) -> float | None:
        """Pass rate over finished runs; None when nothing finished."""
        return self.passed / self.finished if self.finished else None

    @property
    def match(self) -> float | None:
        """Mean match rate over the finished runs that were evaluated; None when none was."""
        return self.match_sum / self.match_n if self.match_n else None

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
    def key(self) -> tuple[Any, ...]:
        """``(prompt, condition values...)``: what the row groups; equal for runs in it (:func:`run_key`)."""
        return (self.prompt, *map(_key_value, self.conditions.values()))

    @property
    def other_statuses(self) -> dict[str, int]:
        """Counts of statuses besides passed / failed (errors, timeouts, cancellations)."""
        return {s: c for s, c in self.statuses.items() if s not in ("passed", "failed")}


@dataclass
class Grouped:
    """The groups of a batch's runs and what each run ("cell") contributed.

    ``rows`` in first-seen order; per cell: ``codes`` (its row), ``statuses`` and ``latency``
    (seconds, timed-out runs censored and cancelled ones NaN, as
    :func:`~russo_nb.results.analysis.stats.censored_latency` enters them). A stopped batch's unfinished
    runs are one cancelled cell per prompt (``counts``), so cells are not always runs.
    """

    rows: list[PromptRow]
    codes: np.ndarray
    statuses: np.ndarray
    latency: np.ndarray
    counts: np.ndarray | None = None
    timeout: float | None = None


@dataclass
class _Cells:
    prompts: list[Any]
    ids: list[Any] | None
    """None: not read (each row's id is made from its prompt)."""
    statuses: list[Any]
    match: list[Any] | None
    """None: not read (counts only)."""
    latency: list[Any] | None
    keys: list[tuple[Any, ...]] | None = None
    conditions: list[dict[str, Any]] | None = None
    counts: list[int] | None = None


def result_of(obj: Any) -> Any:
    """The batch inside ``obj``: a SuiteResult's combined batch, or ``obj`` itself."""
    inner = getattr(obj, "batch", None)
    if inner is not None and not callable(inner) and hasattr(inner, "runs"):
        return inner
    return obj


def _key_value(value: Any) -> Any:
    """A condition value as a grouping key: every NaN is one key (NaN != NaN), numpy scalars as Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    return "\x00nan" if isinstance(value, float) and value != value else value


def run_key(prompt: Any, conditions: dict[str, Any] | None, by: Sequence[str]) -> tuple[Any, ...]:
    """The :attr:`PromptRow.key` of the row a run of ``prompt`` with ``conditions`` falls in, split ``by``."""
    conditions = conditions or {}
    return (str(prompt), *(_key_value(conditions.get(name)) for name in by))


def condition_by(runs: Any) -> tuple[str, ...]:
    """The conditions whose values differ between ``runs`` (a run lacking one counts as None), first-seen order.

    What the view splits its prompt table by: a plain batch, or one whose runs all carry
    the same conditions, gives ``()``.
    """
    units = runs.units() if isinstance(runs, PartialRuns) else None
    if units is not None:  # a stopped batch: its finished runs and one example a prompt, nothing else built
        cells = [run.conditions for unit in units for run in (unit.example, *unit.finished)]
    elif isinstance(runs, ColumnarRuns):  # a loaded table: from its stored column, no run built
        cells = field_cells(runs, run_field("conditions", default=None))
    else:
        cells = [run.conditions for run in runs]
    if not any(cells):  # a plain batch: no run carries a condition
        return ()
    by_id = dict(zip(map(id, cells), cells))  # runs share their conditions dicts: each object looked at once
    distinct: dict[Any, dict[str, Any]] = {}
    for conditions in by_id.values():
        conditions = conditions or {}
        try:
            key: Any = tuple((name, _key_value(value)) for name, value in conditions.items())
            hash(key)
        except TypeError:
            key = repr(conditions)
        distinct.setdefault(key, conditions)
    if len(distinct) < 2:
        return ()
    names: dict[str, None] = {}
    for conditions in distinct.values():
        names.update(dict.fromkeys(conditions))
    return tuple(
        name for name in names if len({repr(_key_value(conditions.get(name))) for conditions in distinct.values()}) > 1
    )


_COUNTED = [column(name) for name in ("prompt", "prompt_id", "status")]
_MEASURED = [*_COUNTED, column("match_rate"), column("latency_s")]
_READ = [operator.attrgetter(name) for name in ("prompt", "prompt_id", "status")]


def _object_cells(runs: Sequence[Any], names: tuple[str, ...], measures: bool = True) -> _Cells:
    """One cell per run, read column by column (runs kept as columns: from the stored columns, no run
    built); without ``measures`` only prompt and status are read (match rate and latency unknown)."""
    if isinstance(runs, ColumnarRuns):
        cells = table_columns(runs, _MEASURED if measures else _COUNTED)
        prompts, ids, statuses = cells["prompt"], cells["prompt_id"], cells["status"]
    else:  # run objects: the Run protocol's attributes, each read in a C-level pass (no tuple per run)
        cells = table_columns(runs, _MEASURED[3:]) if measures else {}
        reads = _READ if measures else _READ[::2]  # counts only: no prompt ids (each row's made from its text)
        values = [list(map(read, runs)) for read in reads]
        prompts, statuses = values[0], values[-1]
        ids = values[1] if measures else None
    out = _Cells(prompts, ids, statuses, cells.get("match_rate"), cells.get("latency_s"))
    if names:
        out.conditions = [c or {} for c in field_cells(runs, run_field("conditions", default=None))]
    return out


def _partial_cells(runs: PartialRuns, names: tuple[str, ...], measures: bool = True) -> _Cells | None:
    """A stopped batch: each finished run a cell, each prompt's unfinished runs one cancelled cell
    (``counts``) where its first unfinished run stands — a stopped 1M-run batch in milliseconds."""
    units = runs.units()
    if units is None:
        return None
    finished: list[Any] = []
    counts: list[int] = []
    for unit in units:
        pending = unit.unfinished
        for run in unit.finished:
            if pending and run.run_index > unit.first_unfinished:
                finished.append(unit.example)
                counts.append(-pending)
                pending = 0
            finished.append(run)
            counts.append(1)
        if pending:
            finished.append(unit.example)
            counts.append(-pending)
    out = _object_cells(finished, names, measures)
    for index, count in enumerate(counts):
        if count < 0:  # the unfinished runs, counted as cancelled whatever the example says
            out.statuses[index] = CANCELLED
            if out.match is not None and out.latency is not None:
                out.match[index] = out.latency[index] = None
    out.counts = [abs(count) for count in counts]
    return out


def _frame_cells(frame: Any, names: tuple[str, ...]) -> _Cells:
    """One cell per row of a runs frame (``prompt`` and ``status`` required; conditions are columns)."""
    from ...model.errors import InvalidArgumentError

    if not {"prompt", "status"} <= set(frame.columns):
        raise InvalidArgumentError(
            "a runs frame needs the columns 'prompt' and 'status'; pass result.to_dataframe() or the result"
        )
    n = len(frame)
    prompts = frame["prompt"].tolist()
    nothing = [None] * n
    out = _Cells(
        prompts,
        frame["prompt_id"].tolist() if "prompt_id" in frame else nothing,
        frame["status"].astype(object).tolist(),
        frame["match_rate"].tolist() if "match_rate" in frame else nothing,
        frame["latency_s"].tolist() if "latency_s" in frame else nothing,
    )
    if names:
        missing = [name for name in names if name not in frame.columns]
        if missing:
            raise InvalidArgumentError(
                f"the runs frame has no condition column {missing[0]!r}; pass result.to_dataframe()"
            )
        out.keys = list(zip(*(frame[name].tolist() for name in names), strict=True))
    return out


def _floats(values: list[Any] | None, n: int) -> np.ndarray:
    """Numbers as floats, None as NaN (numpy converts None itself, in C); all NaN when not read."""
    return np.full(n, np.nan) if values is None else np.array(values, dtype=float)


def _codes(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Each value's index among the distinct values (first-seen order), and those values."""
    distinct = list(dict.fromkeys(values))  # C-level passes: 100,000 values in a few milliseconds
    index = {value: code for code, value in enumerate(distinct)}
    return np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values)), distinct


def _cells_of(source: Any, names: tuple[str, ...], measures: bool = True) -> tuple[_Cells, float | None]:
    if hasattr(source, "columns") and hasattr(source, "iloc"):  # a runs DataFrame
        return _frame_cells(source, names), source.attrs.get("timeout")
    result = result_of(source)
    runs = getattr(result, "runs", None)
    if runs is None:
        from ...model.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"expected a BatchResult (or anything with .runs) or its runs frame, got {type(source).__name__}; "
            "pass the result of russo_nb.run(...)"
        )
    timeout = getattr(getattr(result, "metadata", None), "timeout", None)
    timeout = float(timeout) if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else None
    cells = _partial_cells(runs, names, measures) if isinstance(runs, PartialRuns) else None
    if cells is None:
        cells = _object_cells(runs if isinstance(runs, ColumnarRuns) else list(runs), names, measures)
    return cells, timeout


def group_runs(
    source: Any,
    *,
    by: str | Sequence[str] = (),
    confidence: float = CONFIDENCE,
    timeout: float | None = None,
    measures: bool = True,
) -> Grouped:
    """The runs of ``source`` grouped by prompt (and by the conditions ``by``), counted in one pass.

    ``source``: a batch result (prompt or scenario batch, suite result, loaded file) or a runs
    frame. ``timeout``: the per-run limit timed-out runs are censored at (default: the batch's).
    ``measures=False`` counts only (statuses, passes, intervals): match rates and latencies are
    not read, which halves the time for callers that need no more (comparisons, suite lines).
    """
    names = (by,) if isinstance(by, str) else tuple(by)
    cells, own_timeout = _cells_of(source, names, measures)
    timeout = own_timeout if timeout is None else timeout
    statuses = np.array(cells.statuses, dtype=object)
    statuses[statuses == None] = "failed"  # noqa: E711  (elementwise: a run without a status counts as failed)
    if names and cells.keys is None:
        conditions = cells.conditions or []
        cells.keys = [tuple(c.get(name) for name in names) for c in conditions]
    if names:
        keyed = [tuple(map(_key_value, key)) for key in cells.keys or []]
        codes, distinct = _codes(list(zip(cells.prompts, keyed, strict=True)))
    else:
        codes, distinct = _codes(cells.prompts)
    groups = len(distinct)
    weights = np.asarray(cells.counts, dtype=np.int64) if cells.counts is not None else None

    def per_group(mask: np.ndarray | None = None, values: np.ndarray | None = None) -> np.ndarray:
        w = weights if weights is not None else None
        if mask is not None:
            w = mask.astype(float) if w is None else w * mask
        if values is not None:
            w = values if w is None else w * values
        return np.bincount(codes, weights=w, minlength=groups)

    status_codes, status_names = _codes(statuses.tolist())
    pair = codes * max(len(status_names), 1) + status_codes
    distinct_pairs, first = np.unique(pair, return_index=True)
    pair_counts = np.bincount(pair, weights=weights, minlength=groups * max(len(status_names), 1))
    finished = statuses != CANCELLED
    match = _floats(cells.match, len(statuses))
    raw_latency = _floats(cells.latency, len(statuses))
    has_match = finished & ~np.isnan(match)
    has_latency = finished & ~np.isnan(raw_latency)
    latency, censored = censored_latency(raw_latency, statuses, timeout)
    totals = {
        "runs": per_group(),
        "finished": per_group(finished),
        "passed": per_group(statuses == "passed"),
        "match_n": per_group(has_match),
        "match_sum": per_group(has_match, np.where(has_match, match, 0.0)),
        "latency_n": per_group(has_latency),
        "latency_sum": per_group(has_latency, np.where(has_latency, raw_latency, 0.0)),
        "latency_censored": per_group(censored),
    }
    ids = cells.ids
    rows = []
    starts = np.unique(codes, return_index=True)[1]  # every code 0..groups-1 occurs: its first cell
    for group, key in enumerate(distinct):
        start = int(starts[group])
        prompt = key[0] if names else key
        row = PromptRow(str(prompt), prompt_id=None if ids is None else ids[start])
        if names:
            row.conditions = dict(zip(names, cells.keys[start], strict=True))  # type: ignore[index]
        rows.append(row)
    for name, values in totals.items():
        cast = float if name.endswith("_sum") else int
        for row, value in zip(rows, values.tolist(), strict=True):
            setattr(row, name, cast(value))
    for index in np.argsort(first, kind="stable").tolist():
        group, status = divmod(int(distinct_pairs[index]), max(len(status_names), 1))
        rows[group].statuses[status_names[status]] = int(pair_counts[distinct_pairs[index]])
    if any(row.prompt_id is None for row in rows):
        from ...model.types import prompt_id as make_id

        for row in rows:
            row.prompt_id = row.prompt_id or make_id(row.prompt)
    ran = [row for row in rows if row.finished]
    if ran:
        lows, highs = wilson_interval([row.passed for row in ran], [row.finished for row in ran], confidence)
        for row, low, high in zip(ran, np.atleast_1d(lows).tolist(), np.atleast_1d(highs).tolist(), strict=True):
            row.low, row.high = float(low), float(high)
    return Grouped(rows, codes, statuses, latency, weights, timeout)


def prompt_rows(
    result: Any, *, by: str | Sequence[str] = (), confidence: float = CONFIDENCE, measures: bool = True
) -> list[PromptRow]:
    """One row per prompt (or scenario) — and, with ``by``, per value of those conditions — in first-seen order.

    The one per-prompt aggregation (:func:`group_runs`): runs, finished, passed, statuses, mean
    match rate and latency, and the Wilson interval over finished runs. Cancelled runs are
    counted and never scored. ``by="voice"`` or ``by=["voice", "snr_db"]`` splits each prompt by
    run conditions (``row.conditions`` says which); a run without a condition groups under None.
    ``result`` may also be a runs frame (its condition columns give ``by``). ``measures=False``:
    counts only (``match`` and ``latency`` None), for callers that read no more.
    """
    return group_runs(result, by=by, confidence=confidence, measures=measures).rows


def mean_pass_k(result: Any, k: int, *, every: bool, noun: str = "scenario") -> float:
    """pass^k (``every``: k runs all pass) or pass@k (at least one of k passes) of each prompt (scenario) from its
    finished runs, averaged over them (1.0 with none). A cancelled run (an interrupted batch) is not a failure;
    a prompt with fewer than k finished runs is an error naming it."""
    from ...model.errors import InvalidArgumentError
    from .stats import pass_at_k, pass_hat_k

    if not isinstance(k, int) or k < 1:
        raise InvalidArgumentError(f"k must be a whole number >= 1, got {k!r}")
    estimator = pass_hat_k if every else pass_at_k
    values = []
    for row in prompt_rows(result, measures=False):
        n, c = row.finished, row.passed
        if k > n:
            cancelled = f" that finished ({row.cancelled} cancelled)" if row.cancelled else ""
            raise InvalidArgumentError(
                f"k={k} but {noun} {row.prompt!r} has only {n} runs{cancelled}; run it at least k times"
            )
        values.append(float(estimator(n, c, k)))
    return statistics.fmean(values) if values else 1.0
