"""The CSV and Parquet exports write, from the run table's coded columns, the files pandas writes of its frame:
the bytes of ``to_csv`` (russo_nb.results.report.csv_text), and the schema, metadata and columns of
``pa.Table.from_pandas`` (russo_nb.results.report.parquet_table), read back as before."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from russo_nb.report import export, load_batch
from russo_nb.report.export import table_frame
from russo_nb.types import AgentResponse, BatchResult, EvalResult, RunError, SingleRunResult, ToolCall


def _runs(n: int, shared_conditions: dict | None = None) -> list[SingleRunResult]:
    call = ToolCall(name="book", arguments={"to": "LA, CA"})
    passed = EvalResult(passed=True, expected=[call], actual=[call])
    missed = EvalResult(passed=False, expected=[call], actual=[])
    runs = []
    for i in range(n):
        run = SingleRunResult(
            prompt=f'=book "{i % 3}", now' if i % 5 else f"book {i % 3}",
            run_index=i,
            eval_result=passed if i % 2 == 0 else missed,
            status="passed" if i % 2 == 0 else ("error" if i % 7 == 3 else "failed"),
            error=RunError(type="ConnectionError", message="reset \ud800", stage="agent", traceback="tb\n")
            if i % 7 == 3
            else None,
            latency_s=None if i == 3 else 0.1 * i,
            started_at=None if i == 4 else 1_700_000_000.25 + i,
            response=AgentResponse(tool_calls=[call], text="line\r\nbreak", usage={"input_tokens": 7})
            if i == 1
            else None,
            seed=None if i == 2 else i,
            audio_key=None if i % 4 else "clip",
            effects=["noise:white:10dB"] if i % 3 else [],
        )
        if shared_conditions is not None:
            run.__dict__["conditions"] = shared_conditions  # one dict for the batch, as the engine shares it
        else:
            run.conditions = {"voice": "amy", "snr_db": 5.0, "take": i % 2, "loud": i % 3 == 0} if i % 2 else {}
        runs.append(run)
    return runs


def _clean(runs) -> list[list]:
    """The fields a table keeps exactly (its times are cut to nanoseconds, its text made UTF-8 safe)."""
    names = ["prompt", "status", "latency_s", "seed", "conditions", "text", "effects", "audio_key", "eval_result"]
    return [[getattr(run, name) for name in names] for run in runs]


def _old_table(batch: BatchResult) -> pa.Table:
    """What the export wrote before: the frame's table through pandas, the batch metadata added."""
    frame = table_frame(batch)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    extra = {
        **table.schema.metadata,
        b"russo_nb.metadata": batch.metadata.model_dump_json().encode("utf-8"),
        b"russo_nb.runs": str(len(frame)).encode("ascii"),
    }
    return table.replace_schema_metadata(extra)


BATCHES = pytest.mark.parametrize(
    "runs",
    [_runs(12), _runs(40, {"agent_version": "v2", "snr_db": 10.0}), _runs(1), _runs(6, {})],
    ids=["mixed", "shared-conditions", "one-run", "no-conditions"],
)


@BATCHES
def test_the_csv_file_is_the_one_pandas_writes(tmp_path, runs) -> None:
    batch = BatchResult(runs=runs)
    path = export(batch, tmp_path / "runs.csv")
    out = io.StringIO()
    table_frame(batch, csv=True).to_csv(out, index=False, lineterminator="\r\n")
    assert path.read_bytes() == out.getvalue().encode("utf-8")
    assert _clean(load_batch(path).runs) == _clean(batch.runs)


@BATCHES
def test_the_parquet_file_is_the_one_pandas_gives(tmp_path, runs) -> None:
    batch = BatchResult(runs=runs)
    path = export(batch, tmp_path / "runs.parquet")
    old = tmp_path / "old.parquet"
    pq.write_table(_old_table(batch), old)

    assert pq.read_metadata(path).metadata == pq.read_metadata(old).metadata  # schema, pandas metadata, batch
    assert pq.read_table(path).equals(pq.read_table(old), check_metadata=True)
    pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(old))
    pd.testing.assert_frame_equal(load_batch(path).to_dataframe(), load_batch(old).to_dataframe())
    assert list(load_batch(path).runs) == list(load_batch(old).runs)
    assert _clean(load_batch(path).runs) == _clean(batch.runs)


def test_text_columns_are_written_as_dictionary_pages_and_read_back_as_text(tmp_path) -> None:
    batch = BatchResult(runs=_runs(40, {"agent_version": "v2"}))
    path = export(batch, tmp_path / "runs.parquet")
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    evaluation = meta.row_group(0).column(names.index("evaluation"))
    assert evaluation.has_dictionary_page
    table = pq.read_table(path)
    assert table.schema.field("evaluation").type == pa.large_string()  # not a dictionary: text, as before
    assert pa.types.is_dictionary(table.schema.field("status").type)  # the status categorical, as before


