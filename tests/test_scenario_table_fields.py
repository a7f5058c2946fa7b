"""A scenario batch's run table read the fast way (each run's properties read together, each distinct cell
made once) holds the cells that reading every declared column of every run one by one gives."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from russo_nb.model.columns import FieldGetter, table_columns
from russo_nb.model.run_fields import frame_columns
from russo_nb.scenario import ScenarioBatch
from russo_nb.scenario.result import CriterionResult, ScenarioResult, transcript_facts
from russo_nb.types import BatchMetadata, RetriedAttempt, RunError, ToolCall


def _call(name: Any, arguments: Any, call_id: str = "c1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


TRANSCRIPTS: list[list[dict[str, Any]]] = [
    [  # two calls, then a reply
        {"role": "user", "content": "to Oslo", "audio_key": "clip-1"},
        {"role": "assistant", "content": None, "tool_calls": [_call("book", '{"to": "Oslo"}'), _call("pay", "{}")]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        {"role": "assistant", "content": '=Booked, "Oslo"\r\n'},
    ],
    [  # arguments already a dict: evaluated on its own; the clip named by the second user message
        {"role": "user", "content": "hi", "audio_key": ""},
        {"role": "assistant", "content": "", "tool_calls": [_call("get-weather", {"class": "x"})]},
        {"role": "user", "content": "again", "audio_key": 42},
    ],
    [  # no calls, a lone surrogate in the reply, a clip key on an assistant message (not a clip the agent heard)
        {"role": "user", "content": "sur\udc80"},
        {"role": "assistant", "content": "sur\udc80rogate", "audio_key": "not-heard", "tool_calls": None},
    ],
    [  # a malformed call and a call whose name is no text
        {"role": "assistant", "content": "a", "tool_calls": ["book"]},
        {"role": "assistant", "content": ["not", "text"], "tool_calls": [_call(7, "{}")]},
    ],
    [],  # nothing said
]


def hostile_runs(n: int = 30) -> list[ScenarioResult]:
    """Scenario runs of every shape a table meets: errors, retries, NaN / None cells, formula-like and non-ASCII
    text, voice clip keys, conditions and scores that differ per run, shared and distinct expected calls."""
    shared = [ToolCall(name="book", arguments={"to": "Oslo"})]
    texts = ["=1+1", "a,b", 'q"uote', "line\nbreak", "é ünï", "sur\udc80", "", "plain"]
    runs = []
    for i in range(n):
        text = texts[i % len(texts)]
        status = [None, None, "error", "timeout", "cancelled"][i % 5]
        error = (
            RunError(type="ValueError", message=f"bad {text}", stage="agent")
            if status in ("error", "timeout")
            else None
        )
        scores = [{"tool_calls": 1.0, "success": 0.0}, {}, {"judge": 0.5}, {"success": math.nan}][i % 4]
        runs.append(
            ScenarioResult(
                success=bool(i % 3),
                messages=json.loads(json.dumps(TRANSCRIPTS[i % len(TRANSCRIPTS)]).replace("\\udc80", "x"))
                if i % 2
                else TRANSCRIPTS[i % len(TRANSCRIPTS)],
                reasoning=[None, "", text][i % 3],
                failed_criteria=[] if i % 2 else ["c, one", text],
                agent_time=[None, 0.5, math.inf][i % 3],
                error=error,
                scores=scores,
                score=scores.get("success"),
                name=["scen A", "=scen B", "scén, C"][i % 3],
                status=status,
                run_index=i // 3,
                retried=(RetriedAttempt(type="RetryableError", message=text),) if i % 4 == 1 else (),
                seed=None if i % 6 == 0 else i,
                thread_id=None if i % 5 == 0 else f"th-{i}",
                tags=[] if i % 2 else ["booking", text],
                criteria_results=[CriterionResult(criterion="c1", passed=bool(i % 2))],
                expected_calls=[shared, [ToolCall(name="get-weather", arguments={"class": "x"})], []][i % 3],
                conditions=[{}, {"voice": "en", "snr_db": 10.0}, {"voice": None, "flag": True}, {"n": 1}][i % 4],
            )
        )
    return runs


def _one_by_one(runs: list[Any], specs: list[Any]) -> dict[str, list[Any]]:
    """Each column as its declaration reads it, run by run: ``render(get(run))``."""
    return {spec.name: [spec.render(spec.get(run)) if spec.render else spec.get(run) for run in runs] for spec in specs}


def _same(a: Any, b: Any) -> bool:
    return repr(a) == repr(b)  # NaN equals NaN; order and types matter


def test_the_table_holds_the_cells_each_run_gives_one_by_one() -> None:
    runs = hostile_runs()
    specs = [spec for spec in frame_columns("scenarios", files=True) if not spec.batch]
    fast = table_columns(runs, specs)
    slow = _one_by_one(runs, specs)
    for spec in specs:
        assert _same(fast[spec.name], slow[spec.name]), spec.name


@pytest.mark.parametrize("name", ["prompt", "prompt_id", "latency_s", "synth_s", "response", "effects", "transcript",
                                  "eval_result", "text", "audio_key"])  # fmt: skip
def test_table_fields_are_the_properties(name: str) -> None:
    runs = hostile_runs()
    got = ScenarioResult.table_fields(runs, [name])[name]
    assert _same(got, [getattr(run, name) for run in runs])
    if name == "eval_result":  # runs of the same outcome share one evaluation, read either way
        shared = [(a, run) for a, run in zip(got, runs) if transcript_facts(run.messages)[0] is not None]
        assert len(shared) > len(runs) / 2 and all(a is run.eval_result for a, run in shared)


def test_transcript_facts_read_calls_reply_and_clip_as_the_properties_do() -> None:
    calls, text, clip = transcript_facts(TRANSCRIPTS[0])
    assert calls == (("book", '{"to": "Oslo"}'), ("pay", "{}"))
    assert text == '=Booked, "Oslo"\r\n' and clip == "clip-1"
    assert transcript_facts(TRANSCRIPTS[1]) == (None, None, "42")  # dict arguments: not shared; '' is no clip
    assert transcript_facts(TRANSCRIPTS[2]) == ((), "sur\udc80rogate", None)  # only a user message names a clip
    assert transcript_facts(TRANSCRIPTS[3]) == (None, "a", None)
    assert transcript_facts([{"role": "assistant", "tool_calls": 5}])[0] is None  # no list: evaluated on its own
    assert transcript_facts([]) == ((), None, None)


def test_a_batch_of_mixed_run_classes_reads_each_run_as_it_is() -> None:
    class Marked(ScenarioResult):
        @property
        def text(self) -> str | None:  # a subclass answering a property its own way is read its own way
            return "marked"

    runs = hostile_runs(6)
    runs[3] = Marked(**{name: getattr(runs[3], name) for name in ScenarioResult.model_fields})
    spec = next(spec for spec in frame_columns("scenarios", files=True) if spec.name == "text")
    assert isinstance(spec.get, FieldGetter)
    assert table_columns(runs, [spec])["text"] == [run.text for run in runs] and runs[3].text == "marked"


def test_a_hostile_scenario_batch_is_written_as_pandas_writes_its_table(tmp_path) -> None:
    """The CSV bytes are ``to_csv`` of the table frame; the Parquet table is ``Table.from_pandas`` of it."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from russo_nb.report import export
    from russo_nb.report.export import table_frame

    batch = ScenarioBatch(runs=hostile_runs(), metadata=BatchMetadata(kind="scenarios", batch_id="b=1"))
    out = io.StringIO()
    table_frame(batch, csv=True).to_csv(out, index=False, lineterminator="\r\n")
    assert export(batch, tmp_path / "runs.csv").read_bytes() == out.getvalue().encode("utf-8")
    written = export(batch, tmp_path / "runs.parquet")
    pq.write_table(pa.Table.from_pandas(table_frame(batch), preserve_index=False), tmp_path / "pandas.parquet")
    assert pq.read_table(written).equals(pq.read_table(tmp_path / "pandas.parquet"))


