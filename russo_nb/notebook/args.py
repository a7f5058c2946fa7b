"""Parse ``%russo`` magic lines: a subcommand, positionals and ``--options``.

A small parser rather than argparse, so every mistake becomes one
:class:`~russo_nb.errors.InvalidArgumentError` naming the option (with close
matches) instead of a usage dump and a ``SystemExit``.
"""

from __future__ import annotations

import builtins
import difflib
import keyword
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgumentError

__all__ = ["COMMANDS", "Command", "OptionSpec", "parse_command", "usage"]


def _whole(minimum: int) -> Callable[[str, str], int]:
    def convert(option: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise InvalidArgumentError(f"--{option} needs a whole number, got {text!r}") from None
        if value < minimum:
            raise InvalidArgumentError(f"--{option} must be >= {minimum}, got {value}")
        return value

    return convert


def _seconds(option: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidArgumentError(f"--{option} needs a number of seconds, got {text!r}") from None
    if value <= 0:
        raise InvalidArgumentError(f"--{option} must be > 0 seconds, got {text}")
    return value


def _rate(option: str, text: str) -> str:
    from ..ratelimit import RateLimit

    try:
        RateLimit.parse(text)
    except InvalidArgumentError:
        raise InvalidArgumentError(f"--{option} needs requests per time like 10/s or 600/min, got {text!r}") from None
    return text


_IPYTHON_NAMES = re.compile(r"_+|_i+|_i?\d+|_[iod]h|In|Out|get_ipython|exit|quit")
"""Names IPython keeps its history and helpers in (``_``, ``_3``, ``_i3``, ``In``, ``Out``...)."""


def _identifier(option: str, text: str) -> str:
    """A variable name the result can be stored under without breaking the namespace.

    Refused: anything that is not an identifier, keywords (``class``), dunder names
    (``__builtins__``, ``__name__``), IPython's history names and helpers (``_``, ``_3``,
    ``In``, ``Out``, ``get_ipython``) and Python's builtins (``print``, ``len``), which
    the result would silently hide in every later cell.
    """
    if not text.isidentifier():
        raise InvalidArgumentError(f"--{option} needs a Python variable name, got {text!r}")
    if keyword.iskeyword(text):
        reason = "is a Python keyword"
    elif text.startswith("__") and text.endswith("__"):
        reason = "is a special (dunder) name Python itself uses"
    elif _IPYTHON_NAMES.fullmatch(text):
        reason = "is one of IPython's own names (history, In/Out, helpers)"
    elif hasattr(builtins, text):
        reason = "is a Python builtin; storing the result there would hide it in every later cell"
    else:
        return text
    raise InvalidArgumentError(f"--{option} {text}: {text!r} {reason}; pick another name, e.g. --{option} result")


def _dask_address(option: str, text: str) -> str:
    """``local`` or a scheduler address (``tcp://host:8786``, ``host:8786``), so a prompt is never taken for one."""
    if text == "local" or "://" in text or re.fullmatch(r"[\w.\-]+:\d+", text):
        return text
    raise InvalidArgumentError(
        f"--{option} takes a scheduler address like tcp://scheduler:8786 (or nothing, for a local cluster), "
        f"got {text!r}"
    )


def _text(option: str, text: str) -> str:
    return text


@dataclass(frozen=True)
class OptionSpec:
    """One ``--option``: what it converts its value with, or that it is a flag."""

    name: str
    help: str
    convert: Callable[[str, str], Any] = _text
    flag: bool = False
    repeat: bool = False
    metavar: str = "VALUE"
    const: str | None = None
    """The value when the option is given without one (``--dask`` alone); None: a value is required."""

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class CommandSpec:
    """A subcommand: its positionals (names, how many) and options."""

    name: str
    help: str
    positionals: tuple[str, ...] = ()
    min_positionals: int = 0
    max_positionals: int | None = 0
    options: tuple[OptionSpec, ...] = ()
    uses_cell: bool = False
    example: str = ""


_RUNS = OptionSpec("runs", "runs per prompt (default 1)", _whole(1), metavar="N")
_CONC = OptionSpec("max-concurrency", "runs at the same time (default: no limit)", _whole(1), metavar="N")
_TIMEOUT = OptionSpec("timeout", "seconds each run may take", _seconds, metavar="S")
_RATE = OptionSpec("rate-limit", "attempt starts per time: 10/s, 600/min (default: no limit)", _rate, metavar="RATE")
_EFFECTS = OptionSpec("effects", "audio effects, comma-separated: noise:10db,speed:1.2", metavar="SPEC")
_AS = OptionSpec("as", "store the result in this variable", _identifier, metavar="NAME")
_SEED = OptionSpec("seed", "seed for effects (default 0)", _whole(0), metavar="N")
_RECORD = OptionSpec("record", "also record the batch in the history store", flag=True)
_HISTORY = OptionSpec("history", "history store path (default .russo/history.sqlite)", metavar="PATH")
_QUIET = OptionSpec("quiet", "no progress display", flag=True)
_NAME = OptionSpec("name", "a name for the batch", metavar="NAME")
_DASK = OptionSpec(
    "dask",
    "run on a Dask cluster: its scheduler address (tcp://host:8786), or nothing for a local cluster",
    lambda option, text: _dask_address(option, text),
    metavar="[ADDRESS]",
    const="local",
)
_RUN_COMMON = (_RUNS, _CONC, _TIMEOUT, _RATE, _EFFECTS, _SEED, _AS, _NAME, _RECORD, _HISTORY, _QUIET, _DASK)

COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "demo",
            "run the offline voice demo (espeak-ng -> local voice agent), no keys needed",
            options=(
                *_RUN_COMMON,
                OptionSpec("agent", "agent to test instead of the demo agent", metavar="NAME"),
            ),
            example="%russo demo --runs 3 --effects noise:10db --as res",
        ),
        CommandSpec(
            "run",
            "run prompts (on the line, or one per line of the cell) against an agent",
            positionals=("PROMPT",),
            max_positionals=None,
            options=(
                OptionSpec("agent", "agent object in your namespace (required)", metavar="NAME"),
                OptionSpec(
                    "expect",
                    "expected call, e.g. \"book_flight(to_city='LA')\", or a list's name",
                    repeat=True,
                    metavar="CALL",
                ),
                OptionSpec("synthesizer", "synthesizer in your namespace (default: offline espeak-ng)", metavar="NAME"),
                OptionSpec(
                    "evaluator", "evaluator in your namespace (default: exact, extra args ignored)", metavar="NAME"
                ),
                OptionSpec("text", "text mode: the agent gets the prompt text, no audio", flag=True),
                *_RUN_COMMON,
            ),
            uses_cell=True,
            example='%russo run "Book a flight from NYC to LA" --agent my_agent '
            "--expect \"book_flight(to_city='LA')\" --runs 5 --as res",
        ),
        CommandSpec(
            "sweep",
            "one job over prompts x voices x noise levels x conditions (no --agent: the demo's prompts and agent)",
            positionals=("PROMPT",),
            max_positionals=None,
            options=(
                OptionSpec(
                    "voices", "espeak-ng voices, comma-separated: en-us,en-gb-scotland,en-us+f3", metavar="LIST"
                ),
                OptionSpec("snr", "noise levels in dB, comma-separated; clean = none: clean,20,10,5", metavar="LIST"),
                OptionSpec(
                    "conditions",
                    "extra effect chains by label, ';'-separated: plain=;phone=telephone;fast=speed:1.25",
                    metavar="SPEC",
                ),
                OptionSpec("noise", "noise kind: white (default), pink, babble", metavar="KIND"),
                OptionSpec("agent", "agent object in your namespace (default: the offline demo agent)", metavar="NAME"),
                OptionSpec(
                    "expect",
                    "expected call, e.g. \"book_flight(to_city='LA')\", or a list's name",
                    repeat=True,
                    metavar="CALL",
                ),
                *_RUN_COMMON,
            ),
            uses_cell=True,
            example="%russo sweep --voices en-us,en-gb-scotland --snr clean,20,10,5 --runs 5 --as sw",
        ),
        CommandSpec(
            "suite",
            "run a suite file (YAML / JSON)",
            positionals=("PATH",),
            min_positionals=1,
            max_positionals=1,
            options=(*_RUN_COMMON, OptionSpec("agent", "agent to test instead of the suite's", metavar="NAME")),
            example="%russo suite data/demo_suite.yaml --runs 5 --as suite_res",
        ),
        CommandSpec(
            "scenario",
            "run scenarios (objects in your namespace) several times",
            positionals=("SCENARIO",),
            min_positionals=1,
            max_positionals=None,
            options=(_RUNS, _CONC, _TIMEOUT, _RATE, _AS, _NAME, _QUIET, _DASK),
            example="%russo scenario my_scenario --runs 3 --as sc",
        ),
        CommandSpec(
            "resume",
            "run an interrupted batch's cancelled runs (same seeds) and merge them into it",
            positionals=("RESULT",),
            min_positionals=1,
            max_positionals=1,
            options=(
                OptionSpec(
                    "agent",
                    "the agent, for a batch loaded from a file (a job of this session has its own)",
                    metavar="NAME",
                ),
                OptionSpec("synthesizer", "the synthesizer, for a voice batch loaded from a file", metavar="NAME"),
                _EFFECTS,
                _CONC,
                _TIMEOUT,
                _AS,
                _RECORD,
                _HISTORY,
                _QUIET,
            ),
            example="%russo resume res   (after Kernel → Interrupt of %russo run ... --as res)",
        ),
        CommandSpec(
            "show",
            "open the explorer widget for a result",
            positionals=("RESULT",),
            min_positionals=1,
            max_positionals=1,
            example="%russo show res",
        ),
        CommandSpec(
            "compare",
            "paired comparison of two results over the prompts they share",
            positionals=("A", "B"),
            min_positionals=2,
            max_positionals=2,
            example="%russo compare res_v1 res_v2",
        ),
        CommandSpec(
            "export",
            "write a result to .html / .csv / .parquet / .jsonl",
            positionals=("RESULT", "PATH"),
            min_positionals=2,
            max_positionals=2,
            options=(OptionSpec("audio", "also write the audio clips (jsonl / html)", flag=True),),
            example="%russo export res report.html",
        ),
        CommandSpec(
            "history",
            "recent batches from the history store (trend chart, Open buttons); history open ID loads one",
            positionals=("open", "ID"),
            max_positionals=2,
            options=(
                OptionSpec("limit", "how many batches (default 20)", _whole(1), metavar="N"),
                _HISTORY,
                OptionSpec(
                    "as",
                    "store the table (or, with open, the batch) in this variable",
                    _identifier,
                    metavar="NAME",
                ),
            ),
            example="%russo history --limit 10   or   %russo history open 3f2a9c --as old",
        ),
        CommandSpec(
            "help",
            "this help, or one subcommand's",
            positionals=("SUBCOMMAND",),
            max_positionals=1,
            example="%russo help run",
        ),
    )
}


