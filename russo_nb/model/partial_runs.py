"""The runs of a stopped batch: the finished ones, and a count of unfinished ones per prompt.

Cancelling a batch of 1 prompt × 1,000,000 runs after a few hundred used to build a
``cancelled`` result object for every run that never started (66 s and 2.7 GB in
``result()``; 10 × 1M ended in ``MemoryError``). :class:`PartialRuns` keeps the finished
results and builds a ``cancelled`` run only when someone looks at it (and forgets it
afterwards unless it was indexed). Counts (``status_counts``) and the per-prompt columns the
view and the runs frame read (:meth:`field_values`) come without building the unfinished
runs; iterating builds each one on the fly, one at a time.

A job run on a Dask cluster keeps each chunk's runs as rows (:class:`~russo_nb.model.run_blocks.RunBlock`,
one object per chunk standing in each of its slots): its results are a :class:`PartialRuns` too, every run
finished or not, whose counts come from the blocks' status columns and whose finished runs are built from
their rows when looked at (and kept in the slot's place).

It is a :class:`~russo_nb.model.lazy_runs.LazyRuns`: indexing, slicing, ``len``, ``==`` with a list,
pickling (as a plain list) and the first mutation (which turns it into a plain list) behave
the same.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from .lazy_runs import LazyRuns
from .run_blocks import RunBlock, RunsOfRows

__all__ = ["PartialRuns", "UnitRuns", "present"]


def present(values: Sequence[Any]) -> np.ndarray:
    """Which entries are not ``None``, as a boolean array (a C-level pass: a million slots in milliseconds)."""
    return np.fromiter(map(operator.is_not, values, repeat(None)), dtype=bool, count=len(values))


@dataclass
class UnitRuns:
    """One unit (prompt, scenario) of a stopped batch: its finished runs, and its unfinished ones as a count."""

    example: Any
    """A run of the unit (its first finished run, else its run 0 built and not kept): its prompt / name."""
    finished: list[Any]
    """The results that came back, in run order (a run stopped mid-flight may itself say ``cancelled``)."""
    unfinished: int
    """Runs that never finished: counted, not built."""
    first_unfinished: int
    """The run index of the first unfinished run (``-1`` when every run finished)."""


class PartialRuns(LazyRuns):
    """``results`` (unit-major, ``None`` for a run that never finished) with unfinished runs built on access.

    A result may be a :class:`~russo_nb.model.run_blocks.RunBlock` holding the slot's run as a row: it is built
    on access too, through ``rows`` (the job plan's :class:`~russo_nb.model.run_blocks.RunsOfRows`, of whose
    results ``results`` is a copy), which keeps it in the slot's place here, in the job's and in every other
    result's that still holds the block: once every run of a block is built, the block is freed.
    ``runs`` is the number of runs per unit (prompt, scenario); ``fill(slot)`` builds the ``cancelled`` result
    of slot ``slot`` (= ``unit * runs + run``).
    """

    def __init__(
        self, results: list[Any], runs: int, fill: Callable[[int], Any], rows: RunsOfRows | None = None
    ) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self._results = results
        self._shared = rows
        if rows is not None:
            rows.add(self)
        self._runs = max(1, runs)
        self._fill = fill
        self._made: dict[int, Any] = {}
        self._counts: dict[str, int] | None = None
        self._kept: np.ndarray | None = None

    def _finished_slots(self) -> np.ndarray:
        """The slots whose run came back, found once (one C-level pass over the slots)."""
        if self._kept is None:
            self._kept = np.flatnonzero(present(self._results))
        return self._kept

    @property
    def unfinished_count(self) -> int:
        """Runs that never finished (counted, not built)."""
        if self._list is not None:  # a plain list now: every cancelled run is an object
            return self.status_counts().get("cancelled", 0)
        return len(self._results) - len(self._finished_slots())

    @property
    def built_count(self) -> int:
        """How many unfinished runs were built as objects and kept (looked at by index)."""
        if self._list is not None:
            return len(self._list)
        return len(self._made)

    def status_counts(self) -> dict[str, int]:
        """How many runs ended in each status, the unfinished ones counted as ``cancelled``."""
        if self._list is not None:
            from .types import count_statuses

            return count_statuses(self._list)
        if self._counts is None:
            counts: dict[str, int] = {}
            kept = self._finished_slots().tolist()
            results = self._results
            for slot in kept:
                run = results[slot]
                status = (run.status_of(slot) if type(run) is RunBlock else run.status) or "failed"
                counts[status] = counts.get(status, 0) + 1
            unfinished = len(self._results) - len(kept)
            if unfinished:
                counts["cancelled"] = counts.get("cancelled", 0) + unfinished
            self._counts = counts
        return dict(self._counts)

    def field_values(self, name: str) -> tuple[np.ndarray | list[int] | None, list[Any]] | None:
        """Run field ``name`` for every run as ``(codes, values)``: one value per prompt for the unfinished runs.

        ``codes`` is an integer array (a million codes as Python ints would cost more than the rest).
        """
        if self._list is not None:
            return None
        results = self._results
        n = len(results)
        if name == "run_index":
            return None, (np.arange(n, dtype=np.int64) % self._runs).tolist()
        units = n // self._runs
        try:
            placeholders = [getattr(self._fill(unit * self._runs), name) for unit in range(units)]
        except AttributeError:
            return None
        finished = self._finished_slots().tolist()
        codes = np.repeat(np.arange(units, dtype=np.int64), self._runs)
        codes[finished] = np.arange(units, units + len(finished), dtype=np.int64)
        values = placeholders + [self._field(slot, name) for slot in finished]  # the fill's run type
        return codes, values

    def units(self) -> list[UnitRuns] | None:
        """Per unit in order: its finished runs and a count of its unfinished ones, building at most one run a unit.

        What the view aggregates per prompt (:func:`russo_nb.results.view.model.prompt_rows`, the summary's
        lines): a stopped 1 × 1M batch is read in milliseconds. None once the runs became a list.
        """
        if self._list is not None:
            return None
        results, per = self._results, self._runs
        kept = self._finished_slots()
        bounds = np.searchsorted(kept, np.arange(0, len(results) + 1, per)).tolist()
        out = []
        for unit in range(len(results) // per):
            slots = kept[bounds[unit] : bounds[unit + 1]].tolist()
            first = -1
            if len(slots) < per:  # the first run index not among the finished ones
                start = unit * per
                first = next((i for i, slot in enumerate(slots) if slot != start + i), len(slots))
            finished = [self._finished(slot) for slot in slots]
            example = finished[0] if finished else self._fill(unit * per)  # built, not kept
            out.append(UnitRuns(example, finished, per - len(slots), first))
        return out

    # -- building runs -------------------------------------------------------------------------

    def _finished(self, slot: int) -> Any:
        """The run that came back for ``slot``: built from its block's row the first time (then kept)."""
        run = self._results[slot]
        if type(run) is RunBlock:
            run = self._from_block(slot, run)
        return run

    def _field(self, slot: int, name: str) -> Any:
        """Field ``name`` of the run that came back for ``slot``: from its row when it is kept as one and the row's
        cell gives it alone (no run built: ``result.prompts``, ``repr``), else from the run."""
        run = self._results[slot]
        if type(run) is RunBlock:
            try:
                return run.field_of(slot, name)
            except LookupError:
                run = self._from_block(slot, run)
        return getattr(run, name)

    def _from_block(self, slot: int, block: RunBlock) -> Any:
        """Slot ``slot``'s run built from ``block`` (once for the job: see ``rows``), kept in its place here."""
        rows = self._shared
        run = self._results[slot] = block.run_of(slot) if rows is None else rows.run_of(slot, block)
        return run

    def adopt(self, slot: int, block: RunBlock, run: Any) -> None:
        """Slot ``slot``'s run, built from ``block`` by another holder: kept here too if this still holds the block."""
        results = self._results
        if self._list is None and slot < len(results) and results[slot] is block:
            results[slot] = run

    def _get(self, row: int) -> Any:
        run = self._results[row]
        if type(run) is RunBlock:
            run = self._from_block(row, run)
        elif run is None:
            run = self._made.get(row)
            if run is None:
                run = self._made[row] = self._fill(row)
        return run

    def _iter_runs(self) -> Iterator[Any]:
        made = self._made
        fill = self._fill
        results = self._results
        for slot, run in enumerate(results):
            if run is None:
                run = made.get(slot) or fill(slot)
            elif type(run) is RunBlock:
                run = self._from_block(slot, run)
            yield run

    def _build_all(self) -> list[Any]:
        return list(self._iter_runs())

    def _materialize(self) -> list[Any]:
        if self._list is None:
            self._list = self._build_all()
            self._results, self._made, self._counts, self._kept = [], {}, None, None
        return self._list

    def __len__(self) -> int:
        return len(self._list) if self._list is not None else len(self._results)

    def __iter__(self) -> Iterator[Any]:
        if self._list is not None:
            return iter(self._list)
        return self._iter_runs()
