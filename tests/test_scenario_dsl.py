"""The scenario DSL with the seed's examples, predicate criteria in place of LLM sentences."""

from __future__ import annotations

import json

import pytest
from scenario_helpers import BookingAgent, arun, call_message

from russo_nb import scenario
from russo_nb.errors import InvalidArgumentError, ProtocolError
from russo_nb.scenario import AgentAdapter, ScenarioResult, ScenarioState
from russo_nb.scenario.criteria import check, never_called, text_contains, tool_called


class WeatherAgent(AgentAdapter):
    """Calls get_weather, then reads the tool result back to the user."""

    async def call(self, input):
        last = input.new_messages[-1]
        if last["role"] == "tool":
            data = json.loads(last["content"])
            return f"It is {data['temperature']} and {data['condition']}."
        return call_message("get_weather", {"city": "here"}, call_id="call_123")


class EchoAgent(AgentAdapter):
    """Answers every user message with what it heard."""

    def __init__(self) -> None:
        self.calls = 0

    async def call(self, input):
        self.calls += 1
        return f"You said: {input.last_new_user_message_str()}"


def test_message_injects_a_tool_result_the_agent_then_uses():
    result = arun(
        scenario.run(
            name="tool response test",
            description="Testing tool call responses",
            agents=[WeatherAgent(), scenario.UserSimulatorAgent(), scenario.JudgeAgent(criteria=[])],
            script=[
                scenario.user("What's the weather?"),
                scenario.agent(),
                scenario.message(
                    {
                        "role": "tool",
                        "tool_call_id": "call_123",
                        "content": json.dumps({"temperature": "75°F", "condition": "sunny"}),
                    }
                ),
                scenario.agent(),
                scenario.succeed(),
            ],
        )
    )
    assert result.success and result.status == "passed"
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert result.messages[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "here"}'}
    assert result.messages[-1]["content"] == "It is 75°F and sunny."
    assert result.turns == 2  # the agent speaking again (after the tool result) starts the next turn


def test_user_given_text_or_simulated_and_multimodal_message():
    echo = EchoAgent()
    result = arun(
        scenario.run(
            name="user interaction test",
            description="Testing specific user inputs",
            agents=[
                echo,
                scenario.UserSimulatorAgent(lines=["first", "Tell me about decorators"]),
                scenario.JudgeAgent(),
            ],
            script=[
                scenario.user("I need help with Python"),
                scenario.agent(),
                scenario.user(),  # the simulator's first line was not used yet: it plays "first"
                scenario.agent(),
                scenario.message(
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "What's in this image?"},
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                        ],
                    }
                ),
                scenario.agent(),
                scenario.succeed(),
            ],
        )
    )
    texts = [(m["role"], m["content"]) for m in result.messages if isinstance(m["content"], str)]
    assert texts == [
        ("user", "I need help with Python"),
        ("assistant", "You said: I need help with Python"),
        ("user", "first"),
        ("assistant", "You said: first"),
        ("assistant", "You said: What's in this image?"),
    ]
    assert result.turns == 3 and echo.calls == 3


def test_agent_given_reply_and_structured_assistant_message():
    echo = EchoAgent()
    result = arun(
        scenario.run(
            name="agent response test",
            description="Testing agent responses",
            agents=[echo, scenario.UserSimulatorAgent(lines=["Are you there?"]), scenario.JudgeAgent()],
            script=[
                scenario.user("Hello"),
                scenario.agent(),
                scenario.agent("I'm sorry, I'm currently unavailable"),
                scenario.user(),
                scenario.message(call_message("search", {"q": "x"}, content="Let me search for that information")),
                scenario.succeed("done"),
            ],
        )
    )
    assert echo.calls == 1  # the scripted reply did not call the agent
    assert [m["content"] for m in result.messages][:4] == [
        "Hello",
        "You said: Hello",
        "I'm sorry, I'm currently unavailable",
        "Are you there?",
    ]
    assert result.reasoning == "done"
    assert result.tool_calls[0].name == "search"


def test_judge_checkpoints_continue_when_met_and_end_script_with_success():
    agent = BookingAgent()
    result = arun(
        scenario.run(
            name="judge evaluation test",
            description="Testing judge at specific points",
            agents=[agent, scenario.UserSimulatorAgent(lines=["Also to Rome please"]), scenario.JudgeAgent()],
            script=[
                scenario.user("Can you help me?"),
                scenario.agent(),
                scenario.judge(criteria=[text_contains("where would you like"), never_called("book_flight")]),
                scenario.user(),
                scenario.agent(),
                scenario.judge(criteria=[tool_called("book_flight", to_city="Rome"), text_contains("booked")]),
            ],
        )
    )
    assert result.success, result.reasoning
    assert result.passed_criteria == [
        "text_contains('where would you like')",
        "never_called(book_flight)",
        "tool_called(book_flight(to_city='Rome'))",
        "text_contains('booked')",
    ]
    assert result.failed_criteria == []


