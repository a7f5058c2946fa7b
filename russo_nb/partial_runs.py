"""The runs of a stopped batch: the finished ones, and a count of unfinished ones per prompt.

Cancelling a batch of 1 prompt × 1,000,000 runs after a few hundred used to build a
``cancelled`` result object for every run that never started (66 s and 2.7 GB in
``result()``; 10 × 1M ended in ``MemoryError``). :class:`PartialRuns` keeps the finished
results and builds a ``cancelled`` run only when someone looks at it (and forgets it
afterwards unless it was indexed). Counts (``status_counts``) and the per-prompt columns the
view and the runs frame read (:meth:`field_values`) come without building the unfinished
runs; iterating builds each one on the fly, one at a time.

It is a :class:`~russo_nb.lazy_runs.LazyRuns`: indexing, slicing, ``len``, ``==`` with a list,
pickling (as a plain list) and the first mutation (which turns it into a plain list) behave
the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .lazy_runs import LazyRuns

__all__ = ["PartialRuns"]


class PartialRuns(LazyRuns):
    """``results`` (unit-major, ``None`` for a run that never finished) with unfinished runs built on access.

    ``runs`` is the number of runs per unit (prompt, scenario); ``fill(slot)`` builds the
    ``cancelled`` result of slot ``slot`` (= ``unit * runs + run``).
    """

    def __init__(self, results: list[Any], runs: int, fill: Callable[[int], Any]) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self._results = results
        self._runs = max(1, runs)
        self._fill = fill
        self._made: dict[int, Any] = {}
        self._counts: dict[str, int] | None = None

    @property
    def unfinished_count(self) -> int:
        """Runs that never finished (counted, not built)."""
        return self.status_counts().get("cancelled", 0) - sum(
            1 for run in self._results if run is not None and run.status == "cancelled"
        )

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
            unfinished = 0
            for run in self._results:
                if run is None:
                    unfinished += 1
                    continue
                status = run.status or "failed"
                counts[status] = counts.get(status, 0) + 1
            if unfinished:
                counts["cancelled"] = counts.get("cancelled", 0) + unfinished
            self._counts = counts
        return dict(self._counts)

    def field_values(self, name: str) -> tuple[list[int] | None, list[Any]] | None:
        """Run field ``name`` for every run as ``(codes, values)``: one value per prompt for the unfinished runs."""
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
        finished = [slot for slot, run in enumerate(results) if run is not None]
        codes = np.repeat(np.arange(units, dtype=np.int64), self._runs)
        codes[finished] = np.arange(units, units + len(finished), dtype=np.int64)
        values = placeholders + [getattr(results[slot], name, None) for slot in finished]
        return codes.tolist(), values

    # -- building runs -------------------------------------------------------------------------

    def _get(self, row: int) -> Any:
        run = self._results[row]
        if run is None:
            run = self._made.get(row)
            if run is None:
                run = self._made[row] = self._fill(row)
        return run

    def _iter_runs(self) -> Iterator[Any]:
        made = self._made
        fill = self._fill
        for slot, run in enumerate(self._results):
            if run is None:
                run = made.get(slot) or fill(slot)
            yield run

    def _build_all(self) -> list[Any]:
        return list(self._iter_runs())

    def _materialize(self) -> list[Any]:
        if self._list is None:
            self._list = self._build_all()
            self._results, self._made, self._counts = [], {}, None
        return self._list

    def __len__(self) -> int:
        return len(self._list) if self._list is not None else len(self._results)

    def __iter__(self) -> Iterator[Any]:
        if self._list is not None:
            return iter(self._list)
        return self._iter_runs()
