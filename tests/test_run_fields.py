"""One declaration of a run's fields (russo_nb.run_fields.FIELDS) drives every reader and writer.

A field added to SingleRunResult / ScenarioResult without a declaration fails here, and a field
added to the declaration reaches the runs frame, CSV, Parquet, JSON lines, the row format, the
history store, lazily loaded runs, plain JSON and the notebook's runs table (one edit).
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_helpers import make_run
from pydantic.fields import FieldInfo

from russo_nb.model import run_fields
from russo_nb.model import types as russo_types
from russo_nb.model.columns import FieldGetter, RunColumn, field
from russo_nb.model.errors import ConfigurationError
from russo_nb.model.lazy_runs import LazyRuns
from russo_nb.model.records import decode_runs, encode_runs, record_fields
from russo_nb.model.run_fields import (
    BOTH,
    FIELDS,
    SCENARIOS,
    RunField,
    Shown,
    declared,
    frame_columns,
    run_table,
    run_to_plain,
)
from russo_nb.model.types import BatchResult, RetriedAttempt, SingleRunResult
from russo_nb.results.report import export, load_batch
from russo_nb.results.report.tables import check_table_loaders, text_columns
from russo_nb.results.store import HistoryStore
from russo_nb.scenario import ScenarioBatch, ScenarioResult
from russo_nb.surfaces.notebook.run_detail import run_detail_html
from russo_nb.surfaces.notebook.runs_table import row_label, runs_table_frame, shown_columns

RECORDED = Path(__file__).parent / "data"
MODELS = {"prompts": SingleRunResult, "scenarios": ScenarioResult}


# -- every model field is declared -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["prompts", "scenarios"])
def test_every_field_of_the_run_models_is_declared_once(kind):
    """A dataclass field of SingleRunResult / ScenarioResult without a declaration fails here."""
    names = [spec.name for spec in declared(kind)]
    assert len(set(names)) == len(names)
    assert set(names) == set(MODELS[kind].model_fields), MODELS[kind].__name__


@pytest.mark.parametrize("kind", ["prompts", "scenarios"])
def test_every_declared_field_has_one_row_cell(kind):
    """The row format (JSON lines, encode_runs) writes every field once: its own cell or beside another's."""
    record = record_fields(kind)
    names = [spec.name for spec in record] + [also for spec in record for also in spec.also]
    assert len(set(names)) == len(names)
    assert set(names) == set(MODELS[kind].model_fields)


@pytest.mark.parametrize("kind", ["prompts", "scenarios"])
def test_every_field_has_a_run_table_column_or_says_why_not(kind):
    for spec in declared(kind):
        assert bool(spec.table_columns()) != bool(spec.not_in_table), spec.name
    if kind == "prompts":  # a prompt table's columns read the fields they belong to
        read = {spec.get.name for spec in frame_columns(kind, files=True) if isinstance(spec.get, FieldGetter)}
        kept = {spec.name for spec in declared(kind) if not spec.not_in_table}
        assert read == kept


ROW_CHECK_OF_DTYPE = {"int": "int", "Int64": "int?", "float": "float", "bool": "bool", "category": "status"}


def test_a_fields_row_check_agrees_with_its_own_columns_dtype():
    """A plain row cell is checked as its column is typed (a float column's cell must be a number or null)."""
    for spec in FIELDS:
        if spec.dtype in ROW_CHECK_OF_DTYPE and spec.encode is None:
            assert spec.check == ROW_CHECK_OF_DTYPE[spec.dtype], spec.name
        if spec.dtype == "datetime":  # epoch seconds
            assert spec.check == "float", spec.name


def test_the_csv_text_columns_are_the_text_columns_of_the_run_table():
    declared_text = {spec.name for spec in run_table() if spec.dtype in ("str", "json")}
    assert set(text_columns()) == declared_text
    assert {"prompt", "evaluation", "effects", "error_traceback"} <= declared_text
    assert not {"run_index", "latency_s", "status", "seed"} & declared_text


