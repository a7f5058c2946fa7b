"""Where a voice breaks: the noise level (SNR) at which its pass rate falls to a target.

:func:`robustness_threshold` fits, per voice (or any ``by``), a logistic curve of pass rate
against the SNR levels that have noise (clean audio is the top of the scale and is not on the
axis), and reads off the SNR where the curve crosses ``at``. Its interval comes from a cluster
bootstrap over prompts (prompts are resampled, the curve refitted), widened for few prompts by
the same t-on-(prompts − 1) rule the package's clustered intervals use; tests check its coverage
by seeded simulation.

It says so instead of extrapolating when the measured levels do not bracket the target: a voice
that stays at or above ``at`` at every measured level "never falls below" it (down to the
noisiest level measured), and one below ``at`` everywhere is "below at every level".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from ...model.errors import InvalidArgumentError
from ...model.thresholds import CONFIDENCE, confidence_label, format_rate
from .factors import _levels_of, _mask, _unkeyed, cell_counts, factor_runs, level_text
from .stats import check_confidence, t_quantile

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CROSSES",
    "NEVER_BELOW",
    "ALWAYS_BELOW",
    "NOISY_BELOW",
    "NO_TREND",
    "fit_logistic",
    "robustness_threshold",
    "threshold_interval",
]

CROSSES = "crosses"
"""The measured levels bracket the target: the threshold is fitted."""
NEVER_BELOW = "never below"
"""At or above the target at every measured level."""
ALWAYS_BELOW = "below at every level"
"""Below the target at every measured level (clean audio included)."""
NOISY_BELOW = "below at every noise level"
"""Below the target at every noisy level but not in clean audio: it breaks above the quietest noise run."""
NO_TREND = "no trend"
"""The pass rate does not rise with SNR, so no threshold can be read off."""

_NEWTON_STEPS = 60


def fit_logistic(x: np.ndarray, passed: np.ndarray, finished: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts and slopes of ``logit p = a + b·x`` fitted to binomial counts, for many datasets at once.

    ``passed`` / ``finished`` are (datasets × levels). Half a pass and half a failure are added
    at each level (Haldane), so a level at exactly 0 % or 100 % does not send the slope to
    infinity; with the tens of runs per level a sweep has, that moves a rate by well under a
    point. Newton's method on the two parameters, vectorized over datasets.
    """
    c = np.atleast_2d(np.asarray(passed, dtype=float)) + 0.5
    n = np.atleast_2d(np.asarray(finished, dtype=float)) + 1.0
    x = np.asarray(x, dtype=float)
    centre = float(x.mean())
    xc = x - centre
    pooled = np.clip(c.sum(axis=1) / n.sum(axis=1), 1e-6, 1 - 1e-6)
    a = np.log(pooled / (1 - pooled))
    b = np.zeros_like(a)
    for _ in range(_NEWTON_STEPS):
        eta = a[:, None] + b[:, None] * xc[None, :]
        p = 1.0 / (1.0 + np.exp(-eta))
        w = n * p * (1 - p)
        r = c - n * p
        g0, g1 = r.sum(axis=1), (r * xc).sum(axis=1)
        h00, h01, h11 = w.sum(axis=1), (w * xc).sum(axis=1), (w * xc * xc).sum(axis=1)
        det = h00 * h11 - h01 * h01
        det = np.where(det <= 0, np.nan, det)
        da = (h11 * g0 - h01 * g1) / det
        db = (h00 * g1 - h01 * g0) / det
        a = a + np.nan_to_num(da)
        b = b + np.nan_to_num(db)
        if np.nanmax(np.abs(np.concatenate([da, db]))) < 1e-10:
            break
    return a - b * centre, b


def _crossing(a: np.ndarray, b: np.ndarray, at: float, above: np.ndarray) -> np.ndarray:
    """x where the fitted curve equals ``at``; −inf / +inf when the curve does not fall (b ≤ 0).

    ``above``: whether the data stand at or above ``at`` overall, which decides the side of a
    curve with no fall (never below → −inf, always below → +inf).
    """
    target = math.log(at / (1 - at))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (target - a) / b
    flat = ~(b > 0)
    return np.where(flat, np.where(above, -np.inf, np.inf), x)


