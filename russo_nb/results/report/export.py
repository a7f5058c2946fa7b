"""Export a batch to CSV, Parquet, JSON lines or HTML (chosen by suffix), and load it back.

JSON lines is the exact format (see :mod:`russo_nb.results.report.jsonl`): a header with the batch
metadata, run count and checksum, each distinct expectation / call / response once, one
short line per run referring to them, and, when asked, one line per distinct audio clip.
``load_batch`` of a ``.jsonl`` file gives a batch equal to the original. CSV and Parquet
hold the run table (:func:`russo_nb.model.run_fields.run_table`: the runs frame plus the columns
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

import json
import logging
import re
import wave
from importlib import resources
from pathlib import Path
from typing import Any

from ...model.errors import InvalidArgumentError, RussoError
from ...model.serialize import safe_text
from ...model.types import (
    Audio,
    BatchResult,
    as_batch_result,
)
from ..analysis.frames import TextFix
from .csv_text import csv_pieces
from .files import (
    MAX_CLIP_BYTES,
    MAX_INDEX_BYTES,
    atomic_file,
    atomic_path,
    check_writable,
    read_limited,
    unsafe_member,
)
from .jsonl import FORMAT_VERSION, read_jsonl, write_jsonl
from .parquet_table import write_parquet_parts
from .stored_table import stored_file_parts
from .tables import read_csv_table, read_parquet_table, runs_from_frame

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


_FORMULA_START = r"^'*[=+\-@\t\r]"
_FORMULA = re.compile(_FORMULA_START)


def _neutralize_cell(cell: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (undone on load)."""
    if isinstance(cell, str):
        cell = safe_text(cell)
        if cell and _FORMULA.match(cell):
            return "'" + cell
    return cell


def _not_ascii(texts: Any) -> Any:
    """Where an Arrow text array holds a cell that is not ASCII (what ``safe_text`` may change), in C."""
    import numpy as np
    import pyarrow.compute as pc

    return ~np.asarray(pc.string_is_ascii(texts).fill_null(True), dtype=bool)


def _formula_or_not_ascii(texts: Any) -> Any:
    """Where an Arrow text array holds a cell that :func:`_neutralize_cell` may change, in C."""
    import numpy as np
    import pyarrow.compute as pc

    formula = np.asarray(pc.match_substring_regex(texts, _FORMULA_START).fill_null(False), dtype=bool)
    return formula | _not_ascii(texts)


_neutralize = TextFix(_neutralize_cell, _formula_or_not_ascii)
"""The CSV writer's fix of a text cell (see :class:`russo_nb.results.analysis.frames.TextFix`)."""


def table_batch(result: Any) -> Any:
    """The batch a file holds: a BatchResult, or a ScenarioBatch as it is (its scenario runs are not packed)."""
    if getattr(getattr(result, "metadata", None), "kind", None) == "scenarios" and not isinstance(result, BatchResult):
        return result
    return as_batch_result(result)


def attach_audio(result: Any, clips: dict[str, Audio]) -> Any:
    """Give a loaded batch the clips read beside its file (a scenario run gets the clips it names)."""
    from ...scenario.table_runs import ScenarioTableRuns

    if isinstance(result, BatchResult):
        result.audio = clips
    elif isinstance(result.runs, ScenarioTableRuns) and result.runs.built_count == 0:
        result.runs.clips = clips  # each run gets the clips it names when it is built
    else:
        for run in result.runs:
            keys = run.audio or {}
            run.audio = {key: clips[key] for key in keys if key in clips}
    return result


def table_frame(result: Any, *, csv: bool = False) -> Any:
    """The run table as written to CSV / Parquet: frame and export columns, text cells safe to write."""
    from ..analysis.frames import run_table

    fix = _neutralize if csv else _safe
    frame = run_table(table_batch(result), files=True, text=fix)
    frame.attrs = {}
    return frame


