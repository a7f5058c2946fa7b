"""The google-genai adapters through the real SDK pointed at local servers.

``genai.Client(http_options=HttpOptions(base_url=...))`` sends real HTTP to HttpAgentServer (GeminiAgent,
GoogleSynthesizer). The Live API goes over real TLS WebSocket to WebSocketAgentServer(tls=True), reached
through the SDK's gateway mode (Vertex, no project: the base URL is used as is) with a client context that
trusts the server's fresh self-signed certificate.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from adapter_helpers import BOOK, HttpAgentServer, WebSocketAgentServer
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


@pytest.fixture(scope="module")
def live():
    with WebSocketAgentServer(tls=True) as running:
        yield running


def live_client(live) -> genai.Client:
    """The SDK's gateway mode: Vertex without project, custom base URL used as is, TLS trusting the local cert."""
    options = types.HttpOptions(base_url=f"{live.url}/live", async_client_args={"ssl": live.client_tls})
    return genai.Client(vertexai=True, http_options=options)


def test_live_agent_sends_16khz_pcm_and_reads_the_tool_call(live):
    agent = GeminiLiveAgent(client=live_client(live), model="live-ok", tools=TOOLS, system_instruction="Be brief")
    result = russo.run_concurrent_sync("Book a flight", ToneSynthesizer(sample_rate=24000), agent, expect=[BOOK])
    assert result.pass_rate == 1.0, result.runs[0].error
    assert result.runs[0].response.usage["total_tokens"] == 42
    session = live.received[-1]
    setup = session["setup"]["setup"]
    assert setup["model"].endswith("/live-ok") and setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert setup["tools"][0]["functionDeclarations"][0]["name"] == "book_flight"
    audio = session["inputs"][0]["realtime_input"]["audio"]
    assert audio["mime_type"] == "audio/pcm;rate=16000"
    assert len(base64.urlsafe_b64decode(audio["data"] + "==")) == 2 * 1600  # 0.1 s resampled to 16 kHz
    assert session["inputs"][-1]["realtime_input"] == {"audioStreamEnd": True}


def test_live_agent_on_an_open_session(live):
    async def main():
        client = live_client(live)
        config = types.LiveConnectConfig(response_modalities=["AUDIO"])
        async with client.aio.live.connect(model="live-ok", config=config) as session:
            return await GeminiLiveAgent(session=session).run(tone())

    assert [str(call) for call in asyncio.run(main()).tool_calls] == [BOOK]


@pytest.mark.parametrize(
    ("model", "status", "error_type", "message"),
    [
        ("live-silent", "timeout", "TimeoutError", "no tool call or end of turn within timeout=0.5s"),
        ("live-close", "error", "RetryableError", "closed the connection with code 1011 (internal error)"),
        ("live-badargs", "error", "AgentResponseError", "the answer is malformed (ValidationError"),
    ],
)
def test_live_failures_end_as_the_runs_result(live, model, status, error_type, message):
    agent = GeminiLiveAgent(client=live_client(live), model=model, response_timeout=0.5 if status == "timeout" else 10)
    run = russo.run_concurrent_sync("a", ToneSynthesizer(), agent, expect=[BOOK]).runs[0]
    assert run.status == status and run.error.type == error_type, run.error
    assert message in run.error.message


def test_live_words_only_turn(live):
    response = asyncio.run(GeminiLiveAgent(client=live_client(live), model="live-words").run(tone()))
    assert response.tool_calls == [] and response.text == "Hello"


def test_constructor_contract(monkeypatch):
    for name in (
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_PROJECT_ID",
        "GOOGLE_CLOUD_LOCATION",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(russo.ConfigurationError, match="GeminiLiveAgent has no Gemini credentials"):
        GeminiLiveAgent()  # russo makes a client from the environment; there is none
    agent = GeminiAgent(client=object())
    assert (agent.model, agent.tools, agent.system_instruction, agent.config) == ("gemini-2.0-flash", None, None, None)
    assert agent._build_config(types) is None
    custom = object()
    assert GeminiAgent(client=object(), tools=TOOLS, config=custom)._build_config(types) is custom
