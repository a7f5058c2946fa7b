"""Shared pieces for the notebook tests: hand-built batches, small agents, an IPython shell."""

from __future__ import annotations

from typing import Any

from foundation_helpers import ToneSynthesizer, tone  # noqa: F401 - the notebook tests import them from here

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
)

EVIL = "<script>alert('x')</script>"


def _evaluation(expected: ToolCall, actual: ToolCall | None) -> EvalResult:
    matched = actual == expected
    details = "" if matched else f"to_city: expected {expected.arguments.get('to_city')!r}, got something else"
    return EvalResult(
        passed=matched,
        expected=[expected],
        actual=[actual] if actual is not None else [],
        matches=[ToolCallMatch(expected=expected, actual=actual, matched=matched, details=details)],
    )


def make_batch(
    prompts: list[str] | None = None,
    runs: int = 4,
    fail_every: int = 2,
    *,
    with_audio: bool = True,
    with_error: bool = True,
    transcript: bool = False,
) -> BatchResult:
    """A batch built by hand: some runs pass, some fail (wrong city), one errors; audio per prompt."""
    prompts = prompts or ["Book a flight to LA", f"Fly to {EVIL}"]
    expected = ToolCall(name="book_flight", arguments={"to_city": "LA"})
    out: list[SingleRunResult] = []
    audio: dict[str, Audio] = {}
    for p_index, prompt in enumerate(prompts):
        clip = tone(freq=300.0 + 50 * p_index) if with_audio else None
        key = clip.content_key() if clip is not None else None
        if clip is not None:
            audio[key] = clip
        for r in range(runs):
            if with_error and p_index == 0 and r == runs - 1:
                out.append(
                    SingleRunResult(
                        prompt=prompt,
                        run_index=r,
                        eval_result=EvalResult(passed=False, expected=[expected], actual=[]),
                        status="error",
                        error=RunError(type="RuntimeError", message=f"agent crashed {EVIL}", stage="agent"),
                        audio_key=key,
                    )
                )
                continue
            ok = not fail_every or (r + p_index) % fail_every != 0
            actual = expected if ok else ToolCall(name="book_flight", arguments={"to_city": EVIL})
            messages = None
            if transcript:
                messages = [
                    {"role": "user", "content": prompt},
                    {
                        "role": "assistant",
                        "content": f"Sure {EVIL}",
                        "tool_calls": [{"function": {"name": "book_flight", "arguments": actual.arguments}}],
                    },
                ]
            out.append(
                SingleRunResult(
                    prompt=prompt,
                    run_index=r,
                    eval_result=_evaluation(expected, actual),
                    latency_s=0.01 * (r + 1),
                    audio_key=key,
                    response=AgentResponse(tool_calls=[actual], text=f"heard {prompt}"),
                    transcript=messages,
                )
            )
    return BatchResult(runs=out, audio=audio, metadata=BatchMetadata(name="hand-built", agent="booker"))


async def booking_agent(text: Any) -> list[ToolCall]:
    """A text-mode agent: books a flight to LA when it reads 'LA', else to SF."""
    city = "LA" if "LA" in str(text) else "SF"
    return [ToolCall(name="book_flight", arguments={"to_city": city, "seat": "aisle"})]


class HeardAgent:
    """An agent for audio: checks it got audio and books LA."""

    def __init__(self) -> None:
        self.heard: list[float] = []

    async def run(self, audio: Audio) -> list[ToolCall]:
        self.heard.append(audio.duration_s)
        return [ToolCall(name="book_flight", arguments={"to_city": "LA"})]


def ipython_shell() -> Any:
    """IPython's one global test shell with ``%load_ext russo_nb`` done (started on the first call)."""
    from IPython.testing import globalipapp

    globalipapp.start_ipython()  # returns None once started: get the shell from get_ipython()
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "russo_nb")
    return shell
