"""Read a CSV / Parquet run table back into a batch whose runs are kept as columns.

The file holds :func:`russo_nb.model.run_fields.run_table` (runs frame plus file-only columns). Every
column is converted and validated here, vectorized, so a damaged file is still a one-line
:class:`~russo_nb.model.errors.InvalidArgumentError` naming the row at load time; the runs themselves
are built only when asked for (:class:`russo_nb.model.lazy_runs.LazyRuns`). A field with a column of its
own (:data:`russo_nb.model.run_fields.FIELDS`) is read by its declared dtype: text, numbers, bools or times;
the fields kept otherwise (the evaluation, the error, the response, ...) by the ``load`` each declares
(:mod:`russo_nb.model.table_loads`), which this module calls with the file's columns (:class:`FrameCells`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...model.cells import bad_whole_row, whole_number
from ...model.conditions import check_conditions
from ...model.errors import ConfigurationError, InvalidArgumentError, first_line
from ...model.lazy_runs import LazyRuns, RunColumnStore
from ...model.run_fields import (
    OWN_DTYPE_LOADS,
    WHOLE_RUN_COLUMNS,
    RunField,
    declared,
    derived,
    model_default,
    run_table,
)
from ...model.table_loads import Coded, Deferred, TableRowError, first_row, load_status
from ...model.types import BatchMetadata, BatchResult
from .files import check_regular

__all__ = [
    "FrameCells",
    "check_table_loaders",
    "read_csv_table",
    "read_parquet_table",
    "restore_cell",
    "runs_from_frame",
    "text_columns",
]


def check_table_loaders() -> None:
    """Every prompt-run field a run table keeps can be loaded back: read from its own column by its dtype, or
    by the ``load`` it declares. A field declared without one is a ConfigurationError naming it (not a KeyError
    deep in a lazily built run)."""

    def missing() -> tuple[str, ...]:
        lacking = []
        for spec in declared("prompts"):
            if spec.not_in_table or callable(spec.load) or (spec.dtype in OWN_DTYPE_LOADS and spec.load is None):
                continue
            columns = ", ".join(column.name for column in spec.table_columns()) or "no column"
            said = f"declares load={spec.load!r}, which is not a function" if spec.load else "declares no load="
            lacking.append(f"{spec.name!r} (columns: {columns}) {said}")
        return tuple(lacking)

    lacking = derived("table loaders missing", missing)
    if lacking:
        raise ConfigurationError(
            "russo_nb.model.run_fields.FIELDS: a CSV / Parquet file cannot rebuild the prompt-run field "
            + "; ".join(lacking)
            + " (give it a dtype its own column is read by, or a load(table, spec) making its values from its "
            "columns, as in russo_nb.model.table_loads)"
        )


def text_columns() -> tuple[str, ...]:
    """The run table's text columns (dtype ``str`` / ``json``): read as text, never as numbers."""
    return tuple(spec.name for spec in run_table() if spec.dtype in ("str", "json"))


def _coded_text_columns() -> tuple[str, ...]:
    """The text columns read as distinct values (categoricals): all but a whole-run record, distinct on every row."""
    whole = {spec.name for spec in WHOLE_RUN_COLUMNS}
    return tuple(name for name in text_columns() if name not in whole)


def _own(dtypes: tuple[str, ...]) -> list[str]:
    """The prompt-run fields whose own column (named as the field) has one of ``dtypes``."""
    return [spec.name for spec in declared("prompts") if spec.dtype in dtypes]


def _whole_columns() -> frozenset[str]:
    """Number columns that hold whole numbers (run_index, attempts, seed, ...)."""
    return frozenset(spec.name for spec in run_table() if spec.dtype in ("int", "Int64"))


_TRUTH = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False}


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or type(value).__name__ == "NAType":
        return ""
    return str(value)


