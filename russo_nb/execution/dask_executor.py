"""Run a job on a Dask cluster: same :class:`~russo_nb.engine.Job`, same results, more machines.

``executor=DaskExecutor(...)`` on any job entry point (``start_batch``, ``run_concurrent``,
``start_scenarios``, suites) ships the job's work to Dask workers instead of running it on this
process's event loop. Everything else stays as it is: ``await job``, ``async for run in job``,
``job.progress``, ``job.cancel()`` and ``job.result()`` at any time, and a result equal to the
in-process run of the same seeded job in everything but timings.

How (the choices are Dask's documented patterns, and each avoids a measured trap):

- **Chunks of whole work items.** A run's *global run index* is its place in the engine's
  round-robin order (:func:`russo_nb.engine.schedule`); a chunk is a range of them. Each chunk is
  one ``client.submit`` task, so Dask's own bookkeeping re-runs a chunk whose worker died (exactly
  once per loss, measured) — no queue streaming or generator tasks, which lost or duplicated runs.
- **The ordinary engine on each worker.** A chunk runs as a ``Job`` on a per-worker event loop,
  with the chunk's share of ``max_concurrency`` and ``rate_limit``; the plans (components
  included) are unpickled once per worker and kept, so a prompt's clip is synthesized once per
  worker at most.
- **One blob per chunk.** The chunk returns its rows encoded in one bytes object (not a list of
  result objects, which Dask would ship element by element), plus the audio clips its runs used
  when ``keep_audio`` asks and this worker has not sent them yet.
- **The driver keeps the first result per index** (:meth:`Job.deliver`), so a re-executed chunk
  never duplicates a run and a lost worker loses none.
- **Cancellation** sets a cluster-wide :class:`distributed.Event`; every running chunk watches it,
  cancels its runs (keeping the finished ones) and returns within about a second; chunks not yet
  started are cancelled with ``client.cancel``. (``Future.cancel`` alone does not stop a running
  task: dask/distributed#4694.)
- **Picklability is checked before anything ships**, with a one-line error naming the component.

At most ``2 × threads`` chunks are outstanding at once (``threads`` = the cluster's worker threads),
so a ten-million-run job never holds ten million futures, and a cancel has little to withdraw. Chunks
shrink as the job nears its end (:func:`chunk_bounds`), so the last chunk never runs alone for long.

The local cluster :class:`DaskExecutor` starts runs with :data:`CLUSTER_CONFIG`: Dask's statistical
profiler off and its monitors slowed, which took an idle 2-worker cluster from ~27 % of a core to ~6 %
(measured here; on a 2-core machine that is CPU the runs get back).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import math
import os
import pickle
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ..model.errors import InvalidArgumentError, RussoError
from ..model.types import RunError
from .engine import EngineOptions, Job, Plan, schedule
from .ratelimit import RateLimit

__all__ = ["CLUSTER_CONFIG", "DaskExecutor", "ShippingError", "chunk_bounds", "decode_rows", "encode_rows"]

logger = logging.getLogger("russo_nb")

#: Most runs one chunk holds by default (a chunk is one task and one blob).
MAX_CHUNK = 10_000
#: Largest pickled job (bytes) sent inside every chunk task; a larger one is scattered to every worker.
INLINE_PAYLOAD = 1_000_000
#: Seconds between two looks at the cancel event by a running chunk.
WATCH_S = 0.25
#: Seconds the driver waits for running chunks to hand back their finished runs after a cancel.
CANCEL_GRACE_S = 3.0
#: Seconds a job waits for the cluster to have a worker again before its unfinished runs become errors.
WORKER_WAIT_S = 120.0
#: Seconds between two looks at the cluster's workers by a job's watchdog.
WORKER_CHECK_S = 1.0
#: Chunks are at least ``total / (MIN_CHUNK_SHARE × threads)`` runs, so a huge job's tail is not thousands of tasks.
MIN_CHUNK_SHARE = 64

CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Dask settings of the local cluster :class:`DaskExecutor` starts (``dask.config`` keys).

Dask samples every worker thread's stack every 10 ms (its profiler), checks the event loop every 20 ms, each
process's memory every 100 ms and the GIL every 1 ms: on this 2-core machine an idle scheduler + 2 workers
(nannies included) used 2.7 CPU-seconds per 10 s, with these settings 0.6 s. The dashboard keeps its task stream
and progress; its profile page stays empty. For your own cluster, set them in its Dask config or as environment
variables (``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` ...) if CPU-bound runs are what it does.
"""


