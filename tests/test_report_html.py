"""The standalone HTML report: content, escaping, audio players, caps."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest
from analysis_helpers import batch_from_outcomes, make_run, tone

from russo_nb.report import to_html, write_report
from russo_nb.types import BatchMetadata, BatchResult, ToolCall


class _Collector(HTMLParser):
    """Counts tags and collects text, with the standard library's HTML parser."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.attrs: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attrs.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Collector:
    parser = _Collector()
    parser.feed(page)
    return parser


@pytest.fixture
def hostile() -> BatchResult:
    """A prompt and a tool argument that try to inject script."""
    prompt = "Fly to <script>alert('p')</script> & back"
    want = [ToolCall(name="book_flight", arguments={"to_city": "<script>alert(1)</script>"})]
    got = [ToolCall(name="book_flight", arguments={"to_city": "<img src=x onerror=alert(2)>"})]
    clip = tone(440)
    runs = [
        make_run(prompt, 0, True, expected=want, audio_key=clip.content_key(), latency_s=0.2),
        make_run(prompt, 1, False, expected=want, actual=got, audio_key=clip.content_key(), latency_s=0.3),
    ]
    meta = BatchMetadata(name="<b>evil</b> batch", agent="<script>agent</script>")
    return BatchResult(runs=runs, audio={clip.content_key(): clip}, metadata=meta)


def _only_our_script(parsed: _Collector, page: str) -> None:
    """The one <script> is the report's search box filter; nothing a user or agent wrote became a tag."""
    from russo_nb.report.html import SEARCH_SCRIPT

    assert parsed.tags.get("script") == 1 and page.count("<script>") == 1 and SEARCH_SCRIPT in page


def test_everything_user_written_is_escaped(hostile):
    page = to_html(hostile)
    parsed = _parse(page)
    _only_our_script(parsed, page)
    assert "img" not in parsed.tags and parsed.tags.get("svg", 0) >= 3  # the charts are inline SVG
    assert "<img src=x" not in page and "<b>evil" not in page
    text = "".join(parsed.text)
    assert "Fly to <script>alert('p')</script> & back" in text  # shown, as text
    assert "<img src=x onerror=alert(2)>" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert svgs and all("<script" not in svg for svg in svgs)
    assert any("&lt;script&gt;" in svg for svg in svgs)  # the prompt label inside a chart is escaped text


def test_report_sections_and_audio(hostile, tmp_path):
    path = write_report(hostile, tmp_path / "out" / "r.html")
    page = path.read_text(encoding="utf-8")
    parsed = _parse(page)
    assert parsed.tags.get("audio") == 1  # one player per distinct clip, not per run
    audio = next(attrs for tag, attrs in parsed.attrs if tag == "audio")
    wav = base64.b64decode(audio["src"].split(",", 1)[1])
    assert wav[:4] == b"RIFF" and wav == next(iter(hostile.audio.values())).to_wav_bytes()
    assert page.count("<svg class='russo-svg'") >= 3 and "currentColor" in page  # charts follow the theme
    assert "Runs that did not pass (1)" in page
    assert "<del>" in page and "<ins>" in page  # the diff of the wrong argument
    assert "pass rate" in page and "50%" in page
    assert "href='#clip-0'" in page  # the failure links to its clip
    assert "@media (prefers-color-scheme: dark)" in page and "class='russo-page'" in page
    assert "id='russo-search'" in page


def test_report_file_mode_honours_the_umask(hostile, tmp_path):
    import os

    old = os.umask(0o022)
    try:
        assert write_report(hostile, tmp_path / "a.html").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert write_report(hostile, tmp_path / "b.html").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_report_draws_call_diffs_with_the_notebooks_labelled_renderer(hostile):
    """One call-diff renderer: the report's failure shows exactly view.html.call_diff_html's lines, escaped."""
    from russo_nb.view.html import call_diff_html

    page = to_html(hostile, charts=False)
    failed = hostile.runs[1].eval_result.matches[0]
    diff = call_diff_html(failed.expected, failed.actual)
    assert diff in page
    assert "<span class='side'>expected</span>" in diff and "<span class='side'>agent called</span>" in diff
    # the agent's differing value is the amber <ins> (the view's --russo-got colours), the expected one <del>
    assert "<ins>to_city=&#x27;&lt;img src=x onerror=alert(2)&gt;&#x27;</ins>" in diff
    assert "<del>to_city=&#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;</del>" in diff
    assert ".russo ins{background:var(--russo-got-bg)" in page
    parsed = _parse(page)
    _only_our_script(parsed, page)
    assert "img" not in parsed.tags  # the hostile argument values stayed text
    assert "to_city='<script>alert(1)</script>'" in "".join(parsed.text)


