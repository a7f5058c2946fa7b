"""Command-line arguments declared once, for the ``russo`` command, the ``%russo`` magics and the pytest plugin.

The engine options come from :class:`~russo_nb.execution.engine.EngineOptions` (name, help, what a valid value
looks like): :func:`add_engine_arguments` turns them into ``--flags`` on any argparse-style parser, so
``--max-concurrency``, ``--timeout``, ``--retries``, ``--rate-limit``, ``--seed`` ... mean and check the
same thing on every surface. The other shared flags (``--runs``, ``--effects``, ``--dask``, ``--quiet``)
have one ``add_*`` each, and every subcommand's parser is built here: the CLI's (``russo``, ``russo demo``,
``russo report``, ``russo history``) and the magics' (:func:`magic_parsers`), which read a magic line like
ipytest does: ``shlex.split`` and the argparse parser (:func:`parse_magic`).
"""

from __future__ import annotations

import argparse
import builtins
import difflib
import keyword
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, NoReturn

from ..execution.engine import TEXT_OPTIONS, EngineOptions, option_from_text
from ..model.errors import InvalidArgumentError

__all__ = [
    "EXIT_USAGE",
    "NEGATIVE_NUMBER",
    "Command",
    "CommandParser",
    "MagicParser",
    "add_dask",
    "add_demo_arguments",
    "add_effects",
    "add_engine_arguments",
    "add_quiet",
    "add_runs",
    "engine_values",
    "flag_of",
    "magic_parsers",
    "magic_usage",
    "parse_magic",
    "positive_int",
    "python_name",
    "tidy_message",
]

#: Exit code of a usage or suite-file error.
EXIT_USAGE = 2


def tidy_message(message: str) -> str:
    """argparse's ``argument --timeout: --timeout needs ...`` without the repeated flag."""
    head, sep, rest = message.partition(": ")
    if sep and head.startswith("argument ") and rest.startswith(head.removeprefix("argument ").split("/")[0]):
        return rest
    return message


NEGATIVE_NUMBER = re.compile(r"-(?:\.?\d|(?:inf|infinity|nan)(?:$|,))", re.IGNORECASE)
"""A word that is a negative number in any form Python reads (``-5``, ``-1e308``, ``-.5``, ``-inf``), or a list
starting with one (``--snr -5,-10``): a value, never an option. argparse's own test takes only ``-5`` and ``-0.5``,
so ``--snr -1e308`` was "expected one argument". No flag of ours is a dash and a digit."""


