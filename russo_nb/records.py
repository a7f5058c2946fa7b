"""The run record: each field of a run declared once, and the compact row format built from it.

:data:`PROMPT_RECORD` and :data:`SCENARIO_RECORD` list, in order, every field of a prompt run
(:class:`~russo_nb.types.SingleRunResult`) and of a scenario run
(:class:`~russo_nb.scenario.ScenarioResult`) with how it becomes one JSON cell and back. A run is a
*row* of those cells; values many runs share (tool calls, evaluations, responses, prompt texts,
effects lists, conditions) are written once into *tables* and the cells refer to them by number.

That one declaration drives:

- :func:`encode_runs` / :func:`decode_runs`: a chunk of runs as one bytes blob and back (how runs
  travel between processes, e.g. from Dask workers), lossless; clips travel with it when given;
- the JSON-lines export (:mod:`russo_nb.report.jsonl`): the same tables and rows, one per line;
- :func:`record_fields`, which a test checks against the models, so a field added to a run without
  a cell here fails.

What a row leaves out, by design: a prompt run's ``prompt_id`` is written once beside its prompt
text (the prompts table), and a scenario run's clips are the batch's audio (keys in the row).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .cells import MAX_WHOLE, check_usage, whole_number
from .conditions import check_conditions
from .errors import InvalidArgumentError, RussoError
from .serialize import dumps_safe
from .types import (
    AgentResponse,
    Audio,
    EvalResult,
    RetriedAttempt,
    RunError,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
    construct_fast,
)

__all__ = [
    "PROMPT_RECORD",
    "ROW_FORMAT_VERSION",
    "RUN_STATUSES",
    "SCENARIO_RECORD",
    "RecordField",
    "RowDecoder",
    "RowEncoder",
    "audio_entry",
    "audio_from_entry",
    "decode_runs",
    "encode_runs",
    "record_fields",
    "run_kind",
]

ROW_FORMAT_VERSION = 1
"""Version of the :func:`encode_runs` blob (the JSON-lines file has its own, see report.jsonl)."""

RUN_STATUSES: tuple[str, ...] = ("passed", "failed", "error", "timeout", "cancelled")
_STATUSES = {status: status for status in RUN_STATUSES}
"""Each run status once: a decoded row's status is this string, not a fresh copy per run (100,000 runs: ~5 MB)."""

TABLES: tuple[str, ...] = ("calls", "evals", "responses", "prompts", "lists")
"""The shared tables, in the order they are written (calls first: the others refer to them)."""


class _Table:
    """Distinct values in first-seen order: by object identity first, then by content.

    Texts and lists of texts (prompts, audio keys, effects) are matched by value directly;
    anything else by its JSON text.
    """

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._by_id: dict[int, tuple[Any, int]] = {}
        self._by_key: dict[Any, int] = {}

    def ref(self, obj: Any, encode: Callable[[Any], Any]) -> int:
        hit = self._by_id.get(id(obj))
        if hit is not None:
            return hit[1]
        kind = type(obj)
        if kind is str:
            key: Any = (obj,)  # a tuple never equals a JSON text key
        elif kind is list and all(type(item) is str for item in obj):
            key = (None, *obj)
        else:
            key = None
        number = None if key is None else self._by_key.get(key)
        if number is None:
            encoded = encode(obj)
            text = dumps_safe(encoded)
            number = self._by_key.get(text)
            if number is None:
                number = self._by_key[text] = len(self.items)
                self.items.append(encoded)
            if key is not None:
                self._by_key[key] = number
        self._by_id[id(obj)] = (obj, number)  # keeps obj alive so its id is not reused
        return number


