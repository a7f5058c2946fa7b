"""History store with real SQLite files: record, list, load, compare, trend, concurrency, interruptions."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from analysis_helpers import batch_from_outcomes, synthetic_batch, tone

from russo_nb.analysis import paired_comparison
from russo_nb.errors import InvalidArgumentError, UnknownNameError
from russo_nb.store import HistoryStore
from russo_nb.testing import wait_until
from russo_nb.types import SingleRunResult

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _batch(outcomes, *, name=None, agent="v1", day=0):
    batch = batch_from_outcomes(outcomes, name=name, agent=agent)
    batch.metadata.started_at = datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)
    batch.metadata.finished_at = batch.metadata.started_at + timedelta(seconds=30)
    return batch


def test_record_list_load(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    first = _batch({"a": [True, False], "b": [True, True]}, name="first", day=0)
    clip = tone(300)
    first.runs[0].audio_key = clip.content_key()
    first.audio = {clip.content_key(): clip}
    second = _batch({"a": [True, True], "b": [True, "error"]}, name="second", day=1)
    assert store.record(first, suite="smoke", include_audio=True) == first.metadata.batch_id
    store.record(second, suite="smoke")
    listing = store.list()
    assert listing["name"].tolist() == ["second", "first"]  # newest first
    assert listing["runs"].tolist() == [4, 4] and listing["pass_rate"].tolist() == [0.75, 0.75]
    assert listing["errors"].tolist() == [1, 0] and listing["suite"].tolist() == ["smoke", "smoke"]
    assert len(store.list(limit=1)) == 1 and len(store.list(suite="other")) == 0
    assert store.load(first.metadata.batch_id) == first  # audio stored with include_audio
    assert store.load(second.metadata.batch_id[:6]) == second  # a unique prefix works
    assert len(store) == 2 and store.check()["ok"]


def test_compare_uses_the_paired_comparison(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    a = _batch({f"p{i}": [True, True, i % 2 == 0, True] for i in range(12)}, day=0)
    b = _batch({f"p{i}": [True, False, False, i % 3 == 0] for i in range(12)}, day=1)
    store.record(a)
    store.record(b)
    result = store.compare(a.metadata.batch_id, b.metadata.batch_id)
    direct = paired_comparison(a, b)
    assert result.difference == pytest.approx(direct.difference) and result.p_value == pytest.approx(direct.p_value)
    assert result.n_shared == 12 and result.difference < 0


def test_trend_per_suite_and_prompt(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    store.record(_batch({"a": [True, True], "b": [False, False]}, day=2), suite="s1")
    store.record(_batch({"a": [False, True], "b": [True, True]}, day=1), suite="s1")
    store.record(_batch({"a": [True] * 4}, day=3), suite="s2")
    trend = store.trend(suite="s1")
    assert trend["pass_rate"].tolist() == [0.75, 0.5]  # oldest first
    assert list(trend.columns[-3:]) == ["pass_rate", "low", "high"]
    assert (trend["low"] <= trend["pass_rate"]).all() and (trend["high"] >= trend["pass_rate"]).all()
    by_prompt = store.trend(prompt="a")
    assert by_prompt["pass_rate"].tolist() == [0.5, 1.0, 1.0] and by_prompt["runs"].tolist() == [2, 2, 4]
    from russo_nb.types import prompt_id

    assert store.trend(prompt=prompt_id("b"))["passed"].tolist() == [2, 0]
    assert len(store.trend(suite="nothing")) == 0


def test_errors_name_what_is_wrong(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    batch = _batch({"a": [True]})
    store.record(batch)
    with pytest.raises(InvalidArgumentError, match="already recorded"):
        store.record(batch)
    assert len(store) == 1
    with pytest.raises(UnknownNameError, match="Recent batches"):
        store.load("nope")
    with pytest.raises(InvalidArgumentError, match="BatchResult"):
        store.record({"runs": []})
    with pytest.raises(InvalidArgumentError, match="directory"):
        HistoryStore(tmp_path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(InvalidArgumentError, match="not a russo_nb history store"):
        HistoryStore(junk)


def test_default_path_is_under_dot_russo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = HistoryStore()
    assert store.path == Path(".russo/history.sqlite") and (tmp_path / ".russo" / "history.sqlite").exists()


class _BreaksOnSerialize(SingleRunResult):
    """A run that raises when stored, to interrupt a write half-way through its transaction."""

    def model_dump_json(self, **kwargs):
        raise RuntimeError("disk on fire")


def test_error_inside_the_transaction_loses_nothing_committed(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    kept = [_batch({"a": [True, False]}, day=d) for d in range(3)]
    for batch in kept:
        store.record(batch)
    broken = _batch({f"p{i}": [True] * 5 for i in range(20)})
    bad = broken.runs[57]
    broken.runs[57] = _BreaksOnSerialize.model_construct(**{k: getattr(bad, k) for k in SingleRunResult.model_fields})
    with pytest.raises(InvalidArgumentError, match=r"run 57 .* cannot be stored: disk on fire"):
        store.record(broken)
    assert len(store) == 3
    with sqlite3.connect(store.path) as conn:
        assert (
            conn.execute("SELECT COUNT(*) FROM runs WHERE batch_id = ?", (broken.metadata.batch_id,)).fetchone()[0] == 0
        )
    for batch in kept:
        assert store.load(batch.metadata.batch_id) == batch
    assert store.check()["ok"]


def _writer(path: str, worker: int, count: int) -> None:
    store = HistoryStore(path)
    for i in range(count):
        batch = batch_from_outcomes({f"w{worker} p{j}": [True, False, True] for j in range(60)}, name=f"{worker}-{i}")
        store.record(batch, suite=f"worker{worker}")


@pytest.mark.slow
def test_concurrent_writers_from_several_processes(tmp_path):
    path = str(tmp_path / "h.sqlite")
    HistoryStore(path)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, worker, 5)) for worker in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0, 0]
    store = HistoryStore(path)
    assert len(store) == 20
    assert sorted(store.list(limit=100)["runs"].unique()) == [180]
    for worker in range(4):
        assert len(store.list(limit=100, suite=f"worker{worker}")) == 5
    assert store.check()["ok"]


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{tests!r}, {root!r}]
    from analysis_helpers import synthetic_batch
    from russo_nb.store import HistoryStore
    store = HistoryStore({path!r})
    for i in range(1000):
        batch = synthetic_batch(n_prompts=200, runs=50, seed=i)
        print("writing", i, flush=True)
        store.record(batch)
        print("committed", i, flush=True)
    """
)


