"""A standalone HTML report of a batch: one file that opens in any browser, no notebook needed.

Summary with honest intervals, charts (embedded SVG), a per-prompt table, failures with
call diffs (the notebook's own :func:`russo_nb.view.html.eval_diff_html`), and one audio player
per distinct clip (embedded WAV). Everything agents or users wrote is escaped. Failures and
players are capped so a 100,000-run report stays a few megabytes; the report says how many
were left out.
"""

from __future__ import annotations

import base64
import io
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..view import build_view
from ..view.html import STYLE as VIEW_STYLE
from ..view.html import escape_text, eval_diff_html, headline_html, middle, notes_html

__all__ = ["to_html", "write_report"]

logger = logging.getLogger("russo_nb")

STYLE = """
<style>
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
.muted{color:#777;font-size:12px} .warn{color:#a15c00}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:140px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;font-size:12px;width:100%} th,td{border-bottom:1px solid #eee;padding:3px 6px;
text-align:left;vertical-align:top} th{background:#f6f6f6;position:sticky;top:0} td.num,th.num{text-align:right}
.passed{color:#2e7d32} .failed{color:#c62828} .error,.timeout,.cancelled{color:#6a1b9a}
.fail{border:1px solid #eee;border-left:4px solid #d9534f;margin:8px 0;padding:6px 10px}
code{background:#f6f6f6;padding:1px 3px;border-radius:3px;font-size:12px}
img{max-width:100%;border:1px solid #eee;margin:6px 0} audio{height:32px;vertical-align:middle}
.clip{margin:6px 0}
</style>
"""


def _e(value: Any, limit: int | None = None) -> str:
    """Escape text for HTML with the notebook's one escaper (quotes too; what is cut is said)."""
    return escape_text("" if value is None else value, limit or 0)


def _pct(value: float) -> str:
    return "–" if value is None or value != value else f"{value:.1%}"


def _secs(value: float) -> str:
    return "–" if value is None or value != value else f"{value:.3f} s"


