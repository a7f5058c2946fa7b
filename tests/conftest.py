"""Shared test setup: a headless matplotlib backend and small builders used across areas."""

from __future__ import annotations

import os
import signal

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
