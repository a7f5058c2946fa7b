"""Speech recognition with pocketsphinx (its wheel ships the en-us model), 16 kHz mono.

Decoding is CPU-bound and pocketsphinx holds the GIL while it decodes (measured:
two threads run no faster than one), so :class:`PocketsphinxRecognizer` sends work
to a shared process pool, one worker per core. Each worker keeps its decoders
(one per grammar) between calls. Clips waiting for a worker are served in the engine's
round-robin run order (:func:`russo_nb.model.threads.run_position`), not in arrival order, so a
batch stopped early has finished runs of every prompt. A JSGF grammar constrains recognition to the
phrases an app expects, as real voice apps do; without one the generic en-us
language model is used (slow and poor on synthetic speech).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import hashlib
import heapq
import itertools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Literal

from ...model.errors import InvalidArgumentError
from ...model.types import Audio

__all__ = [
    "ASR_SAMPLE_RATE",
    "PocketsphinxRecognizer",
    "Transcript",
    "dictionary_words",
    "RunOrderQueue",
    "inline_queue",
    "recognition_pool",
    "recognition_queue",
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


_SYNTHESIS_WAIT_S = 1.0
"""How long an inline decode waits for this process's syntheses: a slow one delays decodes, never stops them."""


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


class RunOrderQueue:
    """Hands calls to ``pool`` in run order, never more at once than it has workers.

    A :class:`ProcessPoolExecutor` serves calls first come, first served. A batch with no
    concurrency limit starts all its runs at once; each prompt's runs wait for its clip and
    reach the pool together when it is ready, so the pool decoded prompt by prompt, and a batch
    stopped after 22 of 160 runs had 2 prompts at 10/10 and 13 not run. Here calls wait in a
    heap keyed by the caller's :func:`~russo_nb.model.threads.run_position` (run 0 of every prompt,
    then run 1, ...; callers outside a run first, in arrival order) and go to the pool only as
    workers free up, so the pool decodes in the engine's round-robin order.

    A waiting call cancelled by its caller (a stopped batch) is dropped without reaching a worker.
    """

    def __init__(self, pool: Executor, workers: int) -> None:
        self.pool = pool
        self.workers = workers
        self._lock = threading.Lock()
        self._waiting: list[tuple[int, int, Future[Any], Callable[..., Any], tuple[Any, ...]]] = []
        self._running = 0
        self._arrivals = itertools.count()
        self._closed = False
        self._pumping = threading.local()  # a call that finished at once re-enters _pump: its loop goes on instead

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Queue ``fn(*args)`` at the calling run's place in the run order; its future."""
        from ...model.threads import run_position

        position = run_position()
        outer: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise BrokenProcessPool("the recognition pool was shut down")
            key = -1 if position is None else position
            heapq.heappush(self._waiting, (key, next(self._arrivals), outer, fn, args))
        self._pump()
        return outer

    def _pump(self) -> None:
        """Send waiting calls to the pool while it has an idle worker."""
        if getattr(self._pumping, "active", False):
            return
        self._pumping.active = True
        try:
            self._send()
        finally:
            self._pumping.active = False

    def _send(self) -> None:
        while True:
            with self._lock:
                if self._running >= self.workers or not self._waiting:
                    return
                _, _, outer, fn, args = heapq.heappop(self._waiting)
                if outer.cancelled():
                    continue
                self._running += 1
            try:
                inner = self.pool.submit(fn, *args)
            except BaseException as exc:  # a broken or shut-down pool: the caller restarts it
                with self._lock:
                    self._running -= 1
                _settle(outer, exc=exc)
                continue
            inner.add_done_callback(lambda done, outer=outer: self._finished(outer, done))

    def _finished(self, outer: Future[Any], inner: Future[Any]) -> None:
        with self._lock:
            self._running -= 1
        if inner.cancelled():
            outer.cancel()
        elif inner.exception() is not None:
            _settle(outer, exc=inner.exception())
        else:
            _settle(outer, result=inner.result())
        self._pump()

    @property
    def waiting(self) -> int:
        """Calls waiting for a worker (not yet sent to the pool, not cancelled)."""
        with self._lock:
            return sum(1 for entry in self._waiting if not entry[2].cancelled())

    def close(self) -> None:
        """Cancel every waiting call (the pool is being shut down)."""
        with self._lock:
            self._closed = True
            waiting, self._waiting = self._waiting, []
        for _, _, outer, _, _ in waiting:
            outer.cancel()


