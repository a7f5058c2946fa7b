"""The runs of a scenario batch loaded from JSON lines, each ScenarioResult built on first access.

A JSON-lines file holds each scenario run as a row of cells (:mod:`russo_nb.model.records`). Loading a
10,000-run file used to build all 10,000 :class:`~russo_nb.scenario.result.ScenarioResult` objects (their
transcripts, criteria, lifecycles) at load, 3.4× the bare ``json.loads`` of its lines. A loaded scenario
batch now keeps each line's parsed cells and builds run ``i`` (:meth:`RowDecoder.run
<russo_nb.model.records.RowDecoder.run>`, the same builder) the first time it is asked for. The load still
checks what is cheap (each line is a row of the right length whose status is a run status); a damaged
cell is the same one-line error naming the file and line, raised when that run is first built.

The runs are :class:`~russo_nb.model.types.ColumnarRuns`: counts come from the status cells and
``to_dataframe()`` (:func:`russo_nb.analysis.run_table`) reads each run field as a column of cells
(:meth:`ScenarioRowRuns.field_values`), decoded as the builder decodes it; a field a run model computes
(``prompt``, ``eval_result``, ``audio_key`` ...) is its :class:`ScenarioResult` property, read on a row
of decoded cells. A cell the builder would fix or refuse makes the column unanswered, so the frame is
built from the runs, which names the line.
"""

from __future__ import annotations

from collections import Counter, namedtuple
from collections.abc import Callable
from itertools import zip_longest
from operator import itemgetter
from typing import Any

import numpy as np

from ..model.errors import RussoError
from ..model.lazy_runs import collections_paused
from ..model.records import RecordField, RowDecoder, cell_taken, record_fields
from .result import ScenarioResult
from .table_runs import ScenarioRunsOnDemand

__all__ = ["ScenarioRowRuns", "check_rows"]

_READ_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RussoError, RecursionError)


def check_rows(rows: list[Any], fields: tuple[RecordField, ...]) -> int | None:
    """The index of the first row that is not a list of the right length with a run status; None when all are."""
    required = sum(1 for spec in fields if not spec.optional)
    most = len(fields)
    status = next(index for index, spec in enumerate(fields) if spec.name == "status")
    known = cell_taken("status")
    assert known is not None
    try:  # the usual file, checked in C passes: lists, of lengths and statuses seen once each
        if set(map(type, rows)) <= {list} and all(required <= n <= most for n in set(map(len, rows))):
            if all(known(cell) for cell in set(map(itemgetter(status), rows))):
                return None
    except TypeError:  # an unhashable status cell: the row by row look below names it
        pass
    for index, cells in enumerate(rows):
        if type(cells) is not list or not required <= len(cells) <= most:
            return index
        try:
            if not known(cells[status]):
                return index
        except TypeError:  # a list or dict where the status is
            return index
    return None


_STUB_FIELDS = ("name", "status", "messages", "reasoning", "expected_calls", "success", "agent_time")
"""The fields a row of decoded cells carries for :class:`ScenarioResult`'s properties (the cheap ones to decode)."""


class _Cells(namedtuple("_Cells", _STUB_FIELDS)):
    """One row's decoded cells as attributes; :class:`ScenarioResult`'s properties read them (copied below)."""

    __slots__ = ()


for _name, _value in vars(ScenarioResult).items():
    if isinstance(_value, property) and _name not in _STUB_FIELDS:
        setattr(_Cells, _name, _value)


