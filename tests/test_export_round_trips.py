"""Hostile values that an export used to crash on or write back changed, each exported to real CSV, Parquet and
JSON-lines files and loaded back: a lone surrogate in a scenario name (its prompt_id), conditions equal in Python
yet written apart (``0.0`` / ``-0.0``, ``True`` / ``1`` / ``1.0``, NaN) across runs, and effect names holding the
``', '`` the effects cell is joined with.
"""

from __future__ import annotations

import hashlib
import math

import pyarrow.parquet as pq
import pytest
from analysis_helpers import loaded_back, make_run
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from russo_nb.model.lean import RunInterner
from russo_nb.model.serialize import safe_text
from russo_nb.model.table_loads import effects_cell, effects_from_cell
from russo_nb.model.types import prompt_id
from russo_nb.report import export
from russo_nb.report.export import table_frame
from russo_nb.types import BatchResult, RunError, ToolCall

SUFFIXES = [".csv", ".parquet", ".jsonl", ".sqlite"]
"""The export files, and (``.sqlite``) a HistoryStore the batch is recorded into and loaded from."""
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _written(value):
    """A value as JSON tells it apart: its type and its repr (``-0.0`` is not ``0.0``, NaN is NaN)."""
    return type(value), repr(value)


# -- a lone surrogate in a scenario name ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_scenario_name_with_a_lone_surrogate_exports_and_loads(scenario_batch, tmp_path, suffix) -> None:
    name = "book \ud800 Oslo"
    runs = [scenario_batch.runs[0].model_copy(update={"name": name}), *scenario_batch.runs[1:]]
    batch = type(scenario_batch)(runs=runs, metadata=scenario_batch.metadata)
    loaded = loaded_back(batch, tmp_path / f"runs{suffix}")
    assert [run.name for run in loaded.runs] == [run.name for run in runs]  # exact: the record keeps it escaped
    assert list(loaded.runs) == batch.runs
    if suffix == ".parquet":  # the readable column holds the name escaped, as any cell UTF-8 cannot carry
        table = pq.read_table(tmp_path / "runs.parquet")
        assert table.column("prompt")[0].as_py() == safe_text(name)
        assert table.column("prompt_id")[0].as_py() == prompt_id(name) != prompt_id(safe_text(name))


@given(text=st.text())
def test_the_prompt_id_of_text_is_the_sha1_of_its_utf8(text) -> None:
    """Ids are kept in history databases: valid text keeps the id it always had."""
    assert prompt_id(text) == hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def test_a_lone_surrogate_has_an_id_of_its_own() -> None:
    assert prompt_id("book a flight to Oslo") == "4923ab8e2e"  # as recorded by earlier versions
    assert len({prompt_id("a\ud800"), prompt_id("a\\ud800"), prompt_id("a\udc00"), prompt_id("a")}) == 4


# -- conditions equal in Python, written apart -----------------------------------------------------------------


def test_the_interner_keeps_values_json_writes_apart() -> None:
    interner = RunInterner()
    dicts = [{"x": 0.0}, {"x": -0.0}, {"x": True}, {"x": 1}, {"x": 1.0}]
    shared = [interner.conditions(dict(each)) for each in dicts + dicts]
    assert [_written(each["x"]) for each in shared] == [_written(each["x"]) for each in dicts + dicts]
    assert all(a is b for a, b in zip(shared[:5], shared[5:]))  # equal dicts still shared
    calls = [interner.call(ToolCall(name="f", arguments={"a": [value]})) for value in (0.0, -0.0, math.nan, 1, True)]
    assert [_written(call.arguments["a"][0]) for call in calls] == [
        _written(value) for value in (0.0, -0.0, math.nan, 1, True)
    ]
    assert interner.call(ToolCall(name="f", arguments={"a": [-0.0]})) is calls[1]


SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.sampled_from([0.0, -0.0, 1.0, math.nan, math.inf, 0, 1, True, False]),
    st.floats(allow_nan=True),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=5),
    st.none(),
)


