"""espeak-ng synthesis, WAV helpers and audio effects, measured on real audio."""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np
import pytest

from russo_nb import CachedSynthesizer, InvalidArgumentError, RussoError
from russo_nb.audio import (
    Clip,
    Dropout,
    EspeakSynthesizer,
    Gain,
    Noise,
    Speed,
    TelephoneBand,
    decode_wav,
    encode_wav,
    parse_effect,
    parse_effects,
    resample,
    rms_dbfs,
    to_numpy,
)
from russo_nb.cache import AudioCache
from russo_nb.pipeline import build_effects
from tests.voice_helpers import level_at, power, snr_db, tones

SENTENCE = "Book a flight from New York to Los Angeles"


@pytest.fixture(scope="module")
def clip():
    return EspeakSynthesizer().synthesize_sync(SENTENCE)


# -- synthesizer ----------------------------------------------------------------------------------


def test_synthesizer_produces_real_speech(clip):
    assert clip.sample_rate == 16000 and clip.channels == 1 and clip.sample_width == 2
    assert 1.5 < clip.duration_s < 5.0
    assert rms_dbfs(clip) > -35  # speech, not silence
    samples = to_numpy(clip)
    # speech has pauses and bursts: the loudest 50 ms frames are far louder than the quietest
    frames = samples[: len(samples) // 800 * 800].reshape(-1, 800)
    energies = np.sort((frames**2).mean(axis=1))
    assert energies[-1] > 100 * (energies[0] + 1e-9)


def test_native_rate_and_options_change_the_sound():
    native = EspeakSynthesizer(sample_rate=22050).synthesize_sync("hello world")
    assert native.sample_rate == 22050
    slow = EspeakSynthesizer(rate=110).synthesize_sync(SENTENCE)
    fast = EspeakSynthesizer(rate=280).synthesize_sync(SENTENCE)
    assert slow.duration_s > 1.6 * fast.duration_s
    low = EspeakSynthesizer(pitch=10).synthesize_sync("hello world")
    high = EspeakSynthesizer(pitch=90).synthesize_sync("hello world")
    assert low.data != high.data


def test_longer_text_gives_longer_audio():
    synth = EspeakSynthesizer()
    assert (
        synth.synthesize_sync(SENTENCE + " tomorrow morning please").duration_s
        > synth.synthesize_sync("hello").duration_s
    )


def test_bad_options_and_voice_raise_clear_errors():
    with pytest.raises(InvalidArgumentError, match="rate"):
        EspeakSynthesizer(rate=5)
    with pytest.raises(InvalidArgumentError, match="pitch"):
        EspeakSynthesizer(pitch=500)
    with pytest.raises(InvalidArgumentError, match="no voice 'klingon-xx'"):
        EspeakSynthesizer(voice="klingon-xx").synthesize_sync("hello")
    with pytest.raises(InvalidArgumentError, match="non-empty"):
        EspeakSynthesizer().synthesize_sync("   ")
    # the engine still works after a bad voice
    assert EspeakSynthesizer().synthesize_sync("hello").duration_s > 0.2


def test_same_text_sounds_the_same_every_time():
    synth = EspeakSynthesizer()
    assert synth.synthesize_sync("hello there").data == synth.synthesize_sync("hello there").data
    raw = EspeakSynthesizer(memo=0)  # no memo: espeak-ng itself gives the same bytes every time
    first, _, second = (raw.synthesize_sync(text) for text in ("hello there", "something else", "hello there"))
    assert first.data == second.data


def test_concurrent_synthesis_is_serialized_and_keeps_the_loop_free():
    synth = EspeakSynthesizer(memo=0)
    texts = [f"{SENTENCE} number {i}" for i in range(6)]
    expected = [synth.synthesize_sync(text).duration_s for text in texts]

    async def main():
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        clips = await asyncio.gather(*(synth.synthesize(text) for text in texts))
        done = True
        await task
        return clips, ticks

    clips, ticks = asyncio.run(main())
    # each clip is its own sentence: interleaved calls would merge or truncate clips
    assert [clip.duration_s for clip in clips] == pytest.approx(expected, rel=0.03)
    # the loop kept running while espeak worked: synthesis on the loop would allow one tick per clip
    assert ticks > 100


def test_a_heartbeat_keeps_beating_during_synthesis():
    """While one long synthesis runs, a coroutine on the same loop keeps getting turns."""
    synth = EspeakSynthesizer(memo=0)
    text = " ".join([SENTENCE] * 6)

    async def main():
        beats_during = 0
        task = asyncio.ensure_future(synth.synthesize(text))
        while not task.done():
            beats_during += 1
            await asyncio.sleep(0.001)
        return await task, beats_during

    clip, beats = asyncio.run(main())
    assert clip.duration_s > 10
    assert beats > 5  # a blocked loop would give the heartbeat one turn (before) and none during


def test_effects_are_recorded_and_the_stored_audio_is_what_the_agent_heard():
    import russo_nb as russo

    heard: dict[str, bytes] = {}

    @russo.agent
    async def listener(audio):
        heard.setdefault(audio.content_key(), audio.data)
        return []

    effects = [Noise(10, "white"), Gain(-3)]
    synth = EspeakSynthesizer()  # one instance: it remembers its clips, so a prompt sounds the same each time
    result = russo.run_concurrent_sync(
        ["hello there", "good morning"], synth, listener, expect=[], runs=3, effects=effects, seed=11
    )
    assert result.metadata.effects == ["noise:white:10dB", "gain:-3dB"]
    assert all(run.effects == ["noise:white:10dB", "gain:-3dB"] for run in result.runs)
    keys = [run.audio_key for run in result.runs]
    assert len(set(keys)) == 6  # every run heard its own noise
    for run in result.runs:
        stored = result.audio_for(run)
        assert stored is not None and stored.content_key() in heard
        assert stored.data == heard[stored.content_key()]  # byte for byte what the agent got
    clean = synth.synthesize_sync("hello there")
    assert all(result.audio_for(run).data != clean.data for run in result.runs if run.prompt == "hello there")
    # replaying the batch with the same seed gives the same audio; another seed does not
    again = russo.run_concurrent_sync(
        ["hello there", "good morning"], synth, listener, expect=[], runs=3, effects=effects, seed=11
    )
    assert [run.audio_key for run in again.runs] == keys
    other = russo.run_concurrent_sync(["hello there"], synth, listener, expect=[], runs=1, effects=effects, seed=12)
    assert other.runs[0].audio_key not in keys


def test_cache_key_follows_settings(tmp_path):
    cache = AudioCache(tmp_path)
    a = CachedSynthesizer(EspeakSynthesizer(voice="en-us"), cache=cache)
    b = CachedSynthesizer(EspeakSynthesizer(voice="en-gb"), cache=cache)
    assert a.key_for("hi") != b.key_for("hi")
    assert a.key_for("hi") == CachedSynthesizer(EspeakSynthesizer(), cache=cache).key_for("hi")
    first = asyncio.run(a.synthesize("hello"))
    again = asyncio.run(a.synthesize("hello"))
    assert (a.misses, a.hits) == (1, 1) and first.data == again.data
    assert a.name.startswith("espeak-ng(en-us")


# -- wav helpers ---------------------------------------------------------------------------------


def test_wav_round_trip_and_resample(clip):
    data = encode_wav(clip)
    with wave.open(io.BytesIO(data)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (16000, 1, 2)
    back = decode_wav(data)
    assert back.pcm == clip.pcm and back.sample_rate == 16000
    with pytest.raises(InvalidArgumentError, match="not a WAV"):
        decode_wav(b"hello world, not audio")
    down = resample(clip, 8000)
    assert down.sample_rate == 8000
    assert abs(down.duration_s - clip.duration_s) < 0.01
    assert abs(rms_dbfs(down) - rms_dbfs(clip)) < 1.5  # speech energy is mostly below 4 kHz
    tone = tones([440.0], 16000)
    up = resample(tone, 22050)
    assert level_at(up, 440.0) - level_at(up, 2000.0) > 40  # still a clean tone


# -- effects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
@pytest.mark.parametrize("target", [20.0, 10.0, 5.0])
def test_noise_hits_the_target_snr(clip, kind, target):
    noisy = Noise(target, kind).apply(clip, np.random.default_rng(1))
    assert abs(snr_db(clip, noisy) - target) <= 0.5


def test_noise_kinds_have_their_spectra(clip):
    silence = tones([1000.0], 16000, seconds=2.0)
    white = to_numpy(Noise(0, "white").apply(silence, np.random.default_rng(0))) - to_numpy(silence)
    pink = to_numpy(Noise(0, "pink").apply(silence, np.random.default_rng(0))) - to_numpy(silence)

    def band_power(samples, low, high):
        spectrum = np.abs(np.fft.rfft(samples)) ** 2
        freqs = np.fft.rfftfreq(len(samples), 1 / 16000)
        return spectrum[(freqs >= low) & (freqs < high)].mean()

    assert 0.5 < band_power(white, 100, 400) / band_power(white, 4000, 7000) < 2  # flat
    assert band_power(pink, 100, 400) / band_power(pink, 4000, 7000) > 8  # falls with frequency


def test_effects_are_deterministic_per_seed_and_differ_across_seeds(clip):
    chain = parse_effects("noise:babble:10db,dropout:0.2,noise:5db")
    first = clip
    second = clip
    third = clip
    rng_a, rng_b, rng_c = (np.random.default_rng(s) for s in (7, 7, 8))
    for effect in chain:
        first = effect.apply(first, rng_a)
        second = effect.apply(second, rng_b)
        third = effect.apply(third, rng_c)
    assert first.data == second.data
    assert first.data != third.data


def test_speed_changes_duration(clip):
    faster = Speed(1.25).apply(clip, np.random.default_rng(0))
    slower = Speed(0.8).apply(clip, np.random.default_rng(0))
    assert faster.duration_s == pytest.approx(clip.duration_s / 1.25, rel=0.01)
    assert slower.duration_s == pytest.approx(clip.duration_s / 0.8, rel=0.01)
    tone = Speed(2.0).apply(tones([500.0]), np.random.default_rng(0))
    assert level_at(tone, 1000.0) - level_at(tone, 500.0) > 30  # tape-style: pitch doubles too


def test_telephone_band_attenuates_outside_300_3400_hz():
    signal = tones([100.0, 1000.0, 3900.0, 6000.0], 16000, seconds=1.0, amplitude=0.1)
    phone = TelephoneBand().apply(signal, np.random.default_rng(0))
    assert phone.sample_rate == 8000
    passband = level_at(phone, 1000.0)
    assert abs(passband - level_at(signal, 1000.0) + 20 * np.log10(2)) < 1.5  # half as many samples
    assert passband - level_at(phone, 100.0) > 30
    assert passband - level_at(phone, 3900.0) > 15
    assert level_at(phone, 1000.0) > level_at(phone, 3000.0) - 40  # 3 kHz region still passes


def test_gain_clip_and_dropout(clip):
    rng = np.random.default_rng(0)
    louder = Gain(-6).apply(clip, rng)
    assert rms_dbfs(louder) == pytest.approx(rms_dbfs(clip) - 6, abs=0.1)
    clipped = Clip(0.2).apply(clip, rng)
    peak = np.abs(to_numpy(clip)).max()
    assert np.abs(to_numpy(clipped)).max() == pytest.approx(0.2 * peak, abs=2e-4)
    dropped = to_numpy(Dropout(0.5, 20).apply(tones([440.0], 16000, seconds=4.0), rng))
    chunks = dropped[: len(dropped) // 320 * 320].reshape(-1, 320)
    silent = np.mean(np.all(chunks == 0, axis=1))
    assert 0.35 < silent < 0.65
    assert power(dropped) > 0


def test_parse_effect_specs_round_trip_and_errors():
    assert parse_effect("noise:10db") == Noise(10.0, "white")
    assert parse_effect("noise:pink:5dB") == Noise(5.0, "pink")
    assert parse_effect("speed:1.2") == Speed(1.2)
    assert parse_effect("gain:-6db") == Gain(-6.0)
    assert parse_effect("telephone") == TelephoneBand()
    assert parse_effect("dropout:10%") == Dropout(0.1)
    assert [e.describe() for e in parse_effects("noise:10db, telephone")] == ["noise:white:10dB", "telephone"]
    for effect in [Noise(3, "babble"), Speed(0.9), Gain(4), Clip(0.5), TelephoneBand(200, 3000), Dropout(0.2, 60)]:
        assert parse_effect(effect.describe()) == effect
    assert build_effects(["noise:10db", Speed(1.1)]) == [Noise(10.0), Speed(1.1)]
    assert build_effects(None) == []
    with pytest.raises(RussoError, match=r"unknown effect 'reverb'.*known effects: noise"):
        parse_effect("reverb:2")
    with pytest.raises(InvalidArgumentError, match="'loud' is not a number"):
        parse_effect("noise:loud")
    with pytest.raises(InvalidArgumentError, match="noise kind"):
        Noise(10, "brown")
    with pytest.raises(InvalidArgumentError, match="speed factor"):
        parse_effect("speed:9")
    composed = Noise(10) + TelephoneBand()
    assert composed.describe() == "noise:white:10dB,telephone"