class CommandParser(argparse.ArgumentParser):
    """argparse for a command: a usage error is one ``PROG: error: ...`` line and exit code 2, no usage dump."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # --run is not --runs: a typo is an error, never a guess
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER  # argparse's hook: what is a value though it starts with -

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {tidy_message(message)} (see {self.prog} --help)\n")


class _HelpShown(Exception):
    """``--help`` in a magic line: the help was printed, nothing else to do."""


class MagicParser(CommandParser):
    """argparse for a ``%russo`` subcommand: a mistake is an :class:`~russo_nb.model.errors.InvalidArgumentError`
    (one line, with close matches for a misspelt option) and ``--help`` never ends the kernel."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        message = re.sub(r"^argument (--[\w-]+)(?:, -\w)?: ", r"\1: ", tidy_message(message))
        message = re.sub(
            r"^(--[\w-]+): ignored explicit argument (.*)$", r"\1 is a flag and takes no value, got \2", message
        )
        example = False
        unknown = re.match(r"unrecognized arguments: (\S+)", message)
        if unknown:
            word = unknown.group(1).split("=")[0]
            if word.startswith("-"):
                options = sorted({s for action in self._actions for s in action.option_strings if s.startswith("--")})
                near = difflib.get_close_matches(word, options, n=2, cutoff=0.6)
                hint = f" Did you mean {' or '.join(near)}?" if near else ""
                message = f"{self.prog} has no option {word}.{hint} Options: {', '.join(options)}"
            else:
                example = True
                message = f"{self.prog} got unexpected extra arguments {unknown.group(0).split(': ', 1)[1]!r}"
                message += " (quote prompts that contain spaces)"
        elif "the following arguments are required" in message:
            message = f"{self.prog} needs {message.split(': ', 1)[1]}"
            example = True
        raise InvalidArgumentError(f"{message}; e.g. {self.epilog}" if example and self.epilog else message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:  # type: ignore[override]
        if message:
            raise InvalidArgumentError(message.strip())
        raise _HelpShown


# -- value readers ------------------------------------------------------------------------------


MAX_COUNT = 10**9
"""The largest count a flag takes (``--runs``, ``--limit``): beyond it SQLite and the engine would overflow."""


def positive_int(text: str) -> int:
    """A whole number >= 1 (``--runs``, ``--limit``), or argparse's one-line error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected a whole number up to {MAX_COUNT:,}, got {text[:40]!r}")
    return value


def half_width(text: str) -> float:
    """A half-width between 0 and 0.5 (``--until-half-width 0.05``; ``5%`` works too), or argparse's error."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a half-width between 0 and 0.5 (0.05 or 5%), got {text!r}")
    return value


def add_until(parser: Any) -> None:
    """``--until-half-width HW`` / ``--max-runs N``: add rounds of runs until the interval is that narrow."""
    parser.add_argument(
        "--until-half-width",
        type=half_width,
        metavar="HW",
        help="add rounds of --runs runs per prompt until the pass rate's interval is at most ±HW (0.05 or 5%%): "
        "an estimate to a chosen precision, not a test",
    )
    parser.add_argument(
        "--max-runs", type=positive_int, metavar="N", help="with --until-half-width: at most N runs per prompt (100)"
    )


_IPYTHON_NAMES = re.compile(r"_+|_i+|_i?\d+|_[iod]h|In|Out|get_ipython|exit|quit")
"""Names IPython keeps its history and helpers in (``_``, ``_3``, ``_i3``, ``In``, ``Out``...)."""


def python_name(text: str) -> str:
    """A variable name a result can be stored under (``--as``) without breaking the namespace.

    Refused: anything that is not an identifier, keywords (``class``), dunder names
    (``__builtins__``, ``__name__``), IPython's history names and helpers (``_``, ``_3``,
    ``In``, ``Out``, ``get_ipython``) and Python's builtins (``print``, ``len``), which
    the result would silently hide in every later cell.
    """
    if not text.isidentifier():
        raise argparse.ArgumentTypeError(f"--as needs a Python variable name, got {text!r}")
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
    raise argparse.ArgumentTypeError(f"--as {text}: {text!r} {reason}; pick another name, e.g. --as result")


def _dask_address(text: str) -> str:
    """``local`` or a scheduler address (``tcp://host:8786``, ``host:8786``), so a prompt is never taken for one."""
    if text == "local" or "://" in text or re.fullmatch(r"[\w.\-]+:\d+", text):
        return text
    raise argparse.ArgumentTypeError(
        f"--dask takes a scheduler address like tcp://scheduler:8786 (or local, or nothing: a local cluster), "
        f"got {text!r}"
    )


# -- shared flags --------------------------------------------------------------------------------


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


def add_runs(parser: Any, default: str = "1") -> None:
    """``--runs N``: runs per prompt (or scenario)."""
    parser.add_argument("--runs", type=positive_int, metavar="N", help=f"runs per prompt (default {default})")


def add_effects(parser: Any) -> None:
    """``--effects SPEC``: audio effects, comma-separated."""
    parser.add_argument("--effects", metavar="SPEC", help="audio effects, comma-separated: noise:10db,speed:1.2")


def add_dask(parser: Any) -> None:
    """``--dask [ADDRESS]``: run on a Dask cluster (a scheduler address; ``local`` or nothing: a local cluster)."""
    parser.add_argument(
        "--dask",
        nargs="?",
        const="local",
        type=_dask_address,
        metavar="ADDRESS",
        help="run on a Dask cluster: its scheduler (tcp://host:8786), or local / nothing for a local cluster "
        "sized to this machine (needs pip install 'russo_nb[dask]')",
    )


def add_quiet(parser: Any, help: str = "no progress output") -> None:
    """``--quiet`` / ``-q``."""
    parser.add_argument("--quiet", "-q", action="store_true", help=help)


# -- the magics' subcommands ---------------------------------------------------------------------


def add_demo_arguments(parser: Any) -> None:
    """The demo's own flags, for ``russo demo`` and ``%russo demo`` alike: runs, effects, engine options."""
    add_runs(parser, "the suite file's, 3")
    add_effects(parser)
    add_engine_arguments(parser)


def _add_result_flags(parser: Any, *, record: bool = True) -> None:
    """What every ``%russo`` subcommand that runs a batch takes besides its options: where it runs, where the
    result goes."""
    add_dask(parser)
    parser.add_argument("--as", dest="as", type=python_name, metavar="NAME", help="store the result in this variable")
    parser.add_argument("--name", metavar="NAME", help="a name for the batch")
    if record:
        parser.add_argument("--record", action="store_true", help="also record the batch in the history store")
        _add_history_path(parser)
    add_quiet(parser, "no progress display")


def _add_history_path(parser: Any) -> None:
    """``--history PATH`` of the magics; ``--history-db PATH``, the ``russo`` command's name for it, works too."""
    parser.add_argument(
        "--history",
        "--history-db",
        dest="history",
        metavar="PATH",
        help="history store path (default .russo/history.sqlite)",
    )


#: Subcommands of ``%russo``: (one-line help, example); their arguments are declared in :func:`magic_parsers`.
MAGIC_COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "run the offline voice demo (espeak-ng -> local voice agent), no keys needed",
        "%russo demo --runs 3 --effects noise:10db --as res",
    ),
    "run": (
        "run prompts (on the line, or one per line of the cell) against an agent",
        '%russo run "Book a flight from NYC to LA" --agent my_agent --expect "book_flight(to_city=\'LA\')" '
        "--runs 5 --as res",
    ),
    "sweep": (
        "one job over prompts x voices x noise levels x conditions (no --agent: the demo's prompts and agent)",
        "%russo sweep --voices en-us,en-gb-scotland --snr clean,20,10,5 --runs 5 --as sw",
    ),
    "suite": ("run a suite file (YAML / JSON)", "%russo suite data/demo_suite.yaml --runs 5 --as suite_res"),
    "scenario": (
        "run scenarios (objects in your namespace) several times",
        "%russo scenario my_scenario --runs 3 --as sc",
    ),
    "resume": (
        "run an interrupted batch's cancelled runs (same seeds) and merge them into it",
        "%russo resume res   (after Kernel → Interrupt of %russo run ... --as res)",
    ),
    "show": ("open the explorer widget for a result", "%russo show res"),
    "compare": ("paired comparison of two results over the prompts they share", "%russo compare res_v1 res_v2"),
    "export": ("write a result to .html / .csv / .parquet / .jsonl", "%russo export res report.html"),
    "history": (
        "recent batches from the history store (trend chart, Open buttons); history open ID loads one",
        "%russo history --limit 10   or   %russo history open 3f2a9c --as old",
    ),
    "help": ("this help, or one subcommand's", "%russo help run"),
}
#: The subcommands whose ``%%russo`` cell body is read (one prompt per line).
CELL_COMMANDS = ("run", "sweep")


