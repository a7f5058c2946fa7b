"""A run table as CSV text, written from its arrays: the bytes ``DataFrame.to_csv`` writes, ten times sooner.

``frame.to_csv(index=False, lineterminator="\\r\\n")`` formats and quotes 4,000,000 cells one by
one for a 100,000-run table. Here each column is formatted once per distinct value (text,
numbers) or vectorized (times), quoted as the :mod:`csv` module does (``QUOTE_MINIMAL``: a
cell holding ``,``, ``"``, ``\\r`` or ``\\n`` is quoted, quotes doubled), and the rows are joined
in Arrow. The cells are the ones pandas writes: ``repr`` of floats, ``True`` / ``False``, the
same timestamp precision for every row (``2023-11-14 22:13:20.123456+00:00``), empty for a
missing value. A column of any other kind is left to pandas (:func:`csv_text` returns None).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...model.columns import in_order

__all__ = ["csv_pieces", "csv_text"]

_SPECIAL = (",", '"', "\r", "\n")


def _quoted(text: str) -> str:
    """``text`` as the csv module writes it with QUOTE_MINIMAL and the CRLF line terminator."""
    if any(mark in text for mark in _SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def _from_distinct(codes: np.ndarray, cells: list[str | None]) -> Any:
    import pyarrow as pa

    return pa.array(cells, type=pa.large_string()).take(pa.array(codes, type=pa.int64()))


def _quoted_texts(texts: Any) -> Any:
    """An Arrow text array quoted as :func:`_quoted` quotes each cell, in C (nulls stay null), as large_string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = texts.cast(pa.large_string())
    special = pc.match_substring_regex(texts, '[,"\r\n]')
    if not pc.any(special).as_py():
        return texts
    if not special.null_count and pc.all(special).as_py():  # every cell quoted (a JSON column)
        return _all_quoted(texts)
    special = special.fill_null(False)
    return pc.replace_with_mask(texts, special, _all_quoted(texts.filter(special)))


def _all_quoted(texts: Any) -> Any:
    """Each cell of a large_string array without nulls quoted: ``'"' + cell.replace('"', '""') + '"'``.

    Arrow's CSV writer quotes every text cell so (its ``needed`` quoting) three times sooner than a replace of the
    quotes (a JSON record has a quote in every seven bytes); written without line ends, its output is the quoted cells
    one after the other, and each cell's end moves by the quotes before it (counted in the text) and its own two.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    n = len(texts)
    sink = pa.BufferOutputStream()
    options = pa_csv.WriteOptions(include_header=False, eol="", quoting_style="needed")
    pa_csv.write_csv(pa.table({"cell": texts}), sink, options)
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset : texts.offset + n + 1]
    start = int(offsets[0])
    data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[start : int(offsets[-1])]
    quotes = np.flatnonzero(data == ord('"'))
    ends = offsets - start
    ends = ends + np.searchsorted(quotes, ends) + 2 * np.arange(n + 1, dtype=np.int64)
    body = sink.getvalue()
    if body.size != int(ends[-1]):  # not the quoting counted here (never seen): quoted by replacing, the same cells
        import pyarrow.compute as pc

        doubled = pc.replace_substring(texts, '"', '""')
        return pc.binary_join_element_wise(_text('"'), doubled, _text('"'), _text(""))
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(ends), body)


def _text_cells(column: Any) -> Any:
    """A text / categorical / object column: each distinct value quoted once, missing as null."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":  # text in Arrow: quoted in C
        return _quoted_texts(pa.array(column.array, type=pa.large_string()))

    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # an unhashable cell (a list): pandas writes it
        return None
    cells: list[str | None] = []
    for value in uniques:
        if not isinstance(value, str):
            return None  # a cell pandas would format itself (a list, a number in a text column ...)
        cells.append(_quoted(value))
    codes = np.asarray(codes, dtype=np.int64)
    missing = codes < 0
    if missing.any():
        codes = np.where(missing, len(cells), codes)
        cells.append(None)
    return _from_distinct(codes, cells)


def _number_cells(values: np.ndarray, missing: np.ndarray | None, whole: bool) -> Any:
    """Numbers as pandas writes them: ``repr`` of each float, ``str`` of each whole number; null where missing."""
    import pandas as pd
    import pyarrow as pa

    if whole:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    else:  # by bit pattern: 0.0 and -0.0 are written apart; NaN is missing, the empty cell
        values = np.asarray(values, dtype=np.float64)
        codes, bits = pd.factorize(values.view(np.int64))
        uniques = np.asarray(bits, dtype=np.int64).view(np.float64)
        gaps = np.isnan(values)
        missing = gaps if missing is None else missing | gaps
    codes = np.asarray(codes, dtype=np.int64)
    if missing is not None:
        codes = np.where(missing, -1, codes)
    if not whole and len(uniques) > _MANY_NUMBERS:
        cells = _float_texts(uniques)
        missing_code = codes < 0
        return cells.take(pa.array(np.where(missing_code, 0, codes), type=pa.int64(), mask=missing_code))
    texts: list[str | None] = list(map(str if whole else repr, uniques.tolist()))
    if (codes < 0).any():
        codes = np.where(codes < 0, len(texts), codes)
        texts.append(None)
    return _from_distinct(codes, texts)


_MANY_NUMBERS = 1_000
"""Distinct floats from which a column's cells are formatted by Arrow (one pass in C) rather than one by one."""