def test_failing_checkpoint_ends_the_scenario_at_once():
    agent = BookingAgent()
    result = arun(
        scenario.run(
            name="checkpoint fails",
            description="x",
            agents=[agent, scenario.JudgeAgent()],
            script=[
                scenario.user("Can you help me?"),
                scenario.agent(),
                scenario.judge(criteria=[tool_called("book_flight")]),
                scenario.user("to Paris"),
                scenario.agent(),
                scenario.succeed(),
            ],
        )
    )
    assert not result.success and result.status == "failed"
    assert result.failed_criteria == ["tool_called(book_flight)"]
    assert "never called" in result.reasoning
    assert agent.calls == 1 and len(result.messages) == 2


def test_proceed_runs_turns_with_callbacks_then_final_judge():
    agent = BookingAgent()
    turns_seen: list[int] = []
    steps = []

    def log_progress(state: ScenarioState) -> None:
        turns_seen.append(state.current_turn)

    async def check_tool_usage(state: ScenarioState) -> None:
        steps.append(len(state.messages))
        if state.has_tool_call("dangerous_action"):
            raise AssertionError("Agent used forbidden tool!")

    result = arun(
        scenario.run(
            name="automatic proceeding test",
            description="Let scenario run with monitoring",
            agents=[
                agent,
                scenario.UserSimulatorAgent(lines=["hmm", "a flight to Oslo"]),
                scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Oslo")], early_success=False),
            ],
            script=[
                scenario.user("Let's start"),
                scenario.agent(),
                scenario.proceed(turns=3, on_turn=log_progress, on_step=check_tool_usage),
                scenario.judge(),
            ],
        )
    )
    assert result.success, result.reasoning
    assert turns_seen == [1, 2]  # the turn in progress counts as the first of the three
    assert len(steps) == 7  # the judge's look in turn 0, then user, agent and judge of turns 1 and 2
    assert result.turns == 3 and agent.calls == 3


def test_on_step_assertion_propagates_with_the_failed_result():
    class Dangerous(AgentAdapter):
        async def call(self, input):
            return call_message("dangerous_action", {})

    def check_tool_usage(state):
        if state.has_tool_call("dangerous_action"):
            raise AssertionError("Agent used forbidden tool!")

    with pytest.raises(AssertionError, match="Agent used forbidden tool!") as raised:
        arun(
            scenario.run(
                name="forbidden",
                description="x",
                agents=[Dangerous(), scenario.UserSimulatorAgent(lines=["go"]), scenario.JudgeAgent()],
                script=[scenario.proceed(turns=2, on_step=check_tool_usage), scenario.succeed()],
            )
        )
    result = raised.value.result
    assert not result.success and result.error is None
    assert "Agent used forbidden tool!" in result.reasoning


def test_custom_checks_return_succeed_or_fail_called_without_state():
    def custom_success_check(state: ScenarioState):
        if "booked" in state.last_message().get("content", "").lower():
            return scenario.succeed("Agent provided a solution")()
        return None

    def safety_check(state: ScenarioState):
        if "harmful" in state.last_message().get("content", "").lower():
            return scenario.fail("Agent produced harmful content")()
        return None

    def run_with(first_line: str, agent_reply: str | None = None):
        return arun(
            scenario.run(
                name="custom",
                description="x",
                agents=[BookingAgent()],
                script=[
                    scenario.user(first_line),
                    scenario.agent(agent_reply),
                    safety_check,
                    custom_success_check,
                    scenario.fail("no solution"),
                ],
            )
        )

    ok = run_with("a flight to Lima")
    assert ok.success and ok.reasoning == "Agent provided a solution"
    assert ok.messages[-1]["content"] == "Booked your flight to Lima."
    harmful = run_with("hi", "here is something harmful")
    assert not harmful.success and harmful.reasoning == "Agent produced harmful content"
    neither = run_with("hi")
    assert not neither.success and neither.reasoning == "no solution"


