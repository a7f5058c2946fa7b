"""A standalone HTML report of a batch: one file that opens in any browser, no notebook needed.

It is the notebook's view of the batch (:mod:`russo_nb.results.view`): the same headline, the same
prompt table (lowest pass rates first, "N more"), the same failure signatures grouped across
prompts (each with "show all"), the same stylesheet (light, and dark when the reader's
system prefers it), plus the statistics, charts (inline SVG in the page's text colour) and
one audio player per distinct clip (embedded WAV). A search box filters prompts and
failures without a kernel. Everything agents or users wrote is escaped; caps keep a
100,000-run report a few megabytes, and what was left out is said.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..view import build_view
from ..view.html import failures_html, headline_html, metadata_html, notes_html, prompt_table_html
from ..view.kit import MAX_ROWS, STYLE, escape_text, middle, pct, seconds

__all__ = ["to_html", "write_report"]

logger = logging.getLogger("russo_nb")

CHART_PROMPTS = 30
"""Charts over prompts show at most this many (the least passing / most flaky), as the explorer's."""

SEARCH_SCRIPT = """<script>
(function(){var box=document.getElementById('russo-search');if(!box)return;
var rows='.russo-report table.russo-prompts tr,.russo-report div.fail,.russo-report .russo-group-runs tr';
box.addEventListener('input',function(){var q=box.value.trim().toLowerCase();
document.querySelectorAll(rows).forEach(function(el){if(el.querySelector('th'))return;
el.style.display=!q||el.textContent.toLowerCase().indexOf(q)>=0?'':'none';});
if(q)document.querySelectorAll('.russo-report details').forEach(function(d){d.open=true;});});})();
</script>"""
"""Filters the prompt rows and failure signatures as the reader types (a static page, no kernel)."""


def _charts(runs: Any, prompts: Any) -> list[tuple[str, str]]:
    """(title, inline SVG) for each chart that has something to show; drawn in ``currentColor``."""
    from ..analysis import plots
    from ..analysis.chart_theme import figure_svg

    many_runs = int(prompts["runs"].max()) > 1 if len(prompts) else False
    height = plots.fig_height(min(len(prompts), CHART_PROMPTS))
    charts: list[tuple[str, Any, Any, tuple[float, float], dict[str, Any]]] = [
        ("Pass rate per prompt", plots.plot_pass_rates, prompts, (9.0, height), {"max_prompts": CHART_PROMPTS}),
    ]
    if many_runs:
        charts.append(
            (
                "Flakiness",
                plots.plot_flakiness,
                runs,
                (9.0, height),
                {"prompts": prompts, "max_prompts": CHART_PROMPTS},
            )
        )
        charts.append(("pass@k and pass^k", plots.plot_pass_at_k, prompts, (7.0, 3.6), {}))
    if runs["latency_s"].notna().any():
        charts.append(("Latency", plots.plot_latency, runs, (9.0, height), {"max_prompts": CHART_PROMPTS}))
    charts.append(("Match rates", plots.plot_match_rates, runs, (7.0, 3.2), {}))
    out = []
    for title, plot, data, size, options in charts:
        try:
            out.append((title, figure_svg(plot, data, size=size, **options)))
        except Exception:  # a chart must never cost the whole report
            logger.exception("russo_nb report: chart %r failed", title)
    return out


def _robustness_chart(runs: Any, factors: list[str]) -> str:
    """A sweep's pass rate against SNR per voice as inline SVG ('' when it has no noise levels)."""
    if "snr_db" not in runs.columns:
        return ""
    from ..analysis.chart_theme import figure_svg
    from ..analysis.sweep_plots import plot_robustness
    from ..view.sweep import THRESHOLD_AT

    hue = "voice" if "voice" in factors else None
    try:
        svg = figure_svg(plot_robustness, runs, size=(8.0, 3.8), hue=hue, at=THRESHOLD_AT)
    except Exception:  # a chart must never cost the whole report
        logger.exception("russo_nb report: the robustness chart failed")
        return ""
    return f"<figure class='chart' aria-label='Pass rate against SNR'>{svg}</figure>"


