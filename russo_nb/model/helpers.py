"""russo's ``russo._helpers`` path (``russo_nb._helpers``): the ``agent`` decorator and ``tool_call``."""

from __future__ import annotations

from .expectations import tool_call
from .protocols import agent

__all__ = ["agent", "tool_call"]
