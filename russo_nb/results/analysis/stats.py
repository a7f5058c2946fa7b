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

from ...model.errors import InvalidArgumentError
from ...model.thresholds import CONFIDENCE, FLAKY_MARGIN, SMALL_SAMPLE_PROMPTS, SMALL_SAMPLE_RUNS, confidence_label

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
    "is_mixed",
    "flaky_test_text",
    "icc_estimate",
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


def is_mixed(c: Any, n: Any) -> Any:
    """The raw count behind flakiness: the prompt both passed and failed (``0 < c < n``).

    Not the flaky test: a prompt passing 99% of the time is mixed in 63% of 100-run batches.
    Shown beside ``flaky`` as its own column.
    """
    c_arr, n_arr = _check_counts(c, n)
    return (c_arr > 0) & (c_arr < n_arr)


def is_flaky(c: Any, n: Any, confidence: float = CONFIDENCE, margin: float = FLAKY_MARGIN) -> Any:
    """The test behind "flaky": the prompt's Wilson interval lies inside ``[margin, 1 − margin]``.

    That is, the runs show (at ``confidence``) that the prompt fails more than ``margin`` of the
    time *and* passes more than ``margin`` of the time. Merely both passing and failing
    (:func:`is_mixed`) is not enough: a rarely failing prompt fails once sooner or later, so
    that count grows with the runs; this one does not (a prompt at 99% is flaky in no batch).
    Needs a few runs to show: 1 of 2, 1 of 3 or 2 of 5 are flaky at 95%, 1 of 4 and 1 of 5 are not.
    """
    c_arr, n_arr = _check_counts(c, n)
    if not 0.0 <= margin < 0.5:
        raise InvalidArgumentError(f"margin must be in [0, 0.5), got {margin!r}")
    low, high = wilson_interval(c_arr, n_arr, confidence)
    flaky = (n_arr > 0) & (np.asarray(low) >= margin) & (np.asarray(high) <= 1.0 - margin) & is_mixed(c_arr, n_arr)
    return bool(flaky) if np.ndim(flaky) == 0 else flaky


def flaky_test_text(confidence: float = CONFIDENCE, margin: float = FLAKY_MARGIN) -> str:
    """The wording of the flakiness test at ``confidence`` and ``margin``, for tables, legends and summaries."""
    points = f"{margin * 100:.4f}".rstrip("0").rstrip(".")
    return (
        f"flaky = its {confidence_label(confidence)} Wilson interval stays {points} points clear of 0% and 100%; "
        "mixed = both passed and failed"
    )


FLAKY_TEST = flaky_test_text()
"""The wording of the flakiness test at the default level and margin."""


