"""01_quickstart.ipynb in a real browser: JupyterLab + headless Chromium (Debian's), Run All, widgets render."""

from __future__ import annotations

import shutil

import pytest
from browser_helpers import ARTIFACTS, ROOT, jupyterlab, launch_chromium, open_and_run_all, reopen_without_kernel

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CONTRAST_JS = """
(el) => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const bg = parse(getComputedStyle(e).backgroundColor);
    if (bg[3] > 0) layers.push(bg);
    if (bg[3] >= 1) break;
  }
  let bg = [255, 255, 255];
  for (const l of layers.reverse()) bg = bg.map((v, i) => l[i] * l[3] + v * (1 - l[3]));
  const fgRaw = parse(getComputedStyle(el).color);
  const fg = bg.map((v, i) => fgRaw[i] * fgRaw[3] + v * (1 - fgRaw[3]));
  const lum = (c) => {
    const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}
"""


def _contrast(locator) -> float:
    return float(locator.evaluate(CONTRAST_JS))


def _check_contrast(panel, theme: str) -> dict[str, float]:
    """Headline, prompt table and tool-call text read at WCAG AA (4.5:1) against what is behind them."""
    ratios = {
        "headline": _contrast(panel.locator(".russo-batch .russo-head").first),
        "table": _contrast(panel.locator(".russo-prompts td.prompt").first),
        "muted": _contrast(panel.locator(".russo-batch .muted").first),
        "tool call": _contrast(panel.locator(".russo .call").first),
    }
    assert all(ratio >= 4.5 for ratio in ratios.values()), (theme, ratios)
    return ratios


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
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_and_run_all(page, lab, "01_quickstart.ipynb")

            panel = page.locator(".jp-NotebookPanel")
            try:
                panel.locator(".russo-progress.widget-hprogress").first.wait_for(state="attached", timeout=120_000)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "browser_quickstart_failure.png"))
                raise
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

            page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
            page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Dark").first.click()
            page.wait_for_selector("body[data-jp-theme-light='false']", state="attached", timeout=30_000)
            page.wait_for_timeout(1000)
            _check_contrast(panel, "dark")
            svg_text = panel.locator(".russo-chart svg text").first
            assert _contrast(svg_text) >= 4.5
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
        finally:
            browser.close()
