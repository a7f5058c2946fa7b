"""%russo / %%russo in a real IPython shell: parsing, name lookup, errors, runs, export."""

from __future__ import annotations

import pytest
from notebook_helpers import EVIL, HeardAgent, ToneSynthesizer, booking_agent, make_batch

from russo_nb import agent
from russo_nb.errors import InvalidArgumentError
from russo_nb.notebook.args import parse_command, usage
from russo_nb.types import BatchResult


@pytest.fixture(scope="module")
def ip():
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "russo_nb")
    return shell


@pytest.fixture()
def ns(ip):
    ip.user_ns["booker"] = agent(booking_agent)
    ip.user_ns["not_an_agent"] = 42
    yield ip.user_ns
    for name in ("booker", "not_an_agent", "res", "r2", "calls", "per_prompt", "tones", "heard", "hand", "other"):
        ip.user_ns.pop(name, None)


def russo(ip, line, cell=None):
    if cell is None:
        return ip.run_line_magic("russo", line)
    return ip.run_cell_magic("russo", line, cell)


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("russo:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- parsing ------------------------------------------------------------------------------
def test_parse_options_positionals_and_repeats():
    command = parse_command(
        'run "Book a flight to LA" --agent a --expect "f(x=\'1\')" --expect g --runs 3 --max-concurrency=2 --text'
    )
    assert command.name == "run"
    assert command.positionals == ["Book a flight to LA"]
    assert command.options["expect"] == ["f(x='1')", "g"]
    assert command.options["runs"] == 3 and command.options["max_concurrency"] == 2
    assert command.options["text"] is True


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("rnu x", "Did you mean run?"),
        ("run x --rusn 3", "Did you mean --runs"),
        ("run x --runs three", "--runs needs a whole number"),
        ("run x --runs 0", "--runs must be >= 1"),
        ("run x --timeout -1", "--timeout must be > 0"),
        ("run x --as 1abc", "--as needs a Python variable name"),
        ("run 'unclosed --agent a", "check your quotes"),
        ("run x --agent", "--agent needs a value"),
        ("compare a", "compare needs B; e.g."),
        ("show a b", "unexpected extra arguments"),
        ("", "no subcommand"),
        ("run x --text=yes", "is a flag"),
    ],
)
def test_parse_errors_name_the_problem(line, needle):
    with pytest.raises(InvalidArgumentError) as info:
        parse_command(line)
    assert needle in str(info.value)


def test_cell_body_only_for_run():
    with pytest.raises(InvalidArgumentError, match="takes no cell body"):
        parse_command("show res", "some text")


def test_usage_lists_every_subcommand():
    text = usage()
    for name in ("demo", "run", "suite", "scenario", "show", "compare", "export", "history", "help"):
        assert f"  {name}" in text
    assert "--max-concurrency" in usage("run")


# -- running ------------------------------------------------------------------------------
def test_run_line_stores_result_and_returns_it(ip, ns, capsys):
    result = russo(
        ip,
        'run "Book a flight to LA" "Fly to SF" --agent booker --text '
        "--expect \"book_flight(to_city='LA')\" --runs 3 --as res",
    )
    assert isinstance(result, BatchResult)
    assert ns["res"] is result
    assert result.total == 6 and result.passed_count == 3
    # default evaluator ignores the extra seat= argument
    assert all(run.status == "passed" for run in result.by_prompt()["Book a flight to LA"])
    assert result.metadata.name == "res"
    assert "6/6 runs" in capsys.readouterr().err  # plain-text progress outside a kernel


def test_cell_prompts_one_per_line_and_expect_list_from_namespace(ip, ns):
    from russo_nb import tool_call

    ns["calls"] = [tool_call("book_flight", to_city="LA")]
    result = russo(
        ip,
        "run --agent booker --text --expect calls --as r2 --quiet",
        "Book a flight to LA\n# a comment\n\nI want to go to LA\nTake me to SF\n",
    )
    assert result.prompts == ["Book a flight to LA", "I want to go to LA", "Take me to SF"]
    assert [run.status for run in result.runs] == ["passed", "passed", "failed"]


def test_expect_mapping_per_prompt(ip, ns):
    ns["per_prompt"] = {"to LA": ["book_flight(to_city='LA')"], "to SF": ["book_flight(to_city='SF')"]}
    result = russo(ip, 'run "to LA" "to SF" --agent booker --text --expect per_prompt --quiet')
    assert result.passed_count == 2


