"""Small real components shared by the tests: a sine-tone clip, a tone synthesizer, scripted agents."""

from __future__ import annotations

import asyncio

import numpy as np

import russo_nb as russo


def tone(freq: float = 440.0, seconds: float = 0.1, sample_rate: int = 16000, amplitude: float = 0.25) -> russo.Audio:
    """A real 16-bit mono sine clip (bare PCM frames)."""
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    pcm = (amplitude * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes()
    return russo.Audio(data=pcm, sample_rate=sample_rate)


class ToneSynthesizer:
    """Makes a real tone whose pitch depends on the text (no TTS); counts its calls."""

    def __init__(self, delay: float = 0.0, sample_rate: int = 16000) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.sample_rate = sample_rate

    async def synthesize(self, text: str) -> russo.Audio:
        self.calls.append(text)
        if self.delay:
            await asyncio.sleep(self.delay)
        return tone(freq=200 + (sum(map(ord, text)) % 400), sample_rate=self.sample_rate)


def flight_call(**arguments: object) -> russo.ToolCall:
    return russo.ToolCall(name="book_flight", arguments=dict(arguments))
