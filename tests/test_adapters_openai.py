"""OpenAIAgent, OpenAIRealtimeAgent and OpenAISynthesizer through the real openai SDK, pointed at local servers.

``AsyncOpenAI(base_url=..., websocket_base_url=...)`` talks HTTP to HttpAgentServer (Chat Completions, TTS)
and WebSocket to WebSocketAgentServer (the Realtime event protocol); nothing on the client side is mocked.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from adapter_helpers import BOOK, HttpAgentServer, WebSocketAgentServer
from foundation_helpers import ToneSynthesizer, tone
from openai import AsyncOpenAI

import russo_nb as russo
from russo_nb.adapters import OpenAIAgent, OpenAIRealtimeAgent
from russo_nb.synthesizers import OpenAISynthesizer

TOOLS = [{"type": "function", "function": {"name": "book_flight", "parameters": {"type": "object"}}}]


@pytest.fixture(scope="module")
def servers():
    with HttpAgentServer() as http, WebSocketAgentServer() as ws:
        yield http, ws


def client_for(servers, **options) -> AsyncOpenAI:
    http, ws = servers
    return AsyncOpenAI(
        api_key="sk-test", base_url=f"{http.url}/v1", websocket_base_url=f"{ws.url}/v1", max_retries=0, **options
    )


def test_chat_completions_with_input_audio(servers, tmp_path):
    http, _ = servers
    agent = OpenAIAgent(client=client_for(servers), model="gpt-4o-audio-preview", tools=TOOLS, system_prompt="Be brief")
    result = russo.run_concurrent_sync("Book a flight", ToneSynthesizer(), agent, expect=[BOOK], runs=2)
    assert result.pass_rate == 1.0
    usage = result.runs[0].response.usage
    assert usage["input_tokens"] == 21 and usage["output_tokens"] == 7 and usage["total_tokens"] == 28
    assert usage["audio_s"] == pytest.approx(0.1, abs=0.01)
    assert result.usage["total_tokens"] == 56  # the batch's total
    assert "Usage: 56 tokens (42 in, 14 out), 0.2 s of audio sent" in result.summary()
    frame = result.to_dataframe()
    assert frame["total_tokens"].tolist() == [28.0, 28.0]
    from russo_nb.report import export, load_batch

    for suffix in ("csv", "parquet", "jsonl"):  # the cost survives an export
        assert load_batch(export(result, tmp_path / f"runs.{suffix}")).usage == result.usage, suffix
    sent = json.loads(http.received[-1]["body"])
    assert sent["messages"][0] == {"role": "system", "content": "Be brief"}
    part = sent["messages"][1]["content"][0]
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    assert base64.b64decode(part["input_audio"]["data"])[:4] == b"RIFF"
    assert sent["tools"] == TOOLS and http.received[-1]["headers"]["authorization"] == "Bearer sk-test"


def test_text_mode_and_words_only_answers(servers):
    agent = OpenAIAgent(client=client_for(servers), model="m")
    response = asyncio.run(agent.run("What is the weather?"))
    assert response.tool_calls == [] and response.text == "It is sunny."


def test_429_with_retry_after_is_retryable(servers):
    http, _ = servers
    http.httpd.counts.pop("rate-limited", None)
    agent = OpenAIAgent(client=client_for(servers), model="rate-limited")
    once = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1)
    assert once.runs[0].status == "error" and once.runs[0].error.type == "RetryableError"
    assert "HTTP 429" in once.runs[0].error.message and "retry after 1s" in once.runs[0].error.message
    http.httpd.counts.pop("rate-limited", None)
    agent = OpenAIAgent(client=client_for(servers), model="rate-limited")  # an SDK client lives on one event loop
    retried = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1, retries=1, retry_backoff=0.01)
    assert retried.pass_rate == 1.0 and retried.runs[0].attempts == 2


def test_malformed_answers_and_arguments_are_the_runs_error(servers):
    for model, message in [
        ("malformed", "is not a chat completion"),
        ("badargs", "the arguments of 'f' are not valid JSON: '{to_city: LA'"),
    ]:
        agent = OpenAIAgent(client=client_for(servers), model=model)
        run = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1).runs[0]
        assert run.status == "error" and message in run.error.message, run.error


def test_sdk_timeout_is_a_timeout(servers):
    agent = OpenAIAgent(client=client_for(servers, timeout=0.5), model="slow")
    run = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1).runs[0]
    assert run.status == "timeout" and "OpenAIAgent(slow)" in run.error.message


def test_realtime_protocol_round_trip(servers):
    _, ws = servers
    tools = [{"type": "function", "name": "book_flight", "parameters": {"type": "object"}}]
    agent = OpenAIRealtimeAgent(client=client_for(servers), model="rt-ok", tools=tools)
    result = russo.run_concurrent_sync("Book a flight", ToneSynthesizer(), agent, expect=[BOOK], runs=2)
    assert result.pass_rate == 1.0, result.runs[0].error
    usage = result.runs[0].response.usage
    assert usage["total_tokens"] == 90 and usage["input_tokens"] == 80
    session = next(item for item in reversed(ws.received) if item["path"].startswith("/v1/realtime"))
    assert "model=rt-ok" in session["path"] and session["headers"]["authorization"] == "Bearer sk-test"
    kinds = [event["type"] for event in session["events"]]
    assert kinds[0] == "session.update" and session["events"][0]["session"]["tools"] == tools
    assert kinds[-3:] == ["input_audio_buffer.append", "input_audio_buffer.commit", "response.create"]
    pcm = base64.b64decode(session["events"][1]["audio"])
    assert len(pcm) == 2 * 2400  # 0.1 s resampled from 16 kHz to the 24 kHz the API expects


@pytest.mark.parametrize(
    ("model", "status", "error_type", "message"),
    [
        ("rt-silent", "timeout", "TimeoutError", "no response.done within timeout=0.5s"),
        ("rt-error", "error", "RetryableError", "the Realtime API sent an error: Rate limit reached"),
        ("rt-close", "error", "RetryableError", "code 1011 (internal error)"),
        ("rt-badargs", "error", "AgentResponseError", "arguments of 'book_flight' are not valid JSON"),
        ("rt-busy", "error", "RetryableError", "refused the WebSocket connection with HTTP 429 (retry after 1s)"),
    ],
)
def test_realtime_failures_end_as_the_runs_result(servers, model, status, error_type, message):
    agent = OpenAIRealtimeAgent(
        client=client_for(servers), model=model, response_timeout=0.5 if status == "timeout" else 10
    )
    run = russo.run_concurrent_sync("a", ToneSynthesizer(), agent, expect=[BOOK], runs=1).runs[0]
    assert run.status == status and run.error.type == error_type, run.error
    assert message in run.error.message


def test_realtime_on_an_open_connection(servers):
    async def main():
        client = client_for(servers)
        async with client.beta.realtime.connect(model="rt-ok") as connection:
            return await OpenAIRealtimeAgent(connection=connection).run(tone())

    response = asyncio.run(main())
    assert [str(call) for call in response.tool_calls] == [BOOK]


def test_openai_tts_gives_24khz_pcm(servers):
    http, _ = servers
    synth = OpenAISynthesizer(client=client_for(servers), voice="nova", instructions="calm")
    audio = asyncio.run(synth.synthesize("Book a flight"))
    assert audio.sample_rate == 24000 and audio.format == "pcm" and audio.duration_s == pytest.approx(0.5)
    sent = json.loads(http.received[-1]["body"])
    assert sent == {"model": "gpt-4o-mini-tts", "voice": "nova", "input": "Book a flight", "response_format": "pcm",
                    "instructions": "calm"}  # fmt: skip


def test_constructor_contract():
    with pytest.raises(russo.InvalidArgumentError, match="either 'client'"):
        OpenAIRealtimeAgent()
    agent = OpenAIAgent(client=object(), extra_create_kwargs={"temperature": 0})
    assert agent.model == "gpt-4o-audio-preview" and agent.request_kwargs("hi")["temperature"] == 0
    assert OpenAIRealtimeAgent(client=object()).model == "gpt-4o-realtime-preview"
