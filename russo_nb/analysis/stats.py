"""Honest statistics for repeated runs of one batch: intervals, pass@k / pass^k, flakiness, latency.

Pure functions of counts (numpy, the standard library's NormalDist, scipy.stats only for t
quantiles), so they can be checked by hand. The rules every number follows:

- finished runs are the denominator (see :mod:`.thresholds`); a prompt with no finished run
  is left out of every rate and counted;
- intervals stay inside [0, 1] and never collapse to a point: the clustered interval is a
  Wilson interval on the effective number of runs (Kish design effect, at least 1) with a
  t quantile on G − 1 degrees of freedom, so it is never narrower than the binomial one;
- the confidence level passed in is the one used and the one printed.

Paired comparisons of two batches and the sizing of them live in :mod:`.paired`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from ..errors import InvalidArgumentError
from ..thresholds import CONFIDENCE, SMALL_SAMPLE_PROMPTS, SMALL_SAMPLE_RUNS, confidence_label

__all__ = [
    "ClusteredRate",
    "FlakinessSummary",
    "LatencySummary",
    "PassKCurves",
    "SMALL_SAMPLE_PROMPTS",
    "SMALL_SAMPLE_RUNS",
    "clustered_se",
    "flakiness",
    "FLAKY_TEST",
    "flakiness_score",
    "is_flaky",
    "k_values",
    "latency_summary",
    "newcombe_interval",
    "pass_at_k",
    "pass_hat_k",
    "pass_k_curves",
    "wilson_interval",
]


def check_confidence(confidence: float) -> float:
    """``confidence`` as a float in (0, 1), or a clear error (e.g. ``95`` instead of ``0.95``)."""
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise InvalidArgumentError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return float(confidence)


def _z(confidence: float) -> float:
    """The two-sided normal quantile; the standard library's, so a Wilson interval does not load scipy."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + check_confidence(confidence) / 2.0)


def t_quantile(confidence: float, df: Any) -> Any:
    """Two-sided Student t quantile with ``df`` degrees of freedom (vectorized over ``df`` and ``confidence``)."""
    from scipy import stats as sps

    return sps.t.ppf(0.5 + np.asarray(confidence) / 2.0, df)