@cache
def magic_parsers() -> dict[str, MagicParser]:
    """One parser per ``%russo`` subcommand (built once)."""
    parsers = {
        name: MagicParser(prog=f"%russo {name}", description=text, epilog=example)
        for name, (text, example) in MAGIC_COMMANDS.items()
    }
    demo = parsers["demo"]
    add_demo_arguments(demo)
    _add_result_flags(demo)
    demo.add_argument("--agent", metavar="NAME", help="agent to test instead of the demo agent")

    run = parsers["run"]
    run.add_argument("prompts", nargs="*", metavar="PROMPT", help="prompts (or one per line of a %%%%russo cell)")
    run.add_argument("--agent", metavar="NAME", help="agent object in your namespace (required)")
    run.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="CALL",
        help="expected call, e.g. \"book_flight(to_city='LA')\", or a list's name (repeatable)",
    )
    run.add_argument("--synthesizer", metavar="NAME", help="synthesizer in your namespace (default: offline espeak-ng)")
    run.add_argument("--evaluator", metavar="NAME", help="evaluator in your namespace (default: exact)")
    run.add_argument("--text", action="store_true", help="text mode: the agent gets the prompt text, no audio")
    add_runs(run)
    add_until(run)
    add_effects(run)
    add_engine_arguments(run)
    _add_result_flags(run)

    sweep = parsers["sweep"]
    sweep.add_argument("prompts", nargs="*", metavar="PROMPT", help="prompts (default: the demo's)")
    sweep.add_argument(
        "--voices", metavar="LIST", help="espeak-ng voices, comma-separated: en-us,en-gb-scotland,en-us+f3"
    )
    sweep.add_argument("--snr", metavar="LIST", help="noise levels in dB, comma-separated; clean = none: clean,20,10,5")
    sweep.add_argument(
        "--conditions",
        metavar="SPEC",
        help="extra effect chains by label, ';'-separated: plain=;phone=telephone;fast=speed:1.25",
    )
    sweep.add_argument("--noise", metavar="KIND", help="noise kind: white (default), pink, babble")
    sweep.add_argument(
        "--agent", metavar="NAME", help="agent object in your namespace (default: the offline demo agent)"
    )
    sweep.add_argument(
        "--expect", action="append", default=[], metavar="CALL", help="expected call, or a list's name (repeatable)"
    )
    add_runs(sweep)
    add_effects(sweep)
    add_engine_arguments(sweep)
    _add_result_flags(sweep)

    suite = parsers["suite"]
    suite.add_argument("path", metavar="PATH", help="the suite file")
    add_runs(suite, "the file's")
    add_effects(suite)
    add_engine_arguments(suite)
    _add_result_flags(suite)
    suite.add_argument("--agent", metavar="NAME", help="agent to test instead of the suite's")

    scenario = parsers["scenario"]
    scenario.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario objects in your namespace")
    add_runs(scenario)
    add_engine_arguments(scenario)
    _add_result_flags(scenario, record=False)

    resume = parsers["resume"]
    resume.add_argument("result", metavar="RESULT", help="the interrupted result (in your namespace)")
    resume.add_argument(
        "--agent", metavar="NAME", help="the agent, for a batch loaded from a file (a job of this session has its own)"
    )
    resume.add_argument("--synthesizer", metavar="NAME", help="the synthesizer, for a voice batch loaded from a file")
    resume.add_argument(
        "--scenarios", nargs="+", metavar="NAME", help="the scenarios, for a scenario batch loaded from a file"
    )
    add_effects(resume)
    add_engine_arguments(resume, ("max_concurrency", "timeout", "seed"))  # seed: for a CSV file (no metadata)
    resume.add_argument("--as", dest="as", type=python_name, metavar="NAME", help="store the merged result here")
    resume.add_argument("--record", action="store_true", help="also record the batch in the history store")
    _add_history_path(resume)
    add_quiet(resume, "no progress display")

    parsers["show"].add_argument("result", metavar="RESULT")
    parsers["compare"].add_argument("a", metavar="A")
    parsers["compare"].add_argument("b", metavar="B")
    export = parsers["export"]
    export.add_argument("result", metavar="RESULT")
    export.add_argument("path", metavar="PATH")
    export.add_argument("--audio", action="store_true", help="also write the audio clips (jsonl / html)")
    history = parsers["history"]
    history.add_argument("action", nargs="?", metavar="open", help="open: load one batch")
    history.add_argument("id", nargs="?", metavar="ID", help="the batch id (a unique prefix will do)")
    history.add_argument("--limit", type=positive_int, default=20, metavar="N", help="how many batches (default 20)")
    _add_history_path(history)
    history.add_argument(
        "--as", dest="as", type=python_name, metavar="NAME", help="store the table (or, with open, the batch) here"
    )
    parsers["help"].add_argument("subcommand", nargs="?", metavar="SUBCOMMAND")
    for parser in parsers.values():
        # argparse %-formats a usage it is given (parse_intermixed_args gives one): keep %russo's % literal
        parser.usage = parser.format_usage().removeprefix("usage: ").strip().replace("%", "%%")
    return parsers


