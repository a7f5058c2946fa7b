"""OpenAIRealtimeAgent: the Realtime API over WebSocket (pip install 'russo_nb[openai]').

session.update (tools), input_audio_buffer.append/commit, response.create, then the function calls up to
response.done. The client's websocket_base_url points at the local test server. Run:
python examples/adapter_openai_realtime.py
"""

from local_servers import WebSocketAgentServer
from openai import AsyncOpenAI

import russo_nb as russo
from russo_nb.adapters import OpenAIRealtimeAgent
from russo_nb.audio import EspeakSynthesizer

TOOLS = [{"type": "function", "name": "book_flight", "parameters": {"type": "object"}}]


async def main() -> russo.BatchResult:
    with WebSocketAgentServer() as server:
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=f"{server.url}/v1")
        agent = OpenAIRealtimeAgent(client=client, model="gpt-4o-realtime-preview", tools=TOOLS, response_timeout=10)
        result = await russo.run_concurrent(
            "Book a flight to LA", EspeakSynthesizer(), agent, expect=["book_flight(to_city='LA')"], runs=2
        )
    print(result.summary())
    return result


if __name__ == "__main__":
    import asyncio

    assert asyncio.run(main()).passed
