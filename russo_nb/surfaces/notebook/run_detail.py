"""One run, opened: what was said against what the agent heard, what it should have called
against what it called, its text, timings, attempts and, for errors, the traceback.

:func:`run_detail_html` is plain HTML (used by the explorer and usable anywhere);
:class:`RunDetail` is the widget that adds the audio player of exactly the clip the agent
heard and previous / next run buttons (the runs browser also moves on the ↑ / ↓ keys).
Colours come from JupyterLab's theme variables: a difference is marked the same way on
both sides (never "expected is red, called is green", which makes the wrong call look
right); word errors carry a symbol as well as a colour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from ...model.columns import Run
from ...model.conditions import conditions_text
from ...model.run_fields import declared
from ...model.types import MAX_RETRIED_KEPT, MAX_RETRIED_MESSAGE, Audio, ToolCall, retried_text
from ...results.analysis.words import WordDiff, heard_text, word_diff
from ...results.view.kit import STYLE, escape_text, match_marks, plural
from ...results.view.transcript import transcript_html

__all__ = ["RunDetail", "call_table_html", "is_scenario_run", "noun_of", "run_detail_html", "runs_of", "word_diff_html"]


def noun_of(result: Any) -> str:
    """What a batch's rows are: ``scenario`` for a scenario batch, else ``prompt``."""
    kind = getattr(getattr(result, "metadata", None), "kind", None)
    return "scenario" if kind == "scenarios" else "prompt"


def runs_of(result: Any) -> Sequence[Any]:
    """A result's runs as a sequence, not copied: a loaded batch's runs stay columns, built when shown."""
    runs = getattr(result, "runs", None)
    if runs is None:
        return []
    return runs if isinstance(runs, Sequence) else list(runs)


MAX_TRACEBACK = 20_000
MAX_MESSAGES = 100
"""The most messages of a run's conversation the detail shows (the rest are said to be omitted)."""


# -- words --------------------------------------------------------------------------------
_WORD_HTML: dict[str, Callable[[Any], str]] = {
    "equal": lambda op: escape_text(op.said or ""),
    "sub": lambda op: (
        f"<span class='sub' title='said {escape_text(op.said)}, heard {escape_text(op.heard)}'>"
        f"{escape_text(op.heard)} <span class='said'>(said {escape_text(op.said)})</span></span>"
    ),
    "del": lambda op: f"<span class='del' title='said but not heard'>{escape_text(op.said)}</span>",
    "ins": lambda op: f"<span class='ins' title='heard but not said'>+{escape_text(op.heard)}</span>",
}
"""A word diff op as HTML, by its kind (:meth:`~russo_nb.results.analysis.words.WordDiff.rendered`)."""


def word_diff_html(diff: WordDiff) -> str:
    """The prompt's words with what the recognizer made of them, and the word error rate.

    Substitutions show ``heard`` over the struck ``said`` word, deletions are struck through
    (said, not heard), insertions underlined with a ``+`` (heard, not said).
    """
    parts = diff.rendered(_WORD_HTML)
    wer = diff.wer
    rate = "n/a (nothing said)" if wer is None else f"{wer:.0%}"
    counts = (
        f"WER <b>{rate}</b> · {diff.substitutions} substituted, {diff.deletions} missed, "
        f"{diff.insertions} extra of {diff.reference_words} words"
    )
    body = " ".join(parts) if parts else "<span class='muted'>(no words)</span>"
    return f"<div class='wd russo-word-diff'>{body}</div><div class='muted russo-wer'>{counts}</div>"


# -- calls --------------------------------------------------------------------------------
def _value(arguments: dict[str, Any], key: str) -> tuple[str, bool]:
    if key not in arguments:
        return "—", False
    return escape_text(repr(arguments[key]), 200), True


