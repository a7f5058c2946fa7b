"""Progress and summaries as terminal text: a live bar on a terminal, plain lines in logs and CI.

Used by the ``russo`` command and the pytest plugin's terminal summary.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..model.plain_text import terminal_safe

__all__ = ["ProgressPrinter", "flaky_prompts", "pass_line"]


def flaky_prompts(batch: Any) -> list[tuple[str, int, int]]:
    """Flaky prompts: ``(prompt, passed, finished runs)``, by :func:`russo_nb.results.analysis.stats.is_flaky`.

    A prompt is flaky when its Wilson interval lies inside the flaky margin (it reliably both
    passes and fails), not merely because it both passed and failed; cancelled runs are not failures.
    """
    from .view.model import prompt_rows

    return [(row.prompt, row.passed, row.finished) for row in prompt_rows(batch, measures=False) if row.flaky]


def pass_line(label: str, batch: Any) -> str:
    """``label  4/5 passed (80%)`` over finished runs, plus error/timeout/cancelled counts when there are any."""
    from ..model.thresholds import format_rate

    counts = batch.status_counts if hasattr(batch, "status_counts") else {}
    extra = [f"{counts[key]} {key}" for key in ("error", "timeout", "cancelled") if counts.get(key)]
    tail = f", {', '.join(extra)}" if extra else ""
    finished = getattr(batch, "finished_count", batch.total)
    return f"{terminal_safe(label)}  {batch.passed_count}/{finished} passed ({format_rate(batch.pass_rate, 0)}{tail})"


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def flaky_lines(batch: Any, indent: str = "    ") -> list[str]:
    """One line per flaky prompt: ``flaky: 'Book a flight…' 2/3 passed``."""
    flaky = flaky_prompts(batch)
    return [f"{indent}flaky: {_short(prompt)!r} {passed}/{runs} passed" for prompt, passed, runs in flaky]


class ProgressPrinter:
    """An ``on_progress`` callback writing to ``stream`` (stderr by default).

    On a terminal it redraws one bar line; otherwise it writes a plain line at each
    10% step (and at the end), so logs stay short and readable.
    """

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None, label: str = "russo") -> None:
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty()) if callable(isatty) else False
        self.tty = tty
        self.label = terminal_safe(label)
        self._last_step = -1
        self._last_draw = 0.0
        self._drawn = False

    def __call__(self, progress: Any) -> None:
        if self.tty:
            self._draw_bar(progress)
        else:
            self._write_line(progress)

    def _draw_bar(self, progress: Any, force: bool = False) -> None:
        now = time.monotonic()
        if not force and progress.done < progress.total and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        width = 24
        filled = round(width * progress.fraction)
        bar = "█" * filled + "░" * (width - filled)
        eta = progress.eta_s
        left = f" ~{eta:.0f}s left" if eta is not None and progress.done < progress.total else ""
        line = (
            f"\r{self.label} [{bar}] {progress.done}/{progress.total} "
            f"✓{progress.passed} ✗{progress.failed} !{progress.errors}{left}"
        )
        self.stream.write(line + "\x1b[K")
        self._drawn = True
        if progress.done >= progress.total:
            self.stream.write("\n")
            self._drawn = False
        self.stream.flush()

    def _write_line(self, progress: Any) -> None:
        step = int(progress.fraction * 10)
        if step == self._last_step and progress.done < progress.total:
            return
        self._last_step = step
        self.stream.write(
            f"{self.label}: {progress.done}/{progress.total} runs done "
            f"({progress.passed} passed, {progress.failed} failed, {progress.errors} errors)\n"
        )
        self.stream.flush()

    def close(self) -> None:
        """End a bar line left open (after an interrupt)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