def _float_texts(numbers: np.ndarray) -> Any:
    """``repr`` of each float as Arrow text. Arrow writes the same shortest round-trip digits as ``repr``; where
    ``repr`` writes a fraction in fixed notation (``1e-4 <= |x| < 1e16``) and so does Arrow, the texts are the
    same. The rest (whole numbers: Arrow writes ``1`` for ``1.0``; exponents; inf) are written by ``repr``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pa.array(numbers, type=pa.float64()).cast(pa.large_string())
    size = np.abs(numbers)
    fixed = np.asarray(pc.match_substring(texts, ".")) & ~np.asarray(pc.match_substring(texts, "e"))
    same = fixed & (size >= 1e-4) & (size < 1e16)
    if same.all():
        return texts
    other = np.flatnonzero(~same)
    written = pa.array([repr(number) for number in numbers[other].tolist()], type=pa.large_string())
    return pc.replace_with_mask(texts, pa.array(~same), written)


def _time_cells(column: Any) -> Any:
    """UTC timestamps as pandas writes them: one precision (s, ms, us or ns) for the whole column, '+00:00'."""
    import pyarrow as pa

    if str(column.dt.tz) != "UTC":
        return None
    times = column.array
    naive = times.asi8.astype(f"datetime64[{times.unit}]").astype("datetime64[ns]")  # UTC wall clock
    ns = naive.view(np.int64)
    missing = np.isnat(naive)
    present = ns[~missing]
    unit = "s"
    if (present % 1_000_000_000 != 0).any():
        unit = "ms"
        if (present % 1_000_000 != 0).any():
            unit = "us"
            if (present % 1_000 != 0).any():
                unit = "ns"
    import pyarrow.compute as pc

    # Arrow writes a timestamp as 'YYYY-MM-DD HH:MM:SS' and the unit's fraction digits, as pandas does
    stamps = pa.array(naive.astype(f"datetime64[{unit}]"), mask=missing).cast(pa.large_string())
    return pc.binary_join_element_wise(stamps, _text("+00:00"), _text(""))


def _column_cells(column: Any) -> Any:
    """One column's cells as an Arrow text array (null: empty cell), or None when pandas must write it."""
    import pandas as pd

    dtype, kinds = column.dtype, pd.api.types
    if isinstance(dtype, pd.CategoricalDtype) or kinds.is_string_dtype(dtype) or kinds.is_object_dtype(dtype):
        return _text_cells(column)
    if pd.api.types.is_bool_dtype(dtype):
        missing = column.isna().to_numpy()
        codes = np.where(missing, 2, column.to_numpy(dtype=bool, na_value=False).astype(np.int64))
        return _from_distinct(codes, ["False", "True", None])
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _time_cells(column)
    if pd.api.types.is_integer_dtype(dtype):
        missing = column.isna().to_numpy()
        values = column.to_numpy(dtype=np.int64, na_value=0)
        return _number_cells(values, missing if missing.any() else None, whole=True)
    if pd.api.types.is_float_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return _number_cells(column.to_numpy(dtype=float), None, whole=False)
    return None


def _text(value: str) -> Any:
    import pyarrow as pa

    return pa.scalar(value, type=pa.large_string())


def csv_text(frame: Any) -> bytes | None:
    """``frame.to_csv(index=False, lineterminator="\r\n")`` of a run table as UTF-8 bytes, built from its arrays.

    None when a column is of a kind this does not write (the caller then lets pandas write it).
    """
    if frame.columns.duplicated().any():
        return None
    pieces = csv_pieces({name: (None, frame[name]) for name in frame.columns})
    return None if pieces is None else b"".join(pieces)


def csv_pieces(parts: dict[str, tuple[Any, Any]]) -> list[Any] | None:
    """What :func:`csv_text` writes for the frame whose column ``name`` is ``typed[codes]`` for each
    ``name: (codes, typed)`` of ``parts`` (``codes`` None: ``typed`` is the column), each distinct cell
    formatted once (see :func:`russo_nb.results.analysis.frames.run_table_parts`); None as for :func:`csv_text`.

    As the pieces to write one after the other (the header, then the rows' buffer as Arrow joined it: a file
    takes it without a copy into one bytes object)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    header = (",".join(_quoted(str(name)) for name in parts) + "\r\n").encode("utf-8")
    if len(parts) < 2:
        return None  # a one-column row of an empty cell is quoted by the csv module: leave it to pandas
    rows = {len(typed) if codes is None else len(codes) for codes, typed in parts.values()}
    if len(rows) != 1:
        raise ValueError(f"the columns of a table differ in length: {sorted(rows)}")
    if not rows.pop():
        return [header]
    columns = []
    for codes, typed in parts.values():
        cells = _column_cells(typed if isinstance(typed, pd.Series) else pd.Series(typed))
        if cells is None:
            return None
        if codes is not None and not in_order(codes, len(cells)):
            cells = cells.take(pa.array(codes, type=pa.int64()))
        columns.append(cells)
    # the line end joins the last cell, so the joined rows' data buffer is the whole body
    columns[-1] = pc.binary_join_element_wise(
        columns[-1], _text(""), _text("\r\n"), null_handling="replace", null_replacement=""
    )
    joined = pc.binary_join_element_wise(*columns, _text(","), null_handling="replace", null_replacement="")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset : joined.offset + len(joined) + 1]
    return [header, joined.buffers()[2][int(offsets[0]) : int(offsets[-1])]]
