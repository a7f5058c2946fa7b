"""Runs one scenario's script against its agents and turns what happened into a result.

The executor keeps the roles apart (agent under test, user simulator, judge), hands
each agent only what is new to it, counts turns (a turn starts with a user message)
and agent time, and decides the verdict when the script ends without one.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidArgumentError, ProtocolError
from ..protocols import describe
from ..types import AgentResponse
from .adapters import AgentInput, AgentRole, as_adapter, response_to_message, role_of
from .judge import JudgeAgent
from .result import ScenarioResult
from .script import Step, proceed
from .state import ScenarioState

UNTIMED_KEY = "_untimed_s"
"""``state.agent_data`` key where an adapter puts seconds spent outside the agent (e.g. synthesis)."""

__all__ = ["ScenarioExecutor"]

logger = logging.getLogger("russo_nb")


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


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
        self.agent_time = 0.0
        self.stage = ""
        self._seen: dict[int, int] = {}
        self._checkpoint_passed: list[str] = []
        self._criteria_results: list[Any] = []
        self._last_was_checkpoint = False

    # -- up-front checks ---------------------------------------------------------------
    def check_ready(self) -> None:
        """Raise a clear error before anything runs if a needed role or model is missing."""
        inline = [c for step in self.script if isinstance(step, Step) and step.criteria for c in step.criteria]
        judge = self.judge_agent
        if judge is None and inline:
            judge = self.judge_agent = JudgeAgent()
        if judge is not None and callable(getattr(judge, "check_ready", None)):
            judge.check_ready(inline)
        final_judgment = any(
            isinstance(step, Step) and step.action == "judge" and step.criteria is None for step in self.script
        )
        if final_judgment and judge is None:
            raise ProtocolError(
                "the script asks for a verdict with judge() but agents=[...] has no JudgeAgent; add "
                "russo_nb.scenario.JudgeAgent(criteria=[...]), or end the script with succeed() / fail()"
            )
        user_sim = self.user_simulator
        if user_sim is not None and callable(getattr(user_sim, "check_ready", None)):
            user_sim.check_ready()
        actions = {step.action for step in self.script if isinstance(step, Step)}
        needs_agent = "proceed" in actions or any(
            isinstance(step, Step) and step.action == "agent" and step.args[0] is None for step in self.script
        )
        if needs_agent and self.agent_under_test is None:
            raise ProtocolError("the script lets the agent answer but agents=[...] has no agent under test")
        needs_user = "proceed" in actions or any(
            isinstance(step, Step) and step.action == "user" and step.args[0] is None for step in self.script
        )
        if needs_user and self.user_simulator is None:
            raise ProtocolError(
                "the script needs the user simulator (user() without text, or proceed()) but agents=[...] has "
                "no UserSimulatorAgent; add russo_nb.scenario.UserSimulatorAgent(lines=[...])"
            )

    # -- running -----------------------------------------------------------------------
    async def run(self) -> ScenarioResult:
        """Run every step; the first result a step returns is the verdict."""
        for step in self.script:
            self.stage = "script"
            try:
                value = await _maybe_await(step(self.state))
            except AssertionError as exc:
                if self.stage not in ("script", "callback"):
                    raise
                return self.finish(ScenarioResult(success=False, reasoning=f"check failed: {exc}"))
            self._last_was_checkpoint = isinstance(step, Step) and step.action == "judge" and step.criteria is not None
            if isinstance(value, ScenarioResult):
                return self.finish(value)
        self.stage = ""
        if self._last_was_checkpoint:
            return self.finish(ScenarioResult(success=True, reasoning="every checkpoint of the script passed"))
        return self.finish(
            ScenarioResult(
                success=False,
                reasoning="reached the end of the script without a verdict; end it with proceed(), judge(), "
                "succeed() or fail()",
            )
        )

    def finish(self, result: ScenarioResult) -> ScenarioResult:
        """Fill a verdict with the transcript, checkpoint criteria, turns and agent time."""
        passed = [*self._checkpoint_passed, *[c for c in result.passed_criteria if c not in self._checkpoint_passed]]
        out = result.model_copy(
            update={
                "messages": list(self.state.messages),
                "passed_criteria": passed,
                "criteria_results": [*self._criteria_results, *result.criteria_results],
                "turns": self.state.current_turn,
                "agent_time": self.agent_time,
                "thread_id": self.state.thread_id,
                "seed": self.state.seed,
                "audio": dict(self.state.audio),
            }
        )
        if result.error is None:
            out.status = "passed" if out.success else "failed"
        return out

    # -- messages ----------------------------------------------------------------------
    def _add(self, message: dict[str, Any]) -> None:
        if message.get("role") == "user":
            previous = self.state.messages[-1].get("role") if self.state.messages else None
            if previous != "user":
                self.state.current_turn += 1
        self.state.add_message(message)

    def _absorb(self, value: Any, default_role: str) -> ScenarioResult | None:
        """Add what an agent returned to the conversation; a ScenarioResult ends the run."""
        if value is None:
            return None
        if isinstance(value, ScenarioResult):
            return value
        if isinstance(value, AgentResponse):
            self._add(response_to_message(value))
        elif isinstance(value, str):
            self._add({"role": default_role, "content": value})
        elif isinstance(value, dict):
            self._add({"role": default_role, **value} if "role" not in value else dict(value))
        elif isinstance(value, list):
            for item in value:
                self._absorb(item, default_role)
        else:
            raise ProtocolError(
                f"a scenario agent returned {type(value).__name__}; return a string, an OpenAI message dict, "
                "a list of messages, or a ScenarioResult"
            )
        return None

    async def _call(self, adapter: Any, *, judgment_request: bool = False, criteria: list[Any] | None = None) -> Any:
        key = id(adapter)
        seen = self._seen.get(key, 0)
        messages = self.state.messages
        payload = AgentInput(
            thread_id=self.state.thread_id,
            messages=list(messages),
            new_messages=list(messages[seen:]),
            scenario_state=self.state,
            judgment_request=judgment_request,
            criteria=criteria,
        )
        value = await adapter.call(payload)
        self._seen[key] = len(self.state.messages)
        return value

    # -- the DSL's actions ---------------------------------------------------------------
    async def message(self, message: dict[str, Any]) -> None:
        """``message(...)``: add the message as given."""
        self._add(dict(message))

    async def user(self, content: str | dict[str, Any] | None = None) -> ScenarioResult | None:
        """``user(...)``: the given text, or the simulator's next line."""
        if content is not None:
            return self._absorb(content, "user")
        if self.user_simulator is None:
            raise ProtocolError("user() without text needs a UserSimulatorAgent in agents=[...]")
        self.stage = "user"
        value = await self._call(self.user_simulator)
        result = self._absorb(value, "user")
        self.stage = "script"
        return result

    async def agent(self, content: str | dict[str, Any] | None = None) -> ScenarioResult | None:
        """``agent(...)``: the given reply, or the agent under test's answer (timed)."""
        if content is not None:
            return self._absorb(content, "assistant")
        if self.agent_under_test is None:
            raise ProtocolError("agent() without text needs the agent under test in agents=[...]")
        self.stage = "agent"
        started = time.perf_counter()
        try:
            value = await self._call(self.agent_under_test)
        finally:
            untimed = self.state.agent_data.pop(UNTIMED_KEY, 0.0)  # e.g. a voice adapter's synthesis
            self.agent_time += max(0.0, time.perf_counter() - started - untimed)
        result = self._absorb(value, "assistant")
        self.stage = "script"
        return result

    async def judge(self, criteria: list[Any] | None = None) -> ScenarioResult | None:
        """``judge(criteria)``: a checkpoint; ``judge()``: the final verdict."""
        if self.judge_agent is None:
            if criteria is None:
                raise ProtocolError("judge() needs a JudgeAgent(criteria=[...]) in agents=[...]")
            self.judge_agent = JudgeAgent()
        self.stage = "judge"
        value = await self._call(self.judge_agent, judgment_request=criteria is None, criteria=criteria)
        self.stage = "script"
        if not isinstance(value, ScenarioResult):
            if criteria is None:
                raise ProtocolError(f"judge {describe(self.judge_agent)} gave no verdict when asked for one")
            return None
        if criteria is not None and value.success:
            self._checkpoint_passed += [c for c in value.passed_criteria if c not in self._checkpoint_passed]
            self._criteria_results += value.criteria_results
            return None
        return value

    async def _judge_look(self) -> ScenarioResult | None:
        """A mid-run look by the judge: a verdict ends the run, None continues."""
        if self.judge_agent is None:
            return None
        self.stage = "judge"
        value = await self._call(self.judge_agent)
        self.stage = "script"
        return value if isinstance(value, ScenarioResult) else None

    async def _callback(self, func: Callable[[ScenarioState], Any] | None) -> ScenarioResult | None:
        if func is None:
            return None
        self.stage = "callback"
        value = await _maybe_await(func(self.state))
        self.stage = "script"
        return value if isinstance(value, ScenarioResult) else None

    def _max_turns_result(self) -> ScenarioResult:
        look = self.state.agent_data.get(id(self.judge_agent)) if self.judge_agent is not None else None
        failed = [r.criterion for r in look or [] if not r.passed]
        passed = [r.criterion for r in look or [] if r.passed]
        return ScenarioResult(
            success=False,
            reasoning=f"reached max_turns={self.max_turns} without a verdict"
            + (f"; still not met: {', '.join(failed)}" if failed else ""),
            passed_criteria=passed,
            failed_criteria=failed,
        )

    async def proceed(
        self,
        turns: int | None = None,
        on_turn: Callable[[ScenarioState], Any] | None = None,
        on_step: Callable[[ScenarioState], Any] | None = None,
    ) -> ScenarioResult | None:
        """``proceed(...)``: user → agent → judge turns, until ``turns``, a verdict or ``max_turns``."""
        done = 0
        while turns is None or done < turns:
            last_role = self.state.messages[-1].get("role") if self.state.messages else None
            if last_role != "user":
                if self.state.current_turn >= self.max_turns:
                    return self._max_turns_result()
                result = await self.user() or await self._callback(on_step)
                if result is not None:
                    return result
            result = await self.agent() or await self._callback(on_step)
            if result is not None:
                return result
            result = await self._judge_look()
            if result is not None:
                return result
            if self.judge_agent is not None:
                result = await self._callback(on_step)
                if result is not None:
                    return result
            done += 1
            result = await self._callback(on_turn)
            if result is not None:
                return result
        return None

    async def succeed(self, reasoning: str | None = None) -> ScenarioResult:
        """``succeed(...)``: end now with success."""
        return ScenarioResult(success=True, reasoning=reasoning)

    async def fail(self, reasoning: str | None = None) -> ScenarioResult:
        """``fail(...)``: end now with failure."""
        return ScenarioResult(success=False, reasoning=reasoning)
