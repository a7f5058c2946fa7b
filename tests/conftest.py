"""Shared test setup: a headless matplotlib backend, the ``slow`` convention and the fixtures used across areas.

Tests that start a process (the CLI, a kernel, JupyterLab, Chromium, a second interpreter) are marked
``@pytest.mark.slow``; ``pytest -m "not slow"`` is the quick inner loop, plain ``pytest`` runs everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_raises_keyboard_interrupt():
    """Ctrl-C tests need SIGINT to raise KeyboardInterrupt, here and in the children they start.

    A test run launched in the background by a non-interactive shell inherits SIGINT as
    *ignored*, and so would every child process; installing Python's handler here makes
    children start with the default disposition again (handled signals reset on exec).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


# -- shared builders ------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
# The console script pip installed beside this interpreter: the one a user of this Python gets, whatever PATH says.
RUSSO_SCRIPT = Path(sys.executable).with_name("russo")


@pytest.fixture(scope="session")
def cli_env() -> dict[str, str]:
    """The environment of child processes: this checkout and tests/ (agents like ``cli_agents``) first on the path."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), str(ROOT), out.get("PYTHONPATH", "")) if p)
    return out


@pytest.fixture(scope="session")
def russo_cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``russo ARGS`` as a user would, in a real process: ``python -m russo_nb`` or (``script=True``) the
    console script installed next to ``sys.executable``. Returns the finished process (text output captured)."""

    def run(*args: str, cwd: Path, script: bool = False, timeout: float = 120, **kw: Any):
        if script:
            assert RUSSO_SCRIPT.exists(), f"no russo console script next to {sys.executable} (pip install -e .)"
            command = [str(RUSSO_SCRIPT), *args]
        else:
            command = [sys.executable, "-m", "russo_nb", *args]
        return subprocess.run(command, cwd=cwd, env=cli_env, capture_output=True, text=True, timeout=timeout, **kw)

    return run


@pytest.fixture(scope="session")
def ip() -> Any:
    """IPython's one global test shell with ``%load_ext russo_nb`` done (started on first use)."""
    from notebook_helpers import ipython_shell

    return ipython_shell()


@pytest.fixture(scope="session")
def espeak() -> Any:
    """The real offline voice (espeak-ng), shared: building it loads the engine once."""
    from russo_nb.audio import EspeakSynthesizer

    return EspeakSynthesizer()


@pytest.fixture(scope="module")
def http_agent_server() -> Iterator[Any]:
    """examples/local_servers.py's HTTP agent on 127.0.0.1 (a thread in this process), one per test module."""
    from adapter_helpers import HttpAgentServer

    with HttpAgentServer() as running:
        yield running


@pytest.fixture(scope="session")
def scenario_batch() -> Any:
    """Two booking scenarios, two runs each, with a batch condition (scorers: tool-call match and success)."""
    from scenario_helpers import booking_scenario

    from russo_nb import scenario
    from russo_nb.scenario.criteria import tool_called

    spec = booking_scenario(
        "book <Oslo>",
        "a flight to Oslo",
        [tool_called("book_flight")],
        scorers=[scenario.scorers.tool_call_match(["book_flight(to_city='Oslo')"]), scenario.scorers.success()],
    )
    asks = booking_scenario("ask <first>", "hello", [tool_called("book_flight")], scorers=[scenario.scorers.success()])
    return scenario.run_scenarios_sync([spec, asks], runs=2, seed=3, conditions={"agent_version": "v<2>"})
