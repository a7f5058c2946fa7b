"""WebSocketAgent: a voice bot on a WebSocket (pip install 'russo_nb[ws]'), here the local test server.

The bot answers a transcript, then the tool call, then {"done": true}; is_complete says when the answer is
whole. Run: python examples/adapter_websocket.py
"""

from local_servers import WebSocketAgentServer

import russo_nb as russo
from russo_nb.adapters import WebSocketAgent
from russo_nb.audio import EspeakSynthesizer


def finished(messages) -> bool:
    return any(isinstance(message, dict) and message.get("done") for message in messages)


def main() -> russo.BatchResult:
    with WebSocketAgentServer() as server:
        agent = WebSocketAgent(url=f"{server.url}/multi", is_complete=finished, response_timeout=10)
        result = russo.run_concurrent_sync(
            "Book a flight to LA", EspeakSynthesizer(), agent, expect=["book_flight(to_city='LA')"], runs=3
        )
    print(result.summary())
    return result


if __name__ == "__main__":
    assert main().passed
