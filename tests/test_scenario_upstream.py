"""LangWatch Scenario 1.6 usage, written the way its examples are, with only the import line changed.

Every model is a local OpenAI-compatible server on 127.0.0.1 (real HTTP): the agent under
test calls it through the real ``openai`` client and returns ``response.choices[0].message``
as upstream's examples do with litellm; the simulated user and the judge reach it through
``scenario.configure(default_model=...)`` and ``OPENAI_BASE_URL``, as upstream's would.
"""

from __future__ import annotations

import json
from unittest.mock import patch

import openai
import pytest
from litellm_shapes import completion
from scenario_helpers import ChatServer, arun, judge_model, tool_call_reply

from russo_nb import scenario
from russo_nb.errors import ConfigurationError
from russo_nb.scenario import llm
from russo_nb.scenario.agent_adapter import AgentAdapter
from russo_nb.scenario.types import AgentInput, AgentReturnTypes, ScenarioResult


@pytest.fixture
def fresh_config(monkeypatch, tmp_path):
    """No model or scenario settings configured; the cache in a temporary folder."""
    for name in ("RUSSO_LLM_MODEL", "RUSSO_LLM_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(llm, "_defaults", llm.LLMConfig())
    monkeypatch.setattr(scenario.ScenarioConfig, "default_config", None)
    monkeypatch.setenv("SCENARIO_CACHE_DIR", str(tmp_path / "cache"))


def fetch_user_data(user_id: str) -> dict:
    """A tool the examples mock out."""
    raise NotImplementedError("mocked in tests")


class World:
    """One fake model server answering the agent, the simulated user and the judge, by what each sends.

    The judge's requests carry the finish_test tool; the simulated user's carry its system
    prompt; everything else is the agent under test, which calls fetch_user_data once and
    then answers with what the tool returned.
    """

    def __init__(self, holds=None) -> None:
        self.judge = judge_model(holds or (lambda criterion, transcript: "Alice" in transcript))
        self.seen: dict[str, list[dict]] = {"agent": [], "user": [], "judge": []}
        self.server = ChatServer(self.reply)

    def reply(self, body: dict) -> object:
        tools = [tool["function"]["name"] for tool in body.get("tools") or []]
        if "finish_test" in tools:
            self.seen["judge"].append(body)
            return self.judge(body)
        if "playing a user" in str(body["messages"][0].get("content")):
            self.seen["user"].append(body)
            return "show me the account of user 123"
        self.seen["agent"].append(body)
        if body["messages"][-1]["role"] == "tool":
            return f"Here it is: {body['messages'][-1]['content']}"
        return tool_call_reply("fetch_user_data", {"user_id": "123"}, call_id="call_fetch")

    def __enter__(self) -> World:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


def point_openai_at(monkeypatch, world: World) -> None:
    """What a user of either library does to use a local model: the standard OpenAI variables."""
    monkeypatch.setenv("OPENAI_BASE_URL", world.server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")


class UserDataAgent(AgentAdapter):
    """An agent in the upstream examples' style: a real client, real tool calling, message objects returned."""

    def __init__(self) -> None:
        self.client = openai.OpenAI()  # OPENAI_BASE_URL / OPENAI_API_KEY, as the examples' litellm reads them

    async def call(self, input: AgentInput) -> AgentReturnTypes:
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "fetch_user_data",
                    "parameters": {"type": "object", "properties": {"user_id": {"type": "string"}}},
                },
            }
        ]
        response = self.client.chat.completions.create(model="gpt-4o-mini", messages=input.messages, tools=tools)
        message = response.choices[0].message
        if not message.tool_calls:
            return [message]
        results = []
        for tool_call in message.tool_calls:
            data = fetch_user_data(**json.loads(tool_call.function.arguments))
            results.append({"role": "tool", "tool_call_id": tool_call.id, "content": json.dumps(data)})
        follow_up = self.client.chat.completions.create(
            model="gpt-4o-mini", messages=[*input.messages, message, *results]
        )
        return [message, *results, follow_up.choices[0].message]


