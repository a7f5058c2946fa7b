"""Export a batch to CSV, Parquet, JSON lines or HTML (chosen by suffix), and load it back.

JSON lines is the exact format: one header line with the batch metadata, one line per run
(the full :class:`~russo_nb.types.SingleRunResult`), and, when asked, one line per distinct
audio clip (base64). ``load_batch`` of a ``.jsonl`` file gives a batch equal to the original.
CSV and Parquet hold the runs frame (see :func:`russo_nb.analysis.runs_frame`) for other
tools; loading them rebuilds runs from those columns (the runs frame of the loaded batch
equals the original's; raw responses are not kept). With ``include_audio`` the clips go
next to the table as playable WAV files, ``<stem>_audio/<audio_key>.wav``, and come back
on load.
"""

from __future__ import annotations

import ast
import base64
import gzip
import json
import logging
import re
from pathlib import Path
from typing import IO, Any

from ..errors import InvalidArgumentError, RussoError
from ..expectations import parse_expectation
from ..types import (
    Audio,
    BatchMetadata,
    BatchResult,
    EvalResult,
    RunError,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
)
from ..types import prompt_id as make_prompt_id

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
    "write_audio_folder",
    "write_jsonl",
]

logger = logging.getLogger("russo_nb")

FORMAT_VERSION = 1
SUFFIXES = (".csv", ".parquet", ".jsonl", ".jsonl.gz", ".html")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _open_text(path: Path, mode: str) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8")


def as_batch_result(result: Any) -> BatchResult:
    """A BatchResult as it is; a scenario batch through its ``to_batch_result()``; else a clear error."""
    if isinstance(result, BatchResult):
        return result
    convert = getattr(result, "to_batch_result", None)
    if callable(convert):
        return convert()
    raise InvalidArgumentError(
        f"expected a BatchResult (or a ScenarioBatch), got {type(result).__name__}; "
        "pass the result of russo_nb.run(...)"
    )


def export(result: Any, path: str | Path, include_audio: bool = False) -> Path:
    """Write ``result`` to ``path``; the format follows the suffix (.csv, .parquet, .jsonl[.gz], .html).

    ``include_audio`` embeds every distinct clip (base64) in JSON lines, or writes it as a WAV
    file in ``<stem>_audio/`` beside a CSV / Parquet table, or embeds players (at most 20 clips,
    2 MB) in the HTML report; without it the report says the clips were left out. Returns the
    path written.
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
    from ..analysis.frames import runs_frame

    frame = runs_frame(result)
    if suffix == ".csv":
        frame.to_csv(target, index=False)
    else:
        frame = frame.copy()
        frame.attrs = {}
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = getattr(result, "metadata", None)
        extra = dict(table.schema.metadata or {})
        if meta is not None and hasattr(meta, "model_dump_json"):
            extra[b"russo_nb.metadata"] = meta.model_dump_json().encode("utf-8")
        pq.write_table(table.replace_schema_metadata(extra), target)
    if include_audio:
        write_audio_folder(as_batch_result(result).audio, audio_folder(target))
    return target


_AUDIO_INDEX = "index.json"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def audio_folder(table: Path) -> Path:
    """Where the clips of a CSV / Parquet export live: ``runs.csv`` -> ``runs_audio/``."""
    return table.with_name(table.name[: -len(_suffix(table))] + "_audio")


def write_audio_folder(audio: dict[str, Audio], folder: Path) -> Path:
    """Each clip as a playable file named by its audio_key, plus an index to restore it exactly."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for number, (key, clip) in enumerate(audio.items()):
        stem = key if _SAFE_NAME.match(key) and not key.startswith(".") else f"clip-{number}"
        wav_like = clip.format in ("wav", "pcm")
        name = f"{stem}.wav" if wav_like else f"{stem}.{clip.format}"
        (folder / name).write_bytes(clip.to_wav_bytes() if wav_like else clip.data)
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
    (folder / _AUDIO_INDEX).write_text(json.dumps({"kind": "russo_nb.audio", "clips": entries}), encoding="utf-8")
    return folder


def read_audio_folder(folder: Path) -> dict[str, Audio]:
    """The clips written by :func:`write_audio_folder` (an empty dict when there is no such folder)."""
    index = folder / _AUDIO_INDEX
    if not index.exists():
        return {}
    audio: dict[str, Audio] = {}
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))["clips"]
        for entry in entries:
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
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise InvalidArgumentError(
            f"the audio folder {str(folder)!r} is incomplete or damaged ({type(exc).__name__}: {exc}); "
            "export the batch again with include_audio=True"
        ) from None
    return audio


