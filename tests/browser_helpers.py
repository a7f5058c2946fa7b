"""Shared pieces of the browser tests: Debian's Chromium, and JupyterLab on 127.0.0.1 with private dirs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from russo_nb.testing import wait_until

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
TOKEN = "russo-browser-test"
ARTIFACTS = ROOT / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyterlab(base: Path, root: Path) -> Iterator[str]:
    """Run JupyterLab serving ``root`` with config/runtime/settings under ``base``; yield its URL, stop it after."""
    port = free_port()
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

        def serving() -> bool:
            if process.poll() is not None:
                raise AssertionError("JupyterLab exited:\n" + (base / "lab.log").read_text(errors="replace"))
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        try:
            wait_until(serving, 60, what="JupyterLab's start", interval=0.5)
        except TimeoutError:
            raise AssertionError(
                "JupyterLab did not start:\n" + (base / "lab.log").read_text(errors="replace")
            ) from None
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)  # fmt: skip
"""Headless Debian Chromium, nothing fetched from the network."""


def launch_chromium(playwright: Any, *extra_args: str) -> Any:
    """Debian's Chromium through Playwright (``extra_args`` after :data:`CHROMIUM_ARGS`)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])


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


def contrast(locator: Any) -> float:
    """The WCAG contrast ratio of an element's text against what is painted behind it (1 to 21)."""
    return float(locator.evaluate(CONTRAST_JS))


def readable(theme: str, elements: dict[str, Any]) -> dict[str, float]:
    """Each element's text contrast (:func:`contrast`); all must read at WCAG AA (4.5:1) in ``theme``."""
    ratios = {name: contrast(locator) for name, locator in elements.items()}
    assert all(ratio >= 4.5 for ratio in ratios.values()), (theme, ratios)
    return ratios


def lab_fixture(notebook: str, cells: list[str]) -> Any:
    """A module-scoped ``lab`` fixture: JupyterLab serving one notebook of code ``cells`` (:func:`notebook_lab`)."""
    import pytest

    @pytest.fixture(scope="module")
    def lab(tmp_path_factory: Any) -> Iterator[str]:
        with notebook_lab(tmp_path_factory.mktemp("lab-" + Path(notebook).stem), notebook, cells) as url:
            yield url

    return lab


@contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """Debian's Chromium through Playwright (:func:`launch_chromium`), closed after; ``artifacts/`` made for
    screenshots. The launch preamble every browser test shares."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, *extra_args)
        try:
            yield browser
        finally:
            browser.close()


def open_and_run_all(page: Any, lab: str, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab at ``lab``, wait for its kernel to be idle, then Run → Run All Cells."""
    page.goto(f"{lab}/lab/tree/{notebook}?token={TOKEN}", timeout=60_000)
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


def attached_or_screenshot(page: Any, locator: Any, shot: str, timeout: float) -> None:
    """Wait (``timeout`` ms) until ``locator`` is in the page; if it never comes, save ``artifacts/<shot>`` first."""
    try:
        locator.wait_for(state="attached", timeout=timeout)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / shot))
        raise


def dark_theme(page: Any) -> None:
    """Settings → Theme → JupyterLab Dark, and wait until the page has repainted in it."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Dark").first.click()
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached", timeout=30_000)
    page.wait_for_timeout(1000)


def reopen_without_kernel(page: Any) -> None:
    """Save the notebook, shut its kernel down and reload the page: widget models are gone, as in a reopen."""
    page.keyboard.press("Control+s")
    page.wait_for_timeout(2000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Shut Down Kernel").first.click()
    try:
        page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=5_000)
    except Exception:
        pass
    page.wait_for_timeout(2000)
    page.reload()
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    try:
        page.locator(".jp-Dialog .jp-mod-reject").first.click(timeout=8_000)  # "No Kernel"
    except Exception:
        pass


@contextmanager
def notebook_lab(base: Path, name: str, cells: list[str]) -> Iterator[str]:
    """JupyterLab serving one notebook ``name`` made of code ``cells`` (python3 kernel); yield the Lab's URL."""
    import shutil

    import nbformat

    root = base / "root"
    root.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / name)
    try:
        with jupyterlab(base, root) as url:
            yield url
    finally:
        shutil.rmtree(root / ".ipynb_checkpoints", ignore_errors=True)
