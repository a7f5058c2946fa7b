"""One honest summary of a batch: pass rate with its interval clustered by prompt, flakiness, pass@k, latency.

Finished runs are the denominator; cancelled runs are counted and said, never scored. Every
rate says how it is weighted (per run, or mean over prompts) and every interval its level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from ...model.thresholds import CONFIDENCE, MEAN_OVER_PROMPTS, PER_RUN, SMALL_SAMPLE_RUNS, confidence_label, format_rate
from .rows import group_runs
from .stats import (
    FLAKY_TEST,
    LatencySummary,
    check_confidence,
    clustered_se,
    flakiness,
    latency_summary,
    pass_k_curves,
)

__all__ = ["BatchSummary", "summarize"]


class BatchSummary(BaseModel):
    """The numbers a person should see first, each with how sure we are of it."""

    runs: int
    """Finished runs (passed, failed, error, timeout): the denominator of every rate."""
    cancelled: int = 0
    """Runs that never finished (an interrupted batch): counted here, in no rate."""
    prompts: int
    """Prompts with at least one finished run."""
    prompts_not_run: int = 0
    """Prompts whose every run was cancelled."""
    passed: int
    errors: int
    """Finished runs that raised or timed out (they count as not passed)."""
    pass_rate: float
    """passed / finished runs, per run (NaN with no finished run)."""
    pass_rate_weighting: str = PER_RUN
    mean_prompt_pass_rate: float = math.nan
    """Mean over prompts of each prompt's pass rate (every prompt weighs the same)."""
    confidence: float = CONFIDENCE
    clustered_low: float
    clustered_high: float
    """The batch rate's one interval, clustered by prompt (:func:`~russo_nb.analysis.clustered_se`): Wilson on
    effective runs with t on prompts − 1 df; with one prompt, that prompt's Wilson interval."""
    clustered_se: float
    interval_method: str = ""
    """How the interval was computed, in words."""
    n_flaky: int
    share_flaky: float
    n_mixed: int = 0
    """Prompts that both passed and failed (the raw count; ``n_flaky`` asks for a margin)."""
    flaky_test: str = FLAKY_TEST
    pass_at_k: dict[int, float] = Field(default_factory=dict)
    pass_hat_k: dict[int, float] = Field(default_factory=dict)
    """Mean over the same ``pass_k_prompts`` prompts (those with at least ``k_max`` runs) at every k."""
    k_max: int = 0
    pass_k_prompts: int = 0
    pass_k_left_out: int = 0
    latency: LatencySummary | None = None
    """p50 / p95 / mean agent latency of finished runs (timed-out runs at the timeout, marked censored)."""
    small_sample: bool
    warnings: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        """A few readable lines; every rate names its weighting and every interval its level."""
        level = confidence_label(self.confidence)
        if self.runs == 0:
            lines = [f"no finished runs ({self.cancelled} cancelled): no pass rate"]
            lines += [f"note: {w}" for w in self.warnings]
            return "\n".join(lines)
        head = (
            f"{self.passed}/{self.runs} finished runs passed ({format_rate(self.pass_rate)} {PER_RUN}) "
            f"over {self.prompts} prompts"
        )
        if self.cancelled:
            head += f"; {self.cancelled} cancelled runs not counted"
        lines = [
            head,
            f"{level} CI {format_rate(self.clustered_low)}–{format_rate(self.clustered_high)} "
            f"({self.interval_method or 'clustered by prompt'})",
            f"{format_rate(self.mean_prompt_pass_rate)} {MEAN_OVER_PROMPTS}",
            f"flaky prompts: {self.n_flaky}/{self.prompts}, mixed (both passed and failed): {self.n_mixed}/"
            f"{self.prompts} ({self.flaky_test}); errors and timeouts: {self.errors}",
        ]
        if self.pass_hat_k:
            ks = ", ".join(f"pass^{k} {v:.1%}" for k, v in self.pass_hat_k.items())
            scope = f"{MEAN_OVER_PROMPTS}: {self.pass_k_prompts} prompts with ≥ {self.k_max} runs"
            if self.pass_k_left_out:
                scope += f", {self.pass_k_left_out} with fewer left out"
            lines.append(f"{ks} ({scope})")
        if self.latency is not None and self.latency.n:
            lat = self.latency
            lines.append(f"latency p50 {lat.figure(lat.p50)}, p95 {lat.figure(lat.p95)} ({lat.note()})")
        lines += [f"note: {w}" for w in self.warnings]
        return "\n".join(lines)


