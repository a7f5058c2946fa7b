"""Compare: verdicts by direction (better / worse / no detectable difference), one naming of A and B, grid."""

from __future__ import annotations

import pytest
from analysis_helpers import batch_from_outcomes
from notebook_helpers import EVIL, ipython_shell

from russo_nb.analysis import paired_comparison
from russo_nb.notebook.compare_view import CompareView, compare_grid_html, comparison_html, direction

PROMPTS = [f"prompt {i}" for i in range(12)] + [f"Fly to {EVIL}"]


def _batches(rate_a: float, rate_b: float, runs: int = 20):
    def outcomes(rate):
        passes = round(rate * runs)
        return {p: [True] * passes + [False] * (runs - passes) for p in PROMPTS}

    return batch_from_outcomes(outcomes(rate_a), name="a"), batch_from_outcomes(outcomes(rate_b), name="b")


@pytest.mark.parametrize(
    ("rate_a", "rate_b", "css", "words"),
    [
        (0.3, 0.9, "better", "B better"),
        (0.9, 0.3, "worse", "B worse"),
        (0.6, 0.6, "same", "no detectable difference"),
    ],
)
def test_verdict_colour_follows_the_direction(rate_a, rate_b, css, words):
    a, b = _batches(rate_a, rate_b)
    html = comparison_html(paired_comparison(a, b), "v1", "v2")
    head = html.split("russo-compare-head'>")[1].split("</div>")[0]
    assert f"class='dir {css}'>{words}<" in head
    # never the old framing: "not significant" in a success colour
    assert "badge ok'>not significant" not in html


def test_one_naming_of_a_and_b_everywhere_and_escaped():
    a, b = _batches(0.3, 0.9)
    comparison = paired_comparison(a, b)
    html = comparison_html(comparison, "v1", f"v2{EVIL}")
    assert "A (v1)" in html and "B (v2&lt;script&gt;" in html and EVIL not in html
    assert "B − A =" in html and "B − A</th>" in html
    grid = compare_grid_html(a, b, comparison, "v1", "v2")
    assert "<th>A (v1)</th><th>B (v2)</th>" in grid and EVIL not in grid


def test_grid_shows_both_sides_per_prompt_with_runs_and_calls():
    a, b = _batches(0.25, 0.75, runs=4)
    grid = compare_grid_html(a, b, paired_comparison(a, b), "v1", "v2")
    row = grid.split("<tr>")[2]
    assert row.count("class='run-side'") == 2
    assert "<b>1/4</b>" in row and "<b>3/4</b>" in row
    assert row.count("class='p'>✔") == 4  # 1 + 3 passes shown as chips
    assert "book_flight(" in row  # what the agent called


def test_direction_of_intervals():
    assert direction(0.1, 0.4)[0] == "better"
    assert direction(-0.4, -0.1)[0] == "worse"
    assert direction(-0.1, 0.2)[0] == "same"
    assert direction(float("nan"), float("nan"))[1] == "no detectable difference"


def test_view_opens_a_prompt_with_both_sides_runs():
    a, b = _batches(0.25, 0.75, runs=4)
    view = CompareView(a, b, "v1", "v2", chart=False)
    prompt = view.picker.options[1][1]
    view.picker.value = prompt
    left, right = view.sides.children
    assert "A (v1)" in left.children[0].value and "B (v2)" in right.children[0].value
    left_table = left.children[1].children[0]
    assert "runs 1–4 of 4" in left_table.children[3].value
    view.picker.value = ""
    assert view.sides.children == ()


def test_compare_magic_shows_verdict_chart_and_grid(tmp_path, ip):
    from IPython.utils.capture import capture_output

    a, b = _batches(0.2, 0.9, runs=6)
    ip.user_ns.update(v1=a, v2=b)
    formatter = ip.display_formatter
    before = list(formatter.active_types)
    formatter.formatters["text/html"].enabled = True
    formatter.active_types = [*before, "text/html", "image/png"]
    try:
        with capture_output() as captured:
            ip.run_line_magic("russo", "compare v1 v2")
    finally:
        formatter.active_types = before
        formatter.formatters["text/html"].enabled = False
        ip.user_ns.pop("v1")
        ip.user_ns.pop("v2")
    html = "".join(o.data.get("text/html", "") for o in captured.outputs)
    assert "class='dir better'>B better" in html and "russo-compare-grid" in html
    assert "<svg class='russo-svg'" in html and "currentColor" in html  # the chart follows the theme's text colour


def test_compare_view_shows_a_static_snapshot_then_the_live_view():
    """Reopened without a kernel (or converted), the snapshot is what shows: verdict, chart and grid."""
    from IPython.utils.capture import capture_output

    ipython_shell()  # display() goes to an IPython shell's display hook
    a, b = _batches(0.2, 0.9, runs=6)
    view = CompareView(a, b, "v1", "v2")
    with capture_output() as captured:
        view._ipython_display_()
    static, live = captured.outputs
    html = static.data["text/html"]
    assert "russo-static" in html and "class='dir better'>B better" in html and "<svg class='russo-svg'" in html
    assert "russo-compare-grid" in html and "display:none" in html  # hidden only while the live view renders
    assert "application/vnd.jupyter.widget-view+json" in live.data and "text/html" not in live.data
    assert live.data["text/plain"].startswith("russo compare: B better") and "VBox" not in live.data["text/plain"]
    assert "russo-live" in view.widget._dom_classes
