"""Views of results registered by the layers that draw them, so data classes import no view code.

``BatchResult._repr_html_`` or ``ScenarioBatch.to_dataframe`` call :func:`render` with a
view name; :mod:`russo_nb.analysis` and :mod:`russo_nb.notebook` own the functions, and
``russo_nb/__init__`` registers them (lazily: nothing heavy is imported until a view is
asked for). Dependencies then point one way: types → (nothing above), analysis/notebook → types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register_view", "render"]

_views: dict[str, Callable[..., Any]] = {}


def register_view(name: str, func: Callable[..., Any]) -> None:
    """Make ``func(result, **options)`` the view called ``name`` (``"html"``, ``"runs_frame"``, ...)."""
    _views[name] = func


def render(name: str, result: Any, **options: Any) -> Any:
    """The view ``name`` of ``result``; a LookupError names the view nobody registered."""
    try:
        func = _views[name]
    except KeyError:
        raise LookupError(f"no {name!r} view is registered (import russo_nb registers them)") from None
    return func(result, **options)
