"""Scenarios: scripted and simulated conversations with an agent, judged, scored and repeated.

    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    result = await scenario.run(
        name="book a flight",
        description="The user wants a flight from NYC to LA tomorrow.",
        agents=[my_agent, scenario.UserSimulatorAgent(), scenario.JudgeAgent(criteria=[tool_called("book_flight")])],
        script=[scenario.user("I need a flight to LA"), scenario.agent(), scenario.judge()],
    )

The DSL names follow the scenario library (``run``, ``message``, ``user``, ``agent``,
``judge``, ``proceed``, ``succeed``, ``fail``); :class:`Scenario` adds scorers, a
reference output and setup/teardown hooks, and :func:`run_scenarios` repeats
scenarios through the same concurrent engine as prompt batches. Nothing here
imports pandas until a DataFrame is asked for.
"""

from __future__ import annotations

from . import (
    agent_adapter,
    criteria,
    resume,  # noqa: F401  (registers how russo_nb.resume resumes a ScenarioBatch)
    scorers,
    types,
)
from .adapters import (
    AgentAdapter,
    AgentInput,
    AgentReturnTypes,
    AgentRole,
    FunctionAgentAdapter,
    JudgmentRequest,
    TextAgentAdapter,
)
from .batch import (
    ScenarioBatch,
    ScenarioPlan,
    plan_scenarios,
    run_scenarios,
    run_scenarios_sync,
    start_scenarios,
)
from .cache import cache
from .calls import ScenarioToolCall, ToolCalls
from .config import ModelConfig, ScenarioConfig, configure
from .executor import ScenarioExecutor
from .judge import JudgeAgent
from .llm import LLMConfig, ModelRequestError
from .result import CriterionResult, LifecycleEvent, ScenarioResult
from .script import ScriptStep, agent, fail, judge, message, proceed, script_from_data, succeed, user
from .spec import ReferenceScoreError, Scenario, ScenarioRun, arun, run, run_coroutine_sync
from .state import ScenarioState
from .user_simulator import UserSimulatorAgent
from .voice import VoiceAgentAdapter

__all__ = [
    # the scenario DSL
    "run",
    "arun",
    "configure",
    "cache",
    "ScenarioConfig",
    "ModelConfig",
    "JudgmentRequest",
    "types",
    "agent_adapter",
    "message",
    "user",
    "agent",
    "judge",
    "proceed",
    "succeed",
    "fail",
    "UserSimulatorAgent",
    "JudgeAgent",
    "AgentAdapter",
    "AgentInput",
    "AgentReturnTypes",
    "AgentRole",
    "ScenarioState",
    "ScenarioResult",
    "ScriptStep",
    # beyond the DSL
    "Scenario",
    "ScenarioRun",
    "ScenarioBatch",
    "ScenarioPlan",
    "ScenarioExecutor",
    "run_scenarios",
    "run_scenarios_sync",
    "start_scenarios",
    "plan_scenarios",
    "VoiceAgentAdapter",
    "FunctionAgentAdapter",
    "TextAgentAdapter",
    "CriterionResult",
    "ScenarioToolCall",
    "ToolCalls",
    "LifecycleEvent",
    "ReferenceScoreError",
    "LLMConfig",
    "ModelRequestError",
    "criteria",
    "scorers",
    "run_coroutine_sync",
    "script_from_data",
]
