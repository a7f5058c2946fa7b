"""Sweeps: prompts × voices × SNR × conditions × runs as one job of real espeak-ng audio.

The agent in most tests is a real function agent that measures what it hears (fast); one test
runs the offline demo agent (pocketsphinx) end to end.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

import russo_nb as russo
from russo_nb.analysis import by_factor
from russo_nb.audio import EspeakSynthesizer, espeak_voices, to_numpy
from russo_nb.errors import InvalidArgumentError
from russo_nb.execution.sweep import is_sweep, sweep_factors

PROMPTS = ["Book a flight to Paris", "What is the weather in Boston", "Set an alarm for seven"]


class Counting:
    """A real synthesizer that counts its calls."""

    def __init__(self, voice: str) -> None:
        self.inner = EspeakSynthesizer(voice=voice, memo=0)
        self.calls: list[str] = []

    async def synthesize(self, text):
        self.calls.append(text)
        return await self.inner.synthesize(text)


def dynamic_range_db(audio) -> float:
    """Loudest tenth of 10 ms frames over the quietest tenth, in dB: high for clean speech, low in noise."""
    samples = to_numpy(audio).astype(float)
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    energy = np.sort(np.sqrt((frames**2).mean(axis=1) + 1e-12))
    tenth = max(1, len(energy) // 10)
    return float(20 * np.log10(energy[-tenth:].mean() / energy[:tenth].mean()))


@russo.agent
async def loudness(audio):
    """A real agent that measures what it hears: calls ok() unless noise fills the pauses (range < 20 dB)."""
    return [russo.ToolCall(name="ok", arguments={})] if dynamic_range_db(audio) > 20 else []


def test_one_job_over_every_cell_with_synthesis_per_prompt_and_voice():
    voices = {"us": Counting("en-us"), "scot": Counting("en-gb-scotland")}
    job = russo.start_sweep(
        PROMPTS,
        agent=loudness,
        expect=["ok()"],
        voices=voices,
        snr_db=[None, 20, 0],
        conditions={"plain": None, "phone": "telephone"},
        runs=2,
        max_concurrency=4,
        seed=3,
    )
    assert isinstance(job, russo.Job) and job.total == 3 * 2 * 3 * 2 * 2
    result = asyncio.run(job.wait())
    assert isinstance(result, russo.BatchResult) and result.total == 72
    # synthesis is per (prompt, voice), not per run, SNR or condition
    assert sorted(voices["us"].calls) == sorted(PROMPTS) and sorted(voices["scot"].calls) == sorted(PROMPTS)
    cells = {(r.conditions["voice"], r.conditions["snr_db"], r.conditions["condition"]) for r in result.runs}
    assert len(cells) == 2 * 3 * 2
    clean = [r for r in result.runs if math.isnan(r.conditions["snr_db"])]
    assert len(clean) == 24 and {len(r.effects) for r in clean} == {0, 1}
    phone_0db = next(r for r in result.runs if r.conditions["snr_db"] == 0 and r.conditions["condition"] == "phone")
    assert phone_0db.effects[0] == "noise:white:0dB" and phone_0db.effects[1].startswith("telephone")
    # the agent really heard the noise: 0 dB fails, clean passes
    by_snr: dict[str, list[bool]] = {}
    for run in result.runs:
        by_snr.setdefault(str(run.conditions["snr_db"]), []).append(run.passed)
    assert all(by_snr["nan"]) and all(by_snr["20.0"]) and not any(by_snr["0.0"])
    params = result.metadata.params["sweep"]
    assert params["voices"] == ["us", "scot"] and params["snr_db"] == [None, 20.0, 0.0]


def test_runs_carry_factor_columns_through_frames_and_exports(tmp_path):
    result = russo.run_sweep_sync(
        PROMPTS[:2], agent=loudness, expect=["ok()"], voices=["en-us"], snr_db=[None, 5], runs=2, seed=1
    )
    frame = result.to_dataframe()
    for column in ("voice", "snr_db", "condition"):
        assert column in frame.columns
    assert frame["snr_db"].isna().sum() == 4 and set(frame["snr_db"].dropna()) == {5.0}
    assert set(frame["condition"]) == {"none"} and set(frame["voice"]) == {"en-us"}
    from russo_nb.report import export, load_batch

    for suffix in (".jsonl", ".csv", ".parquet"):
        back = load_batch(export(result, tmp_path / f"sweep{suffix}"))
        again = back.to_dataframe()
        assert again["snr_db"].isna().sum() == 4, suffix
        assert list(again["voice"]) == list(frame["voice"]), suffix
        if suffix == ".csv":  # no metadata block: the factors come from the runs' conditions column
            before = back.runs.built_count
            assert sweep_factors(back) == sweep_factors(result) and is_sweep(back)
            assert back.runs.built_count == before  # read from the column, no run built
    table = by_factor(result, "snr_db")
    assert list(table["level"]) == ["5 dB", "clean"]


def test_round_robin_reaches_every_cell_before_any_second_run():
    async def first_round():
        job = russo.start_sweep(
            PROMPTS[:2], agent=loudness, voices=["en-us", "en-029"], snr_db=[None, 10], runs=3, max_concurrency=1
        )
        seen = []
        async for run in job:
            seen.append(run)
            if len(seen) == 8:
                job.cancel()
        return seen, job.result()

    seen, partial = asyncio.run(first_round())
    assert all(run.run_index == 0 for run in seen[:8])
    assert len({(r.prompt, r.conditions["voice"], str(r.conditions["snr_db"])) for r in seen[:8]}) == 8
    statuses = [run.status for run in partial.runs]
    assert statuses.count("cancelled") == 24 - len([r for r in partial.runs if r.status != "cancelled"])
    cancelled = [run for run in partial.runs if run.status == "cancelled"]
    assert cancelled and all("voice" in run.conditions for run in cancelled)  # cancelled runs keep their cell


def test_a_one_cell_sweep_replays_the_same_batch():
    batch = russo.run_concurrent_sync(
        PROMPTS, EspeakSynthesizer(voice="en-us"), loudness, expect=["ok()"], runs=2, effects="noise:10db", seed=5
    )
    sweep = russo.run_sweep_sync(
        PROMPTS, agent=loudness, expect=["ok()"], voices=["en-us"], snr_db=[10], runs=2, seed=5
    )
    assert [r.audio_key for r in sweep.runs] == [r.audio_key for r in batch.runs]
    assert [r.seed for r in sweep.runs] == [r.seed for r in batch.runs]


def test_run_sweep_awaits_the_same_job():
    result = asyncio.run(russo.run_sweep(PROMPTS[:1], agent=loudness, voices=["en-us"], snr_db=[None, 0], runs=2))
    assert result.total == 4 and [r.conditions["snr_db"] for r in result.runs][2:] == [0.0, 0.0]


def test_voice_entries_and_synthesizers_by_label():
    entries = espeak_voices("en-us", variants=["f3"], rates=[200])
    result = russo.run_sweep_sync(PROMPTS[:1], agent=loudness, voices=entries[:2], runs=1)
    assert {r.conditions["voice"] for r in result.runs} == {"en-us@200wpm", "en-us+f3@200wpm"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"voices": ["en-us", "en-gb-scotlnd"]}, "no voice 'en-gb-scotlnd'"),
        ({"voices": ["en-us+f9"]}, "no variant 'f9'"),
        ({"voices": []}, "voices= is empty"),
        ({"voices": {"a": "en-us", "b": 3}}, "synthesize"),
        ({"voices": ["en-us"], "synthesizer": EspeakSynthesizer()}, "not both"),
        ({"snr_db": [10, 10.0]}, "given twice"),
        ({"snr_db": [500]}, "noise SNR must be"),
        ({"snr_db": ["loud"]}, "not a number of dB"),
        ({"conditions": {"phone": "telefone"}}, r"conditions\['phone'\]"),
        ({"conditions": {}}, "non-empty dict"),
        ({"runs": 0}, "runs must be"),
    ],
)
def test_bad_sweeps_say_what_was_wrong(options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        russo.start_sweep(PROMPTS, agent=loudness, **options)


def test_the_offline_demo_agent_breaks_in_noise():
    from russo_nb.adapters.local import LocalVoiceAgent

    agent = LocalVoiceAgent.demo()
    prompts = ["Get me a flight from Chicago to Boston", "What is the weather in Paris"]
    expect = {
        prompts[0]: ["book_flight(from_city='Chicago', to_city='Boston')"],
        prompts[1]: ["get_weather(city='Paris')"],
    }
    result = russo.run_sweep_sync(
        prompts, agent=agent, expect=expect, voices=["en-us"], snr_db=[None, -5], runs=2, max_concurrency=2, seed=2
    )
    table = by_factor(result, "snr_db").set_index("level")
    assert table.loc["clean", "pass_rate"] > table.loc["-5 dB", "pass_rate"]
