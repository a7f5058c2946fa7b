"""A suite's ``scenarios:``: imported by ``ref`` or written inline, run with its prompt tests under one cap."""

from __future__ import annotations

from typing import Any

from ..engine import EngineOptions
from ..errors import RussoError, SuiteFileError
from .models import ScenarioSpec, Suite
from .pipeline import Pipeline

__all__ = ["plan_suite_scenarios"]


def _scenarios_from_ref(spec: ScenarioSpec) -> list[Any]:
    """The Scenario(s) ``ref: module:attr`` names (a Scenario, a list of them, or a function making them)."""
    from ..components import import_object
    from ..scenario import Scenario

    found = import_object(spec.ref or "")
    found = found() if callable(found) and not isinstance(found, Scenario) else found
    items = list(found) if isinstance(found, (list, tuple)) else [found]
    for item in items:
        if not isinstance(item, Scenario):
            raise SuiteFileError(f"ref {spec.ref!r} gave a {type(item).__name__}, not a russo_nb.scenario.Scenario")
    return items


def _inline_scenario(spec: ScenarioSpec, index: int, suite: Suite, pipeline: Pipeline) -> Any:
    """A Scenario from an inline spec: the suite's agent (spoken to when there is a synthesizer) and a judge."""
    from ..scenario import JudgeAgent, Scenario, UserSimulatorAgent, VoiceAgentAdapter
    from ..scenario.criteria import criterion_from_data
    from ..scenario.script import script_from_data

    criteria = [criterion_from_data(item) for item in spec.criteria or []]
    script = script_from_data(spec.script) if spec.script is not None else None

    def agents() -> list[Any]:
        under_test = pipeline.agent
        if pipeline.synthesizer is not None:
            under_test = VoiceAgentAdapter(pipeline.agent, pipeline.synthesizer, pipeline.effects, (suite.seed or 0))
        team = [under_test]
        if spec.user_lines:
            team.append(UserSimulatorAgent(lines=list(spec.user_lines)))
        team.append(JudgeAgent(criteria=criteria))
        return team

    return Scenario(
        name=spec.name or spec.id or f"scenario{index + 1}",
        description=spec.description or "",
        agents=agents,
        script=script,
        max_turns=spec.max_turns or 10,
        tags=list(spec.tags),
    )


def _build_scenarios(spec: ScenarioSpec, index: int, suite: Suite, pipeline: Pipeline) -> list[Any]:
    try:
        if spec.ref is not None:
            return _scenarios_from_ref(spec)
        return [_inline_scenario(spec, index, suite, pipeline)]
    except RussoError as exc:
        raise SuiteFileError(f"{suite.where()}scenarios[{index}]: {exc}") from None


def plan_suite_scenarios(
    suite: Suite, specs: list[ScenarioSpec], pipeline: Pipeline, runs: int | None, settings: EngineOptions
) -> list[Any]:
    """Build each scenario and plan its runs: one plan per run count, all run in the suite's job."""
    from ..scenario.batch import plan_scenarios
    from ..types import BatchMetadata

    index_of = {id(spec): index for index, spec in enumerate(suite.scenarios)}
    groups: dict[int, list[Any]] = {}
    for spec in specs:
        built = _build_scenarios(spec, index_of[id(spec)], suite, pipeline)
        groups.setdefault(runs or spec.runs or suite.runs, []).extend(built)
    plans = []
    for count, scenarios in groups.items():
        metadata = BatchMetadata(name=f"{suite.label}/scenarios", **settings.metadata_fields())
        try:
            plans.append(plan_scenarios(scenarios, count, seed=(suite.seed or 0), metadata=metadata))
        except RussoError as exc:
            raise SuiteFileError(f"{suite.where()}scenarios: {exc}") from None
    return plans
