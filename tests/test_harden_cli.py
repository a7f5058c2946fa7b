"""Issue 24, the CLI and the rest: internal errors get their own exit code and one line, counts
that would overflow SQLite are refused, lone surrogates and pydantic texts become one-line
RussoErrors, hostile tool arguments reach the export, a magic's name lookup runs no code, and a
regex criterion cannot exhaust memory while compiling."""

from __future__ import annotations

import pytest

import russo_nb as russo
from russo_nb.cli import EXIT_INTERNAL, main
from russo_nb.errors import InvalidArgumentError, RussoError, SuiteFileError
from russo_nb.report import export, load_batch
from russo_nb.store import HistoryStore
from russo_nb.user_regex import MAX_PATTERN_SIZE, compile_user_pattern

BOOK = [russo.ToolCall(name="book", arguments={"to": "LA"})]

BROKEN_AGENT = """
class Broken:
    def __init__(self):
        raise ZeroDivisionError("a bug in the agent's constructor\\nsecond line")
"""


def _suite(tmp_path):
    (tmp_path / "broken_agent.py").write_text(BROKEN_AGENT)
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "pipeline: {synthesizer: null, agent: {class: broken_agent.Broken}}\ntests:\n  - {prompt: hi, expect: [x]}\n"
    )
    return suite


@pytest.mark.slow
def test_an_internal_error_exits_3_with_one_line_and_a_traceback_on_request(tmp_path, russo_cli):
    _suite(tmp_path)
    done = russo_cli("--config", "suite.yaml", cwd=tmp_path)
    assert done.returncode == EXIT_INTERNAL == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("russo: internal error: ZeroDivisionError: a bug in the agent's constructor")
    assert "--traceback or RUSSO_TRACEBACK=1" in lines[0]
    shown = russo_cli("--config", "suite.yaml", "--traceback", cwd=tmp_path)
    assert shown.returncode == 3 and "Traceback (most recent call last)" in shown.stderr
    assert "broken_agent.py" in shown.stderr


def test_history_limit_and_huge_usage_do_not_overflow_sqlite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["history", "--limit", str(10**30)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "up to 1,000,000,000" in err[0]
    result = russo.run_concurrent_sync(
        "a", agent=lambda t: russo.AgentResponse(tool_calls=BOOK, usage={"total_tokens": 10**30}), expect=BOOK
    )
    store = HistoryStore(tmp_path / "h.sqlite")
    batch_id = store.record(result)
    assert store.list(limit=10**30)["batch_id"].tolist() == [batch_id]
    assert store.load(batch_id).usage["total_tokens"] == pytest.approx(1e30)


def test_a_prompt_with_a_lone_surrogate_is_a_russo_error():
    with pytest.raises(InvalidArgumentError, match=r"holds '\\udc80' at position 1, a lone surrogate"):
        russo.run_concurrent_sync(["fine", "a\udc80b"], agent=lambda t: BOOK)


def test_russo_error_texts_are_one_line_from_the_api(tmp_path):
    from russo_nb.config import load_suite

    suite = tmp_path / "wrong.yaml"
    suite.write_text("max_concurrency: lots\ntests:\n  - {prompt: hi, expect: [x], runs: many}\n")
    with pytest.raises(SuiteFileError) as exc:
        load_suite(suite)
    assert "\n" not in str(exc.value) and "Input should be a valid" in str(exc.value)
    assert "\n" not in str(RussoError("first\nsecond\n  For further information visit https://x"))
    assert str(RussoError("first\nsecond")) == "first; second"


def test_self_referencing_and_2000_deep_arguments_reach_the_export(tmp_path):
    loop: dict = {"to": "LA"}
    loop["self"] = loop
    deep: dict = {"to": "LA"}
    node = deep
    for _ in range(2000):
        node["n"] = {}
        node = node["n"]

    def agent(text):
        return [russo.ToolCall(name="book", arguments=loop if text == "loop" else deep)]

    result = russo.run_concurrent_sync(["loop", "deep"], agent=agent, expect=["book(to='LA')"])
    assert [run.status for run in result.runs] == ["passed", "passed"]
    assert result.runs[0].tool_calls[0].arguments["self"] == {"to": "LA", "self": "<cycle>"}
    for suffix in ("jsonl", "csv"):
        loaded = load_batch(export(result, tmp_path / f"runs.{suffix}"))
        assert loaded.runs[0].tool_calls[0].arguments["self"]["self"] == "<cycle>", suffix
        assert "<nested too deep>" in str(loaded.runs[1].tool_calls[0]), suffix


def test_a_magic_name_lookup_runs_no_property(ip, capsys):
    ran = []

    class Props:
        @property
        def agent(self):
            ran.append("property ran")
            return russo.agent(lambda text: BOOK)

    ip.user_ns["props"] = Props()
    try:
        ip.run_line_magic("russo", "run 'book a flight' --agent props.agent --expect \"book(to='LA')\"")
    finally:
        ip.user_ns.pop("props", None)
    err = capsys.readouterr().err
    assert ran == []
    assert "props.agent is a property whose code would run to look it up" in err


@pytest.mark.parametrize("pattern", ["(?:(?:(?:a{1000}){1000}){1000})", "(?:x{400}){400}", "a" * 20_000])
def test_regex_criteria_that_would_exhaust_memory_compiling_are_refused(pattern):
    with pytest.raises(InvalidArgumentError) as exc:
        compile_user_pattern(pattern, where="criterion")
    assert "criterion:" in str(exc.value) and "\n" not in str(exc.value)
    assert compile_user_pattern("(?:x{300}){300}").search("x" * 90_000) is not None  # 90,000 <= the bound
    assert MAX_PATTERN_SIZE == 100_000
