"""OpenAISynthesizer: OpenAI text-to-speech (``client.audio.speech.create``; extra ``openai``).

Asks for ``response_format="pcm"`` (16-bit mono at 24 kHz), so the clip needs no decoding and effects
and the offline recognizer can use it directly.
"""

from __future__ import annotations

from typing import Any

from ...model.errors import AgentResponseError
from ...model.extras import require
from ...model.providers import sdk_error
from ...model.types import Audio
from ..audio.constants import OpenAI

require("openai", "OpenAISynthesizer")

__all__ = ["OpenAISynthesizer"]


class OpenAISynthesizer:
    """OpenAI TTS voice ``voice`` with model ``model``; ``client`` defaults to ``AsyncOpenAI()``."""

    def __init__(
        self,
        *,
        client: Any | None = None,
        model: str = "gpt-4o-mini-tts",
        voice: str = "alloy",
        instructions: str | None = None,
        speed: float | None = None,
    ) -> None:
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI()
        self.client = client
        self.model = model
        self.voice = voice
        self.instructions = instructions
        self.speed = speed
        self.name = f"OpenAISynthesizer({voice})"

    async def synthesize(self, text: str) -> Audio:
        """The spoken ``text`` as 16-bit mono PCM at 24 kHz."""
        kwargs: dict[str, Any] = {"model": self.model, "voice": self.voice, "input": text, "response_format": "pcm"}
        if self.instructions:
            kwargs["instructions"] = self.instructions
        if self.speed is not None:
            kwargs["speed"] = self.speed
        try:
            response = await self.client.audio.speech.create(**kwargs)
        except Exception as exc:
            raise sdk_error(exc, self.name) from exc
        data = getattr(response, "content", response)
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise AgentResponseError(f"{self.name}: the answer for {text[:60]!r} holds no audio")
        return Audio(data=bytes(data[: len(data) // 2 * 2]), format="pcm", sample_rate=OpenAI.TTS_SAMPLE_RATE)

    def __repr__(self) -> str:
        return f"OpenAISynthesizer(voice={self.voice!r}, model={self.model!r})"
