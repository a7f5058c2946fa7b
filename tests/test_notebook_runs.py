"""The runs table and the opened run: word diff of said vs heard, labelled call diff, filters, sort, search, paging."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_helpers import synthetic_batch
from notebook_helpers import EVIL, make_batch

from russo_nb.analysis import heard_text, word_diff
from russo_nb.notebook.run_detail import RunDetail, call_table_html, run_detail_html, word_diff_html
from russo_nb.notebook.runs_table import NBSP, RunsBrowser, RunsTable, runs_table_frame
from russo_nb.report import load_batch
from russo_nb.types import AgentResponse, EvalResult, RunError, SingleRunResult, ToolCall, ToolCallMatch

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "data" / "noise_sweep_snr5.jsonl"  # en-us at 5 dB from the earlier recorded sweep


# -- word diff ---------------------------------------------------------------------------
def test_word_diff_marks_substitutions_deletions_insertions_and_wer():
    diff = word_diff("Book a flight to Oslo, please.", "book flight to osaka please now")
    kinds = [(op.kind, op.said, op.heard) for op in diff.ops]
    assert ("del", "a", None) in kinds
    assert ("sub", "oslo", "osaka") in kinds
    assert ("ins", None, "now") in kinds
    assert diff.reference_words == 6
    assert diff.wer == pytest.approx(3 / 6)
    assert "[oslo->osaka]" in str(diff) and "WER 50%" in str(diff)


def test_word_diff_edge_cases():
    assert word_diff("Hello there", "hello there").wer == 0.0
    assert word_diff("", "something heard").wer is None  # nothing said: no denominator
    everything_missed = word_diff("book a flight", "")
    assert everything_missed.wer == 1.0 and everything_missed.deletions == 3
    more_heard = word_diff("yes", "yes yes yes")
    assert more_heard.wer == 2.0  # extra words can push WER above 1; it is a rate of errors, not a share


def test_word_diff_html_escapes_and_shows_counts():
    html = word_diff_html(word_diff("fly to LA", "fly to L'A"))
    assert "l&#x27;a" in html and "l'a" not in html  # words keep apostrophes, escaped
    html = word_diff_html(word_diff("fly to LA", f"fly to {EVIL}"))
    assert "<script>" not in html  # punctuation is not part of a word
    assert "class='sub'" in html and "(said la)" in html
    assert "WER <b>" in html and "1 substituted" in html


def test_heard_text_from_raw_transcript_only():
    run = SingleRunResult(
        prompt="p",
        run_index=0,
        eval_result=EvalResult(passed=True, expected=[], actual=[]),
        response=AgentResponse(text="Booked.", raw={"transcript": "pee"}),
    )
    assert heard_text(run) == "pee"
    text_only = run.model_copy(update={"response": AgentResponse(text="Booked.")})
    assert heard_text(text_only) is None


# -- call diff ----------------------------------------------------------------------------
def test_call_table_labels_sides_and_marks_differing_arguments_alike():
    expected = ToolCall(name="book_flight", arguments={"from_city": "NYC", "to_city": "Oslo"})
    called = ToolCall(name="book_flight", arguments={"from_city": "NYC", "to_city": "Osaka", "date": "today"})
    html = call_table_html(expected, called)
    assert "<th class='side'>expected</th>" in html and "<th class='side'>agent called</th>" in html
    rows = html.split("<tr>")[2:]
    # to_city and date differ on both rows, from_city on neither; the same class marks both sides
    for row in rows:
        assert row.count("class='differs") == 2
        assert "&#x27;NYC&#x27;</code>" in row
    assert "&#x27;Osaka&#x27;" in rows[1] and "—" in rows[0]
    # no green/red framing of one side as right
    assert "ins>" not in html and "del>" not in html


def test_call_table_missing_call_and_wrong_tool():
    expected = ToolCall(name="book_flight", arguments={"to_city": "LA"})
    assert "no matching call" in call_table_html(expected, None)
    other = call_table_html(expected, ToolCall(name="cancel_booking", arguments={}))
    assert other.count("<td class='differs'><code>") >= 2  # the tool names differ on both rows


def _failed_run(**update) -> SingleRunResult:
    expected = ToolCall(name="book_flight", arguments={"to_city": "Oslo"})
    called = ToolCall(name="book_flight", arguments={"to_city": "Osaka"})
    run = SingleRunResult(
        prompt=f"Book a flight to Oslo {EVIL}",
        run_index=3,
        eval_result=EvalResult(
            passed=False,
            expected=[expected],
            actual=[called],
            matches=[ToolCallMatch(expected=expected, actual=called, details="to_city: expected 'Oslo'")],
        ),
        latency_s=0.25,
        synth_s=0.05,
        attempts=2,
        response=AgentResponse(tool_calls=[called], text="ok", raw={"transcript": "book a flight to osaka"}),
    )
    return run.model_copy(update=update)


def test_run_detail_has_word_diff_call_diff_timings_and_escapes():
    html = run_detail_html(_failed_run(), index=7)
    assert "<script>" not in html
    assert "russo-word-diff" in html and "(said oslo)" in html
    assert "russo-call-diff" in html and "agent called" in html
    assert "<dt>attempts</dt><dd>2</dd>" in html and "0.250 s" in html
    assert "#7 · run 3" in html
    assert "Agent&#x27;s text" in html or "Agent's text" in html  # text differs from what was heard


def test_run_detail_error_shows_traceback_or_says_none():
    error = RunError(type="KeyError", message="'to_city'", stage="agent")
    without = run_detail_html(_failed_run(status="error", error=error))
    assert "No traceback was recorded" in without and "KeyError during agent" in without
    if "traceback" in RunError.model_fields:  # the field lands with the data helper's change
        trace = f'Traceback (most recent call last):\n  File "agent.py", line 3\nKeyError: {EVIL}'
        html = run_detail_html(_failed_run(status="error", error=error.model_copy(update={"traceback": trace})))
        assert "russo-traceback" in html and "agent.py" in html and "<script>" not in html


def test_run_detail_no_call_and_empty_recognition():
    run = _failed_run(response=AgentResponse(tool_calls=[], text="", raw={"transcript": ""}))
    run = run.model_copy(update={"eval_result": run.eval_result.model_copy(update={"actual": [], "matches": []})})
    html = run_detail_html(run)
    assert "The agent made no tool call." in html
    assert "heard nothing" in html
    assert "no matching call" in html


# -- the table ---------------------------------------------------------------------------
def test_runs_table_frame_columns_and_search_key():
    batch = load_batch(RECORDED)
    frame = runs_table_frame(batch)
    for column in ("prompt", "run_index", "status", "expected", "actual", "heard", "latency_s", "attempts"):
        assert column in frame.columns
    assert frame["heard"].tolist() == [heard_text(run) for run in batch.runs]  # every voice run says what it heard
    assert (frame["heard"] == "").sum() < len(frame) // 4  # a few heard nothing at 5 dB
    assert frame["search"].str.contains("boston").any()
    assert list(frame["index"]) == list(range(len(batch.runs)))


def test_filters_always_show_a_selection():
    table = RunsTable(make_batch())
    for dropdown in (table.status_filter, table.prompt_filter):
        assert dropdown.value is not None and dropdown.label.startswith("all ")
    table.prompt_filter.value = table.prompt_filter.options[1][1]
    table.prompt_filter.value = table.prompt_filter.options[0][1]
    assert table.prompt_filter.label.startswith("all prompts")


def test_sort_search_status_prompt_filters_and_paging():
    batch = load_batch(RECORDED)
    table = RunsTable(batch, page_size=10)
    assert len(table.rows.options) == 10 and table.page.max == 16
    table.sort_by("latency_s")
    latencies = [batch.runs[i].latency_s for _, i in table.rows.options]
    assert latencies == sorted(latencies) and "▲" in table.headers["latency_s"].description
    table.sort_by("latency_s")  # again: descending
    top = [batch.runs[i].latency_s for _, i in table.rows.options]
    assert top == sorted(top, reverse=True) and top[0] == max(r.latency_s for r in batch.runs)
    table.search.value = "Boston"  # case-insensitive, over what was heard and called
    assert table.view.shape[0] > 0
    assert all("boston" in (heard_text(batch.runs[i]) or "").lower() + str(batch.runs[i].response.tool_calls).lower()
               for i in table.view["index"])  # fmt: skip
    table.search.value = ""
    table.status_filter.value = "passed"
    assert set(table.view["status"]) == {"passed"}
    table.prompt_filter.value = 2
    assert table.view["prompt"].nunique() == 1
    table.status_filter.value = "all"
    table.prompt_filter.value = -1
    table.page_size.value = 50
    assert table.page.max == 4 and len(table.rows.options) == 50
    table.turn(1)
    assert table.page.value == 2 and "51–100" in table.summary.value


def test_row_labels_are_fixed_width_and_show_no_call():
    batch = make_batch(with_error=True)
    table = RunsTable(batch)
    labels = [label for label, _ in table.rows.options]
    assert len({len(label) for label in labels}) == 1  # columns line up
    assert all(" " not in label for label in labels)  # non-breaking spaces only: the browser keeps them
    error_row = next(label for label, i in table.rows.options if batch.runs[i].status == "error")
    assert "RuntimeError: agent crashed" in error_row.replace(NBSP, " ")  # an error says what it was


def test_a_failed_row_shows_the_argument_that_differs_and_long_prompts_are_cut_in_the_middle():
    """Not two cut calls (``book_flight(to_city='Lo…`` on both sides): the argument, both values."""
    prompt = "Book a flight from New York to Los Angeles on the first of May " * 2 + "for two"
    batch = make_batch([prompt], runs=2, with_error=False)
    table = RunsTable(batch)
    rows = {batch.runs[i].status: label.replace(NBSP, " ") for label, i in table.rows.options}
    assert "to_city: 'LA' → \"<script>" in rows["failed"]
    assert "book_flight(to_city='LA')" in rows["passed"]  # a passed run: the call it made
    assert rows["failed"].startswith("Book a flight fro…t of May for two")  # the end, where variants differ, kept
    assert len(rows["failed"]) <= 150  # fits 1400 px of 12 px monospace


def test_browser_opens_runs_and_moves_through_the_sorted_order():
    batch = make_batch()
    browser = RunsBrowser(batch)
    browser.table.sort_by("latency_s")
    order = list(browser.table.order)
    browser.table.rows.value = order[0]
    assert browser.detail.index == order[0]
    assert len(browser.detail.audio_box.children) == 2  # label + player of the clip the run heard
    browser.detail.move(1)
    assert browser.detail.index == order[1] and browser.table.rows.value == order[1]
    browser.detail.move(-1)
    assert browser.detail.index == order[0]
    browser.detail.move(-1)  # at the start: stays
    assert browser.detail.index == order[0]


def test_detail_without_kept_clip_says_so():
    batch = load_batch(RECORDED)
    detail = RunDetail(batch)
    missing = next(i for i, run in enumerate(batch.runs) if run.audio_key not in batch.audio)
    detail.show(missing)
    assert "was not kept" in detail.audio_box.children[0].value
    kept = next(i for i, run in enumerate(batch.runs) if run.audio_key in batch.audio)
    detail.show(kept)
    assert detail.audio_box.children[1].value[:4] == b"RIFF"


def test_table_at_100k_runs_filters_on_the_frame():
    batch = synthetic_batch(1000, 100)
    table = RunsTable(batch, page_size=25)
    assert len(table.rows.options) == 25 and table.page.max == 4000
    table.search.value = "City 99 to"
    assert set(table.view["prompt"].str.extract(r"city (\d+) ")[0]) == {"99"}
    table.status_filter.value = "error"
    assert set(table.view["status"]) == {"error"} and len(table.rows.options) == min(25, len(table.view))


def test_latency_chart_ticks_are_readable_for_tiny_and_large_latencies():
    from matplotlib.figure import Figure

    from russo_nb.analysis import plot_latency

    for scale, unit in ((0.0001, "ms"), (2.0, "s")):
        batch = make_batch(with_error=False)
        runs = [run.model_copy(update={"latency_s": scale * (1 + i % 3)}) for i, run in enumerate(batch.runs)]
        figure = Figure()
        ax = plot_latency(batch.model_copy(update={"runs": runs}), ax=figure.subplots())
        figure.canvas.draw()
        labels = [label.get_text() for label in ax.get_xticklabels() if label.get_text()]
        assert 3 <= len(labels) <= 7 and f"latency ({unit})" in ax.get_xlabel()
        assert all(len(label.replace("−", "-")) <= 5 for label in labels), labels  # no 0.00005-style ticks
        assert ax.xaxis.get_offset_text().get_text() == ""


def test_pass_at_k_counts_its_noun_in_the_singular_and_plural():
    from matplotlib.figure import Figure

    from russo_nb.analysis import plot_pass_at_k, prompts_frame

    one = make_batch(["only one"], runs=3, with_error=False)
    ax = plot_pass_at_k(prompts_frame(one), ax=Figure().subplots(), noun="scenario")
    assert ax.get_title() == "pass@k and pass^k over 1 scenario"
    ax = plot_pass_at_k(prompts_frame(make_batch(with_error=False)), ax=Figure().subplots())
    assert ax.get_title() == "pass@k and pass^k over 2 prompts"


def test_search_box_treats_regex_characters_literally():
    batch = load_batch(RECORDED)
    table = RunsTable(batch, page_size=10)
    for term in ["(", ".*", "(a|aa)+$"]:  # as regexes: an error, everything, a backtracking pattern
        table.search.value = term
        assert all(term in key for key in table.frame.loc[table.view.index, "search"])
        assert table.view.shape[0] == sum(term in key for key in table.frame["search"])
    table.search.value = ""
    assert table.view.shape[0] == len(batch.runs)


def test_up_down_keys_walk_the_listed_runs_across_pages():
    batch = load_batch(RECORDED)
    browser = RunsBrowser(batch, page_size=10)
    table, detail = browser.table, browser.detail

    def key(step):  # what the front end sends for ↓ (+1) / ↑ (-1)
        browser.keys._message(browser.keys, {"move": step}, [])

    table.turn(1)
    key(1)  # nothing open yet: the first row of the page shown opens
    order = list(table.order)
    assert detail.index == order[10] and table.rows.value == order[10]
    key(-1)  # page 2's first row, up: page 1's last row
    assert detail.index == order[9] and table.page.value == 1 and table.rows.value == order[9]
    for _ in range(3):
        key(1)
    assert detail.index == order[12] and table.page.value == 2 and "run 13 of 160 listed" in detail.position.value
    browser.keys._message(browser.keys, {"move": 7}, [])  # anything but ±1 is ignored
    browser.keys._message(browser.keys, "junk", [])
    assert detail.index == order[12]

    table.sort_by("latency_s")  # re-sorted after opening: the keys and buttons follow the new order
    resorted = list(table.order)
    at = resorted.index(detail.index)
    key(1)
    assert detail.index == resorted[at + 1]
    detail.move(-1)  # the ▲ button
    assert detail.index == resorted[at]

    browser.open(next(i for i, run in enumerate(batch.runs) if run.status == "failed"))
    table.status_filter.value = "passed"  # the open run is filtered out: ↓ opens the page's first row
    assert detail.listed_at() is None and "not in the list" in detail.position.value
    key(1)
    assert detail.index == table.order[0] and batch.runs[detail.index].status == "passed"
    last = int(table.order[-1])
    browser.open(last)
    key(1)  # at the end of the list: stays
    assert detail.index == last and table.rows.value == last


# -- retried attempts ----------------------------------------------------------------------
def _retried_batch():
    """A batch from the engine with retries=2: one run passes on its second try, one fails all three, one passes."""
    import russo_nb as russo

    tries: dict[str, int] = {}

    @russo.agent
    async def shaky(prompt):
        tries[prompt] = tries.get(prompt, 0) + 1
        if prompt == "flaky first" and tries[prompt] == 1:
            raise ConnectionError("reset by <peer> & gone")
        if prompt == "always down":
            raise ConnectionError(f"refused #{tries[prompt]} <b>")
        return [ToolCall(name="book_flight", arguments={"to_city": "LA"})]

    return russo.run_concurrent_sync(
        ["flaky first", "always down", "fine"],
        None,
        shaky,
        expect=["book_flight(to_city='LA')"],
        runs=1,
        retries=2,
        retry_on=ConnectionError,
        retry_backoff=0.001,
    )


def test_retried_attempts_show_in_the_run_detail_escaped():
    batch = _retried_batch()
    flaky, down, fine = (next(r for r in batch.runs if r.prompt == p) for p in ("flaky first", "always down", "fine"))
    assert (flaky.status, flaky.attempts, len(flaky.retried)) == ("passed", 2, 1)
    assert (down.status, down.attempts, len(down.retried)) == ("error", 3, 2)

    html = run_detail_html(flaky)
    assert "Attempts: 1 retried before the last" in html
    assert "attempt 1: ConnectionError: reset by &lt;peer&gt; &amp; gone" in html and "<peer>" not in html
    assert "(retried; waited " in html and "attempt 2: passed" in html
    assert "2 (1 retried, last ConnectionError)" in html  # the attempts fact

    html = run_detail_html(down)
    assert (
        "attempt 1: ConnectionError: refused #1 &lt;b&gt;" in html and "attempt 2: ConnectionError: refused #2" in html
    )
    assert "attempt 3: error" in html and "refused #3" in html  # the last attempt's error is the run's error
    assert "russo-retried" not in run_detail_html(fine)

    browser = RunsBrowser(batch)
    browser.open(batch.runs.index(flaky))
    assert "attempt 1: ConnectionError: reset by" in browser.detail.body.value


def test_retried_attempts_in_the_attempts_column_sort_and_search():
    batch = _retried_batch()
    table = RunsTable(batch)
    labels = {batch.runs[i].prompt: label.replace(NBSP, " ") for label, i in table.rows.options}
    assert "2 ↻ ConnectionError" in labels["flaky first"] and "3 ↻ ConnectionError" in labels["always down"]
    assert "↻" not in labels["fine"]
    assert len({len(label) for label in labels.values()}) == 1  # columns still line up
    table.sort_by("attempts")
    table.sort_by("attempts")  # descending: the most tried first
    assert [batch.runs[i].prompt for _, i in table.rows.options] == ["always down", "flaky first", "fine"]
    table.search.value = "reset by"  # only an earlier, retried attempt said this: the run passed
    assert [batch.runs[i].prompt for _, i in table.rows.options] == ["flaky first"]
    table.search.value = "refused #1"
    assert [batch.runs[i].prompt for _, i in table.rows.options] == ["always down"]


def test_retried_attempts_beyond_the_kept_ones_are_said_to_be_missing_and_messages_bounded():
    from russo_nb.types import MAX_RETRIED_KEPT, RetriedAttempt

    run = make_batch(with_error=False).runs[0]
    many = tuple(RetriedAttempt(type="RetryableError", message=f"busy #{n} " + "x" * 5000) for n in range(4, 14))
    run = run.model_copy(update={"retried": many, "attempts": 14})
    html = run_detail_html(run)
    assert "attempts 1–3: not kept" in html and f"a run keeps its last {MAX_RETRIED_KEPT}" in html
    assert "attempt 4: RetryableError: busy #4 " in html and "attempt 13: RetryableError: busy #13" in html
    assert "attempt 14: " in html
    assert len(html) < 20_000 + len(run_detail_html(run.model_copy(update={"retried": ()})))


def test_a_scenarios_calls_beyond_the_expected_ones_are_listed_not_flagged_extra():
    cancel = ToolCall(name="cancel_booking", arguments={"ref": EVIL})
    run = _failed_run()
    evaluation = run.eval_result.model_copy(update={"actual": [*run.eval_result.actual, cancel]})
    response = run.response.model_copy(update={"tool_calls": evaluation.actual})
    run = run.model_copy(update={"eval_result": evaluation, "response": response})
    as_prompt = run_detail_html(run, scenario=False)
    assert "badge warn'>extra call" in as_prompt  # a prompt run's expectation is the whole set of calls
    as_scenario = run_detail_html(run, scenario=True)
    assert "russo-call-diff" in as_scenario and "&#x27;Osaka&#x27;" in as_scenario  # the expected call, diffed
    assert "extra call" not in as_scenario and "a scenario allows calls beyond the expected ones" in as_scenario
    assert "cancel_booking(ref=" in as_scenario and EVIL not in as_scenario


def test_the_detail_gives_every_timing_in_seconds_to_three_decimals():
    from analysis_helpers import make_run

    run = make_run("Fly to LA", 0, True, latency_s=0.30512)
    run.synth_s = 0.0291
    run.response = AgentResponse(tool_calls=[], raw={"decode_s": 0.13971, "asr_confidence": 0.5})
    detail = run_detail_html(run)
    for label, shown in (("agent latency", "0.305 s"), ("synthesis", "0.029 s"), ("recognition", "0.140 s")):
        assert f"<dt>{label}</dt><dd>{shown}</dd>" in detail


def test_the_condition_filter_lists_each_set_of_conditions_and_filters_the_runs():
    from russo_nb.sync import run_concurrent_sync
    from russo_nb.testing import ScriptedAgent
    from russo_nb.types import BatchResult

    parts = [
        run_concurrent_sync(["book", "other"], agent=ScriptedAgent(), expect=[], runs=2, conditions={"voice": voice})
        for voice in ("en-us", "en-gb")
    ]
    table = RunsTable(BatchResult(runs=[*parts[0].runs, *parts[1].runs]))
    assert table.condition_filter.layout.display != "none"
    assert [label for label, _ in table.condition_filter.options] == [
        "all conditions (8)",
        "voice=en-us (4)",
        "voice=en-gb (4)",
    ]
    table.condition_filter.value = "voice=en-gb"
    assert len(table.view) == 4 and set(table.view["index"]) == {4, 5, 6, 7}
    table.search.value = "en-us"  # conditions are searchable too
    assert len(table.view) == 0
    assert RunsTable(parts[0]).condition_filter.layout.display == "none"  # one set: nothing to choose


def test_a_prompt_run_whose_raw_answer_has_success_and_turns_is_shown_as_a_prompt_run():
    """Scenario runs are never read from ``response.raw``: an agent's own keys there change nothing."""
    from russo_nb.notebook.run_detail import is_scenario_run

    run = SingleRunResult(
        prompt="Book a flight to LA",
        run_index=0,
        eval_result=EvalResult(passed=True, expected=[], actual=[]),
        response=AgentResponse(tool_calls=[], raw={"success": True, "turns": 3}),
    )
    assert not is_scenario_run(run)
    assert "criteria" not in run_detail_html(run).lower()
