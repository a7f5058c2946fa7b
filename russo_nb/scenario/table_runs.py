"""The runs of a scenario batch loaded from a CSV / Parquet table, each ScenarioResult built on first access.

A scenario table keeps every run's whole record as JSON (the ``scenario_run`` column) beside its
run-table columns. Loading a 10,000-run table used to parse and validate all 10,000 records into
:class:`~russo_nb.scenario.result.ScenarioResult` objects (about 30× the bare ``pandas.read_parquet``).
A loaded scenario batch now keeps each run's JSON text and builds run ``i`` (parse, validate, attach its
clips) the first time it is asked for. The load still checks what is cheap (the column is there, each
cell is text, each status is a run status); a damaged record is the same one-line error naming the file
and row, raised when that run is first built.

The table holds every column of the runs frame, so ``to_dataframe()`` of a loaded batch is read from those
columns without building a run (:meth:`ScenarioTableRuns.stored_table`, read by
:func:`russo_nb.results.analysis.stored_frame.stored_frame`). The counts (``pass_rate``, ``status_counts``)
come from the status column; every other reader (the view, the explorer, resume, sweeps, statistics) reads
the runs (:meth:`ScenarioTableRuns.field_values` answers no field), building them as a list would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..model.errors import InvalidArgumentError, first_line
from ..model.lazy_runs import RunsOnDemand, status_counts_of
from ..model.lean import RunInterner
from ..model.types import Audio, count_statuses
from .result import ScenarioResult

__all__ = ["ScenarioRunsOnDemand", "ScenarioTableRuns"]


class ScenarioRunsOnDemand(RunsOnDemand):
    """Scenario runs kept as their stored form, run ``row`` built by ``_build(row)`` the first time it is asked for.

    The first mutation makes them a plain list of every run, after which ``_drop()`` lets the stored form go.
    """

    def __init__(self, n: int) -> None:
        self._built: list[ScenarioResult | None] = [None] * n
        self._list: list[ScenarioResult] | None = None

    @property
    def built_count(self) -> int:
        """How many run objects exist so far."""
        if self._list is not None:
            return len(self._list)
        return sum(run is not None for run in self._built)

    def _build(self, row: int) -> ScenarioResult:
        raise NotImplementedError

    def _drop(self) -> None:
        """Let the stored form go (the runs are a plain list now)."""

    def _get(self, row: int) -> ScenarioResult:
        run = self._built[row]
        if run is None:
            run = self._built[row] = self._build(row)
        return run

    def _build_all(self) -> list[ScenarioResult]:
        return [self._get(row) for row in range(len(self._built))]

    def _materialize(self) -> list[ScenarioResult]:
        """Every run as a plain list, from now on the only storage."""
        if self._list is None:
            self._list = self._build_all()
            self._drop()
        return self._list

    def __len__(self) -> int:
        return len(self._list) if self._list is not None else len(self._built)


class ScenarioTableRuns(ScenarioRunsOnDemand):
    """Scenario runs as their JSON records (``texts[codes[i]]`` for row ``i``), each built once on first access.

    ``frame``: the table as read, for :meth:`stored_table` (None: not kept).
    ``clips``: the clips read beside the file (:func:`russo_nb.results.report.export.attach_audio`); a run built
    afterwards gets the clips it names, as an eagerly loaded run did.
    """

    def __init__(
        self, codes: np.ndarray, texts: list[str], source: Path, frame: Any = None, status: np.ndarray | None = None
    ) -> None:
        super().__init__(len(codes))
        self._status = status
        self._codes: np.ndarray | None = codes
        self._texts: list[str] | None = texts
        self._source = source
        self._frame = frame
        self._interner = RunInterner()  # equal expected calls and conditions shared, as in the exported batch
        self.clips: dict[str, Audio] | None = None

    def status_counts(self) -> dict[str, int]:
        """How many runs ended in each status (first-seen order), from the status column when it was kept."""
        if self._list is not None or self._status is None:
            return count_statuses(self._list if self._list is not None else self._build_all())
        return status_counts_of(self._status)

    def field_values(self, name: str) -> None:
        """None: a table keeps a scenario run whole (its record), not as run fields; readers read the runs."""
        return None

    def stored_table(self) -> tuple[Any, bool] | None:
        """The table the runs were read from and whether it is a CSV file's; None when it is not kept (the runs
        were changed, so only the runs say what the batch holds)."""
        if self._frame is None or self._list is not None:
            return None
        return self._frame, self._source.suffix.lower() != ".parquet"

    def _build(self, row: int) -> ScenarioResult:
        """Run ``row`` from its JSON record; a damaged record is one error naming the file and row."""
        assert self._codes is not None and self._texts is not None
        try:
            data = json.loads(self._texts[self._codes[row]])
            keys = data.pop("audio", None) or []
            run = ScenarioResult.model_validate(data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidArgumentError(
                f"{str(self._source)!r} row {row + 1}: cannot read the scenario run ({first_line(exc)})"
            ) from None
        clips = self.clips
        run.audio = dict.fromkeys(keys) if clips is None else {key: clips[key] for key in keys if key in clips}
        values = run.__dict__
        values["expected_calls"] = [self._interner.call(call) for call in values["expected_calls"]]
        values["conditions"] = self._interner.conditions(values["conditions"])
        return run

    def _drop(self) -> None:
        self._codes = self._texts = self._frame = self._status = None
