"""Two batches side by side: which way B moved against A, and per prompt what each side did.

A is the baseline, B the candidate; every label says "A (name)" / "B (name)" the same way.
Colours follow the direction, not significance: better (B's pass rate higher, interval above
zero), worse (interval below zero), or no detectable difference (interval spans zero) — and
each carries the word as well as the colour. The grid (in the style of promptfoo's matrix)
has a row per shared prompt with both sides' passes and what the agent called; the widget
opens a prompt to show both sides' runs.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...model.columns import Run
from ...model.thresholds import confidence_label
from ...model.types import format_call, runs_by
from ...results.view.kit import MAX_HIDDEN_ROWS, MAX_ROWS, STYLE, escape_text, middle, pct, signed_pct, table_html
from .run_detail import runs_of
from .snapshot import display_with_snapshot

if TYPE_CHECKING:
    from ...results.analysis.paired import Comparison

__all__ = ["CompareView", "comparison_chart_svg", "compare_grid_html", "comparison_html", "direction"]


def direction(low: float, high: float) -> tuple[str, str]:
    """``(css, words)`` for a B − A interval: better, worse, or no detectable difference."""
    if math.isnan(low) or math.isnan(high):
        return "same", "no detectable difference"
    if low > 0:
        return "better", "B better"
    if high < 0:
        return "worse", "B worse"
    return "same", "no detectable difference"


def _names(name_a: str, name_b: str) -> tuple[str, str]:
    return f"A ({name_a})", f"B ({name_b})"


def comparison_html(comparison: Comparison, name_a: str = "A", name_b: str = "B", *, max_rows: int = MAX_ROWS) -> str:
    """A paired comparison (:func:`russo_nb.analysis.paired_comparison`): the verdict and a per-prompt table."""
    label_a, label_b = _names(name_a, name_b)
    css, words = direction(comparison.low, comparison.high)
    if css == "same" and not math.isnan(comparison.low):
        words = "no detectable difference"
    level = confidence_label(comparison.confidence)
    head = (
        f"<div class='russo-compare-head'><span class='dir {css}'>{escape_text(words)}</span> "
        f"<b>B − A = {comparison.difference:+.1%}</b> ({level} CI {comparison.low:+.1%} to {comparison.high:+.1%}, "
        f"p = {comparison.p_value:.3g}, {escape_text(comparison.test)}) over {comparison.n_shared} shared prompts</div>"
        f"<div>{escape_text(label_a)}: {pct(comparison.rate_a)} → {escape_text(label_b)}: {pct(comparison.rate_b)} "
        "<span class='muted'>(mean per-prompt pass rate)</span></div>"
    )
    warnings = "".join(f"<div class='muted'>⚠ {escape_text(w)}</div>" for w in comparison.warnings)
    rows = sorted(comparison.per_prompt, key=lambda row: (row.difference, row.prompt))
    body = []
    for row in rows:
        row_css, row_words = direction(row.low, row.high)
        body.append(
            f"<tr><td>{escape_text(row.prompt, 160)}</td><td class='num'>{row.passed_a}/{row.runs_a}</td>"
            f"<td class='num'>{row.passed_b}/{row.runs_b}</td><td class='num'>{row.difference:+.0%}</td>"
            f"<td class='num'>{row.low:+.0%} to {row.high:+.0%}</td>"
            f"<td><span class='dir {row_css}'>{escape_text(row_words)}</span></td></tr>"
        )
    only = ""
    if comparison.only_in_a or comparison.only_in_b:
        only = (
            f"<div class='muted'>Not compared: {len(comparison.only_in_a)} prompts only in {escape_text(label_a)}, "
            f"{len(comparison.only_in_b)} only in {escape_text(label_b)}.</div>"
        )
    columns = (
        f"<tr><th>Prompt</th><th class='num'>{escape_text(label_a)}</th><th class='num'>{escape_text(label_b)}</th>"
        f"<th class='num'>B − A</th><th class='num'>{level} CI</th><th>Direction</th></tr>"
    )
    table = table_html(columns, body, limit=max_rows, noun="prompt", rest="comparison.per_prompt")
    return f"{STYLE}<div class='russo russo-compare'>{head}{warnings}{table}{only}</div>"


def _by_prompt(result: Any) -> dict[str, list[Run]]:
    return runs_by(runs_of(result), operator.attrgetter("prompt"))


def _calls_of(run: Run) -> str:
    return "; ".join(format_call(call.name, call.arguments) for call in run.tool_calls) or "(no call)"


def _side_cell(runs: list[Run]) -> str:
    if not runs:
        return "<td class='run-side muted'>not run</td>"
    chips = "".join(
        "<span class='p'>✔</span>" if run.status == "passed" else "<span class='f'>✘</span>" for run in runs[:30]
    ) + ("…" if len(runs) > 30 else "")
    passed = sum(1 for run in runs if run.status == "passed")
    seen: dict[str, int] = {}
    for run in runs:
        what = run.error.type if run.error is not None else _calls_of(run)
        seen[what] = seen.get(what, 0) + 1
    common = sorted(seen.items(), key=lambda item: -item[1])[:2]
    lines = "".join(
        f"<div><code>{escape_text(what, 120)}</code> <span class='muted'>×{count}</span></div>"
        for what, count in common
    )
    return f"<td class='run-side'><b>{passed}/{len(runs)}</b> <span class='chips'>{chips}</span>{lines}</td>"


def compare_grid_html(
    a: Any, b: Any, comparison: Any, name_a: str = "A", name_b: str = "B", *, max_rows: int = MAX_ROWS
) -> str:
    """Per shared prompt, side by side: each run's pass / fail, the most frequent calls, and the direction."""
    label_a, label_b = _names(name_a, name_b)
    runs_a, runs_b = _by_prompt(a), _by_prompt(b)
    rows = sorted(comparison.per_prompt, key=lambda row: (row.difference, row.prompt))
    body = []
    for row in rows[: max_rows + MAX_HIDDEN_ROWS]:
        css, words = direction(row.low, row.high)
        body.append(
            f"<tr><td class='prompt'>{escape_text(row.prompt, 160)}<br>"
            f"<span class='dir {css}'>{escape_text(words)}</span> "
            f"<span class='muted'>{row.difference:+.0%}</span></td>"
            f"{_side_cell(runs_a.get(row.prompt, []))}{_side_cell(runs_b.get(row.prompt, []))}</tr>"
        )
    columns = f"<tr><th class='prompt'>Prompt</th><th>{escape_text(label_a)}</th><th>{escape_text(label_b)}</th></tr>"
    table = table_html(columns, body, limit=max_rows, noun="prompt", css="grid", rest="comparison.per_prompt")
    return f"{STYLE}<div class='russo russo-compare-grid'>{table}</div>"


