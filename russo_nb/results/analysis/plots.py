"""Charts of a batch (matplotlib, imported on first call): each takes a result or a frame and ``ax=``.

Every function returns the Axes it drew on, so charts compose into the caller's figures.
With many prompts, charts keep at most ``max_prompts`` rows (the most interesting ones:
lowest pass rate, most flaky, slowest) and say in the title how many were left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...model.errors import InvalidArgumentError
from ...model.thresholds import MEAN_OVER_PROMPTS, PER_RUN, confidence_label
from .frames import light_runs_frame, prompts_frame
from .stats import censored_latency, clustered_se, pass_k_curves, wilson_interval

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [  # russo_nb.analysis re-exports all of these
    "STATUS_COLORS",
    "plot_comparison",
    "plot_flakiness",
    "plot_latency",
    "plot_match_rates",
    "plot_pass_at_k",
    "plot_pass_rates",
    "plot_sweep",
]

STATUS_COLORS = {"passed": "#2e9e5b", "failed": "#d9534f", "error": "#8e44ad", "missing": "#eeeeee"}
"""Colours used for run outcomes in every chart (errors include timeouts and cancels)."""


def _axes(ax: Axes | None, height: float = 4.0, width: float = 8.0) -> Axes:
    """``ax``, or a new figure's axes drawn to follow the notebook's theme (:mod:`.chart_theme`)."""
    if ax is not None:
        return ax
    from .chart_theme import new_themed_axes

    return new_themed_axes(width, height)


def chart_text(text: Any) -> str:
    """User- or agent-written text made literal for matplotlib: every ``$`` escaped.

    matplotlib reads text between two ``$`` as math: "Refund $5 or $10" lost its dollars and
    was set in italics, and an unbalanced formula ("$\\frac") raised while drawing, which
    dropped the whole chart. Every chart passes prompts, names and labels through here.
    """
    return str(text).replace("$", r"\$")


def _label(text: str, width: int = 40) -> str:
    """A prompt as an axis label: one line, shortened in the middle so variants stay distinct."""
    text = " ".join(str(text).split())
    if len(text) > width:
        head = width // 2
        text = f"{text[:head]}…{text[-(width - 1 - head) :]}"
    return chart_text(text)


def _is_runs_frame(obj: Any) -> bool:
    return hasattr(obj, "columns") and "run_index" in obj.columns and "status" in obj.columns


def _is_prompts_frame(obj: Any) -> bool:
    return hasattr(obj, "columns") and "pass_rate" in obj.columns and "runs" in obj.columns


def _prompts(source: Any) -> pd.DataFrame:
    if _is_prompts_frame(source):
        return source
    return prompts_frame(source)


def _runs(source: Any) -> pd.DataFrame:
    if _is_runs_frame(source):
        return source
    if hasattr(source, "columns"):
        raise InvalidArgumentError("this chart needs a runs frame (runs_frame(result)) or a BatchResult")
    return light_runs_frame(source)


def _count(n: int, noun: str) -> str:
    """``1 prompt``, ``3 scenarios``: a count with its noun, plural when needed."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def fig_height(rows: int) -> float:
    """Inches of figure height for ``rows`` labelled rows, so labels never overlap (0.22 in per row)."""
    return max(3.0, 0.22 * rows + 1.5)


