"""The espeak-ng voices a sweep can use: accents (languages) × variants (``+f3``, ``+klatt``, ...) × rate / pitch.

espeak-ng names a voice ``<language>[+<variant>]``: ``en-gb-scotland``, ``en-us+f3``,
``en-029+klatt``. The languages are the files under ``espeak-ng-data/lang`` (an accent of
English is a language of its own there), the variants the files under ``voices/!v``. Both are
read from the ``espeakng-loader`` wheel's data, so the list is what this machine can speak.

espeak-ng itself accepts an unknown variant silently (``en-us+nosuch`` speaks plain ``en-us``),
so :func:`check_voice` refuses one before a sweep spends minutes on a voice that is not there.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...model.errors import InvalidArgumentError
from .espeak import EspeakSynthesizer, check_variant

__all__ = ["DEFAULT_PITCH", "DEFAULT_RATE", "EspeakVoice", "check_variant", "check_voice", "espeak_voices"]

DEFAULT_RATE = 160
"""Words per minute an :class:`~russo_nb.audio.EspeakSynthesizer` speaks at unless told otherwise."""
DEFAULT_PITCH = 50
"""espeak-ng's pitch (0-100) unless told otherwise."""


@dataclass(frozen=True)
class EspeakVoice:
    """One espeak-ng voice at one rate and pitch; ``synthesizer()`` speaks with it.

    ``name`` is what espeak-ng (and ``EspeakSynthesizer(voice=...)``, and a sweep's ``voices=``)
    takes; ``label`` adds the rate and pitch when they differ from the defaults, so two
    entries of one listing never share a label.
    """

    name: str
    """``en-gb-scotland+f3``: the language, plus ``+variant`` when there is one."""
    language: str
    """``en-gb-scotland``: the accent."""
    description: str
    """``English (Scotland)``: espeak-ng's own name of the language."""
    variant: str | None = None
    """``f3``, ``klatt``, ``whisper``... (None: the language's own voice)."""
    variant_description: str | None = None
    """espeak-ng's name of the variant (``female3``)."""
    gender: str | None = None
    """``male`` / ``female`` when the variant says so."""
    rate: int = DEFAULT_RATE
    pitch: int = DEFAULT_PITCH

    @property
    def label(self) -> str:
        """``name`` with ``@<rate>wpm`` / ``@pitch<p>`` when they are not the defaults."""
        label = self.name
        if self.rate != DEFAULT_RATE:
            label += f"@{self.rate}wpm"
        if self.pitch != DEFAULT_PITCH:
            label += f"@pitch{self.pitch}"
        return label

    def synthesizer(self, **options: Any) -> Any:
        """An :class:`~russo_nb.audio.EspeakSynthesizer` speaking with this voice (``options``: sample_rate, ...)."""
        return EspeakSynthesizer(voice=self.name, rate=self.rate, pitch=self.pitch, **options)


def _data_root() -> Path:
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


