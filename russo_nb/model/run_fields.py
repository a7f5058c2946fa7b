"""Every field of a run, declared once: each reader and writer of runs is derived from :data:`FIELDS`.

A :class:`RunField` says, for one field of a prompt run (:class:`~russo_nb.model.types.SingleRunResult`)
and / or a scenario run (:class:`~russo_nb.scenario.ScenarioResult`):

- its **cell** in the compact row format (``encode`` / ``decode`` / ``check``): the JSON-lines
  export and :func:`russo_nb.model.records.encode_runs` (:func:`russo_nb.model.records.record_fields`);
- its **plain JSON** (``plain``): :func:`run_to_plain`, what the history store writes when
  pydantic's serializer refuses a value;
- its **run-table columns** (``dtype``: a column named as the field; ``columns``: further ones
  read from it): the runs frame (``to_dataframe()``), CSV / Parquet files, the history store's
  SQL columns (``sql``), all from :func:`run_table`; a field no column keeps says why
  (``not_in_table``) and a table loads it back as the model's default;
- how a **CSV / Parquet file loads it back** into a batch kept as columns
  (:class:`russo_nb.model.lazy_runs.LazyRuns`): a field's own column is read by its dtype, a field
  kept otherwise (several columns, JSON, a category) by the ``load`` it declares
  (:mod:`russo_nb.model.table_loads`);
- whether the **notebook** shows it (``shown``): a column of the runs table and a fact in the run detail.

So adding a field to the run models is one edit here: a scalar with a ``dtype`` reaches every
format (``tests/test_run_fields.py`` adds one and checks; it also fails when a model field is not
declared). Derived lists are cached against the identity of :data:`FIELDS`.
"""

from __future__ import annotations

import operator
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from .columns import RUN_STATUSES, ColumnDtype, FieldGetter, RunColumn, calls_text, field
from .lean import conditions_key
from .serialize import dumps_safe, evaluation_to_plain, plain
from .table_loads import (
    effects_cell,
    load_conditions,
    load_effects,
    load_error,
    load_evaluation,
    load_prompt_id,
    load_response,
    load_retried,
    load_status,
)
from .types import Audio, EvalResult, RetriedAttempt, RunError, construct_fast, retried_text

__all__ = [
    "BATCH_COLUMNS",
    "BOTH",
    "FIELDS",
    "PROMPTS",
    "SCENARIOS",
    "WHOLE_RUN_COLUMNS",
    "CellCheck",
    "RunField",
    "Shown",
    "column",
    "declared",
    "derived",
    "frame_columns",
    "model_default",
    "register_scenario_models",
    "run_model",
    "run_json",
    "run_table",
    "run_to_plain",
    "scenario_run_model",
]

PROMPTS: tuple[str, ...] = ("prompts",)
SCENARIOS: tuple[str, ...] = ("scenarios",)
BOTH: tuple[str, ...] = ("prompts", "scenarios")

OWN_DTYPE_LOADS: tuple[str, ...] = ("str", "int", "Int64", "float", "bool", "datetime")
"""The dtypes of a field's own column that a CSV / Parquet file reads back as the field's value without a ``load``."""

CellCheck = Literal["any", "int", "int?", "float", "bool", "status"]
"""How a plain cell is checked on the way back: as it is, a whole number (or None), a number or None, a bool,
a run status. Whole numbers must be of sane size (:mod:`russo_nb.model.cells`)."""


@dataclass(frozen=True)
class Shown:
    """How the notebook shows a field: the runs table's column (header ``label``, ``width`` in characters;
    ``cell``, when set, the runs-table column displayed while the field's column is what it sorts by) and
    the run detail's fact named ``label``."""

    label: str
    width: int
    cell: str | None = None