def write_jsonl(result: Any, path: str | Path, include_audio: bool = False) -> Path:
    """Write the exact JSON-lines form of a batch (header, runs, optional audio)."""
    result = as_batch_result(result)
    target = Path(path)
    audio_keys = [key for key in result.audio] if include_audio else []
    header = {
        "kind": "russo_nb.batch",
        "version": FORMAT_VERSION,
        "metadata": result.metadata.model_dump(mode="json"),
        "runs": len(result.runs),
        "audio": len(audio_keys),
    }
    with _open_text(target, "w") as out:
        out.write(json.dumps(header) + "\n")
        for run in result.runs:
            out.write(run.model_dump_json(fallback=repr))
            out.write("\n")
        for key in audio_keys:
            clip = result.audio[key]
            line = {
                "kind": "audio",
                "key": key,
                "format": clip.format,
                "sample_rate": clip.sample_rate,
                "channels": clip.channels,
                "sample_width": clip.sample_width,
                "data": base64.b64encode(clip.data).decode("ascii"),
            }
            out.write(json.dumps(line) + "\n")
    return target


def read_jsonl(path: str | Path) -> BatchResult:
    """Read a batch written by :func:`write_jsonl`; names the line of any problem."""
    source = Path(path)
    runs: list[SingleRunResult] = []
    audio: dict[str, Audio] = {}
    metadata: BatchMetadata | None = None
    with _open_text(source, "r") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                if number == 1:
                    header = json.loads(line)
                    if not isinstance(header, dict) or header.get("kind") != "russo_nb.batch":
                        raise ValueError("the first line is not a russo_nb batch header")
                    metadata = BatchMetadata.model_validate(header.get("metadata", {}))
                    continue
                if line.startswith('{"kind":"audio"') or line.startswith('{"kind": "audio"'):
                    entry = json.loads(line)
                    audio[entry["key"]] = Audio(
                        data=base64.b64decode(entry["data"]),
                        format=entry.get("format", "wav"),
                        sample_rate=entry.get("sample_rate", 24000),
                        channels=entry.get("channels", 1),
                        sample_width=entry.get("sample_width", 2),
                    )
                    continue
                runs.append(SingleRunResult.model_validate_json(line))
            except Exception as exc:
                raise InvalidArgumentError(
                    f"{source}: line {number} is not a valid russo_nb batch line ({exc}); "
                    "export the batch again with russo_nb.report.export(result, 'file.jsonl')"
                ) from None
    if metadata is None:
        raise InvalidArgumentError(f"{source} is empty; it holds no russo_nb batch")
    return BatchResult(runs=runs, audio=audio, metadata=metadata)


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
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


_STATUSES = ("passed", "failed", "error", "timeout", "cancelled")


