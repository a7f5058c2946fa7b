"""A run table as a Parquet file, written from its coded columns: the file ``pa.Table.from_pandas`` gives, sooner.

:func:`russo_nb.results.analysis.frames.run_table_parts` gives each column as its distinct cells and a
code per row. Spreading a 100,000-run table's text over the rows (35 MB of evaluation JSON alone) and
then letting the Parquet writer hash it all back into dictionary pages is most of an export's time.
Here each text column goes to the writer as an Arrow dictionary array (codes into the distinct
cells): the writer takes its dictionary pages as given. The file keeps the schema the frame's table
has (text as ``large_string``, the pandas metadata, the batch metadata), stored in the footer under
``ARROW:schema`` as Arrow's own writer stores it, so every reader reads the columns as before — a
dictionary-encoded column reads back as text, not as a categorical.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from ...model.columns import in_order

__all__ = ["table_schema", "write_parquet_parts"]


def _sample(typed: Any, rows: int) -> Any:
    """``rows`` cells of a column, cycled: its type depends only on its dtype and the kinds of value it holds.

    Taken from the column's array (numpy or pandas), not through a Series: 55 columns of a scenario table
    are sampled in a fraction of a millisecond each, where a Series' ``iloc`` took a third of one."""
    import pandas as pd

    if isinstance(typed, pd.Series):
        typed = typed.array
    if len(typed) == 0:
        return typed
    index = np.arange(rows) % len(typed)
    return typed[index] if isinstance(typed, np.ndarray) else typed.take(index)


def _is_object(typed: Any) -> bool:
    return bool(np.dtype(object) == getattr(typed, "dtype", None))


_ONE_KIND = ({str}, {int}, {float}, {bool}, {int, float})
"""The kinds of cell one Arrow column holds as they are (whole numbers among floats: a double column)."""


def _one_kind(typed: Any) -> Any:
    """An object column as Arrow can type it: when its scalar cells are of kinds no one Arrow type holds (a
    condition that is ``True`` in one run and ``1`` or ``"a"`` in another), each cell that is not text written as
    the CSV file writes it (``True``, ``1``, ``2.5``; NaN missing), the column as text; the file's ``conditions``
    column keeps each run's value and type exactly. Any other column as it is."""
    if not _is_object(typed):
        return typed
    kinds = {type(value) for value in typed if value is not None}
    if not kinds or kinds in _ONE_KIND or not kinds <= {str, int, float, bool}:
        return typed
    cells = np.empty(len(typed), dtype=object)
    for index, value in enumerate(typed):
        cells[index] = value if value is None or type(value) is str else None if value != value else str(value)
    return cells


def table_schema(parts: dict[str, tuple[Any, Any]], metadata: dict[bytes, bytes]) -> Any:
    """The schema ``pa.Table.from_pandas(frame, preserve_index=False)`` gives for the frame of ``parts`` (pandas
    metadata included), with ``metadata`` added: typed from each column's distinct cells, which hold every kind
    of value the column does (what pandas and Arrow infer an object column's type from)."""
    import pandas as pd
    import pyarrow as pa

    inferred = [typed for _, typed in parts.values() if _is_object(typed)]
    rows = max(map(len, inferred), default=1)  # other columns are typed by their dtype alone: a cell will do
    sample = pd.DataFrame({name: _sample(typed, rows) for name, (_, typed) in parts.items()}, copy=False)
    schema = pa.Schema.from_pandas(sample, preserve_index=False)
    return schema.with_metadata({**(schema.metadata or {}), **metadata})


def _text_type(pa: Any, kind: Any) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _column(pa: Any, codes: Any, typed: Any, kind: Any) -> Any:
    """One column as Arrow: text as a dictionary array over its distinct cells (missing cells as null codes)."""
    values = pa.array(typed, type=kind, from_pandas=True)
    if codes is None:
        return values
    if not _text_type(pa, kind) or 2 * len(values) > len(codes):  # few repeats: a dictionary would not pay
        return values.take(pa.array(codes, type=pa.int64()))
    missing = None
    if values.null_count:
        missing = np.asarray(values.is_null(), dtype=bool)[codes]
        values = values.fill_null("")
    # each value once in the dictionary: cells coded by identity may be equal, and Arrow writes a dictionary that
    # holds a value twice with bytes of uninitialised memory in its page (two exports of one batch differed)
    encoded = values.dictionary_encode()
    codes = np.asarray(encoded.indices, dtype=np.int32)[codes]
    indices = pa.array(codes, type=pa.int32(), mask=missing)
    return pa.DictionaryArray.from_arrays(indices, encoded.dictionary)


def _spread(codes: Any, typed: Any) -> Any:
    """A column's codes, or None when there are none to apply: each row its own cell, in order (the scenario
    records), is the column as it is, neither taken again nor hashed for a dictionary page."""
    return None if codes is None or in_order(codes, len(typed)) else codes


def _rows(parts: dict[str, tuple[Any, Any]]) -> int:
    """How many rows the table of ``parts`` has (0 without a column)."""
    for codes, typed in parts.values():
        return len(typed) if codes is None else len(codes)
    return 0


def write_parquet_parts(parts: dict[str, tuple[Any, Any]], target: Path, metadata: dict[bytes, bytes]) -> None:
    """Write the table of ``parts`` (see :func:`russo_nb.results.analysis.frames.run_table_parts`) to ``target``:
    what ``pq.write_table(pa.Table.from_pandas(frame).replace_schema_metadata(...))`` writes for its frame, read back
    column for column the same, with ``metadata`` (bytes → bytes) added to the schema's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not _rows(parts):  # no run: the frame's own table (no cell to sample a column's type from)
        from ..analysis.frames import parts_frame

        table = pa.Table.from_pandas(parts_frame(parts), preserve_index=False)
        pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata}), target)
        return
    parts = {name: (_spread(codes, typed), _one_kind(typed)) for name, (codes, typed) in parts.items()}
    schema = table_schema(parts, metadata)
    arrays = [_column(pa, *parts[field.name], field.type) for field in schema]
    table = pa.Table.from_arrays(arrays, names=schema.names)
    stored = {**schema.metadata, b"ARROW:schema": base64.b64encode(schema.serialize().to_pybytes())}
    # dictionary pages for the columns of repeated cells and the categoricals (their dictionary is kept whole);
    # a column read per run (times, latencies) or of a distinct cell per run (the scenario records: 14 MB for
    # 10,000 runs) would only be hashed to find that out
    repeated = [
        field.name
        for field, array in zip(schema, arrays)
        if pa.types.is_dictionary(array.type) or parts[field.name][0] is not None
    ]
    with pq.ParquetWriter(target, table.schema, store_schema=False, use_dictionary=repeated) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata(stored)
