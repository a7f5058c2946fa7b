"""A ``Scenario``: the problem statement, script, agents, scorers, reference output and hooks.

Seed 002's shape, for conversations instead of devboxes: ``setup`` prepares the
environment the agent works in (its return value is ``state.env``), ``teardown``
always runs (after an error, a timeout or a cancel too), scorers give 0.0–1.0
combined by weights that add up to 1.0, and :meth:`Scenario.validate` checks that
the reference output scores 1.0. Every run records its lifecycle with timestamps.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from ..execution.engine import capture_error
from ..model.errors import InvalidArgumentError, RussoError
from ..model.types import Conditions, RunError, RunStatus
from .adapters import AgentRole, as_adapter, role_of
from .cache import current_scenario
from .config import current_config
from .executor import STAGE_WHO, ScenarioExecutor
from .result import LifecycleEvent, LifecyclePhase, ScenarioResult
from .scorers import Scorer, combine, normalize_scorers
from .state import ScenarioState

__all__ = ["ReferenceScoreError", "Scenario", "ScenarioRun", "arun", "run", "run_coroutine_sync"]

logger = logging.getLogger("russo_nb")

T = TypeVar("T")


class ReferenceScoreError(RussoError, AssertionError):
    """The reference output does not score 1.0, so the scorers (or the reference) are wrong."""


def run_coroutine_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to the end from sync code, on a private loop in a thread (works inside Jupyter)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(make())
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="russo-scenario", daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def _call_hook(hook: Callable[..., Any], state: ScenarioState) -> Any:
    params = inspect.signature(hook).parameters
    value = hook(state) if params else hook()
    if inspect.isawaitable(value):
        value = await value
    return value


class Scenario(BaseModel):
    """One test case for a conversational agent.

    Attributes:
        name: how results and frames refer to it.
        description: the problem statement (the simulated user's goal, the judge's context).
        agents: ``[agent_under_test, UserSimulatorAgent(...), JudgeAgent(...)]``, or a function
            returning a fresh list for every run (for agents that keep state).
        script: DSL steps; None lets user → agent → judge play out until a verdict or ``max_turns``.
        scorers: scorers (weights add up to 1.0) giving the run's ``score``.
        reference: a known-good transcript (a list of messages, or ``{"messages": [...], "variables": {...}}``
            with the template variables it assumes) or a reference agent; see :meth:`validate`.
        tags, metadata: for organizing and filtering scenarios.
        setup, teardown: (async) hooks ``(state)``; setup's return value becomes ``state.env``.
        pass_threshold: when set, a run passes only if its score is at least this.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    description: str = ""
    agents: Any = Field(default_factory=list)
    script: list[Any] | None = None
    max_turns: int = 10
    scorers: list[Any] = Field(default_factory=list)
    reference: Any = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    setup: Callable[..., Any] | None = None
    teardown: Callable[..., Any] | None = None
    pass_threshold: float | None = None
    seed: int = 0

    _scorers: list[Scorer] = PrivateAttr(default_factory=list)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = "; ".join(
                (f"{'.'.join(str(p) for p in err['loc'])}: " if err["loc"] else "")
                + str(err["msg"]).removeprefix("Value error, ")
                for err in exc.errors()
            )
            raise InvalidArgumentError(f"invalid Scenario({data.get('name', '')!r}): {problems}") from None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a scenario needs a non-empty name")
        return value

    @field_validator("max_turns")
    @classmethod
    def _check_turns(cls, value: int) -> int:
        if value < 1:
            raise ValueError("max_turns must be >= 1")
        return value

    @field_validator("pass_threshold")
    @classmethod
    def _check_threshold(cls, value: float | None) -> float | None:
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError("pass_threshold must be between 0.0 and 1.0")
        return value

    def model_post_init(self, context: Any) -> None:
        self._scorers = normalize_scorers(self.scorers)  # weights checked here, before any run

    @property
    def weighted_scorers(self) -> list[Scorer]:
        """The scorers with their final weights (equal shares when none were given)."""
        return list(self._scorers)

    # -- agents ----------------------------------------------------------------------
    def make_agents(self) -> list[Any]:
        """This run's agents: the list, or a fresh one from the ``agents`` function."""
        agents = self.agents() if callable(self.agents) and not isinstance(self.agents, (list, tuple)) else self.agents
        if not isinstance(agents, (list, tuple)):
            raise InvalidArgumentError(
                f"scenario {self.name!r}: agents must be a list (or a function returning one), "
                f"got {type(agents).__name__}"
            )
        return list(agents)

    def check(self) -> None:
        """Raise a clear RussoError now for anything that would make every run fail the same way."""
        state = ScenarioState(self.description, name=self.name)
        ScenarioExecutor(state, self.make_agents(), self.script, self.max_turns).check_ready()

    # -- running ---------------------------------------------------------------------
    def prepare(self, run_index: int = 0, seed: int | None = None, agents: list[Any] | None = None) -> ScenarioRun:
        """A work item for one run (what the engine executes)."""
        return ScenarioRun(self, run_index, self.seed if seed is None else seed, agents)

    async def run(self, seed: int | None = None, run_index: int = 0) -> ScenarioResult:
        """Run once and return the verdict.

        A misconfiguration raises before anything runs; an error raised by an agent (or
        the setup hook) propagates with its traceback and cause after teardown ran, as a
        test wants it, and so does an AssertionError from a step of the script (with the
        failed :class:`ScenarioResult` as its ``.result``, the checkpoints that passed in it).
        :func:`~russo_nb.scenario.run_scenarios` records both per run instead.
        """
        self.check()
        work = self.prepare(run_index, seed)
        result = await work.attempt()
        error = work._executor.assertion_error if work._executor is not None else None
        if error is not None and result.error is None:
            error.result = result  # type: ignore[attr-defined]
            if hasattr(error, "add_note"):
                passed = ", ".join(result.passed_criteria) or "none"
                turn = work.state.current_turn if work.state is not None else 0
                error.add_note(
                    f"a script step of scenario {self.name!r} failed this check in turn {turn}; "
                    f"checkpoints passed before it: {passed}; the run's ScenarioResult is on this exception as .result"
                )
            raise error
        return result

    def run_sync(self, seed: int | None = None) -> ScenarioResult:
        """:meth:`run` for code that cannot ``await`` (works inside Jupyter too)."""
        return run_coroutine_sync(lambda: self.run(seed))

    # -- reference -------------------------------------------------------------------
    async def score_reference(self) -> ScenarioResult:
        """Score the reference output: a transcript is judged and scored; an agent is run."""
        if self.reference is None:
            raise InvalidArgumentError(
                f"scenario {self.name!r} has no reference=; give a known-good transcript (list of messages) "
                "or a reference agent to validate the scorers against"
            )
        if isinstance(self.reference, ScenarioResult):
            return await self._score_messages(self.reference.messages, self.reference)
        if isinstance(self.reference, (list, tuple)) and all(isinstance(m, dict) for m in self.reference):
            return await self._score_messages(list(self.reference), None)
        if isinstance(self.reference, dict) and isinstance(self.reference.get("messages"), list):
            variables = dict(self.reference.get("variables") or {})
            return await self._score_messages(list(self.reference["messages"]), None, variables)
        reference = as_adapter(self.reference)
        agents = [reference if role_of(as_adapter(a)) == AgentRole.AGENT else a for a in self.make_agents()]
        if not any(a is reference for a in agents):
            agents.append(reference)
        self.check()
        return await self.prepare(0, self.seed, agents).attempt()

    async def _score_messages(
        self, messages: list[dict[str, Any]], given: ScenarioResult | None, variables: dict[str, Any] | None = None
    ) -> ScenarioResult:
        """Judge and score a known-good transcript, with setup/teardown around it as for a run."""
        state = ScenarioState(self.description, name=self.name, seed=self.seed, max_turns=self.max_turns)
        state.variables.update(variables or {})
        try:
            if self.setup is not None:
                state.env = await _call_hook(self.setup, state)
            executor = ScenarioExecutor(state, self.make_agents(), [], self.max_turns)
            for message in messages:
                await executor.message(message)  # turns counted as if the script had said it
            criteria = [*(getattr(executor.judge_agent, "criteria", None) or []), *_script_criteria(self.script)]
            if given is not None:
                verdict = given
            elif executor.judge_agent is not None and criteria:
                verdict = await executor.judge_all(criteria)
            else:
                verdict = ScenarioResult(success=True, reasoning="reference transcript (no criteria to judge)")
            result = executor.finish(verdict).model_copy(
                update={"name": self.name, "agent_time": 0.0, "total_time": 0.0}
            )
            scores, score = await combine(self._scorers, result, state)
        finally:
            if self.teardown is not None:
                await _call_hook(self.teardown, state)
        if score is None:
            score = 1.0 if result.success else 0.0
        return result.model_copy(update={"scores": scores, "score": score})

    async def validate(self) -> ScenarioResult:
        """Check that the reference output scores 1.0; raise ReferenceScoreError naming the scorers that did not."""
        try:
            result = await self.score_reference()
        except RussoError:
            raise
        except Exception as exc:
            raise ReferenceScoreError(
                f"scenario {self.name!r}: the reference run raised {type(exc).__name__}: {exc}"
            ) from exc
        if result.error is not None:
            raise ReferenceScoreError(f"scenario {self.name!r}: the reference run failed with {result.error}")
        score = result.score if result.score is not None else (1.0 if result.success else 0.0)
        if score < 1.0 - 1e-9:
            low = ", ".join(f"{name}={value:.2f}" for name, value in result.scores.items() if value < 1.0)
            why = f" (below 1.0: {low})" if low else ""
            verdict = "" if result.success else f"; the verdict was failure: {result.reasoning}"
            replay = ""
            if self.setup is not None and _is_transcript(self.reference):
                replay = (
                    " A reference transcript is judged in the environment setup built, but replaying it runs no "
                    "tools, so a scorer that checks that environment can only be validated by a reference agent "
                    "(reference=agent, or {agent: module:attr} in a suite file)."
                )
            raise ReferenceScoreError(
                f"scenario {self.name!r}: the reference output scores {score:.2f}, not 1.0{why}{verdict}. "
                f"Fix the scorers or the reference before trusting the scores.{replay}"
            )
        return result

    def validate_sync(self) -> ScenarioResult:
        """:meth:`validate` for code that cannot ``await``."""
        return run_coroutine_sync(self.validate)

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, scorers={[s.name for s in self._scorers]}, tags={self.tags})"


