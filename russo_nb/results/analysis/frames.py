"""Tidy DataFrames of a batch: one row per run, per expected call, or per prompt.

Columns are built from plain lists in one pass over the runs and aggregated with
vectorized numpy / pandas group operations, so 100,000 runs take well under a second.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from ...model.columns import RunColumn, field, table_codes, table_columns
from ...model.conditions import condition_names
from ...model.errors import InvalidArgumentError
from ...model.lazy_runs import collections_paused
from ...model.run_fields import column, frame_columns
from ...model.thresholds import SMALL_SAMPLE_RUNS
from ...model.types import BatchResult, ColumnarRuns, format_call
from .stats import (
    flakiness_score,
    k_values,
    pass_at_k,
    pass_hat_k,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PROMPT_COLUMNS",
    "RUN_COLUMNS",
    "TextFix",
    "batch_attrs",
    "batch_kind",
    "calls_frame",
    "condition_column",
    "coded_condition_columns",
    "condition_columns",
    "light_runs_frame",
    "parts_frame",
    "prompts_frame",
    "run_table",
    "run_table_parts",
    "runs_frame",
    "typed_column",
]

RUN_COLUMNS = [spec.name for spec in frame_columns("prompts")]
"""The runs frame's columns for a prompt batch, in order (declared once in
:func:`russo_nb.model.run_fields.run_table`)."""

PROMPT_COLUMNS = [
    "prompt",
    "prompt_id",
    "runs",
    "passed",
    "failed",
    "errors",
    "cancelled",
    "pass_rate",
    "wilson_low",
    "wilson_high",
    "flaky",
    "mixed",
    "flakiness",
    "match_rate",
    "latency_p50",
    "latency_p95",
    "latency_censored",
    "small_sample",
]


def _runs_of(result: Any) -> list[Any]:
    runs = getattr(result, "runs", None)
    if runs is None:
        raise InvalidArgumentError(
            f"expected a BatchResult (or anything with .runs), got {type(result).__name__}; "
            "pass the result of russo_nb.run(...)"
        )
    return runs


def _matched(matches: list[Any]) -> int:
    count = 0
    for match in matches:
        if match.matched:
            count += 1
    return count


def batch_kind(result: Any) -> str:
    """``scenarios`` for a scenario batch (its runs are ScenarioResults), else ``prompts``."""
    if isinstance(result, BatchResult):
        return "prompts"
    meta = getattr(result, "metadata", None)
    return "scenarios" if getattr(meta, "kind", None) == "scenarios" else "prompts"


def typed_column(spec: RunColumn, values: list[Any]) -> Any:
    """A column's cells as the dtype its declaration names (pandas / numpy arrays)."""
    import pandas as pd

    dtype = spec.dtype
    if dtype == "category":
        return pd.Categorical(values, categories=list(spec.categories or ()))
    if dtype == "int":
        return np.array(values, dtype=np.int64)
    if dtype == "Int64":
        return pd.array(values, dtype="Int64")
    if dtype == "float":
        return np.array(values, dtype=float)  # None is NaN
    if dtype == "bool":
        return np.array(values, dtype=bool)
    if dtype == "datetime":
        stamps = np.array(values, dtype=float)  # None is NaN (NaT)
        return pd.to_datetime(stamps, unit="s", utc=True)
    return pd.Series(values, dtype="object")


def condition_column(values: list[Any]) -> Any:
    """One condition's cells typed by what they hold: bool, Int64 (whole numbers), float (NaN when
    missing), else text (object; None where a run lacks the condition)."""
    import pandas as pd

    present = [value for value in values if value is not None]
    kinds = {type(value) for value in present}
    if kinds == {bool}:
        return np.array(values, dtype=bool) if len(present) == len(values) else pd.array(values, dtype="boolean")
    if kinds == {int}:
        return pd.array(values, dtype="Int64")
    if kinds and kinds <= {int, float}:
        return np.array([np.nan if value is None else value for value in values], dtype=float)
    return pd.Series(values, dtype="object")


