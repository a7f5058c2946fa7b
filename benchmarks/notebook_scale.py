"""Showing a batch in a notebook: the explorer's construction against the HTML repr, and charts on request.

Targets:

* at 160 runs (the demo-sized batch): the explorer (``russo_nb.explore(batch)``, no chart
  drawn) is built in under 100 ms of CPU. An absolute bound, because there the HTML repr
  (``batch._repr_html_()``) takes 2-10 ms and a ratio to it measured timer noise and garbage
  collection: the same code printed 2.8x, 7.4x and 18.4x the repr on successive runs. 100 ms
  is what a user notices between running a cell and seeing the result; the ratio is still
  printed, for information;
* at 10,000 and at 100,000 runs, where the repr takes long enough to be a baseline: explorer
  construction at most 10x the HTML repr of the same batch, measured in the same run;
* the explorer's widget state and the HTML repr each under 2 MB at 100,000 runs;
* chart drawing on request (each chart section of the Charts tab) at 200 prompts,
  reported in seconds per chart;
* the explorer on a batch loaded from Parquet at 100,000 runs (its runs kept as columns)
  against the explorer on the same batch in memory: at most 1.5x its time (the loaded one builds
  the failing runs for the failure groups; the margin is for noise), and building no run
  objects beyond the failing ones (the failure groups, the snapshot) and the one opened.

How it is timed: the targets compare process CPU seconds (``time.process_time``), the best of
``--repeats`` timings, with the two sides of a ratio timed in turns (repr, explorer, repr, ...)
and a garbage collection before each, so a load spike or a collection falls on one timing, not
on one side of the ratio. The machine these run on is shared (wall time there mostly measures
the wait for a core); wall seconds are printed beside the CPU seconds.
Run: ``python benchmarks/notebook_scale.py [--repeats 7 --big-prompts 1000 --big-runs 100]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from analysis_helpers import synthetic_batch  # noqa: E402  (the same big batch the analysis benchmark uses)


def widget_state_bytes(root) -> int:
    """Bytes of every widget's state under ``root`` (what the kernel sends and a saved notebook keeps)."""
    from ipywidgets import Widget

    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        state = widget.get_state()
        for value in state.values():
            if isinstance(value, (bytes, bytearray, memoryview)):
                total += len(value)
        plain = {k: v for k, v in state.items() if not isinstance(v, (bytes, bytearray, memoryview))}
        total += len(json.dumps(plain, default=str))
        for name in widget.keys:
            value = getattr(widget, name)
            if isinstance(value, Widget):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if isinstance(v, Widget))
    return total


EXPLORER_BOUND_S = 0.100
"""The explorer of the 160-run batch is built in under this many CPU seconds (see the module docstring)."""
RATIO_BOUND = 10
"""At 10,000 and 100,000 runs the explorer is built in at most this many times the HTML repr's time."""


@dataclass
class Timing:
    """The best CPU and the best wall seconds of repeated calls, and the last call's value."""

    cpu: float
    wall: float
    value: object


def best_of(repeats: int, *calls) -> list[Timing]:
    """Each of ``calls`` timed ``repeats`` times, in turns, after a garbage collection: the best of each.

    Timing the calls in turns puts a load spike on one repetition of one call, which the best
    of the others discards, rather than on every timing of one side of a ratio.
    """
    timings = [Timing(float("inf"), float("inf"), None) for _ in calls]
    for _ in range(repeats):
        for timing, call in zip(timings, calls, strict=True):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            timing.value = call()
            timing.cpu = min(timing.cpu, time.process_time() - cpu)
            timing.wall = min(timing.wall, time.perf_counter() - wall)
    return timings


def construction(prompts: int, runs: int, repeats: int, *, bound_s: float | None = None) -> bool:
    """Explorer construction against the HTML repr of the same batch, nothing drawn.

    With ``bound_s`` the target is the explorer's CPU seconds under it (a small batch, whose
    repr is too quick to be a baseline); else the explorer within ``RATIO_BOUND`` x the repr.
    """
    import russo_nb

    batch = synthetic_batch(prompts, runs, with_audio=min(prompts, 20))
    html, explore = best_of(repeats, batch._repr_html_, lambda: russo_nb.explore(batch))
    ratio = explore.cpu / html.cpu
    drawn = explore.value.charts_drawn
    if bound_s is None:
        target, ok = f"target <= {RATIO_BOUND}x", ratio <= RATIO_BOUND
    else:
        target, ok = f"target < {bound_s * 1e3:.0f} ms (the ratio is for information)", explore.cpu < bound_s
    print(
        f"{batch.total:>7,} runs  HTML repr {html.cpu * 1e3:7.1f} ms CPU ({html.wall * 1e3:.1f} wall, "
        f"{len(html.value.encode()) / 1e6:.2f} MB)  explorer {explore.cpu * 1e3:7.1f} ms CPU "
        f"({explore.wall * 1e3:.1f} wall) = {ratio:4.1f}x the repr; {target}: {'ok' if ok else 'MISSED'}; "
        f"tabs built {explore.value.built_tabs}, charts drawn {len(drawn)} (best of {repeats})"
    )
    return ok and not drawn


