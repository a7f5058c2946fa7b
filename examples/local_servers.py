"""Local servers that speak each agent protocol on 127.0.0.1, for the adapter examples and tests.

- :class:`HttpAgentServer`: a plain JSON agent (``/agent``), the OpenAI REST API (``/v1/chat/completions``,
  ``/v1/audio/speech``), the Gemini REST API (``/v1beta/models/<model>:generateContent``), and hostile
  answers (``/drip``, ``/huge``, ``/redirect/...``, ``/429``, ``/429-forever``);
- :class:`WebSocketAgentServer`: a WebSocket voice bot (``/json``, ``/bytes``, ``/multi``, ``/silent``,
  ``/close-mid``, ``/text``, ``/busy``), the OpenAI Realtime event protocol (``/v1/realtime``) and the
  Gemini Live protocol (``/live``: reach it with ``genai.Client(vertexai=True, http_options=
  HttpOptions(base_url="ws://.../live"))``, the SDK's gateway mode that sends the URL as is).

The model name (or the path) picks a behaviour, so one server covers success, tool calls, slow answers,
rate limits with Retry-After and malformed answers. Each server runs in a daemon thread; use it as a
context manager. Nothing here is a mock of a client: the adapters and SDKs talk real HTTP / WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

__all__ = ["HttpAgentServer", "WebSocketAgentServer", "self_signed_tls", "tone_pcm"]

BOOK_ARGS = {"to_city": "LA"}


def tone_pcm(seconds: float = 0.5, rate: int = 24000) -> bytes:
    """16-bit mono PCM of a 440 Hz tone: what the fake TTS endpoints return."""
    count = int(seconds * rate)
    return struct.pack(f"<{count}h", *(int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(count)))


def self_signed_tls() -> tuple[Any, Any]:
    """(server, client) SSL contexts for 127.0.0.1 with a fresh self-signed certificate (cryptography).

    The google-genai SDK always speaks TLS to the Live API, so the local Live server is a wss:// one and the
    client trusts exactly this certificate (``HttpOptions(async_client_args={"ssl": client})``).
    """
    import datetime
    import ipaddress
    import ssl
    import tempfile
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="russo_tls_"))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


def _choice_for(text: str) -> dict[str, Any]:
    if "weather" in text:
        return {"role": "assistant", "content": "It is sunny."}
    call = {"id": "call_1", "type": "function", "function": {"name": "book_flight", "arguments": json.dumps(BOOK_ARGS)}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client hung up (a deadline, a cap, a closed keep-alive connection)

    def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _json(self, status: int, data: Any, **headers: str) -> None:
        self._send(status, json.dumps(data).encode(), **headers)

    def _count(self, key: str) -> int:
        with self.server.lock:
            self.server.counts[key] = self.server.counts.get(key, 0) + 1
            return self.server.counts[key]

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(length) if length else b""
        self.server.received.append(
            {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        path = self.path.split("?", 1)[0]
        if path == "/agent":
            request = json.loads(body or b"{}")
            if "weather" in str(request.get("text", "")):
                self._json(200, {"tool_calls": [], "text": "It is sunny."})
            else:
                self._json(200, {"tool_calls": [{"name": "book_flight", "arguments": BOOK_ARGS}], "text": "booked"})
        elif path == "/429":
            if self._count(path) % 2 == 1:
                self._json(429, {"error": {"message": "slow down"}}, Retry_After="1")
            else:
                self._json(200, {"tool_calls": [{"name": "book_flight", "arguments": BOOK_ARGS}]})
        elif path == "/429-forever":  # a hostile quota: always 429, come back in 31 years
            self._json(429, {"error": {"message": "slow down"}}, Retry_After="1e9")
        elif path == "/together":  # answers only when `server.barrier.parties` requests are in flight at once
            try:
                self.server.barrier.wait()
                self._json(200, {"tool_calls": [{"name": "book_flight", "arguments": BOOK_ARGS}]})
            except threading.BrokenBarrierError:
                self._json(503, {"error": "not enough concurrent requests"})
        elif path.startswith("/drip"):
            self._drip()
        elif path == "/huge":
            self._huge(declared="declared" in self.path)
        elif path.startswith("/redirect/"):
            status = int(path.split("/")[2])
            target = self.server.redirect_target or f"http://127.0.0.1:{self.server.server_address[1]}/agent"
            self.send_response(status)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/v1/chat/completions":
            self._openai_chat(json.loads(body))
        elif path == "/v1/audio/speech":
            self._send(200, tone_pcm(), "audio/pcm")
        elif path.startswith(("/v1beta/models/", "/v1/models/")) and path.endswith(":generateContent"):
            self._gemini(path.split("/")[-1].split(":")[0], json.loads(body))
        else:
            self._json(404, {"error": "no such path"})

    def _drip(self) -> None:
        """Headers at once, then one byte every 0.5 s for 30 s: a per-read timeout never fires."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "60")
        self.end_headers()
        try:
            for _ in range(60):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            self.server.drip_aborted.set()

    def _huge(self, declared: bool) -> None:
        """A 100 MB answer, with or without Content-Length saying so."""
        size = 100 * 1024 * 1024
        self.send_response(500 if "error" in self.path else 200)
        self.send_header("Content-Type", "application/json")
        if declared:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"[" + b"1," * (512 * 1024)
        sent = 0
        try:
            while sent < size:
                if declared:
                    self.wfile.write(chunk)
                else:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            if not declared:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.server.huge_sent.append(sent)

    def _openai_chat(self, request: dict[str, Any]) -> None:
        model = request.get("model", "")
        if model == "rate-limited" and self._count(model) % 2 == 1:
            self._json(429, {"error": {"message": "Rate limit reached", "type": "requests"}}, Retry_After="1")
            return
        if model == "slow":
            time.sleep(3)
        if model == "malformed":
            self._send(200, b"<html>not a completion</html>", "text/html")
            return
        content = request["messages"][-1]["content"]
        text = content if isinstance(content, str) else "audio"
        message = _choice_for(text)
        if model == "badargs":
            message = {
                "role": "assistant",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{to_city: LA"}}],
            }
        malformed_calls: dict[str, Any] = {  # tool calls a broken server might send
            "call-numbername": [{"id": "c", "type": "function", "function": {"name": 7, "arguments": "{}"}}],
            "call-emptyname": [{"id": "c", "type": "function", "function": {"name": "", "arguments": "{}"}}],
            "call-nofunction": [{"id": "c", "type": "function"}],
            "call-string": "book_flight(to_city='LA')",
        }
        if model in malformed_calls:
            message = {"role": "assistant", "tool_calls": malformed_calls[model]}
        usage = {"prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28}
        answer = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "usage": usage,
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
        }
        self._json(200, answer)

    def _gemini(self, model: str, request: dict[str, Any]) -> None:
        if model == "rate-limited" and self._count(f"gemini:{model}") % 2 == 1:
            error = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}
            self._json(429, error, Retry_After="1")
            return
        if model == "slow":
            time.sleep(3)
        if model == "malformed":
            self._send(200, b"<html>not json</html>", "text/html")
            return
        usage = {"promptTokenCount": 30, "candidatesTokenCount": 5, "totalTokenCount": 35}
        if "tts" in model:
            audio = base64.b64encode(tone_pcm()).decode()
            parts = [{"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": audio}}]
        else:
            parts = [{"functionCall": {"name": "book_flight", "args": BOOK_ARGS}}]
            if model == "badargs":
                parts = [{"functionCall": {"name": "book_flight", "args": "{to_city"}}]
        answer = {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
            "usageMetadata": usage,
        }
        self._json(200, answer)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.drip_aborted = threading.Event()
        self.huge_sent: list[int] = []
        self.redirect_target: str | None = None
        self.barrier = threading.Barrier(1)


