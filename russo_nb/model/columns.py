"""The one shape of a run, and how a run table's columns are read.

:class:`Run` is the protocol every run satisfies — a prompt run
(:class:`~russo_nb.model.types.SingleRunResult`) and a scenario run
(:class:`~russo_nb.scenario.ScenarioResult`) alike — so renderers and analysis read
``run.status`` or ``run.tool_calls`` without probing types.

:class:`RunColumn` is one column of a run table (its name, how it is read from a run, its
dtype and what it means, in the style of Inspect AI's dataframe column specs) and
:func:`table_columns` reads columns' cells from runs. Which columns a run table has is not
declared here: each field of a run declares its own columns in
:data:`russo_nb.model.run_fields.FIELDS`, and :func:`russo_nb.model.run_fields.run_table` lists them.

This module imports neither pandas nor numpy when imported; :func:`table_columns` gives plain lists,
:func:`table_codes` each column as codes into its distinct cells (what frames and files are built from).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal, Protocol, runtime_checkable

from .types import (
    AgentResponse,
    Audio,
    ColumnarRuns,
    EvalResult,
    RetriedAttempt,
    RunError,
    RunKind,
    RunStatus,
    ToolCall,
    format_call,
)

__all__ = [
    "RUN_STATUSES",
    "ColumnDtype",
    "FieldGetter",
    "Run",
    "RunColumn",
    "calls_text",
    "field",
    "field_cells",
    "in_order",
    "table_columns",
]

RUN_STATUSES: tuple[str, ...] = ("passed", "failed", "error", "timeout", "cancelled")
"""Every status a run can end in, in display order (the runs frame's ``status`` categories)."""

ColumnDtype = Literal["str", "category", "int", "Int64", "float", "bool", "datetime", "json"]
"""How a column is typed in a DataFrame: ``str`` (object), ``category`` (the run statuses),
``int`` (int64), ``Int64`` (nullable integer), ``float`` (NaN when missing), ``bool``,
``datetime`` (UTC, from epoch seconds; NaT when missing) and ``json`` (text holding JSON)."""


@runtime_checkable
class Run(Protocol):
    """What every run of a batch offers, prompt run or scenario run: what renderers and analysis read.

    ``kind`` says which it is. ``prompt`` is the prompt text (a scenario's name for scenario
    runs), ``status`` one of :data:`RUN_STATUSES`, ``expected_calls`` / ``tool_calls`` the
    calls expected and made, ``eval_result`` how they matched (None when the run was not
    evaluated), ``transcript`` the conversation (OpenAI-format messages; None for a
    single-turn prompt run), ``response`` the adapter's answer (None for scenario runs).
    The verdict fields (``reasoning``, ``passed_criteria`` / ``failed_criteria``, ``score``,
    ``scores``, ``turns``, ``total_time``) and ``audio`` (the clips a run carries) are a
    scenario's; a prompt run answers them with None or an empty list / dict.
    """

    @property
    def kind(self) -> RunKind: ...

    @property
    def prompt(self) -> str: ...
    @property
    def prompt_id(self) -> str | None: ...
    @property
    def run_index(self) -> int: ...
    @property
    def status(self) -> RunStatus | None: ...
    @property
    def passed(self) -> bool: ...
    @property
    def error(self) -> RunError | None: ...
    @property
    def latency_s(self) -> float | None: ...
    @property
    def synth_s(self) -> float | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def audio_key(self) -> str | None: ...
    @property
    def effects(self) -> list[str]: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def started_at(self) -> float | None: ...
    @property
    def transcript(self) -> list[dict[str, Any]] | None: ...
    @property
    def expected_calls(self) -> list[ToolCall]: ...
    @property
    def tool_calls(self) -> list[ToolCall]: ...
    @property
    def eval_result(self) -> EvalResult | None: ...
    @property
    def match_rate(self) -> float: ...
    @property
    def text(self) -> str | None: ...
    @property
    def conditions(self) -> dict[str, Any]: ...
    @property
    def response(self) -> AgentResponse | None: ...
    @property
    def retried(self) -> Sequence[RetriedAttempt]: ...
    @property
    def reasoning(self) -> str | None: ...
    @property
    def passed_criteria(self) -> list[str]: ...
    @property
    def failed_criteria(self) -> list[str]: ...
    @property
    def score(self) -> float | None: ...
    @property
    def scores(self) -> dict[str, float]: ...
    @property
    def turns(self) -> int | None: ...
    @property
    def total_time(self) -> float | None: ...
    @property
    def audio(self) -> dict[str, Audio]: ...


@dataclass(frozen=True)
class RunColumn:
    """One column of a run table.

    ``get`` reads the raw value from a run (or from the batch metadata when ``batch``);
    ``render``, when given, turns that raw value into the cell and is computed once per
    distinct raw object (runs share expected calls, effects lists and evaluations, so a
    100,000-run frame formats each only once). ``frame`` columns are in the runs frame;
    ``export`` columns are only in CSV / Parquet files, so they load back exactly. ``sql``
    names the history store column type (None: not a store column). ``kinds`` says which
    batches have the column: ``prompts``, ``scenarios`` or both.
    """

    name: str
    get: Callable[[Any], Any]
    dtype: ColumnDtype
    doc: str
    render: Callable[[Any], Any] | None = None
    frame: bool = True
    export: bool = True
    sql: str | None = None
    kinds: tuple[str, ...] = ("prompts", "scenarios")
    batch: bool = False
    categories: tuple[str, ...] | None = None


# -- how cells are read ----------------------------------------------------------------------

_MISSING: Any = object()


@dataclass(frozen=True)
class FieldGetter:
    """Reads one field of a run, optionally through ``part``: ``part(run.<name>)``.

    Declaring a column's ``get`` this way says which run field the cell comes from, so a
    batch that keeps its runs as columns (:class:`russo_nb.model.lazy_runs.LazyRuns`) gives the
    cells from that field's column without building a run object per row. ``default`` is
    the value when a run lacks the field (a scenario run has no ``retried``).
    """

    name: str
    part: Callable[[Any], Any] | None = None
    default: Any = _MISSING
    key: str | None = None
    """What ``part`` reads inside the field (``"stage"`` of ``error``), so a loader can map the column back."""

    def __call__(self, run: Any) -> Any:
        value = getattr(run, self.name) if self.default is _MISSING else getattr(run, self.name, self.default)
        return value if self.part is None else self.part(value)


def field(
    name: str, part: Callable[[Any], Any] | None = None, default: Any = _MISSING, key: str | None = None
) -> FieldGetter:
    """A column getter reading run field ``name`` (through ``part``, which reads ``key``); see :class:`FieldGetter`."""
    return FieldGetter(name, part, default, key)


def calls_text(calls: Sequence[ToolCall] | None) -> str:
    """``"a(x=1); b()"``: a list of calls as readable Python-like text (``''`` when none)."""
    if not calls:
        return ""
    return "; ".join(format_call(call.name, call.arguments) for call in calls)


def table_columns(runs: Sequence[Any], columns: Sequence[RunColumn], metadata: Any = None) -> dict[str, list[Any]]:
    """Each column's cells for ``runs`` as a plain list, rendered values computed once per distinct raw value.

    Runs kept as columns (:class:`~russo_nb.model.types.ColumnarRuns`, a loaded CSV / Parquet batch)
    give a field column's cells from the stored column, without building the runs.
    """
    return {
        name: list(values) if codes is None else _decoded(codes, values)
        for name, (codes, values) in table_codes(runs, columns, metadata).items()
    }


_PER_ROW_DTYPES = frozenset({"int", "Int64", "float", "bool", "datetime"})
"""Plain fields of these dtypes are read per row (numbers rarely repeat as one object); others are coded."""


def table_codes(
    runs: Sequence[Any], columns: Sequence[RunColumn], metadata: Any = None
) -> dict[str, tuple[Any, list[Any]]]:
    """Each column's cells as ``(codes, distinct cells)``: row ``i`` holds ``cells[codes[i]]``.

    ``codes`` is an int64 numpy array, or None when ``cells`` has one cell per row. Runs share
    objects (prompt texts, evaluations, effects lists, conditions), so a column's cells are
    rendered once per distinct object, and a frame or file is built from them with array
    operations instead of a Python step per row. Runs kept as columns
    (:class:`~russo_nb.model.types.ColumnarRuns`) give their stored codes.
    """
    out: dict[str, tuple[Any, list[Any]]] = {}
    n = len(runs)
    store = runs if isinstance(runs, ColumnarRuns) else None
    fields: dict[tuple[str, int, bool], tuple[Any, list[Any]]] = {}  # each run field read once
    wanted = [spec.get.name for spec in columns if not spec.batch and isinstance(spec.get, FieldGetter)]
    names = list(dict.fromkeys(wanted))
    kept = {} if store is None else {name: store.field_values(name) for name in names}
    read = read_runs(runs, [name for name in names if kept.get(name) is None])
    for spec in columns:
        if spec.batch:
            out[spec.name] = (_zeros(n), [spec.get(metadata)])
            continue
        get = spec.get
        if isinstance(get, FieldGetter):
            coded = not (get.part is None and spec.render is None and spec.dtype in _PER_ROW_DTYPES)
            key = (get.name, id(get.default), coded)
            stored = fields.get(key)
            if stored is None:
                stored = kept.get(get.name)
                if stored is None:
                    try:
                        values = read.get(get.name)
                        if values is None:
                            values = list(map(operator.attrgetter(get.name), runs))
                    except AttributeError:  # a run lacks the field: its default
                        if get.default is _MISSING:
                            raise
                        name, default = get.name, get.default
                        values = [getattr(run, name, default) for run in runs]
                    stored = _by_identity(values) if coded else (None, values)
                elif stored[0] is not None:
                    stored = (_as_codes(stored[0]), stored[1])
                fields[key] = stored
            out[spec.name] = _rendered(stored, get.part, spec.render)
            continue
        values = list(map(get, runs))
        if spec.render is None and spec.dtype in _PER_ROW_DTYPES:
            out[spec.name] = (None, values)
            continue
        out[spec.name] = _rendered(_by_identity(values), None, spec.render)
    return out


def read_runs(runs: Sequence[Any], names: list[str]) -> dict[str, list[Any]]:
    """Fields ``names`` of every run, one list per field, for those the runs can give at once: the model fields
    (:func:`read_fields`) and the properties the run class reads for many runs together (a ``table_fields``
    classmethod, as :class:`~russo_nb.scenario.ScenarioResult` has); the others are left out (read with
    ``getattr``). Iterates ``runs`` only when some field is asked for."""
    if not names or not len(runs):
        return {}
    model = _model_fields(runs, names)
    read = read_fields(runs, model) or {}
    rest = [name for name in names if name not in model]
    kind = type(runs[0])
    bulk = getattr(kind, "table_fields", None)
    if rest and bulk is not None and set(map(type, runs)) == {kind}:
        read.update(bulk(runs, rest))
    return read


def _model_fields(runs: Sequence[Any], names: list[str]) -> list[str]:
    """Those of ``names`` the first run keeps as model fields (the others, properties such as a scenario run's
    ``prompt`` or ``eval_result``, are read with ``getattr``)."""
    if not len(runs):
        return names
    declared = getattr(type(runs[0]), "model_fields", None)
    return [name for name in names if name in declared] if isinstance(declared, dict) else names


_CHUNK = 256
"""Runs read per step by :func:`read_fields`: their row tuples are dropped before the next step."""

_KEPT_IN_DICT: dict[tuple[type, tuple[str, ...]], bool] = {}


def _kept_in_dict(kind: type, names: tuple[str, ...]) -> bool:
    """Whether a ``kind`` run keeps each of ``names`` in its ``__dict__``: a pydantic model's fields."""
    key = (kind, names)
    verdict = _KEPT_IN_DICT.get(key)
    if verdict is None:
        declared = getattr(kind, "model_fields", None)
        verdict = _KEPT_IN_DICT[key] = isinstance(declared, dict) and all(name in declared for name in names)
    return verdict


def read_fields(runs: Sequence[Any], names: list[str]) -> dict[str, list[Any]] | None:
    """Fields ``names`` of every run, one list per field, read run by run; None when the runs are not all models
    keeping those fields in their ``__dict__`` (then read each field with ``getattr``).

    A run's fields sit together in its ``__dict__``: taking them all while the run is at hand visits
    each of 100,000 scattered runs once, where a pass per field visits it once per field (sixteen
    for a prompt run table: about four times the time, all of it waiting on memory). The row tuples
    are made ``_CHUNK`` runs at a time and dropped, so they never pile up into a full garbage collection.
    """
    if len(names) < 2 or not len(runs):
        return None
    key = tuple(names)
    get = operator.itemgetter(*names)
    columns: list[list[Any]] = [[] for _ in names]
    kinds: set[type] = set()
    rows = iter(runs)
    while chunk := list(islice(rows, _CHUNK)):
        fresh = set(map(type, chunk)) - kinds
        if fresh:
            if not all(_kept_in_dict(kind, key) for kind in fresh):
                return None
            kinds |= fresh
        try:
            parts = zip(*map(get, map(vars, chunk)))
            for column, values in zip(columns, parts):
                column.extend(values)
        except (KeyError, TypeError):  # a model built without one of its fields (object.__new__)
            return None
    return dict(zip(names, columns))


def in_order(codes: Any, distinct: int) -> bool:
    """Whether ``codes`` (into ``distinct`` cells) are ``0, 1, 2, ...``: each row its own cell, in order (a column
    of per-run texts), so a writer takes the cells as they are instead of spreading them over the rows."""
    import numpy as np

    return len(codes) == distinct and bool(np.array_equal(codes, np.arange(distinct)))


def _zeros(n: int) -> Any:
    import numpy as np

    return np.zeros(n, dtype=np.int64)


def _as_codes(codes: Sequence[int]) -> Any:
    import numpy as np

    return codes if isinstance(codes, np.ndarray) else np.asarray(codes, dtype=np.int64)


def _by_identity(values: list[Any]) -> tuple[Any, list[Any]]:
    """``values`` as codes into its distinct objects (by identity, first-seen order)."""
    import numpy as np
    import pandas as pd

    n = len(values)
    if n > 1:  # the two usual cases, told apart (when a probe of ~32 rows suggests one) for half the cost of coding
        probe = values[:: max(1, n // 32)]
        seen = len(set(map(id, probe)))
        if seen == 1 and values[0] is values[1]:  # maybe one object on every row (None, a batch's shared list)
            if len(set(map(id, values))) == 1:
                return np.zeros(n, dtype=np.int64), [values[0]]
        elif seen == len(probe) and values[0] is not values[1]:  # maybe each row its own object (a run's texts)
            if len(set(map(id, values))) == n:
                return np.arange(n, dtype=np.int64), list(values)
    ids = np.fromiter(map(id, values), dtype=np.uint64, count=len(values))
    codes, _ = pd.factorize(ids)  # values keep the ids unique
    codes = codes.astype(np.int64, copy=False)
    # codes count up in order of appearance: a code's first row is where it exceeds every code before it
    seen = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.concatenate(([True], codes[1:] > seen[:-1]))) if len(codes) else codes
    return codes, [values[row] for row in first.tolist()]


def _rendered(
    stored: tuple[Any, list[Any]], part: Callable[[Any], Any] | None, render: Callable[[Any], Any] | None
) -> tuple[Any, list[Any]]:
    """A stored field's ``(codes, values)`` with ``part`` and ``render`` applied once per distinct object."""
    codes, values = stored
    if part is None and render is None:
        return codes, values
    if codes is None:
        codes, values = _by_identity(values)
    raws = values if part is None else map(part, values)
    return codes, list(raws if render is None else map(render, raws))


def field_cells(runs: Sequence[Any], get: FieldGetter, render: Callable[[Any], Any] | None = None) -> list[Any]:
    """One run field's cell per run (through ``render``, computed once per distinct value).

    What :func:`table_columns` does for a single field: runs kept as columns (a loaded
    CSV / Parquet batch) answer from the stored column, without building a run per row.
    """
    return table_columns(runs, [RunColumn(get.name, get, "str", "", render=render)])[get.name]


def _decoded(codes: Sequence[int], values: list[Any]) -> list[Any]:
    """``values[code]`` for each code (codes as a list, or an integer array taken in C)."""
    import numpy as np

    if isinstance(codes, np.ndarray):
        table = np.empty(len(values), dtype=object)
        for index, value in enumerate(values):  # one by one: a list value stays one cell
            table[index] = value
        return table[codes].tolist()
    return [values[code] for code in codes]
