"""The one concurrent engine: runs work items under a concurrency cap.

Prompt runs and scenario runs are both *work items*. The engine owns everything
they share: the concurrency cap, per-run timeouts, retries with exponential
backoff, progress events, an async iterator over finished runs, cancellation that
keeps finished runs, and error capture so one failing run never loses the batch.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from .errors import InvalidArgumentError
from .types import RunError, RunStatus

__all__ = ["EngineSettings", "Execution", "Progress", "WorkItem", "capture_error"]

logger = logging.getLogger("russo_nb")

R = TypeVar("R")
B = TypeVar("B")


class WorkItem(Protocol[R]):
    """One run the engine can execute: a prompt run or a scenario run.

    ``attempt`` does the work once and returns a result with ``status`` and
    ``attempts`` attributes; ``failed`` builds the result for a run that raised,
    timed out or was cancelled.
    """

    async def attempt(self) -> R: ...

    def failed(self, status: RunStatus, error: RunError | None, attempts: int) -> R: ...


def check_runs(runs: Any) -> int:
    """``runs`` as a whole number >= 1, or a clear error."""
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise InvalidArgumentError(f"runs must be a whole number >= 1, got {runs!r}")
    return runs


def capture_error(exc: BaseException, stage: str = "") -> RunError:
    """Turn an exception into the RunError a result carries (type, message, stage, bounded traceback)."""
    return RunError.from_exception(exc, stage)


@dataclass
class Progress:
    """Where a batch stands; handed to ``on_progress`` after every finished run."""

    total: int
    done: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    cancelled: int = 0
    started: float = field(default_factory=time.perf_counter)
    last: Any = None

    @property
    def elapsed_s(self) -> float:
        """Seconds since the batch started."""
        return time.perf_counter() - self.started

    @property
    def fraction(self) -> float:
        """Share of runs finished, 0.0 to 1.0."""
        return self.done / self.total if self.total else 1.0

    @property
    def eta_s(self) -> float | None:
        """Estimated seconds left, from the mean pace so far (None before the first run)."""
        if not self.done:
            return None
        return self.elapsed_s / self.done * (self.total - self.done)

    def record(self, result: Any) -> None:
        """Count one finished run."""
        self.done += 1
        self.last = result
        status = getattr(result, "status", None)
        if status == "passed":
            self.passed += 1
        elif status == "failed":
            self.failed += 1
        elif status == "cancelled":
            self.cancelled += 1
        else:
            self.errors += 1

    def __str__(self) -> str:
        eta = self.eta_s
        left = f", ~{eta:.0f}s left" if eta is not None and self.done < self.total else ""
        return (
            f"{self.done}/{self.total} runs · {self.passed} passed · {self.failed} failed"
            f" · {self.errors} errors · {self.elapsed_s:.1f}s{left}"
        )


@dataclass(frozen=True)
class EngineSettings:
    """How the engine runs items: cap, timeout, retries and backoff."""

    max_concurrency: int | None = None
    timeout: float | None = None
    retries: int = 0
    retry_on: tuple[type[BaseException], ...] | type[BaseException] = ()
    retry_backoff: float = 0.5
    retry_backoff_max: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.retry_on, type):
            object.__setattr__(self, "retry_on", (self.retry_on,))
        else:
            object.__setattr__(self, "retry_on", tuple(self.retry_on))
        if self.max_concurrency is not None and (
            not isinstance(self.max_concurrency, int)
            or isinstance(self.max_concurrency, bool)
            or self.max_concurrency < 1
        ):
            raise InvalidArgumentError(
                f"max_concurrency must be a whole number >= 1 (or None for no limit), got {self.max_concurrency!r}"
            )
        if self.timeout is not None and (not isinstance(self.timeout, (int, float)) or self.timeout <= 0):
            raise InvalidArgumentError(f"timeout must be a number of seconds > 0 (or None), got {self.timeout!r}")
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise InvalidArgumentError(f"retries must be a whole number >= 0, got {self.retries!r}")
        if self.retries and not self.retry_on:
            raise InvalidArgumentError(
                "retries= needs retry_on=(SomeError, ...) naming which errors are worth retrying"
            )
        for exc_type in self.retry_on:
            if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
                raise InvalidArgumentError(f"retry_on must hold exception classes, got {exc_type!r}")


class RunTimedOut(Exception):
    """The engine's own per-run deadline passed (as opposed to a timeout inside the agent)."""


