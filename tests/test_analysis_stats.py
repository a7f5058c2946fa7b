"""Statistics: hand-worked values, and cross-checks against independent implementations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as sps

from russo_nb.analysis import (
    clustered_se,
    flakiness,
    flakiness_score,
    newcombe_interval,
    paired_comparison,
    pass_at_k,
    pass_hat_k,
    runs_needed,
    wilson_interval,
)
from russo_nb.analysis.stats import k_values
from russo_nb.errors import InvalidArgumentError, RussoError

# -- Wilson -------------------------------------------------------------------------------------


def test_wilson_hand_worked_values():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def _wilson_by_score_test_inversion(c: int, n: int, z: float) -> tuple[float, float]:
    """Independent: the p where the score statistic |p̂ − p| / sqrt(p(1−p)/n) equals z."""
    phat = c / n

    def f(p: float) -> float:
        return abs(phat - p) / math.sqrt(p * (1 - p) / n) - z

    low = 0.0 if c == 0 else optimize.brentq(f, 1e-12, min(phat, 1 - 1e-12), xtol=1e-14)
    high = 1.0 if c == n else optimize.brentq(f, max(phat, 1e-12), 1 - 1e-12, xtol=1e-14)
    return low, high


@pytest.mark.parametrize(("c", "n"), [(1, 3), (3, 7), (17, 20), (50, 100), (0, 5), (5, 5), (999, 1000)])
def test_wilson_matches_score_test_inversion(c, n):
    z = sps.norm.ppf(0.975)
    expected = _wilson_by_score_test_inversion(c, n, z)
    assert wilson_interval(c, n) == pytest.approx(expected, abs=1e-9)


def test_wilson_vectorized_and_confidence():
    low, high = wilson_interval([8, 0], [10, 10])
    assert low[0] == pytest.approx(0.4902, abs=1e-4) and high[1] == pytest.approx(0.2775, abs=1e-4)
    narrow = wilson_interval(8, 10, confidence=0.5)
    assert narrow[0] > low[0]


def test_wilson_rejects_bad_counts():
    with pytest.raises(InvalidArgumentError, match="successes <= n"):
        wilson_interval(11, 10)
    with pytest.raises(InvalidArgumentError, match="confidence"):
        wilson_interval(1, 10, confidence=95)


# -- pass@k and pass^k -----------------------------------------------------------------------


def test_pass_at_k_and_pass_hat_k_hand_worked():
    # 2 passes out of 5: C(3,2)/C(5,2) = 3/10 of pairs have no pass; C(2,2)/C(5,2) = 1/10 all pass
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_hat_k(5, 2, 2) == pytest.approx(0.1)
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4) == pass_hat_k(5, 2, 1)
    assert pass_at_k(5, 2, 4) == 1.0  # any 4 of 5 include a pass
    assert pass_hat_k(5, 2, 3) == 0.0
    assert math.isnan(pass_at_k(3, 1, 5))  # not enough runs to say


def _brute(n: int, c: int, k: int) -> tuple[float, float]:
    outcomes = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(outcomes, k))
    return (
        sum(any(s) for s in subsets) / len(subsets),
        sum(all(s) for s in subsets) / len(subsets),
    )


def test_pass_k_match_brute_force_enumeration():
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                at, hat = _brute(n, c, k)
                assert pass_at_k(n, c, k) == pytest.approx(at, abs=1e-12), (n, c, k)
                assert pass_hat_k(n, c, k) == pytest.approx(hat, abs=1e-12), (n, c, k)


def test_pass_k_stable_for_large_n_against_exact_combinations():
    n, c, k = 200, 100, 50
    exact_at = 1 - math.comb(n - c, k) / math.comb(n, k)
    exact_hat = math.comb(c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact_at, rel=1e-9)
    assert pass_hat_k(n, c, k) == pytest.approx(exact_hat, rel=1e-9)
    values = pass_hat_k(np.array([10, 10, 3]), np.array([10, 5, 3]), 5)
    assert values[0] == 1.0 and values[1] == pytest.approx(1 / 252) and math.isnan(values[2])


def test_pass_k_rejects_bad_k():
    with pytest.raises(InvalidArgumentError, match="k must be"):
        pass_at_k(5, 2, 0)


def test_k_values():
    assert k_values(1) == [1]
    assert k_values(10) == [1, 2, 3, 5, 10]
    assert k_values(4) == [1, 2, 3, 4] and k_values(30) == [1, 2, 3, 5, 10, 20, 30]
    assert k_values(0) == []
    assert k_values(100) == [1, 2, 3, 5, 10, 20, 50, 100]


# -- flakiness -------------------------------------------------------------------------------


def test_flakiness_score_hand_worked_and_as_disagreement():
    # unbiased 4·c·(n−c)/(n·(n−1)) (reproduction 11: the plug-in 4p(1−p) is biased low by (n−1)/n)
    assert flakiness_score(5, 10) == pytest.approx(4 * 25 / 90)
    assert flakiness_score(0, 10) == 0.0 and flakiness_score(10, 10) == 0.0
    assert flakiness_score(9, 10) == pytest.approx(4 * 9 / 90)
    assert math.isnan(flakiness_score(1, 1))
    # independent: twice the chance that two distinct runs (drawn without replacement) disagree
    outcomes = [1] * 3 + [0] * 7
    pairs = list(itertools.permutations(outcomes, 2))
    disagree = sum(a != b for a, b in pairs) / len(pairs)
    assert flakiness_score(3, 10) == pytest.approx(2 * disagree)


def test_flakiness_score_is_unbiased_by_simulation():
    rng = np.random.default_rng(2)
    for p, n in [(0.9, 3), (0.5, 2), (0.2, 5)]:
        c = rng.binomial(n, p, size=20000)
        assert np.mean(flakiness_score(c, np.full(len(c), n))) == pytest.approx(4 * p * (1 - p), abs=0.02)


def test_flakiness_share_and_small_sample():
    summary = flakiness([0, 3, 5, 2], [5, 5, 5, 5])
    assert summary.flaky == [False, True, False, True]
    assert summary.n_flaky == 2 and summary.share_flaky == 0.5
    assert summary.share_low == pytest.approx(wilson_interval(2, 4)[0])
    assert summary.small_sample and "5 runs" in summary.warnings[0]
    single = flakiness([1, 0], [1, 1])
    assert single.n_flaky == 0 and single.small_sample and "fewer than 2 runs" in single.warnings[0]
    solid = flakiness([20] * 3, [20] * 3)
    assert not solid.small_sample and solid.mean_score == 0.0


# -- clustered standard error ------------------------------------------------------------------


def test_clustered_se_hand_worked():
    result = clustered_se([2, 4], [4, 4])
    # rate 6/8; residuals -1 and +1; Var = G/(G-1) * 2 / 8**2 = 0.0625
    assert result.rate == 0.75
    assert result.se == pytest.approx(0.25)
    assert result.naive_se == pytest.approx(math.sqrt(0.75 * 0.25 / 8))
    assert result.small_sample and "2 prompts" in result.warnings[0]


def _sandwich_se(c, n):
    """Independent: CR1 sandwich on per-run data, y = pass, X = a column of ones."""
    y = np.concatenate([[1.0] * ci + [0.0] * (ni - ci) for ci, ni in zip(c, n)])
    groups = np.concatenate([[g] * ni for g, ni in enumerate(n)])
    x = np.ones((len(y), 1))
    beta = np.linalg.solve(x.T @ x, x.T @ y)
    e = y - x @ beta
    bread = np.linalg.inv(x.T @ x)
    meat = np.zeros((1, 1))
    for g in np.unique(groups):
        s = x[groups == g].T @ e[groups == g]
        meat += np.outer(s, s)
    g_count = len(np.unique(groups))
    v = g_count / (g_count - 1) * bread @ meat @ bread
    return float(beta[0]), math.sqrt(v[0, 0])


def test_clustered_se_matches_sandwich_on_run_level_data():
    rng = np.random.default_rng(3)
    n = rng.integers(3, 15, size=25)
    c = rng.binomial(n, rng.beta(3, 1, size=25))
    rate, se = _sandwich_se(c, n)
    result = clustered_se(c, n)
    assert result.rate == pytest.approx(rate)
    assert result.se == pytest.approx(se, rel=1e-10)
    assert not result.small_sample
    # the interval: Wilson on N / deff effective runs with the t quantile on G − 1 df, checked against
    # statsmodels' Wilson at the matching level (alpha chosen so its z equals the t quantile)
    from statsmodels.stats.proportion import proportion_confint

    deff = max((se / math.sqrt(rate * (1 - rate) / n.sum())) ** 2, 1.0)
    n_eff = n.sum() / deff
    t = sps.t.ppf(0.975, len(n) - 1)
    low, high = proportion_confint(rate * n_eff, n_eff, alpha=2 * sps.norm.sf(t), method="wilson")
    assert (result.low, result.high) == pytest.approx((low, high), abs=1e-9)
    assert result.df == len(n) - 1


def test_clustered_se_matches_statsmodels_cluster_ols():
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    n = rng.integers(3, 12, size=15)
    c = rng.binomial(n, rng.beta(4, 1, size=15))
    y = np.concatenate([[1.0] * ci + [0.0] * (ni - ci) for ci, ni in zip(c, n)])
    groups = np.concatenate([[g] * ni for g, ni in enumerate(n)])
    fit = sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
    g = len(n)
    result = clustered_se(c, n)
    assert result.rate == pytest.approx(fit.params[0])
    assert result.se == pytest.approx(float(fit.bse[0]) * math.sqrt(g / (g - 1)), rel=1e-9)  # CR1 factor


def test_clustered_se_close_to_cluster_jackknife():
    rng = np.random.default_rng(5)
    n = np.full(200, 10)
    c = rng.binomial(n, rng.beta(2, 1, size=200))
    thetas = np.array([(c.sum() - c[g]) / (n.sum() - n[g]) for g in range(200)])
    jack = math.sqrt(199 / 200 * np.sum((thetas - thetas.mean()) ** 2))
    assert clustered_se(c, n).se == pytest.approx(jack, rel=0.02)


def test_clustered_se_one_prompt_and_empty():
    one = clustered_se([3], [5])
    # one prompt: that prompt's Wilson interval (the same figure the view, CLI and summary show)
    assert math.isnan(one.se) and one.small_sample and (one.low, one.high) == pytest.approx(wilson_interval(3, 5))
    assert "one prompt" in one.method
    with pytest.raises(InvalidArgumentError, match="at least one finished run"):
        clustered_se([0], [0])
    # prompts with no finished run (all cancelled) are left out, not counted as failing
    assert clustered_se([3, 0, 4], [5, 0, 5]).n_prompts == 2


# -- paired comparison -----------------------------------------------------------------------


def test_paired_t_method_p_value_against_scipy():
    a = {"p1": (5, 10), "p2": (5, 10), "p3": (5, 10)}
    b = {"p1": (6, 10), "p2": (7, 10), "p3": (8, 10)}
    result = paired_comparison(a, b, method="t")
    # differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t = 3.464 with 2 df -> p = 1 - t / sqrt(t² + 2)
    t = 0.2 / (0.1 / math.sqrt(3))
    assert result.difference == pytest.approx(0.2)
    assert result.p_value == pytest.approx(1 - t / math.sqrt(t * t + 2))
    assert result.p_value == pytest.approx(sps.ttest_rel([0.6, 0.7, 0.8], [0.5, 0.5, 0.5]).pvalue)
    assert "paired t-test" in result.test and result.small_sample
    assert "only 3 shared prompts; a paired comparison is unreliable below 10" in result.describe()
    assert -1 <= result.low < result.high <= 1
    assert [d.prompt for d in result.per_prompt] == ["p1", "p2", "p3"]


def test_default_comparison_interval_and_p_value_agree_and_track_the_t_test():
    rng = np.random.default_rng(11)
    prompts = [f"q{i}" for i in range(30)]
    ca = rng.binomial(10, rng.beta(8, 2, size=30))
    cb = rng.binomial(10, 0.7, size=30)
    a = {p: (int(x), 10) for p, x in zip(prompts, ca)}
    b = {p: (int(x), 10) for p, x in zip(prompts, cb)}
    result = paired_comparison(a, b)
    assert "MOVER" in result.test and not result.small_sample
    ref = sps.ttest_rel(cb / 10, ca / 10)
    # with 30 prompts and interior rates the score construction is close to the t-test
    assert result.p_value == pytest.approx(ref.pvalue, rel=0.5)
    ci = ref.confidence_interval()
    assert result.low == pytest.approx(ci.low, abs=0.04) and result.high == pytest.approx(ci.high, abs=0.04)
    # the interval at level 1 − p just touches 0
    again = paired_comparison(a, b, confidence=1 - result.p_value)
    assert min(abs(again.low), abs(again.high)) < 1e-6
    low, high = newcombe_interval(ca[0], 10, cb[0], 10)
    assert (result.per_prompt[0].low, result.per_prompt[0].high) == pytest.approx((low, high))


def test_newcombe_and_mcnemar_against_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.proportion import confint_proportions_2indep

    for c1, n1, c2, n2 in [(48, 80, 56, 70), (0, 10, 3, 10), (10, 10, 10, 10), (7, 30, 19, 25)]:
        low, high = confint_proportions_2indep(c2, n2, c1, n1, method="newcomb", compare="diff")
        assert newcombe_interval(c1, n1, c2, n2) == pytest.approx((low, high), abs=1e-9)
    from russo_nb.analysis import mcnemar_exact_p

    for b, c in [(6, 1), (3, 0), (0, 0), (12, 9), (25, 10)]:
        ref = mcnemar([[5, c], [b, 5]], exact=True).pvalue
        assert mcnemar_exact_p(b, c) == pytest.approx(ref)


def _mover_by_hand(ca, na, cb, nb, confidence=0.95):
    """Independent MOVER (Zou & Donner 2008): statsmodels' Wilson for each side at the matching level."""
    from statsmodels.stats.proportion import proportion_confint

    m = len(ca)
    ra, rb = ca / na, cb / nb
    pa, pb = ra.mean(), rb.mean()
    t = sps.t.ppf(0.5 + confidence / 2, m - 1)
    alpha = 2 * sps.norm.sf(t)  # statsmodels' z equals our t quantile

    def wilson(p, n):
        return proportion_confint(p * n, n, alpha=alpha, method="wilson")

    cap_a, cap_b = m * m / np.sum(1 / na), m * m / np.sum(1 / nb)
    va, vb = ra.var(ddof=1) / m, rb.var(ddof=1) / m
    neff_a = min(pa * (1 - pa) / va, cap_a) if va > 0 else cap_a
    neff_b = min(pb * (1 - pb) / vb, cap_b) if vb > 0 else cap_b
    neff_a = m if pa in (0.0, 1.0) else neff_a  # every run alike: one observation per prompt
    neff_b = m if pb in (0.0, 1.0) else neff_b
    la, ua = wilson(pa, neff_a)
    lb, ub = wilson(pb, neff_b)
    cov = np.cov(ra, rb, ddof=1)[0, 1] / m
    se_a, se_b = math.sqrt(pa * (1 - pa) / neff_a), math.sqrt(pb * (1 - pb) / neff_b)
    r = float(np.clip(cov / (se_a * se_b), -1, 1)) if se_a * se_b > 0 else 0.0
    if np.ptp(rb - ra) == 0:  # the guard: no spread in the differences, so the sides combine as independent
        r = 0.0
    d = pb - pa
    down = math.sqrt(max((pb - lb) ** 2 + (ua - pa) ** 2 - 2 * r * (pb - lb) * (ua - pa), 0.0))
    up = math.sqrt(max((ub - pb) ** 2 + (pa - la) ** 2 - 2 * r * (ub - pb) * (pa - la), 0.0))
    return d - down, d + up