class HttpAgentServer:
    """The HTTP side: ``with HttpAgentServer() as server: server.url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.httpd = _Server()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every request seen: path, headers, body."""
        return self.httpd.received

    def __enter__(self) -> HttpAgentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class WebSocketAgentServer:
    """The WebSocket side: a voice bot on ``/json`` etc. and the OpenAI Realtime protocol on ``/v1/realtime``."""

    received: ClassVar[list[Any]]

    def __init__(self, tls: bool = False) -> None:
        self.received: list[Any] = []
        self.url = ""
        self.server_tls, self.client_tls = self_signed_tls() if tls else (None, None)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.counts: dict[str, int] = {}

    def __enter__(self) -> WebSocketAgentServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the WebSocket test server did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        import websockets

        self._stop = self._loop.create_future()
        async with websockets.serve(
            self._handle, "127.0.0.1", 0, process_request=self._refuse, max_size=None, ssl=self.server_tls
        ) as server:
            port = server.sockets[0].getsockname()[1]
            self.url = f"{'wss' if self.server_tls else 'ws'}://127.0.0.1:{port}"
            self._ready.set()
            await self._stop

    def _refuse(self, connection: Any, request: Any) -> Any:
        """``/busy`` and the Realtime model ``rt-busy`` refuse the handshake with 429 and Retry-After."""
        if request.path.startswith("/busy") or "model=rt-busy" in request.path:
            response = connection.respond(429, "rate limited\n")
            response.headers["Retry-After"] = "1"
            return response
        if request.path.startswith(("/moved", "/away")):  # a redirect to the same origin, or to another host
            port = self.url.rsplit(":", 1)[1]
            host = "127.0.0.1" if request.path.startswith("/moved") else "localhost"
            response = connection.respond(302, "moved\n")
            response.headers["Location"] = f"ws://{host}:{port}/json"
            return response
        return None

    async def _handle(self, ws: Any) -> None:
        path = ws.request.path
        if path.startswith("/v1/realtime"):
            await self._realtime(ws, path)
            return
        if path.startswith("/live"):
            await self._gemini_live(ws)
            return
        path = path.split("?", 1)[0]
        message = await ws.recv()
        self.received.append(
            {
                "path": path,
                "message": message,
                "headers": {key.lower(): value for key, value in ws.request.headers.raw_items()},
            }
        )
        answer = {"tool_calls": [{"name": "book_flight", "arguments": BOOK_ARGS}], "text": "booked"}
        if path == "/json":
            await ws.send(json.dumps(answer))
        elif path == "/bytes":
            if not isinstance(message, bytes):
                await ws.close(1003, "expected binary audio")
                return
            await ws.send(json.dumps(answer).encode())
        elif path == "/multi":
            await ws.send(json.dumps({"type": "transcript", "text": "book a flight"}))
            await ws.send(json.dumps({"type": "tool", **answer}))
            await ws.send(json.dumps({"type": "done", "done": True}))
        elif path == "/silent":
            await ws.wait_closed()  # say nothing until the client hangs up (or the server stops)
        elif path == "/close-mid":
            await ws.send(json.dumps({"type": "transcript", "text": "book a"}))
            await ws.close(1011, "agent crashed")
        elif path == "/text":
            await ws.send("this is not json")
        elif path == "/flood":  # 1 MB messages, never a complete answer: only a per-run budget stops it
            chunk = json.dumps({"type": "audio", "data": "A" * 1_000_000})
            for _ in range(200):
                await ws.send(chunk)
        elif path == "/chatter":  # tiny messages, never a complete answer
            for index in range(20_000):
                await ws.send(json.dumps({"type": "partial", "n": index}))
        await asyncio.sleep(0.05)

    async def _gemini_live(self, ws: Any) -> None:
        """The Gemini Live API (BidiGenerateContent): setup, realtimeInput audio, then a toolCall."""
        setup = json.loads(await ws.recv())
        model = str(setup.get("setup", {}).get("model", "")).rsplit("/", 1)[-1]
        inputs: list[dict[str, Any]] = []
        self.received.append({"path": "/live", "setup": setup, "inputs": inputs})
        await ws.send(json.dumps({"setupComplete": {}}))
        async for raw in ws:
            message = json.loads(raw)
            inputs.append(message)
            chunk = message.get("realtimeInput") or message.get("realtime_input") or {}
            if chunk.get("audioStreamEnd") or chunk.get("audio_stream_end") or "text" in chunk:
                break
        if model == "live-silent":
            await ws.wait_closed()  # say nothing until the client hangs up (or the server stops)
            return
        if model == "live-close":
            await ws.close(1011, "internal error")
            return
        if model == "live-nameless":  # a function call without a name
            await ws.send(json.dumps({"toolCall": {"functionCalls": [{"id": "c1", "args": BOOK_ARGS}]}}))
            await asyncio.sleep(0.2)
            return
        if model in ("live-cut", "live-idle"):  # words, then the stream ends before turnComplete
            await ws.send(json.dumps({"serverContent": {"modelTurn": {"parts": [{"text": "Let me book"}]}}}))
            if model == "live-idle":  # the session says it is idle: the SDK's receive() ends quietly
                await ws.send(json.dumps({"serverContent": {"interactionStatus": "IDLE"}}))
                await asyncio.sleep(0.2)
            await ws.close(1000)
            return
        if model == "live-flood":  # 1 MB of audio per message, never the end of the turn
            part = {"inlineData": {"mimeType": "audio/pcm", "data": base64.b64encode(b"\0" * 750_000).decode()}}
            for _ in range(200):
                await ws.send(json.dumps({"serverContent": {"modelTurn": {"parts": [part]}}}))
            return
        if model == "live-words":
            await ws.send(json.dumps({"serverContent": {"modelTurn": {"parts": [{"text": "Hello"}]}}}))
            await ws.send(json.dumps({"serverContent": {"turnComplete": True}}))
            await asyncio.sleep(0.2)
            return
        args: Any = "{to_city" if model == "live-badargs" else BOOK_ARGS
        call = {"id": "call-1", "name": "book_flight", "args": args}
        usage = {"promptTokenCount": 40, "responseTokenCount": 2, "totalTokenCount": 42}
        await ws.send(json.dumps({"toolCall": {"functionCalls": [call]}, "usageMetadata": usage}))
        try:
            await ws.wait_closed()
        except Exception:
            pass

    async def _realtime(self, ws: Any, path: str) -> None:
        model = path.split("model=", 1)[1].split("&", 1)[0] if "model=" in path else ""
        events: list[dict[str, Any]] = []
        audio = b""
        self.received.append(
            {
                "path": path,
                "events": events,
                "headers": {key.lower(): value for key, value in ws.request.headers.raw_items()},
            }
        )
        await ws.send(
            json.dumps(
                {"type": "session.created", "event_id": "e0", "session": {"id": "s1", "object": "realtime.session"}}
            )
        )
        async for raw in ws:
            event = json.loads(raw)
            events.append(event)
            kind = event.get("type")
            if kind == "input_audio_buffer.append":
                audio += base64.b64decode(event["audio"])
            elif kind == "response.create":
                break
        if model == "rt-silent":
            await ws.wait_closed()  # say nothing until the client hangs up (or the server stops)
            return
        if model == "rt-error":
            error = {"type": "rate_limit_exceeded", "code": "rate_limit_exceeded", "message": "Rate limit reached"}
            await ws.send(json.dumps({"type": "error", "event_id": "e1", "error": error}))
            await asyncio.sleep(0.2)
            return
        if model == "rt-close":
            await ws.close(1011, "internal error")
            return
        if model == "rt-flood":  # 1 MB audio deltas, never response.done
            delta = base64.b64encode(b"\0" * 750_000).decode()
            for index in range(200):
                event = {
                    "type": "response.audio.delta",
                    "event_id": f"d{index}",
                    "response_id": "r1",
                    "item_id": "i1",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": delta,
                }
                await ws.send(json.dumps(event))
            return
        arguments = "{to_city: LA" if model == "rt-badargs" else json.dumps(BOOK_ARGS)
        await ws.send(
            json.dumps(
                {
                    "type": "response.created",
                    "event_id": "e2",
                    "response": {"id": "r1", "object": "realtime.response", "status": "in_progress", "output": []},
                }
            )
        )
        await ws.send(
            json.dumps(
                {
                    "type": "response.function_call_arguments.done",
                    "event_id": "e3",
                    "response_id": "r1",
                    "item_id": "i1",
                    "output_index": 0,
                    "call_id": "call_1",
                    "name": "book_flight",
                    "arguments": arguments,
                }
            )
        )
        usage = {"total_tokens": 90, "input_tokens": 80, "output_tokens": 10}
        await ws.send(
            json.dumps(
                {
                    "type": "response.done",
                    "event_id": "e4",
                    "response": {
                        "id": "r1",
                        "object": "realtime.response",
                        "status": "completed",
                        "output": [],
                        "usage": usage,
                    },
                }
            )
        )
        self.counts["audio_bytes"] = len(audio)
        try:
            await ws.wait_closed()
        except Exception:
            pass
