"""LangWatch Scenario's ``scenario.types`` names, so ``from scenario.types import ...`` lines port unchanged.

Each name is the one russo_nb object (defined in :mod:`.adapters`, :mod:`.result`,
:mod:`.script`); this module only gathers them under upstream's module path.
"""

from __future__ import annotations

from typing import Any

from .adapters import AgentInput, AgentReturnTypes, AgentRole, JudgmentRequest
from .result import ScenarioResult
from .script import ScriptStep

ChatCompletionMessageParamWithTrace = dict[str, Any]
"""An OpenAI chat message (a dict); upstream's version adds a ``trace_id`` key, accepted here too."""

__all__ = [
    "AgentInput",
    "AgentReturnTypes",
    "AgentRole",
    "ChatCompletionMessageParamWithTrace",
    "JudgmentRequest",
    "ScenarioResult",
    "ScriptStep",
]
