"""Calibration study: do the package's tests and intervals do what they say, against the alternatives?

Per-prompt pass rates are drawn from Beta distributions with intra-prompt correlation (ICC)
0.05 / 0.3 / 0.7 (see ``russo_nb.results.analysis.simulate``); each cell is ``--reps`` seeded
replications. Tables printed (README's "What the numbers mean" is written from them):

1. paired comparison, no real difference: false-positive rate at the 5% level of the default
   test (MOVER with its collapse guard; mid-p McNemar at one run), the previous test (MOVER
   floored by Newcombe's interval; exact McNemar), a paired t, a sign-flip permutation test and
   a paired cluster bootstrap;
2. the same tests' power to see a drop of 0.10 from 0.9;
3. unequal runs per side (10 in A, 3 in B): false positives of the default test and the paired t;
4. the batch interval (``clustered_se``): coverage of the mean pass rate, against the Wilson
   interval on all runs and the previous clustered interval (binomial fallback when every run
   passed, t widening at one run per prompt), with the share of batches where every run passed;
5. flaky: share of prompts flagged flaky (margin) and mixed (passed and failed) by true rate;
6. runs_needed: power delivered at the true ICC by its answer assuming prompts alike and by its
   answer given the ICC.

    python benchmarks/stats_calibration.py [--reps 1000] [--seed 1] [--only 1,4]

A few minutes at the default on a free core; figures are Monte Carlo estimates (± about
1.4 points for a 5% rate at 1,000 replications, ± 1 point for 95% coverage).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as sps

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from russo_nb.analysis import clustered_se, is_flaky, is_mixed, runs_needed, simulated_power  # noqa: E402
from russo_nb.model.errors import InvalidArgumentError  # noqa: E402
from russo_nb.results.analysis.paired import _reject, mcnemar_exact_p  # noqa: E402
from russo_nb.results.analysis.simulate import beta_rates, paired_rates  # noqa: E402
from russo_nb.results.analysis.stats import t_quantile, wilson_bounds, wilson_interval  # noqa: E402

ALPHA = 0.05
ICCS = (0.05, 0.3, 0.7)


# -- the alternatives ----------------------------------------------------------------------------


def previous_reject(ca: np.ndarray, cb: np.ndarray, na: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """The test before this pass: MOVER floored by Newcombe's independent-runs interval; exact McNemar at R = 1."""
    m = ca.shape[1]
    if np.all(na == 1) and np.all(nb == 1):
        n01 = np.sum((ca == 0) & (cb == 1), -1)
        n10 = np.sum((ca == 1) & (cb == 0), -1)
        return np.asarray(mcnemar_exact_p(n01, n10)) < ALPHA
    ra, rb = ca / na, cb / nb
    pa, pb = ra.mean(-1), rb.mean(-1)
    va, vb = ra.var(-1, ddof=1) / m, rb.var(-1, ddof=1) / m
    cov = np.sum((ra - pa[:, None]) * (rb - pb[:, None]), -1) / (m - 1) / m
    nmax_a, nmax_b = m * m / np.sum(1.0 / na, -1), m * m / np.sum(1.0 / nb, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        neff_a = np.minimum(np.where(va > 0, pa * (1 - pa) / va, np.inf), nmax_a)
        neff_b = np.minimum(np.where(vb > 0, pb * (1 - pb) / vb, np.inf), nmax_b)
        se_a, se_b = np.sqrt(pa * (1 - pa) / neff_a), np.sqrt(pb * (1 - pb) / neff_b)
        r = np.where(se_a * se_b > 0, np.clip(cov / (se_a * se_b), -1, 1), 0.0)
    crit = t_quantile(1 - ALPHA, m - 1)
    la, ua = wilson_bounds(pa, neff_a, crit)
    lb, ub = wilson_bounds(pb, neff_b, crit)
    fla, fua = wilson_bounds(pa, nmax_a, crit)
    flb, fub = wilson_bounds(pb, nmax_b, crit)
    d = pb - pa
    down = np.sqrt(np.maximum((pb - lb) ** 2 + (ua - pa) ** 2 - 2 * r * (pb - lb) * (ua - pa), 0))
    up = np.sqrt(np.maximum((ub - pb) ** 2 + (pa - la) ** 2 - 2 * r * (ub - pb) * (pa - la), 0))
    down = np.maximum(down, np.sqrt((pb - flb) ** 2 + (fua - pa) ** 2))
    up = np.maximum(up, np.sqrt((fub - pb) ** 2 + (pa - fla) ** 2))
    return (d - down > 0) | (d + up < 0)


def default_reject(ca: np.ndarray, cb: np.ndarray, na: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """paired_comparison's default test, vectorized (the same code path runs_needed sizes)."""
    if np.all(na == na.flat[0]) and np.all(nb == na.flat[0]):
        return _reject(ca, cb, int(na.flat[0]), ALPHA)
    from russo_nb.results.analysis.paired import _mover_interval, _mover_parts

    parts = _mover_parts(ca.astype(float), na, cb.astype(float), nb)
    low, high = _mover_interval(parts, t_quantile(1 - ALPHA, ca.shape[1] - 1))
    return (low > 0) | (high < 0)


def paired_t_reject(diffs: np.ndarray) -> np.ndarray:
    m = diffs.shape[1]
    mean, sd = diffs.mean(1), diffs.std(1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * sps.t.sf(np.abs(mean) / (sd / math.sqrt(m)), m - 1)
    # no spread: an exact sign-flip p of 2 / 2^m when every prompt moved alike (and nothing when none moved)
    p = np.where(sd > 0, p, np.where(mean != 0, 2.0 / 2.0**m, 1.0))
    return p < ALPHA


def sign_flip_reject(diffs: np.ndarray, rng: np.random.Generator, flips: int = 1000) -> np.ndarray:
    m = diffs.shape[1]
    signs = rng.choice([-1.0, 1.0], size=(m, flips))
    observed = np.abs(diffs.mean(1))
    null = np.abs(diffs @ signs / m)
    p = (np.sum(null >= observed[:, None] - 1e-12, 1) + 1) / (flips + 1)
    return p < ALPHA


def bootstrap_reject(diffs: np.ndarray, rng: np.random.Generator, draws: int = 400) -> np.ndarray:
    """Paired cluster bootstrap over prompts: percentile interval of the mean difference excludes 0."""
    sims, m = diffs.shape
    out = np.zeros(sims, dtype=bool)
    for start in range(0, sims, 100):
        chunk = diffs[start : start + 100]
        pick = rng.integers(0, m, size=(len(chunk), draws, m))
        means = np.take_along_axis(chunk[:, None, :].repeat(draws, 1), pick, 2).mean(2)
        low, high = np.quantile(means, [ALPHA / 2, 1 - ALPHA / 2], axis=1)
        out[start : start + 100] = (low > 0) | (high < 0)
    return out


def previous_clustered(c: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """The batch interval before this pass: binomial on all runs when every run passed; t at one run per prompt."""
    g, total = len(n), n.sum()
    rate = c.sum() / total
    naive = math.sqrt(rate * (1 - rate) / total)
    resid = c - rate * n
    se = math.sqrt(g / (g - 1) * float(np.sum(resid**2)) / total**2)
    design = (se / naive) ** 2 if naive > 0 else float("nan")
    n_eff = total / max(design, 1.0) if not math.isnan(design) else total
    low, high = wilson_bounds(rate, n_eff, float(t_quantile(0.95, g - 1)))
    return float(low), float(high)


# -- the tables ----------------------------------------------------------------------------------


def pct(x: float) -> str:
    return f"{100 * x:5.1f}"


def table(title: str, head: list[str], rows: list[list[str]]) -> None:
    print(f"\n## {title}\n")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("| " + " | ".join(h.rjust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(x.rjust(w) for x, w in zip(r, widths)) + " |")


def paired_tables(reps: int, seed: int, drop: float, title: str) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for icc in ICCS:
        for prompts in (5, 10, 30, 100):
            for runs in (1, 3, 10):
                rate_a, rate_b = paired_rates(0.9, 0.9 - drop, icc, (reps, prompts), rng)
                ca, cb = rng.binomial(runs, rate_a), rng.binomial(runs, rate_b)
                n = np.full(ca.shape, float(runs))
                diffs = (cb - ca) / runs
                rows.append(
                    [
                        f"{icc:g}",
                        str(prompts),
                        str(runs),
                        pct(default_reject(ca, cb, n, n).mean()),
                        pct(previous_reject(ca, cb, n, n).mean()),
                        pct(paired_t_reject(diffs).mean()),
                        pct(sign_flip_reject(diffs, rng).mean()),
                        pct(bootstrap_reject(diffs, rng).mean()),
                    ]
                )
    table(
        title,
        ["ICC", "prompts", "runs", "default %", "previous %", "paired t %", "sign-flip %", "bootstrap %"],
        rows,
    )


def unequal_table(reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for icc in ICCS:
        for prompts in (5, 10, 30, 100):
            rate = beta_rates(0.9, icc, (reps, prompts), rng)
            ca, cb = rng.binomial(10, rate), rng.binomial(3, rate)
            na, nb = np.full(ca.shape, 10.0), np.full(ca.shape, 3.0)
            diffs = cb / 3 - ca / 10
            rows.append(
                [
                    f"{icc:g}",
                    str(prompts),
                    pct(default_reject(ca, cb, na, nb).mean()),
                    pct(paired_t_reject(diffs).mean()),
                ]
            )
    table(
        "3. Unequal runs (10 in A, 3 in B), no real difference, mean 0.9: false positives at 5%",
        ["ICC", "prompts", "default %", "paired t %"],
        rows,
    )


def coverage_table(reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for icc in ICCS:
        for mean in (0.7, 0.9, 0.97):
            for prompts in (5, 10, 30):
                for runs in (1, 3, 10, 30):
                    rate = beta_rates(mean, icc, (reps, prompts), rng)
                    counts = rng.binomial(runs, rate)
                    n = np.full(prompts, runs)
                    ours = wilson = previous = all_pass = 0
                    for c in counts:
                        result = clustered_se(c, n)
                        ours += result.low <= mean <= result.high
                        w_low, w_high = wilson_interval(int(c.sum()), int(n.sum()))
                        wilson += w_low <= mean <= w_high
                        p_low, p_high = previous_clustered(c.astype(float), n.astype(float))
                        previous += p_low <= mean <= p_high
                        all_pass += int(c.sum()) == int(n.sum())
                    rows.append(
                        [
                            f"{icc:g}",
                            f"{mean:g}",
                            str(prompts),
                            str(runs),
                            pct(ours / reps),
                            pct(previous / reps),
                            pct(wilson / reps),
                            pct(all_pass / reps),
                        ]
                    )
    table(
        "4. The batch interval: coverage of the mean pass rate (nominal 95%)",
        ["ICC", "mean", "prompts", "runs", "clustered %", "previous %", "Wilson all runs %", "all pass %"],
        rows,
    )


def flaky_table(reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for rate in (0.5, 0.8, 0.95, 0.99, 0.999):
        for runs in (10, 30, 100):
            c = rng.binomial(runs, rate, size=reps)
            rows.append([f"{rate:g}", str(runs), pct(is_flaky(c, runs).mean()), pct(is_mixed(c, runs).mean())])
    table(
        "5. Flaky (95% Wilson interval 5 points clear of both ends) against mixed (passed and failed)",
        ["true rate", "runs", "flaky %", "mixed %"],
        rows,
    )


def sizing_table(reps: int, seed: int) -> None:
    rows = []
    designs = [(0.9, 0.1, 10), (0.9, 0.1, 30), (0.8, 0.1, 30), (0.95, 0.05, 30)]
    sims = max(500, reps)
    for baseline, drop, prompts in designs:
        plain = runs_needed(baseline, drop, prompts=prompts, simulations=sims, seed=seed)
        for icc in (0.3, 0.7):
            try:
                aware = runs_needed(baseline, drop, prompts=prompts, icc=icc, simulations=sims, seed=seed)
                aware_runs = aware.runs_per_prompt
                delivered = simulated_power(
                    baseline,
                    drop,
                    prompts=prompts,
                    runs_per_prompt=aware_runs,
                    icc=icc,
                    simulations=sims,
                    seed=seed + 7,
                )
                aware_text, delivered_text = str(aware_runs), pct(delivered)
            except InvalidArgumentError:  # the design cannot reach the power at any runs: more prompts needed
                aware_text, delivered_text = "more prompts", "–"
            plain_power = simulated_power(
                baseline,
                drop,
                prompts=prompts,
                runs_per_prompt=plain.runs_per_prompt,
                icc=icc,
                simulations=sims,
                seed=seed + 7,
            )
            rows.append(
                [
                    f"{baseline:g} → {baseline - drop:g}",
                    str(prompts),
                    f"{icc:g}",
                    str(plain.runs_per_prompt),
                    pct(plain_power),
                    aware_text,
                    delivered_text,
                ]
            )
    table(
        "6. runs_needed for 80% power: delivered power at the true ICC (fresh simulations)",
        ["change", "prompts", "true ICC", "runs (icc 0)", "power %", "runs (icc=)", "power %"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="1,2,3,4,5,6", help="comma-separated table numbers")
    args = parser.parse_args()
    only = {int(x) for x in args.only.split(",")}
    started = time.perf_counter()
    print(f"# Calibration study: {args.reps} replications a cell, seed {args.seed}, two-sided 5% / 95%")
    if 1 in only:
        paired_tables(args.reps, args.seed, 0.0, "1. Paired comparison, no real difference (mean 0.9): false positives")
    if 2 in only:
        paired_tables(args.reps, args.seed + 1, 0.1, "2. Paired comparison, power to see 0.9 → 0.8")
    if 3 in only:
        unequal_table(args.reps, args.seed + 2)
    if 4 in only:
        coverage_table(args.reps, args.seed + 3)
    if 5 in only:
        flaky_table(args.reps, args.seed + 4)
    if 6 in only:
        sizing_table(args.reps, args.seed + 5)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
