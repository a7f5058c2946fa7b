"""Charts that follow the page's theme: drawn in a marker ink on a transparent background, shown as
SVG whose marker ink becomes ``currentColor``, so the same chart reads in light and dark themes.

:func:`theme_rc` is the matplotlib style; :func:`themed_svg` turns a figure drawn with it into
inline SVG. Figures the plot functions open themselves (``plot_flakiness(result)`` in a
notebook cell) are drawn this way too and, in IPython, displayed as that SVG
(:func:`show_themed_figures`) instead of a white PNG block in a dark theme.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

__all__ = ["FOLLOW_THEME", "THEME_INK", "figure_svg", "show_themed_figures", "theme_rc", "themed_svg"]

THEME_INK = "#010203"
"""The colour charts are drawn in for text, axes and ticks; replaced by ``currentColor`` in the SVG."""

FOLLOW_THEME = ("#333333", "#555555")
"""Greys the plot functions draw lines and notes in: they follow the theme's text colour too."""

_MARK = "_russo_themed"


def theme_rc() -> dict[str, Any]:
    """matplotlib settings: text, spines and ticks in :data:`THEME_INK`, transparent backgrounds, text kept text."""
    ink = THEME_INK
    return {
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


def themed_svg(figure: Any, *, black_is_ink: bool = False) -> str:
    """``figure`` (drawn under :func:`theme_rc`) as inline SVG in ``currentColor``, no XML prolog.

    ``black_is_ink``: the figure was drawn with matplotlib's default colours (a pyplot figure
    a plot function opened): its black text, spines and ticks follow the theme too, and
    legend frames lose their white fill.
    """
    import matplotlib as mpl

    if black_is_ink:
        for ax in figure.axes:
            legend = ax.get_legend()
            if legend is not None:
                legend.get_frame().set_facecolor("none")

    buffer = io.BytesIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "russo_nb"}):
        figure.savefig(buffer, format="svg", transparent=True)
    svg = buffer.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg") :]
    inks = (THEME_INK, THEME_INK.upper(), *FOLLOW_THEME, *(("#000000", "black") if black_is_ink else ()))
    for color in inks:
        svg = svg.replace(f"fill: {color}", "fill: currentColor").replace(f"stroke: {color}", "stroke: currentColor")
        svg = svg.replace(color, "currentColor") if color.startswith("#0102") or color in FOLLOW_THEME else svg
    svg = svg.replace("<svg ", "<svg class='russo-svg' style='max-width:100%;height:auto' ", 1)
    if black_is_ink:  # text drawn in the default black carries no fill of its own: give it the theme's
        head_end = svg.index(">") + 1
        svg = svg[:head_end].replace("class='russo-svg'", "class='russo-svg russo-ink'") + (
            "<style>.russo-ink text{fill:currentColor}</style>" + svg[head_end:]
        )
    return svg


def new_themed_axes(width: float, height: float) -> Any:
    """A new pyplot figure's axes, drawn in the theme ink and marked, so a notebook shows it as themed SVG."""
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(width, height), layout="constrained")
    setattr(figure, _MARK, True)
    show_themed_figures()
    return ax


def _figure_html(figure: Any) -> str | None:
    if not getattr(figure, _MARK, False):
        return None  # someone else's figure: IPython shows it as it always does
    return f"<div class='russo-chart' style='max-width:900px'>{themed_svg(figure, black_is_ink=True)}</div>"


def show_themed_figures() -> None:
    """In IPython, show marked figures as themed SVG (text/html); other figures are left as they are."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type_by_name("matplotlib.figure", "Figure", _figure_html)


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


def figure_svg(plot: Callable[..., Any], data: Any, *, size: tuple[float, float] = (6.4, 3.4), **kwargs: Any) -> str:
    """Draw ``plot(data, ax=ax, **kwargs)`` as inline SVG that follows the page's theme.

    The background is transparent and every text, spine and tick is drawn in
    ``currentColor`` (:mod:`russo_nb.results.analysis.chart_theme`), so the chart reads in light and
    dark themes alike. Text stays text; the margins keep titles and labels inside the figure.
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(theme_rc()):
        figure = Figure(figsize=size, dpi=72)
        ax = figure.subplots()
        plot(data, ax=ax, **kwargs)
        _fit_margins(figure, ax)
        return themed_svg(figure)
