"""The ``russo`` command (also ``python -m russo_nb``): run suite files, the demo, reports, history.

Exit codes: 0 every run passed (or the pass rate reached ``--fail-under``), 1 runs
failed, 2 a usage or suite-file error (one line on stderr, no traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.errors import InvalidArgumentError, RussoError, StoreBusyError
from ..model.plain_text import terminal_safe
from .arguments import (
    EXIT_USAGE,
    CommandParser,
    add_dask,
    add_engine_arguments,
    add_quiet,
    add_runs,
    engine_values,
    positive_int,
)
from .printing import drop_output, say

if TYPE_CHECKING:
    from .config.running import SuiteResult

__all__ = ["main"]

logger = logging.getLogger("russo_nb")

EXIT_OK, EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 3, 130
TRACEBACK_ENV = "RUSSO_TRACEBACK"
"""Set to 1 (or pass ``--traceback``) to see the traceback of an internal error, not only its one line."""
SUBCOMMANDS = ("run", "demo", "report", "history")

_EPILOG = """\
commands:
  russo --config suite.yaml [options]   run a suite file (same as `russo run suite.yaml`)
  russo demo [--runs N] ...             the offline voice demo (espeak-ng + local agent, no keys)
  russo report batch.jsonl -o out.html  turn an exported batch into an HTML report
  russo history [--limit N]             batches recorded in the history store

exit codes: 0 passed (or pass rate >= --fail-under), 1 failed, 2 usage, suite-file or input error,
            3 internal error (one line; --traceback or RUSSO_TRACEBACK=1 shows the traceback), 130 interrupted
