"""HttpAgent and OpenAIChatAgent against real HTTP servers started on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

import russo_nb as russo
from russo_nb import ConfigurationError, InvalidArgumentError
from russo_nb.adapters import HttpAgent, IntentSet, JsonMapping, OpenAIChatAgent
from russo_nb.adapters.local import data_path

BOOK = {"tool_calls": [{"name": "book_flight", "arguments": {"to_city": "LA"}}], "text": "booked"}


class Handler(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    release: ClassVar[threading.Event] = threading.Event()  # /hang answers only once the fixture ends
    held: ClassVar[list[str]] = []  # the /hang requests not answered yet

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout tests)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Handler.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/broken/"):  # OpenAIChatAgent(base_url=".../broken/500") posts to .../chat/completions
            self.path = self.path.removeprefix("/broken").removesuffix("/chat/completions")
        if self.path == "/ok":
            self._send(200, json.dumps(BOOK).encode())
        elif self.path == "/nested":
            answer = {"result": {"calls": [{"fn": "get_weather", "args": json.dumps({"city": "Paris"})}]}}
            self._send(200, json.dumps(answer).encode())
        elif self.path == "/500":
            self._send(500, json.dumps({"error": {"message": "model crashed"}}).encode())
        elif self.path == "/401":
            self._send(401, b'{"error": "invalid api key"}')
        elif self.path == "/hang":
            token = f"{threading.get_ident()}:{len(Handler.received)}"
            Handler.held.append(token)
            Handler.release.wait(120)
            Handler.held.remove(token)
            self._send(200, json.dumps(BOOK).encode())
        elif self.path == "/badargs":
            call = {"type": "function", "function": {"name": "f", "arguments": "{to_city: LA"}}
            answer = {"choices": [{"message": {"role": "assistant", "tool_calls": [call]}}]}
            self._send(200, json.dumps(answer).encode())
        elif self.path == "/badjson":
            self._send(200, b"<html>definitely not json", "text/html")
        elif self.path == "/v1/chat/completions":
            request = json.loads(body)
            if self.headers.get("Authorization") != "Bearer sk-test":
                self._send(401, b'{"error": {"message": "Incorrect API key provided"}}')
                return
            user = request["messages"][-1]["content"]
            if isinstance(user, list):
                assert user[0]["type"] == "input_audio"
                user = "audio"
            if "weather" in user:
                message = {"role": "assistant", "content": "It is sunny."}
            else:
                call = {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "book_flight", "arguments": json.dumps({"to_city": "LA"})},
                }
                message = {"role": "assistant", "content": None, "tool_calls": [call]}
            self._send(200, json.dumps({"id": "x", "choices": [{"index": 0, "message": message}]}).encode())
        else:
            self._send(404, b'{"error": "no such path"}')


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


def last_request(path: str) -> dict:
    return [item for item in Handler.received if item["path"] == path][-1]


def test_http_agent_posts_wav_and_maps_the_answer(server, espeak):
    agent = HttpAgent(f"{server}/ok", mode="wav", headers={"X-Team": "voice"})
    result = russo.run_concurrent_sync(
        "Book a flight to Los Angeles", espeak, agent, expect=["book_flight(to_city='LA')"], runs=2
    )
    assert result.pass_rate == 1.0
    assert result.runs[0].response.text == "booked"
    sent = last_request("/ok")
    assert sent["headers"]["Content-Type"] == "audio/wav" and sent["headers"]["X-Team"] == "voice"
    with wave.open(io.BytesIO(sent["body"])) as reader:
        assert reader.getframerate() == 16000 and reader.getnframes() > 16000


def test_http_agent_base64_json_mode_and_text_mode(server, espeak):
    agent = HttpAgent(f"{server}/ok", mode="base64_json", extra={"session": "s1"})
    clip = espeak.synthesize_sync("hello")
    response = asyncio.run(agent.run(clip))
    assert str(response.tool_calls[0]) == "book_flight(to_city='LA')"
    payload = json.loads(last_request("/ok")["body"])
    assert payload["session"] == "s1" and payload["sample_rate"] == 16000
    assert base64.b64decode(payload["audio"])[:4] == b"RIFF"
    asyncio.run(agent.run("Book a flight"))
    assert json.loads(last_request("/ok")["body"])["text"] == "Book a flight"


def test_http_agent_custom_mapping(server):
    agent = HttpAgent(f"{server}/nested", mapping={"calls": "result.calls", "name": "fn", "arguments": "args"})
    response = asyncio.run(agent.run("weather?"))
    assert str(response.tool_calls[0]) == "get_weather(city='Paris')"
    wrong = HttpAgent(f"{server}/nested")
    with pytest.raises(ValueError, match="has no 'tool_calls' \\(it has: result\\)"):
        asyncio.run(wrong.run("weather?"))
    with pytest.raises(InvalidArgumentError, match="keys: calls, name"):
        HttpAgent(f"{server}/ok", mapping={"tools": "x"})
    with pytest.raises(InvalidArgumentError, match="http://"):
        HttpAgent("localhost:8000")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/500", "answered HTTP 500 Internal Server Error: model crashed"),
        ("/401", r"answered HTTP 401 Unauthorized \(check the API key / headers\): invalid api key"),
        ("/badjson", "is not JSON: '<html>definitely not json'"),
        ("/hang", "no answer from .*/hang within 0.3s"),
    ],
)
def test_server_failures_end_as_run_errors(server, path, message):
    # the deadline covers the whole exchange: only /hang should reach it, even on a loaded machine
    agent = HttpAgent(f"{server}{path}", timeout=0.3 if path == "/hang" else 10)
    result = russo.run_concurrent_sync(["a", "b"], None, agent, expect=["book_flight(to_city='LA')"], runs=2)
    assert result.total == 4
    assert {run.status for run in result.runs} == {"timeout" if path == "/hang" else "error"}
    for run in result.runs:
        assert run.error is not None and run.error.stage == "agent"
        assert re.search(message, run.error.message), run.error.message


def test_hanging_server_hits_the_batch_timeout(server):
    agent = HttpAgent(f"{server}/hang", timeout=10)
    received = len(Handler.received)
    result = russo.run_concurrent_sync(["a"], None, agent, expect=[], runs=2, timeout=0.3)
    assert [run.status for run in result.runs] == ["timeout", "timeout"]
    assert "timeout of 0.3s" in result.runs[0].error.message
    # the batch did not wait for the server: the server still holds this batch's requests (it answers /hang only
    # when the fixture ends), not a wall-clock bound
    mine = [token for token in Handler.held if int(token.split(":")[1]) >= received]
    assert mine and not Handler.release.is_set()


def test_unreachable_server_is_a_clear_error():
    agent = HttpAgent("http://127.0.0.1:9/nothing", timeout=1)
    result = russo.run_concurrent_sync("a", None, agent, expect=[], runs=1)
    assert result.runs[0].status == "error"
    assert "cannot reach http://127.0.0.1:9/nothing" in result.runs[0].error.message


def test_openai_chat_agent_parses_tool_calls(server, monkeypatch):
    monkeypatch.setenv("RUSSO_TEST_KEY", "sk-test")
    tools = IntentSet.from_yaml(data_path("demo_intents.yaml"))
    agent = OpenAIChatAgent(f"{server}/v1", "test-model", api_key_env="RUSSO_TEST_KEY", tools=tools)
    result = russo.run_concurrent_sync(
        ["Book a flight to LA", "What is the weather?"],
        None,
        agent,
        expect={"Book a flight to LA": ["book_flight(to_city='LA')"], "What is the weather?": []},
        runs=2,
    )
    assert result.pass_rate == 1.0
    weather = next(run for run in result.runs if "weather" in run.prompt)
    assert weather.response.text == "It is sunny." and weather.response.tool_calls == []
    request = json.loads(last_request("/v1/chat/completions")["body"])
    assert request["model"] == "test-model"
    names = [tool["function"]["name"] for tool in request["tools"]]
    assert names == ["book_flight", "get_weather", "set_alarm", "play_music"]
    assert "NYC" in request["tools"][0]["function"]["parameters"]["properties"]["from_city"]["enum"]


def test_openai_chat_agent_audio_input_and_errors(server, monkeypatch, espeak):
    monkeypatch.setenv("RUSSO_TEST_KEY", "sk-test")
    audio_agent = OpenAIChatAgent(f"{server}/v1", "m", api_key_env="RUSSO_TEST_KEY", input="audio")
    result = russo.run_concurrent_sync("Book it", espeak, audio_agent, expect=["book_flight(to_city='LA')"])
    assert result.pass_rate == 1.0
    sent = json.loads(last_request("/v1/chat/completions")["body"])
    assert base64.b64decode(sent["messages"][0]["content"][0]["input_audio"]["data"])[:4] == b"RIFF"

    text_agent = OpenAIChatAgent(f"{server}/v1", "m", api_key_env="RUSSO_TEST_KEY")
    result = russo.run_concurrent_sync("Book it", espeak, text_agent, expect=[])
    assert result.runs[0].status == "error" and "input='audio'" in result.runs[0].error.message

    monkeypatch.setenv("RUSSO_TEST_KEY", "sk-wrong")
    result = russo.run_concurrent_sync("Book it", None, text_agent, expect=[])
    assert result.runs[0].status == "error"
    assert "HTTP 401" in result.runs[0].error.message and "Incorrect API key" in result.runs[0].error.message

    monkeypatch.delenv("RUSSO_TEST_KEY")
    with pytest.raises(ConfigurationError, match="RUSSO_TEST_KEY is not set"):
        OpenAIChatAgent(f"{server}/v1", "m", api_key_env="RUSSO_TEST_KEY")
    keyless = OpenAIChatAgent(f"{server}/v1", "m", api_key_env=None)
    assert keyless.url.endswith("/v1/chat/completions")
    with pytest.raises(InvalidArgumentError, match="not a tool definition"):
        OpenAIChatAgent(f"{server}/v1", "m", api_key_env=None, tools=["book_flight"])


def test_json_mapping_decodes_string_arguments_and_rejects_bad_ones():
    mapping = JsonMapping(calls="calls", name="function.name", arguments="function.arguments")
    good = mapping.read({"calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}]}, "agent")
    assert str(good.tool_calls[0]) == "f(a=1)"
    with pytest.raises(ValueError, match="arguments of 'f' are not valid JSON"):
        mapping.read({"calls": [{"function": {"name": "f", "arguments": "{a:"}}]}, "agent")
    with pytest.raises(ValueError, match=r"has no 'function\.name' string"):
        mapping.read({"calls": [{"function": {}}]}, "agent")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/500", r"OpenAIChatAgent\(m\): .*/broken/500/chat/completions answered HTTP 500 .*: model crashed"),
        ("/401", r"answered HTTP 401 Unauthorized \(check the API key / headers\): invalid api key"),
        ("/badjson", "is not JSON: '<html>definitely not json'"),
        ("/ok", r"has no choices\[0\]\.message"),  # JSON, but not a chat completion
        ("/hang", "no answer from .*/broken/hang/chat/completions within 0.3s"),
    ],
)
def test_openai_chat_agent_server_failures_end_as_run_errors(server, path, message):
    agent = OpenAIChatAgent(f"{server}/broken{path}", "m", api_key_env=None, timeout=0.3 if path == "/hang" else 10)
    result = russo.run_concurrent_sync(["a", "b"], None, agent, expect=["book_flight(to_city='LA')"], runs=2)
    assert result.total == 4 and result.passed_count == 0
    assert {run.status for run in result.runs} == {"timeout" if path == "/hang" else "error"}
    for run in result.runs:
        assert run.error.stage == "agent"
        assert re.search(message, run.error.message), run.error.message


def test_openai_chat_agent_malformed_tool_call_arguments_end_as_run_errors(server):
    """A valid chat completion whose tool call arguments are not JSON."""
    agent = OpenAIChatAgent(f"{server}/broken/badargs", "m", api_key_env=None)
    result = russo.run_concurrent_sync("a", None, agent, expect=["f(to_city='LA')"], runs=2)
    assert [run.status for run in result.runs] == ["error", "error"]
    assert "arguments of 'f' are not valid JSON: '{to_city: LA'" in result.runs[0].error.message
