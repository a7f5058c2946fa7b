"""The package as a user installs it: a built wheel, installed (not editable) in a fresh virtual environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

_CHECK = """
import sys, russo_nb
from pathlib import Path
from russo_nb.report import load_sweep
assert "site-packages" in russo_nb.__file__ and {root!r} not in russo_nb.__file__, russo_nb.__file__
from russo_nb.analysis import split_levels
sweep = split_levels(load_sweep(), "snr_db", where={{"voice": "en-us"}})
print(list(sweep), [batch.total for batch in sweep.values()], russo_nb.__file__)
assert list(sweep) == ["5 dB", "10 dB", "20 dB", "clean"]
assert all(batch.total == 48 for batch in sweep.values())
assert sweep["clean"].pass_rate >= sweep["5 dB"].pass_rate
from russo_nb.adapters.local import LocalVoiceAgent, data_path
from russo_nb.demo import demo_suite
assert "site-packages" in str(data_path("demo_intents.yaml")), data_path("demo_intents.yaml")
call = LocalVoiceAgent.demo(mode="inline").understand("book a flight from new york to paris").tool_calls[0]
assert call.arguments == dict(from_city="NYC", to_city="Paris"), call
assert demo_suite().prompts
"""


def test_load_sweep_and_the_demo_data_work_from_an_installed_wheel(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # symlinked data files are copied as files, as an sdist would hold them
    shutil.copytree(ROOT / "russo_nb", source / "russo_nb", ignore=shutil.ignore_patterns("__pycache__"))
    clean = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
        env=clean,
        timeout=600,
    )
    wheel = next(tmp_path.glob("russo_nb-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        env=clean,
        timeout=600,
    )
    done = subprocess.run(
        [str(python), "-c", _CHECK.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert str(venv) in done.stdout
