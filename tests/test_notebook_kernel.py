"""The magics in a real Jupyter kernel: a running event loop, top-level await, and interrupts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from kernel_helpers import collect, execute, wait_for_progress

from russo_nb.testing import wait_until

pytestmark = pytest.mark.slow

# Each finished agent call adds a line here, so a test interrupts after N runs, not after a guessed sleep.
RUNS_LOG = Path(tempfile.mkdtemp(prefix="russo-kernel-")) / "runs.log"

SETUP = f"""
import asyncio, russo_nb
from russo_nb import ToolCall
%load_ext russo_nb

def ran():
    with open({str(RUNS_LOG)!r}, "a") as log:
        log.write("run\\n")

@russo_nb.agent
async def slow_agent(text):
    await asyncio.sleep(0.25)
    ran()
    return [ToolCall(name="book_flight", arguments={{"to_city": "LA"}})]
"""


def runs_logged() -> int:
    return len(RUNS_LOG.read_text().splitlines()) if RUNS_LOG.exists() else 0


def wait_for_runs(count: int, timeout: float = 60.0) -> None:
    """Wait until ``count`` agent calls finished (polling the log the agents write), or fail."""
    wait_until(lambda: runs_logged() >= count, timeout, what=f"{count} finished agent calls", interval=0.02)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path_factory.mktemp("kernel")))
    try:
        setup = execute(client, SETUP)
        assert setup["error"] is None, setup
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_magic_runs_in_a_kernel_with_a_running_loop(kernel):
    _, client = kernel
    out = execute(
        client,
        "import asyncio\n"
        "assert asyncio.get_event_loop().is_running()\n"
        '%russo run "Book a flight to LA" --agent slow_agent --text --runs 4 '
        "--expect \"book_flight(to_city='LA')\" --as res",
    )
    assert out["error"] is None, out
    bundles = out["data"]
    assert any("application/vnd.jupyter.widget-view+json" in b for b in bundles)  # the progress bar
    html = [b["text/html"] for b in bundles if "text/html" in b]
    assert html and "4/4 runs" in html[-1]  # the result renders as rich HTML
    check = execute(client, "print(res.passed_count, res.total)")
    assert check["stdout"].split() == ["4", "4"]


def test_top_level_await_in_the_same_kernel(kernel):
    _, client = kernel
    out = execute(
        client,
        "r = await russo_nb.run_concurrent(['to LA'], agent=slow_agent, "
        "expect=[\"book_flight(to_city='LA')\"], runs=3)\nprint(r.passed_count)",
    )
    assert out["error"] is None, out
    assert out["stdout"].strip() == "3"


def test_run_concurrent_sync_shows_progress_in_a_notebook(kernel):
    _, client = kernel
    out = execute(
        client,
        "r = russo_nb.run_concurrent_sync(['to LA', 'to Rome'], agent=slow_agent, "
        "expect=[\"book_flight(to_city='LA')\"], runs=3)\nprint(r.total)",
    )
    assert out["error"] is None, out
    assert "run_concurrent_sync: 6/6 runs · 6 passed · 0 failed · 0 errors" in out["stdout"], out


def test_mistake_gives_one_line_and_no_traceback(kernel):
    _, client = kernel
    out = execute(client, '%russo run "x" --agent slow_agnet --text')
    assert out["error"] is None and out["status"] == "ok"
    assert out["stderr"].count("russo:") == 1 and "Did you mean slow_agent?" in out["stderr"]
    assert "Traceback" not in out["stderr"]


def test_interrupted_batch_shows_finished_runs_not_run_prompts_and_cancelled_once(kernel):
    """30 prompts x 4 runs, 2 at a time, interrupted after 6 runs: only finished runs are scored."""
    manager, client = kernel
    before = runs_logged()
    prompts = "\n".join(f"Book flight number {i} to LA" for i in range(30))
    msg_id = client.execute(
        "%%russo run --agent slow_agent --text --runs 4 --max-concurrency 2 "
        f"--expect \"book_flight(to_city='LA')\" --as partial\n{prompts}"
    )
    wait_for_runs(before + 6)
    manager.interrupt_kernel()
    out = collect(client, msg_id)
    assert out["error"] is None, out  # the magic caught the interrupt
    check = execute(
        client,
        "from russo_nb.view import build_view\n"
        "v = build_view(partial)\n"
        "print(v.finished, v.passed, v.cancelled, len(v.not_run), len(v.flaky), "
        "partial.metadata.params['interrupted'])",
    )
    finished, passed, cancelled, not_run, flaky, flag = check["stdout"].split()
    finished, cancelled, not_run = int(finished), int(cancelled), int(not_run)
    assert 1 <= finished < 120 and finished + cancelled == 120 and passed == str(finished)
    assert not_run >= 30 - finished and flaky == "0" and flag == "True"
    html = next(b["text/html"] for b in out["data"] if "russo-batch" in b.get("text/html", ""))
    sentence = f"{cancelled} cancelled — interrupted after {finished} runs"
    shown = out["stdout"] + out["stderr"] + "".join(b.get("text/html", "") for b in out["data"])
    assert shown.count(sentence) == 1  # said once (text/plain is the same output for front ends without HTML)
    assert f"100%</b> pass rate per run ({finished}/{finished} finished runs" in html
    assert f"{not_run} prompt{'s' if not_run != 1 else ''} not run" in html and html.count(">not run<") == min(
        not_run, 50
    )
    assert "INTERRUPTED" in html and "FAILED" not in html and "⚑" not in html and "Failures" not in html

    # %russo resume runs only the cancelled runs and merges them under the same name
    before = runs_logged()
    resumed = execute(
        client, "%russo resume partial --max-concurrency 8\nprint(partial.total, partial.passed_count)", 120
    )
    assert resumed["error"] is None, resumed
    assert resumed["stdout"].split()[-2:] == ["120", "120"], resumed
    assert runs_logged() - before == cancelled  # the finished runs were not run again


SCENARIO_SETUP = """
from russo_nb import scenario
torn_down = []

