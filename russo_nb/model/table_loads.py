"""How a CSV / Parquet run table's columns become a prompt-run field's value: the ``load`` a field declares.

A field with a column of its own of a plain dtype (:data:`russo_nb.model.run_fields.OWN_DTYPE_LOADS`) is
read by that dtype. A field the table keeps otherwise (several columns, JSON, a category) declares
``load=`` one of the functions here in :data:`russo_nb.model.run_fields.FIELDS`, beside the columns it
is written to, so adding such a field is one edit there. A load is called as ``load(table, spec)``:
``table`` is the file's :class:`TableCells` (:mod:`russo_nb.results.report.tables` reads the file),
``spec`` the field's own :class:`~russo_nb.model.run_fields.RunField` (its ``columns`` say which
columns hold it). It returns the field's value for every row as :data:`Coded` (codes into the
distinct values, each built once), or a function that makes them when a run or the column is
first asked for (the response, which few readers need). A damaged cell is a :class:`TableRowError`
naming its 1-based row; the reader turns it into a one-line error naming the file.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from .columns import RUN_STATUSES, FieldGetter
from .errors import RussoError, first_line
from .expectations import parse_expectation
from .serialize import dumps_safe, evaluation_from_plain
from .types import AgentResponse, EvalResult, RetriedAttempt, RunError, ToolCall, ToolCallMatch, construct_fast
from .types import prompt_id as make_prompt_id

__all__ = [
    "Coded",
    "Deferred",
    "TableCells",
    "TableRowError",
    "load_conditions",
    "effects_cell",
    "effects_from_cell",
    "load_effects",
    "load_error",
    "load_evaluation",
    "load_prompt_id",
    "load_response",
    "load_retried",
    "load_status",
]

Coded = tuple[np.ndarray, list[Any]]
"""A column as ``(codes, values)``: row ``i`` holds ``values[codes[i]]`` (each distinct value once)."""

Deferred = Callable[[], Coded]
"""A field's values made when first asked for."""


class TableRowError(ValueError):
    """A cell of a run table that cannot be read: ``row`` is 1-based, the message says what is wrong."""

    def __init__(self, row: int, message: str) -> None:
        super().__init__(message)
        self.row = row


class TableCells(Protocol):
    """What a run-table reader gives a field's ``load``: the file's columns, converted once each."""

    n: int
    """How many rows (runs) the table has."""

    def has(self, name: str) -> bool:
        """Whether the file has column ``name`` (files of earlier versions lack some)."""

    def coded(self, name: str, missing: str | None = "") -> Coded:
        """Text column ``name`` as codes into its distinct texts (``missing`` for a missing cell, or for every row
        when absent). Only a Parquet file tells a missing cell from ``''``."""

    def numbers(self, name: str) -> np.ndarray:
        """Column ``name`` as floats (NaN for missing, or for every row when absent); a non-number is an error."""

    def field(self, name: str) -> Coded:
        """Another field's values, loaded once (the evaluation reads the status, the response the evaluation)."""

    def conditions(self, value: Any) -> dict[str, Any]:
        """``value`` checked as a run's conditions (a dict of name → scalar), as every other reader checks them."""


def first_row(codes: np.ndarray, mask: np.ndarray) -> int:
    """The 1-based row of the first code whose distinct value ``mask`` marks."""
    return int(np.argmax(mask[codes])) + 1


_UNREADABLE = (ValueError, TypeError, KeyError, RecursionError, RussoError)


def _parse_each(table: TableCells, name: str, parse: Callable[[str], Any], what: str) -> Coded:
    """Column ``name`` with each distinct text made a value by ``parse`` once; an error names the first row."""
    codes, texts = table.coded(name)
    used = np.zeros(len(texts), dtype=bool)
    used[codes] = True
    values: list[Any] = []
    for k, text in enumerate(texts):
        try:
            values.append(parse(text) if used[k] else None)
        except _UNREADABLE as exc:
            row = first_row(codes, np.arange(len(texts)) == k)
            raise TableRowError(row, f"cannot read {what} ({first_line(exc)})") from None
    return codes, values


def load_status(table: TableCells, spec: Any) -> Coded:
    """The status column, checked against the known statuses: codes into :data:`RUN_STATUSES`."""
    codes, values = table.coded(spec.name)
    lookup = np.array([RUN_STATUSES.index(v) if v in RUN_STATUSES else -1 for v in values], dtype=np.int8)
    status = lookup[codes] if len(codes) else np.zeros(0, dtype=np.int8)
    bad = status < 0
    if bad.any():
        row = int(np.argmax(bad))
        raise TableRowError(row + 1, f"unknown status {values[codes[row]]!r}")
    return status, list(RUN_STATUSES)


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


