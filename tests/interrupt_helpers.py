"""Ctrl-C in a real child interpreter: run a script, press Ctrl-C (SIGINT) once it is busy, read what it printed.

Shared by the engine's Ctrl-C tests (tests/test_engine_hardening.py, tests/test_harden_engine.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path


def interrupt(tmp_path: Path, body: str, ready: str = "READY") -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a child; send SIGINT once it prints ``ready``; return what it printed."""
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(body))
    child = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    lines = []
    for line in child.stdout:
        lines.append(line)
        if ready in line:
            child.send_signal(signal.SIGINT)
            break
    out, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, "".join(lines) + out, err)


def scenario_teardown_script(teardown_s: float) -> str:
    """A one-run scenario whose agent hangs (after printing READY) and whose teardown takes ``teardown_s``.

    The child prints ``TORN DOWN <run index>`` when the teardown finished, then
    ``RESULT <status> <last phase>`` for the run once the batch returned.
    """
    return f"""
        import asyncio
        from russo_nb import scenario

        class Slow(scenario.AgentAdapter):
            async def call(self, state):
                print("READY", flush=True)
                await asyncio.sleep(60)

        async def teardown(state):
            await asyncio.sleep({teardown_s!r})
            print("TORN DOWN", state.run_index, flush=True)

        spec = scenario.Scenario(
            name="s", agents=[Slow()], script=[scenario.user("hi"), scenario.agent()], teardown=teardown
        )
        batch = scenario.run_scenarios_sync(spec, runs=1)
        print("RESULT", batch.runs[0].status, batch.runs[0].phases[-1], flush=True)
        """
