"""Builders for analysis tests and the scale benchmark: hand-built and synthetic batches."""

from __future__ import annotations

import numpy as np
from foundation_helpers import tone

from russo_nb.types import (
    AgentResponse,
    Audio,
    BatchMetadata,
    BatchResult,
    EvalResult,
    RunError,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
    prompt_id,
)


def make_run(
    prompt: str,
    run_index: int,
    passed: bool,
    *,
    expected: list[ToolCall] | None = None,
    actual: list[ToolCall] | None = None,
    status: str | None = None,
    latency_s: float | None = None,
    error: RunError | None = None,
    audio_key: str | None = None,
    effects: list[str] | None = None,
    started_at: float | None = None,
) -> SingleRunResult:
    """A run built by hand the way a user would, with real match objects."""
    expected = expected if expected is not None else [ToolCall(name="book_flight", arguments={"to_city": "LA"})]
    if actual is None:
        actual = list(expected) if passed else [ToolCall(name="book_flight", arguments={"to_city": "SF"})]
    matches = []
    for want in expected:
        hit = next((call for call in actual if call == want), None)
        matches.append(
            ToolCallMatch(
                expected=want,
                actual=hit if hit is not None else (actual[0] if actual else None),
                matched=hit is not None,
                details="" if hit is not None else "to_city: expected 'LA', got 'SF'",
            )
        )
    ev = EvalResult(passed=passed, expected=expected, actual=actual, matches=matches)
    return SingleRunResult(
        prompt=prompt,
        run_index=run_index,
        eval_result=ev,
        status=status,
        latency_s=latency_s,
        error=error,
        audio_key=audio_key,
        effects=effects or [],
        started_at=started_at,
    )


def batch_from_outcomes(outcomes: dict[str, list[bool | str]], **meta: object) -> BatchResult:
    """prompt -> per-run outcome (True passed, False failed, or a status string like 'error')."""
    runs = []
    for p_index, (prompt, results) in enumerate(outcomes.items()):
        for index, outcome in enumerate(results):
            if isinstance(outcome, str):
                err = RunError(type="TimeoutError", message="agent took too long", stage="agent")
                runs.append(make_run(prompt, index, False, status=outcome, error=err, latency_s=None))
            else:
                runs.append(make_run(prompt, index, bool(outcome), latency_s=0.1 * (index + 1) + p_index))
    return BatchResult(runs=runs, metadata=BatchMetadata(**meta))


def synthetic_batch(n_prompts: int = 1000, runs: int = 100, seed: int = 0, with_audio: int = 0) -> BatchResult:
    """A large batch built with ``model_construct`` (no validation), for speed tests.

    Each prompt has its own true pass rate drawn from a Beta(4, 1) distribution; some runs
    error out; latencies are log-normal.
    """
    rng = np.random.default_rng(seed)
    rates = rng.beta(4, 1, size=n_prompts)
    meta = BatchMetadata(name="synthetic", agent="synthetic-agent", runs_per_prompt=runs, effects=["noise:white:10dB"])
    audio: dict[str, Audio] = {}
    out: list[SingleRunResult] = []
    outcomes = rng.random((n_prompts, runs))
    errors = rng.random((n_prompts, runs)) < 0.01
    latency = rng.lognormal(mean=-1.0, sigma=0.5, size=(n_prompts, runs))
    for p in range(n_prompts):
        prompt = f"Book a flight from city {p} to LA, please (variant {p % 7})"
        pid = prompt_id(prompt)
        want = [ToolCall.model_construct(name="book_flight", arguments={"from_city": f"C{p}", "to_city": "LA"})]
        wrong = [ToolCall.model_construct(name="book_flight", arguments={"from_city": f"C{p}", "to_city": "SF"})]
        hit = [ToolCallMatch.model_construct(expected=want[0], actual=want[0], matched=True, details="")]
        miss = [
            ToolCallMatch.model_construct(
                expected=want[0], actual=wrong[0], matched=False, details="to_city: expected 'LA', got 'SF'"
            )
        ]
        ev_pass = EvalResult.model_construct(passed=True, expected=want, actual=want, matches=hit, details="")
        ev_fail = EvalResult.model_construct(passed=False, expected=want, actual=wrong, matches=miss, details="")
        key = None
        if p < with_audio:
            clip = tone(200 + p, seconds=0.2)
            key = clip.content_key()
            audio[key] = clip
        for r in range(runs):
            ok = bool(outcomes[p, r] < rates[p])
            err = None
            status = "passed" if ok else "failed"
            if errors[p, r]:
                status = "error"
                err = RunError.model_construct(type="RuntimeError", message="agent crashed", stage="agent")
            out.append(
                SingleRunResult.model_construct(
                    prompt=prompt,
                    run_index=r,
                    eval_result=ev_pass if status == "passed" else ev_fail,
                    status=status,
                    error=err,
                    latency_s=float(latency[p, r]),
                    synth_s=0.01,
                    attempts=1,
                    audio_key=key,
                    response=AgentResponse.model_construct(tool_calls=[], text=None, raw=None),
                    prompt_id=pid,
                    effects=meta.effects,
                    seed=r,
                    started_at=1_700_000_000.0 + p * runs + r,
                    transcript=None,
                )
            )
    return BatchResult.model_construct(runs=out, audio=audio, metadata=meta)


def loaded_back(batch, path):
    """``batch`` written to ``path`` and read back: a ``.sqlite`` path is a real HistoryStore file the batch is
    recorded into and loaded from; any other suffix is an export file loaded with ``load_batch``."""
    from pathlib import Path

    from russo_nb.report import export, load_batch
    from russo_nb.results.store import HistoryStore

    if Path(path).suffix == ".sqlite":
        store = HistoryStore(path)
        return store.load(store.record(batch, include_audio=True))
    return load_batch(export(batch, path))