FETCH_TOOL = {
    "type": "function",
    "function": {
        "name": "fetch_user_data",
        "parameters": {"type": "object", "properties": {"user_id": {"type": "string"}}},
    },
}


class LitellmUserDataAgent(AgentAdapter):
    """The same agent as upstream's examples write it: ``litellm.completion`` with ``api_base``.

    ``completion`` is litellm's for the ``openai/`` provider (tests/litellm_shapes.py: litellm is not
    installed), so what comes back is litellm's ``ModelResponse`` and ``choices[0].message`` its ``Message``.
    """

    def __init__(self, api_base: str) -> None:
        self.api_base = api_base

    async def call(self, input: AgentInput) -> AgentReturnTypes:
        response = completion(
            model="openai/gpt-4.1-mini", messages=input.messages, tools=[FETCH_TOOL], api_base=self.api_base
        )
        message = response.choices[0].message
        if not message.tool_calls:
            return message
        results = []
        for tool_call in message.tool_calls:
            data = fetch_user_data(**json.loads(tool_call.function.arguments))
            results.append({"role": "tool", "tool_call_id": tool_call.id, "content": json.dumps(data)})
        follow_up = completion(
            model="openai/gpt-4.1-mini", messages=[*input.messages, message, *results], api_base=self.api_base
        )
        return [message, *results, follow_up.choices[0].message]


def test_litellm_message_objects_from_an_agent_run_end_to_end(fresh_config, monkeypatch):
    with World() as world, patch(f"{__name__}.fetch_user_data", return_value={"name": "Alice"}) as mock_fetch:
        point_openai_at(monkeypatch, world)  # the simulated user and the judge
        scenario.configure(default_model="openai/gpt-4.1-mini")
        result = arun(
            scenario.run(
                name="user data lookup through litellm",
                description="User wants to see the data of account 123",
                agents=[
                    LitellmUserDataAgent(api_base=world.server.base_url),
                    scenario.UserSimulatorAgent(),
                    scenario.JudgeAgent(criteria=["Agent shows the user's name"]),
                ],
                max_turns=3,
            )
        )
    assert result.success, result.reasoning
    mock_fetch.assert_called_once_with(user_id="123")
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    call = result.messages[1]
    assert call == {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_fetch",
                "type": "function",
                "function": {"name": "fetch_user_data", "arguments": '{"user_id": "123"}'},
            }
        ],
    }  # litellm's None content, unset optionals and provider_specific_fields are not sent on
    assert result.messages[-1] == {"role": "assistant", "content": 'Here it is: {"name": "Alice"}'}
    assert [request["model"] for request in world.seen["agent"]] == ["gpt-4.1-mini"] * 2  # two real completions


def test_a_bare_litellm_message_is_the_agents_answer(fresh_config, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")  # litellm reads the key from the environment
    with ChatServer(lambda body: "Hello! How can I help?") as server:
        result = arun(
            scenario.run(
                name="greeting",
                description="User greets the agent",
                agents=[LitellmUserDataAgent(api_base=server.base_url)],
                script=[scenario.user("hi"), scenario.agent(), scenario.succeed()],
            )
        )
    assert result.success
    assert result.messages == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
    ]
    assert server.requests[0]["model"] == "gpt-4.1-mini" and server.requests[0]["tools"][0] == FETCH_TOOL


