"""Fakes for testing code built on russo_nb: scripted agents, synthesizers, waiting on progress.

Like httpx's ``MockTransport``, these are real components with predictable behaviour, for
your own tests (and russo's)::

    from russo_nb.testing import ScriptedAgent, TextSynthesizer, wait_for_progress

    agent = ScriptedAgent({"Book a flight to LA": "book_flight(to_city='LA')"})
    batch = await russo.run_concurrent(["Book a flight to LA"], TextSynthesizer(), agent,
                                       expect=["book_flight(to_city='LA')"], runs=3)
    assert batch.passed and agent.calls == ["Book a flight to LA"] * 3

Tests that need "after N runs" wait on progress events (:func:`wait_for_progress`), hold
runs on a :class:`Gate` (and wait for N of them there with :meth:`Gate.until_waiting`), or
wait for another process or thread with :func:`wait_until`, never on a guessed ``sleep``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..model.expectations import parse_expectation
from ..model.protocols import coerce_response
from ..model.types import AgentResponse, Audio

__all__ = [
    "Gate",
    "ScriptedAgent",
    "TextSynthesizer",
    "ToneSynthesizer",
    "heard_text",
    "tone",
    "wait_for_progress",
    "wait_until",
]


def tone(freq: float = 440.0, seconds: float = 0.1, sample_rate: int = 16000, amplitude: float = 0.25) -> Audio:
    """A real 16-bit mono sine clip (bare PCM frames)."""
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    pcm = (amplitude * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes()
    return Audio(data=pcm, sample_rate=sample_rate)


class ToneSynthesizer:
    """Makes a real tone whose pitch depends on the text (no TTS); records the texts it was given."""

    def __init__(self, delay: float = 0.0, sample_rate: int = 16000) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.sample_rate = sample_rate

    async def synthesize(self, text: str) -> Audio:
        """A 0.1 s tone for ``text`` (after ``delay`` seconds)."""
        self.calls.append(text)
        if self.delay:
            await asyncio.sleep(self.delay)
        return tone(freq=200 + (sum(map(ord, text)) % 400), sample_rate=self.sample_rate)


class TextSynthesizer:
    """ "Speaks" by storing the text's UTF-8 bytes as the audio, so an agent can read it back (:func:`heard_text`)."""

    name = "text-synth"

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def synthesize(self, text: str) -> Audio:
        """The text as audio bytes."""
        self.calls.append(text)
        return Audio(data=text.encode("utf-8"), format="pcm", sample_rate=16000)


def heard_text(heard: Any) -> str:
    """What an agent heard as text: the prompt in text mode, or a :class:`TextSynthesizer` clip decoded."""
    if isinstance(heard, Audio):
        return heard.data.decode("utf-8", "replace")
    return str(heard)


