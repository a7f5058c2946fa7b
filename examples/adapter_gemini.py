"""GeminiAgent (generate_content with audio) and GoogleSynthesizer (Gemini TTS), pip install 'russo_nb[google]'.

The genai.Client points at the local test server (http_options base_url); with your key alone it is Gemini.
Run: python examples/adapter_gemini.py
"""

from google import genai
from google.genai import types
from local_servers import HttpAgentServer

import russo_nb as russo
from russo_nb.adapters import GeminiAgent
from russo_nb.synthesizers import GoogleSynthesizer

TOOLS = [types.Tool(function_declarations=[types.FunctionDeclaration(name="book_flight")])]


async def main() -> russo.BatchResult:
    with HttpAgentServer() as server:
        client = genai.Client(api_key="local-key", http_options=types.HttpOptions(base_url=server.url))
        agent = GeminiAgent(client=client, model="gemini-2.0-flash", tools=TOOLS)
        voice = GoogleSynthesizer(client=client, voice="Kore")
        result = await russo.run_concurrent(
            "Book a flight to LA", voice, agent, expect=["book_flight(to_city='LA')"], runs=3
        )
    print(result.summary())
    return result


if __name__ == "__main__":
    import asyncio

    assert asyncio.run(main()).passed
