"""Every per-prompt number comes from one aggregation (view.prompt_rows), checked against pandas groupby.

Real batches: the offline demo suite in text mode with the local demo agent, as agent version
"v1", and a worse "v2" (the same agent hearing the prompt without its capitalised words on
some runs, crashing or stalling on others), merged into one batch; a stopped batch whose
cancelled runs must never count as failures anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
import types

import numpy as np
import pandas as pd
import pytest

import russo_nb
from russo_nb.execution.pipeline import default_agent
from russo_nb.model.types import BatchResult
from russo_nb.results.analysis import by_factor, paired_comparison, prompts_frame, summarize
from russo_nb.results.progress_text import flaky_prompts
from russo_nb.results.report import export, load_batch, to_html
from russo_nb.results.store import HistoryStore
from russo_nb.results.view import build_view, prompt_rows, summary_text
from russo_nb.results.view.html import batch_html, prompt_table_html
from russo_nb.surfaces.cli import _print_interval
from russo_nb.surfaces.demo import run_demo, start_demo

RUNS = 4


def _v2_agent(seed: int = 7):
    """The demo agent, worse: on some runs it mishears (drops capitalised words), raises or stalls."""
    demo = default_agent()
    rng = random.Random(seed)

    @russo_nb.agent
    async def v2(text: str):
        roll = rng.random()
        if roll < 0.08:
            raise RuntimeError("v2 crashed")
        if roll < 0.14:
            await asyncio.sleep(2)  # past the 0.3 s timeout
        if roll < 0.55:
            text = " ".join(word for word in text.split() if not word[:1].isupper())
        return demo.understand(text)

    return v2


@pytest.fixture(scope="module")
def merged() -> BatchResult:
    v1 = run_demo(runs=RUNS, text_mode=True, max_concurrency=1, conditions={"agent_version": "v1"})
    v2 = run_demo(
        runs=RUNS,
        text_mode=True,
        max_concurrency=4,
        timeout=0.3,
        agent=_v2_agent(),
        conditions={"agent_version": "v2"},
    )
    return BatchResult(runs=[*v1.runs, *v2.runs], metadata=v2.metadata)


def _reference(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group, computed here with pandas: finished runs, passes, errors, cancelled and mean match rate."""
    work = frame.assign(
        finished=frame["status"] != "cancelled",
        ok=frame["status"] == "passed",
        errors=frame["status"].isin(["error", "timeout"]),
        cancelled=frame["status"] == "cancelled",
        match=frame["match_rate"].where(frame["status"] != "cancelled"),
    )
    grouped = work.groupby(keys, sort=False, dropna=False)
    return grouped.agg(
        runs=("finished", "sum"),
        passed=("ok", "sum"),
        errors=("errors", "sum"),
        cancelled=("cancelled", "sum"),
        match=("match", "mean"),
    ).reset_index()


def _check_rows(rows, reference: pd.DataFrame, by: list[str]) -> None:
    assert len(rows) == len(reference)
    for row, want in zip(rows, reference.itertuples(index=False), strict=True):
        assert row.prompt == want.prompt
        assert [row.conditions[name] for name in by] == [getattr(want, name) for name in by]
        assert (row.finished, row.passed, row.errors, row.cancelled) == (
            want.runs,
            want.passed,
            want.errors,
            want.cancelled,
        )
        if want.runs:
            assert row.match == pytest.approx(want.match)