def test_a_column_of_mostly_distinct_texts_is_written_plain(tmp_path) -> None:
    runs = _runs(30)
    for i, run in enumerate(runs):
        run.prompt = f"prompt number {i}"
        run.prompt_id = None
    batch = BatchResult(runs=[SingleRunResult.model_validate(run.model_dump()) for run in runs])
    path = export(batch, tmp_path / "runs.parquet")
    assert pq.read_table(path).column("prompt").to_pylist() == [f"prompt number {i}" for i in range(30)]
    assert [run.prompt for run in load_batch(path).runs] == [run.prompt for run in batch.runs]


def test_many_floats_and_old_times_are_the_cells_pandas_writes() -> None:
    """Past a thousand distinct floats Arrow formats them (repr where Arrow's text differs); times of any era."""
    import numpy as np

    from russo_nb.report.csv_text import csv_text

    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**64, 3000, dtype=np.uint64).view(np.float64)
    edges = [0.0, -0.0, 1.0, 1e16, 1.5e16, 1e-4, 9.9e-5, 1e-5, 123456789012345.6, 1e15, 0.1, np.inf, -np.inf, np.nan]
    floats = np.concatenate([rng.lognormal(-1, 4, 3000), bits[np.isfinite(bits)][:2000], edges])
    stamps = rng.integers(-(2**62), 2**62, len(floats)).astype("datetime64[ns]")
    frame = pd.DataFrame({"x": floats, "when": pd.to_datetime(stamps, utc=True), "n": np.arange(len(floats))})
    out = io.StringIO()
    frame.to_csv(out, index=False, lineterminator="\r\n")
    assert csv_text(frame) == out.getvalue().encode("utf-8")


def test_a_categorical_column_keeps_its_categories(tmp_path) -> None:
    """A whole categorical column (not coded) is still written with its dictionary: unused categories come back."""
    import numpy as np

    from russo_nb.results.report.parquet_table import write_parquet_parts

    status = pd.Categorical(["passed", "failed"] * 5, categories=["passed", "failed", "error", "timeout"])
    latency = np.linspace(0.1, 1.0, 10)
    write_parquet_parts({"status": (None, status), "latency_s": (None, latency)}, tmp_path / "t.parquet", {})
    frame = pd.read_parquet(tmp_path / "t.parquet")
    assert list(frame["status"].cat.categories) == ["passed", "failed", "error", "timeout"]
    assert frame["latency_s"].tolist() == latency.tolist()


@pytest.mark.parametrize("source", [".parquet", ".csv"])
def test_a_loaded_table_is_written_again_from_its_columns(tmp_path, source) -> None:
    """Exporting a loaded CSV / Parquet batch reads its stored columns (the agent text too): no run is built."""
    batch = BatchResult(runs=_runs(12))
    loaded = load_batch(export(batch, tmp_path / f"runs{source}"))
    written = [export(loaded, tmp_path / f"again{suffix}") for suffix in (".parquet", ".csv")]
    assert loaded.runs.built_count == 0
    for path in written:
        again = load_batch(path)
        pd.testing.assert_frame_equal(again.to_dataframe(), loaded.to_dataframe())
        assert _clean(again.runs) == _clean(loaded.runs)


HOSTILE_CELLS = ["=1+1", "'=2", "''@x", "+3", "-4", "\tfive", "\rsix", "plain", "café", "=café", 'naïve, "q"', None, ""]


@pytest.mark.parametrize("csv", [True, False])
def test_text_cells_fixed_in_arrow_are_the_cells_fixed_one_by_one(csv) -> None:
    """The writers' text fix is applied only where Arrow finds a cell it may change: the same cells as one by one."""
    from russo_nb.results.analysis.frames import _text_column
    from russo_nb.results.report.export import _neutralize, _safe

    fix = _neutralize if csv else _safe
    fixed = _text_column(HOSTILE_CELLS, fix)
    one_by_one = [None if cell is None else fix.cell(cell) for cell in HOSTILE_CELLS]
    assert [None if cell is None or cell != cell else cell for cell in fixed.tolist()] == one_by_one
    assert (fixed[0] == "'=1+1") is csv and fixed[7] == "plain"
    with_surrogate = _text_column([*HOSTILE_CELLS, "lone \ud800"], fix)  # not UTF-8: fixed one by one
    assert with_surrogate[len(HOSTILE_CELLS)] == "lone \\ud800" and with_surrogate[0] == fixed[0]
    assert _text_column(["text", b"bytes"], fix).tolist() == ["text", b"bytes"]  # not text: kept as it is


def test_text_cells_are_quoted_in_arrow_as_the_csv_module_quotes_them() -> None:
    import csv as csv_module

    from russo_nb.results.report.csv_text import _text_cells

    cells = ["a", 'say "hi"', "x,y", "line\nbreak", "cr\r", None, ""]
    column = pd.Series(pd.array(pa.array(cells, type=pa.large_string()), dtype=pd.StringDtype(na_value=float("nan"))))
    out = io.StringIO()
    csv_module.writer(out, lineterminator="\r\n").writerow([cell for cell in cells if cell is not None])
    expected = out.getvalue()[: -len("\r\n")].split(",")
    quoted = [cell for cell in _text_cells(column).to_pylist() if cell is not None]
    assert ",".join(quoted) == ",".join(expected)
