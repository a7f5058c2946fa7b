"""The ``russo`` command end to end: real subprocesses on the suites in data/, exit codes, outputs."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from russo_nb.cli import main
from russo_nb.report import load_batch

ROOT = Path(__file__).resolve().parents[1]
SUITES = ROOT / "data" / "suites"
TESTS_DIR = Path(__file__).resolve().parent


@pytest.mark.slow
def test_text_suite_passes_with_exit_0_and_plain_progress(tmp_path, russo_cli):
    done = russo_cli("--config", str(SUITES / "text_flights.yaml"), "--no-history", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "flight_nyc_la  4/4 passed (100%)" in done.stdout
    assert "PASSED: 7/7 runs passed (100.0%)" in done.stdout
    # stderr is a pipe, not a terminal: plain progress lines, no bar
    assert "text_flights: 7/7 runs done (7 passed, 0 failed, 0 errors)" in done.stderr.splitlines()
    assert "\r" not in done.stderr
    assert not (tmp_path / ".russo").exists()  # --no-history


@pytest.mark.slow
def test_failures_exit_1(tmp_path, russo_cli):
    failed = russo_cli(
        "--config", str(SUITES / "text_regression.json"), "--no-history", "-q", cwd=tmp_path, script=True
    )
    assert failed.returncode == 1
    assert "FAILED: 2/3 runs passed (66.7%)" in failed.stdout
    assert "expected get_weather(city='Berlin'), got get_weather(city='Paris')" in failed.stdout
    assert failed.stderr == ""  # -q: no progress lines


def test_tags_and_fail_under_change_the_verdict(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    suite = str(SUITES / "text_regression.json")
    assert main([suite, "--tag", "weather", "--tag", "flight", "--no-history", "-q"]) == 0
    assert "wrong_city_on_purpose" not in capsys.readouterr().out
    assert main([suite, "--fail-under", "0.6", "--no-history", "-q"]) == 0
    assert "pass rate 66.7% is at least --fail-under 60.0%" in capsys.readouterr().out
    assert main([suite, "--fail-under", "90%", "--no-history", "-q"]) == 1
    assert "is below --fail-under 90.0%" in capsys.readouterr().out
    assert main([suite, "--tag", "nope", "--no-history"]) == 2
    assert "no test or scenario has tag nope; tags in the file: flight, known_bad, weather" in capsys.readouterr().err


@pytest.mark.slow
def test_flags_override_the_file_and_outputs_are_written(tmp_path, capsys, russo_cli):
    out = tmp_path / "out"
    done = russo_cli(
        "--config",
        str(SUITES / "text_flights.yaml"),
        "--runs",
        "3",
        "--max-concurrency",
        "1",
        "--json",
        str(out / "runs.jsonl"),
        "--report",
        str(out / "report.html"),
        "--history-db",
        str(out / "history.sqlite"),
        "-q",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    batch = load_batch(out / "runs.jsonl")
    assert batch.total == 12  # 4 prompts x 3 runs: --runs beats the file's runs: 2 and the test's runs: 1
    assert batch.metadata.runs_per_prompt == 3
    assert batch.metadata.max_concurrency == 1
    assert batch.metadata.name == "text_flights"
    html = (out / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "text_flights" in html

    assert main(["history", "--db", str(out / "history.sqlite")]) == 0
    listed = capsys.readouterr().out
    assert "text_flights" in listed and "12" in listed

    assert main(["report", str(out / "runs.jsonl"), "-o", str(out / "again.html")]) == 0
    again = (out / "again.html").read_text()
    assert "text_flights" in again and "I need to fly from New York to Los Angeles" in again


def test_history_is_recorded_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([str(SUITES / "text_regression.json"), "--tag", "weather", "-q"]) == 0
    assert (tmp_path / ".russo" / "history.sqlite").exists()
    assert "history: recorded batch" in capsys.readouterr().out
    assert main(["history"]) == 0
    assert "text_regression" in capsys.readouterr().out


@pytest.mark.slow
def test_suite_file_error_in_a_real_process_is_one_line_exit_2(tmp_path, russo_cli):
    (tmp_path / "bad.yaml").write_text("tests:\n  - {prompt: hi, expect: [42]}\n")
    done = russo_cli("--config", "bad.yaml", cwd=tmp_path, script=True)
    assert done.returncode == 2
    assert done.stderr.startswith("russo: error: bad.yaml: tests[0].expect[0]: expected a tool call")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "missing.yaml"], "russo: error: missing.yaml: no such suite file"),
        (["--config", "bad.yaml", "--runs", "zero"], "russo: error: argument --runs: expected a whole number >= 1"),
        (
            ["--fail-under", "2", "bad.yaml"],
            "russo: error: argument --fail-under: expected a pass rate between 0 and 1",
        ),
        ([], "russo: error: no suite file; run `russo --config suite.yaml`"),
        (["a.yaml", "--config", "b.yaml"], "russo: error: two suite files given"),
        (["--config", "agentless.yaml"], "russo: error: agentless.yaml: pipeline.agent: cannot import 'nowhere.Agent'"),
        (
            ["--config", "wrong_type.yaml"],
            "russo: error: wrong_type.yaml: tests[0].runs: Input should be a valid int",
        ),
        (
            ["--config", "wrong_type.json"],
            "russo: error: wrong_type.json: max_concurrency: Input should be",
        ),
        (["--config", "unknown_key.yaml"], "russo: error: unknown_key.yaml: pipeline: unknown key 'synth'; expected"),
        (["--config", "syntax.yaml"], "russo: error: syntax.yaml: line 2 column 9: invalid YAML"),
        (["--config", "bad.yaml", "--json", "out.json"], "russo: error: --json writes JSON lines; give a path ending"),
        (["report", "none.jsonl"], "russo report: error: no such file: none.jsonl"),
        (["history", "--limit", "0"], "russo history: error: argument --limit: expected a whole number >= 1"),
        (["rnu", "bad.yaml"], "russo: error: no command or suite file named 'rnu'; did you mean `russo run`?"),
        (["histroy"], "russo: error: no command or suite file named 'histroy'; did you mean `russo history`?"),
        (["demos", "--runs", "1"], "russo: error: no command or suite file named 'demos'; did you mean `russo demo`?"),
    ],
)
def test_usage_and_suite_errors_exit_2_with_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("tests:\n  - {prompt: hi, expect: [42]}\n")
    (tmp_path / "agentless.yaml").write_text(
        "pipeline: {synthesizer: null, agent: {class: nowhere.Agent}}\ntests:\n  - {prompt: hi, expect: [x]}\n"
    )
    (tmp_path / "wrong_type.yaml").write_text("tests:\n  - {prompt: hi, expect: [x], runs: many}\n")
    (tmp_path / "wrong_type.json").write_text(
        '{"max_concurrency": "lots", "tests": [{"prompt": "hi", "expect": ["x"]}]}'
    )
    (tmp_path / "unknown_key.yaml").write_text("pipeline: {synth: null}\ntests:\n  - {prompt: hi, expect: [x]}\n")
    (tmp_path / "syntax.yaml").write_text("tests:\n  - a: b: c\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), err


@pytest.mark.slow
def test_progress_bar_on_a_terminal(tmp_path, cli_env):
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "russo_nb", str(SUITES / "text_flights.yaml"), "--no-history"],
            cwd=tmp_path,
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
        )
    finally:
        os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert done.returncode == 0
    bar = b"".join(chunks).decode()
    assert "\rtext_flights [" in bar and "█" in bar and "7/7" in bar
    assert "runs done" not in bar


@pytest.mark.slow
def test_demo_subcommand_delegates_to_the_demo(tmp_path, russo_cli):
    done = russo_cli("demo", "--text", "--runs", "1", "--quiet", cwd=tmp_path, script=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("demo: ") and "runs passed" in done.stdout


@pytest.mark.slow
def test_voice_suite_with_effects_runs_the_real_offline_pipeline(tmp_path, russo_cli):
    done = russo_cli(
        str(SUITES / "voice_noisy.yaml"), "--tag", "telephone", "--runs", "2", "--json", "v.jsonl", "-q", cwd=tmp_path
    )
    assert done.returncode in (0, 1), done.stderr  # noisy audio may be misheard; the run itself must work
    batch = load_batch(tmp_path / "v.jsonl")
    assert batch.total == 2
    assert batch.metadata.effects == ["telephone", "noise:white:20dB"]  # the test's own effects replace the suite's
    assert len({run.seed for run in batch.runs}) == 2  # each run got its own noise
    assert all(run.status in ("passed", "failed") for run in batch.runs)
    assert (tmp_path / ".russo_cache").is_dir()  # the espeak clip was cached


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "russo --config suite.yaml" in out and "russo report batch.jsonl" in out and "exit codes" in out


def test_prompt_tests_and_scenarios_in_one_suite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main([str(SUITES / "text_conversations.yaml"), "--runs", "3", "--json", "out.jsonl", "--no-history", "-q"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "  flight_then_weather           3/3 passed (100%)" in out
    assert "PASSED: 9/9 runs passed (100.0%)" in out
    assert load_batch(tmp_path / "out.jsonl").total == 3
    scenarios = load_batch(tmp_path / "out-scenarios.jsonl")
    assert scenarios.metadata.kind == "scenarios" and scenarios.total == 6


def _slow_suite_command(tmp_path, cli_env) -> subprocess.Popen:
    """``russo slow.yaml --json out.jsonl`` on 20 runs of a 0.3 s agent, one at a time: time to press Ctrl-C."""
    (tmp_path / "slow.yaml").write_text(
        "pipeline: {synthesizer: null, agent: {class: cli_agents.SlowAgent, params: {delay: 0.3}}}\n"
        "runs: 20\nmax_concurrency: 1\n"
        "tests:\n  - {prompt: Book a flight from NYC to LA, expect: [\"book_flight(to_city='LA')\"]}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "russo_nb", "slow.yaml", "--json", "out.jsonl", "--no-history"],
        cwd=tmp_path,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process


@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs_and_exits_130(tmp_path, cli_env):
    import signal

    process = _slow_suite_command(tmp_path, cli_env)
    first = process.stderr.readline()  # the first finished run's progress line
    assert "runs done" in first
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    batch = load_batch(tmp_path / "out.jsonl")
    statuses = [run.status for run in batch.runs]
    assert len(statuses) == 20 and statuses.count("passed") >= 1 and statuses.count("cancelled") >= 10
    assert "cancelled" in out
    # interrupted, not failed: nothing that finished failed, and a cancelled run is not listed as a failure
    passed = statuses.count("passed")
    assert f"INTERRUPTED: {passed}/{passed} runs passed (100.0%)" in out and "did not pass" not in out


@pytest.mark.slow
def test_ctrl_c_pressed_again_and_again_still_writes_the_finished_runs(tmp_path, cli_env):
    """The first Ctrl-C stops the job; presses while it unwinds and writes --json are ignored (they used to end
    the command before the file was written)."""
    import signal

    process = _slow_suite_command(tmp_path, cli_env)
    assert "runs done" in process.stderr.readline()
    for _ in range(40):  # a press every 10 ms for as long as the command runs (at most 0.4 s)
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGINT)
        time.sleep(0.01)
    out, err = process.communicate(timeout=60)
    # 130; or, for a press landing after the command ended (the interpreter exiting), killed by SIGINT (the
    # shell's 130 too)
    assert process.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err and "interrupted: the runs that finished are kept" in err
    batch = load_batch(tmp_path / "out.jsonl")
    statuses = [run.status for run in batch.runs]
    assert len(statuses) == 20 and statuses.count("passed") >= 1 and statuses.count("cancelled") >= 10
    passed = statuses.count("passed")
    assert f"INTERRUPTED: {passed}/{passed} runs passed (100.0%)" in out


def test_one_interrupt_raises_once_and_puts_python_s_handler_back():
    import os
    import signal

    from russo_nb.surfaces.cli import _one_interrupt

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # conftest installs it
    raised = 0
    with _one_interrupt():
        for _ in range(3):
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the handler runs at the next bytecode boundary
            except KeyboardInterrupt:
                raised += 1
    assert raised == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):  # outside: every press raises again
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)


def test_one_interrupt_leaves_an_ignored_ctrl_c_ignored():
    import signal

    from russo_nb.surfaces.cli import _one_interrupt

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a job started in the background of a script
    try:
        with _one_interrupt():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


PEAK_SUITE = """
name: peak
pipeline: {synthesizer: null, agent: {class: cli_agents.PeakAgent}}
runs: 3
max_concurrency: 4
tests:
  - {id: la, prompts: [Book a flight from NYC to LA, Fly me from NYC to LA], expect: ["book_flight(to_city='LA')"]}
