"""The runs of a scenario batch loaded from a CSV / Parquet table, each ScenarioResult built on first access.

A scenario table keeps every run's whole record as JSON (the ``scenario_run`` column) beside its
run-table columns. Loading a 10,000-run table used to parse and validate all 10,000 records into
:class:`~russo_nb.scenario.result.ScenarioResult` objects (about 30× the bare ``pandas.read_parquet``).
A loaded scenario batch now keeps each run's JSON text and builds run ``i`` (parse, validate, attach its
clips) the first time it is asked for. The load still checks what is cheap (the column is there, each
cell is text, each status is a run status); a damaged record is the same one-line error naming the file
and row, raised when that run is first built.

The table holds every column of the runs frame, so ``to_dataframe()`` of a loaded batch is read from those
columns without building a run (:meth:`ScenarioTableRuns.table_frame`, :func:`stored_frame`): each typed as its
declaration says (a CSV file's text cells as numbers, bools, times), the conditions from their JSON column.
A column that is not what its declaration says (a file edited by hand) gives the frame of the runs. The counts
(``pass_rate``, ``status_counts``) come from the status column; every other reader (the view, the explorer,
resume, sweeps, statistics) reads the runs (:meth:`ScenarioTableRuns.field_values` answers no field), building
them as a list would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..model.columns import table_codes
from ..model.errors import InvalidArgumentError
from ..model.lazy_runs import RunsOnDemand, status_counts_of
from ..model.lean import RunInterner
from ..model.run_fields import derived, frame_columns
from ..model.types import Audio, count_statuses
from .result import ScenarioResult

__all__ = ["ScenarioRunsOnDemand", "ScenarioTableRuns", "stored_frame"]


class ScenarioRunsOnDemand(RunsOnDemand):
    """Scenario runs kept as their stored form, run ``row`` built by ``_build(row)`` the first time it is asked for.

    The first mutation makes them a plain list of every run, after which ``_drop()`` lets the stored form go.
    """

    def __init__(self, n: int) -> None:
        self._built: list[ScenarioResult | None] = [None] * n
        self._list: list[ScenarioResult] | None = None

    @property
    def built_count(self) -> int:
        """How many run objects exist so far."""
        if self._list is not None:
            return len(self._list)
        return sum(run is not None for run in self._built)

    def _build(self, row: int) -> ScenarioResult:
        raise NotImplementedError

    def _drop(self) -> None:
        """Let the stored form go (the runs are a plain list now)."""

    def _get(self, row: int) -> ScenarioResult:
        run = self._built[row]
        if run is None:
            run = self._built[row] = self._build(row)
        return run

    def _build_all(self) -> list[ScenarioResult]:
        return [self._get(row) for row in range(len(self._built))]

    def _materialize(self) -> list[ScenarioResult]:
        """Every run as a plain list, from now on the only storage."""
        if self._list is None:
            self._list = self._build_all()
            self._drop()
        return self._list

    def __len__(self) -> int:
        return len(self._list) if self._list is not None else len(self._built)


class ScenarioTableRuns(ScenarioRunsOnDemand):
    """Scenario runs as their JSON records (``texts[codes[i]]`` for row ``i``), each built once on first access.

    ``frame``: the table as read, for :meth:`table_frame` (None: not kept).
    ``clips``: the clips read beside the file (:func:`russo_nb.report.export.attach_audio`); a run built
    afterwards gets the clips it names, as an eagerly loaded run did.
    """

    def __init__(
        self, codes: np.ndarray, texts: list[str], source: Path, frame: Any = None, status: np.ndarray | None = None
    ) -> None:
        super().__init__(len(codes))
        self._status = status
        self._codes: np.ndarray | None = codes
        self._texts: list[str] | None = texts
        self._source = source
        self._frame = frame
        self._interner = RunInterner()  # equal expected calls and conditions shared, as in the exported batch
        self.clips: dict[str, Audio] | None = None

    def status_counts(self) -> dict[str, int]:
        """How many runs ended in each status (first-seen order), from the status column when it was kept."""
        if self._list is not None or self._status is None:
            return count_statuses(self._list if self._list is not None else self._build_all())
        return status_counts_of(self._status)

    def field_values(self, name: str) -> None:
        """None: a table keeps a scenario run whole (its record), not as run fields; readers read the runs."""
        return None

    def table_frame(self, metadata: Any) -> Any:
        """The runs frame from the stored table's columns, typed as ``to_dataframe()`` types them; None when the
        table is not kept (the runs were changed) or a column is not what its declaration says (the frame is then
        built from the runs, whose records are exact)."""
        if self._frame is None or self._list is not None:
            return None
        try:
            return stored_frame(self._frame, metadata, csv=self._source.suffix.lower() != ".parquet")
        except (_Untyped, ValueError, TypeError, KeyError, RecursionError):
            return None

    def _build(self, row: int) -> ScenarioResult:
        """Run ``row`` from its JSON record; a damaged record is one error naming the file and row."""
        assert self._codes is not None and self._texts is not None
        try:
            data = json.loads(self._texts[self._codes[row]])
            keys = data.pop("audio", None) or []
            run = ScenarioResult.model_validate(data)
        except (ValueError, TypeError, AttributeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InvalidArgumentError(
                f"{str(self._source)!r} row {row + 1}: cannot read the scenario run ({first})"
            ) from None
        clips = self.clips
        run.audio = dict.fromkeys(keys) if clips is None else {key: clips[key] for key in keys if key in clips}
        values = run.__dict__
        values["expected_calls"] = [self._interner.call(call) for call in values["expected_calls"]]
        values["conditions"] = self._interner.conditions(values["conditions"])
        return run

    def _drop(self) -> None:
        self._codes = self._texts = self._frame = self._status = None


class _Untyped(Exception):
    """A stored column is not what its declaration says: the frame is built from the runs instead."""


def stored_frame(frame: Any, metadata: Any, *, csv: bool) -> Any:
    """The runs frame of a scenario batch from its stored table (CSV or Parquet), no run built.

    Each column of the frame is read from the file's column of that name and typed as its declaration
    (:func:`russo_nb.model.run_fields.frame_columns`) says, as :func:`russo_nb.analysis.run_table` types the
    cells of runs; ``score_<name>`` columns are numbers; the condition columns come from the ``conditions``
    JSON column (exact, where a CSV cell would not say a condition's type), the batch columns from
    ``metadata``. A CSV cell cannot tell ``''`` from None: an empty text cell reads as the column's value for
    a run whose field is empty (:func:`_blank_cells`). Raises :class:`_Untyped` when a column is missing or
    not of its declared type.
    """
    import pandas as pd

    from ..results.analysis.frames import coded_condition_columns

    specs = {spec.name: spec for spec in frame_columns("scenarios")}
    stored = [str(name) for name in frame.columns]
    if any(name not in stored for name in specs) or "conditions" not in stored:
        raise _Untyped
    file_only = {spec.name for spec in frame_columns("scenarios", files=True)} - set(specs)
    conditions = coded_condition_columns(*_conditions_cells(frame["conditions"]))
    if any(name in specs for name in conditions):
        raise _Untyped
    blanks = _blank_cells() if csv else {}
    n = len(frame)
    out: dict[str, Any] = {}
    for name in stored:
        if name in file_only or name in conditions:
            continue
        spec = specs.get(name)
        if spec is None:
            if not name.startswith("score_"):
                raise _Untyped
            out[name] = _numbers(frame[name])
        elif spec.batch:
            out[name] = pd.Series([spec.get(metadata)] * n, dtype="object")
        else:
            out[name] = _typed(spec, frame[name], blanks.get(name))
    out.update(conditions)
    result = pd.DataFrame(out)
    result.attrs["batch_id"] = metadata.batch_id
    timeout = metadata.timeout
    ok = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    result.attrs["timeout"] = float(timeout) if ok else None
    return result


def _conditions_cells(column: Any) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Each row's conditions as ``(codes, distinct dicts)`` from the JSON column ('' or missing: none)."""
    import pandas as pd

    codes, texts = pd.factorize(column, use_na_sentinel=True)
    dicts: list[dict[str, Any]] = []
    for text in texts.tolist():
        value = json.loads(text) if isinstance(text, str) and text else {}
        if not isinstance(value, dict):
            raise _Untyped
        dicts.append(value)
    dicts.append({})  # code -1: an empty cell, a run without conditions
    return np.where(codes < 0, len(dicts) - 1, codes).astype(np.int64), dicts


def _numbers(column: Any) -> np.ndarray:
    if column.dtype.kind not in "fiu":
        raise _Untyped
    return column.to_numpy(dtype=float, na_value=np.nan)


def _typed(spec: Any, column: Any, blank: Any) -> Any:
    """A stored column as the runs frame holds it (see :func:`russo_nb.analysis.typed_column`)."""
    import pandas as pd

    from ..results.analysis.frames import typed_column

    dtype = spec.dtype
    if dtype in ("str", "json"):
        return _texts(column, blank)
    if dtype == "category":
        values = np.asarray(column, dtype=object)
        typed = pd.Categorical(values, categories=list(spec.categories or ()))
        if (typed.codes < 0).any():  # a value outside the categories (a load checks statuses)
            raise _Untyped
        return typed
    if dtype == "int":
        if column.dtype.kind not in "iu":
            raise _Untyped
        return column.to_numpy(dtype=np.int64)
    if dtype == "Int64":
        return pd.array(column, dtype="Int64")
    if dtype == "float":
        return _numbers(column)
    if dtype == "bool":
        if column.dtype != bool:
            raise _Untyped
        return column.to_numpy(dtype=bool)
    if dtype == "datetime":
        if column.dtype.kind != "M":  # a CSV file's text (ISO 8601); an empty column reads as numbers (NaN)
            if column.dtype.kind == "f" and column.isna().all():
                return typed_column(spec, [None] * len(column))
            column = pd.to_datetime(column, utc=True, format="ISO8601")
        stamps = column.astype("datetime64[ns, UTC]").array
        nanoseconds = stamps.asi8[~stamps.isna()]
        # the runs frame's unit is what pandas gives the epoch seconds: us when all are whole seconds, else ns
        fraction = bool((nanoseconds % 1_000_000_000 != 0).any())
        return stamps.astype(typed_column(spec, [0.5 if fraction else 0.0]).dtype)
    raise _Untyped


def _texts(column: Any, blank: Any) -> Any:
    """A text column as objects, ``blank`` where the file has no value."""
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        table = np.empty(len(column.cat.categories) + 1, dtype=object)  # the last: missing (code -1)
        table[:-1] = column.cat.categories.to_numpy(dtype=object)
        table[-1] = blank
        return pd.Series(table[column.cat.codes.to_numpy()], dtype="object")
    values = np.asarray(column, dtype=object)
    missing = pd.isna(column).to_numpy()
    if missing.any():
        values = values.copy()
        values[missing] = blank
    return pd.Series(values, dtype="object")


def _blank_cells() -> dict[str, Any]:
    """What each text column of a scenario runs frame holds for a run whose fields are empty ('' or None)."""

    def make() -> dict[str, Any]:
        specs = [spec for spec in frame_columns("scenarios") if spec.dtype in ("str", "json") and not spec.batch]
        cells = table_codes([ScenarioResult(success=False)], specs)
        return {name: values[0] for name, (_, values) in cells.items()}

    return derived(("blank cells", "scenarios"), make)
