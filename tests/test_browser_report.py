"""The standalone report in headless Chromium: light and dark (the reader's prefers-color-scheme), text at
≥ 4.5:1 in both, failure signatures grouped with "show all", and the search box filtering without a kernel."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import ARTIFACTS, chromium, readable

from russo_nb.report import load_batch, write_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOISY = Path(__file__).resolve().parent / "data" / "noise_sweep_snr5.jsonl"


def _readable(page, scheme: str) -> dict[str, float]:
    return readable(
        scheme,
        {
            "headline": page.locator(".russo-head").first,
            "muted": page.locator(".russo-report > .muted").first,
            "prompt cell": page.locator("table.russo-prompts td.prompt").first,
            "signature": page.locator(".fail b.sig").first,
            "chart text": page.locator("figure.chart svg text").first,
        },
    )


def test_report_reads_in_both_schemes_and_searches_without_a_kernel(tmp_path):
    path = write_report(load_batch(NOISY), tmp_path / "report.html")
    with chromium() as browser:
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
            page.goto(path.as_uri())
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert (background == "rgb(30, 30, 30)") == (scheme == "dark"), background
            _readable(page, scheme)
            page.screenshot(path=str(ARTIFACTS / f"browser_report_{scheme}.png"))
        # grouped: the same wrong city on several prompts is one signature, every run behind "show all"
        signatures = page.locator(".fail")
        assert 1 <= signatures.count() < 10
        first = signatures.first
        assert "over" in first.inner_text() and first.locator("details.russo-group-runs").count() == 1
        # search: only what matches stays visible (hidden rows behind "N more" are searched too)
        rows = page.locator("table.russo-prompts tr:not(:first-child)")
        total = rows.count()
        page.fill("#russo-search", "paris")
        visible = [rows.nth(i).inner_text() for i in range(total) if rows.nth(i).is_visible()]
        assert visible and all("paris" in text.lower() for text in visible), visible
        assert len(visible) < total
        page.screenshot(path=str(ARTIFACTS / "browser_report_search.png"))
        page.fill("#russo-search", "")
        assert sum(rows.nth(i).is_visible() for i in range(min(total, 15))) == min(total, 15)