"""


@pytest.mark.slow
def test_runs_and_concurrency_from_the_file_and_from_flags_are_the_runs_made(tmp_path, russo_cli):
    """Count the runs really made and the most in flight at once (the agent records it in each response)."""
    (tmp_path / "peak.yaml").write_text(PEAK_SUITE)
    from_file = russo_cli("peak.yaml", "--json", "file.jsonl", "--no-history", "-q", cwd=tmp_path)
    flags = ["--runs", "5", "--max-concurrency", "2", "--json", "flags.jsonl"]
    from_flags = russo_cli("--config", "peak.yaml", *flags, "--no-history", "-q", cwd=tmp_path)
    assert from_file.returncode == 0 and from_flags.returncode == 0, from_file.stderr + from_flags.stderr
    for name, total, peak in (("file.jsonl", 6, 4), ("flags.jsonl", 10, 2)):
        batch = load_batch(tmp_path / name)
        assert batch.total == total and batch.passed
        assert max(run.response.raw["in_flight"] for run in batch.runs) == peak


@pytest.mark.slow
def test_the_demo_suite_file_runs_from_the_command_line(tmp_path, russo_cli):
    """`russo --config data/demo_suite.yaml`: real espeak-ng voice, the local agent, one tag, one run each."""
    done = russo_cli(
        "--config", str(ROOT / "data" / "demo_suite.yaml"), "--tag", "alarm", "--runs", "1",
        "--json", "demo.jsonl", "--no-history", "-q", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # a misheard clip fails a run, not the command
    assert "alarm_seven" in done.stdout and "alarm_six_thirty" in done.stdout and "weather" not in done.stdout
    batch = load_batch(tmp_path / "demo.jsonl")
    assert batch.metadata.name == "demo" and batch.total == 3 and batch.metadata.runs_per_prompt == 1
    assert batch.metadata.params["text_mode"] is False
    assert all(run.status in ("passed", "failed") and run.response.text for run in batch.runs)


def test_an_output_that_cannot_be_written_keeps_the_others_and_exits_2(tmp_path, monkeypatch, capsys):
    """A place checked before the runs can still fail when written (here the agent itself blocks it)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocking_agent.py").write_text(
        "import pathlib\n"
        "import russo_nb as russo\n"
        "class Blocker:\n"
        "    async def run(self, heard):\n"
        "        pathlib.Path('blocked').write_text('a file, so no directory can be made here')\n"
        "        return russo.AgentResponse(tool_calls=[russo.ToolCall(name='f', arguments={})])\n"
    )
    (tmp_path / "suite.yaml").write_text(
        "pipeline: {synthesizer: null, agent: {class: blocking_agent.Blocker}}\ntests:\n  - {prompt: hi, expect: [f]}\n"
    )
    code = main(["suite.yaml", "--report", "blocked/r.html", "--json", "ok.jsonl", "-q"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == "russo: error: --report: cannot write 'blocked/r.html': 'blocked' is a file, not a folder\n"
    assert len(captured.err.strip().splitlines()) == 1
    assert load_batch(tmp_path / "ok.jsonl").total == 1  # the runs were still written ...
    assert "history: recorded batch" in captured.out  # ... and recorded


def test_history_reads_the_store_run_wrote_under_the_same_flag(tmp_path, monkeypatch, capsys):
    """``russo run --history-db X`` then ``russo history --history-db X`` (was: unrecognized arguments)."""
    monkeypatch.chdir(tmp_path)
    assert main([str(SUITES / "text_regression.json"), "--tag", "weather", "-q", "--history-db", "h.sqlite"]) == 0
    capsys.readouterr()
    assert main(["history", "--history-db", "h.sqlite"]) == 0
    assert "text_regression" in capsys.readouterr().out


def test_counts_of_one_read_as_one(tmp_path, monkeypatch, capsys):
    """'1 finished runs' / '16 prompts x 1 runs' (the counts are the nouns' own)."""
    monkeypatch.chdir(tmp_path)
    assert main([str(SUITES / "text_regression.json"), "--tag", "weather", "--no-history", "-q"]) == 0
    assert "one prompt: Wilson over its runs; 1 finished run)" in capsys.readouterr().out
    assert main(["demo", "--text", "--runs", "1", "-q"]) == 0
    assert "over 16 prompts x 1 run; text mode" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("both", [False, True], ids=["stdout", "stdout-and-stderr"])
def test_a_reader_that_stops_early_costs_neither_the_files_nor_the_verdict(tmp_path, cli_env, both):
    """``russo run suite --json runs.jsonl | head -1``: the first write to the closed pipe was an "internal error"
    (exit 3) and the runs were never written nor recorded."""
    command = [sys.executable, "-m", "russo_nb", str(SUITES / "text_regression.json"), "--json", "runs.jsonl"]
    command += ["--history-db", "h.sqlite"]
    stderr = subprocess.STDOUT if both else subprocess.PIPE
    proc = subprocess.Popen(command, cwd=tmp_path, env=cli_env, stdout=subprocess.PIPE, stderr=stderr)
    proc.stdout.close()  # the reader is gone before the command prints anything
    err = proc.stderr.read().decode() if not both else ""
    assert proc.wait(timeout=120) == 1  # the verdict: one test fails on purpose
    assert "internal error" not in err and "Exception ignored" not in err and "Traceback" not in err, err
    assert load_batch(tmp_path / "runs.jsonl").total == 3
    assert main(["history", "--db", str(tmp_path / "h.sqlite")]) == 0


def test_history_with_nothing_recorded_creates_nothing(tmp_path, monkeypatch, capsys):
    """Listing made .russo/history.sqlite; where no folder can be made it was an internal error (exit 3)."""
    monkeypatch.chdir(tmp_path)
    assert main(["history"]) == 0
    assert "no batches recorded yet" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_reader_that_stops_early_costs_the_demo_neither_its_report_nor_its_exit_code(tmp_path, cli_env):
    """``russo demo ... | head`` interrupted: the demo's own printing went to the closed pipe, the BrokenPipeError
    reached the command's catch-all and it exited 0 (its verdict was 130); it now prints through cli.say."""
    command = [sys.executable, "-m", "russo_nb", "demo", "--text", "--runs", "500", "--report", "r.html"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the demo prints anything
    first = proc.stderr.readline().decode()
    assert "runs done" in first, first  # running: now Ctrl-C
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 130, err
    assert "interrupted: the runs that finished are kept" in err and "Traceback" not in err, err
    assert "russo-report" in (tmp_path / "r.html").read_text()  # written before the text, as before


def test_negative_numbers_in_exponent_form_reach_the_flag_s_own_check(tmp_path, monkeypatch, capsys):
    """``russo demo --snr -1e308`` / ``--fail-under -1e-3`` said "expected one argument": argparse read the number as
    an option. Now each flag's reader says what it takes."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--snr", "-1e308", "--runs", "1", "-q"]) == 2
    assert "noise SNR must be a number from -30 to 80 dB, got -1e+308" in capsys.readouterr().err
    assert main([str(SUITES / "text_flights.yaml"), "--fail-under", "-1e-3", "--no-history", "-q"]) == 2
    err = capsys.readouterr().err
    assert "expected a pass rate between 0 and 1 (e.g. 0.9), got '-1e-3'" in err and "expected one argument" not in err
