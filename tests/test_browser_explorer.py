"""The explorer as a working tool in a real browser (JupyterLab + Debian Chromium via Playwright): sort the runs by
latency, search for a word, open a run, play the audio the agent heard, read the word diff and the labelled call
diff, move with the keyboard; open a past batch from the history view. Screenshots go to artifacts/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_helpers import ARTIFACTS, attached_or_screenshot, chromium, lab_fixture, open_and_run_all

from russo_nb.notebook.runs_table import runs_table_frame
from russo_nb.report import load_batch

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "data"  # two batches of the earlier recorded noise sweep (en-us, clean and 5 dB)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    "%load_ext russo_nb\n"
    "import russo_nb\n"
    "from russo_nb.report import load_batch\n"
    "from russo_nb.store import HistoryStore\n"
    f"noisy = load_batch({str(RECORDED / 'noise_sweep_snr5.jsonl')!r})\n"
    f"clean = load_batch({str(RECORDED / 'noise_sweep_clean.jsonl')!r})\n"
    "store = HistoryStore('hist.sqlite')\n"
    "for batch in (clean, noisy):\n"
    "    store.record(batch)",
    "russo_nb.explore(noisy)",
    "%russo history --history hist.sqlite",
]


lab = lab_fixture("explorer.ipynb", CELLS)
"""JupyterLab on 127.0.0.1 serving explorer.ipynb (a module-scoped fixture)."""


def _dismiss_dialogs(page) -> None:
    """Close any JupyterLab dialog (e.g. a transient "Directory not found" under load) that would block clicks."""
    for _ in range(5):
        dialogs = page.locator(".jp-Dialog")
        if dialogs.count() == 0:
            return
        try:
            dialogs.first.locator(".jp-mod-accept, .jp-mod-reject, .jp-Dialog-close-button").first.click(timeout=3_000)
        except Exception:
            page.keyboard.press("Escape")
        page.wait_for_timeout(300)


def _option_texts(listbox) -> list[str]:
    return [text.replace("\u00a0", " ") for text in listbox.locator("option").all_inner_texts()]


def _latency(text: str) -> float:
    match = re.search(r"(\d+\.\d+)s\s", text)
    assert match, text
    return float(match.group(1))


def test_sort_search_open_play_and_history_open(lab):
    with chromium("--autoplay-policy=no-user-gesture-required") as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        open_and_run_all(page, lab, "explorer.ipynb")
        panel = page.locator(".jp-NotebookPanel")
        attached_or_screenshot(
            page, panel.locator(".russo-history-view").first, "browser_explorer_failure.png", timeout=180_000
        )
        _dismiss_dialogs(page)
        explorer = panel.locator(".russo-explorer").first
        explorer.locator(".lm-TabBar-tab", has_text="Runs").first.click()
        table = explorer.locator(".russo-runs-table")
        listbox = table.locator(".russo-runs-rows select")
        listbox.wait_for(state="visible", timeout=30_000)
        assert len(_option_texts(listbox)) == 25
        # filters show their selection (not blank)
        selects = table.locator(".widget-dropdown select")
        shown = [
            selects.nth(i).evaluate("s => s.options[s.selectedIndex].text").replace("\u00a0", " ")
            for i in range(selects.count())
        ]
        page.screenshot(path=str(ARTIFACTS / "browser_explorer_runs.png"))
        assert any(text.startswith("all prompts") for text in shown), shown
        assert any(text.startswith("all statuses") for text in shown), shown

        # sort by latency: ascending, then descending
        header = table.locator(".russo-runs-head button", has_text="latency")
        _dismiss_dialogs(page)
        header.click()
        page.wait_for_function(
            "() => document.querySelector('.russo-runs-head').innerText.includes('latency ▲')", timeout=15_000
        )
        page.wait_for_timeout(500)
        latencies = [_latency(text) for text in _option_texts(listbox)]
        assert latencies == sorted(latencies), latencies
        header.click()
        page.wait_for_function(
            "() => document.querySelector('.russo-runs-head').innerText.includes('latency ▼')", timeout=15_000
        )
        page.wait_for_timeout(500)
        latencies = [_latency(text) for text in _option_texts(listbox)]
        assert latencies == sorted(latencies, reverse=True), latencies
        page.screenshot(path=str(ARTIFACTS / "browser_explorer_sorted.png"))

        # search for a word the recognizer heard instead of "Los Angeles"
        search = table.locator(".russo-runs-search input")
        search.fill("boston")
        search.press("Enter")
        page.wait_for_function(
            "() => /of \\d+ matching/.test(document.querySelector('.russo-runs-summary').innerText)"
            " && !document.querySelector('.russo-runs-summary').innerText.includes('of 160 matching')",
            timeout=15_000,
        )
        page.wait_for_timeout(500)
        texts = _option_texts(listbox)
        frame = runs_table_frame(load_batch(RECORDED / "noise_sweep_snr5.jsonl"))
        matching = int(frame["search"].str.contains("boston").sum())
        summary = table.locator(".russo-runs-summary").inner_text().replace("\u00a0", " ")
        assert 0 < matching < 160 and f"of {matching} matching" in summary, summary
        assert len(texts) == min(25, matching)

        # open run 0 of the first prompt (its clip was kept; it heard "boston today"): sort by run first
        table.locator(".russo-runs-head button", has_text="run").first.click()
        page.wait_for_function(
            "() => document.querySelector('.russo-runs-head').innerText.includes('run ▲')", timeout=15_000
        )
        page.wait_for_timeout(500)
        texts = _option_texts(listbox)
        fields = [re.split(r"\s{2,}", text.strip()) for text in texts]
        target = next(
            i  # the prompt is cut in the middle: "Book a flight fro…to Los Angeles"
            for i, row in enumerate(fields)
            if row[0].startswith("Book a flight fro") and row[0].endswith("Los Angeles") and row[1] == "0"
        )
        listbox.select_option(index=target)
        detail = panel.locator(".russo-detail").first
        detail.locator(".russo-word-diff").wait_for(state="visible", timeout=30_000)
        word_diff = detail.locator(".russo-word-diff").inner_text()
        assert "boston" in word_diff and "said los" in word_diff
        assert "WER" in detail.locator(".russo-wer").inner_text()
        calls = detail.locator(".russo-call-diff").first
        sides = calls.locator("th.side").all_inner_texts()
        assert sides == ["expected", "agent called"]
        assert "'Boston'" in calls.inner_text() and "'LA'" in calls.inner_text()
        differing = calls.locator("td.differs")
        assert differing.count() >= 2
        # the same mark on both sides: neither looks "right"
        colors = {differing.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(2)}
        assert len(colors) == 1

        # play exactly what the agent heard
        audio = detail.locator("audio").first
        audio.wait_for(state="attached", timeout=15_000)
        duration = audio.evaluate(
            """a => new Promise((resolve) => {
                const done = () => resolve(a.duration);
                if (a.readyState >= 1) { done(); } else { a.addEventListener('loadedmetadata', done); a.load(); }
            })"""
        )
        assert duration > 1.0, duration
        played = audio.evaluate(
            """a => a.play().then(() => new Promise((resolve) => {
                const started = Date.now();
                const poll = () => (a.currentTime > 0 || Date.now() - started > 10000)
                    ? resolve(a.currentTime) : setTimeout(poll, 100);
                poll();
            }))"""
        )
        assert played > 0, played
        page.screenshot(path=str(ARTIFACTS / "browser_explorer_run_detail.png"))
        detail.scroll_into_view_if_needed()
        detail.screenshot(path=str(ARTIFACTS / "browser_explorer_detail_only.png"))

        # next ▶ moves to the next run of the list
        before = detail.locator(".russo-run-head").inner_text()
        detail.locator("button", has_text="next").first.click()
        page.wait_for_function(
            "(before) => document.querySelector('.russo-detail .russo-run-head').innerText !== before",
            arg=before,
            timeout=15_000,
        )
        position = detail.inner_text()
        assert f"run {target + 2} of" in position, position

        # the keyboard: with the row list focused, ↓ / ↑ open the next / previous listed run (JupyterLab's
        # command mode would otherwise take the keys and move the cell selection), across a page's end
        listed = frame[frame["search"].str.contains("boston")].sort_values("run_index", kind="stable")
        order = listed["index"].tolist()
        assert len(order) == matching > 25  # two pages of 25

        def opened(where: int) -> str:
            """Wait until the detail shows listed run ``where``; return the detail's text."""
            page.wait_for_function(
                "(t) => document.querySelector('.russo-detail .russo-run-head').innerText.includes(t)",
                arg=f"#{order[where]} ·",
                timeout=15_000,
            )
            text = detail.inner_text()
            assert f"run {where + 1} of {matching} listed" in text, text
            return text

        listbox.locator("option").nth(target).click()
        opened(target)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        opened(target + 2)
        assert listbox.evaluate("s => s.selectedIndex") == target + 2
        assert listbox.evaluate("s => document.activeElement === s")  # the keys stayed in the list
        page.keyboard.press("ArrowUp")
        opened(target + 1)
        listbox.locator("option").nth(24).click()  # the last row of page 1
        opened(24)
        page.keyboard.press("ArrowDown")
        opened(25)
        summary = table.locator(".russo-runs-summary")
        assert "page 2 of 2" in summary.inner_text() and listbox.evaluate("s => s.selectedIndex") == 0
        page.keyboard.press("ArrowUp")
        opened(24)
        assert "page 1 of 2" in summary.inner_text() and listbox.evaluate("s => s.selectedIndex") == 24
        # the ▲ button walks back too (no keyboard needed)
        detail.locator("button", has_text="previous run").first.click()
        opened(23)

        # history: open the noisy batch from its button
        history = panel.locator(".russo-history-view").first
        history.scroll_into_view_if_needed()
        assert history.locator(".russo-trend svg").count() == 1  # the dated trend, in the theme's colours
        text = history.inner_text()
        assert "demo 5 dB" in text and "None" not in text
        row_button = history.locator("button", has_text="Open")
        assert row_button.count() == 2
        _dismiss_dialogs(page)
        row_button.first.click()  # newest first: the 5 dB batch
        history.locator(".russo-explorer").first.wait_for(state="attached", timeout=60_000)
        assert "loaded batch aea8c71250d0" in history.inner_text()
        history.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_explorer_history_open.png"))
        check = json.dumps(sorted(history.locator(".lm-TabBar-tabLabel").all_inner_texts()))
        assert "Runs" in check
