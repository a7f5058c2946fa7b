"""Small real components shared by the tests: a sine-tone clip, a tone synthesizer, scripted agents."""

from __future__ import annotations

import russo_nb as russo
from russo_nb.testing import ToneSynthesizer, tone

__all__ = ["ToneSynthesizer", "flight_call", "tone"]


def flight_call(**arguments: object) -> russo.ToolCall:
    return russo.ToolCall(name="book_flight", arguments=dict(arguments))
