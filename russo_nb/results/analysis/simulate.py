"""Simulated batches whose prompts differ: the model behind runs_needed and the calibration study.

Real prompts do not share one pass rate. Here each prompt's rate is drawn from a Beta
distribution with the batch's mean and an intra-prompt correlation (ICC) ``ρ``: the share of
the pass/fail variance that lies between prompts (0 = every prompt at the mean, 1 = each
prompt always passes or always fails). Beta(α, β) with ``α + β = 1/ρ − 1`` has exactly that
ICC for its binomial runs. A paired pair of batches keeps each prompt's rank: prompt ``i``
sits at the same quantile of the A and B distributions, so hard prompts stay hard.

Used by :func:`~russo_nb.results.analysis.paired.runs_needed` (``icc=`` / ``pilot=``) and
``benchmarks/stats_calibration.py``; seeded, vectorized over simulations.
"""

from __future__ import annotations

import numpy as np

from ...model.errors import InvalidArgumentError

__all__ = ["beta_rates", "check_icc", "paired_rates"]


def check_icc(icc: float) -> float:
    """``icc`` as a float in [0, 1), or a clear error."""
    if isinstance(icc, bool) or not isinstance(icc, (int, float)) or not 0.0 <= icc < 1.0 or icc != icc:
        raise InvalidArgumentError(
            f"icc must be in [0, 1) (0 = prompts alike, near 1 = each prompt always passes or always fails), "
            f"got {icc!r}"
        )
    return float(icc)


def _quantiles(mean: float, icc: float, u: np.ndarray) -> np.ndarray:
    """Prompt rates at quantiles ``u`` of the Beta with this mean and ICC (constant when either is degenerate)."""
    if icc <= 0.0 or mean <= 0.0 or mean >= 1.0:
        return np.full(u.shape, float(np.clip(mean, 0.0, 1.0)))
    from scipy import stats as sps

    total = 1.0 / icc - 1.0
    return sps.beta.ppf(u, mean * total, (1.0 - mean) * total)


def beta_rates(mean: float, icc: float, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Per-prompt pass rates of ``shape`` drawn from the Beta with ``mean`` and intra-prompt correlation ``icc``."""
    return _quantiles(mean, check_icc(icc), rng.random(shape))


def paired_rates(
    baseline: float, changed: float, icc: float, shape: tuple[int, ...], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rates of the same prompts in A (mean ``baseline``) and B (mean ``changed``), each prompt at one quantile."""
    u = rng.random(shape)
    icc = check_icc(icc)
    return _quantiles(baseline, icc, u), _quantiles(changed, icc, u)
