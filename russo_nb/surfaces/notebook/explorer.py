"""The explorer widget: a batch (or scenario batch) in tabs you can click through.

Tabs: Overview (headline and per-prompt table), Charts, Prompts (Scenarios for a scenario
batch: choose one, its runs, the audio the agent heard, transcripts and tool calls), Runs
(sortable, searchable, filtered and paged; a row opens the run: its audio, said vs heard,
expected vs called, retried attempts, traceback; the ↑ / ↓ keys or ▲ / ▼ buttons walk the
list), Failures (diffs), Transcripts (conversations as chat bubbles with verdicts), Export
(CSV, Parquet, JSON lines, HTML report, honouring "include audio", with the absolute path
and a link).

Building the explorer renders only the Overview, from one :class:`~russo_nb.results.view.BatchView`
computed once. Every other tab is built the first time it is shown, and each chart the
first time its section is opened (then cached), so a 10,000-run batch is interactive at
once. Displayed, the explorer carries a static HTML snapshot beside the widget view
(:meth:`Explorer.snapshot_html`): a notebook reopened without a kernel, nbconvert,
nbviewer and GitHub show the results instead of a widget placeholder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ...model.columns import Run, field, field_cells
from ...model.conditions import conditions_text
from ...results.analysis.rows import PromptRow, run_key
from ...results.view import BatchView, build_view
from ...results.view.html import failure_html as _failure_html
from ...results.view.kit import escape_text, pct
from ...results.view.transcript import audio_tag, transcript_html
from .html import (
    STYLE,
    batch_html,
    headline_html,
    middle,
    notes_html,
    prompt_table_html,
    run_html,
    scenario_result_html,
)
from .run_detail import clip_of, runs_of
from .snapshot import display_with_snapshot

__all__ = ["Explorer", "explore"]

logger = logging.getLogger("russo_nb")

TAB_TITLES = ("Overview", "Charts", "Prompts", "Runs", "Failures", "Transcripts", "Export")
CHART_PROMPTS = 30
"""Charts over prompts show at most this many (the least passing / most flaky); the rest are in prompts_frame()."""
SNAPSHOT_FAILURES = 3
"""The static snapshot shows the transcripts of this many failing runs."""
SNAPSHOT_AUDIO_BYTES = 400_000
"""A clip is embedded as a player in the static snapshot only when its WAV is at most this big."""


def _html(value: str) -> widgets.HTML:
    return widgets.HTML(value=f"{STYLE}<div class='russo'>{value}</div>")


def _short(text: str, width: int = 80) -> str:
    return middle(text, width)


def _audio_widget(clip: Any) -> widgets.Audio:
    player = widgets.Audio(value=clip.to_wav_bytes(), format="wav", autoplay=False, loop=False, controls=True)
    player.add_class("russo-audio")
    return player


def _messages_of(run: Run) -> list[dict[str, Any]]:
    """A run's conversation: its transcript, or (a single-turn prompt run) its one turn."""
    if run.transcript:
        return run.transcript
    turn: list[dict[str, Any]] = [{"role": "user", "content": run.prompt}]
    if run.response is not None:
        calls = [{"function": {"name": c.name, "arguments": c.arguments}} for c in run.response.tool_calls]
        turn.append({"role": "assistant", "content": run.response.text or "", "tool_calls": calls})
    elif run.error is not None:
        turn.append({"role": "system", "content": f"no answer: {run.error}"})
    return turn


def _verdict(run: Run) -> str:
    """A prompt run's verdict under its conversation: status, conditions, the calls' evaluation, the error."""
    status = run.status or "failed"
    css = "ok" if status == "passed" else "bad"
    lines = [f"<b>{escape_text(status)}</b>"]
    conditions = conditions_text(run.conditions)
    if conditions:
        lines.append(f"<span class='muted russo-run-conditions'>{escape_text(conditions, 300)}</span>")
    evaluation = run.eval_result
    if evaluation is not None and evaluation.matches:
        lines.append(escape_text(evaluation.summary(), 1500).replace("\n", "<br>"))
    if run.error is not None:
        lines.append(f"error: {escape_text(str(run.error))}")
    return f"<div class='verdict {css}'>{'<br>'.join(lines)}</div>"


