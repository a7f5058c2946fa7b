"""pytest plugin: the ``russo`` marker, the ``russo_result`` fixture, options and a terminal summary.

Registered through the ``pytest11`` entry point, so installing russo_nb is enough::

    @pytest.mark.russo(prompt="Book a flight from NYC to LA",
                       expect=[russo.tool_call("book_flight", to_city="LA")], runs=3)
    async def test_reliability(russo_result):
        assert russo_result.pass_rate >= 0.8

The agent comes from a ``russo_agent`` fixture the user defines (in conftest.py); the
synthesizer defaults to the offline one and the evaluator to russo's default, the strict
``ExactEvaluator()`` (:func:`russo_nb.execution.pipeline.strict_evaluator`; ``run()`` / ``run_concurrent()``
without ``evaluator=`` use russo_nb's lenient default instead). ``async def`` tests marked ``russo`` run
without pytest-asyncio; when pytest-asyncio handles a test, it is left to it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ..execution.engine import OPTION_NAMES, TEXT_OPTIONS
from .arguments import NEGATIVE_NUMBER, add_engine_arguments

__all__ = ["MARKER_KEYS", "SCENARIO_MARKER_KEYS"]

logger = logging.getLogger("russo_nb")

#: Keys of ``@pytest.mark.russo``: the test's own, then every engine option
#: (:class:`~russo_nb.execution.engine.EngineOptions`).
MARKER_KEYS = ("prompt", "prompts", "expect", "runs", "effects", "agent", "synthesizer", "evaluator", *OPTION_NAMES)
#: Keys of ``@pytest.mark.russo_scenario``.
SCENARIO_MARKER_KEYS = ("scenario", "scenarios", "runs", "agent", *OPTION_NAMES)

_RUSSO_USAGE = {
    "missing": "the russo_result fixture needs @pytest.mark.russo(prompt=..., expect=...) on the test",
    "one_of": "@pytest.mark.russo needs exactly one of prompt= (a string) or prompts= (a list of strings)",
    "expect": "@pytest.mark.russo needs expect=[...], the tool calls the agent should make, e.g. "
    "expect=[\"book_flight(to_city='LA')\"]; without it every run would pass",
}
_SCENARIO_USAGE = {
    "missing": "the russo_scenario_result fixture needs @pytest.mark.russo_scenario(my_scenario, runs=...)",
    "one_of": "@pytest.mark.russo_scenario needs a scenario (or scenarios=[...])",
}

_RECORDS = pytest.StashKey[list]()
_REPORT_OUTCOME = pytest.StashKey[dict]()
_MISSING = object()


# -- options and markers ------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    optparser = getattr(parser, "optparser", None)  # pytest >= 9 keeps its argparse parser here
    if optparser is not None:  # --russo-timeout -1e3 is a value (said wrong by its reader), as in russo and %russo
        optparser._negative_number_matcher = NEGATIVE_NUMBER
    group = parser.getgroup("russo", "russo_nb: test voice agents' tool calls")
    group.addoption(
        "--russo-runs",
        type=int,
        default=None,
        metavar="N",
        help="runs per prompt for every russo test (a marker's runs= wins)",
    )
    # --russo-max-concurrency, --russo-timeout, --russo-retries, --russo-rate-limit, --russo-seed ...
    # (a marker's key of the same name wins)
    add_engine_arguments(group, prefix="russo-", add="addoption")
    group.addoption("--russo-report", default=None, metavar="PATH", help="write an HTML report of all russo tests")
    group.addoption(
        "--russo-cache",
        action="store_true",
        default=True,
        dest="russo_cache",
        help="cache synthesized prompts (the default)",
    )
    group.addoption(
        "--russo-no-cache",
        action="store_false",
        dest="russo_cache",
        help="synthesize every prompt again (no audio cache)",
    )
    group.addoption(
        "--russo-clear-cache", action="store_true", default=False, help="empty the audio cache before the tests run"
    )
    group.addoption(
        "--russo-cache-dir", default=None, metavar="DIR", help="audio cache directory (default <rootdir>/.russo_cache)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "russo(prompt=None, prompts=None, expect=None, runs=None, max_concurrency=None, timeout=None, effects=None): "
        "run the prompt(s) through the russo pipeline; the result is the russo_result fixture",
    )
    config.addinivalue_line(
        "markers",
        "russo_scenario(scenario, runs=None, max_concurrency=None, timeout=None): "
        "run a russo_nb.scenario Scenario; the result is the russo_scenario_result fixture",
    )
    runs = config.getoption("russo_runs")
    if runs is not None and runs < 1:
        raise pytest.UsageError(f"--russo-runs must be a whole number >= 1, got {runs}")
    report = config.getoption("russo_report")
    if report:  # now, not after every test has run
        from ..model.errors import RussoError
        from ..results.report.files import check_report_path

        try:
            check_report_path(report)
        except RussoError as exc:
            raise pytest.UsageError(f"--russo-report: {exc}") from None
    if config.getoption("russo_cache_dir") or config.getoption("russo_clear_cache"):  # only when russo is asked
        from ..model.errors import RussoError
        from ..voice.cache import AudioCache

        try:
            AudioCache(_cache_dir(config))  # a file given as the folder: a usage error now, not every run's error
        except RussoError as exc:
            raise pytest.UsageError(f"--russo-cache-dir: {exc}") from None
    config.stash[_RECORDS] = []


# -- fixtures users override --------------------------------------------------------------------


@pytest.fixture(scope="session")
def russo_synthesizer() -> Any:
    """The synthesizer russo tests use: the offline espeak-ng one unless a conftest overrides it.

    Return ``None`` from an override for text mode (the agent reads the prompt text).
    """
    from ..execution.pipeline import default_synthesizer

    return default_synthesizer()


@pytest.fixture(scope="session")
def russo_agent() -> Any:
    """The agent under test; there is no default, a conftest must define it."""
    pytest.fail(
        "russo: no agent to test. Define a `russo_agent` fixture (e.g. in conftest.py) returning your agent:\n"
        "    @pytest.fixture\n"
        "    def russo_agent():\n"
        "        return MyAgent()   # any object with `async def run(self, audio)`, or an @russo.agent function",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def russo_evaluator() -> Any:
    """The evaluator: russo's default, the strict ``ExactEvaluator()``, unless a conftest overrides it."""
    from ..execution.pipeline import strict_evaluator

    return strict_evaluator()