@dataclass(frozen=True)
class RunField:
    """One field of a run and how every format writes and reads it.

    ``kinds``: the run models that have the field (``prompts``: SingleRunResult, ``scenarios``:
    ScenarioResult). The row cell: a *plain* cell (no ``encode`` / ``decode``) is the value
    itself, checked on reading as ``check`` says; otherwise ``encode(encoder, run)`` gives the cell
    (usually a reference into a shared table) and ``decode(decoder, cell)`` the value, or a tuple of
    it and the fields named in ``also``. ``in_record=False``: another field's cell carries it
    (``prompt_id`` beside its prompt). ``default`` makes the value of a trailing cell left off
    (else a plain cell reads as the model's default, a decoded one as ``decode(decoder, None)``).

    ``plain(value)``: the value as plain JSON data for :func:`run_to_plain` (default
    :func:`russo_nb.model.serialize.plain`). ``dtype``: the field has a run-table column of its own name
    reading it as it is (``sql``: also a history-store column; ``column_kinds``: the batches whose
    table has it, default ``kinds``; ``frame=False``: in files only); ``columns``: further columns
    read from the field. ``not_in_table``: why no column keeps the field (then it is required).
    ``load``: how a CSV / Parquet file rebuilds a prompt-run field that no column of a plain dtype
    (:data:`OWN_DTYPE_LOADS`) gives as it is (several columns, JSON, a category): ``load(table, spec)``
    makes the field's values from the file's columns (:mod:`russo_nb.model.table_loads`); loading a file
    says which field lacks one.
    ``shown``: the runs table shows the field's own column.
    """

    name: str
    kinds: tuple[str, ...]
    doc: str
    encode: Callable[[Any, Any], Any] | None = None
    decode: Callable[[Any, Any], Any] | None = None
    check: CellCheck = "any"
    default: Callable[[], Any] | None = None
    also: tuple[str, ...] = ()
    in_record: bool = True
    plain: Callable[[Any], Any] | None = None
    dtype: ColumnDtype | None = None
    sql: str | None = None
    column_kinds: tuple[str, ...] | None = None
    frame: bool = True
    columns: tuple[RunColumn, ...] = ()
    not_in_table: str = ""
    load: Callable[[Any, Any], Any] | None = None
    shown: Shown | None = None

    def own_column(self) -> RunColumn | None:
        """The column named as the field that reads it as it is (None without a ``dtype``)."""
        if self.dtype is None:
            return None
        return RunColumn(
            self.name,
            field(self.name),
            self.dtype,
            self.doc,
            frame=self.frame,
            sql=self.sql,
            kinds=self.column_kinds or self.kinds,
            categories=RUN_STATUSES if self.dtype == "category" else None,
        )

    def table_columns(self) -> tuple[RunColumn, ...]:
        """Every run-table column read from this field: its own, then the further ones."""
        own = self.own_column()
        return self.columns if own is None else (own, *self.columns)


# -- how table cells are made ---------------------------------------------------------------------

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
        key = conditions_key(conditions)
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


def _n_turns(transcript: list[Any] | None) -> int | None:
    return len(transcript) if transcript is not None else None


def _said(response: Any) -> str | None:
    """What a prompt run's agent said besides its calls (None without a response): read once per distinct response."""
    return None if response is None else response.text


def _usage_part(name: str) -> FieldGetter:
    """A count the agent's adapter reported in ``response.usage`` (None when it reported none)."""

    def part(response: Any) -> float | None:
        usage = getattr(response, "usage", None)
        value = usage.get(name) if isinstance(usage, dict) else None
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    return field("response", part, default=None, key=name)


def _usage_column(name: str, doc: str) -> RunColumn:
    """A float SQL column of a count in the run's ``response.usage``."""
    return RunColumn(name, _usage_part(name), "float", doc, sql="REAL")


