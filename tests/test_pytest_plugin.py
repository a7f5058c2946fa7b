"""The pytest plugin, exercised by real pytest runs (pytester): marker, fixtures, options, summary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Imported here, before any nested in-process run: pytester drops modules first imported inside a
# nested run, and C extensions (numpy, espeak, pocketsphinx) cannot be loaded twice in one process.
import russo_nb.adapters
import russo_nb.audio
import russo_nb.report
import russo_nb.scenario  # noqa: F401

pytest_plugins = ["pytester"]

TESTS_DIR = str(Path(__file__).parent)

TEXT_CONFTEST = """
import pytest
import cli_agents

@pytest.fixture
def russo_agent():
    return cli_agents.FlakyAgent()

@pytest.fixture
def russo_synthesizer():
    return None  # text mode: the agent reads the prompt
"""

LA = "book_flight(from_city='NYC', to_city='LA')"


# Third-party plugins the nested runs do not need (hypothesis' summary alone costs seconds).
QUIET = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:cacheprovider", "-p", "no:anyio")
QUIET += ("-o", "asyncio_default_fixture_loop_scope=function")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An in-process pytest run of the files pytester made."""
    return pytester.runpytest(*QUIET, *args)


@pytest.fixture
def text_mode(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(TEXT_CONFTEST)
    return pytester


def test_one_prompt_one_run_gives_an_eval_result_and_more_give_a_batch(text_mode):
    text_mode.makepyfile(
        f"""
        import pytest
        import russo_nb as russo

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"])
        def test_single(russo_result):
            assert isinstance(russo_result, russo.EvalResult)
            assert russo_result.passed and russo_result.match_rate == 1.0

        @pytest.mark.russo(prompt="Book a flight from NYC to LA",
                           expect=[russo.tool_call("book_flight", from_city="NYC", to_city="LA")], runs=3)
        def test_runs(russo_result):
            assert isinstance(russo_result, russo.BatchResult)
            assert russo_result.total == 3 and russo_result.pass_rate == 1.0

        @pytest.mark.russo(prompts=["Book a flight from NYC to LA", "Fly me from New York to Los Angeles"],
                           expect=["{LA}"])
        def test_prompts(russo_result):
            assert russo_result.total == 2
            assert russo_result.passed

        @pytest.mark.russo(prompts=["Book a flight from NYC to LA", "Fly me from NYC to LA"],
                           expect=["{LA}"], runs=3, max_concurrency=4)
        def test_matrix(russo_result):
            assert russo_result.total == 6
            assert russo_result.metadata.max_concurrency == 4
        """
    )
    result = run(text_mode)
    result.assert_outcomes(passed=4)


PEAK_CONFTEST = """
import pytest
import cli_agents

@pytest.fixture
def russo_agent():
    return cli_agents.PeakAgent()

@pytest.fixture
def russo_synthesizer():
    return None
"""


def test_the_seed_examples_run_as_written(pytester):
    """The three README/seed examples, verbatim (async, russo.tool_call), plus the concurrency really used."""
    pytester.makeconftest(PEAK_CONFTEST)
    pytester.makepyfile(
        """
        import pytest
        import russo_nb as russo

        @pytest.mark.russo(
            prompt="Book a flight from NYC to LA",
            expect=[russo.tool_call("book_flight", from_city="NYC", to_city="LA")],
            runs=3,
        )
        async def test_reliability(russo_result):
            assert isinstance(russo_result, russo.BatchResult)
            assert russo_result.pass_rate >= 0.8

        @pytest.mark.russo(
            prompts=[
                "Book a flight from NYC to LA",
                "I need to fly from NYC to LA",
            ],
            expect=[russo.tool_call("book_flight", from_city="NYC", to_city="LA")],
        )
        async def test_prompt_variants(russo_result):
            assert russo_result.total == 2
            assert russo_result.passed

        @pytest.mark.russo(
            prompts=["Book from NYC to LA", "Fly NYC to LA"],
            expect=[russo.tool_call("book_flight", from_city="NYC", to_city="LA")],
            runs=3,
            max_concurrency=4,
        )
        async def test_full_matrix(russo_result, russo_agent):
            assert russo_result.total == 6  # 2 prompts x 3 runs
            assert russo_agent.calls == 6 and russo_agent.peak == 4  # 4 at a time, never more
            assert [len(runs) for runs in russo_result.by_prompt().values()] == [3, 3]
        """
    )
    run(pytester, "-p", "no:asyncio").assert_outcomes(passed=3)


def test_concurrency_option_caps_real_runs_and_the_marker_wins(pytester):
    pytester.makeconftest(PEAK_CONFTEST)
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"])
        def test_from_option(russo_result, russo_agent):
            assert russo_agent.calls == 5 and russo_agent.peak == 2

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=3, max_concurrency=3)
        def test_marker_wins(russo_result, russo_agent):
            assert russo_agent.calls == 3 and russo_agent.peak == 3
        """
    )
    run(pytester, "--russo-runs", "5", "--russo-max-concurrency", "2").assert_outcomes(passed=2)


def test_option_sets_runs_and_concurrency_and_the_marker_wins(text_mode):
    text_mode.makepyfile(
        f"""
        import pytest

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"])
        def test_from_option(russo_result):
            assert russo_result.total == 4
            assert russo_result.metadata.max_concurrency == 2

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=2, max_concurrency=1)
        def test_marker_wins(russo_result):
            assert russo_result.total == 2
            assert russo_result.metadata.max_concurrency == 1
        """
    )
    run(text_mode, "--russo-runs", "4", "--russo-max-concurrency", "2").assert_outcomes(passed=2)
    # without the option a single prompt runs once and is an EvalResult, so test_from_option fails
    run(text_mode).assert_outcomes(passed=1, failed=1)


def test_bad_option_value_is_a_usage_error(text_mode):
    text_mode.makepyfile("def test_nothing():\n    pass\n")
    result = run(text_mode, "--russo-runs", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--russo-runs must be a whole number >= 1, got 0*"])


def test_a_negative_number_in_exponent_form_is_read_as_the_option_s_value(text_mode):
    """``--russo-timeout -1e3`` was "expected one argument" (argparse takes only -5 / -0.5 for numbers)."""
    text_mode.makepyfile("def test_nothing():\n    pass\n")
    result = run(text_mode, "--russo-timeout", "-1e3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--timeout needs a number of seconds > 0, got '-1e3'*"])


ASYNC_TEST = f"""
import asyncio
import pytest
import russo_nb as russo

@pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=3)
async def test_async(russo_result):
    await asyncio.sleep(0.01)
    assert asyncio.get_running_loop() is not None
    assert isinstance(russo_result, russo.BatchResult)
    assert russo_result.pass_rate >= 0.8

@pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"])
async def test_async_fails(russo_result):
    await asyncio.sleep(0)
    assert not russo_result.passed, "the body really runs"
"""


def test_async_tests_run_without_pytest_asyncio(text_mode):
    text_mode.makepyfile(ASYNC_TEST)
    result = run(text_mode, "-p", "no:asyncio")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*the body really runs*"])
    assert "not natively supported" not in result.stdout.str()


@pytest.mark.parametrize("mode", ["auto", "strict"])
def test_async_tests_do_not_clash_with_pytest_asyncio(text_mode, mode):
    source = ASYNC_TEST
    if mode == "strict":  # strict mode: the user marks tests for pytest-asyncio, which then runs them
        source = source.replace("async def test_async(", "@pytest.mark.asyncio\nasync def test_async(")
    text_mode.makepyfile(source)
    result = run(text_mode, "-p", "asyncio", "-o", f"asyncio_mode={mode}")
    result.assert_outcomes(passed=1, failed=1)


def test_terminal_summary_shows_pass_rates_and_flaky_prompts(text_mode):
    text_mode.makepyfile(
        f"""
        import pytest

        @pytest.mark.russo(prompts=["Book a flight from NYC to LA", "maybe a flight from NYC to LA"],
                           expect=["{LA}"], runs=4)
        def test_flaky(russo_result):
            assert russo_result.pass_rate >= 0.5

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=2)
        def test_steady(russo_result):
            assert russo_result.passed

        def test_plain():
            pass
        """
    )
    result = run(text_mode)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*= russo =*",
            "test_terminal_summary_shows_pass_rates_and_flaky_prompts.py::test_flaky   6/8 passed (75%)",
            "    flaky: 'maybe a flight from NYC to LA' 2/4 passed",
            "test_terminal_summary_shows_pass_rates_and_flaky_prompts.py::test_steady  2/2 passed (100%)",
            "russo: 2 tests, 8/10 finished runs passed (80.0%)",
        ]
    )
    assert "test_plain" not in result.stdout.str().split("= russo =")[1]


def test_missing_agent_fixture_is_a_clear_error(pytester):
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef russo_synthesizer():\n    return None\n")
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"])
        def test_needs_agent(russo_result):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*russo: no agent to test. Define a `russo_agent` fixture*", "*def russo_agent():*"])


def test_marker_mistakes_are_clear_failures(text_mode):
    text_mode.makepyfile(
        f"""
        import pytest

        def test_no_marker(russo_result):
            pass

        @pytest.mark.russo(prompt="a", prompts=["b"], expect=["{LA}"])
        def test_both(russo_result):
            pass

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], run=3)
        def test_typo(russo_result):
            pass

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["book_flight(to_city=LA)"])
        def test_bad_expect(russo_result):
            pass
        """
    )
    result = run(text_mode)
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines_random(
        [
            "*russo: the russo_result fixture needs @pytest.mark.russo(prompt=..., expect=...) on the test*",
            "*russo: @pytest.mark.russo needs exactly one of prompt= (a string) or prompts=*",
            "*russo: @pytest.mark.russo got unknown argument(s) run; it takes prompt, prompts, expect, runs*",
            "*russo: argument to_city=LA in*is not a literal*",
        ]
    )


def test_a_crashing_agent_fails_a_single_run_with_its_error(pytester):
    pytester.makeconftest(
        "import pytest, cli_agents\n\n"
        "@pytest.fixture\ndef russo_agent():\n    return cli_agents.CrashingAgent()\n\n"
        "@pytest.fixture\ndef russo_synthesizer():\n    return None\n"
    )
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"])
        def test_one(russo_result):
            pass

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=2)
        def test_batch(russo_result):
            assert [run.status for run in russo_result.runs] == ["error", "error"]
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*russo: the run ended with error: RuntimeError during agent: the agent crashed*"])


def test_marker_components_and_effects_override_fixtures(text_mode):
    text_mode.makepyfile(
        f"""
        import pytest
        import cli_agents
        from russo_nb.evaluators import ExactEvaluator

        class Louder:
            def apply(self, audio, rng):
                return audio.model_copy(update={{"data": audio.data.upper()}})

            def describe(self):
                return "louder"

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"],
                           agent=cli_agents.KeywordAgent(wrong_city="SF"))
        def test_agent_from_marker(russo_result):
            assert not russo_result.passed
            assert russo_result.matches[0].actual.arguments["to_city"] == "SF"

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=2,
                           synthesizer=cli_agents.TextSynthesizer(), effects=[Louder()],
                           evaluator=ExactEvaluator(ignore_extra_args=True))
        def test_audio_with_effects(russo_result):
            assert russo_result.metadata.effects == ["louder"]
            assert russo_result.metadata.synthesizer == "text-synth"
            heard = russo_result.audio_for(russo_result.runs[0])
            assert heard.data == b"BOOK A FLIGHT FROM NYC TO LA"
            assert russo_result.passed
        """
    )
    run(text_mode, "--russo-cache-dir", "clips").assert_outcomes(passed=2)
    assert len(list((text_mode.path / "clips").glob("*.audio"))) == 1


def test_cache_options(text_mode):
    text_mode.makeconftest(
        TEXT_CONFTEST.replace(
            "return None  # text mode: the agent reads the prompt", "return cli_agents.TextSynthesizer()"
        )
    )
    text_mode.makepyfile(
        f"""
        import pytest

        @pytest.mark.russo(prompts=["Book a flight from NYC to LA", "Fly from NYC to LA"], expect=["{LA}"])
        def test_cached(russo_result):
            assert russo_result.passed
        """
    )
    run(text_mode, "--russo-no-cache").assert_outcomes(passed=1)
    assert not (text_mode.path / ".russo_cache").exists()
    run(text_mode).assert_outcomes(passed=1)
    assert len(list((text_mode.path / ".russo_cache").glob("*.audio"))) == 2
    # russo's flags: --russo-clear-cache empties the cache first (and says so); --russo-cache is the default
    cleared = run(text_mode, "--russo-clear-cache", "--russo-no-cache")
    cleared.assert_outcomes(passed=1)
    cleared.stdout.fnmatch_lines(["russo: cleared 2 cached audio entries from *.russo_cache"])
    assert not list((text_mode.path / ".russo_cache").glob("*.audio"))
    run(text_mode, "--russo-cache").assert_outcomes(passed=1)
    assert len(list((text_mode.path / ".russo_cache").glob("*.audio"))) == 2


def test_default_evaluator_is_russos_strict_exact_evaluator(text_mode):
    """An extra argument fails under the plugin's default, as in russo; run() without evaluator= is lenient."""
    text_mode.makepyfile(
        f"""
        import pytest
        import russo_nb as russo
        from russo_nb.evaluators import ExactEvaluator

        @russo.agent
        async def chatty(text):
            arguments = {{"from_city": "NYC", "to_city": "LA", "seat": "12A"}}
            return [russo.ToolCall(name="book_flight", arguments=arguments)]

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], agent=chatty)
        def test_default(russo_result, russo_evaluator):
            assert russo_evaluator.params == ExactEvaluator().params
            assert not russo_result.passed
            assert "seat" in russo_result.summary()

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], agent=chatty,
                           evaluator=ExactEvaluator(ignore_extra_args=True))
        def test_lenient_when_asked(russo_result):
            assert russo_result.passed

        def test_run_without_evaluator_is_lenient():
            batch = russo.run_concurrent_sync("Book a flight from NYC to LA", None, chatty, expect=["{LA}"])
            assert batch.passed
        """
    )
    run(text_mode).assert_outcomes(passed=3)


