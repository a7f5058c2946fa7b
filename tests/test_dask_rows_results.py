"""A finished result whose runs the Dask driver kept as rows, read by everything that reads a result.

The driver keeps each chunk's rows (:class:`~russo_nb.model.run_blocks.RunBlock`) and builds a run when it is
looked at, so a finished Dask job's ``result.runs`` is a :class:`~russo_nb.model.partial_runs.PartialRuns` holding
blocks. Here the rows are the in-process run's own, encoded and delivered chunk by chunk as the driver does
(:meth:`Job.deliver_rows`), so every reader must give exactly what it gives for the in-process result, timings
included. The cluster itself is exercised in test_dask_executor.py.
"""

from __future__ import annotations

import asyncio
import gc
import pickle
import re
import weakref

import ipywidgets as widgets
import pandas as pd
import pytest

import russo_nb as russo
from russo_nb.dask_executor import decode_block, encode_rows
from russo_nb.model.partial_runs import PartialRuns
from russo_nb.model.run_blocks import RunBlock, plan_positions
from russo_nb.testing import ScriptedAgent, ToneSynthesizer

PROMPTS = ["Book a flight to LA", "Fly me to <b>LA</b>", "hello"]
OPTIONS = dict(
    # what it hears is the noisy clip: a seeded mix of right and wrong calls
    agent=ScriptedAgent(lambda heard: "book_flight(to_city='LA')" if sum(map(ord, heard[:64])) % 3 else "greet()"),
    expect="book_flight(to_city='LA')",
    synthesizer=ToneSynthesizer(),
    effects="noise:10db",
    runs=5,
    seed=9,
    conditions={"agent_version": "v2"},
)


def _kept_as_rows(here, chunk: int = 4, **options):
    """A job of ``here``'s batch whose runs came back as ``here``'s rows, ``chunk`` runs a block (as the driver
    keeps them)."""
    job = russo.start_batch(PROMPTS, **{**OPTIONS, **options})
    total = len(here.runs)
    positions = plan_positions(total)
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        block = decode_block(encode_rows(here.runs[start:stop]))
        assert job.deliver_rows(0, block.for_plan(positions), range(stop - start), range(start, stop)) == stop - start
    return job


def _blocks(runs) -> list[RunBlock]:
    return list({id(entry): entry for entry in runs._results if type(entry) is RunBlock}.values())


def _live_blocks() -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if type(thing) is RunBlock)


@pytest.fixture(scope="module")
def here():
    return russo.run_concurrent_sync(PROMPTS, **OPTIONS)


@pytest.fixture
def rows(here):
    """The in-process result with its runs replaced by the rows the driver kept (its metadata and audio as they are)."""
    runs = _kept_as_rows(here).result().runs
    assert type(runs) is PartialRuns and len(_blocks(runs)) == 4 and not any(b.built for b in _blocks(runs))
    return here.model_copy(update={"runs": runs})


def test_counts_come_from_the_rows_without_building_a_run(here, rows):
    assert here.status_counts == rows.status_counts and {"passed", "failed"} <= set(here.status_counts)
    assert (rows.total, rows.passed_count, rows.failed_count, rows.cancelled_count) == (
        here.total,
        here.passed_count,
        here.failed_count,
        0,
    )
    assert rows.pass_rate == here.pass_rate and rows.tally() == here.tally()
    # the prompts and the repr read the rows' prompt cells (asyncio.run formats its main task's result: a
    # script's `asyncio.run(job.wait())` built every run for its repr)
    assert rows.prompts == here.prompts and repr(rows) == repr(here)
    assert not any(block.built for block in _blocks(rows.runs))
    assert rows.runs.unfinished_count == 0


def test_runs_equal_and_keep_their_identity(here, rows):
    assert rows.runs == here.runs and here.runs == list(rows.runs)
    assert rows.runs[3] is rows.runs[3] and rows.runs[-1] is rows.runs[14]
    assert rows.runs[2:6] == here.runs[2:6] and rows.prompts == here.prompts
    assert rows.by_prompt() == here.by_prompt() and rows.usage == here.usage and rows.match_rate == here.match_rate


