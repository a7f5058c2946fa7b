"""The explorer widget: a batch (or scenario batch) in tabs you can click through.

Tabs: Overview (charts), Prompts (choose a prompt: its runs, the audio the agent heard,
transcripts and tool calls), Runs (sortable, searchable, filtered and paged; a row opens
the run: its audio, said vs heard, expected vs called, traceback), Failures (diffs),
Transcripts (conversations as chat bubbles with verdicts), Export (CSV, Parquet, JSON
lines, HTML report, with the absolute path and a link). Lists are capped and paginated so a 100,000-run
batch builds in about a second and its widget state stays small.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..types import SingleRunResult
from .html import (
    STYLE,
    _e,
    _passed,
    _pct,
    batch_html,
    failure_groups,
    prompt_stats,
    run_html,
    scenario_result_html,
    transcript_html,
)

__all__ = ["Explorer", "explore"]

logger = logging.getLogger("russo_nb")

TAB_TITLES = ("Overview", "Prompts", "Runs", "Failures", "Transcripts", "Export")
LAZY_CHARTS_RUNS = 20_000
"""Above this many runs the Overview charts are drawn when asked for (a button), not at once."""


def _html(value: str) -> widgets.HTML:
    return widgets.HTML(value=f"{STYLE}<div class='russo'>{value}</div>")


def _short(text: str, width: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _clip_of(result: Any, run: Any) -> Any:
    """The audio a run's agent heard, if the batch kept it."""
    audio_for = getattr(result, "audio_for", None)
    if callable(audio_for) and getattr(run, "audio_key", None) is not None:
        try:
            return audio_for(run)
        except Exception:  # a foreign result type without an audio store
            return None
    clips = getattr(run, "audio", None)
    if isinstance(clips, dict) and clips:
        return next(iter(clips.values()))
    return None


def _audio_widget(clip: Any) -> widgets.Audio:
    player = widgets.Audio(value=clip.to_wav_bytes(), format="wav", autoplay=False, loop=False, controls=True)
    player.add_class("russo-audio")
    return player


def _messages_of(run: Any) -> list[dict[str, Any]]:
    """A run's conversation: scenario messages, a prompt run's transcript, or its one turn."""
    messages = getattr(run, "messages", None)
    if isinstance(messages, list) and messages:
        return messages
    transcript = getattr(run, "transcript", None)
    if isinstance(transcript, list) and transcript:
        return transcript
    prompt = getattr(run, "prompt", "")
    turn: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    response = getattr(run, "response", None)
    if response is not None:
        calls = [{"function": {"name": c.name, "arguments": c.arguments}} for c in response.tool_calls]
        turn.append({"role": "assistant", "content": response.text or "", "tool_calls": calls})
    elif getattr(run, "error", None) is not None:
        turn.append({"role": "system", "content": f"no answer: {run.error}"})
    return turn


def _has_conversation(run: Any) -> bool:
    if isinstance(run, SingleRunResult):  # fast path: no pydantic __getattr__ fallback
        return bool(run.transcript)
    return bool(getattr(run, "messages", None) or getattr(run, "transcript", None))


def _verdict(run: Any) -> str:
    status = getattr(run, "status", None) or ("passed" if _passed(run) else "failed")
    css = "ok" if status == "passed" else "bad"
    lines = [f"<b>{_e(status)}</b>"]
    reasoning = getattr(run, "reasoning", None)
    if reasoning:
        lines.append(_e(reasoning, 1000))
    for criterion in getattr(run, "passed_criteria", None) or []:
        lines.append(f"✔ {_e(criterion, 300)}")
    for criterion in getattr(run, "failed_criteria", None) or []:
        lines.append(f"✘ {_e(criterion, 300)}")
    evaluation = getattr(run, "eval_result", None)
    if evaluation is not None and evaluation.matches and not reasoning:
        lines.append(_e(evaluation.summary(), 1500).replace("\n", "<br>"))
    error = getattr(run, "error", None)
    if error is not None:
        lines.append(f"error: {_e(str(error))}")
    return f"<div class='verdict {css}'>{'<br>'.join(lines)}</div>"