@dataclass
class Command:
    """A parsed magic line: subcommand, positionals, options and the cell body (if any)."""

    name: str
    positionals: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    cell: str | None = None

    def get(self, dest: str, default: Any = None) -> Any:
        """An option's value (by its ``dest`` name: ``max_concurrency``), or ``default``."""
        value = self.options.get(dest)
        return default if value is None else value


def _close(word: str, choices: list[str]) -> str:
    matches = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return f" Did you mean {', '.join(matches)}?" if matches else ""


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise InvalidArgumentError(f"cannot read the magic line: {exc} (check your quotes)") from None


def parse_command(line: str, cell: str | None = None) -> Command:
    """Parse ``line`` (after ``%russo``) into a :class:`Command`; raise InvalidArgumentError on mistakes."""
    tokens = _split(line)
    if not tokens:
        raise InvalidArgumentError("no subcommand; try %russo help")
    head, rest = tokens[0], tokens[1:]
    spec = COMMANDS.get(head)
    if spec is None:
        raise InvalidArgumentError(
            f"unknown subcommand {head!r}.{_close(head, list(COMMANDS))} Subcommands: {', '.join(COMMANDS)}"
        )
    if cell is not None and cell.strip() and not spec.uses_cell:
        raise InvalidArgumentError(f"%%russo {head} takes no cell body; use the line magic %russo {head}")
    by_name = {option.name: option for option in spec.options}
    command = Command(name=head, cell=cell)
    for option in spec.options:
        command.options[option.dest] = [] if option.repeat else (False if option.flag else None)
    index = 0
    while index < len(rest):
        token = rest[index]
        index += 1
        if not token.startswith("--") or token == "--":
            command.positionals.append(token)
            continue
        name, has_value, inline = token[2:].partition("=")
        option = by_name.get(name)
        if option is None:
            known = ", ".join(f"--{known}" for known in by_name) or "none"
            suggestion = _close(f"--{name}", [f"--{known}" for known in by_name])
            raise InvalidArgumentError(f"%russo {head} has no option --{name}.{suggestion} Options: {known}")
        if option.flag:
            if has_value:
                raise InvalidArgumentError(f"--{name} is a flag and takes no value")
            command.options[option.dest] = True
            continue
        if has_value:
            raw = inline
        elif index < len(rest) and not (option.const is not None and rest[index].startswith("--")):
            raw = rest[index]
            index += 1
        elif option.const is not None:
            raw = option.const
        else:
            raise InvalidArgumentError(f"--{name} needs a value ({option.metavar}): {option.help}")
        value = option.convert(name, raw)
        if option.repeat:
            command.options[option.dest].append(value)
        else:
            command.options[option.dest] = value
    count = len(command.positionals)
    if count < spec.min_positionals:
        missing = " ".join(spec.positionals[count : spec.min_positionals])
        raise InvalidArgumentError(f"%russo {head} needs {missing}; e.g. {spec.example}")
    if spec.max_positionals is not None and count > spec.max_positionals:
        extra = command.positionals[spec.max_positionals :]
        raise InvalidArgumentError(
            f"%russo {head} got unexpected extra arguments {extra}; e.g. {spec.example} "
            "(quote prompts that contain spaces)"
        )
    return command


