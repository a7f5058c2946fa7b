"""Scenarios behave as in the scenario library (langwatch-scenario 1.6), one test per point of issue 14.

Each test is written from the behaviour: a script goes in, the messages each agent
was given, the calls made and the result come out.
"""

from __future__ import annotations

import asyncio
import json
import traceback

import pytest
from scenario_helpers import BookingAgent, arun, call_message

from russo_nb import scenario
from russo_nb.errors import InvalidArgumentError
from russo_nb.scenario import AgentAdapter, AgentRole, ScenarioExecutor, ScenarioResult, ScenarioState
from russo_nb.scenario.criteria import check, tool_called
from russo_nb.types import ToolCall


class Recorder(AgentAdapter):
    """Plays ``role``: records what each call was given and answers with the next reply."""

    def __init__(self, role: AgentRole, replies: list | None = None, log: list | None = None) -> None:
        self.role = role  # type: ignore[misc]  # an instance attribute is enough for role_of()
        self.replies = list(replies or [])
        self.new: list[list[str]] = []
        self.turns: list[int] = []
        self.log = log if log is not None else []

    async def call(self, input):
        self.new.append([m.get("content") for m in input.new_messages])
        self.turns.append(input.scenario_state.current_turn)
        self.log.append((self.role.value, input.scenario_state.current_turn))
        reply = self.replies.pop(0) if self.replies else None
        return reply(input) if callable(reply) else reply


def verdict(success: bool = True, reasoning: str = "judged") -> ScenarioResult:
    return ScenarioResult(success=success, reasoning=reasoning)


# 1 ------------------------------------------------------------------------------------------
def test_1_new_messages_are_what_the_others_said_since_the_agent_last_spoke():
    user = Recorder(AgentRole.USER, ["Hi, I'm a user", "You can help me testing"])
    agent = Recorder(AgentRole.AGENT, ["Hey, how can I help you?", "Is it working?"])
    judge = Recorder(AgentRole.JUDGE)
    script = [scenario.user(), scenario.agent(), scenario.user(), scenario.agent(), scenario.succeed()]
    result = arun(scenario.run(name="new", description="d", agents=[agent, user, judge], script=script))
    assert user.new == [[], ["Hey, how can I help you?"]]
    assert agent.new == [["Hi, I'm a user"], ["You can help me testing"]]
    assert [m["content"] for m in result.messages] == [
        "Hi, I'm a user",
        "Hey, how can I help you?",
        "You can help me testing",
        "Is it working?",
    ]
    # scripted lines are new to everyone, the simulator too; the judge sees all since its last look
    user2 = Recorder(AgentRole.USER, ["from the simulator"])
    agent2 = Recorder(AgentRole.AGENT, ["r1", "r2"])
    judge2 = Recorder(AgentRole.JUDGE, [None, verdict()])
    script2 = [
        scenario.user("scripted"),
        scenario.agent(),
        scenario.judge(criteria=["ignored by the recorder"]),
        scenario.user(),
        scenario.agent(),
        scenario.judge(),
    ]
    arun(scenario.run(name="new2", description="d", agents=[agent2, user2, judge2], script=script2))
    assert user2.new == [["scripted", "r1"]]
    assert agent2.new == [["scripted"], ["from the simulator"]]
    assert judge2.new == [["scripted", "r1"], ["from the simulator", "r2"]]


# 2 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("turns", "added", "on_turn_calls"), [(1, 0, 0), (2, 2, 1), (3, 4, 2)])
def test_2_proceed_counts_the_turn_in_progress_as_its_first(turns, added, on_turn_calls):
    fired: list[int] = []
    agent = BookingAgent()
    never = scenario.JudgeAgent(criteria=[check(lambda s: False, "never")])
    result = arun(
        scenario.run(
            name="proceed",
            description="d",
            agents=[agent, scenario.UserSimulatorAgent(lines=["hello"], followups=["more"]), never],
            script=[
                scenario.user(),
                scenario.agent(),
                scenario.proceed(turns=turns, on_turn=lambda s: fired.append(s.current_turn)),
                scenario.succeed(),
            ],
        )
    )
    assert len(result.messages) == 2 + added
    assert len(fired) == on_turn_calls and fired == list(range(1, on_turn_calls + 1))
    assert agent.calls == 1 + added // 2


