"""Resume in a real browser (JupyterLab + Debian Chromium): run a batch, Kernel → Interrupt, then
``%russo resume`` — only the cancelled runs run again and the merged batch shows PASSED; the result
reads in the dark theme and is still there (its HTML) after a reopen without a kernel."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from browser_helpers import (
    ARTIFACTS,
    chromium,
    contrast,
    dark_theme,
    lab_fixture,
    open_and_run_all,
    reopen_without_kernel,
)

from russo_nb.testing import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUNS_LOG = Path(tempfile.mkdtemp(prefix="russo-resume-")) / "runs.log"

CELLS = [
    "%load_ext russo_nb\n"
    "import asyncio, russo_nb\n"
    "from russo_nb import ToolCall\n"
    "@russo_nb.agent\n"
    "async def slow_agent(text):\n"
    "    await asyncio.sleep(0.25)\n"
    f"    with open({str(RUNS_LOG)!r}, 'a') as log:\n"
    "        log.write('run\\n')\n"
    "    return [ToolCall(name='book_flight', arguments={'to_city': 'LA'})]",
    "%%russo run --agent slow_agent --text --runs 4 --max-concurrency 2 --expect \"book_flight(to_city='LA')\" "
    "--as partial\n" + "\n".join(f"Book flight number {i} to LA" for i in range(20)),
    "%russo resume partial --max-concurrency 8",
]


def _runs_logged() -> int:
    return len(RUNS_LOG.read_text().splitlines()) if RUNS_LOG.exists() else 0


lab = lab_fixture("resume.ipynb", CELLS)
"""JupyterLab on 127.0.0.1 serving resume.ipynb (a module-scoped fixture)."""


def test_interrupt_then_resume_in_jupyterlab(lab):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab, "resume.ipynb")
        wait_until(lambda: _runs_logged() >= 8, 120, what="8 finished runs", interval=0.1)
        page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Interrupt Kernel").first.click()
        panel = page.locator(".jp-NotebookPanel")
        cells = panel.locator(".jp-Cell")
        interrupted = cells.nth(1).locator(".russo-batch").first
        interrupted.wait_for(state="attached", timeout=60_000)
        text = interrupted.inner_text()
        assert "INTERRUPTED" in text, text
        found = re.search(r"(\d+) cancelled — interrupted after (\d+) runs", text)
        assert found, text
        cancelled, finished = int(found.group(1)), int(found.group(2))
        assert finished >= 8 and cancelled >= 1 and cancelled + finished == 80

        # the magic kept what finished, so Run All went on to the resume cell: only the cancelled runs ran
        merged = cells.nth(2).locator(".russo-batch").first
        merged.wait_for(state="attached", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        text = merged.inner_text()
        assert "PASSED" in text and "80/80" in text and "cancelled" not in text, text
        assert _runs_logged() == 80  # finished + the cancelled ones, none twice
        cells.nth(2).scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_resume_light.png"))

        dark_theme(page)
        assert contrast(merged.locator(".russo-head").first) >= 4.5
        assert contrast(cells.nth(1).locator(".russo-batch .note").first) >= 4.5  # the interruption note
        page.screenshot(path=str(ARTIFACTS / "browser_resume_dark.png"))

        reopen_without_kernel(page)
        cells = page.locator(".jp-NotebookPanel .jp-Cell")
        merged = cells.nth(2).locator(".russo-batch").first
        merged.wait_for(state="visible", timeout=60_000)
        assert "PASSED" in merged.inner_text() and "80/80" in merged.inner_text()
        notebook = page.locator(".jp-NotebookPanel").first.inner_text()
        assert "model not found" not in notebook  # each finished bar was saved as HTML, not as a widget
        assert cells.nth(1).locator("progress.russo-progress").count() == 1
        page.screenshot(path=str(ARTIFACTS / "browser_resume_reopened.png"))
