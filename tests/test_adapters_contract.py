"""russo's module paths and constructor arguments, the extras' one-line errors, the parsers and AudioManager."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import textwrap
from unittest.mock import AsyncMock, MagicMock

import pytest
from foundation_helpers import tone

import russo_nb as russo
from russo_nb.audio import AudioManager, AudioMime, Gemini, OpenAI
from russo_nb.errors import AgentResponseError
from russo_nb.parsers import GeminiResponseParser, JsonResponseParser, OpenAIResponseParser

RUSSO_MODULES = {
    "russo_nb.adapters": ["CallableAgent", "GeminiAgent", "GeminiLiveAgent", "HttpAgent", "OpenAIAgent",
                          "OpenAIRealtimeAgent", "WebSocketAgent"],
    "russo_nb.adapters.callable": ["CallableAgent", "agent"],
    "russo_nb.adapters.gemini": ["GeminiAgent", "GeminiLiveAgent"],
    "russo_nb.adapters.http": ["HttpAgent"],
    "russo_nb.adapters.openai": ["OpenAIAgent", "OpenAIRealtimeAgent"],
    "russo_nb.adapters.websocket": ["WebSocketAgent"],
    "russo_nb.parsers": ["GeminiResponseParser", "JsonResponseParser", "OpenAIResponseParser"],
    "russo_nb.parsers.gemini": ["GeminiResponseParser"],
    "russo_nb.parsers.mapping": ["JsonResponseParser"],
    "russo_nb.parsers.openai": ["OpenAIResponseParser"],
    "russo_nb.synthesizers": ["GoogleSynthesizer"],
    "russo_nb.synthesizers.google": ["GoogleSynthesizer"],
    "russo_nb.audio": ["AudioManager", "AudioMime", "Gemini", "OpenAI"],
    "russo_nb.audio.constants": ["AudioMime", "Gemini", "OpenAI"],
    "russo_nb.audio.manager": ["AudioManager"],
}  # fmt: skip

RUSSO_ARGUMENTS = {
    "HttpAgent": ["url", "parser", "method", "headers", "audio_field", "format_field", "timeout"],
    "WebSocketAgent": ["url", "parser", "headers", "send_bytes", "audio_field", "format_field", "response_timeout",
                       "max_messages", "on_send", "is_complete", "aggregate", "open_timeout", "close_timeout",
                       "extra_ws_kwargs"],
    "OpenAIAgent": ["client", "model", "tools", "system_prompt", "extra_create_kwargs"],
    "OpenAIRealtimeAgent": ["client", "connection", "model", "tools", "response_timeout"],
    "GeminiAgent": ["client", "model", "tools", "system_instruction", "config"],
    "GeminiLiveAgent": ["client", "session", "model", "tools", "system_instruction", "config", "response_timeout"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(RUSSO_MODULES))
def test_russos_module_paths_resolve(module):
    loaded = importlib.import_module(module)
    for name in RUSSO_MODULES[module]:
        assert getattr(loaded, name) is not None


@pytest.mark.parametrize("name", sorted(RUSSO_ARGUMENTS))
def test_russos_constructor_arguments_are_accepted(name):
    cls = getattr(importlib.import_module("russo_nb.adapters"), name)
    parameters = inspect.signature(cls.__init__).parameters
    assert [arg for arg in RUSSO_ARGUMENTS[name] if arg not in parameters] == []


@pytest.mark.parametrize(
    "name", ["HttpAgent", "OpenAIChatAgent", "WebSocketAgent", "OpenAIRealtimeAgent", "GeminiLiveAgent"]
)
def test_every_adapter_calls_its_time_limit_timeout(name):
    """One name for an adapter's time limit; russo's ``response_timeout=`` stays an alias where russo has it."""
    cls = getattr(importlib.import_module("russo_nb.adapters"), name)
    required = {
        "HttpAgent": {"url": "http://x"},
        "OpenAIChatAgent": {"base_url": "http://x", "model": "m", "api_key_env": None},
        "WebSocketAgent": {"url": "ws://x"},
        "OpenAIRealtimeAgent": {"connection": object()},
        "GeminiLiveAgent": {"session": object()},
    }[name]
    assert cls(**required, timeout=3).timeout == 3.0
    if "response_timeout" in inspect.signature(cls.__init__).parameters:
        assert cls(**required, response_timeout=4).timeout == 4.0
        with pytest.raises(russo.InvalidArgumentError, match="not both"):
            cls(**required, timeout=3, response_timeout=4)
    with pytest.raises(russo.InvalidArgumentError, match="timeout must be a number of seconds > 0"):
        cls(**required, timeout=0)


def test_import_russo_nb_as_russo_reaches_the_packages():
    assert russo.adapters.HttpAgent is russo.HttpAgent
    assert russo.parsers.JsonResponseParser is JsonResponseParser
    assert russo.synthesizers.OpenAISynthesizer.__module__ == "russo_nb.voice.synthesizers.openai"


def test_the_old_agents_package_is_only_a_re_export():
    import russo_nb.adapters.local
    import russo_nb.agents
    import russo_nb.agents.local

    assert russo_nb.agents.local is russo_nb.adapters.local
    assert russo_nb.agents.LocalVoiceAgent is russo_nb.adapters.LocalVoiceAgent
    assert russo_nb.agents.HttpAgent is russo_nb.adapters.HttpAgent


def test_callable_agent_wraps_a_function():
    from russo_nb.adapters.callable import CallableAgent, agent

    async def book(audio):
        return russo.AgentResponse(tool_calls=[russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})])

    for wrapped in (CallableAgent(book), agent(book)):
        assert isinstance(wrapped, russo.Agent)
        assert russo.run_concurrent_sync("p", None, wrapped, expect=["book_flight(to_city='LA')"]).pass_rate == 1.0


BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('openai', 'websockets') or name.startswith('google.genai'):
            raise ImportError(name)
sys.meta_path.insert(0, Block())
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("from russo_nb.adapters import OpenAIAgent", "OpenAIAgent needs the openai package, which is not installed: "
                                                      "pip install 'russo_nb[openai]'"),
        ("from russo_nb.adapters import GeminiLiveAgent", "GeminiAgent needs the google-genai package, which is not "
                                                          "installed: pip install 'russo_nb[google]'"),
        ("from russo_nb.adapters.websocket import WebSocketAgent",
         "WebSocketAgent needs the websockets package, which is not installed: pip install 'russo_nb[ws]'"),
        ("from russo_nb.synthesizers import GoogleSynthesizer", "pip install 'russo_nb[google]'"),
        ("from russo_nb.synthesizers import OpenAISynthesizer", "pip install 'russo_nb[openai]'"),
    ],
)  # fmt: skip
def test_an_adapter_without_its_extra_is_a_one_line_error(statement, message):
    code = BLOCKER + textwrap.dedent(f"""
        try:
            {statement}
        except ImportError as exc:
            print(type(exc).__name__ + ': ' + str(exc))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"MissingExtraError: {message}" or message in out.stdout
    assert len(out.stdout.strip().splitlines()) == 1 and out.stderr == ""


