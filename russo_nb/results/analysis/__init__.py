"""Analysis of batches: tidy DataFrames, honest statistics, and charts.

Imported only when asked for (``import russo_nb`` does not load pandas or matplotlib);
charts import matplotlib on first call.
"""

from __future__ import annotations

from ...model.thresholds import (
    CONFIDENCE,
    FINISHED_STATUSES,
    MEAN_OVER_PROMPTS,
    PER_RUN,
    SMALL_SAMPLE_PROMPTS,
    SMALL_SAMPLE_RUNS,
    RunTally,
    confidence_label,
    format_rate,
    is_finished,
    tally,
)
from . import plots
from .factors import by_factor, by_factor_text, cell_counts, compare_levels, heatmap_frame, split_levels
from .frames import PROMPT_COLUMNS, RUN_COLUMNS, calls_frame, prompts_frame, runs_frame
from .paired import (
    Comparison,
    PromptDifference,
    RunsNeeded,
    mcnemar_exact_p,
    mcnemar_mid_p,
    paired_comparison,
    runs_needed,
    simulated_power,
    tango_interval,
)
from .plots import *  # noqa: F403 - the charts, as plots.__all__ declares them
from .robustness import robustness_threshold
from .stats import (
    ClusteredRate,
    FlakinessSummary,
    LatencySummary,
    PassKCurves,
    clustered_se,
    flakiness,
    flakiness_score,
    flaky_test_text,
    icc_estimate,
    is_flaky,
    is_mixed,
    latency_summary,
    newcombe_interval,
    pass_at_k,
    pass_hat_k,
    pass_k_curves,
    wilson_interval,
)
from .summary import BatchSummary, summarize
from .sweep_plots import plot_heatmap, plot_robustness
from .words import WordDiff, WordOp, heard_text, normalize_words, word_diff

__all__ = [
    "by_factor",
    "by_factor_text",
    "cell_counts",
    "compare_levels",
    "heatmap_frame",
    "plot_heatmap",
    "plot_robustness",
    "robustness_threshold",
    "split_levels",
    "BatchSummary",
    "WordDiff",
    "WordOp",
    "heard_text",
    "normalize_words",
    "word_diff",
    "CONFIDENCE",
    "FINISHED_STATUSES",
    "LatencySummary",
    "MEAN_OVER_PROMPTS",
    "PER_RUN",
    "PassKCurves",
    "RunTally",
    "SMALL_SAMPLE_PROMPTS",
    "SMALL_SAMPLE_RUNS",
    "confidence_label",
    "format_rate",
    "is_finished",
    "is_flaky",
    "is_mixed",
    "flaky_test_text",
    "icc_estimate",
    "latency_summary",
    "mcnemar_exact_p",
    "mcnemar_mid_p",
    "pass_k_curves",
    "simulated_power",
    "tally",
    "tango_interval",
    "PROMPT_COLUMNS",
    "RUN_COLUMNS",
    "ClusteredRate",
    "Comparison",
    "FlakinessSummary",
    "PromptDifference",
    "RunsNeeded",
    "calls_frame",
    "clustered_se",
    "flakiness",
    "flakiness_score",
    "newcombe_interval",
    "paired_comparison",
    "pass_at_k",
    "pass_hat_k",
    "prompts_frame",
    "runs_frame",
    "runs_needed",
    "summarize",
    "wilson_interval",
]
__all__ += plots.__all__  # the charts, as plots declares them