def plot_pass_rates(
    source: Any,
    ax: Axes | None = None,
    *,
    threshold: float | None = 0.8,
    max_prompts: int = 50,
    noun: str = "prompt",
) -> Axes:
    """Pass rate per prompt (horizontal bars) with Wilson 95% interval whiskers and a threshold line.

    Bars below the threshold are red. With more than ``max_prompts`` prompts the lowest
    pass rates are shown.
    """
    frame = _prompts(source)
    shown = frame.sort_values(["pass_rate", "prompt"], ascending=[True, True]).head(max_prompts).iloc[::-1]
    ax = _axes(ax, fig_height(len(shown)))
    y = np.arange(len(shown))
    rate = shown["pass_rate"].to_numpy(dtype=float)
    low = shown["wilson_low"].to_numpy(dtype=float)
    high = shown["wilson_high"].to_numpy(dtype=float)
    below = rate < threshold if threshold is not None else np.zeros(len(rate), dtype=bool)
    colors = np.where(below, STATUS_COLORS["failed"], STATUS_COLORS["passed"])
    ax.barh(y, rate, color=colors, alpha=0.85, height=0.7)
    ax.errorbar(rate, y, xerr=[rate - low, high - rate], fmt="none", ecolor="#333333", capsize=2, lw=1)
    if threshold is not None:
        ax.axvline(threshold, color="#333333", ls="--", lw=1, label=f"threshold {threshold:.0%}")
        ax.legend(loc="lower right", fontsize=8)
    labels = [f"{_label(p)} (n={n})" for p, n in zip(shown["prompt"], shown["runs"])]
    ax.set_yticks(y, labels, fontsize=7 if len(shown) > 25 else 9)
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("pass rate of finished runs (bars: Wilson 95% interval)")
    title = f"Pass rate per {noun}"
    if len(frame) > len(shown):
        title += f"\nshowing {len(shown)} of {len(frame)} (lowest pass rate) — see prompts_frame()"
    ax.set_title(title)
    return ax


