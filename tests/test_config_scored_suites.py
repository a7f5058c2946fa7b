"""Runloop-style scored suites from the shell: weighted scorers, a set-up building a real SQLite database per
run, a reference validated to score 1.0 before anything runs, and runs below their threshold counted as failed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from russo_nb import scenario
from russo_nb.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "suites" / "runloop_booking.yaml"


def suite_file(tmp_path: Path, **changes: object) -> str:
    """The repository's example suite, beside its environment module, with ``changes`` to its scenario."""
    shutil.copy(EXAMPLE.with_name("runloop_booking_env.py"), tmp_path / "runloop_booking_env.py")
    data = yaml.safe_load(EXAMPLE.read_text())
    data["scenarios"][0].update(changes)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_the_example_validates_its_reference_runs_and_prints_scores(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([str(EXAMPLE), "--runs", "2", "--no-history", "-q"]) == 0
    out = capsys.readouterr().out
    assert "book_nyc_la  2/2 passed (100%)" in out
    assert "score mean 1.00, min 1.00" in out
    assert "reference scores 1.00 (tool_calls=1.00, booked_in_db=1.00, criteria=1.00)" in out
    assert not list(Path(tempfile.gettempdir()).glob("russo-booking-*/airline.sqlite"))  # teardown ran


def test_a_reference_below_one_stops_the_suite_with_one_line_naming_the_scorer(tmp_path, capsys):
    path = suite_file(tmp_path, reference={"agent": "runloop_booking_env:ForgetfulAgent"})
    assert main([path, "--no-history", "-q"]) == 2
    captured = capsys.readouterr()
    error = captured.err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("russo: error: ")
    assert "scenario 'book_nyc_la': the reference output scores 0.60, not 1.0 (below 1.0: booked_in_db=0.00)" in error
    assert "passed" not in captured.out  # nothing ran


def test_runs_scoring_below_the_threshold_are_not_passed(tmp_path, capsys):
    path = suite_file(tmp_path, agent="runloop_booking_env:ForgetfulAgent")  # the reference is still right
    assert main([path, "--runs", "2", "--no-history", "-q"]) == 1
    out = capsys.readouterr().out
    assert "book_nyc_la  0/2 passed (0%)" in out and "score mean 0.60, min 0.60" in out
    assert "FAILED: 0/2 runs passed" in out

    lenient = suite_file(tmp_path, agent="runloop_booking_env:ForgetfulAgent", pass_threshold=0.5)
    assert main([lenient, "--runs", "2", "--no-history", "-q"]) == 0


def test_a_transcript_reference_cannot_validate_an_environment_scorer_and_says_so(tmp_path, capsys):
    transcript = [
        {"role": "user", "content": "Please book me a flight from NYC to LA"},
        {
            "role": "assistant",
            "content": "Done: booked flight 1 from NYC to LA.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "book_flight", "arguments": '{"from_city": "NYC", "to_city": "LA"}'},
                }
            ],
        },
    ]
    path = suite_file(tmp_path, reference=transcript)
    assert main([path, "--no-history", "-q"]) == 2
    error = capsys.readouterr().err
    assert "booked_in_db=0.00" in error and "can only be validated by a reference agent" in error

    without_env_scorer = suite_file(
        tmp_path,
        reference=transcript,
        scorers=[
            {"tool_calls": ["book_flight(from_city='NYC', to_city='LA')"], "weight": 0.5},
            {"criteria": None, "weight": 0.5},
        ],
    )
    assert main([without_env_scorer, "--runs", "1", "--no-history", "-q"]) == 0
    assert "reference scores 1.00 (tool_calls=1.00, criteria=1.00)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("scorers", "fragment"),
    [
        ([{"tool_calls": ["book_flight()"], "weight": 0.5}, {"criteria": None, "weight": 0.2}], "add up to 0.7"),
        ([{"latency": 2.0, "success": None}], "2 kinds"),
        ([{"speed": 1}], "unknown key 'speed'"),
    ],
)
def test_bad_scorers_are_one_line_suite_errors(tmp_path, capsys, scorers, fragment):
    path = suite_file(tmp_path, scorers=scorers)
    assert main([path, "--no-history", "-q"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "scenarios[0]" in error and fragment in error


def test_python_api_validate_names_the_low_scorer():
    """From Python: Scenario.validate() raises ReferenceScoreError; a 1.0 reference returns its result."""
    from russo_nb.scenario.criteria import tool_called
    from russo_nb.scenario.scorers import scorer, tool_call_match

    booked = [
        {"role": "user", "content": "to LA"},
        {
            "role": "assistant",
            "content": "ok",
            "tool_calls": [{"id": "1", "type": "function", "function": {"name": "book", "arguments": '{"to": "LA"}'}}],
        },
    ]

    def make(polite: float) -> scenario.Scenario:
        return scenario.Scenario(
            name="api",
            agents=[scenario.JudgeAgent(criteria=[tool_called("book")])],
            scorers=[
                tool_call_match(["book(to='LA')"], weight=0.8),
                scorer(lambda result: polite, weight=0.2, name="polite"),
            ],
            reference=booked,
        )

    with pytest.raises(scenario.ReferenceScoreError, match=r"scores 0.80, not 1.0 \(below 1.0: polite=0.00\)"):
        make(0.0).validate_sync()
    assert make(1.0).validate_sync().score == 1.0


SCORED_MODULE = """
import json

from russo_nb import scenario
from russo_nb.scenario.criteria import tool_called
from russo_nb.scenario.scorers import scorer, tool_call_match


class Booker(scenario.AgentAdapter):
    async def call(self, input):
        call = {"id": "c", "type": "function", "function": {"name": "book", "arguments": json.dumps({"to": "LA"})}}
        return {"role": "assistant", "content": "Booked.", "tool_calls": [call]}


def reference(text):
    call = {"id": "c", "type": "function", "function": {"name": "book", "arguments": json.dumps({"to": "LA"})}}
    return [{"role": "user", "content": "to LA"}, {"role": "assistant", "content": text, "tool_calls": [call]}]


def make(reference_text):
    return scenario.Scenario(
        name="scored",
        agents=lambda: [Booker(), scenario.JudgeAgent(criteria=[tool_called("book")])],
        script=[scenario.user("to LA"), scenario.agent(), scenario.judge()],
        scorers=[
            tool_call_match(["book(to='LA')"], weight=0.8),
            scorer(lambda result: "please" in (result.text or "").lower(), weight=0.2, name="polite"),
        ],
        reference=reference(reference_text),
    )


bad_reference = make("Booked.")
good_reference = make("Booked, please enjoy.")
"""


def test_a_python_scenario_by_ref_is_validated_and_held_to_a_threshold(tmp_path, capsys):
    """The issue's case: a reference scoring 0.8 stops the suite; runs scoring 0.8 are not passed."""
    (tmp_path / "scored_module.py").write_text(SCORED_MODULE)

    def suite(ref: str, **extra: object) -> str:
        path = tmp_path / f"{ref}.yaml"
        path.write_text(yaml.safe_dump({"name": "by_ref", "scenarios": [{"ref": f"scored_module:{ref}", **extra}]}))
        return str(path)

    assert main([suite("bad_reference"), "--no-history", "-q"]) == 2
    assert "scores 0.80, not 1.0 (below 1.0: polite=0.00)" in capsys.readouterr().err

    assert main([suite("good_reference"), "--runs", "2", "--no-history", "-q"]) == 1
    out = capsys.readouterr().out
    assert "scored  0/2 passed (0%)" in out and "score mean 0.80" in out and "reference scores 1.00" in out

    assert main([suite("good_reference", pass_threshold=0.8), "--runs", "2", "--no-history", "-q"]) == 0
