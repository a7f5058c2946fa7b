"""russo's examples and docs, written as they are with ``import russo_nb as russo``: private module paths,
``assert_tool_calls(message=)``, the google.genai patch target, WebSocketAgent's JSON message and AudioManager."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from unittest.mock import AsyncMock, MagicMock, patch

import numpy as np
import pytest
from adapter_helpers import BOOK, WebSocketAgentServer
from foundation_helpers import tone

import russo_nb as russo
from russo_nb._types import EvalResult, ToolCall, ToolCallMatch


class FuzzyEvaluator:
    """russo's custom_evaluator example: case-insensitive names, expected arguments a subset of the actual."""

    def evaluate(self, expected: list[ToolCall], actual: list[ToolCall]) -> EvalResult:
        matches = []
        remaining = list(actual)
        for exp in expected:
            found = next(
                (
                    call
                    for call in remaining
                    if call.name.lower() == exp.name.lower()
                    and all(call.arguments.get(k) == v for k, v in exp.arguments.items())
                ),
                None,
            )
            if found is not None:
                remaining.remove(found)
                matches.append(ToolCallMatch(expected=exp, actual=found, matched=True))
            else:
                matches.append(ToolCallMatch(expected=exp, matched=False, details=f"No fuzzy match for {exp.name}"))
        return EvalResult(passed=all(m.matched for m in matches), expected=expected, actual=actual, matches=matches)


@russo.agent
async def shouting_agent(audio: russo.Audio) -> russo.AgentResponse:
    return russo.AgentResponse(
        tool_calls=[russo.ToolCall(name="BOOK_FLIGHT", arguments={"from_city": "NYC", "to_city": "LA", "seat": "1A"})]
    )


class FakeSynthesizer:
    async def synthesize(self, text: str) -> russo.Audio:
        return russo.Audio(data=b"\x00" * 4800, format="wav", sample_rate=24000)


def test_private_module_paths_are_the_public_objects():
    import russo_nb._assertions as assertions_alias
    import russo_nb._cache as cache_alias
    import russo_nb._helpers as helpers_alias
    import russo_nb._pipeline as pipeline_alias
    import russo_nb._protocols as protocols_alias

    assert ToolCall is russo.ToolCall and EvalResult is russo.EvalResult
    assert protocols_alias.Evaluator is russo.Evaluator and protocols_alias.Agent is russo.Agent
    assert isinstance(FuzzyEvaluator(), protocols_alias.Evaluator)
    assert isinstance(russo.parsers.GeminiResponseParser(), protocols_alias.ResponseParser)
    assert assertions_alias.assert_tool_calls is russo.assert_tool_calls
    assert cache_alias.AudioCache is russo.AudioCache and helpers_alias.tool_call is russo.tool_call
    assert pipeline_alias.run is russo.run and pipeline_alias.run_concurrent is russo.run_concurrent


def test_custom_evaluator_example_and_assert_tool_calls_message():
    expect = [russo.tool_call("book_flight", from_city="NYC", to_city="LA")]
    fuzzy = asyncio.run(
        russo.run(
            prompt="Book a flight",
            synthesizer=FakeSynthesizer(),
            agent=shouting_agent,
            evaluator=FuzzyEvaluator(),
            expect=expect,
        )
    )
    russo.assert_tool_calls(fuzzy, message="Flight booking agent failed")  # passes: no error

    strict = asyncio.run(
        russo.run(
            prompt="Book a flight",
            synthesizer=FakeSynthesizer(),
            agent=shouting_agent,
            evaluator=russo.evaluators.ExactEvaluator(),
            expect=expect,
        )
    )
    with pytest.raises(russo.ToolCallAssertionError) as raised:
        russo.assert_tool_calls(strict, message="Flight booking agent failed")
    text = str(raised.value)
    assert text.startswith("Flight booking agent failed\n") and "book_flight" in text
    assert raised.value.result is strict and isinstance(raised.value, AssertionError)


