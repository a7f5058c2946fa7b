"""Pass rates by condition: one row per level of a sweep's factors (voice, snr_db, condition, ...).

A sweep's runs carry their conditions as columns of the runs frame. Everything here groups
those runs by *prompt × factor levels* once (:func:`cell_counts`) and builds on the counts:

- :func:`by_factor`: pass rate per level with an interval clustered by prompt (the package's
  :func:`~russo_nb.results.analysis.stats.clustered_se`), finished runs only, flaky prompts;
- :func:`compare_levels`: each level against a reference level with the package's paired test
  (:func:`~russo_nb.results.analysis.paired.paired_comparison`), pairs being the cells that share every
  other factor (prompt, SNR, condition...);
- :func:`heatmap_frame`: pass rate of each prompt × level (what the heatmap draws).

Clean audio is ``snr_db`` NaN; it sorts after every number ("clean" is the best a voice gets).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...execution.sweep import SWEEP_FACTORS as FACTOR_NAMES
from ...model.errors import InvalidArgumentError
from ...model.thresholds import CONFIDENCE, confidence_label
from .stats import check_confidence, clustered_se, is_flaky

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CLEAN",
    "FACTOR_NAMES",
    "by_factor",
    "by_factor_text",
    "cell_counts",
    "compare_levels",
    "factor_runs",
    "heatmap_frame",
    "level_order",
    "level_text",
    "split_levels",
]


CLEAN = "clean"
"""How a NaN ``snr_db`` (no noise added) is written."""


def factor_runs(source: Any) -> pd.DataFrame:
    """The runs frame of ``source`` (a result, or a runs frame already) with ``passed`` / ``finished`` columns."""
    if hasattr(source, "columns"):
        frame = source
    elif hasattr(source, "runs"):
        from .frames import runs_frame

        frame = runs_frame(source)
    else:
        raise InvalidArgumentError(
            f"expected a sweep result (BatchResult) or its runs frame, got {type(source).__name__}"
        )
    missing = {"prompt", "status"} - set(frame.columns)
    if missing:
        raise InvalidArgumentError(f"a runs frame needs the columns {sorted(missing)}; pass result.to_dataframe()")
    return frame


def _factor_list(frame: pd.DataFrame, factors: str | Sequence[str]) -> list[str]:
    names = [factors] if isinstance(factors, str) else list(factors)
    if not names:
        raise InvalidArgumentError("give at least one factor, e.g. 'voice' or ['voice', 'snr_db']")
    for name in names:
        if name not in frame.columns:
            known = [column for column in FACTOR_NAMES if column in frame.columns]
            hint = f"; this result's factors are {known}" if known else "; this result has no sweep conditions"
            raise InvalidArgumentError(f"no factor {name!r} in the runs{hint}")
        if name == "prompt":
            raise InvalidArgumentError("'prompt' is the cluster of every interval, not a factor; pick another column")
    return names


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers ascending, then text, then NaN (clean audio) last."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if math.isnan(float(value)):
            return (2, 0.0)
        return (0, float(value))
    return (1, str(value))


def level_order(values: Any) -> list[Any]:
    """The distinct levels of a factor in display order: numbers ascending, text, then clean (NaN) last.

    Text levels keep the order they first appear in (the order a sweep was given).
    """
    seen: list[Any] = []
    has_nan = False
    for value in values:
        if isinstance(value, float) and math.isnan(value):
            has_nan = True
        elif value not in seen:
            seen.append(value)
    numbers = sorted(v for v in seen if _sort_key(v)[0] == 0)
    texts = [v for v in seen if _sort_key(v)[0] == 1]
    return numbers + texts + ([math.nan] if has_nan else [])


def level_text(factor: str, value: Any) -> str:
    """A level as people read it: ``clean`` for a NaN SNR, ``10 dB``, a voice's label."""
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return CLEAN
    if factor == "snr_db" and isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):g} dB"
    return str(value)


