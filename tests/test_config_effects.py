"""One effects spec gives one chain whichever way it is given: the API, a suite file, the CLI.

All of them go through :func:`russo_nb.pipeline.build_effects`; these tests hold the front ends
to it by comparing what each one builds (or, for the CLI, records on the runs it made).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from russo_nb.audio import EspeakSynthesizer, Noise, Speed, TelephoneBand
from russo_nb.config import build_pipeline, load_suite
from russo_nb.errors import InvalidArgumentError, SuiteFileError
from russo_nb.pipeline import build_effects, make_pipeline
from russo_nb.protocols import effect_name

SPEC = "noise:pink:5db,speed:1.2,telephone"


def _agent(audio):
    return []


def _suite(tmp_path, effects: str) -> object:
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"effects: {effects}\n"
        "pipeline: {agent: {object: 'cli_agents:keyword_agent'}}\n"
        "tests:\n  - {prompt: book a flight, expect: ['book_flight()']}\n"
    )
    return load_suite(path)


def test_the_api_and_a_suite_file_build_equal_chains(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    api = make_pipeline(_agent, EspeakSynthesizer(), effects=SPEC).effects
    assert api == [Noise(snr_db=5.0, kind="pink"), Speed(1.2), TelephoneBand()]
    suite = build_pipeline(_suite(tmp_path, str(SPEC.split(",")))).effects
    assert suite == api
    objects = build_effects([Noise(snr_db=5.0, kind="pink"), "speed:1.2", ["telephone"]])
    assert objects == api


@pytest.mark.slow
def test_the_cli_records_the_same_chain(tmp_path, cli_env):
    expected = [effect_name(effect) for effect in build_effects(SPEC)]
    suite = tmp_path / "one.yaml"
    suite.write_text("tests:\n  - {prompt: book a flight to Paris, expect: ['book_flight()']}\n")
    command = [sys.executable, "-m", "russo_nb", "demo", "--runs", "1", "--quiet", "--suite", str(suite)]
    done = subprocess.run(
        [*command, "--effects", SPEC], cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("; " + ", ".join(expected)), done.stdout


def test_a_bad_spec_is_the_same_error_everywhere(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    with pytest.raises(InvalidArgumentError, match=r"^unknown effect 'reverb' in 'reverb'"):
        make_pipeline(_agent, EspeakSynthesizer(), effects="noise:10db,reverb")
    with pytest.raises(SuiteFileError, match=r"effects\[1\]: unknown effect 'reverb' in 'reverb'"):
        build_pipeline(_suite(tmp_path, "['noise:10db', reverb]"))
    with pytest.raises(SuiteFileError, match=r"effects\[0\]: .*has no apply"):
        build_effects([3], where="effects", error=SuiteFileError)