class SlowBooker(scenario.AgentAdapter):
    async def call(self, input):
        await asyncio.sleep(0.25)
        ran()
        return "Booked."

slow_scenario = scenario.Scenario(
    name="slow", description="d", agents=[SlowBooker()],
    script=[scenario.user("a flight to Oslo"), scenario.agent(), scenario.succeed()],
    teardown=lambda state: torn_down.append(state.run_index),
)
"""


def test_interrupting_a_scenario_batch_keeps_finished_runs_and_tears_down_started_ones(kernel):
    manager, client = kernel
    assert execute(client, SCENARIO_SETUP)["error"] is None
    before = runs_logged()
    msg_id = client.execute("%russo scenario slow_scenario --runs 30 --max-concurrency 2 --as spart")
    wait_for_runs(before + 4)
    manager.interrupt_kernel()
    out = collect(client, msg_id)
    assert out["error"] is None, out
    html = next(b["text/html"] for b in out["data"] if "russo-batch" in b.get("text/html", ""))
    assert "cancelled — interrupted after" in html and "1 scenario" in html
    check = execute(
        client,
        "started = [r.run_index for r in spart.runs if 'set_up' in r.phases]\n"
        "print(type(spart).__name__, spart.status_counts.get('passed', 0), "
        "spart.status_counts.get('cancelled', 0), spart.metadata.params.get('interrupted'), "
        "sorted(started) == sorted(torn_down), len(started))",
    )
    kind, passed, cancelled, flag, torn_all, started = check["stdout"].split()
    assert kind == "ScenarioBatch" and flag == "True"
    assert int(passed) >= 1 and int(cancelled) >= 1 and int(passed) + int(cancelled) == 30
    assert torn_all == "True" and int(started) > int(passed)  # runs cut off mid-way were torn down too


@pytest.mark.slow
def test_interrupting_a_voice_batch_leaves_the_offline_agent_usable(tmp_path):
    """Kernel → Interrupt signals the whole process group, recognizer workers too: twice, then a clean run."""
    from jupyter_client.manager import start_new_kernel

    log = open(tmp_path / "kernel.log", "wb")  # the kernel's own stderr: where a worker's traceback would go
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), stderr=log)
    try:
        assert execute(client, "%load_ext russo_nb")["error"] is None
        for attempt in range(2):
            msg_id = client.execute(f"%russo demo --runs 10 --as cut{attempt}")
            wait_for_progress(client, msg_id, 20 + 10 * attempt)
            manager.interrupt_kernel()
            out = collect(client, msg_id, timeout=120)
            assert out["error"] is None, out
            check = execute(
                client,
                f"print(cut{attempt}.status_counts)\n"
                f"print('spread', len({{r.prompt for r in cut{attempt}.runs if r.status != 'cancelled'}}), "
                f"cut{attempt}.finished_count)",
            )
            assert "'cancelled'" in check["stdout"] and "'error'" not in check["stdout"], check
            # the recognition pool serves runs round-robin: finished runs of (nearly) every prompt, not 2 at 10/10
            prompts, finished = map(int, check["stdout"].split("spread")[1].split())
            assert prompts >= min(finished, 16) - 2, check
        again = execute(client, "%russo demo --runs 1 --as again\nprint(again.passed_count, again.total)", 300)
        assert again["error"] is None, again
        assert again["stdout"].split()[-2:] == ["16", "16"], again  # every run recognised, none "Failed to start"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        log.close()
    assert "KeyboardInterrupt" not in (tmp_path / "kernel.log").read_text(errors="replace")
