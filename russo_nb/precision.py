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

from dataclasses import dataclass
from typing import Any

from .errors import InvalidArgumentError
from .thresholds import CONFIDENCE

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
        from .view import build_view

        view = build_view(result, confidence=self.confidence, groups=False)
        if view.low is None or view.high is None:
            return None
        return (view.high - view.low) / 2


def _laid_out(previous: list[Any], units: int, old_runs: int, new_runs: int) -> list[Any]:
    """``previous`` (unit-major, ``old_runs`` per unit) placed in a unit-major list of ``new_runs`` per unit."""
    out: list[Any] = [None] * (units * new_runs)
    for unit in range(units):
        out[unit * new_runs : unit * new_runs + old_runs] = previous[unit * old_runs : (unit + 1) * old_runs]
    return out


class PreciseBatch:
    """Rounds of a batch until :class:`Precision` is met: ``await`` / ``wait()`` it, ``cancel()`` it, ``result()``.

    ``start(runs)`` prepares the batch with ``runs`` per prompt (a :class:`~russo_nb.engine.Job`).
    Each round after the first runs only the new run indices (seeds as an uninterrupted batch's)
    and merges them with what finished; ``result()`` at any time is the merged batch so far.
    """

    def __init__(self, until: Precision, runs: int, start: Any) -> None:
        if runs > until.max_runs:
            raise InvalidArgumentError(f"runs={runs} is more than Precision(max_runs={until.max_runs}); raise max_runs")
        self.until = until
        self.start = start
        self.runs = runs
        self.job = start(runs)
        self.reason = ""
        self._cancelled = False

    async def wait(self) -> Any:
        """Run rounds until the interval is narrow enough, the cap is reached or the batch is stopped."""
        from .engine import Job, RemainingPlan

        until = self.until
        step = until.step or self.runs
        result = await self.job
        while True:
            width = until.half_width_of(result)
            if self._cancelled or result.metadata.params.get("interrupted"):
                self.reason = f"interrupted after {self.runs} runs per prompt"
                break
            if width is not None and width <= until.half_width:
                self.reason = f"precision: ±{width:.1%} ≤ ±{until.half_width:.1%} after {self.runs} runs per prompt"
                break
            if self.runs >= until.max_runs:
                shown = "no finished runs" if width is None else f"±{width:.1%}"
                self.reason = f"cap: {self.runs} runs per prompt ({shown}, wanted ±{until.half_width:.1%})"
                break
            more = min(self.runs + step, until.max_runs)
            fresh = self.start(more)
            plan = fresh.plans[0]
            previous = _laid_out(list(result.runs), plan.units, self.runs, more)
            plan.ctx.audio.update(result.audio or {})  # the earlier rounds' clips stay with their runs
            self.job = Job([RemainingPlan(plan, previous, self.job.started_at)], fresh.settings, fresh.on_progress)
            self.runs = more
            result = await self.job
        return self._stamped(result)

    def __await__(self) -> Any:
        return self.wait().__await__()

    def cancel(self) -> None:
        """Stop the round in flight; what finished stays in :meth:`result`."""
        self._cancelled = True
        self.job.cancel()

    def result(self) -> Any:
        """The merged batch so far (the round in flight's unfinished runs marked ``cancelled``)."""
        if not self.reason:
            self.reason = f"interrupted after {self.runs} runs per prompt"
        return self._stamped(self.job.result())

    def _stamped(self, result: Any) -> Any:
        result.metadata.params["stopped_for"] = self.reason
        result.metadata.params["until"] = {"half_width": self.until.half_width, "max_runs": self.until.max_runs}
        result.metadata.runs_per_prompt = self.runs
        return result
