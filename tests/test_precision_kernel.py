"""%russo run --until-half-width in a real Jupyter kernel: rounds to the cap, and a kernel interrupt between rounds."""

from __future__ import annotations

import pytest
from test_notebook_kernel import collect, execute, kernel, runs_logged, wait_for_runs  # noqa: F401  (kernel: fixture)

pytestmark = pytest.mark.slow

FLAKY = """
answers = iter([True, False] * 1000)

@russo_nb.agent
async def coin(text):
    return [ToolCall(name="book_flight", arguments={"to_city": "LA" if next(answers) else "Boston"})]
"""


def test_rounds_to_the_cap_then_an_interrupt_between_rounds_keeps_every_finished_round(kernel):  # noqa: F811
    manager, client = kernel
    assert execute(client, FLAKY)["error"] is None
    out = execute(
        client,
        "%russo run 'Book a flight to LA' 'Fly me to LA' --agent coin --text --expect \"book_flight(to_city='LA')\" "
        "--runs 3 --until-half-width 5% --max-runs 9 --as capped",
        120,
    )
    assert out["error"] is None, out
    shown = execute(
        client,
        "print(capped.total, capped.metadata.params['until']['stopped'], capped.metadata.params['until']['rounds'])",
    )
    assert shown["stdout"].split("\n")[-2] == "18 cap [6, 6, 6]", shown
    html = "".join(block.get("text/html", "") for block in out["data"])
    assert "Stopped at the cap: 9 runs per prompt" in html and "not a hypothesis test" in html

    before = runs_logged()  # slow_agent (0.25 s a run) logs each finished call
    msg_id = client.execute(
        "%russo run 'Book a flight to LA' 'Fly me to LA' --agent slow_agent --text "
        "--expect \"book_flight(to_city='LA')\" --runs 2 --max-concurrency 2 --until-half-width 1% --max-runs 40 "
        "--as stopped"
    )
    wait_for_runs(before + 9)  # two rounds of 4 done, the third under way
    manager.interrupt_kernel()
    assert collect(client, msg_id)["error"] is None  # the magic caught the interrupt
    check = execute(
        client,
        "u = stopped.metadata.params['until']\n"
        "print(u['stopped'], u['rounds'][:2], stopped.finished_count >= 8, stopped.metadata.params['interrupted'])",
    )
    assert check["stdout"].split("\n")[-2] == "interrupted [4, 4] True True", check
