"""GeminiAgent and GoogleSynthesizer through the real google-genai SDK pointed at a local REST server.

``genai.Client(http_options=HttpOptions(base_url=...))`` sends real HTTP to HttpAgentServer. The Live API
cannot be pointed at a plain ws:// server (the SDK forces wss:// when a key is set), so GeminiLiveAgent is
tested with a scripted session object at that one edge: the object ``client.aio.live.connect`` yields.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from types import SimpleNamespace

import pytest
from adapter_helpers import BOOK, HttpAgentServer
from foundation_helpers import ToneSynthesizer, tone
from google import genai
from google.genai import types

import russo_nb as russo
from russo_nb.adapters import GeminiAgent, GeminiLiveAgent
from russo_nb.synthesizers import GoogleSynthesizer

TOOLS = [types.Tool(function_declarations=[types.FunctionDeclaration(name="book_flight")])]


@pytest.fixture(scope="module")
def http():
    with HttpAgentServer() as running:
        yield running


def client_for(http, **options) -> genai.Client:
    retry = types.HttpRetryOptions(attempts=1)
    return genai.Client(
        api_key="k-test", http_options=types.HttpOptions(base_url=http.url, retry_options=retry, **options)
    )


def test_generate_content_with_audio(http):
    agent = GeminiAgent(client=client_for(http), model="gemini-2.0-flash", tools=TOOLS, system_instruction="Be brief")
    result = russo.run_concurrent_sync("Book a flight", ToneSynthesizer(), agent, expect=[BOOK], runs=2)
    assert result.pass_rate == 1.0, result.runs[0].error
    usage = result.runs[0].response.usage
    assert usage["input_tokens"] == 30 and usage["output_tokens"] == 5 and usage["total_tokens"] == 35
    sent = json.loads(http.received[-1]["body"])
    inline = sent["contents"][0]["parts"][0]["inlineData"]
    assert inline["mime_type"] == "audio/wav" and base64.b64decode(inline["data"])[:4] == b"RIFF"
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "book_flight"
    assert sent["systemInstruction"]["parts"][0]["text"] == "Be brief"
    assert http.received[-1]["headers"]["x-goog-api-key"] == "k-test"


def test_429_is_retryable_and_retried(http):
    http.httpd.counts.pop("gemini:rate-limited", None)
    agent = GeminiAgent(client=client_for(http), model="rate-limited")
    run = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1).runs[0]
    assert run.status == "error" and run.error.type == "RetryableError"
    assert "HTTP 429: Resource has been exhausted (retry after 1s)" in run.error.message
    http.httpd.counts.pop("gemini:rate-limited", None)
    agent = GeminiAgent(client=client_for(http), model="rate-limited")
    retried = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1, retries=1, retry_backoff=0.01)
    assert retried.pass_rate == 1.0 and retried.runs[0].attempts == 2


@pytest.mark.parametrize(("model", "message"), [("malformed", "JSONDecodeError"), ("badargs", "ValidationError")])
def test_malformed_answers_are_the_runs_error(http, model, message):
    run = russo.run_concurrent_sync("a", None, GeminiAgent(client=client_for(http), model=model), expect=[]).runs[0]
    assert run.status == "error" and run.error.type == "AgentResponseError"
    assert f"the answer is malformed ({message}" in run.error.message


def test_sdk_timeout_is_a_timeout(http):
    agent = GeminiAgent(client=client_for(http, timeout=500), model="slow")
    run = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1).runs[0]
    assert run.status == "timeout", run.error


def test_google_tts_returns_the_pcm(http):
    synth = GoogleSynthesizer(client=client_for(http), model="gemini-2.5-flash-preview-tts", voice="Puck")
    audio = asyncio.run(synth.synthesize("Book a flight"))
    assert audio.sample_rate == 24000 and audio.duration_s == pytest.approx(0.5)
    sent = json.loads(http.received[-1]["body"])
    assert '"Puck"' in json.dumps(sent["generationConfig"]["speechConfig"])
    assert sent["generationConfig"]["responseModalities"] == ["AUDIO"]


class ScriptedLiveSession:
    """What ``client.aio.live.connect`` yields, answering with scripted LiveServerMessages."""

    def __init__(self, messages, hang: bool = False):
        self.messages = messages
        self.hang = hang
        self.sent: list[dict] = []

    async def send_realtime_input(self, **kwargs):
        self.sent.append(kwargs)

    async def receive(self):
        for message in self.messages:
            yield message
        if self.hang:
            await asyncio.sleep(60)


def live_tool_call(args):
    call = types.FunctionCall(name="book_flight", args=args)
    return types.LiveServerMessage(
        tool_call=types.LiveServerToolCall(function_calls=[call]),
        usage_metadata=types.UsageMetadata(prompt_token_count=12, response_token_count=3, total_token_count=15),
    )


def test_live_agent_sends_16khz_pcm_and_reads_the_tool_call():
    session = ScriptedLiveSession([live_tool_call({"to_city": "LA"})])
    agent = GeminiLiveAgent(session=session)
    result = russo.run_concurrent_sync("Book a flight", ToneSynthesizer(sample_rate=24000), agent, expect=[BOOK])
    assert result.pass_rate == 1.0, result.runs[0].error
    blob = session.sent[0]["audio"]
    assert blob.mime_type == "audio/pcm;rate=16000" and len(blob.data) == 2 * 1600  # 0.1 s at 16 kHz
    assert session.sent[1] == {"audio_stream_end": True}
    assert result.runs[0].response.usage["total_tokens"] == 15


def test_live_agent_opens_a_session_per_run_from_the_client():
    opened = []

    class Live:
        @contextlib.asynccontextmanager
        async def connect(self, model, config):
            opened.append((model, config))
            yield ScriptedLiveSession([live_tool_call({"to_city": "LA"})])

    client = SimpleNamespace(aio=SimpleNamespace(live=Live()))
    agent = GeminiLiveAgent(client=client, tools=TOOLS, system_instruction="Be brief")
    result = russo.run_concurrent_sync("a", ToneSynthesizer(), agent, expect=[BOOK], runs=2)
    assert result.pass_rate == 1.0 and len(opened) == 2
    model, config = opened[0]
    assert model == "gemini-live-2.5-flash-native-audio" and config.response_modalities == ["AUDIO"]
    assert config.tools == TOOLS


def test_live_agent_timeout_turn_end_and_bad_args():
    silent = GeminiLiveAgent(session=ScriptedLiveSession([], hang=True), response_timeout=0.3)
    run = russo.run_concurrent_sync("a", None, silent, expect=[BOOK]).runs[0]
    assert run.status == "timeout" and "no tool call or end of turn within response_timeout=0.3s" in run.error.message
    turn_end = types.LiveServerMessage(server_content=types.LiveServerContent(turn_complete=True))
    words_only = asyncio.run(GeminiLiveAgent(session=ScriptedLiveSession([turn_end])).run(tone()))
    assert words_only.tool_calls == []
    bad = GeminiLiveAgent(session=ScriptedLiveSession([SimpleNamespace(tool_call=SimpleNamespace(
        function_calls=[SimpleNamespace(name="book_flight", args="{to_city")]))]))  # fmt: skip
    run = russo.run_concurrent_sync("a", None, bad, expect=[BOOK]).runs[0]
    assert run.status == "error" and "arguments of 'book_flight' are not valid JSON" in run.error.message


def test_constructor_contract():
    with pytest.raises(russo.InvalidArgumentError, match="either 'client'"):
        GeminiLiveAgent()
    agent = GeminiAgent(client=object())
    assert (agent.model, agent.tools, agent.system_instruction, agent.config) == ("gemini-2.0-flash", None, None, None)
    assert agent._build_config(types) is None
    custom = object()
    assert GeminiAgent(client=object(), tools=TOOLS, config=custom)._build_config(types) is custom