# -- the russo marker -----------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    """Fail the test with ``russo: message``, one line: an error being handled is not shown again above it.

    What an agent or server wrote (a run's error) is made inert, as everywhere russo prints to a terminal.
    """
    from ..model.plain_text import terminal_safe

    failure = pytest.fail.Exception(f"russo: {terminal_safe(message)}", pytrace=False)
    failure.__suppress_context__ = True  # "During handling of the above exception ..." repeated the message
    raise failure


def _marker_kwargs(
    request: pytest.FixtureRequest, name: str, allowed: tuple[str, ...], usage: dict[str, str]
) -> dict[str, Any]:
    """The test's ``@pytest.mark.<name>`` arguments, checked: known keys, exactly one of the first two.

    ``usage`` holds the messages for a missing marker (``"missing"``) and for giving
    both or neither of ``allowed[0]`` / ``allowed[1]`` (``"one_of"``).
    """
    marker = request.node.get_closest_marker(name)
    if marker is None:
        _fail(usage["missing"])
    kwargs = dict(marker.kwargs)
    if marker.args:
        first = allowed[0]
        if len(marker.args) > 1 or first in kwargs:
            _fail(f"@pytest.mark.{name} takes keyword arguments ({', '.join(allowed)}), got {marker.args!r}")
        kwargs[first] = marker.args[0]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        _fail(f"@pytest.mark.{name} got unknown argument(s) {', '.join(unknown)}; it takes {', '.join(allowed)}")
    if (allowed[0] in kwargs) == (allowed[1] in kwargs):
        _fail(usage["one_of"])
    if "expect" in usage and kwargs.get("expect") is None:
        _fail(usage["expect"])
    return kwargs


def _component(request: pytest.FixtureRequest, kwargs: dict[str, Any], key: str) -> Any:
    """The marker's own component if it names one, else the ``russo_<key>`` fixture."""
    value = kwargs.get(key, _MISSING)
    if value is not _MISSING:
        return value
    return request.getfixturevalue(f"russo_{key}")


def _cache_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("russo_cache_dir") or (config.rootpath / ".russo_cache"))


def _cached(config: pytest.Config, synthesizer: Any) -> Any:
    if synthesizer is None or not config.getoption("russo_cache"):
        return synthesizer
    from .config import wrap_cache

    return wrap_cache(synthesizer, _cache_dir(config))


def pytest_sessionstart(session: pytest.Session) -> None:
    """``--russo-clear-cache``: empty the audio cache before any test runs, and say how much went."""
    config = session.config
    if not config.getoption("russo_clear_cache"):
        return
    from ..voice.cache import AudioCache

    directory = _cache_dir(config)
    removed = AudioCache(directory).clear()
    config.get_terminal_writer().line(f"russo: cleared {removed} cached audio entries from {directory}")


