"""Agents to test or to learn from: the offline local voice agent and adapters for real agents."""

from __future__ import annotations

from .http import HttpAgent, JsonMapping
from .intents import IntentMatch, IntentSet, IntentSpec
from .local import LocalVoiceAgent
from .openai_chat import OpenAIChatAgent

__all__ = ["HttpAgent", "IntentMatch", "IntentSet", "IntentSpec", "JsonMapping", "LocalVoiceAgent", "OpenAIChatAgent"]
