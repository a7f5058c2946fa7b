"""Charts: each returns the Axes it drew on, with the artists the data calls for."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from analysis_helpers import batch_from_outcomes, synthetic_batch
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from russo_nb.analysis import (
    STATUS_COLORS,
    paired_comparison,
    plot_comparison,
    plot_flakiness,
    plot_latency,
    plot_match_rates,
    plot_pass_at_k,
    plot_pass_rates,
    plot_sweep,
    prompts_frame,
    runs_frame,
)
from russo_nb.errors import InvalidArgumentError


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def small():
    return batch_from_outcomes(
        {
            "always": [True, True, True, True],
            "flaky": [True, False, True, False],
            "broken": [False, False, "error", False],
        }
    )


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() >= 0 and p.get_height() > 0]


def test_plot_pass_rates(small):
    _fig, ax = plt.subplots()
    out = plot_pass_rates(small, ax=ax, threshold=0.75)
    assert out is ax
    bars = ax.containers[0]
    widths = sorted(bar.get_width() for bar in bars)
    assert widths == pytest.approx([0.0, 0.5, 1.0])
    assert any(list(line.get_xdata()) == [0.75, 0.75] for line in ax.lines)  # the threshold
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # y = 0 is the bottom of the chart: the lowest pass rate is drawn at the top
    assert labels[0].startswith("always") and labels[-1].startswith("broken")
    red = matplotlib.colors.to_rgba(STATUS_COLORS["failed"], 0.85)
    assert [bar.get_facecolor() == pytest.approx(red) for bar in bars] == [False, True, True]


def test_long_prompt_labels_are_cut_in_the_middle_so_variants_stay_distinct():
    from russo_nb.analysis.plots import _label

    a = _label("Please book me a flight from Berlin to Rome on Monday morning", 30)
    b = _label("Please book me a flight from Berlin to Rome on Friday evening", 30)
    assert len(a) == 30 and "…" in a and a != b and a.endswith("Monday morning"[-8:])


def test_plot_pass_rates_colours_and_many_prompts():
    batch = synthetic_batch(n_prompts=60, runs=5, seed=2)
    ax = plot_pass_rates(batch, threshold=0.9)
    bars = list(ax.containers[0])
    assert len(bars) == 50
    assert "showing 50 of 60 (lowest pass rate) — see prompts_frame()" in ax.get_title()
    red = matplotlib.colors.to_rgba(STATUS_COLORS["failed"], 0.85)
    for bar in bars:
        assert (bar.get_facecolor() == pytest.approx(red)) == (bar.get_width() < 0.9)
    # works on a prompts frame too
    assert len(plot_pass_rates(prompts_frame(batch), max_prompts=10).containers[0]) == 10


def test_plot_flakiness_heatmap(small):
    ax = plot_flakiness(small)
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 1
    grid = images[0].get_array()
    assert grid.shape == (3, 4)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # most flaky first: 4·2·2/(4·3) = 1.33 unbiased, shown clipped at 1 (a share of 4p(1−p) cannot exceed it)
    assert labels[0].startswith("flaky") and labels[0].endswith("[1.00]")
    broken = labels.index(next(label for label in labels if label.startswith("broken")))
    assert list(grid[broken]) == [1, 1, 2, 1]  # failed, failed, error, failed
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["passed", "failed", "error"]


def test_plot_latency(small):
    ax = plot_latency(runs_frame(small))
    # one box per prompt with latencies (the error run has none)
    assert len(ax.get_yticklabels()) == 3
    assert "latency" in ax.get_xlabel()
    empty = batch_from_outcomes({"x": ["error", "timeout"]})
    assert "no latencies" in plot_latency(empty).get_title()


def test_plot_match_rates(small):
    ax = plot_match_rates(small, bins=10)
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == pytest.approx(12)  # stacked bars cover every run once
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["passed", "failed", "error"]


def test_plot_pass_at_k(small):
    ax = plot_pass_at_k(small)
    at, hat = ax.lines[:2]
    assert list(at.get_xdata()) == [1, 2, 3, 4]
    assert at.get_ydata()[0] == pytest.approx(hat.get_ydata()[0]) == pytest.approx(small.pass_rate)
    assert np.all(np.diff(at.get_ydata()) >= 0) and np.all(np.diff(hat.get_ydata()) <= 0)


def test_plot_comparison():
    a = batch_from_outcomes({"x": [True, True, False], "y": [True] * 3, "z": [False] * 3})
    b = batch_from_outcomes({"x": [False, False, False], "y": [True] * 3, "z": [True] * 3})
    ax = plot_comparison(a, b, labels=("v1", "v2"))
    points = ax.collections[[isinstance(c, LineCollection) for c in ax.collections].index(True) + 1]
    assert len(points.get_offsets()) == 3
    assert "v2 − v1" in ax.get_title()
    comparison = paired_comparison(a, b)
    ax2 = plot_comparison(comparison)
    assert f"{comparison.difference:+.1%}" in ax2.get_title()


def test_plot_sweep_with_band():
    sweep = {
        "clean": batch_from_outcomes({"a": [True] * 4, "b": [True, True, True, False]}),
        "10 dB": batch_from_outcomes({"a": [True, False, True, True], "b": [False, True, False, False]}),
    }
    ax = plot_sweep(sweep, parameter="noise")
    line = ax.lines[0]
    assert list(line.get_ydata()) == pytest.approx([7 / 8, 4 / 8])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["clean", "10 dB"]
    assert any(isinstance(c, PolyCollection) for c in ax.collections)
    numeric = plot_sweep([(20, sweep["clean"]), (5, sweep["10 dB"])], interval="wilson")
    assert list(numeric.lines[0].get_xdata()) == [20.0, 5.0]
    with pytest.raises(InvalidArgumentError, match="interval"):
        plot_sweep(sweep, interval="bogus")
    with pytest.raises(InvalidArgumentError):
        plot_sweep(42)


def test_plot_on_given_axes_and_errors(small):
    _fig, axes = plt.subplots(1, 2)
    assert plot_match_rates(small, ax=axes[1]) is axes[1]
    with pytest.raises(InvalidArgumentError, match="runs frame"):
        plot_flakiness(prompts_frame(small))


def test_pass_at_k_with_one_run_per_prompt_says_why_the_curve_is_a_point():
    import russo_nb as russo
    from russo_nb.analysis import plot_pass_at_k

    call = russo.ToolCall(name="a")
    runs = [
        russo.SingleRunResult(
            prompt=f"p{i}", run_index=0, eval_result=russo.EvalResult(passed=i % 2 == 0, expected=[call], actual=[])
        )
        for i in range(4)
    ]
    ax = plot_pass_at_k(russo.BatchResult(runs=runs))
    assert ax.get_xlim() == (0.5, 1.5)
    assert any("one run per prompt" in text.get_text() for text in ax.texts)


def _label_boxes(ax):
    figure = ax.figure
    figure.draw_without_rendering()  # runs the layout and places the text, without rasterizing
    renderer = figure.canvas.get_renderer()
    labels = [label for label in ax.get_yticklabels() if label.get_text()]
    return labels, [label.get_window_extent(renderer) for label in labels], figure.bbox


@pytest.mark.parametrize("chart", ["pass_rates", "flakiness", "latency", "comparison"])
def test_per_prompt_charts_stay_readable_with_50_prompts(chart):
    """Every prompt gets a label; labels neither overlap nor fall off the figure; text stays >= 7 pt."""
    batch = synthetic_batch(n_prompts=50, runs=6, seed=3)
    draw = {
        "pass_rates": lambda: plot_pass_rates(batch),
        "flakiness": lambda: plot_flakiness(batch),
        "latency": lambda: plot_latency(batch),
        "comparison": lambda: plot_comparison(batch, synthetic_batch(n_prompts=50, runs=6, seed=4)),
    }[chart]
    labels, boxes, page = _label_boxes(draw())
    assert len(labels) == 50
    assert min(label.get_fontsize() for label in labels) >= 7
    ordered = sorted(boxes, key=lambda box: box.y0)
    assert all(below.y1 <= above.y0 + 0.5 for below, above in itertools.pairwise(ordered))  # no overlap
    assert all(box.x0 >= page.x0 - 0.5 and box.y0 >= page.y0 - 0.5 and box.y1 <= page.y1 + 0.5 for box in boxes)
    assert all(len(label.get_text()) <= 50 for label in labels)  # long prompts are shortened, not wrapped over


def test_a_chart_a_plot_function_opens_follows_the_notebook_theme_and_others_are_left_alone():
    """In IPython the flakiness chart shows as SVG in currentColor (no white block in a dark theme), with whole
    run-index ticks at three runs and the unbiased 4p(1−p) clipped at 1; a user's own figure keeps its PNG."""
    import re

    import matplotlib.pyplot as plt
    from notebook_helpers import ipython_shell, make_batch

    from russo_nb.analysis import plot_flakiness

    shell = ipython_shell()
    html_formatter = shell.display_formatter.formatters["text/html"]
    enabled = html_formatter.enabled
    html_formatter.enabled = True
    try:
        ax = plot_flakiness(make_batch(runs=3))
        html = html_formatter(ax.figure)
        own, _ = plt.subplots()
        assert html_formatter(own) is None  # not ours: shown as IPython always shows it
    finally:
        html_formatter.enabled = enabled
        plt.close("all")
    assert "russo-ink" in html and "currentColor" in html and "#000000" not in html
    ticks = [text for text in re.findall(r"<text[^>]*>([^<]*)<", html) if text.strip().isdigit()]
    assert ticks == ["0", "1", "2"]  # whole runs, no 0.5
    assert "[1.00]" in html and "[1.33]" not in html and "clipped at 1" in html
