"""Compare, history and the run detail in a real browser (JupyterLab + Debian Chromium), light and dark, and
reopened without a kernel: the compare grid's columns line up, the word diff and a missing argument read at
≥ 4.5:1 in both themes, and compare and history show their static snapshots once the widget models are gone.
Screenshots go to artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import (
    ARTIFACTS,
    chromium,
    contrast,
    dark_theme,
    lab_fixture,
    open_and_run_all,
    readable,
    reopen_without_kernel,
)

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "data"  # two batches of the earlier recorded noise sweep (en-us, clean and 5 dB)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    "%load_ext russo_nb\n"
    "import russo_nb\n"
    "from IPython.display import HTML, display\n"
    "from russo_nb.report import load_batch\n"
    "from russo_nb.store import HistoryStore\n"
    "from russo_nb.types import AgentResponse, EvalResult, SingleRunResult, ToolCall, ToolCallMatch\n"
    "from russo_nb.notebook.run_detail import run_detail_html\n"
    f"noisy = load_batch({str(RECORDED / 'noise_sweep_snr5.jsonl')!r})\n"
    f"clean = load_batch({str(RECORDED / 'noise_sweep_clean.jsonl')!r})\n"
    "store = HistoryStore('hist.sqlite')\n"
    "for batch in (clean, noisy):\n"
    "    store.record(batch)",
    "%russo compare clean noisy",
    "%russo history --history hist.sqlite",
    # a run whose recognizer misheard two words and whose call lacks an argument
    "want = ToolCall(name='book_flight', arguments={'from_city': 'NYC', 'to_city': 'Los Angeles'})\n"
    "got = ToolCall(name='book_flight', arguments={'to_city': 'Boston'})\n"
    "run = SingleRunResult(\n"
    "    prompt='Book a flight from NYC to Los Angeles', run_index=0, status='failed',\n"
    "    eval_result=EvalResult(passed=False, expected=[want], actual=[got],\n"
    "                           matches=[ToolCallMatch(expected=want, actual=got, matched=False)]),\n"
    "    response=AgentResponse(tool_calls=[got], raw={'transcript': 'book a flight from NYC to boston'}),\n"
    ")\n"
    "display(HTML(run_detail_html(run)))",
    "from russo_nb.notebook.runs_table import RunsBrowser\nRunsBrowser(noisy).widget",
]


lab = lab_fixture("views.ipynb", CELLS)
"""JupyterLab on 127.0.0.1 serving views.ipynb (a module-scoped fixture)."""


def _readable(panel, theme: str) -> dict[str, float]:
    """The words that explain a failure, and the comparison's verdict, at WCAG AA against what is behind them."""
    return readable(
        theme,
        {
            "said (word diff)": panel.locator(".russo-word-diff .sub .said").first,
            "heard (word diff)": panel.locator(".russo-word-diff .sub").first,
            "missing argument": panel.locator("table.calls td.differs.absent").first,
            "differing argument": panel.locator("table.calls td.differs:not(.absent)").first,
            "compare verdict": panel.locator(".russo-compare-head .dir").first,
            "muted": panel.locator(".russo-compare .muted").first,
        },
    )


def _grid_lines_up(panel) -> None:
    """Each grid row: prompt, then A's runs, then B's runs, side by side (not stacked under "A")."""
    grid = panel.locator(".russo-compare-view table.grid").first
    heads = grid.locator("tr").first.locator("th")
    cells = grid.locator("tr").nth(1).locator("td")
    assert heads.count() == 3 and cells.count() == 3
    boxes = [cells.nth(i).bounding_box() for i in range(3)]
    head_boxes = [heads.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"], boxes
    assert abs(boxes[1]["y"] - boxes[2]["y"]) < 1 and abs(boxes[0]["y"] - boxes[1]["y"]) < 1, boxes
    for head, cell in zip(head_boxes, boxes, strict=True):  # each column under its own heading
        assert abs(head["x"] - cell["x"]) < 1 and abs(head["width"] - cell["width"]) < 1, (head, cell)
    labels = panel.locator("table.calls th.side")  # "expected" / "agent called": table cells, not inline blocks
    shown = {labels.nth(i).evaluate("e => getComputedStyle(e).display") for i in range(labels.count())}
    assert labels.count() >= 2 and shown == {"table-cell"}


def test_compare_history_and_detail_in_light_dark_and_reopened(lab):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab, "views.ipynb")
        panel = page.locator(".jp-NotebookPanel")
        panel.locator(".russo-compare-view table.grid").first.wait_for(state="attached", timeout=180_000)
        panel.locator(".russo-history-view").first.wait_for(state="attached", timeout=60_000)
        panel.locator(".russo-word-diff").first.wait_for(state="attached", timeout=60_000)

        _grid_lines_up(panel)
        light = _readable(panel, "light")

        # Escape in the runs list gives the keys back to the notebook (command mode)
        rows = panel.locator(".russo-runs-rows select").first
        rows.wait_for(state="attached", timeout=60_000)
        panel.locator(".russo-run-keys-ready").first.wait_for(state="attached", timeout=30_000)
        rows.locator("option").nth(1).click()
        assert rows.evaluate("s => document.activeElement === s")
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.activeElement.closest('.russo-runs-rows')", timeout=5_000)
        assert page.locator(".jp-Notebook.jp-mod-commandMode").count() == 1
        assert panel.locator(".russo-static").count() == 2  # compare's and history's snapshots
        assert not any(panel.locator(".russo-static").nth(i).is_visible() for i in range(2))  # live views show
        panel.locator(".russo-compare-view").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_views_compare_light.png"))
        panel.locator(".russo-word-diff").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_views_detail_light.png"))

        dark_theme(page)
        dark = _readable(panel, "dark")
        for chart in (".russo-compare-view .russo-chart svg text", ".russo-history-view .russo-trend svg text"):
            assert contrast(panel.locator(chart).first) >= 4.5, chart  # charts follow the theme's text colour
        _grid_lines_up(panel)
        page.screenshot(path=str(ARTIFACTS / "browser_views_detail_dark.png"))
        panel.locator(".russo-compare-view").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_views_compare_dark.png"))
        panel.locator(".russo-history-view").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_views_history_dark.png"))
        print("contrast", light, dark)

        # saved, kernel shut down, reloaded: the widget models are gone, the snapshots show
        reopen_without_kernel(page)
        panel = page.locator(".jp-NotebookPanel")
        compare = panel.locator(".russo-compare-static").first
        compare.wait_for(state="visible", timeout=60_000)
        assert compare.locator("xpath=..").locator("table.grid tr").count() >= 2
        assert compare.locator("xpath=..").locator(".russo-chart svg").count() == 1
        assert "B worse" in compare.locator("xpath=..").inner_text()
        history = panel.locator(".russo-history-static").first
        assert history.is_visible()
        assert "demo 5 dB" in history.locator("xpath=..").inner_text()
        compare.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_views_reopened.png"))
