"""The ``russo`` command; filled in by the CLI issue."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``russo`` command."""
    raise SystemExit("russo: the command line is not built yet")