class ShippingError(RussoError):
    """A job cannot be sent to Dask workers (a component does not pickle, no cluster, ...)."""


def _require_distributed() -> Any:
    from ..model.extras import require

    return require("distributed", "DaskExecutor")


# -- the row format a chunk ships ------------------------------------------------------------------


def encode_rows(runs: Sequence[Any]) -> bytes:
    """One compact blob for a chunk's finished runs (the inverse of :func:`decode_rows`).

    The run record's row format (:func:`russo_nb.model.records.runs_payload`): each distinct tool call,
    evaluation and response once, runs by reference; scenario runs field by field, their clips with them.
    The rows are pickled, not written as JSON: Dask pickles a task's result anyway, and pickling their plain
    values costs about a fifth of JSON's text (floats above all) both ways. A chunk holding a value that does
    not pickle (an agent's raw response object) travels as :func:`~russo_nb.model.records.encode_runs`' JSON.
    """
    from ..model.records import encode_runs, runs_payload

    try:
        return pickle.dumps(runs_payload(runs), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # whatever a value's own pickling raises: JSON writes every value
        return encode_runs(runs)


def decode_rows(blob: bytes, texts: dict[str, str] | None = None) -> list[Any]:
    """The runs of a blob made by :func:`encode_rows`, in the same order.

    The blob is unpickled, as Dask unpickles every task result: give it blobs from your own workers only.
    ``texts``: kept across the chunks of a job, their runs share one copy of each prompt text and id.
    """
    from ..model.records import decode_runs, runs_from_payload

    if blob[:1] != _PICKLED:
        return decode_runs(blob, texts=texts)
    try:
        payload = pickle.loads(blob)
    except Exception as exc:
        raise InvalidArgumentError(f"a damaged runs blob ({type(exc).__name__}: {_first_line(exc)})") from None
    return runs_from_payload(payload, texts=texts)


_PICKLED = pickle.dumps(None, protocol=pickle.HIGHEST_PROTOCOL)[:1]  # a pickle's first byte (zlib's is b"x")


# -- checking before shipping ---------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def ship_plans(plans: Sequence[Plan[Any, Any]]) -> bytes:
    """The plans pickled (cloudpickle, as Dask does), or a one-line :class:`ShippingError` naming the culprit."""
    from distributed.protocol.pickle import dumps

    try:
        return dumps(list(plans))
    except Exception as whole:
        for index, plan in enumerate(plans):
            for what, component in plan.components():
                try:
                    dumps(component)
                except Exception as exc:
                    where = what if len(plans) == 1 else f"plan {index}: {what}"
                    raise ShippingError(
                        f"{where} {type(component).__name__} cannot be sent to Dask workers "
                        f"({_first_line(exc)}); make it picklable, or build it on the workers by import path "
                        "as suite files do"
                    ) from None
        raise ShippingError(
            f"the job cannot be sent to Dask workers ({_first_line(whole)}); every component must pickle"
        ) from None


# -- the worker side --------------------------------------------------------------------------------

_worker_lock = threading.Lock()
_worker_loop: asyncio.AbstractEventLoop | None = None
#: token -> unpickled plans, kept for the next chunks of the same job (bounded: the last few jobs).
_worker_plans: OrderedDict[str, list[Plan[Any, Any]]] = OrderedDict()
#: token -> audio keys this worker has already returned for that job.
_worker_sent: dict[str, set[str]] = {}
_KEEP_JOBS = 4


def _loop() -> asyncio.AbstractEventLoop:
    """This worker process's event loop for runs (one daemon thread, started on first use)."""
    global _worker_loop
    with _worker_lock:
        if _worker_loop is None or _worker_loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="russo-dask-loop", daemon=True)
            thread.start()
            _worker_loop = loop
        return _worker_loop


def _plans_for(token: str, payload: bytes) -> list[Plan[Any, Any]]:
    with _worker_lock:
        plans = _worker_plans.get(token)
        if plans is None:
            plans = pickle.loads(payload)
            _worker_plans[token] = plans
            _worker_sent[token] = set()
            while len(_worker_plans) > _KEEP_JOBS:
                old, _ = _worker_plans.popitem(last=False)
                _worker_sent.pop(old, None)
        else:
            _worker_plans.move_to_end(token)
        return plans


