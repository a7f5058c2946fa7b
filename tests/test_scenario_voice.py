"""Voice scenarios: each user turn synthesized (with effects), heard by an audio agent, audio kept per turn."""

from __future__ import annotations

import json

import pytest
from scenario_helpers import ToneSynthesizer, ToneVoiceAgent, WhiteNoise, arun, decode_tones

from russo_nb import scenario
from russo_nb.errors import InvalidArgumentError
from russo_nb.scenario import Scenario, VoiceAgentAdapter, run_scenarios
from russo_nb.scenario.criteria import tool_called
from russo_nb.types import Audio


def voice_run(seed: int = 0, effects=None):
    synthesizer, agent = ToneSynthesizer(), ToneVoiceAgent()
    result = arun(
        scenario.run(
            name="voice booking",
            description="The caller wants a flight to Paris",
            agents=[
                VoiceAgentAdapter(agent, synthesizer, effects=effects if effects is not None else [WhiteNoise(800)]),
                scenario.UserSimulatorAgent(lines=["hello there", "a flight to Paris please"]),
                scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Paris")]),
            ],
            seed=seed,
        )
    )
    return result, synthesizer, agent


def test_voice_turns_are_synthesized_heard_and_kept():
    result, synthesizer, agent = voice_run()
    assert result.success and result.turns == 2
    assert synthesizer.texts == ["hello there", "a flight to Paris please"]
    assert agent.heard == synthesizer.texts  # the agent decoded what it heard through the noise
    users = [m for m in result.messages if m["role"] == "user"]
    assert all(m["effects"] == ["noise:800"] for m in users)
    keys = [m["audio_key"] for m in users]
    assert len(set(keys)) == 2 and set(result.audio) == set(keys)
    for message in users:
        clip = result.audio[message["audio_key"]]
        assert isinstance(clip, Audio) and decode_tones(clip) == message["content"]
        assert clip.content_key() == message["audio_key"]
    booking = result.messages[-1]
    assert booking["role"] == "assistant"
    call = booking["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "book_flight"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == {"to_city": "Paris"}


def test_effects_are_drawn_from_the_run_seed():
    first, _, _ = voice_run(seed=1)
    again, _, _ = voice_run(seed=1)
    other, _, _ = voice_run(seed=2)
    clean, _, _ = voice_run(seed=1, effects=[])
    assert list(first.audio) == list(again.audio)
    assert set(first.audio).isdisjoint(other.audio)
    assert set(first.audio).isdisjoint(clean.audio)
    assert "effects" not in clean.messages[0]


def test_project_noise_effect_in_a_voice_scenario():
    from russo_nb.audio import Noise

    result, _, agent = voice_run(effects=[Noise(snr_db=20)])
    assert result.success and agent.heard[-1] == "a flight to Paris please"
    assert result.messages[0]["effects"] == ["noise:white:20dB"]


def test_voice_batch_keeps_audio_for_analysis():
    spec = Scenario(
        name="voice batch",
        description="d",
        agents=lambda: [
            VoiceAgentAdapter(ToneVoiceAgent(), ToneSynthesizer(), effects=[WhiteNoise(500)]),
            scenario.UserSimulatorAgent(lines=["a flight to Rome"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Rome")]),
        ],
    )
    batch = arun(run_scenarios(spec, runs=3, seed=4))
    assert batch.passed and len(batch.audio) == 3  # a different noise draw per run
    converted = batch.to_batch_result()
    for run in converted.runs:
        clip = converted.audio_for(run)
        assert clip is not None and decode_tones(clip) == "a flight to Rome"


def test_voice_adapter_checks_its_parts():
    with pytest.raises(InvalidArgumentError, match="synthesizer"):
        VoiceAgentAdapter(ToneVoiceAgent(), None)
    with pytest.raises(InvalidArgumentError, match="apply"):
        VoiceAgentAdapter(ToneVoiceAgent(), ToneSynthesizer(), effects=[object()])
    with pytest.raises(InvalidArgumentError, match="reverb"):
        VoiceAgentAdapter(ToneVoiceAgent(), ToneSynthesizer(), effects=["reverb:3"])
    assert (
        VoiceAgentAdapter(ToneVoiceAgent(), ToneSynthesizer(), effects="noise:10db").effect_names[0].startswith("noise")
    )


def test_local_voice_agent_end_to_end_with_espeak():
    """The offline pipeline for real: espeak-ng speaks each turn, pocketsphinx hears it, intents give the calls."""
    from russo_nb.adapters import LocalVoiceAgent
    from russo_nb.audio import EspeakSynthesizer

    result = arun(
        scenario.run(
            name="voice e2e",
            description="Book a flight, then check the weather",
            agents=[
                VoiceAgentAdapter(LocalVoiceAgent.demo(mode="inline"), EspeakSynthesizer()),
                scenario.UserSimulatorAgent(
                    lines=["Book a flight from New York to Los Angeles", "What is the weather in Paris today"]
                ),
                scenario.JudgeAgent(
                    criteria=[
                        tool_called("book_flight", from_city="NYC", to_city="LA"),
                        tool_called("get_weather", city="Paris"),
                    ]
                ),
            ],
            max_turns=3,
        )
    )
    assert result.success, result.summary()
    assert result.turns == 2
    assert [str(call) for call in result.tool_calls] == [
        "book_flight(from_city='NYC', to_city='LA')",
        "get_weather(city='Paris', day='today')",
    ]
    clips = [result.audio[m["audio_key"]] for m in result.messages if m["role"] == "user"]
    assert all(clip.duration_s > 1.0 for clip in clips)
