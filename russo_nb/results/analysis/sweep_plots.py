"""Charts of a sweep (matplotlib, imported on first call): robustness curves and the where-it-breaks heatmap.

Both take a sweep result (or its runs frame) and ``ax=``, and return the Axes they drew on.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ...model.errors import InvalidArgumentError
from ...model.thresholds import CONFIDENCE, PER_RUN, confidence_label
from .factors import by_factor, factor_runs, heatmap_frame, level_text
from .plots import _axes, chart_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_heatmap", "plot_robustness"]


def plot_robustness(
    source: Any,
    x: str = "snr_db",
    hue: str | None = "voice",
    ax: Axes | None = None,
    *,
    confidence: float = CONFIDENCE,
    at: float | None = None,
) -> Axes:
    """Pass rate against ``x`` (SNR in dB) per level of ``hue`` (voice), with clustered intervals.

    Noisier to the left; clean audio (x NaN) is drawn at the right, past a break in the axis,
    so every curve ends at the voice's clean pass rate. Intervals are clustered by prompt at
    ``confidence`` (see :func:`~russo_nb.analysis.by_factor`); ``at`` draws the target line a
    :func:`~russo_nb.analysis.robustness_threshold` reads off.
    """
    frame = factor_runs(source)
    if x not in frame.columns:
        raise InvalidArgumentError(f"no column {x!r} in the runs; a sweep over noise has 'snr_db'")
    if hue is not None and hue not in frame.columns:
        raise InvalidArgumentError(f"no column {hue!r} in the runs to colour the curves by")
    table = by_factor(frame, [hue, x] if hue else [x], confidence=confidence)
    values = [float(v) if _is_number(v) else math.nan for v in table[x]]
    finite = sorted({v for v in values if not math.isnan(v)})
    has_clean = any(math.isnan(v) for v in values)
    span = (finite[-1] - finite[0]) if len(finite) > 1 else 10.0
    clean_at = (finite[-1] if finite else 0.0) + max(span * 0.25, 5.0)
    ax = _axes(ax)
    groups = list(dict.fromkeys(table[hue])) if hue else [None]
    for index, group in enumerate(groups):
        part = table if hue is None else table[table[hue] == group]
        xs = np.array([clean_at if math.isnan(v) else v for v in (float(u) for u in _numbers(part[x]))])
        order = np.argsort(xs)
        xs = xs[order]
        rates = part["pass_rate"].to_numpy(dtype=float)[order]
        lows = part["low"].to_numpy(dtype=float)[order]
        highs = part["high"].to_numpy(dtype=float)[order]
        colour = f"C{index % 10}"
        label = "all runs" if group is None else chart_text(level_text(hue or "", group))
        ax.plot(xs, rates, marker="o", color=colour, label=label)
        ax.fill_between(xs, lows, highs, color=colour, alpha=0.15)
    ticks = list(finite) + ([clean_at] if has_clean else [])
    ax.set_xticks(ticks, [f"{v:g}" for v in finite] + (["clean"] if has_clean else []))
    if has_clean and finite:
        ax.axvline((finite[-1] + clean_at) / 2, color="#999999", linestyle=":", linewidth=1)
    if at is not None:
        ax.axhline(at, color="#555555", linestyle="--", linewidth=1, label=f"target {at:.0%}")
    ax.set_xlabel("SNR (dB) — noisier to the left" if x == "snr_db" else chart_text(x))
    ax.set_ylabel(f"pass rate ({PER_RUN})")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title=chart_text(hue) if hue else None)
    ax.set_title(f"Pass rate against {chart_text(x)} ({confidence_label(confidence)} intervals clustered by prompt)")
    return ax


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _numbers(values: Any) -> list[float]:
    return [float(v) if _is_number(v) else math.nan for v in values]


def plot_heatmap(
    source: Any,
    columns: str | list[str] = ["snr_db", "condition"],  # noqa: B006 - read only
    ax: Axes | None = None,
    *,
    where: dict[str, Any] | None = None,
    max_prompts: int = 40,
) -> Axes:
    """Pass rate of each prompt (rows, worst first) at each level of ``columns``: where it breaks.

    ``where`` selects one voice first (``where={"voice": "en-gb-scotland"}``); cells with no
    finished run are grey. At most ``max_prompts`` rows (the worst), the title says how many more.
    """
    table = heatmap_frame(source, columns, where=where)
    shown = table.iloc[:max_prompts]
    ax = _axes(ax, height=max(2.5, 0.28 * len(shown) + 1.5), width=max(6.0, 1.1 * len(table.columns) + 4))
    grid = np.ma.masked_invalid(shown.to_numpy(dtype=float))
    import matplotlib

    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#dddddd")
    image = ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(shown.columns)), [chart_text(c) for c in shown.columns], rotation=30, ha="right")
    ax.set_yticks(range(len(shown)), [chart_text(_short(p)) for p in shown.index])
    for (i, j), value in np.ndenumerate(shown.to_numpy(dtype=float)):
        if not math.isnan(value):
            ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7)
    ax.figure.colorbar(image, ax=ax, label="pass rate")
    title = "Pass rate by prompt"
    if where:
        title += " — " + ", ".join(f"{chart_text(k)} {chart_text(level_text(k, v))}" for k, v in where.items())
    if len(table) > len(shown):
        title += f" ({len(table) - len(shown)} more prompts not shown)"
    ax.set_title(title)
    return ax


def _short(text: str, width: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 12] + "…" + text[-11:]
