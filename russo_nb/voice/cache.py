"""A disk cache for synthesized audio, so repeated test runs skip synthesis.

Entries are keyed by the prompt and the synthesizer's settings, written atomically
(temp file + rename), and a corrupt entry is dropped with a warning and made again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from ..model.errors import InvalidArgumentError
from ..model.protocols import check_synthesizer
from ..model.types import Audio

__all__ = ["DEFAULT_CACHE_DIR", "AudioCache", "CachedSynthesizer"]

logger = logging.getLogger("russo_nb.cache")

DEFAULT_CACHE_DIR = Path(".russo_cache")


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class AudioCache:
    """Audio files on disk: ``<key>.audio`` (bytes) beside ``<key>.meta`` (JSON format info)."""

    def __init__(self, cache_dir: str | Path = DEFAULT_CACHE_DIR) -> None:
        self.cache_dir = Path(cache_dir)
        if self.cache_dir.exists() and not self.cache_dir.is_dir():
            raise InvalidArgumentError(
                f"audio cache folder {str(self.cache_dir)!r} is a file, not a folder; give a folder "
                "(or switch the cache off)"
            )

    def cache_key(self, prompt: str, **extra: Any) -> str:
        """A stable key from the prompt and settings (voice, rate, ...): a change invalidates it."""
        blob = json.dumps({"prompt": prompt, **extra}, sort_keys=True, default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.cache_dir / f"{key}.audio", self.cache_dir / f"{key}.meta"

    def get(self, key: str) -> Audio | None:
        """The cached clip, or None; a corrupt entry is removed with a warning."""
        audio_path, meta_path = self._paths(key)
        if not audio_path.exists() or not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            data = audio_path.read_bytes()
            if len(data) != meta["size"] or hashlib.sha1(data).hexdigest() != meta["sha1"]:
                raise ValueError("audio bytes do not match their recorded size and checksum")
            return Audio(
                data=data,
                format=meta["format"],
                sample_rate=meta["sample_rate"],
                channels=meta.get("channels", 1),
                sample_width=meta.get("sample_width", 2),
            )
        except (ValueError, KeyError, TypeError, OSError) as exc:
            logger.warning("corrupt audio cache entry %s dropped (%s); it will be synthesized again", key, exc)
            self.remove(key)
            return None

    def put(self, key: str, audio: Audio, *, prompt: str = "") -> None:
        """Store a clip; the audio is written before its metadata, each atomically."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        audio_path, meta_path = self._paths(key)
        meta = {
            "format": audio.format,
            "sample_rate": audio.sample_rate,
            "channels": audio.channels,
            "sample_width": audio.sample_width,
            "size": len(audio.data),
            "sha1": hashlib.sha1(audio.data).hexdigest(),
            "prompt": prompt,
        }
        _atomic_write(audio_path, audio.data)
        _atomic_write(meta_path, json.dumps(meta, indent=2).encode())

    def remove(self, key: str) -> None:
        """Delete one entry (both files)."""
        for path in self._paths(key):
            path.unlink(missing_ok=True)

    def clear(self) -> int:
        """Delete every entry; returns how many clips were removed."""
        if not self.cache_dir.exists():
            return 0
        removed = 0
        for path in self.cache_dir.iterdir():
            if path.suffix in (".audio", ".meta"):
                removed += path.suffix == ".audio"
                path.unlink(missing_ok=True)
        return removed

    def size(self) -> int:
        """Number of cached clips."""
        if not self.cache_dir.exists():
            return 0
        return sum(1 for path in self.cache_dir.iterdir() if path.suffix == ".audio")

    def __len__(self) -> int:
        return self.size()


class CachedSynthesizer:
    """Wraps any synthesizer with an :class:`AudioCache`; a drop-in Synthesizer.

    The key includes ``cache_key_extra`` and, when the inner synthesizer has a
    ``cache_settings()`` method (the offline one does), its settings too.
    """

    def __init__(
        self,
        synthesizer: Any,
        *,
        cache: AudioCache | None = None,
        enabled: bool = True,
        cache_key_extra: dict[str, Any] | None = None,
    ) -> None:
        self.inner = check_synthesizer(synthesizer)
        self.cache = cache if cache is not None else AudioCache()
        self.enabled = enabled
        self.cache_key_extra = dict(cache_key_extra or {})
        self.hits = 0
        self.misses = 0
        self._unwritable = False  # said once, then synthesis goes on without the cache

    @property
    def name(self) -> str:
        """The inner synthesizer's name, so batches record what really spoke."""
        inner = self.inner
        return getattr(inner, "name", None) or type(inner).__name__

    def key_for(self, text: str) -> str:
        """The cache key for ``text`` under the current settings."""
        settings = getattr(self.inner, "cache_settings", None)
        extra = dict(settings()) if callable(settings) else {}
        extra.update(self.cache_key_extra)
        extra.setdefault("synthesizer", type(self.inner).__name__)
        return self.cache.cache_key(text, **extra)

    async def synthesize(self, text: str) -> Audio:
        """Return the cached clip, or synthesize and store it."""
        if not self.enabled:
            return await self.inner.synthesize(text)
        key = self.key_for(text)
        cached = self.cache.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        audio = await self.inner.synthesize(text)
        try:
            self.cache.put(key, audio, prompt=text)
        except OSError as exc:  # the clip is made: a cache that takes no file (read-only, full) must not lose it
            if not self._unwritable:
                self._unwritable = True
                logger.warning("audio cache %s cannot be written (%s); clips are not cached", self.cache.cache_dir, exc)
        return audio