def test_the_frame_the_view_and_the_summary_are_the_in_process_ones(here, rows):
    from russo_nb.analysis import summarize
    from russo_nb.notebook import batch_html
    from russo_nb.results.view import build_view, summary_text

    pd.testing.assert_frame_equal(rows.to_dataframe(), here.to_dataframe())
    assert summary_text(rows) == summary_text(here)
    assert build_view(rows).rows == build_view(here).rows
    assert batch_html(rows) == batch_html(here) and rows._repr_html_() == here._repr_html_()
    assert summarize(rows) == summarize(here)


def test_the_explorer_shows_what_it_shows_in_process(here, rows):
    from russo_nb.notebook.explorer import TAB_TITLES, Explorer

    def texts(widget):
        out = [widget.value] if isinstance(widget, widgets.HTML) else []
        for child in getattr(widget, "children", ()) or ():
            out += texts(child)
        return out

    def shown(result, title):  # a chart's SVG says when it was drawn
        shown = texts(Explorer(result, charts=False).show(title))
        return [re.sub("<dc:date>.*?</dc:date>", "", text) for text in shown]

    for title in TAB_TITLES:
        assert shown(rows, title) == shown(here, title)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_export_and_load_back_as_in_process(here, rows, tmp_path, suffix):
    from russo_nb.report import export, load_batch

    mine, theirs = tmp_path / f"rows{suffix}", tmp_path / f"here{suffix}"
    export(rows, mine, include_audio=True)
    export(here, theirs, include_audio=True)
    if suffix != ".parquet":
        assert mine.read_bytes() == theirs.read_bytes()
    back, again = load_batch(mine), load_batch(theirs)
    pd.testing.assert_frame_equal(back.to_dataframe(), again.to_dataframe())
    assert back.runs == again.runs and back.audio.keys() == here.audio.keys()


def test_the_history_store_records_and_loads_it_as_in_process(here, rows, tmp_path):
    from russo_nb.store import HistoryStore

    mine_db, theirs_db = HistoryStore(tmp_path / "rows.db"), HistoryStore(tmp_path / "here.db")
    mine, theirs = mine_db.record(rows, include_audio=True), theirs_db.record(here, include_audio=True)
    assert mine == theirs == here.metadata.batch_id
    assert mine_db.prompt_counts(mine) == theirs_db.prompt_counts(theirs)
    pd.testing.assert_frame_equal(mine_db.list(), theirs_db.list())  # runs, passed, errors, rates
    loaded, expected = mine_db.load(mine), theirs_db.load(theirs)
    assert loaded.runs == expected.runs and loaded.audio.keys() == expected.audio.keys()


def test_pickled_it_is_the_plain_list(here, rows):
    back = pickle.loads(pickle.dumps(rows))
    assert type(back.runs) is list and back.runs == here.runs and back.audio.keys() == here.audio.keys()


def test_a_mutation_turns_it_into_a_plain_list(here, rows):
    runs = rows.runs
    extra = here.runs[0].model_copy(update={"status": "error"})
    runs.append(extra)
    assert runs == [*here.runs, extra] and len(runs) == 16 and runs[-1] is extra
    assert rows.status_counts == {**here.status_counts, "error": here.status_counts.get("error", 0) + 1}
    assert _blocks(runs) == []


def test_each_slot_is_one_run_whichever_result_built_it():
    here = russo.run_concurrent_sync(PROMPTS, **OPTIONS)
    job = _kept_as_rows(here)
    first, second = job.result(), job.result()
    built = list(second.runs)
    assert [first.runs[i] is built[i] for i in range(15)] == [True] * 15  # as job.result() twice in process
    assert job.result().runs[7] is built[7]


def test_the_blocks_are_freed_once_every_run_is_built_even_with_an_older_result_kept():
    here = russo.run_concurrent_sync(PROMPTS, **OPTIONS)
    job = _kept_as_rows(here)
    older = job.result()  # e.g. a cell's value shown while the job ran, never read again
    result = job.result()
    watched = [weakref.ref(block) for block in _blocks(result.runs)]
    assert len(watched) == 4 and _live_blocks() >= 4
    assert list(result.runs) == here.runs
    gc.collect()
    assert [ref() for ref in watched] == [None] * 4 and _live_blocks() == 0
    assert older.runs[0] is result.runs[0] and RunBlock not in map(type, job._results[0])


