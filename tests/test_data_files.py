"""Exports, loads and the history store against hostile and broken input: real files, real subprocesses.

Tracebacks survive every round trip; a shared export never reads outside itself; a file
cut short is refused; one bad value (a lone surrogate, arguments that contain themselves)
does not break a whole export; odd names and NaN / inf come back from CSV and Parquet; a
locked or foreign history store is a one-line error with exit 2.
"""

from __future__ import annotations

import gzip
import json
import math
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from analysis_helpers import make_run, synthetic_batch, tone

import russo_nb as russo
from russo_nb.errors import InvalidArgumentError, StoreBusyError, UnknownNameError
from russo_nb.report import export, load_batch
from russo_nb.store import HistoryStore
from russo_nb.testing import wait_until
from russo_nb.types import AgentResponse, Audio, BatchMetadata, BatchResult, RunError, ToolCall

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FORMATS = (".jsonl", ".jsonl.gz", ".csv", ".parquet")


def _one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("russo: error:")]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# -- tracebacks (issue 11 item 3) ------------------------------------------------------------------


def _crashing_batch() -> BatchResult:
    def helper_that_fails(text: str) -> None:
        raise KeyError(f"no route for {text!r}")

    @russo.agent
    def agent(text: str):
        helper_that_fails(text)

    return russo.run_concurrent_sync(["fly to Oslo"], agent=agent, expect="book_flight(to_city='Oslo')")


def test_a_run_error_keeps_its_traceback_in_memory_and_it_is_bounded():
    batch = _crashing_batch()
    error = batch.runs[0].error
    assert batch.runs[0].status == "error" and error.type == "KeyError" and error.stage == "agent"
    assert "Traceback (most recent call last)" in error.traceback
    assert "helper_that_fails" in error.traceback and "no route for 'fly to Oslo'" in error.traceback

    try:
        raise ValueError("start " + "x" * 50_000 + " end of a very long message")
    except ValueError as exc:
        long = RunError.from_exception(exc, "agent")
    assert len(long.traceback) <= russo.types.MAX_TRACEBACK_CHARS + 100
    assert long.traceback.startswith("... (") and "characters of the traceback cut" in long.traceback
    assert long.traceback.rstrip().endswith("end of a very long message")  # the innermost end is kept


@pytest.mark.parametrize("suffix", FORMATS)
def test_tracebacks_survive_every_export_round_trip(tmp_path, suffix):
    batch = _crashing_batch()
    loaded = load_batch(export(batch, tmp_path / f"runs{suffix}"))
    assert loaded.runs[0].error == batch.runs[0].error
    assert "helper_that_fails" in loaded.runs[0].error.traceback


def test_tracebacks_survive_the_history_store(tmp_path):
    batch = _crashing_batch()
    store = HistoryStore(tmp_path / "history.sqlite")
    store.record(batch)
    again = HistoryStore(tmp_path / "history.sqlite").load(batch.metadata.batch_id)
    assert again.runs[0].error == batch.runs[0].error and "helper_that_fails" in again.runs[0].error.traceback
    with sqlite3.connect(tmp_path / "history.sqlite") as conn:
        stage = conn.execute("SELECT error_type, error_stage FROM runs").fetchone()
    assert stage == ("KeyError", "agent")


