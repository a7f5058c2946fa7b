"""Live progress for a batch: an ipywidgets bar in a kernel, throttled plain text elsewhere.

The display is an ``on_progress`` callback. The engine calls it from the batch's
worker thread after every finished run; updates are throttled (at most ~10 per
second for the widget, one per second for text) so a fast batch does not flood the
frontend. The widget is shown with a ``text/plain`` fallback that is refreshed at the
end, so frontends without a widget manager still show where the batch ended.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Literal, TextIO

__all__ = ["ProgressDisplay", "format_progress", "in_kernel"]

Mode = Literal["auto", "widget", "text", "none"]


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where widgets can be displayed)."""
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_progress(progress: Any, label: str = "", state: str = "") -> str:
    """One line: ``label 12/40 runs · 10 passed · 2 failed · 1 errors · 3s elapsed · ~9s left``."""
    parts = [f"{progress.done}/{progress.total} runs", f"{progress.passed} passed", f"{progress.failed} failed"]
    errors = getattr(progress, "errors", 0)
    if errors:
        parts.append(f"{errors} errors")
    cancelled = getattr(progress, "cancelled", 0)
    if cancelled:
        parts.append(f"{cancelled} cancelled")
    parts.append(f"{_clock(progress.elapsed_s)} elapsed")
    eta = progress.eta_s
    if state:
        parts.append(state)
    elif eta is not None and progress.done < progress.total:
        parts.append(f"~{_clock(eta)} left")
    text = " · ".join(parts)
    return f"{label} {text}" if label else text


class ProgressDisplay:
    """Shows a batch's progress; call it with a Progress, then :meth:`finish`.

    ``mode="auto"`` picks the widget inside a kernel (unless ``RUSSO_PROGRESS=text``)
    and plain text on ``stream`` anywhere else; ``"none"`` shows nothing. ``link``: where the
    runs can be watched besides (a Dask cluster's dashboard), shown next to the bar.
    """

    def __init__(
        self,
        total: int,
        label: str = "russo",
        *,
        mode: Mode = "auto",
        stream: TextIO | None = None,
        widget_interval_s: float = 0.1,
        text_interval_s: float = 1.0,
        link: str | None = None,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream
        self.link = link
        if mode == "auto":
            forced = os.environ.get("RUSSO_PROGRESS", "").lower()
            if forced in ("text", "none", "widget"):
                mode = forced  # type: ignore[assignment]
            else:
                mode = "widget" if in_kernel() else "text"
        self.mode: Mode = mode
        self.interval_s = widget_interval_s if mode == "widget" else text_interval_s
        self.updates = 0
        self._last = float("-inf") if mode == "widget" else time.monotonic()
        self._lock = threading.Lock()
        self._handle: Any = None
        self.bar: Any = None
        self.text: Any = None
        self.box: Any = None
        if mode == "widget":
            self._build_widget()

    # -- widget ------------------------------------------------------------------
    def _build_widget(self) -> None:
        import ipywidgets as widgets

        # "initial" sizes the description to its text; the default (a fixed ~80px label
        # column) cut "russo scenario" to "russo sce…".
        self.bar = widgets.IntProgress(
            value=0,
            min=0,
            max=max(1, self.total),
            description=self.label,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="40%", min_width="16em"),
        )
        self.bar.add_class("russo-progress")
        self.text = widgets.HTML(value=f"0/{self.total} runs · starting")
        parts = [self.bar, self.text]
        if self.link:
            from ...results.view.kit import escape_text

            href = escape_text(self.link)
            parts.append(widgets.HTML(value=f'<a href="{href}" target="_blank" rel="noopener">Dask dashboard</a>'))
        self.box = widgets.HBox(parts)
        self.box.add_class("russo-progress-box")

    def _bundle(self, text: str) -> dict[str, Any]:
        bundle = dict(self.box._repr_mimebundle_() or {})
        bundle["text/plain"] = f"{self.label} {text}" + (f" · dashboard {self.link}" if self.link else "")
        return bundle

    def _final_bundle(self, progress: Any, text: str) -> dict[str, Any]:
        """The finished bar as static HTML (and text), no widget: reopened without a kernel, a widget's view would be
        "Error displaying widget: model not found" where the batch's end should be."""
        from ...results.view.kit import escape_text

        total = max(1, self.total)
        href = escape_text(self.link) if self.link else ""
        link = f' · <a href="{href}" target="_blank" rel="noopener">Dask dashboard</a>' if href else ""
        html = (
            '<div class="russo-progress-box russo-progress-final">'
            f"{escape_text(self.label)} "
            f'<progress class="russo-progress" value="{min(progress.done, total)}" max="{total}" '
            'style="width:40%;min-width:16em;vertical-align:middle"></progress> '
            f"{escape_text(text)}{link}</div>"
        )
        return {"text/html": html, "text/plain": self._bundle(text)["text/plain"]}

    def show(self) -> ProgressDisplay:
        """Display the bar (widget mode) or the first line (text mode)."""
        if self.mode == "widget":
            from IPython.display import display

            self._handle = display(self._bundle(f"0/{self.total} runs · running"), raw=True, display_id=True)
        elif self.mode == "text" and self.link:
            print(f"{self.label} dashboard: {self.link}", file=self.stream or sys.stderr, flush=True)
        return self

    # -- updates -----------------------------------------------------------------
    def __call__(self, progress: Any) -> None:
        """The ``on_progress`` callback: throttled, safe to call from the batch's thread."""
        if self.mode == "none":
            return
        now = time.monotonic()
        with self._lock:
            if progress.done >= progress.total and self.mode == "text":
                return  # finish() prints the last line
            if progress.done < progress.total and now - self._last < self.interval_s:
                return
            self._last = now
            self.updates += 1
        self._render(progress)

    def _render(self, progress: Any, state: str = "") -> None:
        line = format_progress(progress, state=state)
        if self.mode == "widget":
            self.bar.value = progress.done
            self.bar.max = max(1, progress.total)
            self.text.value = line
            if progress.errors:
                self.bar.bar_style = "warning"
        elif self.mode == "text":
            stream = self.stream or sys.stderr
            print(f"{self.label} {line}", file=stream, flush=True)

    def finish(self, progress: Any, *, interrupted: bool = False) -> None:
        """Show the final state (always, regardless of throttling)."""
        if self.mode == "none":
            return
        state = "interrupted" if interrupted else "done"  # the result says what that means, once
        self._render(progress, state=state)
        if self.mode == "widget":
            if interrupted:
                self.bar.bar_style = "danger"
            elif progress.done and progress.passed == progress.done:
                self.bar.bar_style = "success"
            else:
                self.bar.bar_style = "warning" if progress.passed < progress.done else "info"
            if self._handle is not None:  # the end as static HTML: a saved notebook shows it without a kernel
                self._handle.update(self._final_bundle(progress, format_progress(progress, state=state)), raw=True)
