"""Audio effects: noise at a target SNR, speed, gain, clipping, telephone band, dropouts.

Each effect is deterministic for a given random generator: the runner hands every
run its own seeded ``numpy.random.Generator``, so runs differ from each other but a
batch replays exactly. ``describe()`` gives the short spec (``noise:white:10dB``)
recorded on batches and runs; :func:`parse_effect` reads the same spec back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...model.errors import InvalidArgumentError
from ...model.types import Audio
from .wav import from_numpy, resample_array, to_numpy

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "NOISE_KINDS",
    "check_range",
    "Chain",
    "Clip",
    "Dropout",
    "Effect",
    "Gain",
    "Noise",
    "Speed",
    "TelephoneBand",
    "parse_effect",
    "parse_effects",
]

NOISE_KINDS = ("white", "pink", "babble")


class Effect:
    """Base class: subclasses implement :meth:`process` on float samples and :meth:`describe`."""

    def apply(self, audio: Audio, rng: np.random.Generator) -> Audio:
        """The clip with the effect applied (16-bit mono), drawing randomness from ``rng``."""
        samples, rate = self.process(to_numpy(audio), audio.sample_rate, rng)
        return from_numpy(samples, rate)

    def process(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def __add__(self, other: Effect) -> Chain:
        return Chain([*_flatten(self), *_flatten(other)])

    def __repr__(self) -> str:
        return f"<effect {self.describe()}>"


def check_range(
    what: str, value: Any, low: float, high: float, unit: str = "", *, low_open: bool = False, whole: bool = False
) -> None:
    """Raise one :class:`InvalidArgumentError` naming ``what`` and its allowed range unless
    ``value`` is a finite real number (not a bool) from ``low`` to ``high``.

    Every effect parameter is bounded, so a spec like ``telephone:300-3400hz:2000000000``
    is refused at once instead of allocating gigabytes in every run.
    """
    import math

    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    above = value > low if low_open else value >= low if number else False
    if number and math.isfinite(value) and above and value <= high and (not whole or float(value).is_integer()):
        return
    kind = "a whole number" if whole else "a number"
    allowed = f"greater than {low:g} and at most {high:g}" if low_open else f"from {low:g} to {high:g}"
    raise InvalidArgumentError(f"{what} must be {kind} {allowed}{unit}, got {value!r}")


def _flatten(effect: Effect) -> list[Effect]:
    return list(effect.effects) if isinstance(effect, Chain) else [effect]


@dataclass(frozen=True, repr=False)
class Chain(Effect):
    """Several effects applied in order, as one effect."""

    effects: Sequence[Effect]

    def process(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        for effect in self.effects:
            samples, sample_rate = effect.process(samples, sample_rate, rng)
        return samples, sample_rate

    def describe(self) -> str:
        return ",".join(effect.describe() for effect in self.effects)


def _power(samples: np.ndarray) -> float:
    import numpy as np

    return float(np.mean(np.square(samples, dtype=np.float64))) if len(samples) else 0.0


def _shape_spectrum(white: np.ndarray, sample_rate: int, gain_of_freq: Any) -> np.ndarray:
    """Filter noise in the frequency domain by ``gain_of_freq(freqs) -> gains``."""
    import numpy as np

    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(len(white), 1.0 / sample_rate)
    return np.fft.irfft(spectrum * gain_of_freq(freqs), n=len(white))


def _pink(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    import numpy as np

    return _shape_spectrum(rng.standard_normal(n), sample_rate, lambda f: 1.0 / np.sqrt(np.maximum(f, 20.0)))


def _babble(n: int, sample_rate: int, rng: np.random.Generator, talkers: int = 6) -> np.ndarray:
    """Speech-like babble: several 'talkers' of speech-shaped noise, each with a syllabic (3-7 Hz) rhythm."""
    import numpy as np

    def speech_shape(f: np.ndarray) -> np.ndarray:
        # rises to a 500 Hz peak, then falls ~12 dB/octave: the long-term spectrum of speech
        low = (f / 500.0) ** 2 / (1.0 + (f / 500.0) ** 2)
        return low / (1.0 + (f / 1000.0) ** 2)

    t = np.arange(n) / sample_rate
    total = np.zeros(n)
    for _ in range(talkers):
        voice = _shape_spectrum(rng.standard_normal(n), sample_rate, speech_shape)
        envelope = np.zeros(n)
        for _ in range(3):
            envelope += np.sin(2 * np.pi * rng.uniform(3.0, 7.0) * t + rng.uniform(0, 2 * np.pi))
        envelope = np.clip(envelope, 0.0, None)
        total += voice / max(np.sqrt(_power(voice)), 1e-12) * envelope
    return total


@dataclass(frozen=True, repr=False)
class Noise(Effect):
    """Additive noise at a target signal-to-noise ratio in dB (over the whole clip).

    ``kind`` is ``white``, ``pink`` (1/f) or ``babble`` (speech-shaped, syllabic rhythm).
    """

    snr_db: float = 10.0
    kind: str = "white"

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise InvalidArgumentError(f"noise kind must be one of {', '.join(NOISE_KINDS)}, got {self.kind!r}")
        check_range("noise SNR", self.snr_db, -30, 80, " dB")

    def make_noise(self, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        """Unscaled noise of the effect's kind."""
        if self.kind == "pink":
            return _pink(n, sample_rate, rng)
        if self.kind == "babble":
            return _babble(n, sample_rate, rng)
        return rng.standard_normal(n)

    def process(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        import numpy as np

        signal_power = _power(samples)
        if signal_power == 0.0 or len(samples) == 0:
            return samples, sample_rate
        noise = self.make_noise(len(samples), sample_rate, rng)
        noise *= np.sqrt(signal_power / (max(_power(noise), 1e-20) * 10 ** (self.snr_db / 10)))
        return samples.astype(np.float64) + noise, sample_rate

    def describe(self) -> str:
        return f"noise:{self.kind}:{self.snr_db:g}dB"


@dataclass(frozen=True, repr=False)
class Speed(Effect):
    """Play faster (``factor`` > 1) or slower, like a tape: duration divides by ``factor``, pitch shifts."""

    factor: float = 1.1

    def __post_init__(self) -> None:
        check_range("speed factor", self.factor, 0.25, 4.0)

    def process(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        return resample_array(samples, round(sample_rate * self.factor), sample_rate), sample_rate

    def describe(self) -> str:
        return f"speed:{self.factor:g}"


@dataclass(frozen=True, repr=False)
class Gain(Effect):
    """Change the level by ``db`` decibels; samples beyond full scale clip when stored."""

    db: float = -6.0

    def __post_init__(self) -> None:
        check_range("gain", self.db, -60, 40, " dB")

    def process(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        return samples * 10 ** (self.db / 20), sample_rate

    def describe(self) -> str:
        return f"gain:{self.db:+g}dB"


@dataclass(frozen=True, repr=False)
class Clip(Effect):
    """Hard clipping (an overdriven microphone) at ``level`` × the clip's peak amplitude."""

    level: float = 0.3

    def __post_init__(self) -> None:
        check_range("clip level (a fraction of the peak)", self.level, 0.0, 1.0, low_open=True)

    def process(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        import numpy as np

        if len(samples) == 0:
            return samples, sample_rate
        threshold = float(np.max(np.abs(samples))) * self.level
        return np.clip(samples, -threshold, threshold), sample_rate

    def describe(self) -> str:
        return f"clip:{self.level:g}"


@dataclass(frozen=True, repr=False)
class TelephoneBand(Effect):
    """A phone line: resampled to ``sample_rate`` (8 kHz) and band-passed to ``low``-``high`` Hz."""

    low: float = 300.0
    high: float = 3400.0
    sample_rate: int = 8000

    def __post_init__(self) -> None:
        check_range("telephone sample rate", self.sample_rate, 4000, 48000, " Hz", whole=True)
        check_range("telephone band low edge", self.low, 0, self.sample_rate / 2, " Hz")
        check_range("telephone band high edge", self.high, 0, self.sample_rate / 2, " Hz (half the sample rate)")
        if not self.low < self.high:
            raise InvalidArgumentError(
                f"telephone band needs low < high, got {self.low:g}-{self.high:g} Hz at {self.sample_rate} Hz"
            )

    def process(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        import numpy as np

        narrow = resample_array(samples, sample_rate, self.sample_rate).astype(np.float64)
        if len(narrow) == 0:
            return narrow, self.sample_rate

        def band(f: np.ndarray) -> np.ndarray:
            # Butterworth-like magnitudes: 8th order below the band, 24th above it (a codec's steep
            # anti-alias low-pass); steep, without the ringing of a brick wall
            high_pass = 1.0 / np.sqrt(1.0 + (self.low / np.maximum(f, 1e-6)) ** 16)
            low_pass = 1.0 / np.sqrt(1.0 + (f / self.high) ** 48)
            return high_pass * low_pass

        return _shape_spectrum(narrow, self.sample_rate, band), self.sample_rate

    def describe(self) -> str:
        if (self.low, self.high, self.sample_rate) == (300.0, 3400.0, 8000):
            return "telephone"
        return f"telephone:{self.low:g}-{self.high:g}Hz:{self.sample_rate}"


@dataclass(frozen=True, repr=False)
class Dropout(Effect):
    """Packet loss: each ``chunk_ms`` chunk of audio is silenced with probability ``rate``."""

    rate: float = 0.1
    chunk_ms: float = 40.0

    def __post_init__(self) -> None:
        check_range("dropout rate (a fraction)", self.rate, 0.0, 1.0)
        check_range("dropout chunk", self.chunk_ms, 1, 2000, " ms")

    def process(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        import numpy as np

        chunk = max(1, round(sample_rate * self.chunk_ms / 1000))
        n_chunks = -(-len(samples) // chunk)
        keep = rng.random(n_chunks) >= self.rate
        mask = np.repeat(keep, chunk)[: len(samples)]
        return samples * mask, sample_rate

    def describe(self) -> str:
        return f"dropout:{self.rate:g}:{self.chunk_ms:g}ms"


# -- parsing "noise:10db,telephone" ------------------------------------------------------------

_EXAMPLES = "noise:10db, noise:pink:5db, noise:babble:0db, speed:1.2, gain:-6db, clip:0.3, telephone, dropout:0.1"


def _number(text: str, spec: str, unit: str = "") -> float:
    cleaned = text.strip().lower()
    for suffix in (unit, "x", "%"):
        if suffix and cleaned.endswith(suffix):
            value = cleaned[: -len(suffix)]
            try:
                number = float(value)
            except ValueError:
                break
            return number / 100 if suffix == "%" else number
    try:
        return float(cleaned)
    except ValueError:
        raise InvalidArgumentError(f"effect {spec!r}: {text!r} is not a number (examples: {_EXAMPLES})") from None


def _parse_noise(args: list[str], spec: str) -> Effect:
    kind, snr = "white", 10.0
    for arg in args:
        if arg.lower() in NOISE_KINDS:
            kind = arg.lower()
        else:
            snr = _number(arg, spec, "db")
    return Noise(snr_db=snr, kind=kind)


def _parse_telephone(args: list[str], spec: str) -> Effect:
    if not args:
        return TelephoneBand()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)(?:hz)?", args[0].lower())
    if not match:
        raise InvalidArgumentError(f"effect {spec!r}: write the band as telephone:300-3400hz")
    rate = _number(args[1], spec, "hz") if len(args) > 1 else 8000
    check_range("telephone sample rate", rate, 4000, 48000, " Hz", whole=True)
    return TelephoneBand(low=float(match.group(1)), high=float(match.group(2)), sample_rate=int(rate))


def _parse_dropout(args: list[str], spec: str) -> Effect:
    rate = _number(args[0], spec) if args else 0.1
    chunk = _number(args[1], spec, "ms") if len(args) > 1 else 40.0
    return Dropout(rate=rate, chunk_ms=chunk)


_PARSERS: dict[str, Any] = {
    "noise": _parse_noise,
    "speed": lambda args, spec: Speed(_number(args[0], spec) if args else 1.1),
    "gain": lambda args, spec: Gain(_number(args[0], spec, "db") if args else -6.0),
    "clip": lambda args, spec: Clip(_number(args[0], spec) if args else 0.3),
    "telephone": _parse_telephone,
    "dropout": _parse_dropout,
}
_ALIASES = {"phone": "telephone", "telephoneband": "telephone", "tel": "telephone", "clipping": "clip"}


def parse_effect(spec: str) -> Effect:
    """One effect from its short spec: ``noise:10db``, ``noise:pink:5db``, ``speed:1.2``, ``telephone``..."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(f"an effect spec must be a non-empty string like 'noise:10db', got {spec!r}")
    name, *args = [part.strip() for part in spec.strip().split(":")]
    key = _ALIASES.get(name.lower(), name.lower())
    parser = _PARSERS.get(key)
    if parser is None:
        raise InvalidArgumentError(
            f"unknown effect {name!r} in {spec!r}; known effects: {', '.join(_PARSERS)} (examples: {_EXAMPLES})"
        )
    try:
        return parser([arg for arg in args if arg], spec)
    except InvalidArgumentError as exc:
        if str(exc).startswith("effect "):
            raise
        raise InvalidArgumentError(f"effect {spec!r}: {exc}") from None


def parse_effects(specs: str) -> list[Effect]:
    """A comma-separated chain: ``"noise:10db,telephone"`` -> [Noise(10), TelephoneBand()]."""
    if not isinstance(specs, str):
        raise InvalidArgumentError(f"effects must be a string like 'noise:10db,telephone', got {specs!r}")
    return [parse_effect(part) for part in specs.split(",") if part.strip()]
