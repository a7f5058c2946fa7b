"""The exact file form of a batch: JSON lines, each expectation written once, runs by reference.

Layout (version 2)::

    {"kind": "russo_nb.batch", "version": 2, "metadata": {...}, "runs": N, "audio": M,
     "lines": L, "sha256": "...", "fields": [...]}          <- header: counts and checksum
    {"kind": "calls", "items": [[name, arguments], ...]}     <- every distinct tool call once
    {"kind": "evals", "items": [[passed, [call refs expected], [call refs actual],
                                 [[expected ref, actual ref|null, matched, details], ...], details], ...]}
    {"kind": "responses", "items": [[[call refs], text, raw, usage], ...]}
    {"kind": "prompts", "items": [[prompt, prompt_id], ...]}
    {"kind": "lists", "items": [effects list, ...]}           <- audio keys, effects lists, conditions
    [prompt ref, run_index, status, eval ref, error, latency_s, synth_s, attempts,
     audio_key ref, response ref, effects ref, seed, started_at, transcript,
     retried, conditions ref]                                 <- one line per run (last two: optional)
    {"kind": "audio", "key": ..., "data": base64, ...}        <- with include_audio

The header's ``sha256`` covers every byte after the header line and ``lines`` / ``runs``
count them, so a file cut short (a killed export, a partial copy) is refused with a one-line
error instead of loading as a smaller batch. Text is ASCII-escaped JSON: lone surrogates,
NaN and infinity survive the round trip. Version 1 files (one full run object per line)
still load.
"""

from __future__ import annotations

import base64
import gc
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

from ..columns import RUN_LINE_FIELDS, RUN_STATUSES
from ..conditions import check_conditions
from ..errors import InvalidArgumentError, RussoError
from ..serialize import dumps_safe
from ..types import (
    AgentResponse,
    Audio,
    BatchMetadata,
    BatchResult,
    EvalResult,
    RetriedAttempt,
    RunError,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
    construct_fast,
)
from .files import atomic_file, read_bytes

__all__ = ["FORMAT_VERSION", "RUN_FIELDS", "decode_run_lines", "encode_run_lines", "read_jsonl", "write_jsonl"]

FORMAT_VERSION = 2

RUN_FIELDS = RUN_LINE_FIELDS
"""The order of a run line's cells (declared beside the run table: :data:`russo_nb.columns.RUN_LINE_FIELDS`)."""

_STATUSES = frozenset(RUN_STATUSES)