def _settle(future: Future[Any], *, result: Any = None, exc: BaseException | None = None) -> None:
    """Complete ``future`` unless its caller cancelled it meanwhile."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


_pool: ProcessPoolExecutor | None = None
_queue: RunOrderQueue | None = None
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
    global _pool, _queue
    with _pool_lock:
        if _pool is None:
            count = workers or os.cpu_count() or 2
            pool = ProcessPoolExecutor(max_workers=count, mp_context=_mp_context(), initializer=_ignore_interrupts)
            with _user_script_hidden():
                started = [pool.submit(os.getpid) for _ in range(count)]
            for future in started:
                future.result()
            _pool, _queue = pool, RunOrderQueue(pool, count)
            logger.debug("started a recognition pool of %d processes", count)
        return _pool


_inline_thread: tuple[int, RunOrderQueue] | None = None  # (the process it belongs to, the queue)


def inline_queue() -> RunOrderQueue:
    """The run-ordered queue in front of this process's one decoding thread (``inline`` mode, Dask workers).

    pocketsphinx holds the GIL while it decodes, so a second thread would decode no faster; one thread behind
    a :class:`RunOrderQueue` serves clips in run order as the pool does (before, a thread pool served them
    first come, first served: a demo stopped after 22 runs had 3 prompts finished, 10 + 8 + 4).
    """
    global _inline_thread
    with _pool_lock:
        if _inline_thread is None or _inline_thread[0] != os.getpid():  # a forked child cannot use its parent's thread
            thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="russo-asr")
            _inline_thread = (os.getpid(), RunOrderQueue(thread, 1))
        return _inline_thread[1]


def recognition_queue() -> RunOrderQueue:
    """The run-ordered queue in front of :func:`recognition_pool` (decodes go through it)."""
    while True:
        recognition_pool()
        queue = _queue
        if queue is not None:  # None only when the pool was shut down between the two lines
            return queue


def shutdown_pool() -> None:
    """Stop the recognition pool's processes (a new pool starts on next use)."""
    global _pool, _queue
    with _pool_lock:
        pool, _pool = _pool, None
        queue, _queue = _queue, None
    if queue is not None:
        queue.close()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pool)


class PocketsphinxRecognizer:
    """Transcribe audio with pocketsphinx, optionally constrained by a JSGF grammar.

    ``mode``: ``process`` (default) decodes in the shared process pool so concurrent
    runs use every core; ``inline`` decodes in a thread of this process (no
    parallelism, no worker start-up; clips wait for it in run order too, :func:`inline_queue`).
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

    def _transcribe_inline(self, audio: Audio) -> Transcript:
        """Decode on the inline thread; in ``inline`` mode, once this process's syntheses are done.

        The wait (see ``wait_for_syntheses``) puts every prompt's clip in the run-order queue before decodes go on.
        A Dask worker (inline because daemonic) skips it: its share holds few prompts, and idling the decoder while
        they are synthesized cost the cluster's voice throughput 1.73x -> 1.59-1.64x.
        """
        if self.mode == "inline":
            from .espeak import wait_for_syntheses

            wait_for_syntheses(_SYNTHESIS_WAIT_S)
        return self.transcribe_sync(audio)

    async def transcribe(self, audio: Audio) -> Transcript:
        """Decode off the event loop: in the pool, or in a thread for ``inline``."""
        _check_audio(audio)
        if self._inline():
            return await asyncio.wrap_future(inline_queue().submit(self._transcribe_inline, audio))
        try:
            return await self._decode(audio)
        except BrokenProcessPool:
            logger.warning("the recognition pool broke; restarting it")
            shutdown_pool()
            return await self._decode(audio)

    async def _decode(self, audio: Audio) -> Transcript:
        """Decode in the pool, waiting for a worker in run order (:class:`RunOrderQueue`)."""
        return await asyncio.wrap_future(recognition_queue().submit(recognize, audio, self.grammar, self.config))

    def _inline(self) -> bool:
        """Decode in this process: ``inline`` mode, or a daemonic process (a Dask worker), which may not start a pool.

        A Dask worker is already one process per core, so decoding inline there loses no parallelism.
        """
        import multiprocessing

        return self.mode == "inline" or multiprocessing.current_process().daemon

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