def comparison_chart_svg(comparison: Any, name_a: str = "A", name_b: str = "B") -> str:
    """The paired-difference chart as inline SVG in the page's text colour (light and dark themes alike)."""
    from ...results.analysis import plot_comparison
    from .figures import figure_svg

    rows = min(len(comparison.per_prompt), 50)
    return figure_svg(plot_comparison, comparison, size=(8.0, 2.6 + 0.2 * rows), labels=(f"A {name_a}", f"B {name_b}"))


class CompareView:
    """Two results compared: verdict, chart, per-prompt grid, and a prompt picker that opens both sides' runs.

    Displayed, it shows a static snapshot (verdict, chart, grid) and the live view after it, so
    a notebook reopened without a kernel, or converted, still shows the comparison.
    """

    def __init__(
        self, a: Any, b: Any, name_a: str = "A", name_b: str = "B", *, comparison: Any = None, chart: bool = True
    ) -> None:
        import ipywidgets as widgets

        from ...results.analysis import paired_comparison

        self.a, self.b, self.name_a, self.name_b = a, b, name_a, name_b
        self.comparison = comparison if comparison is not None else paired_comparison(a, b)
        self.chart = (
            comparison_chart_svg(self.comparison, name_a, name_b) if chart and self.comparison.per_prompt else ""
        )
        parts: list[Any] = [widgets.HTML(value=self._static_body())]
        rows = sorted(self.comparison.per_prompt, key=lambda row: (row.difference, row.prompt))
        options = [(f"{row.difference:+.0%} · {middle(row.prompt, 90)}", row.prompt) for row in rows]
        self.picker = widgets.Dropdown(
            options=[("open a prompt: both sides' runs…", ""), *options],
            value="",
            description="Prompt",
            layout=widgets.Layout(width="95%"),
        )
        self.sides = widgets.HBox()
        self.picker.observe(lambda change: self.open(change["new"]), names="value")
        parts += [self.picker, self.sides]
        self.widget = widgets.VBox(parts)
        self.widget.add_class("russo-compare-view")

    def _static_body(self) -> str:
        chart = f"{STYLE}<div class='russo chart russo-chart'>{self.chart}</div>" if self.chart else ""
        return (
            comparison_html(self.comparison, self.name_a, self.name_b)
            + chart
            + compare_grid_html(self.a, self.b, self.comparison, self.name_a, self.name_b)
        )

    def snapshot_html(self) -> str:
        """The comparison without a kernel: verdict, chart and per-prompt grid as self-contained HTML."""
        return (
            f"{STYLE}<div class='russo russo-static russo-compare-static'><div class='muted'>russo compare — static "
            "snapshot (run the cell with a kernel to open each prompt's runs)</div>"
            f"{self._static_body()}</div>"
        )

    def _plain(self) -> str:
        c = self.comparison
        _, words = direction(c.low, c.high)
        return (
            f"russo compare: {words}, B − A = {signed_pct(c.difference)} "
            f"({signed_pct(c.low)} to {signed_pct(c.high)}) over {c.n_shared} shared prompts"
        )

    def _ipython_display_(self) -> None:
        """The static snapshot, then the live view (see :mod:`.snapshot`)."""
        display_with_snapshot(self.widget, self.snapshot_html(), self._plain())

    def open(self, prompt: str) -> None:
        """Show both sides' runs of ``prompt`` next to each other, each run openable."""
        import ipywidgets as widgets

        from .runs_table import RunsBrowser

        if not prompt:
            self.sides.children = []
            return
        columns = []
        for label, result in zip(_names(self.name_a, self.name_b), (self.a, self.b), strict=True):
            runs = _by_prompt(result).get(prompt, [])
            view = _Subset(result, runs)
            browser = RunsBrowser(view, page_size=10)
            title = widgets.HTML(value=f"{STYLE}<div class='russo'><b>{escape_text(label)}</b></div>")
            columns.append(widgets.VBox([title, browser.widget], layout=widgets.Layout(width="50%")))
        self.sides.children = columns


class _Subset:
    """Some runs of a result, keeping its audio store and metadata (for the runs browser)."""

    def __init__(self, result: Any, runs: list[Any]) -> None:
        self.runs = runs
        self.metadata = getattr(result, "metadata", None)
        self.audio = getattr(result, "audio", {})
        self._result = result

    def audio_for(self, run: Any) -> Any:
        audio_for: Callable[[Any], Any] | None = getattr(self._result, "audio_for", None)
        return audio_for(run) if audio_for is not None else None
