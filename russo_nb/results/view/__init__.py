"""One view of a batch, rendered everywhere: text, notebook HTML, the explorer and the report.

:func:`build_view` computes the numbers once (finished runs as the denominator,
cancelled runs as a count); :func:`summary_text` and :func:`russo_nb.results.view.html.batch_html`
render them. :func:`mimebundle` is what results return from ``_repr_mimebundle_``.
"""

from __future__ import annotations

from typing import Any

from . import model
from .model import *  # noqa: F403 - the view model, as model.__all__ declares it
from .text import failure_lines, headline_lines, summary_text

__all__ = ["mimebundle", "summary_text"]
__all__ += model.__all__  # the view model, as model declares it


def mimebundle(result: Any) -> dict[str, str]:
    """``text/plain`` (the summary's first lines) and ``text/html`` (the rich view) of a result, from one view."""
    from .html import batch_html

    view = model.build_view(result)
    # the headline only: the full summary has a line per run (and would build every run of a loaded batch)
    more = [f"  … {view.prompt_count} {view.noun}s; see .summary()"] if view.rows else []
    plain = "\n".join(headline_lines(view) + failure_lines(view.groups, limit=3) + more)
    return {"text/plain": plain, "text/html": batch_html(view)}
