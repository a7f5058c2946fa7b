"""WAV helpers: encode/decode, numpy conversion, resampling and duration.

Samples are handled as float32 in [-1, 1] (mono) inside effects and recognition and
stored as 16-bit PCM in :class:`~russo_nb.model.types.Audio`. Resampling is FFT-based
(numpy only): clips are short, so a whole-clip transform is exact and fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...model.errors import InvalidArgumentError
from ...model.types import Audio

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "decode_wav",
    "duration_s",
    "encode_wav",
    "from_numpy",
    "resample",
    "resample_array",
    "rms_dbfs",
    "to_mono16",
    "to_numpy",
]


def encode_wav(audio: Audio) -> bytes:
    """The clip as a complete WAV file in memory."""
    return audio.to_wav_bytes()


def decode_wav(data: bytes) -> Audio:
    """Read WAV bytes into an :class:`Audio` (bare PCM frames and their format)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InvalidArgumentError("not a WAV file: the data does not start with a RIFF/WAVE header")
    return Audio.from_wav_bytes(data)


def duration_s(audio: Audio) -> float:
    """Length of the clip in seconds."""
    return audio.duration_s


def to_numpy(audio: Audio) -> np.ndarray:
    """The clip's samples as mono float32 in [-1, 1] (channels are averaged)."""
    import numpy as np

    if audio.format not in ("wav", "pcm"):
        raise InvalidArgumentError(f"cannot read {audio.format} audio as samples; convert it to WAV/PCM first")
    pcm = audio.pcm
    width = audio.sample_width
    if width == 2:
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    elif width == 1:
        samples = (np.frombuffer(pcm, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 4:
        samples = np.frombuffer(pcm[: len(pcm) // 4 * 4], dtype="<i4").astype(np.float32) / 2147483648.0
    else:
        raise InvalidArgumentError(f"unsupported sample width {width} bytes; use 8, 16 or 32-bit PCM")
    if audio.channels > 1:
        usable = len(samples) // audio.channels * audio.channels
        samples = samples[:usable].reshape(-1, audio.channels).mean(axis=1)
    return samples


def from_numpy(samples: np.ndarray, sample_rate: int) -> Audio:
    """Mono float samples in [-1, 1] as a 16-bit PCM :class:`Audio` (values beyond ±1 are clipped)."""
    import numpy as np

    clipped = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 32767 / 32768)
    pcm = np.round(clipped * 32768.0).astype("<i2").tobytes()
    return Audio(data=pcm, format="wav", sample_rate=int(sample_rate), channels=1, sample_width=2)


def resample_array(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample mono samples by FFT (band-limited; frequencies above the new Nyquist are dropped)."""
    import numpy as np

    if rate_in == rate_out or len(samples) == 0:
        return np.asarray(samples, dtype=np.float32)
    # zero padding keeps the periodic wrap-around of the FFT from ringing into the clip's edges
    pad = 2048
    padded = np.concatenate([np.zeros(pad), np.asarray(samples, dtype=np.float64), np.zeros(pad)])
    n_in = len(padded)
    n_out = max(1, round(n_in * rate_out / rate_in))
    spectrum = np.fft.rfft(padded)
    bins = n_out // 2 + 1
    if bins <= len(spectrum):
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - len(spectrum), dtype=spectrum.dtype)])
    out = np.fft.irfft(spectrum, n=n_out) * (n_out / n_in)
    pad_out = round(pad * rate_out / rate_in)
    length = max(1, round(len(samples) * rate_out / rate_in))
    return out[pad_out : pad_out + length].astype(np.float32)


def resample(audio: Audio, sample_rate: int) -> Audio:
    """The clip at another sample rate, as 16-bit mono."""
    if not isinstance(sample_rate, int) or sample_rate < 1000:
        raise InvalidArgumentError(f"sample_rate must be a whole number of Hz >= 1000, got {sample_rate!r}")
    if audio.sample_rate == sample_rate and audio.channels == 1 and audio.sample_width == 2:
        return audio
    return from_numpy(resample_array(to_numpy(audio), audio.sample_rate, sample_rate), sample_rate)


def to_mono16(audio: Audio, sample_rate: int = 16000) -> bytes:
    """Bare 16-bit mono PCM at ``sample_rate``: what speech recognizers want."""
    return resample(audio, sample_rate).pcm


def rms_dbfs(audio: Audio) -> float:
    """Loudness as RMS in dB relative to full scale (-inf for silence)."""
    import numpy as np

    samples = to_numpy(audio).astype(np.float64)
    power = float(np.mean(samples**2)) if len(samples) else 0.0
    return 10 * np.log10(power) if power > 0 else float("-inf")