@pytest.mark.slow
def test_subprocess_run_with_the_entry_point(text_mode, monkeypatch):
    """A real `pytest` process: the plugin loads through its pytest11 entry point."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([TESTS_DIR, os.environ.get("PYTHONPATH", "")]))
    text_mode.makepyfile(ASYNC_TEST)
    result = text_mode.runpytest_subprocess(*QUIET, "-p", "no:asyncio", "--russo-runs", "2")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*::test_async *3/3 passed (100%)", "*::test_async_fails *2/2 passed (100%)"])


@pytest.mark.slow
def test_report_option_writes_one_html_report(text_mode, monkeypatch):
    text_mode.makepyfile(
        f"""
        import pytest

        @pytest.mark.russo(prompts=["Book a flight from NYC to LA", "maybe a flight from NYC to LA"],
                           expect=["{LA}"], runs=2)
        def test_a(russo_result):
            pass

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"])
        def test_b(russo_result):
            pass
        """
    )
    # a real process: the report's chart libraries then load there, not inside this test session
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([TESTS_DIR, os.environ.get("PYTHONPATH", "")]))
    result = text_mode.runpytest_subprocess(*QUIET, "--russo-report", "out/report.html")
    result.assert_outcomes(passed=2)
    report = text_mode.path / "out" / "report.html"
    result.stdout.fnmatch_lines(["russo report: out/report.html"])
    html = report.read_text()
    assert "maybe a flight from NYC to LA" in html and "pytest" in html


def test_scenario_marker_runs_scenarios_with_the_agent_fixture(text_mode):
    text_mode.makepyfile(
        """
        import pytest
        import cli_agents

        @pytest.mark.russo_scenario(cli_agents.booking_scenario(), runs=2)
        def test_own_agent(russo_scenario_result):
            assert russo_scenario_result.total == 2
            assert russo_scenario_result.passed

        @pytest.mark.russo_scenario(cli_agents.agentless_scenario(), runs=4)
        async def test_fixture_agent(russo_scenario_result):
            # the conftest's FlakyAgent mishears every second "maybe" request
            assert russo_scenario_result.passed_count == 2
        """
    )
    result = run(text_mode)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*::test_own_agent      2/2 passed (100%)", "*flaky: 'needs_an_agent' 2/4 passed"])


@pytest.mark.slow
def test_default_synthesizer_is_the_real_offline_voice(pytester):
    """No russo_synthesizer override: espeak-ng speaks, the local agent hears it with pocketsphinx."""
    pytester.makeconftest(
        "import pytest\nfrom russo_nb.adapters import LocalVoiceAgent\n\n"
        "@pytest.fixture(scope='session')\ndef russo_agent():\n    return LocalVoiceAgent.demo()\n"
    )
    pytester.makepyfile(
        """
        import pytest
        import russo_nb as russo

        @pytest.mark.russo(prompt="What is the weather in Paris", expect=["get_weather(city='Paris')"], runs=2)
        def test_voice(russo_result):
            assert russo_result.runs[0].status != "error", russo_result.runs[0].error
            clip = russo_result.audio_for(russo_result.runs[0])
            assert clip is not None and clip.duration_s > 0.5
            assert russo_result.runs[0].response.text.lower().startswith("what is the weather in paris")
            assert russo_result.passed
        """
    )
    # a real pytest process: the recognizer's worker processes belong to it, not to this test run
    pytester.runpytest_subprocess(*QUIET).assert_outcomes(passed=1)
    assert len(list((pytester.path / ".russo_cache").glob("*.audio"))) == 1


def test_bad_marker_values_are_refused_not_replaced(text_mode):
    """``runs=0`` used to become one run and a marker without ``expect=`` passed every run: both now fail clearly."""
    text_mode.makepyfile(
        f"""
        import pytest
        import cli_agents

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=0)
        def test_zero_runs(russo_result):
            pass

        @pytest.mark.russo(prompt="Book a flight from NYC to LA")
        def test_no_expect(russo_result):
            pass

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=None)
        def test_expect_none(russo_result):
            pass

        @pytest.mark.russo_scenario(cli_agents.booking_scenario(), runs=0)
        def test_zero_scenario_runs(russo_scenario_result):
            pass
        """
    )
    result = run(text_mode)
    result.assert_outcomes(errors=4)
    assert "During handling" not in result.stdout.str()  # each message once, not again as the context
    result.stdout.fnmatch_lines(  # each test's error section, in file order, with its one line
        [
            "*ERROR at setup of test_zero_runs*",
            "russo: runs must be a whole number >= 1, got 0",
            "*ERROR at setup of test_no_expect*",
            "russo: @pytest.mark.russo needs expect=*",
            "*ERROR at setup of test_expect_none*",
            "russo: @pytest.mark.russo needs expect=*",
            "*ERROR at setup of test_zero_scenario_runs*",
            "russo: runs must be a whole number >= 1, got 0",
        ]
    )
    result.stdout.fnmatch_lines(["*russo: @pytest.mark.russo needs expect=[[]...[]], the tool calls the agent should*"])


@pytest.mark.slow
def test_an_unwritable_report_path_is_a_usage_error_before_any_test(text_mode, monkeypatch):
    """A real ``python -m pytest`` process: ``--russo-report`` at a folder or under a file stops it at once."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([TESTS_DIR, os.environ.get("PYTHONPATH", "")]))
    text_mode.makepyfile(ASYNC_TEST)
    (text_mode.path / "a_file").write_text("not a folder")
    (text_mode.path / "a_folder.html").mkdir()
    for target, reason in (
        ("a_file/r.html", "cannot write 'a_file/r.html': *'a_file' is a file, not a folder"),
        ("a_folder.html", "cannot write 'a_folder.html': *is a folder"),
        ("report.csv", "a report is an HTML page: give a path ending in .html, got 'report.csv' (*export(*"),
    ):
        result = text_mode.runpytest_subprocess(*QUIET, "-p", "no:asyncio", "--russo-report", target)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"*--russo-report: {reason}*"])
        assert "passed" not in result.stdout.str()  # no test ran
    assert not (text_mode.path / "report.csv").exists()  # HTML was written there after every test had run


