"""A loaded CSV / Parquet batch keeps its runs as columns and builds each run on first access.

Everything must behave exactly as with an eager batch (the same runs in a plain list): counts,
frames, sequence operations, equality, pickling, dumps, validation, mutation, export, the
history store, the view, the explorer and paired comparisons.
"""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from analysis_helpers import make_run, synthetic_batch

from russo_nb.analysis import paired_comparison, prompts_frame, runs_frame
from russo_nb.analysis.frames import light_runs_frame
from russo_nb.lazy_runs import LazyRuns
from russo_nb.report import export, load_batch
from russo_nb.store import HistoryStore
from russo_nb.types import AgentResponse, BatchMetadata, BatchResult, RunError, ToolCall
from russo_nb.view import build_view, summary_text

SUFFIXES = [".csv", ".parquet"]


def _original() -> BatchResult:
    want = [ToolCall(name="book_flight", arguments={"to_city": "LA"})]
    wrong = [ToolCall(name="book_flight", arguments={"to_city": "SF"})]
    runs = [
        make_run("Fly to LA", 0, True, expected=want, latency_s=0.25, effects=["noise:white:10dB"]),
        make_run("Fly to LA", 1, False, expected=want, actual=wrong, latency_s=0.5, started_at=1_700_000_000.5),
        make_run("Fly to LA", 2, False, expected=want, actual=[], status="cancelled"),
        make_run(
            "Weather?",
            0,
            False,
            expected=[ToolCall(name="get_weather")],
            actual=[],
            status="error",
            error=RunError(type="ValueError", message="bad audio", stage="agent", traceback="Traceback ..."),
        ),
        make_run("Weather?", 1, False, expected=[ToolCall(name="get_weather")], actual=[], status="timeout"),
        make_run("=cmd()", 0, True, expected=[], latency_s=1.5, audio_key="k1"),
    ]
    runs[0].seed = 1
    runs[0].response = AgentResponse(tool_calls=want, text="booked", usage={"input_tokens": 12, "total_tokens": 20})
    runs[1].response = AgentResponse(tool_calls=wrong, text=None, usage={"audio_s": 1.25})
    return BatchResult(runs=runs, metadata=BatchMetadata(name="lazy", agent="local", timeout=2.0))


@pytest.fixture(params=SUFFIXES)
def loaded(request, tmp_path) -> tuple[BatchResult, BatchResult]:
    """(original, loaded) for one table format."""
    original = _original()
    return original, load_batch(export(original, tmp_path / f"runs{request.param}"))


def _eager_twin(tmp_path) -> BatchResult:
    """The same file loaded again, its runs built into a plain list."""
    return _eager(load_batch(next(tmp_path.glob("runs.*"))))


def _eager(loaded: BatchResult) -> BatchResult:
    """The same loaded batch with its runs built into a plain list (what loading used to give)."""
    return BatchResult.model_construct(runs=list(loaded.runs), audio=loaded.audio, metadata=loaded.metadata)


def test_a_loaded_table_keeps_its_runs_as_columns_and_counts_without_building_them(loaded):
    original, batch = loaded
    assert isinstance(batch.runs, LazyRuns) and batch.runs.built_count == 0
    assert batch.total == len(batch.runs) == original.total == 6
    assert batch.passed_count == original.passed_count == 2
    assert batch.cancelled_count == original.cancelled_count == 1
    assert batch.finished_count == 5 and batch.failed_count == 3
    assert list(batch.status_counts.items()) == list(original.status_counts.items())  # first-seen order too
    assert batch.pass_rate == original.pass_rate == pytest.approx(2 / 5)
    assert batch.tally() == original.tally()
    assert batch.passed is False
    assert batch.prompts == original.prompts == ["Fly to LA", "Weather?", "=cmd()"]
    assert repr(batch) == repr(original)
    assert batch.usage == original.usage == {"input_tokens": 12.0, "total_tokens": 20.0, "audio_s": 1.25}
    assert batch.runs.built_count == 0  # none of that built a run