def _check_counts(successes: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    if np.any(total < 0) or np.any(c < 0) or np.any(c > total):
        raise InvalidArgumentError("counts must satisfy 0 <= successes <= n; check the passed and run counts")
    return c, total


def wilson_bounds(p: Any, n: Any, crit: Any) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds for a proportion ``p`` seen over ``n`` (possibly effective, non-integer) trials.

    ``crit`` is the critical value (a normal or t quantile). Vectorized; ``n`` must be > 0. The
    bounds lie in [0, 1] and are never equal: this is the shape every interval here takes.
    """
    p, n, crit = np.asarray(p, dtype=float), np.asarray(n, dtype=float), np.asarray(crit, dtype=float)
    z2 = crit * crit
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = crit * np.sqrt(np.maximum(p * (1 - p), 0.0) / n + z2 / (4 * n * n)) / denom
    low = np.where(p <= 0.0, 0.0, np.maximum(centre - half, 0.0))
    high = np.where(p >= 1.0, 1.0, np.minimum(centre + half, 1.0))
    return low, high


def wilson_interval(successes: Any, n: Any, confidence: float = CONFIDENCE) -> tuple[Any, Any]:
    """Wilson score interval for a binomial proportion: ``(low, high)``; vectorized over arrays.

    Unlike the Wald interval it stays inside [0, 1] and is sensible at 0/n and n/n.
    ``n == 0`` gives ``(0.0, 1.0)`` (nothing is known).
    """
    c, total = _check_counts(successes, n)
    z = _z(confidence)
    safe = np.where(total > 0, total, 1.0)
    low, high = wilson_bounds(np.where(total > 0, c / safe, 0.0), safe, z)
    low = np.where(total > 0, low, 0.0)
    high = np.where(total > 0, high, 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def _ratio_of_combinations(top: np.ndarray, n: np.ndarray, k: int) -> np.ndarray:
    """C(top, k) / C(n, k) computed as a product, stable for large n; 0 where top < k."""
    top = np.asarray(top, dtype=float)
    n = np.asarray(n, dtype=float)
    out = np.ones(np.broadcast(top, n).shape, dtype=float)
    for i in range(k):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = out * np.where(n - i > 0, (top - i) / (n - i), 0.0)
    return np.where(top < k, 0.0, np.clip(out, 0.0, 1.0))


def _check_k(n: np.ndarray, k: int) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise InvalidArgumentError(f"k must be a whole number >= 1, got {k!r}")


def pass_at_k(n: Any, c: Any, k: int) -> Any:
    """Unbiased pass@k: the chance that at least one of k runs drawn from the n passes.

    ``1 - C(n-c, k) / C(n, k)`` (Chen et al. 2021) with ``c`` passes out of ``n`` runs.
    NaN where ``n < k`` (not enough runs to say). Vectorized over ``n`` and ``c``.
    """
    c_arr, n_arr = _check_counts(c, n)
    _check_k(n_arr, k)
    value = 1.0 - _ratio_of_combinations(n_arr - c_arr, n_arr, int(k))
    value = np.where(n_arr < k, np.nan, value)
    return float(value) if value.ndim == 0 else value


def pass_hat_k(n: Any, c: Any, k: int) -> Any:
    """pass^k (τ-bench): the chance that all k runs drawn from the n pass, ``C(c, k) / C(n, k)``.

    The reliability counterpart of pass@k: it falls as k grows unless every run passes.
    NaN where ``n < k``. Vectorized over ``n`` and ``c``.
    """
    c_arr, n_arr = _check_counts(c, n)
    _check_k(n_arr, k)
    value = _ratio_of_combinations(c_arr, n_arr, int(k))
    value = np.where(n_arr < k, np.nan, value)
    return float(value) if value.ndim == 0 else value


def k_values(max_runs: int) -> list[int]:
    """The k reported for pass@k / pass^k: 1, 2, 3, 5, 10, 20, 50, 100, ... up to ``max_runs``, and ``max_runs``."""
    ks: list[int] = []
    for base in (1, 2, 3, 5):
        if base <= max_runs:
            ks.append(base)
    scale = 10
    while scale <= max_runs:
        for mult in (1, 2, 5):
            if scale * mult <= max_runs:
                ks.append(scale * mult)
        scale *= 10
    if max_runs >= 1 and ks[-1] != max_runs:
        ks.append(max_runs)  # pass^n: every run passed
    return ks


class PassKCurves(BaseModel):
    """pass@k and pass^k averaged over one fixed set of prompts, for every k in ``ks``.

    Every k averages the same prompts (those with at least ``k_max`` finished runs), so the
    curves compare like with like: pass^k can only fall as k grows. Prompts with fewer runs are
    left out and counted, never averaged in at the small k only.
    """

    ks: list[int]
    pass_at_k: dict[int, float]
    pass_hat_k: dict[int, float]
    k_max: int
    n_prompts: int
    """Prompts averaged (each has at least ``k_max`` finished runs); each weighs the same."""
    n_left_out: int
    """Prompts that ran but have fewer than ``k_max`` finished runs, left out of the curves."""
    weighting: str = "mean over prompts"

    def note(self) -> str:
        """What the curves average, in words (for legends and summaries)."""
        text = f"mean over {self.n_prompts} prompts with ≥ {self.k_max} runs"
        if self.n_left_out:
            text += f"; {self.n_left_out} prompts with fewer runs left out"
        return text


def pass_k_curves(runs: Any, passed: Any, *, k_max: int | None = None, ks: Sequence[int] | None = None) -> PassKCurves:
    """pass@k / pass^k over the prompts with at least ``k_max`` finished runs.

    ``runs[i]`` finished runs and ``passed[i]`` passes of prompt ``i`` (prompts with 0 runs did
    not run and are ignored). ``k_max`` defaults to the fewest runs of any prompt that ran, so
    every prompt counts; pass a larger ``k_max`` to see further at the cost of the prompts with
    fewer runs (their number is ``n_left_out``). ``ks`` defaults to :func:`k_values` of ``k_max``.
    """
    c_arr, n_arr = _check_counts(passed, runs)
    c_arr, n_arr = np.atleast_1d(c_arr), np.atleast_1d(n_arr)
    ran = n_arr > 0
    c_arr, n_arr = c_arr[ran], n_arr[ran]
    if len(n_arr) == 0:
        return PassKCurves(ks=[], pass_at_k={}, pass_hat_k={}, k_max=0, n_prompts=0, n_left_out=0)
    if k_max is None:
        k_max = int(n_arr.min())
    _check_k(n_arr, k_max)
    keep = n_arr >= k_max
    chosen = list(ks) if ks is not None else k_values(int(k_max))
    if any(k > k_max for k in chosen):
        raise InvalidArgumentError(f"every k must be at most k_max={k_max}; got ks={chosen}")
    at: dict[int, float] = {}
    hat: dict[int, float] = {}
    for k in chosen:
        if keep.any():
            at[int(k)] = float(np.mean(pass_at_k(n_arr[keep], c_arr[keep], int(k))))
            hat[int(k)] = float(np.mean(pass_hat_k(n_arr[keep], c_arr[keep], int(k))))
    return PassKCurves(
        ks=[int(k) for k in chosen],
        pass_at_k=at,
        pass_hat_k=hat,
        k_max=int(k_max),
        n_prompts=int(keep.sum()),
        n_left_out=int((~keep).sum()),
    )


def flakiness_score(c: Any, n: Any) -> Any:
    """Flakiness of one prompt: the chance that two of its runs, drawn without replacement, disagree, × 2.

    ``4·c·(n−c) / (n·(n−1))``: the unbiased estimate of ``4·p·(1−p)`` (the plug-in
    ``4·p̂·(1−p̂)`` is biased low by ``(n−1)/n``). 0 when every run agrees, 1 at a coin flip on
    average; being unbiased, it can exceed 1 with few runs (at most ``n/(n−1)``, e.g. 2 for 1 of 2).
    NaN for fewer than 2 runs (disagreement cannot be seen).
    """
    c_arr, n_arr = _check_counts(c, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(n_arr >= 2, 4.0 * c_arr * (n_arr - c_arr) / (n_arr * (n_arr - 1)), np.nan)
    return float(score) if score.ndim == 0 else score


def is_flaky(c: Any, n: Any) -> Any:
    """The test behind "flaky": the prompt both passed and failed (``0 < c < n``).

    Equivalently, its Wilson interval excludes both 0 and 1 at any confidence level: a prompt
    that has passed cannot always fail, and one that has failed cannot always pass. A rarely
    failing prompt is only caught once it has failed, so the share of flaky prompts grows with
    the number of runs; compare shares only between batches with the same runs per prompt.
    """
    c_arr, n_arr = _check_counts(c, n)
    return (c_arr > 0) & (c_arr < n_arr)


FLAKY_TEST = "flaky = both passed and failed (its Wilson interval excludes 0 and 1)"
"""The wording of the flakiness test, for tables, legends and summaries."""


class FlakinessSummary(BaseModel):
    """Flakiness across prompts: who disagrees with itself, and how much."""

    scores: list[float]
    """Per-prompt unbiased ``4·c·(n−c)/(n·(n−1))`` score, in the order given (NaN below 2 runs)."""
    flaky: list[bool]
    """Per prompt: both passed and failed (see :func:`is_flaky`)."""
    n_prompts: int
    """Prompts with at least one finished run."""
    n_flaky: int
    share_flaky: float
    """Fraction of prompts that are flaky (NaN with no prompts)."""
    share_low: float
    share_high: float
    """Wilson interval of the flaky share, at ``confidence``."""
    mean_score: float
    """Mean score over prompts with at least 2 runs (NaN when none has)."""
    confidence: float = CONFIDENCE
    test: str = FLAKY_TEST
    small_sample: bool
    """True when some prompt has fewer than 2 runs (flakiness cannot show) or < SMALL_SAMPLE_RUNS runs."""
    warnings: list[str] = Field(default_factory=list)


def flakiness(
    c: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray, confidence: float = CONFIDENCE
) -> FlakinessSummary:
    """Per-prompt flakiness scores and the share of flaky prompts (both passed and failed).

    ``c[i]`` passes out of ``n[i]`` finished runs for prompt ``i``; prompts with no finished run
    are left out. A prompt with one run can never look flaky, so such batches are flagged
    ``small_sample``.
    """
    c_arr, n_arr = _check_counts(c, n)
    c_arr, n_arr = np.atleast_1d(c_arr), np.atleast_1d(n_arr)
    ran = n_arr > 0
    c_arr, n_arr = c_arr[ran], n_arr[ran]
    scores = np.atleast_1d(flakiness_score(c_arr, n_arr))
    flaky = np.atleast_1d(is_flaky(c_arr, n_arr))
    m = len(n_arr)
    n_flaky = int(flaky.sum())
    warnings: list[str] = []
    if m and n_arr.min() < 2:
        warnings.append("some prompts have fewer than 2 runs; their flakiness cannot be seen")
    elif m and n_arr.min() < SMALL_SAMPLE_RUNS:
        warnings.append(
            f"only {int(n_arr.min())} runs for some prompts; a prompt that fails 1 time in {SMALL_SAMPLE_RUNS} "
            "can easily look stable"
        )
    low, high = wilson_interval(n_flaky, m, confidence) if m else (0.0, 1.0)
    return FlakinessSummary(
        scores=[float(x) for x in scores],
        flaky=[bool(x) for x in flaky],
        n_prompts=m,
        n_flaky=n_flaky,
        share_flaky=n_flaky / m if m else float("nan"),
        share_low=float(low),
        share_high=float(high),
        mean_score=float(np.nanmean(scores)) if m and not np.all(np.isnan(scores)) else float("nan"),
        confidence=confidence,
        small_sample=bool(warnings) or m == 0,
        warnings=warnings,
    )


class ClusteredRate(BaseModel):
    """A batch pass rate (per run) with an interval that treats prompts as clusters."""

    rate: float
    """Σ passed / Σ finished runs (per run)."""
    se: float
    """Cluster-robust (CR1) standard error: runs of one prompt are not independent. NaN with one prompt."""
    low: float
    high: float
    """Wilson interval on ``n_effective`` runs with the t quantile on ``df`` degrees of freedom."""
    naive_se: float
    """The binomial SE that assumes every run independent, for contrast."""
    design_effect: float
    """(se / naive_se)²: how much clustering inflates the variance (NaN when naive_se is 0)."""
    n_effective: float
    """Runs / max(design effect, 1): the interval is never narrower than the binomial (Wilson) one."""
    df: int
    """Degrees of freedom of the t quantile: prompts − 1 (0 with one prompt)."""
    confidence: float = CONFIDENCE
    n_runs: int
    n_prompts: int
    weighting: str = "per run"
    method: str = ""
    small_sample: bool
    warnings: list[str] = Field(default_factory=list)


def clustered_se(
    c: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray, confidence: float = CONFIDENCE
) -> ClusteredRate:
    """The pooled pass rate ``Σc / Σn`` with an interval clustered by prompt.

    Standard error: the sandwich (cluster-robust) variance of a mean with the CR1 factor
    ``G/(G−1)``: ``Var = G/(G−1) · Σ_g (c_g − p̂·n_g)² / N²`` over ``G`` prompts and ``N`` runs
    (an OLS of pass on a constant with ``cov_type='cluster'``).

    Interval: the Wilson interval on the effective number of runs ``N / max(deff, 1)``, where
    ``deff = (se / binomial se)²``, with the t quantile on ``G − 1`` degrees of freedom. So it
    stays in [0, 1], never collapses (all prompts 5/5 still give a width; prompts that agree
    exactly give at least the binomial interval), and is wider with few prompts. One prompt
    gives (0, 1): nothing is known about other prompts. Prompts with no finished run are ignored.
    """
    check_confidence(confidence)
    c_arr, n_arr = _check_counts(c, n)
    c_arr, n_arr = np.atleast_1d(c_arr), np.atleast_1d(n_arr)
    keep = n_arr > 0
    c_arr, n_arr = c_arr[keep], n_arr[keep]
    groups = len(n_arr)
    total = float(n_arr.sum())
    if total == 0:
        raise InvalidArgumentError("clustered_se needs at least one finished run; the batch has none")
    rate = float(c_arr.sum() / total)
    naive = math.sqrt(rate * (1 - rate) / total)
    warnings: list[str] = []
    level = confidence_label(confidence)
    if groups < 2:
        se, design, n_eff = float("nan"), float("nan"), float("nan")
        low, high = 0.0, 1.0
        warnings.append("only one prompt: an interval clustered by prompt needs at least 2 prompts")
        method = "no interval (one prompt)"
    else:
        resid = c_arr - rate * n_arr
        se = float(math.sqrt(groups / (groups - 1) * float(np.sum(resid**2)) / total**2))
        design = (se / naive) ** 2 if naive > 0 else float("nan")
        n_eff = total / max(design, 1.0) if not math.isnan(design) else total
        crit = float(t_quantile(confidence, groups - 1))
        lo, hi = wilson_bounds(rate, n_eff, crit)
        low, high = float(lo), float(hi)
        method = (
            f"{level} Wilson interval on {n_eff:.4g} effective runs (design effect ≥ 1), "
            f"t quantile with {groups - 1} df"
        )
        if groups < SMALL_SAMPLE_PROMPTS:
            warnings.append(
                f"only {groups} prompts; an interval clustered by prompt is wide below {SMALL_SAMPLE_PROMPTS}"
            )
    return ClusteredRate(
        rate=rate,
        se=se,
        low=low,
        high=high,
        naive_se=naive,
        design_effect=design,
        n_effective=n_eff,
        df=max(groups - 1, 0),
        confidence=confidence,
        n_runs=int(total),
        n_prompts=groups,
        method=method,
        small_sample=bool(warnings),
        warnings=warnings,
    )


def newcombe_interval(c1: Any, n1: Any, c2: Any, n2: Any, confidence: float = CONFIDENCE) -> tuple[Any, Any]:
    """Newcombe's hybrid score interval for ``p2 − p1`` of two independent proportions (vectorized).

    Built from each side's Wilson interval (Newcombe 1998, method 10); stays in [−1, 1].
    """
    c1a, n1a = _check_counts(c1, n1)
    c2a, n2a = _check_counts(c2, n2)
    l1, u1 = wilson_interval(c1a, n1a, confidence)
    l2, u2 = wilson_interval(c2a, n2a, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.where(n1a > 0, c1a / np.where(n1a > 0, n1a, 1), np.nan)
        p2 = np.where(n2a > 0, c2a / np.where(n2a > 0, n2a, 1), np.nan)
    d = p2 - p1
    low = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    if np.ndim(low) == 0:
        return float(low), float(high)
    return low, high


class LatencySummary(BaseModel):
    """Latency percentiles of finished runs, with timed-out runs counted at their timeout (censored)."""

    p50: float
    p95: float
    mean: float
    """Mean of the same values (timed-out runs at their timeout); a lower bound when ``censored`` > 0."""
    n: int
    """Runs the percentiles are computed from (measured + censored)."""
    censored: int
    """Timed-out runs included at the timeout: their real latency is at least that, so p50/p95 are lower bounds."""
    omitted: int
    """Finished runs without a latency (errors, or timeouts with no known limit), left out."""
    timeout: float | None = None

    def note(self) -> str:
        """How the percentiles were computed, in words."""
        parts = [f"{self.n} runs"]
        if self.censored:
            parts.append(f"{self.censored} timed out, counted at the {self.timeout:g} s limit (so a lower bound)")
        if self.omitted:
            parts.append(f"{self.omitted} without a latency left out")
        return "; ".join(parts)


def censored_latency(latency: Any, status: Any, timeout: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Latencies with timed-out runs set to ``timeout`` (when known) and cancelled runs dropped to NaN.

    Returns ``(values, censored)``: values in seconds (NaN where unknown), and a flag per run
    for those counted at the timeout.
    """
    values = np.array(latency, dtype=float, copy=True)
    status_arr = np.asarray(status, dtype=object)
    timed_out = status_arr == "timeout"
    censored = np.zeros(len(values), dtype=bool)
    if timeout is not None and timeout > 0:
        censored = timed_out.copy()
        values[timed_out] = np.where(np.isnan(values[timed_out]), timeout, np.maximum(values[timed_out], timeout))
    values[status_arr == "cancelled"] = np.nan
    return values, censored


def latency_summary(latency: Any, status: Any, timeout: float | None = None) -> LatencySummary:
    """p50 / p95 / mean latency over finished runs; timed-out runs enter at ``timeout`` (marked censored)."""
    values, censored = censored_latency(latency, status, timeout)
    status_arr = np.asarray(status, dtype=object)
    finished = status_arr != "cancelled"
    known = finished & ~np.isnan(values)
    data = values[known]
    return LatencySummary(
        p50=float(np.percentile(data, 50)) if len(data) else float("nan"),
        p95=float(np.percentile(data, 95)) if len(data) else float("nan"),
        mean=float(data.mean()) if len(data) else float("nan"),
        n=int(known.sum()),
        censored=int(censored.sum()),
        omitted=int((finished & np.isnan(values)).sum()),
        timeout=timeout,
    )