def _from_frame(frame: Any, metadata: BatchMetadata | None, source: Path) -> BatchResult:
    """Rebuild runs from the runs-frame columns (validated by hand, built without pydantic's per-row cost)."""
    import pandas as pd

    missing = {"prompt", "run_index", "status"} - set(frame.columns)
    if missing:
        raise InvalidArgumentError(
            f"{str(source)!r} is not a russo_nb runs table: it lacks the column(s) {', '.join(sorted(missing))}"
        )
    n = len(frame)

    def column(name: str, default: Any = None) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else [default] * n

    started = frame["started_at"] if "started_at" in frame.columns else None
    if started is not None:
        stamps = pd.to_datetime(started, utc=True, errors="coerce")
        started_list = [None if s is pd.NaT else s.timestamp() for s in stamps]
    else:
        started_list = [None] * n
    cache: dict[str, list[ToolCall]] = {}
    effects_cache: dict[str, list[str]] = {}
    runs: list[SingleRunResult] = []
    rows = zip(
        column("prompt"),
        column("prompt_id"),
        column("run_index", 0),
        column("status"),
        column("expected", ""),
        column("actual", ""),
        column("details", ""),
        column("error", ""),
        column("error_type", ""),
        column("latency_s"),
        column("synth_s"),
        column("attempts", 1),
        column("audio_key"),
        column("effects", ""),
        column("seed"),
        started_list,
    )
    for line, row in enumerate(rows, start=2):
        prompt, pid, index, status, exp, act, details, err, err_type = row[:9]
        latency, synth, attempts, audio_key, effects, seed, started_at = row[9:]
        status = _text(status)
        if status not in _STATUSES:
            raise InvalidArgumentError(f"{str(source)!r} row {line - 1}: unknown status {status!r}")
        try:
            expected = _parse_calls(exp, cache)
            actual = _parse_calls(act, cache)
        except (SyntaxError, RussoError) as exc:
            raise InvalidArgumentError(f"{str(source)!r} row {line - 1}: cannot read the calls ({exc})") from None
        matches = [
            ToolCallMatch.model_construct(
                expected=want, actual=want if want in actual else None, matched=want in actual, details=""
            )
            for want in expected
        ]
        effects_text = _text(effects)
        if effects_text not in effects_cache:
            effects_cache[effects_text] = [part for part in effects_text.split(", ") if part]
        prompt_text = _text(prompt)
        runs.append(
            SingleRunResult.model_construct(
                prompt=prompt_text,
                run_index=int(index),
                eval_result=EvalResult.model_construct(
                    passed=status == "passed", expected=expected, actual=actual, matches=matches, details=_text(details)
                ),
                status=status,
                error=RunError(type=_text(err_type) or "Error", message=_text(err)) if _text(err) else None,
                latency_s=_float(latency),
                synth_s=_float(synth),
                attempts=int(_float(attempts) or 1),
                audio_key=_text(audio_key) or None,
                response=None,
                prompt_id=_text(pid) or make_prompt_id(prompt_text),
                effects=list(effects_cache[effects_text]),
                seed=None if _float(seed) is None else int(_float(seed)),
                started_at=started_at,
                transcript=None,
            )
        )
    if metadata is None:
        first_id = _text(frame["batch_id"].iloc[0]) if n and "batch_id" in frame.columns else ""
        first_agent = _text(frame["agent"].iloc[0]) if n and "agent" in frame.columns else ""
        metadata = BatchMetadata(batch_id=first_id or BatchMetadata().batch_id, agent=first_agent or None)
    return BatchResult.model_construct(runs=runs, audio={}, metadata=metadata)


def load_batch(path: str | Path) -> BatchResult:
    """Load a batch exported with :func:`export`.

    ``.jsonl`` / ``.jsonl.gz``: exact (runs, metadata, and audio if it was included).
    ``.csv`` / ``.parquet``: rebuilt from the runs frame — statuses, calls, errors and timings
    come back (its runs frame equals the original's), and the audio when it was exported
    with ``include_audio``; raw responses and per-call evaluator details do not.
    """
    source = Path(path)
    if not source.exists():
        raise InvalidArgumentError(f"no such file: {str(source)!r}")
    suffix = _suffix(source)
    if suffix in (".jsonl", ".jsonl.gz"):
        return read_jsonl(source)
    if suffix == ".csv":
        import pandas as pd

        logger.info("loading %s from CSV: per-call details, raw responses and audio are not in CSV", source)
        result = _from_frame(pd.read_csv(source, keep_default_na=False, na_values=[""]), None, source)
        result.audio = read_audio_folder(audio_folder(source))
        return result
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(source)
        raw_meta = (table.schema.metadata or {}).get(b"russo_nb.metadata")
        metadata = BatchMetadata.model_validate_json(raw_meta) if raw_meta else None
        result = _from_frame(table.to_pandas(), metadata, source)
        result.audio = read_audio_folder(audio_folder(source))
        return result
    raise InvalidArgumentError(
        f"cannot load {str(source)!r}: load_batch reads .jsonl (exact), .jsonl.gz, .csv or .parquet files"
    )


def load_sweep(index: str | Path | None = None) -> dict[str, BatchResult]:
    """Load a recorded sweep: ``{label: BatchResult}`` in sweep order, ready for ``plot_sweep``.

    ``index`` is the sweep's JSON index; the default is the repository's recorded noise sweep
    ``data/recorded/noise_sweep.json`` (clean, 20, 10 and 5 dB SNR).
    """
    if index is None:
        index = Path(__file__).resolve().parents[2] / "data" / "recorded" / "noise_sweep.json"
    source = Path(index)
    if not source.exists():
        raise InvalidArgumentError(f"no sweep index at {str(source)!r}; make one with scripts/make_recorded_data.py")
    try:
        entries = json.loads(source.read_text(encoding="utf-8"))["batches"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgumentError(f"{str(source)!r} is not a sweep index ({exc})") from None
    return {str(entry["label"]): load_batch(source.parent / entry["file"]) for entry in entries}
