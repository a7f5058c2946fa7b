"""One honest summary of a batch: pass rate with both intervals, flakiness, pass@k / pass^k, warnings."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field

from .frames import prompts_frame
from .stats import SMALL_SAMPLE_RUNS, clustered_se, flakiness, k_values, pass_at_k, pass_hat_k, wilson_interval

__all__ = ["BatchSummary", "summarize"]


class BatchSummary(BaseModel):
    """The numbers a person should see first, each with how sure we are of it."""

    runs: int
    prompts: int
    passed: int
    errors: int
    pass_rate: float
    wilson_low: float
    wilson_high: float
    """Wilson 95% interval treating every run as independent (optimistic when prompts differ)."""
    clustered_low: float
    clustered_high: float
    """95% interval from the standard error clustered by prompt (NaN-free; 0–1 when it cannot be computed)."""
    clustered_se: float
    n_flaky: int
    share_flaky: float
    pass_at_k: dict[int, float] = Field(default_factory=dict)
    pass_hat_k: dict[int, float] = Field(default_factory=dict)
    """Mean over prompts with at least k runs."""
    small_sample: bool
    warnings: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        """A few readable lines."""
        lines = [
            f"{self.passed}/{self.runs} runs passed ({self.pass_rate:.1%}) over {self.prompts} prompts; "
            f"95% interval {self.clustered_low:.1%}–{self.clustered_high:.1%} (clustered by prompt), "
            f"{self.wilson_low:.1%}–{self.wilson_high:.1%} (runs independent)",
            f"flaky prompts: {self.n_flaky}/{self.prompts}; errors: {self.errors}",
        ]
        if self.pass_hat_k:
            ks = ", ".join(f"pass^{k} {v:.1%}" for k, v in self.pass_hat_k.items())
            lines.append(ks)
        lines += [f"note: {w}" for w in self.warnings]
        return "\n".join(lines)


def summarize(result: Any) -> BatchSummary:
    """Summarize a BatchResult (or a runs / prompts frame, or a scenario batch)."""
    frame = prompts_frame(result) if not (hasattr(result, "columns") and "pass_rate" in result.columns) else result
    runs = frame["runs"].to_numpy()
    passed = frame["passed"].to_numpy()
    total, good = int(runs.sum()), int(passed.sum())
    warnings: list[str] = []
    if total == 0:
        return BatchSummary(
            runs=0,
            prompts=0,
            passed=0,
            errors=0,
            pass_rate=float("nan"),
            wilson_low=0.0,
            wilson_high=1.0,
            clustered_low=0.0,
            clustered_high=1.0,
            clustered_se=float("nan"),
            n_flaky=0,
            share_flaky=float("nan"),
            small_sample=True,
            warnings=["the batch has no runs"],
        )
    low, high = wilson_interval(good, total)
    clustered = clustered_se(passed, runs)
    flaky = flakiness(passed, runs)
    warnings += clustered.warnings + flaky.warnings
    at: dict[int, float] = {}
    hat: dict[int, float] = {}
    for k in k_values(int(runs.max())):
        enough = runs >= k
        at[k] = float(pass_at_k(runs[enough], passed[enough], k).mean())
        hat[k] = float(pass_hat_k(runs[enough], passed[enough], k).mean())
    if total < SMALL_SAMPLE_RUNS:
        warnings.append(f"only {total} runs in all")
    return BatchSummary(
        runs=total,
        prompts=len(frame),
        passed=good,
        errors=int(frame["errors"].sum()),
        pass_rate=good / total,
        wilson_low=float(low),
        wilson_high=float(high),
        clustered_low=clustered.low,
        clustered_high=clustered.high,
        clustered_se=clustered.se if not math.isnan(clustered.se) else float("nan"),
        n_flaky=flaky.n_flaky,
        share_flaky=flaky.share_flaky,
        pass_at_k=at,
        pass_hat_k=hat,
        small_sample=clustered.small_sample or flaky.small_sample or total < SMALL_SAMPLE_RUNS,
        warnings=list(dict.fromkeys(warnings)),
    )
