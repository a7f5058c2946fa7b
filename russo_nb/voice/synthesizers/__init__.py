"""Cloud voices (russo's ``russo.synthesizers``): Gemini TTS and OpenAI TTS.

The offline :class:`~russo_nb.audio.EspeakSynthesizer` needs no extra; these need ``russo_nb[google]`` /
``russo_nb[openai]`` and load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["GoogleSynthesizer", "OpenAISynthesizer"]

_LAZY = {"GoogleSynthesizer": ".google", "OpenAISynthesizer": ".openai"}


def __getattr__(name: str) -> Any:
    """Import the module holding ``name`` on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'russo_nb.synthesizers' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
