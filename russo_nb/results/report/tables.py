"""Read a CSV / Parquet run table back into a batch whose runs are kept as columns.

The file holds :func:`russo_nb.model.run_fields.run_table` (runs frame plus file-only columns). Every
column is converted and validated here, vectorized, so a damaged file is still a one-line
:class:`~russo_nb.errors.InvalidArgumentError` naming the row at load time; the runs themselves
are built only when asked for (:class:`russo_nb.model.lazy_runs.LazyRuns`). A field with a column of its
own (:data:`russo_nb.model.run_fields.FIELDS`) is read by its declared dtype: text, numbers, bools or times;
the fields kept in several columns (the evaluation, the error, the response, ...) are rebuilt here.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ...model.cells import bad_whole_row, whole_number
from ...model.columns import RUN_STATUSES, FieldGetter
from ...model.conditions import check_conditions
from ...model.errors import ConfigurationError, InvalidArgumentError, RussoError
from ...model.expectations import parse_expectation
from ...model.lazy_runs import Coded, LazyRuns, RunColumnStore
from ...model.run_fields import OWN_DTYPE_LOADS, WHOLE_RUN_COLUMNS, declared, derived, model_default, run_table
from ...model.serialize import evaluation_from_plain
from ...model.types import (
    BatchMetadata,
    BatchResult,
    EvalResult,
    RetriedAttempt,
    RunError,
    ToolCall,
    ToolCallMatch,
    construct_fast,
)
from ...model.types import prompt_id as make_prompt_id
from .files import check_regular

__all__ = [
    "TABLE_LOADERS",
    "check_table_loaders",
    "read_csv_table",
    "read_parquet_table",
    "restore_cell",
    "runs_from_frame",
    "text_columns",
]

TABLE_LOADERS: dict[str, str] = {
    "status": "the status column, checked against the known statuses (_statuses)",
    "evaluation": "the evaluation JSON, else rebuilt from expected / actual / details (_evaluations)",
    "error": "the error_* columns (_errors)",
    "retried": "the retried_attempts JSON (_retried)",
    "effects": "the effects text, split at ', '",
    "response": "the usage columns and text, with the evaluation's calls (LazyRuns._response_codes)",
    "conditions": "the conditions JSON (_conditions)",
}
"""The ways :func:`runs_from_frame` rebuilds a prompt-run field no plain column gives as it is: a field
declares one as ``load=`` in :data:`russo_nb.model.run_fields.FIELDS` (one name here, one piece of code below)."""


def check_table_loaders() -> None:
    """Every prompt-run field a run table keeps can be loaded back: read from its own column by its dtype, or
    by the loader it declares. A field declared without one is a ConfigurationError naming it (not a KeyError
    deep in a lazily built run)."""

    def missing() -> tuple[str, ...]:
        lacking = []
        for spec in declared("prompts"):
            if spec.not_in_table or (spec.dtype in OWN_DTYPE_LOADS and not spec.load):
                continue
            if spec.load not in TABLE_LOADERS:
                columns = ", ".join(column.name for column in spec.table_columns()) or "no column"
                said = f"declares load={spec.load!r}, which" if spec.load else "declares no load=, and"
                lacking.append(f"{spec.name!r} (columns: {columns}) {said} is not one of {', '.join(TABLE_LOADERS)}")
        return tuple(lacking)

    lacking = derived("table loaders missing", missing)
    if lacking:
        raise ConfigurationError(
            "russo_nb.model.run_fields.FIELDS: a CSV / Parquet file cannot rebuild the prompt-run field "
            + "; ".join(lacking)
            + " (give it a dtype its own column is read by, or a loader in russo_nb.results.report.tables)"
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


def _usage_columns() -> list[str]:
    """The usage columns (read from ``response``); loading puts them back into ``response.usage``."""
    return [spec.name for spec in run_table() if isinstance(spec.get, FieldGetter) and spec.get.name == "response"]


def _error_columns() -> dict[str, str]:
    """Column -> RunError attribute: error -> message, error_type -> type, error_stage -> stage, ..."""
    return {
        spec.name: spec.get.key  # type: ignore[union-attr, misc]
        for spec in run_table()
        if isinstance(spec.get, FieldGetter) and spec.get.name == "error" and spec.get.key is not None
    }


_TRUTH = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False}


class _RowError(ValueError):
    def __init__(self, row: int, message: str) -> None:
        super().__init__(message)
        self.row = row


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or type(value).__name__ == "NAType":
        return ""
    return str(value)


def _coded(frame: Any, name: str) -> Coded:
    """A text column as codes into its distinct values ('' for missing, or for all rows when absent)."""
    import pandas as pd

    n = len(frame)
    if name not in frame.columns:
        return np.zeros(n, dtype=np.int64), [""]
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
        values.append("")
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
        raise _RowError(row + 1, f"{name} {column.iloc[row]!r} is not a number")
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    if name in _whole_columns():  # attempts=inf or seed=1e300 would load as garbage integers
        row = bad_whole_row(numbers)
        if row is not None:
            value = numbers[row]
            size = "is too large (at most 2**53 in size)" if np.isfinite(value) and value == np.floor(value) else ""
            cell = column.iloc[row]
            shown = repr(cell.item() if isinstance(cell, np.generic) else cell)
            raise _RowError(row + 1, f"{name} {shown} {size or 'is not a whole number'}")
    return numbers


def _parse_calls(text: str) -> list[ToolCall]:
    """``"a(x=1); b()"`` (the frames' readable form) back into ToolCalls."""
    if not text.strip():
        return []
    calls = []
    for statement in ast.parse(text, mode="exec").body:
        segment = ast.get_source_segment(text, statement)
        calls.append(parse_expectation(segment or ast.unparse(statement)))
    return calls


def _from_texts(passed: bool, exp: str, act: str, details: str) -> EvalResult:
    """An evaluation rebuilt from the call texts (files without the evaluation column)."""
    expected, actual = _parse_calls(exp), _parse_calls(act)
    matches = [
        ToolCallMatch.model_construct(
            expected=want, actual=want if want in actual else None, matched=want in actual, details=""
        )
        for want in expected
    ]
    return EvalResult.model_construct(passed=passed, expected=expected, actual=actual, matches=matches, details=details)


def _texts(frame: Any, name: str) -> Coded:
    """A field's own text column; '' is the field's default when that is None (an audio key of none)."""
    codes, values = _coded(frame, name)
    if _default(name) is None:
        values = [value or None for value in values]
    return codes, values


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
            raise _RowError(_first_row(codes, np.arange(len(values)) == k), f"{name} {value!r} is not True or False")
        flags.append(flag)
    return codes, flags


def _first_row(codes: np.ndarray, mask: np.ndarray) -> int:
    """The 1-based row of the first code whose value ``mask`` marks."""
    return int(np.argmax(mask[codes])) + 1


def _evaluations(frame: Any, status: np.ndarray) -> Coded:
    """Each run's evaluation: parsed once per distinct JSON text, else rebuilt from the call texts."""
    import pandas as pd

    codes, raws = _coded(frame, "evaluation")
    used = np.zeros(len(raws), dtype=bool)
    used[codes] = True
    if not any(used[k] and not raws[k] for k in range(len(raws))):  # the exact form
        evals: list[Any] = []
        for k, raw in enumerate(raws):
            try:
                evals.append(evaluation_from_plain(json.loads(raw)) if used[k] else None)
            except (ValueError, TypeError, KeyError, RecursionError) as exc:
                mask = np.zeros(len(raws), dtype=bool)
                mask[k] = True
                raise _RowError(_first_row(codes, mask), f"cannot read the evaluation ({exc})") from None
        return codes, evals
    parts = [codes, *(_coded(frame, name)[0] for name in ("expected", "actual", "details")), status]
    texts = [raws, *(_coded(frame, name)[1] for name in ("expected", "actual", "details"))]
    keys = pd.DataFrame({str(i): part for i, part in enumerate(parts)})
    groups = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    _, first_rows = np.unique(groups, return_index=True)
    evals = []
    for row in first_rows.tolist():
        raw, exp, act, details = (values[part[row]] for values, part in zip(texts, parts))
        try:
            if raw:
                evals.append(evaluation_from_plain(json.loads(raw)))
            else:
                evals.append(_from_texts(RUN_STATUSES[status[row]] == "passed", exp, act, details))
        except (ValueError, TypeError, SyntaxError, KeyError, IndexError, RussoError, RecursionError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else repr(exc)
            raise _RowError(row + 1, f"cannot read the calls ({first})") from None
    return groups.astype(np.int64), evals


def _retried(frame: Any) -> Coded:
    """Each run's earlier attempts, parsed once per distinct JSON text (none in files without the column)."""
    codes, raws = _coded(frame, "retried_attempts")
    values: list[tuple[RetriedAttempt, ...]] = []
    for k, raw in enumerate(raws):
        try:
            values.append(tuple(RetriedAttempt.model_validate(item) for item in json.loads(raw)) if raw else ())
        except (ValueError, TypeError, RecursionError) as exc:
            mask = np.zeros(len(raws), dtype=bool)
            mask[k] = True
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _RowError(_first_row(codes, mask), f"cannot read the retried attempts ({first})") from None
    return codes, values


def _conditions(frame: Any) -> Coded:
    """Each run's conditions, parsed once per distinct JSON text ({} in files without the column)."""
    codes, raws = _coded(frame, "conditions")
    values: list[dict[str, Any]] = []
    for k, raw in enumerate(raws):
        try:
            values.append(check_conditions(json.loads(raw)) if raw else {})
        except (ValueError, TypeError, RussoError, RecursionError) as exc:
            mask = np.zeros(len(raws), dtype=bool)
            mask[k] = True
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _RowError(_first_row(codes, mask), f"cannot read the conditions ({first})") from None
    return codes, values


def _statuses(frame: Any) -> np.ndarray:
    codes, values = _coded(frame, "status")
    lookup = np.array([RUN_STATUSES.index(v) if v in RUN_STATUSES else -1 for v in values], dtype=np.int8)
    status = lookup[codes] if len(codes) else np.zeros(0, dtype=np.int8)
    bad = status < 0
    if bad.any():
        row = int(np.argmax(bad))
        raise _RowError(row + 1, f"unknown status {values[codes[row]]!r}")
    return status


def _errors(frame: Any) -> dict[int, RunError]:
    """The RunError of every row that names one (an error type or message)."""
    fields = _error_columns()
    columns = {name: _coded(frame, name) for name in fields}
    has = np.zeros(len(frame), dtype=bool)
    for name in ("error_type", "error"):
        codes, values = columns[name]
        has |= np.array([bool(value) for value in values], dtype=bool)[codes]
    out: dict[int, RunError] = {}
    for row in np.flatnonzero(has).tolist():
        cells = {fields[name]: values[codes[row]] for name, (codes, values) in columns.items()}
        cells["type"] = cells["type"] or "Error"
        out[row] = construct_fast(RunError, cells)
    return out


def runs_from_frame(frame: Any, metadata: BatchMetadata | None, source: Path) -> BatchResult:
    """A batch from the run table's columns: validated now, each run built when first asked for."""
    import pandas as pd

    missing = {"prompt", "run_index", "status"} - set(frame.columns)
    if missing:
        raise InvalidArgumentError(
            f"{str(source)!r} is not a russo_nb runs table: it lacks the column(s) {', '.join(sorted(missing))}"
        )
    if "scenario_run" in frame.columns:
        return _scenario_batch(frame, metadata, source)
    check_table_loaders()
    n = len(frame)
    try:
        status = _statuses(frame)
        numbers = {name: _numbers(frame, name) for name in _own(("int", "Int64", "float"))}
        usage = {name: _numbers(frame, name) for name in _usage_columns() if name in frame.columns}
        for name in _own(("datetime",)):  # epoch seconds, NaN when missing
            numbers[name] = np.full(n, np.nan)
            if name in frame.columns:
                stamps = pd.to_datetime(frame[name], utc=True, errors="coerce")
                numbers[name] = ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(1, "s")).to_numpy(dtype=float)
        flags = {name: _flags(frame, name) for name in _own(("bool",))}
        evaluations = _evaluations(frame, status)
        for name in _own(("int",)):
            if _default(name) is ...:  # a required whole number (run_index): every row has one
                index = numbers[name]
                bad = ~np.isfinite(index) | (index != np.floor(np.where(np.isfinite(index), index, 0)))
                if bad.any():
                    row = int(np.argmax(bad))
                    value = index[row]
                    shown = None if value != value else float(value)
                    raise _RowError(row + 1, f"{name} {shown!r} is not a whole number")
        errors = _errors(frame)
        retried = _retried(frame)
        conditions = _conditions(frame)
    except _RowError as exc:
        raise InvalidArgumentError(f"{str(source)!r} row {exc.row}: cannot read the run ({exc})") from None
    texts = {name: _texts(frame, name) for name in _own(("str",))}
    prompts = texts["prompt"]
    pid_codes, pids = texts["prompt_id"]
    blank = np.array([not value for value in pids], dtype=bool)[pid_codes] if n else np.zeros(0, dtype=bool)
    if blank.any():  # files without prompt ids: each prompt's own id
        pid_codes = np.where(blank, len(pids) + prompts[0], pid_codes)
        pids = pids + [make_prompt_id(prompt) for prompt in prompts[1]]
    effect_codes, effect_texts = _coded(frame, "effects")
    store = RunColumnStore(
        n=n,
        coded=texts
        | {
            "prompt_id": (pid_codes, pids),
            "eval_result": evaluations,
            "effects": (effect_codes, [[part for part in text.split(", ") if part] for text in effect_texts]),
            "text": _coded(frame, "text"),
            "retried": retried,
            "conditions": conditions,
        }
        | flags,
        status=status,
        numbers=numbers,
        errors=errors,
        usage=usage,
        has_text="text" in frame.columns,
    )
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
        _statuses(frame)
    except _RowError as exc:
        raise InvalidArgumentError(f"{str(source)!r} row {exc.row}: {exc}") from None
    runs = ScenarioTableRuns(codes, texts, Path(source), frame)
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
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidArgumentError(f"{str(source)!r} is not a readable russo_nb CSV table ({first})") from None
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
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidArgumentError(f"{str(source)!r} is not a readable russo_nb Parquet table ({first})") from None
    if declared is not None and declared != len(frame):
        raise InvalidArgumentError(
            f"{str(source)!r} holds {len(frame)} runs, its metadata declares {declared}: the file is incomplete"
        )
    return frame, metadata