class _ChunkPlan(Plan[Any, list[Any]]):
    """A chunk's runs as one plan for the ordinary engine: unit ``i`` is the chunk's ``i``-th run."""

    def __init__(self, plans: list[Plan[Any, Any]], cells: list[tuple[int, int, int]]) -> None:
        self.plans = plans
        self.cells = cells
        self.units = len(cells)
        self.runs = 1

    def item(self, unit: int, run: int) -> Any:
        index, plan_unit, plan_run = self.cells[unit]
        return self.plans[index].item(plan_unit, plan_run)

    def collect(self, runs: list[Any], started_at: float, finished_at: float, interrupted: bool) -> list[Any]:
        return runs

    # aclose: nothing; the plans' shared state (clips being synthesized) serves the worker's next chunks


async def _drive(job: Job[Any]) -> list[Any]:
    try:
        await job.wait()
    except asyncio.CancelledError:
        if not job.interrupted:
            raise
    return job.result()


def run_chunk(
    payload: bytes, token: str, start: int, stop: int, settings: EngineOptions, event_name: str
) -> tuple[bytes, dict[str, Any]]:
    """Dask task: run global run indexes ``start``..``stop`` of the job ``token`` on this worker.

    Returns the chunk's rows (finished runs, and ``cancelled`` ones when the job was cancelled) as one
    blob, and the audio clips this worker made for the job that it has not returned before (when the
    plans keep audio).
    """
    from distributed import Event

    plans = _plans_for(token, payload)
    cells = list(_take(schedule(plans, start), stop - start))
    job: Job[list[Any]] = Job([_ChunkPlan(plans, cells)], settings)
    event = Event(event_name)
    if event.is_set():
        job.cancel()
    future = asyncio.run_coroutine_threadsafe(_drive(job), _loop())
    while True:
        try:
            runs = future.result(timeout=WATCH_S)
            break
        except concurrent.futures.TimeoutError:
            if not job.interrupted and event.is_set():
                _loop().call_soon_threadsafe(job.cancel)
    return encode_rows(runs), _clips_to_send(plans, token)


def _clips_to_send(plans: list[Plan[Any, Any]], token: str) -> dict[str, Any]:
    """The clips this worker's copy of the plans kept (clean and with effects) that it has not returned yet."""
    clips: dict[str, Any] = {}
    sent = _worker_sent.setdefault(token, set())
    for plan in plans:
        store = plan.audio_store()
        if store:
            clips.update((key, clip) for key, clip in list(store.items()) if key not in sent)
    sent.update(clips)
    return clips


def _take(iterator: Any, count: int) -> Any:
    for _, cell in zip(range(count), iterator):
        yield cell


# -- the driver side --------------------------------------------------------------------------------


