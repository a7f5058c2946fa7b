"""Interrupting a voice batch in JupyterLab (Kernel → Interrupt) leaves the offline agent usable: the
interrupted demo keeps its finished runs, the next demo cell recognises every prompt (issue 26, point 1),
the interrupted result reads in the dark theme and is still there after a reopen without a kernel."""

from __future__ import annotations

import re

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

CELLS = [
    "%load_ext russo_nb",
    "%russo demo --runs 10 --as cut",
    "%russo demo --runs 1 --as again\nprint('recognised', again.passed_count, 'of', again.total)",
]


lab = lab_fixture("voice.ipynb", CELLS)
"""JupyterLab on 127.0.0.1 serving voice.ipynb (a module-scoped fixture)."""


def _finished(cell) -> int:
    """The largest 'N/160 runs' the cell's live progress has shown."""
    counts = [int(n) for n in re.findall(r"(\d+)/160 runs", cell.inner_text())]
    return max(counts, default=0)


def test_interrupting_the_demo_then_running_it_again_in_jupyterlab(lab):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab, "voice.ipynb")
        cells = page.locator(".jp-NotebookPanel .jp-Cell")
        wait_until(lambda: _finished(cells.nth(1)) >= 20, 180, what="20 finished voice runs", interval=0.2)
        page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Interrupt Kernel").first.click()

        interrupted = cells.nth(1).locator(".russo-batch").first
        interrupted.wait_for(state="attached", timeout=120_000)
        text = interrupted.inner_text()
        assert "INTERRUPTED" in text and "cancelled" in text, text
        assert "error" not in text.lower(), text  # no run broke on the interrupt

        # Run All went on: the next demo hears every prompt (before the fix: 0/16, 'Failed to start utterance')
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
        again = cells.nth(2)
        wait_until(lambda: "recognised" in again.inner_text(), 60, what="the second demo's count", interval=0.2)
        assert "recognised 16 of 16" in again.inner_text(), again.inner_text()
        page.screenshot(path=str(ARTIFACTS / "browser_voice_interrupt_light.png"))

        dark_theme(page)
        assert contrast(interrupted.locator(".russo-head").first) >= 4.5
        assert contrast(interrupted.locator(".note").first) >= 4.5  # "N cancelled — interrupted after M runs"
        page.screenshot(path=str(ARTIFACTS / "browser_voice_interrupt_dark.png"))

        reopen_without_kernel(page)
        cells = page.locator(".jp-NotebookPanel .jp-Cell")
        kept = cells.nth(1).locator(".russo-batch").first
        kept.wait_for(state="visible", timeout=60_000)
        assert "INTERRUPTED" in kept.inner_text()
