"""A batch's runs kept as columns, each run object built on first access.

Loading a 100,000-run CSV / Parquet export used to build 100,000
:class:`~russo_nb.model.types.SingleRunResult` objects before anyone looked at one. A loaded
batch now keeps its runs as the converted, validated columns of the file
(:class:`RunColumnStore`) and ``result.runs`` is a :class:`LazyRuns`: a sequence that builds
run ``i`` the first time it is asked for (and hands back the same object afterwards). Counts
(``pass_rate``, ``status_counts``, ``tally()``) come from the status column and the runs frame
from the stored columns (:func:`russo_nb.model.columns.table_columns`), so neither builds a run.

Everything a list of runs does works the same: ``len``, indexing, slicing (a list), iteration,
``==`` with a list, pickling and copying (as a plain list), ``BatchResult.model_dump()``.
The first mutation (``append``, item assignment, ``sort`` ...) turns the sequence into a plain
list kept inside it, after which it behaves exactly as that list.
"""

from __future__ import annotations

import contextlib
import gc
import operator
from collections.abc import Iterator, MutableSequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .columns import RUN_STATUSES
from .run_fields import declared, model_default
from .table_loads import Coded, Deferred
from .types import SingleRunResult, construct_fast

__all__ = ["Coded", "LazyRuns", "RunColumnStore", "RunsOnDemand", "collections_paused", "status_counts_of"]


def status_counts_of(codes: np.ndarray) -> dict[str, int]:
    """How many runs ended in each status, in first-seen order, from a status column (codes into RUN_STATUSES)."""
    counts = np.bincount(codes, minlength=len(RUN_STATUSES))
    seen = [code for code in range(len(RUN_STATUSES)) if counts[code]]
    first = {code: int(np.argmax(codes == code)) for code in seen}
    return {RUN_STATUSES[code]: int(counts[code]) for code in sorted(seen, key=first.__getitem__)}


@contextlib.contextmanager
def collections_paused(*, kept: bool = False) -> Iterator[None]:
    """No garbage collection inside (restored after): building the objects of 10,000 runs beside a large loaded
    file would otherwise trigger many full collections, each walking every object of the file (seconds in all).

    ``kept``: what is made inside is kept (a loaded batch's rows): on leaving, the objects the collector tracks
    move to its oldest generation (``gc.freeze()`` then ``gc.unfreeze()``: a list splice), where the first
    allocation after would otherwise scan every one of them as young (a third of a 10,000-run scenario load)
    only to find them alive. Not done when the program froze objects itself (``gc.get_freeze_count()``).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if kept and not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


@dataclass
class RunColumnStore:
    """The columns of a batch's runs, converted and validated (one entry per run field a table keeps).

    ``coded``: the fields kept as distinct values (values are the field values): each text or bool field
    with a column of its own (prompt, audio_key, ...) and each field made by the ``load`` it declares
    (status: codes into :data:`~russo_nb.model.columns.RUN_STATUSES`, prompt_id, eval_result, error,
    effects, retried, conditions, response; :mod:`russo_nb.model.table_loads`), or a function making
    them when first asked for. ``numbers``: each number or time field with a column of its own
    (run_index, latency_s, synth_s, attempts, seed, started_at) as a float array (NaN for missing),
    made the field's Python values by its declared dtype (:data:`russo_nb.model.run_fields.FIELDS`).
    """

    n: int
    coded: dict[str, Coded | Deferred]
    numbers: dict[str, np.ndarray] = field(default_factory=dict)

    def column(self, name: str) -> Coded:
        """Field ``name``'s values as codes into distinct values (a deferred one made now, once)."""
        values = self.coded[name]
        if callable(values):
            values = self.coded[name] = values()
        return values

    @property
    def status(self) -> np.ndarray:
        """Each run's status as codes into :data:`~russo_nb.model.columns.RUN_STATUSES`."""
        return self.column("status")[0]


def _optional_list(values: np.ndarray, whole: bool = False) -> list[Any]:
    """A float column as a list of Python floats (ints when ``whole``), None where it is NaN."""
    missing = np.isnan(values)
    cells = np.where(missing, 0, values).astype(np.int64).astype(object) if whole else values.astype(object)
    if missing.any():
        cells[missing] = None
    return cells.tolist()


def _left_out() -> dict[str, Any]:
    """The prompt-run fields no run-table column keeps (the transcript), with the value a loaded run gets."""
    return {spec.name: model_default("prompts", spec.name) for spec in declared("prompts") if spec.not_in_table}


def _cell_fields() -> tuple[str, ...]:
    """The run fields built from per-row cells: every declared field of a prompt run but those a table leaves out."""
    return tuple(spec.name for spec in declared("prompts") if not spec.not_in_table)