def test_mover_interval_against_an_independent_construction():
    rng = np.random.default_rng(21)
    for m, confidence in [(12, 0.95), (5, 0.9), (30, 0.99), (8, 0.95)]:
        na = rng.integers(3, 15, size=m).astype(float)
        nb = rng.integers(3, 15, size=m).astype(float)
        base = rng.beta(4, 1, size=m)
        ca = rng.binomial(na.astype(int), base).astype(float)
        cb = rng.binomial(nb.astype(int), np.clip(base - 0.1, 0, 1)).astype(float)
        result = paired_comparison(
            {i: (int(ca[i]), int(na[i])) for i in range(m)},
            {i: (int(cb[i]), int(nb[i])) for i in range(m)},
            confidence=confidence,
        )
        assert (result.low, result.high) == pytest.approx(_mover_by_hand(ca, na, cb, nb, confidence), abs=1e-9)
    # the edges: one side all passing (effective sample = prompts), and the guard (every prompt moved alike)
    for ca, cb in [(np.full(6, 10.0), np.array([9.0, 10, 8, 10, 7, 9])), (np.full(6, 9.0), np.full(6, 7.0))]:
        n = np.full(6, 10.0)
        result = paired_comparison({i: (int(ca[i]), 10) for i in range(6)}, {i: (int(cb[i]), 10) for i in range(6)})
        assert (result.low, result.high) == pytest.approx(_mover_by_hand(ca, n, cb, n), abs=1e-9)
        assert result.low < result.high


