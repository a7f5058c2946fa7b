"""Renderers read runs through the ``Run`` protocol (russo_nb.columns.Run), never by probing.

Every run type answers every protocol member (scenario fields neutral on prompt runs), and
each renderer (run detail, explorer, report, the batch's rich HTML) draws a prompt batch, a
scenario batch, a batch with conditions, their reloads from JSON lines and Parquet, and a
bare dataclass that has the protocol's attributes and nothing else.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from notebook_helpers import EVIL, make_batch

from russo_nb.columns import Run
from russo_nb.conditions import conditions_text
from russo_nb.lazy_runs import LazyRuns
from russo_nb.notebook.explorer import Explorer
from russo_nb.notebook.html import run_html, scenario_result_html
from russo_nb.notebook.run_detail import run_detail_html
from russo_nb.rendering import render
from russo_nb.report import export, load_batch
from russo_nb.report.html import to_html
from russo_nb.types import AgentResponse, BatchResult, EvalResult, RetriedAttempt, RunError, ToolCall
from russo_nb.view import build_view
from russo_nb.view.kit import escape_text
from russo_nb.view.text import summary_text

PROTOCOL = sorted(name for name in vars(Run) if not name.startswith("_") and isinstance(vars(Run)[name], property))
SCENARIO_ONLY = {
    "reasoning": None,
    "passed_criteria": [],
    "failed_criteria": [],
    "score": None,
    "scores": {},
    "turns": None,
    "total_time": None,
    "audio": {},
}


def test_the_protocol_names_what_renderers_read():
    assert {"kind", "transcript", "response", "retried", "conditions", *SCENARIO_ONLY} <= set(PROTOCOL)
    assert typing.get_type_hints(Run.kind.fget)["return"] == typing.Literal["prompt", "scenario"]


def test_prompt_runs_answer_the_scenario_fields_with_neutral_values(tmp_path):
    batch = make_batch(transcript=True)
    loaded = load_batch(export(batch, tmp_path / "b.parquet"))
    assert isinstance(loaded.runs, LazyRuns)
    for runs in (batch.runs, loaded.runs):
        for run in runs:
            assert isinstance(run, Run) and run.kind == "prompt"
            assert {name: getattr(run, name) for name in SCENARIO_ONLY} == SCENARIO_ONLY
            assert all(getattr(run, name) is not None or name in NULLABLE for name in PROTOCOL)


NULLABLE = {
    "prompt_id", "status", "error", "latency_s", "synth_s", "audio_key", "seed", "started_at", "transcript",
    "eval_result", "text", "response", "reasoning", "score", "turns", "total_time",
}  # fmt: skip


def test_scenario_runs_answer_the_prompt_fields(scenario_batch, tmp_path):
    loaded = load_batch(export(scenario_batch, tmp_path / "s.jsonl"))
    for runs in (scenario_batch.runs, loaded.runs):
        for run in runs:
            assert isinstance(run, Run) and run.kind == "scenario"
            assert run.response is None and run.transcript == run.messages and run.turns >= 1
            assert all(getattr(run, name) is not None or name in NULLABLE for name in PROTOCOL)


# -- every renderer, every kind of batch, fresh and reloaded -----------------------------------


def _sweep_like() -> BatchResult:
    """Prompt runs that each carry their own conditions (a voice and an SNR), as a sweep's do."""
    batch = make_batch(transcript=True)
    cells = [{"voice": "en-<us>", "snr_db": 10.0}, {"voice": "en-gb", "snr_db": 0.0}]
    runs = [run.model_copy(update={"conditions": cells[i % 2]}) for i, run in enumerate(batch.runs)]
    return batch.model_copy(update={"runs": runs})


