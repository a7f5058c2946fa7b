"""Shared pieces for the scenario tests: a booking agent, a tone voice pipeline, a local chat server."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from russo_nb.scenario import AgentAdapter, AgentInput
from russo_nb.types import AgentResponse, Audio, ToolCall

CITY = re.compile(r"\bto ([A-Z][a-zA-Z]+)")


def arun(coro: Any) -> Any:
    """Run a coroutine to the end (tests are sync; no pytest-asyncio needed)."""
    return asyncio.run(coro)


def call_message(name: str, arguments: dict[str, Any], content: str | None = None, call_id: str = "call_1") -> dict:
    """An assistant message with one OpenAI tool call."""
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        ],
    }


class BookingAgent(AgentAdapter):
    """Books a flight when the user names a city ("to Paris"), otherwise asks where to; counts calls."""

    def __init__(self, env_key: str | None = None) -> None:
        self.calls = 0
        self.seen_new: list[list[dict]] = []
        self.env_key = env_key

    async def call(self, input: AgentInput) -> Any:
        self.calls += 1
        self.seen_new.append(list(input.new_messages))
        text = input.last_new_user_message_str()
        match = CITY.search(text)
        if not match:
            return "Where would you like to fly to?"
        city = match.group(1)
        env = input.scenario_state.env
        if isinstance(env, dict) and "bookings" in env:
            env["bookings"].append(city)
        return call_message("book_flight", {"to_city": city}, content=f"Booked your flight to {city}.")


def booking_scenario(name: str, line: str, criteria: list[Any], *, max_turns: int = 1, **options: Any) -> Any:
    """A scenario of :class:`BookingAgent`, a user saying ``line`` and a judge of ``criteria``; ``options``: scorers…"""
    from russo_nb import scenario

    return scenario.Scenario(
        name=name,
        description=options.pop("description", "d"),
        agents=lambda: [
            BookingAgent(),
            scenario.UserSimulatorAgent(lines=[line]),
            scenario.JudgeAgent(criteria=criteria),
        ],
        max_turns=max_turns,
        **options,
    )


# -- a tiny voice pipeline that really goes through audio -------------------------------------
RATE = 16000
SEGMENT = 640  # 40 ms per character -> 25 Hz FFT bins


def _freq(char: str) -> float:
    return 25.0 * (12 + 2 * (min(max(ord(char), 32), 126) - 32))


class ToneSynthesizer:
    """Encodes each character as a 40 ms sine tone (a real, decodable clip, no TTS needed)."""

    name = "tones"

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def synthesize(self, text: str) -> Audio:
        self.texts.append(text)
        t = np.arange(SEGMENT) / RATE
        parts = [0.5 * np.sin(2 * np.pi * _freq(ch) * t) for ch in text]
        samples = np.concatenate(parts) if parts else np.zeros(SEGMENT)
        pcm = (samples * 32767).astype("<i2").tobytes()
        return Audio(data=pcm, format="pcm", sample_rate=RATE)


def decode_tones(audio: Audio) -> str:
    """Read the characters back from a ToneSynthesizer clip (robust to moderate noise)."""
    samples = np.frombuffer(audio.pcm, dtype="<i2").astype(float)
    chars = []
    for start in range(0, len(samples) - SEGMENT + 1, SEGMENT):
        spectrum = np.abs(np.fft.rfft(samples[start : start + SEGMENT]))
        peak = int(np.argmax(spectrum)) * RATE / SEGMENT
        code = round((peak / 25.0 - 12) / 2) + 32
        chars.append(chr(min(max(code, 32), 126)))
    return "".join(chars)


class ToneVoiceAgent:
    """A russo audio agent: decodes the tones and books the flight named in them."""

    name = "tone-agent"

    def __init__(self) -> None:
        self.heard: list[str] = []

    async def run(self, audio: Audio) -> AgentResponse:
        text = decode_tones(audio)
        self.heard.append(text)
        match = CITY.search(text)
        if not match:
            return AgentResponse(text="Where to?")
        return AgentResponse(tool_calls=[ToolCall(name="book_flight", arguments={"to_city": match.group(1)})])


class WhiteNoise:
    """An effect: adds white noise drawn from the generator it is given."""

    def __init__(self, level: float = 800.0) -> None:
        self.level = level

    def apply(self, audio: Audio, rng: np.random.Generator) -> Audio:
        samples = np.frombuffer(audio.pcm, dtype="<i2").astype(float)
        noisy = np.clip(samples + rng.normal(0, self.level, len(samples)), -32768, 32767).astype("<i2")
        return Audio(data=noisy.tobytes(), format="pcm", sample_rate=audio.sample_rate)

    def describe(self) -> str:
        return f"noise:{self.level:g}"


def tool_call_reply(name: str, arguments: dict[str, Any], call_id: str = "call_judge") -> dict[str, Any]:
    """An assistant message calling one tool, as a chat-completions server sends it."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        ],
    }


def judge_model(holds: Any) -> Any:
    """A fake judge model speaking LangWatch Scenario's protocol (continue_test / finish_test tool calls).

    ``holds(criterion, transcript)`` says whether a criterion holds. Asked for a verdict
    (``tool_choice`` names finish_test) it always finishes; on a mid-run look it finishes
    as soon as a criterion fails or every one holds, and calls continue_test otherwise
    (``holds`` may return None for "not decided yet", reported as "inconclusive").
    """

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        tools = {tool["function"]["name"]: tool["function"] for tool in body["tools"]}
        wanted = tools["finish_test"]["parameters"]["properties"]["criteria"]["properties"]
        transcript = body["messages"][-1]["content"]
        answers = {key: holds(spec["description"], transcript) for key, spec in wanted.items()}
        forced = body.get("tool_choice") != "required"
        broken = any(value is False for value in answers.values())
        if not forced and not broken and any(value is None for value in answers.values()):
            return tool_call_reply("continue_test", {})
        verdicts = {key: {True: "true", False: "false", None: "inconclusive"}[value] for key, value in answers.items()}
        success = all(value == "true" for value in verdicts.values())
        return tool_call_reply(
            "finish_test",
            {
                "criteria": verdicts,
                "reasoning": "every criterion holds" if success else "a criterion does not hold",
                "verdict": "success" if success else "failure",
            },
        )

    return reply


# -- a real OpenAI-compatible chat server on 127.0.0.1 --------------------------------------
class ChatServer:
    """Answers /v1/chat/completions with ``reply(request_json) -> str | message dict``; records each request."""

    def __init__(self, reply: Any, status: int = 200) -> None:
        self.reply = reply
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests.append(body)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/chat/completions":
                    payload, code = {"error": "not found"}, 404
                elif server.status != 200:
                    payload, code = {"error": {"message": "model exploded"}}, server.status
                else:
                    answer = server.reply(body)  # the reply's text, or a whole assistant message (tool calls)
                    message = answer if isinstance(answer, dict) else {"role": "assistant", "content": answer}
                    payload = {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", ""),
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    }
                    code = 200
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