def test_runs_frame_prompts_frame_and_light_frame_come_from_the_columns(loaded, tmp_path):
    original, batch = loaded
    eager = _eager_twin(tmp_path)  # the frames of the built runs: the same tables
    frame = batch.to_dataframe()
    pd.testing.assert_frame_equal(frame, original.to_dataframe())
    pd.testing.assert_frame_equal(runs_frame(batch), runs_frame(original))
    pd.testing.assert_frame_equal(runs_frame(eager), frame)
    pd.testing.assert_frame_equal(prompts_frame(batch), prompts_frame(eager))
    pd.testing.assert_frame_equal(light_runs_frame(batch), light_runs_frame(eager))
    if batch.metadata == original.metadata:  # Parquet keeps the timeout that censors latencies; CSV does not
        pd.testing.assert_frame_equal(prompts_frame(batch), prompts_frame(original))
    assert batch.runs.built_count == 0
    assert frame.loc[0, "input_tokens"] == 12 and frame.loc[1, "audio_s"] == 1.25


def test_each_run_is_built_once_on_first_access_and_iteration_builds_the_rest(loaded):
    original, batch = loaded
    runs = batch.runs
    last = runs[-1]
    assert runs.built_count == 1 and last is runs[5] is runs[np.int64(5)]
    assert last.prompt == "=cmd()" and last.audio_key == "k1"
    with pytest.raises(IndexError):
        runs[6]
    with pytest.raises(TypeError):
        runs["0"]
    everything = list(runs)
    assert runs.built_count == 6 and everything[5] is last
    assert [run.status for run in runs] == [run.status for run in original.runs]
    assert runs[1:3] == everything[1:3] and isinstance(runs[1:3], list)
    assert runs[::-1] == everything[::-1] and runs[:] == everything
    assert runs[3].error == original.runs[3].error
    assert runs[0].response.text == "booked" and runs[0].response.usage == {"input_tokens": 12, "total_tokens": 20}
    assert runs[0] in runs and runs.index(runs[2]) == 2 and runs.count(runs[2]) == 1


def test_equality_list_and_repr_match_the_eager_batch(loaded, tmp_path):
    _, batch = loaded
    eager = _eager(batch)
    again = load_batch(next(tmp_path.glob("runs.*")))
    again.metadata = batch.metadata  # a CSV holds no metadata: each load makes its own start time
    assert batch.runs == eager.runs and eager.runs == batch.runs and batch.runs == again.runs
    assert not (batch.runs != eager.runs)
    assert batch == eager and eager == batch and batch == again
    assert batch.runs != eager.runs[:-1] and batch.runs != tuple(eager.runs)
    assert list(again.runs) == eager.runs
    assert repr(load_batch(next(tmp_path.glob("runs.*"))).runs) == repr(eager.runs)
    head = eager.runs[:1]
    assert batch.runs + head == eager.runs + head and head + batch.runs == head + eager.runs
    assert type(batch.runs + head) is list and batch.runs * 2 == eager.runs * 2


def test_pickle_copy_and_deepcopy_give_the_same_batch(loaded):
    _, batch = loaded
    eager = _eager(batch)
    for twin in (pickle.loads(pickle.dumps(batch)), copy.deepcopy(batch), batch.model_copy(deep=True)):
        assert twin == eager and type(twin.runs) is list and len(twin.runs) == 6
    shallow = copy.copy(batch)
    assert shallow == eager and shallow.runs is batch.runs


def test_model_dump_and_json_are_the_eager_dumps_and_validate_back(loaded):
    _, batch = loaded
    fresh = _eager(batch)
    dumped = batch.model_dump()
    assert len(dumped["runs"]) == 6 and dumped == fresh.model_dump()
    text = batch.model_dump_json()
    assert text == fresh.model_dump_json() and len(json.loads(text)["runs"]) == 6
    assert BatchResult.model_validate_json(text) == fresh
    assert batch.model_dump(mode="json") == fresh.model_dump(mode="json")


