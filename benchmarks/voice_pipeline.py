"""Voice pipeline speed: espeak-ng synthesis per second of audio, pocketsphinx real-time factor,
and the speedup of 24 concurrent recognitions through the process pool over serial decoding.

Target (issue 3): the pool decodes 24 clips at least 1.7x faster than one process does serially,
on 2 cores. The serial baseline is measured in the same run, in this process.
Run: python benchmarks/voice_pipeline.py [--clips 24]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from russo_nb.adapters.local import LocalVoiceAgent
from russo_nb.surfaces.demo import demo_suite
from russo_nb.voice.audio.espeak import EspeakSynthesizer
from russo_nb.voice.audio.transcribe import PocketsphinxRecognizer, recognize, shutdown_pool

TARGET_SPEEDUP = 1.7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24)
    args = parser.parse_args()
    prompts = demo_suite().prompts
    texts = [prompts[i % len(prompts)] for i in range(args.clips)]
    grammar = LocalVoiceAgent.demo().intents.jsgf()
    cores = os.cpu_count() or 1

    # 1. synthesis: seconds of compute per second of audio
    synthesizer = EspeakSynthesizer()
    synthesizer.synthesize_sync("warm up")
    started = time.perf_counter()
    clips = [synthesizer.synthesize_sync(text) for text in texts]
    synth_s = time.perf_counter() - started
    audio_s = sum(clip.duration_s for clip in clips)
    print(f"synthesis: {len(clips)} clips, {audio_s:.1f} s of audio in {synth_s:.2f} s")
    print(f"  {1000 * synth_s / audio_s:.1f} ms of synthesis per second of audio ({audio_s / synth_s:.0f}x real time)")

    # 2. recognition in this process, one clip after another (the baseline)
    recognize(clips[0], grammar, PocketsphinxRecognizer(grammar).config)  # load the decoder first
    config = PocketsphinxRecognizer(grammar).config
    started = time.perf_counter()
    serial = [recognize(clip, grammar, config) for clip in clips]
    serial_s = time.perf_counter() - started
    print(f"recognition (serial, 1 process): {serial_s:.2f} s for {len(clips)} clips")
    print(f"  real-time factor {serial_s / audio_s:.3f} (decode time / audio time; < 1 is faster than real time)")

    # 3. the same clips, all at once through the pool
    recognizer = PocketsphinxRecognizer(grammar)
    started = time.perf_counter()
    recognizer.warm_up()
    print(f"pool start-up ({cores} workers, decoders loaded): {time.perf_counter() - started:.2f} s (once)")

    async def concurrent() -> list:
        return await asyncio.gather(*(recognizer.transcribe(clip) for clip in clips))

    started = time.perf_counter()
    pooled = asyncio.run(concurrent())
    pool_s = time.perf_counter() - started
    speedup = serial_s / pool_s
    workers = len({item.extra.get("pid") for item in pooled})
    same = sum(a.text == b.text for a, b in zip(serial, pooled))
    print(f"recognition ({len(clips)} concurrent, pool of {cores}): {pool_s:.2f} s on {workers} worker processes")
    print(f"  speedup over serial: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x on 2 cores)")
    print(f"  identical transcripts serial vs pool: {same}/{len(clips)}")
    busy = sum(item.decode_s for item in pooled)
    print(
        f"  decode time summed over workers: {busy:.2f} s vs {serial_s:.2f} s serial "
        f"(much more means the cores were shared with other work: load average {os.getloadavg()[0]:.1f})"
    )
    shutdown_pool()
    verdict = "MET" if speedup >= TARGET_SPEEDUP else "NOT MET (is the machine busy?)"
    print(f"target {verdict}")


if __name__ == "__main__":
    main()