def test_merged_versions_split_by_condition_agree_with_pandas(merged, tmp_path):
    frame = merged.to_dataframe()
    statuses = set(frame["status"])
    assert {"passed", "failed", "error", "timeout"} <= statuses  # the v2 agent really failed in every way
    reference = _reference(frame, ["prompt", "agent_version"])
    _check_rows(prompt_rows(merged, by="agent_version"), reference, ["agent_version"])
    loaded = load_batch(export(merged, tmp_path / "merged.parquet"))  # runs kept as columns
    _check_rows(prompt_rows(loaded, by="agent_version"), reference, ["agent_version"])
    _check_rows(prompt_rows(frame, by="agent_version"), reference, ["agent_version"])  # from the runs frame

    table = prompts_frame(merged, by="agent_version")
    assert list(table.columns[:3]) == ["prompt", "prompt_id", "agent_version"]
    assert table["runs"].tolist() == reference["runs"].tolist()
    assert table["passed"].tolist() == reference["passed"].tolist()
    assert table["errors"].tolist() == reference["errors"].tolist()
    finished = frame[frame["status"] != "cancelled"]
    p95 = finished.groupby(["prompt", "agent_version"], sort=False)["latency_s"].quantile(0.95)
    ran = table[table["latency_censored"] == 0]  # groups with a timeout are censored at the limit
    want = [p95[(p, v)] for p, v in zip(ran["prompt"], ran["agent_version"], strict=True)]
    assert ran["latency_p95"].to_numpy() == pytest.approx(np.array(want))
    timed_out = finished[finished["status"] == "timeout"].groupby(["prompt", "agent_version"]).size()
    assert int(table["latency_censored"].sum()) == int(timed_out.sum()) > 0

    by_prompt = _reference(frame, ["prompt"])  # without by: one row per prompt over both versions
    _check_rows(prompt_rows(merged), by_prompt, [])
    assert prompts_frame(merged)["runs"].tolist() == by_prompt["runs"].tolist()
    summary = summarize(merged)
    assert (summary.runs, summary.passed, summary.errors) == (
        int(by_prompt["runs"].sum()),
        int(by_prompt["passed"].sum()),
        int(by_prompt["errors"].sum()),
    )
    versions = by_factor(merged, "agent_version").set_index("agent_version")
    per_version = frame.groupby("agent_version")["passed"].agg(["sum", "size"])
    assert versions.loc["v2", "passed"] == per_version.loc["v2", "sum"]
    assert versions.loc["v2", "runs"] == per_version.loc["v2", "size"]


def test_the_view_splits_a_merged_batch_by_the_condition_that_differs(merged):
    view = build_view(merged)
    assert view.by == ("agent_version",)
    assert len(view.rows) == 2 * view.prompt_count == 2 * len(merged.prompts)
    assert {row.conditions["agent_version"] for row in view.rows} == {"v1", "v2"}
    assert view.passed == sum(row.passed for row in view.rows)
    table = prompt_table_html(view, 100)
    assert "<th>agent_version</th>" in table and table.count("<td>v2</td>") == len(merged.prompts)
    assert "rows by agent_version" in batch_html(view)
    text = summary_text(merged, view)
    first = merged.prompts[0]
    lines = [line for line in text.splitlines() if line.strip().startswith(f"Prompt: {first!r}")]
    assert lines == [f"  Prompt: {first!r} · agent_version=v1", f"  Prompt: {first!r} · agent_version=v2"]
    v2 = next(row for row in view.rows if row.prompt == first and row.conditions["agent_version"] == "v2")
    block = text.split(lines[1], 1)[1].split("Prompt:", 1)[0]
    assert block.count("] run ") == v2.finished  # the row lists its own runs, not the other version's
    page = to_html(merged)
    assert "rows by agent_version" in page and "<th>agent_version</th>" in page

    one_version = BatchResult(runs=[run for run in merged.runs if run.conditions["agent_version"] == "v1"])
    plain = build_view(one_version)  # every run carries the same conditions: one row per prompt, as before
    assert plain.by == () and len(plain.rows) == len(merged.prompts)
    assert "agent_version</th>" not in prompt_table_html(plain, 100)


def _stopped_demo(after: int) -> BatchResult:
    def on_progress(progress):
        if progress.done >= after:
            job.cancel()

    job = start_demo(
        RUNS, text_mode=True, max_concurrency=1, on_progress=on_progress, conditions={"agent_version": "v1"}
    )

    async def main() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await job

    asyncio.run(main())
    return job.result()


