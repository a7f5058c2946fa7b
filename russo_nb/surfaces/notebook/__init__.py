"""The notebook layer: ``%russo`` magics, live progress, rich HTML results and the explorer widget.

Imported lazily (by ``%load_ext russo_nb``, ``BatchResult._repr_html_`` or
``russo_nb.explore``); ipywidgets and matplotlib load only when a widget or chart is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["batch_html", "explore", "load_ipython_extension"]


def explore(result: Any, **options: Any) -> Any:
    """The explorer widget for a result (tabs: Overview, Prompts, Runs, Failures, Transcripts, Export)."""
    from .explorer import explore as _explore

    return _explore(result, **options)


def batch_html(result: Any, **options: Any) -> str:
    """The rich HTML a result shows as a cell's value."""
    from .html import batch_html as _batch_html

    return _batch_html(result, **options)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%russo`` / ``%%russo``."""
    from .magics import load_ipython_extension as _load

    _load(ipython)
