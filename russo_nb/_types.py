"""russo's ``russo._types`` path: ``from russo_nb._types import ToolCall, EvalResult, ...`` (russo's docs import it).

An alias of :mod:`russo_nb.types`; the objects are the same.
"""

from __future__ import annotations

from .types import (
    AgentResponse,
    Audio,
    BatchResult,
    EvalResult,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
)

__all__ = ["AgentResponse", "Audio", "BatchResult", "EvalResult", "SingleRunResult", "ToolCall", "ToolCallMatch"]
