"""Showing a 100,000-run batch in a notebook: HTML repr and explorer construction time and output size.

Targets: each under 3 s, and the cell output (HTML, or the explorer's widget state) under 2 MB.
Baseline measured in the same run: the plain-text ``BatchResult.summary()`` of the same batch.
Run: ``python benchmarks/notebook_scale.py [--prompts 1000 --runs 100]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()

    # imports paid once, outside the timings (a notebook has them loaded after the first result)
    import ipywidgets  # noqa: F401
    import scipy.stats  # noqa: F401

    import russo_nb

    started = time.perf_counter()
    batch = synthetic_batch(args.prompts, args.runs, with_audio=20)
    print(f"built {batch.total:,} runs over {args.prompts:,} prompts in {time.perf_counter() - started:.2f}s")

    started = time.perf_counter()
    text = batch.summary()
    baseline = time.perf_counter() - started
    print(f"baseline  summary() plain text   {baseline:6.2f}s  {len(text.encode()) / 1e6:6.2f} MB")

    started = time.perf_counter()
    html = batch._repr_html_()
    html_s = time.perf_counter() - started
    html_mb = len(html.encode()) / 1e6
    print(f"HTML      _repr_html_()          {html_s:6.2f}s  {html_mb:6.2f} MB  ({html_s / baseline:.1f}x baseline)")

    started = time.perf_counter()
    explorer = russo_nb.explore(batch)
    explore_s = time.perf_counter() - started
    state_mb = widget_state_bytes(explorer) / 1e6
    print(f"explorer  explore() construction {explore_s:6.2f}s  {state_mb:6.2f} MB widget state "
          f"({explore_s / baseline:.1f}x baseline; charts on request above 20,000 runs)")  # fmt: skip

    started = time.perf_counter()
    explorer._draw_charts()
    charts_s = time.perf_counter() - started
    print(
        f"charts    on request (4 PNGs)    {charts_s:6.2f}s  {widget_state_bytes(explorer) / 1e6:6.2f} MB total state"
    )

    started = time.perf_counter()
    explorer.status_filter.value = "failed"
    explorer._turn(1)
    print(f"runs tab  filter + page turn     {time.perf_counter() - started:6.2f}s")

    ok = html_s < 3 and explore_s < 3 and html_mb < 2 and state_mb < 2
    print("PASS" if ok else "FAIL", "(targets: < 3 s and < 2 MB each)")


if __name__ == "__main__":
    main()