# -- a shared export reads nothing outside itself (issue 16 item 2) --------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("evil", ["/etc/hostname", "../secret.txt", "link.wav"])
def test_an_audio_index_pointing_outside_the_export_is_refused(tmp_path, evil, russo_cli):
    shared = tmp_path / "shared"
    batch = BatchResult(runs=[make_run("hello", 0, True, audio_key="k1")], audio={"k1": tone(300)})
    export(batch, shared / "runs.csv", include_audio=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    (shared / "runs_audio" / "link.wav").symlink_to(secret)
    index = shared / "runs_audio" / "index.json"
    data = json.loads(index.read_text())
    data["clips"][0]["file"] = evil
    data["clips"][0]["container"] = True
    index.write_text(json.dumps(data))
    with pytest.raises(InvalidArgumentError, match="only reads the clips inside its own audio folder"):
        load_batch(shared / "runs.csv")
    done = russo_cli("report", str(shared / "runs.csv"), "-o", str(tmp_path / "out.html"), cwd=tmp_path)
    _one_line_error(done, "audio folder")
    assert not (tmp_path / "out.html").exists()


# -- half-written exports (issue 16 item 6) ----------------------------------------------------------

_EXPORTER = """
import sys
sys.path[:0] = [{tests!r}, {root!r}]
from analysis_helpers import synthetic_batch
from russo_nb.report import export
batch = synthetic_batch(100, 100)
print("ready", flush=True)
while True:  # export again and again until killed
    export(batch, sys.argv[1])
"""


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_an_export_killed_half_way_never_leaves_a_partial_file(tmp_path, suffix, cli_env):
    target = tmp_path / f"runs{suffix}"
    export(synthetic_batch(3, 2), target)
    script = tmp_path / "exporter.py"
    script.write_text(_EXPORTER.format(tests=str(TESTS), root=str(ROOT)))
    process = subprocess.Popen(
        [sys.executable, str(script), str(target)], stdout=subprocess.PIPE, text=True, env=cli_env, cwd=tmp_path
    )
    try:
        assert process.stdout.readline().strip() == "ready"

        def writing() -> bool:
            assert process.poll() is None, "the exporter ended before it wrote"
            return bool(list(tmp_path.glob(f".runs{suffix}.*.tmp")))

        wait_until(writing, 120, what="the exporter's temporary file", interval=0.002)
        process.kill()  # SIGKILL while a temporary file is being written
    finally:
        process.wait(timeout=60)
    assert load_batch(target).total in (6, 10_000)  # the old export or a whole new one, never part of one


@pytest.mark.slow
def test_a_truncated_jsonl_is_refused_and_russo_report_exits_2(tmp_path, russo_cli):
    batch = synthetic_batch(50, 10)
    whole = export(batch, tmp_path / "whole.jsonl").read_bytes()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(InvalidArgumentError, match="incomplete or altered"):
        load_batch(cut)
    done = russo_cli("report", str(cut), "-o", str(tmp_path / "cut.html"), cwd=tmp_path)
    _one_line_error(done, "incomplete", "500 runs")
    assert not (tmp_path / "cut.html").exists()
    good = russo_cli("report", str(tmp_path / "whole.jsonl"), "-o", str(tmp_path / "whole.html"), cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    header = json.loads(whole.split(b"\n", 1)[0])
    assert header["runs"] == 500 and len(header["sha256"]) == 64


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("latin.jsonl", None, "UTF-8"),
        ("cut.jsonl.gz", None, "gzip"),
        ("broken.parquet", b"PAR1 this is not parquet PAR1", "Parquet"),
        ("values.csv", None, "row 1"),
        ("ragged.csv", b'prompt,run_index,status\n"a,0,passed\n', "CSV"),
    ],
)
def test_damaged_files_are_one_line_errors_with_exit_2(tmp_path, name, content, needle, russo_cli):
    path = tmp_path / name
    batch = synthetic_batch(5, 2)
    if name == "latin.jsonl":
        whole = export(batch, tmp_path / "ok.jsonl").read_bytes()
        head, body = whole.split(b"\n", 1)
        body = body.replace(b"Book a flight", "Böok a flight".encode("latin-1"))
        header = json.loads(head)
        import hashlib

        header["sha256"] = hashlib.sha256(body).hexdigest()
        path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    elif name == "cut.jsonl.gz":
        whole = export(batch, tmp_path / "ok.jsonl.gz").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif name == "values.csv":
        frame = pd.read_csv(export(batch, tmp_path / "ok.csv"))
        frame["run_index"] = frame["run_index"].astype(object)
        frame.loc[0, "run_index"] = "first"
        frame.to_csv(path, index=False)
    else:
        path.write_bytes(content)
    with pytest.raises(InvalidArgumentError):
        load_batch(path)
    done = russo_cli("report", str(path), "-o", str(tmp_path / "out.html"), cwd=tmp_path)
    _one_line_error(done, needle)


# -- one bad value does not break a whole export (issue 16 item 12) -----------------------------------