def test_building_a_batch_from_lazy_runs_validates_them_into_a_list(loaded):
    _, batch = loaded
    rebuilt = BatchResult(runs=batch.runs, metadata=batch.metadata)
    assert type(rebuilt.runs) is list and rebuilt.runs == list(batch.runs)
    assert rebuilt.runs[0] is batch.runs[0]


def test_mutation_turns_the_runs_into_a_plain_list_and_counts_follow(loaded):
    original, batch = loaded
    extra = make_run("New", 0, True)
    batch.runs.append(extra)
    assert len(batch.runs) == 7 and batch.runs[-1] is extra and batch.total == 7
    assert batch.passed_count == 3 and batch.status_counts["passed"] == 3
    assert batch.to_dataframe()["prompt"].tolist()[-1] == "New"
    batch.runs[0] = extra
    assert batch.runs[0] is extra and batch.status_counts == {"passed": 3, "failed": 1, "cancelled": 1} | {
        "error": 1,
        "timeout": 1,
    }
    del batch.runs[0]
    batch.runs.sort(key=lambda run: run.prompt)
    assert [run.prompt for run in batch.runs] == sorted([*(run.prompt for run in original.runs[1:]), "New"])
    batch.runs.extend([extra])
    batch.runs += [extra]
    assert len(batch.runs) == 8 and batch.runs.pop() is extra and batch.runs.built_count == 7
    assert batch.model_dump()["runs"][-1]["prompt"] == "New"


def test_a_loaded_batch_exports_and_loads_again_to_the_same_table(loaded, tmp_path):
    original, batch = loaded
    for suffix in (".csv", ".parquet", ".jsonl"):
        again = load_batch(export(batch, tmp_path / f"again{suffix}"))
        pd.testing.assert_frame_equal(runs_frame(again), runs_frame(original))
    assert load_batch(export(batch, tmp_path / "exact.jsonl")) == _eager(batch)


def test_the_history_store_records_a_loaded_batch_as_the_eager_one(loaded, tmp_path):
    _, batch = loaded
    store = HistoryStore(tmp_path / "h.sqlite")
    batch_id = store.record(batch)
    eager = _eager(batch)
    eager.metadata = eager.metadata.model_copy(update={"batch_id": "eager"})
    store.record(eager)
    pd.testing.assert_frame_equal(
        runs_frame(store.load(batch_id)).drop(columns=["batch_id"]),
        runs_frame(store.load("eager")).drop(columns=["batch_id"]),
    )


def test_view_summary_comparison_and_explorer_are_those_of_the_eager_batch(loaded, tmp_path):
    import russo_nb

    original, batch = loaded
    eager = _eager_twin(tmp_path)
    eager_view = build_view(eager)
    headline = build_view(batch, groups=False)
    assert batch.runs.built_count == 0 and headline.rows == eager_view.rows
    view = build_view(batch)
    assert batch.runs.built_count == 3  # only the finished runs that did not pass, for the failure groups
    assert view.rows == eager_view.rows and view.statuses == eager_view.statuses and view.total == 6
    assert (view.rate, view.low, view.high) == (eager_view.rate, eager_view.low, eager_view.high)
    assert [(g.prompt, g.status, g.what, [r.run_index for r in g.runs]) for g in view.groups] == [
        (g.prompt, g.status, g.what, [r.run_index for r in g.runs]) for g in eager_view.groups
    ]
    assert summary_text(batch) == summary_text(eager)
    compared = paired_comparison(original, batch)
    assert compared.model_dump() == paired_comparison(original, eager).model_dump()
    explorer = russo_nb.explore(batch, charts=False)
    assert [run.prompt for run in explorer.runs] == [run.prompt for run in eager.runs]
    assert explorer.view.rows == eager_view.rows


