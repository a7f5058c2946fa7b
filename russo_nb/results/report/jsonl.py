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

The tables and the run lines are the run record (:mod:`russo_nb.model.records`, the same cells as the
row format of :func:`~russo_nb.model.records.encode_runs`). A scenario batch is written as scenario
runs (:func:`~russo_nb.model.records.record_fields` of ``"scenarios"``: verdict, transcript, criteria, scores,
lifecycle ...; the header's ``fields`` start with ``name``) and loads back as a ``ScenarioBatch`` whose runs
are kept as their parsed rows, each built when first asked for (:mod:`russo_nb.scenario.row_runs`).

The header's ``sha256`` covers every byte after the header line and ``lines`` / ``runs``
count them, so a file cut short (a killed export, a partial copy) is refused with a one-line
error instead of loading as a smaller batch. Text is ASCII-escaped JSON: lone surrogates,
NaN and infinity survive the round trip. Version 1 files (one full run object per line)
still load.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

from ...model.errors import InvalidArgumentError, RussoError, first_line
from ...model.lazy_runs import collections_paused
from ...model.records import TABLES, RowDecoder, RowEncoder, audio_entry, audio_from_entry, record_fields
from ...model.serialize import dumps_ascii, dumps_safe
from ...model.types import Audio, BatchMetadata, BatchResult, SingleRunResult, as_batch_result
from .files import atomic_file, read_bytes

__all__ = ["FORMAT_VERSION", "read_jsonl", "write_jsonl"]

FORMAT_VERSION = 2


def _encode(result: Any, kind: str, include_audio: bool) -> tuple[list[bytes], int]:
    """The lines after the header, as ASCII bytes: the shared tables, one row per run, then the clips.

    The rows are built and encoded with the collector paused (as reading does): a 10,000-run scenario
    batch makes ~150,000 short-lived lists, which would otherwise set off full collections over the
    batch's own objects.
    """
    encoder = RowEncoder(kind)
    with collections_paused():
        row = encoder.row
        run_lines = dumps_ascii([row(run) for run in result.runs])
    lines = dumps_ascii({"kind": name, "items": items} for name, items in encoder.tables().items())
    lines += run_lines
    audio_count = 0
    if include_audio:
        for key, clip in {**result.audio, **encoder.audio}.items():
            audio_count += 1
            lines.append(dumps_safe({"kind": "audio", **audio_entry(key, clip)}).encode("ascii"))
    return lines, audio_count


def write_jsonl(result: Any, path: str | Path, include_audio: bool = False) -> Path:
    """Write the exact JSON-lines form of a batch (header, tables, runs, optional audio), atomically."""
    result, kind = _batch_and_kind(result)
    target = Path(path)
    lines, audio_count = _encode(result, kind, include_audio)
    lines.append(b"")
    body = b"\n".join(lines)
    header = {
        "kind": "russo_nb.batch",
        "version": FORMAT_VERSION,
        "metadata": json.loads(dumps_safe(result.metadata.model_dump(mode="json"))),
        "runs": len(result.runs),
        "audio": audio_count,
        "lines": len(lines) - 1,
        "sha256": hashlib.sha256(body).hexdigest(),
        "fields": [spec.name for spec in record_fields(kind)],
    }
    data = dumps_safe(header).encode("ascii") + b"\n" + body
    with atomic_file(target) as out:
        if target.name.lower().endswith(".gz"):
            # filename="": no temp file name in the gzip header, so two exports of one batch are equal
            with gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as zipped:
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
    except (UnicodeDecodeError, ValueError, RecursionError):
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
    with collections_paused(kept=True):  # building 100,000 runs would otherwise trigger many full collections
        return _decode(source, header, lines, metadata)


def _decode(source: Path, header: dict[str, Any], lines: list[str], metadata: BatchMetadata) -> Any:
    kind = "scenarios" if header.get("fields", [None])[0] == "name" else "prompts"
    if kind == "scenarios":
        from ...scenario import result  # noqa: F401  (registers the scenario run's models the decoder builds)
    number = 1
    try:
        tables: dict[str, list[Any]] = {}
        for number, line in enumerate(lines[: len(TABLES)], start=2):  # noqa: B007 (named in the error)
            entry = json.loads(line)
            tables[entry["kind"]] = entry["items"]
        loads = _loads_line
        audio: dict[str, Audio] = {}
        rows: list[Any] = []
        numbers: list[int] = []  # each row's line (rows and numbers apart: no tuple per run)
        for number, line in enumerate(lines[len(TABLES) :], start=len(TABLES) + 2):
            if line.startswith("["):
                rows.append(loads(line))
                numbers.append(number)
            else:
                entry = loads(line)
                if entry.get("kind") != "audio":
                    raise ValueError(f"unexpected {entry.get('kind')!r} line")
                audio[str(entry["key"])] = audio_from_entry(entry)
        number = f"2-{len(TABLES) + 1}"  # type: ignore[assignment]  # the shared tables are checked together
        decoder = RowDecoder(kind, tables, audio)
        if kind == "scenarios":  # kept as rows, each run built when first asked for
            runs: Any = _scenario_runs(source, rows, numbers, decoder)
        else:
            run = decoder.run
            runs = []
            for number, cells in zip(numbers, rows):  # noqa: B007
                runs.append(run(cells))
    except (ValueError, TypeError, KeyError, IndexError, RussoError, RecursionError) as exc:
        raise _bad_line(source, number, exc) from None
    if len(runs) != header.get("runs") or len(audio) != header.get("audio", 0):
        raise _fail(source, f"it holds {len(runs)} runs, the header declares {header.get('runs')}")
    if kind == "scenarios":
        from ...scenario.batch import ScenarioBatch

        return ScenarioBatch.model_construct(runs=runs, metadata=metadata)
    return BatchResult.model_construct(runs=runs, audio=audio, metadata=metadata)


_SCAN = json.JSONDecoder().scan_once


def _loads_line(line: str) -> Any:
    """``json.loads(line)`` through the C scanner straight (its Python wrapper is a tenth of a 10,000-run load);
    anything unusual (leading or trailing text, a syntax error) goes through ``json.loads`` itself."""
    try:
        value, end = _SCAN(line, 0)
    except StopIteration:
        return json.loads(line)
    return value if end == len(line) else json.loads(line)


def _bad_line(source: Path, number: Any, exc: BaseException | str) -> InvalidArgumentError:
    """The one-line error of a line that is not a valid batch line (``exc``: what is wrong with it)."""
    what = exc if isinstance(exc, str) else f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return _fail(source, f"line {number} is not a valid russo_nb batch line ({what[:300]})")


def _scenario_runs(source: Path, rows: list[Any], numbers: list[int], decoder: RowDecoder) -> Any:
    """Scenario runs kept as their rows (checked now: each a row of cells with a run status), built on first access.

    A damaged cell is the same one-line error naming the line, raised when its run is first built
    (:class:`russo_nb.scenario.row_runs.ScenarioRowRuns`).
    """
    from ...scenario.row_runs import ScenarioRowRuns, check_rows

    bad = check_rows(rows, decoder.fields)
    if bad is not None:
        raise _bad_line(source, numbers[bad], "not a scenario run's row of cells with a run status")
    return ScenarioRowRuns(rows, numbers, decoder, lambda number, what: _bad_line(source, number, what))


def _batch_and_kind(result: Any) -> tuple[Any, str]:
    """The batch to write and its kind: a scenario batch keeps its scenario runs (never packed into prompt runs)."""
    from ...scenario.batch import ScenarioBatch

    if isinstance(result, ScenarioBatch):
        return result, "scenarios"
    return as_batch_result(result), "prompts"


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
                audio[entry["key"]] = audio_from_entry(entry)
            else:
                runs.append(SingleRunResult.model_validate_json(line))
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise _fail(source, f"line {number} is not a valid russo_nb batch line ({first_line(exc)})") from None
    declared = header.get("runs")
    if isinstance(declared, int) and declared != len(runs):
        raise _fail(source, f"it holds {len(runs)} runs, the header declares {declared}: the file is incomplete")
    return BatchResult(runs=runs, audio=audio, metadata=metadata)
