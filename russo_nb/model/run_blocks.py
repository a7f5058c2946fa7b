"""One shipped chunk's runs kept as its rows, each run built when someone looks at it (the Dask driver's store).

A Dask chunk comes back as one blob of run rows (:func:`russo_nb.execution.dask_executor.encode_rows`).
Building a run object for each of its rows as it arrives made the driver hold what the in-process engine
holds (~600 bytes per run) and more: the decoded rows are the runs' values once again, and in a second
process. A :class:`RunBlock` keeps the chunk's decoded columns (a list per cell position: a few pointers
per run, the shared tables once) and builds run ``i`` from its row only when it is asked for, as a loaded
CSV / Parquet batch does (:mod:`russo_nb.model.lazy_runs`).

A job stores the block itself in each of its result slots (no object per run): :meth:`RunBlock.status_of`
answers the counts (``job.progress``, ``result.status_counts``, ``tally()``) from the status column, and
:class:`~russo_nb.model.partial_runs.PartialRuns` builds a slot's run with :meth:`RunBlock.run_of` when it is
indexed or iterated, through the plan's :class:`RunsOfRows`, which keeps it in the job's slot and in every
result handed out (one run object per slot; a block freed once its runs are built). Which row a slot is lives
in one array per job plan (4 bytes a run), shared by the blocks of that plan.

The cells are checked when a run is built, not when the block arrives (the blob comes from this job's own
workers; its kind, version, fields, tables and status column are checked on arrival): a cell that does not
decode is then one :class:`~russo_nb.model.errors.InvalidArgumentError` naming the damaged blob.
"""

from __future__ import annotations

import weakref
from array import array
from typing import Any

from .errors import RussoError

__all__ = ["RunBlock", "RunsOfRows", "plan_positions"]


def plan_positions(total: int) -> array:
    """The row of each of a plan's ``total`` slots in the block that holds it (filled by :meth:`RunBlock.keep`)."""
    return array("i", bytes(4 * total))


class RunBlock:
    """The rows of one chunk's runs of one plan: the chunk's decoder and columns, and its plan's slot positions.

    ``decoder``: the chunk's :class:`~russo_nb.model.records.RowDecoder` (its shared tables, decoded once);
    ``columns``: the rows' cells, one list per cell position (:func:`~russo_nb.model.records.rows_to_columns`);
    ``status``: the index of the status cell; ``positions``: the plan's :func:`plan_positions`.
    """

    __slots__ = ("__weakref__", "_columns", "_decoder", "_positions", "_statuses", "built")

    built: int
    """How many runs this block object built so far (a count for tests and benchmarks)."""

    def __init__(self, decoder: Any, columns: list[list[Any]], statuses: list[str], positions: array) -> None:
        self._decoder = decoder
        self._columns = columns
        self._statuses = statuses
        self._positions = positions
        self.built = 0

    @classmethod
    def from_payload(
        cls, payload: Any, texts: dict[str, str] | None = None, positions: array | None = None
    ) -> RunBlock:
        """A block of a chunk's payload (:func:`~russo_nb.model.records.runs_payload`, rows as columns).

        Its kind, version, fields, tables and clips are checked and decoded now, and its status column;
        a damaged one is an InvalidArgumentError. ``positions``: its plan's (:meth:`for_plan` gives the block
        of each plan its chunk spans); ``texts``: see :class:`~russo_nb.model.records.RowDecoder`.
        """
        from .records import SHARED_STATUSES, damaged_blob, open_payload

        decoder = open_payload(payload, texts)
        try:
            columns = payload["columns"]
            if len({len(column) for column in columns}) > 1:
                raise ValueError("its columns are not all as long")
            status = [spec.name for spec in decoder.fields].index("status")
            statuses = [SHARED_STATUSES[value] for value in columns[status]]  # each status the one shared copy
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise damaged_blob(exc) from None
        columns[status] = statuses  # the column as built runs read it: the same strings
        return cls(decoder, columns, statuses, array("i") if positions is None else positions)

    def for_plan(self, positions: array) -> RunBlock:
        """The same chunk's block for another plan of the job (a suite's chunk spans plans)."""
        return RunBlock(self._decoder, self._columns, self._statuses, positions)

    def __len__(self) -> int:
        """Rows in the chunk (all its plans')."""
        return len(self._statuses)

    # -- by row of the chunk (what the driver delivers) ----------------------------------------------

    def status_at(self, row: int) -> str:
        """The status of the chunk's row ``row``."""
        return self._statuses[row]

    def run_at(self, row: int) -> Any:
        """The run of the chunk's row ``row``, built now (a new object each call)."""
        try:
            run = self._decoder.run([column[row] for column in self._columns])
        except (ValueError, TypeError, KeyError, IndexError, RussoError) as exc:
            from .records import damaged_blob

            raise damaged_blob(exc) from None
        self.built += 1
        return run

    def keep(self, slot: int, row: int) -> None:
        """The job keeps row ``row`` as its plan's slot ``slot``: :meth:`status_of` / :meth:`run_of` find it there."""
        self._positions[slot] = row

    # -- by the plan's slot (what a job's results hold) ----------------------------------------------

    def status_of(self, slot: int) -> str:
        """The status of the run the job keeps in slot ``slot`` (no run built)."""
        return self._statuses[self._positions[slot]]

    def run_of(self, slot: int) -> Any:
        """The run the job keeps in slot ``slot``, built now (its holder keeps it in the slot's place)."""
        return self.run_at(self._positions[slot])

    def field_of(self, slot: int, name: str) -> Any:
        """Field ``name`` of the run kept in slot ``slot``, read from its row's cell: no run built.

        What ``result.prompts`` and a result's ``repr`` read (``repr`` is called more than it seems: asyncio.run
        formats its main task's result). A LookupError when the field is not one required cell of the row
        that decodes alone (an optional cell, a plain cell with its check, a field a run computes): build the
        run for it then.
        """
        index, spec = _field_cell(self._decoder.kind, name)
        try:
            value = spec.decode(self._decoder, self._columns[index][self._positions[slot]])
        except (ValueError, TypeError, KeyError, IndexError, RussoError) as exc:
            from .records import damaged_blob

            raise damaged_blob(exc) from None
        return value[0 if name == spec.name else 1 + spec.also.index(name)] if spec.also else value

    def __repr__(self) -> str:
        return f"<RunBlock of {len(self)} rows, {self.built} built>"


