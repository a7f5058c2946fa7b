"""The explorer widget: tabs, audio players with real WAV data, filters, pages, transcripts, export."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
from notebook_helpers import EVIL, make_batch

import russo_nb
from russo_nb.notebook.explorer import TAB_TITLES, Explorer
from russo_nb.notebook.run_detail import run_detail_html


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _walk(child)


def test_tabs_and_audio_player_with_data():
    explorer = russo_nb.explore(make_batch(), charts=False)
    assert isinstance(explorer, Explorer)
    assert tuple(explorer.tab.titles) == TAB_TITLES
    players = [w for w in _walk(explorer.show("Prompts")) if isinstance(w, widgets.Audio)]
    assert len(players) == 1  # every run of the prompt heard the same clip
    assert bytes(players[0].value[:4]) == b"RIFF" and len(players[0].value) > 1000


def test_prompt_choice_switches_runs_and_audio():
    batch = make_batch()
    explorer = Explorer(batch, charts=False)
    explorer.content("Prompts")
    second = batch.prompts[1]
    explorer.prompt_picker.value = next(i for i, row in enumerate(explorer.view.rows) if row.prompt == second)
    html = "".join(w.value for w in _walk(explorer.prompt_view) if isinstance(w, widgets.HTML))
    assert "&lt;script&gt;" in html and EVIL not in html
    player = next(w for w in _walk(explorer.prompt_view) if isinstance(w, widgets.Audio))
    assert bytes(player.value) == batch.audio_for(batch.by_prompt()[second][0]).to_wav_bytes()


def test_runs_filter_and_pages():
    batch = make_batch([f"p{i}" for i in range(10)], runs=6, with_audio=False)
    explorer = Explorer(batch, page_size=7, charts=False)
    explorer.content("Runs")
    table = explorer.runs_browser.table
    assert table.page.max == 9  # 60 runs / 7
    assert "of 60 matching" in table.summary.value
    table.status_filter.value = "failed"
    failed = sum(1 for run in batch.runs if run.status == "failed")
    assert f"of {failed} matching" in table.summary.value
    table.status_filter.value = "all"
    table.prompt_filter.value = next(value for label, value in table.prompt_filter.options if label.startswith("p3"))
    assert "of 6 matching" in table.summary.value
    table.prompt_filter.value = -1
    table.turn(1)
    assert table.page.value == 2 and "runs 8–14 of 60" in table.summary.value
    explorer.open_run(9)
    assert explorer.runs_browser.detail.index == 9 and table.rows.value == 9
    assert explorer.tab.titles[explorer.tab.selected_index] == "Runs"


def test_failures_tab_shows_diffs_and_error():
    explorer = Explorer(make_batch(), charts=False)
    failures = explorer.content("Failures").value
    assert "<del>" in failures and "RuntimeError" in failures and EVIL not in failures


def test_transcripts_tab_shows_bubbles():
    explorer = Explorer(make_batch(transcript=True), charts=False)
    explorer.content("Transcripts")
    assert "msg user" in explorer.transcript_view.value
    assert "book_flight(to_city=" in explorer.transcript_view.value
    plain = Explorer(make_batch(), charts=False)  # single-turn runs still show what was heard and said
    plain.content("Transcripts")
    assert "msg assistant" in plain.transcript_view.value


def test_charts_are_drawn_when_first_shown_then_cached():
    explorer = Explorer(make_batch())
    assert explorer.built_tabs == ["Overview"] and explorer.charts_drawn == []  # building draws nothing
    explorer.show("Charts")
    assert explorer.charts_drawn == ["Pass rate per prompt"]  # the first section opens with the tab
    first = explorer.chart("Pass rate per prompt")
    assert "<svg" in first.value and "currentColor" in first.value  # follows the theme's text colour
    explorer.chart_sections.selected_index = 1
    assert len(explorer.charts_drawn) == 2
    assert explorer.chart("Pass rate per prompt") is first  # cached, not redrawn
    assert explorer.built_tabs == ["Overview", "Charts"]


def test_tabs_are_built_when_first_selected():
    explorer = Explorer(make_batch())
    explorer.tab.selected_index = TAB_TITLES.index("Failures")
    assert "Failures" in explorer.built_tabs and "Runs" not in explorer.built_tabs
    assert "<del>" in explorer.content("Failures").value


def test_display_bundle_carries_a_static_snapshot():
    batch = make_batch(transcript=True)
    bundle = Explorer(batch)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert "russo-static" in html and "russo-prompts" in html and "Failures:" in html
    assert "msg user" in html and "<audio" in html  # the first failures' transcripts and what was heard
    assert EVIL not in html and "<script" not in html.lower()
    assert bundle["text/plain"].startswith("russo explorer: FAILED")


def test_export_writes_csv_and_html(tmp_path):
    explorer = Explorer(make_batch(), charts=False)
    written = explorer.export(tmp_path / "res.csv")
    assert written is not None and written.read_text().count("\n") >= 8
    assert explorer.export(tmp_path / "res.html").exists()
    assert "wrote" in explorer.export_panel.last_html and str((tmp_path / "res.html").resolve()) in (
        explorer.export_panel.last_html
    )
    assert explorer.export(tmp_path / "res.xyz") is None
    assert "err" in explorer.export_panel.last_html


def test_explore_rejects_non_results():
    import pytest

    with pytest.raises(russo_nb.InvalidArgumentError):
        russo_nb.explore(42)


@pytest.mark.slow
def test_import_russo_nb_stays_light():
    import subprocess
    import sys

    code = "import sys, russo_nb; bad=[m for m in ('pandas','matplotlib','ipywidgets') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _scenario_batch():
    """A real ScenarioBatch: one scenario passes, one fails its judge; agent-written text carries EVIL."""
    import asyncio

    from scenario_helpers import booking_scenario

    from russo_nb import scenario
    from russo_nb.scenario import scorers
    from russo_nb.scenario.criteria import tool_called

    def spec(name, city):
        return booking_scenario(
            name,
            f"a flight to Oslo {EVIL}",
            [tool_called("book_flight", to_city=city)],
            scorers=[scorers.tool_call_match([f"book_flight(to_city='{city}')"], weight=1.0)],
        )

    return asyncio.run(scenario.run_scenarios([spec("books Oslo", "Oslo"), spec(f"books Rome {EVIL}", "Rome")], 2))


def test_explorer_of_a_scenario_batch_has_every_tab_working(tmp_path):
    batch = _scenario_batch()
    explorer = russo_nb.explore(batch, charts=True)
    assert explorer.result is batch
    texts = {
        title: "".join(w.value for w in _walk(explorer.content(title)) if isinstance(w, widgets.HTML))
        for title in TAB_TITLES
    }
    assert not any("tab failed" in text for text in texts.values()), texts
    assert all(EVIL not in text for text in texts.values())
    assert "2/4 runs" in texts["Overview"] and "scenarios" in texts["Overview"]
    assert "<svg" in texts["Charts"]  # charts drawn from scenarios
    assert "Pass rate per scenario" in texts["Charts"] and "per prompt" not in texts["Charts"]
    assert "over 2 scenarios" in texts["Charts"] and "Agent latency per scenario" in texts["Charts"]
    assert tuple(explorer.tab.titles)[2] == "Scenarios"
    table = explorer.runs_browser.table
    assert table.headers["prompt"].description == "scenario" and table.prompt_filter.label.startswith("all scenarios")
    # a failed scenario's expected call against the call made, labelled, argument by argument
    failed = next(i for i, run in enumerate(batch.runs) if run.status == "failed")
    explorer.open_run(failed)
    detail = explorer.runs_browser.detail.body.value
    assert "<th class='side'>expected</th>" in detail and "<th class='side'>agent called</th>" in detail
    assert "td class='differs'><code>&#x27;Rome&#x27;" in detail and "Oslo" in detail
    assert "books Rome &lt;script&gt;" in texts["Failures"] and "books Oslo" not in texts["Failures"]
    # Transcripts: failures first, as chat bubbles with the tool call and the judge's verdict
    view = explorer.transcript_view.value
    assert "msg user" in view and "msg assistant" in view and "→ book_flight(to_city=" in view
    assert "Verdict: failed" in view and "✘ tool_called(book_flight(to_city=" in view
    explorer.transcript_picker.value = next(
        value for label, value in explorer.transcript_picker.options if "✔" in label
    )
    assert "Verdict: passed" in explorer.transcript_view.value
    explorer.runs_browser.table.status_filter.value = "failed"
    assert "of 2 matching" in explorer.runs_browser.table.summary.value
    for suffix in (".parquet", ".csv", ".html"):
        written = explorer.export(tmp_path / f"scenarios{suffix}")
        assert written is not None and written.stat().st_size > 0, explorer.export_panel.last_html


def test_explorer_transcript_plays_each_voice_turn():
    import asyncio

    from scenario_helpers import ToneSynthesizer, ToneVoiceAgent

    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    spec = scenario.Scenario(
        name="voice",
        description="d",
        agents=lambda: [
            scenario.VoiceAgentAdapter(ToneVoiceAgent(), ToneSynthesizer()),
            scenario.UserSimulatorAgent(lines=["hello", "a flight to Rome", "thanks"]),
            scenario.JudgeAgent(criteria=[tool_called("book_flight", to_city="Rome")]),
        ],
    )
    batch = asyncio.run(scenario.run_scenarios(spec, 1))
    (run,) = batch.runs
    assert run.turns == 2 and len(run.audio) == 2
    for source in (batch, batch.to_batch_result()):  # a ScenarioBatch, and the same runs as a BatchResult
        explorer = Explorer(source, charts=False)
        explorer.content("Transcripts")
        view = explorer.transcript_view.value
        assert view.count("<audio") == 2
        for clip in run.audio.values():
            import base64

            assert base64.b64encode(clip.to_wav_bytes()).decode() in view


def test_a_judged_scenario_without_expected_calls_says_so_instead_of_an_empty_diff(tmp_path):
    import asyncio

    from scenario_helpers import booking_scenario

    from russo_nb import scenario
    from russo_nb.report import load_batch
    from russo_nb.report.jsonl import write_jsonl
    from russo_nb.scenario.criteria import tool_called

    # judged by criteria only (no tool_call_match scorer): nothing declares an expected call
    spec = booking_scenario("judged only", f"a flight to Oslo {EVIL}", [tool_called("book_flight", to_city="Rome")])
    batch = asyncio.run(scenario.run_scenarios(spec, 1))
    (run,) = batch.runs
    assert run.status == "failed" and run.expected_calls == []
    loaded = load_batch(write_jsonl(batch, tmp_path / "judged.jsonl"))
    converted = batch.to_batch_result()
    for source in (batch, converted, loaded):  # live, converted and loaded back
        explorer = Explorer(source, charts=False)
        explorer.open_run(0)
        detail = explorer.runs_browser.detail.body.value
        assert "This scenario declares no expected tool calls" in detail, type(source).__name__
        assert "Calls the agent made (1):" in detail and "book_flight(to_city=&#x27;Oslo&#x27;)" in detail
        assert "russo-call-diff" not in detail and "extra call" not in detail and "no matching call" not in detail
        if source is not converted:  # criteria stay on scenario runs; the converted batch is for the analysis
            assert "Criteria: 0 met, 1 not met" in detail and "✘ tool_called(book_flight(to_city=" in detail
        assert EVIL not in detail
        # the conversation, the agent's last reply in it (not again as "Agent's text")
        assert "Conversation (" in detail and "<span class='role'>assistant</span>Booked your flight to Oslo." in detail
        assert "Agent's text" not in detail

    quiet = booking_scenario("asks only", "hello", [tool_called("book_flight")])  # no city: it asks back, no call
    detail = run_detail_html(asyncio.run(scenario.run_scenarios(quiet, 1)).runs[0])
    assert "This scenario declares no expected tool calls" in detail and "The agent made no tool call." in detail


def test_a_table_split_by_condition_selects_and_charts_each_row():
    """A prompt under two voices is two rows: each picker choice shows that row's runs, each chart row is a row."""
    us = make_batch(runs=4)
    gb = make_batch(runs=3, fail_every=3, with_error=False)
    runs = [run.model_copy(update={"conditions": {"voice": "en-us"}}) for run in us.runs]
    runs += [run.model_copy(update={"conditions": {"voice": "<i>gb</i>"}}) for run in gb.runs]
    batch = russo_nb.BatchResult(runs=runs, audio={**us.audio, **gb.audio}, metadata=us.metadata)
    explorer = Explorer(batch, charts=False)
    view = explorer.view
    assert view.by == ("voice",) and len(view.rows) == 4 and view.prompt_count == 2
    explorer.content("Prompts")
    options = explorer.prompt_picker.options
    assert sorted(value for _, value in options) == [0, 1, 2, 3]  # one choice per row, not per prompt
    for label, position in options:
        row = view.rows[position]
        assert label.endswith(f" · voice={row.conditions['voice']}") and f"{row.passed}/{row.finished}" in label
        explorer.prompt_picker.value = position
        indices = explorer.row_runs(row)
        assert len(indices) == row.runs == (4 if row.conditions["voice"] == "en-us" else 3)
        assert {batch.runs[i].conditions["voice"] for i in indices} == {row.conditions["voice"]}
        assert {batch.runs[i].prompt for i in indices} == {row.prompt}
        html = "".join(w.value for w in _walk(explorer.prompt_view) if isinstance(w, widgets.HTML))
        assert f"{row.passed}/{row.finished} finished runs passed" in html
        assert EVIL not in html and "<i>gb</i>" not in html
        if row.conditions["voice"] != "en-us":
            assert "voice=&lt;i&gt;gb&lt;/i&gt;" in html
    gb_row = next(row for row in view.rows if row.conditions["voice"] != "en-us" and row.prompt == us.prompts[0])
    explorer.select_row(gb_row)
    assert view.rows[explorer.prompt_picker.value] is gb_row

    explorer.draw_charts()
    assert explorer.charts_drawn[0] == "Pass rate per prompt × voice row"
    _, prompts = explorer._frames()
    by_label = dict(zip(prompts["prompt"], zip(prompts["passed"], prompts["runs"], strict=True), strict=True))
    want = {f"{row.prompt} · voice={row.conditions['voice']}": (row.passed, row.finished) for row in view.rows}
    assert by_label == want  # one chart row per table row, with the table's counts
    chart = explorer.chart("Pass rate per prompt × voice row").value
    assert "voice=en-us" in chart and "voice=&lt;i&gt;gb" in chart  # the rows are labelled, escaped
    assert "<i>gb</i>" not in chart and EVIL not in chart
    note = explorer.content("Charts").children[0].value
    assert "one row per value of voice" in note

    plain = Explorer(us, charts=False)  # one voice only: one row per prompt, charts as before
    assert plain.view.by == () and plain._chart_noun == "prompt"
    assert len(plain._frames()[1]) == 2
