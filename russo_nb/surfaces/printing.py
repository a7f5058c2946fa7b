"""The commands' one printer: text that cannot drive the terminal, and a reader that stops early costs nothing.

``russo run``, ``russo history`` and ``russo demo`` print through :func:`say`: with ``| head`` the rest of the
text goes to /dev/null, and the command still writes its files and exits with its verdict.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..model.plain_text import terminal_safe

__all__ = ["drop_output", "say"]


def say(text: str, *, error: bool = False) -> None:
    """Print one message; whatever it quotes from agents, servers or files cannot drive the terminal.

    Agent-written fields are already :func:`terminal_safe` (one line each) where they are
    formatted; this is the net for the whole text (newlines kept). When the reader of stdout has
    gone (``russo run ... | head``), the rest of the text goes nowhere and the command carries on:
    its files are still written and its exit code is still the verdict.
    """
    stream = sys.stderr if error else sys.stdout
    try:
        print(terminal_safe(text, multiline=True), file=stream, flush=True)
    except BrokenPipeError:
        drop_output(stream)


def drop_output(stream: Any) -> None:
    """Point ``stream``'s file descriptor at /dev/null: its reader has gone, and what is left to say is not lost
    work (Python's recipe for SIGPIPE; without it the next flush, even at exit, raises again)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)
