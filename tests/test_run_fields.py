"""One declaration of a run's fields drives the files: the run table, the JSON-lines line, the loaders.

Adding a field to SingleRunResult without giving it a run-table column and a JSON-lines cell
(or saying, next to RUN_TABLE, why a format leaves it out) fails here.
"""

from __future__ import annotations

import json

import pandas as pd
from analysis_helpers import make_run

from russo_nb.columns import (
    RUN_TABLE,
    TABLE_LEAVES_OUT,
    FieldGetter,
    frame_columns,
)
from russo_nb.records import PROMPT_RECORD, SCENARIO_RECORD
from russo_nb.report import export, load_batch
from russo_nb.report.tables import TEXT_COLUMNS
from russo_nb.scenario import ScenarioResult
from russo_nb.types import BatchResult, RetriedAttempt, SingleRunResult


def _fields() -> set[str]:
    return set(SingleRunResult.model_fields)


RUN_LINE_FIELDS = [spec.name for spec in PROMPT_RECORD]


def test_every_run_field_has_one_cell_in_the_run_record():
    """The record (JSON lines, the row format) covers every field of both run models, each once."""
    for record, model in ((PROMPT_RECORD, SingleRunResult), (SCENARIO_RECORD, ScenarioResult)):
        names = [spec.name for spec in record] + [also for spec in record for also in spec.also]
        assert len(set(names)) == len(names)
        assert set(names) == set(model.model_fields), model.__name__


def test_every_run_field_has_a_run_table_column_or_a_reason_it_is_left_out():
    read = {spec.get.name for spec in frame_columns("prompts", files=True) if isinstance(spec.get, FieldGetter)}
    assert read | set(TABLE_LEAVES_OUT) == _fields()
    assert not read & set(TABLE_LEAVES_OUT)


def test_the_csv_text_columns_are_the_text_columns_of_the_run_table():
    declared = {spec.name for spec in RUN_TABLE if spec.dtype in ("str", "json")}
    assert set(TEXT_COLUMNS) == declared
    assert {"prompt", "evaluation", "effects", "error_traceback"} <= declared
    assert not {"run_index", "latency_s", "status", "seed"} & declared


def test_a_run_loaded_from_a_table_or_json_lines_has_every_field(tmp_path):
    run = make_run("=1+1 digits 007", 0, False, audio_key="0042", effects=["speed:1.1"])
    run.retried = (RetriedAttempt(type="RetryableError", message="busy", stage="agent"),)
    batch = BatchResult(runs=[run, make_run("2", 0, True)])
    for suffix in (".csv", ".parquet", ".jsonl"):
        loaded = load_batch(export(batch, tmp_path / f"runs{suffix}"))
        for got in loaded.runs:
            assert set(vars(got)) == _fields()
        first = loaded.runs[0]
        assert first.prompt == "=1+1 digits 007" and first.audio_key == "0042"  # text stays text
        assert first.effects == ["speed:1.1"] and first.prompt_id == run.prompt_id
    exact = load_batch(tmp_path / "runs.jsonl")
    assert exact == batch and exact.runs[0].retried == run.retried


def test_a_json_lines_run_line_has_one_cell_per_declared_field(tmp_path):
    retried = make_run("a", 0, True)
    retried.retried = (RetriedAttempt(type="RetryableError", message="busy", stage="agent"),)
    path = export(BatchResult(runs=[retried, make_run("b", 0, True)]), tmp_path / "runs.jsonl")
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["fields"] == list(RUN_LINE_FIELDS)
    run_lines = [json.loads(line) for line in lines if line.startswith("[")]
    # retried and conditions are optional trailing cells: a retried run without conditions has all but the last
    assert [len(cells) for cells in run_lines] == [len(RUN_LINE_FIELDS) - 1, len(RUN_LINE_FIELDS) - 2]


def test_json_lines_written_before_the_declaration_moved_still_load(tmp_path):
    """A version-2 file as the writer made it before RUN_LINE_FIELDS lived beside RUN_TABLE."""
    header = {
        "kind": "russo_nb.batch",
        "version": 2,
        "metadata": {"batch_id": "old1", "name": "old"},
        "runs": 1,
        "audio": 0,
        "fields": [*RUN_LINE_FIELDS],
    }
    body_lines = [
        '{"kind": "calls", "items": [["book", {"to": "LA"}]]}',
        '{"kind": "evals", "items": [[true, [0], [0], [[0, 0, true, ""]], ""]]}',
        '{"kind": "responses", "items": []}',
        '{"kind": "prompts", "items": [["Fly", "abcdef0123"]]}',
        '{"kind": "lists", "items": [[]]}',
        '[0, 0, "passed", 0, null, 0.5, null, 1, null, null, 0, null, null, null]',
    ]
    body = ("\n".join(body_lines) + "\n").encode("ascii")
    import hashlib

    header |= {"lines": len(body_lines), "sha256": hashlib.sha256(body).hexdigest()}
    path = tmp_path / "old.jsonl"
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    batch = load_batch(path)
    assert batch.total == 1 and batch.runs[0].prompt == "Fly" and batch.runs[0].latency_s == 0.5
    assert batch.runs[0].prompt_id == "abcdef0123" and batch.passed
    frame = batch.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and frame.loc[0, "expected"] == "book(to='LA')"