def test_a_large_loaded_batch_counts_and_frames_without_building_runs(tmp_path):
    original = synthetic_batch(50, 40, seed=3)
    batch = load_batch(export(original, tmp_path / "big.parquet"))
    assert batch.pass_rate == original.pass_rate and batch.status_counts == original.status_counts
    pd.testing.assert_frame_equal(batch.to_dataframe(), original.to_dataframe())
    assert batch.runs.built_count == 0
    assert batch.runs[1234].prompt == original.runs[1234].prompt and batch.runs.built_count == 1


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(
    ("column", "value", "needle"),
    [
        ("status", "exploded", "row 3: cannot read the run (unknown status 'exploded')"),
        ("status", None, "row 3: cannot read the run (unknown status '')"),
        ("run_index", 1.5, "row 3: cannot read the run (run_index 1.5 is not a whole number)"),
        ("run_index", None, "row 3: cannot read the run (run_index None is not a whole number)"),
        ("latency_s", "slow", "row 3: cannot read the run (latency_s 'slow' is not a number)"),
        ("evaluation", "{not json", "row 3: cannot read the run (cannot read the evaluation"),
        ("evaluation", "", "row 3: cannot read the run (cannot read the calls"),
        ("retried_attempts", "[{oops", "row 3: cannot read the run (cannot read the retried attempts"),
        ("retried_attempts", '[{"message": "no type"}]', "row 3: cannot read the run (cannot read the retried"),
    ],
)
def test_a_damaged_cell_is_a_one_line_error_naming_its_row_at_load(tmp_path, suffix, column, value, needle):
    from russo_nb.errors import InvalidArgumentError
    from russo_nb.report.export import table_frame

    frame = table_frame(_original())
    frame[column] = frame[column].astype(object)
    frame.loc[2, column] = value
    if column == "latency_s":  # a text column in a file (Parquet columns have one type)
        frame[column] = [None if cell is None or cell != cell else str(cell) for cell in frame[column]]
    if column == "evaluation" and value == "":
        frame.loc[2, "expected"] = "book_flight(to_city="  # and no evaluation to fall back on
    path = tmp_path / f"damaged{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    with pytest.raises(InvalidArgumentError) as caught:
        load_batch(path)
    message = str(caught.value)
    assert needle in message and "\n" not in message


def test_a_table_without_prompt_ids_or_evaluations_loads_from_the_call_texts(tmp_path):
    original = _original()
    frame = runs_frame(original).drop(columns=["prompt_id"])
    path = tmp_path / "plain.csv"
    frame.to_csv(path, index=False)
    batch = load_batch(path)
    eager = _eager(load_batch(path))
    pd.testing.assert_frame_equal(runs_frame(batch), runs_frame(eager))
    assert [run.prompt_id for run in eager.runs] == [run.prompt_id for run in original.runs]
    assert [run.eval_result.expected for run in eager.runs] == [run.eval_result.expected for run in original.runs]
    assert batch.status_counts == original.status_counts


def _retried_and_heard_batch() -> BatchResult:
    """300 runs over 20 prompts, about a fifth failing; every 7th run retried once, every 5th says what it heard."""
    from russo_nb.types import RetriedAttempt

    batch = synthetic_batch(20, 15, seed=5)
    for run in batch.runs[::7]:
        run.retried = (RetriedAttempt(type="ConnectionError", message="reset by <peer>"),)
        run.attempts = 2
    for run in batch.runs[::5]:
        run.response = AgentResponse(tool_calls=run.eval_result.actual, text="ok", raw={"transcript": "heard <it>"})
    return batch


def _html_texts(widget) -> list[str]:
    """The HTML of every HTML widget under ``widget``, in order."""
    if hasattr(widget, "children"):
        return [text for child in widget.children for text in _html_texts(child)]
    return [widget.value] if type(widget).__name__ == "HTML" else []