class RunsOnDemand(MutableSequence[Any]):
    """A list of runs whose run objects are built when first asked for: the list behaviour of lazily loaded runs.

    A subclass says how many runs there are (``__len__``), builds one (``_get``) or all (``_build_all``), and turns
    itself into a plain list on the first mutation (``_materialize``, which sets ``_list``); this class gives
    indexing, slicing (a list), iteration, mutation, ``==`` with a list, ``+``, pickling and copying (as a plain list).
    """

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    _list: list[Any] | None = None

    def _get(self, row: int) -> Any:
        raise NotImplementedError

    def _build_all(self) -> list[Any]:
        raise NotImplementedError

    def _materialize(self) -> list[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    # -- the sequence -------------------------------------------------------------------------------

    def __getitem__(self, index: Any) -> Any:
        if self._list is not None:
            return self._list[index]
        n = len(self)
        if isinstance(index, slice):
            rows = range(*index.indices(n))
            if rows == range(n):
                return list(self._build_all())
            return [self._get(row) for row in rows]
        row = operator.index(index)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError("list index out of range")
        return self._get(row)

    def __iter__(self) -> Iterator[Any]:
        if self._list is not None:
            return iter(self._list)
        return iter(self._build_all())

    def __setitem__(self, index: Any, value: Any) -> None:
        self._materialize()[index] = value

    def __delitem__(self, index: Any) -> None:
        del self._materialize()[index]

    def insert(self, index: int, value: Any) -> None:
        """Insert ``value`` before ``index`` (the runs become a plain list)."""
        self._materialize().insert(index, value)

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        """Sort in place, as ``list.sort`` (the runs become a plain list)."""
        self._materialize().sort(key=key, reverse=reverse)

    def copy(self) -> list[Any]:
        """A shallow copy as a plain list."""
        return list(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, RunsOnDemand)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    def __add__(self, other: Any) -> list[Any]:
        if not isinstance(other, (list, RunsOnDemand)):
            return NotImplemented
        return list(self) + list(other)

    def __radd__(self, other: Any) -> list[Any]:
        if not isinstance(other, list):
            return NotImplemented
        return other + list(self)

    def __mul__(self, times: int) -> list[Any]:
        return list(self) * times

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return repr(list(self))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and copied as the plain list of runs it stands for."""
        return (list, (list(self),))


class LazyRuns(RunsOnDemand):
    """The runs of a loaded batch: stored as columns, each SingleRunResult built once on first access."""

    def __init__(self, store: RunColumnStore) -> None:
        self._store: RunColumnStore | None = store
        self._built: list[SingleRunResult | None] | None = None
        self._rows: dict[str, list[Any]] | None = None
        self._list: list[SingleRunResult] | None = None  # set by the first mutation
        self._complete = False  # every run built
        self._fields = _cell_fields()
        self._left_out = _left_out()

    @property
    def built_count(self) -> int:
        """How many run objects exist so far (all of them once mutated into a plain list)."""
        if self._list is not None:
            return len(self._list)
        if self._built is None:
            return 0
        return len(self._built) if self._complete else sum(run is not None for run in self._built)

    # -- what the columns answer without building runs ----------------------------------------

    def status_counts(self) -> dict[str, int]:
        """How many runs ended in each status, in first-seen order (from the status column)."""
        if self._store is None:
            from .types import count_statuses

            return count_statuses(self._list or [])
        return status_counts_of(self._store.status)

    def field_values(self, name: str) -> tuple[list[int] | None, list[Any]] | None:
        """Run field ``name`` for every run: ``(codes, distinct values)`` or ``(None, values)``; None once mutated."""
        store = self._store
        if store is None:
            return None
        if name in store.coded:
            codes, values = store.column(name)
            return codes.tolist(), values
        if name in self._left_out:
            return [0] * store.n, [self._left_out[name]]
        if name in store.numbers:
            return None, self._numbers()[name]
        return None

    # -- building runs ------------------------------------------------------------------------------

    def _numbers(self) -> dict[str, list[Any]]:
        """The number columns as the Python values a run holds (None for missing), made once."""
        if self._rows is None:
            numbers = self._store.numbers  # type: ignore[union-attr]
            dtypes = {spec.name: spec.dtype for spec in declared("prompts")}
            rows = {}
            for name, values in numbers.items():
                if dtypes[name] == "int":  # a whole number; missing: the field's default (attempts: 1)
                    missing = np.isnan(values)
                    if missing.any():
                        values = np.where(missing, model_default("prompts", name), values)
                    rows[name] = values.astype(np.int64).tolist()
                else:  # float, datetime (epoch seconds), Int64: None when missing
                    rows[name] = _optional_list(values, whole=dtypes[name] == "Int64")
            self._rows = rows
        return self._rows

    def _cells(self) -> dict[str, list[Any]]:
        """Every run field as a plain per-row list (what building runs reads), made once."""
        rows = self._numbers()
        if "prompt" not in rows:
            store = self._store
            assert store is not None
            for name in store.coded:
                codes, values = store.column(name)
                rows[name] = [values[code] for code in codes.tolist()]
        return rows

    def _build(self, row: int) -> SingleRunResult:
        cells = self._cells()
        return self._run(row, [cells[name][row] for name in self._fields])

    def _run(self, row: int, values: list[Any] | tuple[Any, ...]) -> SingleRunResult:
        """Run ``row`` from its cells (in :func:`_cell_fields` order) and the defaults of the rest."""
        fields = dict(zip(self._fields, values))
        fields.update(self._left_out)  # a run table file keeps no transcript
        return construct_fast(SingleRunResult, fields)

    def _build_all(self) -> list[SingleRunResult]:
        """Every run not built yet, built in one pass over the per-row lists."""
        built = self._built
        if built is None:
            built = self._built = [None] * self._store.n  # type: ignore[union-attr]
        if self._complete:
            return built  # type: ignore[return-value]
        cells = self._cells()
        for row, values in enumerate(zip(*(cells[name] for name in self._fields))):
            if built[row] is None:
                built[row] = self._run(row, values)
        self._complete = True
        self._rows = None  # every run is built: the per-row lists are no longer needed
        return built  # type: ignore[return-value]

    def _get(self, row: int) -> SingleRunResult:
        built = self._built
        if built is None:
            built = self._built = [None] * self._store.n  # type: ignore[union-attr]
        run = built[row]
        if run is None:
            run = built[row] = self._build(row)
        return run

    def _materialize(self) -> list[SingleRunResult]:
        """Every run as a plain list, from now on the only storage (the columns are dropped)."""
        if self._list is None:
            self._list = list(self._build_all())
            self._store = self._built = self._rows = None
        return self._list

    def __len__(self) -> int:
        return len(self._list) if self._list is not None else self._store.n  # type: ignore[union-attr]