def test_mover_guard_acts_only_when_the_interval_would_collapse():
    same = {f"q{i}": (i % 4 + 5, 8) for i in range(20)}
    result = paired_comparison(same, same)
    # identical batches: MOVER with r = 1 would be the point 0; the guard keeps a width
    assert result.difference == 0 and result.low < -0.02 and result.high > 0.02 and result.p_value == 1.0
    assert "same amount" in result.test
    # one prompt different: the pairing is used (r near 1), far narrower than treating the sides as independent
    moved = dict(same) | {"q0": (6, 8)}
    paired = paired_comparison(same, moved)
    assert "same amount" not in paired.test
    assert paired.high - paired.low < (result.high - result.low) / 3


def test_newcombe_hand_worked():
    # Newcombe (1998) example: 56/70 vs 48/80 -> difference 0.2, interval 0.0524 to 0.3339
    low, high = newcombe_interval(48, 80, 56, 70)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_sign_flip_permutation_exact_by_enumeration():
    a = {"p1": (5, 10), "p2": (5, 10), "p3": (5, 10), "p4": (5, 10)}
    b = {"p1": (6, 10), "p2": (7, 10), "p3": (8, 10), "p4": (4, 10)}
    result = paired_comparison(a, b, method="permutation")
    diffs = np.array([0.1, 0.2, 0.3, -0.1])
    flips = [abs(np.dot(signs, diffs)) / 4 for signs in itertools.product([1, -1], repeat=4)]
    expected = sum(f >= abs(diffs.mean()) - 1e-12 for f in flips) / 16
    assert result.p_value == pytest.approx(expected)
    assert "sign-flip permutation" in result.test and "exact" in result.test


