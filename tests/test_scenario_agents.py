"""Offline simulated users and judges, built-in criteria, and model-backed ones against a real local server."""

from __future__ import annotations

import pytest
from scenario_helpers import BookingAgent, ChatServer, arun, call_message, judge_model

from russo_nb import scenario
from russo_nb.errors import ConfigurationError, InvalidArgumentError
from russo_nb.scenario import ModelRequestError, ScenarioState
from russo_nb.scenario.criteria import max_turns, never_called, text_contains, text_matches, tool_called

LLM_VARS = ("RUSSO_LLM_MODEL", "RUSSO_LLM_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "TEST_JUDGE_KEY")


@pytest.fixture
def no_model(monkeypatch):
    """No model configured anywhere (environment or configure())."""
    for name in LLM_VARS:
        monkeypatch.delenv(name, raising=False)
    from russo_nb.scenario import llm

    monkeypatch.setattr(llm, "_defaults", llm.LLMConfig())


def _flight_user(**kwargs):
    return scenario.UserSimulatorAgent(
        lines=[["Hi there", "Hello"], "I need a flight to {city} on {day}"],
        variables={"city": ["Paris", "Tokyo", "Cairo", "Lima"], "day": "Monday"},
        **kwargs,
    )


def _run_user(seed: int):
    return arun(
        scenario.run(
            name="templated",
            description="d",
            agents=[BookingAgent(), _flight_user(), scenario.JudgeAgent(criteria=[tool_called("book_flight")])],
            seed=seed,
        )
    )


def test_user_simulator_draws_lines_and_variables_with_the_run_seed():
    first = _run_user(7)
    again = _run_user(7)
    assert first.success
    assert [m["content"] for m in first.messages] == [m["content"] for m in again.messages]
    user_lines = [m["content"] for m in first.messages if m["role"] == "user"]
    assert user_lines[0] in ("Hi there", "Hello")
    assert user_lines[1].startswith("I need a flight to ") and user_lines[1].endswith(" on Monday")
    cities = {_run_user(seed).tool_calls[0].arguments["to_city"] for seed in range(12)}
    assert len(cities) >= 3 and cities <= {"Paris", "Tokyo", "Cairo", "Lima"}


def test_user_simulator_without_lines_opens_with_the_description():
    result = arun(
        scenario.run(
            name="derived",
            description="I want to fly to Denver",
            agents=[
                BookingAgent(),
                scenario.UserSimulatorAgent(),
                scenario.JudgeAgent(criteria=[tool_called("book_flight")]),
            ],
        )
    )
    assert result.messages[0] == {"role": "user", "content": "I want to fly to Denver"}
    assert result.tool_calls[0].arguments == {"to_city": "Denver"}


def test_drawn_variables_are_visible_to_checks():
    def names_the_city(state: ScenarioState) -> bool:
        return state.variables["city"] in state.last_message()["content"]

    result = arun(
        scenario.run(
            name="vars",
            description="d",
            agents=[BookingAgent(), _flight_user(), scenario.JudgeAgent(criteria=[names_the_city])],
            seed=3,
        )
    )
    assert result.success and result.passed_criteria[0].startswith("names_the_city")


def test_user_line_with_unknown_variable_raises_before_running():
    bad = scenario.UserSimulatorAgent(lines=["to {town}"], variables={"city": "x"})
    with pytest.raises(InvalidArgumentError, match=r"\{town\}"):
        arun(scenario.run(name="x", description="d", agents=[BookingAgent(), bad]))
    with pytest.raises(InvalidArgumentError, match="variants"):
        scenario.UserSimulatorAgent(lines=[[]])


def test_builtin_criteria():
    state = ScenarioState("d")
    state.add_message({"role": "user", "content": "to LA"})
    state.current_turn = 2
    state.add_message(call_message("book_flight", {"to_city": "LA", "seat": "aisle"}, content="Booked: ref ABC123"))

    def verdict(criterion):
        return criterion(state)

    assert verdict(tool_called("book_flight"))[0]
    assert verdict(tool_called("book_flight", to_city="LA"))[0]
    passed, why = verdict(tool_called("book_flight", to_city="SF"))
    assert not passed and "other arguments" in why and "to_city='LA'" in why
    passed, why = verdict(tool_called("cancel"))
    assert not passed and "never called" in why and "book_flight" in why
    assert verdict(never_called("cancel"))[0] and not verdict(never_called("book_flight"))[0]
    assert verdict(text_contains("booked")) and not verdict(text_contains("booked", case_sensitive=True))
    assert not verdict(text_contains("to LA"))  # the user said it, not the agent
    assert verdict(text_contains("to LA", role="user"))
    assert verdict(text_matches(r"ref [A-Z]{3}\d{3}"))[0] and not verdict(text_matches(r"ref \d+"))[0]
    assert verdict(max_turns(2))[0] and not verdict(max_turns(1))[0]
    with pytest.raises(InvalidArgumentError, match="regular expression"):
        text_matches("(")


def test_judge_with_sentence_criteria_and_no_model_names_what_to_configure(no_model):
    with pytest.raises(ConfigurationError) as info:
        arun(
            scenario.run(
                name="sentences",
                description="d",
                agents=[
                    BookingAgent(),
                    scenario.UserSimulatorAgent(),
                    scenario.JudgeAgent(criteria=["Agent books the flight"]),
                ],
            )
        )
    message = str(info.value)
    assert "'Agent books the flight'" in message
    assert "RUSSO_LLM_MODEL" in message and "model=" in message and "OPENAI_API_KEY" in message
    # inline checkpoint sentences are checked up front as well
    booking = BookingAgent()
    with pytest.raises(ConfigurationError, match="sentence"):
        arun(
            scenario.run(
                name="inline",
                description="d",
                agents=[booking],
                script=[scenario.user("to Rome"), scenario.agent(), scenario.judge(criteria=["Agent is polite"])],
            )
        )
    assert booking.calls == 0  # nothing ran


def test_model_at_openai_without_key_names_the_variable(no_model):
    judge = scenario.JudgeAgent(criteria=["x"], model="gpt-4o-mini", api_key_env="TEST_JUDGE_KEY")
    with pytest.raises(ConfigurationError, match="TEST_JUDGE_KEY"):
        judge.check_ready()


def test_user_simulator_asked_for_a_model_without_one(no_model):
    with pytest.raises(ConfigurationError, match="UserSimulatorAgent"):
        arun(scenario.run(name="x", description="d", agents=[BookingAgent(), scenario.UserSimulatorAgent(model=True)]))


def _booked_and_polite(criterion, transcript):
    """Booking holds once the transcript shows a book_flight call (not decided before); politeness always."""
    if "book" in criterion.lower():
        return True if "book_flight" in transcript else None
    return "polite" in criterion.lower()


def test_sentence_criteria_judged_by_a_local_openai_compatible_server(no_model, monkeypatch):
    monkeypatch.setenv("TEST_JUDGE_KEY", "sk-local-123")
    with ChatServer(judge_model(_booked_and_polite)) as server:
        judge = scenario.JudgeAgent(
            criteria=["Agent books the flight", "Agent is polite", never_called("cancel")],
            model="tiny-judge",
            base_url=server.base_url,
            api_key_env="TEST_JUDGE_KEY",
        )
        booked = arun(
            scenario.run(
                name="llm judge",
                description="The user wants to fly to Quito",
                agents=[BookingAgent(), scenario.UserSimulatorAgent(lines=["hello", "to Quito"]), judge],
            )
        )
        assert booked.success, booked.reasoning
        assert booked.turns == 2  # turn 1 had no booking, so the model called continue_test and the run went on
        assert set(booked.passed_criteria) == {"Agent books the flight", "Agent is polite", "never_called(cancel)"}
        request = server.requests[-1]
        assert request["model"] == "tiny-judge" and request["tool_choice"] == "required"
        assert [tool["function"]["name"] for tool in request["tools"]] == ["continue_test", "finish_test"]
        verdicts = request["tools"][1]["function"]["parameters"]["properties"]["criteria"]["properties"]
        assert list(verdicts) == ["agent_books_the_flight", "agent_is_polite"]  # predicates stay local
        assert "The user wants to fly to Quito" in request["messages"][0]["content"]
        assert "[tool call] book_flight" in request["messages"][1]["content"]
        assert server.headers[-1]["authorization"] == "Bearer sk-local-123"

        not_booked = arun(
            scenario.run(
                name="llm judge fails",
                description="d",
                agents=[BookingAgent(), judge],
                script=[scenario.user("hello"), scenario.agent(), scenario.judge()],
            )
        )
        assert not not_booked.success and not_booked.failed_criteria == ["Agent books the flight"]
        assert server.requests[-1]["tool_choice"] == {"type": "function", "function": {"name": "finish_test"}}
        assert "Agent books the flight: judged inconclusive" in not_booked.reasoning
        assert "a criterion does not hold" in not_booked.reasoning


def test_user_simulator_with_a_model_plays_the_user(no_model):
    def reply(body):
        system = body["messages"][0]["content"]
        assert "Your situation and goal: You need to get to Nairobi" in system
        return "  Book me a flight to Nairobi please.  "

    with ChatServer(reply) as server:
        scenario.configure(model="tiny-user", base_url=server.base_url)
        result = arun(
            scenario.run(
                name="llm user",
                description="You need to get to Nairobi",
                agents=[
                    BookingAgent(),
                    scenario.UserSimulatorAgent(model=True),
                    scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Nairobi")]),
                ],
            )
        )
    assert result.success
    assert result.messages[0] == {"role": "user", "content": "Book me a flight to Nairobi please."}
    assert server.requests[0]["model"] == "tiny-user"


def test_model_endpoint_error_raises_from_one_run_and_is_a_judge_error_in_a_batch(no_model):
    with ChatServer(lambda body: "", status=500) as server:
        spec = scenario.Scenario(
            name="500",
            description="d",
            agents=lambda: [
                BookingAgent(),
                scenario.JudgeAgent(criteria=["Agent books"], model="m", base_url=server.base_url),
            ],
            script=[scenario.user("to Rome"), scenario.agent(), scenario.judge()],
        )
        with pytest.raises(ModelRequestError, match="HTTP 500"):
            arun(spec.run())
        result = arun(scenario.run_scenarios(spec)).runs[0]
    assert result.status == "error" and result.error.type == "ModelRequestError" and result.error.stage == "judge"
    assert "HTTP 500" in result.error.message and "model exploded" in result.error.message
    assert len(result.messages) == 2
    assert result.reasoning.startswith("the judge (JudgeAgent) raised ModelRequestError")


def test_parse_json_reply_tolerates_prose_and_rejects_garbage():
    from russo_nb.scenario.llm import parse_json_reply

    assert parse_json_reply('Sure! {"criteria": []} hope that helps') == {"criteria": []}
    with pytest.raises(ModelRequestError, match="no JSON object"):
        parse_json_reply("I cannot do that")