def _effects(value: Any) -> list[Any]:
    from ..execution.pipeline import build_effects
    from ..model.errors import SuiteFileError

    return build_effects(value, where="effects", error=SuiteFileError)


def _setting(kwargs: dict[str, Any], key: str, config: pytest.Config, option: str | None = None) -> Any:
    if kwargs.get(key) is not None:
        return kwargs[key]
    return config.getoption(option) if option else None


def _runs(kwargs: dict[str, Any], config: pytest.Config) -> Any:
    """The marker's ``runs=``, else ``--russo-runs``, else 1; a bad value (0, "3") is left for the engine to refuse."""
    runs = _setting(kwargs, "runs", config, "russo_runs")
    return 1 if runs is None else runs


def _engine(kwargs: dict[str, Any], config: pytest.Config) -> dict[str, Any]:
    """The engine options of one test: the marker's keys, else the ``--russo-*`` options (None: not given)."""
    return {
        name: _setting(kwargs, name, config, f"russo_{name}" if name in TEXT_OPTIONS else None) for name in OPTION_NAMES
    }


@pytest.fixture
def russo_result(request: pytest.FixtureRequest) -> Any:
    """The outcome of the test's ``@pytest.mark.russo``: EvalResult for one prompt × one run, else BatchResult."""
    from ..execution.runner import start_batch
    from ..execution.sync import run_sync
    from ..model.errors import RussoError

    kwargs = _marker_kwargs(request, "russo", MARKER_KEYS, _RUSSO_USAGE)
    config = request.config
    prompts = kwargs.get("prompt", kwargs.get("prompts"))
    runs = _runs(kwargs, config)
    try:
        synthesizer = _cached(config, _component(request, kwargs, "synthesizer"))
        agent = _component(request, kwargs, "agent")
        evaluator = _component(request, kwargs, "evaluator")
        batch = start_batch(
            prompts,
            synthesizer,
            agent,
            evaluator,
            kwargs.get("expect"),
            runs,
            effects=_effects(kwargs.get("effects")),
            name=request.node.nodeid,
            **_engine(kwargs, config),
        )
    except RussoError as exc:
        _fail(str(exc))
    result = run_sync(batch)
    config.stash[_RECORDS].append((request.node.nodeid, result))
    single = isinstance(prompts, str) or len(prompts) == 1
    if single and runs == 1:
        run = result.runs[0]
        if run.status in ("error", "timeout", "cancelled"):
            _fail(f"the run ended with {run.status}: {run.error}")
        return run.eval_result
    return result


# -- scenarios ------------------------------------------------------------------------------


@pytest.fixture
def russo_scenario_result(request: pytest.FixtureRequest) -> Any:
    """The outcome of ``@pytest.mark.russo_scenario(scenario, runs=...)``: a ScenarioBatch.

    A scenario whose ``agents`` hold no agent under test gets the marker's ``agent=`` or
    the ``russo_agent`` fixture, so one conftest serves prompt tests and scenarios alike.
    """
    from ..execution.sync import run_sync
    from ..model.errors import RussoError

    kwargs = _marker_kwargs(request, "russo_scenario", SCENARIO_MARKER_KEYS, _SCENARIO_USAGE)
    config = request.config
    from .. import scenario as scenario_mod

    given = kwargs.get("scenarios") if "scenarios" in kwargs else [kwargs["scenario"]]
    try:
        scenarios = [_with_agent_under_test(item, request, kwargs) for item in given]
        handle = scenario_mod.start_scenarios(
            scenarios,
            _runs(kwargs, config),
            name=request.node.nodeid,
            **_engine(kwargs, config),
        )
    except RussoError as exc:
        _fail(str(exc))
    result = run_sync(handle)
    config.stash[_RECORDS].append((request.node.nodeid, result))
    return result


def _with_agent_under_test(item: Any, request: pytest.FixtureRequest, kwargs: dict[str, Any]) -> Any:
    """``item`` itself, or a copy whose agents start with the test's agent when it has none."""
    from ..scenario import Scenario
    from ..scenario.adapters import AgentRole, as_adapter, role_of

    if not isinstance(item, Scenario):
        return item  # start_scenarios explains what a scenario must be
    agents = item.make_agents()
    if any(role_of(as_adapter(agent)) == AgentRole.AGENT for agent in agents):
        return item
    under_test = _component(request, kwargs, "agent")
    original = item.agents

    def team() -> list[Any]:
        rest = original() if callable(original) and not isinstance(original, (list, tuple)) else list(original)
        return [under_test, *rest]

    return item.model_copy(update={"agents": team})


