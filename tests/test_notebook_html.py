"""Rich HTML of results: header, per-prompt table, flaky marks, failures with diffs, escaping, caps."""

from __future__ import annotations

from notebook_helpers import EVIL, make_batch

from russo_nb.notebook.html import batch_html, comparison_html, error_html, scenario_result_html, transcript_html
from russo_nb.types import BatchResult, SingleRunResult


def test_batch_repr_html_has_header_table_and_failures():
    batch = make_batch()
    html = batch._repr_html_()
    assert "pass rate" in html and "95% CI" in html
    assert "russo-prompts" in html
    assert "⚑ flaky" in html  # runs of a prompt disagree
    assert "Failures:" in html and "<del>" in html and "<ins>" in html
    # the two lines of a call diff say which side is which, and the agent's wrong value is not drawn as "right"
    assert "<span class='side'>expected</span>" in html and "<span class='side'>agent called</span>" in html
    assert "russo ins{background:var(--russo-got-bg)" in html
    assert "1 error" in html  # the errored run is counted in the header
    assert "Small sample" in html


def test_everything_agent_or_user_written_is_escaped():
    html = make_batch(transcript=True)._repr_html_()
    assert EVIL not in html
    assert "&lt;script&gt;" in html
    assert "<script" not in html.lower()


def test_plain_text_fallback_is_unchanged():
    batch = make_batch()
    assert repr(batch).startswith("BatchResult(")


def test_many_prompts_are_capped_and_the_omission_is_said():
    batch = make_batch([f"prompt {i}" for i in range(80)], runs=2, with_audio=False)
    html = batch_html(batch, max_prompts=10, max_failures=3)
    first_table = html.split("</table>")[0]
    assert first_table.count("<td class='prompt'>prompt ") == 10
    assert "The 10 prompts with the lowest pass rate of 80 first" in html
    assert "<summary>70 more prompts</summary>" in html  # the rest are offered behind the toggle, not lost
    assert html.split("Failures:")[0].count("<td class='prompt'>prompt ") == 80
    # the same wrong city on 80 prompts is one signature, not 80 kinds
    assert "Failures: 81 runs with 2 signatures" in html and "in 80 runs over 80 prompts" in html


def test_one_hidden_prompt_is_said_in_the_singular():
    """The interrupted-demo screenshot read "1 more prompts"."""
    batch = make_batch([f"prompt {i}" for i in range(11)], runs=2, with_audio=False)
    html = batch_html(batch, max_prompts=10, max_failures=3)
    assert "<summary>1 more prompt</summary>" in html and "1 more prompts" not in html


def test_all_passed_batch_and_empty_batch():
    batch = make_batch(fail_every=0, with_error=False)
    html = batch._repr_html_()
    assert "PASSED" in html and "Failures" not in html
    assert "no runs" in BatchResult()._repr_html_().lower() or "No runs" in BatchResult()._repr_html_()


def _interrupted_batch() -> BatchResult:
    """16 prompts x 10 runs stopped after 15 runs: 11 passed, 4 failed, over 2 prompts; 145 cancelled."""
    from russo_nb.types import EvalResult

    ok = EvalResult(passed=True, expected=[], actual=[])
    bad = EvalResult(passed=False, expected=[], actual=[])
    runs = []
    for p in range(16):
        for r in range(10):
            if p == 0:
                status = "passed" if r < 5 else "cancelled"  # 5 passes, 5 cancelled: not flaky
            elif p == 1:
                status = "passed" if r < 6 else ("failed" if r < 10 else "cancelled")
            else:
                status = "cancelled"
            evaluation = ok if status == "passed" else bad
            runs.append(SingleRunResult(prompt=f"prompt {p}", run_index=r, eval_result=evaluation, status=status))
    batch = BatchResult(runs=runs)
    batch.metadata.params["interrupted"] = True
    return batch