def threshold_interval(
    x: np.ndarray,
    passed: np.ndarray,
    finished: np.ndarray,
    at: float,
    *,
    confidence: float = CONFIDENCE,
    boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float, float, float]:
    """(threshold, low, high, a, b) for per-prompt counts ``passed`` / ``finished`` (prompts × levels).

    The point estimate fits the pooled counts. The interval resamples prompts with replacement
    ``boot`` times, refits, and takes the percentile interval, then widens each side by
    ``sqrt(G/(G−1)) · t(G−1) / z`` (G prompts): a cluster bootstrap alone is too narrow with a
    dozen or two prompts, as the coverage simulation in the tests shows. A side the curve never
    reaches within the bootstrap is ±inf: "below 5 dB" rather than a made-up number. The interval
    always spans the measured levels that bracket the crossing (the grid's own uncertainty).
    """
    passed = np.asarray(passed, dtype=float)
    finished = np.asarray(finished, dtype=float)
    groups = passed.shape[0]
    a, b = fit_logistic(x, passed.sum(axis=0), finished.sum(axis=0))
    above = np.array([passed.sum() / max(finished.sum(), 1) >= at])
    estimate = float(_crossing(a, b, at, above)[0])
    if groups < 2:
        return estimate, -math.inf, math.inf, float(a[0]), float(b[0])
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(groups, np.full(groups, 1.0 / groups), size=boot).astype(float)
    cb, nb = weights @ passed, weights @ finished
    ab, bb = fit_logistic(x, cb, nb)
    rates = cb.sum(axis=1) / np.maximum(nb.sum(axis=1), 1)
    values = _crossing(ab, bb, at, rates >= at)
    alpha = 1 - confidence
    q_lo, q_hi = np.quantile(values, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    z = NormalDist().inv_cdf(1 - alpha / 2)
    stretch = math.sqrt(groups / (groups - 1)) * float(t_quantile(confidence, groups - 1)) / z
    if not math.isfinite(estimate):
        return estimate, float(q_lo), float(q_hi), float(a[0]), float(b[0])
    low = estimate - (estimate - q_lo) * stretch if math.isfinite(q_lo) else -math.inf
    high = estimate + (q_hi - estimate) * stretch if math.isfinite(q_hi) else math.inf
    # never narrower than the grid: the crossing lies between the measured levels that bracket it
    # (an agent that passes every run at 20 dB and fails every run at 5 dB is known only to break in between)
    x = np.asarray(x, dtype=float)
    level_rates = passed.sum(axis=0) / np.maximum(finished.sum(axis=0), 1)
    below = x[(level_rates < at) & (x <= estimate)]
    above = x[(level_rates >= at) & (x >= estimate)]
    if below.size:
        low = min(low, float(below.max()))
    if above.size:
        high = max(high, float(above.min()))
    return estimate, float(min(low, estimate)), float(max(high, estimate)), float(a[0]), float(b[0])


def _sentence(group: str, status: str, at: float, threshold: float, low: float, high: float, x_range: Any) -> str:
    lowest, highest = x_range
    target = format_rate(at, 0)
    if status == NEVER_BELOW:
        return f"{group}: never falls below {target} (at or above it down to {lowest:g} dB, the noisiest level run)"
    if status == ALWAYS_BELOW:
        return f"{group}: below {target} at every level run, clean audio included"
    if status == NOISY_BELOW:
        return f"{group}: below {target} at every noise level run (even {highest:g} dB); only clean audio reaches it"
    if status == NO_TREND:
        return f"{group}: the pass rate does not rise with SNR here, so there is no threshold to read"

    def bound(value: float, side: str) -> str:
        if math.isinf(value):
            return f"below {lowest:g} dB" if value < 0 else f"above {highest:g} dB"
        return f"{value:.1f} dB"

    where = f"{threshold:.1f} dB"
    if not lowest <= threshold <= highest:
        where += f" (outside the {lowest:g}–{highest:g} dB measured: extrapolated)"
    return f"{group}: falls to {target} at {where} (interval {bound(low, 'low')} to {bound(high, 'high')})"


def robustness_threshold(
    source: Any,
    x: str = "snr_db",
    at: float = 0.9,
    by: str | Sequence[str] | None = "voice",
    *,
    confidence: float = CONFIDENCE,
    boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """The ``x`` (SNR in dB) at which the pass rate falls to ``at``, per level of ``by``, with an interval.

    One row per group (``by=None``: the whole sweep): ``threshold`` (dB; NaN unless ``status``
    is ``"crosses"``), ``low`` / ``high`` at ``confidence`` (±inf where the bootstrap curve
    never gets there within the levels run), ``status`` (``crosses``,
    ``never below``, ``below at every noise level`` (clean audio reaches ``at``),
    ``below at every level``, ``no trend``), ``text`` (the sentence to print), ``slope`` (logit
    per dB), ``levels`` (the x levels fitted) and ``prompts``. Clean runs (x NaN) are not on the
    axis; they count for ``below at every level``. Method: logistic fit of pooled pass counts
    against x; cluster bootstrap over prompts (``boot`` resamples, seeded) widened for few
    prompts (see :func:`threshold_interval`).
    """
    import pandas as pd

    confidence = check_confidence(confidence)
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 < at < 1:
        raise InvalidArgumentError(f"at must be a pass rate between 0 and 1 (exclusive), e.g. 0.9; got {at!r}")
    frame = factor_runs(source)
    groups_by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    if x not in frame.columns:
        raise InvalidArgumentError(f"no column {x!r} in the runs; a sweep over noise has 'snr_db'")
    counts = cell_counts(frame, [*groups_by, x]) if groups_by else cell_counts(frame, [x])
    combos = _levels_of(counts, groups_by) if groups_by else [()]
    rows = []
    for combo in combos:
        values = _unkeyed(combo)
        part = counts[_mask(counts, groups_by, values)] if groups_by else counts
        name = " · ".join(level_text(n, v) for n, v in zip(groups_by, values)) or "all runs"
        numeric = pd.to_numeric(part[x], errors="coerce")
        finite = part[numeric.notna().to_numpy()]
        levels = sorted(set(float(v) for v in pd.to_numeric(finite[x])))
        row: dict[str, Any] = dict(zip(groups_by, values))
        row.update(group=name, at=float(at), levels=levels, prompts=int(part["prompt"].nunique()))
        if len(levels) < 2:
            raise InvalidArgumentError(
                f"{name}: a threshold needs at least two noise levels with runs (has {levels}); "
                "sweep snr_db over several values"
            )
        prompts = list(dict.fromkeys(finite["prompt"]))
        pindex = {p: i for i, p in enumerate(prompts)}
        lindex = {v: j for j, v in enumerate(levels)}
        c = np.zeros((len(prompts), len(levels)))
        n = np.zeros((len(prompts), len(levels)))
        for prompt, level, passed, finished in zip(
            finite["prompt"], pd.to_numeric(finite[x]), finite["passed"], finite["finished"]
        ):
            c[pindex[prompt], lindex[float(level)]] += passed
            n[pindex[prompt], lindex[float(level)]] += finished
        level_rates = c.sum(axis=0) / np.maximum(n.sum(axis=0), 1)
        ran = n.sum(axis=0) > 0
        threshold = low = high = slope = math.nan
        if not ran.any():
            raise InvalidArgumentError(f"{name}: no finished run at any noise level")
        if np.all(level_rates[ran] >= at):
            status = NEVER_BELOW
        elif np.all(level_rates[ran] < at):
            clean = part[numeric.isna().to_numpy()]
            clean_ok = clean["finished"].sum() and clean["passed"].sum() / clean["finished"].sum() >= at
            status = NOISY_BELOW if clean_ok else ALWAYS_BELOW
        else:
            status = CROSSES
        if status == CROSSES:
            keep = n.sum(axis=1) > 0
            xs = np.asarray(levels)
            threshold, low, high, _, slope = threshold_interval(
                xs, c[keep], n[keep], at, confidence=confidence, boot=boot, seed=seed
            )
            if not slope > 0:
                status, threshold, low, high = NO_TREND, math.nan, math.nan, math.nan
        row.update(
            threshold=threshold,
            low=low,
            high=high,
            status=status,
            slope=slope,
            text=_sentence(name, status, at, threshold, low, high, (levels[0], levels[-1])),
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["confidence"] = confidence
    table.attrs["method"] = (
        f"logistic fit of pass rate against {x}; {confidence_label(confidence)} interval from a "
        f"cluster bootstrap over prompts ({boot} resamples, widened by t on prompts − 1)"
    )
    return table