"""


def _fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a pass rate between 0 and 1 (e.g. 0.9), got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a pass rate between 0 and 1 (e.g. 0.9), got {text!r}")
    return value


def _run_parser(prog: str) -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=prog,
        description="Run a russo suite file: every test's prompts × runs through the pipeline, concurrently.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("suite", nargs="?", help="the suite file (.yaml / .json); same as --config")
    parser.add_argument("--config", "-c", dest="config", metavar="SUITE", help="the suite file (.yaml / .json)")
    add_runs(parser, "the file's")
    add_engine_arguments(parser.add_argument_group("engine options (override the file's keys of the same name)"))
    add_dask(parser)
    parser.add_argument("--tag", action="append", default=[], metavar="T", help="only tests with this tag (repeatable)")
    parser.add_argument("--report", metavar="OUT.html", help="write the HTML report here")
    parser.add_argument("--json", metavar="OUT.jsonl", help="write the runs as JSON lines here")
    parser.add_argument(
        "--fail-under",
        type=_fraction,
        metavar="RATE",
        help="exit 0 when the pass rate is at least RATE (0..1) instead of requiring every run to pass",
    )
    parser.add_argument(
        "--history",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record the batch in the history store (default: on)",
    )
    parser.add_argument("--history-db", metavar="PATH", help="history store file (default .russo/history.sqlite)")
    parser.add_argument("--no-cache", action="store_true", help="synthesize every prompt again (no audio cache)")
    parser.add_argument("--cache-dir", metavar="DIR", help="audio cache directory (default .russo_cache)")
    add_quiet(parser, "no progress output, only the summary")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``russo`` command; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args or os.environ.get(TRACEBACK_ENV, "") not in ("", "0")
    args = [arg for arg in args if arg != "--traceback"]
    if not logging.getLogger().handlers:  # as logging.basicConfig, with agent text made inert
        handler = logging.StreamHandler()
        handler.setFormatter(_SafeFormatter("russo: %(levelname)s: %(message)s"))
        logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        _check_command(args)
        command = args[0] if args and args[0] in SUBCOMMANDS else "run"
        if command == "demo":
            return _demo(args[1:])
        if command == "report":
            return _report(args[1:])
        if command == "history":
            return _history(args[1:])
        if args and args[0] == "run":
            args = args[1:]
        return _run(args)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    except RussoError as exc:
        say(f"russo: error: {terminal_safe(exc)}", error=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("russo: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout's reader went away while help or a listing was printed (| head): not an error
        drop_output(sys.stdout)
        return EXIT_OK
    except Exception as exc:  # a bug (russo's or a component's): not "runs failed", and one line
        if show_traceback:
            import traceback

            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc).strip() else ""
        say(
            f"russo: internal error: {type(exc).__name__}: {terminal_safe(first)[:300]} "
            f"(run with --traceback or {TRACEBACK_ENV}=1 to see where)",
            error=True,
        )
        return EXIT_INTERNAL


def _check_command(args: list[str]) -> None:
    """``russo rnu suite.yaml`` / ``russo histroy``: a misspelt command, not a missing suite file (one line)."""
    if not args or args[0] in SUBCOMMANDS or args[0].startswith("-") or os.path.lexists(args[0]):
        return
    import difflib

    near = difflib.get_close_matches(args[0], SUBCOMMANDS, n=1, cutoff=0.6)
    if near:
        raise InvalidArgumentError(
            f"no command or suite file named {args[0]!r}; did you mean `russo {near[0]}`? (see russo --help)"
        )


# -- russo --config suite.yaml ----------------------------------------------------------------


def _run(argv: list[str]) -> int:
    parser = _run_parser("russo")
    args = parser.parse_args(argv)
    if args.suite and args.config and args.suite != args.config:
        parser.error(f"two suite files given ({args.suite} and --config {args.config}); give one")
    path = args.config or args.suite
    if not path:
        parser.error("no suite file; run `russo --config suite.yaml` (or `russo demo` for the offline demo)")
    if args.json and not args.json.lower().endswith((".jsonl", ".jsonl.gz")):
        parser.error(f"--json writes JSON lines; give a path ending in .jsonl (or .jsonl.gz), got {args.json!r}")
    outputs = [("--report", args.report), ("--json", args.json), ("--history-db", args.history and args.history_db)]
    given = [(flag, target) for flag, target in outputs if target]
    for i, (flag, target) in enumerate(given):
        for other, other_target in given[i + 1 :]:
            if _same_file(target, other_target):
                parser.error(f"{flag} and {other} name one file ({target}); one would overwrite the other")

    from ..execution.sync import run_sync
    from ..results.progress_text import ProgressPrinter
    from .config import load_suite, make_executor, start_suite

    suite = load_suite(path)
    _check_outputs(args, ["", "-scenarios"] if suite.scenarios and suite.tests else [""])
    _importable(Path.cwd())  # the console script's sys.path lacks it; start_suite adds the suite file's folder
    executor = None
    if args.dask is not None:
        executor = make_executor("dask", None if args.dask == "local" else args.dask)
    printer = None if args.quiet else ProgressPrinter(sys.stderr, label=suite.label)
    handle = start_suite(
        suite,
        runs=args.runs,
        tags=args.tag,
        on_progress=printer,
        cache=False if args.no_cache else None,
        cache_dir=args.cache_dir,
        **engine_values(args),
        executor=executor,
    )
    if "distributed" in sys.modules:  # Dask set its loggers to INFO on import: the command shows warnings and up
        logging.getLogger("distributed").setLevel(logging.WARNING)
    link = handle.executor.connect()  # now: an unreachable scheduler is one line before any run
    if link and not args.quiet:
        print(f"russo: runs on {handle.executor!r}; dashboard: {link}", file=sys.stderr)
    with _one_interrupt():  # a second Ctrl-C cannot lose what the first one kept: its runs are printed and written
        try:
            outcome = run_sync(handle)
        finally:
            handle.executor.close()
        if printer is not None:
            printer.close()
        say(outcome.summary())
        _print_sweep(outcome)
        _print_interval(outcome)
        _print_failures(outcome)
        problems = _write_outputs(args, outcome)
    for problem in problems:
        say(f"russo: error: {terminal_safe(problem)}", error=True)

    if outcome.interrupted:
        print("interrupted: the runs that finished are kept above; the rest are marked cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    if problems:
        return EXIT_USAGE
    if args.fail_under is not None:
        from ..model.thresholds import format_rate

        ok = outcome.pass_rate >= args.fail_under
        verdict = "at least" if ok else "below"
        say(f"pass rate {format_rate(outcome.pass_rate)} is {verdict} --fail-under {args.fail_under:.1%}")
        return EXIT_OK if ok else EXIT_FAILED
    return EXIT_OK if outcome.passed else EXIT_FAILED


@contextlib.contextmanager
def _one_interrupt() -> Iterator[None]:
    """Inside: the first Ctrl-C stops the job (KeyboardInterrupt, as always); any later one is ignored.

    The job then unwinds (bounded: the engine's teardown and the Dask cancel grace are timed) and the command
    prints and writes the runs that finished; a second press landing there used to end the command before
    ``--json`` was written. Left alone when Ctrl-C is not Python's default (ignored in a background job, or
    the embedding program's own handler), and outside the main thread.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    pressed = False

    def first_only(signum: int, frame: Any) -> None:
        nonlocal pressed
        if not pressed:
            pressed = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, first_only)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _print_sweep(outcome: SuiteResult) -> None:
    """After a suite with a ``sweep:`` block: the pass rate by voice (and by noise level), with intervals."""
    from ..execution.sweep import sweep_factors

    batch = outcome.batch
    factors = sweep_factors(batch)
    if not factors or not batch.finished_count:
        return
    from ..results.analysis import by_factor, by_factor_text

    for factor in [name for name in ("voice", "snr_db") if name in factors]:
        say("")
        say(by_factor_text(by_factor(batch, factor)))


