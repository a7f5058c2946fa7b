"""Suite files: loading, validation errors that name the place, component references, run_suite."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest

import russo_nb as russo
from russo_nb.components import ComponentRef, build_component, import_object
from russo_nb.config import combine_batches, load_suite, parse_suite, run_suite, start_suite
from russo_nb.errors import SuiteFileError, UnknownNameError
from russo_nb.evaluators import ExactEvaluator
from russo_nb.progress_text import ProgressPrinter, flaky_prompts

TEXT_PIPELINE = {"synthesizer": None, "agent": {"object": "cli_agents:keyword_agent"}}


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = """
name: flights
pipeline:
  synthesizer: null
  agent: {object: "cli_agents:flaky_agent"}
  evaluator: {class: russo_nb.evaluators.ExactEvaluator, params: {ignore_extra_args: true}}
runs: 2
max_concurrency: 3
tests:
  - id: la
    prompts: ["Book a flight from NYC to LA", "maybe fly from new york to los angeles"]
    expect: ["book_flight(from_city='NYC', to_city='LA')"]
    tags: [flights]
  - id: weather
    prompt: What's the weather in Rome
    expect: [{name: get_weather, arguments: {city: Rome}}]
    runs: 3
    tags: weather
"""


# -- loading and validation -----------------------------------------------------------------


def test_yaml_suite_loads_with_defaults_and_per_test_values(tmp_path):
    suite = load_suite(write(tmp_path, GOOD))
    assert suite.label == "flights"
    assert suite.runs == 2 and suite.max_concurrency == 3
    assert suite.test_ids() == ["la", "weather"]
    assert suite.tests[1].tags == ["weather"]  # a single tag string becomes a list
    assert suite.tests[1].prompt_list == ["What's the weather in Rome"]
    assert suite.pipeline.text_mode
    assert suite.all_tags == ["flights", "weather"]


def test_json_suite_and_file_stem_as_name(tmp_path):
    data = {"pipeline": TEXT_PIPELINE, "tests": [{"prompt": "Book a flight from NYC to LA", "expect": "book_flight"}]}
    suite = load_suite(write(tmp_path, json.dumps(data), "nightly.json"))
    assert suite.label == "nightly"
    assert suite.test_ids() == ["test1"]


@pytest.mark.parametrize(
    ("body", "place", "expected"),
    [
        (
            "tests:\n  - {prompt: a, expect: ['ok()']}\n  - {prompt: b, expect: ['ok()']}\n"
            "  - {prompt: c, expect: ['book_flight(to_city=LA)']}\n",
            "tests[2].expect[0]",
            "expected a tool call",
        ),
        ("tests:\n  - {prompt: a, expect: [42]}\n", "tests[0].expect[0]", "expected a tool call"),
        ("tests:\n  - {expect: [x]}\n", "tests[0]", "exactly one of 'prompt'"),
        ("tests:\n  - {prompt: a}\n", "tests[0].expect", "required key is missing"),
        ("runs: 0\ntests:\n  - {prompt: a, expect: [x]}\n", "runs", "greater than or equal to 1"),
        ("tests:\n  - {prompt: a, expect: [x], runs: many}\n", "tests[0].runs", "valid integer"),
        ("tests:\n  - {prompt: a, expect: [x], promt: b}\n", "tests[0]", "unknown key 'promt'; expected one of: id,"),
        ("runz: 3\ntests:\n  - {prompt: a, expect: [x]}\n", "(top level)", "unknown key 'runz'"),
        (
            "pipeline:\n  agent: {klass: x.Y}\ntests:\n  - {prompt: a, expect: [x]}\n",
            "pipeline.agent",
            "unknown key 'klass'; expected one of: class, factory, object, params",
        ),
        (
            "pipeline:\n  agent: {class: a.B, factory: a.c}\ntests:\n  - {prompt: a, expect: [x]}\n",
            "pipeline.agent",
            "exactly one of 'class'",
        ),
        (
            "tests:\n  - {id: t, prompt: a, expect: [x]}\n  - {id: t, prompt: b, expect: [x]}\n",
            "tests[1].id",
            "duplicate",
        ),
        ("tests:\n  - {prompts: [], expect: [x]}\n", "tests[0]", "'prompts' is empty"),
        ("tests:\n  - {prompts: [a], expect: {b: [x]}}\n", "tests[0].expect", "'b' is not one of the test's prompts"),
        ("name: nothing\n", "(top level)", "no 'tests'"),
        (  # YAML 1.1 reads an unquoted no / off / yes / on as a boolean: "got False" alone would puzzle
            "name: no\ntests:\n  - {prompt: a, expect: [x]}\n",
            "name",
            "(got False: YAML reads an unquoted yes / no / on / off / true / false as true or false; quote the value)",
        ),
        ("tests:\n  - {prompts: [a, On], expect: [x]}\n", "tests[0].prompts[1]", "(got True: YAML reads an unquoted"),
    ],
)
def test_validation_errors_name_file_place_and_expectation(tmp_path, body, place, expected):
    path = write(tmp_path, body)
    with pytest.raises(SuiteFileError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert f": {place}" in message or f" {place}:" in message
    assert expected in message
    assert "\n" not in message


def test_unreadable_files_raise_suite_file_errors(tmp_path):
    with pytest.raises(SuiteFileError, match="no such suite file"):
        load_suite(tmp_path / "missing.yaml")
    with pytest.raises(SuiteFileError, match=r"line 2 column 9: invalid YAML \(mapping values are not allowed"):
        load_suite(write(tmp_path, "tests:\n  - a: b: c\n"))
    with pytest.raises(SuiteFileError, match="line 1 column 2: invalid JSON"):
        load_suite(write(tmp_path, "{oops", "bad.json"))
    with pytest.raises(SuiteFileError, match="top level must be a mapping"):
        load_suite(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(SuiteFileError, match="the file is empty"):
        load_suite(write(tmp_path, ""))


def test_a_key_given_twice_is_refused_where_it_is(tmp_path, capsys):
    """Two ``tests:`` blocks, a test with two ``expect:``: PyYAML and json kept the last without a word (the first
    block's tests never ran, the first expectation was never checked)."""
    twice_expect = "tests:\n  - prompt: hi\n    expect: [f]\n    expect: [g]\n"
    twice_tests = "tests:\n  - {prompt: a, expect: [f]}\nruns: 2\ntests:\n  - {prompt: b, expect: [g]}\n"
    json_twice = '{"tests": [{"prompt": "hi",\n  "expect": ["f"], "expect": ["g"]}]}'
    for name, body, where in (
        ("expect.yaml", twice_expect, 'line 4 column 5: duplicate key "expect" (first on line 3;'),
        ("tests.yaml", twice_tests, 'line 4 column 1: duplicate key "tests" (first on line 1;'),
        ("suite.json", json_twice, 'line 2 column 20: duplicate key "expect" (first on line 2;'),
    ):
        path = write(tmp_path, body, name)
        with pytest.raises(SuiteFileError) as info:
            load_suite(path)
        assert str(info.value).startswith(f"{path}: {where}") and "\n" not in str(info.value)
    from russo_nb.cli import main

    assert main([str(tmp_path / "tests.yaml"), "--no-history"]) == 2  # one line, exit 2, nothing run
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and 'duplicate key "tests"' in captured.err
    merged = "tests:\n  - &base {prompt: hi, expect: [f]}\n  - <<: *base\n    expect: [g]\n"
    tests = load_suite(write(tmp_path, merged, "merged.yaml")).tests  # a merge's key overridden is no repeat
    assert [test.prompt for test in tests] == ["hi", "hi"] and tests[0].expect != tests[1].expect


def test_yaml_is_loaded_safely(tmp_path):
    body = "tests:\n  - {prompt: !!python/object/apply:os.getcwd [], expect: [x]}\n"
    with pytest.raises(SuiteFileError, match="invalid YAML"):
        load_suite(write(tmp_path, body))


def test_per_prompt_expectations(tmp_path):
    body = (
        "pipeline: {synthesizer: null, agent: {object: 'cli_agents:keyword_agent'}}\n"
        "tests:\n  - prompts: [Book a flight from NYC to LA, Book a flight from Berlin to Rome]\n"
        "    expect:\n      Book a flight from NYC to LA: [\"book_flight(to_city='LA')\"]\n"
        "      Book a flight from Berlin to Rome: [{name: book_flight, arguments: {to_city: Rome}}]\n"
    )
    result = run_suite(write(tmp_path, body))
    assert result.passed and result.total == 2


# -- component references -------------------------------------------------------------------


def test_component_references_class_factory_object_and_paths():
    evaluator = build_component({"class": "russo_nb.evaluators.ExactEvaluator", "params": {"match_order": True}})
    assert isinstance(evaluator, ExactEvaluator) and evaluator.match_order
    agent = build_component({"factory": "cli_agents.make_agent", "params": {"wrong_city": "SF"}})
    assert agent.wrong_city == "SF"
    assert build_component({"object": "cli_agents:keyword_agent"}) is import_object("cli_agents.keyword_agent")
    assert build_component("cli_agents.keyword_agent").name == "keyword-agent"
    # a method on a class resolves through the longest importable module prefix
    assert import_object("russo_nb.types.Audio.from_wav_bytes") == russo.Audio.from_wav_bytes
    assert ComponentRef.model_validate({"class": "a.B"}).describe() == "class a.B"


def test_component_reference_errors():
    with pytest.raises(UnknownNameError, match="no module found"):
        import_object("no_such_package_xyz.Agent")
    with pytest.raises(UnknownNameError, match="has no attribute 'NoSuchAgent'"):
        import_object("cli_agents.NoSuchAgent")
    with pytest.raises(UnknownNameError, match="not a class; use 'factory:'"):
        build_component({"class": "cli_agents.make_agent"})
    with pytest.raises(russo.ConfigurationError, match="with params"):
        build_component({"class": "cli_agents.KeywordAgent", "params": {"colour": "red"}})


def test_bad_component_in_a_suite_names_the_pipeline_slot(tmp_path):
    body = (
        "pipeline:\n  synthesizer: null\n  agent: {class: cli_agents.Missing}\ntests:\n  - {prompt: a, expect: [x]}\n"
    )
    path = write(tmp_path, body)
    with pytest.raises(SuiteFileError, match=rf"^{path}: pipeline\.agent: cannot import 'cli_agents\.Missing'"):
        run_suite(path)


def test_effects_in_text_mode_are_rejected(tmp_path):
    body = (
        "pipeline: {synthesizer: null, agent: {object: 'cli_agents:keyword_agent'}}\n"
        "effects: [{object: 'cli_agents:keyword_agent'}]\ntests:\n  - {prompt: a, expect: [x]}\n"
    )
    with pytest.raises(SuiteFileError, match=r"effects\[0\]: .*has no apply"):
        run_suite(write(tmp_path, body))


# -- running --------------------------------------------------------------------------------


def test_run_suite_gives_a_batch_per_test_and_one_combined_batch(tmp_path):
    outcome = run_suite(write(tmp_path, GOOD))
    assert list(outcome.tests) == ["la", "weather"]
    la, weather = outcome.tests["la"], outcome.tests["weather"]
    assert la.total == 4 and weather.total == 3  # suite runs=2 for 2 prompts; the test's own runs=3
    assert weather.passed
    assert flaky_prompts(la) == [("maybe fly from new york to los angeles", 1, 2)]
    combined = outcome.batch
    assert combined.total == 7 and combined.passed_count == 6
    assert combined.metadata.name == "flights"
    assert combined.metadata.max_concurrency == 3
    assert combined.metadata.agent == "flaky-agent"
    parts = combined.metadata.params["tests"]
    assert [(p["id"], p["first_run"], p["n_runs"], p["runs"]) for p in parts] == [
        ("la", 0, 4, 2),
        ("weather", 4, 3, 3),
    ]
    assert combined.runs[4].prompt == "What's the weather in Rome"
    assert not outcome.passed and outcome.pass_rate == pytest.approx(6 / 7)
    summary = outcome.summary()
    assert "la       3/4 passed (75%)" in summary
    assert "flaky: 'maybe fly from new york to los angeles' 1/2 passed" in summary
    assert summary.splitlines()[-1] == "FAILED: 6/7 runs passed (85.7%)"


def test_arguments_override_the_file_and_tags_select_tests(tmp_path):
    path = write(tmp_path, GOOD)
    outcome = run_suite(path, runs=4, max_concurrency=1, tags=["weather"])
    assert list(outcome.tests) == ["weather"]
    assert outcome.batch.total == 4  # runs= beats the test's runs: 3
    assert outcome.batch.metadata.max_concurrency == 1
    with pytest.raises(SuiteFileError, match="no test or scenario has tag nope; tags in the file: flights, weather"):
        run_suite(path, tags=["nope"])
    with pytest.raises(russo.InvalidArgumentError, match="runs must be"):
        run_suite(path, runs=0)


def test_progress_covers_the_whole_suite(tmp_path):
    seen = []
    run_suite(write(tmp_path, GOOD), on_progress=lambda p: seen.append((p.done, p.total)))
    assert seen[-1] == (7, 7)
    assert [done for done, _ in seen] == list(range(1, 8))


def test_agent_errors_are_captured_per_run(tmp_path):
    body = (
        "pipeline: {synthesizer: null, agent: {class: cli_agents.CrashingAgent}}\n"
        "runs: 2\ntests:\n  - {prompt: Book a flight from NYC to LA, expect: [book_flight]}\n"
    )
    outcome = run_suite(write(tmp_path, body))
    assert [run.status for run in outcome.batch.runs] == ["error", "error"]
    assert "the agent crashed on purpose" in str(outcome.batch.runs[0].error)
    assert "2 error" in outcome.summary()


def test_cancelled_suite_keeps_finished_runs(tmp_path):
    import asyncio

    body = GOOD.replace('{object: "cli_agents:flaky_agent"}', "{class: cli_agents.SlowAgent, params: {delay: 0.3}}")
    handle = start_suite(write(tmp_path, body), max_concurrency=1)

    async def go():
        async for _run in handle:
            handle.cancel()
            break
        return handle.result()

    outcome = asyncio.run(go())
    statuses = [run.status for run in outcome.batch.runs]
    assert statuses[0] == "passed" and statuses[1:] == ["cancelled"] * 6
    assert outcome.interrupted


def test_suite_built_in_code_shares_one_clip_per_prompt(tmp_path):
    from cli_agents import KeywordAgent, TextSynthesizer

    from russo_nb.config import Pipeline

    synth = TextSynthesizer()
    suite = parse_suite({"tests": [{"prompt": "Book a flight from NYC to LA", "expect": ["book_flight"]}], "runs": 3})
    pipeline = Pipeline(synth, KeywordAgent(), ExactEvaluator(ignore_extra_args=True), [])
    outcome = run_suite(suite, pipeline=pipeline)
    assert outcome.passed and outcome.batch.total == 3
    assert synth.calls == ["Book a flight from NYC to LA"]  # synthesized once, shared by the runs
    assert outcome.batch.metadata.synthesizer == "text-synth"


def test_synthesizer_is_cached_unless_switched_off(tmp_path):
    from russo_nb.cache import CachedSynthesizer
    from russo_nb.config import build_pipeline

    body = (
        "pipeline:\n  synthesizer: {class: cli_agents.TextSynthesizer}\n  agent: {class: cli_agents.KeywordAgent}\n"
        f"  cache_dir: {tmp_path / 'clips'}\n"
        "tests:\n  - {prompt: Book a flight from NYC to LA, expect: [\"book_flight(to_city='LA')\"]}\n"
    )
    suite = load_suite(write(tmp_path, body))
    pipeline = build_pipeline(suite)
    assert isinstance(pipeline.synthesizer, CachedSynthesizer)
    assert run_suite(suite, pipeline=pipeline).passed
    assert len(list((tmp_path / "clips").glob("*.audio"))) == 1
    second = build_pipeline(suite)
    assert run_suite(suite, pipeline=second).passed
    assert second.synthesizer.hits == 1 and second.synthesizer.inner.calls == []
    assert not isinstance(build_pipeline(suite, cache=False).synthesizer, CachedSynthesizer)


def test_combine_batches_records_each_part():
    runs = [
        russo.SingleRunResult(
            prompt="p", run_index=i, eval_result=russo.EvalResult(passed=i == 0, expected=[], actual=[])
        )
        for i in range(2)
    ]
    a = russo.BatchResult(runs=runs[:1])
    b = russo.BatchResult(runs=runs[1:])
    combined = combine_batches({"a": a, "b": b}, name="both")
    assert combined.total == 2 and combined.metadata.name == "both"
    assert [part["id"] for part in combined.metadata.params["tests"]] == ["a", "b"]


# -- progress text --------------------------------------------------------------------------


def test_progress_printer_plain_lines_and_terminal_bar():
    from russo_nb.engine import Progress

    plain = io.StringIO()
    printer = ProgressPrinter(plain, label="s")
    assert not printer.tty  # a StringIO is not a terminal
    progress = Progress(total=20)
    for index in range(20):
        progress.record(type("R", (), {"status": "passed" if index % 4 else "failed"})())
        printer(progress)
    lines = plain.getvalue().splitlines()
    assert len(lines) == 11  # one line per 10% step
    assert lines[-1] == "s: 20/20 runs done (15 passed, 5 failed, 0 errors)"

    tty = io.StringIO()
    bar = ProgressPrinter(tty, tty=True, label="s")
    progress = Progress(total=2)
    progress.record(type("R", (), {"status": "passed"})())
    bar(progress)
    progress.record(type("R", (), {"status": "error"})())
    bar(progress)
    text = tty.getvalue()
    assert text.startswith("\rs [") and "2/2" in text and "!1" in text and text.endswith("\n")


# -- scenarios --------------------------------------------------------------------------------

SCENARIOS = """
name: convo
pipeline: {synthesizer: null, agent: {class: cli_agents.KeywordAgent}}
runs: 2
tests:
  - {id: la, prompt: Book a flight from NYC to LA, expect: ["book_flight(to_city='LA')"], tags: [prompts]}
scenarios:
  - name: la_then_weather
    script:
      - user: Book a flight from NYC to LA
      - agent
      - user: What is the weather in Rome
      - agent
      - judge: [{tool_called: "book_flight(to_city='LA')"}, {tool_called: "get_weather(city='Rome')"}]
    tags: [convo]
  - name: wrong_on_purpose
    runs: 1
    script:
      - user: What is the weather in Rome
      - agent
      - judge: [{tool_called: "get_weather(city='Berlin')"}]
  - ref: cli_agents:booking_scenario
    runs: 3
"""


def test_suite_scenarios_inline_and_by_reference(tmp_path):
    outcome = run_suite(write(tmp_path, SCENARIOS))
    batch = outcome.scenarios
    assert {name: len(runs) for name, runs in batch.by_scenario().items()} == {
        "la_then_weather": 2,
        "wrong_on_purpose": 1,
        "booking_ref": 3,
    }
    assert [run.status for run in batch.by_scenario()["wrong_on_purpose"]] == ["failed"]
    assert all(run.passed for run in batch.by_scenario()["la_then_weather"])
    assert outcome.total == 2 + 6 and outcome.passed_count == 7
    summary = outcome.summary()
    assert "  wrong_on_purpose  0/1 passed (0%)" in summary
    assert "FAILED: 7/8 runs passed (87.5%)" in summary
    # tags select scenarios too
    only = run_suite(write(tmp_path, SCENARIOS), tags=["convo"])
    assert only.tests == {} and only.scenarios.scenarios == ["la_then_weather"]
    assert only.passed


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("{name: x, script: [{shout: hi}]}", "scenarios[0]: script step 1"),
        ("{name: x, script: [agent, {judge: [{called: x}]}]}", "scenarios[0]: criterion"),
        ("{ref: 'cli_agents:keyword_agent'}", "scenarios[0]: ref 'cli_agents:keyword_agent' gave a KeywordAgent"),
        ("{ref: 'cli_agents:nothing_here'}", "scenarios[0]: cannot import"),
        ("{name: x}", "scenarios[0]: a scenario needs 'ref'"),
        ("{name: x, script: [agent], turns: 3}", "scenarios[0]: unknown key 'turns'; expected one of: ref, id, name"),
    ],
)
def test_scenario_errors_name_the_place(tmp_path, scenario, expected):
    body = f"pipeline: {{synthesizer: null, agent: {{class: cli_agents.KeywordAgent}}}}\nscenarios:\n  - {scenario}\n"
    path = write(tmp_path, body)
    with pytest.raises(SuiteFileError) as info:
        run_suite(path)
    assert str(info.value).startswith(f"{path}: {expected}"), str(info.value)