if sys.version_info >= (3, 11):

    async def _with_timeout(awaitable: Any, seconds: float) -> Any:
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                return await awaitable
        except TimeoutError:
            if deadline.expired():
                raise RunTimedOut from None
            raise

else:  # pragma: no cover - exercised on Python 3.10 only

    async def _with_timeout(awaitable: Any, seconds: float) -> Any:
        task = asyncio.ensure_future(awaitable)
        done, _ = await asyncio.wait({task}, timeout=seconds)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise RunTimedOut
        return task.result()


class Execution(Generic[R]):
    """A batch of work items being executed: await it, iterate it, or cancel it.

    The results list always reflects what finished; :meth:`results` fills the
    runs that never finished with ``cancelled`` results, so an interrupted batch
    still gives everything that was computed.
    """

    def __init__(
        self,
        items: Sequence[WorkItem[R]],
        settings: EngineSettings,
        on_progress: Callable[[Progress], Any] | None = None,
    ) -> None:
        self.items: list[WorkItem[R]] = list(items)
        self.settings = settings
        self.on_progress = on_progress
        self.progress = Progress(total=len(self.items))
        self._results: list[R | None] = [None] * len(self.items)
        self._next = 0
        self._cap = 1
        self._workers: set[asyncio.Task[None]] = set()
        self._pending_worker = False
        self._all_done: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self._queue: asyncio.Queue[R | None] | None = None
        self.started_at = time.time()
        self.finished_at: float | None = None

    # -- running ---------------------------------------------------------------------
    async def _run_one(self, item: WorkItem[R]) -> R:
        settings = self.settings
        attempts = 0
        while True:
            attempts += 1
            try:
                if settings.timeout is None:
                    result = await item.attempt()
                else:
                    result = await _with_timeout(item.attempt(), settings.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                retryable = isinstance(exc, settings.retry_on) or (
                    isinstance(exc, RunTimedOut) and issubclass(TimeoutError, settings.retry_on)
                )
                if attempts <= settings.retries and retryable:
                    delay = min(settings.retry_backoff * 2 ** (attempts - 1), settings.retry_backoff_max)
                    logger.debug("retrying after %s (attempt %d, %.2fs)", type(exc).__name__, attempts, delay)
                    await asyncio.sleep(delay)
                    continue
                stage = getattr(item, "stage", "")
                if isinstance(exc, RunTimedOut):
                    message = f"run exceeded timeout of {settings.timeout:g}s"
                    return item.failed("timeout", RunError(type="TimeoutError", message=message, stage=stage), attempts)
                if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):  # the agent's own deadline, its message
                    return item.failed("timeout", capture_error(exc, stage), attempts)
                return item.failed("error", capture_error(exc, stage), attempts)
            if attempts > 1:
                result.attempts = attempts  # type: ignore[attr-defined]
            return result

    def _finish(self, index: int, result: R) -> None:
        self._results[index] = result
        self.progress.record(result)
        if self._queue is not None:
            self._queue.put_nowait(result)
        if self.on_progress is not None:
            try:
                self.on_progress(self.progress)
            except Exception:
                logger.exception("on_progress callback failed; continuing")

    def _spawn(self) -> None:
        task = asyncio.ensure_future(self._worker())
        self._workers.add(task)
        self._pending_worker = True
        task.add_done_callback(self._worker_done)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        self._workers.discard(task)
        if self._all_done is None or self._all_done.done() or task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._all_done.set_exception(error)
        elif not self._workers:
            self._all_done.set_result(None)

    async def _worker(self) -> None:
        """Take items until none are left; spawn a helper only when every worker is busy.

        Workers start on demand: a new one is spawned when this one picks up an item and
        no spawned worker is still waiting to start. Agents that never suspend are then
        served by one task, and agents that wait ramp up to the cap one task at a time.
        """
        self._pending_worker = False
        items = self.items
        total = len(items)
        while self._next < total:
            index = self._next
            self._next += 1
            if not self._pending_worker and self._next < total and len(self._workers) < self._cap:
                self._spawn()
            result = await self._run_one(items[index])
            items[index] = None  # type: ignore[call-overload]  # a finished item is not needed again
            self._finish(index, result)

    async def _main(self) -> None:
        total = len(self.items)
        limit = self.settings.max_concurrency
        self._cap = total if limit is None else min(total, limit)
        self._all_done = asyncio.get_running_loop().create_future()
        try:
            if total:
                self._spawn()
                await self._all_done
        except BaseException:
            workers = list(self._workers)
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            self.finished_at = time.time()
            if self._queue is not None:
                self._queue.put_nowait(None)

    def start(self) -> asyncio.Task[None]:
        """Schedule the batch on the running loop (idempotent) and return its task."""
        if self._task is None:
            self.started_at = time.time()
            self.progress.started = time.perf_counter()
            self._task = asyncio.ensure_future(self._main())
            if self._cancel_requested:
                self._task.cancel()
        return self._task

    async def wait(self) -> list[R]:
        """Run to the end and return every result; on cancellation, cancel unfinished runs."""
        task = self.start()
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        return self.results()

    def cancel(self) -> None:
        """Cancel the unfinished runs (or, before the start, all of them); finished ones stay in :meth:`results`."""
        self._cancel_requested = True
        if self._task is not None:
            self._task.cancel()

    @property
    def done(self) -> bool:
        """True once every run has finished or the batch was cancelled."""
        return self._task is not None and self._task.done()

    def results(self) -> list[R]:
        """Results in item order; runs that never finished appear as ``cancelled``."""
        filled: list[R] = []
        for index, result in enumerate(self._results):
            if result is None:
                error = RunError(type="CancelledError", message="the batch was cancelled before this run finished")
                result = self.items[index].failed("cancelled", error, 0)
            filled.append(result)
        return filled

    async def __aiter__(self) -> AsyncIterator[R]:
        """Yield each run's result as soon as it finishes (starting the batch if needed)."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            for result in self._results:
                if result is not None:
                    self._queue.put_nowait(result)
            if self._task is not None and self._task.done():
                self._queue.put_nowait(None)
        task = self.start()
        try:
            while True:
                result = await self._queue.get()
                if result is None:
                    break
                yield result
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


class BatchHandle(Generic[R, B]):
    """A batch being executed: ``await`` it, ``async for`` its runs, ``cancel()`` it.

    :meth:`result` works at any time (also after a cancel or an interrupt) and gives
    what finished, the other runs marked ``cancelled``. Subclasses say how runs and
    metadata become the batch object (:class:`~russo_nb.types.BatchResult`, ...).
    """

    def __init__(self, execution: Execution[R], metadata: Any) -> None:
        self.execution = execution
        self.metadata = metadata

    @property
    def progress(self) -> Progress:
        """Live counts: done, passed, failed, errors, time left."""
        return self.execution.progress

    def stamped_metadata(self) -> Any:
        """A copy of the metadata with the execution's start and finish times."""
        from datetime import datetime, timezone

        metadata = self.metadata.model_copy()
        execution = self.execution
        metadata.started_at = datetime.fromtimestamp(execution.started_at, tz=timezone.utc)
        metadata.finished_at = datetime.fromtimestamp(execution.finished_at or time.time(), tz=timezone.utc)
        return metadata

    def result(self) -> B:
        """The batch as it stands."""
        raise NotImplementedError

    async def wait(self) -> B:
        """Run every item and return the batch."""
        await self.execution.wait()
        return self.result()

    def __await__(self) -> Any:
        return self.wait().__await__()

    def __aiter__(self) -> AsyncIterator[R]:
        return self.execution.__aiter__()

    def cancel(self) -> None:
        """Cancel unfinished runs; :meth:`result` still holds the finished ones."""
        self.execution.cancel()