#: Each subcommand's positionals, in order (what :attr:`Command.positionals` holds).
_POSITIONALS = {
    "run": ("prompts",),
    "sweep": ("prompts",),
    "suite": ("path",),
    "scenario": ("scenarios",),
    "resume": ("result",),
    "show": ("result",),
    "compare": ("a", "b"),
    "export": ("result", "path"),
    "history": ("action", "id"),
    "help": ("subcommand",),
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


def _close(word: str, choices: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" Did you mean {', '.join(matches)}?" if matches else ""


def parse_magic(line: str, cell: str | None = None) -> Command | None:
    """Parse ``line`` (after ``%russo``) as ipytest does: ``shlex.split``, then the subcommand's argparse parser.

    Returns the :class:`Command`, or None when ``--help`` printed the help. Mistakes raise
    :class:`~russo_nb.model.errors.InvalidArgumentError` (one line naming what was wrong).
    """
    try:
        tokens = shlex.split(line, posix=True)
    except ValueError as exc:
        raise InvalidArgumentError(f"cannot read the magic line: {exc} (check your quotes)") from None
    if not tokens:
        raise InvalidArgumentError("no subcommand; try %russo help")
    head, rest = tokens[0], tokens[1:]
    parsers = magic_parsers()
    parser = parsers.get(head)
    if parser is None:
        raise InvalidArgumentError(
            f"unknown subcommand {head!r}.{_close(head, parsers)} Subcommands: {', '.join(parsers)}"
        )
    if cell is not None and cell.strip() and head not in CELL_COMMANDS:
        raise InvalidArgumentError(f"%%russo {head} takes no cell body; use the line magic %russo {head}")
    try:
        parsed = parser.parse_intermixed_args(rest)
    except _HelpShown:
        return None
    options = vars(parsed)
    positionals: list[str] = []
    for dest in _POSITIONALS.get(head, ()):
        value = options.pop(dest)
        if isinstance(value, list):
            positionals.extend(value)
        elif value is not None:
            positionals.append(value)
    return Command(name=head, positionals=positionals, options=options, cell=cell)


def magic_usage(subcommand: str | None = None) -> str:
    """Help text for every subcommand, or one subcommand's full help (its parser's)."""
    if subcommand is None:
        lines = ["%russo SUBCOMMAND [ARGS] [--options]   (%%russo run ... takes one prompt per cell line)", ""]
        width = max(len(name) for name in MAGIC_COMMANDS)
        for name, (text, _) in MAGIC_COMMANDS.items():
            lines.append(f"  {name:<{width}}  {text}")
        lines += ["", "%russo help SUBCOMMAND (or %russo SUBCOMMAND --help) for its options."]
        return "\n".join(lines)
    parser = magic_parsers().get(subcommand)
    if parser is None:
        raise InvalidArgumentError(
            f"unknown subcommand {subcommand!r}.{_close(subcommand, MAGIC_COMMANDS)} "
            f"Subcommands: {', '.join(MAGIC_COMMANDS)}"
        )
    return parser.format_help()