def test_a_part_built_result_frees_only_the_blocks_whose_runs_are_all_built():
    here = russo.run_concurrent_sync(PROMPTS, **OPTIONS)
    result = _kept_as_rows(here).result()
    watched = [weakref.ref(block) for block in _blocks(result.runs)]  # slots 0-3, 4-7, 8-11, 12-14
    assert [result.runs[i] for i in range(6)] == here.runs[:6]
    gc.collect()
    assert [ref() is None for ref in watched] == [True, False, False, False]
    assert result.runs == here.runs


def test_the_in_process_engine_keeps_no_rows():
    job = russo.start_batch(PROMPTS, **OPTIONS)
    result = asyncio.run(job.wait())
    assert type(result.runs) is list and not job._rows
    assert not any(type(entry) is RunBlock for results in job._results for entry in results)
    assert _live_blocks() == 0


def test_a_field_read_from_a_damaged_row_is_one_clear_error(here):
    payload = pickle.loads(encode_rows(here.runs[:2]))
    payload["columns"][payload["fields"].index("prompt")][1] = 99  # no such prompt in the tables
    block = decode_block(pickle.dumps(payload)).for_plan(plan_positions(2))
    block.keep(1, 1)
    assert (
        block.field_of(0, "prompt") == here.runs[0].prompt and block.field_of(0, "prompt_id") == here.runs[0].prompt_id
    )
    with pytest.raises(russo.InvalidArgumentError, match=r"damaged russo_nb runs blob \(IndexError"):
        block.field_of(1, "prompt")
    with pytest.raises(LookupError):
        block.field_of(0, "latency_s")  # a plain cell: the run is built for it


def test_a_stopped_job_kept_as_rows_reads_as_the_same_stopped_job_kept_as_runs(here):
    from russo_nb.notebook import batch_html
    from russo_nb.results.view import summary_text

    finished = [0, 1, 2, 5, 6, 10]  # slots that came back before the cancel

    def stopped(as_rows):
        job = russo.start_batch(PROMPTS, **OPTIONS)
        if as_rows:
            block = decode_block(encode_rows([here.runs[slot] for slot in finished]))
            job.deliver_rows(0, block.for_plan(plan_positions(15)), range(len(finished)), finished)
        else:
            for slot in finished:
                job.deliver(0, slot, here.runs[slot])
        job.cancel()
        return job.result()

    runs, rows = stopped(False), stopped(True)
    rows = runs.model_copy(update={"runs": rows.runs})  # the same metadata (batch id, times)
    assert type(rows.runs) is PartialRuns and RunBlock in map(type, rows.runs._results)
    assert rows.status_counts == runs.status_counts and rows.cancelled_count == 9
    assert summary_text(rows) == summary_text(runs) and "cancelled" in summary_text(rows)
    assert batch_html(rows) == batch_html(runs)
    pd.testing.assert_frame_equal(rows.to_dataframe(), runs.to_dataframe())
    assert rows.runs == runs.runs


def test_progress_shows_the_last_run_kept_as_a_row_built_only_when_read(here):
    seen = []

    def watch(progress):
        if progress.done in (1, len(here.runs)):  # read on two events only: the others build nothing
            seen.append((progress.done, progress.last))

    job = _kept_as_rows(here, on_progress=watch)
    assert [done for done, _ in seen] == [1, len(here.runs)]
    assert seen[0][1] == here.runs[0] and seen[1][1] == here.runs[-1]
    result = job.result()
    assert sum(block.built for block in _blocks(result.runs)) == 2  # the two runs read, and no other
    # each run progress showed is the result's own object, built once and kept in its slot
    assert result.runs[0] is seen[0][1] and job.progress.last is seen[1][1] is result.runs[-1]
    assert job.progress.done == len(here.runs) and job.progress.passed == here.passed_count
