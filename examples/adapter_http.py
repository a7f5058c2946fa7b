"""HttpAgent: an agent behind an HTTP endpoint, here the local test server of local_servers.py.

The audio goes as base64 WAV in JSON ({"audio": ..., "format": "wav", "sample_rate": ...}); the answer's
tool calls are read by a JsonResponseParser (dotted paths for other shapes). Run: python examples/adapter_http.py
"""

from local_servers import HttpAgentServer

import russo_nb as russo
from russo_nb.adapters import HttpAgent
from russo_nb.audio import EspeakSynthesizer
from russo_nb.parsers import JsonResponseParser


def main() -> russo.BatchResult:
    with HttpAgentServer() as server:
        agent = HttpAgent(
            url=f"{server.url}/agent?key=not-shown-in-reports",  # query values never reach names or exports
            parser=JsonResponseParser(tool_calls_key="tool_calls", text_key="text"),
            headers={"Authorization": "Bearer sk-local"},
            timeout=10,
        )
        result = russo.run_concurrent_sync(
            "Book a flight to LA", EspeakSynthesizer(), agent, expect=["book_flight(to_city='LA')"], runs=3,
            retries=2, rate_limit="20/s",  # 429 / 5xx are retried after the server's Retry-After
        )  # fmt: skip
    print(result.summary())
    return result


if __name__ == "__main__":
    assert main().passed