def test_run_with_synthesizer_and_effects_keeps_audio(ip, ns):
    ns["tones"] = ToneSynthesizer()
    ns["heard"] = HeardAgent()
    result = russo(
        ip,
        'run "Book a flight to LA" --agent heard --synthesizer tones --effects noise:10db '
        "--runs 2 --quiet --expect \"book_flight(to_city='LA')\"",
    )
    assert result.passed_count == 2
    assert len(ns["heard"].heard) == 2
    clips = [result.audio_for(run) for run in result.runs]
    assert all(clip is not None and clip.duration_s > 0 for clip in clips)
    assert result.metadata.effects and "noise" in result.metadata.effects[0]


# -- mistakes: one message, no traceback, nothing returned ----------------------------------
def test_unknown_agent_lists_close_matches_and_agents(ip, ns, capsys):
    assert russo(ip, 'run "x" --agent bookr --text') is None
    message = one_error(capsys)
    assert "no agent named 'bookr'" in message
    assert "Did you mean booker?" in message
    assert "Agents in your namespace: booker" in message


def test_object_that_is_not_an_agent(ip, ns, capsys):
    assert russo(ip, 'run "x" --agent not_an_agent --text') is None
    message = one_error(capsys)
    assert "not_an_agent is an int, not an agent" in message and "booker" in message


def test_missing_agent_option(ip, ns, capsys):
    assert russo(ip, 'run "x" --text') is None
    assert "needs --agent NAME" in one_error(capsys)


def test_bad_expectation_is_not_evaluated(ip, ns, capsys):
    ns["pwned"] = False
    assert russo(ip, 'run "x" --agent booker --text --expect "book_flight(to_city=__import__(\'os\'))"') is None
    assert "is not a literal" in one_error(capsys)
    assert russo(ip, 'run "x" --agent booker --text --expect "book_flight(LA)"') is None
    assert "positional arguments" in one_error(capsys)


def test_plain_function_is_accepted_as_agent(ip, ns):
    ns["plain"] = booking_agent
    result = russo(ip, 'run "to LA" --agent plain --text --quiet --expect "book_flight(to_city=\'LA\')"')
    assert result.passed_count == 1
    ns.pop("plain")


def test_no_prompts(ip, ns, capsys):
    assert russo(ip, "run --agent booker --text", "\n# only a comment\n") is None
    assert "no prompts" in one_error(capsys)


def test_unknown_option_and_subcommand(ip, ns, capsys):
    assert russo(ip, 'run "x" --agent booker --txt') is None
    assert "Did you mean --text" in one_error(capsys)
    assert russo(ip, "explroe res") is None
    assert "unknown subcommand 'explroe'" in one_error(capsys)


def test_unknown_result_for_show_compare_export(ip, ns, capsys):
    ns["hand"] = make_batch()
    assert russo(ip, "show hnad") is None
    assert "Did you mean hand?" in one_error(capsys)
    assert russo(ip, "compare hand booker") is None
    assert "booker is a FunctionAgent, not a result" in one_error(capsys)
    assert russo(ip, "export hand out.txt") is None
    assert ".html, .csv, .parquet or .jsonl" in one_error(capsys)


def test_suite_file_missing(ip, ns, capsys):
    assert russo(ip, "suite /nonexistent/suite.yaml") is None
    assert "does not exist" in one_error(capsys)


# -- export, compare, help ------------------------------------------------------------------
def test_export_writes_files(ip, ns, tmp_path, capsys):
    ns["hand"] = make_batch()
    for suffix in (".csv", ".jsonl", ".html"):
        target = tmp_path / f"out{suffix}"
        russo(ip, f"export hand {target}")
        assert target.exists() and target.stat().st_size > 0
        assert f"wrote {target}" in capsys.readouterr().out
    html = (tmp_path / "out.html").read_text()
    assert EVIL not in html  # the report escapes what agents wrote


def test_compare_shows_table(ip, ns, capsys):
    ns["hand"] = make_batch(fail_every=2)
    ns["other"] = make_batch(fail_every=5)
    assert russo(ip, "compare hand other") is None
    assert capsys.readouterr().err == ""


def test_help(ip, capsys):
    russo(ip, "help")
    assert "%russo SUBCOMMAND" in capsys.readouterr().out
    russo(ip, "help export")
    assert "--audio" in capsys.readouterr().out
