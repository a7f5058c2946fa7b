"""The offline voice pipeline: espeak-ng synthesis, effects, WAV helpers, pocketsphinx recognition,
and russo's AudioManager / format constants that prepare clips for each provider's API.

Importing this package loads neither library: espeak-ng loads on the first
synthesis, pocketsphinx in the recognition workers on the first transcription.
"""

from __future__ import annotations

from .constants import AudioMime, Gemini, OpenAI
from .effects import (
    Chain,
    Clip,
    Dropout,
    Effect,
    Gain,
    Noise,
    Speed,
    TelephoneBand,
    parse_effect,
    parse_effects,
)
from .espeak import EspeakSynthesizer, list_voices
from .manager import AudioManager
from .transcribe import PocketsphinxRecognizer, Transcript, shutdown_pool
from .voices import EspeakVoice, espeak_voices
from .wav import decode_wav, duration_s, encode_wav, from_numpy, resample, rms_dbfs, to_mono16, to_numpy

__all__ = [
    "AudioManager",
    "AudioMime",
    "Chain",
    "Clip",
    "Dropout",
    "Effect",
    "EspeakSynthesizer",
    "EspeakVoice",
    "Gain",
    "Gemini",
    "Noise",
    "OpenAI",
    "PocketsphinxRecognizer",
    "Speed",
    "TelephoneBand",
    "Transcript",
    "decode_wav",
    "duration_s",
    "encode_wav",
    "espeak_voices",
    "from_numpy",
    "list_voices",
    "parse_effect",
    "parse_effects",
    "resample",
    "rms_dbfs",
    "shutdown_pool",
    "to_mono16",
    "to_numpy",
]
