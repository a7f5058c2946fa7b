"""Speech recognition with pocketsphinx (its wheel ships the en-us model), 16 kHz mono.

Decoding is CPU-bound and pocketsphinx holds the GIL while it decodes (measured:
two threads run no faster than one), so :class:`PocketsphinxRecognizer` sends work
to a shared process pool, one worker per core. Each worker keeps its decoders
(one per grammar) between calls. A JSGF grammar constrains recognition to the
phrases an app expects, as real voice apps do; without one the generic en-us
language model is used (slow and poor on synthetic speech).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InvalidArgumentError
from ..types import Audio

__all__ = [
    "ASR_SAMPLE_RATE",
    "PocketsphinxRecognizer",
    "Transcript",
    "dictionary_words",
    "recognition_pool",
    "shutdown_pool",
]

logger = logging.getLogger("russo_nb")

ASR_SAMPLE_RATE = 16000
_TARGET_RMS = 0.1  # about -20 dBFS: the level the recognizer is fed (automatic gain control)
# A microphone-like noise floor 50 dB below the speech: synthetic audio has stretches of exact
# digital silence, on which pocketsphinx's features degenerate (measured: 88% -> 100% on the demo).
_NOISE_FLOOR = _TARGET_RMS * 10 ** (-50 / 20)

# Tuned on espeak-ng speech (data/demo_suite.yaml, clean and 20/10/5 dB white noise): cepstral mean
# normalization over the whole utterance, and the final hypothesis from the search itself (no
# lattice best-path rescoring), which keeps complete phrases in noise.
DEFAULT_CONFIG: dict[str, Any] = {"cmn": "batch", "bestpath": False}


@dataclass
class Transcript:
    """What the recognizer heard."""

    text: str
    confidence: float | None = None
    duration_s: float = 0.0
    decode_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


# -- the work done in a pool worker (module level, so it pickles) -----------------------------

_DECODERS: dict[str, Any] = {}


def _decoder(grammar: str | None, config: dict[str, Any]) -> Any:
    key = hashlib.sha1(repr((grammar, sorted(config.items()))).encode()).hexdigest()
    decoder = _DECODERS.get(key)
    if decoder is None:
        from pocketsphinx import Config, Decoder

        options = {"loglevel": "FATAL", **config}
        if grammar is not None:
            options["lm"] = None
        decoder = Decoder(Config(**options))
        if grammar is not None:
            decoder.add_jsgf_string("russo", grammar)
            decoder.activate_search("russo")
        if len(_DECODERS) > 16:
            _DECODERS.clear()
        _DECODERS[key] = decoder
    return decoder


def prepare_pcm(audio: Audio) -> bytes:
    """16 kHz mono 16-bit PCM at a fixed level over a deterministic noise floor (seeded by the clip)."""
    import numpy as np

    from .wav import resample_array, to_numpy

    samples = resample_array(to_numpy(audio), audio.sample_rate, ASR_SAMPLE_RATE).astype(np.float64)
    power = float(np.mean(samples**2)) if len(samples) else 0.0
    if power > 0:
        samples *= _TARGET_RMS / np.sqrt(power)
    seed = int.from_bytes(hashlib.blake2b(audio.data, digest_size=4).digest(), "little")
    samples += np.random.default_rng(seed).standard_normal(len(samples)) * _NOISE_FLOOR
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()


def recognize(audio: Audio, grammar: str | None, config: dict[str, Any]) -> Transcript:
    """Decode one clip in this process (used by pool workers and inline mode)."""
    started = time.perf_counter()
    pcm = prepare_pcm(audio)
    decoder = _decoder(grammar, config)
    try:
        decoder.start_utt()
    except RuntimeError:  # left mid-utterance (an earlier decode was interrupted): close it, start again
        with contextlib.suppress(RuntimeError):
            decoder.end_utt()
        decoder.start_utt()
    try:
        decoder.process_raw(pcm, full_utt=True)
    finally:  # whatever stops the decode, the decoder is never left mid-utterance
        decoder.end_utt()
    hyp = decoder.hyp()
    text = hyp.hypstr.strip() if hyp is not None else ""
    confidence = float(hyp.prob) if hyp is not None and text else 0.0
    return Transcript(
        text=text,
        confidence=round(min(max(confidence, 0.0), 1.0), 4),
        duration_s=len(pcm) / 2 / ASR_SAMPLE_RATE,
        decode_s=time.perf_counter() - started,
        extra={"pid": os.getpid()},
    )


def _ignore_interrupts() -> None:
    """Pool worker initializer: a Ctrl-C / kernel interrupt is the parent's to handle, not the workers'.

    Jupyter interrupts a kernel by signalling its whole process group, workers included; a
    worker that took the ``KeyboardInterrupt`` died or left its decoder mid-utterance, and
    every later decode failed ("Failed to start utterance processing") until a restart.
    The parent cancels the batch; the workers finish the clip in hand and stay usable.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm(grammar: str | None, config: dict[str, Any]) -> int:
    _decoder(grammar, config)
    return os.getpid()