def plot_flakiness(
    source: Any,
    ax: Axes | None = None,
    *,
    max_prompts: int = 50,
    max_runs: int = 100,
    prompts: pd.DataFrame | None = None,
    noun: str = "prompt",
) -> Axes:
    """Heatmap prompt × run: passed / failed / error cells, each row labelled with its flakiness score.

    Rows are the most flaky prompts (unbiased estimate of 4·p·(1−p)); at most ``max_runs`` columns;
    cancelled runs are drawn as missing.
    ``prompts``: the prompts frame of the same batch, if already computed.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    frame = _runs(source)
    prompts = prompts if prompts is not None else prompts_frame(frame)
    shown = prompts.sort_values(["flakiness", "pass_rate"], ascending=[False, True]).head(max_prompts)
    order = {prompt: row for row, prompt in enumerate(shown["prompt"])}
    rows = frame["prompt"].map(order)
    keep = rows.notna().to_numpy() & (frame["run_index"].to_numpy() < max_runs)
    row_idx = rows.to_numpy()[keep].astype(np.int64)
    col_idx = frame["run_index"].to_numpy()[keep].astype(np.int64)
    status = np.asarray(frame["status"].astype(object))[keep]
    codes = np.where(
        status == "passed", 0, np.where(status == "failed", 1, np.where(status == "cancelled", 3, 2))
    )  # cancelled runs did not finish: drawn as missing, not as errors
    n_cols = int(col_idx.max()) + 1 if len(col_idx) else 1
    grid = np.full((len(shown), n_cols), 3, dtype=np.int64)
    grid[row_idx, col_idx] = codes
    ax = _axes(ax, fig_height(len(shown)), 10.0)
    cmap = ListedColormap([STATUS_COLORS[k] for k in ("passed", "failed", "error", "missing")])
    ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=3, interpolation="nearest")
    # the unbiased estimate of 4p(1−p) exceeds 1 at few runs (1.33 at 3 runs, 2 passed): shown clipped at 1
    scores = np.clip(shown["flakiness"].to_numpy(dtype=float), 0.0, 1.0)
    labels = [f"{_label(p, 36)}  [{s:.2f}]" for p, s in zip(shown["prompt"], scores)]
    ax.set_yticks(np.arange(len(shown)), labels, fontsize=7 if len(shown) > 25 else 9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # runs are whole: no 0.5 ticks at two or three runs
    ax.set_xlabel("run index")
    title = f"Runs per {noun} [flakiness 4p(1−p), unbiased, clipped at 1]"
    if len(prompts) > len(shown):
        title += f"\nshowing {len(shown)} of {len(prompts)} (most flaky) — see prompts_frame()"
    ax.set_title(title)
    handles = [Patch(color=STATUS_COLORS[k], label=k) for k in ("passed", "failed", "error")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return ax


def plot_latency(source: Any, ax: Axes | None = None, *, max_prompts: int = 50, noun: str = "prompt") -> Axes:
    """Agent latency distribution per prompt (box plots, slowest median at the top).

    Timed-out runs are drawn at the batch's timeout (censored: their real latency is longer);
    cancelled runs and finished runs without a latency are left out, and the title says how many.
    """
    import pandas as pd

    frame = _runs(source)
    status = np.asarray(frame["status"].astype(object))
    values, censored = censored_latency(frame["latency_s"].to_numpy(dtype=float), status, frame.attrs.get("timeout"))
    omitted = int(np.sum(np.isnan(values) & (status != "cancelled")))
    data = pd.DataFrame({"prompt": frame["prompt"].to_numpy(), "latency_s": values}).dropna()
    ax = _axes(ax, 4.0)
    if data.empty:
        ax.set_title(f"Latency per {noun} — no latencies recorded")
        return ax
    medians = data.groupby("prompt", sort=False)["latency_s"].median().sort_values()
    shown = medians.index[-max_prompts:]
    groups = data.groupby("prompt", sort=False)["latency_s"]
    values = [groups.get_group(p).to_numpy() for p in shown]
    if ax.figure.get_figheight() < fig_height(len(shown)) and ax.figure.axes == [ax]:
        ax.figure.set_figheight(fig_height(len(shown)))
    try:
        ax.boxplot(values, orientation="horizontal", showfliers=False, widths=0.6)
    except TypeError:  # matplotlib < 3.10
        ax.boxplot(values, vert=False, showfliers=False, widths=0.6)
    ax.set_yticks(np.arange(1, len(shown) + 1), [_label(p) for p in shown], fontsize=7 if len(shown) > 25 else 9)
    _latency_axis(ax, float(data["latency_s"].max()))
    title = f"Agent latency per {noun}"
    if censored.any():
        title += f" ({int(censored.sum())} timed out, drawn at the {frame.attrs['timeout']:g} s limit)"
    if omitted:
        title += f" ({omitted} runs without a latency left out)"
    if len(medians) > len(shown):
        title += f"\nshowing {len(shown)} of {len(medians)} (slowest) — see prompts_frame()"
    ax.set_title(title)
    return ax


def _latency_axis(ax: Axes, longest: float) -> None:
    """Readable latency ticks: at most 6, in milliseconds when every latency is under a second, no offset."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, min_n_ticks=3))
    if longest < 1.0:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value * 1000:.3g}"))
        ax.set_xlabel("latency (ms); boxes: quartiles, whiskers: 1.5 IQR")
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
        ax.set_xlabel("latency (s); boxes: quartiles, whiskers: 1.5 IQR")


def plot_match_rates(source: Any, ax: Axes | None = None, *, bins: int = 20) -> Axes:
    """Histogram of per-run match rates (share of expected calls matched), split by status."""
    frame = _runs(source)
    ax = _axes(ax)
    match = frame["match_rate"].to_numpy(dtype=float)
    status = np.asarray(frame["status"].astype(object))
    edges = np.linspace(0.0, 1.0, bins + 1)
    groups = [
        ("passed", status == "passed"),
        ("failed", status == "failed"),
        ("error", ~np.isin(status, ["passed", "failed"])),
    ]
    values = [match[mask & ~np.isnan(match)] for _, mask in groups]
    ax.hist(
        values,
        bins=edges,
        stacked=True,
        color=[STATUS_COLORS[name] for name, _ in groups],
        label=[name for name, _ in groups],
    )
    ax.set_xlabel("match rate (expected calls matched)")
    ax.set_ylabel("runs")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title(f"Match rate over {len(frame)} runs (mean {np.nanmean(match) if len(match) else float('nan'):.1%})")
    return ax