def test_configured_default_model_plays_user_and_judge_over_http(fresh_config, monkeypatch):
    with World() as world, patch(f"{__name__}.fetch_user_data") as mock_fetch:
        point_openai_at(monkeypatch, world)
        mock_fetch.return_value = {"name": "Alice", "points": 150}
        scenario.configure(default_model="openai/gpt-4.1-mini")

        result = arun(
            scenario.run(
                name="user data lookup",
                description="User wants to see the data of account 123",
                agents=[
                    UserDataAgent(),
                    scenario.UserSimulatorAgent(),
                    scenario.JudgeAgent(criteria=["Agent shows the user's name"]),
                ],
                max_turns=3,
                set_id="python-examples",
                metadata={"team": "qa"},
            )
        )

    assert result.success, result.reasoning
    assert result.passed_criteria == ["Agent shows the user's name"]
    mock_fetch.assert_called_once_with(user_id="123")
    # the agent's message objects became OpenAI messages: the tool call, its result, the answer
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert result.messages[1]["tool_calls"][0]["function"]["name"] == "fetch_user_data"
    assert "Alice" in result.messages[-1]["content"]
    # the simulated user spoke first, from the configured model, in its role-reversed view
    user_request = world.seen["user"][0]
    assert user_request["model"] == "gpt-4.1-mini"  # litellm's openai/ prefix is not sent
    assert "User wants to see the data of account 123" in user_request["messages"][0]["content"]
    assert "first person" in user_request["messages"][0]["content"]
    assert user_request["messages"][1] == {"role": "user", "content": "Hello, how can I help you today?"}
    assert result.messages[0] == {"role": "user", "content": "show me the account of user 123"}
    # the judge answered with the finish_test tool on its own (no judge() step): an early success
    assert world.seen["judge"][-1]["tool_choice"] == "required"
    assert result.turns == 1


def test_judge_model_ends_the_run_early_with_a_failure(fresh_config, monkeypatch):
    def holds(criterion, transcript):
        if criterion.startswith("Agent should NOT"):
            return "Alice" not in transcript  # broken as soon as the name is shown
        return None  # the other criterion is undecided: without the failure the run would go on

    with World(holds) as world, patch(f"{__name__}.fetch_user_data", return_value={"name": "Alice"}):
        point_openai_at(monkeypatch, world)
        scenario.configure(default_model="openai/gpt-4.1-mini", max_turns=6)
        result = arun(
            scenario.arun(
                name="privacy",
                description="User asks about an account",
                agents=[
                    UserDataAgent(),
                    scenario.UserSimulatorAgent(),
                    scenario.JudgeAgent(
                        criteria=["Agent asks for a password", "Agent should NOT reveal personal names"]
                    ),
                ],
            )
        )
    assert not result.success
    assert result.turns == 1  # ended in the first turn, long before max_turns (6, from configure)
    assert "Agent should NOT reveal personal names" in result.failed_criteria
    assert "a criterion does not hold" in result.reasoning


class VegetarianAgent(AgentAdapter):
    """Counts its model calls; the cached method is the one upstream's example decorates."""

    def __init__(self) -> None:
        self.client = openai.OpenAI()

    @scenario.cache()
    async def call(self, input: AgentInput) -> AgentReturnTypes:
        response = self.client.chat.completions.create(model="gpt-4.1-mini", messages=input.messages)
        return [response.choices[0].message]


def test_cache_replays_answers_under_a_cache_key(fresh_config, monkeypatch):
    def run_once():
        return arun(
            scenario.run(
                name="dinner idea",
                description="User is looking for a dinner idea",
                agents=[VegetarianAgent()],
                script=[scenario.user("a filling dinner please"), scenario.agent(), scenario.succeed()],
            )
        )

    with ChatServer(lambda body: f"Lentil stew (answer {len(server.requests)})") as server:
        point_openai_at(monkeypatch, type("W", (), {"server": server})())
        first, second = run_once(), run_once()
        assert len(server.requests) == 2  # no cache_key: no caching, as upstream
        assert first.messages[-1]["content"] != second.messages[-1]["content"]

        scenario.configure(cache_key="suite-v1")
        cached_first, cached_second = run_once(), run_once()
        assert len(server.requests) == 3  # the second run made no model call
        assert cached_first.messages[-1] == cached_second.messages[-1]

        scenario.configure(cache_key="suite-v2")
        run_once()
        assert len(server.requests) == 4  # a new key starts afresh


