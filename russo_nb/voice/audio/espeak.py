"""EspeakSynthesizer: offline speech from espeak-ng, loaded in-process with ctypes.

The library and its voice data come from the ``espeakng-loader`` wheel, so nothing
has to be installed on the system. Every utterance is synthesized by a freshly loaded
espeak-ng (see :class:`_FreshEngine`), so the same text, voice and settings give the same
bytes from any instance, in any order, in any process. Calls go through one lock, and
``synthesize`` runs in a worker thread to keep the event loop free.
"""

from __future__ import annotations

import _ctypes
import asyncio
import atexit
import ctypes
import functools
import logging
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ...model.errors import ConfigurationError, InvalidArgumentError
from ...model.types import Audio

__all__ = ["ESPEAK_SAMPLE_RATE", "EspeakSynthesizer", "check_variant", "list_voices", "variant_names"]

logger = logging.getLogger("russo_nb")

ESPEAK_SAMPLE_RATE = 22050
"""The rate espeak-ng synthesizes at; other rates are resampled from it."""

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


_unload = getattr(_ctypes, "dlclose", None) or _ctypes.FreeLibrary  # POSIX / Windows


_pending = threading.Condition()
_pending_count = 0  # syntheses waiting for or holding _FreshEngine.lock, in this process


def wait_for_syntheses(timeout: float) -> None:
    """Block until no espeak-ng synthesis is waiting or running in this process (at most ``timeout`` s).

    espeak-ng hands its audio back through a Python callback, so it needs the GIL many times per
    prompt; a decode in this process (pocketsphinx holds the GIL throughout) lets it in only
    between clips. Inline recognition waits here first, so every prompt's clip is ready before the
    decodes go on and the run-order queue has them all to order (a demo stopped early then has
    finished runs of every prompt, not of the first five).
    """
    with _pending:
        _pending.wait_for(lambda: _pending_count == 0, timeout)


class _FreshEngine:
    """espeak-ng loaded anew for every utterance: its output is a pure function of text, voice and settings.

    Why: espeak-ng keeps synthesis state in C ``static`` variables that no API call resets:
    the phase of its pitch flutter (``Flutter_ix`` in ``wavegen.c``, wrapping every ~1.1 s of
    speech), the automatic gain control, the glottal cycle counter behind roughness, the echo
    buffer. Each utterance starts where the previous one left off, so two calls with the same
    text gave different bytes (and two seeded batches different audio and pass counts).
    ``espeak_Terminate`` does not reset them; unloading the library does. ``espeak_Terminate``
    + ``dlclose`` and a fresh ``dlopen`` + ``espeak_Initialize`` cost about a millisecond (the
    data files stay in the page cache), against 15-30 ms for synthesizing a prompt.

    The library is opened from a private copy of the wheel's file, made once per process:
    if another package has the shared file open, ``dlclose`` of it would not unload it and
    the state would survive; nobody else maps the copy.
    """

    lock = threading.Lock()
    _library: Path | None = None
    _data = b""

    @classmethod
    def _private_library(cls) -> Path:
        if cls._library is None:
            import espeakng_loader

            folder = Path(tempfile.mkdtemp(prefix="russo-espeak-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            source = Path(espeakng_loader.get_library_path())
            cls._library = Path(shutil.copy2(source, folder / source.name))
            cls._data = espeakng_loader.get_data_path().encode()
        return cls._library

    @staticmethod
    def _declare(lib: Any) -> None:
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Terminate.restype = ctypes.c_int

    @classmethod
    def synthesize(cls, text: str, voice: str, rate: int, pitch: int, volume: int) -> bytes:
        """16-bit PCM at :data:`ESPEAK_SAMPLE_RATE` for ``text`` (blocking; serialized)."""
        global _pending_count
        with _pending:
            _pending_count += 1
        try:
            with cls.lock:
                lib = ctypes.CDLL(str(cls._private_library()))
                try:
                    return cls._speak(lib, text, voice, rate, pitch, volume)
                finally:
                    _unload(lib._handle)
        finally:
            with _pending:
                _pending_count -= 1
                _pending.notify_all()

    @classmethod
    def _speak(cls, lib: Any, text: str, voice: str, rate: int, pitch: int, volume: int) -> bytes:
        cls._declare(lib)
        native = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, cls._data, _INITIALIZE_DONT_EXIT)
        if native != ESPEAK_SAMPLE_RATE:
            raise ConfigurationError(f"espeak-ng failed to initialize (data at {cls._data.decode()}, rate {native})")
        chunks: list[bytes] = []

        def collect(wav: Any, count: int, events: Any) -> int:
            if wav and count > 0:
                chunks.append(ctypes.string_at(wav, count * 2))
            return 0

        callback = _CALLBACK(collect)  # referenced until espeak_Terminate below
        try:
            lib.espeak_SetSynthCallback(callback)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise InvalidArgumentError(
                    f"espeak-ng has no voice {voice!r}; try 'en-us', 'en', 'en-GB-x-rp' "
                    "or see russo_nb.audio.espeak_voices()"
                )
            lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            lib.espeak_SetParameter(_PARAM_VOLUME, volume, 0)
            data = text.encode("utf-8") + b"\0"
            status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None)
            lib.espeak_Synchronize()
            if status != 0:
                raise RuntimeError(f"espeak-ng failed to synthesize {text!r} (status {status})")
            return b"".join(chunks)
        finally:
            lib.espeak_Terminate()


