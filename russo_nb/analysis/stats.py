"""Honest statistics for repeated runs: intervals, pass@k / pass^k, flakiness, clustering, paired tests.

Pure functions of counts (numpy, the standard library's NormalDist, scipy.stats only for the
paired tests; no pandas), so they can be checked by hand. Every summary result carries
``small_sample`` and ``warnings`` so a number computed from three runs says so instead of
looking as solid as one computed from three hundred.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from ..errors import InvalidArgumentError

__all__ = [
    "ClusteredRate",
    "Comparison",
    "FlakinessSummary",
    "PromptDifference",
    "RunsNeeded",
    "SMALL_SAMPLE_PROMPTS",
    "SMALL_SAMPLE_RUNS",
    "clustered_se",
    "flakiness",
    "flakiness_score",
    "k_values",
    "newcombe_interval",
    "paired_comparison",
    "pass_at_k",
    "pass_hat_k",
    "runs_needed",
    "wilson_interval",
]

SMALL_SAMPLE_RUNS = 10
"""Fewer runs than this per prompt: a per-prompt rate is flagged ``small_sample``."""

SMALL_SAMPLE_PROMPTS = 10
"""Fewer prompts than this: a clustered standard error or paired test is flagged ``small_sample``."""


def _z(confidence: float) -> float:
    """The two-sided normal quantile; the standard library's, so a Wilson interval does not load scipy."""
    from statistics import NormalDist

    if not 0.0 < confidence < 1.0:
        raise InvalidArgumentError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _check_counts(successes: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    if np.any(total < 0) or np.any(c < 0) or np.any(c > total):
        raise InvalidArgumentError("counts must satisfy 0 <= successes <= n; check the passed and run counts")
    return c, total


def wilson_interval(successes: Any, n: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval for a binomial proportion: ``(low, high)``; vectorized over arrays.

    Unlike the Wald interval it stays inside [0, 1] and is sensible at 0/n and n/n.
    ``n == 0`` gives ``(0.0, 1.0)`` (nothing is known).
    """
    c, total = _check_counts(successes, n)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(total > 0, c / np.where(total > 0, total, 1), 0.0)
        denom = 1.0 + z * z / np.where(total > 0, total, 1)
        centre = (p + z * z / (2 * np.where(total > 0, total, 1))) / denom
        half = z * np.sqrt(
            p * (1 - p) / np.where(total > 0, total, 1) + z * z / (4 * np.where(total > 0, total, 1) ** 2)
        )
        half = half / denom
        low = np.where(total > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
        high = np.where(total > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    # exact edges: 0 successes -> low is 0, all successes -> high is 1 (no rounding noise)
    low = np.where(c == 0, 0.0, low)
    high = np.where((c == total) & (total > 0), 1.0, high)
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


def flakiness_score(c: Any, n: Any) -> Any:
    """Flakiness of one prompt: ``4·p·(1−p)`` with ``p = c / n``.

    0 when every run agrees (all pass or all fail), 1 at a coin flip (p = 0.5). It is the
    chance that two independent runs disagree, ``2·p·(1−p)``, scaled to [0, 1]. NaN for n = 0.
    """
    c_arr, n_arr = _check_counts(c, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n_arr > 0, c_arr / np.where(n_arr > 0, n_arr, 1), np.nan)
    score = 4.0 * p * (1.0 - p)
    return float(score) if score.ndim == 0 else score


class FlakinessSummary(BaseModel):
    """Flakiness across prompts: who disagrees with itself, and how much."""

    scores: list[float]
    """Per-prompt ``4·p·(1−p)`` score, in the order given."""
    flaky: list[bool]
    """Per prompt: runs disagree (0 < pass rate < 1)."""
    n_prompts: int
    n_flaky: int
    share_flaky: float
    """Fraction of prompts that are flaky (NaN with no prompts)."""
    share_low: float
    share_high: float
    """Wilson 95% interval of the flaky share."""
    mean_score: float
    small_sample: bool
    """True when some prompt has fewer than 2 runs (flakiness cannot show) or < SMALL_SAMPLE_RUNS runs."""
    warnings: list[str] = Field(default_factory=list)


def flakiness(c: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray) -> FlakinessSummary:
    """Per-prompt flakiness scores and the share of flaky prompts (0 < pass rate < 1).

    ``c[i]`` passes out of ``n[i]`` runs for prompt ``i``. A prompt with one run can never
    look flaky, so such batches are flagged ``small_sample``.
    """
    c_arr, n_arr = _check_counts(c, n)
    c_arr, n_arr = np.atleast_1d(c_arr), np.atleast_1d(n_arr)
    scores = np.atleast_1d(flakiness_score(c_arr, n_arr))
    flaky = (c_arr > 0) & (c_arr < n_arr)
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
    low, high = wilson_interval(n_flaky, m) if m else (0.0, 1.0)
    return FlakinessSummary(
        scores=[float(x) for x in scores],
        flaky=[bool(x) for x in flaky],
        n_prompts=m,
        n_flaky=n_flaky,
        share_flaky=n_flaky / m if m else float("nan"),
        share_low=float(low),
        share_high=float(high),
        mean_score=float(np.nanmean(scores)) if m and not np.all(np.isnan(scores)) else float("nan"),
        small_sample=bool(warnings) or m == 0,
        warnings=warnings,
    )


class ClusteredRate(BaseModel):
    """A batch pass rate with a standard error that treats prompts as clusters."""

    rate: float
    se: float
    """Cluster-robust (CR1) standard error: runs of one prompt are not independent."""
    low: float
    high: float
    """rate ± z·se, clipped to [0, 1]."""
    naive_se: float
    """The binomial SE that assumes every run independent, for contrast."""
    design_effect: float
    """(se / naive_se)²: how much clustering inflates the variance."""
    n_runs: int
    n_prompts: int
    small_sample: bool
    warnings: list[str] = Field(default_factory=list)


def clustered_se(
    c: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray, confidence: float = 0.95
) -> ClusteredRate:
    """Standard error of the pooled pass rate ``Σc / Σn`` clustered by prompt.

    The sandwich (cluster-robust) variance of a mean with the CR1 small-sample factor
    ``G/(G−1)``: ``Var = G/(G−1) · Σ_g (c_g − p̂·n_g)² / N²`` over ``G`` prompts and ``N`` runs.
    It equals an OLS regression of pass on a constant with ``cov_type='cluster'``.
    """
    c_arr, n_arr = _check_counts(c, n)
    c_arr, n_arr = np.atleast_1d(c_arr), np.atleast_1d(n_arr)
    keep = n_arr > 0
    c_arr, n_arr = c_arr[keep], n_arr[keep]
    groups = len(n_arr)
    total = float(n_arr.sum())
    if total == 0:
        raise InvalidArgumentError("clustered_se needs at least one run; the batch is empty")
    rate = float(c_arr.sum() / total)
    warnings: list[str] = []
    if groups < 2:
        se = float("nan")
        warnings.append("only one prompt: a standard error clustered by prompt needs at least 2 prompts")
    else:
        resid = c_arr - rate * n_arr
        se = float(math.sqrt(groups / (groups - 1) * float(np.sum(resid**2)) / total**2))
        if groups < SMALL_SAMPLE_PROMPTS:
            warnings.append(
                f"only {groups} prompts; a clustered standard error is unreliable below {SMALL_SAMPLE_PROMPTS}"
            )
    naive = math.sqrt(rate * (1 - rate) / total)
    z = _z(confidence)
    low = max(0.0, rate - z * se) if not math.isnan(se) else 0.0
    high = min(1.0, rate + z * se) if not math.isnan(se) else 1.0
    design = (se / naive) ** 2 if naive > 0 and not math.isnan(se) else float("nan")
    return ClusteredRate(
        rate=rate,
        se=se,
        low=low,
        high=high,
        naive_se=naive,
        design_effect=design,
        n_runs=int(total),
        n_prompts=groups,
        small_sample=bool(warnings),
        warnings=warnings,
    )


def newcombe_interval(c1: Any, n1: Any, c2: Any, n2: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Newcombe's hybrid score interval for ``p2 − p1`` of two independent proportions (vectorized).

    Built from each side's Wilson interval (Newcombe 1998, method 10).
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


class PromptDifference(BaseModel):
    """One shared prompt in a paired comparison: its pass counts in A and B and B − A."""

    prompt: str
    passed_a: int
    runs_a: int
    passed_b: int
    runs_b: int
    rate_a: float
    rate_b: float
    difference: float
    low: float
    high: float
    """Newcombe 95% interval of this prompt's difference."""


class Comparison(BaseModel):
    """Batch B against batch A over the prompts they share (difference = B − A)."""

    test: str
    """The test behind the p-value and interval, named in words."""
    n_shared: int
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)
    rate_a: float
    rate_b: float
    """Mean per-prompt pass rate over the shared prompts (each prompt weighs the same)."""
    difference: float
    low: float
    high: float
    p_value: float
    confidence: float = 0.95
    per_prompt: list[PromptDifference] = Field(default_factory=list)
    small_sample: bool = False
    warnings: list[str] = Field(default_factory=list)

    @property
    def significant(self) -> bool:
        """True when the p-value is below ``1 − confidence``."""
        return not math.isnan(self.p_value) and self.p_value < 1.0 - self.confidence

    def describe(self) -> str:
        """One readable sentence about the difference."""
        verdict = "significant" if self.significant else "not significant"
        text = (
            f"B − A = {self.difference:+.1%} (95% CI {self.low:+.1%} to {self.high:+.1%}, p = {self.p_value:.3g}, "
            f"{self.test}, {self.n_shared} shared prompts): {verdict}"
        )
        if self.warnings:
            text += " — " + "; ".join(self.warnings)
        return text


def _per_prompt_counts(source: Any) -> dict[str, tuple[int, int]]:
    """prompt -> (passed, runs) from a BatchResult-like, a prompts DataFrame or a mapping."""
    if isinstance(source, Mapping):
        out: dict[str, tuple[int, int]] = {}
        for prompt, value in source.items():
            passed, runs = value
            out[str(prompt)] = (int(passed), int(runs))
        return out
    if hasattr(source, "columns") and {"prompt", "passed", "runs"} <= set(source.columns):
        return {str(p): (int(c), int(n)) for p, c, n in zip(source["prompt"], source["passed"], source["runs"])}
    runs = getattr(source, "runs", None)
    if runs is not None:
        counts: dict[str, list[int]] = {}
        for run in runs:
            key = getattr(run, "prompt", None) or getattr(run, "scenario", None) or getattr(run, "name", "")
            entry = counts.setdefault(str(key), [0, 0])
            entry[1] += 1
            status = getattr(run, "status", None)
            ok = status == "passed" if status is not None else bool(getattr(run, "success", False))
            entry[0] += int(ok)
        return {key: (value[0], value[1]) for key, value in counts.items()}
    raise InvalidArgumentError(
        f"cannot compare a {type(source).__name__}; "
        "pass a BatchResult, a prompts frame or a dict prompt -> (passed, runs)"
    )


def paired_comparison(
    a: Any,
    b: Any,
    *,
    method: Literal["auto", "t", "permutation", "mcnemar"] = "auto",
    confidence: float = 0.95,
    permutations: int = 20000,
    seed: int = 0,
) -> Comparison:
    """Compare batch ``b`` with batch ``a`` over the prompts they share (pairs are prompts).

    ``method``:
      - ``"t"``: paired t-test on per-prompt pass rates (difference, t interval, p-value);
      - ``"permutation"``: sign-flip permutation test on the per-prompt differences (exact
        enumeration up to 16 prompts, else ``permutations`` random flips), t interval;
      - ``"mcnemar"``: exact McNemar test for one run per prompt per side, Wald interval of
        the paired difference;
      - ``"auto"``: McNemar when every shared prompt has exactly one run on each side, else t.
    """
    from scipy import stats as sps

    counts_a = _per_prompt_counts(a)
    counts_b = _per_prompt_counts(b)
    shared = [prompt for prompt in counts_a if prompt in counts_b]
    only_a = [prompt for prompt in counts_a if prompt not in counts_b]
    only_b = [prompt for prompt in counts_b if prompt not in counts_a]
    if not shared:
        raise InvalidArgumentError(
            "the two batches share no prompts, so there is nothing to pair; run the same prompts in both"
        )
    ca = np.array([counts_a[p][0] for p in shared], dtype=float)
    na = np.array([counts_a[p][1] for p in shared], dtype=float)
    cb = np.array([counts_b[p][0] for p in shared], dtype=float)
    nb = np.array([counts_b[p][1] for p in shared], dtype=float)
    if np.any(na == 0) or np.any(nb == 0):
        raise InvalidArgumentError("a shared prompt has zero runs on one side; every prompt needs at least one run")
    ra, rb = ca / na, cb / nb
    diffs = rb - ra
    m = len(shared)
    lows, highs = newcombe_interval(ca, na, cb, nb, confidence)
    per_prompt = [
        PromptDifference(
            prompt=p,
            passed_a=int(ca[i]),
            runs_a=int(na[i]),
            passed_b=int(cb[i]),
            runs_b=int(nb[i]),
            rate_a=float(ra[i]),
            rate_b=float(rb[i]),
            difference=float(diffs[i]),
            low=float(lows[i]),
            high=float(highs[i]),
        )
        for i, p in enumerate(shared)
    ]
    if method == "auto":
        method = "mcnemar" if np.all(na == 1) and np.all(nb == 1) else "t"
    if method not in ("t", "permutation", "mcnemar"):
        raise InvalidArgumentError(f"method must be 'auto', 't', 'permutation' or 'mcnemar', got {method!r}")
    warnings: list[str] = []
    mean_diff = float(diffs.mean())
    z = _z(confidence)
    if method == "mcnemar":
        if not (np.all(na == 1) and np.all(nb == 1)):
            raise InvalidArgumentError("McNemar's test needs exactly one run per prompt in each batch; use method='t'")
        n01 = int(np.sum((ca == 0) & (cb == 1)))  # failed in A, passed in B
        n10 = int(np.sum((ca == 1) & (cb == 0)))
        discordant = n01 + n10
        p_value = 1.0 if discordant == 0 else float(sps.binomtest(n01, discordant, 0.5).pvalue)
        se = math.sqrt(max(discordant - (n01 - n10) ** 2 / m, 0.0)) / m
        low, high = mean_diff - z * se, mean_diff + z * se
        test = f"exact McNemar test on {discordant} discordant prompts (Wald interval)"
        if discordant < 10:
            warnings.append(f"only {discordant} prompts changed outcome; the test has little power")
    else:
        if m < 2:
            p_value, low, high = float("nan"), float("nan"), float("nan")
            warnings.append("only one shared prompt: no interval or p-value can be computed")
        else:
            sd = float(diffs.std(ddof=1))
            se = sd / math.sqrt(m)
            tcrit = float(sps.t.ppf(0.5 + confidence / 2, m - 1))
            low, high = mean_diff - tcrit * se, mean_diff + tcrit * se
            if se == 0 and mean_diff == 0:
                p_value = 1.0
            elif se == 0:
                # every prompt moved by exactly the same amount: the t statistic is undefined
                p_value = _sign_flip_p(diffs, permutations, seed)
                low, high = float("nan"), float("nan")
                method = "permutation"
                warnings.append("every prompt changed by the same amount, so no t interval; p-value by sign flips")
            else:
                p_value = float(2 * sps.t.sf(abs(mean_diff / se), m - 1))
        test = f"paired t-test on per-prompt pass rates ({m} prompts)"
        if method == "permutation" and m >= 2:
            p_value = _sign_flip_p(diffs, permutations, seed)
            exact = m <= 16
            test = (
                f"sign-flip permutation test on per-prompt pass rates ({m} prompts, "
                f"{'exact' if exact else f'{permutations} random flips'}; t interval)"
            )
    if m < SMALL_SAMPLE_PROMPTS:
        warnings.append(f"only {m} shared prompts; a paired comparison is unreliable below {SMALL_SAMPLE_PROMPTS}")
    if method != "mcnemar" and min(na.min(), nb.min()) < 5:
        warnings.append(f"as few as {int(min(na.min(), nb.min()))} runs per prompt; per-prompt rates are coarse")
    if only_a or only_b:
        warnings.append(f"{len(only_a)} prompts only in A and {len(only_b)} only in B were left out")
    return Comparison(
        test=test,
        n_shared=m,
        only_in_a=only_a,
        only_in_b=only_b,
        rate_a=float(ra.mean()),
        rate_b=float(rb.mean()),
        difference=mean_diff,
        low=float(low),
        high=float(high),
        p_value=float(p_value),
        confidence=confidence,
        per_prompt=per_prompt,
        small_sample=any("unreliable" in w or "little power" in w or "one shared" in w for w in warnings),
        warnings=warnings,
    )


def _sign_flip_p(diffs: np.ndarray, permutations: int, seed: int) -> float:
    """Two-sided p-value of the mean difference under random sign flips (exact up to 16 pairs)."""
    m = len(diffs)
    observed = abs(diffs.mean())
    if m <= 16:
        signs = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1) * 2 - 1
        means = np.abs(signs @ diffs / m)
        return float(np.mean(means >= observed - 1e-12))
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(permutations, m))
    means = np.abs(signs @ diffs / m)
    return float((np.sum(means >= observed - 1e-12) + 1) / (permutations + 1))