def test_mcnemar_for_one_run_each():
    prompts = [f"q{i}" for i in range(10)]
    # 6 prompts fail in A and pass in B, 1 the other way, 3 pass in both
    a = {p: (0, 1) for p in prompts[:6]} | {prompts[6]: (1, 1)} | {p: (1, 1) for p in prompts[7:]}
    b = {p: (1, 1) for p in prompts[:6]} | {prompts[6]: (0, 1)} | {p: (1, 1) for p in prompts[7:]}
    result = paired_comparison(a, b)
    assert "McNemar" in result.test and "Tango" in result.test
    # mid-p: 2 * P(X < 1 | 7, 1/2) + P(X = 1) = (2 * 1 + 7) / 128; the exact p less P(X = 1)
    assert result.p_value == pytest.approx((2 * math.comb(7, 0) + math.comb(7, 1)) / 2**7)
    assert result.p_value == pytest.approx(sps.binomtest(1, 7, 0.5).pvalue - sps.binom.pmf(1, 7, 0.5))
    from russo_nb.analysis import mcnemar_exact_p

    assert "mid-p McNemar" in result.test and result.p_value < mcnemar_exact_p(6, 1)
    assert result.difference == pytest.approx(0.5)
    assert result.low < 0.5 < result.high


def _tango_by_constrained_mle(b: int, c: int, n: int, z: float) -> tuple[float, float]:
    """Independent Tango: maximize the trinomial likelihood numerically under p01 − p10 = Δ, invert the score."""
    from scipy import optimize

    d = (b - c) / n

    def score(delta: float) -> float:
        def nll(q: float) -> float:
            p01, p10 = q + delta, q
            rest = 1 - p01 - p10
            return -(
                b * math.log(max(p01, 1e-300))
                + c * math.log(max(p10, 1e-300))
                + (n - b - c) * math.log(max(rest, 1e-300))
            )

        lo, hi = max(0.0, -delta) + 1e-13, (1 - delta) / 2 - 1e-13
        if hi <= lo:
            q = lo
        else:
            q = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}).x
        return (b - c - n * delta) / math.sqrt(n * (2 * q + delta * (1 - delta)))

    low = -1.0 if score(-1 + 1e-9) <= z else optimize.brentq(lambda x: score(x) - z, -1 + 1e-9, d, xtol=1e-12)
    high = 1.0 if score(1 - 1e-9) >= -z else optimize.brentq(lambda x: score(x) + z, d, 1 - 1e-9, xtol=1e-12)
    return low, high