@EXAMPLES
@given(values=st.lists(SCALARS, min_size=1, max_size=6))
@example(values=[0.0, -0.0]).via("discovered failure")
@example(values=[-0.0, 0.0, True, 1, 1.0, math.nan, "a", None]).via("discovered failure")
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_condition_of_mixed_values_loads_back_exactly(tmp_path_factory, suffix, values) -> None:
    """Each run's condition value and type come back, whatever the other runs hold in the same column."""
    runs = [make_run("p", index, index % 2 == 0) for index in range(len(values))]
    for run, value in zip(runs, values):
        run.conditions = {"flag": value}
    loaded = loaded_back(BatchResult(runs=runs), tmp_path_factory.mktemp("c") / f"runs{suffix}")
    assert [_written(run.conditions["flag"]) for run in loaded.runs] == list(map(_written, values))


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("values", [[0.0, -0.0], [-0.0, 0.0], [True, 1, 1.0], ["a", 2, None]])
def test_a_scenario_batch_keeps_each_runs_condition(scenario_batch, tmp_path, suffix, values) -> None:
    base = scenario_batch.runs
    runs = [
        base[index % len(base)].model_copy(update={"run_index": index, "conditions": {"flag": value}})
        for index, value in enumerate(values)
    ]
    batch = type(scenario_batch)(runs=runs, metadata=scenario_batch.metadata)
    loaded = loaded_back(batch, tmp_path / f"runs{suffix}")
    assert [_written(run.conditions["flag"]) for run in loaded.runs] == list(map(_written, values))


def test_a_mixed_condition_column_of_a_parquet_file_is_text_as_csv_writes_it(tmp_path) -> None:
    values = [True, 1, 2.5, math.nan, "a"]
    runs = [make_run("p", index, True) for index in range(len(values))]
    for run, value in zip(runs, values):
        run.conditions = {"flag": value}
    column = pq.read_table(export(BatchResult(runs=runs), tmp_path / "runs.parquet")).column("flag").to_pylist()
    assert column == ["True", "1", "2.5", None, "a"]
    csv_cells = table_frame(BatchResult(runs=runs), csv=True)["flag"].tolist()
    assert [str(cell) for cell in csv_cells[:3]] == column[:3]


# -- effect names holding the joining ', ' ---------------------------------------------------------------------

NAMES = st.lists(
    st.one_of(
        st.sampled_from(["", ", ", ",", " ", "[", "[]", '["x"]', "a, b", "echo", "=1", "\n"]),
        st.text(st.characters(codec="utf-8"), max_size=6),
        st.text(st.characters(), max_size=4),  # lone surrogates too: a JSON cell keeps them
    ),
    max_size=4,
)


@EXAMPLES
@given(effects=st.lists(NAMES, min_size=1, max_size=4))
@example(effects=[["=", ", "], ["a, b"], [""], ['["x"]'], ["echo", "noise"], ["a\ud800", "b"]]).via(
    "discovered failure"
)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_list_of_effect_names_loads_back_equal(tmp_path_factory, suffix, effects) -> None:
    runs = [make_run("p", index, True, effects=names) for index, names in enumerate(effects)]
    loaded = loaded_back(BatchResult(runs=runs), tmp_path_factory.mktemp("e") / f"runs{suffix}")
    assert [run.effects for run in loaded.runs] == effects


@given(effects=NAMES)
def test_the_effects_cell_reads_back_as_its_list(effects) -> None:
    assert effects_from_cell(effects_cell(effects)) == effects


def test_ordinary_effect_names_keep_the_joined_cell_and_old_cells_load_as_before(tmp_path) -> None:
    runs = [make_run("p", 0, True, effects=["echo", "noise 10 dB"]), make_run("p", 1, True, effects=["a, b"])]
    assert table_frame(BatchResult(runs=runs))["effects"].tolist() == ["echo, noise 10 dB", '["a, b"]']
    # cells written by earlier versions: the joined text, split as it always was
    assert effects_from_cell("echo, noise 10 dB") == ["echo", "noise 10 dB"]
    assert effects_from_cell("a, , b") == ["a", "b"]
    assert effects_from_cell("[reverb, echo") == ["[reverb", "echo"]  # not JSON: the joined form
    assert effects_from_cell("") == []


# -- Parquet bytes ---------------------------------------------------------------------------------------------


def test_two_parquet_exports_of_one_batch_are_the_same_bytes(tmp_path) -> None:
    """Equal cells of distinct objects (each run's own error, equal stages) are one dictionary entry: a dictionary
    holding a value twice was written with bytes of uninitialised memory in its page, different per export."""
    runs = []
    for index in range(60):
        error = RunError(type="ConnectionError", message=f"reset {index % 4}", stage="agent") if index % 3 else None
        runs.append(
            make_run(
                f"p{index % 5}",
                index,
                index % 2 == 0,
                status="error" if error else None,
                error=error,
                audio_key=None if index % 4 else f"clip {index % 3}",
                effects=["echo"] if index % 2 else [],
            )
        )
    batch = BatchResult(runs=runs)
    files = {export(batch, tmp_path / f"runs{copy}.parquet").read_bytes() for copy in range(6)}
    assert len(files) == 1
    assert pq.read_table(tmp_path / "runs0.parquet").column("error_stage").to_pylist() == [
        "agent" if index % 3 else "" for index in range(60)
    ]