_FIELD_CELLS: dict[tuple[str, str], tuple[int, Any] | None] = {}


def _field_cell(kind: str, name: str) -> tuple[int, Any]:
    """The position and record field of the required, decoded cell carrying field ``name`` of a ``kind`` run."""
    key = (kind, name)
    if key not in _FIELD_CELLS:
        from .records import record_fields

        found = None
        for index, spec in enumerate(record_fields(kind)):
            if (spec.name == name or name in spec.also) and spec.decode is not None and not spec.optional:
                found = (index, spec)
        _FIELD_CELLS[key] = found
    found = _FIELD_CELLS[key]
    if found is None:
        raise LookupError(f"a {kind} run's field {name!r} is not one required cell of its row")
    return found


class RunsOfRows:
    """A job plan's results holding runs kept as rows, and every result sequence copied from them.

    Each ``job.result()`` hands out its own copy of the plan's slots (a
    :class:`~russo_nb.model.partial_runs.PartialRuns`: a running job's result is a snapshot). A run built
    from its block in any of them is put in the job's slot and in every live copy still holding that block:
    a slot's run is one object whichever result built it (``r1.runs[i] is r2.runs[i]``, as in process), and
    a block is freed once its runs are built, not kept alive by an older result nobody reads any more.
    """

    __slots__ = ("copies", "results")

    def __init__(self, results: list[Any]) -> None:
        self.results = results
        self.copies: list[weakref.ref[Any]] = []  # weak: a result nobody holds any more is not kept alive

    def add(self, copy: Any) -> None:
        """A result sequence copied from the plan's results (its ``adopt(slot, block, run)`` is called)."""
        self.copies = [ref for ref in self.copies if ref() is not None]
        self.copies.append(weakref.ref(copy))

    def run_of(self, slot: int, block: RunBlock) -> Any:
        """Slot ``slot``'s run, built from ``block`` the first time, and kept in the job's and every copy's slot."""
        results = self.results
        run = results[slot]
        if run is block:  # not built yet
            run = results[slot] = block.run_of(slot)
        elif run is None or type(run) is RunBlock:  # not the job's slot (it keeps a slot's first block): built alone
            run = block.run_of(slot)
        # else another holder built it: the same run object
        for ref in self.copies:
            copy = ref()
            if copy is not None:
                copy.adopt(slot, block, run)
        return run

    def run_in(self, slot: int) -> Any:
        """Slot ``slot``'s run: built from its block (and kept, as :meth:`run_of`) while it is still a row."""
        run = self.results[slot]
        return self.run_of(slot, run) if type(run) is RunBlock else run

    def built(self) -> list[Any]:
        """The plan's results with every block's run built (and kept): what a resume reads."""
        results = self.results
        for slot, entry in enumerate(results):
            if type(entry) is RunBlock:
                self.run_of(slot, entry)
        return list(results)
