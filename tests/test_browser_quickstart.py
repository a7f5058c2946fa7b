"""01_quickstart.ipynb in a real browser: JupyterLab + headless Chromium (Debian's), Run All, widgets render."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
TOKEN = "russo-browser-test"
ARTIFACTS = ROOT / "artifacts"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with its own config, runtime and root dirs; the notebook copied in."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", root / "01_quickstart.ipynb")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
    )
    log = open(base / "lab.log", "wb")  # closed in the finally below
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("JupyterLab did not start:\n" + (base / "lab.log").read_text(errors="replace"))
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_quickstart_runs_in_jupyterlab_and_renders_widgets(lab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab}/lab/tree/01_quickstart.ipynb?token={TOKEN}", timeout=60_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            # JupyterLab may ask which kernel to start: accept the notebook's own (python3)
            try:
                page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=8_000)
            except Exception:
                pass
            # the kernel is ready when the toolbar's status says idle
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

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
        finally:
            browser.close()