_MARKER_FIXTURES = {"russo": "russo_result", "russo_scenario": "russo_scenario_result"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``russo`` that never asks for ``russo_result`` would pass without a run: it fails instead.

    Only the test's own marker counts; a module's or class's ``pytestmark`` may cover helper tests too.
    """
    for marker in getattr(item, "own_markers", []):
        fixture = _MARKER_FIXTURES.get(marker.name)
        if fixture is not None and fixture not in getattr(item, "fixturenames", ()):
            _fail(
                f"@pytest.mark.{marker.name} runs nothing unless the test asks for the {fixture} fixture; "
                f"add it to the arguments: def {item.name.split('[')[0]}({fixture}): ..."
            )


# -- async tests without an async plugin -------------------------------------------------------


def _is_russo_test(item: pytest.Function) -> bool:
    return item.get_closest_marker("russo") is not None or item.get_closest_marker("russo_scenario") is not None


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    """Run ``async def`` russo tests on a fresh event loop, unless an async plugin owns the test."""
    function = pyfuncitem.obj
    if not (_is_russo_test(pyfuncitem) and inspect.iscoroutinefunction(function)):
        return None
    if pyfuncitem.get_closest_marker("asyncio") is not None or pyfuncitem.get_closest_marker("anyio") is not None:
        return None
    funcargs = pyfuncitem.funcargs
    arguments = {name: funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    with asyncio.Runner() if hasattr(asyncio, "Runner") else _LegacyRunner() as runner:
        runner.run(function(**arguments))
    return True


class _LegacyRunner:
    """``asyncio.Runner`` for Python 3.10."""

    def __enter__(self) -> _LegacyRunner:
        self.loop = asyncio.new_event_loop()
        return self

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def __exit__(self, *exc: Any) -> None:
        try:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


# -- report and terminal summary ---------------------------------------------------------------


def _split_records(records: list[tuple[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prompt batches and scenario batches of the session, by test id."""
    from ..model.types import BatchResult

    prompts: dict[str, Any] = {}
    scenarios: dict[str, Any] = {}
    for nodeid, result in records:
        (prompts if isinstance(result, BatchResult) else scenarios)[nodeid] = result
    return prompts, scenarios


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    path = config.getoption("russo_report", None)
    records = config.stash.get(_RECORDS, [])
    if not path or not records:
        return
    outcome: dict[str, Any] = {}
    try:
        from ..results.report import write_report
        from .config import combine_batches

        prompts, scenarios = _split_records(records)
        target = Path(path)
        written: list[Path] = []
        if prompts:
            combined = combine_batches(prompts, name="pytest", params={"source": "pytest"})
            written.append(Path(write_report(combined, target)))
        if scenarios:
            as_batches = {nodeid: batch.to_batch_result() for nodeid, batch in scenarios.items()}
            combined = combine_batches(as_batches, name="pytest scenarios", kind="scenarios")
            place = target.with_name(target.stem + "-scenarios" + target.suffix) if prompts else target
            written.append(Path(write_report(combined, place)))
        outcome["path"] = ", ".join(str(item) for item in written)
    except Exception as exc:  # a failed report must not hide the test results
        logger.debug("russo: writing the report failed", exc_info=True)
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    config.stash[_REPORT_OUTCOME] = outcome


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    from ..model.plain_text import terminal_safe
    from ..model.thresholds import format_rate
    from ..results.progress_text import flaky_lines, pass_line
    from ..results.view.kit import plural

    records = config.stash.get(_RECORDS, [])
    if not records:
        return
    terminalreporter.section("russo")
    width = max(len(nodeid) for nodeid, _ in records)
    finished = passed = cancelled = 0
    for nodeid, result in records:
        terminalreporter.write_line(pass_line(nodeid.ljust(width), result))
        for line in flaky_lines(result):  # prompt and scenario batches alike (the view's per-prompt rows)
            terminalreporter.write_line(line)
        finished += result.finished_count  # as each test's line: cancelled runs are counted, never scored
        passed += result.passed_count
        cancelled += result.cancelled_count
    rate = format_rate(passed / finished if finished else math.nan)
    tests = plural(len(records), "test")
    tail = f"; {plural(cancelled, 'cancelled run')} not counted" if cancelled else ""
    terminalreporter.write_line(f"russo: {tests}, {passed}/{finished} finished runs passed ({rate}){tail}")
    outcome = config.stash.get(_REPORT_OUTCOME, {})
    if "path" in outcome:
        terminalreporter.write_line(f"russo report: {outcome['path']}")
    elif "error" in outcome:
        terminalreporter.write_line(f"russo report NOT written: {terminal_safe(outcome['error'])}", red=True)
