"""Scenarios, offline: a booking agent tested in scripted and simulated conversations.

Run it with ``python examples/scenarios_booking.py``. No keys, no network:
the simulated user plays templated lines drawn with each run's seed, the judge
checks predicates, and the voice scenario speaks each turn with espeak-ng to the
local pocketsphinx agent. In a notebook, ``await main()`` works the same.
"""

from __future__ import annotations

import asyncio
import json
import re

from russo_nb import scenario
from russo_nb.scenario import AgentAdapter, AgentInput, Scenario, run_scenarios, scorers
from russo_nb.scenario.criteria import never_called, text_contains, tool_called

CITIES = ["Paris", "Rome", "Oslo", "Lima"]


class BookingAgent(AgentAdapter):
    """A toy text agent: asks where to, then books. With ``mishears=True`` it hears 'Lima' as 'Rome'."""

    def __init__(self, mishears: bool = True) -> None:
        self.mishears = mishears

    async def call(self, input: AgentInput):
        text = input.last_new_user_message_str()
        match = re.search(r"to (\w+)", text)
        if not match:
            return "Hi! Where would you like to fly to?"
        city = match.group(1)
        if self.mishears and city == "Lima":
            city = "Rome"
        input.scenario_state.env["bookings"].append(city)  # the environment set up for this run
        arguments = json.dumps({"to_city": city})
        return {
            "role": "assistant",
            "content": f"Booked your flight to {city}.",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "book_flight", "arguments": arguments}}
            ],
        }


async def setup(state):
    """A fresh booking 'database' for every run (state.env)."""
    return {"bookings": []}


async def teardown(state):
    state.env["bookings"].clear()


def booked_the_city_asked_for(result, state) -> bool:
    """Scorer: the environment holds exactly the city the simulated user asked for."""
    return state.env["bookings"] == [state.variables["city"]]


booking = Scenario(
    name="book a flight",
    description="The user wants to book a flight to a city.",
    agents=lambda: [
        BookingAgent(),
        scenario.UserSimulatorAgent(
            lines=[["Hi", "Hello there"], ["I need a flight to {city}", "Get me to {city} please"]],
            variables={"city": CITIES},
        ),
        scenario.JudgeAgent(
            criteria=[
                tool_called("book_flight"),
                text_contains("booked"),
                never_called("cancel_booking"),
                scenario.criteria.check(
                    lambda s: s.tool_call_arguments("book_flight") == {"to_city": s.variables["city"]},
                    "books the city the user asked for",
                ),
            ]
        ),
    ],
    max_turns=4,
    setup=setup,
    teardown=teardown,
    scorers=[
        scorers.scorer(booked_the_city_asked_for, weight=0.5),
        scorers.criteria_fraction(weight=0.3),
        scorers.latency_budget(0.5, weight=0.2),
    ],
    reference=BookingAgent(mishears=False),  # a known-good agent: validate() checks it scores 1.0
    tags=["booking"],
)

scripted = Scenario(
    name="asks before booking",
    description="A scripted conversation with a checkpoint.",
    agents=[BookingAgent(), scenario.JudgeAgent()],
    setup=setup,
    script=[
        scenario.user("Hi"),
        scenario.agent(),
        scenario.judge(criteria=[never_called("book_flight"), text_contains("where would you like")]),
        scenario.user("A flight to Oslo, please"),
        scenario.agent(),
        scenario.judge(criteria=[tool_called("book_flight", to_city="Oslo")]),
    ],
)


async def voice_scenario() -> None:
    """The same idea by voice: espeak-ng speaks each user turn to the offline LocalVoiceAgent."""
    from russo_nb.adapters import LocalVoiceAgent
    from russo_nb.audio import EspeakSynthesizer

    result = await scenario.run(
        name="voice booking",
        description="Book a flight, then ask about the weather",
        agents=[
            # effects=[Noise(snr_db=25)] makes this small recognizer mishear: try it and watch the verdict change
            scenario.VoiceAgentAdapter(LocalVoiceAgent.demo(), EspeakSynthesizer(), effects=[]),
            scenario.UserSimulatorAgent(
                lines=["Book a flight from New York to Los Angeles", "What is the weather in Paris today"]
            ),
            scenario.JudgeAgent(
                criteria=[tool_called("book_flight", to_city="LA"), tool_called("get_weather", city="Paris")]
            ),
        ],
        max_turns=3,
    )
    print(result.summary())
    print(result.transcript_text())
    print(f"{len(result.audio)} clips kept, e.g. {next(iter(result.audio.values()))!r}")


async def main() -> None:
    checked = await booking.validate()  # the reference agent must score 1.0, else the scorers are wrong
    print(f"reference scores {checked.score:.2f}\n")

    batch = await run_scenarios([booking, scripted], runs=8, max_concurrency=4, seed=0)
    print(batch.summary())
    print(f"\npass^3 = {batch.pass_hat_k(3):.2f}, mean score = {batch.mean_score:.2f}\n")
    frame = batch.to_dataframe()
    print(frame[["scenario", "run_index", "status", "score", "turns", "tools", "failed_criteria"]].to_string())
    print()
    await voice_scenario()


if __name__ == "__main__":
    asyncio.run(main())
