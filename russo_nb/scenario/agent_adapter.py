"""LangWatch Scenario's ``scenario.agent_adapter`` module path: ``from scenario.agent_adapter import AgentAdapter``."""

from __future__ import annotations

from .adapters import AgentAdapter

__all__ = ["AgentAdapter"]
