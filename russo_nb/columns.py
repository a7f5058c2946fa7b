"""The one shape of a run, and the columns of a run table, declared once.

:class:`Run` is the protocol every run satisfies — a prompt run
(:class:`~russo_nb.types.SingleRunResult`) and a scenario run
(:class:`~russo_nb.scenario.ScenarioResult`) alike — so renderers and analysis read
``run.status`` or ``run.tool_calls`` without probing types.

:data:`RUN_TABLE` declares every column of a run table once: its name, how it is read
from a run, its dtype and what it means (in the style of Inspect AI's dataframe column
specs). That one declaration drives the runs frame (:func:`russo_nb.analysis.runs_frame`,
``BatchResult.to_dataframe()``), the CSV / Parquet files (frame columns plus the
``export`` columns that let a file load back exactly) and the history store's run
columns. Scenario batches add the ``kinds=("scenarios",)`` columns to the same table.

This module imports neither pandas nor numpy; :func:`table_columns` gives plain lists.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from .serialize import dumps_safe, evaluation_to_plain
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
    retried_text,
)

__all__ = [
    "RUN_STATUSES",
    "RUN_TABLE",
    "TABLE_LEAVES_OUT",
    "ColumnDtype",
    "FieldGetter",
    "Run",
    "RunColumn",
    "calls_text",
    "column",
    "field",
    "field_cells",
    "frame_columns",
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
    batch that keeps its runs as columns (:class:`russo_nb.lazy_runs.LazyRuns`) gives the
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


_eval = field("eval_result")


def _n_expected(ev: EvalResult | None) -> int:
    return len(ev.expected) if ev is not None else 0


def _n_actual(ev: EvalResult | None) -> int:
    return len(ev.actual) if ev is not None else 0


def _n_matched(ev: EvalResult | None) -> int:
    if ev is None:
        return 0
    return sum(1 for match in ev.matches if match.matched)


def _match_rate(ev: EvalResult | None) -> float | None:
    if ev is None:
        return None
    n = len(ev.expected)
    return _n_matched(ev) / n if n else 1.0


def _expected_text(ev: EvalResult | None) -> str:
    return calls_text(ev.expected) if ev is not None else ""


def _actual_text(ev: EvalResult | None) -> str:
    return calls_text(ev.actual) if ev is not None else ""


def _details(ev: EvalResult | None) -> str:
    """The evaluator's explanation of misses: per-call details, then the overall one."""
    if ev is None or not (ev.details or not ev.passed):
        return ""
    parts = [match.details for match in ev.matches if match.details]
    if ev.details:
        parts.append(ev.details)
    return "; ".join(parts)


def _retried_json(retried: Sequence[RetriedAttempt] | None) -> str:
    """The earlier attempts as a JSON list (what a CSV / Parquet file keeps to load them back); '' when none."""
    return dumps_safe([attempt.model_dump() for attempt in retried]) if retried else ""


_CONDITIONS_JSON: dict[tuple[Any, ...], str] = {}


def _conditions_json(conditions: dict[str, Any] | None) -> str:
    """The run's conditions as a JSON object (NaN kept), '' when it has none; equal dicts are written once."""
    if not conditions:
        return ""
    try:
        key = tuple(conditions.items())
        text = _CONDITIONS_JSON.get(key)
    except TypeError:  # an unhashable value: written as it is
        return dumps_safe(conditions)
    if text is None:
        if len(_CONDITIONS_JSON) > 10_000:
            _CONDITIONS_JSON.clear()
        text = _CONDITIONS_JSON[key] = dumps_safe(conditions)
    return text


def _evaluation_json(ev: EvalResult | None) -> str:
    return "" if ev is None else dumps_safe(evaluation_to_plain(ev))


def _error_part(name: str) -> FieldGetter:
    """A part of the run's error (``''`` when none); a plain-text error is its own message."""

    def part(err: Any) -> str:
        if err is None:
            return ""
        if isinstance(err, str):
            return err if name == "message" else ""
        return getattr(err, name, "") or ""

    return field("error", part, key=name)


def _effects_text(effects: list[str] | None) -> str:
    return ", ".join(effects) if effects else ""


def _n_turns(transcript: list[Any] | None) -> int | None:
    return len(transcript) if transcript is not None else None