def table_parts(result: Any, *, csv: bool = False) -> dict[str, tuple[Any, Any]]:
    """:func:`table_frame`'s columns as ``(codes, typed distinct cells)`` (see
    :func:`russo_nb.results.analysis.frames.run_table_parts`): what the CSV writer formats once per distinct cell."""
    from ..analysis.frames import run_table_parts

    return run_table_parts(table_batch(result), files=True, text=_neutralize if csv else _safe)


_safe = TextFix(safe_text, _not_ascii)
"""The Parquet writer's fix of a text cell: UTF-8 encodable (a lone surrogate escaped)."""


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
    check_writable(target)  # a folder or an unwritable place: one line now, before the table is built
    if suffix == ".html":
        from .html import write_report

        return write_report(result, target, max_audio=20 if include_audio else 0)
    if suffix in (".jsonl", ".jsonl.gz"):
        return write_jsonl(result, target, include_audio=include_audio)
    batch = table_batch(result)
    stored = stored_file_parts(batch, _neutralize if suffix == ".csv" else _safe)  # a loaded table: its columns
    if suffix == ".csv":
        parts = stored if stored is not None else table_parts(batch, csv=True)
        pieces = csv_pieces(parts)  # what to_csv writes, each distinct cell once
        if pieces is None:
            frame = table_frame(batch, csv=True)
            with atomic_file(target, "w") as out:
                frame.to_csv(out, index=False, lineterminator="\r\n")  # CRLF: a cell with a lone \r is quoted too
        else:
            with atomic_file(target) as out:
                for piece in pieces:
                    out.write(piece)
    else:
        extra = {
            b"russo_nb.metadata": batch.metadata.model_dump_json().encode("utf-8"),
            b"russo_nb.runs": str(len(batch.runs)).encode("ascii"),
        }
        parts = stored if stored is not None else table_parts(batch)
        with atomic_path(target) as temp:
            write_parquet_parts(parts, temp, extra)  # dictionary pages from the distinct cells, as given
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


def _folder_file(path: Path, limit: int) -> bytes:
    """A file of an audio folder (regular, at most ``limit`` bytes); a refusal reads as damage to the folder."""
    try:
        return read_limited(path, limit)
    except InvalidArgumentError as exc:
        raise OSError(str(exc)) from None


def read_audio_folder(folder: Path) -> dict[str, Audio]:
    """The clips written by :func:`write_audio_folder` (an empty dict when there is no such folder).

    Only plain files inside ``folder`` are read: an index naming an absolute path, ``..``
    or a link out of the folder is refused, so a shared export cannot pull local files in.
    """
    index = folder / _AUDIO_INDEX
    if not index.exists():
        return {}
    audio: dict[str, Audio] = {}
    clip = ""
    try:
        entries = json.loads(_folder_file(index, MAX_INDEX_BYTES).decode("utf-8"))["clips"]
        for entry in entries:
            problem = unsafe_member(folder, entry["file"])
            if problem is not None:
                raise InvalidArgumentError(
                    f"the audio index {str(index)!r} names {str(entry['file'])[:80]!r}, which is {problem}; "
                    "an export only reads the clips inside its own audio folder"
                )
            clip = str(entry["file"])
            data = _folder_file(folder / clip, MAX_CLIP_BYTES)  # a regular file of bounded size, never a FIFO
            if entry["format"] in ("wav", "pcm") and not entry.get("container", False):
                data = Audio.from_wav_bytes(data).data
            audio[entry["key"]] = Audio(
                data=data,
                format=entry["format"],
                sample_rate=entry["sample_rate"],
                channels=entry["channels"],
                sample_width=entry["sample_width"],
            )
            clip = ""
    except RussoError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, RecursionError, wave.Error) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        where = f"clip {clip[:80]!r}" if clip else f"index {str(index)!r}"
        raise InvalidArgumentError(
            f"the audio folder {str(folder)!r} is incomplete or damaged ({where}: {type(exc).__name__}: {first}); "
            "export the batch again with include_audio=True"
        ) from None
    return audio