def call_table_html(expected: ToolCall | None, called: ToolCall | None) -> str:
    """One expected call against the call the agent made, argument by argument.

    Rows are labelled "expected" and "agent called"; a column per argument; cells that
    differ are marked alike on both rows; an argument one side lacks shows "—".
    """
    exp_args = expected.arguments if expected is not None else {}
    got_args = called.arguments if called is not None else {}
    keys = list(dict.fromkeys([*exp_args, *got_args]))
    same_name = expected is not None and called is not None and expected.name == called.name
    head = "<tr><th></th><th>tool</th>" + "".join(f"<th>{escape_text(key)}</th>" for key in keys) + "</tr>"

    def row(label: str, call: Any | None, args: dict[str, Any], other: dict[str, Any] | None) -> str:
        if call is None:
            missing = "no matching call" if label == "agent called" else "not expected (extra call)"
            return (
                f"<tr><th class='side'>{label}</th><td class='absent differs' colspan='{len(keys) + 1}'>"
                f"{missing}</td></tr>"
            )
        name_css = "" if same_name or other is None else " class='differs'"
        cells = [f"<td{name_css}><code>{escape_text(call.name)}</code></td>"]
        for key in keys:
            text, present = _value(args, key)
            differs = other is not None and (
                (key in args) != (key in other) or (key in args and args[key] != other[key])
            )
            css = ["differs"] if differs else []
            if not present:
                css.append("absent")
            cls = f" class='{' '.join(css)}'" if css else ""
            cells.append(f"<td{cls}><code>{text}</code></td>")
        return f"<tr><th class='side'>{label}</th>{''.join(cells)}</tr>"

    exp_other = got_args if called is not None else None
    got_other = exp_args if expected is not None else None
    rows = row("expected", expected, exp_args, exp_other) + row("agent called", called, got_args, got_other)
    return f"<table class='calls russo-call-diff'>{head}{rows}</table>"


MAX_CALLS_LISTED = 20
"""The most calls the detail lists when there is nothing to diff them against."""


def _calls_made_html(made: Sequence[Any]) -> str:
    if not made:
        return "<div><b>The agent made no tool call.</b></div>"
    items = "".join(f"<li><code>{escape_text(str(call), 300)}</code></li>" for call in made[:MAX_CALLS_LISTED])
    more = f"<li class='muted'>… {len(made) - MAX_CALLS_LISTED} more</li>" if len(made) > MAX_CALLS_LISTED else ""
    return f"<div>Calls the agent made ({len(made)}):</div><ul class='russo-calls-made'>{items}{more}</ul>"


def _calls_section(run: Run, *, scenario: bool = False) -> str:
    evaluation = run.eval_result
    made = list(run.tool_calls)
    if scenario and (evaluation is None or not evaluation.expected):
        # a scenario without a tool_call_match scorer is judged by its criteria: there is no call to diff
        # against, and the calls it made are not "extra" (scenarios allow calls beyond the expected ones)
        return (
            "<div class='russo-no-expected-calls'><b>This scenario declares no expected tool calls</b> "
            "<span class='muted'>(no tool_call_match scorer): it is judged by its criteria below, so there is "
            "no call diff.</span></div>" + _calls_made_html(made)
        )
    if evaluation is None:
        if not made:
            return "<div class='muted'>no tool calls</div>"
        return "".join(call_table_html(None, call) for call in made)
    parts: list[str] = []
    for match in evaluation.matches:
        badge, note = match_marks(match, ("match", "differs"))
        why = f" {note}" if note else ""
        parts.append(f"<div>{badge}{why}</div>{call_table_html(match.expected, match.actual)}")
    if not evaluation.matches:
        for call in evaluation.expected:
            parts.append(call_table_html(call, None))
    extras = evaluation.extra_calls(made)
    if scenario and extras:  # allowed: a scenario's expected calls are matched among all it made
        parts.append(
            "<div class='muted'>Other calls the agent made (a scenario allows calls beyond the expected ones):</div>"
        )
        parts.append(_calls_made_html(extras))
        extras = []
    for call in extras[:10]:
        parts.append(f"<div><span class='badge warn'>extra call</span></div>{call_table_html(None, call)}")
    if not evaluation.expected and not made:
        parts.append("<div class='muted'>no calls expected, none made</div>")
    elif evaluation.expected and not made:
        parts.insert(0, "<div><b>The agent made no tool call.</b></div>")
    if evaluation.details and not scenario:  # a scenario's details are its judge's reasoning, shown below
        parts.append(f"<div class='muted'>{escape_text(evaluation.details, 600)}</div>")
    return "".join(parts)


def _criteria_section(run: Run) -> str:
    """A scenario run's criteria, the missed ones first ('' for a prompt run: it has none)."""
    passed, failed = run.passed_criteria, run.failed_criteria
    if not passed and not failed:
        return ""
    lines = [f"<li>✘ {escape_text(criterion, 500)}</li>" for criterion in failed[:50]]
    lines += [f"<li>✔ {escape_text(criterion, 500)}</li>" for criterion in passed[:50]]
    return (
        f"<div class='rd-h'>Criteria: {len(passed)} met, {len(failed)} not met</div>"
        f"<ul class='russo-criteria' style='list-style:none;padding-left:0;margin:2px 0'>{''.join(lines)}</ul>"
    )


