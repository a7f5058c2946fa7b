"""Sweep analysis on runs frames with voice / snr_db / condition columns: by_factor, compare_levels,
robustness_threshold (its interval's coverage checked by seeded simulation), the heatmap and the curves."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from russo_nb.analysis import (
    by_factor,
    clustered_se,
    compare_levels,
    heatmap_frame,
    paired_comparison,
    plot_heatmap,
    plot_robustness,
    robustness_threshold,
)
from russo_nb.analysis.robustness import fit_logistic, threshold_interval
from russo_nb.errors import InvalidArgumentError

matplotlib.use("Agg")

SNRS = [math.nan, 20.0, 10.0, 5.0]


def sweep_frame(rates: dict[str, dict[float, float]], prompts: int = 12, runs: int = 5, seed: int = 0) -> pd.DataFrame:
    """Runs of a sweep drawn at the given pass rate per (voice, snr); prompts differ by a random offset."""
    rng = np.random.default_rng(seed)
    offsets = rng.normal(0, 0.8, prompts)
    rows = []
    for voice, by_snr in rates.items():
        for snr, rate in by_snr.items():
            for p in range(prompts):
                logit = math.log(rate / (1 - rate)) if 0 < rate < 1 else (9 if rate >= 1 else -9)
                prob = 1 / (1 + math.exp(-(logit + offsets[p])))
                for r in range(runs):
                    status = "passed" if rng.random() < prob else "failed"
                    rows.append(
                        {
                            "prompt": f"prompt {p}",
                            "run_index": r,
                            "status": status,
                            "voice": voice,
                            "snr_db": snr,
                            "condition": "none",
                        }
                    )
    return pd.DataFrame(rows)


def test_by_factor_counts_rates_and_clustered_interval():
    frame = sweep_frame({"en-us": dict.fromkeys(SNRS, 0.9), "en-029": dict.fromkeys(SNRS, 0.5)})
    frame.loc[0, "status"] = "cancelled"  # cancelled: counted, never scored
    frame.loc[1, "status"] = "error"  # finished, not passed
    table = by_factor(frame, "voice")
    assert list(table["voice"]) == ["en-us", "en-029"]  # order given
    us = table.iloc[0]
    part = frame[frame.voice == "en-us"]
    finished = part[part.status != "cancelled"]
    assert us.runs == len(part) and us.finished == len(finished) and us.cancelled == 1 and us.errors == 1
    assert us.passed == (finished.status == "passed").sum()
    grouped = finished.groupby("prompt").status.agg([lambda s: (s == "passed").sum(), "size"])
    expected = clustered_se(grouped.iloc[:, 0].to_numpy(), grouped.iloc[:, 1].to_numpy())
    assert us.pass_rate == pytest.approx(expected.rate) and us.low == pytest.approx(expected.low)
    assert us.high == pytest.approx(expected.high)
    assert table.iloc[1].pass_rate < us.pass_rate


def test_by_factor_several_factors_orders_clean_last():
    frame = sweep_frame({"en-us": dict.fromkeys(SNRS, 0.8)})
    table = by_factor(frame, ["voice", "snr_db"])
    assert list(table["level"]) == ["en-us · 5 dB", "en-us · 10 dB", "en-us · 20 dB", "en-us · clean"]
    assert table["runs"].sum() == len(frame)


def test_by_factor_bad_factor_says_which():
    frame = sweep_frame({"en-us": {5.0: 0.5}})
    with pytest.raises(InvalidArgumentError, match=r"no factor 'accent'.*'voice'"):
        by_factor(frame, "accent")
    with pytest.raises(InvalidArgumentError, match="cluster"):
        by_factor(frame, "prompt")


def test_compare_levels_is_the_paired_test_over_shared_cells():
    frame = sweep_frame({"en-us": dict.fromkeys(SNRS, 0.9), "en-029": dict.fromkeys(SNRS, 0.6)}, seed=3)
    table = compare_levels(frame, "voice", reference="en-us")
    assert list(table["level"]) == ["en-029"]
    row = table.iloc[0]
    assert row.pairs == 12 * 4  # prompt × snr cells

    # the same numbers as paired_comparison on the (prompt, snr) cells by hand
    def cells(voice):
        part = frame[(frame.voice == voice)]
        out = {}
        for (prompt, snr), group in part.groupby(["prompt", "snr_db"], dropna=False):
            out[f"{prompt}|{snr}"] = (int((group.status == "passed").sum()), len(group))
        return out

    by_hand = paired_comparison(cells("en-us"), cells("en-029"))
    assert row.difference == pytest.approx(by_hand.difference)
    assert row.low == pytest.approx(by_hand.low) and row.p_value == pytest.approx(by_hand.p_value)
    assert row.difference < 0 and row.significant
    with pytest.raises(InvalidArgumentError, match="no level 'en-gb'"):
        compare_levels(frame, "voice", reference="en-gb")


def test_heatmap_frame_per_voice_worst_first():
    frame = sweep_frame({"en-us": dict.fromkeys(SNRS, 0.9), "en-029": dict.fromkeys(SNRS, 0.4)})
    table = heatmap_frame(frame, ["snr_db"], where={"voice": "en-029"})
    assert list(table.columns) == ["5 dB", "10 dB", "20 dB", "clean"]
    assert len(table) == 12
    means = table.mean(axis=1).to_numpy()
    assert np.all(np.diff(means) >= 0)  # worst first
    with pytest.raises(InvalidArgumentError, match="no runs at"):
        heatmap_frame(frame, ["snr_db"], where={"voice": "xx"})


def test_threshold_reads_the_crossing_and_says_never_and_always():
    falling = {math.nan: 0.99, 20.0: 0.97, 10.0: 0.8, 5.0: 0.45}
    frame = sweep_frame(
        {"en-us": falling, "klatt": dict.fromkeys(SNRS, 0.999), "bad": dict.fromkeys(SNRS, 0.05)},
        prompts=16,
        runs=6,
    )
    table = robustness_threshold(frame, at=0.9, by="voice").set_index("voice")
    us = table.loc["en-us"]
    assert us.status == "crosses" and 10 < us.threshold < 20 and us.low < us.threshold < us.high
    assert "falls to 90%" in us.text
    assert table.loc["klatt"].status == "never below" and math.isnan(table.loc["klatt"].threshold)
    assert "never falls below 90%" in table.loc["klatt"].text and "5 dB" in table.loc["klatt"].text
    assert table.loc["bad"].status == "below at every level"
    clean_only = sweep_frame({"v": {math.nan: 0.999, 20.0: 0.3, 5.0: 0.1}})
    assert robustness_threshold(clean_only, by="voice").iloc[0].status == "below at every noise level"


def test_threshold_needs_two_levels_and_a_valid_target():
    frame = sweep_frame({"en-us": {math.nan: 0.9, 5.0: 0.5}})
    with pytest.raises(InvalidArgumentError, match="at least two noise levels"):
        robustness_threshold(frame)
    with pytest.raises(InvalidArgumentError, match="between 0 and 1"):
        robustness_threshold(frame, at=90)


def test_fit_logistic_matches_statsmodels():
    import statsmodels.api as sm

    x = np.array([0.0, 5, 10, 20])
    c, n = np.array([12, 40, 70, 98]), np.array([100, 100, 100, 100])
    a, b = fit_logistic(x, c, n)  # adds half a pass and half a failure per level, as below
    model = sm.GLM(np.column_stack([c + 0.5, n - c + 0.5]), sm.add_constant(x), family=sm.families.Binomial()).fit()
    assert a[0] == pytest.approx(model.params[0], rel=1e-6) and b[0] == pytest.approx(model.params[1], rel=1e-6)


def test_threshold_interval_covers_at_its_level_by_simulation():
    """Prompts with random logit offsets; the estimand is the fit's large-sample limit at these levels."""
    levels = np.array([0.0, 5, 10, 20])
    a, b, sigma, at, prompts, runs = -1.0, 0.35, 1.0, 0.8, 16, 5
    offsets = np.random.default_rng(99).normal(0, sigma, 100_000)
    marginal = np.array([np.mean(1 / (1 + np.exp(-(a + b * x + offsets)))) for x in levels])
    big = 1e7
    ta, tb = fit_logistic(levels, marginal * big, np.full(4, big))
    truth = (math.log(at / (1 - at)) - ta[0]) / tb[0]
    rng = np.random.default_rng(2026)
    sims, hits = 200, 0
    for s in range(sims):
        u = rng.normal(0, sigma, prompts)
        c = rng.binomial(runs, 1 / (1 + np.exp(-(a + b * levels[None, :] + u[:, None]))))
        _, low, high, _, _ = threshold_interval(levels, c, np.full_like(c, runs), at, boot=500, seed=s)
        hits += low <= truth <= high
    coverage = hits / sims
    # nominal 95%; 200 simulations have a Monte Carlo SE of about 1.5 points
    assert 0.90 <= coverage <= 0.99, coverage


def test_plots_return_their_axes():
    import matplotlib.pyplot as plt

    frame = sweep_frame({"en-us": {math.nan: 0.99, 20.0: 0.9, 5.0: 0.5}, "$en": dict.fromkeys(SNRS, 0.7)})
    _, ax = plt.subplots()
    assert plot_robustness(frame, ax=ax, at=0.9) is ax
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-1] == "clean" and labels[0] == "5"
    assert r"\$en" in [t.get_text() for t in ax.get_legend().get_texts()]
    heat = plot_heatmap(frame, ["snr_db"], where={"voice": "en-us"})
    assert heat.get_images() and "en-us" in heat.get_title()
    plt.close("all")


def test_threshold_says_no_trend_when_noise_does_not_hurt():
    rising = {math.nan: 0.5, 20.0: 0.5, 10.0: 0.85, 5.0: 0.97}  # better in more noise: nothing to read off
    row = robustness_threshold(sweep_frame({"odd": rising}, prompts=16, runs=6), at=0.9).iloc[0]
    assert row.status == "no trend" and math.isnan(row.threshold) and "does not rise with SNR" in row.text
