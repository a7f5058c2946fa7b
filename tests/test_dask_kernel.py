"""``%russo ... --dask ADDRESS`` in a real Jupyter kernel: the runs happen on the cluster's workers, the
result renders as in process, and the progress shows the cluster's dashboard link beside the bar."""

from __future__ import annotations

import queue
import time

import pytest

pytestmark = pytest.mark.slow

SETUP = """
import os
import russo_nb
%load_ext russo_nb

@russo_nb.agent
async def booker(text):
    # the process that answered, so the test sees where the runs happened
    return russo_nb.AgentResponse(
        tool_calls=[russo_nb.ToolCall(name="book_flight", arguments={"to_city": "LA"})], raw={"pid": os.getpid()}
    )
"""


def execute(client, code: str, timeout: float = 120.0) -> dict:
    """Run ``code``; what the kernel sent back for it, widget models (comm_open) included."""
    msg_id = client.execute(code)
    out = {"stdout": "", "stderr": "", "error": None, "data": [], "widgets": []}
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"kernel did not finish in {timeout}s: {out}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out[content["name"]] += content["text"]
        elif kind == "error":
            out["error"] = f"{content['ename']}: {content['evalue']}"
        elif kind in ("execute_result", "display_data", "update_display_data"):
            out["data"].append(content["data"])
        elif kind == "comm_open":
            out["widgets"].append(content["data"].get("state", {}))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    client.get_shell_msg(timeout=timeout)
    return out


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path_factory.mktemp("kernel")))
    try:
        setup = execute(client, SETUP)
        assert setup["error"] is None, setup
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_magic_runs_on_the_cluster_and_shows_the_dashboard_beside_the_progress(kernel, cluster):
    address = cluster.scheduler.address
    out = execute(
        kernel,
        f'%russo run "Book a flight to LA" "Fly me to LA" --agent booker --text --runs 6 '
        f"--expect \"book_flight(to_city='LA')\" --dask {address} --as there",
    )
    assert out["error"] is None and "Traceback" not in out["stderr"], out
    # the progress bar (a widget) with the cluster's dashboard linked beside it
    link = cluster.dashboard_link
    bars = [state for state in out["widgets"] if state.get("_model_name") == "IntProgressModel"]
    assert bars and bars[-1]["max"] == 12
    links = [state["value"] for state in out["widgets"] if "Dask dashboard" in str(state.get("value", ""))]
    assert links == [f'<a href="{link}" target="_blank" rel="noopener">Dask dashboard</a>']
    assert any(f"· dashboard {link}" in bundle.get("text/plain", "") for bundle in out["data"])
    # the result renders as an in-process one does
    html = [bundle["text/html"] for bundle in out["data"] if "russo-batch" in bundle.get("text/html", "")]
    assert html and "12/12 runs" in html[-1] and "100%" in html[-1]

    check = execute(
        kernel,
        "print(there.passed_count, there.total, os.getpid())\n"
        "print(*sorted({run.response.raw['pid'] for run in there.runs}))",
    )
    assert check["error"] is None, check
    first, second = check["stdout"].splitlines()
    passed, total, kernel_pid = first.split()
    assert (passed, total) == ("12", "12")
    answered = {int(pid) for pid in second.split()}
    workers = set(cluster.run(__import__("os").getpid).values())
    assert answered and answered <= workers and int(kernel_pid) not in answered  # the workers ran them
