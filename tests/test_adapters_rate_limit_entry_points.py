"""rate_limit= reaches the engine from every entry point: suites, the CLI, %russo magics and scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

import russo_nb as russo
from russo_nb.cli import main
from russo_nb.config import load_suite, parse_suite, run_suite
from russo_nb.errors import SuiteFileError

SUITES = Path(__file__).resolve().parent.parent / "data" / "suites"
TEXT_SUITE = SUITES / "text_flights.yaml"


def test_suite_file_rate_limit_and_override():
    suite = load_suite(TEXT_SUITE)
    suite.rate_limit = "200/s"
    result = run_suite(suite, runs=1, tags=["weather"])
    assert result.batch.metadata.params["rate_limit"] == "200/s"
    overridden = run_suite(suite, runs=1, tags=["weather"], rate_limit="300/min")
    assert overridden.batch.metadata.params["rate_limit"] == "300/min"


def test_a_bad_rate_limit_in_a_suite_file_names_the_field():
    data = {"agent": {"factory": "russo_nb.adapters.LocalVoiceAgent.demo"}, "rate_limit": "lots", "tests": []}
    with pytest.raises(SuiteFileError, match="rate_limit"):
        parse_suite(data, "inline.yaml")


def test_cli_rate_limit(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([str(TEXT_SUITE), "--tag", "weather", "--rate-limit", "50/s", "--no-history", "-q"]) == 0
    assert main([str(TEXT_SUITE), "--rate-limit", "fast", "--no-history", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--rate-limit needs requests per time like 10/s or 600/min, got 'fast'" in err


def test_magic_rate_limit(ip, capsys):
    @russo.agent
    def booker(prompt):
        return [russo.ToolCall(name="book_flight", arguments={"to_city": "LA"})]

    ip.user_ns["booker"] = booker
    try:
        line = "run --agent booker --text --runs 2 --rate-limit 100/s --as res --quiet"
        ip.run_cell_magic("russo", line, "Book a flight -> book_flight(to_city='LA')")
        result = ip.user_ns["res"]
        assert result.pass_rate == 1.0 and result.metadata.params["rate_limit"] == "100/s"
        ip.run_cell_magic("russo", "run --agent booker --text --rate-limit soon", "Book -> book_flight()")
        assert "--rate-limit needs requests per time like 10/s or 600/min, got 'soon'" in capsys.readouterr().err
    finally:
        for name in ("booker", "res"):
            ip.user_ns.pop(name, None)


def test_scenarios_take_a_rate_limit():
    from russo_nb import scenario

    def make():
        return [booker_adapter(), scenario.UserSimulatorAgent(lines=["Book a flight"])]

    spec = scenario.Scenario(
        name="book",
        description="d",
        agents=make,
        script=[scenario.user(), scenario.agent(), scenario.succeed()],
    )
    batch = scenario.run_scenarios_sync(spec, runs=2, rate_limit="100/s")
    assert batch.metadata.params["rate_limit"] == "100/s" and [run.status for run in batch.runs] == ["passed"] * 2


def booker_adapter():
    from russo_nb import scenario

    class Booker(scenario.AgentAdapter):
        async def call(self, input):
            return "booked"

    return Booker()
