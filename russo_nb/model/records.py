"""The compact row format of runs: each run a row of JSON cells, shared values written once.

A run is a *row* of cells, one per field that :data:`russo_nb.model.run_fields.FIELDS` declares for its
kind (:func:`record_fields`: the fields' ``encode`` / ``decode`` / ``check`` at their positions,
:data:`V2_CELLS`); values many runs share (tool calls, evaluations, responses, prompt texts,
effects lists, conditions) are written once into *tables* and the cells refer to them by number.

The rows drive:

- :func:`encode_runs` / :func:`decode_runs`: a chunk of runs as one bytes blob and back (how runs
  travel between processes, e.g. from Dask workers), lossless; clips travel with it when given;
- the JSON-lines export (:mod:`russo_nb.results.report.jsonl`): the same tables and rows, one per line.

What a row leaves out, by design: a prompt run's ``prompt_id`` is written once beside its prompt
text (the prompts table), and a scenario run's clips are the batch's audio (keys in the row).
"""

from __future__ import annotations

import base64
import itertools
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from . import run_fields
from .cells import MAX_WHOLE, check_usage, whole_number
from .columns import RUN_STATUSES
from .conditions import check_conditions
from .errors import InvalidArgumentError, RussoError
from .lean import conditions_key
from .run_fields import CellCheck
from .serialize import dumps_safe
from .types import (
    AgentResponse,
    Audio,
    EvalResult,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
    construct_fast,
)

__all__ = [
    "ROW_FORMAT_VERSION",
    "RUN_STATUSES",
    "SHARED_STATUSES",
    "V2_CELLS",
    "RecordField",
    "RowDecoder",
    "RowEncoder",
    "audio_entry",
    "audio_from_entry",
    "damaged_blob",
    "decode_runs",
    "encode_runs",
    "open_payload",
    "record_fields",
    "rows_to_columns",
    "run_kind",
    "runs_from_payload",
    "runs_payload",
]

ROW_FORMAT_VERSION = 1
"""Version of the :func:`encode_runs` blob (the JSON-lines file has its own, see report.jsonl)."""

SHARED_STATUSES = {status: status for status in RUN_STATUSES}
"""Each run status once: a decoded row's status is this string, not a fresh copy per run (100,000 runs: ~5 MB)."""

TABLES: tuple[str, ...] = ("calls", "evals", "responses", "prompts", "lists")
"""The shared tables, in the order they are written (calls first: the others refer to them)."""


_SCALARS = frozenset({str, int, float, bool, type(None)})
_DICT = object()  # first item of a dict's key: no text or list key starts with it
_EVAL = object()  # first item of an evaluation's key
_UNSET = object()


def _evaluation_key(encoded: list[Any]) -> Any:
    """A hashable key equal for evaluations whose encoded forms are equal (None when a text is not a text)."""
    passed, expected, actual, matches, details = encoded
    if type(details) is not str or any(type(m[3]) is not str for m in matches):
        return None
    return (_EVAL, passed, tuple(expected), tuple(actual), tuple(map(tuple, matches)), details)


class _Table:
    """Distinct values in first-seen order: by object identity first, then by content.

    Texts, lists of texts (prompts, audio keys, effects) and flat dicts of scalars (conditions)
    are matched by value directly; anything else by its JSON text.
    """

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._by_id: dict[int, tuple[Any, int]] = {}
        self._by_key: dict[Any, int] = {}

    def ref(self, obj: Any, encode: Callable[[Any], Any], content: Callable[[Any], Any] | None = None) -> int:
        """``obj``'s number in the table (added when new). ``content``: builds a hashable key from the encoded
        form, so an equal value made afresh per run is matched without a JSON text per run."""
        hit = self._by_id.get(id(obj))
        if hit is not None:
            return hit[1]
        kind = type(obj)
        encoded: Any = _UNSET
        if content is not None:
            encoded = encode(obj)
            key: Any = content(encoded)
        elif kind is str:
            key = (obj,)  # a tuple never equals a JSON text key
        elif kind is list:
            key = _texts_key(obj)
        elif kind is dict and _SCALARS.issuperset(map(type, obj.values())):
            key = (_DICT, *conditions_key(obj))  # 1, 1.0, True differ; 0.0 and -0.0 too
        else:
            key = None
        if key is not None:
            number = self._by_key.get(key)
            if number is not None:  # an equal value made afresh (each run's own copy): no identity entry for it
                return number
        if encoded is _UNSET:
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