def _fields(path: Path) -> dict[str, str]:
    """The first value of each keyword of an espeak-ng voice file (``name``, ``language``, ``gender``)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0] in ("name", "language", "gender"):
            out.setdefault(parts[0], parts[1].strip())
    return out


@functools.lru_cache(maxsize=1)
def _languages() -> tuple[tuple[str, str], ...]:
    """(name, description) of every language file, sorted by name."""
    root = _data_root() / "lang"
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            found[path.name.lower()] = _fields(path).get("name", path.name)
    return tuple(sorted(found.items()))


@functools.lru_cache(maxsize=1)
def _language_names() -> frozenset[str]:
    """Every spelling espeak-ng takes for a language (lower case): file name, path under lang/, description."""
    root = _data_root() / "lang"
    names = set()
    for path in root.rglob("*"):
        if path.is_file():
            names.add(path.name.lower())
            names.add(path.relative_to(root).as_posix().lower())
            names.add(_fields(path).get("name", path.name).lower())
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def _variants() -> tuple[tuple[str, str, str | None], ...]:
    """(name, description, gender) of every variant file, sorted by name."""
    root = _data_root() / "voices" / "!v"
    found = []
    for path in root.iterdir():
        if path.is_file():
            fields = _fields(path)
            gender = fields.get("gender")
            found.append((path.name, fields.get("name", path.name), gender.split()[0] if gender else None))
    return tuple(sorted(found, key=lambda item: item[0].lower()))


def _pick_variants(variants: bool | str | Iterable[str] | None) -> list[tuple[str, str, str | None]]:
    known = {name.lower(): (name, description, gender) for name, description, gender in _variants()}
    if variants is None or variants is False:
        return []
    if variants is True:
        return list(known.values())
    wanted = [variants] if isinstance(variants, str) else list(variants)
    picked = []
    for name in wanted:
        entry = known.get(str(name).lower().lstrip("+"))
        if entry is None:
            raise InvalidArgumentError(
                f"espeak-ng has no variant {name!r}; variants are e.g. m1-m8, f1-f5, klatt, whisper "
                "(see russo_nb.audio.espeak_voices(variants=True))"
            )
        picked.append(entry)
    return picked


def _check_levels(what: str, values: int | Sequence[int], low: int, high: int) -> list[int]:
    items = [values] if isinstance(values, int) else list(values)
    if not items:
        raise InvalidArgumentError(f"{what} is empty; give at least one value")
    for value in items:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidArgumentError(f"every {what} must be a whole number from {low} to {high}, got {value!r}")
    return items


def espeak_voices(
    language: str | None = "en",
    *,
    variants: bool | str | Iterable[str] | None = True,
    rates: int | Sequence[int] = DEFAULT_RATE,
    pitches: int | Sequence[int] = DEFAULT_PITCH,
) -> list[EspeakVoice]:
    """The espeak-ng voices this machine can speak, as :class:`EspeakVoice` entries.

    ``language``: keep that language and its sub-accents (``"en"``: every English accent;
    ``"en-gb"``: the British ones; None: all ~130 languages). ``variants``: True (default) adds
    every variant to every language (``+m1``…``+m8``, ``+f1``…``+f5``, ``+klatt``, ``+whisper``, …)
    after the plain voice; False lists the plain voices only; a name or a list of names
    (``["f3", "klatt"]``) adds just those. ``rates`` (words per minute, 80-450) and ``pitches``
    (0-100) multiply the list: ``espeak_voices("en-us", variants=False, rates=[130, 160, 220])``
    is one voice at three speeds.

    Pass the entries (or their ``name``) to a sweep's ``voices=``.
    """
    rate_list = _check_levels("rate", rates, 80, 450)
    pitch_list = _check_levels("pitch", pitches, 0, 100)
    chosen = _pick_variants(variants)
    prefix = None if language is None else str(language).lower()
    languages = [
        (name, text) for name, text in _languages() if prefix is None or name == prefix or name.startswith(prefix + "-")
    ]
    if not languages:
        raise InvalidArgumentError(
            f"espeak-ng has no language starting with {language!r}; try 'en', 'de', 'fr' or language=None"
        )
    out = []
    for name, description in languages:
        kinds: list[tuple[str | None, str | None, str | None]] = [(None, None, None)]
        kinds += [(variant, text, gender) for variant, text, gender in chosen]
        for variant, variant_text, gender in kinds:
            for rate in rate_list:
                for pitch in pitch_list:
                    out.append(
                        EspeakVoice(
                            name=name if variant is None else f"{name}+{variant}",
                            language=name,
                            description=description,
                            variant=variant,
                            variant_description=variant_text,
                            gender=gender,
                            rate=rate,
                            pitch=pitch,
                        )
                    )
    return out


def check_voice(voice: str) -> str:
    """``voice`` if espeak-ng has its language and its variant, else a clear :class:`InvalidArgumentError`.

    Checked before a sweep starts, so a typo costs an error message rather than a column of failed runs.
    """
    if not isinstance(voice, str) or not voice.strip():
        raise InvalidArgumentError(f"voice must be a non-empty string like 'en-us', got {voice!r}")
    language = voice.partition("+")[0].strip().lower()
    if language not in _language_names():
        close = sorted(name for name, _ in _languages() if name.startswith(language[:2]))[:8]
        hint = f" (close: {', '.join(close)})" if close else ""
        raise InvalidArgumentError(f"espeak-ng has no voice {language!r}{hint}; see russo_nb.audio.espeak_voices()")
    return check_variant(voice)
