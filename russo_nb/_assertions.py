"""russo's ``russo._assertions`` path. An alias of :mod:`russo_nb.assertions`."""

from __future__ import annotations

from .assertions import ToolCallAssertionError, assert_tool_calls

__all__ = ["ToolCallAssertionError", "assert_tool_calls"]
