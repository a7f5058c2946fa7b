"""OpenAIChatAgent: any OpenAI-compatible /chat/completions endpoint (vLLM, llama.cpp, Ollama...), no SDK.

Here it is the local test server. Run: python examples/adapter_openai_chat.py
"""

import os

from local_servers import HttpAgentServer

import russo_nb as russo
from russo_nb.adapters import OpenAIChatAgent

TOOLS = [{"name": "book_flight", "description": "Book a flight", "parameters": {"type": "object"}}]


def main() -> russo.BatchResult:
    os.environ.setdefault("LOCAL_LLM_KEY", "sk-local")
    with HttpAgentServer() as server:
        agent = OpenAIChatAgent(f"{server.url}/v1", "local-model", api_key_env="LOCAL_LLM_KEY", tools=TOOLS)
        result = russo.run_concurrent_sync("Book a flight to LA", None, agent, expect=["book_flight(to_city='LA')"])
    print(result.summary())
    return result


if __name__ == "__main__":
    assert main().passed
