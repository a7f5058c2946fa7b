"""Command-line arguments declared once, for the ``russo`` command, the ``%russo`` magics and the pytest plugin.

The engine options come from :class:`~russo_nb.engine.EngineOptions` (name, help, what a valid value
looks like); :func:`add_engine_arguments` turns them into ``--flags`` on any argparse-style parser, so
``--max-concurrency``, ``--timeout``, ``--retries``, ``--rate-limit``, ``--seed`` ... mean and check the
same thing on every surface.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

from .engine import TEXT_OPTIONS, EngineOptions, option_from_text
from .errors import InvalidArgumentError

__all__ = ["EXIT_USAGE", "CommandParser", "add_engine_arguments", "engine_values", "flag_of", "tidy_message"]

#: Exit code of a usage or suite-file error.
EXIT_USAGE = 2


class CommandParser(argparse.ArgumentParser):
    """argparse for a command: a usage error is one ``PROG: error: ...`` line and exit code 2, no usage dump."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {tidy_message(message)} (see {self.prog} --help)\n")


def tidy_message(message: str) -> str:
    """argparse's ``argument --timeout: --timeout needs ...`` without the repeated flag."""
    head, sep, rest = message.partition(": ")
    if sep and head.startswith("argument ") and rest.startswith(head.removeprefix("argument ").split("/")[0]):
        return rest
    return message


def flag_of(name: str, prefix: str = "") -> str:
    """``max_concurrency`` → ``--max-concurrency`` (``prefix="russo-"``: ``--russo-max-concurrency``)."""
    return f"--{prefix}{name.replace('_', '-')}"


def _reader(name: str) -> Callable[[str], Any]:
    def read(text: str) -> Any:
        try:
            return option_from_text(name, text)
        except InvalidArgumentError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    read.__name__ = name  # argparse names the type in some messages
    return read


def add_engine_arguments(
    parser: Any, names: Iterable[str] = TEXT_OPTIONS, *, prefix: str = "", add: str = "add_argument"
) -> None:
    """Add ``--NAME`` for each engine option in ``names`` (default None: "not given", the file's or the default).

    ``parser`` is an argparse parser or group, or pytest's option group with ``add="addoption"``.
    """
    wanted = set(names)
    for item in fields(EngineOptions):
        if item.name not in wanted or item.metadata["kind"] is None:
            continue
        getattr(parser, add)(
            flag_of(item.name, prefix),
            dest=f"{prefix.replace('-', '_')}{item.name}",
            type=_reader(item.name),
            default=None,
            metavar=item.metadata["metavar"],
            help=item.metadata["help"],
        )


def engine_values(namespace: Any, *, prefix: str = "") -> dict[str, Any]:
    """The engine options a parsed command line gave (not None), by option name."""
    values = {}
    for name in TEXT_OPTIONS:
        value = getattr(namespace, f"{prefix}{name}", None)
        if value is not None:
            values[name] = value
    return values