def _coded(frame: Any, name: str, missing: str | None = "") -> Coded:
    """A text column as codes into its distinct values (``missing`` for a missing cell, or for all rows when
    absent). A Parquet file keeps ``''`` apart from a missing cell; a CSV file cannot (both are an empty cell)."""
    import pandas as pd

    n = len(frame)
    if name not in frame.columns:
        return np.zeros(n, dtype=np.int64), [missing]
    column = frame[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int64)
        values = column.cat.categories.tolist()
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.int64)
        values = list(uniques)
    values = [value if type(value) is str else _text(value) for value in values]
    if n and codes.min() < 0:
        codes = np.where(codes < 0, len(values), codes)
        values.append(missing)
    return codes, values


def _numbers(frame: Any, name: str) -> np.ndarray:
    """A column as floats (NaN for missing); a cell that is not a number is an error naming the row."""
    import pandas as pd

    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    column = frame[name]
    values = pd.to_numeric(column, errors="coerce")
    suspect = values.isna() & column.notna()
    bad = suspect & (column.astype(object).map(str) != "") if suspect.any() else suspect
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise TableRowError(row + 1, f"{name} {column.iloc[row]!r} is not a number")
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    if name in _whole_columns():  # attempts=inf or seed=1e300 would load as garbage integers
        row = bad_whole_row(numbers)
        if row is not None:
            value = numbers[row]
            size = "is too large (at most 2**53 in size)" if np.isfinite(value) and value == np.floor(value) else ""
            cell = column.iloc[row]
            shown = repr(cell.item() if isinstance(cell, np.generic) else cell)
            raise TableRowError(row + 1, f"{name} {shown} {size or 'is not a whole number'}")
    return numbers


def _texts(frame: Any, name: str) -> Coded:
    """A field's own text column; a missing cell is the field's default when that is None (an audio key of none),
    else ''. An empty text stays one where the file tells it apart (Parquet)."""
    return _coded(frame, name, None if _default(name) is None else "")


def _default(name: str) -> Any:
    """The default of prompt-run field ``name``; ``...`` when the field is required."""
    try:
        return model_default("prompts", name)
    except ValueError:
        return ...


def _flags(frame: Any, name: str) -> Coded:
    """A field's own bool column (True / False; an empty cell is the field's default)."""
    codes, values = _coded(frame, name)
    flags = []
    for k, value in enumerate(values):
        flag = _TRUTH.get(value) if value else _default(name)
        if flag is None or flag is ...:
            raise TableRowError(first_row(codes, np.arange(len(values)) == k), f"{name} {value!r} is not True or False")
        flags.append(flag)
    return codes, flags


class FrameCells:
    """A run table's columns as a field's ``load`` reads them (:class:`russo_nb.model.table_loads.TableCells`)."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        self.n = len(frame)
        self._fields: dict[str, Coded | Deferred] = {}

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def coded(self, name: str, missing: str | None = "") -> Coded:
        return _coded(self.frame, name, missing)

    def numbers(self, name: str) -> np.ndarray:
        return _numbers(self.frame, name)

    def conditions(self, value: Any) -> dict[str, Any]:
        return check_conditions(value)

    def field(self, name: str) -> Coded:
        values = self.loaded(_declared_field("prompts", name))
        if callable(values):
            values = self._fields[name] = values()
        return values

    def loaded(self, spec: RunField) -> Coded | Deferred:
        """Field ``spec``'s values: made by its ``load``, else read from its own text or bool column (once)."""
        if spec.name not in self._fields:
            if spec.load is not None:
                self._fields[spec.name] = spec.load(self, spec)
            elif spec.dtype == "bool":
                self._fields[spec.name] = _flags(self.frame, spec.name)
            else:
                self._fields[spec.name] = _texts(self.frame, spec.name)
        return self._fields[spec.name]


def _declared_field(kind: str, name: str) -> RunField:
    """The declaration of a ``kind`` run's field ``name`` (KeyError when it has none)."""
    for spec in declared(kind):
        if spec.name == name:
            return spec
    raise KeyError(name)


