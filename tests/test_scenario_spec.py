"""Scenario specs (seed 002): weighted scorers, reference validation, lifecycle, setup/teardown."""

from __future__ import annotations

import asyncio

import pytest
from scenario_helpers import BookingAgent, arun, call_message

from russo_nb import scenario
from russo_nb.errors import InvalidArgumentError
from russo_nb.scenario import AgentAdapter, ReferenceScoreError, Scenario, scorers
from russo_nb.scenario.criteria import never_called, text_contains, tool_called

PHASES = ["created", "set_up", "running", "scoring", "completed", "torn_down"]


def booking_scenario(**overrides):
    spec = {
        "name": "book to Paris",
        "description": "The user wants a flight to Paris",
        "agents": lambda: [
            BookingAgent(),
            scenario.UserSimulatorAgent(lines=["hi", "a flight to Paris"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight"), text_contains("booked"), never_called("cancel")]),
        ],
        "scorers": [
            scorers.tool_call_match(["book_flight(to_city='Paris')"], weight=0.6),
            scorers.criteria_fraction(weight=0.3),
            scorers.latency_budget(5.0, weight=0.1),
        ],
        "tags": ["booking", "smoke"],
    }
    spec.update(overrides)
    return Scenario(**spec)


def test_weighted_scores_and_lifecycle_in_order():
    result = arun(booking_scenario().run())
    assert result.status == "passed"
    assert result.scores == {"tool_calls": 1.0, "criteria": 1.0, "latency": 1.0}
    assert result.score == pytest.approx(1.0)
    assert result.phases == PHASES
    times = [event.at for event in result.lifecycle]
    assert times == sorted(times) and result.started_at is not None
    assert result.tags == ["booking", "smoke"] and result.name == "book to Paris"


def test_partial_scores_are_weighted():
    wrong_city = booking_scenario(
        agents=lambda: [
            BookingAgent(),
            scenario.UserSimulatorAgent(lines=["a flight to Rome"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Paris"), text_contains("booked")]),
        ],
        max_turns=1,
    )
    result = arun(wrong_city.run())
    assert result.status == "failed"
    assert result.scores["tool_calls"] == 0.0 and result.scores["criteria"] == 0.5
    assert result.score == pytest.approx(0.3 * 0.5 + 0.1 * 1.0)


def test_weights_must_add_up_to_one():
    with pytest.raises(InvalidArgumentError, match=r"add up to 0\.9 .*tool_calls=0\.6, criteria=0\.3"):
        booking_scenario(
            scorers=[scorers.tool_call_match(["book_flight"], weight=0.6), scorers.criteria_fraction(weight=0.3)]
        )
    with pytest.raises(InvalidArgumentError, match="some scorers have weights"):
        booking_scenario(scorers=[scorers.success(weight=0.5), scorers.criteria_fraction()])
    with pytest.raises(InvalidArgumentError, match="weight must be a number >= 0"):
        scorers.success(weight=-1)


def test_scorers_without_weights_share_equally_and_callables_count():
    spec = booking_scenario(
        scorers=[scorers.success(), lambda result: result.turns <= 1, (scorers.criteria_fraction(), None)]
    )
    assert [round(s.weight, 4) for s in spec.weighted_scorers] == [0.3333] * 3
    result = arun(spec.run())
    assert result.scores == {"success": 1.0, "<lambda>": 0.0, "criteria": 1.0}
    assert result.score == pytest.approx(2 / 3)


def test_scorer_out_of_range_is_a_scoring_error_that_keeps_the_transcript():
    result = arun(booking_scenario(scorers=[scorers.scorer(lambda r: 1.5, name="broken")]).run())
    assert result.status == "error" and result.error.stage == "scoring"
    assert "'broken' returned 1.5" in result.error.message
    assert len(result.messages) == 4 and result.phases[-1] == "torn_down"


def test_pass_threshold_turns_a_low_score_into_a_failed_run():
    low = booking_scenario(scorers=[scorers.scorer(lambda r: 0.4, name="strict")], pass_threshold=0.5)
    result = arun(low.run())
    assert result.success and result.score == 0.4 and result.status == "failed"
    with pytest.raises(InvalidArgumentError, match="pass_threshold"):
        booking_scenario(pass_threshold=2)


def test_validate_reference_transcript_scores_one():
    reference = [
        {"role": "user", "content": "a flight to Paris"},
        call_message("book_flight", {"to_city": "Paris"}, content="Booked your flight to Paris."),
    ]
    checked = arun(booking_scenario(reference=reference).validate())
    assert checked.score == 1.0 and checked.success


def test_validate_raises_when_the_reference_does_not_score_one():
    wrong = [
        {"role": "user", "content": "a flight to Paris"},
        call_message("book_flight", {"to_city": "Rome"}, content="Booked your flight to Rome."),
    ]
    with pytest.raises(ReferenceScoreError, match=r"scores 0\.40, not 1\.0 \(below 1\.0: tool_calls=0\.00\)"):
        arun(booking_scenario(reference=wrong).validate())
    with pytest.raises(InvalidArgumentError, match="no reference"):
        arun(booking_scenario().validate())


def test_validate_with_a_reference_agent_runs_the_scenario():
    class Reference(AgentAdapter):
        async def call(self, input):
            return call_message("book_flight", {"to_city": "Paris"}, content="Booked your flight to Paris.")

    result = booking_scenario(reference=Reference()).validate_sync()
    assert result.score == 1.0 and result.turns == 1

    class Wrong(AgentAdapter):
        async def call(self, input):
            return "I cannot book flights."

    with pytest.raises(ReferenceScoreError, match="verdict was failure"):
        booking_scenario(reference=Wrong(), max_turns=2).validate_sync()


def test_setup_env_reaches_agent_and_scorer_and_teardown_runs():
    log = []

    async def setup(state):
        log.append(("setup", state.thread_id))
        return {"bookings": []}

    def teardown(state):
        log.append(("teardown", list(state.env["bookings"])))

    def booked_in_env(result, state):
        return state.env["bookings"] == ["Paris"]

    spec = booking_scenario(setup=setup, teardown=teardown, scorers=[scorers.scorer(booked_in_env, name="env")])
    result = arun(spec.run())
    assert result.scores == {"env": 1.0}
    assert log == [("setup", result.thread_id), ("teardown", ["Paris"])]


def test_teardown_runs_after_an_agent_error_and_a_setup_error():
    torn = []

    class Broken(AgentAdapter):
        async def call(self, input):
            raise RuntimeError("agent crashed")

    spec = booking_scenario(
        agents=[Broken(), scenario.UserSimulatorAgent(lines=["hi"]), scenario.JudgeAgent()],
        teardown=lambda: torn.append("agent"),
    )
    with pytest.raises(RuntimeError, match="agent crashed"):  # one run: the error reaches the caller
        arun(spec.run())
    assert torn == ["agent"]
    result = arun(scenario.run_scenarios(spec)).runs[0]  # a batch records it per run
    assert result.status == "error" and result.error.stage == "agent" and torn == ["agent", "agent"]
    assert result.score == 0.0 and "scoring" not in result.phases
    assert result.phases == ["created", "set_up", "running", "completed", "torn_down"]

    def bad_setup():
        raise OSError("no database")

    spec = booking_scenario(setup=bad_setup, teardown=lambda: torn.append("setup"))
    with pytest.raises(OSError, match="no database"):
        arun(spec.run())
    result = arun(scenario.run_scenarios(spec)).runs[0]
    assert result.status == "error" and result.error.stage == "setup" and "no database" in result.error.message
    assert torn == ["agent", "agent", "setup", "setup"] and result.phases == ["created", "completed", "torn_down"]


def test_cancel_mid_run_still_tears_down():
    started = asyncio.Event()
    torn = []

    class Hangs(AgentAdapter):
        async def call(self, input):
            started.set()
            await asyncio.sleep(60)

    async def teardown():
        await asyncio.sleep(0.01)  # an async teardown completes even though the run was cancelled
        torn.append("done")

    spec = booking_scenario(agents=[Hangs(), scenario.UserSimulatorAgent(lines=["hi"])], teardown=teardown)

    async def main():
        task = asyncio.ensure_future(spec.run())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    arun(main())
    assert torn == ["done"]


def test_invalid_specs_raise_russo_errors():
    with pytest.raises(InvalidArgumentError, match="name"):
        Scenario(name="  ")
    with pytest.raises(InvalidArgumentError, match="max_turns"):
        Scenario(name="x", max_turns=0)
    with pytest.raises(InvalidArgumentError, match="agents must be a list"):
        Scenario(name="x", agents=lambda: "nope").check()


def test_reference_transcript_with_variables_and_setup_env():
    def names_the_city(state):
        return state.tool_call_arguments("book_flight") == {"to_city": state.variables["city"]}

    spec = booking_scenario(
        agents=lambda: [
            BookingAgent(),
            scenario.UserSimulatorAgent(lines=["to {city}"], variables={"city": ["Paris", "Rome"]}),
            scenario.JudgeAgent(criteria=[names_the_city]),
        ],
        setup=lambda: {"bookings": ["Paris"]},
        scorers=[
            scorers.criteria_fraction(weight=0.5),
            scorers.scorer(lambda r, s: bool(s.env["bookings"]), weight=0.5),
        ],
        reference={
            "messages": [{"role": "user", "content": "to Rome"}, call_message("book_flight", {"to_city": "Rome"})],
            "variables": {"city": "Rome"},
        },
    )
    assert arun(spec.validate()).score == 1.0


def test_booking_example_validates_and_finds_the_planted_bug():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "scenarios_booking.py"
    module_spec = importlib.util.spec_from_file_location("scenarios_booking_example", path)
    example = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(example)
    assert arun(example.booking.validate()).score == 1.0
    batch = arun(scenario.run_scenarios([example.booking, example.scripted], runs=8, seed=0))
    failures = batch.iter_failures()
    assert failures and all(run.name == "book a flight" for run in failures)
    for run in failures:  # the agent mishears Lima as Rome: the only bug planted in the example
        assert any("Lima" in m["content"] for m in run.messages if m["role"] == "user")
        assert run.tool_calls[-1].arguments == {"to_city": "Rome"}
