"""Recognition with pocketsphinx, LocalVoiceAgent end to end, YAML intents, and the demo command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import russo_nb as russo
from russo_nb import ConfigurationError, InvalidArgumentError, SuiteFileError
from russo_nb.adapters import IntentSet, LocalVoiceAgent
from russo_nb.adapters.intents import MAX_INTENTS_BYTES
from russo_nb.audio import Noise, PocketsphinxRecognizer
from russo_nb.config import Suite
from russo_nb.demo import demo_suite, main, run_demo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def agent():
    """The demo agent with its recognition worker processes started (tests using it are slow)."""
    agent = LocalVoiceAgent.demo()
    agent.warm_up()
    return agent


# -- recognition ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_clean_prompts_are_recognized(agent, espeak):
    prompts = [
        "Book a flight from New York to Los Angeles",
        "What is the weather in London tomorrow",
        "Wake me up at six thirty in the morning",
        "Put on some jazz",
    ]
    recognizer = agent.recognizer
    for prompt in prompts:
        heard = recognizer.transcribe_sync(espeak.synthesize_sync(prompt))
        assert heard.text == prompt.lower()
        assert heard.duration_s > 1.0


@pytest.mark.slow
def test_concurrent_recognition_uses_several_worker_processes(agent, espeak):
    import asyncio

    clips = [espeak.synthesize_sync(text) for text in demo_suite().prompts[:8]]

    async def all_at_once():
        return await asyncio.gather(*(agent.recognizer.transcribe(clip) for clip in clips))

    heard = asyncio.run(all_at_once())
    assert [item.text for item in heard] == [agent.recognizer.transcribe_sync(clip).text for clip in clips]
    pids = {item.extra["pid"] for item in heard}
    assert os.getpid() not in pids
    assert len(pids) >= min(2, os.cpu_count() or 1)


def test_generic_language_model_is_available(espeak):
    recognizer = PocketsphinxRecognizer(mode="inline")
    heard = recognizer.transcribe_sync(espeak.synthesize_sync("hello"))
    assert isinstance(heard.text, str) and heard.decode_s > 0


# -- the agent end to end --------------------------------------------------------------------------


@pytest.mark.slow
def test_local_agent_through_run_concurrent_clean_and_noisy(agent, espeak):
    suite = demo_suite()
    clean = russo.run_concurrent_sync(suite.prompts, espeak, agent, expect=suite.expect, runs=1)
    assert clean.total == len(suite.prompts) >= 12
    assert clean.pass_rate >= 0.9
    run = clean.runs[0]
    assert run.response.text == run.prompt.lower()
    assert run.response.raw["transcript"] == run.response.text
    assert run.response.raw["intent"] == "book_flight" and run.response.raw["confidence"] == 1.0
    assert run.response.raw["mode"] == "voice"
    assert clean.audio_for(run) is not None

    noisy = russo.run_concurrent_sync(
        suite.prompts, espeak, agent, expect=suite.expect, runs=1, effects=[Noise(0.0)], seed=3
    )
    assert noisy.metadata.effects == ["noise:white:0dB"]
    assert all(r.effects == ["noise:white:0dB"] for r in noisy.runs)
    assert noisy.pass_rate <= clean.pass_rate - 0.3  # real mishearing in noise
    assert {r.status for r in noisy.runs} <= {"passed", "failed"}  # misheard, never crashed
    misheard = [r for r in noisy.runs if r.status == "failed"]
    assert any(r.response.text != r.prompt.lower() for r in misheard)


def test_text_mode_and_unknown_requests():
    import asyncio

    agent = LocalVoiceAgent.demo()  # text needs no recognizer: no worker process starts
    response = asyncio.run(agent.run("Please book a flight from Boston to Paris on friday"))
    assert [str(call) for call in response.tool_calls] == [
        "book_flight(from_city='Boston', to_city='Paris', date='friday')"
    ]
    assert response.raw["mode"] == "text" and 0 < response.raw["confidence"] < 1
    exact = agent.understand("fly me from denver to miami on monday")
    assert str(exact.tool_calls[0]) == "book_flight(from_city='Denver', to_city='Miami', date='monday')"
    nothing = agent.understand("sing me a song")
    assert nothing.tool_calls == [] and nothing.raw["intent"] is None
    result = russo.run_concurrent_sync(
        ["Set my alarm for eight o'clock"], None, agent, expect=["set_alarm(time='08:00')"], runs=2
    )
    assert result.pass_rate == 1.0


# -- intents from YAML ----------------------------------------------------------------------------

GOOD = """
name: tiny
slot_types:
  color: {red: [red, crimson], blue: [blue]}