def test_conditions_equal_in_python_are_written_apart(tmp_path) -> None:
    """``True == 1 == 1.0`` and ``0.0 == -0.0``, yet each run's conditions cell is its own JSON (written once per
    distinct dict, never from an equal one's)."""
    from analysis_helpers import make_run

    from russo_nb.report import export, load_batch
    from russo_nb.types import BatchResult

    values = [True, 1, 1.0, -0.0, 0.0, 0.0, math.nan]
    runs = [make_run("p", index, True) for index in range(len(values))]
    for run, value in zip(runs, values):
        run.conditions = {"x": value}
    loaded = load_batch(export(BatchResult(runs=runs), tmp_path / "runs.csv"))
    assert _same([run.conditions["x"] for run in loaded.runs], values)
    assert [type(run.conditions["x"]) for run in loaded.runs] == list(map(type, values))


def test_a_record_per_run_is_written_plain_and_repeated_cells_as_a_dictionary(tmp_path) -> None:
    """The scenario records (one distinct cell per run, in order) are neither spread over the rows again nor hashed
    into a dictionary page; a column of repeated cells still gets one. Both read back as the text they hold."""
    import pyarrow.parquet as pq

    from russo_nb.model.columns import in_order
    from russo_nb.report import export

    assert in_order([0, 1, 2], 3) and not in_order([0, 0, 1], 2) and not in_order([1, 0], 2)
    batch = ScenarioBatch(runs=hostile_runs(), metadata=BatchMetadata(kind="scenarios"))
    path = export(batch, tmp_path / "runs.parquet")
    meta = pq.ParquetFile(path).metadata.row_group(0)
    chunks = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    assert not chunks["scenario_run"].has_dictionary_page and chunks["prompt"].has_dictionary_page
    from russo_nb.report.export import table_frame

    table, frame = pq.read_table(path), table_frame(batch)
    for name in ("scenario_run", "prompt", "text"):
        assert table[name].to_pylist() == [None if cell != cell else cell for cell in frame[name]], name


