"""Views and measures of results registered by the rooms that make them, so lower rooms import no code above them.

``BatchResult._repr_html_``, ``ScenarioBatch.to_dataframe`` / ``pass_hat_k`` or the engine's
:class:`~russo_nb.execution.precision.Precision` call :func:`render` with a view name;
:mod:`russo_nb.results` and :mod:`russo_nb.surfaces.notebook` own the functions, and
``russo_nb/__init__`` registers them (lazily: nothing heavy is imported until a view is
asked for). Dependencies then point one way: model, execution, scenario → (nothing above);
results, surfaces → them (``tests/test_foundation_layering.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Rendered", "register_view", "render"]

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


class Rendered:
    """How a batch shows itself (prompt and scenario batches alike): every form comes from one registered view.

    ``summary()`` / ``str()`` are the ``summary_text`` view; a notebook gets the ``mimebundle`` view
    (plain text and rich HTML, see :mod:`russo_nb.results.view`).
    """

    def summary(self) -> str:
        """A readable report: the pass rate (finished runs counted), then each prompt's or scenario's runs."""
        return render("summary_text", self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Plain text and rich HTML from one view of the batch (see :mod:`russo_nb.results.view`)."""
        return render("mimebundle", self)

    def _repr_html_(self) -> str:
        """Rich HTML for notebooks (pass rates, per-prompt table, failures); see russo_nb.results.view."""
        return self._repr_mimebundle_()["text/html"]