def is_scenario_run(run: Run) -> bool:
    """Whether ``run`` is a scenario run (its ``kind``; a prompt agent's ``response.raw`` is never read for this)."""
    return run.kind == "scenario"


# -- one run -----------------------------------------------------------------------------
def _when(started: Any) -> str:
    if started is None:
        return ""
    try:
        return datetime.fromtimestamp(float(started), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError):
        return str(started)


def _seconds(value: Any) -> str:
    """``0.140 s`` (three decimals, as the other timings); a value that is not a number, as given."""
    try:
        return f"{float(value):.3f} s"
    except (TypeError, ValueError):
        return f"{value} s"


def _facts(run: Run) -> str:
    facts: list[tuple[str, str]] = []
    conditions = conditions_text(run.conditions)
    if conditions:
        facts.append(("conditions", escape_text(conditions, 600)))
    latency = run.latency_s if run.latency_s is not None else run.total_time
    if latency is not None:
        facts.append(("agent latency", _seconds(latency)))
    if run.total_time is not None and run.latency_s is not None:
        facts.append(("whole run", _seconds(run.total_time)))
    synth = run.synth_s
    if synth is not None:
        facts.append(("synthesis", _seconds(synth)))
    if run.score is not None:
        facts.append(("score", escape_text(_score_text(run))))
    if run.turns is not None:
        facts.append(("turns", str(run.turns)))
    raw = run.response.raw if run.response is not None else None
    if isinstance(raw, dict):
        if raw.get("decode_s") is not None:
            facts.append(("recognition", escape_text(_seconds(raw["decode_s"]))))
        if raw.get("asr_confidence") is not None:
            facts.append(("recognizer confidence", escape_text(raw["asr_confidence"])))
    attempts = str(run.attempts)
    if run.retried:
        attempts += f" ({retried_text(run.retried)})"
    facts.append(("attempts", escape_text(attempts)))
    effects = run.effects
    if effects:
        facts.append(("effects", escape_text(", ".join(map(str, effects)))))
    seed = run.seed
    if seed is not None:
        facts.append(("seed", str(seed)))
    when = _when(run.started_at)
    if when:
        facts.append(("started", when))
    facts.extend(_declared_facts(run))
    return "<dl class='rd'>" + "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts) + "</dl>"


DRAWN: frozenset[str] = frozenset({"prompt", "run_index", "status", "latency_s", "attempts"})
"""The fields declared ``shown`` that the run detail draws its own way (its header, timings and attempts)."""


def _declared_facts(run: Run) -> list[tuple[str, str]]:
    """A fact for each other field declared ``shown`` (:data:`russo_nb.model.run_fields.FIELDS`) with a value."""
    facts = []
    for spec in declared("prompts" if run.kind == "prompt" else "scenarios"):
        if spec.shown is None or spec.name in DRAWN:
            continue
        value = getattr(run, spec.name)  # a field the run's model declares
        if value is not None and value == value:  # not None, not NaN
            facts.append((escape_text(spec.shown.label), escape_text(str(value), 600)))
    return facts


def _score_text(run: Run) -> str:
    """``0.85 (tool_calls 0.70, success 1.00)``: the weighted score and each scorer's."""
    text = f"{run.score:.2f}"
    if run.scores:
        text += " (" + ", ".join(f"{name} {value:.2f}" for name, value in run.scores.items()) + ")"
    return text


def _error_section(run: Run) -> str:
    error = run.error
    if error is None:
        return ""
    text = f"<div class='err'>{escape_text(str(error), 2000)}</div>"
    trace = error.traceback
    if trace:
        text += (
            "<details open class='russo-traceback'><summary>Traceback</summary>"
            f"<pre class='tb'>{escape_text(trace, MAX_TRACEBACK)}</pre></details>"
        )
    else:
        text += "<div class='muted'>No traceback was recorded for this error.</div>"
    return f"<div class='rd-h'>Error</div>{text}"