class _Table:
    """Distinct values in first-seen order: by object identity first, then by content."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._by_id: dict[int, tuple[Any, int]] = {}
        self._by_key: dict[str, int] = {}

    def ref(self, obj: Any, encode: Any) -> int:
        hit = self._by_id.get(id(obj))
        if hit is not None:
            return hit[1]
        encoded = encode(obj)
        key = dumps_safe(encoded)
        number = self._by_key.get(key)
        if number is None:
            number = self._by_key[key] = len(self.items)
            self.items.append(encoded)
        self._by_id[id(obj)] = (obj, number)  # keeps obj alive so its id is not reused
        return number


def _encode(result: BatchResult, include_audio: bool) -> tuple[list[str], int]:
    calls, evals, responses, prompts, lists = _Table(), _Table(), _Table(), _Table(), _Table()

    def call_ref(call: ToolCall) -> int:
        return calls.ref(call, lambda c: [c.name, c.arguments])

    def encode_eval(ev: EvalResult) -> list[Any]:
        return [
            bool(ev.passed),
            [call_ref(c) for c in ev.expected],
            [call_ref(c) for c in ev.actual],
            [
                [call_ref(m.expected), None if m.actual is None else call_ref(m.actual), bool(m.matched), m.details]
                for m in ev.matches
            ],
            ev.details,
        ]

    def encode_response(response: AgentResponse) -> list[Any]:
        return [[call_ref(c) for c in response.tool_calls], response.text, response.raw, response.usage]

    run_lines = []
    for run in result.runs:
        err = run.error
        row = [
            prompts.ref(run.prompt, lambda p, r=run: [p, r.prompt_id]),
            run.run_index,
            run.status,
            evals.ref(run.eval_result, encode_eval),
            None if err is None else err.model_dump(),
            run.latency_s,
            run.synth_s,
            run.attempts,
            None if run.audio_key is None else lists.ref(run.audio_key, lambda k: k),
            None if run.response is None else responses.ref(run.response, encode_response),
            lists.ref(run.effects, list),
            run.seed,
            run.started_at,
            run.transcript,
        ]
        retried = run.retried
        conditions = run.conditions
        if retried or conditions:  # trailing cells only when set: plain batches' files stay as they were
            row.append([attempt.model_dump() for attempt in retried])
            if conditions:
                row.append(lists.ref(conditions, dict))
        run_lines.append(dumps_safe(row))
    lines = [
        dumps_safe({"kind": "calls", "items": calls.items}),
        dumps_safe({"kind": "evals", "items": evals.items}),
        dumps_safe({"kind": "responses", "items": responses.items}),
        dumps_safe({"kind": "prompts", "items": prompts.items}),
        dumps_safe({"kind": "lists", "items": lists.items}),
        *run_lines,
    ]
    audio_count = 0
    if include_audio:
        for key, clip in result.audio.items():
            audio_count += 1
            lines.append(
                dumps_safe(
                    {
                        "kind": "audio",
                        "key": key,
                        "format": clip.format,
                        "sample_rate": clip.sample_rate,
                        "channels": clip.channels,
                        "sample_width": clip.sample_width,
                        "data": base64.b64encode(clip.data).decode("ascii"),
                    }
                )
            )
    return lines, audio_count


def write_jsonl(result: Any, path: str | Path, include_audio: bool = False) -> Path:
    """Write the exact JSON-lines form of a batch (header, tables, runs, optional audio), atomically."""
    from .export import as_batch_result

    result = as_batch_result(result)
    target = Path(path)
    lines, audio_count = _encode(result, include_audio)
    body = ("\n".join(lines) + "\n").encode("ascii")
    header = {
        "kind": "russo_nb.batch",
        "version": FORMAT_VERSION,
        "metadata": json.loads(dumps_safe(result.metadata.model_dump(mode="json"))),
        "runs": len(result.runs),
        "audio": audio_count,
        "lines": len(lines),
        "sha256": hashlib.sha256(body).hexdigest(),
        "fields": list(RUN_FIELDS),
    }
    data = dumps_safe(header).encode("ascii") + b"\n" + body
    with atomic_file(target) as out:
        if target.name.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as zipped:
                zipped.write(data)
        else:
            out.write(data)
    return target


# -- reading ------------------------------------------------------------------------------------


def _fail(source: Path, what: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{str(source)!r}: {what}; export the batch again with russo_nb.report.export(result, 'file.jsonl')"
    )


def read_jsonl(path: str | Path) -> BatchResult:
    """Read a batch written by :func:`write_jsonl`; any problem is a one-line error naming the line."""
    source = Path(path)
    raw = read_bytes(source)
    newline = raw.find(b"\n")
    head, body = (raw, b"") if newline < 0 else (raw[:newline], raw[newline + 1 :])
    try:
        header = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _fail(source, "line 1 is not a russo_nb batch header") from None
    if not isinstance(header, dict) or header.get("kind") != "russo_nb.batch":
        raise _fail(source, "line 1 is not a russo_nb batch header")
    try:
        metadata = BatchMetadata.model_validate(header.get("metadata", {}))
    except ValueError as exc:
        raise _fail(source, f"the header's metadata is not valid ({str(exc).splitlines()[0]})") from None
    version = header.get("version", 1)
    if version == 1:
        return _read_v1(source, header, body, metadata)
    if version != FORMAT_VERSION:
        raise _fail(source, f"format version {version!r} is not one this russo_nb reads (1 or {FORMAT_VERSION})")
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise _fail(
            source,
            f"the file is incomplete or altered: its content does not match the checksum its header declares "
            f"({header.get('runs')} runs)",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(source, f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = text.splitlines()
    if len(lines) != header.get("lines"):
        raise _fail(source, f"it has {len(lines)} lines after the header, the header declares {header.get('lines')}")
    collecting = gc.isenabled()
    gc.disable()  # building 100,000 runs would otherwise trigger many full collections
    try:
        return _decode(source, header, lines, metadata)
    finally:
        if collecting:
            gc.enable()


def _decode(source: Path, header: dict[str, Any], lines: list[str], metadata: BatchMetadata) -> BatchResult:
    number = 1
    try:
        tables: dict[str, list[Any]] = {}
        for number, line in enumerate(lines[:5], start=2):  # noqa: B007 (named in the error)
            entry = json.loads(line)
            tables[entry["kind"]] = entry["items"]
        calls = [
            construct_fast(ToolCall, {"name": str(name), "arguments": dict(args)}) for name, args in tables["calls"]
        ]
        evals = []
        for passed, want, got, matches, details in tables["evals"]:
            evals.append(
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
            )
        responses = [
            construct_fast(
                AgentResponse,
                {
                    "tool_calls": [calls[i] for i in entry[0]],
                    "text": entry[1],
                    "raw": entry[2],
                    "usage": entry[3] if len(entry) > 3 else None,
                },
            )
            for entry in tables["responses"]
        ]
        prompts = [(str(p), str(pid)) for p, pid in tables["prompts"]]
        lists = tables["lists"]
        runs: list[SingleRunResult] = []
        audio: dict[str, Audio] = {}
        loads = json.loads
        shared: dict[int, dict[str, Any]] = {}  # each distinct conditions dict checked once, shared by its runs
        for number, line in enumerate(lines[5:], start=7):  # noqa: B007 (named in the error)
            if line.startswith("["):
                cells = loads(line)
                if len(cells) == 16:
                    ref = cells.pop()
                    conditions = shared.get(ref)
                    if conditions is None:
                        conditions = shared[ref] = check_conditions(lists[ref], "a run's conditions")
                else:
                    conditions = {}
                retried = tuple(RetriedAttempt.model_validate(a) for a in cells.pop()) if len(cells) == 15 else ()
                (p, index, status, ev, err, latency, synth, attempts, key, resp, effects, seed, started, transcript) = (
                    cells
                )
                if status not in _STATUSES or type(index) is not int:
                    raise ValueError(f"status {status!r} / run index {index!r} not valid")
                prompt, pid = prompts[p]
                runs.append(
                    construct_fast(
                        SingleRunResult,
                        {
                            "prompt": prompt,
                            "run_index": index,
                            "eval_result": evals[ev],
                            "status": status,
                            "error": None if err is None else _error(err),
                            "latency_s": latency,
                            "synth_s": synth,
                            "attempts": int(attempts),
                            "audio_key": None if key is None else lists[key],
                            "response": None if resp is None else responses[resp],
                            "prompt_id": pid,
                            "effects": lists[effects],
                            "seed": seed,
                            "started_at": started,
                            "transcript": transcript,
                            "retried": retried,
                            "conditions": conditions,
                        },
                    )
                )
            else:
                entry = loads(line)
                if entry.get("kind") != "audio":
                    raise ValueError(f"unexpected {entry.get('kind')!r} line")
                audio[str(entry["key"])] = _audio(entry)
    except (ValueError, TypeError, KeyError, IndexError, RussoError) as exc:
        raise _fail(source, f"line {number} is not a valid russo_nb batch line ({type(exc).__name__}: {exc})") from None
    if len(runs) != header.get("runs") or len(audio) != header.get("audio", 0):
        raise _fail(source, f"it holds {len(runs)} runs, the header declares {header.get('runs')}")
    return BatchResult.model_construct(runs=runs, audio=audio, metadata=metadata)


def encode_run_lines(runs: list[SingleRunResult]) -> list[str]:
    """The tables and run lines of ``runs`` (no header, no audio): the body :func:`decode_run_lines` reads."""
    lines, _ = _encode(BatchResult.model_construct(runs=list(runs), audio={}, metadata=BatchMetadata()), False)
    return lines


def decode_run_lines(lines: list[str], source: str = "<runs>") -> list[SingleRunResult]:
    """The runs of lines made by :func:`encode_run_lines`, in order (``source`` names them in errors)."""
    header = {"runs": len(lines) - 5, "audio": 0}
    return list(_decode(Path(source), header, lines, BatchMetadata()).runs)


def _error(fields: dict[str, Any]) -> RunError:
    return RunError.model_validate(fields)


def _audio(entry: dict[str, Any]) -> Audio:
    return Audio(
        data=base64.b64decode(entry["data"], validate=True),
        format=entry.get("format", "wav"),
        sample_rate=entry.get("sample_rate", 24000),
        channels=entry.get("channels", 1),
        sample_width=entry.get("sample_width", 2),
    )


def _read_v1(source: Path, header: dict[str, Any], body: bytes, metadata: BatchMetadata) -> BatchResult:
    """Version 1: one full run object per line, then audio lines; the run count is checked."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(source, f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    runs: list[SingleRunResult] = []
    audio: dict[str, Audio] = {}
    for number, line in enumerate(text.splitlines(), start=2):
        if not line.strip():
            continue
        try:
            if line.startswith('{"kind":"audio"') or line.startswith('{"kind": "audio"'):
                entry = json.loads(line)
                audio[entry["key"]] = _audio(entry)
            else:
                runs.append(SingleRunResult.model_validate_json(line))
        except (ValueError, TypeError, KeyError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _fail(source, f"line {number} is not a valid russo_nb batch line ({first})") from None
    declared = header.get("runs")
    if isinstance(declared, int) and declared != len(runs):
        raise _fail(source, f"it holds {len(runs)} runs, the header declares {declared}: the file is incomplete")
    return BatchResult(runs=runs, audio=audio, metadata=metadata)
