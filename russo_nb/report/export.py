"""Export a batch to CSV, Parquet, JSON lines or HTML (chosen by suffix), and load it back.

JSON lines is the exact format: one header line with the batch metadata, one line per run
(the full :class:`~russo_nb.types.SingleRunResult`), and, when asked, one line per distinct
audio clip (base64). ``load_batch`` of a ``.jsonl`` file gives a batch equal to the original.
CSV and Parquet hold the runs frame (see :func:`russo_nb.analysis.runs_frame`) for other
tools; loading them rebuilds runs from those columns (lossy: no raw responses or audio).
"""

from __future__ import annotations

import ast
import base64
import gzip
import json
import logging
from pathlib import Path
from typing import IO, Any

from ..errors import InvalidArgumentError
from ..expectations import parse_expectation
from ..types import Audio, BatchMetadata, BatchResult, EvalResult, RunError, SingleRunResult, ToolCall, ToolCallMatch

__all__ = [
    "FORMAT_VERSION",
    "SUFFIXES",
    "as_batch_result",
    "export",
    "load_batch",
    "load_sweep",
    "read_jsonl",
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

    ``include_audio`` embeds every distinct clip (base64) in JSON lines; the HTML report
    always embeds a capped number of players. Returns the path written.
    """
    target = Path(path)
    suffix = _suffix(target)
    if suffix not in SUFFIXES:
        raise InvalidArgumentError(f"cannot export to {str(target)!r}: the suffix must be one of {', '.join(SUFFIXES)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".html":
        from .html import write_report

        return write_report(result, target)
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
    return target


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


def _from_frame(frame: Any, metadata: BatchMetadata | None) -> BatchResult:
    import pandas as pd

    runs: list[SingleRunResult] = []
    cache: dict[str, list[ToolCall]] = {}
    for row in frame.to_dict("records"):
        expected = _parse_calls(row.get("expected"), cache)
        actual = _parse_calls(row.get("actual"), cache)
        matches = []
        for want in expected:
            hit = want in actual
            matches.append(ToolCallMatch(expected=want, actual=want if hit else None, matched=hit))
        status = _text(row.get("status")) or ("passed" if row.get("passed") else "failed")
        error = None
        if _text(row.get("error")):
            error = RunError(type=_text(row.get("error_type")) or "Error", message=_text(row.get("error")))
        started = row.get("started_at")
        started_at = started.timestamp() if isinstance(started, pd.Timestamp) else None
        if isinstance(started, str) and started:
            started_at = pd.Timestamp(started).timestamp()
        seed = row.get("seed")
        effects = _text(row.get("effects"))
        runs.append(
            SingleRunResult(
                prompt=_text(row.get("prompt")),
                run_index=int(row.get("run_index", 0)),
                eval_result=EvalResult(
                    passed=status == "passed",
                    expected=expected,
                    actual=actual,
                    matches=matches,
                    details=_text(row.get("details")),
                ),
                status=status,
                error=error,
                latency_s=_float(row.get("latency_s")),
                synth_s=_float(row.get("synth_s")),
                attempts=int(row.get("attempts", 1) or 1),
                audio_key=_text(row.get("audio_key")) or None,
                effects=[part for part in effects.split(", ") if part],
                seed=None if seed is None or pd.isna(seed) else int(seed),
                started_at=started_at,
            )
        )
    if metadata is None:
        first = frame.iloc[0] if len(frame) else {}
        metadata = BatchMetadata(
            batch_id=_text(first.get("batch_id")) or BatchMetadata().batch_id,
            agent=_text(first.get("agent")) or None,
        )
    return BatchResult(runs=runs, metadata=metadata)


def load_batch(path: str | Path) -> BatchResult:
    """Load a batch exported with :func:`export`.

    ``.jsonl`` / ``.jsonl.gz``: exact (runs, metadata, and audio if it was included).
    ``.csv`` / ``.parquet``: rebuilt from the runs frame — statuses, calls, errors and timings
    come back; raw responses, per-call evaluator details and audio do not.
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
        return _from_frame(pd.read_csv(source, keep_default_na=False, na_values=[""]), None)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(source)
        raw_meta = (table.schema.metadata or {}).get(b"russo_nb.metadata")
        metadata = BatchMetadata.model_validate_json(raw_meta) if raw_meta else None
        return _from_frame(table.to_pandas(), metadata)
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
