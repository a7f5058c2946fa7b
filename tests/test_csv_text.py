"""The CSV export writes, from arrays, exactly what ``DataFrame.to_csv`` writes (russo_nb.report.csv_text)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from russo_nb.report.csv_text import csv_text


def _pandas(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False, lineterminator="\r\n")
    return out.getvalue().encode("utf-8")


def _edge_frame() -> pd.DataFrame:
    n = 7
    return pd.DataFrame(
        {
            "text": ["a,b", 'q"x', "line\nx", "cr\rx", "", None, " sp"],
            "floats": [1.0, 0.5, np.nan, 1e-5, 1e16, -0.0, float("inf")],
            "ints": np.arange(n) - 3,
            "nullable": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
            "flags": np.array([True, False] * 3 + [True]),
            "maybe": pd.array([True, None, False, True, True, False, None], dtype="boolean"),
            "status": pd.Categorical(
                ["passed", "failed", "error", "passed", "passed", None, "timeout"],
                categories=["passed", "failed", "error", "timeout", "cancelled"],
            ),
            "seconds": pd.to_datetime([1.7e9, 1.7e9 + 1, None, 1.7e9 + 5, 1.7e9, 1.7e9, 1.7e9], unit="s", utc=True),
            "millis": pd.to_datetime([1.7e9 + 0.5, 1.7e9 + 1, None, 1.7e9, 1.7e9, 1.7e9, 1.7e9], unit="s", utc=True),
            "micros": pd.to_datetime(np.array([1.7e9 + 1e-6, 1.7e9 + 1, np.nan] + [1.7e9] * 4), unit="s", utc=True),
            "midnight": pd.to_datetime([1.7e9 - 1.7e9 % 86400] * n, unit="s", utc=True),
            "never": pd.to_datetime([np.nan] * n, unit="s", utc=True),
            "objects": pd.Series(["x", None, "y", "z", None, "'=1", "w"], dtype=object),
            "nothing": pd.Series([None] * n, dtype=object),
            "a, b": ["1"] * n,
        }
    )


def test_edge_cells_are_written_as_pandas_writes_them() -> None:
    frame = _edge_frame()
    assert csv_text(frame) == _pandas(frame)
    for name in frame.columns:  # each kind of column on its own (with a second column)
        pair = frame[[name, "ints"]] if name != "ints" else frame[["ints", "text"]]
        assert csv_text(pair) == _pandas(pair), name


def test_an_empty_table_is_its_header() -> None:
    frame = _edge_frame().iloc[:0]
    assert (
        csv_text(frame)
        == _pandas(frame)
        == (",".join(['"a, b"' if c == "a, b" else c for c in frame.columns]) + "\r\n").encode()
    )


@pytest.mark.parametrize("frame", [pd.DataFrame({"only": ["", "x"]}), pd.DataFrame({"lists": [[1], [2]], "n": [1, 2]})])
def test_what_it_does_not_write_is_left_to_pandas(frame: pd.DataFrame) -> None:
    assert csv_text(frame) is None


def test_an_exported_batch_is_the_csv_pandas_writes(tmp_path) -> None:
    from russo_nb.report import export
    from russo_nb.report.export import table_frame
    from russo_nb.types import AgentResponse, BatchResult, EvalResult, SingleRunResult, ToolCall

    call = ToolCall(name="book", arguments={"to": "LA, CA"})
    runs = [
        SingleRunResult(
            prompt=f'=book "{i % 3}", now',
            run_index=i,
            eval_result=EvalResult(passed=i % 2 == 0, expected=[call], actual=[call] if i % 2 == 0 else []),
            status="passed" if i % 2 == 0 else "failed",
            latency_s=None if i == 3 else 0.1 * i,
            started_at=None if i == 4 else 1_700_000_000.25 + i,
            response=AgentResponse(tool_calls=[call], text="line\r\nbreak") if i == 1 else None,
            seed=None if i == 2 else i,
            conditions={"voice": "amy", "snr_db": 5.0} if i % 2 else {},
        )
        for i in range(6)
    ]
    batch = BatchResult(runs=runs)
    path = export(batch, tmp_path / "runs.csv")
    assert path.read_bytes() == _pandas(table_frame(batch, csv=True))
