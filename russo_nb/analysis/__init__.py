"""Analysis of batches: tidy DataFrames, honest statistics, and charts.

Imported only when asked for (``import russo_nb`` does not load pandas or matplotlib);
charts import matplotlib on first call.
"""

from __future__ import annotations

from .frames import PROMPT_COLUMNS, RUN_COLUMNS, calls_frame, prompts_frame, runs_frame
from .plots import (
    STATUS_COLORS,
    plot_comparison,
    plot_flakiness,
    plot_latency,
    plot_match_rates,
    plot_pass_at_k,
    plot_pass_rates,
    plot_sweep,
)
from .stats import (
    ClusteredRate,
    Comparison,
    FlakinessSummary,
    PromptDifference,
    RunsNeeded,
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
from .summary import BatchSummary, summarize
from .words import WordDiff, WordOp, heard_text, normalize_words, word_diff

__all__ = [
    "BatchSummary",
    "WordDiff",
    "WordOp",
    "heard_text",
    "normalize_words",
    "word_diff",
    "PROMPT_COLUMNS",
    "RUN_COLUMNS",
    "ClusteredRate",
    "Comparison",
    "FlakinessSummary",
    "PromptDifference",
    "RunsNeeded",
    "STATUS_COLORS",
    "calls_frame",
    "clustered_se",
    "flakiness",
    "flakiness_score",
    "newcombe_interval",
    "paired_comparison",
    "pass_at_k",
    "pass_hat_k",
    "plot_comparison",
    "plot_flakiness",
    "plot_latency",
    "plot_match_rates",
    "plot_pass_at_k",
    "plot_pass_rates",
    "plot_sweep",
    "prompts_frame",
    "runs_frame",
    "runs_needed",
    "summarize",
    "wilson_interval",
]
