"""AudioCache / CachedSynthesizer: hits, settings in the key, atomic writes, corrupt entries."""

from __future__ import annotations

import asyncio
import logging

import pytest
from foundation_helpers import ToneSynthesizer

import russo_nb as russo
from russo_nb.errors import InvalidArgumentError


def test_cached_synthesizer_hits_after_the_first_call(tmp_path):
    inner = ToneSynthesizer()
    cached = russo.CachedSynthesizer(inner, cache=russo.AudioCache(tmp_path))
    first = asyncio.run(cached.synthesize("hello"))
    second = asyncio.run(cached.synthesize("hello"))
    assert inner.calls == ["hello"]
    assert first == second and (cached.hits, cached.misses) == (1, 1)
    assert cached.cache.size() == 1 and len(list(tmp_path.glob("*.tmp"))) == 0


def test_settings_change_the_key(tmp_path):
    class Voiced(ToneSynthesizer):
        voice = "en"

        def cache_settings(self):
            return {"voice": self.voice}

    inner = Voiced()
    cached = russo.CachedSynthesizer(inner, cache=russo.AudioCache(tmp_path))
    key_en = cached.key_for("hi")
    inner.voice = "de"
    assert cached.key_for("hi") != key_en
    assert russo.CachedSynthesizer(inner, cache=russo.AudioCache(tmp_path), cache_key_extra={"x": 1}).key_for(
        "hi"
    ) != cached.key_for("hi")


def test_corrupt_entry_is_dropped_with_a_warning_and_resynthesized(tmp_path, caplog):
    inner = ToneSynthesizer()
    cached = russo.CachedSynthesizer(inner, cache=russo.AudioCache(tmp_path))
    original = asyncio.run(cached.synthesize("hello"))
    key = cached.key_for("hello")
    audio_file = tmp_path / f"{key}.audio"
    audio_file.write_bytes(audio_file.read_bytes()[:-10])  # truncated, as after a crash
    with caplog.at_level(logging.WARNING, logger="russo_nb.cache"):
        again = asyncio.run(cached.synthesize("hello"))
    assert "corrupt audio cache entry" in caplog.text
    assert again == original and inner.calls == ["hello", "hello"]
    (tmp_path / f"{key}.meta").write_text("{not json")
    assert cached.cache.get(key) is None and not audio_file.exists()


def test_disabled_cache_always_synthesizes(tmp_path):
    inner = ToneSynthesizer()
    cached = russo.CachedSynthesizer(inner, cache=russo.AudioCache(tmp_path), enabled=False)
    asyncio.run(cached.synthesize("a"))
    asyncio.run(cached.synthesize("a"))
    assert inner.calls == ["a", "a"] and cached.cache.size() == 0


def test_clear_removes_everything(tmp_path):
    cache = russo.AudioCache(tmp_path)
    for i in range(3):
        cache.put(cache.cache_key(f"p{i}"), russo.Audio(data=b"\x00\x00" * 10))
    assert len(cache) == 3 and cache.clear() == 3 and len(cache) == 0


def test_a_file_given_as_the_cache_folder_is_refused_up_front(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(InvalidArgumentError, match=r"audio cache folder '.*a_file' is a file, not a folder"):
        russo.AudioCache(tmp_path / "a_file")


def test_a_cache_that_takes_no_file_loses_no_clip(tmp_path, caplog):
    """A read-only cache folder used to turn every run into an error; the clip is made, so it is returned."""
    inner = ToneSynthesizer()
    cached = russo.CachedSynthesizer(inner, cache=russo.AudioCache("/proc/self/russo_cache"))  # takes no new file
    with caplog.at_level(logging.WARNING, logger="russo_nb.cache"):
        clips = [asyncio.run(cached.synthesize(text)) for text in ("a", "b")]
    assert all(clip.duration_s > 0 for clip in clips) and inner.calls == ["a", "b"]
    assert caplog.text.count("cannot be written") == 1  # said once