def _response_text(run: Any) -> str | None:
    return run.text


def _usage_part(name: str) -> FieldGetter:
    """A count the agent's adapter reported in ``response.usage`` (None when it reported none)."""

    def part(response: Any) -> float | None:
        usage = getattr(response, "usage", None)
        value = usage.get(name) if isinstance(usage, dict) else None
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    return field("response", part, default=None, key=name)


def _tool_names(ev: EvalResult | None) -> str:
    return ", ".join(call.name for call in ev.actual) if ev is not None else ""


def _is_passed(status: Any) -> bool:
    return status == "passed"


# -- the table --------------------------------------------------------------------------------

_SCENARIO = ("scenarios",)

RUN_TABLE: tuple[RunColumn, ...] = (
    RunColumn("batch_id", lambda meta: getattr(meta, "batch_id", None), "str", "The batch's id.", batch=True),
    RunColumn("agent", lambda meta: getattr(meta, "agent", None), "str", "The agent's name.", batch=True),
    RunColumn("prompt", field("prompt"), "str", "The prompt text (the scenario's name for scenario runs).", sql="TEXT"),
    RunColumn("prompt_id", field("prompt_id"), "str", "Stable 10-hex id of the prompt text.", sql="TEXT"),
    RunColumn("run_index", field("run_index"), "int", "0-based repetition of the prompt.", sql="INTEGER"),
    RunColumn(
        "status",
        field("status"),
        "category",
        "How the run ended: passed / failed / error / timeout / cancelled.",
        sql="TEXT",
        categories=RUN_STATUSES,
    ),
    RunColumn("passed", field("status", _is_passed), "bool", "status == 'passed'.", sql="INTEGER"),
    RunColumn(
        "match_rate",
        _eval,
        "float",
        "Matched / expected calls (1.0 when nothing expected; NaN when not evaluated).",
        render=_match_rate,
        sql="REAL",
    ),
    RunColumn("n_expected", _eval, "int", "Number of expected calls.", render=_n_expected),
    RunColumn("n_actual", _eval, "int", "Number of calls the agent made.", render=_n_actual),
    RunColumn("n_matched", _eval, "int", "Number of expected calls matched.", render=_n_matched),
    RunColumn(
        "expected",
        _eval,
        "str",
        "The expected calls as text, ``book_flight(to_city='LA'); cancel()``.",
        render=_expected_text,
    ),
    RunColumn("actual", _eval, "str", "The calls the agent made, as text.", render=_actual_text),
    RunColumn("details", _eval, "str", "The evaluator's explanation of misses ('' when all matched).", render=_details),
    RunColumn("error", _error_part("message"), "str", "The captured exception's message ('' when none).", sql="TEXT"),
    RunColumn("error_type", _error_part("type"), "str", "The captured exception's type ('' when none).", sql="TEXT"),
    RunColumn("latency_s", field("latency_s"), "float", "Seconds inside the agent (NaN when unknown).", sql="REAL"),
    RunColumn("synth_s", field("synth_s"), "float", "Seconds of speech synthesis (NaN when unknown).", sql="REAL"),
    RunColumn("attempts", field("attempts"), "int", "Tries the run took (retries + 1).", sql="INTEGER"),
    RunColumn(
        "retried",
        field("retried", default=()),
        "str",
        "The earlier attempts that failed and were retried, '2 retried, last RetryableError' ('' when none).",
        render=retried_text,
        sql="TEXT",
    ),
    RunColumn(
        "effects",
        field("effects"),
        "str",
        "The audio effects applied, joined with ', ' ('' when none).",
        render=_effects_text,
        sql="TEXT",
    ),
    RunColumn("audio_key", field("audio_key"), "str", "Key of the clip the agent heard.", sql="TEXT"),
    RunColumn("seed", field("seed"), "Int64", "The run's seed (NA when none)."),
    RunColumn(
        "started_at", field("started_at"), "datetime", "When the run started (UTC; NaT when unknown).", sql="REAL"
    ),
    RunColumn(
        "input_tokens", _usage_part("input_tokens"), "float", "Input tokens the API reported (NaN: none).", sql="REAL"
    ),
    RunColumn(
        "output_tokens",
        _usage_part("output_tokens"),
        "float",
        "Output tokens the API reported (NaN: none).",
        sql="REAL",
    ),
    RunColumn(
        "total_tokens", _usage_part("total_tokens"), "float", "Tokens in all the API reported (NaN: none).", sql="REAL"
    ),
    RunColumn(
        "audio_s", _usage_part("audio_s"), "float", "Seconds of audio sent to the agent (NaN: unknown).", sql="REAL"
    ),
    # -- in files only: what makes a CSV / Parquet export load back exactly ------------------
    RunColumn("error_stage", _error_part("stage"), "str", "Where the error happened.", frame=False, sql="TEXT"),
    RunColumn(
        "error_traceback", _error_part("traceback"), "str", "The error's formatted traceback (bounded).", frame=False
    ),
    RunColumn("error_cause", _error_part("cause"), "str", "What the error was raised from.", frame=False),
    RunColumn("error_agent", _error_part("agent"), "str", "The scenario agent that raised it.", frame=False),
    RunColumn("text", _response_text, "str", "What the agent said besides its calls.", frame=False),
    RunColumn(
        "evaluation",
        _eval,
        "json",
        "The evaluation as JSON (expected, actual, matches).",
        render=_evaluation_json,
        frame=False,
    ),
    RunColumn(
        "retried_attempts",
        field("retried", default=()),
        "json",
        "The earlier attempts as JSON (type, message, stage, retry_after, waited_s; '' when none).",
        render=_retried_json,
        frame=False,
    ),
    RunColumn(
        "conditions",
        field("conditions", default={}),
        "json",
        "The run's conditions as a JSON object ('' when none); the runs frame has one column per condition.",
        render=_conditions_json,
        frame=False,
        sql="TEXT",
    ),
    # -- scenario runs ---------------------------------------------------------------------------
    RunColumn("scenario", lambda r: r.name, "str", "The scenario's name (same as prompt).", kinds=_SCENARIO),
    RunColumn(
        "success", lambda r: r.success, "bool", "The verdict (judge, succeed()/fail() or check).", kinds=_SCENARIO
    ),
    RunColumn("score", lambda r: r.score, "float", "Weighted score (NaN without scorers).", kinds=_SCENARIO),
    RunColumn("turns", lambda r: r.turns, "int", "Conversation turns.", kinds=_SCENARIO),
    RunColumn(
        "n_turns", lambda r: r.transcript, "Int64", "Messages in the transcript.", render=_n_turns, kinds=_SCENARIO
    ),
    RunColumn("tool_calls", _eval, "int", "Tool calls the agent made.", render=_n_actual, kinds=_SCENARIO),
    RunColumn("tools", _eval, "str", "Tool names, in order.", render=_tool_names, kinds=_SCENARIO),
    RunColumn("criteria_passed", lambda r: len(r.passed_criteria), "int", "Criteria met.", kinds=_SCENARIO),
    RunColumn("criteria_failed", lambda r: len(r.failed_criteria), "int", "Criteria missed.", kinds=_SCENARIO),
    RunColumn(
        "failed_criteria", lambda r: "; ".join(r.failed_criteria), "str", "The missed criteria.", kinds=_SCENARIO
    ),
    RunColumn("total_time", lambda r: r.total_time, "float", "Seconds the whole run took.", kinds=_SCENARIO),
    RunColumn("agent_time", lambda r: r.agent_time, "float", "Seconds inside the agent.", kinds=_SCENARIO),
    RunColumn("reasoning", lambda r: r.reasoning or "", "str", "The judge's reasoning.", kinds=_SCENARIO),
    RunColumn("tags", lambda r: ", ".join(r.tags), "str", "The scenario's tags.", kinds=_SCENARIO),
    RunColumn("thread_id", lambda r: r.thread_id, "str", "The conversation's thread id.", kinds=_SCENARIO),
    RunColumn(
        "scenario_run",
        lambda r: r,
        "json",
        "The whole scenario run as JSON (transcript, criteria, scores, lifecycle; clips by key): loads back exactly.",
        render=lambda run: run.model_dump_json(fallback=repr),
        frame=False,
        kinds=_SCENARIO,
    ),
)
"""Every column of a run table, in order. Scenario batches also get ``score_<name>`` per scorer."""