def list_voices() -> list[str]:
    """Names of the espeak-ng languages/voices shipped with espeakng-loader (e.g. 'en-us')."""
    from pathlib import Path

    import espeakng_loader

    root = Path(espeakng_loader.get_data_path()) / "lang"
    return sorted(path.name for path in root.rglob("*") if path.is_file())


@functools.lru_cache(maxsize=1)
def variant_names() -> frozenset[str]:
    """The voice variants espeak-ng has (``m1``, ``f3``, ``klatt``, ``whisper`` ...), lower-case."""
    import espeakng_loader

    root = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return frozenset(path.name.lower() for path in root.iterdir() if path.is_file())


def check_variant(voice: str) -> str:
    """``voice`` unless its ``+variant`` is not one espeak-ng has (which it would ignore without a word)."""
    _, _, variant = voice.partition("+")
    if variant and variant.strip().lower() not in variant_names():
        raise InvalidArgumentError(
            f"espeak-ng has no variant {variant!r} (in {voice!r}); variants are e.g. m1-m8, f1-f5, klatt, "
            "whisper; see russo_nb.audio.espeak_voices()"
        )
    return voice


class EspeakSynthesizer:
    """Text to speech with espeak-ng, offline: a :class:`~russo_nb.model.protocols.Synthesizer`.

    ``rate`` is in words per minute (80-450), ``pitch`` 0-100, ``volume`` 0-200;
    ``sample_rate`` resamples from espeak's native 22050 Hz (16000 suits recognizers).
    The same text and settings give byte-identical audio from any instance (each utterance
    is made by a freshly loaded engine); the last ``memo`` clips are kept per text only to
    save the 15-30 ms of synthesizing a prompt again.
    """

    def __init__(
        self,
        voice: str = "en-us",
        rate: int = 160,
        pitch: int = 50,
        sample_rate: int = 16000,
        volume: int = 100,
        memo: int = 256,
    ) -> None:
        if not isinstance(voice, str) or not voice.strip():
            raise InvalidArgumentError(f"voice must be a non-empty string like 'en-us', got {voice!r}")
        if "+" in voice:
            check_variant(voice)
        _check_int("rate", rate, 80, 450, "words per minute")
        _check_int("pitch", pitch, 0, 100, "")
        _check_int("volume", volume, 0, 200, "")
        _check_int("sample_rate", sample_rate, 4000, 96000, "Hz")
        self.voice = voice
        self.rate = rate
        self.pitch = pitch
        self.volume = volume
        self.sample_rate = sample_rate
        self.memo = max(0, int(memo))
        self._memo: OrderedDict[str, Audio] = OrderedDict()
        self._memo_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Settings only (sent to a Dask worker): the memo and its lock are this process's."""
        state = dict(self.__dict__)
        state["_memo"] = OrderedDict()
        del state["_memo_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._memo_lock = threading.Lock()

    @property
    def name(self) -> str:
        """A readable name recorded on batches, e.g. ``espeak-ng(en-us, 160 wpm)``."""
        return f"espeak-ng({self.voice}, {self.rate} wpm)"

    def cache_settings(self) -> dict[str, Any]:
        """Everything that changes the sound; :class:`~russo_nb.voice.cache.CachedSynthesizer` keys on it."""
        return {
            "engine": "espeak-ng",
            "voice": self.voice,
            "rate": self.rate,
            "pitch": self.pitch,
            "volume": self.volume,
            "sample_rate": self.sample_rate,
        }

    def synthesize_sync(self, text: str) -> Audio:
        """Synthesize ``text`` in the calling thread (blocks while espeak-ng is busy)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgumentError(f"text to synthesize must be a non-empty string, got {text!r}")
        with self._memo_lock:
            remembered = self._memo.get(text)
            if remembered is not None:
                self._memo.move_to_end(text)
                return remembered
        pcm = _FreshEngine.synthesize(text, self.voice, self.rate, self.pitch, self.volume)
        audio = Audio(data=pcm, format="wav", sample_rate=ESPEAK_SAMPLE_RATE, channels=1, sample_width=2)
        if self.sample_rate != ESPEAK_SAMPLE_RATE:
            from .wav import resample

            audio = resample(audio, self.sample_rate)
        if self.memo:
            with self._memo_lock:
                audio = self._memo.setdefault(text, audio)
                while len(self._memo) > self.memo:
                    self._memo.popitem(last=False)
        return audio

    async def synthesize(self, text: str) -> Audio:
        """Synthesize ``text`` off the event loop."""
        return await asyncio.to_thread(self.synthesize_sync, text)

    def __repr__(self) -> str:
        return (
            f"EspeakSynthesizer(voice={self.voice!r}, rate={self.rate}, pitch={self.pitch}, "
            f"sample_rate={self.sample_rate})"
        )


def _check_int(name: str, value: Any, low: int, high: int, unit: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise InvalidArgumentError(f"{name} must be a whole number from {low} to {high}{suffix}, got {value!r}")
