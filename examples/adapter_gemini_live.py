"""GeminiLiveAgent: a Gemini Live API session per run (pip install 'russo_nb[google]').

The audio goes as 16 kHz PCM; the first toolCall ends the turn. Here the Live server is the local test server
over TLS (a fresh self-signed certificate the client trusts), reached through the SDK's gateway mode.
Run: python examples/adapter_gemini_live.py
"""

from google import genai
from google.genai import types
from local_servers import WebSocketAgentServer

import russo_nb as russo
from russo_nb.adapters import GeminiLiveAgent
from russo_nb.audio import EspeakSynthesizer

TOOLS = [types.Tool(function_declarations=[types.FunctionDeclaration(name="book_flight")])]


async def main() -> russo.BatchResult:
    with WebSocketAgentServer(tls=True) as server:
        options = types.HttpOptions(base_url=f"{server.url}/live", async_client_args={"ssl": server.client_tls})
        client = genai.Client(vertexai=True, http_options=options)  # real use: genai.Client(api_key=...)
        agent = GeminiLiveAgent(client=client, model="live-ok", tools=TOOLS, response_timeout=10)
        result = await russo.run_concurrent(
            "Book a flight to LA", EspeakSynthesizer(), agent, expect=["book_flight(to_city='LA')"], runs=2
        )
    print(result.summary())
    return result


if __name__ == "__main__":
    import asyncio

    assert asyncio.run(main()).passed