# 3 ------------------------------------------------------------------------------------------
def test_3_on_step_runs_after_the_judge_step_that_ends_the_run():
    steps: list[tuple[int, str]] = []
    result = arun(
        scenario.run(
            name="on_step",
            description="d",
            agents=[
                BookingAgent(),
                scenario.UserSimulatorAgent(lines=["a flight to Oslo"]),
                scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Oslo")]),
            ],
            script=[scenario.proceed(on_step=lambda s: steps.append((len(s.messages), s.messages[-1]["role"])))],
        )
    )
    assert result.success
    assert steps == [(1, "user"), (2, "assistant"), (2, "assistant")]  # user, agent, and the judge's verdict


# 4 ------------------------------------------------------------------------------------------
def test_4_messages_a_judge_returns_instead_of_a_verdict_are_kept():
    judge = Recorder(
        AgentRole.JUDGE, ["not yet: no booking", [{"role": "assistant", "content": "still no"}], verdict()]
    )
    result = arun(
        scenario.run(
            name="judge notes",
            description="d",
            agents=[BookingAgent(), scenario.UserSimulatorAgent(lines=["hi", "hello", "a flight to Rome"]), judge],
            max_turns=5,
        )
    )
    assert result.success and result.reasoning == "judged"
    assert [(m["role"], m["content"]) for m in result.messages] == [
        ("user", "hi"),
        ("assistant", "Where would you like to fly to?"),
        ("assistant", "not yet: no booking"),
        ("user", "hello"),
        ("assistant", "Where would you like to fly to?"),
        ("assistant", "still no"),
        ("user", "a flight to Rome"),
        ("assistant", "Booked your flight to Rome."),
    ]


# 5 ------------------------------------------------------------------------------------------
def test_5_a_passed_checkpoint_then_more_steps_without_a_verdict_succeeds():
    result = arun(
        scenario.run(
            name="checkpoint then more",
            description="d",
            agents=[BookingAgent(), scenario.JudgeAgent()],
            script=[
                scenario.user("Can you help me?"),
                scenario.agent(),
                scenario.judge(criteria=[check(lambda s: not s.has_tool_call("book_flight"), "asks first")]),
                scenario.user("to Paris"),
                scenario.agent(),
            ],
        )
    )
    assert result.success and result.status == "passed"
    assert result.reasoning == "All inline criteria checkpoints passed"
    assert result.passed_criteria == ["asks first"] and result.failed_criteria == []
    assert len(result.messages) == 4


# 6 ------------------------------------------------------------------------------------------
def test_6_current_turn_is_0_based_and_shared_by_the_roles_of_a_turn():
    log: list[tuple[str, int]] = []
    user = Recorder(AgentRole.USER, ["one", "two"], log)
    agent = Recorder(AgentRole.AGENT, ["r1", "r2"], log)
    judge = Recorder(AgentRole.JUDGE, [None, verdict()], log)
    seen: list[int] = []
    arun(
        scenario.run(
            name="turns",
            description="d",
            agents=[agent, user, judge],
            script=[lambda s: seen.append(s.current_turn), scenario.proceed()],
        )
    )
    assert seen == [0]
    assert log == [("user", 0), ("agent", 0), ("judge", 0), ("user", 1), ("agent", 1), ("judge", 1)]
    # scripted steps: a role that already spoke in this turn starts the next one
    user_turns: list[int] = []
    result = arun(
        scenario.run(
            name="scripted turns",
            description="d",
            agents=[BookingAgent()],
            script=[
                scenario.user("a"),
                lambda s: user_turns.append(s.current_turn),
                scenario.agent(),
                lambda s: user_turns.append(s.current_turn),
                scenario.agent("again"),
                lambda s: user_turns.append(s.current_turn),
                scenario.user("b"),
                scenario.user("c"),
                lambda s: user_turns.append(s.current_turn),
                scenario.succeed(),
            ],
        )
    )
    assert user_turns == [0, 0, 1, 3]
    assert result.turns == 4