intents:
  - tool: paint
    slots: {color: color}
    phrases: ["paint it {color}", "make it {color}"]
"""


def test_yaml_intents_load_and_parse(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text(GOOD)
    agent = LocalVoiceAgent.from_yaml(path, mode="inline")
    assert agent.tools == ["paint"] and agent.name == "LocalVoiceAgent(tiny)"
    assert str(agent.understand("Make it crimson!").tool_calls[0]) == "paint(color='red')"
    grammar = agent.intents.jsgf()
    assert "public <command>" in grammar and "crimson" in grammar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("intents: [", "line 1 column 11: invalid YAML (expected the node content"),
        (GOOD + "slot_types: {}\n", 'duplicate key "slot_types" (first on line'),  # the second was kept
        ("- just a list", "expected a mapping with an 'intents:'"),
        (GOOD.replace("slots: {color: color}", "slots: {color: colour}"), "type 'colour', which is not in slot_types"),
        (GOOD.replace("paint it {color}", "paint it {shade}"), "uses {shade}, which is not one of its slots"),
        (GOOD.replace("paint it {color}", "paint it {color} 2 times"), "write phrases in spoken words"),
        (GOOD.replace("tool: paint", "tool: paint it"), "must be a Python identifier"),
        (
            GOOD.replace('    phrases: ["paint it {color}", "make it {color}"]\n', ""),
            r"intents.0.phrases: Field required",
        ),
        (GOOD.replace('["paint it {color}", "make it {color}"]', "[]"), "needs at least one phrase"),
        (GOOD.replace("{red: [red, crimson], blue: [blue]}", "{}"), "slot type 'color' has no values"),
        ("name: empty\nintents: []\n", "the 'intents:' list is empty"),
        ("intents: paint it red\n", "intents: Input should be a valid list"),
        ("", "expected a mapping with an 'intents:'"),
    ],
)
def test_bad_intent_files_raise_suite_file_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(SuiteFileError, match=message.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")):
        LocalVoiceAgent.from_yaml(path)
    with pytest.raises(SuiteFileError, match="does not exist"):
        IntentSet.from_yaml(tmp_path / "missing.yaml")


def test_unreadable_intent_files_raise_suite_file_errors(tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(GOOD.replace("crimson", "carmes\u00ed").encode("latin-1"))
    with pytest.raises(SuiteFileError, match=r"latin1\.yaml is not UTF-8 text"):
        LocalVoiceAgent.from_yaml(latin1)
    with pytest.raises(SuiteFileError, match="is not a regular file"):
        LocalVoiceAgent.from_yaml(tmp_path)  # a directory
    broken = tmp_path / "x.yaml"
    broken.write_text("a: [")
    with pytest.raises(SuiteFileError, match=r"x\.yaml: line 1 column 5: invalid YAML \(expected the node content"):
        LocalVoiceAgent(str(broken))  # a path string goes through from_yaml
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # nothing writes to it: it used to be waited on forever
    with pytest.raises(SuiteFileError, match=r"fifo\.yaml' is not a regular file \(a folder, FIFO"):
        LocalVoiceAgent.from_yaml(fifo)
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as out:
        out.truncate(MAX_INTENTS_BYTES + 1)  # sparse: it used to be read whole before YAML refused it
    with pytest.raises(SuiteFileError, match=f"is {MAX_INTENTS_BYTES + 1:,} bytes; russo reads at most"):
        LocalVoiceAgent.from_yaml(huge)
    with pytest.raises(SuiteFileError, match=r"intents\.0\.phrases"):
        LocalVoiceAgent({"intents": [{"tool": "paint"}]})  # a mapping goes through the same checks


def test_words_the_recognizer_cannot_say_are_named(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_text(GOOD.replace("crimson", "zorblax"))
    agent = LocalVoiceAgent.from_yaml(path)
    assert str(agent.understand("paint it zorblax").tool_calls[0]) == "paint(color='red')"  # text mode is fine
    with pytest.raises(ConfigurationError, match="zorblax"):
        agent.warm_up()


# -- the demo -------------------------------------------------------------------------------------


def test_demo_suite_file():
    suite = demo_suite()
    assert isinstance(suite, Suite) and suite.label == "demo"
    assert len({call.name for calls in suite.expect.values() for call in calls}) >= 3
    assert len(suite.prompts) >= 12 and set(suite.expect) == set(suite.prompts)
    assert any(len(test.prompt_list) > 1 for test in suite.tests)


@pytest.mark.slow
def test_run_demo_records_effects_and_progress():
    seen = []
    result = run_demo(runs=1, effects="noise:20db", on_progress=lambda p: seen.append(p.done))
    assert result.total == len(demo_suite().prompts)
    assert result.metadata.effects == ["noise:white:20dB"] and result.metadata.tags == ["demo"]
    assert seen[-1] == result.total
    heard = {run.audio_key for run in result.runs}
    assert len(heard) == result.total and heard <= set(result.audio)  # every run heard its own noisy clip
    assert result.pass_rate >= 0.8


@pytest.mark.slow
def test_demo_main_prints_the_summary(capsys):
    assert main(["--runs", "1", "--snr", "5", "--max-concurrency", "4"]) == 0
    out = capsys.readouterr().out
    assert "Prompt: 'Book a flight from New York to Los Angeles'" in out
    assert "demo: " in out and "noise:white:5dB" in out


def test_demo_main_writes_the_report(tmp_path, capsys):
    target = tmp_path / "reports" / "demo.html"
    assert main(["--text", "--runs", "1", "--quiet", "--report", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"report: {target}" in out
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Book a flight from New York to Los Angeles" in page
    assert "Runs that did not pass" in page


def test_demo_main_rejects_bad_effects(capsys):
    assert main(["--effects", "reverb:3"]) == 2
    assert "unknown effect 'reverb'" in capsys.readouterr().err


@pytest.mark.parametrize("audio", [["--snr", "5"], ["--effects", "telephone"]])
def test_demo_in_text_mode_refuses_audio_effects_instead_of_dropping_them(capsys, audio):
    """``russo demo --text --snr 5`` ran clean text and said "clean audio", exit 0."""
    from russo_nb.cli import main as russo_main

    assert russo_main(["demo", "--text", "--runs", "1", "-q", *audio]) == 2
    err = capsys.readouterr()
    assert err.out == "" and err.err.strip().splitlines() == [
        "russo demo: error: --effects and --snr change the audio, and --text has none; drop one of them "
        "(see russo demo --help)"
    ]
    with pytest.raises(InvalidArgumentError, match="effects= change audio, so they need a synthesizer"):
        run_demo(runs=1, effects="noise:5db", text_mode=True)  # the API says so too


@pytest.mark.slow
def test_demo_main_from_a_fresh_interpreter_in_text_mode():
    code = "import sys, russo_nb.demo as d; sys.exit(d.main(['--text', '--runs', '2', '--quiet']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "demo: 32/32 runs passed (100%)" in done.stdout and "text mode" in done.stdout


def test_bad_suite_file(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text("tests:\n  - id: x\n    prompts: [hello]\n    expect: ['book_flight(to_city=LA)']\n")
    with pytest.raises(SuiteFileError, match=r"tests\[0\]\.expect\[0\]: .*not a literal"):
        demo_suite(path)
    path.write_text("tests: []\n")
    with pytest.raises(SuiteFileError, match="no 'tests'"):
        demo_suite(path)
    path.write_text("scenarios:\n  - {description: hello}\n")
    with pytest.raises(SuiteFileError, match="no prompt tests"):
        demo_suite(path)


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """Recognition workers must not re-run the user's script (forkserver would import __main__)."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import russo_nb as russo\n"
        "print('SCRIPT BODY RAN', flush=True)\n"
        "agent = russo.LocalVoiceAgent.demo()\n"
        "res = russo.run_concurrent_sync(['What is the weather in Paris'], russo.EspeakSynthesizer(), agent,\n"
        "                                expect=[\"get_weather(city='Paris')\"], runs=2)\n"
        "print('STATUS', [run.status for run in res.runs], flush=True)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("SCRIPT BODY RAN") == 1
    assert "STATUS ['passed', 'passed']" in done.stdout
    piped = subprocess.run([sys.executable, "-"], input=script.read_text(), capture_output=True, text=True, timeout=120)
    assert "STATUS ['passed', 'passed']" in piped.stdout, piped.stderr