def test_the_explorer_on_a_loaded_batch_builds_only_the_runs_it_shows(tmp_path):
    from russo_nb.notebook.explorer import SNAPSHOT_FAILURES, Explorer
    from russo_nb.notebook.run_detail import run_detail_html
    from russo_nb.notebook.runs_table import runs_table_frame

    original = _retried_and_heard_batch()
    path = export(original, tmp_path / "runs.parquet")
    batch, eager = load_batch(path), _eager(load_batch(path))
    n = len(batch.runs)
    failing = [i for i, run in enumerate(eager.runs) if run.status not in ("passed", "cancelled")]
    assert n == 300 and 20 <= len(failing) <= 150

    explorer = Explorer(batch, charts=False, page_size=25)
    in_memory = Explorer(eager, charts=False, page_size=25)
    assert explorer.runs is batch.runs  # indexed, not copied
    assert batch.runs.built_count <= len(failing)  # the failure groups of the view: failing runs only
    assert explorer.snapshot_html() == in_memory.snapshot_html()
    assert batch.runs.built_count <= len(failing)  # the snapshot's transcripts are of failing runs

    table = explorer.runs_browser.table
    pd.testing.assert_frame_equal(table.frame, in_memory.runs_browser.table.frame)
    pd.testing.assert_frame_equal(table.frame, runs_table_frame(eager))
    assert batch.runs.built_count <= len(failing)  # the whole table, its filters and pages come from the columns
    # what the file keeps is the original's, retried attempts included; heard text is not in a run table file
    kept = ["prompt", "run_index", "status", "expected", "actual", "latency_s", "attempts", "error_type", "error"]
    kept += ["attempts_text", "retried"]
    assert (table.frame["attempts_text"].str.contains("↻ ConnectionError")).sum() == 300 // 7 + 1
    pd.testing.assert_frame_equal(table.frame[kept], runs_table_frame(original)[kept])
    assert (table.frame["heard"] == "").all() and (runs_table_frame(original)["heard"] == "heard <it>").sum() == 60

    opened = next(i for i in range(n - 1, 0, -1) if i not in failing)  # a passing run: not built yet
    explorer.open_run(opened)
    assert explorer.runs_browser.detail.body.value == run_detail_html(eager.runs[opened], index=opened)
    assert batch.runs[opened].prompt == eager.runs[opened].prompt

    explorer.content("Prompts")
    in_memory.content("Prompts")
    assert explorer.prompt_picker.options == in_memory.prompt_picker.options
    shown = _html_texts(explorer.prompt_view)
    assert shown == _html_texts(in_memory.prompt_view) and len(shown) == 1 + 15  # the header and the prompt's runs
    explorer.content("Transcripts")
    in_memory.content("Transcripts")
    assert explorer.transcript_picker.options == in_memory.transcript_picker.options
    assert explorer.transcript_view.value == in_memory.transcript_view.value
    # failing runs (view, snapshot, the transcript shown) + one prompt's page of 15 + the opened run
    assert SNAPSHOT_FAILURES <= batch.runs.built_count <= len(failing) + 15 + 1 < n


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_retried_attempts_survive_a_table_file_exactly(tmp_path, suffix):
    from russo_nb.types import RetriedAttempt

    original = _retried_and_heard_batch()
    original.runs[7].retried = (
        RetriedAttempt(type="RetryableError", message="429 <slow down>", stage="agent", retry_after=2.0, waited_s=2.0),
        RetriedAttempt(type="ConnectionError", message="reset", stage="agent", waited_s=0.5),
    )
    batch = load_batch(export(original, tmp_path / f"runs{suffix}"))
    assert batch.runs[7].retried == original.runs[7].retried and batch.runs[1].retried == ()
    assert [run.retried for run in batch.runs] == [run.retried for run in original.runs]
    assert batch.to_dataframe()["retried"].tolist() == original.to_dataframe()["retried"].tolist()
    assert batch.to_dataframe()["retried"][7] == "2 retried, last ConnectionError"
