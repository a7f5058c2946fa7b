"""What one scenario run produced: the verdict, the transcript, criteria, scores and lifecycle.

A :class:`ScenarioResult` is also the engine's result type for scenario runs, so it
carries ``status`` and ``attempts`` like a prompt run does, and the same names the
analysis uses (``prompt``, ``run_index``, ``latency_s``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from ..model.plain_text import terminal_safe
from ..model.run_fields import register_scenario_models
from ..model.types import (
    AgentResponse,
    Audio,
    Conditions,
    EvalResult,
    RetriedAttempt,
    RunError,
    RunKind,
    RunStatus,
    ToolCall,
    construct_fast,
)
from ..model.types import prompt_id as make_prompt_id
from .calls import collect_tool_calls
from .state import transcript as transcript_of

__all__ = ["CriterionResult", "LifecycleEvent", "LifecyclePhase", "ScenarioResult", "tool_calls_in", "transcript_facts"]

LifecyclePhase = Literal["created", "set_up", "running", "scoring", "completed", "torn_down"]
"""The phases a run passes through, in order (seed 002's lifecycle, without the devbox)."""


class LifecycleEvent(BaseModel):
    """A phase a run entered, with the wall-clock time (epoch seconds) it did."""

    phase: LifecyclePhase
    at: float = Field(default_factory=time.time)
    detail: str = ""


class CriterionResult(BaseModel):
    """How one criterion fared at a judgment: passed or not, and why."""

    criterion: str
    passed: bool
    reasoning: str = ""


def tool_calls_in(messages: list[dict[str, Any]]) -> list[ToolCall]:
    """Every tool call the assistant made in OpenAI-format ``messages``, as plain russo ToolCalls."""
    return [
        construct_fast(ToolCall, {"name": call.name, "arguments": call.arguments})
        for call in collect_tool_calls(messages)
    ]


_EVALS: dict[tuple[Any, ...], EvalResult] = {}
"""Scenario runs' evaluations by outcome (see :attr:`ScenarioResult.eval_result`)."""

_EVALS_KEPT = 50_000


CallsKey = tuple[tuple[Any, Any], ...]
"""The assistant's calls as ``(name, argument text)`` pairs: what a scenario run's evaluation depends on."""


def transcript_facts(messages: list[dict[str, Any]]) -> tuple[CallsKey | None, str | None, str | None]:
    """What a scenario run's table reads from its transcript, in one pass: ``(calls, text, audio_key)``.

    ``calls``: the assistant's calls as ``(name, argument text)`` pairs, what its evaluation depends on;
    None when a call is not in the usual shape (arguments already a dict, a malformed call): such a run
    is evaluated on its own, never shared. ``text``: the agent's last text reply (None when it gave
    none). ``audio_key``: the first clip a user message names (voice scenarios), else None.
    """
    calls: list[tuple[Any, Any]] | None = []
    text = audio_key = None
    for message in messages:
        role = message.get("role")
        if role == "assistant":
            content = message.get("content")
            if isinstance(content, str) and content:
                text = content
            if calls is not None and "tool_calls" in message:
                try:
                    for call in message["tool_calls"] or ():
                        function = call.get("function") if isinstance(call, dict) else None
                        if not isinstance(function, dict):
                            calls = None
                            break
                        arguments = function.get("arguments")
                        name = function.get("name", "")
                        if not (arguments is None or type(arguments) is str) or type(name) is not str:
                            calls = None
                            break
                        calls.append((name, arguments))
                except TypeError:  # calls that are no list: evaluated on their own (which says what is wrong)
                    calls = None
        elif role == "user" and audio_key is None and "audio_key" in message and message["audio_key"]:
            audio_key = str(message["audio_key"])
    return (None if calls is None else tuple(calls)), text, audio_key


def _evaluation(run: Any, calls: CallsKey | None) -> EvalResult:
    """A scenario run's :attr:`~ScenarioResult.eval_result`, given its transcript's calls (:func:`transcript_facts`).

    A function of the run, not a method: the rows of a loaded JSON-lines batch answer the properties without a run
    object (:mod:`russo_nb.scenario.row_runs`).
    """
    key = None
    if calls is not None:
        key = (calls, tuple(map(id, run.expected_calls)), run.status == "passed", run.reasoning or "")
        hit = _EVALS.get(key)
        if hit is not None:
            return hit
    from ..model.evaluators import ExactEvaluator

    actual = run.tool_calls
    matches = ExactEvaluator(ignore_extra_calls=True).evaluate(run.expected_calls, actual).matches
    evaluation = construct_fast(
        EvalResult,
        {
            "passed": run.status == "passed",
            "expected": list(run.expected_calls),  # keeps the expected calls alive: their ids stay theirs
            "actual": actual,
            "matches": matches,
            "details": run.reasoning or "",
        },
    )
    if key is not None:
        if len(_EVALS) >= _EVALS_KEPT:
            _EVALS.clear()
        _EVALS[key] = evaluation
    return evaluation


class ScenarioResult(BaseModel):
    """The outcome of one scenario run.

    ``success`` is the verdict (a judge's, a ``succeed()``/``fail()`` step's, or a
    check's); ``status`` is how the run ended for the engine: ``passed``, ``failed``,
    ``error``, ``timeout`` or ``cancelled``. ``score`` is the weighted sum of
    ``scores`` when the scenario has scorers.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, ser_json_inf_nan="constants")

    success: bool
    messages: list[dict[str, Any]] = Field(default_factory=list)
    reasoning: str | None = None
    passed_criteria: list[str] = Field(default_factory=list)
    failed_criteria: list[str] = Field(default_factory=list)
    total_time: float | None = None
    agent_time: float | None = None
    error: RunError | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    score: float | None = None
    name: str = ""
    description: str = ""
    status: RunStatus | None = None
    run_index: int = 0
    attempts: int = 1
    retried: tuple[RetriedAttempt, ...] = ()
    """The earlier attempts that failed and were retried (oldest first, bounded)."""
    seed: int | None = None
    thread_id: str | None = None
    turns: int = 0
    started_at: float | None = None
    tags: list[str] = Field(default_factory=list)
    audio: dict[str, Audio] = Field(default_factory=dict)
    lifecycle: list[LifecycleEvent] = Field(default_factory=list)
    criteria_results: list[CriterionResult] = Field(default_factory=list)
    expected_calls: list[ToolCall] = Field(default_factory=list)
    """The calls the scenario's ``tool_call_match`` scorers expect (filled in by its batch)."""
    conditions: Conditions = Field(default_factory=dict)
    """What the run ran under, name → scalar (see :mod:`russo_nb.model.conditions`); empty for a plain batch."""

    @field_serializer("audio", when_used="json")
    def _audio_keys(self, audio: dict[str, Audio]) -> list[str]:
        """In JSON a run's clips are their keys (the clips are the batch's audio: exports and the store keep them)."""
        return list(audio)

    @model_validator(mode="after")
    def _fill_status(self) -> ScenarioResult:
        if self.status is None:
            if self.error is not None:
                self.status = "error"
            else:
                self.status = "passed" if self.success else "failed"
        return self

    # -- names the analysis and the engine share with prompt runs --------------------
    @property
    def passed(self) -> bool:
        """True when the run finished and passed (verdict and, if set, score threshold)."""
        return self.status == "passed"

    @property
    def prompt(self) -> str:
        """The scenario's name: what a prompt is for a prompt run."""
        return self.name

    @property
    def latency_s(self) -> float | None:
        """Seconds spent inside the agent under test (same as ``agent_time``)."""
        return self.agent_time

    @property
    def tool_calls(self) -> list[ToolCall]:
        """Every tool call the agent made during the run, in order."""
        return tool_calls_in(self.messages)

    # -- the rest of the Run protocol (russo_nb.model.columns.Run) ---------------------------
    @property
    def kind(self) -> RunKind:
        """``"scenario"``: a conversation judged by its criteria (a prompt run says ``"prompt"``)."""
        return "scenario"

    @property
    def response(self) -> AgentResponse | None:
        """A scenario's replies are in its :attr:`transcript`, not one adapter response: None."""
        return None

    @property
    def prompt_id(self) -> str:
        """Stable id of the scenario's name."""
        return make_prompt_id(self.name)

    @property
    def synth_s(self) -> float | None:
        """Synthesis time is not tracked per scenario run."""
        return None

    @property
    def audio_key(self) -> str | None:
        """The first clip the agent heard (voice scenarios), else None."""
        return transcript_facts(self.messages)[2]

    @property
    def effects(self) -> list[str]:
        """Audio effects are recorded per message in voice scenarios, not per run."""
        return []

    @property
    def transcript(self) -> list[dict[str, Any]]:
        """The conversation's messages (OpenAI format)."""
        return self.messages

    @property
    def eval_result(self) -> EvalResult:
        """The calls made against :attr:`expected_calls` (extra calls allowed); passed is the run's status.

        Runs with the same outcome (the same expected call objects, the same calls made — names and
        argument text — status and reasoning) get one shared evaluation, as a prompt batch's runs
        share interned ones: a 10,000-run batch evaluates each distinct outcome once.
        """
        return _evaluation(self, transcript_facts(self.messages)[0])

    @classmethod
    def table_fields(cls, runs: Sequence[ScenarioResult], names: Sequence[str]) -> dict[str, list[Any]]:
        """Those of ``names`` that are properties of a scenario run (``prompt``, ``eval_result``, ``text`` ...), for
        every run of ``runs`` (all of this class), as :func:`russo_nb.model.columns.table_codes` reads them.

        What reading each property of each run gives, sooner: one pass over a run's transcript gives its
        evaluation, last reply and clip key (:func:`transcript_facts`), equal names share one prompt id, and
        every run answers the same empty effects list (one distinct cell, not one per run).
        """
        wanted = set(names)
        out: dict[str, list[Any]] = {}
        n = len(runs)
        if "prompt" in wanted:
            out["prompt"] = [run.name for run in runs]
        if "prompt_id" in wanted:
            ids: dict[str, str] = {}
            out["prompt_id"] = [
                ids[run.name] if run.name in ids else ids.setdefault(run.name, make_prompt_id(run.name)) for run in runs
            ]
        if "latency_s" in wanted:
            out["latency_s"] = [run.agent_time for run in runs]
        for name, value in (("synth_s", None), ("response", None), ("effects", [])):
            if name in wanted:
                out[name] = [value] * n
        if "transcript" in wanted:
            out["transcript"] = [run.messages for run in runs]
        scanned = [name for name in ("eval_result", "text", "audio_key") if name in wanted]
        if scanned:
            facts = list(map(transcript_facts, [run.messages for run in runs]))
            if "eval_result" in wanted:
                out["eval_result"] = [_evaluation(run, fact[0]) for run, fact in zip(runs, facts)]
            if "text" in wanted:
                out["text"] = [fact[1] for fact in facts]
            if "audio_key" in wanted:
                out["audio_key"] = [fact[2] for fact in facts]
        return out

    @property
    def match_rate(self) -> float:
        """Fraction of expected calls made (1.0 when none expected)."""
        return self.eval_result.match_rate if self.expected_calls else 1.0

    @property
    def text(self) -> str | None:
        """The agent's last text reply."""
        return transcript_facts(self.messages)[1]

    def phase_at(self, phase: str) -> float | None:
        """When the run entered ``phase`` (epoch seconds), or None if it never did."""
        for event in self.lifecycle:
            if event.phase == phase:
                return event.at
        return None

    @property
    def phases(self) -> list[str]:
        """The lifecycle phases the run went through, in order."""
        return [event.phase for event in self.lifecycle]

    def summary(self) -> str:
        """A readable verdict: status, turns, score, criteria and the reasoning."""
        head = f"{(self.status or '').upper()} scenario {self.name!r}" if self.name else (self.status or "").upper()
        bits = [f"{self.turns} turns"]
        if self.score is not None:
            bits.append(f"score {self.score:.2f}")
        if self.total_time is not None:
            bits.append(f"{self.total_time:.2f}s")
        lines = [f"{head} ({', '.join(bits)})"]
        if self.reasoning:
            lines.append(f"  {terminal_safe(self.reasoning)}")
        if self.error is not None:
            lines.append(f"  error: {terminal_safe(self.error)}")
        lines += [f"  [+] {terminal_safe(criterion)}" for criterion in self.passed_criteria]
        lines += [f"  [-] {terminal_safe(criterion)}" for criterion in self.failed_criteria]
        for name, value in self.scores.items():
            lines.append(f"  score {terminal_safe(name)}: {value:.2f}")
        return "\n".join(lines)

    def transcript_text(self) -> str:
        """The conversation as plain text, one line per message, tool calls included."""
        return transcript_of(self.messages)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """The conversation as bubbles with the verdict (escaped), for notebooks."""
        from ..model.rendering import render

        return render("scenario_html", self)

    def __repr__(self) -> str:
        score = f", score={self.score:.2f}" if self.score is not None else ""
        return f"ScenarioResult({self.name!r}, status={self.status}, success={self.success}, turns={self.turns}{score})"


register_scenario_models(ScenarioResult, LifecycleEvent, CriterionResult)  # run_fields never imports this package
