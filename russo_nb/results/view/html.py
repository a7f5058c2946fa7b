"""The batch view as HTML: the style, the escaper, the headline, the prompt table and the failures.

Shared by the notebook (:mod:`russo_nb.surfaces.notebook.html`) and the standalone report
(:mod:`russo_nb.results.report.html`), which both import it; it lives beside the view model so
neither of those imports the other and ``view`` imports nothing above it. Everything an
agent or a user wrote goes through :func:`escape_text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ...model.columns import Run
from ...model.conditions import conditions_text
from ...model.thresholds import confidence_label
from .kit import MAX_HIDDEN_ROWS, MAX_ROWS, MAX_TEXT, STYLE, escape_text, match_marks, middle, pct, plural, table_html
from .model import FLAKY_TITLE, RATE_LABEL, _row_order

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
    "metadata_html",
    "middle",
    "notes_html",
    "prompt_stats",
    "prompt_table_html",
    "run_passed",
]

MAX_PROMPTS = MAX_ROWS
"""Prompt rows a table shows before "N more" (the kit's one row limit)."""
MAX_FAILURE_GROUPS = 20


def _prompt_cell(prompt: str, width: int = 160) -> str:
    """A prompt in a table cell: the middle cut when long, the whole text in the tooltip."""
    shown = middle(prompt, width)
    title = f" title='{escape_text(prompt, 2000)}'" if shown != " ".join(prompt.split()) else ""
    return f"<td class='prompt'{title}>{escape_text(shown, 0)}</td>"


def bar_html(rate: float) -> str:
    width = max(0.0, min(1.0, rate)) * 100
    return f'<span class="bar" title="{pct(rate)}"><span style="width:{width:.1f}%"></span></span>'


def run_passed(run: Run) -> bool:
    """Whether ``run`` finished and passed (its ``status``; a scenario's verdict and score threshold included)."""
    return run.passed


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
    return f"{escape_text(key)}={escape_text(repr(value), 200)}"


def call_diff_html(expected: Any, actual: Any | None) -> str:
    """Expected vs actual call, argument by argument: differing values in <del>/<ins>."""
    if actual is None:
        want = ", ".join(_arg(k, v) for k, v in expected.arguments.items())
        return f"<code><del>{escape_text(expected.name)}({want})</del></code> <span class='muted'>→ no such call</span>"
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
    want_name = (
        escape_text(expected.name) if expected.name == actual.name else f"<del>{escape_text(expected.name)}</del>"
    )
    got_name = escape_text(actual.name) if expected.name == actual.name else f"<ins>{escape_text(actual.name)}</ins>"
    return (
        f"<span class='side'>expected</span><code>{want_name}({', '.join(want_parts)})</code><br>"
        f"<span class='side'>agent called</span><code>{got_name}({', '.join(got_parts)})</code>"
    )


def eval_diff_html(evaluation: Any) -> str:
    """A table of every expected call vs what the agent did, plus unmatched extra calls."""
    if evaluation is None:
        return ""
    rows = []
    for match in evaluation.matches:
        mark, note = match_marks(match)
        details = f"<br>{note}" if note else ""
        rows.append(f"<tr><td>{mark}</td><td>{call_diff_html(match.expected, match.actual)}{details}</td></tr>")
    extras = evaluation.extra_calls()
    if not evaluation.expected:  # nothing declared: the calls are what the agent did, not "extra"
        for call in extras[:10]:
            rows.append(f"<tr><td class='muted'>called</td><td><code>{escape_text(str(call))}</code></td></tr>")
        extras = []
    for call in extras[:10]:
        rows.append(
            f"<tr><td><span class='badge warn'>extra</span></td><td><code>{escape_text(str(call))}</code></td></tr>"
        )
    if not evaluation.expected and not evaluation.actual:
        rows.append("<tr><td></td><td class='muted'>no calls expected, none made</td></tr>")
    note = f"<div class='muted'>{escape_text(evaluation.details)}</div>" if evaluation.details else ""
    return f"<table>{''.join(rows)}</table>{note}"


def failure_groups(runs: Iterable[Run]) -> list[tuple[tuple[str, str, str], list[Run]]]:
    """Finished non-passing runs grouped by (first prompt, status, signature), largest first (see the view)."""
    from .model import failure_groups as groups

    return [((group.prompt, group.status, group.what), group.runs) for group in groups(runs)]


MAX_GROUP_RUNS = 500
"""A failure group's "show all" lists at most this many runs (the rest are in the DataFrames)."""


def _group_runs_html(runs: list[Run]) -> str:
    """Every run of a group, one line each: prompt (cut in the middle), run index, what differed."""
    from .signature import difference_text

    rows = [
        f"<tr><td class='prompt'>{escape_text(middle(run.prompt, 90), 0)}</td>"
        f"<td class='num'>{run.run_index}</td>"
        f"<td class='sig'>{escape_text(difference_text(run), 300)}</td></tr>"
        for run in runs[:MAX_GROUP_RUNS]
    ]
    beyond = len(runs) - len(rows)
    more = f"<div class='muted'>{beyond:,} more in russo_nb.analysis.runs_frame(result).</div>" if beyond else ""
    head = "<tr><th>Prompt</th><th class='num'>Run</th><th>What differed</th></tr>"
    return (
        f"<details class='russo-group-runs'><summary>show all {plural(len(runs), 'run')}</summary>"
        f"<table>{head}{''.join(rows)}</table>{more}</details>"
    )


def _turns_html(run: Run, turns: int = 6) -> str:
    """The last turns of a run's conversation, one muted line each (who said what)."""
    if not run.transcript:
        return ""
    lines = []
    for turn in run.transcript[-turns:]:
        role, content = (turn.get("role", "?"), turn.get("content", "")) if isinstance(turn, dict) else ("?", turn)
        lines.append(f"<div class='muted'>{escape_text(role, 40)}: {escape_text(content, 300)}</div>")
    return "".join(lines)


def _scenario_verdict_html(run: Run) -> str:
    """A failing scenario run's verdict: score, the criteria it missed, the judge's reasoning, and (when its
    scorers expect calls) expected vs called, whose note is that reasoning."""
    lines = [f"score {run.score:.2f}"] if run.score is not None else []
    lines += [f"✘ {escape_text(criterion, 300)}" for criterion in run.failed_criteria[:10]]
    if run.expected_calls and run.eval_result is not None:
        return f"<div class='russo-verdict'>{'<br>'.join(lines)}</div>{eval_diff_html(run.eval_result)}"
    if run.reasoning:
        lines.append(f"<span class='muted'>{escape_text(run.reasoning, 600)}</span>")
    return f"<div class='russo-verdict'>{'<br>'.join(lines)}</div>" if lines else ""


def failure_html(key: Any, runs: list[Any] | None = None, *, clip_ids: dict[str, str] | None = None) -> str:
    """One failure signature: what went wrong, how many runs over how many prompts, one example's diff, all runs.

    ``clip_ids`` maps an audio key to the id of its player on the page (the report): the
    example run then links to the clip it heard.
    """
    if runs is None:  # a FailureGroup
        prompts = list(key.prompts or [key.prompt])
        status, what, runs = key.status, key.what, key.runs
    else:
        prompt, status, what = key
        prompts = list(dict.fromkeys(run.prompt for run in runs)) or [prompt]
    first = runs[0]
    over = f" over {plural(len(prompts), 'prompt')}" if len(prompts) > 1 else ""
    head = (
        f"<span class='badge bad'>{escape_text(status)}</span> <b class='sig'>{escape_text(what, 300)}</b> "
        f"<span class='muted'>in {plural(len(runs), 'run')}{over}</span>"
    )
    named = ", ".join(f"<i>{escape_text(middle(p, 80), 0)}</i>" for p in prompts[:3])
    if len(prompts) > 3:
        named += f" <span class='muted'>and {len(prompts) - 3:,} more</span>"
    head += f"<div class='muted'>{'prompts' if len(prompts) > 1 else 'prompt'}: {named}</div>"
    if first.error is not None:
        body = f"<div class='err'>{escape_text(str(first.error))}</div>"
    elif first.kind == "scenario":
        body = _scenario_verdict_html(first)
    elif first.eval_result is not None:
        body = eval_diff_html(first.eval_result)
    else:
        body = ""
    conditions = conditions_text(first.conditions)
    if conditions:
        body += f"<div class='muted russo-run-conditions'>{escape_text(conditions, 300)}</div>"
    text = first.response.text if first.response is not None else None
    if text:
        body += f"<div class='muted'>agent heard / said: {escape_text(text, 300)}</div>"
    body += _turns_html(first)
    key = first.audio_key
    if clip_ids and key in clip_ids:
        body += f"<div><a href='#{escape_text(clip_ids[key])}'>the audio of this example</a></div>"
    return f"<div class='fail'>{head}{body}{_group_runs_html(runs)}</div>"


# -- a batch ---------------------------------------------------------------------------
def _metadata_items(metadata: Any, full: bool) -> list[tuple[str, Any]]:
    """(label, value) of what a batch was run with; the short form for a cell, ``full`` for the report."""
    from datetime import datetime

    short = ("agent", "synthesizer", "evaluator")
    every = (
        ("batch", "batch_id"), ("kind", "kind"), ("agent", "agent"), ("synthesizer", "synthesizer"),
        ("evaluator", "evaluator"), ("evaluator settings", "evaluator_params"), ("effects", "effects"),
        ("seed", "seed"), ("runs per prompt", "runs_per_prompt"), ("max concurrency", "max_concurrency"),
        ("timeout", "timeout"), ("started", "started_at"), ("finished", "finished_at"), ("duration", "duration_s"),
        ("tags", "tags"), ("parameters", "params"),
    )  # fmt: skip
    items = []
    for label, attribute in every:
        if not full and attribute not in (*short, "effects", "duration_s"):
            continue
        value = getattr(metadata, attribute, None)
        if value is None or value == "" or value == [] or value == {}:
            continue
        if attribute == "duration_s":
            value = f"{value:.1f} s"
        elif isinstance(value, datetime):
            value = value.isoformat(timespec="seconds")
        elif isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        items.append((label, value))
    return items


def metadata_html(metadata: Any, *, full: bool = False) -> str:
    """What the batch was run with: one line in a cell, a table of every field (``full``) in the report."""
    if metadata is None:
        return ""
    items = _metadata_items(metadata, full)
    if not items:
        return ""
    if full:
        rows = "".join(f"<tr><th>{escape_text(k)}</th><td>{escape_text(v, 500)}</td></tr>" for k, v in items)
        return f"<table class='russo-meta' style='width:auto'>{rows}</table>"
    return (
        "<div class='muted'>" + " · ".join(f"{escape_text(k)} <b>{escape_text(v, 80)}</b>" for k, v in items) + "</div>"
    )


def _view_of(result: Any) -> BatchView:
    from .model import BatchView, build_view

    return result if isinstance(result, BatchView) else build_view(result)


def headline_html(view: BatchView) -> str:
    """The batch's first line: verdict, pass rate over finished runs with its interval, counts and flags."""
    badge_css = {"PASSED": "ok", "INTERRUPTED": "warn"}.get(view.verdict, "bad")
    title = f" <b>{escape_text(view.name, 80)}</b>" if view.name else ""
    if view.rate is not None:
        rate = (
            f"<b style='font-size:15px'>{pct(view.rate)}</b> pass rate {RATE_LABEL} ({view.passed}/{view.finished} "
            f"{'finished ' if view.cancelled else ''}runs, {view.interval_text}) {bar_html(view.rate)}"
        )
    else:
        rate = "<b>no finished runs</b>" if view.total else "<b>no runs</b>"
    bits = [f"{view.prompt_count} {view.noun}{'s' if view.prompt_count != 1 else ''}"]
    if view.by:
        bits.append(f"{len(view.rows)} rows by {escape_text(', '.join(view.by))}")
    if view.not_run:
        bits.append(f"<span class='notrun'>{escape_text(view.not_run_text)}</span>")
    if view.status_text():
        bits.append(escape_text(view.status_text()))
    if view.flaky:
        bits.append(f"<span class='flag'>⚑ {len(view.flaky)} flaky</span>")
    return (
        f"<div class='russo-head'><span class='badge {badge_css}'>{view.verdict}</span>{title} {rate} · "
        + " · ".join(bits)
        + "</div>"
    )


def notes_html(view: BatchView) -> str:
    """What to keep in mind reading the numbers: the run conditions, a scenario batch's scores, the interruption
    (said once), a small sample."""
    parts = []
    if view.conditions_text:
        parts.append(f"<div class='muted russo-conditions'>{escape_text(view.conditions_text, 600)}</div>")
    if view.scores:
        stats = view.scores
        parts.append(
            f"<div class='russo-scores'>Score: mean <b>{stats['mean']:.2f}</b> <span class='muted'>(sd "
            f"{stats['std']:.2f}, min {stats['min']:.2f}, max {stats['max']:.2f}, "
            f"{stats['n']:,} scored runs)</span></div>"
        )
    if view.cancelled:
        parts.append(
            f"<div class='note'><b>{escape_text(view.cancelled_text)}.</b> Rates, intervals and flaky flags count the "
            f"{view.finished:,} finished runs only; cancelled runs are not failures.</div>"
        )
    for note in (view.stopping_text, view.resumed_text):
        if note:
            parts.append(f"<div class='note'>{escape_text(note)}.</div>")
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
    """The HTML a BatchResult (or a ScenarioBatch, or its :class:`~russo_nb.results.view.BatchView`) shows in a cell."""
    view = _view_of(result)
    parts = [STYLE if with_style else "", "<div class='russo russo-batch'>", headline_html(view)]
    parts.append(metadata_html(view.metadata))
    parts.append(notes_html(view))
    parts.append(prompt_table_html(view, max_prompts))
    if max_failures:
        parts.append(failures_html(view, max_failures))
    parts.append("</div>")
    return "".join(parts)


def failures_html(
    view: BatchView,
    max_failures: int = MAX_FAILURE_GROUPS,
    *,
    open_: bool = True,
    clip_ids: dict[str, str] | None = None,
) -> str:
    """The failure signatures (finished runs only), largest first, each with "show all"; what was left out said."""
    groups = view.groups
    if not groups:
        return ""
    failing = sum(len(group.runs) for group in groups)
    shown = groups[:max_failures]
    omitted = ""
    if len(groups) > len(shown):
        rest = sum(len(group.runs) for group in groups[len(shown) :])
        omitted = (
            f"<div class='muted'>… {plural(len(groups) - len(shown), 'more signature')} ({plural(rest, 'run')}) "
            "omitted; use russo_nb.explore(result) or the DataFrames.</div>"
        )
    return (
        f"<details{' open' if open_ else ''} class='russo-failures'><summary>Failures: {plural(failing, 'run')} "
        f"with {plural(len(groups), 'signature')}</summary>"
        + "".join(failure_html(group, clip_ids=clip_ids) for group in shown)
        + omitted
        + "</details>"
    )


def _row_html(view: BatchView, row: PromptRow, show_match: bool) -> str:
    flags = []
    if row.flaky:
        flags.append(f"<span class='flag' title='{FLAKY_TITLE}'>⚑ flaky</span>")
    other = row.other_statuses
    if other:
        flags.append("<span class='muted'>" + ", ".join(f"{c} {escape_text(s)}" for s, c in other.items()) + "</span>")
    if row.not_run:
        cells = (
            "<td class='num notrun'>–</td><td class='notrun'>not run</td><td class='num'></td>"
            + ("<td class='num'></td>" if show_match else "")
            + "<td class='num'></td>"
        )
    else:
        rate = row.rate if row.rate is not None else 0.0
        interval = f"{pct(row.low)}–{pct(row.high)}" if row.low is not None and row.high is not None else ""
        at_least = "≥ " if row.latency_censored else ""  # timed-out runs took longer than any measured one
        latency = f"{at_least}{row.latency:.2f}s" if row.latency is not None else ""
        match = row.match if row.match is not None else 0.0
        cells = (
            f"<td class='num'>{row.passed}/{row.finished}</td><td class='rate'>{bar_html(rate)} {pct(rate)}</td>"
            f"<td class='num'>{interval}</td>"
            + (f"<td class='num'>{pct(match)}</td>" if show_match else "")
            + f"<td class='num'>{latency}</td>"
        )
    flag_cell = f"<td class='flags'>{' '.join(flags)}</td>"
    return f"<tr>{_prompt_cell(row.prompt)}{_condition_cells(view, row)}{cells}{flag_cell}</tr>"


def _condition_cells(view: BatchView, row: PromptRow) -> str:
    """One cell per condition the rows split by (``view.by``): the row's value, as people read it."""
    if not view.by:
        return ""
    from ..analysis.factors import level_text

    return "".join(f"<td>{escape_text(level_text(name, row.conditions.get(name)))}</td>" for name in view.by)


def prompt_table_html(view: BatchView, max_prompts: int = MAX_PROMPTS) -> str:
    """One row per prompt (or scenario): finished-run pass rate, interval, match, mean latency, flags.

    When the view splits by conditions (``view.by``: a sweep, a batch merged from two agent
    versions), one row per prompt and condition values, a column per condition.

    The lowest pass rates come first; past ``max_prompts`` rows the rest sit behind
    "N more prompts" (the kit's :func:`~russo_nb.results.view.kit.table_html`).
    """
    rows = view.rows
    noun = view.noun
    if not rows:
        return "<div class='muted'>No runs.</div>"
    ordered = rows if len(rows) <= max_prompts else sorted(rows, key=_row_order)
    show_match = view.kind != "scenarios" and any(row.match is not None and row.match < 1 for row in rows)
    head = (
        f"<tr><th class='prompt'>{noun.capitalize()}</th>"
        + "".join(f"<th>{escape_text(name)}</th>" for name in view.by)
        + "<th class='num'>Passed</th><th>Pass rate</th>"
        f"<th class='num'>{confidence_label(view.confidence)} CI</th>"
        + ("<th class='num'>Match</th>" if show_match else "")
        + "<th class='num'>Mean latency</th><th></th></tr>"
    )
    body = [_row_html(view, row, show_match) for row in ordered]
    table = table_html(
        head, body, limit=max_prompts, noun=noun, css="russo-prompts", rest="russo_nb.analysis.prompts_frame(result)"
    )
    if len(rows) <= max_prompts:
        return table
    note = (
        f"<div class='muted'>The {max_prompts} {noun}s with the lowest pass rate of {len(rows):,} first; "
        f"all of them: russo_nb.analysis.prompts_frame(result).</div>"
    )
    return note + table
