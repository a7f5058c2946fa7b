"""The judge: decides whether a conversation meets its criteria.

Predicate criteria and built-in checks (:mod:`russo_nb.scenario.criteria`) are
evaluated locally, no model needed. Criteria written as sentences are sent to an
OpenAI-compatible model, which answers per criterion in JSON. Outside a forced
judgment the judge ends the run early only once every criterion holds; a forced
judgment (``judge()`` in a script) always gives a verdict.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from ..errors import InvalidArgumentError
from .adapters import AgentAdapter, AgentInput, AgentRole
from .criteria import criterion_name, evaluate_local, is_sentence
from .llm import LLMConfig, chat, parse_json_reply, require_model, resolve_config
from .result import CriterionResult, ScenarioResult
from .state import ScenarioState, transcript

__all__ = ["JudgeAgent", "render_transcript"]

logger = logging.getLogger("russo_nb")

JUDGE_SYSTEM_PROMPT = """You are an impartial judge of a conversation between a user and an AI agent.
Scenario: {description}

Decide for each numbered criterion whether the conversation so far clearly satisfies it.
Mark a criterion passed only when the transcript shows it; when in doubt, mark it not passed.
Answer with one JSON object and nothing else:
{{"criteria": [{{"index": 1, "passed": true, "reasoning": "one sentence"}}, ...],
 "reasoning": "overall, one sentence"}}"""


def render_transcript(messages: list[dict[str, Any]]) -> str:
    """The conversation as plain text a model can read (tool calls included)."""
    return transcript(messages) or "(no messages yet)"


class JudgeAgent(AgentAdapter):
    """Judges the run against ``criteria`` (predicates, built-in checks or sentences).

    Args:
        criteria: what must hold for the scenario to succeed.
        model, base_url, api_key_env: the model for sentence criteria (see :mod:`.llm`).
        early_success: end the run with success as soon as every criterion holds.
        min_turns: the judge lets the conversation go on (gives no verdict of its own) while
            the 0-based ``current_turn`` is below this; a ``judge()`` step or a checkpoint is
            always answered.
    """

    role: ClassVar[AgentRole] = AgentRole.JUDGE

    def __init__(
        self,
        criteria: list[Any] | None = None,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key_env: str | None = None,
        early_success: bool = True,
        min_turns: int | None = None,
        system_prompt: str | None = None,
        name: str = "judge",
    ) -> None:
        if min_turns is not None and (not isinstance(min_turns, int) or isinstance(min_turns, bool) or min_turns < 0):
            raise InvalidArgumentError(
                f"JudgeAgent(min_turns=...) must be a whole number >= 0 or None, got {min_turns!r}"
            )
        self.criteria = list(criteria or [])
        self.min_turns = min_turns
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.early_success = early_success
        self.system_prompt = system_prompt or JUDGE_SYSTEM_PROMPT
        self.name = name

    # -- configuration -----------------------------------------------------------------
    def llm_config(self) -> LLMConfig:
        """The resolved model configuration (the model may be None)."""
        return resolve_config(self.model, self.base_url, self.api_key_env)

    def check_ready(self, extra_criteria: list[Any] | None = None) -> None:
        """Raise ConfigurationError now if some criterion is a sentence and no model is configured."""
        sentences = [c for c in [*self.criteria, *(extra_criteria or [])] if is_sentence(c)]
        if sentences:
            require_model(
                self.llm_config(),
                "JudgeAgent",
                f"criterion {sentences[0]!r} is written as a sentence",
            )

    # -- judging ---------------------------------------------------------------------
    async def evaluate(self, criteria: list[Any], state: ScenarioState) -> list[CriterionResult]:
        """Evaluate every criterion; sentences in one model request."""
        results: list[CriterionResult | None] = [None] * len(criteria)
        sentences: list[tuple[int, str]] = []
        for index, criterion in enumerate(criteria):
            if is_sentence(criterion):
                sentences.append((index, criterion))
            else:
                results[index] = evaluate_local(criterion, state, index)
        if sentences:
            config = require_model(self.llm_config(), "JudgeAgent", f"criterion {sentences[0][1]!r} is a sentence")
            for (index, _), verdict in zip(sentences, await self._ask_model(config, [s for _, s in sentences], state)):
                results[index] = verdict
        return [r for r in results if r is not None]

    async def _ask_model(self, config: LLMConfig, sentences: list[str], state: ScenarioState) -> list[CriterionResult]:
        numbered = "\n".join(f"{i + 1}. {text}" for i, text in enumerate(sentences))
        messages = [
            {"role": "system", "content": self.system_prompt.format(description=state.description)},
            {
                "role": "user",
                "content": f"Transcript:\n{render_transcript(state.messages)}\n\nCriteria:\n{numbered}",
            },
        ]
        reply = parse_json_reply(await chat(config, messages, json_mode=True))
        answers: dict[int, dict[str, Any]] = {}
        for position, item in enumerate(reply.get("criteria") or []):
            if isinstance(item, dict):
                answers[int(item.get("index", position + 1))] = item
        out = []
        for number, text in enumerate(sentences, start=1):
            item = answers.get(number)
            if item is None:
                out.append(CriterionResult(criterion=text, passed=False, reasoning="the model gave no answer for it"))
            else:
                out.append(
                    CriterionResult(
                        criterion=text, passed=bool(item.get("passed")), reasoning=str(item.get("reasoning", ""))
                    )
                )
        return out

    async def call(self, input: AgentInput) -> ScenarioResult | None:
        """A checkpoint (inline criteria), a forced verdict, or a mid-run look that may end the run."""
        checkpoint = input.criteria is not None
        criteria = list(input.criteria) if checkpoint else self.criteria
        state = input.scenario_state
        forced = input.judgment_request or checkpoint
        if not forced and self.min_turns is not None and state.current_turn < self.min_turns:
            return None  # too early to end the run: the conversation goes on
        if not criteria:
            if input.judgment_request or checkpoint:
                return ScenarioResult(success=True, reasoning="the judge has no criteria, so nothing failed")
            return None
        results = await self.evaluate(criteria, state)
        state.agent_data[id(self)] = results  # the latest look, reported if max_turns ends the run
        passed = [r.criterion for r in results if r.passed]
        failed = [r.criterion for r in results if not r.passed]
        if failed and not (input.judgment_request or checkpoint):
            return None
        if not failed and not (input.judgment_request or checkpoint or self.early_success):
            return None
        if failed:
            reasons = "; ".join(
                f"{r.criterion}: {r.reasoning}" if r.reasoning else r.criterion for r in results if not r.passed
            )
            reasoning = f"{len(failed)} of {len(results)} criteria not met ({reasons})"
        else:
            reasoning = f"all {len(results)} criteria met"
        return ScenarioResult(
            success=not failed,
            reasoning=reasoning,
            passed_criteria=passed,
            failed_criteria=failed,
            criteria_results=results,
        )

    def __repr__(self) -> str:
        shown = ", ".join(criterion_name(c, i) for i, c in enumerate(self.criteria))
        return f"JudgeAgent([{shown}])"