@pytest.mark.slow
def test_writer_killed_mid_write_leaves_committed_batches_intact(tmp_path):
    path = tmp_path / "h.sqlite"
    code = _KILLED_WRITER.format(tests=str(TESTS), root=str(ROOT), path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines == ["writing 0\n", "committed 0\n", "writing 1\n"], lines
        # kill once the second batch's pages reach the write-ahead log (the first batch's writer closed and
        # checkpointed it away on commit): its transaction is under way
        wal = path.with_name(path.name + "-wal")
        wait_until(lambda: wal.exists() and wal.stat().st_size > 0, what="the second batch's write", interval=0.001)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    store = HistoryStore(path)
    report = store.check()
    assert report["ok"], report
    assert len(store) >= 1
    first = store.list(limit=1000).iloc[-1]
    assert first["runs"] == 10_000
    loaded = store.load(first["batch_id"])
    expected = synthetic_batch(n_prompts=200, runs=50, seed=0)
    assert loaded.total == 10_000 and loaded.pass_rate == expected.pass_rate


_STALLED_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{tests!r}, {root!r}]
    from analysis_helpers import batch_from_outcomes
    from russo_nb.store import HistoryStore
    from russo_nb.types import SingleRunResult

    class Stalls(SingleRunResult):
        def model_dump_json(self, **kwargs):
            print("inside the transaction", flush=True)
            time.sleep(60)

    store = HistoryStore({path!r})
    first = batch_from_outcomes({{f"p{{i}}": [True, False] for i in range(50)}}, name="first")
    store.record(first)
    print("committed", first.metadata.batch_id, flush=True)
    second = batch_from_outcomes({{f"q{{i}} " + "x" * 400: [True] * 5 for i in range(1000)}}, name="second")
    run = second.runs[4900]  # 4900 rows (several MB, more than SQLite's page cache) go in before this one
    second.runs[4900] = Stalls.model_construct(**{{k: getattr(run, k) for k in SingleRunResult.model_fields}})
    print("second", second.metadata.batch_id, flush=True)
    store.record(second)
    """
)


@pytest.mark.slow
def test_writer_killed_inside_its_transaction_leaves_none_of_its_rows(tmp_path):
    """Deterministic: the writer is killed while its transaction holds 4900 uncommitted rows, partly on disk."""
    path = tmp_path / "h.sqlite"
    code = _STALLED_WRITER.format(tests=str(TESTS), root=str(ROOT), path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        first_id = proc.stdout.readline().split()[-1]
        second_id = proc.stdout.readline().split()[-1]
        assert proc.stdout.readline() == "inside the transaction\n"
        assert (tmp_path / "h.sqlite-wal").stat().st_size > 0  # the uncommitted rows reached the WAL file
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    store = HistoryStore(path)
    assert store.check()["ok"] and len(store) == 1
    assert store.load(first_id).total == 100 and store.load(first_id).pass_rate == 0.5
    with pytest.raises(UnknownNameError):
        store.load(second_id)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs WHERE batch_id = ?", (second_id,)).fetchone()[0] == 0
    # the store keeps working: the next writer records normally
    later = _batch({"a": [True]}, day=5)
    store.record(later)
    assert len(store) == 2 and store.load(later.metadata.batch_id) == later


@pytest.mark.parametrize("text", ["\n", "x", "my notes\n"])
def test_a_short_text_file_is_refused_not_turned_into_a_store(tmp_path, text):
    """SQLite takes a 1-byte file for a new database and overwrites it; the store checks the header first."""
    notes = tmp_path / "notes.txt"
    notes.write_text(text)
    with pytest.raises(InvalidArgumentError, match=r"'.*notes\.txt' is not a russo_nb history store"):
        HistoryStore(notes)
    assert notes.read_text() == text
    (tmp_path / "empty.sqlite").touch()  # an empty file is a new store, as before
    HistoryStore(tmp_path / "empty.sqlite").record(_batch({"a": [True]}))
    assert len(HistoryStore(tmp_path / "empty.sqlite").list()) == 1


def test_a_store_whose_folder_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(InvalidArgumentError, match=r"cannot create the history store '.*a_file/h\.sqlite' \("):
        HistoryStore(tmp_path / "a_file" / "h.sqlite")
    with pytest.raises(InvalidArgumentError, match=r"cannot create the history store '/proc/self/new/h\.sqlite'"):
        HistoryStore("/proc/self/new/h.sqlite")  # a folder that takes no new entry, even from root