def test_google_synthesizer_patch_target_as_russos_tests_use_it():
    from russo_nb.synthesizers.google import GoogleSynthesizer

    pcm = (np.sin(np.arange(2400) / 5) * 8000).astype("<i2").tobytes()
    with patch("russo_nb.synthesizers.google.genai") as genai:
        part = MagicMock(inline_data=MagicMock(data=pcm))
        response = MagicMock(candidates=[MagicMock(content=MagicMock(parts=[part]))])
        genai.Client.return_value.aio.models.generate_content = AsyncMock(return_value=response)
        synth = GoogleSynthesizer(api_key="AIza-test")
        audio = asyncio.run(synth.synthesize("Book a flight"))
    genai.Client.assert_called_once_with(api_key="AIza-test")
    assert synth.voice == "Kore" and audio.data == pcm and audio.sample_rate == 24000
    sent = genai.Client.return_value.aio.models.generate_content.call_args.kwargs
    assert sent["model"] == "gemini-2.5-flash-preview-tts"
    assert sent["config"].speech_config.voice_config.prebuilt_voice_config.voice_name == "Kore"


def test_websocket_json_mode_sends_what_russo_sends():
    from russo_nb.adapters import WebSocketAgent

    base = tone()
    clip = russo.Audio(data=base.pcm, format="pcm", sample_rate=base.sample_rate)  # raw 16-bit PCM
    wav = russo.Audio(data=base.to_wav_bytes(), format="wav", sample_rate=base.sample_rate)
    with WebSocketAgentServer() as server:
        agent = WebSocketAgent(url=f"{server.url}/json")
        for audio in (clip, wav):
            response = asyncio.run(agent.run(audio))
            assert [str(call) for call in response.tool_calls] == [BOOK]
            sent = json.loads(server.received[-1]["message"])
            # russo: {"audio": base64 of the clip's own bytes, "format": its format}; plus the rate
            assert base64.b64decode(sent["audio"]) == audio.data
            assert sent["format"] == audio.format and sent["sample_rate"] == audio.sample_rate
    assert wav.data[:4] == b"RIFF" and clip.data[:4] != b"RIFF"
    bare = russo.Audio(data=base.pcm, format="wav", sample_rate=base.sample_rate)  # "wav" without a header
    with WebSocketAgentServer() as server:
        asyncio.run(WebSocketAgent(url=f"{server.url}/json").run(bare))
        sent = json.loads(server.received[-1]["message"])
    assert base64.b64decode(sent["audio"]) == bare.to_wav_bytes() and sent["format"] == "wav"  # the difference


def test_audio_manager_prepares_what_russos_providers_get():
    from russo_nb.audio.manager import AudioManager

    clip = tone(seconds=0.5, sample_rate=24000)
    pcm, mime = AudioManager.prepare_for_live(clip)
    assert mime == "audio/pcm;rate=16000"
    assert len(pcm) // 2 == round(len(clip.pcm) // 2 * 16000 / 24000)  # russo's frame count
    assert len(AudioManager.prepare_for_openai_realtime(tone(seconds=0.5, sample_rate=16000))) // 2 == 12000
    data, mime = AudioManager.prepare_for_generate_content(russo.Audio(data=b"ID3...", format="mp3"))
    assert (data, mime) == (b"ID3...", "audio/mp3")
    data, mime = AudioManager.prepare_for_generate_content(clip)  # the one documented difference: PCM as WAV
    assert mime == "audio/wav" and data[:4] == b"RIFF"


GOOGLE_ENV = (
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_PROJECT_ID",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_ENTERPRISE",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_APPLICATION_CREDENTIALS",
)

# russo's gemini-adapter example declares its tool as a plain dict
BOOK_FLIGHT_TOOL = {
    "function_declarations": [
        {
            "name": "book_flight",
            "description": "Book a flight between two cities.",
            "parameters": {
                "type": "object",
                "properties": {"to_city": {"type": "string", "description": "Arrival city"}},
                "required": ["to_city"],
            },
        }
    ]
}


@pytest.fixture
def no_google_env(monkeypatch):
    """No Google credentials or endpoints in the environment."""
    for name in GOOGLE_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def gemini_http():
    from adapter_helpers import HttpAgentServer

    with HttpAgentServer() as running:
        yield running


