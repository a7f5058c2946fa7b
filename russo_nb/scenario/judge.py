"""The judge: decides whether a conversation meets its criteria.

Predicate criteria and built-in checks (:mod:`russo_nb.scenario.criteria`) are
evaluated locally, no model needed. Criteria written as sentences go to an
OpenAI-compatible model the way LangWatch Scenario sends them: the transcript and the
numbered criteria, with two tools, ``continue_test`` and ``finish_test`` (a verdict
per criterion, ``"true"`` / ``"false"`` / ``"inconclusive"``, a reasoning and an
overall verdict); a forced judgment names ``finish_test`` as the tool to call, a
mid-run look lets the model choose. So mid-run the model may end the run early with
a failure (a "should not" criterion already broken) or a success; the local criteria
only end it early with success, once every one of them holds. A forced judgment
(``judge()`` in a script) always gives a verdict.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..model.errors import InvalidArgumentError
from .adapters import AgentAdapter, AgentInput, AgentRole
from .config import current_config
from .criteria import criterion_name, evaluate_local, is_sentence
from .llm import LLMConfig, ModelConnection, ModelRequestError, complete, parse_json_reply, require_model
from .result import CriterionResult, ScenarioResult
from .state import ScenarioState, transcript

__all__ = ["JudgeAgent", "ModelLook", "criterion_keys", "judge_tools", "render_transcript"]

logger = logging.getLogger("russo_nb")

JUDGE_SYSTEM_PROMPT = """You are an impartial judge watching a simulated conversation between a user and an AI agent
as it plays out, to decide whether the agent under test meets the criteria.
If you already have enough information for a verdict, call finish_test with a verdict for every criterion
("true", "false" or "inconclusive") and an overall verdict; otherwise call continue_test to let the next step play out.

<scenario>
{description}
</scenario>

<criteria>
{criteria}
</criteria>

Be strict: do not let the conversation continue if the agent already broke a "do not" or "should not" criterion.
Make no judgment that is not one of the criteria."""


def criterion_keys(criteria: list[str]) -> list[str]:
    """The property names of ``finish_test``'s per-criterion verdicts (LangWatch Scenario's sanitizing)."""
    return [re.sub(r"[^a-zA-Z0-9]", "_", c.replace(" ", "_").replace("'", "").lower())[:70] for c in criteria]


def judge_tools(criteria: list[str]) -> list[dict[str, Any]]:
    """The ``continue_test`` / ``finish_test`` tools the judge's model chooses between."""
    keys = criterion_keys(criteria)
    verdicts = {
        key: {"type": "string", "enum": ["true", "false", "inconclusive"], "description": text}
        for key, text in zip(keys, criteria)
    }
    return [
        {
            "type": "function",
            "function": {
                "name": "continue_test",
                "description": "Continue the test with the next step",
                "strict": True,
                "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
            },
        },
        {
            "type": "function",
            "function": {
                "name": "finish_test",
                "description": "Complete the test with a final verdict",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "criteria": {
                            "type": "object",
                            "properties": verdicts,
                            "required": keys,
                            "additionalProperties": False,
                            "description": "Strict verdict for each criterion",
                        },
                        "reasoning": {"type": "string", "description": "Explanation of the final verdict"},
                        "verdict": {"type": "string", "enum": ["success", "failure", "inconclusive"]},
                    },
                    "required": ["criteria", "reasoning", "verdict"],
                    "additionalProperties": False,
                },
            },
        },
    ]


def render_transcript(messages: list[dict[str, Any]]) -> str:
    """The conversation as plain text a model can read (tool calls included)."""
    return transcript(messages) or "(no messages yet)"


@dataclass
class ModelLook:
    """What the judge's model answered: go on (``finished`` False) or a verdict per criterion."""

    finished: bool
    results: list[CriterionResult] = field(default_factory=list)
    verdict: str = ""
    reasoning: str = ""


