"""The offline demo: espeak-ng speaks the demo prompts, the local pocketsphinx agent answers.

No API key, no network. ``run_demo(effects=["noise:5db"])`` makes the agent mishear
for real, and the pass rate shows it. ``russo demo`` / ``python -m russo_nb demo``
call :func:`main`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..execution.pipeline import default_agent, default_synthesizer
from ..model.errors import RussoError, SuiteFileError
from ..model.plain_text import terminal_safe
from ..model.types import BatchResult

if TYPE_CHECKING:
    from ..execution.engine import EngineOptions, Job
    from .config import Suite

__all__ = ["default_agent", "default_synthesizer", "demo_suite", "main", "run_demo", "start_demo"]


def demo_suite(path: str | Path | None = None) -> Suite:
    """The demo suite (``data/demo_suite.yaml``), or another suite file, as a
    :class:`~russo_nb.surfaces.config.Suite`."""
    from ..adapters.local import data_path
    from .config import load_suite

    suite = load_suite(Path(path) if path is not None else data_path("demo_suite.yaml"))
    if not suite.prompts:
        raise SuiteFileError(f"{suite.source}: the suite has no prompt tests; give each test prompts: [...]")
    return suite


def start_demo(
    runs: int | None = None,
    effects: Any = None,
    max_concurrency: int | None = None,
    on_progress: Callable[[Any], Any] | None = None,
    seed: int | None = None,
    *,
    text_mode: bool = False,
    suite: Suite | str | Path | None = None,
    agent: Any = None,
    synthesizer: Any = None,
    name: str | None = None,
    options: EngineOptions | None = None,
    executor: Any = None,
    **engine: Any,
) -> Job[BatchResult]:
    """Prepare the demo batch (not yet run): the handle the magics and :func:`run_demo` drive.

    ``runs``, ``effects`` and the engine options (:class:`~russo_nb.execution.engine.EngineOptions`, as keywords
    or ``options=``) default to the suite file's; ``text_mode=True`` skips speech.
    """
    from ..execution.pipeline import build_effects
    from ..execution.runner import start_batch

    if suite is None or isinstance(suite, (str, Path)):
        suite = demo_suite(suite)
    chain = build_effects(effects if effects is not None else suite.effect_items())
    agent = agent or default_agent()
    if text_mode:
        synthesizer = None
        if effects is None:  # the suite file's effects are for speech; effects= given in text mode are refused
            chain = []
    else:
        synthesizer = synthesizer or default_synthesizer()
        warm = getattr(agent, "warm_up", None)
        if callable(warm) and executor is None:  # on a cluster the workers load their own recogniser
            warm()
    return start_batch(
        suite.prompts,
        synthesizer,
        agent,
        expect=suite.expect,
        runs=runs if runs is not None else (suite.runs or 3),
        max_concurrency=max_concurrency,
        options=options if options is not None else suite.options(),
        seed=seed,
        effects=chain,
        on_progress=on_progress,
        **engine,
        name=name or suite.label,
        tags=["demo"],
        executor=executor,
    )


def run_demo(
    runs: int = 3,
    effects: Any = None,
    max_concurrency: int | None = None,
    on_progress: Callable[[Any], Any] | None = None,
    seed: int | None = None,
    **options: Any,
) -> BatchResult:
    """Run the demo suite offline and return its :class:`BatchResult` (callable from sync code).

    ``effects``: specs like ``"noise:10db,telephone"`` or effect objects; each run gets its
    own seeded noise. Other options as :func:`start_demo` (``text_mode``, ``suite``,
    ``agent``, ``synthesizer``, ``name``, the engine options).
    """
    from ..execution.sync import run_sync

    return run_sync(start_demo(runs, effects, max_concurrency, on_progress, seed, **options))


def _misheard(result: BatchResult, limit: int = 8) -> list[str]:
    lines = []
    for run in result.iter_failures():
        if run.status == "cancelled":  # never ran: not misheard (the summary counts them)
            continue
        heard = run.response.text if run.response is not None else None
        if run.error is not None:
            lines.append(f"  {run.prompt!r} run {run.run_index}: {run.status}: {terminal_safe(run.error)}")
        else:
            calls = ", ".join(terminal_safe(call) for call in run.eval_result.actual) or "no tool call"
            lines.append(f"  {run.prompt!r} run {run.run_index}: heard {heard!r} -> {calls}")
        if len(lines) >= limit:
            break
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """``russo demo``: run the offline demo and print the summary. Returns the exit code.

    Progress goes to stderr (as ``russo run``'s) unless ``--quiet``; 0 when the demo ran, 2 on bad
    input, 130 when interrupted (the runs that finished are printed first, as ``russo run`` does).
    """
    from ..results.progress_text import ProgressPrinter
    from .arguments import CommandParser, add_demo_arguments, add_quiet, engine_values
    from .printing import say  # the one printer: a reader that stops early (| head) costs neither files nor verdict

    parser = CommandParser(prog="russo demo", description="Run the offline voice demo (no keys needed).")
    add_demo_arguments(parser)
    parser.add_argument("--snr", type=float, default=None, help="add white noise at this SNR in dB (e.g. 10)")
    parser.add_argument("--text", action="store_true", help="text mode: skip speech synthesis and recognition")
    parser.add_argument("--suite", default=None, help="another suite file (tests with prompts and expect)")
    parser.add_argument("--report", default=None, help="also write an HTML report to this path")
    add_quiet(parser, "print only the pass-rate line")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.text and (args.effects or args.snr is not None):
        parser.error("--effects and --snr change the audio, and --text has none; drop one of them")
    try:
        from ..execution.pipeline import build_effects
        from ..results.report.files import check_report_path
        from ..voice.audio.effects import Noise

        if args.report:  # now, not after the runs
            check_report_path(args.report)
        effects = build_effects(args.effects)
        if args.snr is not None:
            effects.append(Noise(snr_db=args.snr))
        suite = demo_suite(args.suite)
        printer = None if args.quiet else ProgressPrinter(sys.stderr, label="demo")
        result = run_demo(
            runs=args.runs,
            effects=effects or None,
            on_progress=printer,
            text_mode=args.text,
            suite=suite,
            **engine_values(args),
        )
    except RussoError as exc:
        say(f"russo demo: {terminal_safe(exc)}", error=True)
        return 2
    if printer is not None:
        printer.close()
    code, written = 0, None
    if args.report:  # before the text: a reader that stops early (| head) must not cost the report
        from ..results.report import write_report

        try:
            written = write_report(result, args.report)
        except (OSError, RussoError) as exc:  # the runs are printed below; say what went wrong in one line
            say(f"russo demo: cannot write the report: {terminal_safe(exc)}", error=True)
            code = 2
    effects_text = ", ".join(result.metadata.effects) or "clean audio"
    mode = "text mode" if args.text else f"{result.metadata.synthesizer} -> {result.metadata.agent}"
    if not args.quiet:
        say(result.summary())
        misheard = _misheard(result)
        if misheard:
            say("Misheard / failed runs:")
            say("\n".join(misheard))
    from ..model.thresholds import format_rate
    from ..results.view.kit import plural

    say(
        f"demo: {result.passed_count}/{result.finished_count} runs passed ({format_rate(result.pass_rate, 0)}) "
        f"over {plural(len(result.prompts), 'prompt')} x {plural(result.metadata.runs_per_prompt, 'run')}; "
        f"{mode}; {effects_text}"
    )
    if written is not None:
        say(f"report: {written}")
    if result.metadata.params.get("interrupted"):
        say("interrupted: the runs that finished are kept above; the rest are marked cancelled", error=True)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
