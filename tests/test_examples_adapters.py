"""Every adapter example runs as a script against its local test server and passes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from adapter_helpers import EXAMPLES

SCRIPTS = sorted(path.name for path in EXAMPLES.glob("adapter_*.py"))


def test_there_is_an_example_per_adapter():
    assert SCRIPTS == [
        "adapter_callable.py",
        "adapter_gemini.py",
        "adapter_gemini_live.py",
        "adapter_http.py",
        "adapter_openai.py",
        "adapter_openai_chat.py",
        "adapter_openai_realtime.py",
        "adapter_websocket.py",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_and_passes(script, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "GOOGLE_", "GEMINI_"))}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PASSED" in done.stdout and "not-shown" not in done.stdout