@pytest.mark.slow
def test_everything_offline_works_without_any_extra():
    code = BLOCKER + textwrap.dedent("""
        import russo_nb as russo
        from russo_nb.adapters import HttpAgent, OpenAIChatAgent, LocalVoiceAgent, CallableAgent
        from russo_nb.parsers import JsonResponseParser
        from russo_nb.audio import AudioManager
        import russo_nb.demo, russo_nb.notebook, russo_nb.scenario
        print(russo.HttpAgent("http://127.0.0.1:1/x").name)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "HttpAgent(http://127.0.0.1:1/x)"


@pytest.mark.slow
def test_the_voice_demo_runs_without_any_extra(tmp_path):
    code = BLOCKER + "import sys, runpy; sys.argv = ['russo_nb', 'demo', '--runs', '1', '--quiet']\n"
    code += "runpy.run_module('russo_nb', run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: a recognition miss fails a run, not the demo
    assert "runs passed" in done.stdout and "Error" not in done.stderr


# -- parsers ------------------------------------------------------------------------------------------


def gemini_response(calls):
    """A MagicMock shaped like a google-genai GenerateContentResponse, as russo's own tests build it."""
    parts = []
    for name, args in calls:
        part = MagicMock()
        part.function_call.name = name
        part.function_call.args = args
        parts.append(part)
    response = MagicMock()
    response.candidates = [MagicMock(content=MagicMock(parts=parts))]
    return response


def test_gemini_parser_reads_sdk_objects_and_dicts():
    response = GeminiResponseParser().parse(gemini_response([("book_flight", {"to_city": "LA"}), ("get_weather", {})]))
    assert [str(call) for call in response.tool_calls] == ["book_flight(to_city='LA')", "get_weather()"]
    assert response.usage is None  # a mock's usage_metadata holds no numbers
    parts = [{"text": "Sure. "}, {"function_call": {"name": "f", "args": {}}}]
    counts = {"prompt_token_count": 3, "candidates_token_count": 1, "total_token_count": 4}
    plain = {"candidates": [{"content": {"parts": parts}}], "usage_metadata": counts}
    parsed = GeminiResponseParser().parse(plain)
    assert parsed.text == "Sure. " and parsed.usage == {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}


def test_russos_gemini_agent_mock_tests_still_work():
    from russo_nb.adapters.gemini import GeminiAgent

    client = MagicMock()
    client.aio.models.generate_content = AsyncMock(return_value=gemini_response([("search", {"q": "x"})]))
    agent = GeminiAgent(client=client, model="gemini-2.5-pro")
    result = russo.run_concurrent_sync("p", None, agent, expect=["search(q='x')"])
    assert result.pass_rate == 1.0
    assert client.aio.models.generate_content.call_args.kwargs["model"] == "gemini-2.5-pro"
    client.aio.models.generate_content = AsyncMock(side_effect=RuntimeError("quota exceeded"))
    run = russo.run_concurrent_sync("p", None, agent, expect=[]).runs[0]
    assert run.status == "error" and "quota exceeded" in run.error.message


def test_openai_parser_reads_calls_text_and_usage():
    raw = {"choices": [{"message": {"content": "ok", "tool_calls": [
        {"function": {"name": "book_flight", "arguments": '{"to_city": "LA"}'}}]}}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 4, "total_tokens": 4}}  # fmt: skip
    response = OpenAIResponseParser().parse(raw)
    assert [str(call) for call in response.tool_calls] == ["book_flight(to_city='LA')"] and response.text == "ok"
    assert response.usage == {"input_tokens": 0, "output_tokens": 4, "total_tokens": 4}
    with pytest.raises(AgentResponseError, match="arguments of 'f' are not valid JSON"):
        bad = {"function": {"name": "f", "arguments": "{x"}}
        OpenAIResponseParser().parse({"choices": [{"message": {"tool_calls": [bad]}}]})


def test_json_parser_follows_russos_examples():
    single = JsonResponseParser(tool_calls_key="toolCall", single=True)
    assert str(single.parse({"toolCall": {"name": "fn", "arguments": {"a": 1}}}).tool_calls[0]) == "fn(a=1)"
    nested = JsonResponseParser(tool_calls_key="result.calls", name_key="fn", arguments_key="params")
    parsed = nested.parse({"result": {"calls": [{"fn": "f", "params": '{"b": 2}'}]}})
    assert str(parsed.tool_calls[0]) == "f(b=2)"
    messages = [{"type": "transcript"}, {"tool_calls": [{"name": "g", "arguments": {}}]}]
    from_list = JsonResponseParser().parse(messages)
    assert [call.name for call in from_list.tool_calls] == ["g"] and from_list.raw is messages
    assert JsonResponseParser().parse({"other": 1}).tool_calls == []  # missing: no calls, as in russo
    with pytest.raises(AgentResponseError, match="has no 'tool_calls'"):
        JsonResponseParser(required=True).parse({"other": 1})
    with pytest.raises(AgentResponseError, match="has no 'name' string"):
        JsonResponseParser().parse({"tool_calls": [{"arguments": {}}]})


# -- audio -----------------------------------------------------------------------------------------------


def test_audio_manager_prepares_each_apis_format():
    clip = tone(seconds=0.5, sample_rate=16000)
    wav = russo.Audio(data=clip.to_wav_bytes(), format="wav", sample_rate=16000)
    assert AudioManager.has_wav_header(wav.data) and not AudioManager.has_wav_header(clip.data)
    assert AudioManager.extract_pcm(wav) == clip.data
    data, mime = AudioManager.prepare_for_generate_content(clip)
    assert data[:4] == b"RIFF" and mime == "audio/wav"
    assert AudioManager.prepare_for_generate_content(russo.Audio(data=b"ID3", format="mp3")) == (b"ID3", "audio/mp3")
    pcm, mime = AudioManager.prepare_for_live(russo.Audio(data=tone(seconds=0.5, sample_rate=24000).data))
    assert mime == Gemini.LIVE_INPUT_MIME and len(pcm) == 2 * 8000
    assert len(AudioManager.prepare_for_openai_realtime(clip)) == 2 * OpenAI.REALTIME_INPUT_SAMPLE_RATE // 2
    assert len(AudioManager.resample_pcm_16bit(clip.data, 16000, 8000)) == 2 * 4000
    assert AudioManager.pcm_to_wav(clip.data, 16000)[:4] == b"RIFF"
    assert AudioMime.for_format("pcm") == "audio/l16" and AudioMime.for_format("flac") == "audio/flac"