class ScenarioRowRuns(ScenarioRunsOnDemand):
    """Scenario runs as their JSON-lines rows (``rows[i]``, parsed from line ``lines[i]``), each built once.

    ``fail(line, what)`` makes the one-line error of a damaged line (naming the file); ``what`` is the exception
    the line's cells raised, or a text saying what is wrong.
    """

    def __init__(
        self,
        rows: list[list[Any]],
        lines: list[int],
        decoder: RowDecoder,
        fail: Callable[[int, BaseException | str], Exception],
    ) -> None:
        super().__init__(len(rows))
        self._rows: list[list[Any]] | None = rows
        self._lines = lines
        self._decoder = decoder
        self._fail = fail
        self._fields = {spec.name: (index, spec) for index, spec in enumerate(record_fields("scenarios"))}
        self._columns: dict[str, tuple[Any, list[Any]] | None] = {}
        self._transposed: list[tuple[Any, ...]] | None = None  # the cells column by column, made once
        self._stubs: list[_Cells] | None = None

    # -- counts and columns (ColumnarRuns) ---------------------------------------------------------

    def status_counts(self) -> dict[str, int]:
        """How many runs ended in each status (first-seen order), from the status cells."""
        if self._list is not None:
            from ..model.types import count_statuses

            return count_statuses(self._list)
        index = self._fields["status"][0]
        return dict(Counter(cells[index] for cells in self._rows or ()))

    def field_values(self, name: str) -> tuple[Any, list[Any]] | None:
        """Run field or property ``name`` of every run, ``(None, values)`` or ``(codes, distinct values)``.

        None when the runs are a list now, when ``name`` is not a scenario run's, or when a cell is not what the
        builder takes as it is (the caller then reads the runs, and a damaged line is its error).
        """
        if self._list is not None or self._rows is None:
            return None
        if name not in self._columns:
            try:
                with collections_paused(kept=True):  # the column is kept for the next frame
                    self._columns[name] = self._column(name)
            except _READ_ERRORS:
                self._columns[name] = None
        return self._columns[name]

    def _column(self, name: str) -> tuple[Any, list[Any]] | None:
        if name == "name":  # a reference into the prompts table: its codes
            index, spec = self._fields[name]
            refs = self._cells(index)
            names = self._decoder.prompts
            if not all(type(ref) is int and 0 <= ref < len(names) for ref in refs):
                return None
            assert spec.decode is not None
            return np.asarray(refs, dtype=np.int64), [spec.decode(self._decoder, ref) for ref in range(len(names))]
        if name in self._fields:
            return None, self._decoded(*self._fields[name])
        if isinstance(getattr(ScenarioResult, name, None), property):
            return None, [getattr(stub, name) for stub in self._row_cells()]
        return None

    def _cells(self, index: int) -> list[Any] | tuple[Any, ...]:
        """Cell ``index`` of every row; a trailing cell left off is None."""
        if self._transposed is None:
            assert self._rows is not None
            self._transposed = list(zip_longest(*self._rows)) if self._rows else []
        return self._transposed[index] if index < len(self._transposed) else (None,) * len(self._rows or ())

    def _decoded(self, index: int, spec: RecordField) -> list[Any]:
        """Field ``spec``'s value in every row, as the builder makes it (a cell it would fix raises ValueError)."""
        if spec.also:
            raise ValueError(f"{spec.name} comes with {spec.also}")
        cells = self._cells(index)
        assert self._rows is not None
        absent = [len(row) <= index for row in self._rows] if spec.optional else None
        if spec.decode is None:
            if absent is not None and any(absent):
                fill = spec.default() if spec.default is not None else None
                cells = [fill if gone else cell for cell, gone in zip(cells, absent, strict=True)]
            ok = cell_taken(spec.check)
            if ok is not None and not all(map(ok, cells)):
                raise ValueError(f"a {spec.name} cell the builder would fix or refuse")
            return cells
        decode, dec, default = spec.decode, self._decoder, spec.default
        if spec.optional and default is not None:
            return [default() if cell is None else decode(dec, cell) for cell in cells]
        return [decode(dec, cell) for cell in cells]

    def _row_cells(self) -> list[_Cells]:
        """Each row's cheaply decoded fields as an object :class:`ScenarioResult`'s properties read (made once)."""
        if self._stubs is None:
            columns = []
            for name in _STUB_FIELDS:
                stored = self.field_values(name)
                if stored is None:
                    raise ValueError(f"the {name} cells are not all readable")
                codes, values = stored
                columns.append(values if codes is None else [values[code] for code in codes.tolist()])
            self._stubs = list(map(_Cells._make, zip(*columns, strict=True)))
        return self._stubs

    # -- building runs ------------------------------------------------------------------------------

    def _build(self, row: int) -> ScenarioResult:
        """Run ``row`` from its cells; a damaged cell is one error naming the file and line."""
        assert self._rows is not None
        try:
            return self._decoder.run(self._rows[row])
        except _READ_ERRORS as exc:
            raise self._fail(self._lines[row], exc) from None

    def _drop(self) -> None:
        self._rows = None
        self._columns = {}
        self._transposed = self._stubs = None
