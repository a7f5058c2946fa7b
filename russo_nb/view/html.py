"""The batch view as HTML: the style, the escaper, the headline, the prompt table and the failures.

Shared by the notebook (:mod:`russo_nb.notebook.html`) and the standalone report
(:mod:`russo_nb.report.html`), which both import it; it lives beside the view model so
neither of those imports the other and ``view`` imports nothing above it. Everything an
agent or a user wrote goes through :func:`escape_text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING, Any

from ..thresholds import confidence_label
from .model import RATE_LABEL, _row_order, pct

if TYPE_CHECKING:
    from .model import BatchView, PromptRow

__all__ = [
    "MAX_FAILURE_GROUPS",
    "MAX_HIDDEN_ROWS",
    "MAX_PROMPTS",
    "MAX_TEXT",
    "STYLE",
    "bar_html",
    "batch_html",
    "call_diff_html",
    "escape_text",
    "eval_diff_html",
    "failure_groups",
    "failure_html",
    "failures_html",
    "headline_html",
    "middle",
    "notes_html",
    "prompt_stats",
    "prompt_table_html",
    "run_passed",
]

MAX_PROMPTS = 50
MAX_FAILURE_GROUPS = 20
MAX_TEXT = 400
MAX_HIDDEN_ROWS = 500
"""A table offers at most this many hidden rows behind a "show" toggle; the rest are in the DataFrames."""

STYLE = """<style>
.russo{--russo-fg:var(--jp-content-font-color1,#1a1a1a);--russo-muted:var(--jp-content-font-color2,#4d4d4d);
--russo-border:var(--jp-border-color2,#d0d0d0);--russo-head-bg:rgba(127,127,127,.14);--russo-ok:#1e6b24;
--russo-bad:#b3261e;--russo-warn:#8a4600;--russo-flag:#8a4600;--russo-call:#5b1780;--russo-del-bg:#fde2e0;
--russo-del-fg:#8e1c16;--russo-ins-bg:#dcf3de;--russo-ins-fg:#1b5e20;--russo-got-bg:#fff0d6;--russo-got-fg:#6d3a00;--russo-err-bg:#fdecea;--russo-err-fg:#8e1c16;
--russo-user-bg:#e3f2fd;--russo-user-fg:#0d2a4a;--russo-bot-bg:#f1f1f1;--russo-bot-fg:#1f1f1f;
--russo-tool-bg:#fff8e1;--russo-tool-fg:#4e3b00;--russo-bar-bg:#f2c4c4;--russo-bar-fg:#3d8b40;
font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.4;max-width:1100px;
color:var(--russo-fg)}
body[data-jp-theme-light="false"] .russo{--russo-muted:var(--jp-content-font-color2,#bdbdbd);--russo-ok:#2e7d32;
--russo-bad:#c62828;--russo-warn:#a84300;--russo-flag:#ffb74d;--russo-call:#e1bee7;--russo-del-bg:#5c1a1a;
--russo-del-fg:#ffcdd2;--russo-ins-bg:#1b4d1f;--russo-ins-fg:#c8e6c9;--russo-got-bg:#4d3300;--russo-got-fg:#ffe0b2;--russo-err-bg:#4a1616;--russo-err-fg:#ffcdd2;
--russo-user-bg:#12375c;--russo-user-fg:#e3f2fd;--russo-bot-bg:#333;--russo-bot-fg:#eee;--russo-tool-bg:#3d3200;
--russo-tool-fg:#fff3c4;--russo-bar-bg:#6b2b2b;--russo-bar-fg:#4caf50}
.russo table{border-collapse:collapse;margin:6px 0!important;width:100%;table-layout:auto!important;
color:var(--russo-fg)}
.russo th,.russo td{border-bottom:1px solid var(--russo-border);padding:3px 8px;text-align:left!important;
vertical-align:top;color:var(--russo-fg)}
.russo table.russo-prompts th.prompt,.russo table.russo-prompts td.prompt{width:50%;min-width:16em}
.russo .fail table{width:auto;margin:4px 0!important}
.russo th{background:var(--russo-head-bg);font-weight:600}
.russo .num{text-align:right!important;font-variant-numeric:tabular-nums;white-space:nowrap}
.russo .badge{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-weight:600;font-size:12px}
.russo .ok{background:var(--russo-ok)}.russo .bad{background:var(--russo-bad)}.russo .warn{background:var(--russo-warn)}
.russo .muted{color:var(--russo-muted)}.russo td.rate{white-space:nowrap}
.russo .notrun{color:var(--russo-muted);font-style:italic}
.russo .bar{display:inline-block;width:110px;height:10px;background:var(--russo-bar-bg);border-radius:2px;
vertical-align:middle}
.russo .bar>span{display:block;height:100%;background:var(--russo-bar-fg);border-radius:2px}
.russo .flag{color:var(--russo-flag);font-weight:600;white-space:nowrap}
.russo code{font-family:var(--jp-code-font-family,monospace);font-size:12px;white-space:pre-wrap;color:inherit;
background:transparent}
.russo del{background:var(--russo-del-bg);text-decoration:none;color:var(--russo-del-fg)}
.russo ins{background:var(--russo-got-bg);text-decoration:none;color:var(--russo-got-fg)}
.russo .side{display:inline-block;min-width:7.5em;color:var(--russo-muted,inherit);font-size:0.85em}
.russo details{margin:6px 0}.russo summary{cursor:pointer;font-weight:600}
.russo .fail{border-left:3px solid var(--russo-bad);padding:2px 8px;margin:6px 0}
.russo .chat{display:flex;flex-direction:column;gap:4px;margin:6px 0;max-width:760px}
.russo .msg{padding:6px 10px;border-radius:10px;max-width:80%;white-space:pre-wrap}
.russo .msg.user{align-self:flex-end;background:var(--russo-user-bg);color:var(--russo-user-fg)}
.russo .msg.assistant{align-self:flex-start;background:var(--russo-bot-bg);color:var(--russo-bot-fg)}
.russo .msg.tool{align-self:flex-start;background:var(--russo-tool-bg);color:var(--russo-tool-fg);
font-family:monospace;font-size:12px}
.russo .msg.system{align-self:center;background:transparent;color:var(--russo-muted);font-style:italic}
.russo .msg .role{font-size:11px;color:inherit;opacity:.85;display:block}
.russo .msg audio{display:block;height:32px;margin-top:4px}
.russo .call{display:block;font-family:monospace;font-size:12px;color:var(--russo-call)}
.russo .verdict{padding:6px 10px;border-radius:6px;margin:4px 0}
.russo .verdict.ok{background:var(--russo-ins-bg);color:var(--russo-ins-fg)}
.russo .verdict.bad{background:var(--russo-err-bg);color:var(--russo-err-fg)}
.russo .err{background:var(--russo-err-bg);color:var(--russo-err-fg);padding:6px 10px;border-radius:4px;
white-space:pre-wrap}
.russo .note{border-left:3px solid var(--russo-warn);padding:2px 8px;margin:4px 0}
</style>"""


def escape_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Escape ``value`` for HTML, cutting very long text with a note of what was cut."""
    text = value if isinstance(value, str) else str(value)
    if limit and len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    return escape(text, quote=True)


_e = escape_text


def middle(text: str, width: int = 80) -> str:
    """``text`` on one line, shortened in the middle ("Book a flight … to Rome") so variants stay distinct."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    head = (width - 1) // 2 + (width - 1) % 2
    tail = width - 1 - head
    return f"{text[:head]}…{text[-tail:] if tail else ''}"


def _prompt_cell(prompt: str, width: int = 160) -> str:
    """A prompt in a table cell: the middle cut when long, the whole text in the tooltip."""
    shown = middle(prompt, width)
    title = f" title='{_e(prompt, 2000)}'" if shown != " ".join(prompt.split()) else ""
    return f"<td class='prompt'{title}>{_e(shown, 0)}</td>"


def _pct(value: float) -> str:
    return pct(value)


def bar_html(rate: float) -> str:
    width = max(0.0, min(1.0, rate)) * 100
    return f'<span class="bar" title="{_pct(rate)}"><span style="width:{width:.1f}%"></span></span>'


def run_passed(run: Any) -> bool:
    status = getattr(run, "status", None)
    if status is not None:
        return status == "passed"
    return bool(getattr(run, "passed", False) or getattr(run, "success", False))


def prompt_stats(runs: Iterable[Any]) -> list[dict[str, Any]]:
    """Per prompt, in first-seen order, as dicts (the view's rows; finished runs are the denominator)."""
    from .model import _rows

    return [
        {
            "prompt": row.prompt,
            "runs": row.finished,
            "passed": row.passed,
            "cancelled": row.cancelled,
            "rate": row.rate,
            "match": row.match,
            "latency": row.latency,
            "statuses": dict(row.statuses),
            "flaky": row.flaky,
        }
        for row in _rows(list(runs))
    ]


# -- calls and diffs -----------------------------------------------------------------
def _arg(key: str, value: Any) -> str:
    return f"{_e(key)}={_e(repr(value), 200)}"


def call_diff_html(expected: Any, actual: Any | None) -> str:
    """Expected vs actual call, argument by argument: differing values in <del>/<ins>."""
    if actual is None:
        want = ", ".join(_arg(k, v) for k, v in expected.arguments.items())
        return f"<code><del>{_e(expected.name)}({want})</del></code> <span class='muted'>→ no such call</span>"
    want_parts, got_parts = [], []
    for key, value in expected.arguments.items():
        if key in actual.arguments and actual.arguments[key] == value:
            want_parts.append(_arg(key, value))
        else:
            want_parts.append(f"<del>{_arg(key, value)}</del>")
    for key, value in actual.arguments.items():
        if key in expected.arguments and expected.arguments[key] == value:
            got_parts.append(_arg(key, value))
        elif key in expected.arguments:
            got_parts.append(f"<ins>{_arg(key, value)}</ins>")
        else:
            got_parts.append(f"<span class='muted'>{_arg(key, value)}</span>")
    want_name = _e(expected.name) if expected.name == actual.name else f"<del>{_e(expected.name)}</del>"
    got_name = _e(actual.name) if expected.name == actual.name else f"<ins>{_e(actual.name)}</ins>"
    return (
        f"<span class='side'>expected</span><code>{want_name}({', '.join(want_parts)})</code><br>"
        f"<span class='side'>agent called</span><code>{got_name}({', '.join(got_parts)})</code>"
    )


def eval_diff_html(evaluation: Any) -> str:
    """A table of every expected call vs what the agent did, plus unmatched extra calls."""
    if evaluation is None:
        return ""
    rows = []
    used: set[int] = set()
    for match in evaluation.matches:
        mark = "<span class='badge ok'>ok</span>" if match.matched else "<span class='badge bad'>miss</span>"
        details = f"<br><span class='muted'>{_e(match.details)}</span>" if match.details and not match.matched else ""
        rows.append(f"<tr><td>{mark}</td><td>{call_diff_html(match.expected, match.actual)}{details}</td></tr>")
        if match.actual is not None:
            used.add(id(match.actual))
    matched_actual = [m.actual for m in evaluation.matches if m.actual is not None]
    extras = [call for call in evaluation.actual if not any(call == m for m in matched_actual)]
    for call in extras[:10]:
        rows.append(f"<tr><td><span class='badge warn'>extra</span></td><td><code>{_e(str(call))}</code></td></tr>")
    if not evaluation.expected and not evaluation.actual:
        rows.append("<tr><td></td><td class='muted'>no calls expected, none made</td></tr>")
    note = f"<div class='muted'>{_e(evaluation.details)}</div>" if evaluation.details else ""
    return f"<table>{''.join(rows)}</table>{note}"


def failure_groups(runs: Iterable[Any]) -> list[tuple[tuple[str, str, str], list[Any]]]:
    """Finished non-passing runs grouped by (prompt, status, what happened), largest first (see the view)."""
    from .model import failure_groups as groups

    return [((group.prompt, group.status, group.what), group.runs) for group in groups(runs)]


def failure_html(key: Any, runs: list[Any] | None = None) -> str:
    """One failure group: the prompt, how many runs failed this way, and the first one's diff."""
    if runs is None:  # a FailureGroup
        prompt, status, what, runs = key.prompt, key.status, key.what, key.runs
    else:
        prompt, status, what = key
    first = runs[0]
    indices = ", ".join(str(getattr(run, "run_index", "?")) for run in runs[:12])
    if len(runs) > 12:
        indices += f", … ({len(runs) - 12} more)"
    head = (
        f"<b>{_e(middle(prompt, 200), 0)}</b> <span class='badge bad'>{_e(status)}</span> "
        f"<span class='muted'>× {len(runs)} (run{'s' if len(runs) > 1 else ''} {indices})</span>"
    )
    error = getattr(first, "error", None)
    if error is not None:
        body = f"<div class='err'>{_e(str(error))}</div>"
    elif getattr(first, "eval_result", None) is not None:
        body = eval_diff_html(first.eval_result)
    else:
        body = f"<div class='muted'>{_e(what)}</div>"
    text = getattr(getattr(first, "response", None), "text", None)
    if text:
        body += f"<div class='muted'>agent heard / said: {_e(text, 300)}</div>"
    return f"<div class='fail'>{head}{body}</div>"


# -- a batch ---------------------------------------------------------------------------
def _meta_line(metadata: Any) -> str:
    if metadata is None:
        return ""
    bits = []
    for label, value in (
        ("agent", getattr(metadata, "agent", None)),
        ("synthesizer", getattr(metadata, "synthesizer", None)),
        ("evaluator", getattr(metadata, "evaluator", None)),
    ):
        if value:
            bits.append(f"{label} <b>{_e(value, 80)}</b>")
    effects = getattr(metadata, "effects", None)
    if effects:
        bits.append("effects " + ", ".join(f"<code>{_e(effect, 60)}</code>" for effect in effects))
    duration = getattr(metadata, "duration_s", None)
    if duration is not None:
        bits.append(f"{duration:.1f}s")
    return " · ".join(bits)


def _view_of(result: Any) -> BatchView:
    from .model import BatchView, build_view

    return result if isinstance(result, BatchView) else build_view(result)


def headline_html(view: BatchView) -> str:
    """The batch's first line: verdict, pass rate over finished runs with its interval, counts and flags."""
    badge_css = {"PASSED": "ok", "INTERRUPTED": "warn"}.get(view.verdict, "bad")
    title = f" <b>{_e(view.name, 80)}</b>" if view.name else ""
    if view.rate is not None:
        rate = (
            f"<b style='font-size:15px'>{_pct(view.rate)}</b> pass rate {RATE_LABEL} ({view.passed}/{view.finished} "
            f"{'finished ' if view.cancelled else ''}runs, {view.interval_text}) {bar_html(view.rate)}"
        )
    else:
        rate = "<b>no finished runs</b>" if view.total else "<b>no runs</b>"
    bits = [f"{len(view.rows)} {view.noun}{'s' if len(view.rows) != 1 else ''}"]
    not_run = len(view.not_run)
    if not_run:
        bits.append(f"<span class='notrun'>{not_run} not run</span>")
    if view.status_text():
        bits.append(_e(view.status_text()))
    if view.flaky:
        bits.append(f"<span class='flag'>⚑ {len(view.flaky)} flaky</span>")
    return (
        f"<div class='russo-head'><span class='badge {badge_css}'>{view.verdict}</span>{title} {rate} · "
        + " · ".join(bits)
        + "</div>"
    )


def notes_html(view: BatchView) -> str:
    """What to keep in mind reading the numbers: the interruption (said once), a small sample."""
    parts = []
    if view.cancelled:
        parts.append(
            f"<div class='note'><b>{_e(view.cancelled_text)}.</b> Rates, intervals and flaky flags count the "
            f"{view.finished:,} finished runs only; cancelled runs are not failures.</div>"
        )
    if view.small_sample:
        parts.append(
            f"<div class='muted'>Small sample ({view.finished} finished runs): intervals are wide; add runs "
            "(--runs) for more.</div>"
        )
    return "".join(parts)


def batch_html(
    result: Any,
    *,
    max_prompts: int = MAX_PROMPTS,
    max_failures: int = MAX_FAILURE_GROUPS,
    with_style: bool = True,
) -> str:
    """The HTML a BatchResult (or a ScenarioBatch, or its :class:`~russo_nb.view.BatchView`) shows in a cell."""
    view = _view_of(result)
    parts = [STYLE if with_style else "", "<div class='russo russo-batch'>", headline_html(view)]
    meta = _meta_line(view.metadata)
    if meta:
        parts.append(f"<div class='muted'>{meta}</div>")
    parts.append(notes_html(view))
    parts.append(prompt_table_html(view, max_prompts))
    if max_failures:
        parts.append(failures_html(view, max_failures))
    parts.append("</div>")
    return "".join(parts)


def failures_html(view: BatchView, max_failures: int = MAX_FAILURE_GROUPS, *, open_: bool = True) -> str:
    """The failure groups (finished runs only), largest first, with what was left out said."""
    groups = view.groups
    if not groups:
        return ""
    failing = sum(len(group.runs) for group in groups)
    shown = groups[:max_failures]
    omitted = ""
    if len(groups) > len(shown):
        rest = sum(len(group.runs) for group in groups[len(shown) :])
        omitted = (
            f"<div class='muted'>… {len(groups) - len(shown)} more kinds of failure ({rest} runs) omitted; "
            "use russo_nb.explore(result) or the DataFrames.</div>"
        )
    return (
        f"<details{' open' if open_ else ''}><summary>Failures: {failing} run{'s' if failing != 1 else ''} in "
        f"{len(groups)} kind{'s' if len(groups) != 1 else ''}</summary>"
        + "".join(failure_html(group) for group in shown)
        + omitted
        + "</details>"
    )


def _row_html(view: BatchView, row: PromptRow, show_match: bool) -> str:
    flags = []
    if row.flaky:
        flags.append("<span class='flag' title='finished runs disagree'>⚑ flaky</span>")
    other = row.other_statuses
    if other:
        flags.append("<span class='muted'>" + ", ".join(f"{c} {_e(s)}" for s, c in other.items()) + "</span>")
    if row.not_run:
        cells = (
            "<td class='num notrun'>–</td><td class='notrun'>not run</td><td class='num'></td>"
            + ("<td class='num'></td>" if show_match else "")
            + "<td class='num'></td>"
        )
    else:
        rate = row.rate if row.rate is not None else 0.0
        interval = f"{_pct(row.low)}–{_pct(row.high)}" if row.low is not None and row.high is not None else ""
        latency = f"{row.latency:.2f}s" if row.latency is not None else ""
        match = row.match if row.match is not None else 0.0
        cells = (
            f"<td class='num'>{row.passed}/{row.finished}</td><td class='rate'>{bar_html(rate)} {_pct(rate)}</td>"
            f"<td class='num'>{interval}</td>"
            + (f"<td class='num'>{_pct(match)}</td>" if show_match else "")
            + f"<td class='num'>{latency}</td>"
        )
    return f"<tr>{_prompt_cell(row.prompt)}{cells}<td>{' '.join(flags)}</td></tr>"


def prompt_table_html(view: BatchView, max_prompts: int = MAX_PROMPTS) -> str:
    """One row per prompt (or scenario): finished-run pass rate, interval, match, mean latency, flags.

    With more than ``max_prompts`` rows the lowest pass rates come first; the hidden rows
    are offered behind a toggle (up to MAX_HIDDEN_ROWS) and the count is said.
    """
    rows = view.rows
    noun = view.noun
    if not rows:
        return "<div class='muted'>No runs.</div>"
    shown = view.lowest_rows(max_prompts)
    show_match = view.kind != "scenarios" and any(row.match is not None and row.match < 1 for row in rows)
    head = (
        f"<tr><th class='prompt'>{noun.capitalize()}</th><th class='num'>Passed</th><th>Pass rate</th>"
        f"<th class='num'>{confidence_label(view.confidence)} CI</th>"
        + ("<th class='num'>Match</th>" if show_match else "")
        + "<th class='num'>Mean latency</th><th></th></tr>"
    )
    body = "".join(_row_html(view, row, show_match) for row in shown)
    table = f"<table class='russo-prompts'>{head}{body}</table>"
    if len(shown) == len(rows):
        return table
    hidden_ids = {id(row) for row in shown}
    hidden = [row for row in sorted(rows, key=_row_order) if id(row) not in hidden_ids]
    offered = hidden[:MAX_HIDDEN_ROWS]
    beyond = len(hidden) - len(offered)
    rest = (
        f"<details><summary>Show {len(offered)} more {noun}s</summary><table class='russo-prompts'>{head}"
        + "".join(_row_html(view, row, show_match) for row in offered)
        + "</table>"
        + (f"<div class='muted'>{beyond} more in russo_nb.analysis.prompts_frame(result).</div>" if beyond else "")
        + "</details>"
    )
    note = (
        f"<div class='muted'>Showing the {len(shown)} {noun}s with the lowest pass rate of {len(rows)}; "
        f"{len(rows) - len(shown)} hidden (all of them: russo_nb.analysis.prompts_frame(result)).</div>"
    )
    return table + note + rest
