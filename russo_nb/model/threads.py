"""What a run's code knows of the job it runs in: the job's own threads, and the run's place in its order.

Blocking calls (sync agents, HTTP in threads, effects) run on the current job's own threads.

asyncio's default executor has ``min(32, CPUs + 4)`` threads (6 on a 2-core machine), which
silently capped a batch of sync or HTTP agents below its ``max_concurrency``. A job installs a
pool sized to its cap (:func:`job_threads`) for the duration of its run; :func:`run_blocking`
uses it, and falls back to :func:`asyncio.to_thread` outside a job.

Two guarantees keep a stuck call from starving healthy runs:

- a call the engine gave up on (its run timed out or was cancelled while the call still runs
  in its thread) is *abandoned*: its thread no longer counts toward the pool's size, so the
  next run gets a fresh thread at once instead of queueing behind it (and spending its own
  deadline waiting). When an abandoned call finally returns, a surplus thread exits.
- the pool never holds more than :data:`MAX_THREADS` threads. A blocking call that would need
  one more is refused at once with :class:`~russo_nb.model.errors.TooManyBlockingCallsError` (that
  run's error), never queued behind stuck calls.

The pool's threads are daemon threads: an abandoned call never keeps the process from exiting.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any, TypeVar

from .errors import TooManyBlockingCallsError

__all__ = ["MAX_THREADS", "DaemonThreadPool", "job_threads", "run_blocking", "run_position", "set_run_position"]

T = TypeVar("T")

#: Most threads one job's pool runs at once (blocking calls in flight, abandoned ones included).
MAX_THREADS = 4096

_current_pool: contextvars.ContextVar[DaemonThreadPool | None] = contextvars.ContextVar("russo_pool", default=None)


class DaemonThreadPool(Executor):
    """Up to ``max_workers`` working daemon threads (abandoned calls not counted), started on demand."""

    def __init__(self, max_workers: int, name: str = "russo-run") -> None:
        self.max_workers = max(1, int(max_workers))
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads: set[threading.Thread] = set()
        self._waiting = 0  # threads blocked on the queue, ready for a call
        self._pending = 0  # calls queued, not yet taken by a thread
        self._abandoned: set[Future[Any]] = set()  # running calls nobody waits for any more
        self._started = 0
        self._lock = threading.Lock()
        self._shutdown = False

    @property
    def threads(self) -> int:
        """Threads alive now (abandoned calls' threads included)."""
        return len(self._threads)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; a new thread starts when none is ready and the cap allows."""
        future: Future[T] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a pool that was shut down")
            if self._pending >= self._waiting:  # no ready thread for this call
                working = len(self._threads) - len(self._abandoned)
                if working < self.max_workers:
                    if len(self._threads) >= MAX_THREADS:  # read at call time (tests lower it)
                        future.set_exception(
                            TooManyBlockingCallsError(
                                f"{len(self._threads):,} blocking calls are running ({len(self._abandoned):,} of them "
                                f"abandoned after a timeout); russo runs at most {MAX_THREADS:,} at once. "
                                "Lower max_concurrency or make the agent async"
                            )
                        )
                        return future
                    self._start_thread()
            self._pending += 1
            self._queue.put((future, functools.partial(fn, *args, **kwargs)))
        return future

    def _start_thread(self) -> None:
        self._started += 1
        thread = threading.Thread(target=self._work, name=f"{self.name}-{self._started}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def abandon(self, future: Future[Any]) -> None:
        """Nobody waits for ``future`` any more: if its call still runs, its thread stops counting."""
        if future.cancel():
            return  # never started
        with self._lock:
            if not future.done():
                self._abandoned.add(future)

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                self._waiting += 1
            job = self._queue.get()
            with self._lock:
                self._waiting -= 1
                if job is None:
                    self._threads.discard(me)
                    return
                self._pending -= 1
            future, call = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as exc:  # KeyboardInterrupt/SystemExit in a call belong to that call
                    future.set_exception(exc)
            with self._lock:
                self._abandoned.discard(future)
                if len(self._threads) - len(self._abandoned) > self.max_workers:
                    self._threads.discard(me)  # a stuck call came back: its replacement carries on
                    return
            del job, future, call

    def shutdown(self, wait: bool = False, *, cancel_futures: bool = True) -> None:
        """Stop the threads once their current call returns (never waits for a call that hangs)."""
        with self._lock:
            self._shutdown = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join()


@contextmanager
def job_threads(max_workers: int) -> Iterator[DaemonThreadPool]:
    """Install a pool of ``max_workers`` threads for blocking calls made in this context."""
    pool = DaemonThreadPool(max_workers)
    token = _current_pool.set(pool)
    try:
        yield pool
    finally:
        _current_pool.reset(token)
        pool.shutdown()


async def run_blocking(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a blocking ``func`` off the event loop, on the current job's threads when there is a job.

    When the caller is cancelled (its run timed out) while ``func`` still runs, the call is
    abandoned: the pool starts a fresh thread for the next run instead of waiting for it.
    """
    pool = _current_pool.get()
    if pool is None:
        return await asyncio.to_thread(func, *args, **kwargs)
    context = contextvars.copy_context()
    future = pool.submit(functools.partial(context.run, func, *args, **kwargs))
    waiter = asyncio.wrap_future(future)
    try:
        await asyncio.wait((waiter,))
    except asyncio.CancelledError:
        waiter.cancel()
        pool.abandon(future)
        raise
    # raised here, in this frame: a GeneratorExit thrown into the awaiting coroutines would close
    # them all the way up to the engine's worker instead of being this run's error
    return waiter.result()


_run_position: contextvars.ContextVar[int | None] = contextvars.ContextVar("russo_run_position", default=None)


def run_position() -> int | None:
    """The current run's place in its job's round-robin start order (0 first), or None outside a run.

    A resource that a job's runs share and wait for in a queue (the offline agent's recognition
    pool, :mod:`russo_nb.voice.audio.transcribe`) serves them in this order, so the round-robin order
    outlives the queue. Without it, a batch with no concurrency limit starts every run at once,
    each prompt's runs reach the queue together when its clip is ready, and are served prompt by
    prompt: a batch stopped early had whole prompts finished and most not run at all.
    """
    return _run_position.get()


def set_run_position(position: int) -> None:
    """Set the place of the run the calling task starts (the engine's worker, in its own context)."""
    _run_position.set(position)
