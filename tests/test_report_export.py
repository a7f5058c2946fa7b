"""Export round trips: CSV and Parquet readable, JSON lines equal to the original (audio when asked)."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from analysis_helpers import make_run, tone

from russo_nb.analysis import RUN_COLUMNS
from russo_nb.errors import InvalidArgumentError
from russo_nb.report import export, load_batch, load_sweep
from russo_nb.types import AgentResponse, BatchMetadata, BatchResult, RunError, ToolCall


@pytest.fixture
def batch() -> BatchResult:
    clip_a, clip_b = tone(300), tone(500)
    want = [ToolCall(name="book_flight", arguments={"to_city": "LA", "note": "a; b(c)"})]
    runs = [
        make_run("Fly to LA", 0, True, expected=want, latency_s=0.25, audio_key=clip_a.content_key()),
        make_run(
            "Fly to LA",
            1,
            False,
            expected=want,
            actual=[ToolCall(name="book_flight", arguments={"to_city": "SF", "n": [1, 2]})],
            latency_s=0.75,
            audio_key=clip_b.content_key(),
            effects=["noise:white:10dB", "speed:1.1"],
            started_at=1_700_000_123.5,
        ),
        make_run(
            "Weather",
            0,
            False,
            expected=[ToolCall(name="get_weather")],
            actual=[],
            status="error",
            error=RunError(type="ValueError", message="bad audio", stage="agent"),
        ),
    ]
    runs[0].response = AgentResponse(tool_calls=want, text="booking", raw={"id": 7})
    meta = BatchMetadata(name="export test", agent="local", effects=["noise:white:10dB"], seed=3, params={"snr": 10})
    return BatchResult(runs=runs, audio={clip_a.content_key(): clip_a, clip_b.content_key(): clip_b}, metadata=meta)


def test_jsonl_round_trip_is_equal(tmp_path, batch):
    path = export(batch, tmp_path / "batch.jsonl", include_audio=True)
    loaded = load_batch(path)
    assert loaded == batch
    assert loaded.audio[batch.runs[0].audio_key].pcm == batch.audio[batch.runs[0].audio_key].pcm
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["kind"] == "russo_nb.batch" and header["runs"] == 3 and header["audio"] == 2
    assert len(lines) == 1 + 5 + 3 + 2  # header, five shared tables, three runs, two clips


def test_jsonl_without_audio_and_gzip(tmp_path, batch):
    loaded = load_batch(export(batch, tmp_path / "batch.jsonl"))
    assert loaded.runs == batch.runs and loaded.metadata == batch.metadata and loaded.audio == {}
    gz = load_batch(export(batch, tmp_path / "batch.jsonl.gz", include_audio=True))
    assert gz == batch


def test_csv_is_readable_and_loads_back(tmp_path, batch):
    path = export(batch, tmp_path / "runs.csv")
    frame = pd.read_csv(path)
    assert list(frame.columns) == [
        *RUN_COLUMNS,
        "evaluation",
        "error_stage",
        "error_traceback",
        "error_cause",
        "error_agent",
        "retried_attempts",
        "text",
        "conditions",
    ]
    assert len(frame) == 3
    assert frame["expected"].iloc[0] == "book_flight(to_city='LA', note='a; b(c)')"
    loaded = load_batch(path)
    assert [r.status for r in loaded.runs] == ["passed", "failed", "error"]
    assert loaded.runs[0].eval_result.expected == batch.runs[0].eval_result.expected  # '; ' inside a string
    assert loaded.runs[1].eval_result.actual == batch.runs[1].eval_result.actual
    assert loaded.runs[1].effects == ["noise:white:10dB", "speed:1.1"]
    assert loaded.runs[1].started_at == pytest.approx(1_700_000_123.5)
    assert loaded.runs[2].error.message == "bad audio"
    assert loaded.pass_rate == batch.pass_rate


def test_parquet_is_readable_and_keeps_metadata(tmp_path, batch):
    path = export(batch, tmp_path / "runs.parquet")
    frame = pq.read_table(path).to_pandas()
    assert list(frame.columns)[: len(RUN_COLUMNS)] == RUN_COLUMNS and frame["latency_s"].iloc[1] == 0.75
    loaded = load_batch(path)
    assert loaded.metadata == batch.metadata
    assert [r.prompt for r in loaded.runs] == [r.prompt for r in batch.runs]
    assert loaded.runs[0].eval_result.match_rate == 1.0 and loaded.runs[1].eval_result.match_rate == 0.0


def test_html_export_by_suffix(tmp_path, batch):
    path = export(batch, tmp_path / "sub" / "report.html")
    assert path.exists() and path.read_text().startswith("<!DOCTYPE html>")


def test_export_and_load_errors(tmp_path, batch):
    with pytest.raises(InvalidArgumentError, match="suffix"):
        export(batch, tmp_path / "runs.xlsx")
    with pytest.raises(InvalidArgumentError, match="no such file"):
        load_batch(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    path = export(batch, bad)
    lines = path.read_text().splitlines()
    lines[7] = '["prompt", 5'
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidArgumentError, match="does not match the checksum its header declares"):
        load_batch(bad)
    header = json.loads(lines[0])
    header["sha256"] = hashlib.sha256(("\n".join(lines[1:]) + "\n").encode()).hexdigest()
    bad.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")  # a consistent but broken file
    with pytest.raises(InvalidArgumentError, match="line 8 is not a valid russo_nb batch line"):
        load_batch(bad)
    not_batch = tmp_path / "other.jsonl"
    not_batch.write_text('{"hello": 1}\n')
    with pytest.raises(InvalidArgumentError, match="header"):
        load_batch(not_batch)
    frame = pd.read_csv(export(batch, tmp_path / "runs.csv"))
    frame.loc[1, "status"] = "exploded"
    frame.to_csv(tmp_path / "bad_status.csv", index=False)
    with pytest.raises(InvalidArgumentError, match=r"row 2: cannot read the run \(unknown status 'exploded'"):
        load_batch(tmp_path / "bad_status.csv")
    frame.drop(columns=["status"]).to_csv(tmp_path / "no_status.csv", index=False)
    with pytest.raises(InvalidArgumentError, match="lacks the column"):
        load_batch(tmp_path / "no_status.csv")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(InvalidArgumentError, match="load_batch reads"):
        load_batch(tmp_path / "x.txt")
    with pytest.raises(InvalidArgumentError, match="BatchResult"):
        export(object(), tmp_path / "x.jsonl")
    with pytest.raises(InvalidArgumentError, match="BatchResult"):
        export(object(), tmp_path / "x.csv")


def test_recorded_sweep_loads():
    from russo_nb.analysis import split_levels

    sweep = load_sweep()
    frame = sweep.to_dataframe()
    assert sweep.total == 16 * 5 * 4 * 3 and frame["voice"].nunique() == 5
    series = split_levels(sweep, "snr_db", where={"voice": "en-us"})
    assert list(series) == ["5 dB", "10 dB", "20 dB", "clean"]
    for label, result in series.items():
        assert result.total == 48 and len(result.prompts) == 16
        if label != "clean":
            assert {tuple(run.effects) for run in result.runs} == {(f"noise:white:{label.split()[0]}dB",)}
        assert result.audio and all(result.audio_for(r) is not None for r in result.runs if r.audio_key in result.audio)
    with pytest.raises(InvalidArgumentError, match="make_recorded_data"):
        load_sweep("/nonexistent/index.json")


def test_scenario_batches_go_through_frames_report_export_and_store(tmp_path):
    from scenario_helpers import BookingAgent

    from russo_nb import scenario
    from russo_nb.analysis import prompts_frame, runs_frame
    from russo_nb.report import to_html
    from russo_nb.scenario.criteria import tool_called
    from russo_nb.store import HistoryStore

    spec = scenario.Scenario(
        name="book <Oslo>",
        description="The user wants a flight to Oslo",
        agents=lambda: [
            BookingAgent(),
            scenario.UserSimulatorAgent(lines=["a flight to Oslo"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight")]),
        ],
        max_turns=2,
    )
    batch = scenario.run_scenarios_sync(spec, runs=3, seed=1)
    frame = runs_frame(batch)
    assert frame["prompt"].tolist() == ["book <Oslo>"] * 3 and "n_turns" in frame.columns
    assert prompts_frame(batch).iloc[0]["runs"] == 3
    page = to_html(batch)
    assert "book &lt;Oslo&gt;" in page and "<Oslo>" not in page
    loaded = load_batch(export(batch, tmp_path / "scenarios.jsonl"))
    assert loaded == batch  # scenario runs come back as scenario runs, field for field
    store = HistoryStore(tmp_path / "h.sqlite")
    assert store.load(store.record(batch, suite="scenarios")).total == 3


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tables_round_trip_to_the_same_runs_frame_and_audio_when_asked(tmp_path, batch, suffix):
    from russo_nb.analysis import runs_frame

    without = load_batch(export(batch, tmp_path / f"plain{suffix}"))
    assert without.audio == {} and not (tmp_path / "plain_audio").exists()
    path = export(batch, tmp_path / f"runs{suffix}", include_audio=True)
    loaded = load_batch(path)
    pd.testing.assert_frame_equal(runs_frame(loaded), runs_frame(batch))  # every column comes back
    assert loaded.audio == batch.audio  # byte for byte, with sample rate and format
    for original, run in zip(batch.runs, loaded.runs):
        assert loaded.audio_for(run) == batch.audio_for(original)
    folder = tmp_path / "runs_audio"
    for key, clip in batch.audio.items():  # playable files named by the table's audio_key column
        assert (folder / f"{key}.wav").read_bytes() == clip.to_wav_bytes()
    if suffix == ".parquet":
        assert loaded.metadata == batch.metadata


def test_audio_folder_keeps_containers_odd_keys_and_other_formats(tmp_path):
    from russo_nb.types import Audio

    pcm = tone(300)
    container = Audio(data=tone(600).to_wav_bytes(), sample_rate=8000)
    mp3 = Audio(data=b"ID3\x03fake mp3 bytes", format="mp3", sample_rate=44100)
    clips = {"../../etc/passwd": pcm, "a b/c": container, "voice.mp3": mp3}
    runs = [make_run("p", i, True, audio_key=key) for i, key in enumerate(clips)]
    batch = BatchResult(runs=runs, audio=clips)
    path = export(batch, tmp_path / "t.csv", include_audio=True)
    assert load_batch(path).audio == clips
    written = sorted(p.name for p in (tmp_path / "t_audio").iterdir())
    assert written == ["clip-0.wav", "clip-1.wav", "index.json", "voice.mp3.mp3"]  # nothing outside the folder
    (tmp_path / "t_audio" / "clip-1.wav").unlink()
    with pytest.raises(InvalidArgumentError, match=r"audio folder .* is incomplete or damaged"):
        load_batch(path)


def test_parquet_keeps_an_empty_text_apart_from_none_and_csv_reads_both_as_none(tmp_path):
    """A tool-only agent often replies with text '' rather than None: Parquet keeps which; a CSV cell cannot."""
    said_nothing = make_run("Fly to LA", 0, True, audio_key="")
    said_nothing.response = AgentResponse(tool_calls=said_nothing.eval_result.actual, text="")
    no_reply = make_run("Fly to LA", 1, True, audio_key=None)
    no_reply.response = AgentResponse(tool_calls=no_reply.eval_result.actual, text=None)
    batch = BatchResult(runs=[said_nothing, no_reply])

    parquet = load_batch(export(batch, tmp_path / "runs.parquet"))
    assert [(run.response.text, run.audio_key) for run in parquet.runs] == [("", ""), (None, None)]
    pd.testing.assert_frame_equal(parquet.to_dataframe(), batch.to_dataframe())

    csv = load_batch(export(batch, tmp_path / "runs.csv"))  # both are an empty cell: the load_batch docstring says so
    assert [(run.response.text, run.audio_key) for run in csv.runs] == [(None, None), (None, None)]