def test_async_step_and_steps_of_plain_functions_see_the_state():
    seen = {}

    async def remember(state):
        seen["turn"] = state.current_turn
        seen["thread"] = state.thread_id
        seen["last_user"] = state.last_user_message()["content"]
        seen["call"] = state.last_tool_call("book_flight")

    result = arun(
        scenario.run(
            name="fn steps",
            description="d",
            agents=[BookingAgent()],
            script=[scenario.user("to Bern"), scenario.agent(), remember, scenario.succeed()],
        )
    )
    assert result.success
    assert seen["turn"] == 0 and seen["thread"] == result.thread_id and seen["last_user"] == "to Bern"
    assert json.loads(seen["call"]["function"]["arguments"]) == {"to_city": "Bern"}


def test_without_a_script_user_agent_judge_until_verdict():
    agent = BookingAgent()
    result = arun(
        scenario.run(
            name="no script",
            description="The user wants a flight to Lisbon",
            agents=[
                agent,
                scenario.UserSimulatorAgent(lines=["hello", "I want to go to {city}"], variables={"city": "Lisbon"}),
                scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Lisbon")]),
            ],
        )
    )
    assert result.success and result.turns == 2
    assert result.passed_criteria == ["tool_called(book_flight(to_city='Lisbon'))"]


def test_max_turns_reached_is_a_failure_naming_what_was_not_met():
    result = arun(
        scenario.run(
            name="never books",
            description="The user never names a city",
            agents=[
                BookingAgent(),
                scenario.UserSimulatorAgent(lines=["hello"], followups=["hmm"]),
                scenario.JudgeAgent(criteria=[tool_called("book_flight"), never_called("cancel")]),
            ],
            max_turns=3,
        )
    )
    assert not result.success and result.status == "failed" and result.error is None
    assert result.turns == 3
    assert result.reasoning == "Reached maximum turns (3) without conclusion"
    assert result.failed_criteria == ["tool_called(book_flight)"]
    assert result.passed_criteria == ["never_called(cancel)"]
    assert [m["content"] for m in result.messages if m["role"] == "user"] == ["hello", "hmm", "hmm"]


def test_agent_that_raises_propagates_from_run_and_is_an_error_result_in_a_batch():
    class Broken(AgentAdapter):
        async def call(self, input):
            raise ValueError("database is down")

    def spec():
        return scenario.Scenario(
            name="broken",
            description="x",
            agents=[Broken(), scenario.JudgeAgent()],
            script=[scenario.user("hi"), scenario.agent(), scenario.succeed()],
        )

    with pytest.raises(ValueError, match="database is down"):
        arun(spec().run())
    result = arun(scenario.run_scenarios(spec())).runs[0]
    assert result.status == "error" and not result.success
    assert result.error.type == "ValueError" and result.error.stage == "agent"
    assert "database is down" in result.error.message
    assert "the agent under test (Broken) raised ValueError" in result.reasoning
    assert result.messages == [{"role": "user", "content": "hi"}]


def test_agent_input_new_messages_and_return_types():
    class Multi(AgentAdapter):
        def __init__(self):
            self.new = []

        async def call(self, input):
            self.new.append([m["content"] for m in input.new_messages])
            if len(self.new) == 1:
                return [{"role": "assistant", "content": "one"}, {"content": "two"}]
            from russo_nb.types import AgentResponse, ToolCall

            if len(self.new) == 2:
                return AgentResponse(text="booking", tool_calls=[ToolCall(name="book", arguments={"n": 2})])
            return ScenarioResult(success=True, reasoning="agent decided")

    agent = Multi()
    result = arun(
        scenario.run(
            name="returns",
            description="x",
            agents=[agent],
            script=[
                scenario.user("a"),
                scenario.agent(),
                scenario.user("b"),
                scenario.user("c"),
                scenario.agent(),
                scenario.user("d"),
                scenario.agent(),
                scenario.fail("not reached"),
            ],
        )
    )
    assert agent.new == [["a"], ["b", "c"], ["d"]]  # what others said since it last spoke, not its own reply
    assert result.success and result.reasoning == "agent decided"
    assert result.turns == 4  # a user speaking again starts the next turn: a | b | c | d
    assert result.messages[2] == {"role": "assistant", "content": "two"}
    assert json.loads(result.messages[5]["tool_calls"][0]["function"]["arguments"]) == {"n": 2}


def test_function_and_russo_text_agents_are_wrapped():
    from russo_nb import agent as russo_agent
    from russo_nb.types import ToolCall

    @russo_agent
    async def text_agent(text: str):
        return [ToolCall(name="echo", arguments={"text": text})]

    async def fn_agent(input):
        return f"fn heard {input.last_new_user_message_str()}"

    r1 = arun(
        scenario.run(
            name="text",
            description="x",
            agents=[text_agent],
            script=[scenario.user("hey"), scenario.agent(), scenario.succeed()],
        )
    )
    assert r1.tool_calls[0].arguments == {"text": "hey"}
    r2 = arun(
        scenario.run(
            name="fn",
            description="x",
            agents=[fn_agent],
            script=[scenario.user("yo"), scenario.agent(), scenario.succeed()],
        )
    )
    assert r2.messages[-1] == {"role": "assistant", "content": "fn heard yo"}


