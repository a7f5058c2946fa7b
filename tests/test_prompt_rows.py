"""One per-prompt aggregation (view.prompt_rows), by prompt and by condition; cancelled runs are never failures."""

from __future__ import annotations

import math

from scenario_helpers import booking_scenario

from russo_nb import scenario
from russo_nb.analysis import prompts_frame
from russo_nb.config.running import SuiteResult
from russo_nb.progress_text import flaky_prompts
from russo_nb.report import export, load_batch
from russo_nb.scenario.criteria import tool_called
from russo_nb.sync import run_concurrent_sync
from russo_nb.testing import ScriptedAgent
from russo_nb.types import BatchResult
from russo_nb.view import build_view, prompt_rows


def _batch(conditions: dict, answers: list) -> BatchResult:
    return run_concurrent_sync(
        ["book", "other"],
        agent=ScriptedAgent(answers),
        expect=["book(to='LA')"],
        runs=4,
        max_concurrency=1,
        conditions=conditions,
    )


def test_rows_by_prompt_agree_with_the_view_and_prompts_frame(tmp_path):
    batch = _batch({}, ["book(to='LA')", None])
    rows = prompt_rows(batch)
    assert [(r.prompt, r.finished, r.passed) for r in rows] == [
        (r.prompt, r.finished, r.passed) for r in build_view(batch).rows
    ]
    frame = prompts_frame(batch)
    assert [r.passed for r in rows] == frame["passed"].tolist() and [r.finished for r in rows] == frame["runs"].tolist()
    loaded = load_batch(export(batch, tmp_path / "runs.parquet"))  # runs kept as columns: same rows
    assert [(r.prompt, r.passed, r.finished) for r in prompt_rows(loaded)] == [
        (r.prompt, r.passed, r.finished) for r in rows
    ]


def test_rows_split_by_condition_values():
    a = _batch({"voice": "en-us", "snr_db": math.nan}, ["book(to='LA')"])
    b = _batch({"voice": "en-gb", "snr_db": math.nan}, [None])
    both = BatchResult(runs=[*a.runs, *b.runs])
    rows = prompt_rows(both, by="voice")
    assert [(r.prompt, r.conditions, r.passed, r.finished) for r in rows] == [
        ("book", {"voice": "en-us"}, 4, 4),
        ("other", {"voice": "en-us"}, 4, 4),  # the agent books whatever it hears
        ("book", {"voice": "en-gb"}, 0, 4),
        ("other", {"voice": "en-gb"}, 0, 4),
    ]
    by_noise = prompt_rows(both, by=["snr_db"])  # every NaN is one group
    assert [(r.prompt, r.finished) for r in by_noise] == [("book", 8), ("other", 8)]
    assert math.isnan(by_noise[0].conditions["snr_db"])


def test_cancelled_runs_are_never_failures_in_suite_lines_or_flaky_prompts():
    job = scenario.start_scenarios([booking_scenario("oslo", "a flight to Oslo", [tool_called("book_flight")])], runs=4)
    job.cancel()
    cancelled = job.result()
    empty = BatchResult()
    suite = SuiteResult("s", {}, empty, scenarios=cancelled)
    text = suite.summary()
    assert "0/0 passed (n/a, 4 cancelled)" in text and "0/4" not in text
    assert flaky_prompts(cancelled) == []