def plot_pass_at_k(source: Any, ax: Axes | None = None, *, max_k: int | None = None, noun: str = "prompt") -> Axes:
    """pass@k (at least one of k passes) and pass^k (all k pass), mean over one fixed set of prompts.

    Every k averages the same prompts: those with at least ``max_k`` finished runs (default: the
    fewest runs of any prompt, capped at 50, so every prompt counts). The legend gives that
    number of prompts and the title says how many prompts with fewer runs were left out.
    """
    frame = _prompts(source)
    runs = frame["runs"].to_numpy(dtype=float)
    passed = frame["passed"].to_numpy(dtype=float)
    ran = runs > 0
    fewest = int(runs[ran].min()) if ran.any() else 1
    top = max_k if max_k else min(fewest, 50)
    curves = pass_k_curves(runs, passed, k_max=top, ks=list(range(1, top + 1))) if ran.any() else None
    ks = np.arange(1, top + 1)
    at = np.array([curves.pass_at_k.get(int(k), np.nan) for k in ks]) if curves else np.full(len(ks), np.nan)
    hat = np.array([curves.pass_hat_k.get(int(k), np.nan) for k in ks]) if curves else np.full(len(ks), np.nan)
    used = curves.n_prompts if curves else 0
    left_out = curves.n_left_out if curves else 0
    ax = _axes(ax)
    counted = _count(used, noun)
    ax.plot(ks, at, marker="o", ms=3, color="#1f77b4", label=f"pass@k (at least one of k passes), {counted}")
    ax.plot(ks, hat, marker="s", ms=3, color="#d62728", label=f"pass^k (all k pass), {counted}")
    ax.set_xlabel("k (runs)")
    ax.set_ylabel(f"{MEAN_OVER_PROMPTS} (each with ≥ {top} runs)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0.5, top + 0.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if top == 1:
        ax.text(
            0.5,
            0.5,
            f"one run per {noun}: run more to see pass^k fall",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color="#555555",
        )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    title = f"pass@k and pass^k over {counted}"
    if left_out:
        title += f" ({left_out} with < {top} runs left out)"
    ax.set_title(title)
    return ax


def plot_comparison(
    a: Any,
    b: Any = None,
    ax: Axes | None = None,
    *,
    labels: tuple[str, str] = ("A", "B"),
    max_prompts: int = 50,
) -> Axes:
    """Paired per-prompt differences B − A with Newcombe 95% intervals, and the mean difference.

    ``a`` and ``b`` are two results (or prompts frames / mappings); or pass one
    :class:`~russo_nb.results.analysis.paired.Comparison` as ``a``. ``labels`` name the two batches.
    """
    name_a, name_b = (chart_text(label) for label in labels)
    from .paired import Comparison, paired_comparison

    comparison = a if isinstance(a, Comparison) else paired_comparison(a, b)
    diffs = sorted(comparison.per_prompt, key=lambda d: (d.difference, d.prompt))
    if len(diffs) > max_prompts:
        # keep the largest moves in both directions
        half = max_prompts // 2
        diffs = diffs[:half] + diffs[-(max_prompts - half) :]
    ax = _axes(ax, fig_height(len(diffs)))
    y = np.arange(len(diffs))
    d = np.array([x.difference for x in diffs])
    low = np.array([x.low for x in diffs])
    high = np.array([x.high for x in diffs])
    colors = np.where(high < 0, STATUS_COLORS["failed"], np.where(low > 0, STATUS_COLORS["passed"], "#7f7f7f"))
    ax.hlines(y, low, high, colors=colors, lw=2)
    ax.scatter(d, y, color=colors, zorder=3, s=18)
    ax.axvline(0, color="#333333", lw=1)
    ax.axvline(comparison.difference, color="#1f77b4", ls="--", lw=1, label="mean difference")
    if not np.isnan(comparison.low):
        level = confidence_label(comparison.confidence)
        ax.axvspan(comparison.low, comparison.high, color="#1f77b4", alpha=0.12, label=f"{level} interval of the mean")
    ax.set_yticks(y, [_label(x.prompt) for x in diffs], fontsize=7 if len(diffs) > 25 else 9)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel(
        f"pass rate {name_b} − {name_a} per prompt\n(Newcombe {confidence_label(comparison.confidence)} interval; "
        f"dashed: the {MEAN_OVER_PROMPTS})"
    )
    ax.legend(fontsize=8, loc="lower right")
    title = f"{name_b} − {name_a} = {comparison.difference:+.1%}, p = {comparison.p_value:.3g}"
    shown = f"{len(diffs)} of {comparison.n_shared}" if len(diffs) < comparison.n_shared else f"{comparison.n_shared}"
    ax.set_title(f"{title} ({shown} prompts)")
    return ax


def _sweep_points(batches: Any) -> list[tuple[Any, Any]]:
    if isinstance(batches, Mapping):
        return list(batches.items())
    if isinstance(batches, Sequence) and not isinstance(batches, str):
        return [tuple(item) for item in batches]  # type: ignore[misc]
    raise InvalidArgumentError("plot_sweep needs {value: result} or [(value, result), ...]")


def plot_sweep(
    batches: Any,
    ax: Axes | None = None,
    *,
    parameter: str = "SNR (dB)",
    interval: str = "clustered",
    label: str | None = None,
) -> Axes:
    """Pass rate against a parameter (one batch per value, e.g. noise SNR) with a 95% band.

    ``batches``: ``{value: result}``, ``[(value, result), ...]``, or a runs frame with a
    ``sweep`` column. ``interval``: ``"clustered"`` (by prompt, see clustered_se) or
    ``"wilson"`` (treats runs as independent). Non-numeric values (like ``"clean"``) are
    placed in the order given.
    """
    if hasattr(batches, "columns"):
        if "sweep" not in batches.columns:
            raise InvalidArgumentError("a sweep frame needs a 'sweep' column with the parameter value of each run")
        points = [(value, group) for value, group in batches.groupby("sweep", sort=False)]
    else:
        points = _sweep_points(batches)
    if not points:
        raise InvalidArgumentError("plot_sweep needs at least one (value, result) pair")
    xs, rates, lows, highs = [], [], [], []
    for value, result in points:
        frame = _prompts(result)
        if interval == "wilson":
            c, n = int(frame["passed"].sum()), int(frame["runs"].sum())
            lo, hi = wilson_interval(c, n)
            rate = c / n if n else np.nan
        elif interval == "clustered":
            cr = clustered_se(frame["passed"].to_numpy(), frame["runs"].to_numpy())
            rate, lo, hi = cr.rate, cr.low, cr.high
        else:
            raise InvalidArgumentError(f"interval must be 'clustered' or 'wilson', got {interval!r}")
        xs.append(value)
        rates.append(rate)
        lows.append(lo)
        highs.append(hi)
    numeric = all(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) for x in xs)
    positions = np.asarray(xs, dtype=float) if numeric else np.arange(len(xs), dtype=float)
    ax = _axes(ax)
    ax.fill_between(positions, lows, highs, alpha=0.2, color="#1f77b4", label=f"95% interval ({interval})")
    ax.plot(positions, rates, marker="o", color="#1f77b4", label=chart_text(label or "pass rate"))
    if not numeric:
        ax.set_xticks(positions, [chart_text(x) for x in xs])
    ax.set_xlabel(chart_text(parameter))
    ax.set_ylabel(f"pass rate ({PER_RUN})")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"Pass rate against {chart_text(parameter)}")
    return ax
