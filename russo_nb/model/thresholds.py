"""The one definition of each threshold, rate label and run-count rule the analysis and every view use.

Plain Python (no numpy, no pandas), so the notebook HTML, the report and the CLI can import it
cheaply. Everything that prints a rate, flags a small sample or decides which runs count takes
it from here, so a number shown in two places is computed and worded the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COARSE_RUNS",
    "CONFIDENCE",
    "FINISHED_STATUSES",
    "FLAKY_MARGIN",
    "MEAN_OVER_PROMPTS",
    "PER_RUN",
    "SMALL_SAMPLE_PROMPTS",
    "SMALL_SAMPLE_RUNS",
    "RunTally",
    "confidence_label",
    "format_rate",
    "is_finished",
    "tally",
    "tally_counts",
]

SMALL_SAMPLE_RUNS = 10
"""Fewer finished runs than this (per prompt, or in a whole batch): flagged ``small_sample``.

A prompt that fails one time in ten can easily pass ten times in a row below this count.
The notebook view, the HTML report, the CLI and the analysis all use this one number.
"""

SMALL_SAMPLE_PROMPTS = 10
"""Fewer prompts than this: a clustered interval or a paired comparison is flagged ``small_sample``."""

COARSE_RUNS = 5
"""Fewer runs per prompt than this in a paired comparison: per-prompt rates move in big steps (warned)."""

CONFIDENCE = 0.95
"""The default confidence level of every interval; the printed level always comes from the level used."""

FLAKY_MARGIN = 0.05
"""A prompt is *flaky* when its Wilson interval lies inside [FLAKY_MARGIN, 1 − FLAKY_MARGIN].

Both passing and failing is not enough: a prompt that passes 99% of the time fails at least once
in 63% of 100-run batches. The margin asks for evidence that it fails *and* passes more than 5%
of the time; the raw "both passed and failed" count is kept beside it (``mixed``).
"""

PER_RUN = "per run"
"""Label of a rate that pools runs (Σ passed / Σ finished runs): prompts with more runs weigh more."""

MEAN_OVER_PROMPTS = "mean over prompts"
"""Label of a rate that averages per-prompt rates: every prompt weighs the same."""

FINISHED_STATUSES = ("passed", "failed", "error", "timeout")
"""Statuses of runs that finished: the denominator of every rate.

``cancelled`` runs never ran to the end (an interrupted batch); they are counted and shown,
never scored as failures. ``error`` and ``timeout`` runs did run, and count as not passed.
"""


def is_finished(status: Any) -> bool:
    """True for a run that ran to the end (passed, failed, error or timeout); False for a cancelled one."""
    return status in FINISHED_STATUSES or status is None


@dataclass(frozen=True)
class RunTally:
    """How the runs of a batch (or of one prompt) ended; ``pass_rate`` has finished runs as its denominator."""

    runs: int
    """All runs, cancelled ones included."""
    finished: int
    """Runs that ran to the end: the denominator of ``pass_rate``."""
    passed: int
    failed: int
    """Finished runs whose evaluation failed (status ``failed``)."""
    errors: int
    """Finished runs that raised (status ``error``)."""
    timeouts: int
    cancelled: int
    """Runs that never finished (an interrupted batch); not part of any rate."""

    @property
    def not_passed(self) -> int:
        """Finished runs that did not pass: failed, error or timeout."""
        return self.finished - self.passed

    @property
    def pass_rate(self) -> float:
        """passed / finished runs; NaN when no run finished (an empty or fully cancelled batch)."""
        return self.passed / self.finished if self.finished else math.nan


def tally(statuses: Iterable[Any]) -> RunTally:
    """Count run statuses (``passed``/``failed``/``error``/``timeout``/``cancelled``; ``None`` counts as failed)."""
    counts: dict[Any, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return tally_counts(counts)


def tally_counts(counts: Mapping[Any, int]) -> RunTally:
    """The tally of runs already counted per status (any status not known counts as failed)."""
    known = {"passed": 0, "failed": 0, "error": 0, "timeout": 0, "cancelled": 0}
    total = 0
    for status, count in counts.items():
        total += count
        known[status if status in known else "failed"] += count
    return RunTally(
        runs=total,
        finished=total - known["cancelled"],
        passed=known["passed"],
        failed=known["failed"],
        errors=known["error"],
        timeouts=known["timeout"],
        cancelled=known["cancelled"],
    )


def format_rate(rate: float, digits: int = 1) -> str:
    """``"81.8%"``, or ``"n/a"`` for NaN (no finished runs), so an undefined rate never prints as a number."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "n/a"
    return f"{rate:.{digits}%}"


def confidence_label(confidence: float) -> str:
    """``"95%"`` for 0.95, ``"99.5%"`` for 0.995: the level printed next to an interval is the level used."""
    text = f"{confidence * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text}%"