def _statistics(runs: Any, view: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """The report's statistics cards (label, value) and warnings; finished runs are the denominator."""
    from ...model.thresholds import MEAN_OVER_PROMPTS, PER_RUN, confidence_label
    from ..analysis.summary import summarize

    summary = summarize(runs)
    total = summary.runs
    cards = [("finished runs", f"{total:,}"), ("prompts", f"{summary.prompts:,}")]
    if summary.cancelled:
        cards.append(("cancelled (not counted)", f"{summary.cancelled:,}"))
    if total:
        level = confidence_label(summary.confidence)
        cards.append((f"pass rate ({PER_RUN})", pct(summary.pass_rate)))
        cards.append((f"pass rate ({MEAN_OVER_PROMPTS})", pct(summary.mean_prompt_pass_rate)))
        cards.append(
            (f"{level} CI (clustered by prompt)", f"{pct(summary.clustered_low)} – {pct(summary.clustered_high)}")
        )
        cards.append(("flaky prompts", f"{summary.n_flaky}/{summary.prompts} ({pct(summary.share_flaky)})"))
        cards.append(("mixed (passed and failed)", f"{summary.n_mixed}/{summary.prompts}"))
        cards.append(("failed / errors", f"{total - summary.passed - summary.errors} / {summary.errors}"))
        finished = runs["status"].astype(object) != "cancelled"
        match = runs["match_rate"][finished]
        cards.append(("match rate", pct(float(np.nanmean(match))) if len(match) else pct(None)))
        latency = summary.latency
        if latency is not None and latency.n:
            mark = " (lower bounds: timed-out runs censored)" if latency.lower_bound else ""
            at_least = "≥ " if latency.lower_bound else ""
            cards.append(
                ("latency p50 / p95" + mark, f"{at_least}{seconds(latency.p50)} / {at_least}{seconds(latency.p95)}")
            )
    return cards, list(dict.fromkeys(summary.warnings))


def _audio_section(result: Any, max_audio: int, max_audio_bytes: int) -> tuple[str, dict[str, str]]:
    store = getattr(result, "audio", None) or {}
    if not store:
        return "", {}
    if max_audio <= 0:
        return (
            f"<h2>Audio</h2><div class='muted'>{len(store)} clips not included in this report "
            "(export with include_audio to embed players).</div>",
            {},
        )
    users: dict[str, list[Any]] = {}
    for run in result.runs:
        key = run.audio_key
        if key and key in store:
            users.setdefault(key, []).append(run)
    keys = list(users) + [key for key in store if key not in users]
    players, ids = [], {}
    budget = max_audio_bytes
    for index, key in enumerate(keys):
        if len(players) >= max_audio:
            break
        wav = store[key].to_wav_bytes()
        if len(wav) * 4 // 3 > budget:
            continue
        budget -= len(wav) * 4 // 3
        clip_id = f"clip-{index}"
        ids[key] = clip_id
        runs = users.get(key, [])
        prompts = sorted({run.prompt for run in runs})
        effects = sorted({", ".join(run.effects) for run in runs if run.effects})
        label = escape_text("; ".join(prompts), 200) if prompts else "<i>unused clip</i>"
        extra = f" <span class='muted'>effects: {escape_text('; '.join(effects), 120)}</span>" if effects else ""
        mime = "audio/wav" if store[key].format in ("wav", "pcm") else f"audio/{store[key].format}"
        encoded = base64.b64encode(wav).decode("ascii")
        players.append(
            f"<div class='clip' id='{clip_id}'><audio controls preload='none' src='data:{mime};base64,{encoded}'>"
            f"</audio> {label}{extra} "
            f"<span class='muted'>({len(runs)} runs, {store[key].duration_s:.1f} s)</span></div>"
        )
    omitted = len(keys) - len(players)
    note = (
        f"<div class='muted'>{omitted} more clips not embedded (cap: {max_audio} players, "
        f"{max_audio_bytes // 1_000_000} MB).</div>"
        if omitted
        else ""
    )
    return f"<h2>Audio ({len(keys)} distinct clips)</h2>{''.join(players)}{note}", ids


def to_html(
    result: Any,
    *,
    title: str | None = None,
    charts: bool = True,
    max_prompts: int = MAX_ROWS,
    max_failures: int = 100,
    max_audio: int = 20,
    max_audio_bytes: int = 2_000_000,
) -> str:
    """The whole report as one HTML document (a string).

    ``max_prompts`` prompt rows show before "N more prompts"; ``max_failures`` failure
    signatures are listed (each with all its runs behind "show all").
    """
    from ...model.types import as_batch_result
    from ..analysis.frames import prompts_frame, runs_frame
    from ..view.model import result_of

    result = result_of(result)  # a suite's combined batch; a scenario batch as it is (its runs are Runs)
    if not hasattr(result, "runs"):
        result = as_batch_result(result)  # names what it got instead of a batch
    view = build_view(result)
    runs = runs_frame(result)
    prompts = prompts_frame(runs)
    meta = getattr(result, "metadata", None)
    name = title or getattr(meta, "name", None) or "russo_nb report"
    cards, warnings = _statistics(runs, view)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='color-scheme' content='light dark'>"
        f"<title>{escape_text(name)}</title>{STYLE}</head><body class='russo-page'>",
        "<div class='russo russo-report'>",
        f"<h1>{escape_text(name)}</h1><div class='muted'>russo_nb report · generated "
        f"{datetime.now().isoformat(timespec='seconds')}</div>",
        headline_html(view),
        notes_html(view),
        metadata_html(meta, full=True),
        "<table class='russo-stats' style='width:auto'>"
        + "".join(f"<tr><th>{escape_text(k)}</th><td class='num'>{escape_text(v)}</td></tr>" for k, v in cards)
        + "</table>",
        "".join(f"<div class='note'>⚠ {escape_text(w)}</div>" for w in warnings),
        "<input id='russo-search' class='russo-search' type='search' "
        "placeholder='Search prompts, calls and errors…' aria-label='Search prompts and failures'>",
    ]
    if view.finished:
        split = f" · {len(view.rows):,} rows by {escape_text(', '.join(view.by))}" if view.by else ""
        parts.append(f"<h2>{view.noun.capitalize()}s ({view.prompt_count:,}{split})</h2>")
        parts.append(prompt_table_html(view, max_prompts))
        parts.append(
            "<div class='muted'>Passed / pass rate: finished runs (cancelled ones are not counted). CI: Wilson. "
            "⚑ flaky: its Wilson interval stays 5 points clear of 0% and 100% (it reliably passes and fails).</div>"
        )
    if view.not_run:
        names = ", ".join(escape_text(middle(view.row_label(row), 60)) for row in view.not_run[:20])
        more = f" and {len(view.not_run) - 20} more" if len(view.not_run) > 20 else ""
        parts.append(f"<div class='muted'>{escape_text(view.not_run_text)} (every run cancelled): {names}{more}</div>")
    from ...execution.sweep import sweep_factors

    factors = sweep_factors(result)
    if factors and view.finished and ("voice" in factors or "snr_db" in factors):
        from ..view.sweep import sweep_section_html

        parts.append(sweep_section_html(runs, factors, chart=_robustness_chart(runs, factors) if charts else ""))
    if charts and view.finished:
        rendered = _charts(runs, prompts)
        if rendered:
            parts.append("<h2>Charts</h2>")
            parts += [f"<figure class='chart' aria-label='{escape_text(t)}'>{svg}</figure>" for t, svg in rendered]
    audio_html, clip_ids = _audio_section(result, max_audio, max_audio_bytes)
    finished = "Finished runs" if view.cancelled else "Runs"
    parts.append(f"<h2>{finished} that did not pass ({view.failing:,})</h2>")
    if not view.total:
        parts.append("<div class='muted'>No runs.</div>")
    elif not view.failing:
        every = "finished run" if view.cancelled else "run"
        parts.append(f"<div>Every {every} passed.</div>")
    else:
        parts.append(failures_html(view, max_failures, clip_ids=clip_ids))
    parts.append(audio_html)
    parts.append("</div>")
    parts.append(SEARCH_SCRIPT)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(result: Any, path: str | Path, **options: Any) -> Path:
    """Write :func:`to_html` of ``result`` to ``path`` (parents created) and return the path."""
    from .files import atomic_file

    target = Path(path)
    text = to_html(result, **options)
    with atomic_file(target) as out:  # whole or not at all; a lone surrogate is written as an escape
        out.write(text.encode("utf-8", "backslashreplace"))
    return target
