"""The explorer widget: tabs, audio players with real WAV data, filters, pages, transcripts, export."""

from __future__ import annotations

import ipywidgets as widgets
from notebook_helpers import EVIL, make_batch

import russo_nb
from russo_nb.notebook.explorer import TAB_TITLES, Explorer


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _walk(child)


def test_tabs_and_audio_player_with_data():
    explorer = russo_nb.explore(make_batch(), charts=False)
    assert isinstance(explorer, Explorer)
    assert tuple(explorer.tab.titles) == TAB_TITLES
    players = [w for w in _walk(explorer.tab.children[1]) if isinstance(w, widgets.Audio)]
    assert len(players) == 1  # every run of the prompt heard the same clip
    assert bytes(players[0].value[:4]) == b"RIFF" and len(players[0].value) > 1000


def test_prompt_choice_switches_runs_and_audio():
    batch = make_batch()
    explorer = Explorer(batch, charts=False)
    second = batch.prompts[1]
    explorer.prompt_picker.value = second
    html = "".join(w.value for w in _walk(explorer.prompt_view) if isinstance(w, widgets.HTML))
    assert "&lt;script&gt;" in html and EVIL not in html
    player = next(w for w in _walk(explorer.prompt_view) if isinstance(w, widgets.Audio))
    assert bytes(player.value) == batch.audio_for(batch.by_prompt()[second][0]).to_wav_bytes()


def test_runs_filter_and_pages():
    batch = make_batch([f"p{i}" for i in range(10)], runs=6, with_audio=False)
    explorer = Explorer(batch, page_size=7, charts=False)
    assert explorer.page.max == 9  # 60 runs / 7
    assert "of 60 matching" in explorer.runs_view.value
    explorer.status_filter.value = "failed"
    failed = sum(1 for run in batch.runs if run.status == "failed")
    assert f"of {failed} matching" in explorer.runs_view.value
    explorer.status_filter.value = "all"
    explorer.prompt_filter.value = "p3"
    assert "of 6 matching" in explorer.runs_view.value
    explorer.prompt_filter.value = None
    explorer._turn(1)
    assert explorer.page.value == 2 and "runs 8–14 of 60" in explorer.runs_view.value


def test_failures_tab_shows_diffs_and_error():
    explorer = Explorer(make_batch(), charts=False)
    failures = explorer.tab.children[3].value
    assert "<del>" in failures and "RuntimeError" in failures and EVIL not in failures


def test_transcripts_tab_shows_bubbles():
    explorer = Explorer(make_batch(transcript=True), charts=False)
    assert "msg user" in explorer.transcript_view.value
    assert "book_flight(to_city=" in explorer.transcript_view.value
    plain = Explorer(make_batch(), charts=False)  # single-turn runs still show what was heard and said
    assert "msg assistant" in plain.transcript_view.value


def test_overview_draws_charts():
    explorer = Explorer(make_batch(), charts=True)
    images = [w for w in _walk(explorer.chart_box) if isinstance(w, widgets.Image)]
    assert len(images) >= 2 and all(bytes(image.value[:4]) == b"\x89PNG" for image in images)


def test_export_writes_csv_and_html(tmp_path):
    explorer = Explorer(make_batch(), charts=False)
    written = explorer.export(tmp_path / "res.csv")
    assert written is not None and written.read_text().count("\n") >= 8
    assert explorer.export(tmp_path / "res.html").exists()
    assert "wrote" in explorer.export_status.value
    assert explorer.export(tmp_path / "res.xyz") is None
    assert "err" in explorer.export_status.value


def test_explore_rejects_non_results():
    import pytest

    with pytest.raises(russo_nb.InvalidArgumentError):
        russo_nb.explore(42)


def test_import_russo_nb_stays_light():
    import subprocess
    import sys

    code = "import sys, russo_nb; bad=[m for m in ('pandas','matplotlib','ipywidgets') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
