"""The shared HTTP client against hostile local servers: deadline, body cap, redirects, secrets, 429, rate limits.

Every server is real (127.0.0.1); the adapters, the openai-compatible chat agent and the scenario LLM client
all go through russo_nb.http_client, so each rule is tested once through each path that matters.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from adapter_helpers import BOOK, HttpAgentServer
from foundation_helpers import ToneSynthesizer

import russo_nb as russo
from russo_nb.adapters import HttpAgent, OpenAIChatAgent
from russo_nb.http_client import redact_url
from russo_nb.ratelimit import RateLimit, parse_retry_after
from russo_nb.scenario.llm import LLMConfig, ModelRequestError, chat
from russo_nb.testing import wait_until


@pytest.fixture(scope="module")
def other_host():
    with HttpAgentServer() as running:
        yield running


def test_http_agent_speaks_russos_json_protocol(http_agent_server):
    agent = HttpAgent(url=f"{http_agent_server.url}/agent", headers={"X-Team": "voice"})
    result = russo.run_concurrent_sync("Book a flight", ToneSynthesizer(), agent, expect=[BOOK], runs=2)
    assert result.pass_rate == 1.0
    sent = json.loads(http_agent_server.received[-1]["body"])
    assert set(sent) == {"audio", "format", "sample_rate"} and sent["format"] == "wav"
    assert http_agent_server.received[-1]["headers"]["x-team"] == "voice"
    assert result.runs[0].response.usage == {"audio_s": pytest.approx(0.1, abs=0.01)}


def test_a_dripping_server_cannot_outlive_the_timeout(http_agent_server):
    """A byte every 0.5 s used to reset a per-read timeout for 30 s; the deadline is total, and the read stops."""
    http_agent_server.httpd.drip_aborted.clear()
    agent = HttpAgent(f"{http_agent_server.url}/drip", timeout=2)
    started = time.perf_counter()
    result = russo.run_concurrent_sync("a", None, agent, expect=[], runs=1)
    assert result.runs[0].status == "timeout"
    assert "within 2s" in result.runs[0].error.message
    assert time.perf_counter() - started < 15  # the drip lasts 30 s
    assert http_agent_server.httpd.drip_aborted.wait(5), "the client kept reading after the deadline"


def test_the_engine_timeout_leaves_no_reader_behind(http_agent_server):
    http_agent_server.httpd.drip_aborted.clear()
    agent = HttpAgent(f"{http_agent_server.url}/drip", timeout=60)
    result = russo.run_concurrent_sync("a", None, agent, expect=[], runs=1, timeout=1)
    assert result.runs[0].status == "timeout" and "timeout of 1s" in result.runs[0].error.message
    assert http_agent_server.httpd.drip_aborted.wait(5), "a reader kept the connection open after the engine's timeout"
    assert not [t for t in threading.enumerate() if t.name.startswith("asyncio_")], "a worker thread is still reading"


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
def test_a_100_mb_answer_is_refused_and_not_kept(http_agent_server, declared):
    agent = HttpAgent(f"{http_agent_server.url}/huge{'?declared' if declared else ''}", max_bytes=1024 * 1024)
    sent = http_agent_server.httpd.huge_sent
    before = len(sent)
    result = russo.run_concurrent_sync("a", None, agent, expect=[], runs=1)
    run = result.runs[0]
    assert run.status == "error" and run.error.type == "AgentResponseError"
    assert "1,048,576-byte cap; refused" in run.error.message
    assert run.response is None
    wait_until(lambda: len(sent) > before, 30, what="the server's end of the huge answer")
    assert sent[before] < 100 * 1024 * 1024  # the client hung up early


def test_a_huge_error_answer_keeps_its_status(http_agent_server):
    run = russo.run_concurrent_sync("a", None, HttpAgent(f"{http_agent_server.url}/huge?error"), expect=[]).runs[0]
    assert run.status == "error" and run.error.type == "RetryableHTTPError"
    assert "answered HTTP 500 Internal Server Error: [1,1," in run.error.message and len(run.error.message) < 400


def test_the_default_cap_is_32_mb():
    from russo_nb.http_client import DEFAULT_MAX_BYTES

    assert HttpAgent("http://127.0.0.1:1/x").max_bytes == DEFAULT_MAX_BYTES == 32 * 1024 * 1024


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_credentials_never_follow_a_redirect_to_another_host(http_agent_server, other_host, status):
    http_agent_server.httpd.redirect_target = f"{other_host.url}/agent"
    before = len(other_host.received)
    agent = HttpAgent(f"{http_agent_server.url}/redirect/{status}", headers={"Authorization": "Bearer sk-secret"})
    result = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1)
    run = result.runs[0]
    assert run.status == "error" and run.error.type == "AgentHTTPError"
    assert f"answered HTTP {status} redirecting to {other_host.url}/agent" in run.error.message
    assert "redirects are not followed" in run.error.message
    assert len(other_host.received) == before, "the request (and its Authorization) reached the other host"


def test_a_same_host_307_is_followed_with_method_and_body(http_agent_server):
    http_agent_server.httpd.redirect_target = None  # back to this server's /agent
    agent = HttpAgent(f"{http_agent_server.url}/redirect/307", headers={"Authorization": "Bearer sk-secret"})
    result = russo.run_concurrent_sync("Book a flight", None, agent, expect=[BOOK], runs=1)
    assert result.pass_rate == 1.0
    followed = http_agent_server.received[-1]
    assert followed["path"] == "/agent" and json.loads(followed["body"]) == {"text": "Book a flight"}


def test_chat_agent_and_llm_client_share_the_redirect_rule(http_agent_server, other_host, monkeypatch):
    http_agent_server.httpd.redirect_target = f"{other_host.url}/v1/chat/completions"
    before = len(other_host.received)
    monkeypatch.setenv("RUSSO_TEST_KEY", "sk-secret")
    chat_agent = OpenAIChatAgent(f"{http_agent_server.url}/redirect/302", "m", api_key_env="RUSSO_TEST_KEY")
    result = russo.run_concurrent_sync("a", None, chat_agent, expect=[], runs=1)
    assert result.runs[0].status == "error" and "redirects are not followed" in result.runs[0].error.message
    config = LLMConfig(model="m", base_url=f"{http_agent_server.url}/redirect/302", api_key_env="RUSSO_TEST_KEY")
    with pytest.raises(ModelRequestError, match="redirects are not followed"):
        asyncio.run(chat(config, [{"role": "user", "content": "hi"}]))
    assert len(other_host.received) == before


def test_llm_client_uses_the_deadline_and_cap(http_agent_server):
    config = LLMConfig(model="m", base_url=f"{http_agent_server.url}/drip", timeout=1)
    with pytest.raises(TimeoutError, match="within 1s"):
        asyncio.run(chat(config, [{"role": "user", "content": "hi"}]))


def test_url_secrets_never_reach_names_reports_exports_or_history(http_agent_server, tmp_path):
    agent = HttpAgent(f"{http_agent_server.url}/agent?key=sk-SECRET-123&team=voice")
    assert "SECRET" not in agent.name and "key=***" in agent.name and "SECRET" not in repr(agent)
    failing = HttpAgent("http://user:pa55word@127.0.0.1:9/agent?token=sk-SECRET-456")
    result = russo.run_concurrent_sync(["Book a flight"], None, agent, expect=[BOOK], runs=1, name="secrets")
    failed = russo.run_concurrent_sync(["Book a flight"], None, failing, expect=[BOOK], runs=1)
    assert result.pass_rate == 1.0 and failed.runs[0].status == "error"
    from russo_nb.report import export, write_report

    paths = [write_report(result, tmp_path / "r.html"), write_report(failed, tmp_path / "f.html")]
    for suffix in ("jsonl", "csv", "parquet"):
        paths.append(export(result, tmp_path / f"r.{suffix}"))
        paths.append(export(failed, tmp_path / f"f.{suffix}"))
    store = russo.HistoryStore(tmp_path / "history.db")
    store.record(result)
    store.record(failed)
    paths.append(tmp_path / "history.db")
    for path in paths:
        data = path.read_bytes()
        assert b"SECRET" not in data and b"pa55word" not in data, path.name
    assert "SECRET" not in failed.runs[0].error.message and "pa55word" not in failed.runs[0].error.message


def test_redact_url_keeps_what_identifies_the_endpoint():
    assert redact_url("https://api.x.com/v1/agent?key=abc&v=2") == "https://api.x.com/v1/agent?key=***&v=***"
    assert redact_url("http://bob:pw@host:8080/p") == "http://bob:***@host:8080/p"
    assert redact_url("http://host/p") == "http://host/p"


def test_http_concurrency_is_not_capped_by_a_thread_pool(http_agent_server):
    """12 requests must be in flight at once for the server to answer any (the old thread pool ran 6 on 2 CPUs)."""
    http_agent_server.httpd.barrier = threading.Barrier(12, timeout=10)
    agent = HttpAgent(f"{http_agent_server.url}/together")
    result = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=12, max_concurrency=12)
    assert result.pass_rate == 1.0, result.runs[0].error


def test_429_with_retry_after_is_retried_after_the_pause(http_agent_server):
    http_agent_server.httpd.counts.pop("/429", None)
    agent = HttpAgent(f"{http_agent_server.url}/429")
    no_retry = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1)
    run = no_retry.runs[0]
    assert run.status == "error" and run.error.type == "RetryableHTTPError"
    assert "HTTP 429" in run.error.message and "retry after 1s" in run.error.message
    http_agent_server.httpd.counts.pop("/429", None)
    first = len(http_agent_server.received)
    result = russo.run_concurrent_sync("a", None, agent, expect=[BOOK], runs=1, retries=2, retry_backoff=0.01)
    assert result.pass_rate == 1.0 and result.runs[0].attempts == 2  # the retried attempt stays visible
    assert "[+] run 0: 100% match after 2 attempts" in result.summary()
    assert result.to_dataframe()["attempts"].tolist() == [2]
    times = [item for item in http_agent_server.received[first:] if item["path"] == "/429"]
    assert len(times) == 2


def test_retry_waits_at_least_retry_after(http_agent_server):
    http_agent_server.httpd.counts.pop("/429", None)
    stamps: list[float] = []

    class Stamped(HttpAgent):
        async def run(self, audio):
            stamps.append(time.monotonic())
            return await super().run(audio)

    result = russo.run_concurrent_sync(
        "a", None, Stamped(f"{http_agent_server.url}/429"), expect=[BOOK], runs=1, retries=1, retry_backoff=0.01
    )
    assert result.pass_rate == 1.0 and len(stamps) == 2
    assert stamps[1] - stamps[0] >= 0.95  # Retry-After: 1, not the 0.01 s backoff


def test_rate_limit_spaces_attempt_starts():
    starts: list[float] = []

    @russo.agent
    async def quick(prompt):
        starts.append(time.monotonic())
        return [russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})]

    begun = time.monotonic()
    result = russo.run_concurrent_sync("a", None, quick, expect=[BOOK], runs=4, rate_limit="10/s")
    assert result.pass_rate == 1.0 and result.metadata.params["rate_limit"] == "10/s"
    # 10 per second: attempt i never starts before its slot, i × 0.1 s after the batch began. A lower
    # bound the limiter guarantees however loaded the machine is (a late start does not pull others early).
    assert len(starts) == 4
    assert all(start - begun >= i * 0.1 - 1e-6 for i, start in enumerate(sorted(starts)))


def test_rate_limit_and_retry_after_parsing():
    assert RateLimit.parse("600/min").interval_s == 0.1
    assert RateLimit.parse("5000 per hour") == RateLimit(5000, 3600)
    assert RateLimit.parse(2).interval_s == 0.5 and str(RateLimit.parse("10/s")) == "10/s"
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a date in the past
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "99999999"}) == 600.0  # capped
    with pytest.raises(russo.InvalidArgumentError, match="rate_limit must be"):
        RateLimit.parse("10/fortnight")
