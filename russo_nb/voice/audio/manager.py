"""AudioManager: prepare a clip for each provider's API (russo's ``russo.audio.manager``).

PCM and WAV conversions use :class:`~russo_nb.model.types.Audio` itself (``pcm``, ``to_wav_bytes``) and
resampling uses :func:`russo_nb.voice.audio.wav.resample` (band-limited), so there is one implementation of each.
"""

from __future__ import annotations

from ...model.types import Audio
from .constants import AudioMime, Gemini, OpenAI

__all__ = ["AudioManager"]


class AudioManager:
    """Static helpers the adapters use to send audio in the format each API wants."""

    @staticmethod
    def has_wav_header(data: bytes) -> bool:
        """True if ``data`` starts with a RIFF header."""
        return len(data) >= 4 and data[:4] == b"RIFF"

    @staticmethod
    def extract_pcm(audio: Audio) -> bytes:
        """The bare PCM frames (a WAV header, if any, removed)."""
        if audio.format not in ("wav", "pcm"):
            return audio.data
        return audio.pcm

    @staticmethod
    def pcm_to_wav(pcm: bytes, sample_rate: int, channels: int = 1, sample_width: int = 2) -> bytes:
        """Bare PCM frames wrapped in a WAV container."""
        audio = Audio(data=pcm, format="wav", sample_rate=sample_rate, channels=channels, sample_width=sample_width)
        return audio.to_wav_bytes()

    @staticmethod
    def resample_pcm_16bit(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
        """16-bit little-endian mono PCM at another rate."""
        if from_rate == to_rate or not pcm:
            return pcm
        from .wav import resample

        return resample(Audio(data=pcm, format="pcm", sample_rate=from_rate), to_rate).pcm

    @staticmethod
    def to_pcm16_mono(audio: Audio, sample_rate: int) -> bytes:
        """The clip as 16-bit mono PCM at ``sample_rate`` (resampled and mixed down when needed)."""
        from .wav import resample

        return resample(audio, sample_rate).pcm

    @staticmethod
    def prepare_for_generate_content(audio: Audio) -> tuple[bytes, str]:
        """(bytes, MIME type) for Gemini ``generate_content``: PCM is wrapped in a WAV container."""
        if audio.format in ("wav", "pcm"):
            return audio.to_wav_bytes(), AudioMime.WAV.value
        return audio.data, AudioMime.for_format(audio.format)

    @staticmethod
    def prepare_for_live(audio: Audio) -> tuple[bytes, str]:
        """(PCM, MIME type) for the Gemini Live API: 16-bit mono at 16 kHz."""
        return AudioManager.to_pcm16_mono(audio, Gemini.LIVE_INPUT_SAMPLE_RATE), Gemini.LIVE_INPUT_MIME

    @staticmethod
    def prepare_for_openai_realtime(audio: Audio) -> bytes:
        """PCM for the OpenAI Realtime API: 16-bit mono at 24 kHz."""
        return AudioManager.to_pcm16_mono(audio, OpenAI.REALTIME_INPUT_SAMPLE_RATE)