@pytest.mark.parametrize(("b", "c", "n"), [(6, 1, 10), (3, 0, 3), (0, 0, 8), (5, 9, 40), (12, 2, 25)])
def test_tango_interval_against_a_numerical_constrained_mle(b, c, n):
    from russo_nb.analysis import tango_interval

    expected = _tango_by_constrained_mle(b, c, n, sps.norm.ppf(0.975))
    assert tango_interval(b, c, n) == pytest.approx(expected, abs=1e-5)


def _mid_p_by_counting(x: int, y: int) -> float:
    d, k = x + y, min(x, y)
    if d == 0:
        return 1.0
    return min(1.0, (2 * sum(math.comb(d, j) for j in range(k)) + math.comb(d, k)) / 2**d)


def test_mcnemar_interval_excludes_zero_exactly_when_the_mid_p_test_rejects():
    from russo_nb.analysis.paired import _mcnemar_interval

    n = 30
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = b + c <= n
    b, c = b[ok], c[ok]
    for confidence in (0.95, 0.99, 0.8):
        low, high, p = _mcnemar_interval(b, c, n, confidence)
        # independent mid-p: by exact counting, 2·P(X < k) + P(X = k) with X ~ Binomial(b + c, 1/2)
        mid = np.array([_mid_p_by_counting(int(x), int(y)) for x, y in zip(b, c)])
        assert np.allclose(p, mid)
        assert np.array_equal((low > 0) | (high < 0), p < 1 - confidence)
        assert np.all(low < high) and np.all(low >= -1) and np.all(high <= 1)


