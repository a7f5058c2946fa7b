"""The explorer's paths in a real Jupyter kernel: a crashing agent's traceback survives export -> load and the
history store, %russo history (Open buttons) and history open, %russo compare's view, %russo show's runs table."""

from __future__ import annotations

import pytest
from test_notebook_kernel import execute

pytestmark = pytest.mark.slow

SETUP = """
import russo_nb
from russo_nb import ToolCall
%load_ext russo_nb

@russo_nb.agent
async def flaky_agent(text):
    if "Oslo" in str(text):
        return {"to": "Oslo"}["to_city"]  # a bug in the agent: KeyError
    return [ToolCall(name="book_flight", arguments={"to_city": "LA"})]

@russo_nb.agent
async def fixed_agent(text):
    city = "Oslo" if "Oslo" in str(text) else "LA"
    return [ToolCall(name="book_flight", arguments={"to_city": city})]

wanted = {
    "Book a flight to LA": [ToolCall(name="book_flight", arguments={"to_city": "LA"})],
    "Book a flight to Oslo": [ToolCall(name="book_flight", arguments={"to_city": "Oslo"})],
}
"""

RUN = (
    "%%russo run --agent {agent} --text --runs 3 --expect wanted --as {name} "
    "--record --history hist.sqlite --name {name} --quiet\n"
    "Book a flight to LA\nBook a flight to Oslo\n"
)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path_factory.mktemp("explorer-kernel")))
    try:
        setup = execute(client, SETUP)
        assert setup["error"] is None, setup
        for agent, name in (("flaky_agent", "v1"), ("fixed_agent", "v2")):
            out = execute(client, RUN.format(agent=agent, name=name), timeout=120)
            assert out["error"] is None and "recorded batch" in out["stdout"], out
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _widgets(out: dict) -> int:
    return sum(1 for bundle in out["data"] if "application/vnd.jupyter.widget-view+json" in bundle)


def test_traceback_survives_export_load_and_history(kernel):
    out = execute(
        kernel,
        "from russo_nb.report import load_batch\n"
        "from russo_nb.store import HistoryStore\n"
        "from russo_nb.notebook.run_detail import run_detail_html\n"
        "err = next(r for r in v1.runs if r.status == 'error')\n"
        "%russo export v1 v1.jsonl\n"
        "loaded = next(r for r in load_batch('v1.jsonl').runs if r.status == 'error')\n"
        "stored = next(r for r in HistoryStore('hist.sqlite').load(v1.metadata.batch_id).runs if r.status == 'error')\n"
        "assert 'KeyError' in err.error.traceback and 'flaky_agent' in err.error.traceback, err.error\n"
        "assert loaded.error.traceback == err.error.traceback == stored.error.traceback\n"
        "html = run_detail_html(stored)\n"
        "assert 'russo-traceback' in html and 'flaky_agent' in html\n"
        "print('traceback ok')",
    )
    assert out["error"] is None and "traceback ok" in out["stdout"], out


def test_history_lists_with_open_buttons_and_history_open_loads(kernel):
    listed = execute(kernel, "%russo history --history hist.sqlite")
    assert listed["error"] is None and _widgets(listed) == 1, listed  # the history view (table, buttons, trend)
    out = execute(
        kernel,
        "%russo history open {v1.metadata.batch_id[:6]} --history hist.sqlite --as old\n"
        "assert old == v1, 'the loaded batch equals the recorded one'\n",
    )
    assert out["error"] is None, out
    assert "loaded batch" in out["stdout"] and "into old" in out["stdout"]
    assert _widgets(out) == 1  # the explorer of the loaded batch
    bad = execute(kernel, "%russo history open nosuchid --history hist.sqlite")
    assert bad["error"] is None and bad["stderr"].startswith("russo:") and "Traceback" not in bad["stderr"]


def test_compare_shows_the_view_and_show_opens_runs(kernel):
    out = execute(kernel, "%russo compare v1 v2")
    assert out["error"] is None and _widgets(out) == 1, out
    check = execute(
        kernel,
        "from russo_nb.notebook.compare_view import CompareView\n"
        "view = CompareView(v1, v2, 'v1', 'v2', chart=False)\n"
        "view.picker.value = 'Book a flight to Oslo'\n"
        "print(len(view.sides.children), 'B − A = +50.0%' in view.widget.children[0].value)",
    )
    assert check["error"] is None and "2 True" in check["stdout"], check
    shown = execute(
        kernel,
        "from russo_nb.notebook import explore\n"
        "ex = explore(v1)\n"
        "t = ex.runs_browser.table\n"
        "t.search.value = 'oslo'\n"
        "t.sort_by('latency_s')\n"
        "ex.open_run(int(t.order[0]))\n"
        "print(len(t.view), ex.runs_browser.detail.index == int(t.order[0]))",
    )
    assert shown["error"] is None and "3 True" in shown["stdout"], shown
