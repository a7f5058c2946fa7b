"""Resuming a huge stopped batch: ``job.resume()`` and the resumed job's ``result()`` keep unfinished runs as counts.

Stops 1 prompt × 1,000,000 runs after ~1,000 finished runs, resumes it, stops the resumed job
after ~1,000 more and measures (time, Python peak memory from tracemalloc) ``job.resume()`` and the
resumed job's ``result()`` (the merged batch, unfinished runs still a count). The baseline, measured
in the same run, is the stopped batch's own ``result()``, and what merging did before (a pass over
every slot in Python). Targets: each under 1 s and 100 MB, no unfinished run built, the resumed
``result()`` within 10× of the plain stopped ``result()``. Run: python benchmarks/resume_scale.py
"""

from __future__ import annotations

import asyncio

from cancel_scale import measured  # the same timing and tracemalloc figures as the cancel benchmark

import russo_nb as russo
from russo_nb.execution.engine import finished_run
from russo_nb.testing import wait_for_progress

BOOK = [russo.ToolCall(name="book", arguments={"to": "LA"})]


async def stop(job: russo.Job, after: int = 1000) -> russo.Job:
    await wait_for_progress(job, after)
    job.cancel()
    await asyncio.gather(job.start(), return_exceptions=True)
    return job


def per_slot_merge(previous: list, slots: list, runs: list) -> list:
    """The merge as it was first written: a Python pass over every remaining slot."""
    merged = list(previous)
    for slot, result in zip(slots, runs, strict=True):
        if finished_run(result):
            merged[slot] = result
    return merged


def main() -> None:
    print(f"  {'':<46} {'time':>10} {'peak':>13}")
    job = russo.start_batch(["p0"], agent=lambda t: BOOK, runs=1_000_000, max_concurrency=8)
    asyncio.run(stop(job))
    base_s, _, _ = measured("baseline: the stopped batch's result()", job.result)
    resume_s, resume_mb, again = measured("job.resume() (999k unfinished)", job.resume)
    asyncio.run(stop(again))
    plan, results = again.plans[0], again._results[0]
    measured("baseline: per-slot merge in Python", lambda: per_slot_merge(plan.previous, plan.slots.tolist(), results))
    merged_s, merged_mb, result = measured("resumed, stopped again: result()", again.result)
    parts = result.metadata.params["resumed"]["parts"]
    built = result.runs.built_count
    print(f"  {result.finished_count:,} finished ({' + '.join(map(str, parts))}), unfinished runs built: {built}")
    ok = max(resume_s, merged_s) < 1 and max(resume_mb, merged_mb) < 100 and built == 0 and merged_s < 10 * base_s
    print(
        f"targets: resume() and result() < 1 s and < 100 MB, none built, result() ≤ 10× the plain one "
        f"({merged_s / base_s:.1f}×): {'met' if ok else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
