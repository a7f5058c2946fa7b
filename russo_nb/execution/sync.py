"""Run a batch from synchronous code: scripts, the CLI, magics, a kernel with a running loop.

The batch runs on its own event loop in a worker thread, so it works whether or not
the caller's thread already runs a loop (Jupyter's does). Ctrl-C or a kernel
interrupt cancels the unfinished runs and returns what finished, with the rest
marked ``cancelled``: an interrupted batch is never lost.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from typing import Any, Protocol, TypeVar

__all__ = ["Interruptible", "run_concurrent_sync", "run_sync"]

logger = logging.getLogger("russo_nb")

T = TypeVar("T")


class Interruptible(Protocol[T]):
    """A batch handle: ``wait()`` runs it, ``cancel()`` stops it, ``result()`` gives what finished."""

    async def wait(self) -> T: ...

    def cancel(self) -> None: ...

    def result(self) -> T: ...


def run_sync(batch: Interruptible[T], *, poll_s: float = 0.05) -> T:
    """Run ``batch`` to completion on a private loop; on interrupt return its partial result.

    On Ctrl-C (or a kernel interrupt) the batch is cancelled and this waits until its
    thread has really finished (cancelled runs unwound, scenario teardowns done) before
    returning what finished; a second Ctrl-C while it unwinds only asks again. Waiting
    polls an event with ``time.sleep``, not ``Thread.join``: an interrupted ``join`` on Python < 3.13 can
    report a running thread as finished.
    """
    loop = asyncio.new_event_loop()
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        asyncio.set_event_loop(loop)
        try:
            outcome["value"] = loop.run_until_complete(batch.wait())
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                finished.set()

    worker = threading.Thread(target=target, name="russo-batch", daemon=True)
    try:
        worker.start()  # inside the try: Ctrl-C can land while the thread starts
        _wait(finished, poll_s)
    except KeyboardInterrupt:
        if worker.ident is None:  # the thread never started: nothing ran
            batch.cancel()
            loop.close()
        else:
            _stop(batch, loop, finished, poll_s)
        return _interrupted(batch)
    error = outcome.get("error")
    if isinstance(error, (asyncio.CancelledError, KeyboardInterrupt)):
        return _interrupted(batch)
    if error is not None:
        raise error
    return outcome["value"]


def _stop(batch: Interruptible[Any], loop: asyncio.AbstractEventLoop, finished: threading.Event, poll_s: float) -> None:
    """Cancel the batch on its loop and wait for its thread to end, asking again on each Ctrl-C."""
    while not finished.is_set():
        try:
            loop.call_soon_threadsafe(batch.cancel)
        except RuntimeError:  # the loop closed in between: the thread is ending
            pass
        try:
            _wait(finished, poll_s)
        except KeyboardInterrupt:
            continue


def _wait(finished: threading.Event, poll_s: float) -> None:
    """Sleep until ``finished`` is set.

    Polls with ``time.sleep`` rather than ``Event.wait``: a Ctrl-C landing inside
    ``Event.wait`` on Python 3.11 can surface as ``RuntimeError: release unlocked lock``
    instead of ``KeyboardInterrupt``; ``sleep`` is interrupted cleanly.
    """
    while not finished.is_set():
        time.sleep(poll_s)


def _interrupted(batch: Interruptible[T]) -> T:
    partial = batch.result()
    _mark_interrupted(partial)
    # said once, by the result itself ("145 cancelled — interrupted after 15 runs"): only logged here
    logger.info("interrupted: kept the runs that finished; the rest are marked cancelled")
    return partial


def _mark_interrupted(result: Any) -> None:
    metadata = getattr(result, "metadata", None) or getattr(getattr(result, "batch", None), "metadata", None)
    if metadata is not None and isinstance(getattr(metadata, "params", None), dict):
        metadata.params["interrupted"] = True


def _progress_lines(label: str) -> Any:
    """An ``on_progress`` that prints a line at each 10% (and at the end): a notebook cell is not silent."""
    last = [-1]

    def show(progress: Any) -> None:
        step = int(progress.fraction * 10)
        if step == last[0] and progress.done < progress.total:
            return
        last[0] = step
        print(f"{label}: {progress}", flush=True)

    return show


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (IPython already imported and running one)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def run_concurrent_sync(*args: Any, **kwargs: Any) -> Any:
    """:func:`russo_nb.run_concurrent` for code that cannot ``await``; same arguments (``until=`` too)."""
    from .runner import start_batch

    if kwargs.get("on_progress") is None and _in_kernel():
        kwargs["on_progress"] = _progress_lines("run_concurrent_sync")
    return run_sync(start_batch(*args, **kwargs))