@pytest.fixture(scope="module")
def batches(scenario_batch, tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("reloads")
    originals = {"prompts": make_batch(transcript=True), "scenarios": scenario_batch, "sweep": _sweep_like()}
    out: dict[str, Any] = dict(originals)
    for name, batch in originals.items():
        for suffix in (".jsonl", ".parquet"):
            out[name + suffix] = load_batch(export(batch, folder / f"{name}{suffix}"))
    return out


CASES = [name + suffix for name in ("prompts", "scenarios", "sweep") for suffix in ("", ".jsonl", ".parquet")]


def _last_said(run: Run) -> str:
    """The last message with text in the run's conversation ('' when it has none)."""
    said = [m["content"] for m in run.transcript or [] if isinstance(m.get("content"), str) and m["content"]]
    return said[-1] if said else ""


def _shows(html: str, run: Run) -> None:
    """``html`` (one run rendered) shows the run's conversation, verdict, score and conditions, escaped."""
    assert EVIL not in html and "<script>alert" not in html
    assert escape_text(run.status) in html
    if run.conditions:
        assert escape_text(conditions_text(run.conditions)) in html
    if run.transcript:
        assert escape_text(_last_said(run), 2000) in html
    if run.score is not None:
        assert f"{run.score:.2f}" in html
    for criterion in run.failed_criteria:
        assert escape_text(criterion, 300) in html
    if run.kind == "prompt" and run.status == "failed":
        assert "to_city" in html  # the argument that differed


@pytest.mark.parametrize("case", CASES)
def test_run_detail_shows_each_runs_conversation_verdict_score_and_conditions(batches, case):
    batch, original = batches[case], batches[case.split(".")[0]]
    assert len(batch.runs) == len(original.runs)
    for run, before in zip(batch.runs, original.runs, strict=True):
        html = run_detail_html(run)
        _shows(html, run)
        if run.kind == "scenario" or "." not in case or case.endswith(".jsonl"):  # every field kept: drawn the same
            assert html == run_detail_html(before)
        else:  # a table file keeps no prompt run's conversation; the rest is drawn the same
            assert run.transcript is None
            assert html == run_detail_html(before.model_copy(update={"transcript": None}))
    if case.startswith("scenarios"):
        assert {run.kind for run in batch.runs} == {"scenario"} and any(run.failed_criteria for run in batch.runs)


@pytest.mark.parametrize("case", CASES)
def test_explorer_tabs_and_snapshot_show_conversations_verdicts_scores_and_conditions(batches, case):
    batch = batches[case]
    explorer = Explorer(batch)
    for title in explorer._builders:
        explorer.content(title)  # every tab builds (a failing tab would show its error)
        assert "tab failed" not in _html_of(explorer.content(title))
    options = explorer.transcript_picker.options
    failing = [index for _, index in options if batch.runs[index].status != "passed"]
    assert failing, "the transcripts list failing runs first"
    for index in failing[:3]:
        explorer.transcript_picker.value = index
        _shows(explorer.transcript_view.value, batch.runs[index])
        explorer.open_run(index)
        _shows(explorer.runs_browser.detail.body.value, batch.runs[index])
    prompts_tab = _html_of(explorer.content("Prompts"))
    row = explorer.view.rows[explorer.prompt_picker.value]
    shown = [batch.runs[i] for i in explorer.row_runs(row)[: explorer.page_size]]
    for run in shown:
        assert escape_text(conditions_text(run.conditions)) in prompts_tab
        if run.score is not None:
            assert f"score {run.score:.2f}" in prompts_tab
    snapshot = explorer.snapshot_html()
    assert EVIL not in snapshot and "<script>alert" not in snapshot
    first = explorer.view.groups[0].first
    assert escape_text(explorer.view.groups[0].what, 200) in snapshot
    if first.transcript:
        assert escape_text(_last_said(first), 2000) in snapshot
    if explorer.view.conditions_text:
        assert escape_text(explorer.view.conditions_text, 600) in snapshot


@pytest.mark.parametrize("case", CASES)
def test_report_and_rich_html_show_verdicts_scores_and_conditions(batches, case):
    batch = batches[case]
    view = build_view(batch)
    assert bool(view.conditions_text) == (not case.startswith("prompts"))  # a plain batch has no conditions
    for html in (to_html(batch, charts=False), batch._repr_html_()):
        assert EVIL not in html and "<script>alert" not in html
        assert escape_text(view.conditions_text, 600) in html
        for group in view.groups[:5]:
            assert escape_text(group.what, 300) in html
        if case.startswith("scenarios"):
            stats = batch.score_stats()
            assert f"Score: mean <b>{stats['mean']:.2f}</b>" in html
            first = view.groups[0].first
            assert escape_text(first.failed_criteria[0], 300) in html
            assert f"score {first.score:.2f}" in html
    report = to_html(batch, charts=False)
    first = view.groups[0].first
    if first.transcript:  # the example of each failure ends with the last turns of its conversation
        assert escape_text(_last_said(first), 300) in report
    if first.conditions:
        assert escape_text(conditions_text(first.conditions), 300) in report


def _html_of(widget: Any) -> str:
    """Every HTML value inside ``widget``, joined."""
    import ipywidgets as widgets

    if isinstance(widget, widgets.HTML):
        return widget.value
    return "".join(_html_of(child) for child in getattr(widget, "children", ()))


# -- a run that is the protocol and nothing more ------------------------------------------------


@dataclass
class BareRun:
    """Exactly the attributes of :class:`russo_nb.columns.Run`; asking it anything else fails the test
    (an AssertionError, which ``getattr(run, name, default)`` and ``hasattr`` do not swallow)."""

    kind: str
    prompt: str
    prompt_id: str | None
    run_index: int
    status: str | None
    passed: bool
    error: RunError | None
    latency_s: float | None
    synth_s: float | None
    attempts: int
    audio_key: str | None
    effects: list[str]
    seed: int | None
    started_at: float | None
    transcript: list[dict[str, Any]] | None
    expected_calls: list[ToolCall]
    tool_calls: list[ToolCall]
    eval_result: EvalResult | None
    match_rate: float
    text: str | None
    conditions: dict[str, Any]
    response: AgentResponse | None
    retried: tuple[RetriedAttempt, ...]
    reasoning: str | None
    passed_criteria: list[str]
    failed_criteria: list[str]
    score: float | None
    scores: dict[str, float]
    turns: int | None
    total_time: float | None
    audio: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AssertionError(f"a renderer read run.{name}, which the Run protocol does not declare")


def _bare(run: Run) -> BareRun:
    """``run`` copied into a BareRun: the protocol's attributes, read through the protocol."""
    return BareRun(**{name: getattr(run, name) for name in PROTOCOL})


def test_bare_run_has_exactly_the_protocols_attributes():
    assert set(BareRun.__dataclass_fields__) == set(PROTOCOL)
    bare = _bare(make_batch().runs[0])
    assert isinstance(bare, Run)
    with pytest.raises(AssertionError, match=r"run\.messages"):
        hasattr(bare, "messages")


SCENARIO_TABLE_FIELDS = ("name", "success", "agent_time", "tags", "thread_id")
"""ScenarioResult fields a scenario batch's runs frame has columns for beyond the protocol (the data model's table,
read by the Runs and Charts tabs and the report's statistics): the only reads of a run outside the protocol."""


@dataclass
class BareScenarioRow(BareRun):
    """A bare scenario run plus the fields its batch's runs frame tabulates, and nothing else."""

    name: str = ""
    success: bool = False
    agent_time: float | None = None
    tags: list[str] | None = None
    thread_id: str | None = None


def _bare_batch(batch: Any, make: Any) -> SimpleNamespace:
    """``batch`` with bare runs: what a batch offers renderers besides its runs (metadata, clips, score stats)."""
    clips = dict(batch.audio)
    scored = {"score_stats": batch.score_stats} if batch.metadata.kind == "scenarios" else {}
    return SimpleNamespace(
        runs=[make(run) for run in batch.runs],
        metadata=batch.metadata,
        audio=clips,
        audio_for=lambda run: clips.get(run.audio_key),
        **scored,
    )


def _bare_row(run: Run) -> BareRun:
    if run.kind == "prompt":
        return _bare(run)
    return BareScenarioRow(**vars(_bare(run)), **{name: getattr(run, name) for name in SCENARIO_TABLE_FIELDS})


@pytest.mark.parametrize("case", ["sweep", "prompts.parquet", "scenarios", "scenarios.jsonl"])
def test_a_run_with_only_the_protocols_attributes_renders_everywhere(batches, case):
    batch = batches[case]
    for run in batch.runs:
        bare = _bare(run)
        html = run_detail_html(bare)
        _shows(html, bare)
        assert html == run_detail_html(run)
        assert run_html(bare) == run_html(run)
        if bare.kind == "scenario":
            assert scenario_result_html(bare) == scenario_result_html(run)
    bare_batch = _bare_batch(batch, _bare)
    assert build_view(bare_batch).groups[0].what == build_view(batch).groups[0].what
    assert summary_text(bare_batch) == summary_text(batch)
    assert render("html", bare_batch) == render("html", batch)  # the batch's rich HTML
    explorer, original = Explorer(bare_batch), Explorer(batch)
    assert explorer.snapshot_html() == original.snapshot_html()
    table_tabs = ("Runs", "Charts", "Sweep")  # drawn from the runs frame
    for title in explorer._builders:
        if title not in table_tabs:
            assert _html_of(explorer.content(title)) == _html_of(original.content(title)), title
    # the runs frame: the protocol for a prompt batch; plus the scenario fields it tabulates for a scenario batch
    rows = _bare_batch(batch, _bare_row)
    explorer = Explorer(rows)
    for title in table_tabs:
        if title in explorer._builders:
            assert "tab failed" not in _html_of(explorer.content(title)), title
    explorer.open_run(0)
    _shows(explorer.runs_browser.detail.body.value, rows.runs[0])
    report = to_html(rows, charts=False)
    assert escape_text(build_view(batch).groups[0].what, 300) in report
    assert report.split("generated", 1)[1][20:] == to_html(batch, charts=False).split("generated", 1)[1][20:]
