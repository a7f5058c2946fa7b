"""History in the notebook: readable table and trend (dates, batch names), Open buttons, %russo history open."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from notebook_helpers import EVIL, ipython_shell, make_batch

from russo_nb.notebook.history_view import HistoryView, draw_trend, history_table_html, variable_for
from russo_nb.store import HistoryStore
from russo_nb.types import BatchResult


@pytest.fixture()
def store(tmp_path):
    """A real SQLite history with three batches a day apart, one named with markup, one unnamed with a suite."""
    history = HistoryStore(tmp_path / "history.sqlite")
    start = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    for day, (name, suite) in enumerate([("v1 baseline", None), (f"v2 {EVIL}", "flights"), (None, "flights")]):
        batch = make_batch(fail_every=day + 2)
        batch.metadata.name = name
        batch.metadata.started_at = start + timedelta(days=day)
        batch.metadata.finished_at = start + timedelta(days=day, minutes=1)
        batch.metadata.batch_id = f"b{day}aaaaaaaaa"
        history.record(batch, suite=suite)
    return history


def test_table_has_minute_dates_names_and_no_none(store):
    html = history_table_html(store.list())
    assert "2026-11-22 09:30" in html and "2026-11-20 09:30" in html
    assert "None" not in html and ".000" not in html
    assert "v1 baseline" in html and "<script>" not in html and "&lt;script&gt;" in html
    assert "flights" in html  # the unnamed batch is called by its suite


def test_trend_has_date_ticks_and_batch_names_on_points(store):
    from matplotlib.figure import Figure

    figure = Figure()
    ax = figure.subplots()
    draw_trend(store.trend(), ax)
    figure.canvas.draw()
    ticks = " ".join(label.get_text() for label in ax.get_xticklabels()) + ax.xaxis.get_offset_text().get_text()
    assert "Nov" in ticks or "2026" in ticks  # dates, not "32:05.900000"
    assert ":05.9" not in ticks
    names = [text.get_text() for text in ax.texts]
    assert "v1 baseline" in names and "flights" in names and any(name.startswith("v2 <script>") for name in names)


def test_batches_seconds_apart_get_one_distinct_tick_each_and_labels_alternate(tmp_path):
    """Four batches run seconds apart: four ticks, each its own time (a date axis repeated one label)."""
    from matplotlib.figure import Figure

    history = HistoryStore(tmp_path / "history.sqlite")
    start = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    for index in range(4):
        batch = make_batch(fail_every=index + 2)
        batch.metadata.name = f"res{index}"
        batch.metadata.started_at = start + timedelta(seconds=3 * index)
        batch.metadata.batch_id = f"c{index}aaaaaaaaa"
        history.record(batch)
    figure = Figure()
    ax = figure.subplots()
    draw_trend(history.trend(), ax)
    figure.canvas.draw()
    ticks = [label.get_text() for label in ax.get_xticklabels()]
    assert ticks == ["09:30:00", "09:30:03", "09:30:06", "09:30:09"]
    offsets = [text.xyann[1] for text in ax.texts]
    assert len(offsets) == 4 and len(set(offsets)) == 2  # neighbours' names above and below their points


def test_view_open_buttons_call_back_with_the_batch_id(store):
    opened = []
    view = HistoryView(store, on_open=lambda batch_id: opened.append(batch_id))
    assert set(view.buttons) == {"b0aaaaaaaaa", "b1aaaaaaaaa", "b2aaaaaaaaa"}
    view.buttons["b1aaaaaaaaa"].click()
    assert opened == ["b1aaaaaaaaa"]
    assert any("russo-trend" in getattr(child, "value", "") for child in view.widget.children)


def test_history_view_shows_a_static_snapshot_then_the_live_view(store):
    from IPython.utils.capture import capture_output

    ipython_shell()  # display() goes to an IPython shell's display hook
    view = HistoryView(store)
    with capture_output() as captured:
        view._ipython_display_()
    static, live = captured.outputs
    html = static.data["text/html"]
    assert "russo-static" in html and html.count("<tr>") == 4 and "russo-trend" in html and "<svg" in html
    assert "application/vnd.jupyter.widget-view+json" in live.data
    assert live.data["text/plain"].startswith("russo history: 3 recorded batches")


def test_view_without_callback_opens_the_explorer_in_place(store):
    view = HistoryView(store, chart=False)
    batch = view.open("b0aaaaaaaaa")
    assert isinstance(batch, BatchResult) and batch.metadata.name == "v1 baseline"
    assert view.open("nope") is None  # an unknown id is reported where the user clicked, nothing raised


# -- the magic ------------------------------------------------------------------------------
def test_history_open_loads_into_the_namespace_and_shows_the_explorer(ip, store, capsys):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("russo", f"history open b1 --history {store.path} --as old")
    batch = ip.user_ns.pop("old")
    assert batch == store.load("b1aaaaaaaaa")
    assert "loaded batch b1aaaaaaaaa" in captured.stdout and "into old" in captured.stdout
    assert any("application/vnd.jupyter.widget-view+json" in o.data for o in captured.outputs)
    with capture_output() as captured:
        ip.run_line_magic("russo", f"history open b2aaa --history {store.path}")
    assert variable_for("b2aaaaaaaaa") in ip.user_ns
    assert isinstance(ip.user_ns.pop(variable_for("b2aaaaaaaaa")), BatchResult)


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("history open", "needs a batch id"),
        ("history close b1", "the only action is open"),
        ("history open zz9", "zz9"),
    ],
)
def test_history_open_mistakes_are_one_line(ip, store, capsys, line, needle):
    capsys.readouterr()
    assert ip.run_line_magic("russo", f"{line} --history {store.path}") is None
    err = capsys.readouterr().err
    lines = [text for text in err.splitlines() if text.startswith("russo:")]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err
