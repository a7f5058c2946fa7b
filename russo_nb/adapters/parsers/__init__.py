"""Response parsers: turn what an agent's server answered into tool calls (russo's ``russo.parsers``).

Hand one to ``HttpAgent(parser=...)`` or ``WebSocketAgent(parser=...)``; the SDK adapters use the
OpenAI and Gemini ones themselves. A parser is any object with ``parse(raw) -> AgentResponse``.
"""

from __future__ import annotations

from ._common import get_path
from .gemini import GeminiResponseParser
from .mapping import JsonMapping, JsonResponseParser
from .openai import OpenAIResponseParser

__all__ = ["GeminiResponseParser", "JsonMapping", "JsonResponseParser", "OpenAIResponseParser", "get_path"]
