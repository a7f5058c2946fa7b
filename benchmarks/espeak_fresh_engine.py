"""What deterministic synthesis costs: espeak-ng loaded fresh per utterance against one engine kept loaded.

EspeakSynthesizer unloads and reloads espeak-ng around every utterance, because the engine
keeps flutter phase, gain control and cycle counters in C statics that nothing else resets
(see russo_nb.voice.audio.espeak._FreshEngine). The baseline, measured in the same run, is the old
design: one engine loaded once, the voice and parameters set before each utterance. Both
synthesize every demo prompt ``--repeat`` times; the figures are the median per utterance.
The machine may be shared with other work: compare the two columns, not absolute numbers.

    python benchmarks/espeak_fresh_engine.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from russo_nb.audio import espeak  # noqa: E402
from russo_nb.surfaces.demo import demo_suite  # noqa: E402

Engine = espeak._FreshEngine


def persistent_engine() -> tuple[object, list[bytes]]:
    """The old design: one engine, loaded once (from its own copy, so the fresh engine's stays apart)."""
    library = Engine._private_library()
    copy = library.with_name("baseline-" + library.name)
    copy.write_bytes(library.read_bytes())
    lib = ctypes.CDLL(str(copy))
    Engine._declare(lib)
    lib.espeak_Initialize(espeak._AUDIO_OUTPUT_SYNCHRONOUS, 0, Engine._data, espeak._INITIALIZE_DONT_EXIT)
    chunks: list[bytes] = []

    def collect(wav: object, count: int, events: object) -> int:
        if wav and count > 0:
            chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    lib._callback = espeak._CALLBACK(collect)
    lib.espeak_SetSynthCallback(lib._callback)
    return lib, chunks


def persistent_synthesize(lib: object, chunks: list[bytes], text: str) -> bytes:
    chunks.clear()
    lib.espeak_SetVoiceByName(b"en-us")
    lib.espeak_SetParameter(espeak._PARAM_RATE, 160, 0)
    lib.espeak_SetParameter(espeak._PARAM_PITCH, 50, 0)
    lib.espeak_SetParameter(espeak._PARAM_VOLUME, 100, 0)
    data = text.encode() + b"\0"
    flags = espeak._CHARS_UTF8 | espeak._ENDPAUSE
    lib.espeak_Synth(data, len(data), 0, espeak._POS_CHARACTER, 0, flags, None, None)
    lib.espeak_Synchronize()
    return b"".join(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prompts = demo_suite().prompts
    lib, chunks = persistent_engine()
    Engine.synthesize("warm up", "en-us", 160, 50, 100)
    persistent_synthesize(lib, chunks, "warm up")

    fresh_ms: list[float] = []
    kept_ms: list[float] = []
    fresh_digests: dict[str, set[str]] = {}
    kept_digests: dict[str, set[str]] = {}
    for _ in range(args.repeat):
        for text in prompts:
            started = time.perf_counter()
            pcm = Engine.synthesize(text, "en-us", 160, 50, 100)
            fresh_ms.append(1000 * (time.perf_counter() - started))
            fresh_digests.setdefault(text, set()).add(hashlib.sha1(pcm).hexdigest())
            started = time.perf_counter()
            pcm = persistent_synthesize(lib, chunks, text)
            kept_ms.append(1000 * (time.perf_counter() - started))
            kept_digests.setdefault(text, set()).add(hashlib.sha1(pcm).hexdigest())

    fresh, kept = statistics.median(fresh_ms), statistics.median(kept_ms)
    print(f"{len(prompts)} demo prompts x {args.repeat} repeats, median per utterance:")
    print(f"  fresh engine (deterministic):   {fresh:6.1f} ms")
    print(f"  engine kept loaded (baseline):  {kept:6.1f} ms")
    print(f"  cost of determinism:            {fresh - kept:+6.1f} ms per utterance ({fresh / kept:.2f}x)")
    distinct_fresh = max(len(found) for found in fresh_digests.values())
    distinct_kept = max(len(found) for found in kept_digests.values())
    print(f"  distinct outputs for one prompt: fresh {distinct_fresh}, kept loaded {distinct_kept}")


if __name__ == "__main__":
    main()
