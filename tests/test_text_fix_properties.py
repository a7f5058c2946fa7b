"""Property tests: the text fixes and CSV quoting done in Arrow are exactly the per-cell Python ones they replace.

For lists of hostile cells (would-be formulas, tabs, CR / LF, quotes, commas, NUL and other control characters,
non-ASCII, emoji, lone surrogates, very long cells, None): every writer's :class:`TextFix` flags in Arrow every cell
its per-cell fix changes, ``_quoted_texts`` quotes as ``_quoted`` does, and CSV / Parquet / JSON-lines exports of a
prompt batch and of a scenario batch holding those cells load back equal, with no CSV cell an unguarded formula.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import re

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from analysis_helpers import loaded_back
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from russo_nb.model.lazy_runs import collections_paused
from russo_nb.model.serialize import safe_text
from russo_nb.report import export, load_batch
from russo_nb.report.export import table_frame
from russo_nb.results.analysis.frames import TextFix, _text_column
from russo_nb.results.report.csv_text import _quoted, _quoted_texts, csv_text
from russo_nb.results.report.export import _neutralize, _safe
from russo_nb.types import AgentResponse, BatchResult, EvalResult, SingleRunResult, ToolCall

FIXES = {"csv": _neutralize, "parquet": _safe}
"""Every TextFix a writer uses (``grep -n "TextFix(" russo_nb``): the CSV writer's and the Parquet writer's."""

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
_CONTROLS = [*"=+-@'\t\r\n\",", "\x00", "\x01", "\x1b", "\x7f", "\x85", "\u2028", " "]
_WIDE = [*"éß中😀", "👩\u200d💻", "\ufeff", "\u202e", "a", "1"]
HOSTILE_CHARS = st.sampled_from([*_CONTROLS, *_WIDE])
PREFIXES = st.sampled_from(
    ["", "=", "+", "-", "@", "\t", "\r", "\n", "'", "''", "'=", "''+", " =", "\x00=", '"=', "é="]
)


def _cells(surrogates: bool) -> st.SearchStrategy[str]:
    any_char = st.characters() if surrogates else st.characters(codec="utf-8")  # utf-8: no lone surrogate
    chars = st.one_of(HOSTILE_CHARS, any_char, *([SURROGATES] if surrogates else []))
    body = st.lists(chars, max_size=12).map("".join)  # pieces, not characters: an emoji sequence is one piece
    unit = st.lists(chars, min_size=1, max_size=4).map("".join)
    long = st.builds(lambda text, times: text * times, unit, st.integers(500, 3000))
    return st.builds(lambda prefix, rest: prefix + rest, PREFIXES, st.one_of(body, body, body, long))


def _columns(surrogates: bool, none: bool = True) -> st.SearchStrategy[list[str | None]]:
    cell = st.one_of(_cells(surrogates), st.none()) if none else _cells(surrogates)
    return st.lists(cell, min_size=1, max_size=12)


FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- (1) the Arrow predicate flags every cell the per-cell fix changes --------------------------------------------


@FAST
@given(cells=_columns(surrogates=False))
@pytest.mark.parametrize("writer", sorted(FIXES))
def test_the_arrow_predicate_flags_every_cell_the_fix_changes(writer, cells) -> None:
    fix: TextFix = FIXES[writer]
    flagged = fix.changes(pa.array(cells, type=pa.large_string())).tolist()
    assert len(flagged) == len(cells)
    for cell, flag in zip(cells, flagged, strict=True):
        if cell is None:
            assert not flag  # a missing cell is never handed to the per-cell fix
        elif fix.cell(cell) != cell:
            assert flag, f"{writer}: {cell!r} is changed by the per-cell fix but not flagged in Arrow"


@FAST
@given(cells=_columns(surrogates=True))
@pytest.mark.parametrize("writer", sorted(FIXES))
def test_a_text_column_fixed_in_arrow_is_the_column_fixed_cell_by_cell(writer, cells) -> None:
    fix = FIXES[writer]
    column = _text_column(cells, fix)
    got = [None if cell is None or cell != cell else cell for cell in list(column)]
    assert got == [None if cell is None else fix.cell(cell) for cell in cells]
    assert all(_is_utf8(cell) for cell in got if cell is not None)  # every fixed cell is writable as UTF-8
    if writer == "csv":
        assert not any(re.match(r"[=+\-@\t\r]", cell) for cell in got if cell is not None)


@FAST
@given(cell=_cells(surrogates=True))
def test_safe_text_changes_only_what_utf8_cannot_hold(cell) -> None:
    safe = safe_text(cell)
    assert _is_utf8(safe)
    assert (safe == cell) is _is_utf8(cell)


# -- (2) the Arrow quoting is the per-cell quoting (and the csv module's) ----------------------------------------


@FAST
@given(cells=_columns(surrogates=False))
def test_arrow_quoting_is_the_per_cell_quoting(cells) -> None:
    quoted = _quoted_texts(pa.array(cells, type=pa.large_string())).to_pylist()
    assert quoted == [None if cell is None else _quoted(cell) for cell in cells]


@FAST
@given(cells=_columns(surrogates=False, none=False), mark=st.sampled_from([*',"\r\n']), skip=st.integers(0, 2))
def test_a_column_whose_every_cell_is_quoted_is_quoted_per_cell(cells, mark, skip) -> None:
    """Every cell quoted (a JSON column: Arrow's CSV writer quotes it whole), also from an array's slice."""
    column = pa.array([mark + cell for cell in cells], type=pa.large_string())
    sliced = column.slice(min(skip, len(column) - 1))
    quoted = _quoted_texts(sliced).to_pylist()
    assert quoted == [_quoted(cell) for cell in sliced.to_pylist()]


@FAST
@given(cells=_columns(surrogates=False, none=False).filter(lambda cells: len(cells) >= 2))
def test_the_per_cell_quoting_is_the_csv_modules(cells) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    assert ",".join(map(_quoted, cells)) + "\r\n" == out.getvalue()


@FAST
@given(cells=_columns(surrogates=False))
def test_a_text_frame_is_written_as_pandas_writes_it(cells) -> None:
    """An Arrow text column (quoted in C) and an object column (quoted per distinct cell) beside each other."""
    frame = pd.DataFrame(
        {
            "arrow": pd.array(pa.array(cells, type=pa.large_string()), dtype=pd.StringDtype(na_value=float("nan"))),
            "objects": pd.Series(cells, dtype=object),
        }
    )
    out = io.StringIO()
    frame.to_csv(out, index=False, lineterminator="\r\n")
    assert csv_text(frame) == out.getvalue().encode("utf-8")


# -- (3) exports of batches holding the cells load back equal ----------------------------------------------------


def _prompt_batch(cells: list[str | None], metadata=None) -> BatchResult:
    runs = []
    for index, cell in enumerate(cells):
        text = cell if cell is not None else "x"
        call = ToolCall(name="book", arguments={"to": text, "note": cell})
        runs.append(
            SingleRunResult(
                prompt=safe_text(text),  # a prompt must be UTF-8 (its id hashes it): the other fields need not
                run_index=index,
                eval_result=EvalResult(passed=index % 2 == 0, expected=[call], actual=[call] if index % 2 == 0 else []),
                status="passed" if index % 2 == 0 else "failed",
                latency_s=0.25 * index,
                response=AgentResponse(tool_calls=[call], text=cell),
                effects=[text] if index % 3 == 1 else [],
                audio_key=cell,
                seed=index,
            )
        )
        runs[-1].conditions = {"variant": text} if index % 2 else {}
    return BatchResult(runs=runs) if metadata is None else BatchResult(runs=runs, metadata=metadata)


def _prompt_fields(runs) -> list[list]:
    names = ["prompt", "run_index", "status", "latency_s", "seed", "conditions", "effects", "eval_result", "text"]
    return [[getattr(run, name) for name in names] for run in runs]


def _csv_cells_are_guarded(path, frame: pd.DataFrame) -> None:
    """No text cell of the CSV file starts as a formula (a number column may start with '-')."""
    numbers = {name for name in frame.columns if pd.api.types.is_numeric_dtype(frame[name].dtype)}
    limit = csv.field_size_limit(1 << 30)  # very long cells
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    finally:
        csv.field_size_limit(limit)
    header = rows[0]
    for row in rows[1:]:
        for name, cell in zip(header, row, strict=True):
            if name not in numbers:
                assert not re.match(r"[=+\-@\t\r]", cell), f"{name}: unguarded formula cell {cell!r}"


EXACT = st.lists(st.one_of(_cells(surrogates=False).filter(bool), st.none()), min_size=1, max_size=6)
"""Cells every format keeps exactly: not '' (a CSV cell cannot tell '' from None), no lone surrogate."""

ROUND_TRIP = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@ROUND_TRIP
@given(cells=EXACT)
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".sqlite"])
def test_a_prompt_batch_of_hostile_cells_loads_back_equal(tmp_path_factory, suffix, cells) -> None:
    batch = _prompt_batch(cells)
    path = tmp_path_factory.mktemp("prompt") / f"runs{suffix}"
    loaded = loaded_back(batch, path)
    assert _prompt_fields(loaded.runs) == _prompt_fields(batch.runs)
    pd.testing.assert_frame_equal(loaded.to_dataframe(), batch.to_dataframe())
    if suffix == ".csv":
        _csv_cells_are_guarded(path, table_frame(batch, csv=True))


def _scenario_batch(template, cells: list[str | None]):
    runs = []
    for index, cell in enumerate(cells):
        base = template.runs[index % len(template.runs)]
        text = cell if cell is not None else "x"
        arguments = json.dumps({"to_city": text, "note": cell}, ensure_ascii=index % 2 == 0)
        messages = [
            {"role": "user", "content": text},
            {
                "role": "assistant",
                "content": cell,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "book_flight", "arguments": arguments}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": cell},
        ]
        runs.append(
            base.model_copy(
                update={
                    "run_index": index,
                    "messages": messages,
                    "reasoning": cell,
                    "passed_criteria": [text],
                    "tags": [text],
                    "conditions": {"agent_version": text} if index % 2 else {},
                }
            )
        )
    return type(template)(runs=runs, metadata=template.metadata)


@ROUND_TRIP
@given(cells=EXACT)
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".sqlite"])
def test_a_scenario_batch_of_hostile_cells_loads_back_equal(scenario_batch, tmp_path_factory, suffix, cells) -> None:
    batch = _scenario_batch(scenario_batch, cells)
    path = tmp_path_factory.mktemp("scenario") / f"runs{suffix}"
    loaded = loaded_back(batch, path)
    pd.testing.assert_frame_equal(loaded.to_dataframe(), batch.to_dataframe())
    assert list(loaded.runs) == batch.runs
    if suffix == ".csv":
        _csv_cells_are_guarded(path, table_frame(batch, csv=True))


ANY = st.lists(st.one_of(_cells(surrogates=True), st.just(""), st.none()), min_size=1, max_size=6)
"""Any cells, '' and lone surrogates too: what a history store must keep exactly (it has no CSV cell or UTF-8 file)."""


@ROUND_TRIP
@given(cells=ANY)
@example(cells=["", None, "a\ud800b", "\udc00", "\ud800\udc00", "=1, 2", "\U0001f600\ud800"]).via("discovered failure")
def test_a_batch_of_any_cells_is_recorded_and_loaded_back_equal(scenario_batch, tmp_path_factory, cells) -> None:
    """Prompt and scenario batches through a real HistoryStore file: the same runs and frames, '' apart from None
    (agent text, audio key) and each lone surrogate kept as it was (prompts, scenario names, effects, agent text)."""
    folder = tmp_path_factory.mktemp("store")
    metadata = _prompt_batch(["m"]).metadata
    prompt = _prompt_batch(cells, metadata)
    for index, run in enumerate(prompt.runs):  # a prompt, effect and audio key holding exactly the cell
        run.prompt = cells[index] if cells[index] is not None else "x"
        run.effects = [cells[index] or "", ", "] if index % 2 else []
    scenario = _scenario_batch(scenario_batch, cells)
    scenario.runs = [
        run.model_copy(update={"name": cell if cell is not None else "x"}) for run, cell in zip(scenario.runs, cells)
    ]
    for name, batch in (("prompt", prompt), ("scenario", scenario)):
        loaded = loaded_back(batch, folder / f"{name}.sqlite")
        assert list(loaded.runs) == list(batch.runs)
        pd.testing.assert_frame_equal(loaded.to_dataframe(), batch.to_dataframe())
        if name == "prompt":
            assert [(run.prompt, run.effects, run.text, run.audio_key) for run in loaded.runs] == [
                (run.prompt, run.effects, run.text, run.audio_key) for run in batch.runs
            ]
        else:
            assert [run.name for run in loaded.runs] == [run.name for run in batch.runs]


PAIRED = re.compile("[\ud800-\udbff][\udc00-\udfff]")
"""Two lone surrogates that JSON (``"\\ud800\\udc00"``) reads back as the one character they pair to."""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(_cells(surrogates=True), min_size=1, max_size=4))
@example(cells=["\ud800\udc00", "a\udbff\udfffb", "\udc00"])  # pairs JSON joins, beside a lone one
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_lone_surrogates_are_written_escaped_and_load(scenario_batch, tmp_path_factory, suffix, cells) -> None:
    """A cell no UTF-8 holds: a table's text column holds its ``safe_text``; JSON lines keeps the run exactly."""
    folder = tmp_path_factory.mktemp("surrogate")
    metadata = _prompt_batch(["m"]).metadata  # one batch id for both batches of a pair
    for make in (lambda cells: _prompt_batch(cells, metadata), lambda cells: _scenario_batch(scenario_batch, cells)):
        batch = make(cells)
        loaded = load_batch(export(batch, folder / f"runs{suffix}"))
        assert len(loaded.runs) == len(cells)
        if suffix == ".jsonl":
            if not any(map(PAIRED.search, cells)):
                assert list(loaded.runs) == list(batch.runs)
                pd.testing.assert_frame_equal(loaded.to_dataframe(), batch.to_dataframe())
            else:  # JSON reads an escaped high + low surrogate back as the one character they spell in UTF-16
                joined = make(
                    [cell.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass") for cell in cells]
                )
                expected = [  # a prompt is made UTF-8 safe before it is written (safe_text): it comes back as it was
                    run.model_copy(update={"prompt": original.prompt, "prompt_id": original.prompt_id})
                    if isinstance(original, SingleRunResult)
                    else run
                    for run, original in zip(joined.runs, batch.runs)
                ]
                assert list(loaded.runs) == expected
            continue
        # a table file is valid UTF-8 (each text cell its safe_text) and loads to the same runs and statuses
        path = folder / f"runs{suffix}"
        if suffix == ".csv":
            path.read_bytes().decode("utf-8")
            _csv_cells_are_guarded(path, table_frame(batch, csv=True))
        else:
            pq.read_table(path)
        assert [run.prompt for run in loaded.runs] == [run.prompt for run in batch.runs]
        assert loaded.to_dataframe()["status"].tolist() == batch.to_dataframe()["status"].tolist()


# -- collections_paused(kept=True) leaves the collector as it found it -------------------------------------------


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("fails", [False, True])
def test_collections_paused_leaves_the_collector_as_found(enabled, frozen, fails) -> None:
    was_enabled, outer = gc.isenabled(), gc.get_freeze_count()
    (gc.enable if enabled else gc.disable)()
    held = [[index] for index in range(100)]
    try:
        if frozen:
            gc.freeze()
        before = gc.get_freeze_count()
        assert before > 0 if frozen else before == outer
        kept: list = []
        try:
            with collections_paused(kept=True):
                assert not gc.isenabled()
                kept.extend([index, str(index)] for index in range(1000))
                if fails:
                    raise KeyError("inside")
        except KeyError:
            assert fails
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == before
        assert len(kept) == 1000 and len(held) == 100
    finally:
        if not outer:
            gc.unfreeze()
        (gc.enable if was_enabled else gc.disable)()