def test_state_helpers():
    state = ScenarioState("desc")
    with pytest.raises(InvalidArgumentError, match="no messages"):
        state.last_message()
    with pytest.raises(InvalidArgumentError, match="role"):
        state.add_message({"content": "no role"})
    state.add_message({"role": "user", "content": "hi"})
    state.add_message(call_message("book_flight", {"to_city": "LA"}))
    state.add_message(call_message("book_flight", {"to_city": "SF"}, call_id="c2"))
    assert state.has_tool_call("book_flight") and not state.has_tool_call("cancel")
    assert state.last_tool_call("book_flight")["id"] == "c2"
    assert state.tool_call_arguments("book_flight") == {"to_city": "SF"}
    assert [str(c) for c in state.tool_calls()] == ["book_flight(to_city='LA')", "book_flight(to_city='SF')"]
    assert state.last_user_message()["content"] == "hi"


def test_misconfigured_scripts_raise_clear_errors():
    with pytest.raises(ProtocolError, match="UserSimulatorAgent"):
        arun(scenario.run(name="x", description="d", agents=[BookingAgent()], script=[scenario.proceed()]))
    with pytest.raises(ProtocolError, match="no agent under test"):
        arun(scenario.run(name="x", description="d", agents=[], script=[scenario.user("a"), scenario.agent()]))
    judged = [scenario.user("to Oslo"), scenario.agent(), scenario.judge()]
    agent = BookingAgent()
    with pytest.raises(ProtocolError, match=r"asks for a verdict with judge\(\) but agents=\[...\] has no JudgeAgent"):
        arun(scenario.run(name="x", description="d", agents=[agent], script=judged))
    assert agent.calls == 0  # raised before the agent was called
    with pytest.raises(InvalidArgumentError, match="two agents"):
        arun(scenario.run(name="x", description="d", agents=[BookingAgent(), BookingAgent()]))
    with pytest.raises(InvalidArgumentError, match="not callable"):
        arun(scenario.run(name="x", description="d", agents=[BookingAgent()], script=["user says hi"]))
    with pytest.raises(InvalidArgumentError, match="turns"):
        scenario.proceed(turns=0)
    with pytest.raises(InvalidArgumentError, match="needs the scenario state"):
        scenario.user("hi")()


def test_script_ending_without_verdict_fails_with_advice():
    result = arun(
        scenario.run(
            name="open end", description="d", agents=[BookingAgent()], script=[scenario.user("hi"), scenario.agent()]
        )
    )
    assert not result.success and result.reasoning.startswith("Reached end of script without conclusion")


def test_named_and_lambda_predicates_in_verdicts():
    result = arun(
        scenario.run(
            name="named",
            description="d",
            agents=[
                BookingAgent(),
                scenario.JudgeAgent(criteria=[check(lambda s: s.current_turn == 0, "first turn"), lambda s: False]),
            ],
            script=[scenario.user("to Oslo"), scenario.agent(), scenario.judge()],
        )
    )
    assert result.passed_criteria == ["first turn"]
    assert result.failed_criteria[0].startswith("criterion 2 (lambda")


def test_script_and_criteria_from_suite_file_data():
    import yaml

    data = yaml.safe_load(
        """
        - user: Can you help me?
        - agent
        - judge:
            - never_called: book_flight
            - text_contains: where would you like
        - user: a flight to Quito
        - agent
        - judge:
            - tool_called: "book_flight(to_city='Quito')"
            - text_matches: "booked .* Quito"
            - max_turns: 2
        - succeed: all good
        """
    )
    steps = scenario.script_from_data(data)
    assert [repr(step) for step in steps[:2]] == ["user('Can you help me?')", "agent()"]
    result = arun(scenario.run(name="from yaml", description="d", agents=[BookingAgent()], script=steps))
    assert result.success and result.reasoning == "all good"
    assert "tool_called(book_flight(to_city='Quito'))" in result.passed_criteria and len(result.passed_criteria) == 5
    with pytest.raises(InvalidArgumentError, match="step 1"):
        scenario.script_from_data(["dance"])
    with pytest.raises(InvalidArgumentError, match="neither a sentence"):
        scenario.script_from_data([{"judge": [{"tool_caled": "x"}]}])
