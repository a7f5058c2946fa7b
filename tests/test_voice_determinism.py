"""Deterministic synthesis: the same text, voice and settings give the same bytes from any
EspeakSynthesizer, in any order, in any process; a seeded demo batch replays exactly.

Real espeak-ng, real pocketsphinx, a real IPython shell for ``%russo demo``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from russo_nb.audio.espeak import EspeakSynthesizer
from russo_nb.errors import InvalidArgumentError

TEXT = "Book a flight from New York to Los Angeles"


def digest(synthesizer: EspeakSynthesizer, text: str = TEXT) -> str:
    return hashlib.sha256(synthesizer.synthesize_sync(text).data).hexdigest()


def test_two_instances_give_identical_bytes_whatever_came_before():
    first = EspeakSynthesizer(memo=0)
    before = digest(first)
    # a long utterance, another voice and settings, a failed voice: state that used to carry over
    EspeakSynthesizer(memo=0).synthesize_sync("The quick brown fox jumps over the lazy dog. " * 3)
    EspeakSynthesizer(voice="en-GB-x-rp", rate=220, pitch=80, memo=0).synthesize_sync("hello")
    with pytest.raises(InvalidArgumentError, match="no voice"):
        EspeakSynthesizer(voice="klingon-xx").synthesize_sync("hello")
    second = EspeakSynthesizer(memo=0)
    assert digest(second) == before == digest(first)
    assert digest(EspeakSynthesizer(rate=200, memo=0)) != before  # settings still change the sound


@pytest.mark.slow
def test_another_process_gives_the_same_bytes():
    code = (
        "import hashlib; from russo_nb.audio.espeak import EspeakSynthesizer as E; "
        f"E(memo=0).synthesize_sync('warm up'); print(hashlib.sha256(E().synthesize_sync({TEXT!r}).data).hexdigest())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == digest(EspeakSynthesizer(memo=0))


def _replay(result):
    return [
        (run.prompt, run.run_index, run.status, run.audio_key, run.response.text if run.response else None)
        for run in result.runs
    ]


@pytest.mark.slow
def test_two_seeded_demo_batches_in_one_process_are_identical():
    from russo_nb.demo import run_demo

    first = run_demo(runs=1, seed=11, effects="noise:5db", max_concurrency=4)
    second = run_demo(runs=1, seed=11, effects="noise:5db", max_concurrency=4)
    assert _replay(first) == _replay(second)
    assert {key: clip.data for key, clip in first.audio.items()} == {k: c.data for k, c in second.audio.items()}
    assert first.passed_count == second.passed_count
    other = run_demo(runs=1, seed=12, effects="noise:5db", max_concurrency=4)
    assert [run.audio_key for run in other.runs] != [run.audio_key for run in first.runs]  # the seed matters


@pytest.mark.slow
def test_russo_demo_magic_twice_in_one_shell_is_identical(ip):
    shell = ip
    line = "demo --seed 11 --effects noise:5db --runs 1 --quiet --as {}"
    shell.run_line_magic("russo", line.format("first"))
    shell.run_line_magic("russo", line.format("second"))
    first, second = shell.user_ns.pop("first"), shell.user_ns.pop("second")
    assert first.total == second.total > 0
    assert _replay(first) == _replay(second)