class FlakinessSummary(BaseModel):
    """Flakiness across prompts: who disagrees with itself, and how much."""

    scores: list[float]
    """Per-prompt unbiased ``4·c·(n−c)/(n·(n−1))`` score, in the order given (NaN below 2 runs)."""
    flaky: list[bool]
    """Per prompt: its Wilson interval lies inside [margin, 1 − margin] (see :func:`is_flaky`)."""
    mixed: list[bool] = Field(default_factory=list)
    """Per prompt: both passed and failed (see :func:`is_mixed`), the raw count kept beside ``flaky``."""
    n_prompts: int
    """Prompts with at least one finished run."""
    n_flaky: int
    n_mixed: int = 0
    margin: float = FLAKY_MARGIN
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
    c: Sequence[int] | np.ndarray,
    n: Sequence[int] | np.ndarray,
    confidence: float = CONFIDENCE,
    margin: float = FLAKY_MARGIN,
) -> FlakinessSummary:
    """Per-prompt flakiness scores, the share of flaky prompts (:func:`is_flaky`) and the mixed count.

    ``c[i]`` passes out of ``n[i]`` finished runs for prompt ``i``; prompts with no finished run
    are left out. A prompt with one run can never look flaky, so such batches are flagged
    ``small_sample``.
    """
    c_arr, n_arr = _check_counts(c, n)
    c_arr, n_arr = np.atleast_1d(c_arr), np.atleast_1d(n_arr)
    ran = n_arr > 0
    c_arr, n_arr = c_arr[ran], n_arr[ran]
    scores = np.atleast_1d(flakiness_score(c_arr, n_arr))
    flaky = np.atleast_1d(is_flaky(c_arr, n_arr, confidence, margin))
    mixed = np.atleast_1d(is_mixed(c_arr, n_arr))
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
        mixed=[bool(x) for x in mixed],
        n_prompts=m,
        n_flaky=n_flaky,
        n_mixed=int(mixed.sum()),
        margin=margin,
        share_flaky=n_flaky / m if m else float("nan"),
        share_low=float(low),
        share_high=float(high),
        mean_score=float(np.nanmean(scores)) if m and not np.all(np.isnan(scores)) else float("nan"),
        confidence=confidence,
        test=flaky_test_text(confidence, margin),
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
    """The pooled pass rate ``Σc / Σn`` with an interval clustered by prompt: the batch rate's one interval.

    Standard error: the sandwich (cluster-robust) variance of a mean with the CR1 factor
    ``G/(G−1)``: ``Var = G/(G−1) · Σ_g (c_g − p̂·n_g)² / N²`` over ``G`` prompts and ``N`` runs
    (an OLS of pass on a constant with ``cov_type='cluster'``).

    Interval: the Wilson interval on the effective number of runs ``N / max(deff, 1)``, where
    ``deff = (se / binomial se)²``, with the t quantile on ``G − 1`` degrees of freedom. So it
    stays in [0, 1], never collapses, and is wider with few prompts. Three cases differ:

    - every run passed (or every run failed): the design effect is 0/0, so the effective sample
      is the number of prompts (each prompt one observation, as if its runs always agreed);
      treating all runs as independent there never covers a batch of varied prompts;
    - one run per prompt: runs are independent, so it is the plain Wilson interval (normal quantile);
    - one prompt: that prompt's Wilson interval over its runs; it says nothing about other prompts.

    Prompts with no finished run are ignored.
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
    se, design, n_eff, crit = float("nan"), float("nan"), total, _z(confidence)
    if groups >= 2:
        resid = c_arr - rate * n_arr
        se = float(math.sqrt(groups / (groups - 1) * float(np.sum(resid**2)) / total**2))
    if groups < 2:
        method = f"{level} Wilson interval of the one prompt over its {int(total)} runs (says nothing about others)"
        warnings.append("only one prompt: the interval is that prompt's; a batch rate needs at least 2 prompts")
    elif np.all(n_arr == 1):
        design = 1.0
        method = f"{level} Wilson interval on {int(total)} independent runs (one run per prompt)"
    elif naive == 0:
        n_eff, crit = float(groups), float(t_quantile(confidence, groups - 1))
        method = (
            f"{level} Wilson interval on {groups} effective runs (every run {'passed' if rate else 'failed'}: "
            f"one per prompt), t quantile with {groups - 1} df"
        )
    else:
        design = (se / naive) ** 2
        n_eff, crit = total / max(design, 1.0), float(t_quantile(confidence, groups - 1))
        method = (
            f"{level} Wilson interval on {n_eff:.4g} effective runs (design effect ≥ 1), "
            f"t quantile with {groups - 1} df"
        )
    if 2 <= groups < SMALL_SAMPLE_PROMPTS:
        warnings.append(f"only {groups} prompts; an interval clustered by prompt is wide below {SMALL_SAMPLE_PROMPTS}")
    lo, hi = wilson_bounds(rate, n_eff, crit)
    return ClusteredRate(
        rate=rate,
        se=se,
        low=float(lo),
        high=float(hi),
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


def icc_estimate(c: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray) -> float:
    """Intra-prompt correlation of pass/fail from per-prompt counts (the ANOVA estimator, clipped to [0, 1]).

    How alike runs of one prompt are: 0 = every run an independent draw at the batch rate,
    1 = each prompt always passes or always fails. The one-way ANOVA estimator for binary data
    (Fleiss; Ridout et al. 1999): ``(MSB − MSW) / (MSB + (n₀ − 1)·MSW)``. NaN when it cannot be
    estimated (fewer than 2 prompts, one run each, or every run alike).
    """
    c_arr, n_arr = _check_counts(c, n)
    c_arr, n_arr = np.atleast_1d(c_arr), np.atleast_1d(n_arr)
    keep = n_arr > 0
    c_arr, n_arr = c_arr[keep], n_arr[keep]
    k, total = len(n_arr), float(n_arr.sum())
    if k < 2 or total <= k:
        return float("nan")
    rate = c_arr.sum() / total
    msb = float(np.sum((c_arr - n_arr * rate) ** 2 / n_arr)) / (k - 1)
    msw = float(np.sum(c_arr - c_arr**2 / n_arr)) / (total - k)
    n0 = (total - float(np.sum(n_arr**2)) / total) / (k - 1)
    denom = msb + (n0 - 1) * msw
    if denom <= 0:
        return float("nan")
    return float(np.clip((msb - msw) / denom, 0.0, 1.0))


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
    """Latency percentiles of finished runs; timed-out runs enter censored, so the figures are then lower bounds."""

    p50: float
    p95: float
    mean: float
    """Mean of the same values (timed-out runs at their censoring point); a lower bound when ``censored`` > 0."""
    n: int
    """Runs the percentiles are computed from (measured + censored)."""
    censored: int
    """Timed-out runs entered at a lower bound of their latency (the timeout, or when it is not known the
    slowest run that finished in time): their real latency is at least that, so p50/p95 are lower bounds."""
    omitted: int
    """Finished runs without a latency (errors that recorded none), left out."""
    timeout: float | None = None

    @property
    def lower_bound(self) -> bool:
        """True when timed-out runs entered censored: every figure is then "at least"."""
        return self.censored > 0

    def figure(self, value: float) -> str:
        """``"22.1 s"``, or ``"≥ 22.1 s"`` when censored runs make it a lower bound."""
        return f"{'≥ ' if self.lower_bound else ''}{value:.3g} s"

    def note(self) -> str:
        """How the percentiles were computed, in words."""
        parts = [f"{self.n} runs"]
        if self.censored:
            where = (
                f"at the {self.timeout:g} s limit"
                if self.timeout
                else "at the slowest run that finished in time (the limit is not known)"
            )
            parts.append(f"{self.censored} timed out, counted {where}, so the percentiles are lower bounds")
        if self.omitted:
            parts.append(f"{self.omitted} without a latency left out")
        return "; ".join(parts)


def censored_latency(latency: Any, status: Any, timeout: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Latencies with timed-out runs censored at a lower bound, and cancelled runs dropped to NaN.

    A timed-out run took at least the timeout. When the timeout is not known it still took at
    least as long as the slowest run that finished in time (that run was under the limit), so it
    enters at that (or at its own recorded latency, if larger) instead of being dropped, which
    would make p95 look faster than it was. Returns ``(values, censored)``: seconds (NaN where
    unknown) and a flag per run entered censored.
    """
    values = np.array(latency, dtype=float, copy=True)
    status_arr = np.asarray(status, dtype=object)
    timed_out = status_arr == "timeout"
    in_time = (status_arr != "timeout") & (status_arr != "cancelled") & ~np.isnan(values)
    if timeout is not None and timeout > 0:
        floor = float(timeout)
    else:
        floor = float(values[in_time].max()) if in_time.any() else float("nan")
    own = values[timed_out]
    values[timed_out] = np.where(np.isnan(own), floor, np.fmax(own, floor))
    censored = timed_out & ~np.isnan(values)
    values[status_arr == "cancelled"] = np.nan
    return values, censored


def latency_summary(latency: Any, status: Any, timeout: float | None = None) -> LatencySummary:
    """p50 / p95 / mean latency over finished runs; timed-out runs enter censored (see :func:`censored_latency`)."""
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
