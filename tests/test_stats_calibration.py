"""Calibration by seeded simulation: the paired test, the batch interval, runs_needed and the flaky margin.

Small enough for CI; the full study is ``benchmarks/stats_calibration.py`` (its larger grids run
here only under ``-m slow``). Prompts differ: their rates come from Beta distributions with an
intra-prompt correlation (``russo_nb.analysis.simulate``). Each test fails if calibration or
coverage regresses past a band wide enough for its Monte Carlo error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from russo_nb.analysis import (
    clustered_se,
    icc_estimate,
    is_flaky,
    is_mixed,
    latency_summary,
    paired_comparison,
    runs_needed,
    simulated_power,
    wilson_interval,
)
from russo_nb.analysis.paired import _reject, mcnemar_exact_p
from russo_nb.analysis.simulate import beta_rates, paired_rates
from russo_nb.errors import InvalidArgumentError


def _null_pairs(mean, icc, prompts, runs, reps, seed):
    rng = np.random.default_rng(seed)
    rate = beta_rates(mean, icc, (reps, prompts), rng)
    return rng.binomial(runs, rate), rng.binomial(runs, rate)


def _paired_t_reject(ca, cb, runs, alpha=0.05):
    diffs = (cb - ca) / runs
    m = diffs.shape[1]
    sd = diffs.std(1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * sps.t.sf(np.abs(diffs.mean(1)) / (sd / math.sqrt(m)), m - 1)
    return np.where(sd > 0, p, 1.0) < alpha


# -- the paired test ---------------------------------------------------------------------------


@pytest.mark.parametrize(("icc", "runs"), [(0.05, 3), (0.3, 3), (0.05, 10)])
def test_paired_false_positives_stay_in_band_at_30_prompts(icc, runs):
    ca, cb = _null_pairs(0.8, icc, 30, runs, 3000, seed=11)
    rate = _reject(ca, cb, runs, 0.05).mean()
    assert 0.025 <= rate <= 0.075, rate
    # the vectorized test is the one paired_comparison runs
    for i in range(25):
        a = {f"q{j}": (int(ca[i, j]), runs) for j in range(30)}
        b = {f"q{j}": (int(cb[i, j]), runs) for j in range(30)}
        assert paired_comparison(a, b).significant == bool(_reject(ca[i : i + 1], cb[i : i + 1], runs, 0.05)[0])


def test_paired_power_matches_the_paired_t_at_30_prompts():
    rng = np.random.default_rng(5)
    rate_a, rate_b = paired_rates(0.9, 0.8, 0.3, (2000, 30), rng)
    ca, cb = rng.binomial(3, rate_a), rng.binomial(3, rate_b)
    ours, t = _reject(ca, cb, 3, 0.05).mean(), _paired_t_reject(ca, cb, 3).mean()
    # the Newcombe floor cost 19 points here (40% against the t's 59%); MOVER alone is within a few
    assert ours >= t - 0.05, (ours, t)


def test_mid_p_mcnemar_is_calibrated_and_more_powerful_than_exact():
    ca, cb = _null_pairs(0.7, 0.05, 100, 1, 4000, seed=3)
    assert _reject(ca, cb, 1, 0.05).mean() <= 0.06
    rng = np.random.default_rng(4)
    ca, cb = rng.binomial(1, 0.9, size=(2000, 30)), rng.binomial(1, 0.8, size=(2000, 30))
    n01, n10 = np.sum((ca == 0) & (cb == 1), 1), np.sum((ca == 1) & (cb == 0), 1)
    assert _reject(ca, cb, 1, 0.05).mean() > (np.asarray(mcnemar_exact_p(n01, n10)) < 0.05).mean() + 0.05


def test_unequal_runs_per_side_keep_the_level():
    rng = np.random.default_rng(9)
    rate = beta_rates(0.8, 0.3, (2000, 30), rng)
    ca, cb = rng.binomial(10, rate), rng.binomial(3, rate)
    from russo_nb.analysis.paired import _mover_interval, _mover_parts
    from russo_nb.analysis.stats import t_quantile

    parts = _mover_parts(ca.astype(float), np.full(ca.shape, 10.0), cb.astype(float), np.full(ca.shape, 3.0))
    low, high = _mover_interval(parts, t_quantile(0.95, 29))
    assert ((low > 0) | (high < 0)).mean() <= 0.075


@pytest.mark.slow
@pytest.mark.parametrize("icc", [0.05, 0.3])
@pytest.mark.parametrize("prompts", [30, 100])
@pytest.mark.parametrize("runs", [3, 10])
@pytest.mark.parametrize("mean", [0.7, 0.8])
def test_paired_false_positives_grid(icc, prompts, runs, mean):
    ca, cb = _null_pairs(mean, icc, prompts, runs, 4000, seed=prompts * runs)
    assert 0.025 <= _reject(ca, cb, runs, 0.05).mean() <= 0.075


# -- the batch interval ------------------------------------------------------------------------


def _coverage(mean, icc, prompts, runs, reps, seed):
    rng = np.random.default_rng(seed)
    counts = rng.binomial(runs, beta_rates(mean, icc, (reps, prompts), rng))
    n = np.full(prompts, runs)
    hits = [(r.low <= mean <= r.high) for r in (clustered_se(c, n) for c in counts)]
    return float(np.mean(hits)), float(np.mean(counts.sum(1) == prompts * runs))


def test_clustered_interval_covers_at_30_prompts():
    covered, _ = _coverage(0.9, 0.3, 30, 10, 600, seed=2)
    assert covered >= 0.91
    # the runs-independent Wilson interval on the same batches does not (about 68%)
    rng = np.random.default_rng(2)
    counts = rng.binomial(10, beta_rates(0.9, 0.3, (600, 30), rng))
    low, high = wilson_interval(counts.sum(1), 300)
    assert np.mean((low <= 0.9) & (0.9 <= high)) < 0.8


def test_all_pass_batches_use_the_prompts_as_the_sample():
    covered, all_pass = _coverage(0.9, 0.7, 5, 30, 600, seed=6)
    assert all_pass > 0.15 and covered >= 0.85  # was 65% with the binomial interval on all runs
    result = clustered_se([30] * 5, [30] * 5)
    # Wilson on 5 effective runs with the t quantile on 4 df, against statsmodels at the matching level
    from statsmodels.stats.proportion import proportion_confint

    t = sps.t.ppf(0.975, 4)
    assert (result.low, result.high) == pytest.approx(
        proportion_confint(5, 5, alpha=2 * sps.norm.sf(t), method="wilson"), abs=1e-9
    )
    assert result.n_effective == 5 and "every run passed" in result.method
    failing = clustered_se([0] * 8, [4] * 8)
    assert failing.low == 0.0 and failing.n_effective == 8 and "every run failed" in failing.method


def test_one_run_per_prompt_is_the_plain_wilson_interval():
    result = clustered_se([1, 0, 1, 1, 1, 0, 1, 1, 1, 1], [1] * 10)
    assert (result.low, result.high) == pytest.approx(wilson_interval(8, 10))  # no t widening
    assert "independent runs" in result.method and result.design_effect == 1.0


@pytest.mark.slow
@pytest.mark.parametrize(("mean", "icc"), [(0.7, 0.05), (0.7, 0.3), (0.9, 0.05), (0.9, 0.3), (0.7, 0.7)])
@pytest.mark.parametrize("runs", [3, 10, 30])
def test_clustered_coverage_grid(mean, icc, runs):
    covered, _ = _coverage(mean, icc, 30, runs, 1500, seed=runs)
    assert covered >= 0.92


# -- ICC and runs_needed -----------------------------------------------------------------------


def test_icc_estimate_matches_one_way_anova():
    c, n = np.array([9, 10, 4, 7, 10, 2]), np.array([10, 10, 10, 10, 10, 10])
    groups = [np.r_[np.ones(ci), np.zeros(ni - ci)] for ci, ni in zip(c, n)]
    f = sps.f_oneway(*groups).statistic  # MSB / MSW, independently of our sums
    assert icc_estimate(c, n) == pytest.approx((f - 1) / (f + 10 - 1))
    assert math.isnan(icc_estimate([5, 5], [5, 5])) and math.isnan(icc_estimate([1, 0, 1], [1, 1, 1]))
    rng = np.random.default_rng(1)
    counts = rng.binomial(20, beta_rates(0.7, 0.3, (200, 40), rng))
    estimates = [icc_estimate(row, np.full(40, 20)) for row in counts]
    assert np.mean(estimates) == pytest.approx(0.3, abs=0.03)


def test_runs_needed_with_spread_between_prompts_delivers_the_power():
    plain = runs_needed(0.9, 0.1, prompts=30, simulations=1000)
    aware = runs_needed(0.9, 0.1, prompts=30, icc=0.7, simulations=1000)
    assert aware.icc == 0.7 and aware.icc_source == "given" and "ICC 0.7" in aware.note
    assert plain.icc == 0.0 and "pass icc= or pilot=" in plain.icc_source
    fresh = {"icc": 0.7, "prompts": 30, "simulations": 2000, "seed": 99}
    assert simulated_power(0.9, 0.1, runs_per_prompt=aware.runs_per_prompt, **fresh) >= 0.77
    assert simulated_power(0.9, 0.1, runs_per_prompt=plain.runs_per_prompt, **fresh) < 0.77  # alike: too few
    assert aware.runs_per_prompt > plain.runs_per_prompt


def test_runs_needed_from_a_pilot_batch():
    rng = np.random.default_rng(8)
    counts = rng.binomial(10, beta_rates(0.85, 0.3, (40,), rng))
    pilot = {f"q{i}": (int(c), 10) for i, c in enumerate(counts)}
    plan = runs_needed(drop=0.1, pilot=pilot, simulations=500)
    assert plan.prompts == 40 and plan.baseline == pytest.approx(counts.mean() / 10)
    assert plan.icc == pytest.approx(icc_estimate(counts, np.full(40, 10))) and "pilot" in plan.icc_source
    with pytest.raises(InvalidArgumentError, match="pass icc= instead"):
        runs_needed(drop=0.1, pilot={"a": (5, 5), "b": (5, 5)})
    with pytest.raises(InvalidArgumentError, match="icc must be in"):
        runs_needed(0.9, 0.1, prompts=10, icc=1.5)
    with pytest.raises(InvalidArgumentError, match="baseline="):
        runs_needed(drop=0.1, prompts=10)


# -- flaky ---------------------------------------------------------------------------------------


def test_flaky_needs_a_margin_mixed_is_the_raw_count():
    rng = np.random.default_rng(12)
    c = rng.binomial(100, 0.99, size=4000)
    assert is_mixed(c, 100).mean() == pytest.approx(1 - 0.99**100, abs=0.03)  # 63%: failed at least once
    assert is_flaky(c, 100).mean() < 0.01
    half = rng.binomial(20, 0.5, size=2000)
    assert is_flaky(half, 20).mean() > 0.95
    # the margin, by hand: 1 of 3 → Wilson 6.1%–79.2% (flaky); 1 of 4 → 4.6%–69.9% (not)
    assert is_flaky(1, 3) and not is_flaky(1, 4) and is_mixed(1, 4)
    assert not is_flaky(3, 3) and not is_flaky(0, 0)


# -- latency and labels ----------------------------------------------------------------------------


def test_timed_out_runs_without_a_known_limit_make_latency_a_lower_bound():
    latency = [1.0, 2.0, 22.0, float("nan"), float("nan")]
    status = ["passed", "passed", "failed", "timeout", "timeout"]
    summary = latency_summary(latency, status)  # no timeout known
    # each timed-out run lasted at least as long as the slowest run that finished in time (22 s)
    assert summary.censored == 2 and summary.omitted == 0 and summary.lower_bound
    assert summary.p95 == pytest.approx(22.0) and summary.figure(summary.p95) == "≥ 22 s"
    assert "slowest run that finished in time" in summary.note()
    known = latency_summary(latency, status, timeout=30.0)
    assert known.p95 == pytest.approx(30.0) and "30 s limit" in known.note()
    clean = latency_summary([1.0, 2.0], ["passed", "failed"])
    assert not clean.lower_bound and clean.figure(clean.p95) == "1.95 s"


def test_comparison_view_prints_the_level_used():
    from russo_nb.notebook.compare_view import comparison_html

    a = {f"q{i}": (i % 3 + 2, 5) for i in range(12)}
    b = {f"q{i}": (i % 4 + 1, 5) for i in range(12)}
    assert "97.5% CI" in comparison_html(paired_comparison(a, b, confidence=0.975))
    assert "99.5% CI" in comparison_html(paired_comparison(a, b, confidence=0.995))


def test_one_prompt_interval_is_the_same_everywhere():
    import sys

    sys.path.insert(0, "tests")
    from analysis_helpers import batch_from_outcomes

    from russo_nb.analysis import summarize
    from russo_nb.view import build_view

    batch = batch_from_outcomes({"only": [True] * 7 + [False] * 3})
    expected = wilson_interval(7, 10)
    summary = summarize(batch)
    view = build_view(batch)
    assert (summary.clustered_low, summary.clustered_high) == pytest.approx(expected)
    assert (view.low, view.high) == pytest.approx(expected)
    assert (clustered_se([7], [10]).low, clustered_se([7], [10]).high) == pytest.approx(expected)


def test_history_trend_gives_each_batch_its_clustered_interval(tmp_path):
    import sys

    sys.path.insert(0, "tests")
    from analysis_helpers import batch_from_outcomes

    from russo_nb.store import HistoryStore

    store = HistoryStore(tmp_path / "history.sqlite")
    store.record(batch_from_outcomes({f"p{i}": [i % 2 == 0] * 5 + ["cancelled"] for i in range(6)}))
    store.record(batch_from_outcomes({"only": [True, True, False, True]}))
    trend = store.trend()
    expected = clustered_se([5, 0, 5, 0, 5, 0], [5] * 6)  # cancelled runs are not counted
    assert (trend["low"][0], trend["high"][0]) == pytest.approx((expected.low, expected.high))
    assert (trend["low"][1], trend["high"][1]) == pytest.approx(wilson_interval(3, 4))
    one = store.trend(prompt="only")  # one prompt's trend: its Wilson interval
    assert (one["low"][0], one["high"][0]) == pytest.approx(wilson_interval(3, 4))


def test_view_latency_is_a_lower_bound_when_runs_timed_out(tmp_path):
    import sys

    sys.path.insert(0, "tests")
    from analysis_helpers import batch_from_outcomes

    from russo_nb.report import export, load_batch
    from russo_nb.view import build_view
    from russo_nb.view.html import prompt_table_html

    batch = batch_from_outcomes({"slow": [True, True, "timeout"], "quick": [True, True]})
    export(batch, tmp_path / "runs.csv")
    for source in (batch, load_batch(tmp_path / "runs.csv")):  # runs as objects, and a loaded table
        view = build_view(source)
        slow, quick = view.rows
        assert slow.latency_censored == 1 and slow.latency == pytest.approx(0.15) and quick.latency_censored == 0
        table = prompt_table_html(view, 10)
        assert "≥ 0.15s" in table and "≥ 1.15s" not in table and "1.15s" in table
