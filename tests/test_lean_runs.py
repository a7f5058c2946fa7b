"""Runs stored lean: equal calls, evaluations and responses kept once, in memory and in files."""

from __future__ import annotations

import russo_nb as russo
from russo_nb.lean import RunInterner, compact
from russo_nb.report import export, load_batch
from russo_nb.types import AgentResponse, BatchResult, EvalResult, SingleRunResult, ToolCall, ToolCallMatch


@russo.agent
async def fresh_agent(text: str) -> AgentResponse:
    """Builds a new response per run, as a real agent does."""
    city = "LA" if "LA" in text else "SF"
    return AgentResponse(tool_calls=[ToolCall(name="book_flight", arguments={"to_city": city})], text="booked")


def _batch() -> BatchResult:
    return russo.run_concurrent_sync(
        ["fly to LA", "fly to SF please"], agent=fresh_agent, expect="book_flight(to_city='LA')", runs=20
    )


def test_a_batch_keeps_each_distinct_evaluation_and_response_once():
    batch = _batch()
    assert batch.total == 40 and batch.passed_count == 20
    evaluations = {id(run.eval_result) for run in batch.runs}
    responses = {id(run.response) for run in batch.runs}
    calls = {id(call) for run in batch.runs for call in run.eval_result.actual + run.response.tool_calls}
    assert len(evaluations) == 2 and len(responses) == 2 and len(calls) == 2
    by_prompt = batch.by_prompt()
    assert all(run.eval_result.passed for run in by_prompt["fly to LA"])
    assert not any(run.eval_result.passed for run in by_prompt["fly to SF please"])
    assert by_prompt["fly to SF please"][0].response.tool_calls == [
        ToolCall(name="book_flight", arguments={"to_city": "SF"})
    ]


def test_runs_built_by_hand_are_compacted_without_changing_them():
    def run(i: int, city: str) -> SingleRunResult:
        want = ToolCall(name="book_flight", arguments={"to_city": "LA"})
        got = ToolCall(name="book_flight", arguments={"to_city": city})
        ev = EvalResult(
            passed=city == "LA",
            expected=[want],
            actual=[got],
            matches=[ToolCallMatch(expected=want, actual=got, matched=city == "LA")],
        )
        return SingleRunResult(
            prompt="p", run_index=i, eval_result=ev, response=AgentResponse(tool_calls=[got], raw={"id": [1, 2]})
        )

    runs = [run(i, "LA" if i % 2 else "SF") for i in range(10)]
    copies = [r.model_copy(deep=True) for r in runs]
    batch = compact(BatchResult(runs=runs))
    assert batch.runs == copies  # equal to what was built
    assert len({id(r.eval_result) for r in batch.runs}) == 2 and len({id(r.response) for r in batch.runs}) == 2
    odd = {"a": 1}
    odd["me"] = odd  # cannot be compared cheaply: kept as it is, never an error
    assert RunInterner().response(AgentResponse(raw=odd)).raw is odd


def test_jsonl_writes_each_expectation_once_and_runs_by_reference(tmp_path):
    batch = _batch()
    path = export(batch, tmp_path / "runs.jsonl")
    text = path.read_text()
    assert text.count('"to_city":"LA"') == 1 and text.count('"to_city":"SF"') == 1
    run_lines = [line for line in text.splitlines() if line.startswith("[")]
    assert len(run_lines) == 40 and max(len(line) for line in run_lines) < 200
    loaded = load_batch(path)
    assert loaded == batch
    assert len({id(run.eval_result) for run in loaded.runs}) == 2  # loads lean too
