"""``%russo`` / ``%%russo``: run, explore, compare and export batches from notebook cells.

Every batch runs on its own event loop in a worker thread (:func:`russo_nb.execution.sync.run_sync`),
so the magics work in a kernel whose loop is already running. A kernel interrupt keeps
the finished runs (the rest are marked ``cancelled``) and still stores the result under
``--as``. A mistake (unknown name, bad expectation, unknown option) prints one message
to stderr and returns None: no traceback wall.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from ...model.errors import InvalidArgumentError, RussoError
from ..arguments import Command, magic_usage, parse_magic
from .namespace import accepts_agent, lookup, report_error
from .progress import ProgressDisplay, in_kernel

__all__ = ["RussoMagics", "load_ipython_extension"]

logger = logging.getLogger("russo_nb")


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def _display_html(html: str) -> None:
    from IPython.display import HTML, display

    display(HTML(html))


def _engine(command: Command) -> dict[str, Any]:
    """The engine options the line gave (None: not given, the default or the suite file's)."""
    from ...execution.engine import TEXT_OPTIONS

    return {name: command.get(name) for name in TEXT_OPTIONS}


def _until(command: Command) -> Any:
    """``--until-half-width HW [--max-runs N]`` as a :class:`russo_nb.Precision` (None without it)."""
    if command.get("until_half_width") is None:
        if command.get("max_runs") is not None:
            raise InvalidArgumentError("--max-runs goes with --until-half-width HW (e.g. --until-half-width 0.05)")
        return None
    from ...execution.precision import Precision

    return Precision(half_width=command.get("until_half_width"), max_runs=command.get("max_runs") or 100)


def _is_result(obj: Any) -> bool:
    return hasattr(obj, "runs") and hasattr(obj, "pass_rate")


def _as_batch(obj: Any) -> Any:
    """A SuiteResult shows as its combined batch; everything else as itself."""
    from ..config import SuiteResult

    return obj.batch if isinstance(obj, SuiteResult) else obj


def _batches(obj: Any) -> list[Any]:
    """What a run made, to record: a suite's prompt batch (when it has tests) and its scenario batch; else itself."""
    from ..config import SuiteResult

    if not isinstance(obj, SuiteResult):
        return [obj]
    return ([obj.batch] if obj.tests else []) + ([obj.scenarios] if obj.scenarios is not None else [])


@magics_class
class RussoMagics(Magics):
    """The ``%russo`` line magic and ``%%russo`` cell magic."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._executors: dict[str, Any] = {}  # --dask ADDRESS -> its executor, kept for the session's next cells
        # a name a run's result was kept under -> (the job that made it, what the name held, the run's --as NAME):
        # for %russo resume NAME (a suite's NAME and NAME_scenarios share its one job)
        self._jobs: dict[str, tuple[Any, Any, str]] = {}

    @line_cell_magic
    def russo(self, line: str, cell: str | None = None) -> Any:
        """Run and inspect agent test batches. ``%russo help`` lists the subcommands."""
        try:
            command = parse_magic(line, cell)
            if command is None:  # --help printed the help
                return None
            handler: Callable[[Command], Any] = getattr(self, f"_cmd_{command.name}")
            return handler(command)
        except RussoError as exc:
            report_error(str(exc))
            return None

    # -- helpers ----------------------------------------------------------------------
    @property
    def ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    def _lookup_result(self, name: str) -> Any:
        return _as_batch(
            lookup(
                self.ns,
                name,
                role="result",
                accept=lambda obj: _is_result(_as_batch(obj)),
                hint="results come from %russo run ... --as NAME or russo_nb.run_concurrent(...)",
            )
        )

    def _effects(self, spec: str | None) -> list[Any]:
        from ...execution.pipeline import build_effects

        return build_effects(spec or None)

    def _expectations(self, values: list[str]) -> Any:
        from ...model.expectations import parse_expectation

        if not values:
            return None
        calls: list[Any] = []
        for value in values:
            name = value.strip()
            if name.isidentifier() and name in self.ns and not callable(self.ns[name]):
                found = self.ns[name]
                if isinstance(found, Mapping) and "name" not in found:
                    if len(values) > 1:
                        raise InvalidArgumentError(
                            f"--expect {name} maps prompts to calls; give it alone, not with other --expect values"
                        )
                    return dict(found)
                if isinstance(found, (list, tuple)):
                    calls.extend(found)
                else:
                    calls.append(found)
                continue
            if name.isidentifier():
                # a bare word is a list's name that is not there (a typo?), not a call: calls have parentheses
                from .namespace import close_matches

                if name in self.ns:
                    what = f"{name} is a {type(self.ns[name]).__name__}, not a list of expected calls."
                else:
                    matches = close_matches(name, self.ns)
                    near = f" Did you mean {', '.join(matches)}?" if matches else ""
                    what = f"no list named {name!r} in your namespace.{near}"
                raise InvalidArgumentError(
                    f'--expect {name}: {what} For a call without arguments write --expect "{name}()"'
                )
            calls.append(parse_expectation(value))
        return calls

    def _prompts(self, command: Command) -> list[str]:
        prompts: list[str] = []
        words = command.positionals
        if len(words) > 1 and not any(" " in word for word in words):
            prompts.append(" ".join(words))  # an unquoted prompt: %russo run hello there --agent a
        else:
            prompts.extend(words)
        for raw in (command.cell or "").splitlines():
            text = raw.strip()
            if text and not text.startswith("#"):
                prompts.append(text)
        if not prompts:
            raise InvalidArgumentError(
                'no prompts: put one on the line (%russo run "Book a flight to LA" --agent a) '
                "or one per line in a %%russo run cell"
            )
        return prompts

    def _execute(self, handle: Any, command: Command, label: str) -> Any:
        """Run a batch handle with live progress; on interrupt keep what finished."""
        from ...execution.sync import run_sync

        quiet = bool(command.get("quiet", False))
        store = self._history_store(command) if command.get("record", False) else None  # a bad path: said now
        progress = handle.progress
        link = handle.executor.connect()  # a cluster's dashboard, shown beside the bar
        display = ProgressDisplay(progress.total, label, mode="none" if quiet else "auto", link=link).show()
        chained = handle.on_progress

        def on_progress(state: Any) -> None:
            display(state)
            if chained is not None:
                chained(state)

        handle.on_progress = on_progress
        try:
            result = run_sync(handle)
        finally:
            if not any(handle.executor is kept for kept in self._executors.values()):
                # one the cell made (a suite file's executor: block): its local cluster goes with the cell, as the
                # command closes it; --dask executors are kept for the session's next cells
                handle.executor.close()
        batch = _as_batch(result)
        interrupted = bool(getattr(getattr(batch, "metadata", None), "params", {}).get("interrupted"))
        display.finish(progress, interrupted=interrupted)
        value = self._keep(handle, result, command.get("as"))
        # an interruption is said once, by the result's own view ("145 cancelled — interrupted after 15 runs")
        for made in _batches(result) if store is not None else []:  # a suite's scenario runs are recorded too
            try:
                batch_id = store.record(made, suite=command.get("name"))
            except RussoError as exc:  # the result is still the cell's value (and --as): only the record is missing
                report_error(f"the batch was not recorded: {exc}")
            else:
                print(f"recorded batch {batch_id} in {store.path}")
        return value

    def _keep(self, handle: Any, result: Any, target: str | None) -> Any:
        """Keep what a job made under ``--as NAME`` (and the job, for ``%russo resume``); returns the cell's value.

        A suite's result is kept as its parts: its prompt batch as NAME (its scenario runs when it has no prompt
        tests) and, with both, its scenario runs as NAME_scenarios, shown below. Resuming either name resumes the
        suite's one job, and both names get the merged parts.
        """
        from ..config import SuiteResult

        parts = {target: result}
        if isinstance(result, SuiteResult):
            parts = {target: result.batch if result.tests else result.scenarios}
            if result.tests and result.scenarios is not None:  # both: the scenario runs are shown and kept as well
                _display(result.scenarios)
                if target:
                    parts[f"{target}_scenarios"] = result.scenarios
                    print(f"the scenario runs are in {target}_scenarios")
                else:
                    print("the scenario runs are shown above; keep them with --as NAME (as NAME_scenarios)")
        if target:
            for name, part in parts.items():
                self.ns[name] = part
                self._jobs[name] = (handle, part, target)
        return parts[target]

    @staticmethod
    def _history_store(command: Command) -> Any:
        """The history store ``--history`` names (or the default), opened: a folder or another file is refused."""
        from ...results.store import DEFAULT_PATH, HistoryStore

        return HistoryStore(command.get("history") or DEFAULT_PATH)

    def _agent(self, name: str | None, *, required: bool) -> Any:
        if name is None:
            if not required:
                return None
            from .namespace import agent_like_names

            agents = agent_like_names(self.ns)
            found = f" Agents in your namespace: {', '.join(agents[:8])}." if agents else ""
            raise InvalidArgumentError(f"%russo run needs --agent NAME (the agent to test).{found}")
        return lookup(self.ns, name, role="agent", accept=accepts_agent)

    def _component(self, name: str, role: str, signature: str) -> Any:
        """A synthesizer or evaluator from the namespace: an object with the method ``signature`` names."""
        method = signature.split("(")[0]
        return lookup(
            self.ns,
            name,
            role=role,
            accept=lambda obj: callable(getattr(obj, method, None)),
            hint=f"{'an' if role[0] in 'aeiou' else 'a'} {role} has {signature}",
        )

    # -- subcommands --------------------------------------------------------------------
    def _executor(self, command: Command) -> Any:
        """``--dask [ADDRESS]``: the session's executor for that cluster (kept, so later cells reuse it), else None."""
        address = command.get("dask")
        if address is None:
            return None
        if address not in self._executors:
            from ..config import make_executor

            self._executors[address] = make_executor("dask", None if address == "local" else address)
        return self._executors[address]

    def _cmd_help(self, command: Command) -> None:
        print(magic_usage(command.positionals[0] if command.positionals else None))

    def _cmd_run(self, command: Command) -> Any:
        from ...execution.runner import start_batch

        prompts = self._prompts(command)
        agent = self._agent(command.get("agent"), required=True)
        expect = self._expectations(command.get("expect", []))
        if command.get("text", False):
            if command.get("synthesizer"):
                raise InvalidArgumentError("--text (no audio) and --synthesizer cannot be used together")
            synthesizer = None
        elif command.get("synthesizer"):
            synthesizer = self._component(command.get("synthesizer"), "synthesizer", "synthesize(text) -> Audio")
        else:
            from ...execution.pipeline import default_synthesizer

            synthesizer = default_synthesizer()
        if command.get("evaluator"):
            evaluator = self._component(
                command.get("evaluator"), "evaluator", "evaluate(expected, actual) -> EvalResult"
            )
        else:
            evaluator = None  # the default evaluator (russo_nb.execution.pipeline.default_evaluator)
        batch = start_batch(
            prompts,
            synthesizer,
            agent,
            evaluator,
            expect,
            command.get("runs", 1),
            effects=self._effects(command.get("effects")),
            name=command.get("name") or command.get("as"),
            executor=self._executor(command),
            until=_until(command),
            **_engine(command),
        )
        return self._execute(batch, command, "russo run")

    def _cmd_sweep(self, command: Command) -> Any:
        from ...execution.sweep import parse_conditions_text, parse_list_text, start_sweep

        if command.get("agent"):
            agent = self._agent(command.get("agent"), required=True)
            prompts = self._prompts(command)
            expect = self._expectations(command.get("expect", []))
        else:
            from ...execution.pipeline import default_agent
            from ..demo import demo_suite

            suite = demo_suite()
            given = command.positionals or (command.cell or "").strip()
            prompts = self._prompts(command) if given else suite.prompts
            expect = self._expectations(command.get("expect", [])) or suite.expect
            agent = default_agent()
        job = start_sweep(
            prompts,
            agent,
            expect,
            voices=parse_list_text(command.get("voices")),
            snr_db=parse_list_text(command.get("snr")),
            conditions=parse_conditions_text(command.get("conditions")),
            noise=command.get("noise") or "white",
            runs=command.get("runs", 1),
            effects=self._effects(command.get("effects")) or None,
            name=command.get("name") or command.get("as"),
            executor=self._executor(command),
            **_engine(command),
        )
        return self._execute(job, command, "russo sweep")

    def _cmd_demo(self, command: Command) -> Any:
        from ..demo import start_demo

        agent = None
        if command.get("agent"):
            agent = lookup(self.ns, command.get("agent"), role="agent", accept=accepts_agent)
        batch = start_demo(
            command.get("runs"),
            self._effects(command.get("effects")) or None,
            agent=agent,
            name=command.get("name") or command.get("as"),
            executor=self._executor(command),
            **_engine(command),
        )
        return self._execute(batch, command, "russo demo")

    def _cmd_suite(self, command: Command) -> Any:
        from ..config import load_suite

        path = Path(command.positionals[0]).expanduser()
        if not path.exists():
            raise InvalidArgumentError(f"suite file {str(path)!r} does not exist (working directory: {Path.cwd()})")
        return self._run_suite(load_suite(path), command, "russo suite")

    def _run_suite(self, suite: Any, command: Command, label: str) -> Any:
        from ..config import build_pipeline, start_suite

        pipeline = build_pipeline(suite)
        if command.get("agent"):
            pipeline.agent = lookup(self.ns, command.get("agent"), role="agent", accept=accepts_agent)
        if command.get("effects"):
            pipeline.effects = self._effects(command.get("effects"))
        handle = start_suite(
            suite, command.get("runs"), pipeline=pipeline, executor=self._executor(command), **_engine(command)
        )
        return self._execute(handle, command, label)  # kept by _keep: NAME, and NAME_scenarios with both

    def _cmd_scenario(self, command: Command) -> Any:
        from ...scenario import start_scenarios

        handle = start_scenarios(
            self._scenarios(command.positionals),
            command.get("runs", 1),
            name=command.get("name") or command.get("as"),
            executor=self._executor(command),
            **_engine(command),
        )
        return self._execute(handle, command, "russo scenario")

    def _scenarios(self, names: list[str]) -> list[Any]:
        """The scenarios ``names`` name in the namespace (a name may hold a list of them)."""
        scenarios: list[Any] = []
        for name in names:
            found = lookup(self.ns, name, role="scenario", hint="define one with russo_nb.scenario.Scenario(...)")
            scenarios.extend(found if isinstance(found, (list, tuple)) else [found])
        return scenarios

    def _cmd_resume(self, command: Command) -> Any:
        """Run what an interrupted batch left (its cancelled runs, same seeds) and merge it back under its name."""
        from ...execution.resume import resume
        from ...scenario.batch import ScenarioBatch

        name = command.positionals[0]
        result = self._lookup_result(name)
        job, made, owner = self._jobs.get(name, (None, None, name))
        if job is not None and self.ns.get(name) is made:  # still what that job made (not rebound since)
            handle = job.resume(**_engine(command))  # a suite's: both its parts, whichever name was given
        elif isinstance(result, ScenarioBatch):  # a loaded scenario batch: its scenarios hold the agents
            if not command.get("scenarios"):
                raise InvalidArgumentError(
                    f"{name} was not run by %russo in this session; give the scenarios it ran: "
                    f"%russo resume {name} --scenarios NAME [NAME ...]"
                )
            handle = resume(result, self._scenarios(command.get("scenarios")), **_engine(command))
        else:  # a loaded batch (or one made elsewhere): the components come from the options
            if not command.get("agent"):
                raise InvalidArgumentError(
                    f"{name} was not run by %russo in this session; give the agent to resume it with: "
                    f"%russo resume {name} --agent NAME"
                )
            agent = lookup(self.ns, command.get("agent"), role="agent", accept=accepts_agent)
            synthesizer = None
            if command.get("synthesizer"):
                synthesizer = self._component(command.get("synthesizer"), "synthesizer", "synthesize(text) -> Audio")
            handle = resume(
                result,
                agent,
                synthesizer,
                effects=self._effects(command.get("effects")),
                **_engine(command),
            )
        if not handle.total:
            print(f"{name}: every run finished; nothing to resume")
            return None
        if not command.get("as"):
            command.options["as"] = owner  # the merged batch replaces the partial one (a suite's: both parts)
        return self._execute(handle, command, f"russo resume {name}")

    def _cmd_show(self, command: Command) -> None:
        from .explorer import explore

        result = self._lookup_result(command.positionals[0])
        _display(explore(result))

    def _cmd_compare(self, command: Command) -> None:
        from ...results.analysis import paired_comparison

        name_a, name_b = command.positionals
        a = self._lookup_result(name_a)
        b = self._lookup_result(name_b)
        comparison = paired_comparison(a, b)
        if not comparison.n_shared:
            raise InvalidArgumentError(f"{name_a} and {name_b} share no prompts, so there is nothing to pair")
        if in_kernel():
            from .compare_view import CompareView

            _display(CompareView(a, b, name_a, name_b, comparison=comparison))
            return
        from ...results.view.kit import STYLE
        from .compare_view import compare_grid_html, comparison_chart_svg, comparison_html

        chart = comparison_chart_svg(comparison, name_a, name_b)
        _display_html(
            comparison_html(comparison, name_a, name_b)
            + f"{STYLE}<div class='russo chart'>{chart}</div>"
            + compare_grid_html(a, b, comparison, name_a, name_b)
        )

    def _cmd_export(self, command: Command) -> None:
        from ...results.report import export

        name, path = command.positionals
        result = self._lookup_result(name)
        # export() is the one judge of suffixes (.html, .csv, .parquet, .jsonl, .jsonl.gz) and says which it takes
        written = Path(export(result, path, include_audio=bool(command.get("audio", False))))
        size = written.stat().st_size if written.exists() else 0
        print(f"wrote {written} ({size / 1024:.1f} KiB)")

    def _cmd_history(self, command: Command) -> Any:
        from ...results.store import DEFAULT_PATH, HistoryStore

        path = command.get("history") or DEFAULT_PATH
        store = HistoryStore.existing(path)  # reading creates no store (as russo history)
        nothing = f"no batches recorded yet in {path}; use %russo run ... --record or HistoryStore().record(result)"
        if command.positionals:
            action = command.positionals[0]
            if action != "open":
                raise InvalidArgumentError(
                    f"%russo history {action}: the only action is open, e.g. %russo history open BATCH_ID --as old"
                )
            if len(command.positionals) < 2:
                raise InvalidArgumentError(
                    "%russo history open needs a batch id (the Id column of %russo history; a unique prefix will do)"
                )
            if store is None:
                raise InvalidArgumentError(nothing)
            return self._open_recorded(store, command.positionals[1], command.get("as"))
        if store is None:
            print(nothing)
            return None
        frame = store.list(limit=command.get("limit", 20))
        if command.get("as"):
            self.ns[command.get("as")] = frame
        if len(frame) == 0:
            print(nothing)
            return None
        if in_kernel():
            from .history_view import HistoryView

            view = HistoryView(
                store,
                limit=command.get("limit", 20),
                on_open=lambda batch_id: self._open_recorded(store, batch_id, None),
            )
            _display(view)
            return None
        from .history_view import history_html

        _display_html(history_html(frame, store.trend()))
        return None

    def _open_recorded(self, store: Any, batch_id: str, target: str | None) -> Any:
        """Load a recorded batch into the namespace (``--as`` or batch_<id>) and show its explorer."""
        from .explorer import explore
        from .history_view import variable_for

        batch = store.load(batch_id)
        name = target or variable_for(batch.metadata.batch_id)
        self.ns[name] = batch
        label = batch.metadata.name or batch.metadata.batch_id
        print(f"loaded batch {batch.metadata.batch_id} ({label}, {len(batch.runs)} runs) into {name}")
        _display(explore(batch))
        return None


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext russo_nb``)."""
    ipython.register_magics(RussoMagics)
    if in_kernel():
        logger.debug("russo_nb magics loaded in a kernel")