def condition_columns(
    runs: Any, text: Callable[[str], str] | None = None, coded: tuple[Any, list[Any]] | None = None
) -> dict[str, Any]:
    """One typed column per condition the runs carry (first-seen order), named as the condition.

    ``text``, when given, turns each distinct text value into what a file holds (see :func:`run_table`);
    ``coded``: the runs' conditions as :func:`russo_nb.columns.table_codes` gave them, when already read.
    """
    return {name: _take(typed, codes) for name, (codes, typed) in _condition_parts(runs, text, coded).items()}


def coded_condition_columns(
    codes: np.ndarray, dicts: list[Any], text: Callable[[str], str] | None = None
) -> dict[str, Any]:
    """:func:`condition_columns` of runs whose conditions are ``dicts[codes[i]]`` (a loaded table's JSON column)."""
    return {name: _take(typed, part) for name, (part, typed) in _coded_condition_parts(codes, dicts, text).items()}


def _condition_parts(
    runs: Any, text: Callable[[str], str] | None, coded: tuple[Any, list[Any]] | None = None
) -> dict[str, tuple[np.ndarray, Any]]:
    """Each condition's column as ``(codes, typed distinct cells)``: typed once per distinct conditions dict."""
    if coded is None:
        spec = RunColumn("conditions", field("conditions"), "json", "")
        coded = table_codes(runs, [spec])["conditions"]
    codes, dicts = coded
    if codes is None:
        codes, dicts = _distinct(dicts)
    return _coded_condition_parts(codes, dicts, text)


def _coded_condition_parts(
    codes: np.ndarray, dicts: list[Any], text: Callable[[str], str] | None
) -> dict[str, tuple[np.ndarray, Any]]:
    import pandas as pd

    out = {}
    for name in condition_names(dicts):
        values = [None if c is None else c.get(name) for c in dicts]
        typed = condition_column(values)
        if isinstance(typed, pd.Series):
            typed = _text_column(values, text)
        out[name] = (codes, typed)
    return out


def _timeout_of(result: Any) -> float | None:
    """The batch's per-run timeout (seconds) from its metadata, or None when there was none."""
    return batch_attrs(getattr(result, "metadata", None))["timeout"]


def batch_attrs(metadata: Any) -> dict[str, Any]:
    """What a runs frame's ``attrs`` say of its batch (``metadata``): ``batch_id``, and ``timeout`` (the per-run
    timeout in seconds, None when there was none)."""
    timeout = getattr(metadata, "timeout", None)
    number = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    return {"batch_id": getattr(metadata, "batch_id", None), "timeout": float(timeout) if number else None}


def _meta(result: Any) -> tuple[str | None, str | None]:
    meta = getattr(result, "metadata", None)
    return getattr(meta, "batch_id", None), getattr(meta, "agent", None)


def run_table(result: Any, *, files: bool = False, text: Callable[[str], str] | None = None) -> pd.DataFrame:
    """The run table of ``result`` as :func:`russo_nb.model.run_fields.run_table` declares it.

    ``files`` adds the export-only columns (error stage and traceback, agent text, the
    evaluation as JSON) that CSV / Parquet files carry so they load back exactly. ``text``
    (the file writers' safety fix) is applied to each distinct text cell, and the text columns
    come as pandas text columns, as a file holds them. Each column is typed once per distinct
    cell and spread over the rows with array operations (:func:`run_table_parts`).
    """
    frame = parts_frame(run_table_parts(result, files, text))
    frame.attrs.update(batch_attrs(getattr(result, "metadata", None)))
    return frame


def parts_frame(parts: dict[str, tuple[np.ndarray | None, Any]]) -> pd.DataFrame:
    """The frame of :func:`run_table_parts`' columns: each spread over the rows (``typed[codes]``)."""
    import pandas as pd

    return pd.DataFrame({name: _take(typed, codes) for name, (codes, typed) in parts.items()})


