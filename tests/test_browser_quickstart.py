"""01_quickstart.ipynb in a real browser: JupyterLab + headless Chromium (Debian's), Run All, widgets render."""

from __future__ import annotations

import shutil

import pytest
from browser_helpers import (
    ARTIFACTS,
    ROOT,
    attached_or_screenshot,
    chromium,
    contrast,
    dark_theme,
    jupyterlab,
    open_and_run_all,
    readable,
    reopen_without_kernel,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _check_contrast(panel, theme: str) -> dict[str, float]:
    """Headline, prompt table and tool-call text read at WCAG AA (4.5:1) against what is behind them."""
    return readable(
        theme,
        {
            "headline": panel.locator(".russo-batch .russo-head").first,
            "table": panel.locator(".russo-prompts td.prompt").first,
            "muted": panel.locator(".russo-batch .muted").first,
            "tool call": panel.locator(".russo .call").first,
        },
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with its own config, runtime and root dirs; the notebook copied in."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", root / "01_quickstart.ipynb")
    with jupyterlab(base, root) as url:
        yield url


def test_quickstart_runs_in_jupyterlab_and_renders_widgets(lab):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_and_run_all(page, lab, "01_quickstart.ipynb")

        panel = page.locator(".jp-NotebookPanel")
        attached_or_screenshot(
            page,
            panel.locator(".russo-progress").first,  # the live widget, or the finished bar's static HTML
            "browser_quickstart_failure.png",
            timeout=120_000,
        )
        panel.locator(".widget-tab .lm-TabBar-tab").first.wait_for(state="attached", timeout=180_000)
        panel.locator("audio").first.wait_for(state="attached", timeout=60_000)

        tab_titles = panel.locator(".widget-tab .lm-TabBar-tabLabel").all_inner_texts()
        assert {"Overview", "Prompts", "Runs", "Failures", "Transcripts", "Export"} <= set(tab_titles)
        assert panel.locator(".russo-batch").count() >= 1  # the result's rich HTML
        assert panel.locator("audio").count() >= 1
        assert panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() >= 1

        panel.locator(".russo-progress").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_quickstart_progress.png"))
        page.locator(".widget-tab").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_quickstart_explorer.png"))
        page.locator(".widget-tab .lm-TabBar-tab", has_text="Prompts").first.click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "browser_quickstart_prompts.png"))

        # the batch table: auto layout, the prompt column at least 30% of the table's width
        table = panel.locator(".russo-batch table.russo-prompts").first
        layout, ratio = table.evaluate(
            "t => [getComputedStyle(t).tableLayout, t.querySelector('th.prompt').offsetWidth / t.offsetWidth]"
        )
        assert layout == "auto" and ratio >= 0.3, (layout, ratio)
        _check_contrast(panel, "light")

        # charts are drawn when their tab is first shown, and follow the theme's text colour
        page.locator(".widget-tab .lm-TabBar-tab", has_text="Charts").first.click()
        panel.locator(".russo-chart svg").first.wait_for(state="attached", timeout=60_000)

        dark_theme(page)
        _check_contrast(panel, "dark")
        svg_text = panel.locator(".russo-chart svg text").first
        assert contrast(svg_text) >= 4.5
        panel.locator(".russo-chart").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_quickstart_dark_chart.png"))
        panel.locator(".russo-batch").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_quickstart_dark.png"))
        assert panel.locator(".russo-static").count() == 1
        assert not panel.locator(".russo-static").first.is_visible()  # hidden while the live explorer shows

        # saved, the kernel shut down and the page reloaded: widget models are gone, the snapshot shows
        reopen_without_kernel(page)
        panel = page.locator(".jp-NotebookPanel")
        static = panel.locator(".russo-static").first
        static.wait_for(state="visible", timeout=60_000)
        assert static.locator(".russo-prompts td.prompt").count() >= 10
        assert static.locator(".fail").count() >= 1 and static.locator("audio").count() >= 1
        static.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_quickstart_reopened.png"))
