"""russo's ``russo._cache`` path. An alias of :mod:`russo_nb.cache`."""

from __future__ import annotations

from .cache import AudioCache, CachedSynthesizer

__all__ = ["AudioCache", "CachedSynthesizer"]
