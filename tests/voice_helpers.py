"""Shared bits of the voice tests: a synthesized clip, power and spectrum measurements."""

from __future__ import annotations

import numpy as np

from russo_nb.audio.wav import from_numpy, to_numpy
from russo_nb.types import Audio


def power(samples: np.ndarray) -> float:
    return float(np.mean(np.asarray(samples, dtype=np.float64) ** 2))


def snr_db(clean: Audio, noisy: Audio) -> float:
    """The SNR of ``noisy`` against ``clean``, from the samples actually stored."""
    signal = to_numpy(clean).astype(np.float64)
    noise = to_numpy(noisy).astype(np.float64) - signal
    return 10 * np.log10(power(signal) / power(noise))


def tones(frequencies: list[float], sample_rate: int = 16000, seconds: float = 1.0, amplitude: float = 0.2) -> Audio:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    samples = sum(amplitude * np.sin(2 * np.pi * f * t) for f in frequencies)
    return from_numpy(samples, sample_rate)


def level_at(audio: Audio, frequency: float) -> float:
    """Magnitude (dB) of the spectrum at ``frequency`` (Hann window, nearest bin)."""
    samples = to_numpy(audio).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / audio.sample_rate)
    index = int(np.argmin(np.abs(freqs - frequency)))
    return 20 * np.log10(spectrum[max(0, index - 2) : index + 3].max() + 1e-12)