def _texts_key(value: list[Any]) -> tuple[Any, ...] | None:
    """The key of a list of texts (None when an item is not a text)."""
    try:
        "".join(value)  # a TypeError names an item that is not a text, in C
    except TypeError:
        return None
    return (None, *value)


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
            _evaluation_key,  # each run's evaluation is a fresh object: matched by content, not JSON text
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
    """Turns rows back into runs, given the tables they refer to (and the clips, for scenario runs).

    ``texts``: prompt texts and ids met by earlier decoders (text -> the one copy kept), so the runs of
    many chunks share one copy of each, as the engine's runs do (a copy per chunk: ~250 KB at 100,000 runs).
    """

    def __init__(
        self,
        kind: str,
        tables: Mapping[str, list[Any]],
        audio: Mapping[str, Audio] | None = None,
        texts: dict[str, str] | None = None,
    ) -> None:
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
        if texts is not None:
            self.prompts = [(texts.setdefault(p, p), texts.setdefault(pid, pid)) for p, pid in self.prompts]
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


@dataclass(frozen=True)
class RecordField:
    """One cell of a run's row: the declared field (:class:`~russo_nb.model.run_fields.RunField`) at its position.

    ``optional`` cells are trailing, left off when None, and read as ``default()`` when absent
    (without a ``default``, ``decode(decoder, None)``).
    """

    name: str
    encode: Callable[[RowEncoder, Any], Any] | None = None
    decode: Callable[[RowDecoder, Any], Any] | None = None
    check: CellCheck = "any"
    optional: bool = False
    default: Callable[[], Any] | None = None
    also: tuple[str, ...] = ()


V2_CELLS: dict[str, tuple[tuple[str, ...], int]] = {
    "prompts": (
        (
            "prompt",
            "run_index",
            "status",
            "eval_result",
            "error",
            "latency_s",
            "synth_s",
            "attempts",
            "audio_key",
            "response",
            "effects",
            "seed",
            "started_at",
            "transcript",
            "retried",
            "conditions",
        ),
        14,
    ),
    "scenarios": (
        (
            "name",
            "run_index",
            "status",
            "success",
            "error",
            "agent_time",
            "total_time",
            "attempts",
            "seed",
            "started_at",
            "messages",
            "reasoning",
            "passed_criteria",
            "failed_criteria",
            "criteria_results",
            "scores",
            "score",
            "description",
            "thread_id",
            "turns",
            "tags",
            "audio",
            "lifecycle",
            "expected_calls",
            "retried",
            "conditions",
        ),
        26,
    ),
}
"""The positions of a row's cells (the JSON-lines run line, version 2) and how many are required.

Files written so far have these cells at these positions, so they stay; a field declared since is
a trailing optional cell after them, in declaration order (a file written before it reads as the
model's default). ``prompts``: ``retried`` and ``conditions`` are written only when a run has them
(``retried`` as ``null`` when only conditions follow), so files of plain batches stay as they were.
"""


def record_fields(kind: str) -> tuple[RecordField, ...]:
    """The cells of a ``prompts`` or ``scenarios`` run, in row order, from :data:`russo_nb.model.run_fields.FIELDS`."""
    if kind not in V2_CELLS:
        raise InvalidArgumentError(f"runs are of kind 'prompts' or 'scenarios', not {kind!r}")
    return run_fields.derived(("record", kind), lambda: _record(kind))


def _record(kind: str) -> tuple[RecordField, ...]:
    layout, required = V2_CELLS[kind]
    cells = {spec.name: spec for spec in run_fields.declared(kind) if spec.in_record}
    names = [name for name in layout if name in cells] + [name for name in cells if name not in layout]
    out = []
    for index, name in enumerate(names):
        spec = cells[name]
        optional = index >= required
        default = spec.default
        if optional and default is None and spec.decode is None:  # a plain cell left off: the model's default
            default = partial(run_fields.model_default, kind, name)
        out.append(RecordField(name, spec.encode, spec.decode, spec.check, optional, default, spec.also))
    return tuple(out)


