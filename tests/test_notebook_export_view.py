"""The Export tab: include-audio honoured by every format (HTML too), absolute path and JupyterLab links."""

from __future__ import annotations

import json

from notebook_helpers import make_batch

from russo_nb.notebook.export_view import ExportPanel, export_links_html
from russo_nb.report import export


def test_html_report_embeds_audio_only_when_asked(tmp_path):
    batch = make_batch()
    without = export(batch, tmp_path / "plain.html").read_text()
    with_audio = export(batch, tmp_path / "audio.html", include_audio=True).read_text()
    assert "<audio" not in without and "2 clips not included" in without
    assert with_audio.count("<audio") == len(batch.audio) == 2
    assert len(with_audio) > len(without)


def test_panel_checkbox_reaches_every_format(tmp_path):
    panel = ExportPanel(make_batch())
    panel.include_audio.value = True
    html = panel.export(tmp_path / "r.html")
    assert html is not None and "<audio" in html.read_text()
    csv = panel.export(tmp_path / "r.csv")
    assert csv is not None and len(list((tmp_path / "r_audio").glob("*.wav"))) == 2
    jsonl = panel.export(tmp_path / "r.jsonl")
    assert jsonl is not None and json.loads(jsonl.read_text().splitlines()[0])["audio"] == 2
    panel.include_audio.value = False
    assert "<audio" not in panel.export(tmp_path / "q.html").read_text()


def test_links_are_relative_to_the_working_directory_with_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "out dir" / "report.html"
    target.parent.mkdir()
    target.write_text("x")
    html = export_links_html(target)
    assert str(target.resolve()) in html
    assert "href='out%20dir/report.html'" in html and "download='report.html'" in html
    elsewhere = export_links_html(target, cwd=tmp_path / "other")
    assert "href=" not in elsewhere and "outside the notebook" in elsewhere


def test_panel_reports_a_bad_path_in_one_line(tmp_path):
    panel = ExportPanel(make_batch())
    assert panel.export(tmp_path / "r.xlsx") is None
    assert "class='err'" in panel.last_html and "suffix" in panel.last_html