def _criteria_field(outcome: Literal["passed", "failed"], verb: str, *more: RunColumn) -> RunField:
    """``passed_criteria`` / ``failed_criteria``: the criteria a scenario run met or missed, and their count."""
    name = f"{outcome}_criteria"
    count = RunColumn(f"criteria_{outcome}", field(name, len), "int", f"Criteria {verb}.", kinds=SCENARIOS)
    return _texts_field(name, SCENARIOS, f"The criteria {verb}.", columns=(count, *more))


def _tool_names(ev: EvalResult | None) -> str:
    return ", ".join(call.name for call in ev.actual) if ev is not None else ""


def _or_blank(text: str | None) -> str:
    return text or ""


def _is_passed(status: Any) -> bool:
    return status == "passed"


# -- how row cells are written and read (see russo_nb.model.records) -------------------------------------


def _error_cell(_: Any, run: Any) -> Any:
    error = run.error
    return None if error is None else error.model_dump()


def _error(_: Any, cell: Any) -> RunError | None:
    return None if cell is None else RunError.model_validate(cell)


def _retried_cell(_: Any, run: Any) -> list[Any] | None:
    return [attempt.model_dump() for attempt in run.retried] if run.retried else None


def _retried(_: Any, cell: Any) -> tuple[RetriedAttempt, ...]:
    return tuple(RetriedAttempt.model_validate(item) for item in cell) if cell else ()


def _conditions_cell(enc: Any, run: Any) -> int | None:
    return enc.listed(run.conditions) if run.conditions else None


def _conditions(dec: Any, cell: Any) -> dict[str, Any]:
    return dec.conditions(cell)


def _listed(name: str) -> Callable[[Any, Any], Any]:
    def encode(enc: Any, run: Any) -> int:
        return enc.listed(getattr(run, name))

    return encode


