"""Live progress: the widget bar and the plain-text fallback, throttled."""

from __future__ import annotations

import io

from russo_nb.engine import Progress
from russo_nb.notebook.progress import ProgressDisplay, format_progress


def _progress(total, done, passed):
    progress = Progress(total=total)
    progress.done, progress.passed, progress.failed = done, passed, done - passed
    return progress


def test_text_mode_is_throttled_and_prints_the_end():
    stream = io.StringIO()
    display = ProgressDisplay(100, "russo", mode="text", stream=stream, text_interval_s=3600)
    for done in range(1, 101):
        display(_progress(100, done, done))
    display.finish(_progress(100, 100, 90))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1  # throttled: only the final line
    assert "100/100 runs" in lines[0] and "90 passed" in lines[0] and "done" in lines[0]


def test_widget_mode_updates_bar_and_label():
    display = ProgressDisplay(10, "russo", mode="widget", widget_interval_s=0)
    display(_progress(10, 4, 3))
    assert display.bar.value == 4 and display.bar.max == 10
    assert "4/10 runs" in display.text.value and "3 passed" in display.text.value and "left" in display.text.value
    display.finish(_progress(10, 6, 5), interrupted=True)
    assert display.bar.bar_style == "danger" and "interrupted" in display.text.value
    assert "russo-progress" in display.bar._dom_classes


def test_widget_updates_are_throttled():
    display = ProgressDisplay(1000, "russo", mode="widget", widget_interval_s=3600)
    for done in range(1, 500):
        display(_progress(1000, done, done))
    assert display.updates == 1


def test_format_progress_mentions_errors_and_time_left():
    progress = _progress(10, 5, 3)
    progress.errors = 1
    text = format_progress(progress)
    assert "1 errors" in text and "left" in text


def test_widget_label_is_the_whole_batch_kind_and_not_cut_to_a_fixed_width():
    for label in ["russo scenario", "russo suite", "russo run"]:
        display = ProgressDisplay(3, label, mode="widget")
        assert display.bar.description == label
        # the default description width is a fixed ~80px column that cut "russo scenario" to "russo sce…"
        assert display.bar.style.description_width == "initial"
        assert display._bundle("0/3 runs")["text/plain"].startswith(f"{label} 0/3 runs")


def test_the_finished_bar_is_static_html_a_saved_notebook_shows_without_a_kernel():
    """At the end the display holds HTML, not the widget (reopened without a kernel: 'model not found')."""
    display = ProgressDisplay(10, "russo <run>", mode="widget", widget_interval_s=0)
    shown = []

    class Handle:
        def update(self, bundle, raw=False):
            shown.append(bundle)

    display._handle = Handle()
    display.finish(_progress(10, 6, 5), interrupted=True)
    final = shown[-1]
    assert not any("widget" in mime for mime in final)
    assert '<progress class="russo-progress" value="6" max="10"' in final["text/html"]
    assert "russo &lt;run&gt;" in final["text/html"] and "interrupted" in final["text/html"]
    assert final["text/plain"].startswith("russo <run> 6/10 runs")