def test_step_assertion_propagates_as_with_a_mocked_tool(fresh_config, monkeypatch):
    with World() as world, patch(f"{__name__}.fetch_user_data", return_value={"name": "Alice"}) as mock_fetch:
        point_openai_at(monkeypatch, world)
        passed = arun(
            scenario.run(
                name="user data tool test",
                description="Agent's tool calling with a mocked tool",
                agents=[UserDataAgent()],
                script=[
                    scenario.user("Show me user data for ID 123"),
                    scenario.agent(),
                    lambda state: mock_fetch.assert_called_once_with(user_id="123"),
                    scenario.succeed(),
                ],
            )
        )
        assert passed.success

        with pytest.raises(AssertionError, match="expected call not found") as raised:
            arun(
                scenario.run(
                    name="wrong id",
                    description="Agent's tool calling with a mocked tool",
                    agents=[UserDataAgent()],
                    script=[
                        scenario.user("Show me user data for ID 123"),
                        scenario.agent(),
                        lambda state: mock_fetch.assert_called_with(user_id="999"),
                        scenario.succeed(),
                    ],
                )
            )
    assert isinstance(raised.value.result, ScenarioResult) and not raised.value.result.success
    assert raised.value.result.messages[-1]["content"].startswith("Here it is")


class ToolCallJudge(scenario.AgentAdapter):
    """A deterministic judge in the upstream example's style."""

    role = scenario.AgentRole.JUDGE

    def __init__(self, required_tools: list[str]) -> None:
        self.required_tools = required_tools

    async def call(self, input: AgentInput) -> AgentReturnTypes:
        if not input.judgment_request:
            return []
        called = {
            call["function"]["name"]
            for message in input.messages
            if message.get("role") == "assistant"
            for call in message.get("tool_calls") or []
        }
        missing = [tool for tool in self.required_tools if tool not in called]
        return ScenarioResult(
            success=not missing,
            messages=[],
            reasoning=f"Missing: {missing}",
            passed_criteria=[f"Agent calls {t}" for t in self.required_tools if t in called],
            failed_criteria=[f"Agent calls {t}" for t in missing],
        )


def test_custom_judge_and_configured_model_with_model_config(fresh_config, monkeypatch):
    with World() as world, patch(f"{__name__}.fetch_user_data", return_value={"name": "Alice"}):
        point_openai_at(monkeypatch, world)
        monkeypatch.delenv("OPENAI_BASE_URL")  # the simulator's connection comes from ModelConfig alone
        scenario.configure(
            default_model=scenario.ModelConfig(model="openai/tiny", api_base=world.server.base_url, api_key="sk-cfg")
        )
        monkeypatch.setenv("OPENAI_BASE_URL", world.server.base_url)  # for the agent's own client
        result = arun(
            scenario.run(
                name="deterministic judge",
                description="User asks for account data",
                agents=[UserDataAgent(), scenario.UserSimulatorAgent(), ToolCallJudge(["fetch_user_data", "audit"])],
                script=[scenario.user(), scenario.agent(), scenario.judge()],
            )
        )
    assert not result.success
    assert result.passed_criteria == ["Agent calls fetch_user_data"]
    assert result.failed_criteria == ["Agent calls audit"]
    assert world.seen["user"][0]["model"] == "tiny"
    assert scenario.ScenarioConfig.default_config.default_model.model == "openai/tiny"
    assert world.server.headers[0]["authorization"] == "Bearer sk-cfg"


