"""Export a batch to CSV, Parquet, JSON lines or HTML (chosen by suffix), and load it back.

JSON lines is the exact format (see :mod:`russo_nb.report.jsonl`): a header with the batch
metadata, run count and checksum, each distinct expectation / call / response once, one
short line per run referring to them, and, when asked, one line per distinct audio clip.
``load_batch`` of a ``.jsonl`` file gives a batch equal to the original. CSV and Parquet
hold the run table (:data:`russo_nb.columns.RUN_TABLE`: the runs frame plus the columns
that make it load back — error stage and traceback, agent text, the evaluation as JSON),
so tool names like ``get-weather``, argument names like ``class`` and NaN / inf values
come back exactly. CSV cells that a spreadsheet would run as a formula (``=``, ``+``,
``-``, ``@`` first) are written with a leading ``'`` that loading removes again. With
``include_audio`` the clips go next to the table as playable WAV files,
``<stem>_audio/<audio_key>.wav``, and come back on load; an index naming a file outside
that folder is refused.

Every file is written to a temporary file and renamed into place, so a killed export
never leaves a shorter file behind.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from importlib import resources
from pathlib import Path
from typing import Any

from ..columns import RUN_STATUSES
from ..errors import InvalidArgumentError, RussoError
from ..expectations import parse_expectation
from ..serialize import evaluation_from_plain, safe_text
from ..types import (
    Audio,
    BatchMetadata,
    BatchResult,
    EvalResult,
    RunError,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
    as_batch_result,
    construct_fast,
)
from ..types import prompt_id as make_prompt_id
from .files import atomic_file, atomic_path, unsafe_member
from .jsonl import FORMAT_VERSION, read_jsonl, write_jsonl

__all__ = [
    "FORMAT_VERSION",
    "SUFFIXES",
    "as_batch_result",
    "audio_folder",
    "export",
    "load_batch",
    "load_sweep",
    "read_audio_folder",
    "read_jsonl",
    "table_frame",
    "write_audio_folder",
    "write_jsonl",
]

logger = logging.getLogger("russo_nb")

SUFFIXES = (".csv", ".parquet", ".jsonl", ".jsonl.gz", ".html")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_QUOTED_FORMULA = re.compile(r"^'+[=+\-@\t\r]")


def _neutralize(cell: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (undone on load)."""
    if isinstance(cell, str):
        cell = safe_text(cell)
        if cell and _FORMULA.match(cell):
            return "'" + cell
    return cell


def _restore(cell: Any) -> Any:
    if isinstance(cell, str) and cell.startswith("'") and _QUOTED_FORMULA.match(cell):
        return cell[1:]
    return cell


def table_frame(result: Any, *, csv: bool = False) -> Any:
    """The run table as written to CSV / Parquet: frame and export columns, text cells safe to write."""
    from ..analysis.frames import run_table

    frame = run_table(as_batch_result(result), files=True)
    fix = _neutralize if csv else (lambda cell: safe_text(cell) if isinstance(cell, str) else cell)
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(fix)
    frame.attrs = {}
    return frame


