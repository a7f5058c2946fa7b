"""Agents to test: russo's adapters (``russo.adapters``) plus russo_nb's own, in one package.

- :class:`CallableAgent` / :func:`agent`: a function as an agent;
- :class:`HttpAgent`: an HTTP endpoint (JSON with base64 audio, or a WAV body);
- :class:`OpenAIChatAgent`: any OpenAI-compatible ``/chat/completions`` endpoint, no SDK needed;
- :class:`WebSocketAgent`: a WebSocket endpoint (extra ``ws``);
- :class:`OpenAIAgent`, :class:`OpenAIRealtimeAgent`: the openai SDK (extra ``openai``);
- :class:`GeminiAgent`, :class:`GeminiLiveAgent`: the google-genai SDK (extra ``google``);
- :class:`LocalVoiceAgent`: the offline voice agent (pocketsphinx + intents) the demo uses.

Names load on first use, so ``from russo_nb.adapters import HttpAgent`` works without any extra and
``from russo_nb.adapters import GeminiAgent`` without google-genai fails with one line naming the extra.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CallableAgent",
    "GeminiAgent",
    "GeminiLiveAgent",
    "HttpAgent",
    "IntentMatch",
    "IntentSet",
    "IntentSpec",
    "JsonMapping",
    "LocalVoiceAgent",
    "OpenAIAgent",
    "OpenAIChatAgent",
    "OpenAIRealtimeAgent",
    "WebSocketAgent",
    "agent",
]

_LAZY: dict[str, str] = {
    "CallableAgent": ".callable",
    "agent": ".callable",
    "HttpAgent": ".http",
    "JsonMapping": ".http",
    "OpenAIChatAgent": ".openai_chat",
    "WebSocketAgent": ".websocket",
    "OpenAIAgent": ".openai",
    "OpenAIRealtimeAgent": ".openai",
    "GeminiAgent": ".gemini",
    "GeminiLiveAgent": ".gemini",
    "LocalVoiceAgent": ".local",
    "IntentMatch": ".intents",
    "IntentSet": ".intents",
    "IntentSpec": ".intents",
}


def __getattr__(name: str) -> Any:
    """Import the module holding ``name`` on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'russo_nb.adapters' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
