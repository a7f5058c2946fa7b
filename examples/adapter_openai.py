"""OpenAIAgent (Chat Completions with input_audio) and OpenAISynthesizer (TTS), pip install 'russo_nb[openai]'.

The AsyncOpenAI client points at the local test server (base_url); with your key and no base_url it is OpenAI.
Run: python examples/adapter_openai.py
"""

from local_servers import HttpAgentServer
from openai import AsyncOpenAI

import russo_nb as russo
from russo_nb.adapters import OpenAIAgent
from russo_nb.synthesizers import OpenAISynthesizer

TOOLS = [{"type": "function", "function": {"name": "book_flight", "parameters": {"type": "object"}}}]


async def main() -> russo.BatchResult:
    with HttpAgentServer() as server:
        client = AsyncOpenAI(api_key="sk-local", base_url=f"{server.url}/v1")  # one client per event loop
        agent = OpenAIAgent(client=client, model="gpt-4o-audio-preview", tools=TOOLS)
        voice = OpenAISynthesizer(client=client, voice="alloy")
        result = await russo.run_concurrent(
            "Book a flight to LA", voice, agent, expect=["book_flight(to_city='LA')"], runs=3
        )
    print(result.summary())  # includes the tokens the API reported
    return result


if __name__ == "__main__":
    import asyncio

    assert asyncio.run(main()).passed
