#!/usr/bin/env bash
# Install everything russo_nb's tests need on a fresh Debian machine, then run the whole suite.
# Used as-is by CI (.ci/run) and by the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: Chromium for the browser test (Debian's build; Playwright never downloads one).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: run 'sudo apt-get install -y chromium' (needed by tests/test_browser_*.py)" >&2
    exit 2
  fi
fi

python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
# A python3 kernel for the notebooks (nbclient) and JupyterLab (browser test).
python -m ipykernel install --sys-prefix --name python3 >/dev/null

python -m ruff check russo_nb tests benchmarks examples scripts
python -m ruff format --check russo_nb tests benchmarks examples scripts
python -m pytest -q "$@"