class RunsNeeded(BaseModel):
    """How many runs it takes to detect a drop in pass rate."""

    runs_per_prompt: int
    total_runs: int
    """Runs per batch (per side of the comparison)."""
    baseline: float
    drop: float
    power: float
    alpha: float
    prompts: int
    test: str
    note: str = ""


def runs_needed(
    baseline: float,
    drop: float,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    prompts: int = 1,
    two_sided: bool = True,
) -> RunsNeeded:
    """Runs per prompt needed to detect a fall from ``baseline`` to ``baseline − drop``.

    Two-proportion z-test sample size (Fleiss, no continuity correction):
    ``n = (z_α·√(2·p̄·q̄) + z_β·√(p1·q1 + p2·q2))² / (p1 − p2)²`` runs per batch, spread
    over ``prompts`` prompts. Assumes independent runs; when prompts differ a lot, the
    clustering (see :func:`clustered_se`) means more runs are needed.
    """
    from statistics import NormalDist

    norm = NormalDist()
    if not 0.0 < baseline <= 1.0:
        raise InvalidArgumentError(f"baseline must be a pass rate in (0, 1], got {baseline!r}")
    if not 0.0 < drop <= baseline:
        raise InvalidArgumentError(f"drop must be in (0, baseline]; got drop={drop!r} with baseline={baseline!r}")
    if not 0.0 < power < 1.0 or not 0.0 < alpha < 1.0:
        raise InvalidArgumentError(f"power and alpha must be between 0 and 1, got power={power!r}, alpha={alpha!r}")
    if not isinstance(prompts, int) or prompts < 1:
        raise InvalidArgumentError(f"prompts must be a whole number >= 1, got {prompts!r}")
    p1, p2 = baseline, baseline - drop
    pbar = (p1 + p2) / 2
    za = norm.inv_cdf(1 - alpha / 2 if two_sided else 1 - alpha)
    zb = norm.inv_cdf(power)
    n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p1 - p2) ** 2
    total = math.ceil(n - 1e-9)
    per_prompt = math.ceil(total / prompts)
    note = ""
    if p1 == 1.0 or p2 == 0.0:
        note = "a rate of exactly 0 or 1 makes the normal approximation optimistic; add a few runs"
    return RunsNeeded(
        runs_per_prompt=per_prompt,
        total_runs=per_prompt * prompts,
        baseline=baseline,
        drop=drop,
        power=power,
        alpha=alpha,
        prompts=prompts,
        test=f"{'two' if two_sided else 'one'}-sided two-proportion z-test",
        note=note,
    )