def test_interrupted_batch_counts_finished_runs_only():
    from russo_nb.view import build_view

    batch = _interrupted_batch()
    view = build_view(batch)
    assert (view.finished, view.passed, view.cancelled) == (15, 11, 145)
    assert abs(view.rate - 11 / 15) < 1e-12  # not 11/160 = 6.9%
    from russo_nb.analysis import clustered_se

    # the headline interval is the clustered one over the 2 prompts that ran (finished runs only)
    by_prompt = [(row.passed, row.finished) for row in view.rows if row.finished]
    expected = clustered_se([c for c, _ in by_prompt], [n for _, n in by_prompt])
    assert expected.n_runs == 15 and (view.low, view.high) == (expected.low, expected.high)
    assert [row.prompt for row in view.flaky] == ["prompt 1"]  # 5 passed + 5 cancelled is not flaky
    assert len(view.not_run) == 14
    assert sum(len(group.runs) for group in view.groups) == 4  # cancellations are not failures
    html = batch._repr_html_()
    assert "73.3%</b> pass rate per run (11/15 finished runs" in html
    assert html.count("145 cancelled — interrupted after 15 runs") == 1  # said once
    assert "14 prompts not run" in html and html.count(">not run<") == 14
    assert "⚑ 1 flaky" in html and "Failures: 4 runs with 1 signature" in html
    assert "6.9%" not in html and "0/10" not in html
    text = batch.summary().splitlines()
    assert text[0] == "FAILED (73% pass rate over 15 finished runs of 160; 145 cancelled — interrupted after 15 runs)"
    assert text[1] == "  Passed: 11/15 finished runs"
    assert "    5/5 passed (5 cancelled)" in text and "    [ ] runs 5–9: cancelled" in text
    assert text.count("    not run (10 cancelled)") == 14


def test_interrupted_batch_with_only_passes_says_interrupted_not_failed():
    batch = make_batch(fail_every=0, with_error=False)
    batch.runs.append(
        SingleRunResult(prompt="late", run_index=0, eval_result=batch.runs[0].eval_result, status="cancelled")
    )
    batch.metadata.params["interrupted"] = True
    assert batch.summary().startswith("INTERRUPTED (100% pass rate over 8 finished runs of 9; 1 cancelled")
    html = batch._repr_html_()
    assert "INTERRUPTED" in html and "FAILED" not in html and "Failures" not in html


def test_results_offer_text_and_html_in_one_bundle():
    batch = make_batch()
    bundle = batch._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"].startswith("FAILED (") and "russo-batch" in bundle["text/html"]
    # the plain text is the summary's headline, the failure signatures across prompts, then where the rest is
    head = batch.summary().splitlines()[:2]
    rows = len(batch.by_prompt())
    assert bundle["text/plain"].splitlines() == [
        *head,
        "  Failures: 5 runs with 2 signatures",
        "    [failed] to_city → \"<script>alert('x')</script>\": 4 runs over 2 prompts",
        "    [error] RuntimeError: agent crashed <script>alert('x')</script>: 1 run",
        f"  … {rows} prompts; see .summary()",
    ]


def test_a_loaded_batch_displays_building_only_its_failing_runs(tmp_path):
    from analysis_helpers import synthetic_batch

    from russo_nb.report import export, load_batch

    original = synthetic_batch(20, 50, seed=5)
    loaded = load_batch(export(original, tmp_path / "big.parquet"))
    bundle = loaded._repr_mimebundle_()
    assert bundle == original._repr_mimebundle_()
    failing = original.total - original.passed_count
    assert 0 < loaded.runs.built_count <= failing < original.total  # the failure groups, not all 1,000 runs


def test_transcript_bubbles_escape_and_show_calls():
    html = transcript_html(
        [
            {"role": "user", "content": EVIL},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"function": {"name": "book_flight", "arguments": '{"to_city": "<b>LA</b>"}'}}],
            },
            {"role": "tool", "name": "book_flight", "content": "ok"},
        ]
    )
    assert EVIL not in html and "&lt;b&gt;LA&lt;/b&gt;" in html
    assert "msg user" in html and "msg assistant" in html and "msg tool" in html
    assert "book_flight(to_city=" in html


