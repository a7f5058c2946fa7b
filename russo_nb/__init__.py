"""russo_nb: test voice and text agents' tool calls, many times over, and see how reliable they are.

``import russo_nb as russo`` runs code written for the russo API unchanged. pandas,
matplotlib and ipywidgets are not imported here; they load when a DataFrame, a chart
or a widget is first asked for.
"""

from __future__ import annotations

from typing import Any

from . import _moved
from .execution.engine import Job, Plan, Progress
from .execution.precision import Precision
from .execution.resume import resume
from .execution.runner import run, run_concurrent, start_batch
from .execution.sweep import run_sweep, run_sweep_sync, start_sweep
from .execution.sync import run_concurrent_sync, run_sync
from .model import evaluators
from .model.assertions import assert_tool_calls
from .model.columns import Run, RunColumn
from .model.errors import (
    ConfigurationError,
    ExpectationError,
    InvalidArgumentError,
    ProtocolError,
    RetryableError,
    RussoError,
    SuiteFileError,
    ToolCallAssertionError,
    UnknownNameError,
)
from .model.expectations import parse_expectation, tool_call
from .model.protocols import Agent, Evaluator, Synthesizer, agent
from .model.run_fields import FIELDS, RunField, run_table
from .model.types import (
    AgentResponse,
    Audio,
    BatchMetadata,
    BatchResult,
    EvalResult,
    RunError,
    SingleRunResult,
    ToolCall,
    ToolCallMatch,
)
from .voice.cache import AudioCache, CachedSynthesizer

_moved.install()  # the old flat module paths (russo_nb.execution.engine, russo_nb.report ...) keep importing

__version__ = "0.1.0"

__all__ = [
    # the russo API
    "Audio",
    "ToolCall",
    "AgentResponse",
    "EvalResult",
    "ToolCallMatch",
    "SingleRunResult",
    "BatchResult",
    "tool_call",
    "agent",
    "run",
    "run_concurrent",
    "assert_tool_calls",
    "ToolCallAssertionError",
    "AudioCache",
    "CachedSynthesizer",
    "evaluators",
    # protocols
    "Synthesizer",
    "Agent",
    "Evaluator",
    # beyond russo
    "BatchMetadata",
    "RunError",
    "Run",
    "RunColumn",
    "FIELDS",
    "RunField",
    "run_table",
    "Progress",
    "Job",
    "Plan",
    "start_batch",
    "resume",
    "Precision",
    "start_sweep",
    "run_sweep",
    "run_sweep_sync",
    "run_concurrent_sync",
    "run_sync",
    "parse_expectation",
    "RussoError",
    "InvalidArgumentError",
    "ExpectationError",
    "ProtocolError",
    "UnknownNameError",
    "SuiteFileError",
    "ConfigurationError",
    "__version__",
    "load_ipython_extension",
    "explore",
    "scenario",
    "EspeakSynthesizer",
    "LocalVoiceAgent",
    "HttpAgent",
    "OpenAIChatAgent",
    "load_suite",
    "run_suite",
    "run_demo",
    "HistoryStore",
    "DaskExecutor",
    "RetryableError",
    "adapters",
    "parsers",
    "synthesizers",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext russo_nb``: register the ``%russo`` / ``%%russo`` magics."""
    from .surfaces.notebook.magics import load_ipython_extension as _load

    _load(ipython)


def explore(result: Any, **options: Any) -> Any:
    """An ipywidgets explorer for a result: overview charts, prompts with audio, runs, failures, transcripts."""
    from .surfaces.notebook.explorer import explore as _explore

    return _explore(result, **options)


# Loaded on first use, so ``import russo_nb`` stays light: name -> (module, attribute or None for
# the module itself). Add a row to export another heavy name.
_LAZY: dict[str, tuple[str, str | None]] = {
    "scenario": (".scenario", None),
    "EspeakSynthesizer": (".voice.audio.espeak", "EspeakSynthesizer"),
    "LocalVoiceAgent": (".adapters.local", "LocalVoiceAgent"),
    "HttpAgent": (".adapters.http", "HttpAgent"),
    "OpenAIChatAgent": (".adapters.openai_chat", "OpenAIChatAgent"),
    "adapters": (".adapters", None),
    "parsers": (".adapters.parsers", None),
    "synthesizers": (".voice.synthesizers", None),
    "load_suite": (".surfaces.config", "load_suite"),
    "run_suite": (".surfaces.config", "run_suite"),
    "run_demo": (".surfaces.demo", "run_demo"),
    "HistoryStore": (".results.store", "HistoryStore"),
    "DaskExecutor": (".execution.dask_executor", "DaskExecutor"),
}


def __getattr__(name: str) -> Any:
    """Resolve a name of :data:`_LAZY` on first use, or an earlier module path (``russo_nb.model.types``)."""
    import importlib

    entry = _LAZY.get(name)
    if entry is None:
        if f"{__name__}.{name}" in _moved.MOVED:  # the module, as `russo.types.X` found it before the rooms
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module 'russo_nb' has no attribute {name!r}")
    module = importlib.import_module(entry[0], __name__)
    return module if entry[1] is None else getattr(module, entry[1])


def _register_views() -> None:
    """Connect the data classes to the views that draw them (lazily, see :mod:`russo_nb.model.rendering`)."""
    from .model.rendering import register_view

    def batch_html(result: Any, **options: Any) -> str:
        from .surfaces.notebook.html import batch_html as draw

        return draw(result, **options)

    def scenario_html(result: Any, **options: Any) -> str:
        from .surfaces.notebook.html import scenario_result_html as draw

        return draw(result, **options)

    def runs_frame(result: Any, **options: Any) -> Any:
        from .results.analysis.stored_frame import runs_frame_of as build

        return build(result, **options)

    def mimebundle(result: Any, **options: Any) -> dict[str, str]:
        from .results.view import mimebundle as bundle

        return bundle(result, **options)

    def summary_text(result: Any, **options: Any) -> str:
        from .results.view import summary_text as write

        return write(result, **options)

    register_view("html", batch_html)
    register_view("mimebundle", mimebundle)
    register_view("summary_text", summary_text)
    register_view("scenario_html", scenario_html)
    register_view("runs_frame", runs_frame)

    def view_model(result: Any, **options: Any) -> Any:
        from .results.view import build_view

        return build_view(result, **options)

    def pass_k(result: Any, **options: Any) -> float:
        from .results.analysis.rows import mean_pass_k

        return mean_pass_k(result, **options)

    register_view("view_model", view_model)
    register_view("pass_k", pass_k)


_register_views()
