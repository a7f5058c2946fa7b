"""Small real agents for the CLI / pytest-plugin / suite-file tests (importable as ``cli_agents``).

They read text (text mode) or the ``text`` a tiny synthesizer stored in the audio, and
answer with tool calls parsed from the words: deterministic, fast, no network.
"""

from __future__ import annotations

import re
import threading

import russo_nb as russo
from russo_nb.testing import TextSynthesizer

__all__ = ["FlakyAgent", "KeywordAgent", "TextSynthesizer", "make_agent", "parse_request"]

CITIES = {"nyc": "NYC", "new york": "NYC", "la": "LA", "los angeles": "LA", "rome": "Rome", "berlin": "Berlin"}


def _text_of(heard: object) -> str:
    if isinstance(heard, russo.Audio):
        return heard.data.decode("utf-8", "replace")
    return str(heard)


def parse_request(text: str) -> list[russo.ToolCall]:
    """``"... from NYC to LA"`` -> book_flight(from_city='NYC', to_city='LA'); weather questions -> get_weather."""
    lowered = text.lower()
    if "weather" in lowered:
        city = next((name for key, name in CITIES.items() if re.search(rf"\b{key}\b", lowered)), None)
        return [russo.ToolCall(name="get_weather", arguments={"city": city} if city else {})]
    found = re.search(r"from ([a-z ]+?) to ([a-z ]+?)(?:[.,!?]|$)", lowered)
    if not found:
        return []
    origin, dest = (CITIES.get(part.strip(), part.strip().title()) for part in found.groups())
    return [russo.ToolCall(name="book_flight", arguments={"from_city": origin, "to_city": dest})]


class KeywordAgent:
    """Answers from the words it reads; ``name`` is what batches record."""

    name = "keyword-agent"

    def __init__(self, wrong_city: str | None = None) -> None:
        self.wrong_city = wrong_city

    async def run(self, heard: object) -> russo.AgentResponse:
        calls = parse_request(_text_of(heard))
        if self.wrong_city:
            calls = [russo.ToolCall(name=c.name, arguments={**c.arguments, "to_city": self.wrong_city}) for c in calls]
        return russo.AgentResponse(tool_calls=calls, text="ok")


class FlakyAgent(KeywordAgent):
    """Like KeywordAgent, but every second call for the same prompt answers nothing: a flaky prompt."""

    name = "flaky-agent"

    def __init__(self) -> None:
        super().__init__()
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    async def run(self, heard: object) -> russo.AgentResponse:
        text = _text_of(heard)
        with self._lock:
            count = self._counts.get(text, 0)
            self._counts[text] = count + 1
        if "maybe" in text.lower() and count % 2 == 1:
            return russo.AgentResponse(tool_calls=[], text="sorry?")
        return await super().run(heard)


class CrashingAgent:
    """Raises on every run, to test error capture."""

    name = "crashing-agent"

    async def run(self, heard: object) -> russo.AgentResponse:
        raise RuntimeError("the agent crashed on purpose")


keyword_agent = KeywordAgent()
flaky_agent = FlakyAgent()


def make_agent(wrong_city: str | None = None) -> KeywordAgent:
    """A factory, for ``factory:`` component references."""
    return KeywordAgent(wrong_city=wrong_city)


class SlowAgent(KeywordAgent):
    """KeywordAgent that takes ``delay`` seconds per run (for cancellation and concurrency tests)."""

    name = "slow-agent"

    def __init__(self, delay: float = 0.2) -> None:
        super().__init__()
        self.delay = delay

    async def run(self, heard: object) -> russo.AgentResponse:
        import asyncio

        await asyncio.sleep(self.delay)
        return await super().run(heard)


class HoldOnFileAgent(KeywordAgent):
    """KeywordAgent for Ctrl-C tests across processes (Dask workers): quick runs until a ``hold`` file appears.

    Each run first looks for ``markers/hold``: absent, it answers after ``delay`` seconds and leaves a marker
    ``quick-PID-N``; present, it leaves ``held-PID-N`` and waits ``hold_s`` (a run only a cancel ends early).
    The markers let a test count, from outside, the runs that really finished and where runs are held.
    """

    name = "hold-on-file-agent"

    def __init__(self, markers: str, delay: float = 0.1, hold_s: float = 120.0) -> None:
        super().__init__()
        self.markers = markers
        self.delay = delay
        self.hold_s = hold_s

    def _mark(self, kind: str) -> None:
        import os
        import time
        from pathlib import Path

        Path(self.markers, f"{kind}-{os.getpid()}-{time.monotonic_ns()}").touch()

    async def run(self, heard: object) -> russo.AgentResponse:
        import asyncio
        from pathlib import Path

        if Path(self.markers, "hold").exists():
            self._mark("held")
            await asyncio.sleep(self.hold_s)
        else:
            await asyncio.sleep(self.delay)
            self._mark("quick")
        return await super().run(heard)


def booking_scenario():
    """A scripted scenario with its own agent under test (for ``ref:`` in suite files)."""
    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    return scenario.Scenario(
        name="booking_ref",
        description="The user books a flight.",
        agents=[KeywordAgent(), scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="LA")])],
        script=[scenario.user("Book a flight from NYC to LA"), scenario.agent(), scenario.judge()],
    )


def agentless_scenario():
    """A scenario without an agent under test: the pytest plugin adds the russo_agent fixture."""
    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    return scenario.Scenario(
        name="needs_an_agent",
        agents=[scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="LA")])],
        script=[scenario.user("maybe fly from NYC to LA"), scenario.agent(), scenario.judge()],
    )


class PeakAgent(KeywordAgent):
    """KeywordAgent that holds each run until every run the cap allows is in flight, and counts them.

    A run waits until no other run has arrived for ``settle`` turns of the event loop (the
    engine starts a worker per turn, so by then every slot it may fill is taken): the peak is
    the concurrency really allowed, without a sleep racing the clock. ``peak`` is the most runs
    it ever served at once and ``calls`` how many it served; each response's
    ``raw['in_flight']`` says how many were running when it started, so a batch exported by
    another process still shows the concurrency reached.
    """

    name = "peak-agent"

    def __init__(self, settle: int = 50) -> None:
        super().__init__()
        self.settle = settle
        self.in_flight = self.peak = self.calls = 0
        self._lock = threading.Lock()

    async def _settled(self) -> None:
        import asyncio

        seen, quiet = -1, 0
        while quiet < self.settle:
            await asyncio.sleep(0)  # one loop turn
            quiet = quiet + 1 if self.calls == seen else 0
            seen = self.calls

    async def run(self, heard: object) -> russo.AgentResponse:
        with self._lock:
            self.in_flight += 1
            self.calls += 1
            entered = self.in_flight
            self.peak = max(self.peak, entered)
        try:
            await self._settled()
            response = await super().run(heard)
        finally:
            with self._lock:
                self.in_flight -= 1
        return response.model_copy(update={"raw": {"in_flight": entered}})