def _hostile_batch() -> BatchResult:
    loop: dict = {"city": "Oslo"}
    loop["self"] = loop
    runs = [make_run(f"prompt {i}", 0, True) for i in range(3)]
    runs[0].response = AgentResponse(text="I heard \ud800 a lone surrogate", raw={"t": "\udfff"})
    runs[1].eval_result.actual.append(ToolCall(name="book_flight", arguments=loop))
    runs[1].response = AgentResponse(tool_calls=[ToolCall(name="book_flight", arguments=loop)], raw=loop)
    runs[2].error = RunError(type="ValueError", message="bad \ud800 byte", stage="agent")
    runs[2].status = "error"
    return BatchResult(runs=runs, metadata=BatchMetadata(name="hostile"))


@pytest.mark.parametrize("suffix", [*FORMATS, ".html"])
def test_a_lone_surrogate_and_self_referencing_arguments_export_and_load(tmp_path, suffix):
    batch = _hostile_batch()
    path = export(batch, tmp_path / f"runs{suffix}")
    if suffix == ".html":
        assert "bad \\ud800 byte" in path.read_text(encoding="utf-8")  # the report is written, the value escaped
        return
    loaded = load_batch(path)
    assert len(loaded.runs) == 3 and [r.status for r in loaded.runs] == ["passed", "passed", "error"]
    assert "<cycle>" in json.dumps(loaded.runs[1].eval_result.actual[-1].arguments)
    if suffix.startswith(".jsonl"):
        assert loaded.runs[0].response.text == "I heard \ud800 a lone surrogate"  # exact, escaped in the file
        assert loaded.runs[2].error.message == "bad \ud800 byte"
    else:
        assert loaded.runs[2].error.message == "bad \\ud800 byte"  # escaped where UTF-8 cannot hold it


def test_a_hostile_batch_is_recorded_and_loaded_from_the_history_store(tmp_path):
    batch = _hostile_batch()
    store = HistoryStore(tmp_path / "h.sqlite")
    store.record(batch)
    loaded = store.load(batch.metadata.batch_id)
    assert loaded.runs[0].response.text == "I heard \ud800 a lone surrogate"
    assert loaded.runs[1].response.raw["self"] == "<cycle>"


def test_non_dict_scenario_tool_calls_are_kept_visible():
    from russo_nb.scenario import ScenarioBatch, ScenarioResult

    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "tool_calls": ["not a call", {"function": "nope"}, {"function": {"name": "f", "arguments": [1]}}],
        },
    ]
    batch = ScenarioBatch(runs=[ScenarioResult(name="odd", success=False, messages=messages)])
    frame = batch.to_dataframe()
    assert frame["tool_calls"].tolist() == [3]
    calls = batch.runs[0].tool_calls
    assert [call.name for call in calls] == ["", "", "f"]


@pytest.mark.parametrize("field", [{"sample_rate": 0}, {"channels": 0}, {"sample_width": 0}, {"sample_rate": -8000}])
def test_audio_fields_are_validated(field):
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Audio(data=b"\0\0", **field)


# -- CSV / Parquet round trips for odd names and values (issue 16 item 15) ----------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_odd_tool_and_argument_names_and_non_finite_values_round_trip(tmp_path, suffix):
    want = [ToolCall(name="get-weather", arguments={"class": "economy", "from city": "Oslo", "temp": math.nan})]
    got = [ToolCall(name="get-weather", arguments={"class": "economy", "from city": "Oslo", "temp": math.inf})]
    runs = [make_run("weather?", 0, False, expected=want, actual=got), make_run("weather?", 1, True, expected=want)]
    runs[1].latency_s = math.inf
    batch = BatchResult(runs=runs)
    loaded = load_batch(export(batch, tmp_path / f"runs{suffix}"))
    assert loaded.runs[0].eval_result.actual[0].arguments["temp"] == math.inf
    assert math.isnan(loaded.runs[0].eval_result.expected[0].arguments["temp"])
    assert loaded.runs[0].eval_result.expected[0].name == "get-weather"
    assert list(loaded.runs[0].eval_result.actual[0].arguments) == ["class", "from city", "temp"]
    assert loaded.runs[1].latency_s == math.inf
    from russo_nb.analysis import runs_frame

    pd.testing.assert_frame_equal(runs_frame(loaded), runs_frame(batch))


