"""A live widget with a static snapshot beside it, so every view has a form without a kernel.

JupyterLab renders a widget view whenever one is in the output bundle, even when its model
is gone (a reopened notebook shows "Error displaying widget: model not found"), and
nbconvert prints the widget's repr. So a view is shown as two outputs: the static HTML
snapshot, then the live widget. The snapshot's CSS hides it while the live view is
rendered right after it; reopened without a kernel, or converted, the snapshot is what
shows. The explorer, compare and history all display themselves this way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LIVE_CLASS", "STATIC_CLASS", "STATIC_HIDE_CSS", "display_with_snapshot"]

LIVE_CLASS = "russo-live"
"""The class every live view's root widget carries."""
STATIC_CLASS = "russo-static"
"""The class of a snapshot's root element."""
STATIC_HIDE_CSS = (
    f"<style>.jp-OutputArea-child:has(.{STATIC_CLASS}):has(+ .jp-OutputArea-child .{LIVE_CLASS})"
    "{display:none}</style>"
)
"""Hides the static snapshot in JupyterLab while the live view (the next output) is rendered."""


def display_with_snapshot(widget: Any, snapshot_html: str, plain: str) -> None:
    """Show ``snapshot_html`` (whose root has class ``russo-static``), then ``widget`` live.

    ``plain`` is the text/plain of both outputs (what a terminal or a text-only front end shows).
    """
    from IPython.display import display
    from ipywidgets import Widget

    widget.add_class(LIVE_CLASS)
    display({"text/html": STATIC_HIDE_CSS + snapshot_html, "text/plain": plain}, raw=True)
    bundle = dict(Widget._repr_mimebundle_(widget) or {})  # the widget view only, not a subclass's extras
    bundle.pop("text/html", None)
    bundle["text/plain"] = plain + " (interactive: needs a running kernel)"
    display(bundle, raw=True)