def export(result: Any, path: str | Path, include_audio: bool = False) -> Path:
    """Write ``result`` to ``path``; the format follows the suffix (.csv, .parquet, .jsonl[.gz], .html).

    ``include_audio`` embeds every distinct clip (base64) in JSON lines, or writes it as a WAV
    file in ``<stem>_audio/`` beside a CSV / Parquet table, or embeds players (at most 20 clips,
    2 MB) in the HTML report; without it the report says the clips were left out. The file is
    written whole or not at all. Returns the path written.
    """
    target = Path(path)
    suffix = _suffix(target)
    if suffix not in SUFFIXES:
        raise InvalidArgumentError(f"cannot export to {str(target)!r}: the suffix must be one of {', '.join(SUFFIXES)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".html":
        from .html import write_report

        return write_report(result, target, max_audio=20 if include_audio else 0)
    if suffix in (".jsonl", ".jsonl.gz"):
        return write_jsonl(result, target, include_audio=include_audio)
    batch = as_batch_result(result)
    frame = table_frame(batch, csv=suffix == ".csv")
    if suffix == ".csv":
        with atomic_file(target, "w") as out:
            frame.to_csv(out, index=False)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        extra = dict(table.schema.metadata or {})
        extra[b"russo_nb.metadata"] = batch.metadata.model_dump_json().encode("utf-8")
        extra[b"russo_nb.runs"] = str(len(frame)).encode("ascii")
        with atomic_path(target) as temp:
            pq.write_table(table.replace_schema_metadata(extra), temp)
    if include_audio:
        write_audio_folder(batch.audio, audio_folder(target))
    return target


_AUDIO_INDEX = "index.json"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def audio_folder(table: Path) -> Path:
    """Where the clips of a CSV / Parquet export live: ``runs.csv`` -> ``runs_audio/``."""
    return table.with_name(table.name[: -len(_suffix(table))] + "_audio")


def write_audio_folder(audio: dict[str, Audio], folder: Path) -> Path:
    """Each clip as a playable file named by its audio_key, plus an index to restore it exactly."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for number, (key, clip) in enumerate(audio.items()):
        stem = key if _SAFE_NAME.match(key) else f"clip-{number}"
        wav_like = clip.format in ("wav", "pcm")
        name = f"{stem}.wav" if wav_like else f"{stem}.{clip.format}"
        with atomic_file(folder / name) as out:
            out.write(clip.to_wav_bytes() if wav_like else clip.data)
        entries.append(
            {
                "key": key,
                "file": name,
                "format": clip.format,
                "sample_rate": clip.sample_rate,
                "channels": clip.channels,
                "sample_width": clip.sample_width,
                "container": clip.is_container,
            }
        )
    with atomic_file(folder / _AUDIO_INDEX, "w") as out:
        out.write(json.dumps({"kind": "russo_nb.audio", "clips": entries}))
    return folder


def read_audio_folder(folder: Path) -> dict[str, Audio]:
    """The clips written by :func:`write_audio_folder` (an empty dict when there is no such folder).

    Only plain files inside ``folder`` are read: an index naming an absolute path, ``..``
    or a link out of the folder is refused, so a shared export cannot pull local files in.
    """
    index = folder / _AUDIO_INDEX
    if not index.exists():
        return {}
    audio: dict[str, Audio] = {}
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))["clips"]
        for entry in entries:
            problem = unsafe_member(folder, entry["file"])
            if problem is not None:
                raise InvalidArgumentError(
                    f"the audio index {str(index)!r} names {str(entry['file'])[:80]!r}, which is {problem}; "
                    "an export only reads the clips inside its own audio folder"
                )
            data = (folder / entry["file"]).read_bytes()
            if entry["format"] in ("wav", "pcm") and not entry.get("container", False):
                data = Audio.from_wav_bytes(data).data
            audio[entry["key"]] = Audio(
                data=data,
                format=entry["format"],
                sample_rate=entry["sample_rate"],
                channels=entry["channels"],
                sample_width=entry["sample_width"],
            )
    except RussoError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise InvalidArgumentError(
            f"the audio folder {str(folder)!r} is incomplete or damaged ({type(exc).__name__}: {first}); "
            "export the batch again with include_audio=True"
        ) from None
    return audio


def _parse_calls(text: Any, cache: dict[str, list[ToolCall]] | None = None) -> list[ToolCall]:
    """``"a(x=1); b()"`` (the frames' readable form) back into ToolCalls (memoized in ``cache``)."""
    if not isinstance(text, str) or not text.strip():
        return []
    if cache is not None:
        if text not in cache:
            cache[text] = _parse_calls(text)
        return list(cache[text])
    module = ast.parse(text, mode="exec")
    calls = []
    for statement in module.body:
        segment = ast.get_source_segment(text, statement)
        calls.append(parse_expectation(segment or ast.unparse(statement)))
    return calls


def _float(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value) or type(value).__name__ == "NAType":
        return None
    number = float(value)
    return None if number != number else number


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _evaluation(status: str, raw: str, exp: str, act: str, details: str, cache: dict[Any, EvalResult]) -> EvalResult:
    """A run's evaluation: from the JSON column when the file has it, else parsed from the call texts."""
    if raw:
        hit = cache.get(raw)
        if hit is None:
            hit = cache[raw] = evaluation_from_plain(json.loads(raw))
        return hit
    key = (exp, act, details, status)
    hit = cache.get(key)
    if hit is None:
        expected = _parse_calls(exp)
        actual = _parse_calls(act)
        matches = [
            ToolCallMatch.model_construct(
                expected=want, actual=want if want in actual else None, matched=want in actual, details=""
            )
            for want in expected
        ]
        hit = cache[key] = EvalResult.model_construct(
            passed=status == "passed", expected=expected, actual=actual, matches=matches, details=details
        )
    return hit


def _texts(frame: Any, name: str) -> list[str]:
    """A column as text cells ('' for missing), or all '' when the file lacks the column."""
    if name not in frame.columns:
        return [""] * len(frame)
    column = frame[name]
    missing = column.isna()
    if missing.any():
        column = column.astype(object).where(~missing, "")
    values = column.tolist()
    if not set(map(type, values)) <= {str}:
        values = [_text(value) for value in values]
    return values


def _numbers(frame: Any, name: str) -> list[float | None]:
    """A column as floats (None for missing); a cell that is not a number is a ValueError naming the column."""
    import pandas as pd

    if name not in frame.columns:
        return [None] * len(frame)
    column = frame[name]
    values = pd.to_numeric(column, errors="coerce")
    suspect = values.isna() & column.notna()
    bad = suspect & (column.astype(object).map(str) != "") if suspect.any() else suspect
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise _RowError(row + 1, f"{name} {column.iloc[row]!r} is not a number")
    return [None if value != value else value for value in values.astype(float).tolist()]


_USAGE_COLUMNS = ("input_tokens", "output_tokens", "total_tokens", "audio_s")
"""The run table's usage columns; loading puts them back into ``response.usage``."""


class _RowError(ValueError):
    def __init__(self, row: int, message: str) -> None:
        super().__init__(message)
        self.row = row


def _from_frame(frame: Any, metadata: BatchMetadata | None, source: Path) -> BatchResult:
    """Rebuild runs from the run table's columns: converted column by column, each run built without validation."""
    import gc

    import pandas as pd

    from ..types import AgentResponse

    missing = {"prompt", "run_index", "status"} - set(frame.columns)
    if missing:
        raise InvalidArgumentError(
            f"{str(source)!r} is not a russo_nb runs table: it lacks the column(s) {', '.join(sorted(missing))}"
        )
    n = len(frame)
    collecting = gc.isenabled()
    gc.disable()  # building 100,000 runs would otherwise trigger many full collections
    try:
        prompts = _texts(frame, "prompt")
        pids = _texts(frame, "prompt_id")
        statuses = _texts(frame, "status")
        for row, status in enumerate(statuses, start=1):
            if status not in RUN_STATUSES:
                raise _RowError(row, f"unknown status {status!r}")
        indexes = _numbers(frame, "run_index")
        latency, synth = _numbers(frame, "latency_s"), _numbers(frame, "synth_s")
        attempts, seeds = _numbers(frame, "attempts"), _numbers(frame, "seed")
        audio_keys = _texts(frame, "audio_key")
        started: list[Any] = [None] * n
        if "started_at" in frame.columns:
            stamps = pd.to_datetime(frame["started_at"], utc=True, errors="coerce")
            seconds = ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(1, "s")).tolist()
            started = [None if value != value else value for value in seconds]
        effects_cache: dict[str, list[str]] = {}
        effects = []
        for text in _texts(frame, "effects"):
            hit = effects_cache.get(text)
            if hit is None:
                hit = effects_cache[text] = [part for part in text.split(", ") if part]
            effects.append(hit)
        error_columns = [
            _texts(frame, name)
            for name in ("error_type", "error", "error_stage", "error_traceback", "error_cause", "error_agent")
        ]
        cache: dict[Any, EvalResult] = {}
        evaluations = []
        stored = _texts(frame, "evaluation")
        if all(stored):  # the exact form: one evaluation per distinct JSON text
            codes, uniques = pd.factorize(pd.Series(stored, dtype=object), sort=False)
            distinct = []
            for raw in uniques.tolist():
                try:
                    distinct.append(evaluation_from_plain(json.loads(raw)))
                except (ValueError, TypeError, KeyError) as exc:
                    raise _RowError(stored.index(raw) + 1, f"cannot read the evaluation ({exc})") from None
            evaluations = [distinct[code] for code in codes.tolist()]
        rows = zip(stored, _texts(frame, "expected"), _texts(frame, "actual"), _texts(frame, "details"))
        for row, (raw, exp, act, details) in enumerate([] if evaluations else rows, start=1):
            try:
                evaluations.append(_evaluation(statuses[row - 1], raw, exp, act, details, cache))
            except (ValueError, TypeError, SyntaxError, KeyError, IndexError, RussoError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else repr(exc)
                raise _RowError(row, f"cannot read the calls ({first})") from None
        has_text = "text" in frame.columns
        texts = _texts(frame, "text")
        usage_names = [name for name in _USAGE_COLUMNS if name in frame.columns]
        usage_columns = [_numbers(frame, name) for name in usage_names]
        responses: dict[tuple[Any, ...], Any] = {}
        runs: list[SingleRunResult] = []
        append = runs.append
        errors = [i for i in range(n) if error_columns[0][i] or error_columns[1][i]]
        error_at: dict[int, RunError] = {}
        for i in errors:
            kind, message, stage, trace, cause, agent = (column[i] for column in error_columns)
            error_at[i] = construct_fast(
                RunError,
                {"type": kind or "Error", "message": message, "stage": stage, "traceback": trace, "cause": cause}
                | {"agent": agent},
            )
        usage_rows = list(zip(*usage_columns)) if usage_columns else [()] * n
        rows = zip(prompts, pids, indexes, statuses, evaluations, latency, synth, attempts, audio_keys, effects)
        for i, (prompt, pid, index, status, evaluation, lat, syn, tries, key, eff) in enumerate(rows):
            if index is None or index != int(index):
                raise _RowError(i + 1, f"run_index {index!r} is not a whole number")
            response = None
            counts = usage_rows[i]
            usage = {name: v for name, v in zip(usage_names, counts) if v is not None} or None if counts else None
            if has_text or usage:
                response_key = (id(evaluation.actual), texts[i], None if usage is None else tuple(usage.items()))
                response = responses.get(response_key)
                if response is None:
                    response = responses[response_key] = AgentResponse.model_construct(
                        tool_calls=evaluation.actual, text=texts[i] or None, raw=None, usage=usage
                    )
            seed = seeds[i]
            append(
                construct_fast(
                    SingleRunResult,
                    {
                        "prompt": prompt,
                        "run_index": int(index),
                        "eval_result": evaluation,
                        "status": status,
                        "error": error_at.get(i),
                        "latency_s": lat,
                        "synth_s": syn,
                        "attempts": 1 if tries is None else int(tries),
                        "audio_key": key or None,
                        "response": response,
                        "prompt_id": pid or make_prompt_id(prompt),
                        "effects": eff,
                        "seed": None if seed is None else int(seed),
                        "started_at": started[i],
                        "transcript": None,
                        "retried": (),  # CSV / Parquet keep the short text only
                    },
                )
            )
    except _RowError as exc:
        raise InvalidArgumentError(f"{str(source)!r} row {exc.row}: cannot read the run ({exc})") from None
    finally:
        if collecting:
            gc.enable()
    if metadata is None:
        first_id = _text(frame["batch_id"].iloc[0]) if n and "batch_id" in frame.columns else ""
        first_agent = _text(frame["agent"].iloc[0]) if n and "agent" in frame.columns else ""
        metadata = BatchMetadata(batch_id=first_id or BatchMetadata().batch_id, agent=first_agent or None)
    return BatchResult.model_construct(runs=runs, audio={}, metadata=metadata)


def _read_csv(source: Path) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(source, keep_default_na=False, na_values=[""], dtype=_CSV_TEXT, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidArgumentError(f"{str(source)!r} is not a readable russo_nb CSV table ({first})") from None
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(_restore)
    return frame


_CSV_TEXT = {
    name: "object"
    for name in (
        "batch_id",
        "agent",
        "prompt",
        "prompt_id",
        "expected",
        "actual",
        "details",
        "error",
        "error_type",
        "error_stage",
        "error_traceback",
        "error_cause",
        "error_agent",
        "text",
        "evaluation",
        "effects",
        "audio_key",
    )
}


def _read_parquet(source: Path) -> tuple[Any, BatchMetadata | None]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(source)
        schema_meta = table.schema.metadata or {}
        raw_meta = schema_meta.get(b"russo_nb.metadata")
        metadata = BatchMetadata.model_validate_json(raw_meta) if raw_meta else None
        declared = schema_meta.get(b"russo_nb.runs")
        frame = table.to_pandas()
    except (OSError, ValueError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidArgumentError(f"{str(source)!r} is not a readable russo_nb Parquet table ({first})") from None
    if declared is not None and int(declared) != len(frame):
        raise InvalidArgumentError(
            f"{str(source)!r} holds {len(frame)} runs, its metadata declares {int(declared)}: the file is incomplete"
        )
    return frame, metadata


def load_batch(path: str | Path) -> BatchResult:
    """Load a batch exported with :func:`export`.

    ``.jsonl`` / ``.jsonl.gz``: exact (runs, metadata, and audio if it was included); the
    header's run count and checksum are verified. ``.csv`` / ``.parquet``: rebuilt from the
    run table — statuses, calls, evaluations, errors with tracebacks, agent text and timings
    come back (its runs frame equals the original's), and the audio when it was exported with
    ``include_audio``; raw responses and transcripts do not. A damaged file is a one-line error.
    """
    source = Path(path)
    if not source.exists():
        raise InvalidArgumentError(f"no such file: {str(source)!r}")
    if source.is_dir():
        raise InvalidArgumentError(f"{str(source)!r} is a folder; give an exported .jsonl, .csv or .parquet file")
    suffix = _suffix(source)
    if suffix in (".jsonl", ".jsonl.gz"):
        return read_jsonl(source)
    if suffix == ".csv":
        result = _from_frame(_read_csv(source), None, source)
        result.audio = read_audio_folder(audio_folder(source))
        return result
    if suffix == ".parquet":
        frame, metadata = _read_parquet(source)
        result = _from_frame(frame, metadata, source)
        result.audio = read_audio_folder(audio_folder(source))
        return result
    raise InvalidArgumentError(
        f"cannot load {str(source)!r}: load_batch reads .jsonl (exact), .jsonl.gz, .csv or .parquet files"
    )


def _bundled_sweep() -> Path:
    """The recorded noise sweep shipped inside the package (found through importlib.resources)."""
    resource = resources.files("russo_nb") / "data" / "recorded" / "noise_sweep.json"
    return Path(str(resource))


def load_sweep(index: str | Path | None = None) -> dict[str, BatchResult]:
    """Load a recorded sweep: ``{label: BatchResult}`` in sweep order, ready for ``plot_sweep``.

    ``index`` is the sweep's JSON index; the default is the recorded noise sweep shipped with
    the package, ``russo_nb/data/recorded/noise_sweep.json`` (clean, 20, 10 and 5 dB SNR).
    """
    source = _bundled_sweep() if index is None else Path(index)
    if not source.exists():
        raise InvalidArgumentError(f"no sweep index at {str(source)!r}; make one with scripts/make_recorded_data.py")
    try:
        entries = json.loads(source.read_text(encoding="utf-8"))["batches"]
        files = [(str(entry["label"]), entry["file"]) for entry in entries]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgumentError(f"{str(source)!r} is not a sweep index ({exc})") from None
    out = {}
    for label, name in files:
        problem = unsafe_member(source.parent, name)
        if problem is not None:
            raise InvalidArgumentError(f"{str(source)!r} names {str(name)[:80]!r}, which is {problem}")
        out[label] = load_batch(source.parent / name)
    return out