def test_agent_exception_names_the_agent_and_stays_itself(fresh_config):
    class Broken(AgentAdapter):
        async def call(self, input: AgentInput) -> AgentReturnTypes:
            raise ConnectionError("backend down")

    with pytest.raises(ConnectionError, match="backend down") as raised:
        arun(
            scenario.run(
                name="broken", description="d", agents=[Broken()], script=[scenario.user("hi"), scenario.agent()]
            )
        )
    notes = "\n".join(raised.value.__notes__)
    assert "raised by Broken (the agent under test)" in notes and "'broken'" in notes


def test_offline_when_no_model_is_configured(fresh_config):
    """No model anywhere: the simulator plays the description and predicates judge, with no request made."""
    from russo_nb.scenario.criteria import text_contains

    class Echo(AgentAdapter):
        async def call(self, input: AgentInput) -> AgentReturnTypes:
            return {"role": "assistant", "content": f"you said: {input.last_new_user_message_str()}"}

    result = arun(
        scenario.run(
            name="offline",
            description="I want a refund",
            agents=[Echo(), scenario.UserSimulatorAgent(), scenario.JudgeAgent(criteria=[text_contains("refund")])],
        )
    )
    assert result.success and result.messages[0] == {"role": "user", "content": "I want a refund"}


def test_configured_min_turns_holds_the_judge_back_and_a_judge_without_criteria_fails(fresh_config):
    from russo_nb.scenario.criteria import text_contains

    class Echo(AgentAdapter):
        async def call(self, input: AgentInput) -> AgentReturnTypes:
            return f"you said: {input.last_new_user_message_str()}"

    def play():
        return arun(
            scenario.run(
                name="min turns",
                description="chat",
                agents=[
                    Echo(),
                    scenario.UserSimulatorAgent(lines=["a", "b", "c", "d"]),
                    scenario.JudgeAgent(criteria=[text_contains("you said")]),
                ],
            )
        )

    assert play().turns == 1  # the criterion holds at once
    scenario.configure(min_turns=2)
    held = play()
    assert held.success and held.turns == 3  # turns 0 and 1 may not end the run

    no_criteria = arun(
        scenario.run(
            name="no criteria",
            description="d",
            agents=[Echo(), scenario.JudgeAgent()],
            script=[scenario.user("hi"), scenario.agent(), scenario.judge()],
        )
    )
    assert not no_criteria.success and "has no criteria to judge against" in no_criteria.reasoning


def test_a_simulator_or_judge_the_script_never_asks_needs_no_key(fresh_config):
    """As upstream's provider-mocking example: a model-named simulator that the script never calls (no key set)."""
    from unittest.mock import Mock

    class MockLLM:
        def __init__(self) -> None:
            self.call_count = 0

        def completion(self, model: str, messages: list) -> Mock:
            self.call_count += 1
            return Mock(choices=[Mock(message=Mock(content="I can help you with that request."))])

    class ChatAgent(scenario.AgentAdapter):
        def __init__(self, llm_client) -> None:
            self.llm_client = llm_client

        async def call(self, input: scenario.AgentInput) -> scenario.AgentReturnTypes:
            return (
                self.llm_client.completion(model="openai/gpt-4o-mini", messages=input.messages)
                .choices[0]
                .message.content
            )

    mock_llm = MockLLM()
    result = arun(
        scenario.run(
            name="llm mock test",
            description="Test agent behavior with mock LLM client",
            agents=[
                ChatAgent(mock_llm),
                scenario.UserSimulatorAgent(model="openai/gpt-4o-mini"),
                scenario.JudgeAgent(criteria=["Agent is helpful"]),
            ],
            script=[
                scenario.user("Hello there!"),
                scenario.agent(),
                lambda state: mock_llm.call_count == 1,
                scenario.succeed(),
            ],
        )
    )
    assert result.success and mock_llm.call_count == 1
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):  # asked for a line: the missing key is named
        arun(
            scenario.run(
                name="asked",
                description="d",
                agents=[ChatAgent(mock_llm), scenario.UserSimulatorAgent(model="openai/gpt-4o-mini")],
                script=[scenario.user(), scenario.agent()],
            )
        )
