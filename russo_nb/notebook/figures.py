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

from ..analysis.chart_theme import THEME_INK, theme_rc, themed_svg

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
    """Display a russo plot inline as SVG in the notebook's text colour (readable in light and dark themes)."""
    from IPython.display import HTML, display

    from ..view.kit import STYLE

    display(HTML(f"{STYLE}<div class='russo chart russo-chart'>{figure_svg(plot, data, **kwargs)}</div>"))


def show_trend(store: Any) -> None:
    """Display the history store's pass-rate trend over recorded batches (dated, points named)."""
    frame = store.trend()
    if frame is None or len(frame) < 2:
        return
    from IPython.display import HTML, display

    from ..view.kit import STYLE
    from .history_view import trend_svg

    display(HTML(f"{STYLE}<div class='russo chart russo-trend'>{trend_svg(frame)}</div>"))


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
    ``currentColor`` (:mod:`russo_nb.analysis.chart_theme`), so the chart reads in light and
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