def _listed_form(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


class RowEncoder:
    """Turns runs into rows of cells, collecting the shared tables (and the clips runs carry)."""

    def __init__(self, kind: str = "prompts") -> None:
        self.kind = kind
        self.fields = record_fields(kind)
        self.calls, self.evals, self.responses, self.prompts, self.lists = (_Table() for _ in TABLES)
        self.audio: dict[str, Audio] = {}
        self._row = _compiled(kind)[0]

    # -- references -----------------------------------------------------------------------------
    def call(self, call: ToolCall) -> int:
        return self.calls.ref(call, lambda c: [c.name, c.arguments])

    def calls_of(self, calls: Sequence[ToolCall]) -> list[int]:
        return [self.call(c) for c in calls]

    def evaluation(self, ev: EvalResult) -> int:
        call = self.call
        return self.evals.ref(
            ev,
            lambda ev: [
                bool(ev.passed),
                [call(c) for c in ev.expected],
                [call(c) for c in ev.actual],
                [
                    [call(m.expected), None if m.actual is None else call(m.actual), bool(m.matched), m.details]
                    for m in ev.matches
                ],
                ev.details,
            ],
        )

    def response(self, response: AgentResponse | None) -> int | None:
        if response is None:
            return None
        return self.responses.ref(
            response, lambda r: [self.calls_of(r.tool_calls), r.text, r.raw, getattr(r, "usage", None)]
        )

    def listed(self, value: Any) -> int:
        """A list, dict or text written once in the lists table."""
        return self.lists.ref(value, _listed_form)

    # -- rows -----------------------------------------------------------------------------------
    def row(self, run: Any) -> list[Any]:
        """The run's cells, in field order; trailing optional cells left off when None."""
        return self._row(self, run)

    def tables(self) -> dict[str, list[Any]]:
        """Every shared table, by name."""
        return {name: getattr(self, name).items for name in TABLES}


class RowDecoder:
    """Turns rows back into runs, given the tables they refer to (and the clips, for scenario runs)."""

    def __init__(self, kind: str, tables: Mapping[str, list[Any]], audio: Mapping[str, Audio] | None = None) -> None:
        self.kind = kind
        self.fields = record_fields(kind)
        self.audio = audio or {}
        self.calls = [
            construct_fast(ToolCall, {"name": str(name), "arguments": dict(args)}) for name, args in tables["calls"]
        ]
        calls = self.calls
        self.evals = [
            construct_fast(
                EvalResult,
                {
                    "passed": bool(passed),
                    "expected": [calls[i] for i in want],
                    "actual": [calls[i] for i in got],
                    "matches": [
                        construct_fast(
                            ToolCallMatch,
                            {
                                "expected": calls[e],
                                "actual": None if a is None else calls[a],
                                "matched": bool(ok),
                                "details": str(why),
                            },
                        )
                        for e, a, ok, why in matches
                    ],
                    "details": str(details),
                },
            )
            for passed, want, got, matches, details in tables["evals"]
        ]
        self.responses = [
            construct_fast(
                AgentResponse,
                {
                    "tool_calls": [calls[i] for i in entry[0]],
                    "text": entry[1],
                    "raw": entry[2],
                    "usage": check_usage(entry[3]) if len(entry) > 3 else None,
                },
            )
            for entry in tables["responses"]
        ]
        self.prompts = [(str(p), str(pid)) for p, pid in tables["prompts"]]
        self.lists = tables["lists"]
        self._conditions: dict[int, dict[str, Any]] = {}
        self._no_conditions: dict[str, Any] = {}  # shared by the runs without conditions, as the engine's runs are
        self._shared: dict[tuple[int, Any], Any] = {}
        self._build = _compiled(kind)[1]

    def shared(self, ref: int, convert: Callable[[Any], Any]) -> Any:
        """Lists-table entry ``ref`` through ``convert``, made once and shared by the runs that refer to it."""
        key = (ref, convert)
        hit = self._shared.get(key, _MISSING)
        if hit is _MISSING:
            hit = self._shared[key] = convert(self.lists[ref])
        return hit

    def conditions(self, ref: int | None) -> dict[str, Any]:
        """The conditions dict of lists-table entry ``ref``, checked once and shared by its runs."""
        if ref is None:
            return self._no_conditions
        hit = self._conditions.get(ref)
        if hit is None:
            hit = self._conditions[ref] = check_conditions(self.lists[ref], "a run's conditions")
        return hit

    def run(self, cells: list[Any]) -> Any:
        """One run from its row (a ValueError / KeyError / IndexError / TypeError names what is wrong)."""
        return self._build(self, cells)


CellCheck = Literal["any", "int", "int?", "float", "bool", "status"]
"""How a plain cell is checked on the way back: as it is, a whole number (or None), a number or None, a bool,
a run status. Whole numbers must be of sane size (:mod:`russo_nb.cells`)."""


@dataclass(frozen=True)
class RecordField:
    """One field of a run's record: how its cell is written (``encode``) and read back (``decode``).

    A *plain* field (no ``encode`` / ``decode``) is the attribute itself, checked on reading as
    ``check`` says. Otherwise ``encode(encoder, run)`` gives the cell (usually a reference into a
    table) and ``decode(decoder, cell)`` the value, or a tuple of it and the fields named in ``also``
    (the prompt cell gives ``prompt_id`` too). ``optional`` cells are trailing, left
    off when None, and read as ``default()`` when absent (without a ``default``, ``decode(decoder, None)``).
    """

    name: str
    encode: Callable[[RowEncoder, Any], Any] | None = None
    decode: Callable[[RowDecoder, Any], Any] | None = None
    check: CellCheck = "any"
    optional: bool = False
    default: Callable[[], Any] | None = None
    also: tuple[str, ...] = ()


def _error_cell(_: RowEncoder, run: Any) -> Any:
    error = run.error
    return None if error is None else error.model_dump()


def _error(_: RowDecoder, cell: Any) -> RunError | None:
    return None if cell is None else RunError.model_validate(cell)


def _retried_cell(_: RowEncoder, run: Any) -> list[Any] | None:
    return [attempt.model_dump() for attempt in run.retried] if run.retried else None


def _retried(_: RowDecoder, cell: Any) -> tuple[RetriedAttempt, ...]:
    return tuple(RetriedAttempt.model_validate(item) for item in cell) if cell else ()


def _conditions_cell(enc: RowEncoder, run: Any) -> int | None:
    return enc.listed(run.conditions) if run.conditions else None


def _conditions(dec: RowDecoder, cell: Any) -> dict[str, Any]:
    return dec.conditions(cell)


def _listed(name: str) -> Callable[[RowEncoder, Any], Any]:
    def encode(enc: RowEncoder, run: Any) -> int:
        return enc.listed(getattr(run, name))

    return encode


def _from_lists(kind: Callable[[Any], Any]) -> Callable[[RowDecoder, Any], Any]:
    def decode(dec: RowDecoder, cell: Any) -> Any:
        return dec.shared(cell, kind)

    return decode


def _text_list(value: Any) -> list[str]:
    return [str(item) for item in value]


# -- prompt runs ----------------------------------------------------------------------------------


def _prompt_cell(enc: RowEncoder, run: Any) -> int:
    return enc.prompts.ref(run.prompt, lambda p, r=run: [p, r.prompt_id])


def _prompt(dec: RowDecoder, cell: Any) -> tuple[str, str]:
    return dec.prompts[cell]


def _audio_key_cell(enc: RowEncoder, run: Any) -> int | None:
    return None if run.audio_key is None else enc.listed(run.audio_key)


def _audio_key(dec: RowDecoder, cell: Any) -> str | None:
    return None if cell is None else str(dec.lists[cell])


PROMPT_RECORD: tuple[RecordField, ...] = (
    RecordField("prompt", _prompt_cell, _prompt, also=("prompt_id",)),
    RecordField("run_index", check="int"),
    RecordField("status", check="status"),
    RecordField("eval_result", lambda enc, run: enc.evaluation(run.eval_result), lambda dec, c: dec.evals[c]),
    RecordField("error", _error_cell, _error),
    RecordField("latency_s", check="float"),
    RecordField("synth_s", check="float"),
    RecordField("attempts", check="int"),
    RecordField("audio_key", _audio_key_cell, _audio_key),
    RecordField(
        "response",
        lambda enc, run: enc.response(run.response),
        lambda dec, c: None if c is None else dec.responses[c],
    ),
    RecordField("effects", _listed("effects"), _from_lists(_text_list)),
    RecordField("seed", check="int?"),
    RecordField("started_at", check="float"),
    RecordField("transcript"),
    RecordField("retried", _retried_cell, _retried, optional=True, default=tuple),
    # no default: an absent cell is decoded too, to the decoder's one shared empty dict
    RecordField("conditions", _conditions_cell, _conditions, optional=True),
)
"""A prompt run's cells, in order: the JSON-lines run line (version 2) and the row format.

``prompt``, ``eval_result``, ``audio_key``, ``response``, ``effects`` and ``conditions`` refer to
the tables; ``retried`` and ``conditions`` are trailing cells written only when a run has them
(``retried`` as ``null`` when only conditions follow), so files of plain batches stay as they were.
"""


# -- scenario runs --------------------------------------------------------------------------------


def _name_cell(enc: RowEncoder, run: Any) -> int:
    return enc.prompts.ref(run.name, lambda p, r=run: [p, r.prompt_id])


def _name(dec: RowDecoder, cell: Any) -> str:
    return dec.prompts[cell][0]


def _audio_cell(enc: RowEncoder, run: Any) -> list[str]:
    enc.audio.update(run.audio)
    return list(run.audio)


def _audio(dec: RowDecoder, cell: Any) -> dict[str, Audio]:
    clips = dec.audio
    return {str(key): clips[key] for key in cell if key in clips}


def _lifecycle_cell(_: RowEncoder, run: Any) -> list[Any]:
    return [[event.phase, event.at, event.detail] for event in run.lifecycle]


def _lifecycle(_: RowDecoder, cell: Any) -> list[Any]:
    from .scenario.result import LifecycleEvent

    return [LifecycleEvent.model_validate({"phase": p, "at": at, "detail": d}) for p, at, d in cell]


def _criteria_cell(_: RowEncoder, run: Any) -> list[Any]:
    return [[c.criterion, c.passed, c.reasoning] for c in run.criteria_results]


def _criteria(_: RowDecoder, cell: Any) -> list[Any]:
    from .scenario.result import CriterionResult

    return [CriterionResult(criterion=str(c), passed=bool(ok), reasoning=str(why)) for c, ok, why in cell]


def _scores(_: RowDecoder, cell: Any) -> dict[str, float]:
    if not isinstance(cell, dict):
        raise ValueError(f"scores {cell!r} is not a dict of numbers")
    return {str(name): float(value) for name, value in cell.items()}


def _messages(_: RowDecoder, cell: Any) -> list[dict[str, Any]]:
    if not isinstance(cell, list) or not all(isinstance(m, dict) for m in cell):
        raise ValueError("messages are not a list of message objects")
    return cell


SCENARIO_RECORD: tuple[RecordField, ...] = (
    RecordField("name", _name_cell, _name),
    RecordField("run_index", check="int"),
    RecordField("status", check="status"),
    RecordField("success", check="bool"),
    RecordField("error", _error_cell, _error),
    RecordField("agent_time", check="float"),
    RecordField("total_time", check="float"),
    RecordField("attempts", check="int"),
    RecordField("seed", check="int?"),
    RecordField("started_at", check="float"),
    RecordField("messages", decode=_messages),
    RecordField("reasoning"),
    RecordField("passed_criteria", _listed("passed_criteria"), _from_lists(_text_list)),
    RecordField("failed_criteria", _listed("failed_criteria"), _from_lists(_text_list)),
    RecordField("criteria_results", _criteria_cell, _criteria),
    RecordField("scores", decode=_scores),
    RecordField("score", check="float"),
    RecordField("description", _listed("description"), _from_lists(str)),
    RecordField("thread_id"),
    RecordField("turns", check="int"),
    RecordField("tags", _listed("tags"), _from_lists(_text_list)),
    RecordField("audio", _audio_cell, _audio),
    RecordField("lifecycle", _lifecycle_cell, _lifecycle),
    RecordField(
        "expected_calls", lambda enc, run: enc.calls_of(run.expected_calls), lambda d, c: [d.calls[i] for i in c]
    ),
    RecordField("retried", _retried_cell, _retried),
    RecordField("conditions", _conditions_cell, _conditions),
)
"""A scenario run's cells, in order: every field of a ScenarioResult (clips: keys into the batch's audio)."""


def record_fields(kind: str) -> tuple[RecordField, ...]:
    """The record of a ``prompts`` or ``scenarios`` run."""
    if kind == "prompts":
        return PROMPT_RECORD
    if kind == "scenarios":
        return SCENARIO_RECORD
    raise InvalidArgumentError(f"runs are of kind 'prompts' or 'scenarios', not {kind!r}")


def _model(kind: str) -> type:
    if kind == "prompts":
        return SingleRunResult
    from .scenario.result import ScenarioResult

    return ScenarioResult


def _bad_cell(name: str, check: str, cell: Any) -> Any:
    """A plain cell that fails its check, fixed when it only has another number type, else a ValueError."""
    if check in ("int", "int?"):  # a whole number of sane size (1e300 or Infinity are not), see russo_nb.cells
        return whole_number(name, cell, optional=check == "int?")
    if check == "float" and isinstance(cell, int) and not isinstance(cell, bool) and abs(cell) < MAX_WHOLE:
        return float(cell)
    if check == "bool" and cell in (0, 1):
        return bool(cell)
    wanted = {"float": "a number or null", "bool": "true or false"}.get(check, "")
    if check == "status":
        wanted = "one of " + ", ".join(RUN_STATUSES)
    raise ValueError(f"{name} {cell!r} is not {wanted}")


_CHECKS = {
    "int": "type({0}) is not int or not -MAX_WHOLE < {0} < MAX_WHOLE",
    "int?": "{0} is not None and (type({0}) is not int or not -MAX_WHOLE < {0} < MAX_WHOLE)",
    "float": "{0} is not None and type({0}) is not float",
    "bool": "type({}) is not bool",
    "status": "{} not in STATUSES",
}

_MISSING: Any = object()

_COMPILED: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {}


def _compiled(kind: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The row writer and the run builder of ``kind``, generated once from its record.

    Generated straight-line code (as :mod:`dataclasses` does) keeps a 100,000-run file as fast to
    write and read as hand-written code would, while the record stays the one declaration.
    """
    hit = _COMPILED.get(kind)
    if hit is not None:
        return hit
    fields = record_fields(kind)
    env: dict[str, Any] = {
        "MAX_WHOLE": MAX_WHOLE,
        "STATUSES": _STATUSES,
        "bad": _bad_cell,
        "construct": construct_fast,
        "MODEL": _model(kind),
    }
    required = sum(1 for spec in fields if not spec.optional)
    cells = []
    for index, spec in enumerate(fields):
        if spec.encode is None:
            cells.append(f"run.{spec.name}")
        else:
            env[f"E{index}"] = spec.encode
            cells.append(f"E{index}(enc, run)")
    writer = ["def row(enc, run):", f"    cells = [{', '.join(cells)}]"]
    if required < len(fields):
        writer.append(f"    while len(cells) > {required} and cells[-1] is None:")
        writer.append("        cells.pop()")
    writer.append("    return cells")
    names = ", ".join(f"c{index}" for index in range(required))
    builder = [
        "def build(dec, cells):",
        "    n = len(cells)",
        f"    if n == {required}:",
        f"        {names}, = cells",
        f"    elif {required} < n <= {len(fields)}:",
        f"        {names}, = cells[:{required}]",
        "    else:",
        f"        raise ValueError(f'{{n}} cells; a {kind} run has {required} to {len(fields)}')",
    ]
    entries = []
    for index, spec in enumerate(fields):
        cell, value = f"c{index}", f"x{index}"
        if spec.optional:
            env[f"F{index}"] = spec.default
            builder.append(f"    {cell} = cells[{index}] if n > {index} else None")
        if spec.decode is not None:
            env[f"D{index}"] = spec.decode
            call = f"D{index}(dec, {cell})"
            if spec.optional and spec.default is not None:
                call = f"F{index}() if {cell} is None else {call}"
            targets = ", ".join([value, *(f"{value}_{k}" for k in range(len(spec.also)))])
            builder.append(f"    {targets} = {call}")
            entries += [f"{other!r}: {value}_{k}" for k, other in enumerate(spec.also)]
        else:
            value = cell
            if spec.check != "any":
                builder.append(f"    if {_CHECKS[spec.check].format(cell)}:")
                builder.append(f"        {cell} = bad({spec.name!r}, {spec.check!r}, {cell})")
                if spec.check == "status":
                    builder.append(f"    {cell} = STATUSES[{cell}]")
        entries.append(f"{spec.name!r}: {value}")
    builder.append(f"    return construct(MODEL, {{{', '.join(entries)}}})")
    exec(compile("\n".join(writer) + "\n\n" + "\n".join(builder) + "\n", f"<russo_nb {kind} record>", "exec"), env)
    hit = _COMPILED[kind] = (env["row"], env["build"])
    return hit


def run_kind(runs: Sequence[Any]) -> str:
    """``scenarios`` when the runs are scenario runs, else ``prompts`` (an empty chunk is ``prompts``)."""
    if not runs or isinstance(runs[0], SingleRunResult):
        return "prompts"
    from .scenario.result import ScenarioResult

    if isinstance(runs[0], ScenarioResult):
        return "scenarios"
    raise InvalidArgumentError(
        f"encode_runs takes SingleRunResult or ScenarioResult runs, got {type(runs[0]).__name__}"
    )


def audio_entry(key: str, clip: Audio) -> dict[str, Any]:
    """A clip as plain JSON: its key, format and base64 samples (what files and blobs carry)."""
    return {
        "key": key,
        "format": clip.format,
        "sample_rate": clip.sample_rate,
        "channels": clip.channels,
        "sample_width": clip.sample_width,
        "data": base64.b64encode(clip.data).decode("ascii"),
    }


def audio_from_entry(entry: Mapping[str, Any]) -> Audio:
    """A clip back from :func:`audio_entry`."""
    return Audio(
        data=base64.b64decode(entry["data"], validate=True),
        format=entry.get("format", "wav"),
        sample_rate=entry.get("sample_rate", 24000),
        channels=entry.get("channels", 1),
        sample_width=entry.get("sample_width", 2),
    )


def encode_runs(runs: Sequence[Any], audio: Mapping[str, Audio] | None = None, *, level: int = 1) -> bytes:
    """A chunk of runs (all prompt runs or all scenario runs) as one compact bytes blob.

    Lossless: :func:`decode_runs` gives runs equal to these. Shared values (calls, evaluations,
    responses, prompts, effects lists, conditions) are written once; ``audio`` (the batch's clips,
    e.g. ``result.audio``) travels with it, and so do the clips scenario runs carry. The blob is
    zlib-compressed JSON (``level`` 1: fast; 0: not compressed).
    """
    runs = list(runs)
    kind = run_kind(runs)
    encoder = RowEncoder(kind)
    rows = [encoder.row(run) for run in runs]
    clips = {**(audio or {}), **encoder.audio}
    payload = {
        "kind": "russo_nb.runs",
        "version": ROW_FORMAT_VERSION,
        "runs": kind,
        "fields": [spec.name for spec in encoder.fields],
        "tables": encoder.tables(),
        "rows": rows,
        "audio": [audio_entry(key, clip) for key, clip in clips.items()],
    }
    return zlib.compress(dumps_safe(payload).encode("ascii"), level)


def decode_runs(blob: bytes, audio: dict[str, Audio] | None = None) -> list[Any]:
    """The runs of an :func:`encode_runs` blob; the clips it carries are added to ``audio`` when given.

    A blob that is not one (damaged, cut short, another version) is an InvalidArgumentError.
    """
    import json

    try:
        payload = json.loads(zlib.decompress(blob))
    except (zlib.error, ValueError, TypeError) as exc:
        raise InvalidArgumentError(
            f"not a russo_nb runs blob ({type(exc).__name__}: {exc}); encode it with encode_runs"
        ) from None
    if not isinstance(payload, dict) or payload.get("kind") != "russo_nb.runs":
        raise InvalidArgumentError("not a russo_nb runs blob; encode it with encode_runs")
    if payload.get("version") != ROW_FORMAT_VERSION:
        raise InvalidArgumentError(
            f"runs blob version {payload.get('version')!r}; this russo_nb reads version {ROW_FORMAT_VERSION}"
        )
    try:
        clips = {str(entry["key"]): audio_from_entry(entry) for entry in payload["audio"]}
        decoder = RowDecoder(str(payload["runs"]), payload["tables"], clips)
        if payload["fields"] != [spec.name for spec in decoder.fields]:
            raise ValueError("its fields are not the ones this russo_nb declares")
        rows = payload.pop("rows")
        runs = []
        for position, cells in enumerate(rows):
            runs.append(decoder.run(cells))
            rows[position] = None  # each row freed as its run is built: the parsed chunk never sits beside all its runs
    except (ValueError, TypeError, KeyError, IndexError, RussoError) as exc:
        raise InvalidArgumentError(f"a damaged russo_nb runs blob ({type(exc).__name__}: {exc})") from None
    if audio is not None:
        audio.update(clips)
    return runs
