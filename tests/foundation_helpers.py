"""Small real components for foundation tests: a tone synthesizer and scripted agents."""

from __future__ import annotations

import asyncio
import math
import struct

import russo_nb as russo


class ToneSynthesizer:
    """Makes a real 16-bit sine tone whose pitch depends on the text; counts its calls."""

    def __init__(self, delay: float = 0.0, sample_rate: int = 16000) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.sample_rate = sample_rate

    async def synthesize(self, text: str) -> russo.Audio:
        self.calls.append(text)
        if self.delay:
            await asyncio.sleep(self.delay)
        freq = 200 + (sum(map(ord, text)) % 400)
        n = self.sample_rate // 10
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / self.sample_rate))) for i in range(n)
        )
        return russo.Audio(data=frames, sample_rate=self.sample_rate)


def flight_call(**arguments: object) -> russo.ToolCall:
    return russo.ToolCall(name="book_flight", arguments=dict(arguments))
