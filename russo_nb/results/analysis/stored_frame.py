"""A loaded scenario batch's runs frame read from the table it was loaded from, no run built.

A scenario table (CSV / Parquet) holds every column of the runs frame beside each run's record, so
``to_dataframe()`` of a batch loaded from one reads those columns (:func:`stored_frame`): each typed as
its declaration says (a CSV file's text cells as numbers, bools, times), the conditions from their JSON
column. A column that is not what its declaration says (a file edited by hand) gives the frame of the
runs (:func:`runs_frame_of`), whose records are exact.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ...model.columns import table_codes
from ...model.run_fields import derived, frame_columns
from ...scenario.result import ScenarioResult
from ...scenario.table_runs import ScenarioTableRuns
from .frames import batch_attrs, coded_condition_columns, runs_frame, typed_column

__all__ = ["blank_cells", "runs_frame_of", "stored_frame"]


def runs_frame_of(result: Any) -> Any:
    """The runs frame of ``result`` (what ``to_dataframe()`` gives): a loaded scenario table's own columns while
    its runs are unchanged and every column is what its declaration says, else :func:`runs_frame` of the runs."""
    runs = getattr(result, "runs", None)
    stored = runs.stored_table() if isinstance(runs, ScenarioTableRuns) else None
    if stored is not None:
        frame, csv = stored
        try:
            return stored_frame(frame, result.metadata, csv=csv)
        except (_Untyped, ValueError, TypeError, KeyError, RecursionError):
            pass
    return runs_frame(result)


class _Untyped(ValueError):
    """A stored column is not what its declaration says: the frame is built from the runs instead."""


def stored_frame(frame: Any, metadata: Any, *, csv: bool) -> Any:
    """The runs frame of a scenario batch from its stored table (CSV or Parquet), no run built.

    Each column of the frame is read from the file's column of that name and typed as its declaration
    (:func:`russo_nb.model.run_fields.frame_columns`) says, as :func:`russo_nb.analysis.run_table` types the
    cells of runs; ``score_<name>`` columns are numbers; the condition columns come from the ``conditions``
    JSON column (exact, where a CSV cell would not say a condition's type), the batch columns from
    ``metadata``. A CSV cell cannot tell ``''`` from None: an empty text cell reads as the column's value for
    a run whose field is empty (:func:`blank_cells`). Raises :class:`_Untyped` when a column is missing or
    not of its declared type.
    """
    import pandas as pd

    specs = {spec.name: spec for spec in frame_columns("scenarios")}
    stored = [str(name) for name in frame.columns]
    if any(name not in stored for name in specs) or "conditions" not in stored:
        raise _Untyped
    file_only = {spec.name for spec in frame_columns("scenarios", files=True)} - set(specs)
    conditions = coded_condition_columns(*_conditions_cells(frame["conditions"]))
    if any(name in specs for name in conditions):
        raise _Untyped
    blanks = blank_cells() if csv else {}
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
    result.attrs.update(batch_attrs(metadata))
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


def blank_cells(*, files: bool = False) -> dict[str, Any]:
    """What each text column of a scenario runs frame holds for a run whose fields are empty ('' or None): what an
    empty CSV cell of that column reads back as. ``files``: of the file-only columns instead, those whose cell is
    then '' or None (the writer of the runs writes that)."""

    def make() -> dict[str, Any]:
        shown = frame_columns("scenarios")
        if files:
            names = {spec.name for spec in shown}
            specs = [spec for spec in frame_columns("scenarios", files=True) if spec.name not in names]
        else:
            specs = [spec for spec in shown if spec.dtype in ("str", "json") and not spec.batch]
        cells = table_codes([ScenarioResult(success=False)], specs)
        return {name: values[0] for name, (_, values) in cells.items() if not files or values[0] in ("", None)}

    return derived(("blank cells", "scenarios", files), make)