# -- the shared pool ----------------------------------------------------------------------------

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _mp_context() -> Any:
    # forkserver: workers start from a clean server process, never by forking a parent that runs
    # threads (the event loop, espeak). spawn where forkserver does not exist.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


@contextlib.contextmanager
def _user_script_hidden() -> Iterator[None]:
    """Start workers without the user's ``__main__``: they run russo_nb code only.

    forkserver / spawn workers normally re-import the main script, which re-runs a script
    that lacks an ``if __name__ == "__main__":`` guard (and fails for ``python - < file``).
    The workers never need it, so its path and spec are hidden while they start.
    """
    main = sys.modules.get("__main__")
    saved = {key: main.__dict__[key] for key in ("__file__", "__spec__") if main is not None and key in main.__dict__}
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            if "__spec__" in saved:
                main.__spec__ = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


def recognition_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The process pool shared by every recognizer (created on first use, one worker per core).

    Every worker starts at once, here, so none is started later with the user's script.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            count = workers or os.cpu_count() or 2
            pool = ProcessPoolExecutor(max_workers=count, mp_context=_mp_context(), initializer=_ignore_interrupts)
            with _user_script_hidden():
                started = [pool.submit(os.getpid) for _ in range(count)]
            for future in started:
                future.result()
            _pool = pool
            logger.debug("started a recognition pool of %d processes", count)
        return _pool


def shutdown_pool() -> None:
    """Stop the recognition pool's processes (a new pool starts on next use)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pool)


class PocketsphinxRecognizer:
    """Transcribe audio with pocketsphinx, optionally constrained by a JSGF grammar.

    ``mode``: ``process`` (default) decodes in the shared process pool so concurrent
    runs use every core; ``inline`` decodes in a thread of this process (no
    parallelism, no worker start-up).
    """

    def __init__(
        self,
        grammar: str | None = None,
        *,
        mode: Literal["process", "inline"] = "process",
        config: dict[str, Any] | None = None,
    ) -> None:
        if mode not in ("process", "inline"):
            raise InvalidArgumentError(f"mode must be 'process' or 'inline', got {mode!r}")
        self.grammar = grammar
        self.mode = mode
        self.config = {**DEFAULT_CONFIG, **(config or {})}
        self._inline_lock = threading.Lock()

    def transcribe_sync(self, audio: Audio) -> Transcript:
        """Decode in the calling thread."""
        _check_audio(audio)
        with self._inline_lock:
            return recognize(audio, self.grammar, self.config)

    async def transcribe(self, audio: Audio) -> Transcript:
        """Decode off the event loop: in the pool, or in a thread for ``inline``."""
        _check_audio(audio)
        if self._inline():
            return await asyncio.to_thread(self.transcribe_sync, audio)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), recognize, audio, self.grammar, self.config)
        except BrokenProcessPool:
            logger.warning("the recognition pool broke; restarting it")
            shutdown_pool()
            return await loop.run_in_executor(self._pool(), recognize, audio, self.grammar, self.config)

    def _inline(self) -> bool:
        """Decode in this process: ``inline`` mode, or a daemonic process (a Dask worker), which may not start a pool.

        A Dask worker is already one process per core, so decoding inline there loses no parallelism.
        """
        import multiprocessing

        return self.mode == "inline" or multiprocessing.current_process().daemon

    def _pool(self) -> Executor:
        return recognition_pool()

    def warm_up(self) -> None:
        """Start the pool's workers and load this grammar's decoder in each (about a second)."""
        if self._inline():
            _warm(self.grammar, self.config)
            return
        pool = recognition_pool()
        futures = [pool.submit(_warm, self.grammar, self.config) for _ in range(pool._max_workers * 2)]
        for future in futures:
            future.result()


def _check_audio(audio: Any) -> None:
    if not isinstance(audio, Audio):
        raise InvalidArgumentError(f"can only transcribe russo_nb.Audio, got {type(audio).__name__}")
    if audio.format not in ("wav", "pcm"):
        raise InvalidArgumentError(f"cannot transcribe {audio.format} audio; give WAV/PCM")


_WORDS: set[str] | None = None


def dictionary_words() -> set[str]:
    """Every word the en-us pronunciation dictionary knows (lower case), read once."""
    global _WORDS
    if _WORDS is None:
        from pathlib import Path

        import pocketsphinx

        path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
        words = set()
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                word = line.split(" ", 1)[0]
                words.add(word.split("(", 1)[0].lower())
        _WORDS = words
    return _WORDS