def run_table_parts(
    result: Any, files: bool = False, text: Callable[[str], str] | None = None
) -> dict[str, tuple[np.ndarray | None, Any]]:
    """The columns of :func:`run_table`, each as ``(codes, typed)``: row ``i`` holds ``typed[codes[i]]``
    (``codes`` None: ``typed`` is the whole column).

    Runs share objects (prompts, evaluations, errors, conditions), so most columns are typed once
    per distinct cell; a frame spreads them over the rows, a CSV writer formats each distinct cell
    once (:func:`russo_nb.results.report.csv_text.csv_pieces`).
    """
    runs = _runs_of(result)
    kind = batch_kind(result)
    specs = frame_columns(kind, files=files)
    conditions = RunColumn("\0conditions", column("conditions").get, "json", "")  # the dicts, read with the rest
    scores = RunColumn("\0scores", field("scores"), "json", "")  # a scenario table's score_<name> columns
    extra = [conditions, scores] if any(spec.name == "score" for spec in specs) else [conditions]
    # the cells of 10,000 runs are made at once: a full collection meanwhile (or right after, when they count as new
    # long-lived objects) would walk every object of the batch (a 10,000-run scenario batch: 350,000, 0.2 s) only to
    # find the cells alive; on leaving they join the oldest generation as they are
    with collections_paused(kept=True):
        cells = table_codes(runs, [*specs, *extra], getattr(result, "metadata", None))
        parts: dict[str, tuple[np.ndarray | None, Any]] = {}
        for spec in specs:
            codes, values = cells[spec.name]
            if spec.dtype in ("str", "json") and codes is not None:
                parts[spec.name] = (codes, _text_column(values, text))
            elif codes is None:
                parts[spec.name] = (None, typed_column(spec, values))
            else:
                parts[spec.name] = (codes, typed_column(spec, values))
            if spec.name == "score":
                parts.update(_score_columns(cells[scores.name]))
        parts.update(_condition_parts(runs, text, cells[conditions.name]))
    return parts


def _score_columns(coded: tuple[Any, list[Any]]) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
    """``score_<name>`` per scorer of scenario runs (first-seen order) as ``(codes, typed)``, NaN where a run has
    no such score; ``coded``: the runs' ``scores`` dicts as :func:`russo_nb.model.columns.table_codes` gives them."""
    codes, scores = coded
    if codes is None:
        codes, scores = _distinct(scores)
    names = list(dict.fromkeys(chain.from_iterable(scores)))  # every scorer, in first-seen order
    out = {}
    for name in names:
        typed = np.array([each.get(name, np.nan) for each in scores], dtype=float)
        out[f"score_{name}"] = (codes, typed)
    return out