class ScenarioRun:
    """One run of one scenario: the engine's work item, recording its lifecycle."""

    def __init__(self, scenario: Scenario, run_index: int, seed: int | None, agents: list[Any] | None = None) -> None:
        self.scenario = scenario
        self.run_index = run_index
        self.seed = seed
        self.agents = agents
        self.conditions: Conditions = {}
        """What the run's result carries as ``conditions`` (set by its plan's ``conditions_for``)."""
        self.lifecycle: list[LifecycleEvent] = [LifecycleEvent(phase="created")]
        self.state: ScenarioState | None = None
        self._executor: ScenarioExecutor | None = None
        self._stage = ""
        self._failed_stage = ""
        self.started_at: float | None = None

    @property
    def stage(self) -> str:
        """Where the run is: setup, agent, user, judge, script, scoring, teardown."""
        if self._failed_stage:
            return self._failed_stage
        if self._stage == "running" and self._executor is not None and self._executor.stage:
            return self._executor.stage
        return self._stage

    def mark(self, phase: LifecyclePhase, detail: str = "") -> None:
        """Record that the run entered ``phase`` now."""
        self.lifecycle.append(LifecycleEvent(phase=phase, detail=detail))

    def _base(self) -> dict[str, Any]:
        scenario = self.scenario
        return {
            "name": scenario.name,
            "description": scenario.description,
            "run_index": self.run_index,
            "seed": self.seed,
            "tags": list(scenario.tags),
            "started_at": self.started_at,
            "conditions": self.conditions,
        }

    async def attempt(self) -> ScenarioResult:
        scenario = self.scenario
        self._failed_stage = ""
        self.started_at = time.time()
        started = time.perf_counter()
        thread_id = f"{scenario.name}-{self.run_index}-{uuid.uuid4().hex[:8]}"
        state = self.state = ScenarioState(
            scenario.description,
            thread_id=thread_id,
            name=scenario.name,
            seed=self.seed,
            max_turns=scenario.max_turns,
            run_index=self.run_index,
        )
        result: ScenarioResult | None = None
        token = current_scenario.set(state)  # what @scenario.cache() keys on, for this run only
        try:
            result = await self._setup_and_run(state)
            if result.error is None:
                self._stage = "scoring"
                self.mark("scoring")
                result = await self._score(
                    result.model_copy(update={"total_time": time.perf_counter() - started}), state
                )
            elif scenario.weighted_scorers:
                result = result.model_copy(update={"score": 0.0})
            self.mark("completed", result.status or "")
        except BaseException:
            self._failed_stage = self.stage  # what the engine reports for a timeout or cancel
            self.mark("completed", f"stopped during {self._failed_stage}")
            raise
        finally:
            teardown_error = await self._teardown(state)
            current_scenario.reset(token)
        if teardown_error is not None and result.error is None:
            result = result.model_copy(update={"error": teardown_error, "status": "error", "success": False})
        self._stage = ""
        return result.model_copy(
            update={**self._base(), "total_time": time.perf_counter() - started, "lifecycle": list(self.lifecycle)}
        )

    async def _setup_and_run(self, state: ScenarioState) -> ScenarioResult:
        """Set up and play the script; whatever raises goes on to the caller (teardown runs in ``attempt``)."""
        scenario = self.scenario
        self._stage = "setup"
        if scenario.setup is not None:
            state.env = await _call_hook(scenario.setup, state)
        self.mark("set_up")
        self._stage = "running"
        self.mark("running")
        self._executor = ScenarioExecutor(
            state,
            self.agents if self.agents is not None else scenario.make_agents(),
            scenario.script,
            scenario.max_turns,
        )
        self._executor.check_ready()
        return await self._executor.run()

    async def _score(self, result: ScenarioResult, state: ScenarioState) -> ScenarioResult:
        scenario = self.scenario
        try:
            scores, score = await combine(scenario.weighted_scorers, result, state)
        except Exception as exc:  # a broken scorer is an error of this run, the transcript is kept
            error = capture_error(exc, "scoring")
            return result.model_copy(
                update={"error": error, "status": "error", "score": 0.0, "reasoning": f"scoring raised {error}"}
            )
        status: RunStatus = "passed" if result.success else "failed"
        reasoning = result.reasoning
        if scenario.pass_threshold is not None and score is not None and score < scenario.pass_threshold:
            status = "failed"
            low = ", ".join(f"{name}={value:.2f}" for name, value in scores.items() if value < 1.0)
            reasoning = (
                f"{reasoning}; " if reasoning else ""
            ) + f"score {score:.2f} is below pass_threshold {scenario.pass_threshold:.2f} ({low})"
        return result.model_copy(update={"scores": scores, "score": score, "status": status, "reasoning": reasoning})

    async def _teardown(self, state: ScenarioState) -> RunError | None:
        hook = self.scenario.teardown
        self._stage = "teardown"
        error: RunError | None = None
        if hook is not None:
            task = asyncio.ensure_future(_call_hook(hook, state))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                await asyncio.gather(task, return_exceptions=True)  # let teardown finish, then stop
                self.mark("torn_down")
                raise
            except Exception as exc:
                logger.warning("teardown of scenario %r failed: %s", self.scenario.name, exc)
                error = capture_error(exc, "teardown")
        self.mark("torn_down")
        return error

    def failed(self, status: RunStatus, error: RunError | None, attempts: int) -> ScenarioResult:
        """The result of a run that raised, timed out or was cancelled: the engine's verdict on it.

        It keeps what the run got to: the partial transcript, the checkpoints that
        passed, the turns, agent time and clips; the error names the stage and the agent.
        """
        if not any(event.phase == "completed" for event in self.lifecycle):
            self.mark("completed", status)
        executor = self._executor if self.state is not None and self._executor is not None else None
        if error is not None and executor is not None and executor.failed_agent and error.stage in STAGE_WHO:
            error = _with_agent(error, executor.failed_agent)
        reasoning = _failure_reasoning(status, error, executor.failed_agent if executor is not None else "")
        partial = ScenarioResult(success=False, status=status, error=error, reasoning=reasoning)
        if executor is not None:
            partial = executor.finish(partial)
        elif self.state is not None:
            partial = partial.model_copy(
                update={"messages": list(self.state.messages), "thread_id": self.state.thread_id}
            )
        return partial.model_copy(
            update={
                "status": status,
                "attempts": attempts,
                "score": 0.0 if self.scenario.weighted_scorers else None,
                "lifecycle": list(self.lifecycle),
                **self._base(),
            }
        )


