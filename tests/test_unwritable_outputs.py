"""Output paths no file can be written to: one line naming the path and why, before any run is made.

A ``--report`` / ``--json`` / history path that is a folder, lies under a file, or sits in a folder
that takes no new file used to surface only after the runs (or as an "internal error" naming a
temporary file); the batch was computed for nothing (with ``--no-history``, lost).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import russo_nb as russo
from russo_nb.cli import main
from russo_nb.model.errors import InvalidArgumentError
from russo_nb.report import export, load_batch
from russo_nb.results.report.files import check_writable
from russo_nb.testing import ScriptedAgent, TextSynthesizer

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "data" / "suites" / "text_regression.json"
NO_NEW_FILES = Path("/proc/self")  # takes no new file, even from root (whom a chmod'ed folder would not stop)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "a_folder.jsonl").mkdir()
    return {
        "folder": tmp_path / "a_folder.jsonl",
        "under_a_file": tmp_path / "a_file" / "out.jsonl",
        "no_new_files": NO_NEW_FILES / "out.jsonl",
    }


@pytest.mark.parametrize(
    ("place", "reason"),
    [
        ("folder", "it is a folder; give the path of a file"),
        ("under_a_file", "a_file' is a file, not a folder"),
        ("no_new_files", "cannot create a file in '/proc/self'"),
    ],
)
def test_check_writable_and_export_say_why_in_one_line(places, place, reason, tmp_path):
    target = places[place]
    with pytest.raises(InvalidArgumentError, match=f"cannot write '{target}': .*{reason}"):
        check_writable(target)
    result = russo.run_concurrent_sync(["hi"], TextSynthesizer(), ScriptedAgent({"hi": "f()"}), expect=["f()"])
    with pytest.raises(InvalidArgumentError, match=reason) as caught:
        export(result, target)
    assert ".tmp" not in str(caught.value)  # the user's path, never the temporary file's
    check_writable(tmp_path / "new" / "deeper" / "out.jsonl")  # folders still to make are fine ...
    assert not (tmp_path / "new").exists()  # ... and the check made none of them
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]  # the probe file is gone


@pytest.mark.parametrize(
    ("flag", "place", "reason"),
    [
        ("--json", "folder", "it is a folder"),
        ("--report", "under_a_file", "is a file, not a folder"),
        ("--json", "no_new_files", "cannot create a file in '/proc/self'"),
        ("--history-db", "folder", "is a directory; give a file path"),
        ("--history-db", "under_a_file", "is a file, not a folder"),
    ],
)
def test_run_refuses_an_unwritable_output_before_any_run(tmp_path, monkeypatch, capsys, places, flag, place, reason):
    monkeypatch.chdir(tmp_path)
    target = places[place]
    if flag == "--report":
        target = target.with_suffix(".html")
    history = [] if flag == "--history-db" else ["--no-history"]
    code = main([str(SUITE), "-q", *history, flag, str(target)])
    captured = capsys.readouterr()
    assert code == 2
    line = _one_line(captured.err)
    assert line.startswith(f"russo: error: {flag}: ") and reason in line, line
    assert captured.out == ""  # nothing ran: no summary, no verdict


def test_a_text_file_given_as_the_history_store_is_refused_before_any_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a database\n" * 10)
    assert main([str(SUITE), "-q", "--history-db", str(notes)]) == 2
    captured = capsys.readouterr()
    assert "--history-db: " in _one_line(captured.err) and "is not a russo_nb history store" in captured.err
    assert captured.out == "" and notes.read_text() == "my notes, not a database\n" * 10


def test_the_default_history_store_in_a_place_without_new_files_says_how_to_go_on(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".russo").write_text("a file where the store's folder would go")
    assert main([str(SUITE), "-q"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "--no-history" in line and "'.russo' is a file, not a folder" in line


def test_the_outputs_still_write_when_they_can(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "new" / "deeper"
    code = main([str(SUITE), "--tag", "weather", "-q", "--json", str(out / "r.jsonl"), "--history-db", str(out / "h")])
    assert code == 0, capsys.readouterr().err
    assert load_batch(out / "r.jsonl").total == 1 and (out / "h").stat().st_size > 0


@pytest.mark.slow
def test_report_and_demo_commands_refuse_an_unwritable_output_in_one_line(tmp_path, russo_cli, places):
    exported = tmp_path / "runs.jsonl"
    done = russo_cli(str(SUITE), "--tag", "weather", "--no-history", "-q", "--json", str(exported), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for place in ("folder", "under_a_file", "no_new_files"):
        target = places[place].with_suffix(".html") if place != "folder" else places[place]
        report = russo_cli("report", str(exported), "-o", str(target), cwd=tmp_path)
        assert report.returncode == 2, report.stderr  # was 3, "internal error: IsADirectoryError ... .tmp"
        assert _one_line(report.stderr).startswith(f"russo: error: cannot write '{target}': ")
        demo = russo_cli("demo", "--text", "--runs", "1", "-q", "--report", str(target), cwd=tmp_path)
        assert demo.returncode == 2, demo.stderr
        assert _one_line(demo.stderr).startswith(f"russo demo: cannot write '{target}': ")
        assert demo.stdout == ""  # refused before the demo ran, not after


def test_an_output_that_would_overwrite_another_is_refused(tmp_path, monkeypatch, capsys):
    """``russo report runs.jsonl -o runs.jsonl`` replaced the export with HTML; ``--json x --report x`` lost the
    report to the runs (both said written)."""
    monkeypatch.chdir(tmp_path)
    assert main([str(SUITE), "--tag", "weather", "--no-history", "-q", "--json", "runs.jsonl"]) == 0
    kept = (tmp_path / "runs.jsonl").read_bytes()
    capsys.readouterr()
    assert main(["report", "runs.jsonl", "-o", "./runs.jsonl"]) == 2
    assert "is the batch file itself" in _one_line(capsys.readouterr().err)
    assert (tmp_path / "runs.jsonl").read_bytes() == kept
    assert main([str(SUITE), "--no-history", "-q", "--json", "x.jsonl", "--report", "./x.jsonl"]) == 2
    captured = capsys.readouterr()
    assert "--report and --json name one file" in _one_line(captured.err) and captured.out == ""
    assert main([str(SUITE), "-q", "--json", "h.jsonl", "--history-db", "h.jsonl"]) == 2
    assert "--json and --history-db name one file" in _one_line(capsys.readouterr().err)


def test_a_report_path_that_is_not_html_is_refused_before_any_run(tmp_path, monkeypatch, capsys):
    """``--report out.csv`` (russo run, russo report -o, russo demo) wrote an HTML page into out.csv after the runs."""
    monkeypatch.chdir(tmp_path)
    assert main([str(SUITE), "--tag", "weather", "--no-history", "-q", "--json", "runs.jsonl"]) == 0
    capsys.readouterr()
    for argv, head in (
        ([str(SUITE), "--no-history", "-q", "--report", "out.csv"], "russo: error: --report: "),
        (["report", "runs.jsonl", "-o", "out.csv"], "russo: error: "),
        (["demo", "--text", "--runs", "1", "-q", "--report", "out.csv"], "russo demo: "),
    ):
        assert main(argv) == 2
        captured = capsys.readouterr()
        line = _one_line(captured.err)
        assert line.startswith(f"{head}a report is an HTML page: give a path ending in .html, got 'out.csv'"), line
        assert "--json OUT.jsonl" in line and "export(result, 'runs.csv')" in line
        assert captured.out == "" and not (tmp_path / "out.csv").exists()  # refused before the runs
    assert main(["report", "runs.jsonl", "-o", "OUT.HTML"]) == 0  # the suffix in any case