def test_comparison_of_batches_and_errors():
    from analysis_helpers import batch_from_outcomes

    a = batch_from_outcomes({"x": [True, False, True, True], "y": [True] * 4, "only a": [True]})
    b = batch_from_outcomes({"x": [False, False, True, False], "y": [True, True, False, True], "only b": [False]})
    result = paired_comparison(a, b)
    assert result.n_shared == 2 and result.only_in_a == ["only a"] and result.only_in_b == ["only b"]
    assert result.difference == pytest.approx(((0.25 - 0.75) + (0.75 - 1.0)) / 2)
    assert any("only in A" in w for w in result.warnings)
    assert "B − A" in result.describe()
    with pytest.raises(InvalidArgumentError, match="share no prompts"):
        paired_comparison({"a": (1, 1)}, {"b": (1, 1)})
    with pytest.raises(RussoError, match="McNemar"):
        paired_comparison({"a": (1, 2)}, {"a": (1, 2)}, method="mcnemar")
    with pytest.raises(InvalidArgumentError, match="method"):
        paired_comparison({"a": (1, 2)}, {"a": (1, 2)}, method="bogus")
    with pytest.raises(InvalidArgumentError, match="cannot compare"):
        paired_comparison(42, {"a": (1, 2)})


def test_identical_shift_is_not_called_certain():
    a = {"p1": (1, 3), "p2": (1, 3)}
    b = {"p1": (2, 3), "p2": (2, 3)}
    result = paired_comparison(a, b, method="t")
    assert result.p_value == pytest.approx(0.5)  # exact sign flips: 2 of 4 as extreme
    assert not result.significant and -1 <= result.low < 0 < result.high <= 1
    assert not paired_comparison(a, b).significant