# 7 ------------------------------------------------------------------------------------------
def test_7_state_accessors():
    empty = ScenarioState("d")
    assert empty.transcript() == "" and empty.first_user_message() == "" and empty.last_agent_message() == ""
    assert empty.criteria == [] and len(empty.tool_calls("x")) == 0
    never = empty.tool_calls("book_flight").last
    assert not never and never.input is None and never.output is None and never.name == "book_flight"

    seen = {}

    def inspect_state(state: ScenarioState) -> None:
        calls = state.tool_calls("book_flight")
        seen.update(
            criteria=state.criteria,
            first=state.first_user_message(),
            last=state.last_agent_message(),
            transcript=state.transcript(),
            n=len(calls),
            first_input=calls.first.input,
            last_input=calls.last.input,
            inputs=calls.inputs,
            outputs=calls.outputs,
            last_turn=calls.last.turn,
            all=[c.name for c in state.tool_calls()],
            bool=bool(calls.first),
        )

    result = arun(
        scenario.run(
            name="accessors",
            description="d",
            agents=[
                BookingAgent(),
                scenario.JudgeAgent(criteria=[check(bool, "Agent books"), tool_called("book_flight")]),
            ],
            script=[
                scenario.user("to Paris"),
                scenario.agent(),
                scenario.message({"role": "tool", "tool_call_id": "call_1", "content": '{"ok": true}'}),
                scenario.message(call_message("lookup", {"q": "x"}, call_id="c9")),
                scenario.user("and to Rome"),
                scenario.message(
                    call_message(
                        "book_flight", {"to_city": "Rome"}, content="Booked your flight to Rome.", call_id="c2"
                    )
                ),
                inspect_state,
                scenario.succeed(),
            ],
        )
    )
    assert result.success
    assert seen["criteria"] == ["Agent books", "tool_called(book_flight)"]
    assert seen["first"] == "to Paris" and seen["last"] == "Booked your flight to Rome."
    assert seen["n"] == 2 and seen["first_input"] == {"to_city": "Paris"} and seen["last_input"] == {"to_city": "Rome"}
    assert seen["inputs"] == [{"to_city": "Paris"}, {"to_city": "Rome"}]
    assert seen["outputs"] == ['{"ok": true}', None]  # a tool result joins the call with its id
    assert seen["last_turn"] == 2 and seen["bool"] is True
    assert seen["all"] == ["book_flight", "lookup", "book_flight"]
    lines = seen["transcript"].splitlines()
    assert lines[0] == "user: to Paris"
    assert lines[1] == "assistant: Booked your flight to Paris."
    assert lines[2] == '  [tool call] book_flight({"to_city": "Paris"})'
    assert lines[3] == 'tool: {"ok": true}'
    assert result.tool_calls[0] == ToolCall(name="book_flight", arguments={"to_city": "Paris"})


# 8 ------------------------------------------------------------------------------------------
class FlakyBackend(AgentAdapter):
    """Raises ConnectionError (caused by an OSError) on the calls listed in ``fail_on`` (1-based)."""

    def __init__(self, fail_on: set[int], exc: type[BaseException] = ConnectionError) -> None:
        self.fail_on = fail_on
        self.exc = exc
        self.calls = 0

    async def call(self, input):
        self.calls += 1
        if self.calls in self.fail_on:
            self._connect()
        return "Booked."

    def _connect(self) -> None:
        try:
            raise OSError("socket closed by peer")
        except OSError as cause:
            raise self.exc("booking service unreachable") from cause