def test_the_session_line_counts_finished_runs_as_each_test_line_does(pytester):
    """A Ctrl-C inside a run cancels the rest; the total line used to score them as failures (2/6, 33.3%)."""
    pytester.makepyfile(
        """
        import pytest
        import russo_nb as russo

        calls = []

        @pytest.fixture
        def russo_agent():
            @russo.agent
            async def interrupted_on_the_third_call(heard):
                calls.append(heard)
                if len(calls) == 3:
                    raise KeyboardInterrupt
                return russo.AgentResponse(tool_calls=[russo.ToolCall(name="f", arguments={})])

            return interrupted_on_the_third_call

        @pytest.fixture
        def russo_synthesizer():
            return None

        @pytest.mark.russo(prompt="hi", expect=["f()"], runs=6, max_concurrency=1)
        def test_stopped(russo_result):
            assert russo_result.status_counts == {"passed": 2, "cancelled": 4}
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*::test_stopped  2/2 passed (100%, 4 cancelled)",
            "russo: 1 test, 2/2 finished runs passed (100.0%); 4 cancelled runs not counted",
        ]
    )


def test_a_file_given_as_the_cache_folder_is_a_usage_error(text_mode):
    """It used to make every run an error (and the test could still pass); with --russo-clear-cache, INTERNALERROR."""
    text_mode.makepyfile("def test_nothing():\n    pass\n")
    (text_mode.path / "a_file").write_text("not a folder")
    for extra in ([], ["--russo-clear-cache"]):
        result = run(text_mode, "--russo-cache-dir", "a_file", *extra)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*--russo-cache-dir: audio cache folder 'a_file' is a file, not a folder*"])


def test_a_marked_test_without_the_fixture_fails_instead_of_passing_unrun(text_mode):
    text_mode.makepyfile(
        f"""
        import pytest
        import cli_agents

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=2)
        def test_forgot_the_fixture():
            pass

        @pytest.mark.russo_scenario(cli_agents.booking_scenario(), runs=2)
        def test_forgot_the_scenario_fixture():
            pass

        @pytest.fixture
        def wrapped(russo_result):
            return russo_result

        @pytest.mark.russo(prompt="Book a flight from NYC to LA", expect=["{LA}"], runs=2)
        def test_through_another_fixture(wrapped):
            assert wrapped.total == 2
        """
    )
    result = run(text_mode)
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_forgot_the_fixture*",
            "russo: @pytest.mark.russo runs nothing unless the test asks for the russo_result fixture; add it to "
            "the arguments: def test_forgot_the_fixture(russo_result): ...",
            "*ERROR at setup of test_forgot_the_scenario_fixture*",
            "russo: @pytest.mark.russo_scenario runs nothing unless the test asks for the russo_scenario_result*",
        ]
    )


def test_an_agent_s_error_text_reaches_the_terminal_inert(pytester):
    """A single run's error went into the failure message raw: an agent could clear the screen or fake a verdict."""
    pytester.makepyfile(
        """
        import pytest
        import russo_nb as russo

        @pytest.fixture
        def russo_agent():
            @russo.agent
            async def hostile(heard):
                raise ConnectionError("server said \\x1b[2J\\x1b[32mPASSED\\x1b[0m")

            return hostile

        @pytest.fixture
        def russo_synthesizer():
            return None

        @pytest.mark.russo(prompt="hi", expect=["f()"])
        def test_hostile(russo_result):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    assert "\x1b" not in result.stdout.str()
    said = "russo: the run ended with error: ConnectionError during agent: server said \\x1b[[]2J*"
    result.stdout.fnmatch_lines([said])