def _figure_svg(draw: Any, height: float, width: float = 10.0, left: float = 0.08) -> str:
    """Draw on a fresh (non-pyplot) Figure and return a data: URL of the chart as SVG.

    SVG with text kept as text (``svg.fonttype='none'``) renders several times faster than
    a PNG full of prompt labels, and the browser draws the letters. Margins are fixed
    (``left`` leaves room for prompt labels) rather than computed by a layout engine,
    which would lay out every label twice. Shown through ``<img>``, so nothing in it runs.
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "russo_nb"}):
        figure = Figure(figsize=(width, height), dpi=72)
        figure.subplots_adjust(left=left, right=0.86, top=1 - 0.45 / height, bottom=0.55 / height)
        ax = figure.subplots()
        draw(ax)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _charts(runs: Any, prompts: Any) -> list[tuple[str, str]]:
    """(title, data URL) for each chart that has something to show."""
    from ..analysis import plots

    many_runs = int(prompts["runs"].max()) > 1 if len(prompts) else False
    rows = min(len(prompts), 50)
    height = plots.fig_height(rows)
    labelled = 0.36  # room for prompt labels on the left
    charts: list[tuple[str, Any, float, float]] = [
        ("Pass rate per prompt", lambda ax: plots.plot_pass_rates(prompts, ax=ax), height, labelled),
    ]
    if many_runs:
        charts.append(("Flakiness", lambda ax: plots.plot_flakiness(runs, ax=ax, prompts=prompts), height, labelled))
        charts.append(("pass@k and pass^k", lambda ax: plots.plot_pass_at_k(prompts, ax=ax), 3.5, 0.08))
    if runs["latency_s"].notna().any():
        charts.append(("Latency", lambda ax: plots.plot_latency(runs, ax=ax), height, labelled))
    charts.append(("Match rates", lambda ax: plots.plot_match_rates(runs, ax=ax), 3.2, 0.08))
    out = []
    for title, draw, h, left in charts:
        try:
            out.append((title, _figure_svg(draw, h, left=left)))
        except Exception:  # a chart must never cost the whole report
            logger.exception("russo_nb report: chart %r failed", title)
    return out


def _failure(run: Any, clip_ids: dict[str, str]) -> str:
    status = run.status or "failed"
    head = f"<div><b class='{_e(status)}'>{_e(status)}</b> · run {run.run_index} · <code>{_e(run.prompt, 300)}</code>"
    if run.latency_s is not None:
        head += f" <span class='muted'>{run.latency_s:.3f} s</span>"
    if run.audio_key and run.audio_key in clip_ids:
        head += f" <a href='#{clip_ids[run.audio_key]}'>audio</a>"
    head += "</div>"
    lines = []
    if run.error is not None:
        lines.append(f"<div class='error'>{_e(str(run.error), 1000)}</div>")
        trace = getattr(run.error, "traceback", "")
        if trace:
            lines.append(
                f"<details class='traceback'><summary>traceback</summary><pre>{_e(trace, 20_000)}</pre></details>"
            )
    lines += _heard(run)
    ev = run.eval_result
    if ev is None:
        return f"<div class='fail'>{head}{''.join(lines)}</div>"
    if ev.matches or not ev.expected:  # the notebook's diff: expected vs what the agent called, extras flagged
        lines.append(f"<div class='russo'>{eval_diff_html(ev)}</div>")
        return f"<div class='fail'>{head}{''.join(lines)}</div>"
    # an evaluator that matched nothing call by call (a judge, a custom evaluator): both sides as they are
    lines.append(
        f"<div>expected <code>{_e('; '.join(map(str, ev.expected)), 300)}</code>, got "
        f"<code>{_e('; '.join(map(str, ev.actual)) or 'no call', 300)}</code></div>"
    )
    if ev.details:
        lines.append(f"<div class='muted'>{_e(ev.details, 500)}</div>")
    return f"<div class='fail'>{head}{''.join(lines)}</div>"


def _heard(run: Any, turns: int = 6) -> list[str]:
    """What the agent heard or said (its response text) and the last turns of a conversation."""
    lines = []
    response = getattr(run, "response", None)
    text = getattr(response, "text", None) if response is not None else None
    if text:
        lines.append(f"<div class='muted'>agent heard / said: <code>{_e(text, 500)}</code></div>")
    transcript = getattr(run, "transcript", None) or []
    for turn in transcript[-turns:]:
        if isinstance(turn, dict):
            role, content = turn.get("role", "?"), turn.get("content", "")
        else:
            role, content = "?", turn
        lines.append(f"<div class='muted'>{_e(role, 40)}: {_e(content, 300)}</div>")
    return lines


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
        key = getattr(run, "audio_key", None)
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
        label = _e("; ".join(prompts), 200) if prompts else "<i>unused clip</i>"
        extra = f" <span class='muted'>effects: {_e('; '.join(effects), 120)}</span>" if effects else ""
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


def _metadata_rows(result: Any) -> str:
    meta = getattr(result, "metadata", None)
    if meta is None:
        return ""
    items = []
    for label, value in (
        ("batch", getattr(meta, "batch_id", None)),
        ("kind", getattr(meta, "kind", None)),
        ("agent", getattr(meta, "agent", None)),
        ("synthesizer", getattr(meta, "synthesizer", None)),
        ("evaluator", getattr(meta, "evaluator", None)),
        ("evaluator settings", getattr(meta, "evaluator_params", None) or None),
        ("effects", ", ".join(getattr(meta, "effects", []) or []) or None),
        ("seed", getattr(meta, "seed", None)),
        ("runs per prompt", getattr(meta, "runs_per_prompt", None)),
        ("max concurrency", getattr(meta, "max_concurrency", None)),
        ("timeout", getattr(meta, "timeout", None)),
        ("started", getattr(meta, "started_at", None)),
        ("finished", getattr(meta, "finished_at", None)),
        ("duration", f"{meta.duration_s:.1f} s" if getattr(meta, "duration_s", None) is not None else None),
        ("tags", ", ".join(getattr(meta, "tags", []) or []) or None),
        ("parameters", getattr(meta, "params", None) or None),
    ):
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat(timespec="seconds")
        items.append(f"<tr><th>{_e(label)}</th><td>{_e(value, 500)}</td></tr>")
    return f"<table style='width:auto'>{''.join(items)}</table>"


def _prompt_table(prompts: Any, max_prompts: int) -> str:
    from ..thresholds import SMALL_SAMPLE_RUNS

    ordered = prompts.sort_values(["pass_rate", "prompt"]).head(max_prompts)
    ks = [k for k in prompts.attrs.get("ks", []) if k in (1, 3, 5, 10) or k == max(prompts.attrs.get("ks", [1]))]
    head = (
        "<tr><th>prompt</th><th class='num'>runs</th><th class='num'>passed</th><th class='num'>pass rate</th>"
        "<th class='num'>95% interval</th><th class='num'>flakiness</th><th class='num'>errors</th>"
        "<th class='num'>match</th><th class='num'>latency p50 / p95</th>"
        + "".join(f"<th class='num'>pass^{k}</th>" for k in ks)
        + "</tr>"
    )
    cols = {name: ordered[name].tolist() for name in ordered.columns}
    body = []
    for i in range(len(ordered)):
        flag = (
            f" <span class='warn' title='fewer than {SMALL_SAMPLE_RUNS} finished runs'>small n</span>"
            if cols["small_sample"][i]
            else ""
        )
        flaky = f"{cols['flakiness'][i]:.2f}" + (" ⚡" if cols["flaky"][i] else "")
        hats = "".join(f"<td class='num'>{_pct(cols[f'pass^{k}'][i])}</td>" for k in ks)
        body.append(
            f"<tr><td>{_e(cols['prompt'][i], 200)}</td><td class='num'>{cols['runs'][i]}</td>"
            f"<td class='num'>{cols['passed'][i]}</td><td class='num'>{_pct(cols['pass_rate'][i])}{flag}</td>"
            f"<td class='num'>{_pct(cols['wilson_low'][i])} – {_pct(cols['wilson_high'][i])}</td>"
            f"<td class='num'>{flaky}</td><td class='num'>{cols['errors'][i]}</td>"
            f"<td class='num'>{_pct(cols['match_rate'][i])}</td>"
            f"<td class='num'>{_secs(cols['latency_p50'][i])} / {_secs(cols['latency_p95'][i])}</td>{hats}</tr>"
        )
    note = ""
    if len(prompts) > len(ordered):
        note = f"<div class='muted'>{len(prompts) - len(ordered)} more prompts omitted (lowest pass rates shown).</div>"
    legend = (
        "<div class='muted'>runs: finished runs (cancelled ones are not counted). 95% interval: Wilson. "
        "flakiness: 4·c·(n−c)/(n·(n−1)), 0 when every run agrees, 1 at a coin flip "
        "(⚡ = both passed and failed). pass^k: chance that k runs drawn from this prompt's runs all pass (τ-bench). "
        f"small n: fewer than {SMALL_SAMPLE_RUNS} finished runs.</div>"
    )
    return f"<table>{head}{''.join(body)}</table>{note}{legend}"


def to_html(
    result: Any,
    *,
    title: str | None = None,
    charts: bool = True,
    max_prompts: int = 500,
    max_failures: int = 100,
    max_audio: int = 20,
    max_audio_bytes: int = 2_000_000,
) -> str:
    """The whole report as one HTML document (a string)."""
    from ..analysis.frames import prompts_frame, runs_frame
    from ..analysis.summary import summarize
    from ..thresholds import MEAN_OVER_PROMPTS, PER_RUN, confidence_label
    from ..types import as_batch_result

    if not hasattr(result, "runs") or hasattr(result, "to_batch_result"):
        result = as_batch_result(result)
    view = build_view(result, groups=False)
    runs = runs_frame(result)
    prompts = prompts_frame(runs)
    meta = getattr(result, "metadata", None)
    name = title or getattr(meta, "name", None) or "russo_nb report"
    summary = summarize(runs)  # finished runs are the denominator; cancelled runs are counted, not scored
    total = summary.runs
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(name)}</title>{STYLE}</head><body>",
        f"<h1>{_e(name)}</h1><div class='muted'>russo_nb report · generated "
        f"{datetime.now().isoformat(timespec='seconds')}</div>",
        f"{VIEW_STYLE}<div class='russo'>{headline_html(view)}{notes_html(view)}</div>",
    ]
    cards = [("finished runs", f"{total}"), ("prompts", f"{summary.prompts}")]
    if summary.cancelled:
        cards.append(("cancelled (not counted)", f"{summary.cancelled}"))
    warnings: list[str] = list(summary.warnings)
    if total:
        level = confidence_label(summary.confidence)
        cards.append((f"pass rate ({PER_RUN})", f"{summary.pass_rate:.1%}"))
        cards.append((f"pass rate ({MEAN_OVER_PROMPTS})", f"{summary.mean_prompt_pass_rate:.1%}"))
        cards.append(
            (f"{level} CI (clustered by prompt)", f"{summary.clustered_low:.1%} – {summary.clustered_high:.1%}")
        )
        cards.append(("flaky prompts", f"{summary.n_flaky}/{summary.prompts} ({_pct(summary.share_flaky)})"))
        cards.append(("mixed (passed and failed)", f"{summary.n_mixed}/{summary.prompts}"))
        cards.append(("failed / errors", f"{total - summary.passed - summary.errors} / {summary.errors}"))
        finished = runs["status"].astype(object) != "cancelled"
        cards.append(("match rate", _pct(float(np.nanmean(runs["match_rate"][finished])))))
        latency = summary.latency
        if latency is not None and latency.n:
            mark = " (lower bounds: timed-out runs censored)" if latency.lower_bound else ""
            cards.append(("latency p50 / p95" + mark, f"{latency.figure(latency.p50)} / {latency.figure(latency.p95)}"))
    parts.append(
        "<div class='cards'>"
        + "".join(f"<div class='card'><span class='muted'>{_e(k)}</span><b>{_e(v)}</b></div>" for k, v in cards)
        + "</div>"
    )
    if warnings:
        parts.append("".join(f"<div class='warn'>⚠ {_e(w)}</div>" for w in dict.fromkeys(warnings)))
    parts.append(_metadata_rows(result))
    if charts and total:
        rendered = _charts(runs, prompts)
        if rendered:
            parts.append("<h2>Charts</h2>")
            parts += [f"<div><img alt='{_e(t)}' src='{url}'></div>" for t, url in rendered]
    if total:
        parts.append(f"<h2>Prompts ({len(prompts)})</h2>")
        parts.append(_prompt_table(prompts, max_prompts))
    if view.not_run:
        names = ", ".join(_e(middle(row.prompt, 60)) for row in view.not_run[:20])
        more = f" and {len(view.not_run) - 20} more" if len(view.not_run) > 20 else ""
        parts.append(
            f"<div class='muted'>{len(view.not_run)} {view.noun}{'s' if len(view.not_run) != 1 else ''} not run "
            f"(every run cancelled): {names}{more}</div>"
        )
    audio_html, clip_ids = _audio_section(result, max_audio, max_audio_bytes)
    failures = [run for run in result.runs if run.status not in ("passed", "cancelled")]
    finished = "Finished runs" if view.cancelled else "Runs"
    parts.append(f"<h2>{finished} that did not pass ({len(failures)})</h2>")
    if not failures:
        every = "finished run" if view.cancelled else "run"
        parts.append(f"<div class='passed'>Every {every} passed.</div>")
    parts += [_failure(run, clip_ids) for run in failures[:max_failures]]
    if len(failures) > max_failures:
        parts.append(
            f"<div class='muted'>{len(failures) - max_failures} more runs that did not pass are omitted; "
            "see russo_nb.analysis.runs_frame(result) or export the batch to CSV.</div>"
        )
    parts.append(audio_html)
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
