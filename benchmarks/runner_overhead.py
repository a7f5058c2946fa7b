"""Runner overhead: µs per run through run_concurrent against plain asyncio.gather, peak memory,
and how close a capped batch of sleeping agents comes to the ideal wall time.

Targets (issue 2): per-run cost ≤ 2× the gather baseline at 10,000 and 100,000 runs (linear growth),
peak RSS at 100,000 runs < 150 MB, and 2,000 runs of a 50 ms agent at max_concurrency=100 within 1.03×
of a plain ``asyncio.Semaphore(100)`` + ``asyncio.gather`` of the same 2,000 sleeps, measured in the
same run (best of five, alternating). The ideal 1.0 s (20 waves × 50 ms) is printed for information
only: asyncio's timers wake up to a millisecond late per wave and the loop serves each wave's 100
wake-ups one after another, so even the bare gather takes 1.07–1.18 s on a shared 2-core machine,
and a fixed target of 1.03 s measured the machine, not russo (issue 15).

The honest case (issue 15): an agent that builds a fresh response per run, heard through a
synthesizer, at 10,000 and 100,000 runs, each size in its own process, against a bare
``asyncio.gather`` of the same agent calls on the same clip (best of three, alternating):
≤ 2× per run at both sizes, and a fresh process running the 100,000-run batch alone peaks < 150 MB.
Run: python benchmarks/runner_overhead.py
"""

from __future__ import annotations

import asyncio
import gc
import resource
import subprocess
import sys
import time

import russo_nb as russo
from russo_nb.testing import ToneSynthesizer

RESPONSE = russo.AgentResponse(tool_calls=[russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})])
EXPECT = [russo.tool_call("book_flight", to_city="LA")]


@russo.agent
async def instant_agent(text: str) -> russo.AgentResponse:
    return RESPONSE


@russo.agent
async def fresh_agent(text: str) -> russo.AgentResponse:
    return russo.AgentResponse(tool_calls=[russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})])


@russo.agent
async def sleepy_agent(text: str) -> russo.AgentResponse:
    await asyncio.sleep(0.05)
    return RESPONSE


async def trivial(i: int) -> int:
    return i


async def _semaphore_baseline() -> None:
    gate = asyncio.Semaphore(100)

    async def one() -> None:
        async with gate:
            await asyncio.sleep(0.05)

    await asyncio.gather(*(one() for _ in range(2000)))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's over exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def per_run_us(n: int) -> tuple[float, float]:
    """Best of three: (baseline µs per coroutine via gather, russo µs per run)."""
    base, ours = [], []
    for _ in range(3):
        gc.collect()
        started = time.perf_counter()
        asyncio.run(_gather(n))
        base.append((time.perf_counter() - started) / n * 1e6)
        gc.collect()
        started = time.perf_counter()
        result = asyncio.run(russo.run_concurrent(prompts="Fly me to LA", agent=instant_agent, expect=EXPECT, runs=n))
        ours.append((time.perf_counter() - started) / n * 1e6)
        assert result.total == n and result.passed
        del result
    return min(base), min(ours)


async def _gather(n: int) -> None:
    await asyncio.gather(*(trivial(i) for i in range(n)))


def memory_only(kind: str) -> None:
    """Run one 100,000-run batch in this (fresh) process and print its peak RSS in MB."""
    agent = instant_agent if kind == "constant" else fresh_agent
    result = asyncio.run(russo.run_concurrent(prompts="Fly me to LA", agent=agent, expect=EXPECT, runs=100_000))
    assert result.total == 100_000 and result.passed
    print(f"{peak_rss_mb():.1f}")


async def _honest_gather(n: int) -> None:
    """The baseline: the same agent calls on the same clip, bare ``asyncio.gather``, no evaluation."""
    clip = await ToneSynthesizer().synthesize("Fly me to LA")
    await asyncio.gather(*(fresh_agent.run(clip) for _ in range(n)))


