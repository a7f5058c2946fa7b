"""Charts for notebooks: call a russo plot function on a fresh Figure and get PNG bytes.

A :class:`matplotlib.figure.Figure` is used directly (not pyplot), so nothing leaks into
pyplot's global state, no figure is shown twice, and it works from any thread.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["THEME_INK", "figure_png", "figure_svg", "show_plot"]

from ...results.analysis.chart_theme import THEME_INK, figure_svg

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

    from ...results.view.kit import STYLE

    display(HTML(f"{STYLE}<div class='russo chart russo-chart'>{figure_svg(plot, data, **kwargs)}</div>"))