def cell_counts(source: Any, factors: str | Sequence[str]) -> pd.DataFrame:
    """Per prompt × factor levels: ``runs`` (all), ``finished``, ``passed``, ``errors``, ``cancelled``.

    The one grouping every sweep table and chart starts from: :func:`russo_nb.results.view.prompt_rows`
    split by the factors. Cancelled runs are counted, never scored; ``error`` / ``timeout`` runs
    finished and did not pass.
    """
    import pandas as pd

    from .rows import prompt_rows

    frame = factor_runs(source)
    names = _factor_list(frame, factors)
    rows = prompt_rows(frame, by=names)  # the one per-prompt aggregation, split by the factors
    columns: dict[str, Any] = {
        name: pd.Series([row.conditions[name] for row in rows], dtype=frame[name].dtype) for name in names
    }
    columns["prompt"] = pd.Series([row.prompt for row in rows], dtype=object)
    for name in ("runs", "finished", "passed", "errors", "cancelled"):
        columns[name] = np.array([getattr(row, name) for row in rows], dtype=np.int64)
    counts = pd.DataFrame(columns)
    return counts


def _levels_of(counts: pd.DataFrame, names: list[str]) -> list[tuple[Any, ...]]:
    """Level combinations in display order (each factor ordered by :func:`level_order`)."""
    orders = {name: level_order(counts[name].tolist()) for name in names}

    def rank(name: str, value: Any) -> int:
        for index, level in enumerate(orders[name]):
            if _same(level, value):
                return index
        return len(orders[name])

    combos = list(dict.fromkeys(_keyed(row) for row in counts[names].itertuples(index=False, name=None)))
    return sorted(combos, key=lambda combo: tuple(rank(name, value) for name, value in zip(names, _unkeyed(combo))))


_NAN = ("__nan__",)