@pytest.mark.parametrize("kind", ["prompts", "scenarios"])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_an_empty_batch_exports_and_loads_back_empty(tmp_path, kind: str, suffix: str) -> None:
    """No run: no cell to type a column from (the Parquet writer failed with 'NumPyConverter doesn't implement <null>
    conversion'); the file has the table's columns and loads back as an empty batch of the same kind."""
    from russo_nb.report import export, load_batch
    from russo_nb.types import BatchResult

    batch = BatchResult(runs=[]) if kind == "prompts" else ScenarioBatch(runs=[], metadata=BatchMetadata(kind=kind))
    loaded = load_batch(export(batch, tmp_path / f"runs{suffix}"))
    assert type(loaded) is type(batch) and loaded.total == 0
    assert list(loaded.to_dataframe().columns) == list(batch.to_dataframe().columns)


def test_cells_are_coded_by_identity_in_first_seen_order() -> None:
    """Equal objects of other types (True, 1, 1.0; 0.0, -0.0) stay apart; every row its own, one for all, or mixed."""
    from russo_nb.model.columns import _by_identity

    one, other = [1], [1]
    for values in ([True, 1, 1.0, 0.0, -0.0], [one] * 4, [], [one, other, one, None, other, None]):
        codes, cells = _by_identity(values)
        assert [cells[code] for code in codes.tolist()] == values
        assert all(cells[code] is value for code, value in zip(codes.tolist(), values))
        assert len(cells) == len({id(value) for value in values})
        assert [id(cell) for cell in cells] == list(dict.fromkeys(map(id, values)))  # first-seen order