# -- runs needed -----------------------------------------------------------------------------


def test_runs_needed_sizes_the_comparison_we_run():
    plan = runs_needed(0.9, 0.1, prompts=20)
    assert plan.prompts == 20 and plan.total_runs == plan.runs_per_prompt * 20
    assert plan.simulated_power >= 0.8 and "MOVER" in plan.test and "paired_comparison" in plan.note
    # fewer runs than the design do not reach the power (it is the smallest that does)
    from russo_nb.analysis import simulated_power

    assert simulated_power(0.9, 0.1, prompts=20, runs_per_prompt=plan.runs_per_prompt - 1) < 0.8
    assert runs_needed(0.9, 0.1, prompts=20, power=0.9).runs_per_prompt > plan.runs_per_prompt
    assert runs_needed(0.9, 0.1, prompts=40).runs_per_prompt < plan.runs_per_prompt
    big_drop = runs_needed(0.95, 0.9, prompts=30)
    assert big_drop.runs_per_prompt == 1 and "McNemar" in big_drop.test


def test_runs_needed_errors():
    with pytest.raises(InvalidArgumentError, match="baseline"):
        runs_needed(1.5, 0.1, prompts=10)
    with pytest.raises(InvalidArgumentError, match="drop"):
        runs_needed(0.5, 0.6, prompts=10)
    with pytest.raises(InvalidArgumentError, match="power"):
        runs_needed(0.9, 0.1, power=80, prompts=10)
    with pytest.raises(InvalidArgumentError, match="prompts"):
        runs_needed(0.9, 0.1, prompts=0)
    with pytest.raises(InvalidArgumentError, match="prompts="):
        runs_needed(0.9, 0.1)


# -- the batch summary -----------------------------------------------------------------------


def test_summarize_puts_the_numbers_together():
    from analysis_helpers import batch_from_outcomes

    from russo_nb.analysis import summarize

    batch = batch_from_outcomes({"a": [True, True, False, True], "b": [True] * 4, "c": [False, "error", False, False]})
    summary = summarize(batch)
    assert (summary.runs, summary.prompts, summary.passed, summary.errors) == (12, 3, 7, 1)
    assert summary.pass_rate == pytest.approx(7 / 12)
    clustered = clustered_se([3, 4, 0], [4, 4, 4])
    assert (summary.clustered_low, summary.clustered_high) == pytest.approx((clustered.low, clustered.high))
    assert not hasattr(summary, "wilson_low")  # one interval for the batch rate: the clustered one
    # "a" passed 3 of 4: mixed, but its Wilson interval (30.1%–95.4%) reaches past 95%, so not flaky
    assert summary.n_mixed == 1 and summary.n_flaky == 0 and summary.share_flaky == 0
    assert summary.pass_hat_k[4] == pytest.approx((0 + 1 + 0) / 3)
    assert summary.pass_at_k[2] == pytest.approx((1 + 1 + 0) / 3)
    assert summary.pass_k_prompts == 3 and summary.pass_k_left_out == 0 and summary.k_max == 4
    assert summary.mean_prompt_pass_rate == pytest.approx((3 / 4 + 1 + 0) / 3)
    assert summary.small_sample and any("3 prompts" in w for w in summary.warnings)
    text = summary.describe()
    assert "7/12 finished runs passed (58.3% per run)" in text and "mean over prompts" in text
    assert f"95% CI {clustered.low:.1%}–{clustered.high:.1%}" in text and "t quantile with 2 df" in text
    assert "mixed (both passed and failed): 1/3" in text
    assert "note: only 3 prompts; an interval clustered by prompt is wide below 10" in text
    assert "note: only 4 runs for some prompts" in text  # small samples are said, not hidden
    empty = summarize(batch_from_outcomes({}))
    assert empty.warnings == ["the batch has no finished runs"] and math.isnan(empty.pass_rate)
