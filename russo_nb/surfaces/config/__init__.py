"""Suite files: a pipeline, tests and scenarios in YAML or JSON, validated by pydantic.

A suite names its components by import path (see :mod:`russo_nb.execution.components`), lists
tests (prompts + expected tool calls) and optionally scenarios. A file without a
``pipeline:`` runs on the offline demo pipeline (espeak-ng voice + the local voice
agent). Every problem is a :class:`~russo_nb.model.errors.SuiteFileError` naming the file,
the place inside it (``tests[2].expect[0]``) and what was expected.

Modules: :mod:`.models` (the file's pydantic models), :mod:`.loading` (reading and
error messages), :mod:`.pipeline` (building components), :mod:`.running` (running a
suite), :mod:`.scenarios` (a suite's scenarios), :mod:`.combine` (one batch from many).

Example::

    name: flights
    pipeline:
      synthesizer: {class: russo_nb.audio.EspeakSynthesizer}   # null = text mode
      agent: {factory: russo_nb.adapters.LocalVoiceAgent.demo}
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

from .combine import combine_batches
from .loading import describe_error, format_location, load_suite, parse_suite
from .models import AGENT_ALIASES, ExecutorSpec, PipelineSpec, ScenarioSpec, Suite, TestSpec
from .pipeline import Pipeline, as_suite, build_pipeline, parse_effects, wrap_cache
from .running import SuiteResult, make_executor, run_suite, start_suite, suite_executor

__all__ = [
    "AGENT_ALIASES",
    "ExecutorSpec",
    "Pipeline",
    "PipelineSpec",
    "ScenarioSpec",
    "Suite",
    "SuiteResult",
    "TestSpec",
    "as_suite",
    "build_pipeline",
    "combine_batches",
    "describe_error",
    "format_location",
    "load_suite",
    "make_executor",
    "parse_effects",
    "parse_suite",
    "run_suite",
    "start_suite",
    "suite_executor",
    "wrap_cache",
]
