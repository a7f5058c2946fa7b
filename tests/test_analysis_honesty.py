"""Regression tests for the numbered reproductions of "Honest statistics, second pass".

Each test is named after the reproduction it pins down; batches come from the real engine
where the reproduction is about what the engine produces (interrupts, timeouts), and the
numbers are checked against scipy / statsmodels or a seeded simulation (2,000 draws).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import math
from contextlib import redirect_stdout

import numpy as np
import pytest
from analysis_helpers import batch_from_outcomes
from foundation_helpers import flight_call
from scipy import stats as sps

import russo_nb as russo
from russo_nb.analysis import (
    MEAN_OVER_PROMPTS,
    PER_RUN,
    SMALL_SAMPLE_RUNS,
    clustered_se,
    flakiness,
    paired_comparison,
    plot_pass_at_k,
    prompts_frame,
    runs_needed,
    simulated_power,
    summarize,
    wilson_interval,
)
from russo_nb.errors import InvalidArgumentError
from russo_nb.testing import wait_for_progress

EXPECT = [russo.tool_call("book_flight", from_city="NYC", to_city="LA")]


def _interrupted_batch(finished: int, total: int) -> russo.BatchResult:
    """A real batch of one prompt × ``total`` runs, cancelled once ``finished`` runs have passed."""
    done = 0

    @russo.agent
    async def agent(text):
        nonlocal done
        if done >= finished:
            await asyncio.sleep(30)
        done += 1
        return [flight_call(from_city="NYC", to_city="LA")]

    async def main():
        batch = russo.start_batch(prompts=["book it"], agent=agent, expect=EXPECT, runs=total, max_concurrency=1)
        task = asyncio.ensure_future(batch.wait())
        await wait_for_progress(batch, finished)  # then run finished + 1 hangs until cancelled
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return batch.result()

    return asyncio.run(main())


# 1. Cancelled runs are scored as failures -------------------------------------------------------


def test_1_cancelled_runs_are_counted_not_scored():
    batch = _interrupted_batch(6, 20)
    assert [run.status for run in batch.runs].count("cancelled") == 14
    assert batch.pass_rate == 1.0 and batch.finished_count == 6 and batch.cancelled_count == 14
    assert batch.failed_count == 0
    summary = summarize(batch)
    assert (summary.runs, summary.passed, summary.cancelled, summary.errors) == (6, 6, 14, 0)
    assert summary.pass_rate == 1.0
    # one prompt: the batch interval is that prompt's Wilson interval over its 6 finished runs
    assert (summary.clustered_low, summary.clustered_high) == pytest.approx((0.6097, 1.0), abs=1e-4)
    assert summary.n_flaky == 0
    assert summary.pass_hat_k[5] == 1.0  # C(6,5)/C(6,5), not C(6,5)/C(20,5)
    text = summary.describe()
    assert "6/6 finished runs passed" in text and "14 cancelled runs not counted" in text
    row = prompts_frame(batch).iloc[0]
    assert (row["runs"], row["passed"], row["errors"], row["cancelled"]) == (6, 6, 0, 14)
    assert not row["flaky"] and row["pass_rate"] == 1.0
    assert "14 cancelled" in batch.summary()
    # the standalone report says the same
    from russo_nb.report import to_html

    page = to_html(batch)
    assert "<th>cancelled (not counted)</th><td class='num'>14<" in page
    assert "<th>pass rate (per run)</th><td class='num'>100%<" in page
    assert "<th>failed / errors</th><td class='num'>0 / 0<" in page
    assert "<th>95% CI (clustered by prompt)</th><td class='num'>61.0% – 100%<" in page  # Wilson of 6/6
    # a comparison pairs finished runs only
    comparison = paired_comparison(batch, batch_from_outcomes({"book it": [True] * 6}))
    assert comparison.per_prompt[0].runs_a == 6 and comparison.difference == 0.0


def test_1_history_store_counts_finished_runs(tmp_path):
    store = russo.HistoryStore(tmp_path / "history.sqlite")
    partial = store.record(batch_from_outcomes({"a": [True, True, "cancelled", "cancelled"], "b": [True, False]}))
    full = store.record(batch_from_outcomes({"a": [True] * 4, "b": [True, True]}))
    assert store.prompt_counts(partial) == {"a": (2, 2), "b": (1, 2)}
    trend = store.trend()
    assert trend["runs"].tolist() == [4, 6] and trend["pass_rate"].tolist() == [0.75, 1.0]
    assert store.trend(prompt="a")["runs"].tolist() == [2, 4]
    assert store.compare(partial, full).per_prompt[0].runs_a == 2


def test_1_prompt_with_every_run_cancelled_is_not_run_not_failing():
    batch = batch_from_outcomes({"ran": [True, False, True], "never": ["cancelled"] * 3})
    frame = prompts_frame(batch)
    never = frame.set_index("prompt").loc["never"]
    assert never["runs"] == 0 and never["cancelled"] == 3 and math.isnan(never["pass_rate"])
    summary = summarize(batch)
    assert summary.prompts == 1 and summary.prompts_not_run == 1 and summary.pass_rate == pytest.approx(2 / 3)
    assert any("did not run at all" in w for w in summary.warnings)


# 2. Zero-width intervals ------------------------------------------------------------------------


def test_2_intervals_never_collapse():
    all_pass = clustered_se([5] * 20, [5] * 20)
    assert all_pass.low < all_pass.high == 1.0
    assert all_pass.low <= wilson_interval(100, 100)[0]  # never narrower than the binomial interval
    half = clustered_se([5] * 10, [10] * 10)
    w_low, w_high = wilson_interval(50, 100)
    assert (w_low, w_high) == pytest.approx((0.404, 0.596), abs=1e-3)
    assert half.low <= w_low and half.high >= w_high
    summary = summarize(batch_from_outcomes({f"p{i}": [True] * 5 for i in range(12)}))
    assert "100.0%–100.0%" not in summary.describe() and summary.clustered_low < 1.0
    both = paired_comparison({f"p{i}": (5, 5) for i in range(12)}, {f"p{i}": (5, 5) for i in range(12)})
    assert both.low < 0 < both.high and both.p_value == 1.0


# 3. Intervals out of range ----------------------------------------------------------------------


def test_3_paired_interval_stays_in_range():
    a = {"p1": (0, 5), "p2": (0, 5), "p3": (5, 5), "p4": (2, 5)}
    b = {"p1": (5, 5), "p2": (5, 5), "p3": (5, 5), "p4": (5, 5)}
    # the paired t interval of these per-prompt differences leaves [−1, 1] ...
    t_ci = sps.ttest_rel([1, 1, 1, 1], [0, 0, 1, 0.4]).confidence_interval()
    assert t_ci.high > 1
    # ... ours does not, and is not a point
    result = paired_comparison(a, b)
    assert -1 <= result.low < result.difference < result.high <= 1
    rng = np.random.default_rng(4)
    for _ in range(200):
        m = int(rng.integers(2, 8))
        n = int(rng.integers(1, 6)) + 1
        ca, cb = rng.binomial(n, rng.random(m)), rng.binomial(n, rng.random(m))
        res = paired_comparison({i: (int(x), n) for i, x in enumerate(ca)}, {i: (int(x), n) for i, x in enumerate(cb)})
        assert -1 <= res.low < res.high <= 1
        assert res.significant == (res.low > 0 or res.high < 0)  # one statement, not two


# 4. The McNemar interval contradicts its test ---------------------------------------------------


def test_4_mcnemar_interval_agrees_with_its_mid_p_test():
    a = {p: (0, 1) for p in "xyz"}
    b = {p: (1, 1) for p in "xyz"}
    result = paired_comparison(a, b)
    assert result.p_value == pytest.approx(0.125) and not result.significant  # mid-p: P(X = 0 | 3, 1/2)
    assert result.low <= 0 < result.high == 1.0
    # under no difference the interval contains 0 about 95% of the time (it follows the mid-p test, which
    # stays within half a point of the nominal 5%)
    from russo_nb.analysis.paired import _mcnemar_interval

    rng = np.random.default_rng(7)
    for m in (3, 10, 30):
        cells = rng.multinomial(m, [0.15, 0.15, 0.7], size=2000)
        low, high, _ = _mcnemar_interval(cells[:, 0], cells[:, 1], m, 0.95)
        assert np.mean((low <= 0) & (high >= 0)) >= 0.945


# 5. runs_needed sizes a test the package does not run -------------------------------------------


def test_5_runs_needed_refuses_one_prompt():
    with pytest.raises(InvalidArgumentError, match="cannot test anything with one prompt"):
        runs_needed(0.9, 0.1, prompts=1)


@pytest.mark.parametrize("prompts", [2, 5, 10])
def test_5_runs_needed_designs_reach_the_power_with_our_paired_comparison(prompts):
    from russo_nb.analysis.paired import _reject

    plan = runs_needed(0.9, 0.1, prompts=prompts)
    assert "paired_comparison" in plan.note and plan.test
    # power on fresh draws (another seed), by the vectorized copy of the test ...
    assert simulated_power(0.9, 0.1, prompts=prompts, runs_per_prompt=plan.runs_per_prompt, seed=99) >= 0.75
    # ... which decides exactly as the public paired_comparison does, draw by draw
    rng = np.random.default_rng(5)
    n = plan.runs_per_prompt
    hits = 0
    for _ in range(150):
        ca, cb = rng.binomial(n, 0.9, prompts), rng.binomial(n, 0.8, prompts)
        result = paired_comparison(
            {i: (int(x), n) for i, x in enumerate(ca)}, {i: (int(x), n) for i, x in enumerate(cb)}
        )

        assert bool(_reject(ca[None], cb[None], n, 0.05)[0]) == result.significant
        hits += result.significant
    assert hits / 150 >= 0.7


def test_5_runs_needed_with_one_run_per_prompt_sizes_mcnemar():
    plan = runs_needed(0.95, 0.9, prompts=30)
    assert plan.runs_per_prompt == 1 and "McNemar" in plan.test
    rng = np.random.default_rng(6)
    hits = 0
    for _ in range(200):
        ca, cb = rng.binomial(1, 0.95, 30), rng.binomial(1, 0.05, 30)
        hits += paired_comparison(
            {i: (int(x), 1) for i, x in enumerate(ca)}, {i: (int(x), 1) for i, x in enumerate(cb)}
        ).significant
    assert hits / 200 >= 0.75


# 6. pass^k averages a different set of prompts at each k ----------------------------------------


def test_6_pass_k_curves_use_one_set_of_prompts():
    batch = batch_from_outcomes({"steady": [True] * 10, "short": [False] * 2})
    summary = summarize(batch)
    assert summary.k_max == 2 and summary.pass_k_prompts == 2 and summary.pass_k_left_out == 0
    assert summary.pass_hat_k == {1: 0.5, 2: 0.5}
    further = summarize(batch, k_max=10)
    assert further.pass_k_prompts == 1 and further.pass_k_left_out == 1 and further.pass_hat_k[10] == 1.0
    assert any("1 with fewer were left out" in w for w in further.warnings)
    hats = list(further.pass_hat_k.values())
    assert all(x >= y for x, y in itertools.pairwise(hats))
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_pass_at_k(batch, max_k=10)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert all(label.endswith(", 1 prompt") for label in labels)
    assert "1 with < 10 runs left out" in ax.get_title()
    ax = plot_pass_at_k(batch)
    assert all("2 prompts" in text.get_text() for text in ax.get_legend().get_texts())


# 7. Two unlabelled pass rates -------------------------------------------------------------------


def test_7_every_rate_says_how_it_is_weighted():
    batch = batch_from_outcomes({"good": [True] * 18 + [False] * 2, "bad": [False] * 2})
    summary = summarize(batch)
    assert summary.pass_rate == pytest.approx(18 / 22) and summary.pass_rate_weighting == PER_RUN
    assert summary.mean_prompt_pass_rate == pytest.approx(0.45)
    text = summary.describe()
    assert f"81.8% {PER_RUN}" in text and f"45.0% {MEAN_OVER_PROMPTS}" in text
    comparison = paired_comparison(batch, batch)
    assert comparison.rate_a == pytest.approx(0.45) and MEAN_OVER_PROMPTS in comparison.describe()


# 8. Latency percentiles drop timed-out runs -----------------------------------------------------


def test_8_latency_counts_timeouts_at_the_timeout():
    calls = 0

    @russo.agent
    async def agent(text):
        nonlocal calls
        calls += 1
        if calls in (3, 7):
            await asyncio.sleep(5)
        return [flight_call(from_city="NYC", to_city="LA")]

    batch = russo.run_concurrent_sync(prompts="p", agent=agent, expect=EXPECT, runs=10, timeout=0.5, max_concurrency=1)
    assert [run.status for run in batch.runs].count("timeout") == 2
    summary = summarize(batch)
    assert summary.latency.censored == 2 and summary.latency.n == 10 and summary.latency.omitted == 0
    assert summary.latency.p95 == pytest.approx(0.5)  # not the 8 fast runs' p95
    assert "lower bound" in summary.describe()
    row = prompts_frame(batch).iloc[0]
    assert row["latency_censored"] == 2 and row["latency_p95"] == pytest.approx(0.5)
    import matplotlib

    matplotlib.use("Agg")
    from russo_nb.analysis import plot_latency

    assert "2 timed out, drawn at the 0.5 s limit" in plot_latency(batch).get_title()
    # without a known timeout the omission is said
    errors = summarize(batch_from_outcomes({"p": [True, True, "error"]}))
    assert errors.latency.omitted == 1 and any("without a latency" in w for w in errors.warnings)


# 9. The clustered interval uses z ---------------------------------------------------------------


def test_9_clustered_interval_covers_at_10_prompts_by_10_runs():
    rng = np.random.default_rng(12)
    truth = 0.8
    rates = rng.beta(8, 2, size=(2000, 10))  # prompt population with mean 0.8
    counts = rng.binomial(10, rates)
    covered = 0
    for c in counts:
        result = clustered_se(c, [10] * 10)
        covered += result.low <= truth <= result.high
    assert result.df == 9 and "t quantile with 9 df" in result.method
    assert covered / 2000 >= 0.93


# 10. "95%" is printed whatever confidence= is ---------------------------------------------------


def test_10_printed_level_is_the_level_used():
    batch = batch_from_outcomes({f"p{i}": [True, False, True, True] for i in range(12)})
    at90 = summarize(batch, confidence=0.9)
    text = at90.describe()
    assert "90% CI" in text and "95%" not in text
    at95 = summarize(batch)
    assert at90.clustered_high - at90.clustered_low < at95.clustered_high - at95.clustered_low
    expected = clustered_se([3] * 12, [4] * 12, 0.9)
    assert (at90.clustered_low, at90.clustered_high) == pytest.approx((expected.low, expected.high))
    comparison = paired_comparison(batch, batch, confidence=0.8)
    assert "80% CI" in comparison.describe() and "95%" not in comparison.describe()
    with pytest.raises(InvalidArgumentError, match="confidence"):
        summarize(batch, confidence=95)


# 11. Smaller ------------------------------------------------------------------------------------


def test_11_flaky_states_its_test_and_empty_batches_agree():
    summary = flakiness([1, 5, 10], [10, 10, 10])
    assert "Wilson interval stays 5 points clear of 0% and 100%" in summary.test
    assert summary.flaky == [False, True, False] and summary.mixed == [True, True, False]
    text = summarize(batch_from_outcomes({"a": [True] * 9 + [False], "b": [True] * 10})).describe()
    assert "flaky prompts: 0/2, mixed (both passed and failed): 1/2 (flaky = its 95% Wilson interval" in text
    empty = batch_from_outcomes({})
    assert math.isnan(empty.pass_rate) and math.isnan(summarize(empty).pass_rate)
    assert "n/a pass rate" in empty.summary()


def test_11_cli_interval_is_clustered_by_prompt():
    from russo_nb.cli import _print_interval

    batch = batch_from_outcomes({f"p{i}": [True] * 10 if i % 2 else [False] * 10 for i in range(10)})

    from types import SimpleNamespace

    # what the CLI prints from: a suite outcome with its combined batch (and scenarios)
    outcome = SimpleNamespace(result=batch, batch=batch, scenarios=None)

    out = io.StringIO()
    with redirect_stdout(out):
        _print_interval(outcome)
    expected = clustered_se([0, 10] * 5, [10] * 10)
    assert f"{expected.low:.1%} to {expected.high:.1%}, clustered by 10 prompts" in out.getvalue()
    assert f"{PER_RUN}" in out.getvalue()
    # the clustered interval is much wider than the one treating 100 runs as independent
    w_low, _ = wilson_interval(50, 100)
    assert expected.low < w_low - 0.1


def test_11_one_small_sample_threshold_everywhere():
    from russo_nb.notebook.html import batch_html

    assert SMALL_SAMPLE_RUNS == 10
    small = batch_html(batch_from_outcomes({"p": [True] * (SMALL_SAMPLE_RUNS - 1)}))
    enough = batch_html(batch_from_outcomes({"p": [True] * SMALL_SAMPLE_RUNS}))
    assert "Small sample" in small and "Small sample" not in enough
    frame = prompts_frame(batch_from_outcomes({"p": [True] * (SMALL_SAMPLE_RUNS - 1), "q": [True] * 10}))
    assert frame["small_sample"].tolist() == [True, False]
