"""Suite files: a pipeline, tests and scenarios in YAML or JSON, validated by pydantic.

A suite names its components by import path (see :mod:`russo_nb.components`), lists
tests (prompts + expected tool calls) and optionally scenarios. A file without a
``pipeline:`` runs on the offline demo pipeline (espeak-ng voice + the local voice
agent). Every problem is a :class:`~russo_nb.errors.SuiteFileError` naming the file,
the place inside it (``tests[2].expect[0]``) and what was expected.

Example::

    name: flights
    pipeline:
      synthesizer: {class: russo_nb.audio.EspeakSynthesizer}   # null = text mode
      agent: {factory: russo_nb.agents.LocalVoiceAgent.demo}
      evaluator: {class: russo_nb.evaluators.ExactEvaluator, params: {ignore_extra_args: true}}
    effects: ["noise:20db"]
    runs: 5
    max_concurrency: 4
    tests:
      - id: book_la
        prompts: ["Book a flight from NYC to LA", "Fly me from New York to Los Angeles"]
        expect: ["book_flight(to_city='LA')"]
        tags: [flights]
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from .components import ComponentRef, build_component
from .demo import default_agent, default_synthesizer
from .errors import ExpectationError, RussoError, SuiteFileError
from .expectations import normalize_expectations

__all__ = [
    "Pipeline",
    "PipelineSpec",
    "ScenarioSpec",
    "Suite",
    "TestSpec",
    "format_location",
    "load_suite",
    "parse_suite",
]

logger = logging.getLogger("russo_nb")

_KEYS_HELP = {
    "": "name, description, pipeline, agent, intents, effects, runs, max_concurrency, timeout, seed, tests, scenarios",
    "pipeline": "synthesizer, agent, evaluator, effects, cache, cache_dir",
    "tests": "id, prompt, prompts, expect, runs, tags, effects, description",
    "component": "class, factory, object, params",
    "scenarios": "ref, id, name, description, script, criteria, user_lines, max_turns, runs, tags",
}


AGENT_ALIASES: dict[str, dict[str, Any]] = {
    "local_voice_demo": {"factory": "russo_nb.agents.LocalVoiceAgent.demo"},
    "local_voice": {"class": "russo_nb.agents.LocalVoiceAgent"},
}
"""Short agent names a suite may use instead of an import path (``agent: local_voice_demo``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"ref": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ref_or_inline(self) -> ScenarioSpec:
        if self.ref is None and self.script is None and self.description is None:
            raise ValueError("a scenario needs 'ref' (module:attr of a Scenario) or an inline 'description'/'script'")
        return self


class Suite(_Strict):
    """A whole suite file, validated. Build with :func:`load_suite` or :func:`parse_suite`."""

    name: str | None = None
    description: str | None = None
    pipeline: PipelineSpec | None = None
    agent: ComponentRef | None = None
    intents: str | None = None
    effects: list[Any] | None = None
    runs: int = Field(default=1, ge=1)
    max_concurrency: int | None = Field(default=None, ge=1)
    timeout: float | None = Field(default=None, gt=0)
    seed: int = 0
    tests: list[TestSpec] = Field(default_factory=list)
    scenarios: list[ScenarioSpec] = Field(default_factory=list)

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file this suite was read from (None when built in code)."""
        return self._source

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
        """Prompt -> the calls its test expects, as ``expect=`` of :func:`~russo_nb.runner.start_batch` takes it."""
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
                f"{self._where()}no test or scenario has tag {', '.join(sorted(wanted))}; tags in the file: {known}"
            )
        return tests, scenarios

    def _where(self) -> str:
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


# -- locations and messages ---------------------------------------------------------------


def format_location(loc: Sequence[Any]) -> str:
    """``('tests', 2, 'expect', 0)`` -> ``tests[2].expect[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe_error(error: Mapping[str, Any]) -> str:
    loc = [part for part in error["loc"] if part not in ("class",)]
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = [part for part in loc[:-1] if not isinstance(part, int)]
        section = "component" if parent and parent[-1] in ("synthesizer", "agent", "evaluator") else ""
        section = section or (str(parent[0]) if parent else "")
        allowed = _KEYS_HELP.get(section)
        where = format_location(loc[:-1])
        hint = f"; expected one of: {allowed}" if allowed else ""
        return f"{where}: unknown key {loc[-1]!r}{hint}"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "missing":
        message = "required key is missing"
    elif "input" in error and kind not in ("value_error", "assertion_error"):
        message += f" (got {_short(error['input'])})"
    return f"{format_location(loc)}: {message}"


def _suite_error(source: str, problems: list[str]) -> SuiteFileError:
    shown = "; ".join(problems[:3])
    more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
    return SuiteFileError(f"{source}: {shown}{more}")


def _check_expectations(suite: Suite, source: str) -> None:
    problems: list[str] = []
    for index, test in enumerate(suite.tests):
        expect = test.expect
        base = f"tests[{index}].expect"
        if expect is None:
            example = "[\"book_flight(to_city='LA')\"]"
            problems.append(f"{base}: required key is missing; list the expected calls, e.g. {example}")
            continue
        items: list[tuple[str, Any]]
        if isinstance(expect, Mapping) and "name" not in expect:
            unknown = [key for key in expect if key not in test.prompt_list]
            if unknown:
                problems.append(f"{base}: maps prompts to calls, but {unknown[0]!r} is not one of the test's prompts")
                continue
            items = []
            for prompt, calls in expect.items():
                calls = calls if isinstance(calls, list) else [calls]
                items.extend((f"{base}[{prompt!r}][{i}]", call) for i, call in enumerate(calls))
        elif isinstance(expect, list):
            items = [(f"{base}[{i}]", call) for i, call in enumerate(expect)]
        else:
            items = [(base, expect)]
        for where, call in items:
            try:
                normalize_expectations([call])
            except ExpectationError as exc:
                problems.append(
                    f"{where}: expected a tool call like \"book_flight(to_city='LA')\" or "
                    f"{{name: book_flight, arguments: {{to_city: LA}}}}; {exc}"
                )
        try:
            normalize_expectations(expect, test.prompt_list)
        except ExpectationError as exc:
            if not problems:
                problems.append(f"{base}: {exc}")
    ids = suite.test_ids()
    seen: set[str] = set()
    for index, test_id in enumerate(ids):
        if test_id in seen:
            problems.append(f"tests[{index}].id: duplicate test id {test_id!r}; ids must be unique")
        seen.add(test_id)
    for index, test in enumerate(suite.tests):
        for j, effect in enumerate(test.effects or []):
            if not isinstance(effect, (str, Mapping)):
                problems.append(f"tests[{index}].effects[{j}]: expected a string like 'noise:10db' or a mapping")
    for j, effect in enumerate(suite.effect_items()):
        if not isinstance(effect, (str, Mapping)):
            problems.append(f"effects[{j}]: expected a string like 'noise:10db' or a mapping")
    if problems:
        raise _suite_error(source, problems)


def parse_suite(data: Any, source: str | Path = "<suite>") -> Suite:
    """Validate already-loaded suite data (a mapping) into a :class:`Suite`."""
    source_text = str(source)
    if not isinstance(data, Mapping):
        raise SuiteFileError(
            f"{source_text}: the top level must be a mapping with 'tests:' (and optionally 'pipeline:', 'runs:'), "
            f"got {type(data).__name__}"
        )
    try:
        suite = Suite.model_validate(dict(data))
    except ValidationError as exc:
        raise _suite_error(source_text, [_describe_error(error) for error in exc.errors()]) from None
    if isinstance(source, Path):
        suite._source = source
    _check_expectations(suite, source_text)
    return suite


def load_suite(path: str | Path) -> Suite:
    """Read a ``.yaml`` / ``.yml`` / ``.json`` suite file (YAML via ``yaml.safe_load``) and validate it."""
    file = Path(path)
    if not file.exists():
        raise SuiteFileError(f"{file}: no such suite file")
    if file.is_dir():
        raise SuiteFileError(f"{file}: is a directory; give the path of a .yaml or .json suite file")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteFileError(f"{file}: cannot read the file ({exc})") from None
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SuiteFileError(f"{file}: line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SuiteFileError(f"{file}: {where}invalid YAML ({problem})") from None
    if data is None:
        raise SuiteFileError(f"{file}: the file is empty; it needs at least 'tests:'")
    return parse_suite(data, file)


# -- building the pipeline ----------------------------------------------------------------


class Pipeline:
    """The built components of a suite: synthesizer (None in text mode), agent, evaluator, effects."""

    def __init__(self, synthesizer: Any, agent: Any, evaluator: Any, effects: list[Any]) -> None:
        self.synthesizer = synthesizer
        self.agent = agent
        self.evaluator = evaluator
        self.effects = effects


def parse_effects(items: Sequence[Any], where: str) -> list[Any]:
    """Turn effect specs (``"noise:10db"``, a component mapping, or an effect object) into effect objects."""
    from .audio.effects import coerce_effects
    from .protocols import check_effects

    built: list[Any] = []
    for index, item in enumerate(items):
        try:
            if isinstance(item, Mapping) and not {"class", "factory", "object"} & set(item):
                raise SuiteFileError(f"expected a spec like 'noise:10db' or {{class: ..., params: ...}}, got {item!r}")
            effects = [build_component(dict(item))] if isinstance(item, Mapping) else coerce_effects(item)
            built.extend(check_effects(effects))
        except RussoError as exc:
            raise SuiteFileError(f"{where}[{index}]: {exc}") from None
        except ValidationError as exc:
            raise SuiteFileError(f"{where}[{index}]: {_describe_error(exc.errors()[0])}") from None
    return built


def build_pipeline(suite: Suite, *, cache: bool | None = None, cache_dir: str | Path | None = None) -> Pipeline:
    """Build the suite's components; missing ones come from the offline demo pipeline.

    ``cache`` / ``cache_dir`` override the file's ``pipeline.cache`` / ``pipeline.cache_dir``;
    when on, the synthesizer is wrapped in a :class:`~russo_nb.cache.CachedSynthesizer`.
    """
    suite = as_suite(suite)
    spec = suite.pipeline or PipelineSpec()
    where = f"{suite.source}: " if suite.source else ""

    def build(ref: ComponentRef, part: str) -> Any:
        try:
            return build_component(ref)
        except RussoError as exc:
            raise SuiteFileError(f"{where}pipeline.{part}: {exc}") from None

    if spec.text_mode:
        synthesizer = None
    elif spec.synthesizer is not None:
        synthesizer = build(spec.synthesizer, "synthesizer")
    else:
        synthesizer = default_synthesizer()
    agent = _build_agent(suite)
    if spec.evaluator is not None:
        evaluator = build(spec.evaluator, "evaluator")
    else:
        from .evaluators import ExactEvaluator

        evaluator = ExactEvaluator(ignore_extra_args=True)
    use_cache = spec.cache if cache is None else cache
    if synthesizer is not None and use_cache:
        synthesizer = wrap_cache(synthesizer, cache_dir or spec.cache_dir)
    try:
        effects = parse_effects(suite.effect_items(), "effects")
    except SuiteFileError as exc:
        raise SuiteFileError(f"{where}{exc}") from None
    if effects and synthesizer is None:
        raise SuiteFileError(f"{where}effects: effects change audio, so they need a synthesizer (text mode has none)")
    return Pipeline(synthesizer, agent, evaluator, effects)


def _build_agent(suite: Suite) -> Any:
    ref = suite.agent_ref()
    slot = "agent" if suite.agent is not None else "pipeline.agent"
    intents = suite.intents_path()
    if intents is not None:
        local = {"russo_nb.agents.LocalVoiceAgent", "russo_nb.agents.LocalVoiceAgent.demo"}
        if ref is not None and ref.path not in local:
            raise SuiteFileError(f"{suite._where()}intents: only the local voice agent reads an intents file")
        if not intents.exists():
            raise SuiteFileError(f"{suite._where()}intents: no such intents file {intents}")
        params = dict(ref.params) if ref is not None else {}
        ref = ComponentRef.model_validate({"class": "russo_nb.agents.LocalVoiceAgent", "params": params})
        ref.params["intents"] = str(intents)
    if ref is None:
        return default_agent()
    try:
        return build_component(ref)
    except RussoError as exc:
        raise SuiteFileError(f"{suite._where()}{slot}: {exc}") from None


def as_suite(suite: Any) -> Suite:
    """A :class:`Suite` from a Suite or a suite file path."""
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, (str, Path)):
        return load_suite(suite)
    raise SuiteFileError(f"expected a suite (russo_nb.config.Suite or a suite file path), got {type(suite).__name__}")


def wrap_cache(synthesizer: Any, cache_dir: str | Path | None = None) -> Any:
    """Wrap ``synthesizer`` in a CachedSynthesizer (unless it already is one)."""
    from .cache import DEFAULT_CACHE_DIR, AudioCache, CachedSynthesizer

    if isinstance(synthesizer, CachedSynthesizer):
        if cache_dir is not None:
            synthesizer.cache = AudioCache(cache_dir)
        return synthesizer
    return CachedSynthesizer(synthesizer, cache=AudioCache(cache_dir or DEFAULT_CACHE_DIR))


# -- running a suite ------------------------------------------------------------------------


class SuiteResult:
    """What a suite run produced: one BatchResult per test, the combined batch, and scenarios.

    ``result`` (the combined batch, ``metadata.name`` = the suite's name and the per-test
    slices in ``metadata.params['tests']``) is what reports, history and analysis take.
    """

    def __init__(self, name: str, tests: dict[str, Any], result: Any, scenarios: Any = None) -> None:
        self.name = name
        self.tests = tests
        self.result = result
        self.scenarios = scenarios

    @property
    def total(self) -> int:
        """Number of runs (prompt runs plus scenario runs)."""
        return self.result.total + (self.scenarios.total if self.scenarios is not None else 0)

    @property
    def passed_count(self) -> int:
        """Runs that passed (prompt runs plus scenario runs)."""
        return self.result.passed_count + (self.scenarios.passed_count if self.scenarios is not None else 0)

    @property
    def pass_rate(self) -> float:
        """Fraction of all runs that passed (1.0 when nothing ran)."""
        return self.passed_count / self.total if self.total else 1.0

    @property
    def passed(self) -> bool:
        """True only if every run passed."""
        return self.passed_count == self.total

    @property
    def interrupted(self) -> bool:
        """True when the run was cancelled or interrupted before every run finished."""
        return bool(self.result.metadata.params.get("interrupted"))

    def summary(self) -> str:
        """One line per test (pass rate and flaky prompts), then the total."""
        from .progress_text import flaky_lines, pass_line

        width = max([len(test_id) for test_id in self.tests] + [4])
        lines = [f"suite {self.name}"]
        for test_id, batch in self.tests.items():
            lines.append("  " + pass_line(test_id.ljust(width), batch))
            lines.extend(flaky_lines(batch, indent="  " + " " * (width + 2)))
        if self.scenarios is not None:
            by_name = self.scenarios.by_scenario()
            width = max([len(name) for name in by_name] + [width])
            lines.append("scenarios")
            for name, runs in by_name.items():
                passed = sum(1 for run in runs if run.status == "passed")
                extra = [run.status for run in runs if run.status not in ("passed", "failed")]
                tail = f", {len(extra)} {extra[0]}" if extra else ""
                flaky = "  (flaky)" if 0 < passed < len(runs) else ""
                lines.append(
                    f"  {name.ljust(width)}  {passed}/{len(runs)} passed ({passed / len(runs):.0%}{tail}){flaky}"
                )
        status = "PASSED" if self.passed else "FAILED"
        lines.append(f"{status}: {self.passed_count}/{self.total} runs passed ({self.pass_rate:.1%})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"SuiteResult({self.name!r}, {self.passed_count}/{self.total} passed, tests={len(self.tests)})"


class SuiteRun:
    """A suite being executed: all its tests share one engine run (one concurrency cap, one progress).

    ``await run.wait()`` or ``run_sync(run)`` gives the :class:`SuiteResult`; ``cancel()``
    stops it and ``result()`` keeps what finished.
    """

    def __init__(self, suite: Suite, test_ids: list[str], batches: list[Any], execution: Any, scenarios: Any) -> None:
        self.suite = suite
        self.test_ids = test_ids
        self.batches = batches
        self.execution = execution
        self.scenario_run = scenarios
        self._scenario_result: Any = None
        self._cancelled = False

    async def wait(self) -> SuiteResult:
        """Run every test (then every scenario) and return the result."""
        if self.execution is not None:
            await self.execution.wait()
        if self.scenario_run is not None and not self._cancelled:
            self._scenario_result = await self.scenario_run.wait()
        return self.result()

    def cancel(self) -> None:
        """Cancel unfinished runs; finished ones are kept."""
        self._cancelled = True
        if self.execution is not None:
            self.execution.cancel()
        if self.scenario_run is not None:
            self.scenario_run.cancel()

    def result(self) -> SuiteResult:
        """The suite as it stands, unfinished runs marked ``cancelled``."""
        from datetime import datetime, timezone

        from .types import BatchResult

        runs = self.execution.results() if self.execution is not None else []
        finished = datetime.now(timezone.utc)
        tests: dict[str, Any] = {}
        offset = 0
        started = (
            datetime.fromtimestamp(self.execution.started_at, tz=timezone.utc)
            if self.execution is not None
            else finished
        )
        for test_id, batch in zip(self.test_ids, self.batches, strict=True):
            # The test's own execution never ran (the shared one did): take its audio store and
            # metadata from its result and put in the runs the shared execution produced for it.
            own = batch.result()
            size = len(own.runs)
            metadata = own.metadata.model_copy()
            metadata.started_at, metadata.finished_at = started, finished
            chunk = runs[offset : offset + size]
            tests[test_id] = BatchResult.model_construct(runs=chunk, audio=dict(own.audio), metadata=metadata)
            offset += size
        suite = self.suite
        combined = combine_batches(
            tests,
            name=suite.label,
            seed=suite.seed,
            max_concurrency=self.execution.settings.max_concurrency if self.execution is not None else None,
            timeout=suite.timeout,
            started_at=started,
            params={"suite": str(suite.source) if suite.source else suite.label},
        )
        if self._cancelled or any(run.status == "cancelled" for run in combined.runs):
            combined.metadata.params["interrupted"] = True
        scenarios = self._scenario_result
        if scenarios is None and self.scenario_run is not None and self._cancelled:
            scenarios = self.scenario_run.result()
        return SuiteResult(suite.label, tests, combined, scenarios)


def combine_batches(tests: Mapping[str, Any], name: str, params: dict[str, Any] | None = None, **fields: Any) -> Any:
    """One BatchResult holding the runs of several named batches (suite tests, pytest tests).

    ``metadata.params['tests']`` lists each part: ``id``, ``tags``, ``prompts``, ``runs``
    (per prompt) and the slice ``first_run`` / ``n_runs`` of the combined ``runs``.
    Components and effects come from the parts; ``fields`` set other metadata.
    """
    from datetime import datetime, timezone

    from .types import BatchMetadata, BatchResult

    all_runs: list[Any] = []
    audio: dict[str, Any] = {}
    parts: list[dict[str, Any]] = []
    for test_id, batch in tests.items():
        parts.append(
            {
                "id": test_id,
                "tags": list(batch.metadata.tags),
                "prompts": list(batch.by_prompt()),
                "runs": batch.metadata.runs_per_prompt,
                "first_run": len(all_runs),
                "n_runs": len(batch.runs),
            }
        )
        all_runs.extend(batch.runs)
        audio.update(batch.audio)
    metas = [batch.metadata for batch in tests.values()]
    first = metas[0] if metas else None

    def same(attr: str) -> Any:
        values = {repr(getattr(meta, attr)) for meta in metas}
        return getattr(first, attr) if first is not None and len(values) == 1 else None

    now = datetime.now(timezone.utc)
    values: dict[str, Any] = {
        "name": name,
        "agent": same("agent") or (first.agent if first else None),
        "synthesizer": same("synthesizer"),
        "evaluator": same("evaluator") or (first.evaluator if first else None),
        "evaluator_params": dict(same("evaluator_params") or {}),
        "effects": list(dict.fromkeys(effect for meta in metas for effect in meta.effects)),
        "runs_per_prompt": same("runs_per_prompt"),
        "started_at": min((meta.started_at for meta in metas), default=now),
        "finished_at": max((meta.finished_at or now for meta in metas), default=now),
        "tags": sorted({tag for meta in metas for tag in meta.tags}),
    }
    values.update(fields)
    text_mode = {meta.params.get("text_mode") for meta in metas}
    values["params"] = {
        **(params or {}),
        "tests": parts,
        "text_mode": text_mode.pop() if len(text_mode) == 1 else None,
    }
    metadata = BatchMetadata(**values)
    return BatchResult.model_construct(runs=all_runs, audio=audio, metadata=metadata)


def start_suite(
    suite: Suite | str | Path,
    runs: int | None = None,
    max_concurrency: int | None = None,
    tags: Sequence[str] | None = None,
    on_progress: Any = None,
    *,
    pipeline: Pipeline | None = None,
    cache: bool | None = None,
    cache_dir: str | Path | None = None,
) -> SuiteRun:
    """Validate, build the pipeline and prepare every test's runs (without running them)."""
    from .engine import EngineSettings, Execution
    from .errors import InvalidArgumentError
    from .runner import start_batch

    suite = as_suite(suite)
    if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 1):
        raise InvalidArgumentError(f"runs must be a whole number >= 1, got {runs!r}")
    where = f"{suite.source}: " if suite.source else ""
    tests, scenarios = suite.select(tags)
    if pipeline is None:
        pipeline = build_pipeline(suite, cache=cache, cache_dir=cache_dir)
    index_of = {id(test): index for index, test in enumerate(suite.tests)}
    ids = suite.test_ids()
    batches = []
    test_ids = []
    for test in tests:
        index = index_of[id(test)]
        effects = pipeline.effects
        if test.effects is not None:
            try:
                effects = parse_effects(test.effects, f"tests[{index}].effects")
            except SuiteFileError as exc:
                raise SuiteFileError(f"{where}{exc}") from None
            if effects and pipeline.synthesizer is None:
                raise SuiteFileError(f"{where}tests[{index}].effects: effects need a synthesizer (text mode has none)")
        try:
            batch = start_batch(
                test.prompt_list,
                pipeline.synthesizer,
                pipeline.agent,
                pipeline.evaluator,
                test.expect,
                runs or test.runs or suite.runs,
                effects=effects,
                seed=suite.seed,
                name=f"{suite.label}/{ids[index]}",
                tags=test.tags,
            )
        except RussoError as exc:
            raise SuiteFileError(f"{where}tests[{index}]: {exc}") from None
        batches.append(batch)
        test_ids.append(ids[index])
    concurrency = max_concurrency if max_concurrency is not None else suite.max_concurrency
    settings = EngineSettings(max_concurrency=concurrency, timeout=suite.timeout)
    items = [item for batch in batches for item in batch.execution.items]
    execution = Execution(items, settings, on_progress) if items else None
    scenario_run = _start_scenarios(suite, scenarios, pipeline, runs, concurrency) if scenarios else None
    return SuiteRun(suite, test_ids, batches, execution, scenario_run)


def run_suite(
    suite: Suite | str | Path,
    runs: int | None = None,
    max_concurrency: int | None = None,
    tags: Sequence[str] | None = None,
    on_progress: Any = None,
    **options: Any,
) -> SuiteResult:
    """Run a suite (a :class:`Suite` or a file path) from sync code; ``runs`` etc. override the file.

    Works inside a running event loop (a notebook) too; Ctrl-C keeps the finished runs.
    """
    from .sync import run_sync

    return run_sync(start_suite(suite, runs, max_concurrency, tags, on_progress, **options))


def _start_scenarios(
    suite: Suite, specs: list[ScenarioSpec], pipeline: Pipeline, runs: int | None, cap: int | None
) -> _ScenarioGroups:
    """Build each scenario (imported by ``ref`` or inline) and prepare its runs, grouped by run count."""
    from .errors import RussoError
    from .scenario import start_scenarios

    index_of = {id(spec): index for index, spec in enumerate(suite.scenarios)}
    groups: dict[int, list[Any]] = {}
    for spec in specs:
        index = index_of[id(spec)]
        try:
            built = _build_scenarios(spec, index, suite, pipeline)
        except RussoError as exc:
            raise SuiteFileError(f"{suite._where()}scenarios[{index}]: {exc}") from None
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
            raise SuiteFileError(f"{suite._where()}scenarios: {exc}") from None
    return _ScenarioGroups(handles)


def _build_scenarios(spec: ScenarioSpec, index: int, suite: Suite, pipeline: Pipeline) -> list[Any]:
    from .components import import_object
    from .scenario import JudgeAgent, Scenario, UserSimulatorAgent, VoiceAgentAdapter
    from .scenario.criteria import criterion_from_data
    from .scenario.script import script_from_data

    if spec.ref is not None:
        found = import_object(spec.ref)
        found = found() if callable(found) and not isinstance(found, Scenario) else found
        items = list(found) if isinstance(found, (list, tuple)) else [found]
        for item in items:
            if not isinstance(item, Scenario):
                raise SuiteFileError(f"ref {spec.ref!r} gave a {type(item).__name__}, not a russo_nb.scenario.Scenario")
        return items
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

    return [
        Scenario(
            name=spec.name or spec.id or f"scenario{index + 1}",
            description=spec.description or "",
            agents=agents,
            script=script,
            max_turns=spec.max_turns or 10,
            tags=list(spec.tags),
        )
    ]


class _ScenarioGroups:
    """Scenario batches (one per run count) run one after another and merged into one ScenarioBatch."""

    def __init__(self, handles: list[Any]) -> None:
        self.handles = handles
        self._cancelled = False

    async def wait(self) -> Any:
        for handle in self.handles:
            if self._cancelled:
                break
            await handle.wait()
        return self.result()

    def cancel(self) -> None:
        self._cancelled = True
        for handle in self.handles:
            handle.cancel()

    def result(self) -> Any:
        from .scenario import ScenarioBatch

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
