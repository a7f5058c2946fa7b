"""Comparing two batches prompt by prompt, and sizing such a comparison before running it.

Pairs are prompts: the difference is the mean over shared prompts of ``rate_B − rate_A``
(each prompt weighs the same). The default test keeps its interval and p-value in step:

- several runs per prompt: a MOVER interval (Zou & Donner 2008) built from each side's
  clustered Wilson interval (t quantile, m − 1 df; never narrower than the binomial one) and
  the correlation of the sides over prompts; the p-value is the level at which that interval
  just touches 0, so "significant" and "the interval excludes 0" are one statement. It stays
  in [−1, 1]; its one guard acts only when it would collapse (every prompt changed by the same
  amount, so no spread to estimate): the sides are then combined as independent. Calibrated by
  simulation (``benchmarks/stats_calibration.py``): 2.5–7.5% false positives at the 5% level
  with 30 or more prompts, and it works with unequal runs per side, where a paired t does not;
- one run per prompt on each side: the mid-p McNemar test with Tango's score interval, widened
  to reach 0 when the test does not reject, so the two never disagree.

:func:`runs_needed` sizes exactly that test, by simulating it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from ...model.errors import InvalidArgumentError
from ...model.thresholds import (
    COARSE_RUNS,
    CONFIDENCE,
    MEAN_OVER_PROMPTS,
    SMALL_SAMPLE_PROMPTS,
    confidence_label,
)
from .stats import check_confidence, newcombe_interval, t_quantile, wilson_bounds

__all__ = [
    "Comparison",
    "PromptDifference",
    "RunsNeeded",
    "mcnemar_exact_p",
    "mcnemar_mid_p",
    "paired_comparison",
    "runs_needed",
    "tango_interval",
]

MAX_RUNS_PER_PROMPT = 100_000
"""runs_needed gives up above this many runs per prompt and says to add prompts instead."""


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
    """Newcombe interval of this prompt's difference, at the comparison's confidence."""


class Comparison(BaseModel):
    """Batch B against batch A over the prompts they share (difference = B − A, mean over prompts)."""

    test: str
    """The test behind the p-value and interval, named in words."""
    n_shared: int
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)
    not_run: list[str] = Field(default_factory=list)
    """Shared prompts left out because one side has no finished run (e.g. an interrupted batch)."""
    rate_a: float
    rate_b: float
    """Mean per-prompt pass rate over the shared prompts (each prompt weighs the same)."""
    weighting: str = MEAN_OVER_PROMPTS
    difference: float
    low: float
    high: float
    p_value: float
    confidence: float = CONFIDENCE
    per_prompt: list[PromptDifference] = Field(default_factory=list)
    small_sample: bool = False
    warnings: list[str] = Field(default_factory=list)

    @property
    def significant(self) -> bool:
        """True when the p-value is below ``1 − confidence``."""
        return not math.isnan(self.p_value) and self.p_value < 1.0 - self.confidence

    def describe(self) -> str:
        """One readable sentence about the difference, at the level actually used."""
        verdict = "significant" if self.significant else "not significant"
        text = (
            f"B − A = {self.difference:+.1%} ({self.weighting}: A {self.rate_a:.1%}, B {self.rate_b:.1%}; "
            f"{confidence_label(self.confidence)} CI {self.low:+.1%} to {self.high:+.1%}, p = {self.p_value:.3g}, "
            f"{self.test}, {self.n_shared} shared prompts): {verdict}"
        )
        if self.warnings:
            text += " — " + "; ".join(self.warnings)
        return text


def _per_prompt_counts(source: Any) -> dict[str, tuple[int, int]]:
    """prompt -> (passed, finished runs) from a BatchResult-like, a prompts DataFrame or a mapping."""
    if isinstance(source, Mapping):
        out: dict[str, tuple[int, int]] = {}
        for prompt, value in source.items():
            passed, runs = value
            out[str(prompt)] = (int(passed), int(runs))
        return out
    if hasattr(source, "columns") and {"prompt", "passed", "runs"} <= set(source.columns):
        return {str(p): (int(c), int(n)) for p, c, n in zip(source["prompt"], source["passed"], source["runs"])}
    if getattr(source, "runs", None) is not None:  # the one per-prompt aggregation: cancelled runs never count
        from .rows import prompt_rows

        return {row.prompt: (row.passed, row.finished) for row in prompt_rows(source, measures=False)}
    raise InvalidArgumentError(
        f"cannot compare a {type(source).__name__}; "
        "pass a BatchResult, a prompts frame or a dict prompt -> (passed, runs)"
    )


# -- several runs per prompt: MOVER from clustered Wilson intervals ------------------------------


def _mover_parts(ca: np.ndarray, na: np.ndarray, cb: np.ndarray, nb: np.ndarray) -> dict[str, np.ndarray]:
    """What the MOVER interval needs that does not depend on the level; arrays are (..., prompts).

    Each side's effective sample is ``p(1 − p) / var`` of its mean of per-prompt rates, capped at
    the runs (never surer than all runs independent); a side where every run passed (or failed)
    has the number of prompts, as :func:`~russo_nb.results.analysis.stats.clustered_se` uses. ``r`` is
    the correlation of the two sides over prompts, which is what pairing gains. The one guard:
    when every prompt changed by the same amount the differences show no spread and MOVER
    would collapse to a point, so there ``r`` is 0 (the sides' intervals combined as if independent).
    """
    m = ca.shape[-1]
    ra, rb = ca / na, cb / nb
    pa, pb = ra.mean(-1), rb.mean(-1)
    va = ra.var(-1, ddof=1) / m
    vb = rb.var(-1, ddof=1) / m
    cov = np.sum((ra - pa[..., None]) * (rb - pb[..., None]), -1) / (m - 1) / m
    diffs = rb - ra
    spread = np.max(diffs, -1) - np.min(diffs, -1)
    nmax_a = m * m / np.sum(1.0 / na, -1)
    nmax_b = m * m / np.sum(1.0 / nb, -1)

    def effective(p: np.ndarray, v: np.ndarray, nmax: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            n = np.minimum(np.where(v > 0, p * (1 - p) / v, np.inf), nmax)
        return np.where((p <= 0) | (p >= 1), float(m), n)

    neff_a, neff_b = effective(pa, va, nmax_a), effective(pb, vb, nmax_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_a = np.sqrt(pa * (1 - pa) / neff_a)
        se_b = np.sqrt(pb * (1 - pb) / neff_b)
        r = np.where(se_a * se_b > 0, np.clip(cov / (se_a * se_b), -1.0, 1.0), 0.0)
    guarded = spread <= 1e-12
    r = np.where(guarded, 0.0, r)
    return {"pa": pa, "pb": pb, "neff_a": neff_a, "neff_b": neff_b, "r": r, "guarded": guarded}


def _mover_interval(parts: dict[str, np.ndarray], crit: Any) -> tuple[np.ndarray, np.ndarray]:
    """MOVER interval (Zou & Donner 2008) of pb − pa at critical value ``crit``, from the sides' Wilson intervals."""
    pa, pb, r = parts["pa"], parts["pb"], parts["r"]
    la, ua = wilson_bounds(pa, parts["neff_a"], crit)
    lb, ub = wilson_bounds(pb, parts["neff_b"], crit)
    d = pb - pa
    down = np.sqrt(np.maximum((pb - lb) ** 2 + (ua - pa) ** 2 - 2 * r * (pb - lb) * (ua - pa), 0.0))
    up = np.sqrt(np.maximum((ub - pb) ** 2 + (pa - la) ** 2 - 2 * r * (ub - pb) * (pa - la), 0.0))
    return np.clip(d - down, -1.0, 1.0), np.clip(d + up, -1.0, 1.0)


def _mover_p(parts: dict[str, np.ndarray], m: int) -> float:
    """Two-sided p-value: 1 − the confidence at which the MOVER interval just reaches 0.

    The near bound moves monotonically towards 0 as the critical value grows; Brent's method
    finds where it touches 0, and the t distribution on m − 1 df turns that into a level.
    """
    from scipy import optimize
    from scipy import stats as sps

    d = float(parts["pb"] - parts["pa"])
    if d == 0:
        return 1.0

    def near_bound(crit: float) -> float:
        low, high = _mover_interval(parts, crit)
        return float(low) if d > 0 else -float(high)

    top = 1e4
    if near_bound(top) > 0:
        return float(2 * sps.t.sf(top, m - 1))
    crit = optimize.brentq(near_bound, 0.0, top, xtol=1e-12, rtol=1e-12)
    return float(2 * sps.t.sf(crit, m - 1))


# -- one run per prompt: mid-p McNemar with Tango's score interval ------------------------------


def mcnemar_exact_p(n01: Any, n10: Any) -> Any:
    """Exact two-sided McNemar p-value: the binomial test of ``n01`` of ``n01 + n10`` discordant at 1/2."""
    from scipy import stats as sps

    b = np.asarray(n01, dtype=float)
    c = np.asarray(n10, dtype=float)
    d = b + c
    small = np.minimum(b, c)
    p = np.where(d > 0, np.minimum(1.0, 2.0 * sps.binom.cdf(small, np.maximum(d, 1), 0.5)), 1.0)
    return float(p) if p.ndim == 0 else p


def _tango_z(delta: np.ndarray, b: np.ndarray, c: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Tango's score statistic for ``Δ = p01 − p10`` at ``delta`` (b = n01, c = n10 of n pairs)."""
    w = -b - c + (2 * n - b + c) * delta
    q = (-w + np.sqrt(np.maximum(w * w + 8 * n * c * delta * (1 - delta), 0.0))) / (4 * n)
    var = n * (2 * q + delta * (1 - delta))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (b - c - n * delta) / np.sqrt(np.maximum(var, 0.0))
    return np.where(var > 0, z, np.sign(b - c - n * delta) * np.inf)


def tango_interval(n01: Any, n10: Any, n: Any, confidence: float = CONFIDENCE) -> tuple[Any, Any]:
    """Tango's (1998) score interval for the paired difference ``(n01 − n10) / n`` (vectorized).

    ``n01``: pairs that failed in A and passed in B; ``n10`` the reverse; ``n`` pairs in all.
    The set of Δ whose score statistic stays within the normal quantile; inside [−1, 1] and
    never a point, also with no discordant pairs.
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + check_confidence(confidence) / 2)
    b = np.asarray(n01, dtype=float)
    c = np.asarray(n10, dtype=float)
    total = np.asarray(n, dtype=float)
    b, c, total = np.broadcast_arrays(b, c, total)
    d = (b - c) / total
    eps = 1e-12

    def root(lo: np.ndarray, hi: np.ndarray, target: float) -> np.ndarray:
        # _tango_z falls as delta rises: find where it crosses target between lo and hi
        for _ in range(60):
            mid = (lo + hi) / 2
            above = _tango_z(mid, b, c, total) > target
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        return (lo + hi) / 2

    edge_low = _tango_z(np.full(d.shape, -1 + eps), b, c, total) <= z
    edge_high = _tango_z(np.full(d.shape, 1 - eps), b, c, total) >= -z
    low = np.where(edge_low, -1.0, root(np.full(d.shape, -1 + eps), d.copy(), z))
    high = np.where(edge_high, 1.0, root(d.copy(), np.full(d.shape, 1 - eps), -z))
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def mcnemar_mid_p(n01: Any, n10: Any) -> Any:
    """Mid-p McNemar p-value: the exact one less the probability of the observed split (Fagerland et al. 2013).

    ``2·P(X < k) + P(X = k)`` for ``k = min(n01, n10)`` of ``n01 + n10`` discordant pairs at 1/2.
    The exact test is conservative (10% power where a paired t has 25% at 30 prompts); mid-p
    keeps the false-positive rate at or below about 5.5% at the 5% level.
    """
    from scipy import stats as sps

    b = np.asarray(n01, dtype=float)
    c = np.asarray(n10, dtype=float)
    d = b + c
    small = np.minimum(b, c)
    size = np.maximum(d, 1)
    p = np.where(d > 0, np.minimum(1.0, 2.0 * sps.binom.cdf(small, size, 0.5) - sps.binom.pmf(small, size, 0.5)), 1.0)
    return float(p) if p.ndim == 0 else p


def _mcnemar_interval(n01: Any, n10: Any, n: Any, confidence: float) -> tuple[Any, Any, Any]:
    """Tango's interval made consistent with the mid-p test: it reaches 0 whenever p ≥ 1 − confidence."""
    low, high = tango_interval(n01, n10, n, confidence)
    p = mcnemar_mid_p(n01, n10)
    keep_zero = np.asarray(p) >= 1.0 - confidence
    low = np.where(keep_zero, np.minimum(low, 0.0), low)
    high = np.where(keep_zero, np.maximum(high, 0.0), high)
    if np.ndim(low) == 0:
        return float(low), float(high), float(p)
    return low, high, p


# -- the comparison ------------------------------------------------------------------------------


def paired_comparison(
    a: Any,
    b: Any,
    *,
    method: Literal["auto", "mover", "t", "permutation", "mcnemar"] = "auto",
    confidence: float = CONFIDENCE,
    permutations: int = 20000,
    seed: int = 0,
) -> Comparison:
    """Compare batch ``b`` with batch ``a`` over the prompts they share (pairs are prompts).

    Only finished runs count (cancelled runs are left out); a shared prompt with no finished
    run on one side is left out and listed in ``not_run``. ``method``:

      - ``"mover"``: MOVER interval from clustered Wilson intervals of both sides (t with m − 1
        df, correlation over prompts), p-value from the same interval (see module doc);
      - ``"mcnemar"``: one run per prompt per side: mid-p McNemar p-value, Tango score interval
        (made to contain 0 whenever the mid-p test does not reject);
      - ``"auto"`` (default): McNemar when every shared prompt has one run on each side, else MOVER;
      - ``"t"``: paired t-test p-value on per-prompt rates, with the MOVER interval;
      - ``"permutation"``: sign-flip permutation p-value (exact up to 16 prompts), MOVER interval.

    For ``"t"`` and ``"permutation"`` the p-value and the interval come from different
    constructions and can disagree near the threshold (a warning says so when they do).
    """
    from scipy import stats as sps

    confidence = check_confidence(confidence)
    counts_a = _per_prompt_counts(a)
    counts_b = _per_prompt_counts(b)
    shared_all = [prompt for prompt in counts_a if prompt in counts_b]
    only_a = [prompt for prompt in counts_a if prompt not in counts_b]
    only_b = [prompt for prompt in counts_b if prompt not in counts_a]
    not_run = [p for p in shared_all if counts_a[p][1] == 0 or counts_b[p][1] == 0]
    shared = [p for p in shared_all if p not in not_run]
    if not shared_all:
        raise InvalidArgumentError(
            "the two batches share no prompts, so there is nothing to pair; run the same prompts in both"
        )
    if not shared:
        raise InvalidArgumentError(
            "no shared prompt has a finished run in both batches (all cancelled?); nothing to compare"
        )
    ca = np.array([counts_a[p][0] for p in shared], dtype=float)
    na = np.array([counts_a[p][1] for p in shared], dtype=float)
    cb = np.array([counts_b[p][0] for p in shared], dtype=float)
    nb = np.array([counts_b[p][1] for p in shared], dtype=float)
    if np.any(ca > na) or np.any(cb > nb) or np.any(ca < 0) or np.any(cb < 0):
        raise InvalidArgumentError("counts must satisfy 0 <= passed <= runs for every prompt")
    ra, rb = ca / na, cb / nb
    diffs = rb - ra
    m = len(shared)
    level = confidence_label(confidence)
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
    one_run = bool(np.all(na == 1) and np.all(nb == 1))
    if method == "auto":
        method = "mcnemar" if one_run else "mover"
    if method not in ("mover", "t", "permutation", "mcnemar"):
        raise InvalidArgumentError(f"method must be 'auto', 'mover', 't', 'permutation' or 'mcnemar', got {method!r}")
    warnings: list[str] = []
    mean_diff = float(diffs.mean())
    if method == "mcnemar":
        if not one_run:
            raise InvalidArgumentError(
                "McNemar's test needs exactly one run per prompt in each batch; use method='auto'"
            )
        n01 = int(np.sum((ca == 0) & (cb == 1)))  # failed in A, passed in B
        n10 = int(np.sum((ca == 1) & (cb == 0)))
        discordant = n01 + n10
        low, high, p_value = _mcnemar_interval(n01, n10, m, confidence)
        test = (
            f"mid-p McNemar test on {discordant} discordant prompts; Tango score interval, "
            "widened to 0 when the test does not reject"
        )
        if discordant < SMALL_SAMPLE_PROMPTS:
            warnings.append(f"only {discordant} prompts changed outcome; the test has little power")
    elif m < 2:
        p_value, low, high = float("nan"), -1.0, 1.0
        test = "no test (one shared prompt)"
        warnings.append("only one shared prompt: a comparison over prompts needs at least 2; the interval is [−1, 1]")
    else:
        parts = _mover_parts(ca, na, cb, nb)
        lo_arr, hi_arr = _mover_interval(parts, t_quantile(confidence, m - 1))
        low, high = float(lo_arr), float(hi_arr)
        mover = f"MOVER interval from clustered Wilson intervals (t, {m - 1} df)"
        if bool(parts["guarded"]):
            mover += "; every prompt changed by the same amount, so the sides are combined as independent"
        if method == "mover":
            p_value = float(_mover_p(parts, m))
            test = f"paired comparison of per-prompt pass rates over {m} prompts: {mover}, p-value from the interval"
        elif method == "t":
            sd = float(diffs.std(ddof=1))
            if sd == 0:
                p_value = 1.0 if mean_diff == 0 else _sign_flip_p(diffs, permutations, seed)
                if mean_diff != 0:
                    warnings.append("every prompt changed by the same amount, so no t statistic; p-value by sign flips")
            else:
                p_value = float(2 * sps.t.sf(abs(mean_diff / (sd / math.sqrt(m))), m - 1))
            test = f"paired t-test on per-prompt pass rates ({m} prompts); {mover}"
        else:
            p_value = _sign_flip_p(diffs, permutations, seed)
            exact = m <= 16
            test = (
                f"sign-flip permutation test on per-prompt pass rates ({m} prompts, "
                f"{'exact' if exact else f'{permutations} random flips'}); {mover}"
            )
        if (p_value < 1 - confidence) != (low > 0 or high < 0):
            warnings.append(f"the p-value and the {level} interval disagree about 0; this is a borderline result")
    if m < SMALL_SAMPLE_PROMPTS:
        warnings.append(f"only {m} shared prompts; a paired comparison is unreliable below {SMALL_SAMPLE_PROMPTS}")
    if method != "mcnemar" and min(na.min(), nb.min()) < COARSE_RUNS:
        warnings.append(f"as few as {int(min(na.min(), nb.min()))} runs per prompt; per-prompt rates are coarse")
    if only_a or only_b:
        warnings.append(f"{len(only_a)} prompts only in A and {len(only_b)} only in B were left out")
    if not_run:
        warnings.append(f"{len(not_run)} shared prompts with no finished run on one side were left out")
    return Comparison(
        test=test,
        n_shared=m,
        only_in_a=only_a,
        only_in_b=only_b,
        not_run=not_run,
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


# -- sizing --------------------------------------------------------------------------------------


class RunsNeeded(BaseModel):
    """How many runs per prompt a paired comparison needs to detect a drop in pass rate."""

    runs_per_prompt: int
    total_runs: int
    """Runs per batch (per side of the comparison): runs_per_prompt × prompts."""
    baseline: float
    drop: float
    power: float
    """The power asked for."""
    simulated_power: float
    """The power of :func:`paired_comparison` at this design, from ``simulations`` simulated batch pairs."""
    simulations: int
    alpha: float
    prompts: int
    icc: float = 0.0
    """The intra-prompt correlation simulated (0 = every prompt at the same rate)."""
    icc_source: str = "assumed 0 (prompts alike)"
    """Where ``icc`` came from: given, estimated from a pilot batch, or assumed."""
    test: str
    note: str = ""


def _reject(ca: np.ndarray, cb: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """Whether paired_comparison's default test finds a difference in each simulated pair of batches."""
    sims, m = ca.shape
    if n == 1:
        n01 = np.sum((ca == 0) & (cb == 1), -1)
        n10 = np.sum((ca == 1) & (cb == 0), -1)
        return np.asarray(mcnemar_mid_p(n01, n10)) < alpha
    na = np.full((sims, m), float(n))
    parts = _mover_parts(ca.astype(float), na, cb.astype(float), na)
    low, high = _mover_interval(parts, t_quantile(1 - alpha, m - 1))
    return (low > 0) | (high < 0)


def simulated_power(
    baseline: float,
    drop: float,
    *,
    prompts: int,
    runs_per_prompt: int,
    icc: float = 0.0,
    alpha: float = 0.05,
    simulations: int = 2000,
    seed: int = 0,
) -> float:
    """Share of simulated batch pairs where :func:`paired_comparison`'s default test finds the difference.

    Prompt rates in A come from a Beta with mean ``baseline`` and intra-prompt correlation ``icc``
    (0: every prompt at ``baseline``), and in B from the one with mean ``baseline − drop``, each
    prompt at the same quantile of both (see :mod:`.simulate`); two-sided, level ``alpha``.
    """
    from .simulate import paired_rates

    rng = np.random.default_rng(seed)
    rate_a, rate_b = paired_rates(baseline, baseline - drop, icc, (simulations, prompts), rng)
    ca = rng.binomial(runs_per_prompt, rate_a)
    cb = rng.binomial(runs_per_prompt, rate_b)
    return float(np.mean(_reject(ca, cb, runs_per_prompt, alpha)))


def _pilot_design(pilot: Any) -> tuple[float, float, int]:
    """(mean per-prompt pass rate, estimated ICC, prompts) of a pilot batch, or a clear error."""
    from .stats import icc_estimate

    counts = [value for value in _per_prompt_counts(pilot).values() if value[1] > 0]
    passed = np.array([c for c, _ in counts], dtype=float)
    runs = np.array([n for _, n in counts], dtype=float)
    icc = icc_estimate(passed, runs) if len(counts) else float("nan")
    if math.isnan(icc):
        raise InvalidArgumentError(
            "the pilot batch cannot show how much prompts differ (it needs at least 2 prompts with 2 or more "
            "finished runs, and not every run alike); pass icc= instead (e.g. icc=0.3)"
        )
    return float(np.mean(passed / runs)), min(icc, 0.95), len(counts)


def runs_needed(
    baseline: float | None = None,
    drop: float | None = None,
    *,
    prompts: int | None = None,
    icc: float | None = None,
    pilot: Any = None,
    power: float = 0.8,
    alpha: float = 0.05,
    simulations: int = 2000,
    seed: int = 0,
) -> RunsNeeded:
    """Runs per prompt for :func:`paired_comparison` to detect a fall from ``baseline`` to ``baseline − drop``.

    Sizes the test the package runs, by simulation: for each candidate design it simulates
    ``simulations`` pairs of batches of ``prompts`` prompts and applies paired_comparison's
    default test at level ``alpha``; the answer is the fewest runs per prompt whose simulated
    power reaches ``power``. One run per prompt is sized with the mid-p McNemar test, more with
    the MOVER interval.

    Prompts differ: ``icc`` (intra-prompt correlation, 0–1) says how much, and the simulation
    draws each prompt's rate from a Beta with that spread (see :mod:`.simulate`). Or pass
    ``pilot=`` a batch already run: its ICC is estimated (:func:`~russo_nb.results.analysis.stats.icc_estimate`)
    and it supplies ``baseline`` (its mean per-prompt pass rate) and ``prompts`` unless given.
    Without either the prompts are assumed alike (ICC 0), which can promise 80% power and
    deliver 67–75% at ICC 0.3. When the spread between prompts limits the power, more runs
    stop helping; above ``MAX_RUNS_PER_PROMPT`` it says to add prompts.
    """
    source = "assumed 0 (prompts alike; pass icc= or pilot= when they differ)"
    if pilot is not None:
        pilot_rate, pilot_icc, pilot_prompts = _pilot_design(pilot)
        baseline = pilot_rate if baseline is None else baseline
        prompts = pilot_prompts if prompts is None else prompts
        if icc is None:
            icc, source = pilot_icc, f"estimated from the pilot batch ({pilot_prompts} prompts)"
    if icc is not None and source.startswith("assumed"):
        source = "given"
    from .simulate import check_icc

    icc = check_icc(0.0 if icc is None else icc)
    if baseline is None:
        raise InvalidArgumentError("runs_needed needs baseline= (the pass rate today) or pilot= (a batch to read)")
    if drop is None:
        raise InvalidArgumentError("runs_needed needs drop=: the fall in pass rate to detect (e.g. 0.1)")
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float)) or not 0.0 < baseline <= 1.0:
        raise InvalidArgumentError(f"baseline must be a pass rate in (0, 1], got {baseline!r}")
    if isinstance(drop, bool) or not isinstance(drop, (int, float)) or not 0.0 < drop <= baseline:
        raise InvalidArgumentError(f"drop must be in (0, baseline]; got drop={drop!r} with baseline={baseline!r}")
    if not 0.0 < power < 1.0 or not 0.0 < alpha < 0.5:
        raise InvalidArgumentError(
            f"power must be between 0 and 1 and alpha between 0 and 0.5, got power={power!r}, alpha={alpha!r}"
        )
    if prompts is None:
        raise InvalidArgumentError(
            "runs_needed needs prompts=: how many prompts both batches run (the comparison pairs them; at least 2)"
        )
    if isinstance(prompts, bool) or not isinstance(prompts, int) or prompts < 2:
        raise InvalidArgumentError(
            f"prompts must be a whole number >= 2, got {prompts!r}: paired_comparison compares batches over "
            "prompts and cannot test anything with one prompt; run the comparison over more prompts"
        )
    if not isinstance(simulations, int) or simulations < 100:
        raise InvalidArgumentError(f"simulations must be a whole number >= 100, got {simulations!r}")

    def power_at(n: int) -> float:
        return simulated_power(
            baseline,
            drop,
            prompts=prompts,
            runs_per_prompt=n,
            icc=icc,
            alpha=alpha,
            simulations=simulations,
            seed=seed,
        )

    # start from the normal-approximation size and bracket the answer by doubling
    from statistics import NormalDist

    p1, p2 = baseline, baseline - drop
    za = NormalDist().inv_cdf(1 - alpha / 2)
    zb = NormalDist().inv_cdf(power)
    guess = (za + zb) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2)) / drop**2 / prompts
    hi = max(1, math.ceil(guess))
    cache: dict[int, float] = {}

    def reached(n: int) -> bool:
        if n not in cache:
            cache[n] = power_at(n)
        return cache[n] >= power

    while not reached(hi):
        if hi >= MAX_RUNS_PER_PROMPT:
            raise InvalidArgumentError(
                f"paired_comparison over {prompts} prompts cannot reach {power:.0%} power to see "
                f"{baseline:.1%} → {p2:.1%} (ICC {icc:g}) within {MAX_RUNS_PER_PROMPT} runs per prompt; "
                "use more prompts"
            )
        hi = min(hi * 2, MAX_RUNS_PER_PROMPT)
    lo = 0  # power at 0 runs is 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid
    test = (
        "mid-p McNemar test (one run per prompt)"
        if hi == 1
        else "MOVER interval from clustered Wilson intervals (t with prompts − 1 df), p-value from the interval"
    )
    spread = "every prompt at the same rate" if icc == 0 else f"prompt rates spread with ICC {icc:.3g} ({source})"
    note = (
        f"sized for paired_comparison's default test ({test}), two-sided at "
        f"alpha {alpha:g}, by simulating {simulations} pairs of batches with {spread}"
    )
    return RunsNeeded(
        runs_per_prompt=hi,
        total_runs=hi * prompts,
        baseline=baseline,
        drop=drop,
        power=power,
        simulated_power=cache[hi],
        simulations=simulations,
        alpha=alpha,
        prompts=prompts,
        icc=icc,
        icc_source=source,
        test=test,
        note=note,
    )