def usage(subcommand: str | None = None) -> str:
    """Help text for every subcommand, or the options of one."""
    if subcommand is None:
        lines = ["%russo SUBCOMMAND [ARGS] [--options]   (%%russo run ... takes one prompt per cell line)", ""]
        width = max(len(name) for name in COMMANDS)
        for spec in COMMANDS.values():
            lines.append(f"  {spec.name:<{width}}  {spec.help}")
        lines += ["", "%russo help SUBCOMMAND for its options."]
        return "\n".join(lines)
    spec = COMMANDS.get(subcommand)
    if spec is None:
        raise InvalidArgumentError(
            f"unknown subcommand {subcommand!r}.{_close(subcommand, list(COMMANDS))} Subcommands: {', '.join(COMMANDS)}"
        )
    positionals = " ".join(spec.positionals)
    if spec.max_positionals is None:
        positionals += " ..."
    lines = [f"%russo {spec.name} {positionals}".rstrip(), f"  {spec.help}"]
    for option in spec.options:
        shown = f"--{option.name}" + ("" if option.flag else f" {option.metavar}")
        lines.append(f"  {shown:<26} {option.help}" + (" (repeatable)" if option.repeat else ""))
    if spec.example:
        lines += ["", f"  e.g. {spec.example}"]
    return "\n".join(lines)
