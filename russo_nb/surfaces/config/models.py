"""The suite-file models: pipeline, tests, scenarios and the whole suite, validated by pydantic.

Pure data and the questions a suite answers about itself (its prompts, expectations,
tags, agent reference); reading files is in :mod:`.loading`, running in :mod:`.running`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model, field_validator, model_validator

from ...execution.components import ComponentRef
from ...model.errors import SuiteFileError
from ...model.expectations import normalize_expectations

if TYPE_CHECKING:
    from ...execution.engine import EngineOptions

__all__ = [
    "AGENT_ALIASES",
    "EngineKeys",
    "ExecutorSpec",
    "PipelineSpec",
    "ScenarioSpec",
    "Suite",
    "SweepSpec",
    "TestSpec",
    "allowed_keys",
]


AGENT_ALIASES: dict[str, dict[str, Any]] = {
    "local_voice_demo": {"factory": "russo_nb.adapters.LocalVoiceAgent.demo"},
    "local_voice": {"class": "russo_nb.adapters.LocalVoiceAgent"},
}
"""Short agent names a suite may use instead of an import path (``agent: local_voice_demo``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _engine_keys() -> type[_Strict]:
    """The suite file's engine keys (``max_concurrency:``, ``timeout:``, ``retries:``, ``rate_limit:``, ``seed:``
    ...), made from :class:`~russo_nb.execution.engine.EngineOptions`: each is optional (None: the option's default)
    and checked by the options' own rules, so the file, the API and the CLI accept exactly the same values."""
    from dataclasses import fields

    from ...execution.engine import TEXT_OPTIONS, EngineOptions

    annotation = {int: int | None, float: float | None, str: str | float | None}
    declared = {
        item.name: (annotation[item.metadata["kind"]], Field(default=None, description=item.metadata["help"]))
        for item in fields(EngineOptions)
        if item.name in TEXT_OPTIONS
    }

    def check(cls: type, value: Any, info: Any) -> Any:
        if value is not None:
            EngineOptions(**{info.field_name: value})  # InvalidArgumentError is a ValueError: file + key reported
        return value

    validators = {"_check_engine_key": field_validator(*declared)(classmethod(check))}
    return create_model("EngineKeys", __base__=_Strict, __validators__=validators, **declared)


EngineKeys = _engine_keys()


class PipelineSpec(_Strict):
    """The components a suite runs; a missing one falls back to the offline demo pipeline.

    ``synthesizer: null`` (written explicitly) is text mode: the agent gets the prompt text.
    """

    synthesizer: ComponentRef | None = None
    agent: ComponentRef | None = None
    evaluator: ComponentRef | None = None
    effects: list[Any] | None = None
    cache: bool = True
    cache_dir: str | None = None

    @property
    def text_mode(self) -> bool:
        """True when the file says ``synthesizer: null``."""
        return "synthesizer" in self.model_fields_set and self.synthesizer is None


class TestSpec(_Strict):
    """One test: prompt(s), the tool calls expected, and optional per-test runs, tags and effects."""

    __test__ = False  # not a pytest test class

    id: str | None = None
    description: str | None = None
    prompt: str | None = None
    prompts: list[str] | None = None
    expect: Any = None
    runs: int | None = Field(default=None, ge=1)
    tags: list[str] = Field(default_factory=list)
    effects: list[Any] | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _one_tag(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_prompt_field(self) -> TestSpec:
        if (self.prompt is None) == (self.prompts is None):
            raise ValueError("a test needs exactly one of 'prompt' (a string) or 'prompts' (a list of strings)")
        for text in self.prompt_list:
            if not text.strip():
                raise ValueError("prompts must be non-empty strings")
        if self.prompts is not None and not self.prompts:
            raise ValueError("'prompts' is empty; give at least one prompt")
        return self

    @property
    def prompt_list(self) -> list[str]:
        """The test's prompts as a list."""
        return [self.prompt] if self.prompt is not None else list(self.prompts or [])


class ScenarioSpec(_Strict):
    """A scenario to run: ``ref: module:attr`` naming a scenario object, or an inline scripted one."""

    ref: str | None = None
    id: str | None = None
    name: str | None = None
    description: str | None = None
    script: list[Any] | None = None
    criteria: list[Any] | None = None
    user_lines: list[Any] | None = None
    max_turns: int | None = Field(default=None, ge=1)
    runs: int | None = Field(default=None, ge=1)
    tags: list[str] = Field(default_factory=list)
    agent: str | None = None
    """Import path of the agent under test (an object, or a class made with no arguments); default: the suite's.

    Such an agent takes part as a scenario agent (text messages, ``state.env``), never through the
    suite's synthesizer."""
    setup: str | None = None
    """Import path of a function ``(state)`` that builds the environment; its return value is ``state.env``."""
    teardown: str | None = None
    scorers: list[Any] | None = None
    """Weighted scorers (see :func:`russo_nb.scenario.scorers.scorer_from_data`); weights add up to 1.0."""
    reference: Any = None
    """A known-good transcript (a list of messages, or ``{messages: [...], variables: {...}}``) or
    ``{agent: module:attr}``, a reference agent; it must score 1.0 before the runs start."""
    pass_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """A run passes only with a score at least this (default 1.0 when the scenario has scorers)."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"ref": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ref_or_inline(self) -> ScenarioSpec:
        if self.ref is None and self.script is None and self.description is None:
            raise ValueError("a scenario needs 'ref' (module:attr of a Scenario) or an inline 'description'/'script'")
        return self


class ExecutorSpec(_Strict):
    """Where a suite's runs execute: ``executor: {kind: dask, address: tcp://scheduler:8786}``.

    ``kind: local`` (the default) is this process; ``kind: dask`` ships the runs to a Dask cluster
    (``address`` omitted: a local cluster sized to the machine). ``executor: dask`` is short for
    ``{kind: dask}``. ``--dask`` on the command line overrides the block.
    """

    kind: str = "local"
    address: str | None = None
    chunk_size: int | None = Field(default=None, ge=1)
    n_workers: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @field_validator("kind")
    @classmethod
    def _check_kind(cls, value: str) -> str:
        if value not in ("local", "dask"):
            raise ValueError(f"kind must be 'local' or 'dask', got {value!r}")
        return value


class SweepSpec(_Strict):
    """``sweep:``: run every prompt test over voices × noise levels × conditions (see :func:`russo_nb.start_sweep`).

    ``voices``: espeak-ng voice names (default: the pipeline's synthesizer); ``snr_db``: levels in
    dB, ``null`` / ``clean`` for no noise (default ``[null]``); ``conditions``: extra effect chains
    by label (``{plain: null, phone: telephone}``); ``noise``: white, pink or babble. Checked when
    the suite is planned, with the same messages as the API.
    """

    voices: list[str] | None = None
    snr_db: list[Any] | None = None
    conditions: dict[str, Any] | None = None
    noise: str = "white"


class Suite(EngineKeys):
    """A whole suite file, validated. Build with :func:`load_suite` or :func:`parse_suite`."""

    name: str | None = None
    description: str | None = None
    pipeline: PipelineSpec | None = None
    agent: ComponentRef | None = None
    intents: str | None = None
    effects: list[Any] | None = None
    runs: int = Field(default=1, ge=1)
    executor: ExecutorSpec | None = None
    sweep: SweepSpec | None = None
    tests: list[TestSpec] = Field(default_factory=list)
    scenarios: list[ScenarioSpec] = Field(default_factory=list)

    _source: Path | None = PrivateAttr(default=None)
    _references: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def references(self) -> dict[str, Any]:
        """The validated reference results of its scenarios, by name (filled when the suite is planned)."""
        return self._references

    @property
    def source(self) -> Path | None:
        """The file this suite was read from (None when built in code)."""
        return self._source

    def options(self, **overrides: Any) -> EngineOptions:
        """The suite's engine options: its keys, the defaults for the rest, and ``overrides`` that are not None
        (the CLI's flags, the magics', ``start_suite``'s keywords)."""
        from ...execution.engine import TEXT_OPTIONS, engine_options

        chosen = {name: getattr(self, name) for name in TEXT_OPTIONS}
        chosen.update({name: value for name, value in overrides.items() if value is not None})
        return engine_options(where=f"{self.label}", **chosen)

    @property
    def label(self) -> str:
        """The suite's name: ``name:`` from the file, else the file's stem."""
        if self.name:
            return self.name
        return self._source.stem if self._source else "suite"

    @property
    def all_tags(self) -> list[str]:
        """Every tag used by a test or scenario, sorted."""
        tags = {tag for test in self.tests for tag in test.tags}
        tags.update(tag for scenario in self.scenarios for tag in scenario.tags)
        return sorted(tags)

    def effect_items(self) -> list[Any]:
        """The suite-wide effect specs (from ``effects:`` or ``pipeline.effects``)."""
        if self.effects is not None:
            return list(self.effects)
        if self.pipeline is not None and self.pipeline.effects is not None:
            return list(self.pipeline.effects)
        return []

    @property
    def prompts(self) -> list[str]:
        """Every prompt of every test, in file order."""
        return [prompt for test in self.tests for prompt in test.prompt_list]

    @property
    def expect(self) -> dict[str, Any]:
        """Prompt -> the calls its test expects, as ``expect=`` of
        :func:`~russo_nb.execution.runner.start_batch` takes it."""
        out: dict[str, Any] = {}
        for test in self.tests:
            calls = normalize_expectations(test.expect, test.prompt_list)
            out.update(calls if isinstance(calls, dict) else {prompt: list(calls) for prompt in test.prompt_list})
        return out

    def test_ids(self) -> list[str]:
        """Ids of the tests, in file order."""
        return [test.id or f"test{index + 1}" for index, test in enumerate(self.tests)]

    def select(self, tags: Sequence[str] | None) -> tuple[list[TestSpec], list[ScenarioSpec]]:
        """Tests and scenarios carrying any of ``tags`` (everything when ``tags`` is empty)."""
        if not tags:
            return list(self.tests), list(self.scenarios)
        wanted = set(tags)
        tests = [test for test in self.tests if wanted & set(test.tags)]
        scenarios = [scenario for scenario in self.scenarios if wanted & set(scenario.tags)]
        if not tests and not scenarios:
            known = ", ".join(self.all_tags) or "(no tags at all)"
            raise SuiteFileError(
                f"{self.where()}no test or scenario has tag {', '.join(sorted(wanted))}; tags in the file: {known}"
            )
        return tests, scenarios

    def where(self) -> str:
        """``"path/to/suite.yaml: "`` to start messages with (empty for a suite built in code)."""
        return f"{self._source}: " if self._source else ""

    @model_validator(mode="after")
    def _check(self) -> Suite:
        if not self.tests and not self.scenarios:
            raise ValueError("the suite has no 'tests' and no 'scenarios'; add at least one test")
        if self.effects is not None and self.pipeline is not None and self.pipeline.effects is not None:
            raise ValueError("effects are given both at the top level and under 'pipeline'; keep one")
        if self.agent is not None and self.pipeline is not None and self.pipeline.agent is not None:
            raise ValueError("an agent is given both at the top level and under 'pipeline'; keep one")
        return self

    def agent_ref(self) -> ComponentRef | None:
        """The agent reference (``pipeline.agent`` or the top-level ``agent:``), aliases resolved."""
        ref = self.agent if self.agent is not None else (self.pipeline.agent if self.pipeline else None)
        if ref is not None and ref.object in AGENT_ALIASES:
            ref = ComponentRef.model_validate(AGENT_ALIASES[ref.object])
        return ref

    def intents_path(self) -> Path | None:
        """``intents:`` (the local voice agent's intents file), relative to the suite file."""
        if self.intents is None:
            return None
        path = Path(self.intents).expanduser()
        if not path.is_absolute() and self._source is not None:
            path = self._source.resolve().parent / path
        return path


def allowed_keys(section: str) -> str | None:
    """The keys a section of a suite file takes (``""`` = top level), for "unknown key" messages."""
    sections: dict[str, type[BaseModel]] = {
        "": Suite,
        "pipeline": PipelineSpec,
        "tests": TestSpec,
        "scenarios": ScenarioSpec,
        "component": ComponentRef,
        "executor": ExecutorSpec,
    }
    model = sections.get(section)
    if model is None:
        return None
    return ", ".join(field.alias or name for name, field in model.model_fields.items())