def test_the_demo_suite_file_loads(tmp_path):
    from russo_nb.adapters import LocalVoiceAgent
    from russo_nb.config import build_pipeline
    from russo_nb.demo import demo_suite

    suite = load_suite(Path(__file__).resolve().parents[1] / "data" / "demo_suite.yaml")
    assert suite.label == "demo" and suite.runs >= 1 and len(suite.tests) >= 5
    assert suite.intents_path().name == "demo_intents.yaml"
    pipeline = build_pipeline(suite, cache_dir=tmp_path)
    assert isinstance(pipeline.agent, LocalVoiceAgent)
    assert type(pipeline.synthesizer.inner).__name__ == "EspeakSynthesizer"
    # the demo module reads the same file through load_suite
    again = build_pipeline(demo_suite(), cache=False)
    assert type(again.synthesizer).__name__ == "EspeakSynthesizer"


def test_an_oversized_suite_file_is_refused_before_it_is_read(tmp_path):
    """A 3 GB sparse file used to be read whole (21 s, 6 GB of memory) before YAML complained about it."""
    from russo_nb.surfaces.config.loading import MAX_SUITE_BYTES

    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as out:
        out.truncate(MAX_SUITE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(SuiteFileError, match=rf"^{re.escape(str(huge))}: .* is {MAX_SUITE_BYTES + 1:,} bytes; russo"):
        load_suite(huge)


@pytest.mark.slow
def test_a_fifo_given_as_the_suite_file_is_one_line_not_a_hang(tmp_path, russo_cli):
    os.mkfifo(tmp_path / "suite.yaml")  # nothing ever writes to it: reading it would wait forever
    done = russo_cli("run", "suite.yaml", "--no-history", cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("russo: error: suite.yaml: ") and "not a regular file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