_NUMBER_DTYPES = ("int", "Int64", "float", "datetime")


def _number_field(frame: Any, spec: RunField) -> np.ndarray:
    """A number or time field's own column as floats (times as epoch seconds), NaN when missing."""
    import pandas as pd

    if spec.dtype != "datetime":
        numbers = _numbers(frame, spec.name)
        if spec.dtype == "int" and _default(spec.name) is ...:  # a required whole number (run_index): every row
            bad = ~np.isfinite(numbers) | (numbers != np.floor(np.where(np.isfinite(numbers), numbers, 0)))
            if bad.any():
                row = int(np.argmax(bad))
                value = numbers[row]
                shown = None if value != value else float(value)
                raise TableRowError(row + 1, f"{spec.name} {shown!r} is not a whole number")
        return numbers
    if spec.name not in frame.columns:
        return np.full(len(frame), np.nan)
    stamps = pd.to_datetime(frame[spec.name], utc=True, errors="coerce")
    return ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(1, "s")).to_numpy(dtype=float)


def runs_from_frame(frame: Any, metadata: BatchMetadata | None, source: Path) -> BatchResult:
    """A batch from the run table's columns: validated now, each run built when first asked for.

    Each prompt-run field the table keeps is read by its declaration: a number or time column by its dtype,
    a text or bool column as distinct values, the rest by the ``load`` the field declares.
    """
    missing = {"prompt", "run_index", "status"} - set(frame.columns)
    if missing:
        raise InvalidArgumentError(
            f"{str(source)!r} is not a russo_nb runs table: it lacks the column(s) {', '.join(sorted(missing))}"
        )
    if "scenario_run" in frame.columns:
        return _scenario_batch(frame, metadata, source)
    check_table_loaders()
    cells = FrameCells(frame)
    numbers: dict[str, np.ndarray] = {}
    coded: dict[str, Coded | Deferred] = {}
    try:
        for spec in declared("prompts"):
            if spec.not_in_table:
                continue
            if spec.load is None and spec.dtype in _NUMBER_DTYPES:
                numbers[spec.name] = _number_field(frame, spec)
            else:
                coded[spec.name] = cells.loaded(spec)
    except TableRowError as exc:
        raise InvalidArgumentError(f"{str(source)!r} row {exc.row}: cannot read the run ({exc})") from None
    store = RunColumnStore(n=len(frame), coded=coded, numbers=numbers)
    if metadata is None:
        metadata = _metadata_from_cells(frame)
    return BatchResult.model_construct(runs=LazyRuns(store), audio={}, metadata=metadata)


def _metadata_from_cells(frame: Any) -> BatchMetadata:
    """What a CSV file says of its batch (it has no metadata block): the batch id and agent of its first row."""
    n = len(frame)
    first_id = _text(frame["batch_id"].iloc[0]) if n and "batch_id" in frame.columns else ""
    first_agent = _text(frame["agent"].iloc[0]) if n and "agent" in frame.columns else ""
    return BatchMetadata(batch_id=first_id or BatchMetadata().batch_id, agent=first_agent or None)