def test_csv_cells_that_would_run_as_formulas_are_neutralized_and_restored(tmp_path):
    runs = [make_run('=HYPERLINK("http://evil","click")', 0, False), make_run("+1 refund", 1, True)]
    runs[0].error = RunError(type="X", message="@SUM(A1:A9)")
    runs[0].status = "error"
    runs[1].response = AgentResponse(text="-2 tickets", tool_calls=[])
    batch = BatchResult(runs=runs)
    path = export(batch, tmp_path / "runs.csv")
    raw = pd.read_csv(path, keep_default_na=False)
    for column in ("prompt", "error", "text"):
        for cell in raw[column]:
            assert not cell or cell[0] not in "=+-@", (column, cell)
    assert raw["prompt"][0] == '\'=HYPERLINK("http://evil","click")'
    loaded = load_batch(path)
    assert [r.prompt for r in loaded.runs] == [r.prompt for r in runs]
    assert loaded.runs[0].error.message == "@SUM(A1:A9)" and loaded.runs[1].response.text == "-2 tickets"


# -- the history store: locked, foreign, empty ids (issue 16 item 18 and low) --------------------------

_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # holds the lock until the test lets go (closes our stdin) or kills us
"""


@pytest.mark.slow
def test_a_locked_history_db_is_a_quick_one_line_error_and_the_runs_are_still_written(tmp_path, russo_cli):
    db = tmp_path / "history.sqlite"
    HistoryStore(db)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        done = russo_cli(
            "--config",
            str(ROOT / "data" / "suites" / "text_flights.yaml"),
            "--history-db",
            str(db),
            "--json",
            str(tmp_path / "runs.jsonl"),
            "--quiet",
            cwd=tmp_path,
        )
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    _one_line_error(done, "locked by another process")
    assert elapsed < 45, f"waited {elapsed:.0f} s for the lock"
    assert len(load_batch(tmp_path / "runs.jsonl").runs) > 0  # the batch is kept elsewhere
    with pytest.raises(StoreBusyError):
        holder2 = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder2.stdout.readline().strip() == "locked"
            HistoryStore(db, timeout=0.2).record(synthetic_batch(2, 2))
        finally:
            holder2.kill()
            holder2.wait()


@pytest.mark.slow
def test_a_foreign_schema_database_is_refused_with_exit_2(tmp_path, russo_cli):
    db = tmp_path / "other.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE batches (id INTEGER PRIMARY KEY, owner TEXT)")
        conn.execute("INSERT INTO batches (owner) VALUES ('someone else')")
    with pytest.raises(InvalidArgumentError, match="not a russo_nb history store"):
        HistoryStore(db)
    done = russo_cli("history", "--db", str(db), cwd=tmp_path)
    _one_line_error(done, "not a russo_nb history store")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT owner FROM batches").fetchall() == [("someone else",)]  # untouched


def test_an_empty_batch_id_names_no_batch(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    only = synthetic_batch(2, 2)
    store.record(only)
    for empty in ("", "  "):
        with pytest.raises(UnknownNameError, match="no batch id given"):
            store.load(empty)
    assert store.load(only.metadata.batch_id[:6]).total == 4  # a real prefix still works


def test_an_older_store_gets_the_new_run_columns(tmp_path):
    db = tmp_path / "old.sqlite"
    store = HistoryStore(db)
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN error_stage")
    first = synthetic_batch(2, 2)
    HistoryStore(db).record(first)
    with sqlite3.connect(db) as conn:
        assert "error_stage" in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    assert store.load(first.metadata.batch_id) == first


def test_gzip_exports_are_reproducible(tmp_path):
    batch = synthetic_batch(3, 3)
    a = export(batch, tmp_path / "a.jsonl.gz").read_bytes()
    b = export(batch, tmp_path / "b.jsonl.gz").read_bytes()
    assert a == b and gzip.decompress(a).startswith(b'{"kind":"russo_nb.batch"')


@pytest.mark.parametrize("suffix", FORMATS)
def test_usage_counts_survive_every_export_round_trip(tmp_path, suffix):
    runs = [make_run("hello", i, True) for i in range(2)]
    runs[0].response = AgentResponse(
        tool_calls=runs[0].eval_result.actual, usage={"input_tokens": 12, "output_tokens": 3}
    )
    batch = BatchResult(runs=runs)
    loaded = load_batch(export(batch, tmp_path / f"runs{suffix}"))
    assert loaded.runs[0].response.usage == {"input_tokens": 12, "output_tokens": 3}
    from russo_nb.analysis import runs_frame

    pd.testing.assert_frame_equal(runs_frame(loaded), runs_frame(batch))