def _distinct(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    return np.arange(len(values), dtype=np.int64), values


def _take(typed: Any, codes: np.ndarray | None) -> Any:
    """A column typed once per distinct cell, spread over the rows (``typed[codes]``; None: as it is)."""
    if codes is None:
        return typed
    if isinstance(typed, np.ndarray):
        return typed[codes]
    if hasattr(typed, "iloc"):  # a Series: its values, not its index labels
        return type(typed)(typed.to_numpy()[codes], dtype=typed.dtype)
    return typed.take(codes)


@dataclass(frozen=True)
class TextFix:
    """How a file writer makes a text cell safe to write: ``cell(text)`` for one cell, and ``changes(array)`` where
    an Arrow text array holds cells that ``cell`` may change (a bool array, computed in C): the other cells are
    written as they are, so a 10,000-cell column is not fixed one cell at a time."""

    cell: Callable[[str], str]
    changes: Callable[[Any], np.ndarray]

    def __call__(self, text: str) -> str:
        return self.cell(text)


_TEXT_OR_NONE = frozenset({str, type(None)})


def _fixed_in_arrow(values: list[Any], text: TextFix) -> Any:
    """``values`` (texts and None) with ``text`` applied, as an Arrow text array; None when they are not all text
    or not all UTF-8 (a lone surrogate: then each cell is fixed in Python)."""
    import pyarrow as pa

    if not set(map(type, values)) <= _TEXT_OR_NONE:  # Arrow would take bytes as text: only texts and None here
        return None
    try:
        texts = pa.array(values, type=pa.large_string())
    except (pa.ArrowException, UnicodeEncodeError, TypeError):
        return None
    if texts.null_count == len(texts):
        return None
    changed = np.flatnonzero(text.changes(texts))
    if not len(changed):
        return texts
    fixed = list(values)
    for index in changed.tolist():
        fixed[index] = text(fixed[index])
    return pa.array(fixed, type=pa.large_string())


def _text_column(values: list[Any], text: Callable[[str], str] | None) -> Any:
    """A text column of distinct cells: object (the runs frame), or with ``text`` a pandas text column."""
    import pandas as pd

    if isinstance(text, TextFix):
        arrow = _fixed_in_arrow(values, text)
        if arrow is not None:  # what pandas infers for text with gaps, built in C
            return pd.array(arrow, dtype=pd.StringDtype(na_value=np.nan))
    table = np.empty(len(values), dtype=object)
    if text is None:
        for index, value in enumerate(values):  # one by one: a list value stays one cell
            table[index] = value
        return pd.Series(table, dtype="object")
    fixed = [text(value) if isinstance(value, str) else value for value in values]
    kinds = {type(value) for value in fixed}
    if kinds <= {str, type(None)} and str in kinds:  # what pandas infers for text with gaps, built in C
        import pyarrow as pa

        return pd.array(pa.array(fixed, type=pa.large_string()), dtype=pd.StringDtype(na_value=np.nan))
    for index, value in enumerate(fixed):
        table[index] = value
    return table


def runs_frame(result: Any) -> pd.DataFrame:
    """One row per run of ``result`` (a BatchResult or a ScenarioBatch): the run table.

    Columns (declared once, with dtypes, in :func:`russo_nb.model.run_fields.run_table`):
      batch_id, agent: from the batch metadata (same on every row).
      prompt, prompt_id: the prompt text and its stable 10-hex id (scenario name for scenarios).
      run_index: 0-based repetition of the prompt.
      status: passed / failed / error / timeout / cancelled. passed: bool (status == 'passed').
      match_rate: matched / expected calls (1.0 when nothing expected); n_expected, n_actual, n_matched.
      expected, actual: the calls as readable text, ``book_flight(to_city='LA'); cancel()``.
      details: the evaluator's explanation of misses ('' when all matched).
      error, error_type: the captured exception ('' when none).
      latency_s: agent seconds; synth_s: synthesis seconds (NaN when unknown); attempts.
      effects: the audio effects applied, joined with ', ' ('' when none; a JSON list when a name holds ', ');
      audio_key; seed.
      started_at: when the run started (UTC timestamp, NaT when unknown).
      then one column per condition the runs carry (``voice``, ``snr_db``, ``agent_version`` ...).
    A scenario batch adds scenario, success, score, score_<name> per scorer, turns, n_turns,
    tool_calls (count), tools, criteria_passed / criteria_failed, failed_criteria,
    total_time, agent_time, reasoning, tags and thread_id — the same table as its
    ``to_dataframe()``.
    """
    return run_table(result)


def calls_frame(result: Any) -> pd.DataFrame:
    """One row per expected call of every run.

    Columns: batch_id, prompt, prompt_id, run_index, status, position (0-based index of the
    expected call in the run), expected (text), expected_name, expected_args (JSON), actual
    (the matched or closest actual call as text, '' when none), actual_name, matched (bool),
    details (why it did not match; '' when matched).
    """
    import pandas as pd

    runs = _runs_of(result)
    batch_id, _ = _meta(result)
    rows: dict[str, list[Any]] = {
        key: []
        for key in (
            "prompt",
            "prompt_id",
            "run_index",
            "status",
            "position",
            "expected",
            "expected_name",
            "expected_args",
            "actual",
            "actual_name",
            "matched",
            "details",
        )
    }
    text_cache: dict[int, str] = {}
    args_cache: dict[int, str] = {}

    def call_text(call: Any) -> str:
        key = id(call)
        text = text_cache.get(key)
        if text is None:
            text = text_cache[key] = format_call(call.name, call.arguments)
        return text

    for run in runs:
        ev = run.eval_result
        if ev is None:
            continue
        matches = ev.matches
        by_position = list(matches) if len(matches) == len(ev.expected) else None
        for position, want in enumerate(ev.expected):
            match = by_position[position] if by_position is not None else None
            got = match.actual if match is not None else None
            rows["prompt"].append(run.prompt)
            rows["prompt_id"].append(run.prompt_id)
            rows["run_index"].append(run.run_index)
            rows["status"].append(run.status)
            rows["position"].append(position)
            rows["expected"].append(call_text(want))
            rows["expected_name"].append(want.name)
            args = args_cache.get(id(want))
            if args is None:
                args = args_cache[id(want)] = json.dumps(want.arguments, sort_keys=True, default=repr)
            rows["expected_args"].append(args)
            rows["actual"].append(call_text(got) if got is not None else "")
            rows["actual_name"].append(got.name if got is not None else "")
            rows["matched"].append(bool(match.matched) if match is not None else False)
            rows["details"].append(match.details if match is not None else "no evaluation of this call")
    frame = pd.DataFrame(rows)
    frame.insert(0, "batch_id", batch_id)
    frame["run_index"] = frame["run_index"].astype(np.int64)
    frame["position"] = frame["position"].astype(np.int64)
    frame["matched"] = frame["matched"].astype(bool)
    return frame


def _light_columns(
    result: Any, with_index: bool = False
) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """prompt, prompt_id, status, latency, match rate (and run_index) — the least the prompts frame needs."""
    runs = _runs_of(result)
    if isinstance(runs, ColumnarRuns):  # a loaded batch: from its columns, no run built
        cells = table_columns(runs, [column(name) for name in _LIGHT])
        match_cells = np.array([np.nan if value is None else value for value in cells["match_rate"]], dtype=float)
        return (
            cells["prompt"],
            cells["prompt_id"],
            np.array(cells["status"], dtype=object),
            np.array([np.nan if value is None else value for value in cells["latency_s"]], dtype=float),
            match_cells,
            cells["run_index"] if with_index else [],
        )
    prompts, pids, statuses, latency, match, index = [], [], [], [], [], []
    for run in runs:
        prompts.append(run.prompt)
        pids.append(run.prompt_id)
        statuses.append(run.status)
        latency.append(run.latency_s)
        if with_index:
            index.append(run.run_index)
        ev = run.eval_result
        if ev is not None:
            ne = len(ev.expected)
            match.append(_matched(ev.matches) / ne if ne else 1.0)
        else:
            match.append(np.nan)
    if any(p is None for p in pids):
        from ...model.types import prompt_id as make_id

        pids = [p if p is not None else make_id(str(t)) for p, t in zip(pids, prompts)]
    status_arr = np.array(statuses, dtype=object)
    return prompts, pids, status_arr, np.array(latency, dtype=float), np.array(match, dtype=float), index


_LIGHT = ("prompt", "prompt_id", "status", "latency_s", "match_rate", "run_index")
"""The run-table columns the prompts frame and the light runs frame read."""


def light_runs_frame(result: Any) -> pd.DataFrame:
    """The runs frame's prompt, prompt_id, run_index, status, passed, match_rate and latency_s only.

    What the charts need, built in a fraction of the time of :func:`runs_frame`.
    """
    import pandas as pd

    prompts, pids, status, latency, match, index = _light_columns(result, with_index=True)
    frame = pd.DataFrame(
        {
            "prompt": prompts,
            "prompt_id": pids,
            "run_index": np.array(index, dtype=np.int64),
            "status": status,
            "passed": status == "passed",
            "match_rate": match,
            "latency_s": latency,
        }
    )
    frame.attrs["timeout"] = _timeout_of(result)
    return frame


def _group_quantile(codes: np.ndarray, values: np.ndarray, groups: int, q: float) -> np.ndarray:
    """Per-group linear-interpolated quantile (numpy's default), vectorized via one lexsort; NaN ignored."""
    ok = ~np.isnan(values)
    codes, values = codes[ok], values[ok]
    out = np.full(groups, np.nan)
    if len(values) == 0:
        return out
    order = np.lexsort((values, codes))
    codes, values = codes[order], values[order]
    counts = np.bincount(codes, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    pos = starts[has] + q * (counts[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, starts[has] + counts[has] - 1)
    frac = pos - lo
    out[has] = values[lo] + (values[hi] - values[lo]) * frac
    return out


def prompts_frame(
    result: Any, ks: Iterable[int] | None = None, *, timeout: float | None = None, by: str | Sequence[str] = ()
) -> pd.DataFrame:
    """One row per prompt (in first-seen order) with honest per-prompt statistics.

    ``result`` is a BatchResult (or anything with ``.runs``) or a runs frame. The rows are
    :func:`russo_nb.results.view.prompt_rows` (the one per-prompt aggregation) as a table. Only finished
    runs count: cancelled runs (an interrupted batch) are counted in ``cancelled`` and nowhere
    else; a prompt whose runs were all cancelled has ``runs == 0`` and NaN rates ("not run").
    ``by`` (a condition name or several: ``"voice"``, ``["voice", "snr_db"]``) splits each
    prompt into one row per value of those conditions, shown as columns after ``prompt_id``.

    Columns:
      prompt, prompt_id; runs (finished runs: the denominator); passed; failed (finished, did not
      pass, errors included); errors (error or timeout); cancelled (not finished, not counted);
      pass_rate (passed / runs, NaN when 0 runs); wilson_low / wilson_high (95% Wilson interval);
      flaky (its Wilson interval lies inside 5–95%, FLAKY_MARGIN: it reliably both passes and fails);
      mixed (both passed and failed at least once, the raw count); flakiness (unbiased
      4·c·(n−c)/(n·(n−1)): 0 = runs agree, 1 = coin flip; NaN below 2 runs);
      match_rate (mean over finished, evaluated runs); latency_p50 / latency_p95 (seconds over
      finished runs, timed-out runs censored at the batch's timeout, or when it is not known at the
      slowest run that finished in time, so a lower bound when latency_censored > 0;
      errors without a latency are left out; NaN when none known); latency_censored (timed-out
      runs counted at the timeout); small_sample (fewer than SMALL_SAMPLE_RUNS = 10 finished runs);
      pass@k / pass^k for each k in ``ks`` (default 1, 2, 3, 5, 10, 20, 50, ... up to the
      largest run count; NaN for a prompt with fewer than k runs).
    ``timeout``: the per-run limit in seconds (default: the batch's metadata, or a runs frame's
    ``attrs["timeout"]``).
    """
    import pandas as pd

    from .rows import group_runs

    if isinstance(result, pd.DataFrame):
        if not {"prompt", "status"} <= set(result.columns):
            raise InvalidArgumentError(
                "prompts_frame needs a runs frame (columns 'prompt' and 'status'); "
                "pass runs_frame(result) or the result"
            )
    else:
        _runs_of(result)
    grouped = group_runs(result, by=by, timeout=timeout)
    rows = grouped.rows
    groups = len(rows)
    runs = np.array([row.finished for row in rows], dtype=np.int64)
    passed = np.array([row.passed for row in rows], dtype=np.int64)
    names = (by,) if isinstance(by, str) else tuple(by)
    columns: dict[str, Any] = {
        "prompt": [row.prompt for row in rows],
        "prompt_id": [row.prompt_id for row in rows],
    }
    for name in names:
        columns[name] = condition_column([row.conditions.get(name) for row in rows])
    columns.update(
        {
            "runs": runs,
            "passed": passed,
            "failed": runs - passed,
            "errors": np.array([row.errors for row in rows], dtype=np.int64),
            "cancelled": np.array([row.cancelled for row in rows], dtype=np.int64),
            "pass_rate": np.array([np.nan if row.rate is None else row.rate for row in rows], dtype=float),
            "wilson_low": np.array([0.0 if row.low is None else row.low for row in rows], dtype=float),
            "wilson_high": np.array([1.0 if row.high is None else row.high for row in rows], dtype=float),
            "flaky": np.array([row.flaky for row in rows], dtype=bool),
            "mixed": np.array([row.mixed for row in rows], dtype=bool),
            "flakiness": np.atleast_1d(flakiness_score(passed, runs)) if groups else np.array([], dtype=float),
            "match_rate": np.array([np.nan if row.match is None else row.match for row in rows], dtype=float),
            "latency_p50": _group_quantile(grouped.codes, grouped.latency, groups, 0.5),
            "latency_p95": _group_quantile(grouped.codes, grouped.latency, groups, 0.95),
            "latency_censored": np.array([row.latency_censored for row in rows], dtype=np.int64),
            "small_sample": runs < SMALL_SAMPLE_RUNS,
        }
    )
    frame = pd.DataFrame(columns)
    ks = list(ks) if ks is not None else k_values(int(runs.max()) if groups else 0)
    for k in ks:
        frame[f"pass@{k}"] = pass_at_k(runs, passed, k) if groups else []
    for k in ks:
        frame[f"pass^{k}"] = pass_hat_k(runs, passed, k) if groups else []
    frame.attrs["ks"] = ks
    frame.attrs["timeout"] = grouped.timeout
    return frame