def test_gemini_example_makes_its_own_clients_from_the_environment(no_google_env, gemini_http):
    """russo's gemini-adapter example without client=: GOOGLE_API_KEY (and the SDK's base-URL variable) only."""
    from russo_nb.adapters import GeminiAgent
    from russo_nb.evaluators import ExactEvaluator
    from russo_nb.synthesizers import GoogleSynthesizer

    no_google_env.setenv("GOOGLE_API_KEY", "AIza-env")
    no_google_env.setenv("GOOGLE_GEMINI_BASE_URL", gemini_http.url)  # the local Gemini REST server
    agent = GeminiAgent(
        model="gemini-2.0-flash",
        tools=[BOOK_FLIGHT_TOOL],
        system_instruction="You are a travel assistant. When the user asks to book a flight, call book_flight.",
    )
    result = asyncio.run(
        russo.run(
            prompt="Book a flight to LA",
            synthesizer=GoogleSynthesizer(),
            agent=agent,
            evaluator=ExactEvaluator(),
            expect=[russo.tool_call("book_flight", to_city="LA")],
        )
    )
    assert result.passed, result
    tts, generate = gemini_http.received[-2:]
    assert tts["path"].endswith("gemini-2.5-flash-preview-tts:generateContent")
    assert generate["path"].endswith("gemini-2.0-flash:generateContent")
    assert {tts["headers"]["x-goog-api-key"], generate["headers"]["x-goog-api-key"]} == {"AIza-env"}
    sent = json.loads(generate["body"])
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "book_flight"
    assert base64.b64decode(sent["contents"][0]["parts"][0]["inlineData"]["data"])[:4] == b"RIFF"


def test_gemini_agent_takes_api_key_and_http_options(no_google_env, gemini_http):
    from google.genai import types

    from russo_nb.adapters import GeminiAgent

    options = types.HttpOptions(base_url=gemini_http.url)
    agent = GeminiAgent(api_key="AIza-arg", http_options=options, model="gemini-2.0-flash", tools=[BOOK_FLIGHT_TOOL])
    response = asyncio.run(agent.run("Book a flight to LA"))
    assert [str(call) for call in response.tool_calls] == [BOOK]
    assert gemini_http.received[-1]["headers"]["x-goog-api-key"] == "AIza-arg"


def test_gemini_live_agent_without_client_over_the_live_protocol(no_google_env):
    from google.genai import types

    from russo_nb.adapters import GeminiLiveAgent

    with WebSocketAgentServer(tls=True) as live:
        options = types.HttpOptions(base_url=f"{live.url}/live", async_client_args={"ssl": live.client_tls})
        agent = GeminiLiveAgent(vertexai=True, http_options=options, model="live-ok", tools=[BOOK_FLIGHT_TOOL])
        response = asyncio.run(agent.run(tone()))
        setup = live.received[-1]["setup"]["setup"]
    assert [str(call) for call in response.tool_calls] == [BOOK]
    assert setup["model"].endswith("/live-ok") and setup["tools"][0]["functionDeclarations"][0]["name"] == "book_flight"


def test_gemini_adapters_patch_target_as_russos_tests_use_it(no_google_env):
    from russo_nb.adapters import GeminiAgent, GeminiLiveAgent

    no_google_env.setenv("GOOGLE_API_KEY", "AIza-env")
    with patch("russo_nb.adapters.gemini.genai") as genai:
        agent = GeminiAgent(model="gemini-2.0-flash")
        live = GeminiLiveAgent()
    assert genai.Client.call_args_list == [((), {"api_key": "AIza-env"})] * 2
    assert agent.client is genai.Client.return_value and live.client is genai.Client.return_value

    no_google_env.delenv("GOOGLE_API_KEY")
    no_google_env.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    no_google_env.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    no_google_env.setenv("GOOGLE_APPLICATION_CREDENTIALS", "~/adc.json")
    with patch("russo_nb.adapters.gemini.genai") as genai:
        GeminiLiveAgent()
    genai.Client.assert_called_once_with(vertexai=True, project="my-project", location="europe-west4")
    assert not os.environ["GOOGLE_APPLICATION_CREDENTIALS"].startswith("~")  # expanded, as russo does


@pytest.mark.parametrize("make", ["GeminiAgent", "GeminiLiveAgent", "GoogleSynthesizer"])
def test_no_client_and_no_credentials_is_one_line(no_google_env, make):
    from russo_nb import adapters, synthesizers

    cls = getattr(adapters, make, None) or getattr(synthesizers, make)
    with pytest.raises(russo.ConfigurationError) as raised:
        cls()
    text = str(raised.value)
    assert "\n" not in text and text.startswith(f"{make} has no Gemini credentials")
    assert "client=genai.Client(...)" in text and "GOOGLE_API_KEY" in text
    assert isinstance(raised.value.__cause__, ValueError)  # the SDK's own error stays reachable
