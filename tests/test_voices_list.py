"""espeak_voices: the accents and variants this machine can speak, and the checks that keep a typo out of a sweep."""

from __future__ import annotations

import pytest

from russo_nb.audio import EspeakSynthesizer, espeak_voices
from russo_nb.audio.voices import check_voice
from russo_nb.errors import InvalidArgumentError


def test_lists_english_accents_and_variants():
    plain = [voice.name for voice in espeak_voices("en", variants=False)]
    for name in ("en-us", "en-gb-scotland", "en-029", "en-gb-x-gbcwmd", "en-gb-x-rp"):
        assert name in plain
    assert not any("+" in name for name in plain)
    every = espeak_voices("en-us", variants=True)
    names = {voice.name for voice in every}
    for variant in ("m1", "m8", "f1", "f5", "klatt", "whisper"):
        assert f"en-us+{variant}" in names
    f3 = next(voice for voice in every if voice.name == "en-us+f3")
    assert f3.gender == "female" and f3.language == "en-us" and f3.description == "English (America)"
    # en-us and its sub-accent en-us-nyc, nothing else
    assert {voice.language for voice in every} == {"en-us", "en-us-nyc"}


def test_rates_and_pitches_multiply_with_distinct_labels():
    voices = espeak_voices("en-gb-scotland", variants=["f3"], rates=[130, 160], pitches=[50, 70])
    assert len(voices) == 2 * 2 * 2
    assert len({voice.label for voice in voices}) == len(voices)
    fast = next(v for v in voices if v.rate == 130 and v.pitch == 70 and v.variant == "f3")
    assert fast.label == "en-gb-scotland+f3@130wpm@pitch70"
    synth = fast.synthesizer(sample_rate=16000)
    assert (synth.voice, synth.rate, synth.pitch) == ("en-gb-scotland+f3", 130, 70)
    assert synth.synthesize_sync("book a flight").duration_s > 0.3


def test_bad_requests_say_what_to_do():
    with pytest.raises(InvalidArgumentError, match="no language starting with 'xx'"):
        espeak_voices("xx")
    with pytest.raises(InvalidArgumentError, match="no variant 'f9'"):
        espeak_voices(variants=["f9"])
    with pytest.raises(InvalidArgumentError, match="rate must be a whole number from 80 to 450"):
        espeak_voices(rates=[500])


def test_unknown_variant_is_refused_where_espeak_would_ignore_it():
    with pytest.raises(InvalidArgumentError, match="no variant 'nosuch'"):
        EspeakSynthesizer(voice="en-us+nosuch")
    with pytest.raises(InvalidArgumentError, match="no voice 'en-zz'"):
        check_voice("en-zz")
    assert check_voice("en-gb-scotland+f3") == "en-gb-scotland+f3"
    assert check_voice("English (Scotland)") == "English (Scotland)"  # espeak-ng takes its description too