def test_scenario_result_html_has_verdict():
    from russo_nb.scenario import ScenarioResult

    result = ScenarioResult(
        success=False,
        name=f"refund {EVIL}",
        messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        reasoning="the agent never called refund",
        failed_criteria=["calls refund"],
    )
    html = scenario_result_html(result)
    assert "Verdict: failed" in html and "✘ calls refund" in html and EVIL not in html


def test_comparison_and_error_html():
    from russo_nb.analysis import paired_comparison

    a, b = make_batch(fail_every=2), make_batch(fail_every=5)
    html = comparison_html(paired_comparison(a, b), "v1", f"v2{EVIL}")
    assert "shared prompts" in html and EVIL not in html
    assert EVIL not in error_html(EVIL)


def test_scenario_transcript_escapes_tool_calls_verdicts_and_criteria():
    from russo_nb.scenario import ScenarioResult

    result = ScenarioResult(
        success=False,
        name="refund",
        messages=[
            {"role": "user", "content": f"refund me {EVIL}"},
            {
                "role": "assistant",
                "content": f"ok {EVIL}",
                "tool_calls": [{"function": {"name": "refund", "arguments": {"note": EVIL}}}],
            },
            {"role": "tool", "name": "refund", "content": EVIL},
        ],
        reasoning=f"judge says {EVIL}",
        passed_criteria=[f"polite {EVIL}"],
        failed_criteria=[f"refunds {EVIL}"],
        score=0.25,
    )
    html = result._repr_html_()
    assert EVIL not in html and "<script" not in html.lower()
    # user, assistant text, call argument, tool result, reasoning, passed and failed criterion
    assert html.count("&lt;script&gt;") == 7
    assert "→ refund(note=" in html and "msg tool" in html
    assert "Verdict: failed</b> · score 0.25" in html and "✔ polite" in html and "✘ refunds" in html


def test_voice_turn_audio_is_embedded_once_per_turn():
    from notebook_helpers import tone

    from russo_nb.scenario import ScenarioResult

    clip = tone()
    result = ScenarioResult(
        success=True,
        messages=[
            {"role": "user", "content": "hi", "audio_key": clip.content_key()},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "gone", "audio_key": "not-kept"},  # keep_audio=False: no player
        ],
        audio={clip.content_key(): clip},
    )
    html = scenario_result_html(result)
    assert html.count("<audio") == 1 and "data:audio/wav;base64," in html


def test_suite_result_shows_its_combined_batch():
    from russo_nb.config.running import SuiteResult

    batch = make_batch()
    suite = SuiteResult("s", {"t": batch}, batch)
    bundle = suite._repr_mimebundle_()
    assert bundle["text/plain"].startswith("suite s") and "russo-batch" in bundle["text/html"]


def test_scenario_views_lead_with_what_failed_and_mark_no_call_extra_when_none_was_expected():
    from types import SimpleNamespace

    from russo_nb.notebook.html import _verdict_html, transcript_html
    from russo_nb.types import EvalResult, ToolCall
    from russo_nb.view.html import eval_diff_html

    weather = ToolCall(name="get_weather", arguments={"city": "Paris"})
    diff = eval_diff_html(EvalResult(passed=True, expected=[], actual=[weather]))
    assert "extra" not in diff and "called" in diff and "get_weather(city=&#x27;Paris&#x27;)" in diff
    verdict = _verdict_html(
        SimpleNamespace(
            status="failed",
            reasoning="Reached maximum turns (3) without conclusion",
            failed_criteria=["The agent confirms the booking"],
            passed_criteria=["The agent asks for the date"],
            score=None,
            error=None,
        )
    )
    assert verdict.index("✘ The agent confirms the booking") < verdict.index("Reached maximum turns")
    bubbles = transcript_html(
        [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": "Sunny."},
         {"role": "assistant", "content": ""}]
    )  # fmt: skip
    assert bubbles.count("class='msg assistant'") == 1  # no empty last bubble