def load_batch(path: str | Path) -> Any:
    """Load a batch exported with :func:`export`: a ``BatchResult``, or a ``ScenarioBatch`` for a scenario batch.

    ``.jsonl`` / ``.jsonl.gz``: exact (runs, metadata, and audio if it was included; a scenario
    batch's runs as scenario runs); the header's run count and checksum are verified.
    ``.csv`` / ``.parquet``: rebuilt from the run table — statuses, calls, evaluations, errors with
    tracebacks, retried attempts, agent text, conditions and timings come back (its runs frame equals
    the original's), and the audio when it was exported with ``include_audio``; raw responses and
    transcripts do not. A CSV cell cannot tell an empty text from none: an agent text or audio key ``''``
    loads from CSV as None (Parquet keeps it). A table's runs are kept as its
    columns (:class:`russo_nb.model.lazy_runs.LazyRuns`): every cell is checked now, each run object is
    built when first used, and counts, ``to_dataframe()`` and the view read the columns. A
    damaged file is a one-line error naming the row, at load.
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
        result = runs_from_frame(read_csv_table(source), None, source)
        return attach_audio(result, read_audio_folder(audio_folder(source)))
    if suffix == ".parquet":
        frame, metadata = read_parquet_table(source)
        result = runs_from_frame(frame, metadata, source)
        return attach_audio(result, read_audio_folder(audio_folder(source)))
    raise InvalidArgumentError(
        f"cannot load {str(source)!r}: load_batch reads .jsonl (exact), .jsonl.gz, .csv or .parquet files"
    )


def _bundled_sweep() -> Path:
    """The recorded voice × noise sweep shipped inside the package (found through importlib.resources)."""
    resource = resources.files("russo_nb") / "data" / "recorded" / "voice_sweep.json"
    return Path(str(resource))


def _member(source: Path, name: Any) -> Path:
    problem = unsafe_member(source.parent, name)
    if problem is not None:
        raise InvalidArgumentError(f"{str(source)!r} names {str(name)[:80]!r}, which is {problem}")
    return source.parent / name


def load_sweep(index: str | Path | None = None) -> BatchResult:
    """Load a recorded sweep as one :class:`BatchResult` whose runs carry ``voice`` / ``snr_db`` / ``condition``.

    ``index`` is the sweep's JSON index; the default is the sweep shipped with the package,
    ``russo_nb/data/recorded/voice_sweep.json``: the offline demo in five voices at clean, 20, 10
    and 5 dB SNR (made by ``scripts/make_recorded_data.py``). Analyse it with
    :func:`russo_nb.analysis.by_factor` and friends; :func:`russo_nb.analysis.split_levels` gives
    ``{level: batch}``. An older index of one batch per noise level (``{"batches": [...]}``) loads
    too, as one batch whose runs carry ``snr_db`` (NaN for clean).
    """
    import math

    source = _bundled_sweep() if index is None else Path(index)
    if not source.exists():
        raise InvalidArgumentError(f"no sweep index at {str(source)!r}; make one with scripts/make_recorded_data.py")
    try:
        data = json.loads(read_limited(source, MAX_INDEX_BYTES).decode("utf-8"))
        if not isinstance(data, dict):
            raise TypeError("the index is not a JSON object")
        if "file" in data:
            return load_batch(_member(source, data["file"]))
        entries = [(entry["snr_db"], entry["file"]) for entry in data["batches"]]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidArgumentError(f"{str(source)!r} is not a sweep index ({exc})") from None
    runs: list[Any] = []
    audio: dict[str, Audio] = {}
    metadata = None
    for snr, name in entries:
        batch = load_batch(_member(source, name))
        level = math.nan if snr is None else float(snr)
        runs.extend(run.model_copy(update={"conditions": {**run.conditions, "snr_db": level}}) for run in batch.runs)
        audio.update(batch.audio)
        metadata = metadata or batch.metadata.model_copy(deep=True)
    return BatchResult.model_construct(runs=runs, audio=audio, metadata=metadata or BatchResult().metadata)
