"""Hostile suite files and hostile agent text: a clear one-line error (exit 2) or inert output, never a hang.

Real subprocesses of ``russo`` on real files, and a real HTTP agent on 127.0.0.1 answering
with terminal escape sequences.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from russo_nb.config import load_suite, parse_suite, run_suite
from russo_nb.errors import SuiteFileError
from russo_nb.plain_text import short_repr, terminal_safe

# -- billion laughs, cycles, deep nesting ------------------------------------------------------------

LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]" for prev, name in zip("abcdefgh", "bcdefghi")]
)
TEST = "tests:\n  - prompt: book a flight\n    expect: ['book_flight()']\n"


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("russo: error: "), done.stderr[-2000:]
    assert len(lines[0]) < 400
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        f"{LAUGHS}\nruns: *i\n{TEST}",
        f"{LAUGHS}\ntests:\n  - prompt: book a flight\n    tags: *i\n    expect: ['book_flight()']\n",
        f"{LAUGHS}\ntests:\n  - prompt: book a flight\n    expect: [{{name: f, arguments: {{x: *i}}}}]\n",
    ],
    ids=["runs", "tags", "expect"],
)
def test_billion_laughs_is_refused_in_one_line(tmp_path, body, russo_cli):
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


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("depth", [150, 5000])
def test_deeply_nested_suites_end_in_one_line(tmp_path, suffix, depth, russo_cli):
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


@pytest.mark.slow
def test_bad_script_step_from_the_command_line(tmp_path, russo_cli):
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


@pytest.mark.slow
def test_escape_sequences_from_a_server_are_printed_inert(tmp_path, hostile_server, russo_cli):
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


@pytest.mark.slow
@pytest.mark.parametrize("where", ["cli", "suite"])
def test_a_huge_effect_parameter_ends_in_one_line(tmp_path, where, russo_cli):
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


# -- %russo --as NAME ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("__builtins__", "is a special (dunder) name Python itself uses"),
        ("__name__", "is a special (dunder) name"),
        ("class", "is a Python keyword"),
        ("_", "is one of IPython's own names"),
        ("_7", "is one of IPython's own names"),
        ("_i2", "is one of IPython's own names"),
        ("Out", "is one of IPython's own names"),
        ("get_ipython", "is one of IPython's own names"),
        ("print", "is a Python builtin; storing the result there would hide it"),
        ("1abc", None),
    ],
)
def test_as_refuses_names_that_would_break_the_namespace(name, reason, capsys, ip):
    shell = ip
    before = {key: shell.user_ns.get(key) for key in ("__builtins__", "__name__", "print", "Out", "_")}
    line = f'run "book a flight" --agent cli_agents:KeywordAgent --text --as {name}'
    assert shell.run_line_magic("russo", line) is None
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("russo: "), errors
    assert (reason or "needs a Python variable name") in errors[0]
    assert {key: shell.user_ns.get(key) for key in before} == before
    shell.run_cell("probe = len([1, 2])")  # the namespace still works
    assert shell.user_ns.pop("probe") == 2


# -- tuples and sets in expectations ------------------------------------------------------------------


def test_tuples_in_expectations_become_lists_and_match_json_answers():
    from russo_nb import ToolCall, tool_call
    from russo_nb.evaluators import ExactEvaluator
    from russo_nb.expectations import normalize_expectations, parse_expectation

    expected = [
        parse_expectation("book(seats=(1, 2), legs=[('NYC', 'LA')])"),
        tool_call("book", seats=(1, 2), legs=[("NYC", "LA")]),
        *normalize_expectations([{"name": "book", "arguments": {"seats": (1, 2), "legs": [("NYC", "LA")]}}]),
        *normalize_expectations([ToolCall(name="book", arguments={"seats": (1, 2), "legs": (("NYC", "LA"),)})]),
    ]
    json_answer = ToolCall(name="book", arguments={"seats": [1, 2], "legs": [["NYC", "LA"]]})
    python_answer = ToolCall(name="book", arguments={"seats": (1, 2), "legs": (("NYC", "LA"),)})
    for call in expected:
        assert call.arguments == {"seats": [1, 2], "legs": [["NYC", "LA"]]}
        for answer in (json_answer, python_answer):
            assert ExactEvaluator().evaluate([call], [answer]).passed


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("book(seats={1, 2})", "argument seats is a set ({1, 2}), which no tool call can carry"),
        ("book(meta={'k': {1}})", "argument meta['k'] is a set ({1})"),
        ("book(raw=b'x')", "argument raw is a bytes (b'x')"),
        ("book(z=1j)", "argument z is a complex (1j)"),
    ],
)
def test_sets_and_other_unmatchable_literals_are_refused_at_parse_time(tmp_path, text, message, russo_cli):
    from russo_nb import tool_call
    from russo_nb.errors import ExpectationError
    from russo_nb.expectations import parse_expectation

    with pytest.raises(ExpectationError, match=re.escape(message)):
        parse_expectation(text)
    with pytest.raises(ExpectationError, match="which no tool call can carry"):
        tool_call("book", seats={1, 2})
    path = tmp_path / "sets.yaml"
    path.write_text(f'tests:\n  - prompt: book seats\n    expect: ["{text}"]\n')
    line = one_line_error(russo_cli("--config", str(path), "--no-history", cwd=tmp_path))
    assert "tests[0].expect[0]: expected a tool call like" in line and message in line


# -- dollars in chart labels ---------------------------------------------------------------------------

DOLLARS = "Refund $5 or $10"
BROKEN = "Cost $\\frac{ per seat"


def test_dollars_in_prompts_and_names_stay_literal_in_every_chart():
    from analysis_helpers import batch_from_outcomes

    from russo_nb.analysis import plots
    from russo_nb.notebook.figures import figure_svg

    outcomes = {DOLLARS: [True, False, True], BROKEN: [False, True, "error"], "plain": [True, True, True]}
    a = batch_from_outcomes(outcomes, agent="agent $v1")
    b = batch_from_outcomes({prompt: list(reversed(runs)) for prompt, runs in outcomes.items()}, agent="$v2")
    charts = [
        (plots.plot_pass_rates, a, {}),
        (plots.plot_flakiness, a, {}),
        (plots.plot_latency, a, {}),
        (plots.plot_comparison, a, {"b": b, "labels": ("agent $v1", "$v2")}),
        (plots.plot_sweep, {"$0 tier": a, "$5 tier": b}, {"parameter": "price ($)", "label": "$ rate"}),
    ]
    for plot, data, options in charts:
        svg = figure_svg(plot, data, **options)  # draws the figure: a malformed formula would raise here
        texts = " ".join(re.findall(r">([^<]+)<", re.sub(r"<!--.*?-->", "", svg, flags=re.S)))  # drawn text only
        if plot is plots.plot_sweep:
            assert all(text in texts for text in ("$0 tier", "$5 tier", "price ($)", "$ rate")), plot.__name__
        else:
            assert DOLLARS in texts and "Cost $\\frac{ per seat" in texts, plot.__name__
        if plot is plots.plot_comparison:
            assert "$v2 − agent $v1" in texts
    assert plots.chart_text("a $b$ c") == "a \\$b\\$ c"


@pytest.mark.slow
def test_log_lines_and_scenario_errors_are_printed_inert(tmp_path, russo_cli):
    (tmp_path / "evil_scenarios.py").write_text(
        "from russo_nb import scenario\n"
        "\n"
        "def _teardown(state):\n"
        f"    raise RuntimeError({HOSTILE!r})\n"
        "\n"
        "def _agent(messages):\n"
        f"    return {HOSTILE!r}\n"
        "\n"
        "EVIL = scenario.Scenario(\n"
        f"    name={('s' + CLEAR)!r}, agents=[scenario.FunctionAgentAdapter(_agent)],\n"
        f"    script=[scenario.user('hi'), scenario.agent(), scenario.fail({HOSTILE!r})], teardown=_teardown,\n"
        ")\n"
    )
    path = tmp_path / "scenarios.yaml"
    path.write_text(
        "pipeline: {synthesizer: null, agent: {class: cli_agents.KeywordAgent}}\nscenarios: [evil_scenarios:EVIL]\n"
    )
    done = russo_cli("--config", str(path), "--no-history", cwd=tmp_path)
    printed = done.stdout + done.stderr
    assert done.returncode == 1, printed[-3000:]
    assert "teardown of scenario" in done.stderr  # the log line, inert
    for char in ACTIVE:
        assert char not in printed, (char, printed[-3000:])
    assert "\\x1b[2J" in done.stdout and "\\x1b[2J" in done.stderr
