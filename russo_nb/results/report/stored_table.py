"""A scenario batch loaded from a CSV / Parquet table, written to a table again from that table's columns.

A loaded scenario table keeps every run's record (the ``scenario_run`` JSON) and every column it was
read from (:class:`russo_nb.scenario.table_runs.ScenarioTableRuns`). Exporting it again used to build
all 10,000 runs (parse and validate each record) only to take their columns and encode each record
once more: about 2 s. While none of its runs has been built (so none was changed), the table is
written from its own columns instead (0.2-0.4 s): the runs-frame columns as ``to_dataframe()`` types
them (:func:`russo_nb.analysis.stored_frame.stored_frame`), the file-only columns and the records as
they were read, each distinct text made safe for the file once. A CSV comes out byte for byte, a
Parquet table column for column. A column that is not what its declaration says (a file edited by
hand) leaves the export to the runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["stored_file_parts"]


def stored_file_parts(result: Any, text: Callable[[str], str]) -> dict[str, tuple[Any, Any]] | None:
    """The file table of ``result`` from the table it was loaded from, as ``{name: (codes, typed)}`` (see
    :func:`russo_nb.results.analysis.frames.run_table_parts`); None unless it is a loaded table none of whose
    runs was built yet (a built run object may have been changed).

    ``text`` makes each distinct text cell safe for the file (the CSV formula guard, or the UTF-8 fix).
    The columns and their order are the stored table's, which the writer made.
    """
    import pandas as pd

    from ...scenario.table_runs import ScenarioTableRuns
    from ..analysis.stored_frame import blank_cells, stored_frame

    runs = getattr(result, "runs", None)
    if not isinstance(runs, ScenarioTableRuns) or runs.built_count:
        return None  # a run built may have been edited since: the runs say what the batch holds
    stored = runs.stored_table()
    if stored is None:
        return None
    table, csv = stored
    try:
        typed = stored_frame(table, result.metadata, csv=csv)
    except (ValueError, TypeError, KeyError, RecursionError):  # a column not as declared: the runs say
        return None
    blanks = blank_cells(files=True) if csv else {}
    if len(set(table.columns)) != len(table.columns):  # duplicated names: not a table this writer made
        return None
    parts: dict[str, tuple[Any, Any]] = {}
    for name in table.columns:
        kept = name in typed.columns
        column = typed[name] if kept else table[name]
        dtype = column.dtype
        coded = isinstance(dtype, pd.CategoricalDtype)  # a typed one (the status) stays a category
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype) or (coded and not kept):
            parts[str(name)] = _safe_texts(column, text, blanks.get(name))
        else:
            parts[str(name)] = (None, column.reset_index(drop=True) if isinstance(column, pd.Series) else column)
    return parts


def _safe_texts(column: Any, text: Callable[[str], str], blank: str | None = None) -> tuple[Any, Any]:
    """A text column as ``(codes, distinct cells)``, ``text`` applied once per distinct cell, a pandas text column
    (a missing cell is ``blank``, NaN when None); as read when a cell is no text."""
    import pandas as pd
    import pyarrow as pa

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    values = [text(value) if isinstance(value, str) else value for value in uniques.tolist()]
    if not all(type(value) is str for value in values):
        return None, column.reset_index(drop=True)  # not all text (a number in a text column): written as read
    if not values and blank is None:  # no text at all: objects, as the writer makes a column of None
        return None, pd.Series([None] * len(codes), dtype="object")
    values.append(blank)  # code -1: a missing cell
    codes = np.where(codes < 0, len(values) - 1, codes).astype(np.int64)
    return codes, pd.array(pa.array(values, type=pa.large_string()), dtype=pd.StringDtype(na_value=np.nan))