def summarize(result: Any, *, confidence: float = CONFIDENCE, k_max: int | None = None) -> BatchSummary:
    """Summarize a BatchResult (or a runs / prompts frame, or a scenario batch) from its prompt rows.

    ``confidence``: the level of every interval (and the one printed). ``k_max``: how far the
    pass@k / pass^k curves go (default: the fewest finished runs of any prompt, so every prompt
    counts; a larger value leaves out prompts with fewer runs and says how many).
    """
    check_confidence(confidence)
    latency: LatencySummary | None = None
    if hasattr(result, "columns") and "pass_rate" in result.columns:  # a prompts frame already
        runs = result["runs"].to_numpy()
        passed = result["passed"].to_numpy()
        cancelled = int(result["cancelled"].sum()) if "cancelled" in result.columns else 0
        errors = int(result["errors"].sum())
    else:  # the one per-prompt aggregation (view.prompt_rows), over a result or a runs frame
        grouped = group_runs(result, confidence=confidence)
        rows = grouped.rows
        runs = np.array([row.finished for row in rows], dtype=np.int64)
        passed = np.array([row.passed for row in rows], dtype=np.int64)
        cancelled = sum(row.cancelled for row in rows)
        errors = sum(row.errors for row in rows)
        if not hasattr(result, "columns") or "latency_s" in result.columns:
            latency = latency_summary(grouped.latency, grouped.statuses, grouped.timeout)
    ran = runs > 0
    total, good = int(runs.sum()), int(passed.sum())
    not_run = int((~ran).sum())
    warnings: list[str] = []
    if cancelled:
        warnings.append(
            f"{cancelled} runs were cancelled (interrupted); rates count the {total} finished runs only"
            + (f"; {not_run} prompts did not run at all" if not_run else "")
        )
    if total == 0:
        return BatchSummary(
            runs=0,
            cancelled=cancelled,
            prompts=0,
            prompts_not_run=not_run,
            passed=0,
            errors=0,
            pass_rate=float("nan"),
            confidence=confidence,
            clustered_low=0.0,
            clustered_high=1.0,
            clustered_se=float("nan"),
            n_flaky=0,
            share_flaky=float("nan"),
            latency=latency,
            small_sample=True,
            warnings=[*warnings, "the batch has no finished runs"],
        )
    clustered = clustered_se(passed, runs, confidence)
    flaky = flakiness(passed, runs, confidence)
    warnings += clustered.warnings + flaky.warnings
    curves = pass_k_curves(runs, passed, k_max=k_max)
    if curves.n_left_out:
        warnings.append(
            f"pass@k / pass^k average the {curves.n_prompts} prompts with at least {curves.k_max} runs; "
            f"{curves.n_left_out} with fewer were left out"
        )
    if total < SMALL_SAMPLE_RUNS:
        warnings.append(f"only {total} finished runs in all")
    if latency is not None and latency.censored:
        warnings.append(f"latency: {latency.note()}")
    elif latency is not None and latency.omitted:
        warnings.append(f"latency: {latency.omitted} finished runs without a latency are left out")
    return BatchSummary(
        runs=total,
        cancelled=cancelled,
        prompts=int(ran.sum()),
        prompts_not_run=not_run,
        passed=good,
        errors=errors,
        pass_rate=good / total,
        mean_prompt_pass_rate=float(np.mean(passed[ran] / runs[ran])),
        confidence=confidence,
        clustered_low=clustered.low,
        clustered_high=clustered.high,
        clustered_se=clustered.se,
        interval_method=clustered.method,
        n_flaky=flaky.n_flaky,
        share_flaky=flaky.share_flaky,
        n_mixed=flaky.n_mixed,
        flaky_test=flaky.test,
        pass_at_k=curves.pass_at_k,
        pass_hat_k=curves.pass_hat_k,
        k_max=curves.k_max,
        pass_k_prompts=curves.n_prompts,
        pass_k_left_out=curves.n_left_out,
        latency=latency,
        small_sample=clustered.small_sample or flaky.small_sample or total < SMALL_SAMPLE_RUNS,
        warnings=list(dict.fromkeys(warnings)),
    )