def _script_criteria(script: Sequence[Any] | None) -> list[Any]:
    """The criteria of a script's judge(criteria=[...]) checkpoints, in order (a reference must meet them)."""
    from .script import Step

    return [c for step in script or [] if isinstance(step, Step) and step.criteria for c in step.criteria]


def _is_transcript(reference: Any) -> bool:
    """True for a reference given as messages (a list, a ``{messages: ...}`` mapping or a ScenarioResult)."""
    if isinstance(reference, (list, tuple, ScenarioResult)):
        return True
    return isinstance(reference, dict) and isinstance(reference.get("messages"), list)


def _with_agent(error: RunError, agent: str) -> RunError:
    """``error`` naming the agent that raised it."""
    return error if error.agent else error.model_copy(update={"agent": agent})


def _failure_reasoning(status: RunStatus, error: RunError | None, agent: str) -> str:
    if status == "timeout":
        return f"the run timed out: {error.message}" if error else "the run timed out"
    if status == "cancelled":
        return f"the run was cancelled: {error.message}" if error else "the run was cancelled"
    if error is None:
        return "the run failed"
    who = STAGE_WHO.get(error.stage, f"the {error.stage or 'run'} step")
    if agent and error.stage in STAGE_WHO:
        who += f" ({agent})"
    caused = f" (from {error.cause})" if error.cause else ""
    return f"{who} raised {error.type}: {error.message}{caused}"


