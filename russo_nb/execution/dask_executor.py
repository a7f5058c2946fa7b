"""Run a job on a Dask cluster: same :class:`~russo_nb.engine.Job`, same results, more machines.

``executor=DaskExecutor(...)`` on any job entry point (``start_batch``, ``run_concurrent``,
``start_scenarios``, suites) ships the job's work to Dask workers instead of running it on this
process's event loop. Everything else stays as it is: ``await job``, ``async for run in job``,
``job.progress``, ``job.cancel()`` and ``job.result()`` at any time, and a result equal to the
in-process run of the same seeded job in everything but timings.

How (the choices are Dask's documented patterns, and each avoids a measured trap):

- **Chunks of whole work items, with prompt affinity.** The job's units (prompts, scenarios) are
  cut into one *share* per worker (:func:`plan_shares`), and a chunk is a range of a share's runs
  in the engine's round-robin order (:func:`russo_nb.engine.schedule`, restricted to the share's
  units); every run keeps its (plan, unit, run) place, and so its seed. A share's chunks go to its
  worker (loosely: to any worker once it is gone), so a worker synthesizes only its share's
  prompts: 8 prompts on 2 workers are 8 syntheses, as in process, not 16. A worker whose share
  is done helps the share with the most runs left. Each chunk is one ``client.submit`` task, so
  Dask's own bookkeeping re-runs a chunk whose worker died (exactly once per loss, measured) — no
  queue streaming or generator tasks, which lost or duplicated runs.
- **The ordinary engine on each worker.** A chunk runs as a ``Job`` on a per-worker event loop,
  with the chunk's share of ``max_concurrency`` and ``rate_limit``; the plans (components
  included) are unpickled once per worker and kept, so a prompt's clip is synthesized once per
  worker at most, and a voice agent sets up its recogniser once per worker and job (its decoder once
  per worker process).
- **One blob per chunk.** The chunk returns its rows encoded in one bytes object (not a list of
  result objects, which Dask would ship element by element), plus the audio clips its runs used
  when ``keep_audio`` asks and this worker has not sent them yet.
- **The driver keeps each chunk's rows, not run objects** (:func:`decode_block`,
  :class:`~russo_nb.model.run_blocks.RunBlock`): one block per chunk stands in each of its runs' result
  slots; the counts (``job.progress``, ``result.status_counts``, ``tally()``) come from its status column,
  and a run is built from its row when someone looks at it (indexing, iterating ``result.runs``), as a
  loaded CSV / Parquet batch does. ``async for run in job`` builds each run as its chunk returns. At
  100,000 tiny runs the driver's peak memory grew ~24 MB against the in-process engine's ~60 MB.
- **The driver keeps the first result per index** (:meth:`Job.deliver_rows`), so a re-executed chunk
  never duplicates a run and a lost worker loses none.
- **Cancellation** sets a cluster-wide :class:`distributed.Event` and tells every worker
  (``client.run``) to cancel the job's running chunks, which cancel their runs (keeping the
  finished ones) and return at once; a chunk starting later finds the event set; chunks not yet
  started are cancelled with ``client.cancel``. (``Future.cancel`` alone does not stop a running
  task: dask/distributed#4694.) Nothing polls: each look at the event is a round trip to the
  scheduler, and a running chunk looking four times a second cost about 1.8 ms of worker CPU and
  1 ms of scheduler CPU per look, 2-4 ms per voice run (measured here).
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
import dataclasses
import itertools
import logging
import math
import os
import pickle
import threading
import time
import uuid
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..model.errors import InvalidArgumentError, RussoError
from ..model.ratelimit import RateLimit
from ..model.run_blocks import RunBlock, plan_positions
from ..model.types import RunError
from .engine import EngineOptions, Job, Plan, schedule

__all__ = [
    "CLUSTER_CONFIG",
    "DaskExecutor",
    "ShippingError",
    "Span",
    "chunk_bounds",
    "chunk_cells",
    "chunk_parts",
    "decode_block",
    "decode_rows",
    "encode_rows",
    "plan_shares",
]

logger = logging.getLogger("russo_nb")

#: Most runs one chunk holds by default (a chunk is one task and one blob).
MAX_CHUNK = 10_000
#: Largest pickled job (bytes) shipped as one task the chunks depend on; a larger one is scattered to every worker.
INLINE_PAYLOAD = 1_000_000
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
    A chunk of a suite holding prompt runs and scenario runs (a row format is of one run kind) is one blob per
    kind and the positions of its runs (:func:`chunk_parts`).
    """
    from ..model.records import encode_runs, rows_to_columns, runs_payload

    kinds = _kind_positions(runs)
    if len(kinds) > 1:
        parts = [(positions, encode_rows([runs[position] for position in positions])) for positions in kinds]
        return _MIXED + pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        return pickle.dumps(rows_to_columns(runs_payload(runs)), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # whatever a value's own pickling raises: JSON writes every value
        return encode_runs(runs)


def _kind_positions(runs: Sequence[Any]) -> list[list[int]]:
    """The positions of ``runs``' prompt runs and of their scenario runs (one list when all are of one kind)."""
    from ..model.types import SingleRunResult

    prompt = [isinstance(run, SingleRunResult) for run in runs]
    if all(prompt) or not any(prompt):
        return [list(range(len(runs)))]
    return [
        [i for i, is_prompt in enumerate(prompt) if is_prompt],
        [i for i, is_prompt in enumerate(prompt) if not is_prompt],
    ]


def chunk_parts(blob: bytes) -> list[tuple[Sequence[int], bytes]]:
    """A blob of :func:`encode_rows` as its blobs of one run kind each, with the positions of their runs.

    One part, ``(None, blob)``, unless the chunk held prompt runs and scenario runs (a suite's). Unpickled,
    as :func:`decode_rows`: blobs from your own workers only.
    """
    if blob[:1] != _MIXED:
        return [(None, blob)]  # type: ignore[list-item]
    try:
        parts = [(list(positions), bytes(part)) for positions, part in pickle.loads(blob[1:])]
        every = sorted(itertools.chain.from_iterable(positions for positions, _ in parts))
        if every != list(range(len(every))):
            raise ValueError("its parts' positions are not each of its runs once")
        return parts
    except Exception as exc:
        raise _damaged(exc) from None


def decode_rows(blob: bytes, texts: dict[str, str] | None = None) -> list[Any]:
    """The runs of a blob made by :func:`encode_rows`, in the same order.

    The blob is unpickled, as Dask unpickles every task result: give it blobs from your own workers only.
    ``texts``: kept across the chunks of a job, their runs share one copy of each prompt text and id.
    """
    from ..model.records import decode_runs, runs_from_payload

    if blob[:1] == _MIXED:
        runs: list[Any] = []
        places: list[int] = []
        for positions, part in chunk_parts(blob):
            runs += decode_rows(part, texts)
            places += positions
        if len(places) != len(runs):
            raise InvalidArgumentError("a damaged runs blob (not a run per position of its parts)")
        ordered: list[Any] = [None] * len(runs)
        for place, run in zip(places, runs):
            ordered[place] = run
        return ordered
    if blob[:1] != _PICKLED:
        return decode_runs(blob, texts=texts)
    return runs_from_payload(_unpickled(blob), texts=texts)


def decode_block(blob: bytes, texts: dict[str, str] | None = None) -> RunBlock | None:
    """A blob made by :func:`encode_rows`, kept as rows: its runs built when looked at; None for a JSON blob
    (or one of runs of both kinds: split it with :func:`chunk_parts` first).

    What the driver keeps of a chunk (:class:`~russo_nb.model.run_blocks.RunBlock`): the decoded columns of its
    rows and shared tables, a few pointers per run, not a run object per row. Run ``i`` built from it equals
    run ``i`` of :func:`decode_rows`. A blob that travelled as JSON (:func:`encode_rows`' fallback) is None:
    decode it with :func:`decode_rows`. Unpickled, as :func:`decode_rows`: blobs from your own workers only.
    """
    if blob[:1] != _PICKLED:
        return None
    return RunBlock.from_payload(_unpickled(blob), texts)


def _unpickled(blob: bytes) -> Any:
    """A runs blob's pickled payload; a blob that does not unpickle is one ``damaged runs blob`` error."""
    try:
        return pickle.loads(blob)
    except Exception as exc:
        raise _damaged(exc) from None


def _damaged(exc: BaseException) -> InvalidArgumentError:
    return InvalidArgumentError(f"a damaged runs blob ({type(exc).__name__}: {_first_line(exc)})")


_PICKLED = pickle.dumps(None, protocol=pickle.HIGHEST_PROTOCOL)[:1]  # a pickle's first byte (zlib's is b"x")
_MIXED = b"M"  # a chunk of prompt runs and scenario runs: its parts, pickled (see chunk_parts)


# -- chunk planning: shares of units, one per worker ------------------------------------------------


class Span(NamedTuple):
    """Runs ``first_run .. first_run + runs - 1`` of units ``first .. first + units - 1`` of the job's plan ``plan``.

    It has a plan's ``units`` and ``runs``, so :func:`~russo_nb.engine.schedule` orders a list of spans
    as it orders plans: the first run of every unit, then the second, ... (round-robin).
    """

    plan: int
    first: int
    units: int
    runs: int
    first_run: int = 0


def plan_shares(plans: Sequence[Plan[Any, Any]], weights: Sequence[int]) -> list[list[Span]]:
    """The job's runs cut into ``len(weights)`` shares of ``weights[k] / sum(weights)`` of them, one per worker.

    Each share is a stretch of the job's units (prompts, scenarios) in order, with all their runs, except
    that a unit where two shares meet has its runs split between them. A worker that runs the chunks of
    one share synthesizes only that share's prompts, once each (the plans, with their clips, are kept per
    worker and job): 8 prompts on 2 workers are 8 syntheses, not 16, and 5 are 6 (the split one twice).
    Shares that would hold no run are left out.
    """
    total = sum(plan.units * plan.runs for plan in plans)
    whole = sum(weights)
    cuts = [0, *(round(total * part / whole) for part in itertools.accumulate(weights))]
    shares = []
    for low, high in itertools.pairwise(cuts):
        spans = []
        done = 0  # runs of the plans before this one, in unit-major order
        for index, plan in enumerate(plans):
            size = plan.units * plan.runs
            start, stop = max(low, done) - done, min(high, done + size) - done
            done += size
            if start >= stop:
                continue
            (unit, run), (last, end) = divmod(start, plan.runs), divmod(stop, plan.runs)
            if unit == last:  # within one unit
                spans.append(Span(index, unit, 1, end - run, run))
                continue
            if run:  # the end of a unit split with the share before
                spans.append(Span(index, unit, 1, plan.runs - run, run))
                unit += 1
            if last > unit:
                spans.append(Span(index, unit, last - unit, plan.runs))
            if end:  # the start of a unit split with the share after
                spans.append(Span(index, last, 1, end))
        if spans:
            shares.append(spans)
    return shares


def chunk_cells(spans: Sequence[Span], start: int, stop: int) -> list[tuple[int, int, int]]:
    """(plan, unit, run) of positions ``start .. stop - 1`` of the spans' round-robin order: a chunk's runs.

    The order is :func:`~russo_nb.engine.schedule`'s; spans of one run count (a batch, most sweeps) are
    laid out round by round without it, at the cost of the in-process order's own tuples.
    """
    if len({span.runs for span in spans if span.units}) > 1 or any(span.first_run for span in spans):
        order = itertools.islice(schedule(spans, start), stop - start)
        return [(spans[at].plan, spans[at].first + unit, spans[at].first_run + run) for at, unit, run in order]
    width = sum(span.units for span in spans)
    cells: list[tuple[int, int, int]] = []
    if not width:
        return cells
    run, at = divmod(start, width)
    left = stop - start
    while left > 0:  # one round: units at .. at + take - 1 of the share's row of units, run ``run``
        take = min(left, width - at)
        left -= take
        for plan, first, units, _, _ in spans:
            if at >= units:
                at -= units
                continue
            end = min(units, at + take)
            cells += [(plan, unit, run) for unit in range(first + at, first + end)]
            take -= end - at
            at = 0
            if not take:
                break
        at = 0
        run += 1
    return cells


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
#: token -> that job's chunks running on this worker (:func:`cancel_chunks` cancels them).
_worker_jobs: dict[str, set[Job[Any]]] = {}
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


def _job_plans(payload: bytes) -> bytes:
    """Dask task: the job's pickled plans, the one dependency of all its chunks (shipped once, not per chunk)."""
    return payload


def run_chunk(
    payload: bytes,
    token: str,
    spans: Sequence[Span],
    start: int,
    stop: int,
    settings: EngineOptions,
    event_name: str,
) -> tuple[bytes, dict[str, Any]]:
    """Dask task: run positions ``start``..``stop`` of a share (``spans``) of the job ``token`` on this worker.

    Returns the chunk's rows (finished runs, and ``cancelled`` ones when the job was cancelled) as one
    blob, and the audio clips this worker made for the job that it has not returned before (when the
    plans keep audio).
    """
    from distributed import Event

    plans = _plans_for(token, payload)
    cells = chunk_cells(spans, start, stop)
    job: Job[list[Any]] = Job([_ChunkPlan(plans, cells)], settings)
    with _worker_lock:  # first known here, then the event: a cancel between the two still finds the chunk
        _worker_jobs.setdefault(token, set()).add(job)
    try:
        if Event(event_name).is_set():  # cancelled before this chunk started
            job.cancel()
        runs = asyncio.run_coroutine_threadsafe(_drive(job), _loop()).result()
    finally:
        with _worker_lock:
            running = _worker_jobs.get(token, set())
            running.discard(job)
            if not running:
                _worker_jobs.pop(token, None)
    return encode_rows(runs), _clips_to_send(plans, token)


def cancel_chunks(token: str) -> int:
    """Cancel the chunks of the job ``token`` running on this worker (the driver runs it on every worker).

    Each cancelled chunk returns its finished runs and ``cancelled`` ones; how many chunks were cancelled.
    """
    with _worker_lock:
        jobs = list(_worker_jobs.get(token, ()))
    for job in jobs:
        _loop().call_soon_threadsafe(job.cancel)
    return len(jobs)


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
                    from .dask_local import CtrlCToTheDriver

                    self._client.register_plugin(CtrlCToTheDriver())  # Ctrl-C cancels through the driver
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
        started = asyncio.ensure_future(asyncio.to_thread(driver.start))
        try:
            await asyncio.shield(started)
            while True:
                try:
                    await asyncio.wait_for(asyncio.shield(driver.finished), WORKER_CHECK_S)
                    break
                except asyncio.TimeoutError:
                    await asyncio.to_thread(driver.check_workers)
        except asyncio.CancelledError:
            # cancelled while the chunks were being submitted: they are stopped too, once submitted (else they would
            # run on unwatched, holding their workers until their runs end)
            await _to_the_end(asyncio.wait([started]))
            if started.exception() is None:
                await _to_the_end(asyncio.to_thread(driver.stop))
            raise
        finally:
            await _to_the_end(asyncio.to_thread(driver.release))


async def _to_the_end(awaitable: Any) -> None:
    """Await ``awaitable`` to its end even when this task is cancelled again meanwhile (Ctrl-C pressed twice).

    The stop under way is what hands back the runs the workers finished; a second cancel that cut it short
    lost them, and closed the job's loop under the thread still delivering them.
    """
    future = asyncio.ensure_future(awaitable)
    while True:
        try:
            await asyncio.shield(future)
            return
        except asyncio.CancelledError:
            if future.cancelled():
                raise


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


@dataclasses.dataclass(eq=False)
class _Share:
    """The driver's view of one share of a job: its chunks, how many are submitted, the worker it prefers."""

    number: int
    spans: list[Span]
    bounds: list[tuple[int, int]]  # its chunks, as positions in the share's round-robin order
    owner: str | None  # the worker its chunks are sent to (loosely: any worker when it is gone); None: any
    quota: int  # chunks outstanding at once for it
    next: int = 0  # its next chunk to submit

    @property
    def left(self) -> int:
        """Runs in chunks not yet submitted (its chunks are consecutive ranges)."""
        return self.bounds[-1][1] - self.bounds[self.next][0] if self.next < len(self.bounds) else 0


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
        self.futures: dict[Any, tuple[_Share, int, int, str | None, bool]] = {}
        self.stopping = False
        self.lost: str | None = None  # why the cluster gave up the job's unfinished runs (no worker left)
        self.alone_since: float | None = None  # since when the cluster has had no worker
        self.thread: threading.Thread | None = None
        self.texts: dict[str, str] = {}  # prompt texts and ids decoded so far: one copy for every chunk's runs
        self.positions: dict[int, array] = {}  # per plan: the row of each slot in the block that holds it
        self.again: list[tuple[_Share, int]] = []  # runs of chunks given up as KilledWorker, to run alone (_take)

    def start(self) -> None:
        from distributed import Event, as_completed

        client, job = self.client, self.job
        nthreads = client.nthreads()
        threads = max(1, sum(nthreads.values()))
        cap = job.settings.max_concurrency
        running = threads if cap is None else max(1, min(threads, cap))
        self.settings = _chunk_settings(job.settings, running)
        # a chunk at least fills its share of the concurrency cap (an I/O-bound chunk of 2 runs would idle)
        least = self.settings.max_concurrency or 1
        per_slot = 2 if cap is None or cap >= threads else 1  # chunks outstanding per running thread
        self.shares = self._plan(nthreads, threads, running, per_slot, least)
        self.event = Event(self.event_name, client=client)
        # The plans travel once, inside one task every chunk depends on, so the scheduler keeps them (a worker
        # that dies with their copy has them computed again; data scattered to a worker dies with it, and every
        # chunk that needs it would be cancelled). Not inside every chunk: the client logs each message it
        # sends (its last 1,000), ~7 KB of plans per chunk kept for good. Large plans go to every worker.
        if len(self.payload) > INLINE_PAYLOAD:
            self.shipped: Any = client.scatter(self.payload, broadcast=True, hash=False)
        else:
            self.shipped = client.submit(_job_plans, self.payload, key=f"russo-plans-{self.token}", pure=False)
        self.pending = as_completed()
        for share in self.shares:
            for _ in range(min(share.quota, len(share.bounds))):
                self._submit(share, share.owner)
        self.thread = threading.Thread(target=self._ingest, name="russo-dask-ingest", daemon=True)
        self.thread.start()

    def _plan(self, nthreads: dict[str, int], threads: int, running: int, per_slot: int, least: int) -> list[_Share]:
        """The job's shares: one per worker it uses, each sent to its worker (see :func:`plan_shares`).

        The workers used are the first ones (by address) whose threads cover ``running``. With one worker (or
        fewer runs than workers), the job is one share that any worker takes (as a range of the round-robin).
        """
        job = self.job
        slots: list[tuple[str, int]] = []
        for address in sorted(nthreads):
            if sum(used for _, used in slots) < running:
                slots.append((address, min(nthreads[address] or 1, running - sum(used for _, used in slots))))
        spans = plan_shares(job.plans, [used for _, used in slots]) if len(slots) > 1 else []
        if len(spans) < max(2, len(slots)):  # one share: every plan whole, any worker
            whole = [Span(index, 0, plan.units, plan.runs) for index, plan in enumerate(job.plans)]
            bounds = chunk_bounds(job.total, threads, self.chunk_size, least)
            return [_Share(0, whole, bounds, None, running * per_slot)]
        shares = []
        for number, ((address, used), share) in enumerate(zip(slots, spans)):
            total = sum(span.units * span.runs for span in share)
            bounds = chunk_bounds(total, used, self.chunk_size, least)
            shares.append(_Share(number, share, bounds, address, used * per_slot))
        return shares

    def _submit(self, share: _Share, worker: str | None) -> None:
        """Send the share's next chunk, to ``worker`` while it is in the cluster (else to any worker)."""
        start, stop = share.bounds[share.next]
        share.next += 1
        self._send(share, start, stop, worker)

    def _send(self, share: _Share, start: int, stop: int, worker: str | None, alone: bool = False) -> None:
        """Send positions ``start .. stop - 1`` of ``share`` as one chunk (``alone``: a run run again on its own)."""
        where = {} if worker is None else {"workers": [worker], "allow_other_workers": True}
        future = self.client.submit(
            run_chunk,
            self.shipped,
            self.token,
            share.spans,
            start,
            stop,
            self.settings,
            self.event_name,
            key=f"russo-chunk-{self.token}-{share.number}-{start}{'-alone' if alone else ''}",
            pure=False,
            **where,
        )
        self.futures[future] = (share, start, stop, worker, alone)
        self.pending.add(future)

    def _refill(self, share: _Share, worker: str | None) -> None:
        """A chunk of ``share`` sent to ``worker`` returned: send that worker the share's next chunk.

        When its share has none left, the worker helps the share with the most runs not yet sent (so the
        workers finish together); it then synthesizes that share's prompts too, still once each.
        """
        if share.next >= len(share.bounds):
            share = max(self.shares, key=lambda other: other.left)
            if share.next >= len(share.bounds):
                return
        self._submit(share, worker)

    def _ingest(self) -> None:
        try:
            for future in self.pending:
                chunk = self.futures.pop(future, None)
                if chunk is None:
                    continue
                share, start, stop, worker, alone = chunk
                if not self.stopping and not self.lost and not alone:  # a run sent again alone is not a chunk's place
                    self._refill(share, worker)
                self._take(future, share, start, stop, alone)
                if not self.futures:
                    if not self.again or self.stopping or self.lost:
                        break
                    share, position = self.again.pop(0)  # one at a time, alone on the cluster: see _take
                    self._send(share, position, position + 1, None, alone=True)
            if self.lost and not self.stopping:  # the chunks never shipped end as the lost ones did
                failure = RunError(type="NoWorkers", message=self.lost, stage="dask")
                for share, position in self.again:
                    self.loop.call_soon_threadsafe(self._deliver, share, position, position + 1, None, {}, failure)
                self.again.clear()
                for share in self.shares:
                    for start, stop in share.bounds[share.next :]:
                        self.loop.call_soon_threadsafe(self._deliver, share, start, stop, None, {}, failure)
                    share.next = len(share.bounds)
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

    def _take(self, future: Any, share: _Share, start: int, stop: int, alone: bool = False) -> None:
        """Fetch one chunk's blob (or its failure) and hand it to the job's loop, which decodes it.

        Decoding on the loop, not this thread, keeps the runs' memory in the loop thread's malloc arena
        (a second arena held ~1.3 MB more at the driver's peak over 100,000 runs).

        A chunk Dask gave up because workers died while they held it (``KilledWorker``) runs again, each run
        alone, once, after every other chunk returned and one at a time (:attr:`again`): Dask blames every task
        a dying worker held, so a chunk only queued beside the run that killed its worker is given up too
        (measured: with ``allowed-failures=1``, 4 and 5 of 6 runs were given up for 2 crashing runs). Alone on
        the cluster, an innocent run finishes; a run that kills its workers again is an ``error`` run of type
        ``KilledWorker``.
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
            if type(exc).__name__ == "KilledWorker" and not alone and not self.lost:
                self.again += [(share, position) for position in range(start, stop)]
                return
            failure = self._failure(exc)
            clips = {}
        del future  # the client may drop the blob once decoded
        self.loop.call_soon_threadsafe(self._deliver, share, start, stop, blob, clips, failure)

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
        self,
        share: _Share,
        start: int,
        stop: int,
        blob: bytes | None,
        clips: dict[str, Any],
        failure: RunError | None,
    ) -> None:
        """Hand one chunk's runs to the job: kept as the chunk's rows (:func:`decode_block`), built when looked at.

        A chunk that travelled as JSON (a value did not pickle) is decoded into runs at once; a failed
        chunk's runs are its error.
        """
        cells = chunk_cells(share.spans, start, stop)
        parts: list[tuple[list[tuple[int, int, int]], RunBlock | None, list[Any] | None]] = []
        if blob is not None:
            try:  # every part decoded before any is delivered: a damaged chunk delivers nothing but its errors
                for positions, part in chunk_parts(blob):
                    part_cells = cells if positions is None else [cells[position] for position in positions]
                    block = decode_block(part, self.texts)
                    runs = decode_rows(part, self.texts) if block is None else None
                    if len(runs if block is None else block) != len(part_cells):  # type: ignore[arg-type]
                        raise InvalidArgumentError(f"a damaged runs blob (not {len(part_cells)} runs)")
                    parts.append((part_cells, block, runs))
                if sum(len(part_cells) for part_cells, _, _ in parts) != stop - start:
                    raise InvalidArgumentError(f"a damaged runs blob (not {stop - start} runs)")
            except Exception as exc:
                failure = self._failure(exc)
                clips = {}
                parts = []
        for part_cells, block, runs in parts or [(cells, None, None)]:
            if block is not None:
                self._keep_rows(block, part_cells)
            else:
                self._deliver_runs(part_cells, runs, failure)
        if clips:
            for plan in self.job.plans:
                store = plan.audio_store()
                if store is not None:
                    for key, clip in clips.items():
                        store.setdefault(key, clip)

    def _deliver_runs(
        self, cells: list[tuple[int, int, int]], runs: list[Any] | None, failure: RunError | None
    ) -> None:
        """The chunk's runs (run ``i``: ``cells[i]``) decoded into objects (a JSON chunk's), or ``failure``'s errors."""
        job = self.job
        plans = job.plans
        for position, (index, unit, run) in enumerate(cells):
            plan = plans[index]
            slot = unit * plan.runs + run
            if runs is None:
                result = plan.item(unit, run).failed("error", failure, 0)
            else:
                result = runs[position]
                runs[position] = None  # the job holds it now: the chunk's list keeps no second reference
                fields = result.__dict__
                if fields.get("run_index") == run:
                    # the schedule's run number, one object per round shared by every prompt's run as in process
                    # (a decoded number is a fresh int per run: 2 MB at 100,000 runs)
                    fields["run_index"] = run
            job.deliver(index, slot, result)

    def _keep_rows(self, block: RunBlock, cells: list[tuple[int, int, int]]) -> None:
        """The chunk's runs (row ``i``: ``cells[i]``) kept by the job as the block's rows, plan by plan."""
        plans = self.job.plans
        per = [plan.runs for plan in plans]
        groups: dict[int, tuple[list[int], list[int]]] = {}
        for row, (index, unit, run) in enumerate(cells):
            group = groups.get(index)
            if group is None:
                group = groups[index] = ([], [])
            group[0].append(row)
            group[1].append(unit * per[index] + run)
        for index, (rows, slots) in groups.items():
            positions = self.positions.get(index)
            if positions is None:
                positions = self.positions[index] = plan_positions(plans[index].total)
            self.job.deliver_rows(index, block.for_plan(positions), rows, slots)

    def _settle(self, error: BaseException | None) -> None:
        if self.finished.done():
            return
        if error is None:
            self.finished.set_result(None)
        else:
            self.finished.set_exception(error)

    def stop(self) -> None:
        """Cancel: tell running chunks (event, workers), withdraw queued ones, wait briefly for finished runs."""
        self.stopping = True
        try:
            self.event.set()  # before the workers are told: a chunk they do not know yet finds it set when it starts
            self.client.run(cancel_chunks, self.token, on_error="ignore")
        except Exception:
            logger.warning("could not tell the Dask workers to cancel", exc_info=True)
        if self.thread is not None:
            self.thread.join(CANCEL_GRACE_S)
        left = [future for future in list(self.futures) if not future.done()]
        if left:
            self.client.cancel(left)

    def release(self) -> None:
        """Forget the job's futures (and its plans, when they were scattered) on the cluster."""
        futures = list(self.futures)
        self.futures.clear()
        shipped = getattr(self, "shipped", None)  # none when the start failed before shipping
        if shipped is not None:
            futures.append(shipped)
        try:
            if futures:
                self.client.cancel(futures)
        except Exception:
            logger.debug("releasing the job's Dask futures failed", exc_info=True)
