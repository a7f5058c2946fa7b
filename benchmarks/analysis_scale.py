"""Analysis at scale: frames, charts and the HTML report on a synthetic 100,000-run batch.

Targets: runs frame < 1 s, prompts frame < 1 s, each chart < 2 s, report < 5 s and < 5 MB.
Each figure is the best of ``--repeat`` tries (the machine may be shared). A baseline
measured in the same run — one bare Python pass over the runs reading five attributes,
the least any frame must do — shows how fast this machine is right now.

    python benchmarks/analysis_scale.py [--prompts 1000 --runs 100 --repeat 3]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from analysis_helpers import synthetic_batch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from russo_nb.analysis import (  # noqa: E402
    calls_frame,
    paired_comparison,
    plot_comparison,
    plot_flakiness,
    plot_latency,
    plot_match_rates,
    plot_pass_at_k,
    plot_pass_rates,
    plot_sweep,
    prompts_frame,
    runs_frame,
    runs_needed,
    summarize,
)
from russo_nb.report import to_html  # noqa: E402


def best_of(repeat: int, fn):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def render(plot, *args, **kwargs) -> int:
    """Draw on a fresh figure and render it to PNG (drawing happens at save time)."""
    figure = Figure(figsize=(10, 12), dpi=72)
    ax = figure.subplots()
    plot(*args, ax=ax, **kwargs)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return len(buffer.getvalue())


def baseline(result) -> None:
    for run in result.runs:
        run.prompt, run.status, run.latency_s, run.run_index, run.eval_result  # noqa: B018


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    result = synthetic_batch(n_prompts=args.prompts, runs=args.runs, seed=1, with_audio=40)
    other = synthetic_batch(n_prompts=args.prompts, runs=args.runs, seed=2)
    print(f"built 2 x {result.total:,} runs in {time.perf_counter() - start:.1f} s")
    # warm imports (scipy, pandas internals) so they are not charged to the first figure
    prompts_frame(synthetic_batch(5, 5))
    render(plot_pass_rates, synthetic_batch(3, 3))

    rows: list[tuple[str, float, float, str]] = []
    base, _ = best_of(args.repeat, lambda: baseline(result))
    rows.append(("baseline: one bare pass over the runs", base, float("nan"), ""))
    t, runs = best_of(args.repeat, lambda: runs_frame(result))
    rows.append(("runs frame", t, 1.0, f"{runs.shape[0]:,} x {runs.shape[1]}"))
    t, prompts = best_of(args.repeat, lambda: prompts_frame(result))
    rows.append(("prompts frame (from the result)", t, 1.0, f"{prompts.shape[0]:,} x {prompts.shape[1]}"))
    t, _ = best_of(args.repeat, lambda: prompts_frame(runs))
    rows.append(("prompts frame (from a runs frame)", t, 1.0, ""))
    t, calls = best_of(args.repeat, lambda: calls_frame(result))
    rows.append(("calls frame", t, float("nan"), f"{len(calls):,} rows"))
    t, summary = best_of(args.repeat, lambda: summarize(result))
    rows.append(("summarize (from the result)", t, 2.0, f"k_max {summary.k_max}, {summary.pass_k_prompts} prompts"))
    t, _ = best_of(args.repeat, lambda: paired_comparison(result, other))
    rows.append(("paired comparison (two results)", t, 1.0, f"{args.prompts:,} shared prompts"))
    t, plan = best_of(args.repeat, lambda: runs_needed(0.9, 0.1, prompts=20))
    rows.append(("runs_needed (20 prompts, simulated)", t, 2.0, f"{plan.runs_per_prompt} runs per prompt"))
    other_prompts = prompts_frame(other)
    charts = [
        ("chart: pass rates (from result)", lambda: render(plot_pass_rates, result)),
        ("chart: flakiness heatmap (from result)", lambda: render(plot_flakiness, result)),
        ("chart: latency (from result)", lambda: render(plot_latency, result)),
        ("chart: match rates (from result)", lambda: render(plot_match_rates, result)),
        ("chart: pass@k / pass^k (from result)", lambda: render(plot_pass_at_k, result)),
        ("chart: comparison (two results)", lambda: render(plot_comparison, result, other)),
        ("chart: sweep (4 prompts frames)", lambda: render(plot_sweep, {0: prompts, 5: other_prompts, 10: prompts})),
    ]
    for name, fn in charts:
        t, size = best_of(args.repeat, fn)
        rows.append((name, t, 2.0, f"{size / 1000:.0f} kB PNG"))
    t, page = best_of(args.repeat, lambda: to_html(result))
    size_mb = len(page.encode("utf-8")) / 1e6
    rows.append(("HTML report", t, 5.0, f"{size_mb:.2f} MB (target < 5 MB)"))

    print(f"\n{'step':<42} {'seconds':>8} {'target':>7} {'x base':>7}  result")
    failed = 0
    for name, seconds, target, note in rows:
        ok = "" if target != target else ("ok" if seconds < target else "SLOW")
        failed += ok == "SLOW"
        target_text = "" if target != target else f"< {target:.0f}"
        print(f"{name:<42} {seconds:8.3f} {target_text:>7} {seconds / base:7.1f}  {ok} {note}")
    if size_mb >= 5:
        failed += 1
        print("report is too large")
    print(f"\n{'all targets met' if not failed else f'{failed} targets missed'}")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
