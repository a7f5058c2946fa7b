"""%russo / %%russo in a real IPython shell: parsing, name lookup, errors, runs, export."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_helpers import EVIL, HeardAgent, ToneSynthesizer, booking_agent, make_batch

from russo_nb import agent
from russo_nb.arguments import magic_usage as usage
from russo_nb.arguments import parse_magic as parse_command
from russo_nb.errors import InvalidArgumentError
from russo_nb.types import BatchResult

ROOT = Path(__file__).resolve().parents[1]


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
        ("run x --runs three", "--runs: expected a whole number >= 1, got 'three'"),
        ("run x --runs 0", "--runs: expected a whole number >= 1, got '0'"),
        ("run x --timeout -1", "--timeout needs a number of seconds > 0, got '-1'"),
        ("run x --timeout -1e308", "--timeout needs a number of seconds > 0, got '-1e308'"),  # "expected one arg"
        ("run x --max-concurrency -2E3", "--max-concurrency needs"),
        ("run x --timeout -inf", "--timeout needs a number of seconds > 0, got '-inf'"),
        ("run x --retries many", "--retries needs a whole number from 0 to 100, got 'many'"),
        ("run x --retries 101", "--retries needs a whole number from 0 to 100, got '101'"),  # said ">= 0"
        ("run x --as 1abc", "--as needs a Python variable name"),
        ("run 'unclosed --agent a", "check your quotes"),
        ("run x --agent", "--agent: expected one argument"),
        ("compare a", "compare needs B; e.g."),
        ("show a b", "unexpected extra arguments"),
        ("", "no subcommand"),
        ("run x --text=yes", "--text is a flag and takes no value"),
        ("run x --run 3", "has no option --run. Did you mean --runs"),  # no abbreviations: a typo is an error
    ],
)
def test_parse_errors_name_the_problem(line, needle):
    with pytest.raises(InvalidArgumentError) as info:
        parse_command(line)
    assert needle in str(info.value)


def test_negative_numbers_in_any_form_are_values_not_options():
    """argparse takes only -5 and -0.5 for numbers: --snr -1e308 or -5,-10 was read as an option."""
    for value in ("-1e308", "-5,-10", "-.5e1,clean", "-Infinity"):
        assert parse_command(f"sweep --snr {value} --as sw").options["snr"] == value


def test_cell_body_only_for_run():
    with pytest.raises(InvalidArgumentError, match="takes no cell body"):
        parse_command("show res", "some text")


def test_usage_lists_every_subcommand():
    text = usage()
    for name in ("demo", "run", "suite", "scenario", "show", "compare", "export", "history", "help"):
        assert f"  {name}" in text
    assert "--max-concurrency" in usage("run") and usage("run").startswith("usage: %russo run [-h]")


def test_the_magics_and_the_command_share_one_declaration_of_the_engine_flags():
    """Every engine option is a flag of %russo run / suite / scenario / demo and of `russo`, read the same way."""
    from russo_nb.cli import _run_parser
    from russo_nb.engine import TEXT_OPTIONS

    line = "--max-concurrency 2 --timeout 1.5 --retries 3 --retry-backoff 0.1 --retry-backoff-max 2 "
    line += "--rate-limit 5/s --seed 9"
    cli = vars(_run_parser("russo").parse_args(["s.yaml", *line.split()]))
    for head in ("run x --agent a", "suite s.yaml", "scenario sc", "demo"):
        command = parse_command(f"{head} {line}")
        assert {name: command.get(name) for name in TEXT_OPTIONS} == {name: cli[name] for name in TEXT_OPTIONS}


def test_help_flag_prints_the_parsers_help_and_runs_nothing(ip, capsys):
    assert russo(ip, "run --help") is None
    out = capsys.readouterr().out
    assert out.startswith("usage: %russo run") and "--retry-backoff S" in out


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


def test_ipythons_own_open_is_never_suggested(ip, ns, capsys):
    """Every IPython shell puts ``open`` in the namespace; "nope" is close to it, and no agent."""
    assert "open" in ns
    assert russo(ip, 'run "x" --agent nope --text') is None
    message = one_error(capsys)
    assert (
        "no agent named 'nope'" in message and "open" not in message and "Agents in your namespace: booker" in message
    )


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
    assert "the suffix must be one of" in (error := one_error(capsys)) and ".jsonl.gz" in error


def test_suite_file_missing(ip, ns, capsys):
    assert russo(ip, "suite /nonexistent/suite.yaml") is None
    assert "does not exist" in one_error(capsys)


# -- export, compare, help ------------------------------------------------------------------
def test_export_writes_files(ip, ns, tmp_path, capsys):
    ns["hand"] = make_batch()
    for suffix in (".csv", ".jsonl", ".jsonl.gz", ".html"):  # every suffix the README lists
        target = tmp_path / f"out{suffix}"
        russo(ip, f"export hand {target}")
        assert target.exists() and target.stat().st_size > 0
        assert f"wrote {target}" in capsys.readouterr().out
    html = (tmp_path / "out.html").read_text()
    assert EVIL not in html  # the report escapes what agents wrote
    assert (tmp_path / "out.jsonl.gz").read_bytes()[:2] == b"\x1f\x8b"  # gzip


def test_help(ip, capsys):
    russo(ip, "help")
    assert "%russo SUBCOMMAND" in capsys.readouterr().out
    russo(ip, "help export")
    assert "--audio" in capsys.readouterr().out


# -- every subcommand does its job (displayed output captured from the shell) ----------------
def _voice_booking_scenario(name="voice booking <b>"):
    from scenario_helpers import ToneSynthesizer as ScenarioTones
    from scenario_helpers import ToneVoiceAgent, WhiteNoise

    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    return scenario.Scenario(
        name=name,
        description="The caller wants a flight to Rome",
        agents=lambda: [
            scenario.VoiceAgentAdapter(ToneVoiceAgent(), ScenarioTones(), effects=[WhiteNoise(500)]),
            scenario.UserSimulatorAgent(lines=["hello", "a flight to Rome"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Rome")]),
        ],
        max_turns=3,
    )


@pytest.fixture()
def rich(ip):
    """HTML output on, as in a notebook (the test shell is a terminal shell that shows text only)."""
    formatter = ip.display_formatter
    before = list(formatter.active_types)
    formatter.formatters["text/html"].enabled = True
    formatter.active_types = [*before, "text/html", "image/png"]
    yield
    formatter.active_types = before
    formatter.formatters["text/html"].enabled = False


def _shown_widgets(captured):
    from ipywidgets.widgets.widget import _instances

    key = "application/vnd.jupyter.widget-view+json"
    ids = [o.data[key]["model_id"] for o in captured.outputs if o.data and key in o.data]
    return [_instances[i] for i in ids if i in _instances]


def test_scenario_runs_stores_batch_and_show_opens_its_explorer(ip, ns, capsys):
    from IPython.utils.capture import capture_output

    from russo_nb.notebook.explorer import Explorer
    from russo_nb.scenario import ScenarioBatch

    ns["voice_sc"] = _voice_booking_scenario()
    try:
        batch = russo(ip, "scenario voice_sc --runs 2 --as sc --quiet")
        assert isinstance(batch, ScenarioBatch) and ns["sc"] is batch
        assert batch.total == 2 and batch.passed_count == 2 and batch.metadata.name == "sc"
        assert all(len(run.audio) == 2 for run in batch.runs)  # one clip per user turn
        with capture_output() as captured:
            assert russo(ip, "show sc") is None
        (explorer,) = [w for w in _shown_widgets(captured) if isinstance(w, Explorer)]
        assert explorer.result is batch
        explorer.content("Transcripts")
        view = explorer.transcript_view.value
        assert "msg user" in view and "book_flight(to_city=" in view and "Verdict: passed" in view
        assert view.count("<audio") == 2  # each turn's clip plays in the transcript
        assert "voice booking &lt;b&gt;" in view and "voice booking <b>" not in view
    finally:
        for name in ("voice_sc", "sc"):
            ns.pop(name, None)


def test_scenario_mistakes_give_one_message(ip, ns, capsys, monkeypatch):
    from russo_nb import scenario
    from russo_nb.scenario import llm

    assert russo(ip, "scenario no_such_scenario") is None
    assert "no scenario named 'no_such_scenario'" in one_error(capsys)
    assert russo(ip, "scenario not_an_agent") is None
    assert "Scenario" in one_error(capsys)
    for var in ("RUSSO_LLM_MODEL", "RUSSO_LLM_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(llm, "_defaults", llm.LLMConfig())
    ns["needs_model"] = scenario.Scenario(
        name="m", description="d", agents=[booker_adapter(), scenario.JudgeAgent(criteria=["It books the flight"])]
    )
    try:
        assert russo(ip, "scenario needs_model --runs 3 --as never") is None
        message = one_error(capsys)
        assert "needs a language model" in message and "RUSSO_LLM_MODEL" in message
        assert "never" not in ns
    finally:
        ns.pop("needs_model", None)


def booker_adapter():
    from scenario_helpers import BookingAgent

    return BookingAgent()


def test_show_opens_explorer_for_a_batch(ip, ns):
    from IPython.utils.capture import capture_output

    from russo_nb.notebook.explorer import TAB_TITLES, Explorer

    ns["hand"] = make_batch()
    with capture_output() as captured:
        assert russo(ip, "show hand") is None
    (explorer,) = [w for w in _shown_widgets(captured) if isinstance(w, Explorer)]
    assert explorer.result is ns["hand"] and tuple(explorer.tab.titles) == TAB_TITLES
    # the static snapshot is its own output, before the widget: a reopened notebook still shows it
    static = [o.data for o in captured.outputs if "russo-static" in o.data.get("text/html", "")]
    assert len(static) == 1 and "application/vnd.jupyter.widget-view+json" not in static[0]


def test_suite_runs_a_suite_file_with_a_named_agent(ip, ns, tmp_path):
    suite = tmp_path / "mini.yaml"
    suite.write_text(
        "name: mini\n"
        "pipeline: {synthesizer: null}\n"
        "tests:\n"
        "  - id: la\n"
        "    prompts: [Book a flight to LA, Fly me to LA]\n"
        "    expect: [\"book_flight(to_city='LA')\"]\n"
        "  - id: sf\n"
        "    prompt: Fly to SF\n"
        "    expect: [\"book_flight(to_city='LA')\"]\n"
    )
    result = russo(ip, f"suite {suite} --agent booker --runs 2 --as res --quiet")
    assert isinstance(result, BatchResult) and ns["res"] is result
    assert result.total == 6 and result.passed_count == 4
    assert {run.status for run in result.by_prompt()["Fly to SF"]} == {"failed"}


def test_compare_shows_table_and_chart(ip, ns, rich):
    from IPython.utils.capture import capture_output

    ns["hand"] = make_batch(fail_every=2)
    ns["other"] = make_batch(fail_every=5)
    with capture_output() as captured:
        assert russo(ip, "compare hand other") is None
    html = "".join(o.data.get("text/html", "") for o in captured.outputs)
    assert "shared prompts" in html and "russo-compare" in html
    assert "Book a flight to LA" in html and EVIL not in html
    assert "<svg class='russo-svg'" in html  # the comparison chart, inline in the theme's colours
    assert captured.stderr == ""


def test_history_lists_recorded_batches_with_a_trend(ip, ns, tmp_path, capsys, rich):
    from IPython.utils.capture import capture_output

    store = tmp_path / "history.sqlite"
    assert russo(ip, f"history --history {store}") is None
    assert "no batches recorded yet" in capsys.readouterr().out
    for name in ("first", "second"):
        russo(
            ip,
            f'run "to LA" "to SF" --agent booker --text --expect "book_flight(to_city=\'LA\')" '
            f"--runs 2 --record --history {store} --name {name} --quiet",
        )
        assert "recorded batch" in capsys.readouterr().out
    with capture_output() as captured:
        assert russo(ip, f"history --history {store} --limit 5 --as hist") is None
    frame = ns.pop("hist")
    assert len(frame) == 2
    assert any("<svg class='russo-svg'" in o.data.get("text/html", "") for o in captured.outputs)  # the trend
    assert any("text/html" in o.data for o in captured.outputs)  # the table


def test_history_listing_or_opening_creates_no_store(ip, ns, tmp_path, monkeypatch, capsys):
    """``%russo history`` made .russo/history.sqlite (and --history PATH that file) to say nothing was recorded;
    ``russo history`` no longer does (HistoryStore.existing, the one way to open a store only to read it)."""
    monkeypatch.chdir(tmp_path)
    assert russo(ip, "history --as hist") is None
    assert "no batches recorded yet in .russo/history.sqlite" in capsys.readouterr().out
    assert russo(ip, "history open 3f2a") is None
    assert "no batches recorded yet" in one_error(capsys)
    assert russo(ip, f"history --history {tmp_path / 'elsewhere' / 'h.sqlite'}") is None
    assert "no batches recorded yet" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == [] and "hist" not in ns


def test_effects_change_what_the_agent_heard_and_bad_effects_say_so(ip, ns, capsys):
    import asyncio

    ns["tones"] = ToneSynthesizer()
    ns["heard"] = HeardAgent()
    clean = asyncio.run(ToneSynthesizer().synthesize("Book a flight to LA"))
    noisy = russo(ip, 'run "Book a flight to LA" --agent heard --synthesizer tones --effects noise:5db --quiet')
    heard = noisy.audio_for(noisy.runs[0])
    assert heard.pcm != clean.pcm and len(heard.pcm) == len(clean.pcm)
    assert noisy.metadata.effects == ["noise:white:5dB"]
    assert russo(ip, 'run "x" --agent heard --synthesizer tones --effects reverb:3') is None
    assert "unknown effect 'reverb'" in one_error(capsys)


def test_expect_with_an_unknown_bare_name_is_a_mistake_not_a_call(ip, ns, capsys):
    from russo_nb import tool_call

    ns["calls"] = [tool_call("book_flight", to_city="LA")]
    assert russo(ip, 'run "x" --agent booker --text --expect clals') is None
    message = one_error(capsys)
    assert "no list named 'clals'" in message and "Did you mean calls?" in message and 'clals()"' in message
    assert russo(ip, 'run "x" --agent booker --text --expect booking_agent_fn') is None
    assert "booking_agent_fn()" in one_error(capsys)
    ns["hang_up"] = len  # a function is not a list of calls
    assert russo(ip, 'run "x" --agent booker --text --expect hang_up') is None
    assert "hang_up is a builtin_function_or_method, not a list" in one_error(capsys)
    result = russo(ip, 'run "x" --agent booker --text --expect "hang_up()" --quiet')
    assert result.runs[0].status == "failed"  # parsed as a call with no arguments, which booker never makes
    ns.pop("hang_up")


def test_demo_runs_the_demo_suite_through_a_named_agent(ip, ns):
    from russo_nb.demo import demo_suite

    ns["heard"] = HeardAgent()
    result = russo(ip, "demo --agent heard --runs 1 --effects noise:20db --quiet --as res")
    assert isinstance(result, BatchResult) and ns["res"] is result
    prompts = demo_suite().prompts
    assert result.total == len(prompts) and result.prompts == prompts
    assert len(ns["heard"].heard) == result.total and min(ns["heard"].heard) > 0.3  # real speech, seconds long
    assert result.metadata.agent == "HeardAgent" and result.metadata.effects == ["noise:white:20dB"]
    assert result.metadata.tags == ["demo"]
    # HeardAgent books LA with no origin for every prompt: each run is evaluated against the suite and fails
    assert {run.status for run in result.runs} == {"failed"}
    assert all(run.eval_result.expected for run in result.runs)


def test_synthesizer_and_evaluator_names_are_checked_for_their_method(ip, ns, capsys):
    ns["my_synth"] = object()
    assert russo(ip, 'run "hi" --agent booker --synthesizer my_synt') is None
    assert "Did you mean my_synth?" in capsys.readouterr().err
    assert russo(ip, 'run "hi" --agent booker --synthesizer my_synth') is None
    assert "a synthesizer has synthesize(text) -> Audio" in capsys.readouterr().err
    assert russo(ip, 'run "hi" --agent booker --text --evaluator booker') is None
    assert "an evaluator has evaluate(expected, actual) -> EvalResult" in capsys.readouterr().err


def test_record_to_a_bad_history_store_is_refused_before_the_runs(ip, ns, tmp_path, capsys):
    """The store is opened before any run: the batch is not computed and then lost with the error."""
    from russo_nb.testing import ScriptedAgent

    ns["counted"] = counted = ScriptedAgent({"hi": "f()"})
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "notes.txt").write_text("my notes\n")
    for place, reason, flag in (
        ("a_folder", "is a directory", "--history"),
        ("notes.txt", "is not a russo_nb history store", "--history-db"),  # the russo command's name works too
    ):
        line = f'run "hi" --agent counted --text --expect "f()" --record {flag} {tmp_path / place} --quiet'
        assert russo(ip, line) is None
        assert reason in one_error(capsys)
    assert counted.calls == []  # no run was made
    ns.pop("counted")


def test_suite_components_beside_the_suite_file_import_as_with_the_command(ip, ns, tmp_path, capsys):
    """``%russo suite`` did not put the suite's folder on sys.path as ``russo`` does: a suite naming a module
    beside it (data/suites/runloop_booking.yaml does) failed with "no module found" in a notebook."""
    module = f"beside_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(
        "import russo_nb as russo\n"
        "class Agent:\n"
        "    async def run(self, heard):\n"
        "        return russo.AgentResponse(tool_calls=[russo.ToolCall(name='f', arguments={})])\n"
    )
    (tmp_path / "suite.yaml").write_text(
        f"pipeline: {{synthesizer: null, agent: {{class: {module}.Agent}}}}\ntests:\n  - {{prompt: hi, expect: [f]}}\n"
    )
    result = russo(ip, f"suite {tmp_path / 'suite.yaml'} --quiet --as res")
    assert "russo:" not in capsys.readouterr().err
    assert result is not None and result.passed_count == 1


def test_a_suite_s_scenario_runs_are_kept_shown_and_recorded(ip, ns, tmp_path, capsys):
    """``%russo suite`` ran a suite's scenarios and kept only its prompt batch (the scenario runs were computed and
    lost, and --record left them out); a suite of scenarios only was refused."""
    from russo_nb.scenario.batch import ScenarioBatch
    from russo_nb.store import HistoryStore

    suite = ROOT / "data" / "suites" / "text_conversations.yaml"
    store = tmp_path / "h.sqlite"
    result = russo(ip, f"suite {suite} --runs 2 --quiet --as res --record --history {store}")
    out = capsys.readouterr().out
    assert result is ns["res"] and result.total == 2  # the prompt test: 1 prompt x 2 runs
    scenarios = ns.pop("res_scenarios")
    assert isinstance(scenarios, ScenarioBatch) and scenarios.total == 4 and scenarios.passed_count == 4
    assert "the scenario runs are in res_scenarios" in out and out.count("recorded batch") == 2
    assert sorted(HistoryStore(store).list()["runs"]) == [2, 4]

    only = tmp_path / "only_scenarios.yaml"
    text = suite.read_text()
    only.write_text(text[: text.index("tests:")] + text[text.index("scenarios:") :])
    alone = russo(ip, f"suite {only} --runs 1 --quiet")
    assert isinstance(alone, ScenarioBatch) and alone.total == 2 and "russo:" not in capsys.readouterr().err


def test_a_suite_interrupted_resumes_by_either_name_it_was_kept_under(ip, ns, capsys):
    """``%russo resume res_scenarios`` after ``%russo suite ... --as res`` said "not run by %russo in this session"
    (and ``resume res`` asked for --agent: res held the suite's batch, not the result its job made). Either name
    resumes the suite's one job: only the cancelled runs run, and both names get the merged parts."""
    import _thread
    import asyncio

    from russo_nb.adapters.local import LocalVoiceAgent

    class StopsOnce(LocalVoiceAgent):
        calls = 0

        async def run(self, audio):
            type(self).calls += 1
            if type(self).calls == 2:  # Kernel -> Interrupt while the second run is being answered
                _thread.interrupt_main()
                await asyncio.sleep(30)
            return await super().run(audio)

    ns["stops"] = StopsOnce.demo()
    suite = ROOT / "data" / "suites" / "text_conversations.yaml"
    russo(ip, f"suite {suite} --agent stops --runs 2 --max-concurrency 1 --quiet --as res")
    partial, partial_scenarios = ns["res"], ns["res_scenarios"]
    assert partial.status_counts["cancelled"] == 1 and partial_scenarios.total == 4
    assert partial_scenarios.status_counts.get("cancelled", 0) == 4
    capsys.readouterr()
    called = StopsOnce.calls
    whole = russo(ip, "resume res_scenarios --quiet")
    assert "russo:" not in capsys.readouterr().err
    assert whole is ns["res"] and whole.total == 2 and whole.passed_count == 2
    scenarios = ns.pop("res_scenarios")
    assert scenarios.total == 4 and scenarios.passed_count == 4
    assert StopsOnce.calls - called == 1 + 6  # the cancelled prompt run, the scenarios' 6 agent turns; no more
    assert russo(ip, "resume res --quiet") is None
    assert "every run finished; nothing to resume" in capsys.readouterr().out
    ns.pop("stops")