def test_failures_are_grouped_by_signature_across_prompts_with_show_all():
    """30 prompts failing the same way are one signature, with every run behind "show all"."""
    outcomes = {f"prompt {i}": [False, True] for i in range(30)}
    batch = batch_from_outcomes(outcomes)
    clips = {}
    for i, run in enumerate(batch.runs[:10]):
        clip = tone(200 + 10 * i)
        run.audio_key = clip.content_key()
        clips[run.audio_key] = clip
    batch.audio = clips
    page = to_html(batch, max_failures=5, max_audio=3, max_prompts=10, charts=False)
    assert page.count("class='fail'") == 1 and "in 30 runs over 30 prompts" in page
    assert "show all 30 runs" in page and page.count("<td class='sig'>") == 30
    assert _parse(page).tags.get("audio") == 3 and "7 more clips not embedded" in page
    assert "<summary>20 more prompts</summary>" in page  # the one row limit, the rest behind the toggle
    assert "<svg" not in page


def test_small_samples_are_flagged():
    page = to_html(batch_from_outcomes({"a": [True, False], "b": [True, True]}), charts=False)
    assert "Small sample (4 finished runs)" in page
    assert "only 2 prompts" in page  # the clustered interval warns


def test_empty_batch_report():
    page = to_html(BatchResult())
    assert "No runs." in page and "Every run passed" not in page and "<b>no runs</b>" in page


def test_every_agent_and_user_written_field_is_escaped():
    """A marker tag in every string a user or an agent controls; none may survive as a tag."""
    from russo_nb.types import AgentResponse, RunError

    def evil(where: str) -> str:
        return f"<x-{where} onload=alert(1)>{where}</x-{where}>"

    want = [ToolCall(name="book_flight", arguments={"to_city": evil("arg"), evil("argkey"): "x"})]
    wrong_name = [ToolCall(name=evil("toolname"), arguments={"q": evil("otherarg")})]
    clip = tone(440)
    runs = [
        make_run(evil("prompt"), 0, False, expected=want, actual=wrong_name, audio_key=clip.content_key()),
        make_run(
            evil("prompt"),
            1,
            False,
            expected=want,
            status="error",
            error=RunError(type=evil("errtype"), message=evil("errmsg"), stage=evil("stage")),
            effects=[evil("effect")],
            audio_key=clip.content_key(),
        ),
    ]
    runs[0].response = AgentResponse(tool_calls=wrong_name, text=evil("transcript"))
    runs[0].eval_result.matches[0].details = evil("details")
    runs[0].eval_result.details = evil("evaldetails")
    runs[1].transcript = [{"role": evil("role"), "content": evil("turn")}]
    meta = BatchMetadata(
        name=evil("name"),
        agent=evil("agent"),
        synthesizer=evil("synth"),
        evaluator=evil("evaluator"),
        evaluator_params={"mode": evil("evalparam")},
        effects=[evil("metaeffect")],
        tags=[evil("tag")],
        params={"note": evil("param")},
    )
    batch = BatchResult(runs=runs, audio={clip.content_key(): clip}, metadata=meta)
    page = to_html(batch, charts=False)  # the charts' SVG: test_everything_user_written_is_escaped
    parsed = _parse(page)
    fields = [
        "arg", "argkey", "toolname", "otherarg", "prompt", "errtype", "errmsg", "stage", "effect", "transcript",
        "details", "evaldetails", "role", "turn", "name", "agent", "synth", "evaluator", "evalparam", "metaeffect",
        "tag", "param",
    ]  # fmt: skip
    assert not [tag for tag in parsed.tags if tag.startswith("x-")]
    assert "onload=alert" not in "".join(str(attrs) for _, attrs in parsed.attrs)
    text = "".join(parsed.text)
    for where in fields:
        assert f"<x-{where} " not in page, where
        assert f"{where}</x-{where}>" in text, f"{where} is not shown"  # shown as text, every one of them
    titled = to_html(batch, title=evil("title"), charts=False)
    assert "<x-title" not in titled and "&lt;x-title" in titled


def test_report_of_an_interrupted_batch_scores_finished_runs_only(tmp_path):
    from russo_nb.types import BatchResult, EvalResult, SingleRunResult

    ok = EvalResult(passed=True, expected=[], actual=[])
    runs = [SingleRunResult(prompt="early", run_index=i, eval_result=ok) for i in range(6)]
    runs += [SingleRunResult(prompt="late", run_index=i, eval_result=ok, status="cancelled") for i in range(14)]
    batch = BatchResult(runs=runs)
    batch.metadata.params["interrupted"] = True
    page = write_report(batch, tmp_path / "partial.html").read_text()
    assert "100%</b> pass rate per run (6/6 finished runs" in page and "14 cancelled — interrupted after 6 runs" in page
    assert "1 prompt not run (every run cancelled): late" in page and "Every finished run passed." in page
    assert "30.0%" not in page  # 6/20 would score cancellations as failures