async def run(
    name: str,
    description: str = "",
    agents: Sequence[Any] | Callable[[], list[Any]] = (),
    script: Sequence[Any] | None = None,
    max_turns: int | None = None,
    *,
    seed: int = 0,
    scorers: Sequence[Any] | None = None,
    setup: Callable[..., Awaitable[Any] | Any] | None = None,
    teardown: Callable[..., Awaitable[Any] | Any] | None = None,
    tags: Sequence[str] = (),
    metadata: dict[str, Any] | None = None,
    set_id: str | None = None,
    setId: str | None = None,
    thread_id: str | None = None,
    pass_threshold: float | None = None,
    verbose: Any = None,
    cache_key: Any = None,
    debug: Any = None,
) -> ScenarioResult:
    """Run one scenario once and return its :class:`ScenarioResult` (LangWatch Scenario's ``run``).

    ``agents`` holds the agent under test, a ``UserSimulatorAgent`` and a ``JudgeAgent``.
    Without a ``script`` the user, the agent and the judge take turns until the judge
    gives a verdict or ``max_turns`` is reached (default: ``configure(max_turns=...)``,
    else 10). A misconfiguration (a sentence criterion and no model, a missing role)
    raises before anything runs; an exception an agent raises propagates (its traceback
    and cause intact, a note naming the agent) after teardown, and so does an
    AssertionError from a step of the script, with the failed result as its ``.result``.
    ``set_id`` / ``setId`` and ``metadata`` are kept in the scenario's metadata (upstream
    reports them to LangWatch; nothing is sent anywhere here); ``thread_id``, ``verbose``,
    ``cache_key`` and ``debug`` are accepted for compatibility and ignored (``@scenario.cache``
    keys on ``configure(cache_key=...)``).
    """
    meta = dict(metadata or {})
    if set_id is not None or setId is not None:
        meta["set_id"] = set_id if set_id is not None else setId
    scenario = Scenario(
        name=name,
        description=description,
        agents=list(agents) if isinstance(agents, (list, tuple)) else agents,
        script=None if script is None else list(script),
        max_turns=max_turns if max_turns is not None else (current_config().max_turns or 10),
        scorers=list(scorers or []),
        setup=setup,
        teardown=teardown,
        tags=list(tags),
        metadata=meta,
        pass_threshold=pass_threshold,
        seed=seed,
    )
    return await scenario.run()


arun = run
"""``scenario.arun``: upstream's name for running on the caller's event loop, which ``run`` already does."""