class DaskExecutor:
    """Run jobs on a Dask cluster: ``executor=DaskExecutor()`` on any job entry point.

    ``client``: ``None`` starts a ``LocalCluster`` sized to this machine (one single-threaded
    worker process per core) when the first job runs, and closes it with :meth:`close`; a
    scheduler address (``"tcp://scheduler:8786"``) connects to an existing cluster; a
    ``distributed.Client`` is used as it is. ``chunk_size``: runs per chunk (default: chunks that
    shrink towards the job's end, :func:`chunk_bounds`). ``n_workers``: the local cluster's size
    when ``client`` is None. ``worker_wait_s``: how long a job waits while the cluster has no worker
    at all (every worker died or left, none restarted or scaled up yet) before its unfinished runs
    end as ``error`` runs saying so; its finished runs are kept.

    Each worker needs russo_nb (and whatever the agent imports) installed; the components must
    pickle. A chunk that was running on a worker that died runs again elsewhere: its runs call the
    agent again (a paid API is paid twice for them), and the result keeps one run per index.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        chunk_size: int | None = None,
        n_workers: int | None = None,
        worker_wait_s: float = WORKER_WAIT_S,
    ) -> None:
        _require_distributed()
        if (
            not isinstance(worker_wait_s, (int, float))
            or isinstance(worker_wait_s, bool)
            or not 0 < worker_wait_s < math.inf
        ):
            raise InvalidArgumentError(f"worker_wait_s must be a number of seconds > 0, got {worker_wait_s!r}")
        if chunk_size is not None and (
            not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1
        ):
            raise InvalidArgumentError(f"chunk_size must be a whole number >= 1 (or None), got {chunk_size!r}")
        if n_workers is not None and (not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1):
            raise InvalidArgumentError(f"n_workers must be a whole number >= 1 (or None), got {n_workers!r}")
        if client is not None and not isinstance(client, str) and not hasattr(client, "submit"):
            raise InvalidArgumentError(
                f"client must be None, a scheduler address like 'tcp://scheduler:8786' or a distributed.Client, "
                f"got {type(client).__name__}"
            )
        self._given = client
        self.chunk_size = chunk_size
        self.n_workers = n_workers
        self.worker_wait_s = float(worker_wait_s)
        self._client: Any = client if client is not None and not isinstance(client, str) else None
        self._owned: list[Any] = []  # what this executor started and closes: a cluster, a client
        self._lock = threading.Lock()
        self._payloads: weakref.WeakKeyDictionary[Job[Any], bytes] = weakref.WeakKeyDictionary()

    # -- connection ------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connecting or starting the local cluster on first use)."""
        with self._lock:
            if self._client is None:
                from distributed import Client, LocalCluster

                if isinstance(self._given, str):
                    try:
                        self._client = Client(self._given, timeout="10s")
                    except OSError as exc:
                        raise ShippingError(
                            f"cannot reach the Dask scheduler at {self._given!r} ({_first_line(exc)}); "
                            "check the address (tcp://host:8786) and that the scheduler is running"
                        ) from None
                else:
                    import dask

                    workers = self.n_workers or os.cpu_count() or 1
                    with dask.config.set(CLUSTER_CONFIG):  # the nannies hand it to their workers
                        cluster = LocalCluster(
                            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                        )
                    self._owned.append(cluster)
                    self._client = Client(cluster)
                self._owned.insert(0, self._client)
            return self._client

    @property
    def dashboard_link(self) -> str | None:
        """The cluster's diagnostics dashboard (None before the cluster is reached or when it has none)."""
        if self._client is None:
            return None
        try:
            return self._client.dashboard_link
        except Exception:
            return None

    def connect(self) -> str | None:
        """Connect now (or start the local cluster); the dashboard's address, or None when it has none."""
        self.client  # noqa: B018 (connects)
        return self.dashboard_link

    def close(self) -> None:
        """Close the client and local cluster this executor started (a given Client is left open)."""
        owned, self._owned = self._owned, []
        for thing in owned:
            try:
                thing.close()
            except Exception:
                logger.debug("closing %r failed", thing, exc_info=True)
        if owned:
            self._client = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self._given if isinstance(self._given, str) else ("local cluster" if self._given is None else "client")
        return f"DaskExecutor({where})"

    # -- the Executor protocol -------------------------------------------------------------
    def check(self, job: Job[Any]) -> None:
        """Pickle the job's plans now (before anything ships): a component that does not pickle is named."""
        self._payloads[job] = ship_plans(job.plans)

    async def run(self, job: Job[Any]) -> None:
        """Ship the job in chunks, deliver each chunk's runs as it returns; on cancel, stop the cluster's runs."""
        payload = self._payloads.pop(job, None) or ship_plans(job.plans)
        if not job.total:
            return
        loop = asyncio.get_running_loop()
        client = await asyncio.to_thread(lambda: self.client)
        driver = _Driver(self, client, job, payload, loop)
        await asyncio.to_thread(driver.start)
        try:
            while True:
                try:
                    await asyncio.wait_for(asyncio.shield(driver.finished), WORKER_CHECK_S)
                    break
                except asyncio.TimeoutError:
                    await asyncio.to_thread(driver.check_workers)
        except asyncio.CancelledError:
            await asyncio.to_thread(driver.stop)
            raise
        finally:
            await asyncio.to_thread(driver.release)


def chunk_bounds(total: int, threads: int, size: int | None = None, least: int = 1) -> list[tuple[int, int]]:
    """The chunks of a ``total``-run job as ``(start, stop)`` ranges of global run indexes, in order.

    ``size`` given: chunks of that many runs. Otherwise *guided*: each chunk is the runs left divided by
    ``2 × threads`` (at most :data:`MAX_CHUNK`, at least ``least`` and ``total / (64 × threads)``), so
    chunks shrink towards the end and the workers finish together instead of waiting on one last big chunk
    (48 voice runs on 2 workers: 12, 9, 7, 5, 4, 3, 2, 2, 1, 1, 1, 1).
    """
    if size is not None:
        return [(start, min(start + size, total)) for start in range(0, total, size)]
    threads = max(1, threads)
    floor = max(1, least, math.ceil(total / (MIN_CHUNK_SHARE * threads)))
    bounds = []
    start = 0
    while start < total:
        left = total - start
        step = min(left, max(floor, min(MAX_CHUNK, math.ceil(left / (2 * threads)))))
        bounds.append((start, start + step))
        start += step
    return bounds