def _scenario_batch(frame: Any, metadata: BatchMetadata | None, source: Path) -> Any:
    """A scenario batch from its table, each run built from its ``scenario_run`` JSON when first asked for.

    Checked now: every row has a record and a known status; a damaged record is one error naming the file and
    row when its run is first built (:class:`russo_nb.scenario.table_runs.ScenarioTableRuns`). The table is kept
    for ``to_dataframe()`` (its columns typed by their declarations); clips by key, attached later.
    """
    import pandas as pd

    from ...scenario.batch import ScenarioBatch
    from ...scenario.table_runs import ScenarioTableRuns

    column = frame["scenario_run"]
    if isinstance(column.dtype, pd.StringDtype):  # Parquet text, checked in C; a record is taken when its run is built
        codes, texts = np.arange(len(column), dtype=np.int64), column.array
        bad = column.str.len().fillna(0).eq(0).to_numpy(dtype=bool)
    else:
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes, texts = _coded(frame, "scenario_run")
        else:  # read as it is (a record per run): no hashing of every record
            codes, texts = np.arange(len(column), dtype=np.int64), column.tolist()
        missing = [code for code, text in enumerate(texts) if not isinstance(text, str) or not text]
        bad = np.isin(codes, missing) if missing else np.zeros(len(codes), dtype=bool)
    if bad.any():
        row = int(np.argmax(bad)) + 1
        raise InvalidArgumentError(f"{str(source)!r} row {row}: cannot read the scenario run (its cell is empty)")
    try:
        status, _ = load_status(FrameCells(frame), _declared_field("scenarios", "status"))
    except TableRowError as exc:
        raise InvalidArgumentError(f"{str(source)!r} row {exc.row}: {exc}") from None
    runs = ScenarioTableRuns(codes, texts, Path(source), frame, status)
    if metadata is None:
        metadata = _metadata_from_cells(frame)
    return ScenarioBatch.model_construct(runs=runs, metadata=metadata.model_copy(update={"kind": "scenarios"}))


_QUOTED_FORMULA = re.compile(r"^'+[=+\-@\t\r]")


def restore_cell(cell: Any) -> Any:
    """A CSV text cell without the leading ``'`` export put before a would-be formula."""
    if isinstance(cell, str) and cell.startswith("'") and _QUOTED_FORMULA.match(cell):
        return cell[1:]
    return cell


def read_csv_table(source: Path) -> Any:
    """The run table of a CSV export (text columns as text, the formula guard's leading ``'`` removed)."""
    import pandas as pd

    check_regular(source)
    try:
        frame = pd.read_csv(
            source,
            keep_default_na=False,
            na_values=[""],
            dtype=dict.fromkeys(text_columns(), "object"),
            encoding="utf-8",
        )
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidArgumentError(
            f"{str(source)!r} is not a readable russo_nb CSV table ({first_line(exc)})"
        ) from None
    for name in _coded_text_columns():
        if name in frame.columns and frame[name].dtype == object:
            # each distinct text once: the formula guard is undone per distinct cell, and the loader reads codes
            codes, uniques = pd.factorize(frame[name], use_na_sentinel=True)
            restored = [restore_cell(value) for value in uniques.tolist()]
            frame[name] = pd.Categorical.from_codes(codes, categories=pd.Index(restored, dtype=object))
    return frame


def _is_text(pa: Any, kind: Any) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def read_parquet_table(source: Path) -> tuple[Any, BatchMetadata | None]:
    """The run table of a Parquet export and the batch metadata kept in its schema.

    Text columns are read dictionary-encoded (as pandas categoricals): the file's dictionary
    pages give each distinct prompt, evaluation or effects text once.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_regular(source)
    try:
        schema = pq.read_schema(source)
        names = [
            name for name in _coded_text_columns() if name in schema.names and _is_text(pa, schema.field(name).type)
        ]
        table = pq.read_table(source, read_dictionary=names)
        schema_meta = table.schema.metadata or {}
        raw_meta = schema_meta.get(b"russo_nb.metadata")
        metadata = BatchMetadata.model_validate_json(raw_meta) if raw_meta else None
        declared = schema_meta.get(b"russo_nb.runs")
        if declared is not None:
            declared = whole_number("its metadata's russo_nb.runs", int(declared) if declared.isdigit() else declared)
        frame = table.to_pandas()
    except (OSError, ValueError, pa.ArrowException, RecursionError) as exc:
        raise InvalidArgumentError(
            f"{str(source)!r} is not a readable russo_nb Parquet table ({first_line(exc)})"
        ) from None
    if declared is not None and declared != len(frame):
        raise InvalidArgumentError(
            f"{str(source)!r} holds {len(frame)} runs, its metadata declares {declared}: the file is incomplete"
        )
    return frame, metadata
