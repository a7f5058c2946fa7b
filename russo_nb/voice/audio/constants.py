"""The audio formats each provider's API expects (russo's ``russo.audio.constants``)."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

__all__ = ["AudioMime", "Gemini", "OpenAI"]


class AudioMime(str, Enum):
    """MIME types of the audio formats an :class:`~russo_nb.model.types.Audio` can hold."""

    MP3 = "audio/mp3"
    PCM = "audio/l16"
    OGG = "audio/ogg"
    WAV = "audio/wav"

    @classmethod
    def for_format(cls, format: str) -> str:
        """The MIME type of ``format`` (``"audio/<format>"`` for one not listed)."""
        try:
            return cls[format.upper()].value
        except KeyError:
            return f"audio/{format}"


class Gemini:
    """Gemini / Vertex AI: the Live API takes 16-bit PCM at 16 kHz."""

    LIVE_INPUT_SAMPLE_RATE = 16000
    LIVE_INPUT_MIME = "audio/pcm;rate=16000"
    LIVE_RESPONSE_MODALITIES: ClassVar[list[str]] = ["AUDIO"]  # native-audio Live models answer in audio only
    TTS_SAMPLE_RATE = 24000  # Gemini TTS returns 16-bit mono PCM at 24 kHz


class OpenAI:
    """OpenAI: the Realtime API takes pcm16 at 24 kHz mono; TTS ``response_format="pcm"`` is 24 kHz too."""

    REALTIME_INPUT_SAMPLE_RATE = 24000
    TTS_SAMPLE_RATE = 24000