async def _honest_russo(n: int) -> russo.BatchResult:
    return await russo.run_concurrent(
        prompts="Fly me to LA", synthesizer=ToneSynthesizer(), agent=fresh_agent, expect=EXPECT, runs=n
    )


def honest_only(n: int) -> None:
    """In this (fresh) process: best-of-three µs per run for gather and for russo, then peak RSS."""
    base, ours = [], []
    for _ in range(3):
        gc.collect()
        started = time.perf_counter()
        asyncio.run(_honest_gather(n))
        base.append((time.perf_counter() - started) / n * 1e6)
        gc.collect()
        started = time.perf_counter()
        result = asyncio.run(_honest_russo(n))
        ours.append((time.perf_counter() - started) / n * 1e6)
        assert result.total == n and result.passed
        del result
    print(f"{min(base):.3f} {min(ours):.3f}")


def honest_memory_only(n: int) -> None:
    """In this (fresh) process: only the russo batch, then its peak RSS in MB."""
    result = asyncio.run(_honest_russo(n))
    assert result.total == n and result.passed
    print(f"{peak_rss_mb():.1f}")


def _child(*args: str) -> str:
    return subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True).stdout.strip()


def fresh_process_peak(kind: str) -> float:
    out = subprocess.run([sys.executable, __file__, "--memory-only", kind], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-only":
        memory_only(sys.argv[2])
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "--honest":
        honest_only(int(sys.argv[2]))
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "--honest-memory":
        honest_memory_only(int(sys.argv[2]))
        return 0
    print(f"python {sys.version.split()[0]}")
    ok = True
    costs = {}
    for n in (10_000, 100_000):
        base, ours = per_run_us(n)
        costs[n] = ours
        ratio = ours / base
        ok &= ratio <= 2.0
        print(f"N={n:>7,}: gather {base:6.2f} µs/run | russo {ours:6.2f} µs/run | ratio {ratio:4.2f} (target ≤ 2.00)")
    growth = costs[100_000] / costs[10_000]
    print(f"per-run cost growth 10k→100k: {growth:.2f}× (linear ≈ 1.0)")
    print(f"peak RSS of this process (baseline + all batches above): {peak_rss_mb():.1f} MB")
    constant = fresh_process_peak("constant")
    fresh = fresh_process_peak("fresh")
    ok &= constant < 150
    print(f"peak RSS, fresh process, 100,000 runs, agent replaying one response: {constant:.1f} MB (target < 150 MB)")
    print(f"peak RSS, fresh process, 100,000 runs, agent building a new response per run: {fresh:.1f} MB (info)")

    for n in (10_000, 100_000):
        base, ours = (float(value) for value in _child("--honest", str(n)).split())
        ratio = ours / base
        ok &= ratio <= 2.0
        print(
            f"honest N={n:>7,} (synthesizer, fresh response per run, own process): gather {base:6.2f} µs/run | "
            f"russo {ours:6.2f} µs/run | ratio {ratio:4.2f} (target ≤ 2.00)"
        )
    honest_peak = float(_child("--honest-memory", "100000"))
    ok &= honest_peak < 150
    print(f"peak RSS, fresh process, honest 100,000-run batch alone: {honest_peak:.1f} MB (target < 150 MB)")

    walls, bases = [], []
    for _ in range(5):
        started = time.perf_counter()
        asyncio.run(_semaphore_baseline())
        bases.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = asyncio.run(
            russo.run_concurrent(
                prompts="Fly me to LA", agent=sleepy_agent, expect=EXPECT, runs=2000, max_concurrency=100
            )
        )
        walls.append(time.perf_counter() - started)
        assert result.total == 2000 and result.passed
    wall, base = min(walls), min(bases)
    ratio = wall / base
    ok &= ratio <= 1.03
    print(
        f"2,000 runs × 50 ms at max_concurrency=100, best of 5: russo {wall:.3f} s | plain asyncio.Semaphore + "
        f"gather {base:.3f} s | ratio {ratio:4.2f} (target ≤ 1.03× gather; ideal 1.000 s, info)"
    )
    print("ALL TARGETS MET" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