TABLE_LEAVES_OUT: dict[str, str] = {
    "transcript": "a run table holds no conversation (a prompt run has none; JSON lines keep it)",
}
"""Run fields no RUN_TABLE column reads, and why (a test checks every other field has a column)."""


def column(name: str) -> RunColumn:
    """The declaration of one column by name."""
    for spec in RUN_TABLE:
        if spec.name == name:
            return spec
    raise KeyError(name)


def frame_columns(kind: str = "prompts", *, files: bool = False) -> list[RunColumn]:
    """The columns of a ``kind`` batch's runs frame (``files``: plus the export-only columns)."""
    return [spec for spec in RUN_TABLE if kind in spec.kinds and (spec.frame or (files and spec.export))]


def table_columns(runs: Sequence[Any], columns: Sequence[RunColumn], metadata: Any = None) -> dict[str, list[Any]]:
    """Each column's cells for ``runs`` as a plain list, rendered values computed once per distinct raw value.

    Runs kept as columns (:class:`~russo_nb.types.ColumnarRuns`, a loaded CSV / Parquet batch)
    give a field column's cells from the stored column, without building the runs.
    """
    out: dict[str, list[Any]] = {}
    n = len(runs)
    store = runs if isinstance(runs, ColumnarRuns) else None
    fields: dict[tuple[str, int], list[Any]] = {}  # each run field read once, however many columns read it
    for spec in columns:
        if spec.batch:
            out[spec.name] = [spec.get(metadata)] * n
            continue
        get = spec.get
        stored = store.field_values(get.name) if store is not None and isinstance(get, FieldGetter) else None
        if stored is not None:
            out[spec.name] = _stored_cells(spec, get, *stored)
            continue
        if isinstance(get, FieldGetter):
            key = (get.name, id(get.default))
            values = fields.get(key)
            if values is None:
                if get.default is _MISSING:
                    values = list(map(operator.attrgetter(get.name), runs))
                else:
                    name, default = get.name, get.default
                    values = [getattr(run, name, default) for run in runs]
                fields[key] = values
            out[spec.name] = _stored_cells(spec, get, None, values)
            continue
        if spec.render is None:
            out[spec.name] = [get(run) for run in runs]
            continue
        render = spec.render
        memo: dict[int, tuple[Any, Any]] = {}  # id -> (raw kept alive so ids are not reused, cell)
        cells = []
        append = cells.append
        for run in runs:
            raw = get(run)
            hit = memo.get(id(raw))
            if hit is None:
                hit = memo[id(raw)] = (raw, render(raw))
            append(hit[1])
        out[spec.name] = cells
    return out