def charts_on_request(prompts: int, runs: int) -> None:
    """Seconds to draw each chart section the first time it is opened, and to show it again (cached)."""
    import russo_nb

    batch = synthetic_batch(prompts, runs)
    explorer = russo_nb.explore(batch)
    started = time.perf_counter()
    explorer.content("Charts")
    print(f"charts at {prompts} prompts x {runs} runs: Charts tab built in {time.perf_counter() - started:.3f}s")
    for title in explorer._chart_titles:
        (first,) = best_of(1, lambda t=title: explorer.chart(t))
        (again,) = best_of(1, lambda t=title: explorer.chart(t))
        print(f"  {title:<32} first {first.cpu:6.3f}s CPU   again (cached) {again.cpu * 1e3:6.2f} ms CPU")


def big_batch(prompts: int, runs: int, repeats: int) -> bool:
    """At 100,000 runs: the explorer within ``RATIO_BOUND`` x the HTML repr, each output under 2 MB."""
    import russo_nb

    batch = synthetic_batch(prompts, runs, with_audio=20)
    (text,) = best_of(1, batch.summary)
    html, explore = best_of(repeats, batch._repr_html_, lambda: russo_nb.explore(batch))
    explorer = explore.value
    html_mb, state_mb = len(html.value.encode()) / 1e6, widget_state_bytes(explorer) / 1e6
    ratio = explore.cpu / html.cpu
    print(
        f"{batch.total:>7,} runs  summary() {text.cpu:.2f}s CPU ({len(text.value.encode()) / 1e6:.1f} MB)  "
        f"HTML repr {html.cpu:.2f}s CPU ({html.wall:.2f} wall, {html_mb:.2f} MB)  explorer {explore.cpu:.2f}s CPU "
        f"({explore.wall:.2f} wall) = {ratio:.1f}x the repr (target <= {RATIO_BOUND}x), {state_mb:.2f} MB state "
        f"(best of {repeats})"
    )
    (browse,) = best_of(1, lambda: _filter_and_page(explorer))
    print(f"         Runs tab built, filtered and paged in {browse.cpu:.2f}s CPU")
    return html_mb < 2 and state_mb < 2 and ratio <= RATIO_BOUND


def _filter_and_page(explorer) -> None:
    table = explorer.runs_browser.table
    table.status_filter.value = "failed"
    table.turn(1)


def loaded_batch(prompts: int, runs: int) -> bool:
    """The explorer on a batch loaded from Parquet (runs kept as columns) against the same batch in memory.

    Timed: building the explorer, then the whole session (explorer, static snapshot, Runs tab,
    one run opened). True when the loaded session takes at most 1.5x the in-memory one and
    built no run objects but the failing ones and the opened one.
    """
    import tempfile

    import russo_nb
    from russo_nb.report import export, load_batch

    batch = synthetic_batch(prompts, runs)
    failing = sum(run.status not in ("passed", "cancelled") for run in batch.runs)
    with tempfile.TemporaryDirectory() as folder:
        path = export(batch, Path(folder) / "runs.parquet")
        (load,) = best_of(1, lambda: load_batch(path))
    loaded = load.value

    def session(result):
        explorer = russo_nb.explore(result)
        explorer.snapshot_html()
        explorer.open_run(len(result.runs) // 2 + 1)  # builds the Runs tab, opens a (passing or failing) run
        return explorer

    memory_build, loaded_build = best_of(2, lambda: russo_nb.explore(batch), lambda: russo_nb.explore(loaded))
    memory, in_file = best_of(2, lambda: session(batch), lambda: session(loaded))
    memory_s, loaded_s = memory.cpu, in_file.cpu
    built = loaded.runs.built_count
    print(
        f"{batch.total:>7,} runs  loaded from Parquet in {load.cpu:.2f}s CPU; explorer built: in memory "
        f"{memory_build.cpu:.2f}s, loaded {loaded_build.cpu:.2f}s; + snapshot + Runs tab + one run opened: in memory "
        f"{memory_s:.2f}s, loaded {loaded_s:.2f}s CPU ({loaded_s / memory_s:.2f}x, target <= 1.5x); "
        f"run objects built {built:,} of {len(loaded.runs):,} ({failing:,} failing)"
    )
    return loaded_s <= 1.5 * memory_s and built <= failing + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-prompts", type=int, default=1000)
    parser.add_argument("--big-runs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7, help="timings per figure at 160 and 10,000 runs")
    parser.add_argument("--big-repeats", type=int, default=1, help="timings per figure at 100,000 runs")
    args = parser.parse_args()

    # imports paid once, outside the timings (a notebook has them loaded after the first result)
    import ipywidgets  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import pandas  # noqa: F401
    import scipy.stats  # noqa: F401

    import russo_nb

    russo_nb.explore(synthetic_batch(4, 4))._repr_mimebundle_()  # warm up the import of every tab's code

    ok = construction(16, 10, args.repeats, bound_s=EXPLORER_BOUND_S)  # the 160-run demo-sized batch of issue 10
    ok &= construction(200, 50, args.repeats)  # 10,000 runs
    charts_on_request(200, 10)
    ok &= big_batch(args.big_prompts, args.big_runs, args.big_repeats)
    ok &= loaded_batch(args.big_prompts, args.big_runs)
    print(
        "PASS" if ok else "FAIL",
        f"(targets, CPU seconds, best of N: explorer < {EXPLORER_BOUND_S * 1e3:.0f} ms at 160 runs and <= "
        f"{RATIO_BOUND}x the HTML repr at 10k / 100k runs, no chart drawn when built, < 2 MB each; "
        "a loaded batch's explorer <= 1.5x in memory, building only failing runs and the opened one)",
    )


if __name__ == "__main__":
    main()
