"""russo's ``russo._protocols`` path: the extension-point protocols. An alias of :mod:`russo_nb.protocols`."""

from __future__ import annotations

from .protocols import Agent, Evaluator, ResponseParser, Synthesizer

__all__ = ["Agent", "Evaluator", "ResponseParser", "Synthesizer"]