def _chunk_settings(settings: EngineOptions, share: int) -> EngineOptions:
    """A chunk's engine settings: its share of the cap and the rate limit, the rest as the job's."""
    cap = settings.max_concurrency
    limit = settings.rate_limit
    return dataclasses.replace(
        settings,
        max_concurrency=None if cap is None else max(1, cap // share),
        rate_limit=None if limit is None else RateLimit(limit.requests / share, limit.per_s),
    )


class _Driver:
    """One job on the cluster: submits chunks, ingests their blobs (in a thread), stops them on cancel."""

    def __init__(self, executor: DaskExecutor, client: Any, job: Job[Any], payload: bytes, loop: Any) -> None:
        self.client = client
        self.job = job
        self.payload = payload
        self.loop = loop
        self.finished: asyncio.Future[None] = loop.create_future()
        self.token = uuid.uuid4().hex
        self.event_name = f"russo-cancel-{self.token}"
        self.chunk_size = executor.chunk_size
        self.worker_wait_s = executor.worker_wait_s
        self.futures: dict[Any, tuple[int, int]] = {}
        self.stopping = False
        self.lost: str | None = None  # why the cluster gave up the job's unfinished runs (no worker left)
        self.alone_since: float | None = None  # since when the cluster has had no worker
        self.thread: threading.Thread | None = None
        self.texts: dict[str, str] = {}  # prompt texts and ids decoded so far: one copy for every chunk's runs

    def start(self) -> None:
        from distributed import Event, as_completed

        client, job = self.client, self.job
        threads = max(1, sum(client.nthreads().values()))
        cap = job.settings.max_concurrency
        running = threads if cap is None else max(1, min(threads, cap))
        self.settings = _chunk_settings(job.settings, running)
        # a chunk at least fills its share of the concurrency cap (an I/O-bound chunk of 2 runs would idle)
        least = self.settings.max_concurrency or 1
        self.bounds = chunk_bounds(job.total, threads, self.chunk_size, least)
        self.outstanding = running * 2 if cap is None or cap >= threads else running
        self.event = Event(self.event_name, client=client)
        # The plans travel inside each chunk task, so the scheduler keeps them: data scattered to a worker dies
        # with it, and every chunk that needs it would be cancelled. Large plans go to every worker instead.
        self.shipped: Any = self.payload
        if len(self.payload) > INLINE_PAYLOAD:
            self.shipped = client.scatter(self.payload, broadcast=True, hash=False)
        self.next = 0
        self.pending = as_completed()
        for _ in range(min(self.outstanding, len(self.bounds))):
            self._submit()
        self.thread = threading.Thread(target=self._ingest, name="russo-dask-ingest", daemon=True)
        self.thread.start()

    def _submit(self) -> None:
        start, stop = self.bounds[self.next]
        self.next += 1
        future = self.client.submit(
            run_chunk,
            self.shipped,
            self.token,
            start,
            stop,
            self.settings,
            self.event_name,
            key=f"russo-chunk-{self.token}-{start}",
            pure=False,
        )
        self.futures[future] = (start, stop)
        self.pending.add(future)

    def _ingest(self) -> None:
        try:
            for future in self.pending:
                bounds = self.futures.pop(future, None)
                if bounds is None:
                    continue
                if not self.stopping and not self.lost and self.next < len(self.bounds):
                    self._submit()
                self._take(future, *bounds)
                if not self.futures:
                    break
            if self.lost and not self.stopping:  # the chunks never shipped end as the lost ones did
                failure = RunError(type="NoWorkers", message=self.lost, stage="dask")
                for start, stop in self.bounds[self.next :]:
                    self.loop.call_soon_threadsafe(self._deliver, start, stop, None, {}, failure)
                self.next = len(self.bounds)
        except BaseException as exc:  # handed to the job
            self.loop.call_soon_threadsafe(self._settle, exc)
            return
        self.loop.call_soon_threadsafe(self._settle, None)

    def check_workers(self) -> None:
        """Give up the unfinished chunks once the cluster has had no worker for ``worker_wait_s`` (called each second).

        Dask keeps a task whose workers all died waiting for a new worker, forever; a nanny or an adaptive
        cluster brings one back within seconds, a cluster whose workers are gone for good never does.
        """
        if self.lost or self.stopping:
            return
        try:
            workers = len(self.client.nthreads())
        except Exception:  # the scheduler itself is unreachable: no worker either
            workers = 0
        now = time.monotonic()
        if workers:
            self.alone_since = None
            return
        self.alone_since = now if self.alone_since is None else self.alone_since
        if now - self.alone_since < self.worker_wait_s:
            return
        self.lost = (
            f"the Dask cluster had no worker for {self.worker_wait_s:g} s (every worker died or left) "
            "before this run finished"
        )
        left = [future for future in list(self.futures) if not future.done()]
        try:
            self.client.cancel(left)
        except Exception:
            logger.warning("could not cancel the job's Dask futures", exc_info=True)

    def _result(self, future: Any) -> Any:
        """The chunk's result; gives up (raising) when the job is being cancelled or the cluster lost every worker.

        A finished chunk whose worker died before its blob was fetched is computed again, which waits for a
        worker: without one, ``future.result()`` would wait forever.
        """
        while True:
            try:
                return future.result(timeout=WORKER_CHECK_S)
            except TimeoutError:
                if self.stopping or self.lost:
                    self.client.cancel([future])
                    raise

    def _take(self, future: Any, start: int, stop: int) -> None:
        """Fetch one chunk's blob (or its failure) and hand it to the job's loop, which decodes it.

        Decoding on the loop, not this thread, keeps the runs' memory in the loop thread's malloc arena
        (a second arena held ~1.3 MB more at the driver's peak over 100,000 runs).
        """
        if self.stopping and future.cancelled():
            return  # withdrawn by our cancel: its runs are the job's cancelled ones
        failure: RunError | None = None
        blob: bytes | None = None
        try:
            blob, clips = self._result(future)
        except Exception as exc:  # failed on every worker that tried it (KilledWorker), or cancelled by the cluster
            if self.stopping:
                return
            failure = self._failure(exc)
            clips = {}
        del future  # the client may drop the blob once decoded
        self.loop.call_soon_threadsafe(self._deliver, start, stop, blob, clips, failure)

    def _failure(self, exc: BaseException) -> RunError:
        """The error of the runs of a chunk that failed (or whose blob did not decode)."""
        if self.lost:
            return RunError(type="NoWorkers", message=self.lost, stage="dask")
        hint = "; install it on every worker" if isinstance(exc, ImportError) else ""
        return RunError(
            type=type(exc).__name__,
            message=f"this run's chunk failed on the Dask cluster: {_first_line(exc)}{hint}",
            stage="dask",
        )

    def _deliver(
        self, start: int, stop: int, blob: bytes | None, clips: dict[str, Any], failure: RunError | None
    ) -> None:
        runs: list[Any] | None = None
        if blob is not None:
            try:
                runs = decode_rows(blob, self.texts)
            except Exception as exc:
                failure = self._failure(exc)
                clips = {}
        job = self.job
        plans = job.plans
        for position, (index, unit, run) in enumerate(_take(schedule(plans, start), stop - start)):
            plan = plans[index]
            slot = unit * plan.runs + run
            if runs is None:
                result = plan.item(unit, run).failed("error", failure, 0)
            else:
                result = runs[position]
                runs[position] = None  # the job holds it now: the chunk's list keeps no second reference
                if result.status == "cancelled":
                    continue  # the job's result marks it cancelled; progress counts finished runs only
                fields = result.__dict__
                if fields.get("run_index") == run:
                    # the schedule's run number, one object per round shared by every prompt's run as in process
                    # (a decoded number is a fresh int per run: 2 MB at 100,000 runs)
                    fields["run_index"] = run
            job.deliver(index, slot, result)
        if clips:
            for plan in plans:
                store = plan.audio_store()
                if store is not None:
                    for key, clip in clips.items():
                        store.setdefault(key, clip)

    def _settle(self, error: BaseException | None) -> None:
        if self.finished.done():
            return
        if error is None:
            self.finished.set_result(None)
        else:
            self.finished.set_exception(error)

    def stop(self) -> None:
        """Cancel: tell running chunks (the event), withdraw queued ones, wait briefly for finished runs."""
        self.stopping = True
        try:
            self.event.set()
        except Exception:
            logger.warning("could not set the Dask cancel event", exc_info=True)
        if self.thread is not None:
            self.thread.join(CANCEL_GRACE_S)
        left = [future for future in list(self.futures) if not future.done()]
        if left:
            self.client.cancel(left)

    def release(self) -> None:
        """Forget the job's futures (and its plans, when they were scattered) on the cluster."""
        futures = list(self.futures)
        self.futures.clear()
        if not isinstance(self.shipped, bytes):
            futures.append(self.shipped)
        try:
            if futures:
                self.client.cancel(futures)
        except Exception:
            logger.debug("releasing the job's Dask futures failed", exc_info=True)
