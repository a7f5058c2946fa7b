"""Rich HTML for results: a batch's header, per-prompt table, failures with diffs, transcripts.

Everything an agent or a user wrote (prompts, arguments, text, errors, messages) goes
through :func:`html.escape`. Output is capped (prompt rows, failure groups, runs) so a
100,000-run batch renders in well under a second and stays small; what is left out is
said in the output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

__all__ = [
    "STYLE",
    "batch_html",
    "call_diff_html",
    "comparison_html",
    "error_html",
    "eval_diff_html",
    "failure_groups",
    "prompt_stats",
    "run_html",
    "scenario_result_html",
    "transcript_html",
]

MAX_PROMPTS = 50
MAX_FAILURE_GROUPS = 20
MAX_TEXT = 400

STYLE = """<style>
.russo{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.4;max-width:1100px}
.russo table{border-collapse:collapse;margin:6px 0!important;width:100%}
.russo th,.russo td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left!important;vertical-align:top}
.russo .fail table{width:auto;margin:4px 0!important}
.russo th{background:rgba(127,127,127,.12);font-weight:600}
.russo .num{text-align:right!important;font-variant-numeric:tabular-nums;white-space:nowrap}
.russo .badge{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-weight:600;font-size:12px}
.russo .ok{background:#2e7d32}.russo .bad{background:#c62828}.russo .warn{background:#ef6c00}
.russo .muted{color:#777}
.russo .bar{display:inline-block;width:110px;height:10px;background:#f2c4c4;border-radius:2px;vertical-align:middle}
.russo .bar>span{display:block;height:100%;background:#43a047;border-radius:2px}
.russo .flag{color:#ef6c00;font-weight:600;white-space:nowrap}
.russo code{font-family:var(--jp-code-font-family,monospace);font-size:12px;white-space:pre-wrap}
.russo del{background:#fdd;text-decoration:none;color:#b71c1c}
.russo ins{background:#dfd;text-decoration:none;color:#1b5e20}
.russo details{margin:6px 0}.russo summary{cursor:pointer;font-weight:600}
.russo .fail{border-left:3px solid #c62828;padding:2px 8px;margin:6px 0}
.russo .chat{display:flex;flex-direction:column;gap:4px;margin:6px 0;max-width:760px}
.russo .msg{padding:6px 10px;border-radius:10px;max-width:80%;white-space:pre-wrap}
.russo .msg.user{align-self:flex-end;background:#e3f2fd;color:#0d2a4a}
.russo .msg.assistant{align-self:flex-start;background:#f1f1f1;color:#222}
.russo .msg.tool{align-self:flex-start;background:#fff8e1;color:#4e3b00;font-family:monospace;font-size:12px}
.russo .msg.system{align-self:center;background:transparent;color:#777;font-style:italic}
.russo .msg .role{font-size:11px;color:#777;display:block}
.russo .msg audio{display:block;height:32px;margin-top:4px}
.russo .call{display:block;font-family:monospace;font-size:12px;color:#6a1b9a}
.russo .verdict{padding:6px 10px;border-radius:6px;margin:4px 0}
.russo .verdict.ok{background:#e8f5e9;color:#1b5e20}.russo .verdict.bad{background:#ffebee;color:#b71c1c}
.russo .err{background:#ffebee;color:#b71c1c;padding:6px 10px;border-radius:4px;white-space:pre-wrap}
</style>"""


def _e(value: Any, limit: int = MAX_TEXT) -> str:
    """Escape ``value`` for HTML, cutting very long text with a note of what was cut."""
    text = value if isinstance(value, str) else str(value)
    if limit and len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    return escape(text, quote=True)


def _pct(value: float) -> str:
    return f"{value:.0%}" if value in (0.0, 1.0) else f"{value:.1%}"


def _bar(rate: float) -> str:
    width = max(0.0, min(1.0, rate)) * 100
    return f'<span class="bar" title="{_pct(rate)}"><span style="width:{width:.1f}%"></span></span>'


def _passed(run: Any) -> bool:
    status = getattr(run, "status", None)
    if status is not None:
        return status == "passed"
    return bool(getattr(run, "passed", False) or getattr(run, "success", False))


def prompt_stats(runs: Iterable[Any]) -> list[dict[str, Any]]:
    """Per prompt, in first-seen order: runs, passed, rate, mean match rate and latency, statuses."""
    stats: dict[str, dict[str, Any]] = {}
    for run in runs:
        prompt = run.prompt
        entry = stats.get(prompt)
        if entry is None:
            entry = stats[prompt] = {
                "prompt": prompt,
                "runs": 0,
                "passed": 0,
                "match_sum": 0.0,
                "latency_sum": 0.0,
                "latency_n": 0,
                "statuses": {},
            }
        entry["runs"] += 1
        status = getattr(run, "status", None) or ("passed" if _passed(run) else "failed")
        counts = entry["statuses"]
        counts[status] = counts.get(status, 0) + 1
        evaluation = getattr(run, "eval_result", None)
        if evaluation is not None:
            expected = evaluation.expected
            if expected:
                entry["match_sum"] += sum(1 for match in evaluation.matches if match.matched) / len(expected)
            else:
                entry["match_sum"] += 1.0
        latency = getattr(run, "latency_s", None)
        if latency is not None:
            entry["latency_sum"] += latency
            entry["latency_n"] += 1
    rows = list(stats.values())
    for row in rows:
        row["passed"] = row["statuses"].get("passed", 0)
        row["rate"] = row["passed"] / row["runs"] if row["runs"] else 1.0
        row["match"] = row["match_sum"] / row["runs"] if row["runs"] else 1.0
        row["latency"] = row["latency_sum"] / row["latency_n"] if row["latency_n"] else None
        row["flaky"] = 0 < row["passed"] < row["runs"]
    return rows


def _wilson(passed: Sequence[int], runs: Sequence[int]) -> tuple[list[float], list[float]]:
    from ..analysis.stats import wilson_interval

    if not runs:
        return [], []
    low, high = wilson_interval(list(passed), list(runs))
    return [float(x) for x in low], [float(x) for x in high]


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
    return f"<code>{want_name}({', '.join(want_parts)})</code><br><code>{got_name}({', '.join(got_parts)})</code>"


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


def _failure_key(run: Any, cache: dict[int, str]) -> tuple[str, str, str]:
    status = getattr(run, "status", "") or ""
    error = getattr(run, "error", None)
    if error is not None:
        return (run.prompt, status, f"{error.type}: {error.message}")
    evaluation = getattr(run, "eval_result", None)
    if evaluation is not None:
        # runs often share one EvalResult object (or one actual-calls list): render it once
        key = id(evaluation.actual)
        text = cache.get(key)
        if text is None:
            text = cache[key] = " ".join(str(call) for call in evaluation.actual) or "(no calls)"
        return (run.prompt, status, text)
    return (run.prompt, status, getattr(run, "reasoning", None) or "")


def failure_groups(runs: Iterable[Any]) -> list[tuple[tuple[str, str, str], list[Any]]]:
    """Non-passing runs grouped by (prompt, status, what happened), largest group first."""
    groups: dict[tuple[str, str, str], list[Any]] = {}
    cache: dict[int, str] = {}
    for run in runs:
        if _passed(run):
            continue
        groups.setdefault(_failure_key(run, cache), []).append(run)
    return sorted(groups.items(), key=lambda item: -len(item[1]))


def _failure_html(key: tuple[str, str, str], runs: list[Any]) -> str:
    prompt, status, what = key
    first = runs[0]
    indices = ", ".join(str(getattr(run, "run_index", "?")) for run in runs[:12])
    if len(runs) > 12:
        indices += f", … ({len(runs) - 12} more)"
    head = (
        f"<b>{_e(prompt, 200)}</b> <span class='badge bad'>{_e(status)}</span> "
        f"<span class='muted'>× {len(runs)} (runs {indices})</span>"
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
        body += f"<div class='muted'>agent said: {_e(text, 300)}</div>"
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


def batch_html(
    result: Any,
    *,
    max_prompts: int = MAX_PROMPTS,
    max_failures: int = MAX_FAILURE_GROUPS,
    stats: list[dict[str, Any]] | None = None,
    groups: list[tuple[tuple[str, str, str], list[Any]]] | None = None,
) -> str:
    """The HTML a BatchResult (or a ScenarioBatch) shows as a cell's value.

    ``stats`` / ``groups`` reuse :func:`prompt_stats` / :func:`failure_groups` already computed.
    """
    runs = list(getattr(result, "runs", []))
    total = len(runs)
    if stats is None:
        stats = prompt_stats(runs)
    passed = sum(row["passed"] for row in stats)
    rate = passed / total if total else 1.0
    metadata = getattr(result, "metadata", None)
    kind = getattr(metadata, "kind", "prompts")
    noun = "scenario" if kind == "scenarios" else "prompt"
    parts = [STYLE, '<div class="russo russo-batch">']
    if total:
        (low,), (high,) = _wilson([passed], [total])
        interval = f"95% CI {_pct(low)}–{_pct(high)}"
    else:
        interval = "no runs"
    all_passed = total > 0 and passed == total
    badge = "<span class='badge ok'>PASSED</span>" if all_passed else "<span class='badge bad'>FAILED</span>"
    name = getattr(metadata, "name", None)
    title = f" <b>{_e(name, 80)}</b>" if name else ""
    statuses: dict[str, int] = {}
    for row in stats:
        for status, count in row["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    status_bits = " · ".join(
        f"{count} {status}" for status, count in statuses.items() if status not in ("passed", "failed")
    )
    flaky = [row for row in stats if row["flaky"]]
    parts.append(
        f"<div class='russo-head'>{badge}{title} <b style='font-size:15px'>{_pct(rate)}</b> pass rate "
        f"({passed}/{total} runs, {interval}) {_bar(rate)} · {len(stats)} {noun}s"
        + (f" · {status_bits}" if status_bits else "")
        + (f" · <span class='flag'>⚑ {len(flaky)} flaky</span>" if flaky else "")
        + "</div>"
    )
    meta = _meta_line(metadata)
    if meta:
        parts.append(f"<div class='muted'>{meta}</div>")
    params = getattr(metadata, "params", None) or {}
    if params.get("interrupted"):
        parts.append("<div class='err'>Interrupted: the finished runs are kept; the rest are marked cancelled.</div>")
    if total and total < 30:
        parts.append(f"<div class='muted'>Small sample ({total} runs): intervals are wide; add --runs for more.</div>")
    parts.append(_prompt_table(stats, max_prompts, noun))
    if groups is None:
        groups = failure_groups(runs) if max_failures else []
    if groups and max_failures:
        failing = sum(len(group) for _, group in groups)
        shown = groups[:max_failures]
        omitted = ""
        if len(groups) > len(shown):
            rest = sum(len(group) for _, group in groups[len(shown) :])
            omitted = (
                f"<div class='muted'>… {len(groups) - len(shown)} more kinds of failure ({rest} runs) omitted; "
                "use russo_nb.explore(result) or the DataFrames.</div>"
            )
        parts.append(
            f"<details open><summary>Failures: {failing} run{'s' if failing != 1 else ''} in "
            f"{len(groups)} kind{'s' if len(groups) != 1 else ''}</summary>"
            + "".join(_failure_html(key, group) for key, group in shown)
            + omitted
            + "</details>"
        )
    parts.append("</div>")
    return "".join(parts)


def _prompt_table(stats: list[dict[str, Any]], max_prompts: int, noun: str) -> str:
    if not stats:
        return "<div class='muted'>No runs.</div>"
    shown = stats
    note = ""
    if len(stats) > max_prompts:
        shown = sorted(stats, key=lambda row: (row["rate"], -row["runs"]))[:max_prompts]
        note = (
            f"<div class='muted'>Showing the {max_prompts} {noun}s with the lowest pass rate of {len(stats)}; "
            f"{len(stats) - max_prompts} omitted (see russo_nb.analysis.prompts_frame(result)).</div>"
        )
    lows, highs = _wilson([row["passed"] for row in shown], [row["runs"] for row in shown])
    show_match = any(row["match_sum"] for row in shown)
    head = (
        f"<tr><th>{noun.capitalize()}</th><th class='num'>Passed</th><th>Pass rate</th><th class='num'>95% CI</th>"
        + ("<th class='num'>Match</th>" if show_match else "")
        + "<th class='num'>Latency</th><th></th></tr>"
    )
    rows = []
    for row, low, high in zip(shown, lows, highs, strict=True):
        flags = []
        if row["flaky"]:
            flags.append("<span class='flag' title='runs disagree'>⚑ flaky</span>")
        other = {s: c for s, c in row["statuses"].items() if s not in ("passed", "failed")}
        if other:
            flags.append("<span class='muted'>" + ", ".join(f"{c} {_e(s)}" for s, c in other.items()) + "</span>")
        latency = f"{row['latency']:.2f}s" if row["latency"] is not None else ""
        rows.append(
            f"<tr><td>{_e(row['prompt'], 160)}</td><td class='num'>{row['passed']}/{row['runs']}</td>"
            f"<td>{_bar(row['rate'])} {_pct(row['rate'])}</td><td class='num'>{_pct(low)}–{_pct(high)}</td>"
            + (f"<td class='num'>{_pct(row['match'])}</td>" if show_match else "")
            + f"<td class='num'>{latency}</td><td>{' '.join(flags)}</td></tr>"
        )
    return f"<table class='russo-prompts'>{head}{''.join(rows)}</table>{note}"


# -- one run, transcripts, scenarios ------------------------------------------------------
def _calls_html(calls: Iterable[Any]) -> str:
    return "".join(f"<span class='call'>→ {_e(str(call), 300)}</span>" for call in calls)


def run_html(run: Any) -> str:
    """One prompt run: status, what the agent said and called, and the diff when it failed."""
    status = getattr(run, "status", "") or ""
    badge = "ok" if status == "passed" else "bad"
    parts = [
        f"<div><span class='badge {badge}'>{_e(status)}</span> run {getattr(run, 'run_index', '?')}",
    ]
    latency = getattr(run, "latency_s", None)
    if latency is not None:
        parts.append(f" <span class='muted'>{latency:.2f}s</span>")
    parts.append("</div>")
    response = getattr(run, "response", None)
    if response is not None:
        if response.text:
            parts.append(f"<div><span class='muted'>heard / said:</span> {_e(response.text)}</div>")
        if response.tool_calls:
            parts.append(_calls_html(response.tool_calls))
        else:
            parts.append("<div class='muted'>no tool calls</div>")
    error = getattr(run, "error", None)
    if error is not None:
        parts.append(f"<div class='err'>{_e(str(error))}</div>")
    elif status != "passed" and getattr(run, "eval_result", None) is not None:
        parts.append(eval_diff_html(run.eval_result))
    transcript = getattr(run, "transcript", None)
    if isinstance(transcript, list) and transcript:
        parts.append(transcript_html(transcript))
    return "".join(parts)


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict):
                texts.append(str(part.get("text") or part.get("transcript") or f"[{part.get('type', 'part')}]"))
            else:
                texts.append(str(part))
        return " ".join(texts)
    return json.dumps(content, default=str) if isinstance(content, dict) else str(content)


def _message_calls(message: dict[str, Any]) -> list[str]:
    calls = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            calls.append(str(call))
            continue
        function = call.get("function") or call
        name = function.get("name", "?")
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                calls.append(f"{name}({arguments})")
                continue
        if isinstance(arguments, dict):
            from ..types import format_call

            calls.append(format_call(str(name), arguments))
        else:
            calls.append(f"{name}({arguments!r})")
    return calls


def _audio_tag(clip: Any) -> str:
    """An ``<audio>`` player with the clip embedded (a data URI), or '' if it cannot be encoded."""
    import base64

    try:
        encoded = base64.b64encode(clip.to_wav_bytes()).decode("ascii")
    except Exception:  # a clip in a format without a WAV form: the bubble still shows its text
        return ""
    return f'<audio class="russo-turn-audio" controls preload="none" src="data:audio/wav;base64,{encoded}"></audio>'


def transcript_html(
    messages: Sequence[dict[str, Any]],
    *,
    verdict: Any = None,
    max_messages: int = 200,
    audio: Mapping[str, Any] | None = None,
) -> str:
    """A conversation as chat bubbles: user right, assistant left, tool calls and results inline.

    ``audio`` maps a message's ``audio_key`` to the clip the agent heard (voice scenarios):
    that bubble then carries a player, so each turn can be listened to.
    """
    bubbles = []
    for message in list(messages)[:max_messages]:
        if not isinstance(message, dict):
            bubbles.append(f"<div class='msg system'>{_e(str(message))}</div>")
            continue
        role = str(message.get("role", "?"))
        css = role if role in ("user", "assistant", "tool", "system") else "system"
        text = _content_text(message.get("content"))
        calls = _message_calls(message)
        label = role
        if role == "tool" and message.get("name"):
            label = f"tool {message['name']}"
        body = _e(text, 2000) if text else ""
        body += "".join(f"<span class='call'>→ {_e(call, 300)}</span>" for call in calls)
        clip = audio.get(str(message.get("audio_key"))) if audio and message.get("audio_key") else None
        if clip is not None:
            body += _audio_tag(clip)
        bubbles.append(f"<div class='msg {css}'><span class='role'>{_e(label)}</span>{body}</div>")
    if len(messages) > max_messages:
        bubbles.append(f"<div class='msg system'>… {len(messages) - max_messages} more messages omitted</div>")
    verdict_html = verdict if isinstance(verdict, str) else ""
    return f"<div class='chat'>{''.join(bubbles)}</div>{verdict_html}"


def _verdict_html(result: Any) -> str:
    status = getattr(result, "status", None) or ("passed" if getattr(result, "success", False) else "failed")
    css = "ok" if status == "passed" else "bad"
    lines = [f"<b>Verdict: {_e(status)}</b>"]
    score = getattr(result, "score", None)
    if score is not None:
        lines[0] += f" · score {score:.2f}"
    reasoning = getattr(result, "reasoning", None)
    if reasoning:
        lines.append(_e(reasoning, 1000))
    for criterion in getattr(result, "passed_criteria", []) or []:
        lines.append(f"✔ {_e(criterion, 300)}")
    for criterion in getattr(result, "failed_criteria", []) or []:
        lines.append(f"✘ {_e(criterion, 300)}")
    error = getattr(result, "error", None)
    if error is not None:
        lines.append(f"error: {_e(str(error))}")
    return f"<div class='verdict {css}'>{'<br>'.join(lines)}</div>"


def scenario_result_html(result: Any, *, with_style: bool = True) -> str:
    """One scenario run: its name, the conversation as bubbles and the judge's verdict."""
    name = getattr(result, "name", "") or "scenario"
    turns = getattr(result, "turns", None)
    head = f"<div><b>{_e(name, 200)}</b> <span class='muted'>run {getattr(result, 'run_index', 0)}"
    if turns:
        head += f" · {turns} turns"
    total_time = getattr(result, "total_time", None)
    if total_time is not None:
        head += f" · {total_time:.2f}s"
    head += "</span></div>"
    messages = getattr(result, "messages", None) or []
    body = transcript_html(messages, verdict=_verdict_html(result), audio=getattr(result, "audio", None))
    return (STYLE if with_style else "") + f"<div class='russo russo-scenario'>{head}{body}</div>"


# -- comparison and errors ---------------------------------------------------------------
def comparison_html(comparison: Any, name_a: str = "A", name_b: str = "B", *, max_rows: int = MAX_PROMPTS) -> str:
    """A paired comparison as its direction-aware verdict and per-prompt table (see :mod:`.compare_view`)."""
    from .compare_view import comparison_html as _comparison_html

    return _comparison_html(comparison, name_a, name_b, max_rows=max_rows)


def error_html(message: str) -> str:
    """The box a magic shows for a user mistake: one escaped message, no traceback."""
    return f"{STYLE}<div class='russo'><div class='err'><b>russo:</b> {_e(message, 4000)}</div></div>"