class _SafeFormatter(logging.Formatter):
    """Log lines (a scenario's teardown error, a server's message) pass through :func:`terminal_safe` too."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record), multiline=True)


def _importable(folder: Path) -> None:
    """Let ``class:`` / ``object:`` references name modules in the current directory."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def _print_interval(outcome: SuiteResult) -> None:
    """The pass rate (per finished run) with its interval clustered by prompt.

    Runs of one prompt are not independent, so the interval treats prompts (and scenarios) as
    clusters (:func:`russo_nb.analysis.clustered_se`); with a single prompt it is that prompt's
    Wilson interval. Cancelled runs are left out and counted.
    """
    from ..model.thresholds import CONFIDENCE, PER_RUN, confidence_label
    from ..results.analysis.rows import prompt_rows
    from ..results.analysis.stats import clustered_se
    from ..results.view.kit import plural

    counts: list[tuple[int, int]] = []
    cancelled = 0
    for batch in (outcome.batch, outcome.scenarios):
        if batch is None or not len(batch.runs):
            continue
        # the one per-prompt aggregation: cancelled runs counted, never scored
        for row in prompt_rows(batch, measures=False):
            cancelled += row.cancelled
            if row.finished:
                counts.append((row.passed, row.finished))
    if not counts:
        return
    passed = [c for c, _ in counts]
    finished = [n for _, n in counts]
    level = confidence_label(CONFIDENCE)
    try:
        rate = clustered_se(passed, finished, CONFIDENCE)
        low, high = rate.low, rate.high
        how = f"clustered by {len(counts)} prompts" if len(counts) >= 2 else "one prompt: Wilson over its runs"
    except Exception:  # the interval is a nicety; never fail the run over it
        logger.debug("pass-rate interval failed", exc_info=True)
        return
    total, good = sum(finished), sum(passed)
    tail = f"; {plural(cancelled, 'cancelled run')} not counted" if cancelled else ""
    say(
        f"pass rate {good / total:.1%} {PER_RUN} ({level} CI {low:.1%} to {high:.1%}, {how}; "
        f"{plural(total, 'finished run')}{tail})"
    )


def _print_failures(outcome: SuiteResult, limit: int = 5) -> None:
    # cancelled runs did not fail: the summary counts them ("N cancelled runs not counted")
    failures = [run for run in outcome.batch.iter_failures() if run.status != "cancelled"]
    if outcome.scenarios is not None:
        for run in outcome.scenarios.iter_failures():
            if run.status == "cancelled":
                continue
            say(f"\nscenario {run.name!r} run {run.run_index}: {run.status}")
            if run.error is not None:
                say(f"      {terminal_safe(run.error)}")
            for criterion in run.failed_criteria:
                say(f"      failed: {terminal_safe(criterion)}")
            if run.reasoning:
                say(f"      {terminal_safe(run.reasoning)}")
    if not failures:
        return
    say(f"\nfirst {min(limit, len(failures))} of {len(failures)} runs that did not pass:")
    for run in failures[:limit]:
        say(f"  - {run.prompt!r} run {run.run_index}: {run.status}")
        if run.error is not None:
            say(f"      {terminal_safe(run.error)}")
            continue
        for match in run.eval_result.matches:
            if not match.matched:
                got = match.actual if match.actual is not None else "(no call)"
                say(f"      expected {terminal_safe(match.expected)}, got {terminal_safe(got)}")
                if match.details:
                    say(f"        {terminal_safe(match.details)}")


def _batches(outcome: Any) -> list[tuple[str, Any]]:
    """What to write: the prompt tests' batch and/or the scenarios' batch (suffix for the second)."""
    out: list[tuple[str, Any]] = []
    if outcome.tests:
        out.append(("", outcome.batch))
    if outcome.scenarios is not None:
        out.append(("-scenarios" if out else "", outcome.scenarios))  # written as scenario runs, loads back as they are
    return out


def _same_file(a: str | Path, b: str | Path) -> bool:
    """True when two paths name one file (``out.jsonl`` and ``./out.jsonl``, a link and its target)."""
    return Path(a).resolve() == Path(b).resolve()


def _suffixed(path: str, suffix: str) -> Path:
    target = Path(path)
    return target.with_name(target.stem + suffix + target.suffix) if suffix else target


