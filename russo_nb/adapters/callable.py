"""CallableAgent / agent: a plain function (sync or async) as an agent, as in ``russo.adapters.callable``."""

from __future__ import annotations

from ..model.protocols import FunctionAgent, agent

__all__ = ["CallableAgent", "agent"]

CallableAgent = FunctionAgent
"""``CallableAgent(fn)`` wraps ``fn(audio)`` (sync or async, returning an AgentResponse, calls or a dict)."""