def _bad_cell(name: str, check: str, cell: Any) -> Any:
    """A plain cell that fails its check, fixed when it only has another number type, else a ValueError."""
    if check in ("int", "int?"):  # a whole number of sane size (1e300 or Infinity are not), see russo_nb.model.cells
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


def cell_taken(check: str) -> Callable[[Any], bool] | None:
    """Whether the run builder takes a plain cell of ``check`` as it is (the same test it compiles from
    ``_CHECKS``); None for ``any`` (every cell is taken). A cell it would not take it fixes or refuses."""
    if check not in _CHECKS:
        return None

    def make() -> Callable[[Any], bool]:
        env = {"MAX_WHOLE": MAX_WHOLE, "STATUSES": SHARED_STATUSES}
        return eval(f"lambda cell: not ({_CHECKS[check].format('cell')})", env)  # our own expression, as _compile

    return run_fields.derived(("cell taken", check), make)


def _compiled(kind: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The row writer and the run builder of ``kind``, generated once from its record.

    Generated straight-line code (as :mod:`dataclasses` does) keeps a 100,000-run file as fast to
    write and read as hand-written code would, while the record stays the one declaration.
    """
    return run_fields.derived(("compiled", kind), lambda: _compile(kind))


def _compile(kind: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    fields = record_fields(kind)
    env: dict[str, Any] = {
        "MAX_WHOLE": MAX_WHOLE,
        "STATUSES": SHARED_STATUSES,
        "bad": _bad_cell,
        "construct": construct_fast,
        "MODEL": run_fields.run_model(kind),
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
            absent = f"F{index}()" if spec.decode is None and spec.default is not None else "None"
            builder.append(f"    {cell} = cells[{index}] if n > {index} else {absent}")
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
    return env["row"], env["build"]


def run_kind(runs: Sequence[Any]) -> str:
    """``scenarios`` when the runs are scenario runs, else ``prompts`` (an empty chunk is ``prompts``)."""
    if not runs or isinstance(runs[0], SingleRunResult):
        return "prompts"
    scenario_run = run_fields.scenario_run_model()  # a scenario run exists only once its package is imported
    if scenario_run is not None and isinstance(runs[0], scenario_run):
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


def runs_payload(runs: Sequence[Any], audio: Mapping[str, Audio] | None = None) -> dict[str, Any]:
    """A chunk of runs (all prompt runs or all scenario runs) as plain data: the tables and rows.

    What :func:`encode_runs` writes as JSON (and the Dask executor pickles): the run kind, the row
    format's version and fields, the shared tables, one row per run and the clips (``audio`` and
    those scenario runs carry). :func:`runs_from_payload` is its inverse.
    """
    runs = list(runs)
    kind = run_kind(runs)
    encoder = RowEncoder(kind)
    rows = [encoder.row(run) for run in runs]
    clips = {**(audio or {}), **encoder.audio}
    return {
        "kind": "russo_nb.runs",
        "version": ROW_FORMAT_VERSION,
        "runs": kind,
        "fields": [spec.name for spec in encoder.fields],
        "tables": encoder.tables(),
        "rows": rows,
        "audio": [audio_entry(key, clip) for key, clip in clips.items()],
    }


def rows_to_columns(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` (of :func:`runs_payload`) with its rows as columns: one list per cell position.

    Rows of different lengths (trailing optional cells left off) are padded with None, which reads as
    the cell left off. A decoded chunk then makes a list per cell position, not one per run: the run
    objects built from it are not interleaved with thousands of freed row lists (the driver's peak memory).
    """
    rows = payload.pop("rows")
    payload["columns"] = [list(column) for column in itertools.zip_longest(*rows)]
    return payload


