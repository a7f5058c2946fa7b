"""The one concurrent engine: plans of work items, run by one :class:`Job` under one cap.

Prompt runs and scenario runs are both *work items*. A *plan* (prompts × runs, scenarios ×
runs) says how many runs it has, builds each work item when the engine gets to it (so a
batch of a million runs never holds a million items), and turns its finished runs into a
result (:class:`~russo_nb.model.types.BatchResult`, a ``ScenarioBatch``, ...). A :class:`Job` runs
any set of plans together and owns everything they share: the concurrency cap, per-run
timeouts, retries with exponential backoff, progress events, an async iterator over
finished runs, cancellation that keeps finished runs, and error capture so one failing run
never loses the batch.

Runs are scheduled round-robin: run 0 of every prompt (of every plan), then run 1, ...,
so a batch stopped early still covers every prompt. A run's place in that order is
:func:`~russo_nb.model.threads.run_position`; shared queues outside the engine (the recognition pool)
serve runs by it.

Error policy (one place, for prompt and scenario runs alike), by exception class:

- ``Exception`` from the run (agent, synthesizer, evaluator, scenario hooks) is that run's
  ``error`` (``timeout`` for a ``TimeoutError``);
- ``asyncio.CancelledError`` raised *by the agent* (a library's inner timeout) is that
  run's error too; only the job's own cancellation stops runs;
- ``KeyboardInterrupt`` raised inside a run is the user's interrupt: the job stops, keeps
  every finished run, counts the rest ``cancelled`` and marks the result ``interrupted``;
- every other ``BaseException`` (``SystemExit``, ``GeneratorExit``, pytest's ``Failed`` /
  ``Skipped`` from ``pytest.fail()`` in an agent or evaluator, a custom ``BaseException``
  subclass) is that run's error: it never loses the batch.

Waits, and how ``timeout=`` relates to them:

- ``timeout=`` bounds each *attempt* (synthesis, agent, evaluation): the engine enforces it
  itself, so a run that ignores cancellation or blocks in a thread is recorded as ``timeout``
  when its deadline passes. It waits up to :data:`TEARDOWN_WAIT_S` for the cancelled attempt to
  unwind (its ``finally`` blocks, as for a stopped job), then abandons it. A sync agent blocked in
  its thread is let go at once: cancelling cannot reach it, and its thread no longer holds a slot
  (:mod:`russo_nb.model.threads`), so a stuck agent cannot starve the runs after it.
- Waits *between* attempts (backoff, a server's ``Retry-After``) are not part of an attempt's
  ``timeout``; one run's retry waits together are at most ``timeout × (retries + 1)``, within
  :data:`MIN_RUN_WAIT_S`–:data:`MAX_RUN_WAIT_S` (60–600 s; 600 s without a timeout,
  :meth:`EngineOptions.wait_bound`): a retry whose wait would pass it is not made, and the run
  keeps its last error (the message says so).
  ``retries`` is at most :data:`MAX_RETRIES`.
- The rate limiter's wait for a start slot is bounded by the slowest accepted rate
  (:data:`russo_nb.model.ratelimit.MAX_INTERVAL_S` between starts) times the runs ahead of it.
- When the job is stopped (``cancel()``, Ctrl-C), running attempts are cancelled and waited
  for up to :data:`TEARDOWN_WAIT_S` so agents' ``finally`` blocks and scenario teardowns
  finish; what still runs after that is abandoned (and logged).

Runs that never finished are not built as objects: a stopped batch's ``runs`` is a
:class:`~russo_nb.model.partial_runs.PartialRuns` sequence holding the finished runs and a count of
unfinished ones per prompt; a ``cancelled`` run object is made only when one is looked at.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np

from ..model.errors import InvalidArgumentError, RetryableError
from ..model.partial_runs import present
from ..model.ratelimit import MAX_RETRY_AFTER_S, RateLimit, RateLimiter
from ..model.run_blocks import RunBlock, RunsOfRows
from ..model.threads import job_threads, run_position, set_run_position
from ..model.types import MAX_RETRIED_KEPT, Conditions, RetriedAttempt, RunError, RunStatus

if TYPE_CHECKING:
    from ..model.columns import Run

__all__ = [
    "MAX_RETRIES",
    "MAX_RUNS",
    "MAX_RUN_WAIT_S",
    "MIN_RUN_WAIT_S",
    "MAX_TOTAL_RUNS",
    "OPTION_NAMES",
    "TEARDOWN_WAIT_S",
    "TEXT_OPTIONS",
    "EngineOptions",
    "Executor",
    "InProcessExecutor",
    "engine_options",
    "option_from_text",
    "Job",
    "Plan",
    "Progress",
    "RemainingPlan",
    "INFRASTRUCTURE_ERRORS",
    "finished_run",
    "infrastructure_error",
    "resume_job",
    "run_position",
    "runs_again",
    "WorkItem",
    "capture_error",
    "check_runs",
    "schedule",
    "stamped",
]

logger = logging.getLogger("russo_nb")

R = TypeVar("R")
B = TypeVar("B")

#: Most runs one prompt or scenario may have in one batch.
MAX_RUNS = 1_000_000
#: Most runs one job may hold (all plans together); a result slot per run is kept.
MAX_TOTAL_RUNS = 10_000_000
#: Seconds a cancelled attempt gets to unwind (teardowns, ``finally``) before it is abandoned: a run whose
#: deadline passed, and every running attempt of a stopped job (cancel, Ctrl-C).
TEARDOWN_WAIT_S = 5.0
#: Most retries one run may make.
MAX_RETRIES = 100
#: Most seconds one run spends waiting between attempts (backoff and Retry-After together), whatever ``timeout``.
MAX_RUN_WAIT_S = 600.0
#: The least of that bound when ``timeout`` is short: a rate-limited service gets a minute to recover.
MIN_RUN_WAIT_S = 60.0


class WorkItem(Protocol[R]):
    """One run the engine can execute: a prompt run or a scenario run.

    ``attempt`` does the work once and returns a result with ``status`` and
    ``attempts`` attributes; ``failed`` builds the result for a run that raised,
    timed out or was cancelled. Both results carry the item's ``conditions``
    (what :meth:`Plan.conditions_for` gave it).
    """

    conditions: Conditions

    async def attempt(self) -> R: ...

    def failed(self, status: RunStatus, error: RunError | None, attempts: int) -> R: ...


class Plan(Generic[R, B]):
    """Work the engine can run: ``units`` (prompts, scenarios) × ``runs``, and how to collect it.

    Subclasses set ``units`` and ``runs`` and implement :meth:`item` and :meth:`collect`.
    Results are handed to :meth:`collect` unit-major (unit 0's runs, then unit 1's, ...)
    whatever order they ran in.
    """

    units: int = 0
    runs: int = 1
    conditions: Conditions = {}  # noqa: RUF012 (never changed in place; plans set their own)
    """The conditions every run of the plan carries (``conditions=`` of ``start_batch`` / ``start_scenarios``)."""

    @property
    def total(self) -> int:
        """Number of runs in the plan."""
        return self.units * self.runs

    def item(self, unit: int, run: int) -> WorkItem[R]:
        """The work item for run ``run`` of unit ``unit`` (built when the engine reaches it)."""
        raise NotImplementedError

    def conditions_for(self, unit: int, run: int) -> Conditions:
        """The conditions run ``run`` of unit ``unit`` carries: the hook for per-run conditions.

        The default is the plan's :attr:`conditions` (one dict shared by every run). A plan that
        varies them per run (a sweep over voices and noise levels) overrides this and returns
        e.g. ``{**self.conditions, "voice": ..., "snr_db": ...}``, checked once with
        :func:`russo_nb.model.conditions.check_conditions`; :meth:`item` hands it to the work item,
        whose result (passed, failed or cancelled) carries it as ``run.conditions``.
        """
        return self.conditions

    def collect(self, runs: list[R], started_at: float, finished_at: float, interrupted: bool) -> B:
        """The plan's result from its runs (unit-major), times (epoch seconds) and whether it was stopped."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the plan's items share (pending synthesis, ...) once the job ends."""

    def components(self) -> list[tuple[str, Any]]:
        """(what, object) for each user component the plan runs (agent, synthesizer, a scenario, ...).

        An executor that ships the plan to other processes checks each one pickles, to name the one that does not.
        """
        return []

    def audio_store(self) -> dict[str, Any] | None:
        """Where the plan keeps its audio clips (key -> Audio), or None when it keeps none."""
        return None


def schedule(plans: Sequence[Plan[Any, Any]], start: int = 0) -> Iterator[tuple[int, int, int]]:
    """(plan, unit, run) in the engine's round-robin order, from global run index ``start`` on.

    Run 0 of every unit of every plan, then run 1, ... (a plan drops out once its runs are done).
    The position in this order is a run's *global run index*: an executor ships ranges of it
    (chunks) and the slot ``unit * plan.runs + run`` says where a run's result goes. Starting at
    ``start`` costs one step per distinct run count, not ``start`` steps.
    """
    plans = list(plans)
    base = 0
    previous = 0
    for bound in sorted({plan.runs for plan in plans if plan.units}):
        active = [(index, plan.units) for index, plan in enumerate(plans) if plan.units and plan.runs >= bound]
        width = sum(units for _, units in active)
        size = width * (bound - previous)
        if start < base + size:
            first_round, within = divmod(max(0, start - base), width)
            for run in range(previous + first_round, bound):
                for index, units in active:
                    if within >= units:
                        within -= units
                        continue
                    for unit in range(within, units):
                        yield index, unit, run
                    within = 0
        base += size
        previous = bound


def check_runs(runs: Any, what: str = "runs") -> int:
    """``runs`` as a whole number from 1 to :data:`MAX_RUNS`, or a clear error."""
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise InvalidArgumentError(f"{what} must be a whole number >= 1, got {runs!r}")
    if runs > MAX_RUNS:
        raise InvalidArgumentError(
            f"{what}={runs:,} is more than russo runs per prompt (at most {MAX_RUNS:,}); "
            "a pass rate is as precise as it gets long before that"
        )
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
    _last: Any = field(default=None, init=False, repr=False, compare=False)
    _last_row: tuple[RunsOfRows, int] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def last(self) -> Any:
        """The run that finished last (None before the first). A run an executor kept as a row (a Dask job's) is
        built when this is read, once, and is the same object the job's result holds."""
        if self._last_row is not None:
            rows, slot = self._last_row
            self._last, self._last_row = rows.run_in(slot), None
        return self._last

    @last.setter
    def last(self, run: Any) -> None:
        self._last, self._last_row = run, None

    def last_from(self, other: Progress) -> None:
        """Show ``other``'s last run as this one's, without building it if it is still a row."""
        self._last, self._last_row = other._last, other._last_row

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

    def record(self, result: Run) -> None:
        """Count one finished run (any :class:`~russo_nb.model.columns.Run`: its ``status``)."""
        self.last = result
        self.count(result.status)

    def count(self, status: str, row: tuple[RunsOfRows, int] | None = None) -> None:
        """Count one finished run by its status; ``row``: it is kept as a row, ``(its plan's rows, its slot)``, and
        becomes :attr:`last` (built only if someone reads it)."""
        if row is not None:
            self._last_row = row
        self.done += 1
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


def _is_seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _about(help: str, kind: Callable[[str], Any] | None = None, metavar: str = "", expects: str = "") -> Any:
    """What every surface needs to offer an :class:`EngineOptions` field (its ``metadata``).

    ``help``, ``metavar`` and ``expects`` (what a valid value looks like) are the text of the CLI, the
    magics, the pytest plugin and suite-file errors; ``kind`` reads the value from text (``int``, ``float``,
    ``str``); ``None`` means the option is Python-only (``retry_on`` takes exception classes).
    """
    return {"help": help, "kind": kind, "metavar": metavar, "expects": expects}


_SECONDS = "a number of seconds"


@dataclass(frozen=True)
class EngineOptions:
    """How a batch runs, declared once: every option's one default, its meaning and its checks.

    Every surface takes these names: :func:`~russo_nb.execution.runner.start_batch`, ``run_concurrent(_sync)``,
    ``start_scenarios``, ``start_suite``, ``start_sweep`` and ``run_demo`` as keyword arguments (or
    ``options=EngineOptions(...)``, see :func:`engine_options`), suite files as top-level keys, the ``russo``
    command and the ``%russo`` magics as ``--flags`` (:mod:`russo_nb.surfaces.arguments`), the pytest plugin as
    marker keys and ``--russo-*`` options.

    A :class:`~russo_nb.model.errors.RetryableError` (HTTP 429 / 5xx from an adapter) is always worth a
    retry when ``retries`` > 0, and waits at least its ``retry_after``; ``retry_on`` adds other errors.
    ``rate_limit`` ("10/s", "600/min", a number per second) spaces attempt starts.
    """

    max_concurrency: int | None = field(
        default=None, metadata=_about("runs at a time (default: no limit, as russo)", int, "N", "a whole number >= 1")
    )
    timeout: float | None = field(
        default=None,
        metadata=_about("seconds each attempt of a run may take (default: no limit)", float, "S", f"{_SECONDS} > 0"),
    )
    retries: int = field(
        default=0,
        metadata=_about(
            "extra attempts after a retryable error, e.g. HTTP 429 / 5xx (default 0)",
            int,
            "N",
            f"a whole number from 0 to {MAX_RETRIES}",
        ),
    )
    retry_on: tuple[type[BaseException], ...] | type[BaseException] = field(
        default=(), metadata=_about("exception classes retried besides HTTP 429 / 5xx (Python only)")
    )
    retry_backoff: float = field(
        default=0.5,
        metadata=_about(
            "seconds before the first retry, doubled each time (default 0.5)", float, "S", f"{_SECONDS} >= 0"
        ),
    )
    retry_backoff_max: float = field(
        default=30.0, metadata=_about("most seconds between two attempts (default 30)", float, "S", f"{_SECONDS} >= 0")
    )
    rate_limit: Any = field(
        default=None,
        metadata=_about(
            "attempt starts per time: 10/s, 600/min (default: no limit)",
            str,
            "RATE",
            "requests per time like 10/s or 600/min",
        ),
    )
    seed: int | None = field(
        default=None,
        metadata=_about(
            "seed of every run's own seed: effects, simulated users (default 0)", int, "N", "a whole number"
        ),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate_limit", RateLimit.parse(self.rate_limit))
        if isinstance(self.retry_on, type):
            object.__setattr__(self, "retry_on", (self.retry_on,))
        elif isinstance(self.retry_on, (tuple, list, set, frozenset)):
            object.__setattr__(self, "retry_on", tuple(self.retry_on))
        else:
            raise InvalidArgumentError(f"retry_on must be an exception class or a tuple of them, got {self.retry_on!r}")
        if self.max_concurrency is not None and (
            not isinstance(self.max_concurrency, int)
            or isinstance(self.max_concurrency, bool)
            or self.max_concurrency < 1
        ):
            raise InvalidArgumentError(
                f"max_concurrency must be a whole number >= 1 (or None for no limit), got {self.max_concurrency!r}"
            )
        if self.timeout is not None and (not _is_seconds(self.timeout) or self.timeout <= 0):
            raise InvalidArgumentError(
                f"timeout must be a finite number of seconds > 0 (or None), got {self.timeout!r}"
            )
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise InvalidArgumentError(f"retries must be a whole number >= 0, got {self.retries!r}")
        if self.seed is not None and (not isinstance(self.seed, int) or isinstance(self.seed, bool)):
            if not (hasattr(self.seed, "__index__") and not isinstance(self.seed, bool)):
                raise InvalidArgumentError(f"seed must be a whole number, got {self.seed!r}")
            object.__setattr__(self, "seed", int(self.seed))
        if self.retries > MAX_RETRIES:
            raise InvalidArgumentError(
                f"retries={self.retries:,} is more than russo makes (at most {MAX_RETRIES}); "
                "a service that fails that often needs fixing, not retrying"
            )
        for name in ("retry_backoff", "retry_backoff_max"):
            value = getattr(self, name)
            if not _is_seconds(value) or value < 0:
                raise InvalidArgumentError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        for exc_type in self.retry_on:  # type: ignore[union-attr]
            if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
                raise InvalidArgumentError(f"retry_on must hold exception classes, got {exc_type!r}")

    def retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another attempt: a RetryableError (429 / 5xx) always, ``retry_on`` besides
        (an engine deadline counts as ``TimeoutError``)."""
        if isinstance(exc, RunTimedOut):
            return issubclass(TimeoutError, self.retry_on)  # type: ignore[arg-type]
        return isinstance(exc, (RetryableError, *self.retry_on))  # type: ignore[misc]

    def retry_delay(self, attempts: int, exc: BaseException) -> float:
        """Seconds to wait before attempt ``attempts + 1``: exponential backoff, capped.

        An exception that carries ``retry_after`` (seconds, e.g. from an HTTP 429's ``Retry-After``) waits
        at least that long, up to :data:`~russo_nb.model.ratelimit.MAX_RETRY_AFTER_S`: the server's word beats
        the backoff cap, but a hostile value cannot park the batch.
        """
        backoff = min(math.ldexp(self.retry_backoff, min(max(attempts - 1, 0), 64)), self.retry_backoff_max)
        hinted = getattr(exc, "retry_after", None)
        if _is_seconds(hinted) and hinted >= 0:
            return max(backoff, min(float(hinted), MAX_RETRY_AFTER_S))
        return backoff

    def wait_bound(self) -> float:
        """Most seconds one run waits between attempts, all waits together (backoff and Retry-After).

        The rule: ``timeout × (retries + 1)``, but never under :data:`MIN_RUN_WAIT_S` (60 s) nor over
        :data:`MAX_RUN_WAIT_S` (600 s); 600 s without a ``timeout``. A run's waits then scale with
        what its attempts may take: ``timeout=1, retries=3`` waits at most 60 s, not 30 minutes.
        """
        if self.timeout is None:
            return MAX_RUN_WAIT_S
        return min(MAX_RUN_WAIT_S, max(MIN_RUN_WAIT_S, self.timeout * (self.retries + 1)))

    def params(self) -> dict[str, Any]:
        """What a batch's metadata records about these settings beyond its own fields (the rate limit)."""
        return {} if self.rate_limit is None else {"rate_limit": str(self.rate_limit)}

    def metadata_fields(self) -> dict[str, Any]:
        """The :class:`~russo_nb.model.types.BatchMetadata` fields these options fill (``params`` included)."""
        return {
            "max_concurrency": self.max_concurrency,
            "timeout": self.timeout,
            "retries": self.retries,
            "params": self.params(),
        }


#: Every engine option's name, in declaration order.
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(EngineOptions))
#: The options a command line can give (``retry_on`` takes Python classes, so it is Python-only).
TEXT_OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(EngineOptions) if f.metadata["kind"] is not None)


def option_from_text(name: str, text: str) -> Any:
    """The value of option ``name`` read from command-line ``text``, checked by the options' own rules.

    Raises :class:`~russo_nb.model.errors.InvalidArgumentError` ``--flag needs <what>, got 'text'``.
    """
    item = next(item for item in fields(EngineOptions) if item.name == name)
    try:
        value = item.metadata["kind"](text)
        EngineOptions(**{name: value})
    except (ValueError, InvalidArgumentError):
        flag = "--" + name.replace("_", "-")
        raise InvalidArgumentError(f"{flag} needs {item.metadata['expects']}, got {text!r}") from None
    return value


def engine_options(options: EngineOptions | None = None, /, *, where: str = "", **given: Any) -> EngineOptions:
    """``options`` (or the defaults) with every option in ``given`` that is not None put in.

    The one way entry points combine an ``options=`` object with keyword arguments: a keyword
    left at None keeps the object's value. An unknown name is an
    :class:`~russo_nb.model.errors.InvalidArgumentError` naming the close matches and every option.
    """
    import difflib

    unknown = [name for name in given if name not in OPTION_NAMES]
    if unknown:
        name = unknown[0]
        near = difflib.get_close_matches(name, OPTION_NAMES, n=2)
        hint = f" Did you mean {' or '.join(near)}?" if near else ""
        raise InvalidArgumentError(
            f"{where or 'engine options'}: no option {name!r}.{hint} Options: {', '.join(OPTION_NAMES)}"
        )
    if options is not None and not isinstance(options, EngineOptions):
        raise InvalidArgumentError(f"options must be an EngineOptions, got {type(options).__name__}")
    chosen = {name: value for name, value in given.items() if value is not None}
    base = options if options is not None else EngineOptions()
    return replace(base, **chosen) if chosen else base


def stamped(metadata: Any, started_at: float, finished_at: float, interrupted: bool) -> Any:
    """A copy of ``metadata`` with the run's start and finish times (and ``interrupted`` when it was stopped)."""
    from datetime import datetime, timezone

    copy = metadata.model_copy()
    copy.started_at = datetime.fromtimestamp(started_at, tz=timezone.utc)
    copy.finished_at = datetime.fromtimestamp(finished_at, tz=timezone.utc)
    if interrupted:
        copy.params = {**copy.params, "interrupted": True}
    return copy


class RunTimedOut(Exception):
    """The engine's own per-run deadline passed (as opposed to a timeout inside the agent)."""


class _Escaped(Exception):
    """Carries a KeyboardInterrupt/SystemExit out of a run's own task (asyncio would re-raise it in the loop)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


async def _guarded(item: WorkItem[Any]) -> Any:
    try:
        return await item.attempt()
    except (KeyboardInterrupt, SystemExit) as exc:
        raise _Escaped(exc) from None


def _forget(task: asyncio.Future[Any]) -> None:
    """Drop a task the engine gave up on without asyncio logging it as destroyed or unretrieved."""
    task._log_destroy_pending = False  # type: ignore[attr-defined]
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


class Executor(Protocol):
    """Where a :class:`Job`'s runs execute. ``run(job)`` executes them and hands each result to
    ``job.deliver(plan, slot, result)``; cancelling ``run`` must stop them and return (then re-raise).

    ``check(job)`` runs when the job is built (before anything starts), to refuse what this executor
    cannot run with a clear error. The default is :class:`InProcessExecutor`; see
    :class:`russo_nb.execution.dask_executor.DaskExecutor` for a cluster.
    """

    def check(self, job: Job[Any]) -> None: ...

    async def run(self, job: Job[Any]) -> None: ...

    def connect(self) -> str | None:
        """Reach what the runs need now (a cluster); a link to watch them (a dashboard) or None."""
        ...

    def close(self) -> None:
        """Release what this executor started (a local cluster)."""
        ...


class InProcessExecutor:
    """The default executor: the job's runs execute on the running event loop in this process."""

    def check(self, job: Job[Any]) -> None:
        """Anything runs in process."""

    async def run(self, job: Job[Any]) -> None:
        """Run every item under the job's cap, on demand-started worker tasks (see :meth:`Job._worker`)."""
        await job._run_here()

    def connect(self) -> str | None:
        """Nothing to reach; nothing to link to."""
        return None

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "InProcessExecutor()"


class Job(Generic[B]):
    """Plans being run under one cap: ``await`` it, ``async for`` its runs, ``cancel()`` it.

    :meth:`result` works at any time (also after a cancel or an interrupt) and gives what
    finished, the other runs marked ``cancelled``. With one plan it is that plan's result
    (a ``BatchResult``, a ``ScenarioBatch``); with several, ``combine`` turns the list of
    plan results into one (a ``SuiteResult``).
    """

    def __init__(
        self,
        plans: Sequence[Plan[Any, Any]],
        settings: EngineOptions,
        on_progress: Callable[[Progress], Any] | None = None,
        combine: Callable[[list[Any]], B] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.plans = list(plans)
        self.executor: Executor = InProcessExecutor() if executor is None else executor
        self.settings = settings
        self.on_progress = on_progress
        self.combine = combine
        total = sum(plan.total for plan in self.plans)
        if total > MAX_TOTAL_RUNS:
            raise InvalidArgumentError(
                f"this batch has {total:,} runs; russo runs at most {MAX_TOTAL_RUNS:,} in one batch"
            )
        self.total = total
        self.progress = Progress(total=total)
        self._results: list[list[Any]] = [[None] * plan.total for plan in self.plans]
        self._rows: dict[int, RunsOfRows] = {}  # plans whose results hold runs kept as rows (RunBlock): built on access
        self._in_flight: dict[tuple[int, int], WorkItem[Any]] = {}
        self._cut_off: dict[tuple[int, int], Any] = {}  # (plan, slot) -> a run an executor brought back cancelled
        self._order: Iterator[tuple[int, int, int]] = self._schedule()
        self._issued = 0
        self._cap = 1
        self._workers: set[asyncio.Task[None]] = set()
        self._pending_worker = False
        self._all_done: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self._stopping = False
        self._interrupted = False
        self._abandoned: set[asyncio.Future[Any]] = set()
        self._queue: asyncio.Queue[Any] | None = None
        self._limiter = RateLimiter(settings.rate_limit)
        self.started_at = time.time()
        self.finished_at: float | None = None
        self.executor.check(self)

    # -- scheduling ------------------------------------------------------------------
    def _schedule(self) -> Iterator[tuple[int, int, int]]:
        """(plan, unit, run) in round-robin order: run 0 of every unit of every plan, then run 1, ..."""
        return schedule(self.plans)

    # -- running one item -----------------------------------------------------------
    async def _attempt(self, item: WorkItem[Any]) -> Any:
        """One attempt, under the engine's own deadline when there is a timeout."""
        seconds = self.settings.timeout
        if seconds is None:
            return await item.attempt()
        task = asyncio.ensure_future(_guarded(item))
        try:
            done, _ = await asyncio.wait((task,), timeout=seconds)
        except asyncio.CancelledError:
            await self._stop_task(task, TEARDOWN_WAIT_S)  # the job stops: let teardowns finish
            raise
        if done:
            try:
                return task.result()
            except _Escaped as escaped:
                raise escaped.original from None
        await self._stop_task(task)
        raise RunTimedOut

    async def _stop_task(self, task: asyncio.Future[Any], grace_s: float = TEARDOWN_WAIT_S) -> None:
        """Cancel ``task``, give it up to ``grace_s`` to unwind (teardown), then abandon it."""
        task.cancel()
        done, _ = await asyncio.wait((task,), timeout=grace_s)
        if not done:
            logger.warning("a run ignored cancellation for %.1fs; abandoning it", grace_s)
            self._abandoned.add(task)
            _forget(task)
            task.add_done_callback(self._abandoned.discard)
        elif not task.cancelled():
            task.exception()  # retrieved: a run that raised while stopping is not "never retrieved"

    def _really_cancelled(self) -> bool:
        """True when this task is being cancelled by the engine or asyncio (not an agent's own CancelledError)."""
        if self._stopping:
            return True
        task = asyncio.current_task()
        cancelling = getattr(task, "cancelling", None)
        return bool(cancelling()) if cancelling is not None else False

    async def _run_one(self, item: WorkItem[Any]) -> Any:
        retried: list[RetriedAttempt] = []
        result = await self._attempts(item, retried)
        if retried:  # the earlier attempts stay visible on the run, whether its last one passed or not
            result.retried = tuple(retried)
        return result

    async def _attempts(self, item: WorkItem[Any], retried: list[RetriedAttempt]) -> Any:
        """Run ``item`` until it succeeds or may not retry; each retried failure is appended to ``retried``."""
        settings = self.settings
        attempts = 0
        waited = 0.0
        gave_up = ""
        limiter = self._limiter
        while True:
            attempts += 1
            if limiter.active:
                await limiter.acquire()
            try:
                if settings.timeout is None:
                    result = await item.attempt()  # no deadline: no extra coroutine per run
                else:
                    result = await self._attempt(item)
            except asyncio.CancelledError as exc:
                if self._really_cancelled():
                    raise
                return item.failed("error", capture_error(exc, getattr(item, "stage", "")), attempts)
            except KeyboardInterrupt:
                error = RunError(
                    type="KeyboardInterrupt",
                    message="interrupted inside this run; the batch stopped and kept its finished runs",
                    stage=getattr(item, "stage", ""),
                )
                self._interrupt()
                return item.failed("cancelled", error, attempts)
            except BaseException as exc:  # Exception, SystemExit, GeneratorExit, pytest's Failed: this run's error
                delay = settings.retry_delay(attempts, exc) if attempts <= settings.retries else 0.0
                retry = attempts <= settings.retries and settings.retryable(exc)
                bound = settings.wait_bound()
                if retry and waited + delay > bound:
                    retry = False
                    rule = (
                        "without a timeout"
                        if settings.timeout is None
                        else f"timeout × (retries + 1), within {MIN_RUN_WAIT_S:g}–{MAX_RUN_WAIT_S:g}s"
                    )
                    gave_up = (
                        f" (not retried: waiting {delay:g}s more would pass the {bound:g}s a run may spend "
                        f"waiting between attempts: {rule})"
                    )
                if retry:
                    waited += delay
                    if isinstance(exc, RetryableError) and getattr(exc, "retry_after", None):
                        limiter.pause(delay)  # a quota is shared: the server's pause holds every run back
                    logger.debug("retrying after %s (attempt %d, %.2fs)", type(exc).__name__, attempts, delay)
                    retried.append(RetriedAttempt.from_exception(exc, getattr(item, "stage", ""), delay))
                    del retried[:-MAX_RETRIED_KEPT]
                    await asyncio.sleep(delay)
                    continue
                stage = getattr(item, "stage", "")
                if isinstance(exc, RunTimedOut):
                    message = f"run exceeded timeout of {settings.timeout:g}s{gave_up}"
                    return item.failed("timeout", RunError(type="TimeoutError", message=message, stage=stage), attempts)
                error = capture_error(exc, stage)
                if gave_up:
                    error = error.model_copy(update={"message": error.message + gave_up})
                if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):  # the agent's own deadline, its message
                    return item.failed("timeout", error, attempts)
                return item.failed("error", error, attempts)
            if attempts > 1:
                result.attempts = attempts
            return result

    def _interrupt(self) -> None:
        """A run was interrupted by the user: stop issuing runs and stop the others."""
        self._interrupted = True
        self._stopping = True
        current = asyncio.current_task()
        for task in list(self._workers):
            if task is not current:
                task.cancel()

    # -- workers --------------------------------------------------------------------
    def _finish(self, plan: int, slot: int, result: Any) -> None:
        self._results[plan][slot] = result
        self.progress.record(result)
        if self._queue is not None:
            self._queue.put_nowait(result)
        if self.on_progress is not None:
            self._report()

    def _report(self) -> None:
        try:
            self.on_progress(self.progress)  # type: ignore[misc]
        except Exception:
            logger.exception("on_progress callback failed; continuing")

    def _spawn(self) -> None:
        task = asyncio.ensure_future(self._worker())
        self._workers.add(task)
        self._pending_worker = True
        task.add_done_callback(self._worker_done)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        self._workers.discard(task)
        all_done = self._all_done
        if all_done is None or all_done.done():
            return
        error = None if task.cancelled() else task.exception()
        if error is not None:
            all_done.set_exception(error)
        elif not self._workers:
            all_done.set_result(None)

    async def _worker(self) -> None:
        """Take items until none are left; spawn a helper only when every worker is busy.

        Workers start on demand: a new one is spawned when this one picks up an item and
        no spawned worker is still waiting to start. Agents that never suspend are then
        served by one task, and agents that wait ramp up to the cap one task at a time.
        """
        self._pending_worker = False
        plans = self.plans
        total = self.total
        while self._issued < total and not self._stopping:
            index, unit, run = next(self._order)
            set_run_position(self._issued)  # this worker task's own context: read by shared queues
            self._issued += 1
            if not self._pending_worker and self._issued < total and len(self._workers) < self._cap:
                self._spawn()
            plan = plans[index]
            slot = unit * plan.runs + run
            item = plan.item(unit, run)
            key = (index, slot)
            self._in_flight[key] = item
            result = await self._run_one(item)
            del self._in_flight[key]
            self._finish(index, slot, result)

    def deliver(self, plan: int, slot: int, result: Any) -> bool:
        """Record a result an executor brings back for plan ``plan``'s slot ``slot``.

        The first result per slot is kept: a chunk an executor ran twice (its worker died after
        finishing part of it) never counts a run twice. A ``cancelled`` result (cut off by the job's
        cancel where it ran) is kept only to show that run in the result, never counted as finished,
        and a finished result for the slot still replaces it. Returns whether this result was kept
        as the slot's finished run.
        """
        if self._results[plan][slot] is not None:
            return False
        if result.status == "cancelled":
            # cut off by the cancel where it ran (a Dask worker): not a finished run, so not counted, but the result
            # shows it as it was cut off (a scenario run's set-up and teardown), as for a run cut off in process
            self._cut_off[(plan, slot)] = result
            return False
        self._finish(plan, slot, result)
        return True

    def deliver_rows(self, plan: int, block: RunBlock, rows: Sequence[int], slots: Sequence[int]) -> int:
        """Record runs an executor brought back as rows of ``block``: row ``rows[i]`` is slot ``slots[i]`` of ``plan``.

        As :meth:`deliver` for each (the first result per slot is kept, a ``cancelled`` one only shown), but a
        finished run is not built: its slot holds the block, the counts read its status, and the run is built
        from its row when looked at (:class:`~russo_nb.model.partial_runs.PartialRuns`). While ``async for``
        iterates the job, each run is built now and handed to it. Returns how many runs were kept as finished.
        """
        results = self._results[plan]
        progress = self.progress
        report = self.on_progress is not None
        eager = self._queue is not None
        shared = self._rows.get(plan)
        kept = 0
        for row, slot in zip(rows, slots, strict=True):
            if results[slot] is not None:
                continue
            status = block.status_at(row)
            if eager or status == "cancelled":
                kept += self.deliver(plan, slot, block.run_at(row))
                continue
            if shared is None:  # before the first block is in a slot: a result() copying the slots finds it
                shared = self._rows[plan] = RunsOfRows(results)
            block.keep(slot, row)
            results[slot] = block
            progress.count(status, (shared, slot))
            if report:
                self._report()
            kept += 1
        return kept

    async def _main(self) -> None:
        try:
            await self.executor.run(self)
        finally:
            await self._close()

    async def _run_here(self) -> None:
        """Run every item in this process (the in-process executor)."""
        limit = self.settings.max_concurrency
        self._cap = max(1, self.total if limit is None else min(self.total, limit))
        self._all_done = asyncio.get_running_loop().create_future()
        with job_threads(self._cap):  # threads start on demand, up to threads.MAX_THREADS
            try:
                if self.total:
                    self._spawn()
                    await self._all_done
            except BaseException:
                await self._stop_workers()
                raise

    async def _stop_workers(self) -> None:
        self._stopping = True
        workers = list(self._workers)
        for task in workers:
            task.cancel()
        if workers:
            done, pending = await asyncio.wait(workers, timeout=TEARDOWN_WAIT_S)
            for task in pending:
                logger.warning("a run ignored cancellation; abandoning it")
                _forget(task)
            for task in done:
                if not task.cancelled():
                    task.exception()

    async def _close(self) -> None:
        self.finished_at = time.time()
        for plan in self.plans:
            try:
                await plan.aclose()
            except Exception:
                logger.exception("closing a plan failed")
        if self._queue is not None:
            self._queue.put_nowait(None)

    def start(self) -> asyncio.Task[None]:
        """Schedule the job on the running loop (idempotent) and return its task."""
        if self._task is None:
            self.started_at = time.time()
            self.progress.started = time.perf_counter()
            self._task = asyncio.ensure_future(self._main())
            if self._cancel_requested:
                self._task.cancel()
        return self._task

    async def wait(self) -> B:
        """Run to the end and return :meth:`result`; on cancellation, cancel unfinished runs."""
        task = self.start()
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        return self.result()

    def __await__(self) -> Any:
        return self.wait().__await__()

    def cancel(self) -> None:
        """Cancel the unfinished runs (or, before the start, all of them); finished ones stay in :meth:`result`."""
        self._cancel_requested = True
        self._stopping = True  # workers take no new run, even before the cancellation reaches them
        if self._task is not None:
            self._task.cancel()

    @property
    def done(self) -> bool:
        """True once every run has finished or the job was cancelled."""
        return self._task is not None and self._task.done()

    @property
    def interrupted(self) -> bool:
        """True when the job was cancelled or interrupted before every run finished."""
        return self._cancel_requested or self._interrupted

    # -- results --------------------------------------------------------------------
    def _filled(self, index: int) -> Any:
        """Plan ``index``'s results, unit-major; runs that never finished count as ``cancelled``.

        When every run finished this is the plain list. Otherwise it is a
        :class:`~russo_nb.model.partial_runs.PartialRuns`: the unfinished runs are a count, each built
        only when looked at (a stopped 1M-run batch never builds a million objects). So it is when an
        executor kept runs as rows (:meth:`deliver_rows`): each is built from its row when looked at.
        """
        from ..model.partial_runs import PartialRuns

        plan = self.plans[index]
        results = self._results[index]
        if index not in self._rows and None not in results:
            return list(results)
        error = RunError(type="CancelledError", message="the batch was cancelled before this run finished")
        in_flight = {slot: item for (owner, slot), item in self._in_flight.items() if owner == index}

        cut_off = {slot: run for (owner, slot), run in self._cut_off.items() if owner == index}

        def fill(slot: int) -> Any:
            if slot in cut_off:
                return cut_off[slot]
            item = in_flight.get(slot) or plan.item(*divmod(slot, plan.runs))
            return item.failed("cancelled", error, 0)

        return PartialRuns(list(results), plan.runs, fill, rows=self._rows.get(index))

    def plan_results(self) -> list[Any]:
        """Each plan's result as it stands, in plan order."""
        finished = self.finished_at or time.time()
        interrupted = self.interrupted
        return [
            plan.collect(self._filled(index), self.started_at, finished, interrupted)
            for index, plan in enumerate(self.plans)
        ]

    def resume(
        self, on_progress: Callable[[Progress], Any] | None = None, *, executor: Executor | None = None, **engine: Any
    ) -> Job[B]:
        """A new job that runs only this stopped job's unfinished runs (same seeds) and merges them.

        Await it (or ``run_sync`` it): its result is the whole batch, as an uninterrupted job
        would have produced it. It runs the cancelled runs and those lost to the infrastructure
        (:func:`runs_again`: an ``error`` whose type is in :data:`INFRASTRUCTURE_ERRORS`, e.g. a
        Dask cluster left without workers), never a run the agent answered or raised in. Engine
        options given (``max_concurrency=``, ``timeout=`` ...) replace the job's own for the resumed
        runs; ``executor``: where they run (default: the job's own; ``InProcessExecutor()`` when its
        cluster is gone). See :mod:`russo_nb.execution.resume`.
        """
        return resume_job(self, on_progress, executor=executor, **engine)

    def result(self) -> B:
        """The job's result as it stands: finished runs, the rest marked ``cancelled``."""
        parts = self.plan_results()
        if self.combine is not None:
            return self.combine(parts)
        if len(parts) != 1:
            raise TypeError("a job of several plans needs combine= to make one result")
        return parts[0]

    async def __aiter__(self) -> AsyncIterator[Any]:
        """Yield each run's result as soon as it finishes (starting the job if needed)."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            for index, results in enumerate(self._results):
                for slot, result in enumerate(results):
                    if type(result) is RunBlock:  # kept as a row: built now, and kept in its slot (and results')
                        result = self._rows[index].run_of(slot, result)
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


# -- resuming a stopped job ------------------------------------------------------------------
def finished_run(result: Run | None) -> bool:
    """A run that finished (passed, failed, error, timeout): not missing and not cancelled."""
    return result is not None and result.status != "cancelled"


INFRASTRUCTURE_ERRORS = frozenset({"NoWorkers"})
"""Error types that say where a run was to execute failed, not the agent: a resume runs them again.

``NoWorkers``: the Dask cluster had no worker left before the run's chunk came back
(:mod:`russo_nb.execution.dask_executor`), so the agent was never asked or its answer was lost.
A chunk that *killed* every worker that tried it (``KilledWorker``) is not here: the agent may
have killed them, and asking again would kill the next ones."""


def infrastructure_error(result: Run | None) -> bool:
    """A run that ended ``error`` for a reason of the machinery, not the agent (:data:`INFRASTRUCTURE_ERRORS`)."""
    error = None if result is None or result.status != "error" else result.error
    return error is not None and error.type in INFRASTRUCTURE_ERRORS


def runs_again(result: Run | None) -> bool:
    """What a resume runs: a run never made or ``cancelled``, or one lost to the infrastructure
    (:func:`infrastructure_error`). A run the agent answered — passed, failed, its own error, a
    timeout — is kept: resuming completes a batch that was cut short, it does not ask agents again."""
    return not finished_run(result) or infrastructure_error(result)


class RemainingPlan(Plan[Any, Any]):
    """The runs of ``plan`` that did not finish (one unit each), collected back into ``plan``'s full result.

    ``previous`` is the plan's results unit-major, ``None`` (or a cancelled run) where a run
    never finished; those and the runs lost to the infrastructure (:func:`runs_again`) run again.
    :meth:`collect` puts the new runs into those slots and lets ``plan`` collect the whole, with the first
    job's start time; runs still unfinished stay a count
    (:class:`~russo_nb.model.partial_runs.PartialRuns`), and the result's
    ``metadata.params["resumed"]["parts"]`` lists how many runs each part finished (the first
    job's, then each resume's).
    """

    def __init__(
        self, plan: Plan[Any, Any], previous: Sequence[Any], started_at: float, parts: Sequence[int] = ()
    ) -> None:
        self.plan = plan
        self.previous = list(previous)
        for slot in np.flatnonzero(present(self.previous)).tolist():
            if runs_again(self.previous[slot]):  # cancelled, or lost to the infrastructure: runs again
                self.previous[slot] = None
        self.slots = np.flatnonzero(~present(self.previous))  # the unfinished slots, as numbers (no object per run)
        self.units = int(self.slots.size)
        self.runs = 1
        self.conditions = plan.conditions
        self.started_at = started_at
        self.parts = list(parts) or [len(self.previous) - self.units]

    def _where(self, unit: int) -> tuple[int, int]:
        return divmod(int(self.slots[unit]), self.plan.runs)

    def item(self, unit: int, run: int) -> Any:
        return self.plan.item(*self._where(unit))

    def conditions_for(self, unit: int, run: int) -> Any:
        return self.plan.conditions_for(*self._where(unit))

    def merged(self, runs: Sequence[Any]) -> tuple[list[Any], int]:
        """``previous`` with the finished ones of ``runs`` (this plan's results) in their slots, and their count."""
        from ..model.partial_runs import PartialRuns

        partial = runs if isinstance(runs, PartialRuns) and runs._list is None else None
        results = runs if partial is None else partial._results  # None for the unfinished: never build them
        if len(results) != self.units:
            raise ValueError(f"{len(results)} results for {self.units} remaining runs")
        merged = list(self.previous)
        ran = 0
        for unit in np.flatnonzero(present(results)).tolist():  # only the runs that came back, not every slot
            result = results[unit]
            if type(result) is RunBlock:  # kept as a row (a Dask job's): built now, and kept where the job keeps it
                result = partial._finished(unit) if partial is not None else result.run_of(unit)
            if finished_run(result):
                merged[int(self.slots[unit])] = result
                ran += 1
        return merged, ran

    def collect(self, runs: list[Any], started_at: float, finished_at: float, interrupted: bool) -> Any:
        from ..model.partial_runs import PartialRuns

        merged, ran = self.merged(runs)
        whole: Any = merged
        if None in merged:
            plan = self.plan
            error = RunError(type="CancelledError", message="the batch was cancelled before this run finished")
            whole = PartialRuns(
                merged, plan.runs, lambda slot: plan.item(*divmod(slot, plan.runs)).failed("cancelled", error, 0)
            )
        result = self.plan.collect(whole, min(self.started_at, started_at), finished_at, interrupted)
        metadata = getattr(result, "metadata", None)
        if metadata is not None:
            metadata.params = {**metadata.params, "resumed": {"parts": [*self.parts, ran]}}
        return result

    async def aclose(self) -> None:
        await self.plan.aclose()

    def components(self) -> list[tuple[str, Any]]:
        return self.plan.components()

    def audio_store(self) -> dict[str, Any] | None:
        return self.plan.audio_store()


def resume_job(
    job: Job[Any],
    on_progress: Callable[[Progress], Any] | None = None,
    *,
    executor: Executor | None = None,
    **engine: Any,
) -> Job[Any]:
    """A new job that runs ``job``'s unfinished runs (:func:`runs_again`) and whose result is the whole batch.

    Engine options given (not None) replace the job's own for the resumed runs (``max_concurrency`` ...);
    ``executor`` the job's own executor.
    """
    if job._task is not None and not job._task.done():
        raise InvalidArgumentError("the batch is still running; resume it after it stops (or cancel it first)")
    remaining: list[Plan[Any, Any]] = []
    for index, (plan, results) in enumerate(zip(job.plans, job._results, strict=True)):
        if index in job._rows:  # runs kept as rows (a Dask job's): built (and kept), the resume reads them
            results = job._rows[index].built()
        if isinstance(plan, RemainingPlan):  # a resumed job stopped again: resume from its merged state
            merged, ran = plan.merged(results)
            remaining.append(RemainingPlan(plan.plan, merged, plan.started_at, [*plan.parts, ran]))
        else:
            remaining.append(RemainingPlan(plan, results, job.started_at))
    settings = engine_options(job.settings, where="resume()", **engine)
    where = job.executor if executor is None else executor
    return Job(remaining, settings, on_progress or job.on_progress, job.combine, executor=where)
