"""Blocking calls (sync agents, HTTP in threads, effects) run on the current job's own threads.

asyncio's default executor has ``min(32, CPUs + 4)`` threads (6 on a 2-core machine), which
silently capped a batch of sync or HTTP agents below its ``max_concurrency``. A job installs a
pool sized to its cap (:func:`job_threads`) for the duration of its run; :func:`run_blocking`
uses it, and falls back to :func:`asyncio.to_thread` outside a job. The pool's threads are
daemon threads: a blocking call the engine gave up on (a run that timed out) never keeps the
process from exiting.
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

__all__ = ["DaemonThreadPool", "job_threads", "run_blocking"]

T = TypeVar("T")

_current_pool: contextvars.ContextVar[DaemonThreadPool | None] = contextvars.ContextVar("russo_pool", default=None)


class DaemonThreadPool(Executor):
    """Up to ``max_workers`` daemon threads, started on demand, each taking calls from one queue."""

    def __init__(self, max_workers: int, name: str = "russo-run") -> None:
        self.max_workers = max(1, int(max_workers))
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._shutdown = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; a new thread starts when none is idle and the cap allows."""
        future: Future[T] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a pool that was shut down")
            self._queue.put((future, functools.partial(fn, *args, **kwargs)))
            if self._idle == 0 and len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1 if self._idle else 0
        return future

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            future, call = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as exc:  # KeyboardInterrupt/SystemExit in a call belong to that call
                    future.set_exception(exc)
            del job, future, call
            with self._lock:
                self._idle += 1

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
    """Run a blocking ``func`` off the event loop, on the current job's threads when there is a job."""
    pool = _current_pool.get()
    if pool is None:
        return await asyncio.to_thread(func, *args, **kwargs)
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(pool, functools.partial(context.run, func, *args, **kwargs))
