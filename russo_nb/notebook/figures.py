"""Charts for notebooks: call a russo plot function on a fresh Figure and get PNG bytes.

A :class:`matplotlib.figure.Figure` is used directly (not pyplot), so nothing leaks into
pyplot's global state, no figure is shown twice, and it works from any thread.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["THEME_INK", "figure_png", "figure_svg", "show_plot", "show_trend"]

logger = logging.getLogger("russo_nb")


def figure_png(plot: Callable[..., Any], data: Any, *, size: tuple[float, float] = (6.4, 3.4), **kwargs: Any) -> bytes:
    """Draw ``plot(data, ax=ax, **kwargs)`` on a new figure and return it as PNG bytes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=90, layout="constrained")
    ax = figure.subplots()
    plot(data, ax=ax, **kwargs)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def show_plot(plot: Callable[..., Any], data: Any, **kwargs: Any) -> None:
    """Display a russo plot inline as a PNG image."""
    from IPython.display import Image, display

    display(Image(data=figure_png(plot, data, **kwargs)))


def show_trend(store: Any) -> None:
    """Display the history store's pass-rate trend over recorded batches (dated, points named)."""
    frame = store.trend()
    if frame is None or len(frame) < 2:
        return
    from IPython.display import Image, display

    from .history_view import trend_png

    display(Image(data=trend_png(frame)))


def _fit_margins(figure: Any, ax: Any) -> None:
    """Leave room for the y labels, the title lines and the legend, from their text lengths.

    Estimating from characters (about 0.55 em each) is much faster than a layout engine,
    which measures every label twice; labels are already cut to a known width.
    """
    width, height = figure.get_size_inches()
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    size = max([tick.get_fontsize() for tick in ax.get_yticklabels()] + [7.0])
    longest = max((len(text) for text in labels), default=4)
    left = min(0.6, (longest * 0.55 * size / 72 + 0.5) / width)
    title = ax.get_title()
    title_lines = title.count("\n") + 1 + len(title) * 0.55 * 10 / 72 // max(width * 0.8, 1) if title else 0
    top = 1 - min(0.4, (0.2 + title_lines * 0.2) / height)
    xlabel_lines = ax.get_xlabel().count("\n") + 1 if ax.get_xlabel() else 0
    bottom = min(0.45, (0.35 + xlabel_lines * 0.18) / height)
    right = 0.97
    legend = ax.get_legend()
    if legend is not None and getattr(legend, "_bbox_to_anchor", None) is not None:
        texts = [text.get_text() for text in legend.get_texts()]
        right = 1 - min(0.3, (max((len(t) for t in texts), default=6) * 0.5 * 8 / 72 + 0.6) / width)
    figure.subplots_adjust(left=left, right=right, top=top, bottom=bottom)


FOLLOW_THEME = ("#333333", "#555555")
"""Greys the plot functions draw lines and notes in: they follow the theme's text colour too."""

THEME_INK = "#010203"
"""The colour charts are drawn in for text, axes and ticks; replaced by ``currentColor`` in the SVG."""


def figure_svg(plot: Callable[..., Any], data: Any, *, size: tuple[float, float] = (6.4, 3.4), **kwargs: Any) -> str:
    """Draw ``plot(data, ax=ax, **kwargs)`` as inline SVG that follows the page's theme.

    The background is transparent and every text, spine and tick is drawn in
    ``currentColor``, so the chart reads in light and dark themes alike. Text stays text
    (``svg.fonttype='none'``); the layout engine keeps titles and labels inside the figure.
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    ink = THEME_INK
    style = {
        "svg.fonttype": "none",
        "svg.hashsalt": "russo_nb",
        "text.color": ink,
        "axes.labelcolor": ink,
        "axes.edgecolor": ink,
        "xtick.color": ink,
        "ytick.color": ink,
        "axes.titlecolor": ink,
        "legend.labelcolor": ink,
        "legend.facecolor": "none",
        "legend.edgecolor": ink,
        "figure.facecolor": "none",
        "axes.facecolor": "none",
        "savefig.transparent": True,
        "font.size": 9,
        "boxplot.boxprops.color": ink,
        "boxplot.whiskerprops.color": ink,
        "boxplot.capprops.color": ink,
        "boxplot.medianprops.color": "#e07b00",
        "grid.color": "#808080",
    }
    with mpl.rc_context(style):
        figure = Figure(figsize=size, dpi=72)
        ax = figure.subplots()
        plot(data, ax=ax, **kwargs)
        _fit_margins(figure, ax)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg")
    svg = buffer.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: inline in HTML
    for color in (ink, ink.upper(), *FOLLOW_THEME):
        svg = svg.replace(color, "currentColor")
    return svg.replace("<svg ", "<svg class='russo-svg' style='max-width:100%;height:auto' ", 1)