def field_cells(runs: Sequence[Any], get: FieldGetter, render: Callable[[Any], Any] | None = None) -> list[Any]:
    """One run field's cell per run (through ``render``, computed once per distinct value).

    What :func:`table_columns` does for a single field: runs kept as columns (a loaded
    CSV / Parquet batch) answer from the stored column, without building a run per row.
    """
    return table_columns(runs, [RunColumn(get.name, get, "str", "", render=render)])[get.name]


def _stored_cells(spec: RunColumn, get: FieldGetter, codes: Sequence[int] | None, values: list[Any]) -> list[Any]:
    """A column's cells from a stored field column: ``values`` per row, or ``values[codes[row]]``."""
    part, render = get.part, spec.render
    if part is None and render is None:
        return list(values) if codes is None else _decoded(codes, values)
    ids = list(map(id, values))  # values are alive in ``values``, so their ids are not reused meanwhile
    distinct = dict(zip(ids, values))
    made = {}
    for key, value in distinct.items():  # each distinct object read and rendered once
        raw = value if part is None else part(value)
        made[key] = raw if render is None else render(raw)
    cells = list(map(made.__getitem__, ids))
    return cells if codes is None else _decoded(codes, cells)


def _decoded(codes: Sequence[int], values: list[Any]) -> list[Any]:
    """``values[code]`` for each code (codes as a list, or an integer array taken in C)."""
    import numpy as np

    if isinstance(codes, np.ndarray):
        table = np.empty(len(values), dtype=object)
        for index, value in enumerate(values):  # one by one: a list value stays one cell
            table[index] = value
        return table[codes].tolist()
    return [values[code] for code in codes]