class Gate:
    """Holds runs until :meth:`open` is called (from the test, on any thread); counts who is waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._opened = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._watchers: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Event]] = []
        self.waiting = 0

    def open(self) -> None:
        """Let every held run (and later ones) through."""
        with self._lock:
            self._opened = True
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    @property
    def is_open(self) -> bool:
        """True once :meth:`open` was called."""
        return self._opened

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent to another process (a Dask worker) a gate arrives as a new one, open only if this one was:
        runs held there wait until their job is cancelled."""
        return (_new_gate, (self._opened,))

    async def wait(self) -> None:
        """Wait (without blocking the loop) until the gate opens."""
        event = asyncio.Event()
        with self._lock:
            if self._opened:
                return
            self._waiters.append((asyncio.get_running_loop(), event))
            self.waiting += 1
            self._notify()
        try:
            await event.wait()
        finally:
            with self._lock:
                self.waiting -= 1

    def _notify(self) -> None:
        """Wake the :meth:`until_waiting` callers whose count is reached (called under the lock)."""
        reached = [(n, loop, event) for n, loop, event in self._watchers if self.waiting >= n]
        self._watchers = [watch for watch in self._watchers if watch not in reached]
        for _, loop, event in reached:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def until_waiting(self, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count`` runs are held at the gate at once (e.g. every slot of a concurrency cap is taken).

        Woken by the arrivals themselves, not by polling; raises ``TimeoutError`` after ``timeout`` s.
        """
        event = asyncio.Event()
        with self._lock:
            if self.waiting >= count:
                return
            self._watchers.append((count, asyncio.get_running_loop(), event))
        await asyncio.wait_for(event.wait(), timeout)


Answer = Any  # an AgentResponse, list of calls, call text like "book(to='LA')", dict, or an exception


def _new_gate(opened: bool) -> Gate:
    gate = Gate()
    gate._opened = opened
    return gate


def _as_response(answer: Answer) -> AgentResponse:
    if isinstance(answer, str) and "(" in answer:
        return AgentResponse(tool_calls=[parse_expectation(answer)])
    if isinstance(answer, (list, tuple)) and answer and all(isinstance(item, str) for item in answer):
        return AgentResponse(tool_calls=[parse_expectation(item) for item in answer])
    return coerce_response(list(answer) if isinstance(answer, tuple) else answer)


class ScriptedAgent:
    """An agent that answers from a script and records what it heard.

    ``answers`` is a mapping from heard text to answer, a sequence (one answer per call,
    the last one repeated), or a function ``text -> answer``. An answer may be an
    AgentResponse, ``ToolCall``\\ s, call text (``"book(to='LA')"``), ``None`` (no calls)
    or an exception instance, which is raised. ``gate`` holds every call until it opens.
    ``calls`` lists the heard texts in call order, ``peak`` the most calls in flight at once.
    """

    def __init__(
        self,
        answers: Mapping[str, Answer] | Sequence[Answer] | Callable[[str], Answer] | None = None,
        *,
        default: Answer = None,
        gate: Gate | None = None,
        name: str = "scripted-agent",
    ) -> None:
        self.answers = answers
        self.default = default
        self.gate = gate
        self.name = name
        self.calls: list[str] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _pick(self, text: str, index: int) -> Answer:
        answers = self.answers
        if answers is None:
            return self.default
        if callable(answers):
            return answers(text)
        if isinstance(answers, Mapping):
            return answers.get(text, self.default)
        if not answers:
            return self.default
        return answers[min(index, len(answers) - 1)]

    async def run(self, heard: Any) -> AgentResponse:
        """Answer ``heard`` from the script (after the gate opens)."""
        text = heard_text(heard)
        with self._lock:
            index = len(self.calls)
            self.calls.append(text)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            answer = self._pick(text, index)
            if isinstance(answer, BaseException):
                raise answer
            return _as_response(answer)
        finally:
            with self._lock:
                self.in_flight -= 1


async def wait_for_progress(job: Any, done: int, timeout: float = 30.0) -> Any:
    """Start ``job`` if needed and wait until ``done`` runs finished; returns its progress.

    Waits on the job's progress events (it chains ``job.on_progress``), so a test says
    "after 3 runs" instead of guessing a sleep. Raises ``TimeoutError`` after ``timeout`` s.
    """
    reached = asyncio.Event()
    chained = job.on_progress

    def on_progress(progress: Any) -> None:
        if progress.done >= done:
            reached.set()
        if chained is not None:
            chained(progress)

    job.on_progress = on_progress
    try:
        job.start()
        if job.progress.done < done:
            await asyncio.wait_for(reached.wait(), timeout)
    finally:
        job.on_progress = chained
    return job.progress


def wait_until(
    condition: Callable[[], Any], timeout: float = 60.0, *, what: str = "the condition", interval: float = 0.01
) -> Any:
    """Poll ``condition()`` until it returns something truthy (which is returned), for at most ``timeout`` s.

    For what a test cannot be told about by an event: another process's file appearing, a
    server thread's counter. It checks often and stops as soon as the condition holds, so a
    slow machine only waits longer, never fails early; past the deadline it raises
    ``TimeoutError`` naming ``what``.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s")
        time.sleep(interval)
