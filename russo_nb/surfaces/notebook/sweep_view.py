"""The explorer's Sweep tab: robustness curves, the by-voice table, and a heatmap whose cells open their runs.

Shown for a result whose runs carry sweep factors (``voice`` / ``snr_db`` / ``condition``, see
:func:`russo_nb.start_sweep`). Built only when the tab is opened, from the runs frame (one pass
over the runs). Clicking a heatmap cell (a prompt at one noise level and condition, for the
chosen voice) lists that cell's runs and opens the first in the same run view the Runs tab
uses: what the agent heard against what was said (word diff), its calls, the audio.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ...execution.sweep import is_sweep, sweep_factors
from ...results.analysis.factors import by_factor, heatmap_frame, level_text
from ...results.view.kit import STYLE, escape_text
from ...results.view.sweep import cell_colour

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SweepTab", "is_sweep", "sweep_factors"]

MAX_HEATMAP_PROMPTS = 40


class SweepTab:
    """The Sweep tab of an explorer: ``widget`` to show; ``select_cell(prompt, column)`` is what a click does."""

    def __init__(self, result: Any, runs_frame: pd.DataFrame, detail: Any) -> None:
        self.result = result
        self.frame = runs_frame
        self.detail = detail
        self.factors = [name for name in sweep_factors(result) if name in runs_frame.columns]
        voices = list(dict.fromkeys(runs_frame["voice"])) if "voice" in runs_frame.columns else []
        self.voice = widgets.Dropdown(options=voices, value=voices[0] if voices else None, description="voice")
        self.voice.layout.display = "" if len(voices) > 1 else "none"
        self.voice.observe(lambda _: self._draw_heatmap(), names="value")
        self.heatmap = widgets.VBox()
        self.heatmap.add_class("russo-sweep-heatmap")
        self.cell_runs = widgets.Select(options=[], rows=6, layout={"width": "100%"})
        self.cell_runs.observe(self._on_run, names="value")
        self.cell_title = widgets.HTML()
        self.buttons: dict[tuple[str, str], widgets.Button] = {}
        self.widget = widgets.VBox(
            [
                widgets.HTML(self._summary_html()),
                self._curves(),
                widgets.HTML(f"{STYLE}<div class='russo'><h4>Where it breaks: pass rate by prompt</h4></div>"),
                self.voice,
                self.heatmap,
                self.cell_title,
                self.cell_runs,
                detail.widget,
            ]
        )
        self.widget.add_class("russo-sweep")
        self._draw_heatmap()

    # -- the by-voice table and thresholds -----------------------------------------------
    def _summary_html(self) -> str:
        from ...results.view.sweep import factor_table_html, thresholds_html

        by = "voice" if "voice" in self.factors else self.factors[0]
        table = factor_table_html(by_factor(self.frame, by))
        lines = thresholds_html(self.frame, self.factors)
        return f"{STYLE}<div class='russo'><h4>Pass rate by {escape_text(by)}</h4>{table}{lines}</div>"

    def _curves(self) -> widgets.Widget:
        if "snr_db" not in self.frame.columns:
            return widgets.HTML("")
        from ...results.analysis.sweep_plots import plot_robustness
        from .figures import figure_png

        hue = "voice" if "voice" in self.factors else None
        png = figure_png(plot_robustness, self.frame, size=(7.0, 3.6), hue=hue, at=0.9)
        image = widgets.Image(value=png, format="png")
        image.add_class("russo-sweep-curves")
        return image

    # -- the heatmap ---------------------------------------------------------------------
    def _columns(self) -> list[str]:
        return [name for name in ("snr_db", "condition") if name in self.factors and name in self.frame.columns]

    def _draw_heatmap(self) -> None:
        where = {"voice": self.voice.value} if self.voice.value is not None else None
        table = heatmap_frame(self.frame, self._columns() or ["voice"], where=where)
        self.table = table
        shown = table.iloc[:MAX_HEATMAP_PROMPTS]
        header = [widgets.HTML("<b>prompt</b>", layout={"width": "320px"})]
        header += [widgets.HTML(f"<b>{escape_text(c)}</b>", layout={"width": "90px"}) for c in shown.columns]
        rows = [widgets.HBox(header)]
        self.buttons = {}
        for prompt, values in shown.iterrows():
            cells: list[widgets.Widget] = [
                widgets.HTML(
                    f"<span title='{escape_text(prompt)}'>{escape_text(prompt, 60)}</span>", layout={"width": "320px"}
                )
            ]
            for column, rate in values.items():
                button = widgets.Button(
                    description="–" if math.isnan(rate) else f"{rate:.0%}",
                    tooltip=f"{prompt} · {column}: open its runs",
                    layout={"width": "90px"},
                )
                button.style.button_color = cell_colour(float(rate))
                button.add_class("russo-sweep-cell")
                button.on_click(lambda _, p=str(prompt), c=str(column): self.select_cell(p, c))
                self.buttons[(str(prompt), str(column))] = button
                cells.append(button)
            rows.append(widgets.HBox(cells))
        if len(table) > len(shown):
            rows.append(widgets.HTML(f"<div class='muted'>{len(table) - len(shown)} more prompts not shown</div>"))
        self.heatmap.children = rows

    def cell_indices(self, prompt: str, column: str) -> list[int]:
        """Positions in ``result.runs`` of the runs of one heatmap cell (chosen voice, prompt, column level)."""
        levels = self.table.attrs["levels"][list(self.table.columns).index(column)]
        names = self.table.attrs["factors"]
        mask = self.frame["prompt"] == prompt
        if self.voice.value is not None:
            mask &= self.frame["voice"] == self.voice.value
        for name, level in zip(names, levels):
            if isinstance(level, float) and math.isnan(level):
                mask &= self.frame[name].isna()
            else:
                mask &= self.frame[name] == level
        return [int(i) for i in mask.to_numpy().nonzero()[0]]

    def select_cell(self, prompt: str, column: str) -> list[int]:
        """List the cell's runs and open the first failing one (else the first); returns their indices."""
        indices = self.cell_indices(prompt, column)
        status = self.frame["status"].to_numpy()
        voice = f"{level_text('voice', self.voice.value)} · " if self.voice.value is not None else ""
        self.cell_title.value = (
            f"{STYLE}<div class='russo'><b>{escape_text(prompt)}</b> <span class='muted'>{escape_text(voice)}"
            f"{escape_text(column)} · {len(indices)} runs</span></div>"
        )
        self._indices = indices
        options = [(f"run {self.frame['run_index'].iat[i]} · {status[i]}", i) for i in indices]
        self.cell_runs.unobserve(self._on_run, names="value")
        self.cell_runs.options = options
        self.cell_runs.value = None
        self.cell_runs.observe(self._on_run, names="value")
        if indices:
            failing = [i for i in indices if status[i] != "passed"]
            self.cell_runs.value = (failing or indices)[0]
        return indices

    def _on_run(self, change: dict[str, Any]) -> None:
        if change.get("new") is not None:
            self.detail.show(int(change["new"]), order=self._indices)