def _retried_section(run: Run) -> str:
    """The run's earlier attempts that failed and were retried, one line each, numbered as attempts.

    The engine keeps the last :data:`~russo_nb.model.types.MAX_RETRIED_KEPT` of them (oldest first), so
    numbering counts back from the run's last attempt; attempts not kept are said to be missing.
    """
    retried = list(run.retried)
    if not retried:
        return ""
    shown = retried[-MAX_RETRIED_KEPT:]
    attempts = run.attempts
    last = attempts if attempts > len(shown) else len(shown) + 1
    first = last - len(shown)
    lines = []
    if first > 1:
        lines.append(f"<li class='muted'>attempts 1–{first - 1}: not kept (a run keeps its last {len(shown)})</li>")
    for number, attempt in enumerate(shown, start=first):
        kind = escape_text(attempt.type or "error", 200)
        message = attempt.message
        text = f"{kind}: {escape_text(message, MAX_RETRIED_MESSAGE)}" if message else kind
        where = f" during {escape_text(attempt.stage, 100)}" if attempt.stage else ""
        waits = []
        if attempt.waited_s is not None:
            waits.append(f"waited {attempt.waited_s:.2f} s")
        if attempt.retry_after is not None:
            waits.append(f"server asked {attempt.retry_after:g} s")
        wait = f"; {', '.join(waits)}" if waits else ""
        lines.append(f"<li>attempt {number}: {text}{where} <span class='muted'>(retried{wait})</span></li>")
    status = run.status or "finished"
    lines.append(f"<li>attempt {last}: {escape_text(status)} — the outcome this run reports</li>")
    return (
        f"<div class='rd-h'>Attempts: {len(retried)} retried before the last</div>"
        f"<ol class='russo-retried' style='list-style:none;padding-left:0;margin:2px 0'>{''.join(lines)}</ol>"
    )


def run_detail_html(
    run: Run, *, index: int | None = None, with_style: bool = True, scenario: bool | None = None
) -> str:
    """One run as HTML: header, said vs heard (word diff, WER), expected vs called, text, timings, error.

    ``scenario`` (detected from the run when None) says the run is a scenario's: its calls are
    diffed only against the calls its scorers expect, and its criteria are listed.
    """
    if scenario is None:
        scenario = is_scenario_run(run)
    status = run.status or ("passed" if run.passed else "failed")
    badge = "ok" if status == "passed" else "bad"
    prompt = run.prompt or ""
    where = f"#{index} · " if index is not None else ""
    parts = [
        f"<div class='russo-run-head'><span class='badge {badge}'>{escape_text(status)}</span> "
        f"<b>{escape_text(prompt, 1000)}</b> <span class='muted'>{where}run {run.run_index}</span></div>"
    ]
    heard = heard_text(run)
    if heard is not None:
        parts.append("<div class='rd-h'>Said (prompt) vs heard (the agent's transcription)</div>")
        parts.append(word_diff_html(word_diff(prompt, heard)))
        if not heard.strip():
            parts.append("<div class='muted'>The recognizer heard nothing (empty transcription).</div>")
    parts.append("<div class='rd-h'>Tool calls: expected vs agent called</div>")
    parts.append(_calls_section(run, scenario=scenario))
    if run.transcript:  # a scenario's conversation, a multi-turn prompt run's: its last reply is in it
        parts.append(f"<div class='rd-h'>Conversation ({plural(len(run.transcript), 'message')})</div>")
        parts.append(transcript_html(run.transcript, audio=run.audio, max_messages=MAX_MESSAGES))
    elif run.text and run.text != heard:
        parts.append(f"<div class='rd-h'>Agent's text</div><div>{escape_text(run.text, 3000)}</div>")
    if scenario:
        parts.append(_criteria_section(run))
    if run.reasoning:
        parts.append(f"<div class='rd-h'>Judge's reasoning</div><div>{escape_text(run.reasoning, 3000)}</div>")
    parts.append(_error_section(run))
    parts.append(_retried_section(run))
    parts.append(f"<div class='rd-h'>Run facts</div>{_facts(run)}")
    style = STYLE if with_style else ""
    return f"{style}<div class='russo russo-run-detail'>{''.join(parts)}</div>"


def clip_of(result: Any, run: Run) -> Audio | None:
    """The audio a run's agent heard, if the batch kept it (None otherwise).

    A prompt run's clip is the batch's (by ``audio_key``), a scenario run's the first it carries.
    """
    audio_for = getattr(result, "audio_for", None)  # any result with runs: a BatchResult has an audio store
    if callable(audio_for) and run.audio_key is not None:
        try:
            return audio_for(run)
        except Exception:  # a foreign result type without an audio store
            return None
    return next((clip for clip in run.audio.values() if clip is not None), None)


