"""A suite's ``scenarios:``: imported by ``ref`` or written inline, run after its prompt tests."""

from __future__ import annotations

from typing import Any

from ..errors import RussoError, SuiteFileError
from .models import ScenarioSpec, Suite
from .pipeline import Pipeline

__all__ = ["start_suite_scenarios"]


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
            under_test = VoiceAgentAdapter(pipeline.agent, pipeline.synthesizer, pipeline.effects, suite.seed)
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


def start_suite_scenarios(
    suite: Suite, specs: list[ScenarioSpec], pipeline: Pipeline, runs: int | None, cap: int | None
) -> ScenarioGroups:
    """Build each scenario and prepare its runs, one scenario batch per run count."""
    from ..scenario import start_scenarios

    index_of = {id(spec): index for index, spec in enumerate(suite.scenarios)}
    groups: dict[int, list[Any]] = {}
    for spec in specs:
        built = _build_scenarios(spec, index_of[id(spec)], suite, pipeline)
        groups.setdefault(runs or spec.runs or suite.runs, []).extend(built)
    handles = []
    for count, scenarios in groups.items():
        try:
            handles.append(
                start_scenarios(
                    scenarios, count, cap, timeout=suite.timeout, seed=suite.seed, name=f"{suite.label}/scenarios"
                )
            )
        except RussoError as exc:
            raise SuiteFileError(f"{suite.where()}scenarios: {exc}") from None
    return ScenarioGroups(handles)


class ScenarioGroups:
    """Scenario batches (one per run count) run one after another and merged into one ScenarioBatch."""

    def __init__(self, handles: list[Any]) -> None:
        self.handles = handles
        self._cancelled = False

    async def wait(self) -> Any:
        """Run each group in turn (stopping after a cancel) and return the merged batch."""
        for handle in self.handles:
            if self._cancelled:
                break
            await handle.wait()
        return self.result()

    def cancel(self) -> None:
        """Cancel every group; finished runs are kept."""
        self._cancelled = True
        for handle in self.handles:
            handle.cancel()

    def result(self) -> Any:
        """One ScenarioBatch with the runs of every group."""
        from ..scenario import ScenarioBatch

        parts = [handle.result() for handle in self.handles]
        metadata = parts[0].metadata.model_copy()
        counts = {part.metadata.runs_per_prompt for part in parts}
        metadata.runs_per_prompt = counts.pop() if len(counts) == 1 else None
        names = [name for part in parts for name in part.metadata.params.get("scenarios", [])]
        expected: dict[str, Any] = {}
        for part in parts:
            expected.update(part.metadata.params.get("expected_calls", {}))
        metadata.params = {**metadata.params, "scenarios": names, "expected_calls": expected}
        return ScenarioBatch(runs=[run for part in parts for run in part.runs], metadata=metadata)
