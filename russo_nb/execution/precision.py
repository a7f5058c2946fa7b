"""Stop when sure: add rounds of runs until the pass rate's interval is as narrow as asked.

``run_concurrent(..., until=russo_nb.Precision(half_width=0.05))`` runs ``runs`` per prompt,
then keeps adding rounds (``step`` more runs of every prompt, each with the seed an
uninterrupted batch would give it) until the batch's one interval (the view's, clustered by
prompt) is at most ± ``half_width``, or every prompt has ``max_runs`` runs. This is
*estimation* — choosing how many runs measure the rate to a given precision — not a test:
stopping when the interval is narrow does not bias the estimate the way stopping when a
difference looks significant does, but it is no substitute for a planned comparison.

The result says why it stopped (``metadata.params["stopped_for"]``), and the batch view
shows it beside the headline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..model.errors import InvalidArgumentError
from ..model.thresholds import CONFIDENCE
from .engine import Progress

__all__ = ["PreciseBatch", "Precision"]


@dataclass(frozen=True)
class Precision:
    """Stop adding runs once the pass rate's interval is at most ± ``half_width`` (or at ``max_runs`` per prompt).

    ``step``: runs per prompt added each round (default: the first round's ``runs``);
    ``confidence``: the interval's level.
    """

    half_width: float = 0.05
    max_runs: int = 100
    step: int | None = None
    confidence: float = CONFIDENCE

    def __post_init__(self) -> None:
        if not 0 < self.half_width < 0.5:
            raise InvalidArgumentError(
                f"Precision(half_width={self.half_width!r}): give a half-width between 0 and 0.5, "
                "e.g. 0.05 for ±5 points"
            )
        if not isinstance(self.max_runs, int) or self.max_runs < 1:
            raise InvalidArgumentError(f"Precision(max_runs={self.max_runs!r}): give a whole number of runs ≥ 1")
        if self.step is not None and (not isinstance(self.step, int) or self.step < 1):
            raise InvalidArgumentError(f"Precision(step={self.step!r}): give a whole number of runs ≥ 1")

    def batch(self, runs: int, start: Any) -> PreciseBatch:
        """The rounds to run (:class:`PreciseBatch`): ``start(runs)`` prepares the batch with ``runs`` per prompt."""
        return PreciseBatch(self, runs, start)

    def half_width_of(self, result: Any) -> float | None:
        """The current ± of ``result``'s pass rate (the view's clustered interval), None without finished runs."""
        from ..model.rendering import render

        view = render("view_model", result, confidence=self.confidence, groups=False)  # the results room draws it
        if view.low is None or view.high is None:
            return None
        return (view.high - view.low) / 2


def _laid_out(previous: list[Any], units: int, old_runs: int, new_runs: int) -> list[Any]:
    """``previous`` (unit-major, ``old_runs`` per unit) placed in a unit-major list of ``new_runs`` per unit."""
    out: list[Any] = [None] * (units * new_runs)
    for unit in range(units):
        out[unit * new_runs : unit * new_runs + old_runs] = previous[unit * old_runs : (unit + 1) * old_runs]
    return out


_COUNTS = ("done", "passed", "failed", "errors", "cancelled")  # what a Progress counts


class PreciseBatch:
    """Rounds of a batch until :class:`Precision` is met: ``await`` / ``wait()`` it, ``cancel()`` it, ``result()``.

    ``start(runs)`` prepares the batch with ``runs`` per prompt (a :class:`~russo_nb.execution.engine.Job`).
    Each round after the first runs only the new run indices (seeds as an uninterrupted batch's)
    and merges them with what finished; ``result()`` at any time is the merged batch so far. It
    stands in for a job where one is expected (``progress``, ``on_progress``, ``executor``,
    ``total`` are the round in flight's; ``start()``; ``resume()`` finishes an interrupted round).
    """

    def __init__(self, until: Precision, runs: int, start: Any) -> None:
        if runs > until.max_runs:
            raise InvalidArgumentError(f"runs={runs} is more than Precision(max_runs={until.max_runs}); raise max_runs")
        self.until = until
        self.start_round = start
        self.runs = runs
        self.job = start(runs)
        self.reason = ""
        self.stopped = ""  # "precision", "cap" or "interrupted"
        self.reached: float | None = None  # the half-width when it stopped
        self.rounds: list[int] = []  # runs finished in each round
        self._on_progress = self.job.on_progress
        self.job.on_progress = self._forward
        self._progress = Progress(total=self.job.total, started=self.job.progress.started)
        self._before = Progress(total=0)  # what the rounds before the one in flight counted
        self._cancelled = False
        self._task: Any = None

    # -- standing in for a job -----------------------------------------------------------------
    @property
    def progress(self) -> Progress:
        """Progress over every round so far (``total`` grows as rounds are added)."""
        return self._progress

    @property
    def total(self) -> int:
        """Runs planned so far: the rounds run and the one in flight."""
        return self._progress.total

    def _forward(self, state: Progress) -> None:
        """A round's progress event: the rounds' progress is the earlier rounds' counts plus the round's, handed on.

        Added up from the round's counts, not from its last run: a round on a Dask cluster counts runs it keeps
        as rows (its ``last`` is built only when read).
        """
        progress, before = self._progress, self._before
        progress.total = before.done + state.total
        for name in _COUNTS:
            setattr(progress, name, getattr(before, name) + getattr(state, name))
        progress.last_from(state)
        if self._on_progress is not None:
            self._on_progress(self._progress)

    @property
    def executor(self) -> Any:
        """Where the runs execute (the first round's executor, used by every round)."""
        return self.job.executor

    @property
    def on_progress(self) -> Any:
        """Progress callback, passed on to every round."""
        return self._on_progress

    @on_progress.setter
    def on_progress(self, callback: Any) -> None:
        self._on_progress = callback

    def start(self) -> Any:
        """Start the rounds on the running loop (once); returns the task."""
        import asyncio

        if self._task is None:
            self._task = asyncio.ensure_future(self.wait())
        return self._task

    def resume(self, on_progress: Any = None, **options: Any) -> Any:
        """A job that runs the interrupted round's unfinished runs (``Job.resume``); no further rounds."""
        return self.job.resume(on_progress, **options)

    # -- the rounds ----------------------------------------------------------------------------
    async def wait(self) -> Any:
        """Run rounds until the interval is narrow enough, the cap is reached or the batch is stopped."""
        from .engine import Job, RemainingPlan

        until = self.until
        step = until.step or self.runs
        result = await self.job
        self.rounds = [result.total - result.status_counts.get("cancelled", 0)]
        while True:
            width = self.reached = until.half_width_of(result)
            if self._cancelled or result.metadata.params.get("interrupted"):
                self._stop("interrupted", f"interrupted after {self.runs} runs per prompt")
                break
            if width is not None and width <= until.half_width:
                self._stop(
                    "precision", f"precision: ±{width:.1%} ≤ ±{until.half_width:.1%} after {self.runs} runs per prompt"
                )
                break
            if self.runs >= until.max_runs:
                shown = "no finished runs" if width is None else f"±{width:.1%}"
                self._stop("cap", f"cap: {self.runs} runs per prompt ({shown}, wanted ±{until.half_width:.1%})")
                break
            more = min(self.runs + step, until.max_runs)
            fresh = self.start_round(more)
            plan = fresh.plans[0]
            previous = _laid_out(list(result.runs), plan.units, self.runs, more)
            plan.ctx.audio.update(result.audio or {})  # the earlier rounds' clips stay with their runs
            remaining = RemainingPlan(plan, previous, self.job.started_at, self.rounds)
            self.job = Job([remaining], fresh.settings, self._forward, executor=fresh.executor)
            self._before = replace(self._progress)
            self._progress.total = self._before.done + self.job.total
            self.runs = more
            result = await self.job
            self.rounds = list(result.metadata.params.pop("resumed", {}).get("parts") or self.rounds)
        return self._stamped(result)

    def __await__(self) -> Any:
        return self.wait().__await__()

    def cancel(self) -> None:
        """Stop the round in flight; what finished stays in :meth:`result`."""
        self._cancelled = True
        self.job.cancel()

    def result(self) -> Any:
        """The merged batch so far (the round in flight's unfinished runs marked ``cancelled``)."""
        result = self.job.result()
        if not self.stopped:
            parts = result.metadata.params.pop("resumed", {}).get("parts")
            if parts:
                self.rounds = list(parts)
            self._stop("interrupted", f"interrupted after {self.runs} runs per prompt")
        return self._stamped(result)

    def _stop(self, why: str, reason: str) -> None:
        self.stopped, self.reason = why, reason

    def _stamped(self, result: Any) -> Any:
        """The result with why it stopped: ``params["stopped_for"]`` (text) and ``params["until"]`` (figures)."""
        params = result.metadata.params
        params.pop("resumed", None)  # rounds are not a resume: they are listed under "until"
        params["stopped_for"] = self.reason
        params["until"] = {
            "half_width": self.until.half_width,
            "max_runs": self.until.max_runs,
            "confidence": self.until.confidence,
            "stopped": self.stopped,
            "reached": self.reached,
            "rounds": list(self.rounds),
        }
        result.metadata.runs_per_prompt = self.runs
        return result