def _row_groups(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Rows grouped by their values in ``columns`` (codes, or numbers: NaN is a value), numbered in first-seen
    order: each row's group, and each group's first row (where a value of the group is built once)."""
    import pandas as pd

    keys = pd.DataFrame(columns)
    groups = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy().astype(np.int64)
    _, first_rows = np.unique(groups, return_index=True)
    return groups, first_rows.tolist()


def load_evaluation(table: TableCells, spec: Any) -> Coded:
    """The evaluation JSON, parsed once per distinct text; files without it: rebuilt from expected / actual /
    details and the status."""
    codes, raws = table.coded("evaluation")
    used = np.zeros(len(raws), dtype=bool)
    used[codes] = True
    if not any(used[k] and not raws[k] for k in range(len(raws))):  # the exact form
        return _parse_each(table, "evaluation", lambda raw: evaluation_from_plain(json.loads(raw)), "the evaluation")
    status = table.field("status")[0]
    parts = [codes, *(table.coded(name)[0] for name in ("expected", "actual", "details")), status]
    texts = [raws, *(table.coded(name)[1] for name in ("expected", "actual", "details"))]
    groups, first_rows = _row_groups({str(i): part for i, part in enumerate(parts)})
    evals = []
    for row in first_rows:
        raw, exp, act, details = (values[part[row]] for values, part in zip(texts, parts))
        try:
            if raw:
                evals.append(evaluation_from_plain(json.loads(raw)))
            else:
                evals.append(_from_texts(RUN_STATUSES[status[row]] == "passed", exp, act, details))
        except (*_UNREADABLE, SyntaxError, IndexError) as exc:
            raise TableRowError(row + 1, f"cannot read the calls ({first_line(exc)})") from None
    return groups, evals


def load_error(table: TableCells, spec: Any) -> Coded:
    """The error of every row that names one (an error type or message), from the field's columns; None elsewhere."""
    parts = {
        column.name: column.get.key
        for column in spec.columns
        if isinstance(column.get, FieldGetter) and column.get.key is not None
    }
    columns = {name: table.coded(name) for name in parts}
    has = np.zeros(table.n, dtype=bool)
    for name, key in parts.items():
        if key in ("type", "message"):
            codes, values = columns[name]
            has |= np.array([bool(value) for value in values], dtype=bool)[codes]
    rows = np.flatnonzero(has)
    out = np.zeros(table.n, dtype=np.int64)
    out[rows] = np.arange(1, len(rows) + 1)
    errors: list[Any] = [None]
    for row in rows.tolist():
        cells = {parts[name]: values[codes[row]] for name, (codes, values) in columns.items()}
        cells["type"] = cells.get("type") or "Error"
        errors.append(construct_fast(RunError, cells))
    return out, errors


def load_retried(table: TableCells, spec: Any) -> Coded:
    """The earlier attempts from the retried_attempts JSON, parsed once per distinct text (none without it)."""

    def parse(raw: str) -> tuple[RetriedAttempt, ...]:
        return tuple(RetriedAttempt.model_validate(item) for item in json.loads(raw)) if raw else ()

    return _parse_each(table, "retried_attempts", parse, "the retried attempts")


def effects_cell(effects: list[str] | None) -> str:
    """A run's effects as its table cell: the names joined with ``', '`` ('' when none), readable, when that
    splits back into exactly these names; else (a name holding ``', '``, an empty name, a cell that would start
    with ``[``, a lone surrogate) the list as JSON text, which :func:`effects_from_cell` reads back. Every list
    round-trips."""
    if not effects:
        return ""
    joined = ", ".join(effects)
    if joined[:1] != "[" and all(effects) and joined.split(", ") == effects and _utf8(joined):
        return joined
    return dumps_safe(list(effects))  # ASCII-escaped: a lone surrogate comes back too


def _utf8(text: str) -> bool:
    """Whether a file can hold ``text`` as it is (no lone surrogate: a text cell would be escaped)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def effects_from_cell(text: str) -> list[str]:
    """The effects list of an :func:`effects_cell` cell. A cell that is not a JSON list of texts is the joined
    form, split at ``', '`` (as files written before the JSON form are read: empty parts dropped)."""
    if text[:1] == "[":
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if type(value) is list and all(type(name) is str for name in value):
            return value
    return [part for part in text.split(", ") if part]


def load_effects(table: TableCells, spec: Any) -> Coded:
    """The effects cells as lists (:func:`effects_from_cell`), each distinct cell read once."""
    codes, texts = table.coded(spec.name)
    return codes, [effects_from_cell(text) for text in texts]


def load_conditions(table: TableCells, spec: Any) -> Coded:
    """The conditions JSON, checked as conditions, parsed once per distinct text ({} without it)."""
    return _parse_each(table, spec.name, lambda raw: table.conditions(json.loads(raw)) if raw else {}, "the conditions")


def load_prompt_id(table: TableCells, spec: Any) -> Coded:
    """The prompt_id column; a row without one (files written before prompt ids) gets its prompt's own id."""
    pid_codes, pids = table.coded(spec.name)
    prompt_codes, prompts = table.field("prompt")
    blank = np.array([not value for value in pids], dtype=bool)[pid_codes] if table.n else np.zeros(0, dtype=bool)
    if blank.any():
        pid_codes = np.where(blank, len(pids) + prompt_codes, pid_codes)
        pids = pids + [make_prompt_id(prompt) for prompt in prompts]
    return pid_codes, pids


def load_response(table: TableCells, spec: Any) -> Deferred:
    """The response from the usage columns and the text, with the evaluation's calls as its calls (None when the
    file kept neither text nor usage); the distinct responses are made when first asked for."""
    eval_codes, evals = table.field("eval_result")
    text_codes, texts = table.coded("text", missing=None)  # '' stays '' where the file keeps it (Parquet)
    has_text = table.has("text")
    usage = {
        column.name: table.numbers(column.name)
        for column in spec.columns
        if isinstance(column.get, FieldGetter)
        and column.get.name == spec.name
        and column.dtype == "float"  # the usage counts (the text is read above)
        and table.has(column.name)
    }

    def make() -> Coded:
        codes, first_rows = _row_groups({"eval": eval_codes, "text": text_codes} | usage)
        values: list[Any] = []
        for row in first_rows:
            counts = {name: float(column[row]) for name, column in usage.items() if column[row] == column[row]}
            if not (has_text or counts):
                values.append(None)
                continue
            values.append(
                AgentResponse.model_construct(
                    tool_calls=evals[eval_codes[row]].actual,
                    text=texts[text_codes[row]],
                    raw=None,
                    usage=counts or None,
                )
            )
        return codes, values

    return make
