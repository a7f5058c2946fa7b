"""A scenario batch loaded from CSV / Parquet keeps each run's record and builds the run when first asked for."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from russo_nb.errors import InvalidArgumentError
from russo_nb.report import export, load_batch
from russo_nb.scenario.table_runs import ScenarioTableRuns


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_loaded_table_builds_no_run_until_one_is_read(scenario_batch, tmp_path, suffix):
    loaded = load_batch(export(scenario_batch, tmp_path / f"s{suffix}"))
    assert isinstance(loaded.runs, ScenarioTableRuns) and loaded.runs.built_count == 0
    assert len(loaded.runs) == scenario_batch.total
    assert loaded.pass_rate == scenario_batch.pass_rate and loaded.status_counts == scenario_batch.status_counts
    assert loaded.runs.built_count == 0  # the counts come from the status column
    assert loaded.runs[1] == scenario_batch.runs[1] and loaded.runs.built_count == 1
    assert loaded.runs[1] is loaded.runs[1]  # built once
    assert list(loaded.runs) == scenario_batch.runs and loaded.runs == scenario_batch.runs
    assert loaded.pass_rate == scenario_batch.pass_rate


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_table_frame_comes_from_the_columns_as_the_original_frame(scenario_batch, tmp_path, suffix):
    loaded = load_batch(export(scenario_batch, tmp_path / f"s{suffix}"))
    frame = loaded.to_dataframe()
    assert loaded.runs.built_count == 0  # no run built for the frame
    original = scenario_batch.to_dataframe()
    pd.testing.assert_frame_equal(frame, original)  # column for column, dtype for dtype
    assert frame.attrs == original.attrs
    assert "agent_version" in frame.columns and "scenario_run" not in frame.columns


def test_empty_and_missing_cells_of_a_csv_frame_read_as_the_runs_give_them(scenario_batch, tmp_path):
    """A CSV cell cannot tell '' from None: each text column's empty cell is what a run with that field empty shows."""
    runs = [run.model_copy() for run in scenario_batch.runs]
    runs[0].reasoning, runs[0].thread_id, runs[0].started_at, runs[0].seed = None, None, None, None
    runs[1].conditions = {}  # a run without the batch's condition
    runs[2].messages = [{"role": "user", "content": "=1+1", "audio_key": "k1"}]  # a would-be formula, a clip key
    batch = type(scenario_batch)(runs=runs, metadata=scenario_batch.metadata)
    loaded = load_batch(export(batch, tmp_path / "s.csv"))
    frame = loaded.to_dataframe()
    assert loaded.runs.built_count == 0
    original = batch.to_dataframe()
    pd.testing.assert_frame_equal(frame, original)
    assert frame["reasoning"][0] == "" and frame["thread_id"][0] is None and frame["audio_key"][0] is None
    assert frame["audio_key"][2] == "k1" and frame["agent_version"][1] is None


def test_a_table_column_of_another_type_frames_the_runs(scenario_batch, tmp_path):
    """A column edited by hand (text in a number column) gives the frame of the exact records, not a wrong one."""
    path = export(scenario_batch, tmp_path / "s.csv")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table["turns"] = "many"
    table.to_csv(path, index=False)
    loaded = load_batch(path)
    pd.testing.assert_frame_equal(loaded.to_dataframe(), scenario_batch.to_dataframe())
    assert loaded.runs.built_count == scenario_batch.total


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_a_mutated_table_batch_frames_its_runs(scenario_batch, tmp_path, suffix):
    loaded = load_batch(export(scenario_batch, tmp_path / f"s{suffix}"))
    del loaded.runs[0]  # now a plain list: the frame and the counts follow the runs, not the file
    pd.testing.assert_frame_equal(
        loaded.to_dataframe(), scenario_batch.model_copy(update={"runs": scenario_batch.runs[1:]}).to_dataframe()
    )
    assert loaded.status_counts == scenario_batch.model_copy(update={"runs": scenario_batch.runs[1:]}).status_counts


def test_a_damaged_record_is_one_error_naming_file_and_row_when_its_run_is_read(scenario_batch, tmp_path):
    path = export(scenario_batch, tmp_path / "s.parquet")
    table = pq.read_table(path)
    records = table.column("scenario_run").to_pylist()
    records[1] = records[1].replace('"success":', '"success":"maybe", "x":', 1)
    index = table.schema.get_field_index("scenario_run")
    pq.write_table(table.set_column(index, "scenario_run", pa.array(records, type=pa.large_string())), path)
    loaded = load_batch(path)  # the structure is fine: the load succeeds
    assert loaded.runs[0] == scenario_batch.runs[0]
    with pytest.raises(InvalidArgumentError) as caught:
        loaded.runs[1]
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "row 2: cannot read the scenario run" in message