def _tool_call(message: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and function.get("name") in ("finish_test", "continue_test"):
            raw = function.get("arguments") or "{}"
            try:
                arguments = json.loads(raw) if isinstance(raw, str) else dict(raw)
            except (json.JSONDecodeError, TypeError, ValueError):
                raise ModelRequestError(
                    f"the judge's model called {function['name']} with arguments that are not JSON: {str(raw)[:200]!r}"
                ) from None
            return str(function["name"]), arguments if isinstance(arguments, dict) else {}
    return None


def read_look(message: dict[str, Any], sentences: list[str]) -> ModelLook:
    """The judge's model reply as a :class:`ModelLook` (a ``finish_test`` / ``continue_test`` call, or JSON text)."""
    called = _tool_call(message)
    if called is None:  # a model without tool calling may answer in the message text
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ModelRequestError(
                "the judge's model called neither finish_test nor continue_test and wrote no verdict"
            )
        called = ("finish_test", parse_json_reply(content))
    name, arguments = called
    if name == "continue_test":
        return ModelLook(finished=False)
    given = arguments.get("criteria")
    verdicts: dict[str, Any] = given if isinstance(given, dict) else {}
    reasoning = str(arguments.get("reasoning") or "")
    results = []
    for key, text in zip(criterion_keys(sentences), sentences):
        value = verdicts.get(key, verdicts.get(text))
        passed = value is True or str(value).lower() == "true"
        why = "" if passed else ("the model gave no verdict for it" if value is None else f"judged {value}")
        results.append(CriterionResult(criterion=text, passed=passed, reasoning=why))
    return ModelLook(finished=True, results=results, verdict=str(arguments.get("verdict") or ""), reasoning=reasoning)


class JudgeAgent(ModelConnection, AgentAdapter):
    """Judges the run against ``criteria`` (predicates, built-in checks or sentences).

    Args:
        criteria: what must hold for the scenario to succeed.
        model, base_url, api_key_env: the model for sentence criteria (see :mod:`.llm`); LangWatch
            Scenario's ``api_base``, ``api_key``, ``temperature``, ``max_tokens`` work too, and other
            keyword arguments go into the request as it does with litellm.
        early_success: end the run with success as soon as every criterion holds.
        min_turns: the judge lets the conversation go on (gives no verdict of its own) while
            the 0-based ``current_turn`` is below this (default: ``configure(min_turns=...)``);
            a ``judge()`` step or a checkpoint is always answered.
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
        api_base: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        **extra_params: Any,
    ) -> None:
        if min_turns is not None and (not isinstance(min_turns, int) or isinstance(min_turns, bool) or min_turns < 0):
            raise InvalidArgumentError(
                f"JudgeAgent(min_turns=...) must be a whole number >= 0 or None, got {min_turns!r}"
            )
        self.criteria = list(criteria or [])
        self._min_turns = min_turns
        self._connect(model, base_url, api_base, api_key_env, api_key, temperature, max_tokens)
        self.extra_params = extra_params
        self.early_success = early_success
        self.system_prompt = system_prompt or JUDGE_SYSTEM_PROMPT
        self.name = name

    def criterion_names(self) -> list[str]:
        """The criteria, in order, as verdicts name them (``ScenarioState.criteria``)."""
        return [criterion_name(criterion, index) for index, criterion in enumerate(self.criteria)]

    @property
    def min_turns(self) -> int | None:
        """The judge's own ``min_turns``, else the configured one."""
        return self._min_turns if self._min_turns is not None else current_config().min_turns

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
    async def evaluate(
        self, criteria: list[Any], state: ScenarioState, *, forced: bool = True
    ) -> tuple[list[CriterionResult], ModelLook | None]:
        """Every criterion's result (sentences in one model request) and what the model answered.

        When the model was not forced and chose ``continue_test``, the sentences count as
        not passed yet (reasoning "not decided yet").
        """
        results: list[CriterionResult | None] = [None] * len(criteria)
        sentences: list[tuple[int, str]] = []
        for index, criterion in enumerate(criteria):
            if is_sentence(criterion):
                sentences.append((index, criterion))
            else:
                results[index] = evaluate_local(criterion, state, index)
        look: ModelLook | None = None
        if sentences:
            config = require_model(self.llm_config(), "JudgeAgent", f"criterion {sentences[0][1]!r} is a sentence")
            look = await self._ask_model(config, [text for _, text in sentences], state, forced)
            answers = (
                look.results
                if look.finished
                else [
                    CriterionResult(criterion=text, passed=False, reasoning="not decided yet") for _, text in sentences
                ]
            )
            for (index, _), verdict in zip(sentences, answers):
                results[index] = verdict
        return [r for r in results if r is not None], look

    async def _ask_model(
        self, config: LLMConfig, sentences: list[str], state: ScenarioState, forced: bool
    ) -> ModelLook:
        numbered = "\n".join(f"{i + 1}. {text}" for i, text in enumerate(sentences))
        system = self.system_prompt
        if "{description}" in system or "{criteria}" in system:
            system = system.replace("{description}", state.description).replace("{criteria}", numbered)
        messages = [
            {"role": "system", "content": system},
            {
                "role": "user",
                "content": f"<transcript>\n{render_transcript(state.messages)}\n</transcript>",
            },
        ]
        tool_choice: Any = {"type": "function", "function": {"name": "finish_test"}} if forced else "required"
        extra = {key: value for key, value in self.extra_params.items() if _json_able(value)}
        reply = await complete(config, messages, tools=judge_tools(sentences), tool_choice=tool_choice, **extra)
        look = read_look(reply, sentences)
        if forced and not look.finished:
            raise ModelRequestError("the judge's model was asked for a verdict (finish_test) and called continue_test")
        return look

    async def call(self, input: AgentInput) -> ScenarioResult | None:
        """A checkpoint (inline criteria), a forced verdict, or a mid-run look that may end the run."""
        checkpoint = input.criteria is not None
        criteria = list(input.criteria) if checkpoint else self.criteria
        state = input.scenario_state
        forced = bool(input.judgment_request) or checkpoint
        if not forced and self.min_turns is not None and state.current_turn < self.min_turns:
            return None  # too early to end the run: the conversation goes on
        if not criteria:
            if forced:
                return ScenarioResult(
                    success=False,
                    reasoning="the judge was asked for a verdict but has no criteria to judge against; "
                    "give JudgeAgent(criteria=[...]) or end the script with succeed() / fail()",
                )
            return None
        results, look = await self.evaluate(criteria, state, forced=forced)
        state.agent_data[id(self)] = results  # the latest look, reported if max_turns ends the run
        failed = [r for r in results if not r.passed]
        model_failed = (
            look is not None
            and look.finished
            and (look.verdict == "failure" or any(not r.passed for r in look.results))
        )
        if not forced:
            if model_failed:
                pass  # the model ended the run with a failure (a criterion already broken)
            elif failed or not self.early_success:
                return None
        return self._verdict(results, look)

    def _verdict(self, results: list[CriterionResult], look: ModelLook | None) -> ScenarioResult:
        passed = [r.criterion for r in results if r.passed]
        failed = [r.criterion for r in results if not r.passed]
        if failed:
            reasons = "; ".join(
                f"{r.criterion}: {r.reasoning}" if r.reasoning else r.criterion for r in results if not r.passed
            )
            noun = "criterion" if len(results) == 1 else "criteria"
            reasoning = f"{len(failed)} of {len(results)} {noun} not met ({reasons})"
        else:
            reasoning = "the criterion met" if len(results) == 1 else f"all {len(results)} criteria met"
        if look is not None and look.reasoning:
            reasoning += f". The model: {look.reasoning}"
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


def _json_able(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
