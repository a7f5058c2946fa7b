"""Issue 24, streaming adapters: sends under the response timeout, same-origin redirects, one receive
budget per run, a bounded close, malformed tool calls as errors, path parameters redacted.

Every server is real and on loopback: the shared local servers, and a raw WebSocket server here that
completes the handshake and then stops reading (what websockets' own server never does).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import threading

import pytest
from adapter_helpers import BOOK, HttpAgentServer, WebSocketAgentServer
from foundation_helpers import ToneSynthesizer, tone
from google import genai
from google.genai import types
from openai import AsyncOpenAI

import russo_nb as russo
from russo_nb.adapters import GeminiLiveAgent, OpenAIChatAgent, OpenAIRealtimeAgent, WebSocketAgent
from russo_nb.adapters._common import MAX_RECEIVE_BYTES, MAX_RECEIVE_EVENTS
from russo_nb.http_client import redact_url

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class DeafWebSocketServer:
    """Completes the WebSocket handshake, optionally sends one text frame, then never reads again."""

    def __init__(self, first: bytes | None = None) -> None:
        self.first = first
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/deaf"
        self.sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DeafWebSocketServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.listener.close()
        for sock in self.sockets:
            sock.close()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            self.sockets.append(sock)
            request = b""
            while b"\r\n\r\n" not in request:
                request += sock.recv(4096)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key")
            )
            accept = base64.b64encode(hashlib.sha1(key + _GUID.encode()).digest())
            sock.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            if self.first is not None:
                sock.sendall(bytes([0x81, 126]) + len(self.first).to_bytes(2, "big") + self.first)


@pytest.fixture(scope="module")
def ws():
    with WebSocketAgentServer() as running:
        yield running


@pytest.fixture(scope="module")
def http():
    with HttpAgentServer() as running:
        yield running


# -- WebSocketAgent -------------------------------------------------------------------------------


def test_a_server_that_never_reads_cannot_block_the_send():
    clip = b"\0" * 25_000_000
    with DeafWebSocketServer() as server:
        agent = WebSocketAgent(server.url, on_send=lambda audio: clip, response_timeout=1.0)
        run = russo.run_concurrent_sync("a", ToneSynthesizer(), agent, expect=[BOOK], timeout=30).runs[0]
    assert run.status == "timeout", run.error
    assert "did not take the prompt (25,000,000 bytes) within timeout=1s" in run.error.message


def test_closing_is_bounded_when_the_server_never_answers_the_close():
    answer = b'{"tool_calls": [{"name": "book_flight", "arguments": {"to_city": "LA"}}]}'
    with DeafWebSocketServer(first=answer) as server:
        # the library would wait close_timeout=60 s for the server's close frame; the run's deadline is 10 s
        agent = WebSocketAgent(server.url, close_timeout=60)
        run = russo.run_concurrent_sync("a", ToneSynthesizer(), agent, expect=[BOOK], timeout=10).runs[0]
    assert run.status == "passed", run.error


def test_a_redirect_is_followed_only_to_the_same_origin(ws):
    same = russo.run_concurrent_sync("a", ToneSynthesizer(), WebSocketAgent(f"{ws.url}/moved"), expect=[BOOK])
    assert same.runs[0].status == "passed", same.runs[0].error
    away = russo.run_concurrent_sync(
        "a", ToneSynthesizer(), WebSocketAgent(f"{ws.url}/away?token=SECRET"), expect=[BOOK]
    )
    run = away.runs[0]
    assert run.status == "error" and run.error.type == "AgentHTTPError"
    assert "HTTP 302 redirecting to ws://localhost:" in run.error.message and "another host" in run.error.message
    assert "SECRET" not in run.error.message


@pytest.mark.parametrize(
    ("path", "what"),
    [("/flood", f"{MAX_RECEIVE_BYTES / 1e6:,.0f} MB per run"), ("/chatter", f"{MAX_RECEIVE_EVENTS:,} messages")],
)
def test_one_run_receives_at_most_the_budget(ws, path, what):
    agent = WebSocketAgent(f"{ws.url}{path}", is_complete=lambda messages: False, max_messages=10**9)
    run = russo.run_concurrent_sync("a", ToneSynthesizer(), agent, expect=[BOOK], timeout=60).runs[0]
    assert run.status == "error" and run.error.type == "AgentResponseError", run.error
    assert "more than one run may receive" in run.error.message and what in run.error.message


# -- OpenAI Realtime and Gemini Live -----------------------------------------------------------------


def test_realtime_floods_end_at_the_same_budget(ws, http):
    client = AsyncOpenAI(api_key="sk-test", base_url=f"{http.url}/v1", websocket_base_url=f"{ws.url}/v1", max_retries=0)
    agent = OpenAIRealtimeAgent(client=client, model="rt-flood", response_timeout=60)
    run = russo.run_concurrent_sync("a", ToneSynthesizer(), agent, expect=[BOOK], timeout=90).runs[0]
    assert run.status == "error" and run.error.type == "AgentResponseError", run.error
    assert "more than one run may receive" in run.error.message


def test_realtime_close_is_bounded_when_the_server_never_answers_it(http):
    with DeafWebSocketServer() as server:
        client = AsyncOpenAI(
            api_key="sk-test",
            base_url=f"{http.url}/v1",
            websocket_base_url=f"ws://127.0.0.1:{server.port}/v1",
            max_retries=0,
        )
        agent = OpenAIRealtimeAgent(client=client, model="rt-deaf", response_timeout=1)
        run = russo.run_concurrent_sync("a", ToneSynthesizer(), agent, expect=[BOOK], timeout=10.5).runs[0]
    # the library's own close would wait 10 s for the server's close frame: 1 s + 10 s, past the run's deadline
    assert run.status == "timeout" and "no response.done within" in run.error.message, run.error


@pytest.fixture(scope="module")
def live():
    with WebSocketAgentServer(tls=True) as running:
        yield running


def _live_agent(live, model: str) -> GeminiLiveAgent:
    options = types.HttpOptions(base_url=f"{live.url}/live", async_client_args={"ssl": live.client_tls})
    return GeminiLiveAgent(client=genai.Client(vertexai=True, http_options=options), model=model, response_timeout=60)


@pytest.mark.parametrize(
    ("model", "error_type", "message"),
    [
        ("live-nameless", "AgentResponseError", "a function call has no name"),
        ("live-cut", "AgentConnectionError", "the server closed the connection with code 1000"),
        ("live-idle", "AgentConnectionError", "the stream ended before turn_complete or a tool call (2 messages"),
        ("live-flood", "AgentResponseError", "more than one run may receive"),
    ],
)
def test_gemini_live_malformed_or_cut_or_flooded_turns_are_the_runs_error(live, model, error_type, message):
    run = russo.run_concurrent_sync("a", ToneSynthesizer(), _live_agent(live, model), expect=[BOOK], timeout=90).runs[0]
    assert run.status == "error" and run.error.type == error_type, run.error
    assert message in run.error.message


# -- OpenAIChatAgent --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("call-numbername", "a tool call's function has no name (got 7)"),
        ("call-emptyname", "a tool call's function has no name (got '')"),
        ("call-nofunction", "a tool call has no 'function'"),
        ("call-string", "tool_calls is not a list"),
    ],
)
def test_malformed_tool_calls_are_the_runs_error_not_a_silent_fail(http, model, message):
    agent = OpenAIChatAgent(f"{http.url}/v1", model, api_key_env=None)
    run = russo.run_concurrent_sync("book a flight", None, agent, expect=[BOOK]).runs[0]
    assert run.status == "error" and run.error.type == "AgentResponseError", run.error
    assert message in run.error.message


# -- redaction --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://h/x;jsessionid=SECRET", "http://h/x;jsessionid=***"),
        ("https://h/a;SECRET/b;k=v;z?q=1", "https://h/a;***/b;k=***;***?q=***"),
        ("ws://u:pw@h:1/x;sid=S", "ws://u:***@h:1/x;sid=***"),
        ("http://h/plain/path", "http://h/plain/path"),
    ],
)
def test_path_parameters_are_redacted(url, shown):
    assert redact_url(url) == shown


def test_a_path_parameter_never_reaches_the_agent_name_or_the_error(http):
    agent = russo.adapters.HttpAgent(url=f"{http.url}/nothing;jsessionid=SECRET")
    batch = russo.run_concurrent_sync("a", None, agent, expect=[BOOK])
    assert "SECRET" not in agent.name and "SECRET" not in batch.metadata.agent
    assert batch.runs[0].status == "error" and "SECRET" not in str(batch.runs[0].error)


def test_text_is_still_sent_whole(ws):
    response = asyncio.run(WebSocketAgent(f"{ws.url}/json").run(tone()))
    assert [str(call) for call in response.tool_calls] == [BOOK]