def test_the_runs_table_shows_the_fields_declared_shown():
    keys = [column.key for column in shown_columns()]
    assert keys == ["prompt", "run_index", "status", "differs", "heard", "latency_s", "attempts"]


def test_run_to_plain_validates_back_to_the_same_run():
    run = make_run("book", 0, False, audio_key="k1", effects=["speed:1.1"])
    run.retried = (RetriedAttempt(type="RetryableError", message="busy", stage="agent"),)
    run.conditions = {"voice": "en-us", "snr_db": math.nan}
    data = json.loads(json.dumps(run_to_plain(run)))
    assert set(data) == set(SingleRunResult.model_fields)
    back = SingleRunResult.model_validate(data)
    assert back.model_dump(exclude={"conditions"}) == run.model_dump(exclude={"conditions"})
    assert back.conditions["voice"] == "en-us" and math.isnan(back.conditions["snr_db"])
    scenario = ScenarioResult(name="refund", success=True, messages=[{"role": "user", "content": "hi"}])
    data = run_to_plain(scenario)
    assert data.pop("audio") == []  # clips by key: the store keeps them in its audio table
    assert ScenarioResult.model_validate(data) == scenario


def test_a_run_loaded_from_a_table_or_json_lines_has_every_field(tmp_path):
    run = make_run("=1+1 digits 007", 0, False, audio_key="0042", effects=["speed:1.1"])
    run.retried = (RetriedAttempt(type="RetryableError", message="busy", stage="agent"),)
    batch = BatchResult(runs=[run, make_run("2", 0, True)])
    for suffix in (".csv", ".parquet", ".jsonl"):
        loaded = load_batch(export(batch, tmp_path / f"runs{suffix}"))
        for got in loaded.runs:
            assert set(vars(got)) == set(SingleRunResult.model_fields)
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
    cells = [spec.name for spec in record_fields("prompts")]
    assert header["fields"] == cells
    run_lines = [json.loads(line) for line in lines if line.startswith("[")]
    # retried and conditions are optional trailing cells: a retried run without conditions has all but the last
    assert [len(line) for line in run_lines] == [len(cells) - 1, len(cells) - 2]