def _keyed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of levels hashable with NaN equal to NaN."""
    return tuple(_NAN if isinstance(v, float) and math.isnan(v) else v for v in row)


def _unkeyed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(math.nan if v == _NAN else v for v in row)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _mask(counts: pd.DataFrame, names: list[str], combo: tuple[Any, ...]) -> Any:
    mask = np.ones(len(counts), dtype=bool)
    for name, value in zip(names, combo):
        column = counts[name]
        if isinstance(value, float) and math.isnan(value):
            mask &= column.isna().to_numpy()
        else:
            mask &= (column == value).to_numpy(dtype=bool)
    return mask


def by_factor(source: Any, factors: str | Sequence[str] = "voice", *, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Pass rate per level of ``factors`` (one name or several), with an interval clustered by prompt.

    One row per level (combination), in display order (numbers ascending, clean last). Columns:
    the factors; ``level`` (readable, ``"en-us · 10 dB"``); ``prompts``; ``runs`` (all);
    ``finished``; ``passed``; ``errors`` (error + timeout, counted as not passed); ``cancelled``
    (never scored); ``pass_rate`` = passed / finished runs (per run); ``low`` / ``high``: the
    clustered interval at ``confidence`` (runs of one prompt are not independent; Wilson on the
    effective runs with a t quantile, see :func:`~russo_nb.results.analysis.stats.clustered_se`);
    ``flaky`` prompts (runs that disagree) and ``flaky_prompts`` (their texts); ``small_sample``.
    The frame's ``attrs`` say the confidence and the factors.
    """
    import pandas as pd

    confidence = check_confidence(confidence)
    counts = cell_counts(source, factors)
    names = _factor_list(counts, factors)
    rows = []
    for combo in _levels_of(counts, names):
        values = _unkeyed(combo)
        cell = counts[_mask(counts, names, values)]
        finished = cell["finished"].to_numpy()
        passed = cell["passed"].to_numpy()
        ran = finished > 0
        if ran.any():
            rate = clustered_se(passed[ran], finished[ran], confidence)
            pass_rate, low, high, small = rate.rate, rate.low, rate.high, rate.small_sample
        else:
            pass_rate, low, high, small = math.nan, math.nan, math.nan, True
        flaky = is_flaky(passed, finished) if len(cell) else np.zeros(0, dtype=bool)
        row = dict(zip(names, values))
        row.update(
            level=" · ".join(level_text(name, value) for name, value in zip(names, values)),
            prompts=int(ran.sum()),
            runs=int(cell["runs"].sum()),
            finished=int(finished.sum()),
            passed=int(passed.sum()),
            errors=int(cell["errors"].sum()),
            cancelled=int(cell["cancelled"].sum()),
            pass_rate=pass_rate,
            low=low,
            high=high,
            flaky=int(np.sum(flaky)),
            flaky_prompts=[str(p) for p in cell["prompt"].to_numpy()[np.asarray(flaky, dtype=bool)]],
            small_sample=bool(small),
        )
        rows.append(row)
    columns = [
        *names,
        "level",
        "prompts",
        "runs",
        "finished",
        "passed",
        "errors",
        "cancelled",
        "pass_rate",
        "low",
        "high",
        "flaky",
        "flaky_prompts",
        "small_sample",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["confidence"] = confidence
    table.attrs["factors"] = names
    table.attrs["interval"] = f"{confidence_label(confidence)} interval clustered by prompt"
    return table


def heatmap_frame(
    source: Any, columns: str | Sequence[str] = ("snr_db", "condition"), *, where: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Pass rate of each prompt (rows) at each level of ``columns`` (NaN where no run finished).

    ``where`` keeps only runs at the given levels first (``{"voice": "en-gb-scotland"}``), which
    is how a heatmap is drawn per voice. Rows are ordered worst first; column labels are readable
    levels (``"clean · telephone"``). Factors given in ``columns`` that the runs do not have are skipped.
    """
    frame = factor_runs(source)
    if where:
        for name, value in where.items():
            if name not in frame.columns:
                raise InvalidArgumentError(f"no factor {name!r} in the runs to select {value!r} from")
            if isinstance(value, float) and math.isnan(value):
                frame = frame[frame[name].isna()]
            else:
                frame = frame[frame[name] == value]
        if not len(frame):
            raise InvalidArgumentError(f"no runs at {where}; check the level names (see by_factor)")
    wanted = [columns] if isinstance(columns, str) else list(columns)
    names = [name for name in wanted if name in frame.columns and frame[name].nunique(dropna=False) > 0]
    if not names:
        raise InvalidArgumentError(f"none of the factors {wanted} is in the runs")
    counts = cell_counts(frame, names)
    order = _levels_of(counts, names)
    labels = [" · ".join(level_text(n, v) for n, v in zip(names, _unkeyed(combo))) for combo in order]
    prompts = list(dict.fromkeys(counts["prompt"]))
    grid = np.full((len(prompts), len(order)), np.nan)
    index = {prompt: i for i, prompt in enumerate(prompts)}
    for j, combo in enumerate(order):
        cell = counts[_mask(counts, names, _unkeyed(combo))]
        for prompt, passed, finished in zip(cell["prompt"], cell["passed"], cell["finished"]):
            if finished:
                grid[index[prompt], j] = passed / finished
    import pandas as pd

    table = pd.DataFrame(grid, index=pd.Index(prompts, name="prompt"), columns=labels)
    ran = ~np.isnan(grid)
    counted = ran.sum(axis=1)
    # mean pass rate over the levels a prompt ran at, worst first; a prompt that never finished sorts last
    worst = np.where(counted > 0, np.where(ran, grid, 0.0).sum(axis=1) / np.maximum(counted, 1), 2.0)
    table = table.iloc[np.argsort(worst, kind="stable")]
    table.attrs["factors"] = names
    table.attrs["levels"] = [_unkeyed(combo) for combo in order]
    return table


def compare_levels(
    source: Any,
    factor: str = "voice",
    reference: Any = None,
    *,
    confidence: float = CONFIDENCE,
    method: str = "auto",
) -> pd.DataFrame:
    """Each level of ``factor`` against ``reference`` (default: the first level), paired.

    Pairs are the cells that share every other factor (prompt, SNR, condition, ...): level L and
    the reference are compared over the cells both ran, with the package's paired test
    (:func:`~russo_nb.results.analysis.paired.paired_comparison`: MOVER interval from clustered Wilson
    intervals, or mid-p McNemar with one run per cell), so a voice is judged on the same prompts
    at the same noise. One row per other level: ``level``, ``reference``, ``rate`` and
    ``reference_rate`` (mean over shared cells), ``difference`` (level − reference), ``low`` /
    ``high`` at ``confidence``, ``p_value``, ``significant``, ``pairs``, ``test``, ``warnings``.
    """
    import pandas as pd

    from .paired import paired_comparison

    frame = factor_runs(source)
    _factor_list(frame, factor)
    others = [name for name in frame.columns if name in _condition_columns(frame) and name != factor]
    counts = cell_counts(frame, [factor, *others])
    levels = level_order(counts[factor].tolist())
    if reference is None:
        reference = levels[0]
    if not any(_same(level, reference) for level in levels):
        shown = ", ".join(repr(level_text(factor, level)) for level in levels)
        raise InvalidArgumentError(f"{factor} has no level {reference!r}; its levels are {shown}")

    def cells(level: Any) -> dict[str, tuple[int, int]]:
        part = counts[_mask(counts, [factor], (level,))]
        out = {}
        for row in part.itertuples(index=False):
            key = " | ".join([str(row.prompt), *(level_text(name, getattr(row, name)) for name in others)])
            out[key] = (int(row.passed), int(row.finished))
        return out

    base = cells(reference)
    rows = []
    for level in levels:
        if _same(level, reference):
            continue
        result = paired_comparison(base, cells(level), confidence=confidence, method=method)  # type: ignore[arg-type]
        rows.append(
            {
                factor: level,
                "level": level_text(factor, level),
                "reference": level_text(factor, reference),
                "rate": result.rate_b,
                "reference_rate": result.rate_a,
                "difference": result.difference,
                "low": result.low,
                "high": result.high,
                "p_value": result.p_value,
                "significant": result.significant,
                "pairs": result.n_shared,
                "test": result.test,
                "warnings": list(result.warnings),
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["confidence"] = confidence
    table.attrs["paired_over"] = ["prompt", *others]
    return table


def _condition_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that are run conditions (the sweep's factors and any other)."""
    declared = frame.attrs.get("conditions")
    if declared:
        return [name for name in declared if name in frame.columns]
    return [name for name in FACTOR_NAMES if name in frame.columns]


def _matches(conditions: dict[str, Any], where: dict[str, Any]) -> bool:
    for name, value in where.items():
        have = conditions.get(name)
        if not (_same(have, value) if isinstance(have, float) else have == value):
            return False
    return True


def split_levels(result: Any, factor: str = "snr_db", *, where: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{level: BatchResult}``: the runs of a sweep at each level of ``factor``, in display order.

    ``where`` keeps only runs at the given levels of other factors first
    (``split_levels(sweep, "snr_db", where={"voice": "en-us"})`` is one voice's noise series).
    Each part is an ordinary batch (its clips, the sweep's metadata named after the level), for
    the tools that take one batch at a time (``paired_comparison``, ``plot_sweep``, the explorer).
    """
    from ...model.types import BatchResult

    runs = getattr(result, "runs", None)
    if runs is None:
        raise InvalidArgumentError(f"expected a sweep result (BatchResult), got {type(result).__name__}")
    chosen = [run for run in runs if _matches(run.conditions, where or {})]
    if not chosen:
        raise InvalidArgumentError(f"no runs at {where}; check the level names (see by_factor)")
    if not any(factor in run.conditions for run in chosen):
        raise InvalidArgumentError(
            f"the runs have no condition {factor!r}; a sweep's factors are voice, snr_db, condition"
        )
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for run in chosen:
        groups.setdefault(_keyed((run.conditions.get(factor),)), []).append(run)
    out: dict[str, Any] = {}
    for level in level_order([_unkeyed(key)[0] for key in groups]):
        part = groups[_keyed((level,))]
        keys = {run.audio_key for run in part if run.audio_key}
        metadata = result.metadata.model_copy(deep=True)
        label = level_text(factor, level)
        metadata.name = f"{metadata.name or 'sweep'} · {label}"
        audio = {key: clip for key, clip in result.audio.items() if key in keys}
        out[label] = BatchResult.model_construct(runs=part, audio=audio, metadata=metadata)
    return out


def by_factor_text(table: pd.DataFrame) -> str:
    """A :func:`by_factor` table as aligned plain text (the CLI prints it after a sweep)."""
    from ...model.plain_text import terminal_safe
    from ...model.thresholds import format_rate

    names = table.attrs.get("factors", [])
    title = " × ".join(names) or "level"
    rows = [
        (terminal_safe(row.level), f"{row.finished:,}", format_rate(row.pass_rate), row) for row in table.itertuples()
    ]
    width = max([len(title)] + [len(level) for level, *_ in rows])
    lines = [f"{title.ljust(width)}  {'runs':>6}  {'pass':>6}  {table.attrs.get('interval', 'interval')}"]
    for level, finished, rate, row in rows:
        interval = f"{format_rate(row.low)} – {format_rate(row.high)}"
        flaky = f"  {row.flaky} flaky" if row.flaky else ""
        cancelled = f"  {row.cancelled:,} cancelled" if row.cancelled else ""
        lines.append(f"{level.ljust(width)}  {finished:>6}  {rate:>6}  {interval}{flaky}{cancelled}")
    return "\n".join(lines)
