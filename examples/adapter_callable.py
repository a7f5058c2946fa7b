"""CallableAgent / @russo.agent: any function (sync or async) as the agent under test. No server needed.

Run: python examples/adapter_callable.py
"""

import russo_nb as russo
from russo_nb.adapters import CallableAgent


async def my_agent(prompt):
    # Call your own code here: a LangChain chain, an SDK, a local model...
    return [russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})]


def main() -> russo.BatchResult:
    agent = CallableAgent(my_agent)  # same as decorating my_agent with @russo.agent
    result = russo.run_concurrent_sync(
        ["Book a flight to LA", "Fly me to Los Angeles"], None, agent, expect=["book_flight(to_city='LA')"], runs=3
    )
    print(result.summary())
    return result


if __name__ == "__main__":
    assert main().passed