def test_cancelled_runs_are_never_failures_anywhere(tmp_path):
    stopped = _stopped_demo(after=10)
    frame = stopped.to_dataframe()
    cancelled = int((frame["status"] == "cancelled").sum())
    finished = len(frame) - cancelled
    assert cancelled > 0 and finished >= 10
    reference = _reference(frame, ["prompt"])
    assert (reference["runs"] == 0).any()  # prompts that never ran: "not run", never 0%
    _check_rows(prompt_rows(stopped), reference, [])
    loaded = load_batch(export(stopped, tmp_path / "stopped.csv"))
    _check_rows(prompt_rows(loaded), reference, [])

    table = prompts_frame(stopped)
    assert table["runs"].sum() == finished and table["cancelled"].sum() == cancelled
    assert table.loc[table["runs"] == 0, "pass_rate"].isna().all()
    summary = summarize(stopped)
    assert (summary.runs, summary.cancelled) == (finished, cancelled)
    assert summary.passed == int((frame["status"] == "passed").sum())
    view = build_view(stopped)
    assert (view.finished, view.cancelled, view.failing) == (finished, cancelled, finished - summary.passed)
    assert all(group.status != "cancelled" for group in view.groups)
    assert flaky_prompts(stopped) == []

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print_interval(types.SimpleNamespace(batch=stopped, scenarios=None))
    assert f"{finished} finished runs; {cancelled} cancelled runs not counted" in out.getvalue()

    whole = run_demo(runs=RUNS, text_mode=True, max_concurrency=1)
    comparison = paired_comparison(whole, stopped)
    ran = reference[reference["runs"] > 0]
    assert comparison.n_shared == len(ran)  # prompts with no finished run are left out, not scored 0
    assert sorted(comparison.not_run) == sorted(reference.loc[reference["runs"] == 0, "prompt"])

    store = HistoryStore(tmp_path / "history.sqlite")
    store.record(stopped)
    for trend in (store.trend(), store.trend(where={"agent_version": "v1"})):
        assert (trend["runs"][0], trend["passed"][0]) == (finished, summary.passed)
        # the same interval as the batch's own view: prompts that never ran are no cluster
        assert (trend["low"][0], trend["high"][0]) == pytest.approx((view.low, view.high))


def test_not_run_counts_the_rows_the_split_table_shows_and_says_so(merged):
    """A prompt that ran under v1 and never under v2 is one "prompt × agent_version row not run", not a prompt."""
    first = merged.prompts[0]
    runs = [
        run.model_copy(update={"status": "cancelled", "conditions": {"agent<version>": "v2"}})
        if run.prompt == first and run.conditions["agent_version"] == "v2"
        else run.model_copy(update={"conditions": {"agent<version>": run.conditions["agent_version"]}})
        for run in merged.runs
    ]
    view = build_view(BatchResult(runs=runs, metadata=merged.metadata))
    assert view.by == ("agent<version>",) and len(view.rows) == 2 * len(merged.prompts)
    assert [(row.prompt, row.conditions) for row in view.not_run] == [(first, {"agent<version>": "v2"})]
    assert view.prompt_count == len(merged.prompts)  # the prompt itself ran (under v1)
    assert view.not_run_text == "1 prompt × agent<version> row not run"
    head = batch_html(view)
    assert "<span class='notrun'>1 prompt × agent&lt;version&gt; row not run</span>" in head
    assert "<version>" not in head
    page = to_html(BatchResult(runs=runs, metadata=merged.metadata))
    line = page.split("1 prompt × agent&lt;version&gt; row not run (every run cancelled): ", 1)[1].split("</div>")[0]
    assert line.startswith(first[:20]) and line.endswith(" · agent&lt;version&gt;=v2")  # the row, named
    assert "<version>" not in page and "agent&lt;version&gt;</th>" in page

    every = [run.model_copy(update={"status": "cancelled"}) if run.prompt == first else run for run in merged.runs]
    both = build_view(BatchResult(runs=every, metadata=merged.metadata))  # both rows of the prompt: 2 rows
    assert len(both.not_run) == 2 and both.not_run_text == "2 prompt × agent_version rows not run"
    plain = build_view(BatchResult(runs=every, metadata=merged.metadata), by=())
    assert len(plain.not_run) == 1 and plain.not_run_text == "1 prompt not run"  # unsplit: prompts
    assert "<span class='notrun'>1 prompt not run</span>" in batch_html(plain)