def test_json_lines_written_before_the_declaration_moved_still_load(tmp_path):
    """A version-2 file as the writer made it before the fields were declared in run_fields."""
    header = {
        "kind": "russo_nb.batch",
        "version": 2,
        "metadata": {"batch_id": "old1", "name": "old"},
        "runs": 1,
        "audio": 0,
        "fields": [
            "prompt",
            "run_index",
            "status",
            "eval_result",
            "error",
            "latency_s",
            "synth_s",
            "attempts",
            "audio_key",
            "response",
            "effects",
            "seed",
            "started_at",
            "transcript",
        ],
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
    header |= {"lines": len(body_lines), "sha256": hashlib.sha256(body).hexdigest()}
    path = tmp_path / "old.jsonl"
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    batch = load_batch(path)
    assert batch.total == 1 and batch.runs[0].prompt == "Fly" and batch.runs[0].latency_s == 0.5
    assert batch.runs[0].prompt_id == "abcdef0123" and batch.passed
    frame = batch.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and frame.loc[0, "expected"] == "book(to='LA')"


# -- adding a field is one edit ----------------------------------------------------------------------------


def _add_model_field(model: type, name: str, annotation: object, default: object) -> None:
    model.__annotations__[name] = annotation
    model.model_fields[name] = FieldInfo(annotation=annotation, default=default)
    model.model_rebuild(force=True)


def _remove_model_field(model: type, name: str) -> None:
    model.model_fields.pop(name, None)
    model.__annotations__.pop(name, None)
    model.model_rebuild(force=True)


ADDED = {
    # name: (annotation, default, dtype, SQL type, values of three runs)
    "weight": (float | None, None, "float", "REAL", [2.5, None, 0.125]),
    "note": (str | None, None, "str", "TEXT", ["=1+1, digits 007", None, "b"]),
    "rank": (int, 0, "int", "INTEGER", [3, 0, -(2**40)]),
    "flagged": (bool, False, "bool", "INTEGER", [True, False, True]),
}
"""The field a test adds: a float, a text, a whole number and a bool."""


@pytest.fixture(params=list(ADDED))
def added(request, monkeypatch):
    """A new field on both run models, declared once in FIELDS (and nowhere else): its name and three values."""
    name = request.param
    annotation, default, dtype, sql, values = ADDED[name]
    spec = RunField(
        name,
        BOTH,
        f"A field added by a test ({dtype}).",
        check={"float": "float", "int": "int", "bool": "bool"}.get(dtype, "any"),
        dtype=dtype,
        sql=sql,
        shown=Shown(name, 7),
    )
    try:
        for model in MODELS.values():
            _add_model_field(model, name, annotation, default)
        russo_types._FIELD_SETS.clear()  # construct_fast's cached field names
        monkeypatch.setattr(run_fields, "FIELDS", (*FIELDS, spec))
        yield name, values, default
    finally:
        for model in MODELS.values():
            _remove_model_field(model, name)
        russo_types._FIELD_SETS.clear()


def _batch_with(name: str, values: list) -> BatchResult:
    runs = [make_run("book", 0, True), make_run("book", 1, False), make_run("cancel", 0, True)]
    for run, value in zip(runs, values, strict=True):
        setattr(run, name, value)
    runs[1].conditions = {"voice": "en-us"}
    return BatchResult(runs=runs)


def _cells(frame_column: pd.Series) -> list:
    """A frame column's cells as plain values, None for NaN."""
    return [None if isinstance(cell, float) and math.isnan(cell) else cell for cell in frame_column.tolist()]


def test_a_field_added_to_the_declaration_reaches_every_format(added, tmp_path):
    name, want, _ = added
    batch = _batch_with(name, want)

    frame = batch.to_dataframe()
    assert _cells(frame[name]) == want

    for suffix in (".csv", ".parquet"):
        path = export(batch, tmp_path / f"runs{suffix}")
        written = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
        assert name in written.columns
        loaded = load_batch(path)
        assert isinstance(loaded.runs, LazyRuns)
        loaded_frame = loaded.to_dataframe()  # from the stored columns, no run built
        assert loaded.runs.built_count == 0
        pd.testing.assert_series_equal(loaded_frame[name], frame[name])
        assert [getattr(run, name) for run in loaded.runs[1:2]] == want[1:2]  # one run built lazily
        assert [getattr(run, name) for run in loaded.runs] == want, suffix
        assert loaded.runs[0].status == "passed" and loaded.runs[1].conditions == {"voice": "en-us"}

    for suffix in (".jsonl", ".jsonl.gz"):
        exact = load_batch(export(batch, tmp_path / f"runs{suffix}"))
        assert [getattr(run, name) for run in exact.runs] == want and exact == batch
    header = json.loads((tmp_path / "runs.jsonl").read_text().splitlines()[0])
    assert header["fields"][-1] == name  # a trailing cell after the cells files have always had

    assert [getattr(run, name) for run in decode_runs(encode_runs(batch.runs))] == want

    store = HistoryStore(tmp_path / "history.sqlite")
    batch_id = store.record(batch)
    assert [getattr(run, name) for run in store.load(batch_id).runs] == want
    with sqlite3.connect(tmp_path / "history.sqlite") as conn:
        stored = [row[0] for row in conn.execute(f"SELECT {name} FROM runs ORDER BY seq")]
    assert stored == want

    plain = run_to_plain(batch.runs[0])
    assert plain[name] == want[0] and getattr(SingleRunResult.model_validate(plain), name) == want[0]

    table = runs_table_frame(batch)
    assert _cells(table[name]) == want
    assert [column.key for column in shown_columns()][-1] == name
    assert (
        row_label(table.iloc[2])
        .replace("\u00a0", " ")
        .rstrip()
        .endswith({"weight": "0.12", "note": "b", "rank": str(-(2**40))[:6] + "…", "flagged": "True"}[name])
    )
    assert f"<dt>{name}</dt><dd>" in run_detail_html(batch.runs[0])
    if want[1] is None:
        assert f"<dt>{name}</dt>" not in run_detail_html(batch.runs[1])  # no value, no fact


def test_a_field_added_to_the_declaration_reaches_scenario_runs(added, tmp_path):
    name, values, default = added
    runs = [
        ScenarioResult(name="refund", run_index=0, success=True, score=1.0, messages=[{"role": "user"}]),
        ScenarioResult(name="refund", run_index=1, success=False, score=0.5, messages=[{"role": "user"}]),
    ]
    setattr(runs[0], name, values[0])
    want = [values[0], default]
    batch = ScenarioBatch(runs=runs)
    assert _cells(batch.to_dataframe()[name]) == want
    for suffix in (".jsonl", ".csv", ".parquet"):
        loaded = load_batch(export(batch, tmp_path / f"scenarios{suffix}"))
        assert [getattr(run, name) for run in loaded.runs] == want, suffix
    assert [getattr(run, name) for run in decode_runs(encode_runs(runs))] == want
    store = HistoryStore(tmp_path / "history.sqlite")
    assert [getattr(run, name) for run in store.load(store.record(batch)).runs] == want
    assert run_to_plain(runs[0])[name] == values[0]


@pytest.fixture
def judge_model(monkeypatch):
    """A field only scenario runs have (``judge_model: str | None``), declared once in FIELDS."""
    spec = RunField("judge_model", SCENARIOS, "The judge's model.", dtype="str", sql="TEXT")
    try:
        _add_model_field(ScenarioResult, "judge_model", str | None, None)
        russo_types._FIELD_SETS.clear()
        monkeypatch.setattr(run_fields, "FIELDS", (*FIELDS, spec))
        yield "judge_model"
    finally:
        _remove_model_field(ScenarioResult, "judge_model")
        russo_types._FIELD_SETS.clear()


def test_a_scenario_only_field_reaches_scenario_formats_and_not_prompt_ones(judge_model, tmp_path):
    runs = [
        ScenarioResult(name="refund", success=True, judge_model="gpt-x"),
        ScenarioResult(name="refund", success=False),
    ]
    batch = ScenarioBatch(runs=runs)
    assert _cells(batch.to_dataframe()[judge_model]) == ["gpt-x", None]
    for suffix in (".jsonl", ".csv", ".parquet"):
        loaded = load_batch(export(batch, tmp_path / f"scenarios{suffix}"))
        assert [run.judge_model for run in loaded.runs] == ["gpt-x", None], suffix
    store = HistoryStore(tmp_path / "history.sqlite")
    store.record(batch)
    prompts = BatchResult(runs=[make_run("book", 0, True)])
    assert judge_model not in prompts.to_dataframe().columns  # a prompt batch has no such column
    store.record(prompts)
    with sqlite3.connect(tmp_path / "history.sqlite") as conn:
        stored = [row[0] for row in conn.execute("SELECT judge_model FROM runs ORDER BY rowid")]
    assert stored == ["gpt-x", None, None]  # the prompt run's is NULL


def test_runs_the_engine_makes_have_an_added_field_at_its_default(added):
    """The engine names the fields it sets; a field declared since gets the model's default."""
    import russo_nb as russo
    from russo_nb.model.types import AgentResponse, ToolCall

    async def agent(text):
        return AgentResponse(tool_calls=[ToolCall(name="book_flight", arguments={"to_city": "LA"})])

    name, _, default = added
    result = russo.run_concurrent_sync("Fly to LA", None, agent, expect=["book_flight(to_city='LA')"], runs=2)
    assert result.pass_rate == 1.0 and [getattr(run, name) for run in result.runs] == [default, default]
    assert set(vars(result.runs[0])) == set(SingleRunResult.model_fields)
    assert _cells(result.to_dataframe()[name]) == [default, default]


def test_files_written_before_a_field_was_added_load_with_its_default(added, tmp_path):
    name, _, default = added
    clean = load_batch(RECORDED / "noise_sweep_clean.jsonl")  # recorded by an earlier version
    every = [default] * clean.total
    assert clean.total and [getattr(run, name) for run in clean.runs] == every
    assert _cells(clean.to_dataframe()[name]) == every
    table = tmp_path / "before.csv"
    frame = pd.read_csv(export(clean, table))
    frame.drop(columns=[name]).to_csv(table, index=False)  # as the earlier version wrote it
    assert [getattr(run, name) for run in load_batch(table).runs] == every


def test_every_prompt_field_a_table_keeps_has_a_way_back():
    check_table_loaders()  # passes today: each field is read by its own column's dtype or by the load it declares
    loaded = {spec.name for spec in declared("prompts") if callable(spec.load)}
    assert {"status", "eval_result", "error", "retried", "effects", "response", "conditions"} <= loaded


def _detail_field(load: object) -> RunField:
    """A field kept in two number columns (no column of its own): ``{"in": x, "out": y}`` or None."""
    return RunField(
        "detail",
        BOTH,
        "Two numbers an adapter reported.",
        columns=(
            RunColumn("detail_in", field("detail", lambda d: d and d["in"], default=None), "float", "In."),
            RunColumn("detail_out", field("detail", lambda d: d and d["out"], default=None), "float", "Out."),
        ),
        load=load,
    )


def _load_detail(table, spec):
    """How the two columns become the field's value: what a field spread over columns declares as ``load``."""
    ins, outs = (table.numbers(column.name) for column in spec.columns)
    values = [None if math.isnan(a) else {"in": a, "out": b} for a, b in zip(ins.tolist(), outs.tolist())]
    return np.arange(table.n), values


def test_a_field_spread_over_columns_loads_back_by_the_load_it_declares(monkeypatch, tmp_path):
    """Adding a field kept in several columns is one edit: its declaration, with the load that reads them."""
    want = [{"in": 1.0, "out": 2.0}, None, {"in": 3.0, "out": 4.5}]
    try:
        for model in MODELS.values():
            _add_model_field(model, "detail", dict | None, None)
        russo_types._FIELD_SETS.clear()
        monkeypatch.setattr(run_fields, "FIELDS", (*FIELDS, _detail_field(_load_detail)))
        check_table_loaders()
        batch = _batch_with("detail", want)
        for suffix in (".csv", ".parquet", ".jsonl"):
            loaded = load_batch(export(batch, tmp_path / f"runs{suffix}"))
            assert [run.detail for run in loaded.runs] == want, suffix
    finally:
        for model in MODELS.values():
            _remove_model_field(model, "detail")
        russo_types._FIELD_SETS.clear()


@pytest.mark.parametrize("load", [None, "detail"])
def test_a_field_spread_over_columns_without_a_load_fails_to_load_by_name(load, monkeypatch, tmp_path):
    """A new field kept in several columns (no dtype of its own) and no load function: the file is written,
    and loading it says which field lacks a load (no KeyError from a run built later)."""
    spec = _detail_field(load)
    try:
        for model in MODELS.values():
            _add_model_field(model, "detail", dict | None, None)
        russo_types._FIELD_SETS.clear()
        monkeypatch.setattr(run_fields, "FIELDS", (*FIELDS, spec))
        batch = _batch_with("detail", [{"in": 1.0, "out": 2.0}, None, {"in": 3.0, "out": 4.0}])
        for suffix in (".csv", ".parquet"):
            written = export(batch, tmp_path / f"runs{suffix}")
            if suffix == ".csv":
                assert _cells(pd.read_csv(written)["detail_out"]) == [2.0, None, 4.0]
            with pytest.raises(ConfigurationError, match=r"'detail' \(columns: detail_in, detail_out\)"):
                load_batch(written)
        said = "load='detail', which is not a function" if load else "declares no load="
        with pytest.raises(ConfigurationError, match=said):
            check_table_loaders()
    finally:
        for model in MODELS.values():
            _remove_model_field(model, "detail")
        russo_types._FIELD_SETS.clear()


def test_the_field_is_gone_again_after_the_test_that_added_it():
    for name in ADDED:
        assert name not in SingleRunResult.model_fields and name not in ScenarioResult.model_fields
        assert name not in {spec.name for spec in run_table()}
        assert name not in [spec.name for spec in record_fields("prompts")]
