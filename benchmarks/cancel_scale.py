"""A huge batch stopped early: ``result()`` keeps the unfinished runs as a count, not objects (issue 24).

Stops 1 prompt × 1,000,000 runs and 10 prompts × 1,000,000 runs after ~1,000 finished runs and
measures ``result()`` (time, Python peak memory from tracemalloc), ``summary()`` and the notebook's
HTML repr (``_repr_mimebundle_``), which count the unfinished runs per prompt without touching
each slot (before: ~50 s each at 1 × 1M, a Python loop over every row). The baseline,
measured in the same run, is what ``result()`` did before: one ``cancelled`` result object per
unfinished run (building every run of the 1 × 1M batch). Targets: ``result()`` under 5 s and 100 MB
at 10 × 1M (before: 66 s and 2.7 GB at 1 × 1M, ``MemoryError`` at 10 × 1M), and at least 10× faster
and smaller than the baseline; summary() and the HTML repr under 1 s at 1 × 1M and 3 s at 10 × 1M
(timed under tracemalloc). Run: python benchmarks/cancel_scale.py
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc

import russo_nb as russo
from russo_nb.testing import wait_for_progress

BOOK = [russo.ToolCall(name="book", arguments={"to": "LA"})]


async def stopped(prompts: int, runs: int, after: int = 1000) -> russo.Job:
    job = russo.start_batch([f"p{i}" for i in range(prompts)], agent=lambda t: BOOK, runs=runs, max_concurrency=8)
    await wait_for_progress(job, after)
    job.cancel()
    await asyncio.gather(job.start(), return_exceptions=True)
    return job


def measured(label: str, call) -> tuple[float, float, object]:
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    value = call()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  {label:<46} {seconds:8.2f} s {peak / 1e6:10.1f} MB")
    return seconds, peak / 1e6, value


def main() -> None:
    warm = asyncio.run(stopped(2, 2, after=4)).result()
    warm.summary(), warm._repr_mimebundle_()  # imports (scipy) paid before timing
    print(f"  {'':<46} {'time':>10} {'peak':>13}")
    job = asyncio.run(stopped(1, 1_000_000))
    one_s, one_mb, result = measured("1 × 1M: result()", job.result)
    one_summary_s, _, _ = measured("1 × 1M: summary()", result.summary)
    one_html_s, _, _ = measured("1 × 1M: HTML repr", result._repr_mimebundle_)
    base_s, base_mb, _ = measured("baseline 1 × 1M: every unfinished run built", lambda: list(result.runs))
    del result, job
    job = asyncio.run(stopped(10, 1_000_000))
    ten_s, ten_mb, result = measured("10 × 1M: result()", job.result)
    summary_s, _, _ = measured("10 × 1M: summary()", result.summary)
    html_s, _, _ = measured("10 × 1M: HTML repr", result._repr_mimebundle_)
    print(f"  10 × 1M: {result.finished_count:,} finished, {result.cancelled_count:,} cancelled")
    ok = ten_s < 5 and ten_mb < 100 and base_s >= 10 * one_s and base_mb >= 10 * one_mb
    ok = ok and one_summary_s < 1 and one_html_s < 1 and summary_s < 3 and html_s < 3
    print(
        f"targets: 10 × 1M result() < 5 s and < 100 MB; summary() and HTML repr < 1 s at 1 × 1M, < 3 s at 10 × 1M "
        f"(1 × 1M against result(): {one_summary_s / one_s:.0f}× and {one_html_s / one_s:.0f}× its time); "
        f"≥ 10× faster and smaller than the baseline "
        f"({base_s / one_s:.0f}× time, {base_mb / max(one_mb, 1e-9):.0f}× memory): {'met' if ok else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
