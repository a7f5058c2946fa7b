"""Runs one scenario's script against its agents and turns what happened into a result.

The executor keeps the roles apart (agent under test, user simulator, judge) and
plays them in turns as the scenario library does: a turn is user → agent → judge,
``current_turn`` is its 0-based index (the same for the three roles of a turn), and
a role that already spoke in this turn — or whose place in it has passed — starts
the next turn. Each agent gets as ``new_messages`` what the others said since it
last spoke. Agent time is counted, and the verdict decided when the script ends
without one. Errors raised by an agent propagate (annotated with the agent's name)
so the caller — a test, or the engine with its retry and timeout policy — decides.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..model.errors import InvalidArgumentError, ProtocolError
from ..model.protocols import describe
from ..model.types import AgentResponse
from .adapters import (
    AgentInput,
    AgentRole,
    JudgmentRequest,
    agent_label,
    as_adapter,
    message_from_object,
    response_to_message,
    role_of,
)
from .judge import JudgeAgent
from .result import ScenarioResult
from .script import FAIL_REASONING, SUCCEED_REASONING, Step, proceed
from .state import ScenarioState

UNTIMED_KEY = "_untimed_s"
"""``state.agent_data`` key where an adapter puts seconds spent outside the agent (e.g. synthesis)."""

TURN_ORDER = (AgentRole.USER, AgentRole.AGENT, AgentRole.JUDGE)
"""The roles of one turn, in the order they play."""

CHECKPOINTS_PASSED = "All inline criteria checkpoints passed"
"""The reasoning of a script that passed its checkpoints and ended without a verdict."""

END_OF_SCRIPT = "Reached end of script without conclusion"
"""How the reasoning of a script that ended without any verdict or checkpoint begins."""

ROLE_STAGE = {AgentRole.AGENT: "agent", AgentRole.USER: "user", AgentRole.JUDGE: "judge"}
STAGE_WHO = {"agent": "the agent under test", "user": "the user simulator", "judge": "the judge"}

__all__ = ["CHECKPOINTS_PASSED", "END_OF_SCRIPT", "TURN_ORDER", "ScenarioExecutor", "max_turns_reasoning"]

logger = logging.getLogger("russo_nb")


def max_turns_reasoning(max_turns: int) -> str:
    """The reasoning of a run that reached ``max_turns`` without a verdict (the scenario library's words)."""
    return f"Reached maximum turns ({max_turns}) without conclusion"


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _step_name(step: Any) -> str:
    return repr(step) if isinstance(step, Step) else getattr(step, "__name__", repr(step))


class ScenarioExecutor:
    """Executes a script step by step on one :class:`ScenarioState`."""

    def __init__(
        self,
        state: ScenarioState,
        agents: Sequence[Any],
        script: Sequence[Any] | None = None,
        max_turns: int = 10,
    ) -> None:
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1:
            raise InvalidArgumentError(f"max_turns must be a whole number >= 1, got {max_turns!r}")
        self.state = state
        state._executor = self
        state.max_turns = max_turns
        self.max_turns = max_turns
        self.script = list(script) if script is not None else [proceed()]
        for step in self.script:
            if not callable(step):
                raise InvalidArgumentError(
                    f"script step {step!r} is not callable; use user(), agent(), judge(), proceed(), "
                    "succeed(), fail(), message() or a function of the state"
                )
        self.agent_under_test: Any = None
        self.user_simulator: Any = None
        self.judge_agent: Any = None
        for raw in agents:
            adapter = as_adapter(raw)
            role = role_of(adapter)
            slot = {
                AgentRole.AGENT: "agent_under_test",
                AgentRole.USER: "user_simulator",
                AgentRole.JUDGE: "judge_agent",
            }[role]
            if getattr(self, slot) is not None:
                raise InvalidArgumentError(
                    f"agents=[...] has two agents playing {role.value!r} ({describe(getattr(self, slot))} and "
                    f"{describe(adapter)}); give one agent under test, one user simulator and one judge"
                )
            setattr(self, slot, adapter)
        min_turns = getattr(self.judge_agent, "min_turns", None)
        if isinstance(min_turns, int) and min_turns > max_turns:
            raise InvalidArgumentError(
                f"the judge's min_turns={min_turns} is above max_turns={max_turns}, so it could never give a "
                "verdict of its own; lower min_turns or raise max_turns"
            )
        self.agent_time = 0.0
        self.stage = ""
        self.failed_agent = ""
        """The name of the agent whose call raised (its class, or a wrapped agent's name)."""
        self.assertion_error: AssertionError | None = None
        """The AssertionError a script step raised (the run's result says it failed)."""
        self._seen: dict[int, int] = {}
        self._checkpoints = 0
        self._checkpoint_passed: list[str] = []
        self._criteria_results: list[Any] = []
        self._pending_roles: list[AgentRole] = list(TURN_ORDER)
        self._played: set[AgentRole] = set()
        state.current_turn = 0

    def adapter_for(self, role: AgentRole) -> Any:
        """The agent playing ``role`` (None when the scenario has none)."""
        return {
            AgentRole.AGENT: self.agent_under_test,
            AgentRole.USER: self.user_simulator,
            AgentRole.JUDGE: self.judge_agent,
        }[role]

    @property
    def pending_roles(self) -> list[AgentRole]:
        """The roles still to play in the current turn, in order."""
        return [role for role in self._pending_roles if role not in self._played]

    # -- up-front checks ---------------------------------------------------------------
    def check_ready(self) -> None:
        """Raise a clear error before anything runs if a needed role or model is missing."""
        inline = [c for step in self.script if isinstance(step, Step) and step.criteria for c in step.criteria]
        judge = self.judge_agent
        if judge is None and inline:
            judge = self.judge_agent = JudgeAgent()
        plays_judge = any(isinstance(step, Step) and step.action in ("judge", "proceed") for step in self.script)
        if plays_judge and judge is not None and callable(getattr(judge, "check_ready", None)):
            judge.check_ready(inline)  # a judge the script never asks needs no model
        final_judgment = any(
            isinstance(step, Step) and step.action == "judge" and step.criteria is None for step in self.script
        )
        if final_judgment and judge is None:
            raise ProtocolError(
                "the script asks for a verdict with judge() but agents=[...] has no JudgeAgent; add "
                "russo_nb.scenario.JudgeAgent(criteria=[...]), or end the script with succeed() / fail()"
            )
        actions = {step.action for step in self.script if isinstance(step, Step)}
        needs_agent = "proceed" in actions or any(
            isinstance(step, Step) and step.action == "agent" and step.args[0] is None for step in self.script
        )
        if needs_agent and self.agent_under_test is None:
            raise ProtocolError("the script lets the agent answer but agents=[...] has no agent under test")
        needs_user = "proceed" in actions or any(
            isinstance(step, Step) and step.action == "user" and step.args[0] is None for step in self.script
        )
        user_sim = self.user_simulator
        if needs_user and user_sim is not None and callable(getattr(user_sim, "check_ready", None)):
            user_sim.check_ready()  # only a simulator the script will ask needs its model (or its variables)
        if needs_user and self.user_simulator is None:
            raise ProtocolError(
                "the script needs the user simulator (user() without text, or proceed()) but agents=[...] has "
                "no UserSimulatorAgent; add russo_nb.scenario.UserSimulatorAgent(lines=[...])"
            )

    # -- running -----------------------------------------------------------------------
    async def run(self) -> ScenarioResult:
        """Run every step; the first result a step returns is the verdict.

        An AssertionError raised by a step of the script (or a proceed() callback) fails
        the scenario: its message joins ``failed_criteria`` after the checkpoints that
        passed, and the error is kept in :attr:`assertion_error` (a single run re-raises
        it once teardown ran). Anything an agent raises propagates.
        """
        for step in self.script:
            self.stage = "script"
            try:
                value = await _maybe_await(step(self.state))
            except AssertionError as exc:
                if self.stage not in ("script", "callback"):
                    raise
                self.assertion_error = exc
                return self.finish(self._check_failed(exc, step))
            if isinstance(value, ScenarioResult):
                return self.finish(value)
        self.stage = ""
        if self._checkpoints:
            return self.finish(ScenarioResult(success=True, reasoning=CHECKPOINTS_PASSED))
        return self.finish(
            ScenarioResult(
                success=False,
                reasoning=f"{END_OF_SCRIPT}; end the script with judge(), succeed() or fail(), or let proceed() "
                "play until the judge decides",
            )
        )

    def _check_failed(self, exc: AssertionError, step: Any) -> ScenarioResult:
        text = str(exc).strip() or f"an assertion in {_step_name(step)} failed"
        # the first line names the criterion (pytest's rewritten asserts add an explanation below it)
        return ScenarioResult(success=False, reasoning=f"check failed: {text}", failed_criteria=[text.splitlines()[0]])

    def finish(self, result: ScenarioResult) -> ScenarioResult:
        """Fill a verdict with the transcript, checkpoint criteria, turns and agent time."""
        passed = [*self._checkpoint_passed, *[c for c in result.passed_criteria if c not in self._checkpoint_passed]]
        out = result.model_copy(
            update={
                "messages": list(self.state.messages),
                "passed_criteria": passed,
                "criteria_results": [*self._criteria_results, *result.criteria_results],
                "turns": self.state.turns_taken,
                "agent_time": self.agent_time,
                "thread_id": self.state.thread_id,
                "seed": self.state.seed,
                "audio": dict(self.state.audio),
            }
        )
        if result.error is None:
            out.status = "passed" if out.success else "failed"
        return out

    # -- turns -------------------------------------------------------------------------
    def _new_turn(self) -> None:
        self._pending_roles = list(TURN_ORDER)
        self._played = set()
        self.state.current_turn += 1

    def _consume_until(self, role: AgentRole) -> None:
        while self._pending_roles and self._pending_roles[0] != role:
            self._pending_roles.pop(0)

    def _claim(self, role: AgentRole) -> None:
        """Take ``role``'s place in this turn; when it already spoke (or its place passed), in the next turn."""
        self._consume_until(role)
        if not self._pending_roles or role in self._played:
            self._new_turn()
            self._consume_until(role)
        self._played.add(role)

    async def step(self) -> list[dict[str, Any]] | ScenarioResult:
        """Play the next role of the turn (starting the next turn when this one is done).

        Returns the messages that role added, or the :class:`ScenarioResult` that ends
        the run (a judge's verdict, or reaching ``max_turns``). Roles without an agent
        are skipped.
        """
        result = await self._step()
        if result is None:  # pragma: no cover - only a caller asking not to start a turn gets None
            raise ProtocolError("no role left to play")
        return result

    async def _step(
        self, go_to_next_turn: bool = True, on_turn: Callable[[ScenarioState], Any] | None = None
    ) -> list[dict[str, Any]] | ScenarioResult | None:
        while True:
            if not self._pending_roles:
                if not go_to_next_turn:
                    return None
                self._new_turn()
                ended = await self._callback(on_turn)
                if ended is not None:
                    return ended
                if self.state.current_turn >= self.max_turns:
                    return self._max_turns_result()
            role = self._pending_roles[0]
            if self.adapter_for(role) is None or role in self._played:
                self._pending_roles.pop(0)
                continue
            self._played.add(role)
            return await self._play(role)

    # -- messages ----------------------------------------------------------------------
    def _add(self, message: dict[str, Any]) -> dict[str, Any]:
        self.state.add_message(message)
        return message

    def _absorb(self, value: Any, default_role: str) -> list[dict[str, Any]] | ScenarioResult:
        """Add what an agent returned to the conversation: the messages added, or the result that ends the run."""
        if value is None:
            return []
        if isinstance(value, ScenarioResult):
            return value
        if isinstance(value, AgentResponse):
            return [self._add(response_to_message(value))]
        if isinstance(value, str):
            return [self._add({"role": default_role, "content": value})]
        if isinstance(value, dict):
            return [self._add({"role": default_role, **value} if "role" not in value else dict(value))]
        if isinstance(value, list):
            added: list[dict[str, Any]] = []
            for item in value:
                absorbed = self._absorb(item, default_role)
                if isinstance(absorbed, ScenarioResult):
                    return absorbed
                added += absorbed
            return added
        message = message_from_object(value)
        if message is not None:
            return [self._add({"role": default_role, **message} if "role" not in message else message)]
        raise ProtocolError(
            f"a scenario agent returned {type(value).__name__}; return a string, an OpenAI message dict "
            "(or litellm's / OpenAI's message object), a list of messages, or a ScenarioResult"
        )

    async def _play(
        self, role: AgentRole, *, judgment_request: bool = False, criteria: list[Any] | None = None
    ) -> list[dict[str, Any]] | ScenarioResult:
        """Call the agent playing ``role`` and add its reply; an agent's error propagates, annotated."""
        adapter = self.adapter_for(role)
        self.stage = ROLE_STAGE[role]
        key = id(adapter)
        messages = self.state.messages
        seen = min(self._seen.get(key, 0), len(messages))
        payload = AgentInput(
            thread_id=self.state.thread_id,
            messages=list(messages),
            new_messages=list(messages[seen:]),
            scenario_state=self.state,
            judgment_request=JudgmentRequest(criteria=criteria) if judgment_request or criteria is not None else None,
            criteria=criteria,
        )
        started = time.perf_counter()
        try:
            value = await adapter.call(payload)
        except Exception as exc:
            self.failed_agent = agent_label(adapter)
            if hasattr(exc, "add_note"):  # Python 3.11+: shown under the traceback
                exc.add_note(
                    f"raised by {self.failed_agent} ({STAGE_WHO[self.stage]}) in turn {self.state.current_turn} "
                    f"of scenario {self.state.name!r}"
                )
            raise
        finally:
            if role == AgentRole.AGENT:
                untimed = self.state.agent_data.pop(UNTIMED_KEY, 0.0)  # e.g. a voice adapter's synthesis
                self.agent_time += max(0.0, time.perf_counter() - started - untimed)
        result = self._absorb(value, "user" if role == AgentRole.USER else "assistant")
        self._seen[key] = len(self.state.messages)  # its own reply is not new to it next time
        self.stage = "script"
        return result

    # -- the DSL's actions ---------------------------------------------------------------
    async def message(self, message: dict[str, Any]) -> None:
        """``message(...)``: add the message as given (a user or assistant message takes that role's turn)."""
        role = {"user": AgentRole.USER, "assistant": AgentRole.AGENT}.get(message.get("role", ""))
        if role is not None:
            self._claim(role)
        self._add(dict(message))

    async def user(self, content: str | dict[str, Any] | None = None) -> ScenarioResult | None:
        """``user(...)``: the given text, or the simulator's next line."""
        return await self._speak(AgentRole.USER, content, self.user_simulator, "a UserSimulatorAgent")

    async def agent(self, content: str | dict[str, Any] | None = None) -> ScenarioResult | None:
        """``agent(...)``: the given reply, or the agent under test's answer (timed)."""
        return await self._speak(AgentRole.AGENT, content, self.agent_under_test, "the agent under test")

    async def _speak(
        self, role: AgentRole, content: str | dict[str, Any] | None, speaker: Any, needed: str
    ) -> ScenarioResult | None:
        """One ``user(...)`` / ``agent(...)`` step: the given message, else ``speaker``'s turn (``needed`` names it)."""
        if content is None and speaker is None:
            raise ProtocolError(f"{role.value}() without text needs {needed} in agents=[...]")
        self._claim(role)
        if content is not None:
            self._absorb(content, "user" if role is AgentRole.USER else "assistant")
            return None
        result = await self._play(role)
        return result if isinstance(result, ScenarioResult) else None

    async def judge(self, criteria: list[Any] | None = None) -> ScenarioResult | None:
        """``judge(criteria)``: a checkpoint; ``judge()``: the final verdict."""
        if self.judge_agent is None:
            if criteria is None:
                raise ProtocolError("judge() needs a JudgeAgent(criteria=[...]) in agents=[...]")
            self.judge_agent = JudgeAgent()
        self._claim(AgentRole.JUDGE)
        value = await self._play(AgentRole.JUDGE, judgment_request=criteria is None, criteria=criteria)
        if not isinstance(value, ScenarioResult):  # messages instead of a verdict: kept in the transcript
            if criteria is None:
                raise ProtocolError(f"judge {describe(self.judge_agent)} gave no verdict when asked for one")
            return None
        if criteria is not None:
            self._checkpoints += 1
            self._checkpoint_passed += [c for c in value.passed_criteria if c not in self._checkpoint_passed]
            self._criteria_results += value.criteria_results
            if value.success:
                return None
            return value.model_copy(update={"passed_criteria": [], "criteria_results": []})
        return value

    async def judge_all(self, criteria: list[Any]) -> ScenarioResult:
        """One verdict on ``criteria`` now (a reference transcript judged against the judge's and the script's)."""
        value = await self._play(AgentRole.JUDGE, judgment_request=True, criteria=list(criteria))
        if not isinstance(value, ScenarioResult):
            raise ProtocolError(f"judge {describe(self.judge_agent)} gave no verdict when asked for one")
        return value

    async def _callback(self, func: Callable[[ScenarioState], Any] | None) -> ScenarioResult | None:
        if func is None:
            return None
        self.stage = "callback"
        value = await _maybe_await(func(self.state))
        self.stage = "script"
        return value if isinstance(value, ScenarioResult) else None

    def _max_turns_result(self) -> ScenarioResult:
        look = self.state.agent_data.get(id(self.judge_agent)) if self.judge_agent is not None else None
        return ScenarioResult(
            success=False,
            reasoning=max_turns_reasoning(self.max_turns),
            passed_criteria=[r.criterion for r in look or [] if r.passed],
            failed_criteria=[r.criterion for r in look or [] if not r.passed],
        )

    async def proceed(
        self,
        turns: int | None = None,
        on_turn: Callable[[ScenarioState], Any] | None = None,
        on_step: Callable[[ScenarioState], Any] | None = None,
    ) -> ScenarioResult | None:
        """``proceed(...)``: play the roles on, until ``turns`` (the turn in progress is the first), a verdict
        or ``max_turns``; ``on_turn`` runs as each new turn starts, ``on_step`` after every move."""
        first_turn: int | None = None
        while True:
            go_on = turns is None or first_turn is None or self.state.current_turn + 1 < first_turn + turns
            value = await self._step(go_to_next_turn=go_on, on_turn=on_turn)
            if first_turn is None:
                first_turn = self.state.current_turn
            if value is None:
                return None
            ended = await self._callback(on_step)
            if isinstance(value, ScenarioResult):
                return value
            if ended is not None:
                return ended

    async def succeed(self, reasoning: str | None = None) -> ScenarioResult:
        """``succeed(...)``: end now with success."""
        return ScenarioResult(success=True, reasoning=reasoning or SUCCEED_REASONING)

    async def fail(self, reasoning: str | None = None) -> ScenarioResult:
        """``fail(...)``: end now with failure."""
        return ScenarioResult(success=False, reasoning=reasoning or FAIL_REASONING)