@pytest.mark.parametrize(
    ("column", "cell", "expected"),
    [("scenario_run", None, "row 2: cannot read the scenario run"), ("status", "won", "row 2: unknown status 'won'")],
)
def test_a_missing_record_or_unknown_status_fails_the_load(scenario_batch, tmp_path, column, cell, expected):
    path = export(scenario_batch, tmp_path / "s.parquet")
    table = pq.read_table(path)
    cells = table.column(column).to_pylist()
    cells[1] = cell
    index = table.schema.get_field_index(column)
    pq.write_table(table.set_column(index, column, pa.array(cells, type=pa.large_string())), path)
    with pytest.raises(InvalidArgumentError, match=expected) as caught:
        load_batch(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_loaded_table_batch_dumps_copies_and_merges_as_its_runs(scenario_batch, tmp_path, suffix):
    import warnings

    from russo_nb.scenario.batch import merge_scenario_batches

    loaded = load_batch(export(scenario_batch, tmp_path / f"s{suffix}"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydantic warns when a list field holds something else
        assert loaded.model_dump()["runs"] == scenario_batch.model_dump()["runs"]
    assert loaded.model_copy(deep=True).runs == scenario_batch.runs
    assert merge_scenario_batches([loaded, loaded]).total == 2 * scenario_batch.total


def _rewrite_line(path, number: int, edit) -> None:
    """Line ``number`` (1-based) of a JSON-lines export changed by ``edit``, the header's checksum made to match."""
    import hashlib
    import json

    lines = path.read_text().splitlines()
    lines[number - 1] = edit(lines[number - 1])
    body = ("\n".join(lines[1:]) + "\n").encode("ascii")
    header = json.loads(lines[0])
    header["sha256"] = hashlib.sha256(body).hexdigest()
    path.write_bytes(json.dumps(header).encode("ascii") + b"\n" + body)


def test_a_loaded_jsonl_batch_builds_no_run_for_its_counts_or_frame(scenario_batch, tmp_path):
    from russo_nb.model.types import ColumnarRuns
    from russo_nb.scenario.row_runs import ScenarioRowRuns

    loaded = load_batch(export(scenario_batch, tmp_path / "s.jsonl"))
    assert isinstance(loaded.runs, ScenarioRowRuns) and isinstance(loaded.runs, ColumnarRuns)
    assert loaded.pass_rate == scenario_batch.pass_rate and loaded.status_counts == scenario_batch.status_counts
    frame = loaded.to_dataframe()
    assert loaded.runs.built_count == 0
    pd.testing.assert_frame_equal(frame, scenario_batch.to_dataframe())
    assert loaded.runs[1] == scenario_batch.runs[1] and loaded.runs.built_count == 1
    assert list(loaded.runs) == scenario_batch.runs


def test_a_damaged_jsonl_cell_is_one_error_naming_file_and_line_when_its_run_is_read(scenario_batch, tmp_path):
    path = export(scenario_batch, tmp_path / "s.jsonl")
    _rewrite_line(path, 8, lambda line: line.replace(",true,", ',"maybe",', 1))  # the second run's verdict
    loaded = load_batch(path)  # the rows are rows of cells with a status: the load succeeds
    assert loaded.runs[0] == scenario_batch.runs[0]
    for read in (lambda: loaded.runs[1], loaded.to_dataframe):  # the frame builds the runs, and names the line
        with pytest.raises(InvalidArgumentError) as caught:
            read()
        message = str(caught.value)
        assert "\n" not in message and str(path) in message and "line 8 is not a valid russo_nb batch line" in message


def test_a_jsonl_cell_the_builder_fixes_frames_as_the_runs(scenario_batch, tmp_path):
    """A whole number where a time is written (a file made by hand) is what the built run holds: the frame agrees."""
    path = export(scenario_batch, tmp_path / "s.jsonl")
    _rewrite_line(path, 7, lambda line: line.replace(f",{scenario_batch.runs[0].started_at!r},", ",1700000000,", 1))
    loaded = load_batch(path)
    frame = loaded.to_dataframe()
    assert frame["started_at"][0] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    runs = type(scenario_batch).model_construct(runs=list(loaded.runs), metadata=loaded.metadata)
    pd.testing.assert_frame_equal(frame, runs.to_dataframe())


@pytest.mark.parametrize("status", ['"won"', '["passed"]', "null"])
def test_a_jsonl_row_with_an_unknown_status_fails_the_load(scenario_batch, tmp_path, status):
    path = export(scenario_batch, tmp_path / "s.jsonl")
    _rewrite_line(path, 8, lambda line: line.replace('"passed"', status, 1).replace('"failed"', status, 1))
    with pytest.raises(InvalidArgumentError, match="line 8 is not a valid russo_nb batch line") as caught:
        load_batch(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_jsonl_row_of_too_few_cells_fails_the_load(scenario_batch, tmp_path):
    path = export(scenario_batch, tmp_path / "s.jsonl")
    _rewrite_line(path, 9, lambda line: '[0,2,"passed"]')
    with pytest.raises(InvalidArgumentError, match="line 9 is not a valid russo_nb batch line") as caught:
        load_batch(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_jsonl_load_leaves_the_collector_as_it_found_it(scenario_batch, tmp_path):
    """The rows a load keeps move to the collector's oldest generation; collection stays on, and objects the
    program froze itself stay frozen."""
    import gc

    path = export(scenario_batch, tmp_path / "s.jsonl")
    assert gc.isenabled()
    loaded = load_batch(path)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert loaded.to_dataframe().shape[0] == scenario_batch.total and gc.isenabled()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert list(load_batch(path).runs) == scenario_batch.runs
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()