def open_payload(payload: Any, texts: dict[str, str] | None = None) -> RowDecoder:
    """The decoder of a :func:`runs_payload`'s rows: its kind, version and fields checked, its tables and clips decoded.

    ``texts``: see :class:`RowDecoder`. A payload that is not one (another version, a bad table, ...) is an
    InvalidArgumentError. :func:`runs_from_payload` builds every run with it; the Dask driver keeps a chunk's
    columns beside it and builds a run when it is looked at (:class:`~russo_nb.model.run_blocks.RunBlock`).
    """
    if not isinstance(payload, dict) or payload.get("kind") != "russo_nb.runs":
        raise InvalidArgumentError("not a russo_nb runs blob; encode it with encode_runs")
    if payload.get("version") != ROW_FORMAT_VERSION:
        raise InvalidArgumentError(
            f"runs blob version {payload.get('version')!r}; this russo_nb reads version {ROW_FORMAT_VERSION}"
        )
    try:
        clips = {str(entry["key"]): audio_from_entry(entry) for entry in payload["audio"]}
        decoder = RowDecoder(str(payload["runs"]), payload["tables"], clips, texts)
        if payload["fields"] != [spec.name for spec in decoder.fields]:
            raise ValueError("its fields are not the ones this russo_nb declares")
    except (ValueError, TypeError, KeyError, IndexError, RussoError) as exc:
        raise damaged_blob(exc) from None
    return decoder


def damaged_blob(exc: BaseException) -> InvalidArgumentError:
    """The one error of a runs blob whose content does not decode (``exc``: what did not)."""
    return InvalidArgumentError(f"a damaged russo_nb runs blob ({type(exc).__name__}: {exc})")


def runs_from_payload(
    payload: Any, audio: dict[str, Audio] | None = None, texts: dict[str, str] | None = None
) -> list[Any]:
    """The runs of a :func:`runs_payload` (its rows are consumed); its clips are added to ``audio`` when given.

    ``texts``: shared by the decoding of several payloads, their runs share one copy of each prompt text and id
    (see :class:`RowDecoder`).

    A payload that is not one (another version, a bad cell, ...) is an InvalidArgumentError.
    """
    decoder = open_payload(payload, texts)
    try:
        columns = payload.pop("columns", None)
        if columns is not None:  # the rows' cells column by column (see :func:`rows_to_columns`)
            if len({len(column) for column in columns}) > 1:
                raise ValueError("its columns are not all as long")
            runs = [decoder.run(cells) for cells in zip(*columns)]
        else:
            rows = payload.pop("rows")
            runs = []
            for position, cells in enumerate(rows):
                runs.append(decoder.run(cells))
                rows[position] = None  # each row freed as its run is built: never the parsed chunk beside its runs
    except (ValueError, TypeError, KeyError, IndexError, RussoError) as exc:
        raise damaged_blob(exc) from None
    if audio is not None:
        audio.update(decoder.audio)
    return runs


def encode_runs(runs: Sequence[Any], audio: Mapping[str, Audio] | None = None, *, level: int = 1) -> bytes:
    """A chunk of runs (all prompt runs or all scenario runs) as one compact bytes blob.

    Lossless: :func:`decode_runs` gives runs equal to these. Shared values (calls, evaluations,
    responses, prompts, effects lists, conditions) are written once; ``audio`` (the batch's clips,
    e.g. ``result.audio``) travels with it, and so do the clips scenario runs carry. The blob is
    zlib-compressed JSON (``level`` 1: fast; 0: not compressed) of :func:`runs_payload`.
    """
    return zlib.compress(dumps_safe(runs_payload(runs, audio)).encode("ascii"), level)


def decode_runs(
    blob: bytes, audio: dict[str, Audio] | None = None, *, texts: dict[str, str] | None = None
) -> list[Any]:
    """The runs of an :func:`encode_runs` blob; the clips it carries are added to ``audio`` when given.
    ``texts``: see :func:`runs_from_payload`.

    A blob that is not one (damaged, cut short, another version) is an InvalidArgumentError.
    """
    import json

    try:
        payload = json.loads(zlib.decompress(blob))
    except (zlib.error, ValueError, TypeError) as exc:
        raise InvalidArgumentError(
            f"not a russo_nb runs blob ({type(exc).__name__}: {exc}); encode it with encode_runs"
        ) from None
    return runs_from_payload(payload, audio, texts)