def _from_lists(kind: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    def decode(dec: Any, cell: Any) -> Any:
        return dec.shared(cell, kind)

    return decode


def _text_list(value: Any) -> list[str]:
    return [str(item) for item in value]


def _texts_field(name: str, kinds: tuple[str, ...], doc: str, **facets: Any) -> RunField:
    """A field holding a list of texts (effects, criteria, tags): its cell refers to the lists table."""
    return RunField(name, kinds, doc, _listed(name), _from_lists(_text_list), **facets)


# -- prompt runs ----------------------------------------------------------------------------------


def _prompt_cell(enc: Any, run: Any) -> int:
    return enc.prompts.ref(run.prompt, lambda p, r=run: [p, r.prompt_id])


def _prompt(dec: Any, cell: Any) -> tuple[str, str]:
    return dec.prompts[cell]


def _audio_key_cell(enc: Any, run: Any) -> int | None:
    return None if run.audio_key is None else enc.listed(run.audio_key)


def _audio_key(dec: Any, cell: Any) -> str | None:
    return None if cell is None else str(dec.lists[cell])


# -- scenario runs --------------------------------------------------------------------------------


def _name_cell(enc: Any, run: Any) -> int:
    return enc.prompts.ref(run.name, lambda p, r=run: [p, r.prompt_id])


def _name(dec: Any, cell: Any) -> str:
    return dec.prompts[cell][0]


def _audio_cell(enc: Any, run: Any) -> list[str]:
    enc.audio.update(run.audio)
    return list(run.audio)


def _audio(dec: Any, cell: Any) -> dict[str, Audio]:
    clips = dec.audio
    return {str(key): clips[key] for key in cell if key in clips}


_EVENT_CELL = operator.attrgetter("phase", "at", "detail")
_CRITERION_CELL = operator.attrgetter("criterion", "passed", "reasoning")


def _lifecycle_cell(_: Any, run: Any) -> list[Any]:
    """Each event as ``(phase, at, detail)``: a JSON array (tuples made in C)."""
    return list(map(_EVENT_CELL, run.lifecycle))


# The scenario run's models live in the scenario room, which runs scenarios through the engine, and
# the engine reads these declarations: the model room never imports it (a room imports only the rooms
# below it, tests/test_foundation_layering.py). russo_nb.scenario.result hands its models here as it is
# imported; what reads scenario runs from a file (russo_nb.results.report, the store) imports it first.
_SCENARIO_MODELS: dict[str, type] = {}


def register_scenario_models(*models: type) -> None:
    """Called by :mod:`russo_nb.scenario.result` when imported: ScenarioResult and the models of its fields."""
    _SCENARIO_MODELS.update((model.__name__, model) for model in models)


def scenario_run_model() -> type | None:
    """ScenarioResult once :mod:`russo_nb.scenario` is imported, else None (then no scenario run exists yet)."""
    return _SCENARIO_MODELS.get("ScenarioResult")


def _scenario_model(name: str) -> Any:
    model = _SCENARIO_MODELS.get(name)
    if model is None:
        raise LookupError(f"{name} is not loaded: import russo_nb.scenario before reading scenario runs")
    return model


def _lifecycle(_: Any, cell: Any) -> list[Any]:
    LifecycleEvent = _scenario_model("LifecycleEvent")
    phases = _phases(LifecycleEvent)
    events = []
    for phase, at, detail in cell:
        values = {"phase": phase, "at": at, "detail": detail}
        if phase in phases and type(at) is float and type(detail) is str:  # already what validation gives
            events.append(construct_fast(LifecycleEvent, values))
        else:
            events.append(LifecycleEvent.model_validate(values))
    return events


_PHASES: dict[type, frozenset[str]] = {}


def _phases(model: type) -> frozenset[str]:
    """The phase names a lifecycle event may hold (its ``phase`` Literal)."""
    hit = _PHASES.get(model)
    if hit is None:
        hit = _PHASES[model] = frozenset(typing.get_args(model.model_fields["phase"].annotation))
    return hit


def _criteria_cell(_: Any, run: Any) -> list[Any]:
    """Each criterion's verdict as ``(criterion, passed, reasoning)``: a JSON array."""
    return list(map(_CRITERION_CELL, run.criteria_results))


def _criteria(_: Any, cell: Any) -> list[Any]:
    CriterionResult = _scenario_model("CriterionResult")
    return [CriterionResult(criterion=str(c), passed=bool(ok), reasoning=str(why)) for c, ok, why in cell]


def _scores(_: Any, cell: Any) -> dict[str, float]:
    if not isinstance(cell, dict):
        raise ValueError(f"scores {cell!r} is not a dict of numbers")
    return {str(name): float(value) for name, value in cell.items()}


def _messages(_: Any, cell: Any) -> list[dict[str, Any]]:
    if not isinstance(cell, list) or not all(isinstance(m, dict) for m in cell):
        raise ValueError("messages are not a list of message objects")
    return cell


_IN_SCENARIO_RUN = "kept in a scenario table's scenario_run column (the whole run as JSON)"

# -- plain JSON ------------------------------------------------------------------------------------


def _call_dict(call: Any) -> dict[str, Any]:
    return {"name": call.name, "arguments": plain(call.arguments)}


def _evaluation_plain(ev: EvalResult) -> dict[str, Any]:
    """An evaluation as ``model_dump`` gives it (so a stored run validates back), arguments made plain."""
    return {
        "passed": ev.passed,
        "expected": [_call_dict(c) for c in ev.expected],
        "actual": [_call_dict(c) for c in ev.actual],
        "matches": [
            {
                "expected": _call_dict(m.expected),
                "actual": None if m.actual is None else _call_dict(m.actual),
                "matched": m.matched,
                "details": m.details,
            }
            for m in ev.matches
        ],
        "details": ev.details,
    }


def _response_plain(response: Any) -> dict[str, Any] | None:
    if response is None:
        return None
    return {
        "tool_calls": [_call_dict(c) for c in response.tool_calls],
        "text": response.text,
        "raw": plain(response.raw),
        "usage": plain(response.usage),
    }


def _dumped(value: Any) -> Any:
    return None if value is None else value.model_dump()


def _dumped_each(values: Any) -> list[Any]:
    return [item.model_dump() for item in values]


# -- the declaration --------------------------------------------------------------------------------

FIELDS: tuple[RunField, ...] = (
    RunField(
        "prompt",
        PROMPTS,
        "The prompt text (the scenario's name for scenario runs).",
        _prompt_cell,
        _prompt,
        also=("prompt_id",),
        dtype="str",
        sql="TEXT",
        column_kinds=BOTH,
        shown=Shown("prompt", 34),
    ),
    RunField(
        "prompt_id",
        PROMPTS,
        "Stable 10-hex id of the prompt text.",
        in_record=False,
        dtype="str",
        sql="TEXT",
        column_kinds=BOTH,
        load=load_prompt_id,
    ),
    RunField(
        "run_index",
        BOTH,
        "0-based repetition of the prompt.",
        check="int",
        dtype="int",
        sql="INTEGER",
        shown=Shown("run", 4),
    ),
    RunField(
        "status",
        BOTH,
        "How the run ended: passed / failed / error / timeout / cancelled.",
        check="status",
        dtype="category",
        sql="TEXT",
        columns=(RunColumn("passed", field("status", _is_passed), "bool", "status == 'passed'.", sql="INTEGER"),),
        shown=Shown("status", 9),
        load=load_status,
    ),
    RunField(
        "eval_result",
        PROMPTS,
        "How the calls the agent made matched the expected ones.",
        lambda enc, run: enc.evaluation(run.eval_result),
        lambda dec, cell: dec.evals[cell],
        plain=_evaluation_plain,
        columns=(
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
            RunColumn(
                "details", _eval, "str", "The evaluator's explanation of misses ('' when all matched).", render=_details
            ),
            RunColumn(
                "evaluation",
                _eval,
                "json",
                "The evaluation as JSON (expected, actual, matches).",
                render=_evaluation_json,
                frame=False,
            ),
        ),
        load=load_evaluation,
    ),
    RunField(
        "error",
        BOTH,
        "The captured exception (None when the run raised nothing).",
        _error_cell,
        _error,
        plain=_dumped,
        columns=(
            RunColumn(
                "error", _error_part("message"), "str", "The captured exception's message ('' when none).", sql="TEXT"
            ),
            RunColumn(
                "error_type", _error_part("type"), "str", "The captured exception's type ('' when none).", sql="TEXT"
            ),
            RunColumn("error_stage", _error_part("stage"), "str", "Where the error happened.", frame=False, sql="TEXT"),
            RunColumn(
                "error_traceback",
                _error_part("traceback"),
                "str",
                "The error's formatted traceback (bounded).",
                frame=False,
            ),
            RunColumn("error_cause", _error_part("cause"), "str", "What the error was raised from.", frame=False),
            RunColumn("error_agent", _error_part("agent"), "str", "The scenario agent that raised it.", frame=False),
        ),
        load=load_error,
    ),
    RunField(
        "latency_s",
        PROMPTS,
        "Seconds inside the agent (NaN when unknown).",
        check="float",
        dtype="float",
        sql="REAL",
        column_kinds=BOTH,
        shown=Shown("latency", 8),
    ),
    RunField(
        "synth_s",
        PROMPTS,
        "Seconds of speech synthesis (NaN when unknown).",
        check="float",
        dtype="float",
        sql="REAL",
        column_kinds=BOTH,
    ),
    RunField(
        "attempts",
        BOTH,
        "Tries the run took (retries + 1).",
        check="int",
        dtype="int",
        sql="INTEGER",
        shown=Shown("attempts", 20, cell="attempts_text"),
    ),
    RunField(
        "retried",
        BOTH,
        "The earlier attempts that failed and were retried (oldest first).",
        _retried_cell,
        _retried,
        default=tuple,
        plain=_dumped_each,
        columns=(
            RunColumn(
                "retried",
                field("retried", default=()),
                "str",
                "The earlier attempts that failed and were retried, '2 retried, last RetryableError' ('' when none).",
                render=retried_text,
                sql="TEXT",
            ),
            RunColumn(
                "retried_attempts",
                field("retried", default=()),
                "json",
                "The earlier attempts as JSON (type, message, stage, retry_after, waited_s; '' when none).",
                render=_retried_json,
                frame=False,
            ),
        ),
        load=load_retried,
    ),
    _texts_field(
        "effects",
        PROMPTS,
        "The audio effects applied.",
        plain=list,
        columns=(
            RunColumn(
                "effects",
                field("effects"),
                "str",
                "The audio effects applied, joined with ', ' ('' when none; a JSON list when a name holds ', ').",
                render=effects_cell,
                sql="TEXT",
            ),
        ),
        load=load_effects,
    ),
    RunField(
        "audio_key",
        PROMPTS,
        "Key of the clip the agent heard.",
        _audio_key_cell,
        _audio_key,
        dtype="str",
        sql="TEXT",
        column_kinds=BOTH,
    ),
    RunField("seed", BOTH, "The run's seed (NA when none).", check="int?", dtype="Int64"),
    RunField(
        "started_at",
        BOTH,
        "When the run started (UTC; NaT when unknown).",
        check="float",
        dtype="datetime",
        sql="REAL",
    ),
    RunField(
        "response",
        PROMPTS,
        "The adapter's answer: its calls, text, raw payload and usage.",
        lambda enc, run: enc.response(run.response),
        lambda dec, cell: None if cell is None else dec.responses[cell],
        plain=_response_plain,
        columns=(
            _usage_column("input_tokens", "Input tokens the API reported (NaN: none)."),
            _usage_column("output_tokens", "Output tokens the API reported (NaN: none)."),
            _usage_column("total_tokens", "Tokens in all the API reported (NaN: none)."),
            _usage_column("audio_s", "Seconds of audio sent to the agent (NaN: unknown)."),
            RunColumn(
                "text",
                field("response", _said, default=None, key="text"),
                "str",
                "What the agent said besides its calls.",
                frame=False,
                kinds=PROMPTS,
            ),
            RunColumn(  # a scenario run's last text reply: its transcript's (ScenarioResult.text)
                "text", field("text"), "str", "The agent's last text reply.", frame=False, kinds=SCENARIOS
            ),
        ),
        load=load_response,
    ),
    RunField(
        "transcript",
        PROMPTS,
        "The conversation, when the adapter kept one (OpenAI-format messages).",
        not_in_table="a run table holds no conversation (a prompt run has none; JSON lines keep it)",
    ),
    RunField(
        "conditions",
        BOTH,
        "What the run ran under, name → scalar.",
        _conditions_cell,
        _conditions,
        columns=(
            RunColumn(
                "conditions",
                field("conditions", default={}),
                "json",
                "The run's conditions as a JSON object ('' when none); the runs frame has one column per condition.",
                render=_conditions_json,
                frame=False,
                sql="TEXT",
            ),
        ),
        load=load_conditions,
    ),
    # -- scenario runs ---------------------------------------------------------------------------
    RunField(
        "name",
        SCENARIOS,
        "The scenario's name.",
        _name_cell,
        _name,
        columns=(
            RunColumn("scenario", field("name"), "str", "The scenario's name (same as prompt).", kinds=SCENARIOS),
        ),
    ),
    RunField("success", SCENARIOS, "The verdict (judge, succeed()/fail() or check).", check="bool", dtype="bool"),
    RunField("score", SCENARIOS, "Weighted score (NaN without scorers).", check="float", dtype="float"),
    RunField("turns", SCENARIOS, "Conversation turns.", check="int", dtype="int"),
    RunField(
        "messages",
        SCENARIOS,
        "The conversation (OpenAI-format messages).",
        decode=_messages,
        columns=(
            RunColumn(
                "n_turns",
                field("transcript"),
                "Int64",
                "Messages in the transcript.",
                render=_n_turns,
                kinds=SCENARIOS,
            ),
            RunColumn("tool_calls", _eval, "int", "Tool calls the agent made.", render=_n_actual, kinds=SCENARIOS),
            RunColumn("tools", _eval, "str", "Tool names, in order.", render=_tool_names, kinds=SCENARIOS),
        ),
    ),
    _criteria_field("passed", "met"),
    _criteria_field(
        "failed",
        "missed",
        RunColumn(
            "failed_criteria",
            field("failed_criteria", "; ".join),
            "str",
            "The missed criteria.",
            kinds=SCENARIOS,
        ),
    ),
    RunField("total_time", SCENARIOS, "Seconds the whole run took.", check="float", dtype="float"),
    RunField("agent_time", SCENARIOS, "Seconds inside the agent.", check="float", dtype="float"),
    RunField(
        "reasoning",
        SCENARIOS,
        "The judge's reasoning.",
        columns=(
            RunColumn("reasoning", field("reasoning", _or_blank), "str", "The judge's reasoning.", kinds=SCENARIOS),
        ),
    ),
    _texts_field(
        "tags",
        SCENARIOS,
        "The scenario's tags.",
        columns=(RunColumn("tags", field("tags", ", ".join), "str", "The scenario's tags.", kinds=SCENARIOS),),
    ),
    RunField("thread_id", SCENARIOS, "The conversation's thread id.", dtype="str"),
    RunField(
        "description",
        SCENARIOS,
        "What the scenario is about.",
        _listed("description"),
        _from_lists(str),
        not_in_table=_IN_SCENARIO_RUN,
    ),
    RunField(
        "criteria_results",
        SCENARIOS,
        "Each criterion's verdict and reasoning.",
        _criteria_cell,
        _criteria,
        not_in_table=_IN_SCENARIO_RUN,
    ),
    RunField("scores", SCENARIOS, "Each scorer's score.", decode=_scores, not_in_table=_IN_SCENARIO_RUN),
    RunField(
        "audio",
        SCENARIOS,
        "The clips the run carries (files keep their keys; the clips are the batch's audio).",
        _audio_cell,
        _audio,
        plain=list,
        not_in_table=_IN_SCENARIO_RUN,
    ),
    RunField("lifecycle", SCENARIOS, "What happened when.", _lifecycle_cell, _lifecycle, not_in_table=_IN_SCENARIO_RUN),
    RunField(
        "expected_calls",
        SCENARIOS,
        "The tool calls the scenario expected.",
        lambda enc, run: enc.calls_of(run.expected_calls),
        lambda dec, cell: [dec.calls[i] for i in cell],
        not_in_table=_IN_SCENARIO_RUN,
    ),
)
"""Every field of both run models, in run-table order (each field's columns together)."""

BATCH_COLUMNS: tuple[RunColumn, ...] = (
    RunColumn("batch_id", lambda meta: getattr(meta, "batch_id", None), "str", "The batch's id.", batch=True),
    RunColumn("agent", lambda meta: getattr(meta, "agent", None), "str", "The agent's name.", batch=True),
)
"""The run table's first columns, read from the batch's metadata (the same on every row)."""

WHOLE_RUN_COLUMNS: tuple[RunColumn, ...] = (
    RunColumn(
        "scenario_run",
        lambda r: r,
        "json",
        "The whole scenario run as JSON (transcript, criteria, scores, lifecycle; clips by key): loads back exactly.",
        render=lambda run: run_json(run),  # a lone surrogate in a transcript is escaped, not an export error
        frame=False,
        kinds=SCENARIOS,
    ),
)
"""The run table's last columns, read from the whole run (a scenario table's exact form)."""


# -- what is derived ----------------------------------------------------------------------------------

_DERIVED: dict[Any, Any] = {}


def derived(key: Any, make: Callable[[], Any]) -> Any:
    """``make()`` once per declaration (what is derived from :data:`FIELDS`): the cache starts over when
    :data:`FIELDS` is another tuple (a test adding a field sets another)."""
    if _DERIVED.get("fields") is not FIELDS:
        _DERIVED.clear()
        _DERIVED["fields"] = FIELDS
    hit = _DERIVED.get(key)
    if hit is None:
        hit = _DERIVED[key] = make()
    return hit


def declared(kind: str) -> tuple[RunField, ...]:
    """The fields a ``prompts`` or ``scenarios`` run has, in declaration order."""
    return derived(("declared", kind), lambda: tuple(spec for spec in FIELDS if kind in spec.kinds))


def run_table() -> tuple[RunColumn, ...]:
    """Every column of a run table, in order: the batch's, each field's, the whole run's.

    Scenario batches also get ``score_<name>`` per scorer (see :func:`russo_nb.results.analysis.frames.run_table`).
    """
    return derived(
        "table",
        lambda: (*BATCH_COLUMNS, *(col for spec in FIELDS for col in spec.table_columns()), *WHOLE_RUN_COLUMNS),
    )


def column(name: str) -> RunColumn:
    """The declaration of one run-table column by name."""
    for spec in run_table():
        if spec.name == name:
            return spec
    raise KeyError(name)


def frame_columns(kind: str = "prompts", *, files: bool = False) -> list[RunColumn]:
    """The columns of a ``kind`` batch's runs frame; ``files``: then the file-only columns (CSV / Parquet)."""

    def make() -> tuple[RunColumn, ...]:
        table = [spec for spec in run_table() if kind in spec.kinds]
        framed = [spec for spec in table if spec.frame]
        return tuple(framed + ([spec for spec in table if not spec.frame and spec.export] if files else []))

    return list(derived(("frame", kind, files), make))


def run_model(kind: str) -> type:
    """The model of a ``prompts`` run (SingleRunResult) or a ``scenarios`` run (ScenarioResult)."""
    if kind == "prompts":
        from .types import SingleRunResult

        return SingleRunResult
    return _scenario_model("ScenarioResult")


def model_default(kind: str, name: str) -> Any:
    """The default value of field ``name`` of a ``kind`` run (a fresh one per call); ValueError when it is required."""
    info = run_model(kind).model_fields[name]
    if info.is_required():
        raise ValueError(f"a {kind} run's {name} is required: it has no default")
    return info.get_default(call_default_factory=True)


def run_to_plain(run: Any) -> dict[str, Any]:
    """A run (prompt or scenario) as plain JSON data, each field through its declared ``plain``.

    What the history store writes when pydantic's serializer refuses a value (a lone surrogate,
    arguments that contain themselves): the run is still stored, that value escaped or marked,
    and it validates back into the same model. A scenario run's clips are written as their keys.
    """
    kind = "prompts" if run.kind == "prompt" else "scenarios"
    return {spec.name: (spec.plain or plain)(getattr(run, spec.name)) for spec in declared(kind)}


_MODEL_DUMP_JSON = BaseModel.model_dump_json


def run_json(run: Any) -> str:
    """A run as JSON text for storage: pydantic's fast serializer, or :func:`run_to_plain` when it refuses a value.

    A scenario run's clips are written as their keys (the store keeps clips in its audio table). A run class
    that keeps pydantic's ``model_dump_json`` is encoded by its serializer directly (the same text, without the
    method's argument handling: a twentieth of encoding a 10,000-run table's records).
    """
    try:
        if type(run).model_dump_json is _MODEL_DUMP_JSON:
            return run.__pydantic_serializer__.to_json(run, fallback=repr).decode()
        return run.model_dump_json(fallback=repr)
    except ValueError:  # pydantic's serialization error: a surrogate, a cycle
        return dumps_safe(run_to_plain(run))
