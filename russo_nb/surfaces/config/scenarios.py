"""A suite's ``scenarios:``: imported by ``ref`` or written inline, run with its prompt tests under one cap.

Runloop-style scored scenarios: an inline scenario may declare ``scorers:`` (weights adding up to
1.0), a ``setup:`` / ``teardown:`` (import paths; setup's return value is the agent's environment,
``state.env``), its own ``agent:`` and a ``reference:`` (a known-good transcript, or ``{agent: ...}``).
Before any run starts, every scenario with a reference is validated (:func:`validate_references`):
its reference must score 1.0, or the suite stops with a one-line :class:`ReferenceScoreError`
naming the low scorer. With scorers, a run passes only with a score of at least ``pass_threshold``
(1.0 unless given).
"""

from __future__ import annotations

from typing import Any

from ...execution.engine import EngineOptions
from ...model.errors import RussoError, SuiteFileError
from .models import ScenarioSpec, Suite
from .pipeline import Pipeline

__all__ = ["plan_suite_scenarios", "validate_references"]


def _scenarios_from_ref(spec: ScenarioSpec) -> list[Any]:
    """The Scenario(s) ``ref: module:attr`` names (a Scenario, a list of them, or a function making them)."""
    from ...execution.components import import_object
    from ...scenario import Scenario

    found = import_object(spec.ref or "")
    found = found() if callable(found) and not isinstance(found, Scenario) else found
    items = list(found) if isinstance(found, (list, tuple)) else [found]
    for item in items:
        if not isinstance(item, Scenario):
            raise SuiteFileError(f"ref {spec.ref!r} gave a {type(item).__name__}, not a russo_nb.scenario.Scenario")
    return items


def _imported_agent(path: str) -> Any:
    """The agent an import path names: an object as it is, a class made with no arguments."""
    from ...execution.components import import_object

    found = import_object(path)
    return found() if isinstance(found, type) else found


def _reference(value: Any) -> Any:
    """A reference from suite-file data: a transcript as it is, ``{agent: path}`` as that agent."""
    if isinstance(value, dict) and set(value) == {"agent"}:
        if not isinstance(value["agent"], str):
            raise SuiteFileError(f"reference: {{agent: ...}} takes an import path, got {value['agent']!r}")
        return _imported_agent(value["agent"])
    if isinstance(value, list) or (isinstance(value, dict) and isinstance(value.get("messages"), list)):
        return value
    raise SuiteFileError(
        "reference takes a transcript (a list of messages, or {messages: [...], variables: {...}}) or "
        f"{{agent: module:attr}}, got {type(value).__name__}"
    )


def _inline_scenario(spec: ScenarioSpec, index: int, suite: Suite, pipeline: Pipeline) -> Any:
    """A Scenario from an inline spec: its agent or the suite's (spoken to when there is a synthesizer), a judge."""
    from ...execution.components import import_object
    from ...scenario import JudgeAgent, Scenario, UserSimulatorAgent, VoiceAgentAdapter
    from ...scenario.criteria import criterion_from_data
    from ...scenario.scorers import scorer_from_data
    from ...scenario.script import script_from_data

    criteria = [criterion_from_data(item) for item in spec.criteria or []]
    script = script_from_data(spec.script) if spec.script is not None else None
    scorers = [scorer_from_data(item) for item in spec.scorers or []]
    own_agent = spec.agent

    def agents() -> list[Any]:
        base = _imported_agent(own_agent) if own_agent is not None else pipeline.agent
        under_test = base
        if pipeline.synthesizer is not None and own_agent is None:
            under_test = VoiceAgentAdapter(pipeline.agent, pipeline.synthesizer, pipeline.effects, (suite.seed or 0))
        team = [under_test]
        if spec.user_lines:
            team.append(UserSimulatorAgent(lines=list(spec.user_lines)))
        team.append(JudgeAgent(criteria=criteria))
        return team

    threshold = spec.pass_threshold if spec.pass_threshold is not None else (1.0 if scorers else None)
    return Scenario(  # in a suite file, scorers without a pass_threshold mean 1.0 (see _suite_threshold)
        name=spec.name or spec.id or f"scenario{index + 1}",
        description=spec.description or "",
        agents=agents,
        script=script,
        max_turns=spec.max_turns or 10,
        tags=list(spec.tags),
        scorers=scorers,
        setup=import_object(spec.setup) if spec.setup is not None else None,
        teardown=import_object(spec.teardown) if spec.teardown is not None else None,
        reference=_reference(spec.reference) if spec.reference is not None else None,
        pass_threshold=threshold,
    )


def validate_references(suite: Suite, scenarios: list[Any]) -> dict[str, Any]:
    """Score each scenario's reference before any run: ``{name: ScenarioResult}``, or the first failure raised.

    The error is one line: ``<suite>: scenario 'x': the reference output scores 0.80, not 1.0 (below 1.0:
    tool_calls=0.50) ...`` (a :class:`~russo_nb.scenario.ReferenceScoreError`, exit 2 from ``russo``).
    """
    from ...scenario import ReferenceScoreError
    from ...scenario.spec import run_coroutine_sync

    results: dict[str, Any] = {}
    for scenario in scenarios:
        if scenario.reference is None:
            continue
        try:
            results[scenario.name] = run_coroutine_sync(scenario.validate)
        except ReferenceScoreError as exc:
            raise ReferenceScoreError(f"{suite.where()}{' '.join(str(exc).split())}") from None
    return results


def _suite_threshold(scenario: Any, given: float | None) -> Any:
    """In a suite file a scored scenario passes only at ``pass_threshold`` (the file's, its own, else 1.0)."""
    threshold = given if given is not None else scenario.pass_threshold
    if threshold is None and scenario.weighted_scorers:
        threshold = 1.0
    return (
        scenario if threshold == scenario.pass_threshold else scenario.model_copy(update={"pass_threshold": threshold})
    )


def _build_scenarios(spec: ScenarioSpec, index: int, suite: Suite, pipeline: Pipeline) -> list[Any]:
    try:
        if spec.ref is not None:
            return [_suite_threshold(item, spec.pass_threshold) for item in _scenarios_from_ref(spec)]
        return [_inline_scenario(spec, index, suite, pipeline)]
    except RussoError as exc:
        raise SuiteFileError(f"{suite.where()}scenarios[{index}]: {exc}") from None


def plan_suite_scenarios(
    suite: Suite, specs: list[ScenarioSpec], pipeline: Pipeline, runs: int | None, settings: EngineOptions
) -> list[Any]:
    """Build each scenario and plan its runs: one plan per run count, all run in the suite's job."""
    from ...model.types import BatchMetadata
    from ...scenario.batch import plan_scenarios

    index_of = {id(spec): index for index, spec in enumerate(suite.scenarios)}
    groups: dict[int, list[Any]] = {}
    built_all: list[Any] = []
    for spec in specs:
        built = _build_scenarios(spec, index_of[id(spec)], suite, pipeline)
        built_all.extend(built)
        groups.setdefault(runs or spec.runs or suite.runs, []).extend(built)
    suite._references = validate_references(suite, built_all)
    plans = []
    for count, scenarios in groups.items():
        metadata = BatchMetadata(name=f"{suite.label}/scenarios", **settings.metadata_fields())
        try:
            plans.append(plan_scenarios(scenarios, count, seed=(suite.seed or 0), metadata=metadata))
        except RussoError as exc:
            raise SuiteFileError(f"{suite.where()}scenarios: {exc}") from None
    return plans
