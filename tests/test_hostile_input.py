"""Hostile suite files and hostile agent text: a clear one-line error (exit 2) or inert output, never a hang.

Real subprocesses of ``russo`` on real files, and a real HTTP agent on 127.0.0.1 answering
with terminal escape sequences.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_cli_commands import env

from russo_nb.config import load_suite, parse_suite, run_suite
from russo_nb.errors import SuiteFileError
from russo_nb.plain_text import short_repr, terminal_safe

# -- billion laughs, cycles, deep nesting ------------------------------------------------------------

LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]" for prev, name in zip("abcdefgh", "bcdefghi")]
)
TEST = "tests:\n  - prompt: book a flight\n    expect: ['book_flight()']\n"


def russo_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "russo_nb", *args]
    return subprocess.run(command, cwd=cwd, env=env(), capture_output=True, text=True, timeout=60)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("russo: error: "), done.stderr[-2000:]
    assert len(lines[0]) < 400
    return lines[0]


@pytest.mark.parametrize(
    "body",
    [
        f"{LAUGHS}\nruns: *i\n{TEST}",
        f"{LAUGHS}\ntests:\n  - prompt: book a flight\n    tags: *i\n    expect: ['book_flight()']\n",
        f"{LAUGHS}\ntests:\n  - prompt: book a flight\n    expect: [{{name: f, arguments: {{x: *i}}}}]\n",
    ],
    ids=["runs", "tags", "expect"],
)
def test_billion_laughs_is_refused_in_one_line(tmp_path, body):
    path = tmp_path / "laughs.yaml"
    path.write_text(body)
    assert len(body) < 700  # the whole attack fits in a few hundred bytes
    line = one_line_error(russo_cli("--config", str(path), "--no-history", cwd=tmp_path))
    assert "YAML aliases expand to more than 100,000 values" in line and str(path) in line


def test_a_self_containing_alias_is_refused(tmp_path):
    path = tmp_path / "cycle.yaml"
    path.write_text(f"loop: &loop [1, *loop]\n{TEST}")
    with pytest.raises(SuiteFileError, match=r"a YAML alias refers to a value that contains it"):
        load_suite(path)


def test_aliases_of_ordinary_size_still_work(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "tests:\n"
        "  - prompt: book a flight to LA\n    tags: &common [smoke, flights]\n"
        "    expect: &call [{name: book_flight, arguments: {to_city: LA}}]\n"
        "  - prompt: fly me to LA\n    tags: *common\n    expect: *call\n"
    )
    suite = load_suite(path)
    assert [test.tags for test in suite.tests] == [["smoke", "flights"]] * 2
    assert suite.expect["fly me to LA"][0].arguments == {"to_city": "LA"}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("depth", [150, 5000])
def test_deeply_nested_suites_end_in_one_line(tmp_path, suffix, depth):
    nested = "[" * depth + "]" * depth
    path = tmp_path / f"deep{suffix}"
    if suffix == ".json":
        path.write_text('{"tests": [{"prompt": "hi", "expect": [{"name": "f", "arguments": {"a": ' + nested + "}}]}]}")
    else:
        path.write_text(f"tests:\n  - prompt: hi\n    expect: [{{name: f, arguments: {{a: {nested}}}}}]\n")
    line = one_line_error(russo_cli("--config", str(path), "--no-history", cwd=tmp_path))
    assert line == f"russo: error: {path}: values are nested more than 100 levels deep"


def test_parse_suite_checks_python_data_too():
    nested: list = []
    for _ in range(200):
        nested = [nested]
    with pytest.raises(SuiteFileError, match="nested more than 100 levels"):
        parse_suite({"tests": [{"prompt": "hi", "expect": [{"name": "f", "arguments": {"a": nested}}]}]})


def test_short_repr_is_bounded_whatever_the_value():
    shared = ["lol"] * 9
    for _ in range(12):  # 9**12 items if expanded
        shared = [shared] * 9
    assert len(short_repr(shared)) <= 60 and short_repr(shared).startswith("[[[")
    assert short_repr(10**5000) == "<int>"
    loop: list = []
    loop.append(loop)
    assert short_repr(loop) == "[[[[...]]]]"  # three levels, then ...
    assert short_repr("\x1b[2Jhi") == "'\\x1b[2Jhi'"


# -- script steps in suite files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("[agent]", "script step 1 is ['agent'] (a list); write one of user, agent, message"),
        ("5", "script step 1 is 5 (a number); write one of"),
        ("null", "script step 1 is empty (null); write one of"),
        ("{user: hi, agent: ok}", "script step 1 is a mapping with 2 keys"),
        ("talk", "script step 1 is 'talk'; a step is one of user, agent"),
        ("{say: hi}", "script step 1 has the unknown key 'say'"),
        ("{user: 5}", "script step 1 (user) takes a string or a message mapping, got 5 (a number)"),
        ("{judge: 5}", "script step 1 (judge) takes a list of criteria, got 5 (a number)"),
        ("{proceed: true}", "script step 1 (proceed) takes a whole number of turns, got True (true/false)"),
        ("{succeed: [x]}", "script step 1 (succeed) takes a string (the reason), got ['x'] (a list)"),
    ],
)
def test_bad_script_steps_name_the_step(tmp_path, step, message):
    path = tmp_path / "script.yaml"
    path.write_text(
        "pipeline: {synthesizer: null, agent: {class: cli_agents.KeywordAgent}}\n"
        f"scenarios:\n  - name: s\n    script: [user, {step}]\n"
    )
    with pytest.raises(SuiteFileError) as info:
        run_suite(path)
    assert f"{path}: scenarios[0]: {message.replace('step 1', 'step 2')}" in str(info.value)


def test_bad_script_step_from_the_command_line(tmp_path):
    path = tmp_path / "script.yaml"
    path.write_text(
        "pipeline: {synthesizer: null, agent: {class: cli_agents.KeywordAgent}}\n"
        "scenarios:\n  - name: s\n    script: [user, [agent]]\n"
    )
    line = one_line_error(russo_cli("--config", str(path), "--no-history", cwd=tmp_path))
    assert "scenarios[0]: script step 2 is ['agent'] (a list)" in line


def test_a_judge_step_takes_one_criterion_or_a_list(tmp_path):
    from russo_nb.scenario.script import script_from_data

    one, listed = script_from_data([{"judge": {"tool_called": "book_flight"}}, {"judge": [{"never_called": "x"}]}])
    assert len(one.criteria) == 1 and len(listed.criteria) == 1


# -- terminal escape sequences from a server ----------------------------------------------------------

CLEAR = "\x1b[2J\x1b[H"
FAKE_PASS = "\x1b[32mPASSED\x1b[0m"
CLIPBOARD = "\x1b]52;c;ZWNobyBvd25lZA==\x07"
C1_CSI = "\x9b31m"
REWRITE = "\rPASSED: 9/9 runs passed (100.0%)\n"
BIDI = "\u202e"
HOSTILE = CLEAR + FAKE_PASS + CLIPBOARD + C1_CSI + REWRITE + BIDI
ACTIVE = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


class _Hostile(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        prompt = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"]
        if "weather" in prompt:
            status, answer = 500, {"error": {"message": "overloaded " + HOSTILE}}
        else:
            call = {"name": "book" + HOSTILE, "arguments": {"to" + CLEAR: HOSTILE, "from_city": "NYC"}}
            status, answer = 200, {"tool_calls": [call], "text": HOSTILE}
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/agent"
    finally:
        server.shutdown()
        server.server_close()


def test_escape_sequences_from_a_server_are_printed_inert(tmp_path, hostile_server):
    path = tmp_path / "hostile.yaml"
    path.write_text(
        'name: "\\e[2Jhostile\\e]52;c;eA==\\a"\n'
        f"pipeline: {{synthesizer: null, agent: {{class: russo_nb.HttpAgent, params: {{url: '{hostile_server}'}}}}}}\n"
        "tests:\n"
        '  - id: "flight\\e[32m"\n    prompt: book a flight from NYC to LA\n'
        "    expect: [\"book_flight(from_city='NYC', to_city='LA')\"]\n"
        "  - id: weather\n    prompt: weather in Rome\n    expect: [\"get_weather(city='Rome')\"]\n"
    )
    db = tmp_path / "history.sqlite"
    done = russo_cli("--config", str(path), "--history-db", str(db), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    listed = russo_cli("history", "--db", str(db), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    printed = done.stdout + done.stderr + listed.stdout + listed.stderr
    for char in ACTIVE:
        assert char not in printed, (char, printed)
    # nothing is lost: each sequence shows as escapes, one line per field
    assert "suite \\x1b[2Jhostile\\x1b]52;c;eA==\\x07" in done.stdout
    assert "flight\\x1b[32m  0/1 passed" in done.stdout
    assert "got book\\x1b[2J\\x1b[H\\x1b[32mPASSED\\x1b[0m" in done.stdout
    assert "\\x9b31m\\rPASSED: 9/9 runs passed (100.0%)\\n\\u202e" in done.stdout
    assert "overloaded \\x1b[2J" in done.stdout
    assert "PASSED: 9/9" not in done.stdout.replace("\\rPASSED: 9/9", "")
    assert "\\x1b[2Jhostile" in listed.stdout


def test_plain_text_summaries_are_inert():
    from russo_nb.types import (
        AgentResponse,
        BatchResult,
        EvalResult,
        RunError,
        SingleRunResult,
        ToolCall,
        ToolCallMatch,
    )

    actual = ToolCall(name="x" + HOSTILE, arguments={"k" + CLEAR: 1})
    expected = ToolCall(name="book_flight")
    evaluation = EvalResult(
        passed=False,
        expected=[expected],
        actual=[actual],
        matches=[ToolCallMatch(expected=expected, actual=actual, details="name " + HOSTILE)],
        details=HOSTILE,
    )
    runs = [
        SingleRunResult(prompt="p", run_index=0, eval_result=evaluation, response=AgentResponse(text=HOSTILE)),
        SingleRunResult(
            prompt="p" + HOSTILE,
            run_index=1,
            eval_result=EvalResult(passed=False, expected=[expected], actual=[]),
            status="error",
            error=RunError(type="RuntimeError", message=HOSTILE),
        ),
    ]
    for text in (evaluation.summary(), BatchResult(runs=runs).summary()):
        for char in ACTIVE:
            assert char not in text, (char, text)
        assert "\\x1b[2J" in text


def test_terminal_safe_escapes_controls_and_keeps_text():
    assert terminal_safe("Zürich → 東京 🎉 tab\there") == "Zürich → 東京 🎉 tab\\there"
    assert terminal_safe("a\nb\r") == "a\\nb\\r"
    assert terminal_safe("a\nb\x1b", multiline=True) == "a\nb\\x1b"
    every_control = "".join(chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)]) + "\u2028\u2029\u2066"
    assert all(char.isprintable() for char in terminal_safe(every_control))


# -- effect parameters are bounded -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("telephone:300-3400hz:2000000000", "telephone sample rate must be a whole number from 4000 to 48000 Hz"),
        ("telephone:300-3400hz:1e400", "telephone sample rate must be a whole number from 4000 to 48000 Hz, got inf"),
        ("telephone:300-3400hz:8000.5", "telephone sample rate must be a whole number"),
        ("telephone:300-9000hz", "telephone band high edge must be a number from 0 to 4000 Hz"),
        ("telephone:300-200hz", "telephone band needs low < high"),
        ("noise:1e999db", "noise SNR must be a number from -30 to 80 dB, got inf"),
        ("noise:pink:nan", "noise SNR must be a number from -30 to 80 dB, got nan"),
        ("speed:100", "speed factor must be a number from 0.25 to 4, got 100.0"),
        ("gain:+90db", "gain must be a number from -60 to 40 dB, got 90.0"),
        ("clip:0", "clip level (a fraction of the peak) must be a number greater than 0 and at most 1, got 0.0"),
        ("dropout:1.5", "dropout rate (a fraction) must be a number from 0 to 1, got 1.5"),
        ("dropout:0.1:100000000ms", "dropout chunk must be a number from 1 to 2000 ms, got 100000000.0"),
    ],
)
def test_every_effect_parameter_is_bounded(spec, message):
    from russo_nb.audio.effects import parse_effect
    from russo_nb.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError) as info:
        parse_effect(spec)
    assert message in str(info.value) and str(info.value).startswith(f"effect {spec!r}: ")


def test_effect_objects_refuse_bools_strings_and_huge_rates():
    from russo_nb.audio.effects import Dropout, Gain, Noise, Speed, TelephoneBand
    from russo_nb.errors import InvalidArgumentError

    for make, message in [
        (lambda: Speed(True), "speed factor must be a number from 0.25 to 4, got True"),
        (lambda: Noise("10"), "noise SNR must be a number from -30 to 80 dB, got '10'"),
        (lambda: Gain(float("nan")), "gain must be a number from -60 to 40 dB, got nan"),
        (lambda: Dropout(0.1, 0), "dropout chunk must be a number from 1 to 2000 ms, got 0"),
        (lambda: TelephoneBand(sample_rate=2_000_000_000), "telephone sample rate must be a whole number from 4000"),
    ]:
        with pytest.raises(InvalidArgumentError, match=re.escape(message)):
            make()
    assert TelephoneBand(300, 7000, 16000).describe() == "telephone:300-7000Hz:16000"


@pytest.mark.parametrize("where", ["cli", "suite"])
def test_a_huge_effect_parameter_ends_in_one_line(tmp_path, where):
    spec = "telephone:300-3400hz:2000000000"
    if where == "cli":
        done = russo_cli("demo", "--runs", "1", "--effects", spec, cwd=tmp_path)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr[-2000:]
        assert "telephone sample rate must be a whole number from 4000 to 48000 Hz" in done.stderr
        return
    path = tmp_path / "effects.yaml"
    path.write_text(f"effects: ['{spec}']\n{TEST}")
    line = one_line_error(russo_cli("--config", str(path), "--no-history", cwd=tmp_path))
    assert f"effects[0]: effect '{spec}': telephone sample rate must be a whole number from 4000 to 48000 Hz" in line
