"""One set of engine options (EngineOptions): declared once, one default each, taken by every surface."""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest
from cli_agents import KeywordAgent
from scenario_helpers import booking_scenario

import russo_nb as russo
from russo_nb.arguments import add_engine_arguments, engine_values
from russo_nb.config import parse_suite as _parse_suite
from russo_nb.config import start_suite
from russo_nb.demo import start_demo
from russo_nb.engine import OPTION_NAMES, TEXT_OPTIONS, EngineOptions, engine_options
from russo_nb.errors import InvalidArgumentError, SuiteFileError
from russo_nb.evaluators import ExactEvaluator
from russo_nb.runner import start_batch
from russo_nb.scenario import start_scenarios
from russo_nb.sweep import start_sweep

GIVEN = {
    "max_concurrency": 3,
    "timeout": 2.5,
    "retries": 2,
    "retry_backoff": 0.01,
    "retry_backoff_max": 0.5,
    "rate_limit": "50/s",
    "seed": 7,
}
SUITE = "tests:\n  - {prompt: Book a flight from NYC to LA, expect: [\"book_flight(to_city='LA')\"]}\n"


def _entry_points():
    """Each job entry point, called with the engine options as keywords (all in text mode, nothing run)."""
    agent = KeywordAgent()
    return {
        "start_batch": lambda **kw: start_batch("Book a flight to LA", None, agent, **kw),
        "start_scenarios": lambda **kw: start_scenarios([booking_scenario("s", "Book NYC to LA", [])], **kw),
        "start_suite": lambda **kw: start_suite(parse_suite(SUITE), pipeline=_text_pipeline(agent), **kw),
        "start_sweep": lambda **kw: start_sweep("Book a flight to LA", agent, **kw),
        "start_demo": lambda **kw: start_demo(1, text_mode=True, agent=agent, **kw),
    }


def parse_suite(text: str):
    import yaml

    return _parse_suite(yaml.safe_load(text))


def _text_pipeline(agent):
    from russo_nb.config.pipeline import Pipeline

    return Pipeline(synthesizer=None, agent=agent, evaluator=ExactEvaluator(), effects=[])


@pytest.mark.parametrize("entry", sorted(_entry_points()))
def test_every_entry_point_takes_every_option_by_keyword_and_as_an_object(entry):
    start = _entry_points()[entry]
    by_keyword = start(**GIVEN).settings
    by_object = start(options=EngineOptions(**GIVEN)).settings
    assert by_keyword == by_object == EngineOptions(**GIVEN)
    assert start(options=EngineOptions(**GIVEN), timeout=9).settings.timeout == 9  # a keyword wins over the object


@pytest.mark.parametrize("entry", sorted(_entry_points()))
def test_one_default_each_whatever_the_entry_point(entry):
    settings = _entry_points()[entry]().settings
    assert settings == EngineOptions()  # the demo used to run 8 at a time, the API without limit
    assert settings.max_concurrency is None and settings.retry_backoff == 0.5


@pytest.mark.parametrize(
    "entry", ["start_batch", "start_scenarios", "start_suite", "start_sweep", "start_demo", "resume", "Job.resume"]
)
def test_no_entry_point_declares_an_option_again(entry):
    """Options live in EngineOptions only; max_concurrency stays positional where russo passes it so."""
    from russo_nb.engine import Job
    from russo_nb.resume import resume

    module = {"start_batch": start_batch, "start_scenarios": start_scenarios, "start_suite": start_suite}
    module |= {"start_sweep": start_sweep, "start_demo": start_demo, "resume": resume, "Job.resume": Job.resume}
    declared = set(inspect.signature(module[entry]).parameters) & set(OPTION_NAMES)
    assert declared <= {"max_concurrency", "seed"}
    assert "retry_backoff" not in declared and "timeout" not in declared


def test_an_unknown_option_names_the_close_ones():
    with pytest.raises(InvalidArgumentError, match=r"start_batch\(\): no option 'retry'. Did you mean"):
        start_batch("hi", None, KeywordAgent(), retry=3)
    with pytest.raises(InvalidArgumentError, match="no option 'concurrency'"):
        engine_options(concurrency=4)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("max_concurrency", 0, "max_concurrency must be a whole number >= 1"),
        ("timeout", -1, "timeout must be a finite number of seconds > 0"),
        ("retries", -1, "retries must be a whole number >= 0"),
        ("retry_backoff", float("nan"), "retry_backoff must be a finite number of seconds >= 0"),
        ("rate_limit", "fast", "rate"),
        ("seed", "x", "seed must be a whole number"),
    ],
)
def test_bad_values_are_refused_by_the_options_themselves(name, value, needle):
    with pytest.raises(InvalidArgumentError, match=needle):
        EngineOptions(**{name: value})
    with pytest.raises(InvalidArgumentError, match=needle):
        start_batch("hi", None, KeywordAgent(), **{name: value})


def test_the_suite_file_takes_every_option_as_a_key_and_flags_override_it():
    keys = "".join(f"{name}: {value}\n" for name, value in GIVEN.items())
    suite = parse_suite(keys + SUITE)
    assert suite.options() == EngineOptions(**GIVEN)
    job = start_suite(suite, pipeline=_text_pipeline(KeywordAgent()), timeout=1.0, max_concurrency=1)
    assert job.settings.timeout == 1.0 and job.settings.max_concurrency == 1 and job.settings.retries == 2
    batch = russo.run_sync(job).batch
    assert batch.metadata.retries == 2 and batch.metadata.timeout == 1.0


@pytest.mark.parametrize(("key", "value"), [("retries", -2), ("retry_backoff", "soon"), ("rate_limit", "fast")])
def test_a_bad_option_in_a_suite_file_names_the_key(key, value):
    with pytest.raises(SuiteFileError, match=key):
        parse_suite(f"{key}: {value}\n{SUITE}")


def test_every_text_option_is_a_flag_of_the_cli_and_the_pytest_plugin():
    import argparse

    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    flags = [f"--{name.replace('_', '-')}" for name in TEXT_OPTIONS]
    argv = [part for name, flag in zip(TEXT_OPTIONS, flags, strict=True) for part in (flag, str(GIVEN[name]))]
    assert engine_values(parser.parse_args(argv)) == GIVEN
    assert [f.name for f in fields(EngineOptions) if f.name not in TEXT_OPTIONS] == ["retry_on"]  # Python only

    from russo_nb.cli import _run_parser

    help_text = _run_parser("russo").format_help()
    assert all(flag in help_text for flag in flags)
    plugin = argparse.ArgumentParser()
    add_engine_arguments(plugin, prefix="russo-")
    parsed = plugin.parse_args(["--russo-retries", "4", "--russo-rate-limit", "2/s"])
    assert engine_values(parsed, prefix="russo_") == {"retries": 4, "rate_limit": "2/s"}


def test_a_bad_flag_value_is_one_line_naming_the_flag(capsys):
    from russo_nb.cli import main

    assert main(["suite.yaml", "--retry-backoff", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["russo: error: --retry-backoff needs a number of seconds >= 0, got '-1' (see russo --help)"]
