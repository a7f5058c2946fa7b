"""Issue 24, files someone sent you: only regular files, bounded sizes, streamed gzip, checked cells
(after the checksum), recursion-safe, CSV that keeps a lone carriage return. Every problem is one
line naming the file and the field; a FIFO never hangs a load (checked in a child process)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

import russo_nb as russo
from russo_nb.errors import InvalidArgumentError
from russo_nb.report import export, load_batch
from russo_nb.report import files as report_files

BOOK = [russo.ToolCall(name="book", arguments={"to": "LA"})]


@pytest.fixture(scope="module")
def batch():
    def agent(text):
        return russo.AgentResponse(tool_calls=BOOK, text=f"ok {text}", usage={"total_tokens": 3})

    return russo.run_concurrent_sync(["a", "b"], agent=agent, expect=["book(to='LA')"], runs=2)


def _one_line(exc: pytest.ExceptionInfo, *parts: str) -> str:
    text = str(exc.value)
    assert "\n" not in text
    for part in parts:
        assert part in text, text
    return text


def _reseal(lines: list[str], path: Path) -> Path:
    """Write JSON lines with a header whose checksum matches the (altered) body: only cell checks can object."""
    head = json.loads(lines[0])
    body = ("\n".join(lines[1:]) + "\n").encode()
    head["sha256"] = hashlib.sha256(body).hexdigest()
    head["lines"] = len(lines) - 1
    path.write_bytes((json.dumps(head) + "\n").encode() + body)
    return path


# -- what a run line may hold (after the checksum passed) --------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value", "message"),
    [
        (7, float("inf"), "attempts inf is not a whole number"),
        (7, 10**30, "attempts 1000000000000000000000000000000 is too large"),
        (5, "0.5", "latency_s '0.5' is not a number or null"),
        (11, "7", "seed '7' is not a whole number or null"),
        (11, 1e300, "seed 1e+300 is too large"),
        (1, 1e300, "run_index 1e+300 is too large"),
    ],
)
def test_checked_cells_of_a_jsonl_run_line(batch, tmp_path, cell, value, message):
    lines = export(batch, tmp_path / "runs.jsonl").read_text().splitlines()
    row = json.loads(lines[6])
    row[cell] = value
    lines[6] = json.dumps(row)
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(_reseal(lines, tmp_path / "bad.jsonl"))
    _one_line(exc, "bad.jsonl", "line 7", message)


@pytest.mark.parametrize(
    ("usage", "message"), [('"lots"', "usage 'lots' is not a dict of numbers"), ('{"total_tokens":"3"}', "'3'")]
)
def test_a_usage_that_is_not_numbers_is_refused(batch, tmp_path, usage, message):
    lines = export(batch, tmp_path / "runs.jsonl").read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith('{"kind":"responses"'))
    entry = json.loads(lines[index])
    lines[index] = json.dumps({"kind": "responses", "items": [[*entry["items"][0][:3], json.loads(usage)]]})
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(_reseal(lines, tmp_path / "bad.jsonl"))
    _one_line(exc, "bad.jsonl", message)


def test_a_deeply_nested_header_or_line_is_one_line(batch, tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "\n")
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(deep)
    _one_line(exc, "deep.jsonl", "line 1 is not a russo_nb batch header")
    lines = export(batch, tmp_path / "runs.jsonl").read_text().splitlines()
    lines[6] = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(_reseal(lines, tmp_path / "bad.jsonl"))
    _one_line(exc, "bad.jsonl", "line 7", "RecursionError")


# -- CSV and Parquet -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("attempts", "inf", "attempts inf is not a whole number"),
        ("seed", "1e300", "seed 1e+300 is too large"),
        ("attempts", "1.5", "attempts 1.5 is not a whole number"),
    ],
)
def test_csv_whole_number_cells_are_refused_not_garbage(batch, tmp_path, column, value, message):
    import pandas as pd

    path = export(batch, tmp_path / "runs.csv")
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    frame.loc[1, column] = value
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(path)
    _one_line(exc, "runs.csv", "row 2", message)


def test_a_lone_carriage_return_in_agent_text_or_a_prompt_survives_csv(tmp_path):
    def agent(text):
        return russo.AgentResponse(tool_calls=BOOK, text="line one\rline two")

    result = russo.run_concurrent_sync(["book\ra flight", "plain"], agent=agent, expect=["book(to='LA')"], runs=2)
    loaded = load_batch(export(result, tmp_path / "runs.csv"))
    assert [run.prompt for run in loaded.runs] == [run.prompt for run in result.runs]
    assert loaded.runs[0].text == "line one\rline two"
    assert loaded.to_dataframe()["prompt"].tolist() == result.to_dataframe()["prompt"].tolist()


def test_parquet_metadata_with_a_bad_run_count_is_one_line(batch, tmp_path):
    import pyarrow.parquet as pq

    path = export(batch, tmp_path / "runs.parquet")
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    meta[b"russo_nb.runs"] = b"abc"
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(path)
    _one_line(exc, "runs.parquet", "russo_nb.runs b'abc' is not a whole number")


def test_a_deep_csv_cell_is_one_line(batch, tmp_path):
    import pandas as pd

    path = export(batch, tmp_path / "runs.csv")
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    frame.loc[0, "conditions"] = "[" * 100_000
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(path)
    _one_line(exc, "runs.csv")


# -- sizes, special files, gzip ------------------------------------------------------------------------


def test_a_gzip_that_expands_past_the_cap_is_refused_without_expanding_it(batch, tmp_path, monkeypatch):
    monkeypatch.setattr(report_files, "MAX_FILE_BYTES", 1_000_000)
    monkeypatch.setattr(report_files.read_bytes, "__defaults__", (1_000_000,))
    bomb = tmp_path / "bomb.jsonl.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb.write_bytes(compressor.compress(b"\0" * 50_000_000) + compressor.flush())
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(bomb)
    _one_line(exc, "bomb.jsonl.gz", "expands past 1,000,000 bytes")
    ok = tmp_path / "ok.jsonl.gz"
    ok.write_bytes(gzip.compress(export(batch, tmp_path / "runs.jsonl").read_bytes()))
    assert load_batch(ok).total == batch.total


def test_a_sparse_file_over_the_cap_is_refused_unread(tmp_path):
    huge = tmp_path / "huge.jsonl"
    with open(huge, "wb") as out:
        out.truncate(report_files.MAX_FILE_BYTES + 1)
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(huge)
    _one_line(exc, "huge.jsonl", f"at most {report_files.MAX_FILE_BYTES:,} bytes")


def test_a_clip_that_is_not_wav_or_too_big_or_a_link_loop_is_one_line(batch, tmp_path):
    from russo_nb.testing import ToneSynthesizer

    voiced = russo.run_concurrent_sync(["a"], ToneSynthesizer(), lambda audio: BOOK, expect=["book(to='LA')"])
    path = export(voiced, tmp_path / "runs.csv", include_audio=True)
    folder = tmp_path / "runs_audio"
    clip = next(p for p in folder.iterdir() if p.suffix == ".wav")
    clip.write_bytes(b"this is not a wav file")
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(path)
    _one_line(exc, "runs_audio", f"clip {clip.name!r}")
    clip.unlink()
    with open(clip, "wb") as out:
        out.truncate(report_files.MAX_CLIP_BYTES + 1)
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(path)
    _one_line(exc, clip.name, f"at most {report_files.MAX_CLIP_BYTES:,} bytes")
    clip.unlink()
    os.symlink(clip.name, clip)  # a link to itself
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(path)
    _one_line(exc, "link loop")
    (folder / "index.json").write_text('{"clips": ' + "[" * 100_000 + "}")
    with pytest.raises(InvalidArgumentError) as exc:
        load_batch(path)
    _one_line(exc, "index.json", "RecursionError")


@pytest.mark.slow
def test_fifos_never_hang_a_load_or_the_report_command(batch, tmp_path):
    """In a child process with a deadline: before, opening a FIFO blocked forever."""
    export(batch, tmp_path / "runs.csv", include_audio=False)
    os.mkfifo(tmp_path / "fifo.jsonl")
    audio = tmp_path / "runs_audio"
    audio.mkdir()
    os.mkfifo(audio / "clip.wav")
    (audio / "index.json").write_text(
        json.dumps(
            {
                "kind": "russo_nb.audio",
                "clips": [
                    {
                        "key": "k",
                        "file": "clip.wav",
                        "format": "wav",
                        "sample_rate": 16000,
                        "channels": 1,
                        "sample_width": 2,
                    }
                ],
            }
        )
    )
    child = textwrap.dedent(
        f"""
        from russo_nb.report import load_batch
        for name in ("fifo.jsonl", "runs.csv"):
            try:
                load_batch({str(tmp_path)!r} + "/" + name)
            except Exception as exc:
                print(type(exc).__name__, exc)
        """
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert "fifo.jsonl' is not a regular file" in done.stdout, done.stderr
    assert "is incomplete or damaged (clip 'clip.wav'" in done.stdout
    assert "runs_audio/clip.wav' is not a regular file" in done.stdout
    report = subprocess.run(
        [sys.executable, "-m", "russo_nb", "report", str(tmp_path / "fifo.jsonl"), "-o", str(tmp_path / "r.html")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 2 and "is not a regular file" in report.stderr
    assert len(report.stderr.strip().splitlines()) == 1