def _write_outputs(args: argparse.Namespace, outcome: Any) -> list[str]:
    """Write the report, the runs and the history record; each is tried, failures are returned."""
    from ..results.report import export, write_report

    problems: list[str] = []
    for suffix, batch in _batches(outcome):
        steps: list[tuple[str, str, Any]] = []
        if args.report:
            target = _suffixed(args.report, suffix)
            steps.append(("report", "--report", partial(write_report, batch, target)))
        if args.json:
            target = _suffixed(args.json, suffix)
            steps.append(("runs", "--json", partial(export, batch, target)))
        if args.history:
            steps.append(("history", "cannot record the batch", partial(_record, args, outcome.name, batch)))
        for label, failure, write in steps:
            try:
                say(f"{label}: {write()}")
            except (OSError, RussoError) as exc:  # the writers' errors name the path and why
                problems.append(f"{failure}: {exc}")
    return problems


def _check_outputs(args: argparse.Namespace, suffixes: list[str]) -> None:
    """Refuse, before any run, a ``--report`` / ``--json`` / history path no file could be written to.

    Found only after the runs, such a path would cost the batch (with ``--no-history``, all of it).
    """
    from ..results.report.files import check_report_path, check_writable
    from ..results.store import DEFAULT_PATH, HistoryStore

    for flag, path, check in (("--report", args.report, check_report_path), ("--json", args.json, check_writable)):
        for suffix in suffixes if path else []:
            try:
                check(_suffixed(path, suffix))
            except RussoError as exc:
                raise InvalidArgumentError(f"{flag}: {exc}") from None
    if args.history:
        store = Path(args.history_db or DEFAULT_PATH)
        flag = "--history-db" if args.history_db else "the history store (--history-db PATH, or --no-history)"
        try:
            if os.path.lexists(store):
                HistoryStore(store)  # a folder, another program's database or a text file: said now
            else:
                check_writable(store)
        except StoreBusyError:
            pass  # in use now, perhaps free once the runs end: recording waits then
        except RussoError as exc:
            raise InvalidArgumentError(f"{flag}: {exc}") from None


def _record(args: argparse.Namespace, suite: str, batch: Any) -> str:
    """Record ``batch`` in the history store; returns what was done."""
    from ..results.store import DEFAULT_PATH, HistoryStore

    store = HistoryStore(args.history_db or DEFAULT_PATH)
    return f"recorded batch {store.record(batch, suite=suite)} in {store.path}"


# -- russo demo / report / history --------------------------------------------------------------


def _demo(argv: list[str]) -> int:
    from . import demo

    return int(demo.main(argv) or 0)


def _report(argv: list[str]) -> int:
    parser = CommandParser(
        prog="russo report",
        description="Turn an exported batch (.jsonl, .jsonl.gz, .csv, .parquet) into an HTML report.",
    )
    parser.add_argument(
        "batch", help="a batch exported with --json / russo_nb.report.export (.jsonl, .jsonl.gz, .csv or .parquet)"
    )
    parser.add_argument("-o", "--output", metavar="OUT.html", help="where to write the report (default: BATCH.html)")
    args = parser.parse_args(argv)
    source = Path(args.batch)
    if not source.exists():
        parser.error(f"no such file: {source}")
    from ..results.report import load_batch, write_report
    from ..results.report.files import check_report_path

    output = Path(args.output) if args.output else source.with_suffix(".html")
    if _same_file(source, output):
        parser.error(f"-o {output} is the batch file itself; the report would replace the runs: give another path")
    check_report_path(output)
    result = load_batch(source)
    written = write_report(result, output)
    say(f"report: {written}")
    return EXIT_OK


def _history(argv: list[str]) -> int:
    parser = CommandParser(prog="russo history", description="List the batches recorded in the history store.")
    parser.add_argument(  # --history-db: the name `russo run` gives the same file
        "--db", "--history-db", dest="db", metavar="PATH", help="history store file (default .russo/history.sqlite)"
    )
    parser.add_argument("--limit", type=positive_int, default=20, metavar="N", help="newest N batches (default 20)")
    args = parser.parse_args(argv)
    from ..results.store import DEFAULT_PATH, HistoryStore

    if args.db and not Path(args.db).exists():
        parser.error(f"no history store at {args.db}")
    store = HistoryStore.existing(args.db or DEFAULT_PATH)  # listing creates no store
    frame = store.list(limit=args.limit) if store is not None else ()
    if len(frame) == 0:
        say("no batches recorded yet; run `russo --config suite.yaml` to record one")
        return EXIT_OK
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 40):
        for column in frame.columns:  # suite and agent names are user-written
            frame[column] = frame[column].map(lambda cell: terminal_safe(cell) if isinstance(cell, str) else cell)
        say(frame.to_string(index=False))
    return EXIT_OK
