"""``run`` and ``run_concurrent``: prompts × runs through synthesizer → agent → evaluator.

Each distinct prompt is synthesized once per batch and its clip shared by its runs
(kept once in the batch's audio store under ``audio_key``); effects, when given,
are applied per run with the run's own seed, and the audio the agent heard is what
is stored. Everything else (cap, timeouts, retries, progress, cancellation, error
capture) is the engine's job, see :mod:`russo_nb.execution.engine`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..model.conditions import check_conditions
from ..model.errors import InvalidArgumentError
from ..model.evaluators import ExactEvaluator
from ..model.expectations import normalize_expectations
from ..model.lean import RunInterner
from ..model.protocols import apply_effects, coerce_response, describe, effect_name
from ..model.types import (
    AgentResponse,
    Audio,
    BatchMetadata,
    BatchResult,
    Conditions,
    EvalResult,
    RunError,
    RunStatus,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
    construct_fast,
    prompt_id,
    record_template,
)
from .engine import EngineOptions, Executor, Job, Plan, Progress, check_runs, engine_options, stamped
from .pipeline import RunPipeline, batch_labels, make_pipeline

__all__ = [
    "PromptPlan",
    "PromptRun",
    "derive_seed",
    "normalize_prompts",
    "plan_prompts",
    "run",
    "run_concurrent",
    "start_batch",
]


def derive_seed(seed: int, prompt_index: int, run_index: int) -> int:
    """A run's own seed: stable for (batch seed, prompt, run), different across runs."""
    digest = hashlib.blake2b(f"{seed}/{prompt_index}/{run_index}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


def normalize_prompts(prompts: Any) -> list[str]:
    """Accept one prompt or a list of them; reject empty input with a clear error."""
    if isinstance(prompts, str):
        prompts = [prompts]
    if prompts is None or not isinstance(prompts, Sequence) or isinstance(prompts, bytes):
        raise InvalidArgumentError(f"prompts must be a string or a list of strings, got {type(prompts).__name__}")
    prompts = list(prompts)
    if not prompts:
        raise InvalidArgumentError("prompts is empty; give at least one prompt")
    for prompt in prompts:
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidArgumentError(f"every prompt must be a non-empty string, got {prompt!r:.80}")
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no synthesizer, agent or file can carry it
            raise InvalidArgumentError(
                f"prompt {prompt!r:.60} holds {prompt[exc.start]!r} at position {exc.start}, a lone surrogate "
                "that is not text; decode the prompt's bytes properly (errors='replace' keeps the rest)"
            ) from None
    return prompts


def _missed(expected: list[ToolCall], details: str) -> EvalResult:
    """The evaluation a run gets when it never produced an answer."""
    matches = [ToolCallMatch(expected=call, actual=None, matched=False, details=details) for call in expected]
    return EvalResult(passed=False, expected=list(expected), actual=[], matches=matches)


_SCALARS = (str, int, float, bool, type(None))


def _nested(arguments: Any) -> bool:
    """Whether arguments hold anything but scalars (only then can they be cyclic or absurdly deep)."""
    return not all(type(value) in _SCALARS for value in arguments.values())


def _bounded(response: AgentResponse) -> AgentResponse:
    """The response with self-referencing or too-deeply nested arguments made plain (``"<cycle>"``,
    ``"<nested too deep>"``), so the evaluator, exports and the store can read them."""
    from ..model.serialize import plain, unbounded

    calls = [
        construct_fast(ToolCall, {"name": call.name, "arguments": plain(call.arguments)})
        if unbounded(call.arguments)
        else call
        for call in response.tool_calls
    ]
    return response.model_copy(update={"tool_calls": calls})


@dataclass
class _Clip:
    audio: Audio
    key: str
    synth_s: float


class _BatchContext:
    """What every run of one batch shares: components, settings, the clip store."""

    def __init__(
        self,
        synthesizer: Any,
        agent: Any,
        evaluator: Any,
        effects: Sequence[Any],
        seed: int,
        resynthesize: bool,
        keep_audio: bool,
    ) -> None:
        self.synthesizer = synthesizer
        self.agent = agent
        self.evaluator = evaluator
        self.effects = list(effects)
        self.effect_names = [effect_name(effect) for effect in self.effects]
        self.seed = seed
        self.resynthesize = resynthesize
        self.keep_audio = keep_audio
        self.audio: dict[str, Audio] = {}
        self._clips: dict[tuple[str, str], asyncio.Task[_Clip]] = {}
        self._last_evaluation: dict[int, tuple[list[ToolCall], tuple[ToolCall, ...], EvalResult]] = {}
        self.interner = RunInterner()  # equal calls, evaluations and responses kept once per batch
        # ExactEvaluator is a pure function of (expected, calls): equal calls need not be evaluated twice
        self._pure = type(evaluator) is ExactEvaluator
        self._settled: dict[tuple[int, int], EvalResult] = {}
        self._last_answer: dict[int, tuple[Any, ...]] = {}
        self._missed: dict[tuple[int, str], tuple[list[ToolCall], EvalResult]] = {}

    def evaluate(self, expected: list[ToolCall], calls: list[ToolCall]) -> EvalResult:
        """Evaluate, reusing the last evaluation when an agent hands back the very same calls.

        Agents that replay a recorded or constant response return identical objects run
        after run; their evaluation is identical too, so it is kept once, not per run.
        """
        snapshot = tuple(calls)
        last = self._last_evaluation.get(id(expected))
        if last is not None and last[0] is expected and len(last[1]) == len(snapshot):
            if all(a is b for a, b in zip(last[1], snapshot)):
                return last[2]
        evaluation = self.evaluator.evaluate(expected, calls)
        if not isinstance(evaluation, EvalResult):
            raise TypeError(f"evaluate() returned {type(evaluation).__name__}, expected russo_nb.EvalResult")
        self._last_evaluation[id(expected)] = (expected, snapshot, evaluation)
        return evaluation

    def answer(self, expected: list[ToolCall], response: AgentResponse) -> tuple[AgentResponse, EvalResult]:
        """The response to keep (shared with equal ones) and its evaluation.

        An agent replaying one response object (recorded, constant) hands back the very
        same object with the very same calls: the last outcome is reused without looking
        inside it again.
        """
        calls = response.tool_calls
        if any(_nested(call.arguments) for call in calls):
            response = _bounded(response)
            calls = response.tool_calls
        last = self._last_answer.get(id(expected))
        if (
            last is not None
            and last[0] is response
            and last[2] is response.text
            and len(last[1]) == len(calls)
            and all(a is b for a, b in zip(last[1], calls))
        ):
            return last[3], last[4]
        evaluation = self.settle(expected, calls)
        kept = self.interner.response(response)
        self._last_answer[id(expected)] = (response, tuple(calls), response.text, kept, evaluation)
        return kept, evaluation

    def settle(self, expected: list[ToolCall], calls: list[ToolCall]) -> EvalResult:
        """The run's evaluation, shared with earlier runs that made equal calls.

        With :class:`~russo_nb.evaluators.ExactEvaluator` (a pure function of expected and
        actual calls) equal calls reuse the evaluation made the first time, so an agent that
        says the same few things in a 100,000-run batch is evaluated a few times, not 100,000;
        any other evaluator sees every run.
        """
        interner = self.interner
        if not self._pure:
            return interner.evaluation(self.evaluate(expected, calls))
        shared = interner.calls(calls)
        key = (id(expected), id(shared))
        evaluation = self._settled.get(key)
        if evaluation is None:
            evaluation = interner.evaluation(self.evaluate(expected, shared))
            self._settled[key] = evaluation
        return evaluation

    def missed(self, expected: list[ToolCall], details: str) -> EvalResult:
        """The evaluation of a run that never answered, shared by runs with the same expectation and reason."""
        key = (id(expected), details)
        last = self._missed.get(key)
        if last is None or last[0] is not expected:
            last = self._missed[key] = (expected, _missed(expected, details))
            if len(self._missed) > 1024:  # errors with distinct texts: keep only the latest
                self._missed.pop(next(iter(self._missed)))
        return last[1]

    def store(self, audio: Audio) -> str:
        key = audio.content_key()
        if self.keep_audio:
            self.audio.setdefault(key, audio)
        return key

    async def _synthesize(self, prompt: str, synthesizer: Any) -> _Clip:
        started = time.perf_counter()
        audio = await synthesizer.synthesize(prompt)
        if not isinstance(audio, Audio):
            raise TypeError(f"synthesize() returned {type(audio).__name__}, expected russo_nb.Audio")
        elapsed = time.perf_counter() - started
        return _Clip(audio=audio, key=self.store(audio), synth_s=elapsed)

    async def aclose(self) -> None:
        """Cancel synthesis nobody waits for any more (the batch stopped), so no task is left pending."""
        pending = [task for task in self._clips.values() if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def clip(self, prompt: str, voice: tuple[str, Any] | None = None) -> _Clip:
        """The prompt's clip: synthesized once and shared, unless ``resynthesize``.

        ``voice`` is ``(label, synthesizer)`` for a run spoken by another synthesizer than the
        batch's (a sweep over voices): each distinct (voice, prompt) is synthesized once.
        """
        label, synthesizer = voice if voice is not None else ("", self.synthesizer)
        if self.resynthesize:
            return await self._synthesize(prompt, synthesizer)
        key = (label, prompt)
        task = self._clips.get(key)
        if task is None or task.cancelled():  # cancelled when a stopped batch closed: a resumed one synthesizes again
            task = asyncio.ensure_future(self._synthesize(prompt, synthesizer))
            self._clips[key] = task
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            raise
        except Exception:
            if self._clips.get(key) is task:
                del self._clips[key]  # a retry synthesizes again
            raise


_RUN_TEMPLATE = record_template(
    SingleRunResult,
    given=("prompt", "run_index", "eval_result", "status", "prompt_id", "effects", "seed", "conditions"),
)
"""Every field of a prompt run at its default, in the model's order: a failed run's record starts from it."""


class PromptRun:
    """One work item: one prompt, one run index (a sweep's items, russo_nb.execution.sweep, subclass it)."""

    __slots__ = ("conditions", "ctx", "expected", "pid", "prompt", "run_index", "seed", "stage")

    def __init__(
        self,
        ctx: _BatchContext,
        prompt: str,
        pid: str,
        run_index: int,
        expected: list[ToolCall],
        seed: int | None,
        conditions: Conditions,
    ) -> None:
        self.conditions = conditions
        self.ctx = ctx
        self.prompt = prompt
        self.pid = pid
        self.run_index = run_index
        self.expected = expected
        self.seed = seed
        self.stage = ""

    async def attempt(self) -> SingleRunResult:
        ctx = self.ctx
        started_at = time.time()
        audio_key: str | None = None
        synth_s: float | None = None
        heard: Any = self.prompt
        if ctx.synthesizer is not None:
            self.stage = "synthesize"
            clip = await ctx.clip(self.prompt, self.voice)
            heard, audio_key, synth_s = clip.audio, clip.key, clip.synth_s
            effects = self.effects
            if effects:
                self.stage = "effects"
                heard = await apply_effects(clip.audio, effects, self.seed or 0)
                audio_key = ctx.store(heard)
        self.stage = "agent"
        agent_started = time.perf_counter()
        answer = await ctx.agent.run(heard)
        latency = time.perf_counter() - agent_started
        response = answer if type(answer) is AgentResponse else coerce_response(answer)
        self.stage = "evaluate"
        response, evaluation = ctx.answer(self.expected, response)
        self.stage = ""
        # Every field by hand, in the model's order: a literal is ~1.8 us/run faster than copying
        # _RUN_TEMPLATE (as failed() does); a field added to the model later gets its default from construct_fast.
        return construct_fast(
            SingleRunResult,
            {
                "prompt": self.prompt,
                "run_index": self.run_index,
                "eval_result": evaluation,
                "status": "passed" if evaluation.passed else "failed",
                "error": None,
                "latency_s": latency,
                "synth_s": synth_s,
                "attempts": 1,
                "audio_key": audio_key,
                "response": response,
                "prompt_id": self.pid,
                "effects": self.effect_names,
                "seed": self.seed,
                "started_at": started_at,
                "transcript": None,
                "retried": (),
                "conditions": self.conditions,
            },
        )

    # What the run hears: the batch's synthesizer and effect chain. A sweep's work item
    # (russo_nb.execution.sweep) overrides these three with its cell's voice and chain.
    voice: tuple[str, Any] | None = None
    """``(label, synthesizer)`` speaking this run, or None for the batch's synthesizer."""

    @property
    def effects(self) -> list[Any]:
        """The effect chain this run's audio goes through."""
        return self.ctx.effects

    @property
    def effect_names(self) -> list[str]:
        """How the chain is recorded on the run."""
        return self.ctx.effect_names

    def failed(self, status: RunStatus, error: RunError | None, attempts: int) -> SingleRunResult:
        details = str(error) if error else status
        return construct_fast(
            SingleRunResult,
            {
                **_RUN_TEMPLATE,
                "prompt": self.prompt,
                "run_index": self.run_index,
                "eval_result": self.ctx.missed(self.expected, details),
                "status": status,
                "error": error,
                "attempts": attempts,
                "prompt_id": self.pid,
                "effects": self.effect_names,
                "seed": self.seed,
                "conditions": self.conditions,
            },
        )


class PromptPlan(Plan[SingleRunResult, BatchResult]):
    """Prompts × runs: builds each run's work item on demand and collects a :class:`BatchResult`."""

    def __init__(
        self,
        ctx: _BatchContext,
        prompts: list[str],
        expected: list[list[ToolCall]],
        runs: int,
        metadata: BatchMetadata,
        conditions: Conditions | None = None,
    ) -> None:
        self.ctx = ctx
        self.conditions = conditions or {}
        self.prompts = prompts
        self.pids = [prompt_id(prompt) for prompt in prompts]
        self.expected = expected
        self.units = len(prompts)
        self.runs = runs
        self.metadata = metadata

    def item(self, unit: int, run: int) -> PromptRun:
        ctx = self.ctx
        seed = derive_seed(ctx.seed, unit, run) if ctx.effects else None
        conditions = self.conditions_for(unit, run)
        return PromptRun(ctx, self.prompts[unit], self.pids[unit], run, self.expected[unit], seed, conditions)

    def collect(
        self, runs: list[SingleRunResult], started_at: float, finished_at: float, interrupted: bool
    ) -> BatchResult:
        metadata = stamped(self.metadata, started_at, finished_at, interrupted)
        return BatchResult.model_construct(runs=runs, audio=dict(self.ctx.audio), metadata=metadata)

    async def aclose(self) -> None:
        await self.ctx.aclose()

    def components(self) -> list[tuple[str, Any]]:
        ctx = self.ctx
        named = [("agent", ctx.agent), ("synthesizer", ctx.synthesizer), ("evaluator", ctx.evaluator)]
        named += [(f"effects[{index}]", effect) for index, effect in enumerate(ctx.effects)]
        return [(what, obj) for what, obj in named if obj is not None]

    def audio_store(self) -> dict[str, Audio] | None:
        return self.ctx.audio if self.ctx.keep_audio else None


def plan_prompts(
    prompts: str | Sequence[str],
    pipeline: RunPipeline,
    expect: Any = None,
    runs: int = 1,
    *,
    resynthesize: bool = False,
    keep_audio: bool = True,
    metadata: BatchMetadata | None = None,
    conditions: Conditions | None = None,
) -> PromptPlan:
    """Plan prompts × runs through ``pipeline`` (checked input; nothing runs yet).

    ``conditions`` (name → scalar) are carried by every run; a subclass of :class:`PromptPlan`
    overriding :meth:`~russo_nb.execution.engine.Plan.conditions_for` gives them per run.
    """
    conditions = check_conditions(conditions)
    prompt_list = normalize_prompts(prompts)
    runs = check_runs(runs)
    expectations = normalize_expectations(expect, prompt_list)
    expected = [expectations[prompt] if isinstance(expectations, dict) else expectations for prompt in prompt_list]
    ctx = _BatchContext(
        pipeline.synthesizer,
        pipeline.agent,
        pipeline.evaluator,
        pipeline.effects,
        pipeline.seed,
        resynthesize,
        keep_audio,
    )
    if metadata is None:
        metadata = BatchMetadata()
    metadata = metadata.model_copy(
        update={
            "agent": describe(pipeline.agent),
            "synthesizer": None if pipeline.synthesizer is None else describe(pipeline.synthesizer),
            "evaluator": describe(pipeline.evaluator),
            "evaluator_params": dict(getattr(pipeline.evaluator, "params", {}) or {}),
            "effects": ctx.effect_names,
            "seed": pipeline.seed,
            "runs_per_prompt": runs,
            "params": {
                **metadata.params,
                "resynthesize": resynthesize,
                "text_mode": pipeline.synthesizer is None,
            },
        }
    )
    return PromptPlan(ctx, prompt_list, expected, runs, metadata, conditions)


def start_batch(
    prompts: str | Sequence[str],
    synthesizer: Any = None,
    agent: Any = None,
    evaluator: Any = None,
    expect: Any = None,
    runs: int = 1,
    max_concurrency: int | None = None,
    *,
    options: EngineOptions | None = None,
    effects: Sequence[Any] | None = None,
    resynthesize: bool = False,
    keep_audio: bool = True,
    on_progress: Callable[[Progress], Any] | None = None,
    name: str | None = None,
    tags: Sequence[str] = (),
    conditions: Conditions | None = None,
    executor: Executor | None = None,
    until: Any = None,
    **engine: Any,
) -> Job[BatchResult]:
    """Validate everything and prepare a batch without running it yet.

    Same arguments as :func:`run_concurrent`; ``conditions`` (``{"agent_version": "v2"}``) is
    carried by every run and becomes a column of ``to_dataframe()`` and every export. Returns the
    :class:`~russo_nb.execution.engine.Job` to await, iterate over runs as they finish, or cancel (its
    ``result()`` survives a cancel). The engine options (``timeout``, ``retries``, ``retry_on``,
    ``retry_backoff``, ``rate_limit``, ``seed``, ...) are :class:`~russo_nb.execution.engine.EngineOptions`' fields,
    given as keywords or ``options=``. ``executor``: where the runs execute (default:
    this process's event loop; a :class:`~russo_nb.execution.dask_executor.DaskExecutor` ships them to a Dask cluster).
    ``until=russo_nb.Precision(...)``: the rounds of runs to run until the interval is that narrow
    (a :class:`~russo_nb.execution.precision.PreciseBatch`, awaited, cancelled and read like a job).
    """
    if until is not None:
        given = dict(
            options=options, effects=effects, resynthesize=resynthesize, keep_audio=keep_audio,
            on_progress=on_progress, name=name, tags=tags, conditions=conditions, executor=executor, **engine,
        )  # fmt: skip

        def start(count: int) -> Job[BatchResult]:
            return start_batch(prompts, synthesizer, agent, evaluator, expect, count, max_concurrency, **given)

        return stopping_rule(until).batch(runs, start)
    settings = engine_options(options, where="start_batch()", max_concurrency=max_concurrency, **engine)
    pipeline = make_pipeline(agent, synthesizer, evaluator, effects, settings.seed or 0)
    name, tag_list = batch_labels(name, tags)
    metadata = BatchMetadata(name=name, tags=tag_list, **settings.metadata_fields())
    plan = plan_prompts(
        prompts,
        pipeline,
        expect,
        runs,
        resynthesize=resynthesize,
        keep_audio=keep_audio,
        metadata=metadata,
        conditions=conditions,
    )
    return Job([plan], settings, on_progress, executor=executor)


def stopping_rule(until: Any) -> Any:
    """``until`` if it is a stopping rule (``batch(runs, start)``, as :class:`russo_nb.Precision`), else an error."""
    if not callable(getattr(until, "batch", None)):
        raise InvalidArgumentError(f"until= takes russo_nb.Precision(half_width=...), got {type(until).__name__}")
    return until


async def run_concurrent(
    prompts: str | Sequence[str],
    synthesizer: Any = None,
    agent: Any = None,
    evaluator: Any = None,
    expect: Any = None,
    runs: int = 1,
    max_concurrency: int | None = None,
    *,
    until: Any = None,
    **options: Any,
) -> BatchResult:
    """Run every prompt ``runs`` times concurrently and collect a :class:`BatchResult`.

    Covers 1 prompt × N runs, M prompts × 1 run and the M × N matrix. Options: the engine's
    (:class:`~russo_nb.execution.engine.EngineOptions`: ``timeout``, ``retries``/``retry_on``/``retry_backoff``,
    ``rate_limit``, ``seed``, or ``options=``), and ``effects``, ``resynthesize``, ``keep_audio``,
    ``on_progress``, ``name``, ``tags``, ``conditions`` (name → scalar,
    carried by every run: ``{"agent_version": "v2"}``), ``executor``.
    ``synthesizer=None`` is text mode: the agent gets the prompt text.
    ``until=russo_nb.Precision(half_width=0.05)`` keeps adding rounds of runs until the pass rate's
    interval is that narrow (or a cap), and says why it stopped (:mod:`russo_nb.execution.precision`).
    """
    batch = start_batch(prompts, synthesizer, agent, evaluator, expect, runs, max_concurrency, until=until, **options)
    return await batch.wait()


async def run(
    *,
    prompt: str,
    synthesizer: Any = None,
    agent: Any = None,
    evaluator: Any = None,
    expect: Any = None,
) -> EvalResult:
    """Run one prompt once and return its evaluation, as russo's ``run``.

    Unlike a batch run, an error in the synthesizer or agent propagates, so a
    single check fails loudly.
    """
    normalize_prompts(prompt)
    pipeline = make_pipeline(agent, synthesizer, evaluator)
    expected = normalize_expectations(expect)
    assert isinstance(expected, list)
    heard: Any = prompt if synthesizer is None else await synthesizer.synthesize(prompt)
    response = coerce_response(await pipeline.agent.run(heard))
    return pipeline.evaluator.evaluate(expected, response.tool_calls)
