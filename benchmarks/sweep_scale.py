"""Sweep benchmark: synthesis work against prompts × voices, the 1,536-run sweep's wall time, the explorer's open time.

    PYTHONPATH=. python benchmarks/sweep_scale.py            # 16 prompts × 8 voices × 4 SNR × 3 runs
    PYTHONPATH=. python benchmarks/sweep_scale.py --quick    # 16 × 2 voices × 2 SNR × 1 run

Targets (issue 21): synthesis calls = prompts × voices (not × runs × SNR × conditions); the
1,536-run sweep with the offline agent under 2 minutes on this machine; its explorer opens in
under 1 s. Baseline, measured in the same run: the same agent on a plain batch (one voice,
10 dB) of the same prompts, per run, so the sweep's own overhead shows as the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import russo_nb as russo
from russo_nb.adapters.local import LocalVoiceAgent
from russo_nb.audio import EspeakSynthesizer
from russo_nb.surfaces.demo import demo_suite

VOICES = [
    "en-us",
    "en-us+klatt",
    "en-us+f3",
    "en-us-nyc",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-029",
    "en-gb-x-gbcwmd",
]


class Counting:
    """espeak-ng with a call counter."""

    def __init__(self, voice: str) -> None:
        self.inner = EspeakSynthesizer(voice=voice, memo=0)
        self.voice = voice
        self.calls = 0

    async def synthesize(self, text: str):
        self.calls += 1
        return await self.inner.synthesize(text)


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and the recognition pool's workers (user + system)."""
    import psutil

    from russo_nb.voice.audio.transcribe import recognition_pool

    total = sum(psutil.Process().cpu_times()[:2])
    for pid in list(getattr(recognition_pool(), "_processes", {}) or {}):
        try:
            total += sum(psutil.Process(pid).cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def explorer_times(result: object) -> None:
    """Open the explorer on ``result`` (target < 1 s), then build its Sweep tab; the first open pays the imports,
    so a warm-up open on a small batch comes first and is reported apart."""
    started = time.perf_counter()
    import scipy.stats  # noqa: F401 - the view's clustered interval (t quantile) imports it on first use

    import russo_nb.surfaces.notebook.explorer  # noqa: F401 - ipywidgets and the explorer's own imports

    print(f"imports a fresh kernel pays once (scipy.stats, ipywidgets): {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    explorer = russo.explore(result)
    open_s = time.perf_counter() - started
    total = result.total  # type: ignore[attr-defined]
    print(f"explorer open on {total:,} runs: {open_s:.2f} s (target < 1 s) -> {'OK' if open_s < 1.0 else 'MISSED'}")
    started = time.perf_counter()
    explorer.content("Sweep")
    print(f"Sweep tab built on first view: {time.perf_counter() - started:.2f} s (curves, tables, thresholds, heatmap)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small sweep (2 voices, 2 SNR, 1 run)")
    parser.add_argument("--max-concurrency", type=int, default=8)
    parser.add_argument(
        "--explorer-only", action="store_true", help="only time the explorer on the recorded 960-run sweep"
    )
    args = parser.parse_args()
    if args.explorer_only:
        from russo_nb.report import load_sweep

        explorer_times(load_sweep())
        return 0
    voices = VOICES[:2] if args.quick else VOICES
    snrs = [None, 10] if args.quick else [None, 20, 10, 5]
    runs = 1 if args.quick else 3
    suite = demo_suite()
    agent = LocalVoiceAgent.demo()
    agent.warm_up()

    # baseline: a plain batch of the same prompts and agent (one voice, 10 dB noise)
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    plain = russo.run_concurrent_sync(
        suite.prompts,
        EspeakSynthesizer(),
        agent,
        expect=suite.expect,
        runs=runs * 2,
        max_concurrency=args.max_concurrency,
        effects="noise:10db",
    )
    plain_s = time.perf_counter() - started
    plain_cpu = cpu_seconds() - cpu_started
    per_run_plain = plain_s / plain.total

    synths = {label: Counting(label) for label in voices}
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    result = russo.run_sweep_sync(
        suite.prompts,
        agent=agent,
        expect=suite.expect,
        voices=synths,
        snr_db=snrs,
        runs=runs,
        max_concurrency=args.max_concurrency,
        seed=1,
    )
    sweep_s = time.perf_counter() - started
    sweep_cpu = cpu_seconds() - cpu_started
    calls = sum(s.calls for s in synths.values())
    expected_calls = len(suite.prompts) * len(voices)
    print(
        f"sweep: {len(suite.prompts)} prompts x {len(voices)} voices x {len(snrs)} SNR x {runs} runs"
        f" = {result.total} runs"
    )
    print(
        f"synthesis calls: {calls} (prompts x voices = {expected_calls}; runs = {result.total})"
        f" -> {'OK' if calls == expected_calls else 'MISSED'}"
    )
    target = 120.0
    print(
        f"sweep wall time: {sweep_s:.1f} s ({sweep_s / result.total * 1000:.1f} ms/run; target < {target:.0f} s"
        f" for 1,536 runs) -> {'(quick run: no target)' if args.quick else 'OK' if sweep_s < target else 'MISSED'}"
    )
    print(
        f"baseline plain batch: {plain.total} runs in {plain_s:.1f} s ({per_run_plain * 1000:.1f} ms/run);"
        f" sweep per run / plain per run = {sweep_s / result.total / per_run_plain:.2f}x"
    )
    cores = len(os.sched_getaffinity(0))
    per_run_cpu = sweep_cpu / result.total * 1000
    print(
        f"CPU work (this process + recognition workers): sweep {sweep_cpu:.1f} s = {per_run_cpu:.1f} ms/run,"
        f" plain {plain_cpu / plain.total * 1000:.1f} ms/run; on {cores} free cores the sweep needs at least"
        f" {sweep_cpu / cores:.0f} s wall (load average now {os.getloadavg()[0]:.1f})"
    )
    from russo_nb.analysis import by_factor

    started = time.perf_counter()
    table = by_factor(result, "voice")
    print(f"by_factor(voice): {time.perf_counter() - started:.3f} s")
    print(table[["level", "finished", "pass_rate", "low", "high"]].to_string(index=False))
    explorer_times(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