class RunDetail:
    """The widget of one opened run: previous / next, the audio the agent heard, and :func:`run_detail_html`.

    ``order`` is the sequence of run indices being browsed (the runs table's current order),
    so previous / next follow what the user sees; ``order_of()``, when given, is asked for it
    at each move (the table may have been re-sorted or filtered since the run was opened).
    """

    def __init__(
        self,
        result: Any,
        *,
        on_move: Callable[[int], None] | None = None,
        order_of: Callable[[], Sequence[int]] | None = None,
    ) -> None:
        import ipywidgets as widgets

        self.result = result
        self.runs: Sequence[Any] = runs_of(result)
        self.scenario: bool | None = True if noun_of(result) == "scenario" else None
        """A scenario batch's runs are shown as scenarios; otherwise each run says what it is."""
        self.order: Sequence[int] = range(len(self.runs))
        self.index: int | None = None
        self.on_move = on_move
        self.order_of = order_of
        self.previous = widgets.Button(
            description="▲ previous run", tooltip="open the previous run of the list (↑ key)", layout={"width": "auto"}
        )
        self.following = widgets.Button(
            description="▼ next run", tooltip="open the next run of the list (↓ key)", layout={"width": "auto"}
        )
        self.previous.add_class("russo-run-previous")
        self.following.add_class("russo-run-next")
        self.previous.on_click(lambda _: self.move(-1))
        self.following.on_click(lambda _: self.move(1))
        self.position = widgets.HTML()
        self.position.add_class("russo-run-position")
        self.audio_box = widgets.VBox()
        self.audio_box.add_class("russo-run-audio")
        self.body = widgets.HTML(value=f"{STYLE}<div class='russo muted'>Select a run to open it.</div>")
        self.widget = widgets.VBox(
            [widgets.HBox([self.previous, self.following, self.position]), self.audio_box, self.body]
        )
        self.widget.add_class("russo-detail")

    def show(self, index: int | None, order: Sequence[int] | None = None) -> None:
        """Open run ``index`` (a position in ``result.runs``); ``order`` is what previous / next walk."""
        import ipywidgets as widgets

        if order is not None:
            self.order = order
        self.index = index
        if index is None or not 0 <= index < len(self.runs):
            self.audio_box.children = []
            self.body.value = f"{STYLE}<div class='russo muted'>Select a run to open it.</div>"
            self.position.value = ""
            return
        run = self.runs[index]
        clip = clip_of(self.result, run)
        if clip is not None:
            player = widgets.Audio(value=clip.to_wav_bytes(), format="wav", autoplay=False, loop=False)
            player.add_class("russo-audio")
            label = widgets.HTML(
                value=f"{STYLE}<div class='russo muted'>What the agent heard ({clip.duration_s:.1f} s):</div>"
            )
            self.audio_box.children = [label, player]
        elif run.audio_key is not None:
            self.audio_box.children = [
                widgets.HTML(
                    value=f"{STYLE}<div class='russo muted'>The clip this run heard was not kept "
                    "(a loaded or recorded batch keeps the clips it was saved with).</div>"
                )
            ]
        else:
            self.audio_box.children = []
        self.body.value = run_detail_html(run, index=index, scenario=self.scenario)
        self.relist(self.order)

    def relist(self, order: Sequence[int]) -> None:
        """Browse ``order`` from now on (the table was re-sorted or filtered); the position shown follows."""
        self.order = order
        where = self.listed_at()
        if where is not None:
            self.position.value = (
                f"<span style='font-size:12px;padding-left:8px'>run {where + 1:,} of {len(order):,} listed "
                "(↑ / ↓ keys in the list move too)</span>"
            )
        elif self.index is not None:
            self.position.value = (
                "<span style='font-size:12px;padding-left:8px'>this run is not in the list (filtered out); "
                "↓ opens the first listed run</span>"
            )
        else:
            self.position.value = ""

    def listed_at(self) -> int | None:
        """The opened run's position in the order browsed (None when no run is open or it is not listed)."""
        if self.index is None:
            return None
        if isinstance(self.order, range):
            return self.index if self.index < len(self.order) else None
        import numpy as np

        positions = np.flatnonzero(np.asarray(self.order) == self.index)
        return int(positions[0]) if len(positions) else None

    def neighbour(self, step: int) -> int | None:
        """The run ``step`` places after (+) or before (-) the opened one in the order, clamped to its ends.

        None when the order is empty; the first listed run when none is open or the opened
        run is not listed (filtered out).
        """
        if len(self.order) == 0:
            return None
        where = self.listed_at()
        if where is None:
            return int(self.order[0])
        return int(self.order[min(len(self.order) - 1, max(0, where + step))])

    def move(self, step: int) -> None:
        """Open the previous (-1) or next (+1) run of the current order (``order_of()`` when given)."""
        if self.order_of is not None:
            self.order = self.order_of()
        index = self.neighbour(step)
        if index is None or index == self.index:
            return
        if self.on_move is not None:
            self.on_move(index)
        else:
            self.show(index)
