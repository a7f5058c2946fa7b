"""WebSocketAgent against a real websockets server on 127.0.0.1: JSON, bytes, multi-message, silence, closes, 429."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from adapter_helpers import BOOK, WebSocketAgentServer
from foundation_helpers import ToneSynthesizer, tone

import russo_nb as russo
from russo_nb.adapters import WebSocketAgent
from russo_nb.parsers import JsonResponseParser


@pytest.fixture(scope="module")
def ws():
    with WebSocketAgentServer() as running:
        yield running


def done(messages):
    return any(isinstance(message, dict) and message.get("done") for message in messages)


def test_json_protocol_sends_base64_wav_and_reads_tool_calls(ws):
    agent = WebSocketAgent(url=f"{ws.url}/json?token=sk-SECRET", headers={"X-Team": "voice"})
    assert "SECRET" not in agent.name
    result = russo.run_concurrent_sync("Book a flight", ToneSynthesizer(), agent, expect=[BOOK], runs=2)
    assert result.pass_rate == 1.0 and result.runs[0].response.text == "booked"
    sent = json.loads(ws.received[-1]["message"])
    assert base64.b64decode(sent["audio"])[:4] == b"RIFF" and sent["format"] == "wav"
    assert ws.received[-1]["headers"]["x-team"] == "voice"
    assert result.runs[0].response.usage["audio_s"] == pytest.approx(0.1, abs=0.01)


def test_bytes_mode_sends_the_raw_audio(ws):
    audio = tone()
    agent = WebSocketAgent(url=f"{ws.url}/bytes", send_bytes=True)
    response = asyncio.run(agent.run(audio))
    assert [str(call) for call in response.tool_calls] == [BOOK]
    assert ws.received[-1]["message"] == audio.data


def test_multi_message_answers_are_collected_until_is_complete(ws):
    agent = WebSocketAgent(url=f"{ws.url}/multi", is_complete=done, parser=JsonResponseParser())
    response = asyncio.run(agent.run(tone()))
    assert [str(call) for call in response.tool_calls] == [BOOK]
    assert [message["type"] for message in response.raw] == ["transcript", "tool", "done"]
    first_only = asyncio.run(WebSocketAgent(url=f"{ws.url}/multi").run(tone()))
    assert first_only.tool_calls == []  # without is_complete the first message is the answer (russo)
    custom = WebSocketAgent(
        url=f"{ws.url}/multi",
        is_complete=done,
        aggregate=lambda messages: messages[1],
        on_send=lambda audio: json.dumps({"pcm": base64.b64encode(audio.data).decode()}),
    )
    assert [str(call) for call in asyncio.run(custom.run(tone())).tool_calls] == [BOOK]
    assert "pcm" in json.loads(ws.received[-1]["message"])


def test_max_messages_stops_collection(ws):
    agent = WebSocketAgent(url=f"{ws.url}/multi", is_complete=lambda messages: False, max_messages=2)
    response = asyncio.run(agent.run(tone()))
    assert len(response.raw) == 2 and [str(call) for call in response.tool_calls] == [BOOK]


def test_a_server_that_never_answers_is_a_timeout(ws):
    agent = WebSocketAgent(url=f"{ws.url}/silent", response_timeout=0.5)
    result = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=2)
    assert [run.status for run in result.runs] == ["timeout", "timeout"]
    assert "no answer within timeout=0.5s" in result.runs[0].error.message


def test_a_close_mid_answer_is_a_retryable_error(ws):
    agent = WebSocketAgent(url=f"{ws.url}/close-mid", is_complete=done)
    result = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1)
    run = result.runs[0]
    assert run.status == "error" and run.error.type == "RetryableError"
    assert "closed the connection after 1 message with code 1011 (internal error): agent crashed" in run.error.message
    retried = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1, retries=2, retry_backoff=0.01)
    assert retried.runs[0].attempts == 3 and retried.runs[0].status == "error"


def test_a_handshake_refused_with_429_carries_retry_after(ws):
    agent = WebSocketAgent(url=f"{ws.url}/busy")
    result = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1)
    run = result.runs[0]
    assert run.status == "error" and run.error.type == "RetryableError"
    assert "refused the WebSocket connection with HTTP 429 (retry after 1s)" in run.error.message


def test_a_malformed_answer_is_the_runs_error(ws):
    result = russo.run_concurrent_sync("a", None, WebSocketAgent(url=f"{ws.url}/text"), expect=[BOOK], runs=1)
    run = result.runs[0]
    assert run.status == "error" and run.error.type == "AgentResponseError"
    assert "the answer is not JSON ('this is not json')" in run.error.message


def test_a_message_over_the_cap_is_refused(ws):
    agent = WebSocketAgent(url=f"{ws.url}/json", max_bytes=20)
    result = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1)
    assert result.runs[0].status == "error" and "over the size cap (close code 1009)" in result.runs[0].error.message


def test_text_mode_sends_the_prompt(ws):
    response = asyncio.run(WebSocketAgent(url=f"{ws.url}/json").run("Book a flight"))
    assert [str(call) for call in response.tool_calls] == [BOOK] and response.usage is None
    assert json.loads(ws.received[-1]["message"]) == {"text": "Book a flight"}


def test_bad_arguments_are_clear_errors():
    with pytest.raises(russo.InvalidArgumentError, match="ws:// or wss://"):
        WebSocketAgent(url="http://x")
    with pytest.raises(russo.InvalidArgumentError, match="timeout must be"):
        WebSocketAgent(url="ws://x", response_timeout=0)
    with pytest.raises(russo.InvalidArgumentError, match="max_messages must be"):
        WebSocketAgent(url="ws://x", max_messages=0)
