"""Each notebook under notebooks/ runs top to bottom in a real kernel (nbclient), and is saved without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_six_notebooks_exist():
    assert [path.name for path in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_flakiness.ipynb",
        "03_scenarios.ipynb",
        "04_reports.ipynb",
        "05_why_did_this_fail.ipynb",
        "06_voices_and_noise.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_saved_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has saved outputs"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    rich = [o for o in outputs if o.get("output_type") in ("execute_result", "display_data")]
    assert rich, f"{path.name} displayed nothing"
    if path.stem == "01_quickstart":
        mimes = {mime for o in rich for mime in o.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" in mimes  # progress bar and explorer
        html = "".join(o["data"].get("text/html", "") for o in rich)
        assert "<audio" in html and "pass rate" in html
        errors = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
        assert "Did you mean my_agent?" in errors
        assert "⚑" in html and "Failures:" in html  # the noisy demo shows failures and a flaky prompt
        # saved and converted without widget state, the explorer's static snapshot is what shows
        from nbconvert import HTMLExporter

        page, _ = HTMLExporter().from_notebook_node(notebook)
        assert "russo-static" in page and "russo-prompts" in page and "largest failure signature" in page
    if path.stem == "06_voices_and_noise":
        text = "".join(o.get("text", "") for o in outputs)
        assert "falls to 90%" in text or "never falls below 90%" in text  # the thresholds, said in words
        mimes = {mime for o in rich for mime in o.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" in mimes  # the explorer with its Sweep tab
        html = "".join(o["data"].get("text/html", "") for o in rich)
        assert "en-gb-x-gbcwmd" in html and "reference_rate" in html  # the by-voice table, compare_levels
    if path.stem == "05_why_did_this_fail":
        html = "".join(o["data"].get("text/html", "") for o in rich)
        assert "russo-word-diff" in html and "(said los)" in html  # the misheard words
        assert "<th class='side'>agent called</th>" in html and "&#x27;Boston&#x27;" in html  # the wrong call
        assert "<audio" in html  # the clip the agent heard
        mimes = {mime for o in rich for mime in o.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" in mimes  # the explorer