class Explorer(widgets.VBox):
    """Tabs over one result; ``explorer.tab`` is the Tab, ``explorer.result`` the result shown.

    Only the Overview is built at once; :meth:`content` builds (and caches) any other tab,
    which also happens when the user first selects it.

    Args:
        result: a BatchResult, a ScenarioBatch or anything with ``runs``.
        page_size: runs per page in the Runs tab and per prompt in the Prompts tab.
        max_options: the most prompts (or runs) a dropdown lists; the rest are reachable
            through the Runs tab's filters and the DataFrames.
        charts: ``True`` draws every chart now (for scripts and tests); the default
            ``"auto"`` / ``False`` draws each when its section is first shown.
    """

    def __init__(
        self,
        result: Any,
        *,
        page_size: int = 25,
        max_options: int = 500,
        charts: bool | str = "auto",
        **kwargs: Any,
    ) -> None:
        self.result = result
        self.runs: Sequence[Any] = runs_of(result)
        """``result.runs`` itself (not a copy): a loaded batch builds only the runs the explorer shows."""
        self.page_size = max(1, page_size)
        self.max_options = max(1, max_options)
        self.view: BatchView = build_view(result)
        self._by_row_cache: dict[tuple[Any, ...], list[int]] | None = None
        self._cells_cache: dict[str, list[Any]] = {}
        self.status_out = widgets.HTML()
        self._charts_cache: dict[str, widgets.Widget] = {}
        self._chart_titles: list[str] = []
        self._chart_plots: dict[str, str] = {}
        self._frames_cache: tuple[Any, Any] | None = None
        self._builders: dict[str, Callable[[], widgets.Widget]] = {
            "Overview": self._overview,
            "Charts": self._charts_tab,
            "Prompts": self._prompts_tab,
            "Runs": self._runs_tab,
            "Failures": self._failures_tab,
            "Transcripts": self._transcripts_tab,
            "Export": self._export_tab,
        }
        from .sweep_view import is_sweep

        if is_sweep(result):  # a sweep's runs differ in voice / noise: its own tab, second
            builders = list(self._builders.items())
            builders.insert(1, ("Sweep", self._sweep_tab))
            self._builders = dict(builders)
        self._built: dict[str, widgets.Widget] = {}
        self._slots = {title: widgets.Box(layout=widgets.Layout(display="block")) for title in self._builders}
        self.tab = widgets.Tab(children=list(self._slots.values()))
        scenarios = getattr(getattr(result, "metadata", None), "kind", None) == "scenarios"
        self.tab.titles = tuple("Scenarios" if t == "Prompts" and scenarios else t for t in self._builders)
        self.tab.add_class("russo-explorer-tabs")
        self.tab.observe(self._on_select, names="selected_index")
        super().__init__(children=[self.tab], **kwargs)
        self.add_class("russo-explorer")
        self.content("Overview")
        if charts is True:
            self.draw_charts()

    # -- run fields, without building the runs -----------------------------------------------
    def _cells(self, name: str) -> list[Any]:
        """Run field ``name`` (of the :class:`~russo_nb.model.columns.Run` protocol) of every run, from the columns
        when stored; cached."""
        cells = self._cells_cache.get(name)
        if cells is None:
            cells = self._cells_cache[name] = field_cells(self.runs, field(name))
        return cells

    @property
    def _by_row(self) -> dict[tuple[Any, ...], list[int]]:
        """The positions of each row's runs, in order, by :attr:`~russo_nb.results.analysis.rows.PromptRow.key`:
        the prompt, and its condition values when the view's table splits by conditions (made on first use, from
        the prompt and conditions columns)."""
        if self._by_row_cache is None:
            by = self.view.by
            prompts = self._cells("prompt")
            conditions = self._cells("conditions") if by else [None] * len(prompts)
            by_row: dict[tuple[Any, ...], list[int]] = {}
            for index, (prompt, values) in enumerate(zip(prompts, conditions, strict=True)):
                by_row.setdefault(run_key(prompt, values, by), []).append(index)
            self._by_row_cache = by_row
        return self._by_row_cache

    def row_runs(self, row: PromptRow) -> list[int]:
        """The positions (in ``result.runs``) of the runs of the view's ``row``: its prompt, under its condition
        values."""
        return self._by_row.get(row.key, [])

    @property
    def _chart_noun(self) -> str:
        """What one table row (a picker choice, a chart row) is: "prompt", or "prompt × voice row" when it splits."""
        return f"{self.view.row_noun} row" if self.view.by else self.view.noun

    def _failing(self) -> list[int]:
        """Positions of the runs that did not pass and were not cancelled (no status counts as failing)."""
        return [i for i, status in enumerate(self._cells("status")) if status not in ("passed", "cancelled")]

    # -- lazy tabs ------------------------------------------------------------------------
    @property
    def built_tabs(self) -> list[str]:
        """Titles of the tabs built so far (the Overview, and any the user has opened)."""
        return list(self._built)

    def content(self, title: str) -> widgets.Widget:
        """The content of tab ``title``, built now if it was not yet (a failing tab shows its error)."""
        built = self._built.get(title)
        if built is not None:
            return built
        build = self._builders[title]
        try:
            built = build()
        except Exception as exc:  # one broken tab must not hide the others
            logger.exception("explorer: building the %s tab failed", title)
            built = _html(
                f"<div class='err'>{escape_text(title)} tab failed: {escape_text(f'{type(exc).__name__}: {exc}')}</div>"
            )
        self._built[title] = built
        self._slots[title].children = [built]
        return built

    def show(self, title: str) -> widgets.Widget:
        """Select tab ``title`` (building it if needed) and return its content."""
        self.tab.selected_index = list(self._builders).index(title)
        return self.content(title)

    def _on_select(self, change: dict[str, Any]) -> None:
        index = change.get("new")
        if index is None:
            return
        title = list(self._builders)[index]
        self.content(title)
        if title == "Charts":
            self._open_chart(self.chart_sections.selected_index or 0)

    # -- static snapshot --------------------------------------------------------------------
    def snapshot_html(self) -> str:
        """A static view of the result for front ends without a live kernel.

        The headline, the per-prompt table, the failures, the transcripts of the first
        failing runs and (when small enough) the audio they heard, as self-contained HTML.
        """
        parts = [
            STYLE,
            "<div class='russo russo-static'>",
            "<div class='muted'>russo explorer — static snapshot (run the cell with a kernel for the "
            "interactive explorer)</div>",
            batch_html(self.view, max_failures=10, with_style=False),
        ]
        examples = [(group.what, group.first) for group in self.view.groups[:SNAPSHOT_FAILURES]]
        if examples:
            count = len(examples)
            parts.append(
                f"<details open><summary>Transcripts of the {count} largest failure "
                f"signature{'s' if count != 1 else ''} (one run each)</summary>"
            )
            for what, run in examples:
                parts.append(
                    f"<div class='muted'><b class='sig'>{escape_text(what, 200)}</b> · "
                    f"{escape_text(middle(run.prompt, 120), 0)} · run {run.run_index}</div>"
                )
                clip = clip_of(self.result, run)
                if clip is not None and len(clip.data) <= SNAPSHOT_AUDIO_BYTES:
                    parts.append(f"<div class='muted'>What the agent heard:</div>{audio_tag(clip)}")
                parts.append(self._transcript_body(run, max_audio_bytes=SNAPSHOT_AUDIO_BYTES))
            parts.append("</details>")
        parts.append("</div>")
        return "".join(parts)

    def _ipython_display_(self) -> None:
        """Show the static snapshot, then the live widget: two outputs of the cell.

        JupyterLab renders a widget view whenever one is in the bundle, even when its model
        is gone (a reopened notebook shows "model not found"), so the snapshot is an output
        of its own. Its CSS hides it while the live explorer is rendered right after it.
        nbconvert, nbviewer and GitHub show the snapshot and the widget's text line.
        """
        display_with_snapshot(self, self.snapshot_html(), self._plain())

    def _plain(self) -> str:
        view = self.view
        rate = f"{pct(view.rate)} pass rate over {view.finished} finished runs" if view.rate is not None else "no runs"
        plain = f"russo explorer: {view.verdict} {rate}, {view.prompt_count} {view.noun}s"
        if view.cancelled:
            plain += f"; {view.cancelled_text}"
        return plain

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget view, plus a text/html snapshot and a text/plain headline for front ends without widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            bundle = {}
        bundle["text/html"] = self.snapshot_html()
        bundle["text/plain"] = self._plain()
        return bundle

    # -- Overview --------------------------------------------------------------------
    def _overview(self) -> widgets.Widget:
        view = self.view
        head = (
            f"{STYLE}<div class='russo russo-batch'>{headline_html(view)}{notes_html(view)}"
            f"{prompt_table_html(view)}</div>"
        )
        hint = _html(
            "<div class='muted'>Charts, each prompt's runs and audio, every run, failures and transcripts are in "
            "the other tabs.</div>"
        )
        return widgets.VBox([widgets.HTML(value=head), hint])

    # -- Charts ------------------------------------------------------------------------
    def _chart_specs(self) -> list[tuple[str, str]]:
        """(section title, plot function name) for each chart that has something to show."""
        specs = [("Pass rate per " + self._chart_noun, "plot_pass_rates")]
        if len(self.view.rows) >= 2 and any(row.finished > 1 for row in self.view.rows):
            specs.append(("Flakiness: runs per " + self._chart_noun, "plot_flakiness"))
        if any(row.latency is not None for row in self.view.rows):
            specs.append(("Latency", "plot_latency"))
        if any(row.finished > 1 for row in self.view.rows):
            specs.append(("pass@k and pass^k", "plot_pass_at_k"))
        return specs

    def _charts_tab(self) -> widgets.Widget:
        if not self.view.finished:
            self.chart_sections = widgets.Accordion(children=[])
            self.chart_box = widgets.VBox([_html("<div class='muted'>No finished runs to chart.</div>")])
            return self.chart_box
        specs = self._chart_specs()
        self._chart_titles = [title for title, _ in specs]
        self._chart_plots = dict(specs)
        slots = [widgets.Box(layout=widgets.Layout(display="block")) for _ in specs]
        self.chart_sections = widgets.Accordion(children=slots, titles=tuple(self._chart_titles))
        self.chart_sections.selected_index = None
        self.chart_sections.observe(lambda change: self._open_chart(change["new"]), names="selected_index")
        note = _html(
            "<div class='muted'>Each chart is drawn when its section is first opened. Charts count finished runs "
            f"only and show at most {CHART_PROMPTS} {escape_text(self._chart_noun)}s (the least passing or most "
            "flaky)."
            + (
                f" Each {escape_text(self.view.noun)} has one row per value of {escape_text(', '.join(self.view.by))}, "
                "as in the Overview's table."
                if self.view.by
                else ""
            )
            + "</div>"
        )
        self.chart_box = widgets.VBox([note, self.chart_sections])
        self.chart_box.add_class("russo-charts")
        return self.chart_box

    def _open_chart(self, index: int | None) -> None:
        if index is None or not self._chart_titles:
            return
        if self.chart_sections.selected_index != index:
            self.chart_sections.selected_index = index  # observed: comes back here
            return
        self.chart(self._chart_titles[index])

    @property
    def charts_drawn(self) -> list[str]:
        """Titles of the charts drawn so far."""
        return list(self._charts_cache)

    def draw_charts(self) -> list[widgets.Widget]:
        """Draw every chart now (normally each is drawn when first shown)."""
        self.content("Charts")
        return [self.chart(title) for title in self._chart_titles]

    _draw_charts = draw_charts

    def _frames(self) -> tuple[Any, Any]:
        """The runs and prompts frames of the finished runs, computed once for every chart.

        When the view's table splits by conditions (``view.by``) a chart row is a table row: each run's
        ``prompt`` is labelled with its condition values (``Book a flight · voice=en-gb``), so every chart
        draws one bar, box or heatmap row per prompt and condition value, as the Overview counts them.
        """
        if self._frames_cache is None:
            from ...results import analysis

            runs = analysis.runs_frame(self.result)
            runs = runs[runs["status"] != "cancelled"].reset_index(drop=True)
            by = self.view.by
            if by:
                values = zip(*(runs[name].tolist() for name in by), strict=True)
                runs["prompt"] = [
                    f"{prompt} · {conditions_text(dict(zip(by, row, strict=True)))}"
                    for prompt, row in zip(runs["prompt"].tolist(), values, strict=True)
                ]
            self._frames_cache = (runs, analysis.prompts_frame(runs))
        return self._frames_cache

    def chart(self, title: str) -> widgets.Widget:
        """The chart of section ``title``, drawn on first call and cached."""
        cached = self._charts_cache.get(title)
        if cached is not None:
            return cached
        index = self._chart_titles.index(title)
        try:
            widget = self._draw_chart(self._chart_plots[title])
        except Exception as exc:  # a chart failing must not break the explorer
            logger.exception("explorer: drawing chart %r failed", title)
            widget = _html(f"<div class='err'>chart failed: {escape_text(f'{type(exc).__name__}: {exc}')}</div>")
        self._charts_cache[title] = widget
        self.chart_sections.children[index].children = [widget]
        return widget

    def _draw_chart(self, name: str) -> widgets.Widget:
        from ...results import analysis
        from ...results.analysis.plots import fig_height
        from .figures import figure_svg

        runs, prompts = self._frames()
        plot = getattr(analysis, name)
        rows = min(len(prompts), CHART_PROMPTS)
        noun = self._chart_noun
        if name == "plot_pass_at_k":
            svg = figure_svg(plot, prompts, size=(7.0, 3.6), noun=noun)
        elif name == "plot_pass_rates":
            svg = figure_svg(plot, prompts, size=(9.0, fig_height(rows)), max_prompts=CHART_PROMPTS, noun=noun)
        elif name == "plot_flakiness":
            svg = figure_svg(
                plot, runs, size=(9.0, fig_height(rows)), max_prompts=CHART_PROMPTS, prompts=prompts, noun=noun
            )
        else:
            svg = figure_svg(plot, runs, size=(9.0, fig_height(rows)), max_prompts=CHART_PROMPTS, noun=noun)
        return widgets.HTML(value=f"{STYLE}<div class='russo russo-chart'>{svg}</div>")

    # -- Prompts ---------------------------------------------------------------------
    def _prompt_options(self) -> tuple[list[tuple[str, int]], str]:
        """The picker's choices: one per row of the view's table (a prompt, or a prompt under condition values),
        valued by the row's position in ``view.rows``."""
        rows = self.view.lowest_rows(self.max_options)
        note = ""
        if len(self.view.rows) > len(rows):
            note = f"listing the {len(rows)} {self._chart_noun}s with the lowest pass rate of {len(self.view.rows)}"
        position = {id(row): index for index, row in enumerate(self.view.rows)}
        options = [
            (
                f"{'not run' if row.not_run else f'{row.passed}/{row.finished}'} · {_short(self.view.row_label(row))}",
                position[id(row)],
            )
            for row in rows
        ]
        return options, note

    def _prompts_tab(self) -> widgets.Widget:
        options, note = self._prompt_options()
        if not options:
            return _html("<div class='muted'>No runs.</div>")
        self.prompt_picker = widgets.Dropdown(options=options, description="Prompt", layout=widgets.Layout(width="95%"))
        self.prompt_view = widgets.VBox()
        self.prompt_picker.observe(lambda change: self._show_prompt(change["new"]), names="value")
        self._show_prompt(self.prompt_picker.value)
        parts: list[widgets.Widget] = [self.prompt_picker]
        if note:
            parts.append(_html(f"<div class='muted'>{escape_text(note)}</div>"))
        parts.append(self.prompt_view)
        return widgets.VBox(parts)

    def select_row(self, row: PromptRow) -> None:
        """Show the runs of the view's ``row`` (one of ``view.rows``) in the Prompts tab."""
        self.show("Prompts")
        self.prompt_picker.value = next(index for index, each in enumerate(self.view.rows) if each is row)

    def _show_prompt(self, position: int) -> None:
        """Show row ``position`` of the view's table: its counts, and its runs (only its condition values')."""
        row = self.view.rows[position]
        indices = self.row_runs(row)
        if row.rate is None:
            counts = "<span class='notrun'>not run</span>"
        else:
            counts = f"{row.passed}/{row.finished} finished runs passed ({pct(row.rate)})"
        if row.cancelled:
            counts += f" · {row.cancelled} cancelled"
        conditions = (
            f"<br><span class='muted russo-row-conditions'>{escape_text(conditions_text(row.conditions), 300)}</span>"
            if row.conditions
            else ""
        )
        header = (
            f"<div><b>{escape_text(row.prompt, 1000)}</b>{conditions}<br>{counts}"
            + (" <span class='flag'>⚑ flaky</span>" if row.flaky else "")
            + "</div>"
        )
        children: list[widgets.Widget] = [_html(header)]
        shown = [self.runs[i] for i in indices[: self.page_size]]
        clips = [clip_of(self.result, run) for run in shown]
        keys = {run.audio_key for run, clip in zip(shown, clips, strict=True) if clip is not None}
        shared = len(keys) == 1
        if shared:
            clip = next(c for c in clips if c is not None)
            children.append(_html(f"<div class='muted'>What the agent heard ({clip.duration_s:.1f}s):</div>"))
            children.append(_audio_widget(clip))
        for run, clip in zip(shown, clips, strict=True):
            row: list[widgets.Widget] = []
            if clip is not None and not shared:
                row.append(_audio_widget(clip))
            row.append(_html(run_html(run)))
            children.append(widgets.HBox(row, layout=widgets.Layout(border_bottom="1px solid #ddd")))
        if len(indices) > len(shown):
            children.append(
                _html(
                    f"<div class='muted'>showing {len(shown)} of {len(indices)} runs; "
                    "the Runs tab filters and pages through all of them</div>"
                )
            )
        self.prompt_view.children = children

    # -- Runs ------------------------------------------------------------------------
    def _runs_tab(self) -> widgets.Widget:
        from .runs_table import RunsBrowser

        self._runs_browser = RunsBrowser(self.result, page_size=self.page_size, max_prompt_options=self.max_options)
        return self._runs_browser.widget

    @property
    def runs_browser(self) -> Any:
        """The Runs tab's table and opened run (:class:`~.runs_table.RunsBrowser`), built on first use."""
        self.content("Runs")
        return self._runs_browser

    def open_run(self, index: int) -> None:
        """Show run ``index`` (its position in ``result.runs``) opened in the Runs tab."""
        self.show("Runs")
        self.runs_browser.open(index)

    # -- Sweep -----------------------------------------------------------------------
    def _sweep_tab(self) -> widgets.Widget:
        from ...results import analysis
        from .run_detail import RunDetail
        from .sweep_view import SweepTab

        self.sweep = SweepTab(self.result, analysis.runs_frame(self.result), RunDetail(self.result))
        return self.sweep.widget

    # -- Failures --------------------------------------------------------------------
    def _failures_tab(self, max_groups: int = 30) -> widgets.Widget:
        groups = self.view.groups
        cancelled = self.view.cancelled
        note = (
            f"<div class='muted'>{escape_text(self.view.cancelled_text)}: not failures, not listed.</div>"
            if cancelled
            else ""
        )
        if not groups:
            what = "every finished run passed" if cancelled else "every run passed"
            return _html(f"<div class='muted'>No failures: {what}.</div>{note}")
        failing = sum(len(group.runs) for group in groups)
        parts = [
            f"<div><b>{failing:,}</b> finished runs did not pass, with {len(groups):,} failure "
            f"signature{'s' if len(groups) != 1 else ''} across {self.view.noun}s (largest first).</div>",
            note,
        ]
        parts += [_failure_html(group) for group in groups[:max_groups]]
        if len(groups) > max_groups:
            parts.append(
                f"<div class='muted'>{len(groups) - max_groups:,} more signatures omitted; "
                "use the Runs tab (status filter) or russo_nb.analysis.runs_frame(result).</div>"
            )
        return _html("".join(parts))

    # -- Transcripts -------------------------------------------------------------------
    def _transcripts_tab(self) -> widgets.Widget:
        conversation = [bool(transcript) for transcript in self._cells("transcript")]
        with_conversation = [i for i, has in enumerate(conversation) if has]
        candidates = with_conversation or range(len(self.runs))
        if not candidates:
            return _html("<div class='muted'>No runs.</div>")
        # failures first: they are the conversations worth reading (cancelled runs have none)
        statuses = self._cells("status")
        failing = [i for i in candidates if statuses[i] not in ("passed", "cancelled")][: self.max_options]
        shown = failing + [i for i in candidates if statuses[i] == "passed"][: self.max_options - len(failing)]
        prompts, run_indices = self._cells("prompt"), self._cells("run_index")
        options = [
            (
                f"{'✔' if statuses[i] == 'passed' else '✘'} #{i} · {_short(prompts[i], 60)} · run {run_indices[i]}",
                i,
            )
            for i in shown
        ]
        self.transcript_picker = widgets.Dropdown(
            options=options, description="Run", layout=widgets.Layout(width="95%")
        )
        self.transcript_view = widgets.HTML()
        self.transcript_picker.observe(lambda change: self._show_transcript(change["new"]), names="value")
        self._show_transcript(self.transcript_picker.value)
        parts: list[widgets.Widget] = []
        if not with_conversation:
            parts.append(
                _html(
                    "<div class='muted'>Single-turn prompt runs: each shows what the agent heard and answered. "
                    "Scenario runs (russo_nb.scenario) show whole conversations here.</div>"
                )
            )
        if len(candidates) > len(shown):
            parts.append(
                _html(f"<div class='muted'>listing {len(shown)} of {len(candidates):,} runs, failures first</div>")
            )
        return widgets.VBox([*parts, self.transcript_picker, self.transcript_view])

    def _show_transcript(self, index: int) -> None:
        self.transcript_view.value = f"{STYLE}<div class='russo'>{self._transcript_body(self.runs[index])}</div>"

    def _transcript_body(self, run: Run, *, max_audio_bytes: int | None = None) -> str:
        """One run's conversation as bubbles with its verdict; clips over ``max_audio_bytes`` are left out."""
        if run.kind == "scenario":
            return scenario_result_html(run, with_style=False)
        clips = getattr(self.result, "audio", None)  # any result with runs: a prompt batch keeps the clips
        clips = clips if isinstance(clips, dict) else None
        if clips and max_audio_bytes is not None:
            clips = {key: clip for key, clip in clips.items() if len(clip.data) <= max_audio_bytes}
        return transcript_html(_messages_of(run), verdict=_verdict(run), audio=clips)

    # -- Export ----------------------------------------------------------------------
    def _export_tab(self) -> widgets.Widget:
        from .export_view import ExportPanel

        self.export_panel = ExportPanel(self.result)
        return self.export_panel.widget

    def export(self, path: str | Path) -> Path | None:
        """Write the result to ``path`` (format by suffix) and show its absolute path and a link."""
        self.content("Export")
        return self.export_panel.export(path)


def explore(result: Any, **options: Any) -> Explorer:
    """Build the explorer for ``result`` (a BatchResult, a suite result, a ScenarioBatch)."""
    from ...results.view.model import result_of

    result = result_of(result)
    if not hasattr(result, "runs"):
        from ...model.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"explore() needs a result with runs (a BatchResult or ScenarioBatch), got {type(result).__name__}"
        )
    return Explorer(result, **options)