def test_8_an_agent_error_propagates_from_one_run_with_traceback_cause_and_agent_name():
    torn = []
    spec = scenario.Scenario(
        name="flaky",
        description="d",
        agents=[FlakyBackend({1}), scenario.JudgeAgent()],
        script=[scenario.user("to Oslo"), scenario.agent(), scenario.succeed()],
        teardown=lambda: torn.append(True),
    )
    with pytest.raises(ConnectionError, match="booking service unreachable") as info:
        arun(spec.run())
    assert isinstance(info.value.__cause__, OSError) and "socket closed" in str(info.value.__cause__)
    assert "_connect" in [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert any("FlakyBackend" in note and "agent under test" in note for note in getattr(info.value, "__notes__", []))
    assert torn == [True]


def test_8_a_batch_records_the_agent_error_per_run_with_its_traceback():
    spec = scenario.Scenario(
        name="flaky",
        description="d",
        agents=lambda: [FlakyBackend({1}), scenario.JudgeAgent()],
        script=[scenario.user("to Oslo"), scenario.agent(), scenario.succeed()],
    )
    batch = arun(scenario.run_scenarios(spec, runs=2))
    for run in batch.runs:
        assert run.status == "error" and run.error.type == "ConnectionError" and run.error.stage == "agent"
        assert "raise self.exc(" in run.error.traceback and "OSError: socket closed by peer" in run.error.traceback
        assert run.error.cause == "OSError: socket closed by peer" and run.error.agent == "FlakyBackend"
        assert str(run.error) == "ConnectionError during agent in FlakyBackend: booking service unreachable"
        assert run.reasoning == (
            "the agent under test (FlakyBackend) raised ConnectionError: booking service unreachable "
            "(from OSError: socket closed by peer)"
        )
        assert run.messages == [{"role": "user", "content": "to Oslo"}]


def test_8_an_assertion_in_a_step_propagates_with_the_failed_result_and_passed_checkpoints():
    def no_booking_yet(state):
        assert not state.has_tool_call("book_flight"), "booked before confirming"

    spec = scenario.Scenario(
        name="assert",
        description="d",
        agents=lambda: [BookingAgent()],
        script=[
            scenario.user("hi"),
            scenario.agent(),
            scenario.judge(criteria=[check(lambda s: True, "greets")]),
            scenario.user("to Lima"),
            scenario.agent(),
            no_booking_yet,
            scenario.succeed(),
        ],
    )
    with pytest.raises(AssertionError, match="booked before confirming") as raised:
        arun(scenario.run(name="assert", description="d", agents=spec.agents(), script=spec.script))
    result = raised.value.result
    assert not result.success and result.status == "failed" and result.error is None
    assert result.passed_criteria == ["greets"]
    assert result.failed_criteria == ["booked before confirming"]
    assert len(result.messages) == 4 and result.phases[-1] == "torn_down"
    assert any("checkpoints passed before it: greets" in note for note in raised.value.__notes__)

    batch_run = arun(scenario.run_scenarios(spec)).runs[0]  # a batch records it as that run's failure
    assert batch_run.status == "failed" and batch_run.failed_criteria == ["booked before confirming"]
    assert batch_run.passed_criteria == ["greets"]

    def bare(state):
        raise AssertionError  # as a bare `assert` outside pytest: no message

    with pytest.raises(AssertionError) as bare_raised:
        arun(scenario.run(name="bare", description="d", agents=[BookingAgent()], script=[scenario.user("x"), bare]))
    assert bare_raised.value.result.failed_criteria == ["an assertion in bare failed"]


# 9 ------------------------------------------------------------------------------------------
def test_9_default_reasonings():
    def run(script, **kwargs):
        return arun(scenario.run(name="r", description="d", agents=[BookingAgent()], script=script, **kwargs))

    assert run([scenario.succeed()]).reasoning == "Scenario marked as successful with scenario.succeed()"
    assert run([scenario.fail()]).reasoning == "Scenario marked as failed with scenario.fail()"
    assert scenario.succeed()().reasoning == "Scenario marked as successful with scenario.succeed()"
    assert run([scenario.user("hi"), scenario.agent()]).reasoning.startswith("Reached end of script without conclusion")
    capped = arun(
        scenario.run(
            name="cap",
            description="d",
            agents=[BookingAgent(), scenario.UserSimulatorAgent(lines=["hi"]), scenario.JudgeAgent(criteria=[])],
            max_turns=2,
        )
    )
    assert capped.reasoning == "Reached maximum turns (2) without conclusion" and capped.turns == 2


# 10 -----------------------------------------------------------------------------------------
def test_10_executor_step_plays_one_role_at_a_time():
    user = Recorder(AgentRole.USER, ["Hi, I'm a user", "again"])
    agent = Recorder(AgentRole.AGENT, ["Hey, how can I help you?"])
    judge = Recorder(AgentRole.JUDGE, [None, verdict(reasoning="enough")])
    state = ScenarioState("d")
    executor = ScenarioExecutor(state, [agent, user, judge])

    async def play():
        out = []
        for _ in range(5):
            out.append((await executor.step(), state.current_turn, [r.value for r in executor.pending_roles]))
        return out

    steps = arun(play())
    assert steps[0] == ([{"role": "user", "content": "Hi, I'm a user"}], 0, ["agent", "judge"])
    assert steps[1] == ([{"role": "assistant", "content": "Hey, how can I help you?"}], 0, ["judge"])
    assert steps[2] == ([], 0, [])  # the judge looked and let it go on
    assert steps[3] == ([{"role": "user", "content": "again"}], 1, ["agent", "judge"])
    assert isinstance(steps[4][0], list) and steps[4][0] == [] and steps[4][1] == 1  # the agent had nothing more
    # roles without an agent are skipped
    lonely = ScenarioExecutor(ScenarioState("d"), [Recorder(AgentRole.AGENT, ["r"])])
    assert arun(lonely.step()) == [{"role": "assistant", "content": "r"}]


def test_10_judge_min_turns_keeps_the_conversation_going():
    looks: list[int] = []
    always = check(lambda s: looks.append(s.current_turn) or True, "always")
    result = arun(
        scenario.run(
            name="min turns",
            description="d",
            agents=[
                BookingAgent(),
                scenario.UserSimulatorAgent(lines=["hi"], followups=["hm"]),
                scenario.JudgeAgent(criteria=[always], min_turns=2),
            ],
            max_turns=5,
        )
    )
    assert result.success and looks == [2] and result.turns == 3
    forced = arun(
        scenario.run(
            name="forced",
            description="d",
            agents=[BookingAgent(), scenario.JudgeAgent(criteria=[always], min_turns=3)],
            script=[scenario.user("hi"), scenario.agent(), scenario.judge()],
        )
    )
    assert forced.success  # judge() in a script is always answered
    with pytest.raises(InvalidArgumentError, match="min_turns"):
        scenario.JudgeAgent(min_turns=-1)
    with pytest.raises(InvalidArgumentError, match="min_turns=4 is above max_turns=3"):
        arun(scenario.run(name="x", description="d", agents=[scenario.JudgeAgent(min_turns=4)], max_turns=3))


# 11 -----------------------------------------------------------------------------------------
def test_11_scenario_runs_go_through_the_engine_retry_policy():
    torn: list[int] = []
    backend = FlakyBackend({1})
    spec = scenario.Scenario(
        name="retry",
        description="d",
        agents=lambda: [backend, scenario.JudgeAgent()],
        script=[scenario.user("to Oslo"), scenario.agent(), scenario.succeed()],
        teardown=lambda: torn.append(backend.calls),
    )
    batch = arun(scenario.run_scenarios(spec, retries=2, retry_on=ConnectionError, retry_backoff=0.01))
    run = batch.runs[0]
    assert run.status == "passed" and run.attempts == 2 and backend.calls == 2
    assert torn == [1, 2]  # teardown after the failed attempt and after the good one
    assert [m["content"] for m in run.messages] == ["to Oslo", "Booked."]
    # the summary says so, as it does for a prompt run (and counts one scenario, one turn, in the singular)
    assert batch.summary().splitlines()[0] == "PASSED (100% pass rate, 1 runs, 1 scenario)"
    assert "[+] run 0: passed, 1 turn after 2 attempts (last retried: ConnectionError)" in batch.summary()
    # not retryable: recorded as an error after one attempt, with its stage and partial transcript
    other = FlakyBackend({1}, exc=KeyError)
    spec2 = spec.model_copy(update={"agents": lambda: [other, scenario.JudgeAgent()], "teardown": None})
    failed = arun(scenario.run_scenarios(spec2, retries=2, retry_on=ConnectionError, retry_backoff=0.01)).runs[0]
    assert failed.status == "error" and failed.attempts == 1 and other.calls == 1
    assert failed.error.stage == "agent" and failed.messages == [{"role": "user", "content": "to Oslo"}]


def test_11_an_agent_timeout_is_a_timeout_status_like_a_prompt_run():
    torn = []
    spec = scenario.Scenario(
        name="agent deadline",
        description="d",
        agents=lambda: [FlakyBackend({1}, exc=TimeoutError), scenario.JudgeAgent()],
        script=[scenario.user("to Oslo"), scenario.agent(), scenario.succeed()],
        teardown=lambda: torn.append(True),
    )
    run = arun(scenario.run_scenarios(spec)).runs[0]
    assert run.status == "timeout" and run.error.type == "TimeoutError" and run.error.stage == "agent"
    assert "booking service unreachable" in run.error.message and torn == [True]

    class Slow(AgentAdapter):
        async def call(self, input):
            await asyncio.sleep(30)

    slow = spec.model_copy(update={"agents": lambda: [Slow(), scenario.JudgeAgent()]})
    timed = arun(scenario.run_scenarios(slow, timeout=0.2)).runs[0]
    assert timed.status == "timeout" and timed.error.stage == "agent" and torn == [True, True]
    assert timed.messages == [{"role": "user", "content": "to Oslo"}]


def test_11_a_run_that_ends_well_is_unaffected_by_retry_settings():
    batch = arun(
        scenario.run_scenarios(
            scenario.Scenario(
                name="fine",
                description="d",
                agents=lambda: [BookingAgent(), scenario.JudgeAgent()],
                script=[scenario.user("to Oslo"), scenario.agent(), scenario.succeed()],
            ),
            runs=3,
            retries=1,
            retry_on=ConnectionError,
        )
    )
    assert [run.attempts for run in batch.runs] == [1, 1, 1] and batch.pass_rate == 1.0
    assert json.loads(batch.runs[0].messages[1]["tool_calls"][0]["function"]["arguments"]) == {"to_city": "Oslo"}
