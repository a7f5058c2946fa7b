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
    assert html.count("<tr><td>prompt ") == 10
    assert "70 omitted" in html
    assert "more kinds of failure" in html


def test_all_passed_batch_and_empty_batch():
    batch = make_batch(fail_every=0, with_error=False)
    html = batch._repr_html_()
    assert "PASSED" in html and "Failures" not in html
    assert "no runs" in BatchResult()._repr_html_().lower() or "No runs" in BatchResult()._repr_html_()


def test_interrupted_batch_says_so():
    batch = make_batch()
    batch.metadata.params["interrupted"] = True
    batch.runs.append(
        SingleRunResult(prompt="late", run_index=0, eval_result=batch.runs[0].eval_result, status="cancelled")
    )
    html = batch._repr_html_()
    assert "Interrupted" in html and "1 cancelled" in html


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