class Explorer(widgets.VBox):
    """Tabs over one result; ``explorer.tab`` is the Tab, ``explorer.result`` the result shown.

    Args:
        result: a BatchResult, a ScenarioBatch or anything with ``runs``.
        page_size: runs per page in the Runs tab and per prompt in the Prompts tab.
        max_options: the most prompts (or runs) a dropdown lists; the rest are reachable
            through the Runs tab's filters and the DataFrames.
        charts: draw the Overview charts: ``"auto"`` (now, or behind a button above 20,000
            runs), ``True`` (now) or ``False``.
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
        self.runs: list[Any] = list(getattr(result, "runs", []))
        self.page_size = max(1, page_size)
        self.max_options = max(1, max_options)
        self.stats = prompt_stats(self.runs)
        self.groups = failure_groups(self.runs)
        self._by_prompt: dict[str, list[int]] = {}
        for index, run in enumerate(self.runs):
            self._by_prompt.setdefault(getattr(run, "prompt", ""), []).append(index)
        self.status_out = widgets.HTML()
        builders: list[tuple[str, Callable[[], widgets.Widget]]] = [
            ("Overview", lambda: self._overview(charts)),
            ("Prompts", self._prompts_tab),
            ("Runs", self._runs_tab),
            ("Failures", self._failures_tab),
            ("Transcripts", self._transcripts_tab),
            ("Export", self._export_tab),
        ]
        children = []
        for title, build in builders:
            try:
                children.append(build())
            except Exception as exc:  # one broken tab must not hide the others
                logger.exception("explorer: building the %s tab failed", title)
                children.append(
                    _html(f"<div class='err'>{_e(title)} tab failed: {_e(f'{type(exc).__name__}: {exc}')}</div>")
                )
        self.tab = widgets.Tab(children=children)
        scenarios = getattr(getattr(result, "metadata", None), "kind", None) == "scenarios"
        self.tab.titles = tuple("Scenarios" if t == "Prompts" and scenarios else t for t in TAB_TITLES)
        self.tab.add_class("russo-explorer-tabs")
        super().__init__(children=[self.tab], **kwargs)
        self.add_class("russo-explorer")

    # -- Overview --------------------------------------------------------------------
    def _overview(self, charts: bool | str) -> widgets.Widget:
        head = batch_html(self.result, max_prompts=10, max_failures=0, stats=self.stats, groups=[])
        parts: list[widgets.Widget] = [widgets.HTML(value=head)]
        self.chart_box = widgets.VBox()
        self.chart_box.add_class("russo-charts")
        parts.append(self.chart_box)
        if charts and self.runs:
            if charts == "auto" and len(self.runs) > LAZY_CHARTS_RUNS:
                button = widgets.Button(
                    description=f"Draw charts ({len(self.runs):,} runs)", icon="bar-chart", layout={"width": "auto"}
                )
                button.on_click(lambda _: self._draw_charts())
                note = _html(
                    "<div class='muted'>Charts of large batches are drawn on request "
                    "(a few seconds); or russo_nb.analysis.plot_pass_rates(result).</div>"
                )
                self.chart_box.children = [button, note]
            else:
                self._draw_charts()
        return widgets.VBox(parts)

    def _draw_charts(self) -> None:
        try:
            self.chart_box.children = self._charts()
        except Exception as exc:  # a chart failing must not break the explorer
            logger.exception("explorer: drawing charts failed")
            self.chart_box.children = [
                _html(f"<div class='err'>charts failed: {_e(f'{type(exc).__name__}: {exc}')}</div>")
            ]

    def _charts(self) -> list[widgets.Widget]:
        try:
            from .. import analysis
        except ImportError as exc:
            return [_html(f"<div class='muted'>charts unavailable: {_e(exc)}</div>")]
        from .figures import figure_png

        runs_frame = analysis.runs_frame(self.result)
        prompts_frame = analysis.prompts_frame(runs_frame)
        plots = [
            ("plot_pass_rates", prompts_frame),
            ("plot_flakiness", runs_frame),
            ("plot_latency", runs_frame),
            ("plot_pass_at_k", prompts_frame),
        ]
        images: list[widgets.Widget] = []
        notes: list[str] = []
        for name, data in plots:
            plot = getattr(analysis, name, None)
            if plot is None:
                notes.append(f"{name} not available")
                continue
            if name == "plot_flakiness" and len(self.stats) < 2:
                continue
            if name == "plot_latency" and runs_frame["latency_s"].isna().all():
                continue
            try:
                png = figure_png(plot, data, size=(5.6, 3.4))
            except Exception as exc:
                notes.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            images.append(
                widgets.Image(value=png, format="png", layout=widgets.Layout(width="100%", max_width="560px"))
            )
        box: list[widgets.Widget] = [
            widgets.GridBox(images, layout=widgets.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))"))
        ]
        if notes:
            box.append(_html("<div class='muted'>" + "<br>".join(_e(note) for note in notes) + "</div>"))
        return box

    # -- Prompts ---------------------------------------------------------------------
    def _prompt_options(self) -> tuple[list[tuple[str, str]], str]:
        stats = self.stats
        note = ""
        if len(stats) > self.max_options:
            stats = sorted(stats, key=lambda row: (row["rate"], -row["runs"]))[: self.max_options]
            note = f"listing the {self.max_options} prompts with the lowest pass rate of {len(self.stats)}"
        options = [(f"{row['passed']}/{row['runs']} · {_short(row['prompt'])}", row["prompt"]) for row in stats]
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
            parts.append(_html(f"<div class='muted'>{_e(note)}</div>"))
        parts.append(self.prompt_view)
        return widgets.VBox(parts)

    def _show_prompt(self, prompt: str) -> None:
        indices = self._by_prompt.get(prompt, [])
        runs = [self.runs[i] for i in indices]
        passed = sum(1 for run in runs if _passed(run))
        rate = passed / len(runs) if runs else 1.0
        header = (
            f"<div><b>{_e(prompt, 1000)}</b><br>{passed}/{len(runs)} passed ({_pct(rate)})"
            + (" <span class='flag'>⚑ flaky</span>" if 0 < passed < len(runs) else "")
            + "</div>"
        )
        children: list[widgets.Widget] = [_html(header)]
        shown = runs[: self.page_size]
        clips = [_clip_of(self.result, run) for run in shown]
        keys = {getattr(run, "audio_key", None) for run, clip in zip(shown, clips, strict=True) if clip is not None}
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
        if len(runs) > len(shown):
            children.append(
                _html(
                    f"<div class='muted'>showing {len(shown)} of {len(runs)} runs; "
                    "the Runs tab filters and pages through all of them</div>"
                )
            )
        self.prompt_view.children = children

    # -- Runs ------------------------------------------------------------------------
    def _runs_tab(self) -> widgets.Widget:
        from .runs_table import RunsBrowser

        self.runs_browser = RunsBrowser(self.result, page_size=self.page_size, max_prompt_options=self.max_options)
        return self.runs_browser.widget

    def open_run(self, index: int) -> None:
        """Show run ``index`` (its position in ``result.runs``) in the Runs tab."""
        self.runs_browser.open(index)
        self.tab.selected_index = TAB_TITLES.index("Runs")

    # -- Failures --------------------------------------------------------------------
    def _failures_tab(self, max_groups: int = 30) -> widgets.Widget:
        groups = self.groups
        if not groups:
            return _html("<div class='muted'>No failures: every run passed.</div>")
        from .html import _failure_html

        failing = sum(len(group) for _, group in groups)
        parts = [f"<div><b>{failing:,}</b> runs did not pass, in {len(groups):,} kinds (largest first).</div>"]
        parts += [_failure_html(key, group) for key, group in groups[:max_groups]]
        if len(groups) > max_groups:
            parts.append(
                f"<div class='muted'>{len(groups) - max_groups:,} more kinds omitted; "
                "use the Runs tab (status filter) or russo_nb.analysis.runs_frame(result).</div>"
            )
        return _html("".join(parts))

    # -- Transcripts -------------------------------------------------------------------
    def _transcripts_tab(self) -> widgets.Widget:
        with_conversation = [i for i, run in enumerate(self.runs) if _has_conversation(run)]
        candidates = with_conversation or range(len(self.runs))
        if not candidates:
            return _html("<div class='muted'>No runs.</div>")
        # failures first: they are the conversations worth reading
        failing = [i for i in candidates if self.runs[i].status != "passed"][: self.max_options]
        shown = failing + [i for i in candidates if self.runs[i].status == "passed"][: self.max_options - len(failing)]
        options = [
            (
                f"{'✔' if _passed(self.runs[i]) else '✘'} #{i} · {_short(getattr(self.runs[i], 'prompt', ''), 60)}"
                f" · run {getattr(self.runs[i], 'run_index', '')}",
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
        run = self.runs[index]
        if getattr(run, "messages", None) is not None and hasattr(run, "success"):
            self.transcript_view.value = scenario_result_html(run)
            return
        clips = getattr(self.result, "audio", None)
        body = transcript_html(
            _messages_of(run), verdict=_verdict(run), audio=clips if isinstance(clips, dict) else None
        )
        self.transcript_view.value = f"{STYLE}<div class='russo'>{body}</div>"

    # -- Export ----------------------------------------------------------------------
    def _export_tab(self) -> widgets.Widget:
        from .export_view import ExportPanel

        self.export_panel = ExportPanel(self.result)
        return self.export_panel.widget

    def export(self, path: str | Path) -> Path | None:
        """Write the result to ``path`` (format by suffix) and show its absolute path and a link."""
        return self.export_panel.export(path)


def explore(result: Any, **options: Any) -> Explorer:
    """Build the explorer for ``result`` (a BatchResult, a suite result, a ScenarioBatch)."""
    inner = getattr(result, "result", None)
    if inner is not None and not callable(inner) and hasattr(inner, "runs"):
        result = inner
    if not hasattr(result, "runs"):
        from ..errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"explore() needs a result with runs (a BatchResult or ScenarioBatch), got {type(result).__name__}"
        )
    return Explorer(result, **options)
