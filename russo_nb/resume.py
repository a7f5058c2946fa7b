"""Resume a stopped batch: run only the runs that never finished, with the seeds they would have had,
and merge them with the runs that did, so a Ctrl-C costs nothing.

:meth:`russo_nb.engine.Job.resume` resumes a job of this session (``%russo resume NAME`` too);
:func:`resume` resumes a batch loaded from an export, given the agent (and synthesizer) to run
it with. A resumed run is built exactly as the first job would have built it: the same prompt,
expected calls, conditions and derived seed (``derive_seed(seed, prompt, run)``), so the merged
batch is the batch an uninterrupted job would have produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .engine import Job, RemainingPlan, finished_run
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .engine import Progress

__all__ = ["resume"]


def resume(
    result: Any,
    agent: Any,
    synthesizer: Any = None,
    evaluator: Any = None,
    *,
    effects: Sequence[Any] | None = None,
    max_concurrency: int | None = None,
    timeout: float | None = None,
    on_progress: Callable[[Progress], Any] | None = None,
) -> Job[Any]:
    """A job that runs a loaded batch's cancelled runs with ``agent`` and merges them (await it, or ``run_sync``).

    The batch's prompts, runs per prompt, expected calls, conditions and seed come from the
    file; the components do not travel in it, so give the ``agent`` (and for a voice batch the
    ``synthesizer`` and ``effects``) it was run with. Runs that finished are kept as they are.
    """
    from .runner import start_batch

    runs = list(getattr(result, "runs", None) or [])
    if not runs:
        raise InvalidArgumentError("nothing to resume: the batch has no runs")
    metadata = getattr(result, "metadata", None)
    if getattr(metadata, "kind", "prompts") not in (None, "prompts"):
        raise InvalidArgumentError(
            f"only prompt batches can be resumed from a file (this one is {metadata.kind!r}); "
            "resume a scenario batch from its job with job.resume()"
        )
    prompts = list(dict.fromkeys(str(run.prompt) for run in runs))
    per_prompt = max(int(run.run_index) for run in runs) + 1
    declared = getattr(metadata, "runs_per_prompt", None)
    per_prompt = max(per_prompt, int(declared)) if isinstance(declared, int) else per_prompt
    expected: dict[str, list[Any]] = {}
    for run in runs:
        evaluation = getattr(run, "eval_result", None)
        if evaluation is not None and run.prompt not in expected:
            expected[str(run.prompt)] = list(evaluation.expected)
    conditions = dict(getattr(runs[0], "conditions", None) or {})
    job = start_batch(
        prompts,
        synthesizer,
        agent,
        evaluator,
        expect={prompt: expected.get(prompt, []) for prompt in prompts},
        runs=per_prompt,
        max_concurrency=max_concurrency,
        timeout=timeout,
        effects=effects,
        seed=int(getattr(metadata, "seed", 0) or 0),
        name=getattr(metadata, "name", None),
        conditions=conditions or None,
        on_progress=on_progress,
    )
    plan = job.plans[0]
    previous: list[Any] = [None] * plan.total
    slot_of = {prompt: index for index, prompt in enumerate(prompts)}
    for run in runs:
        if finished_run(run):
            previous[slot_of[str(run.prompt)] * per_prompt + int(run.run_index)] = run
    plan.ctx.audio.update(getattr(result, "audio", None) or {})
    started = getattr(metadata, "started_at", None)
    started_at = started.timestamp() if hasattr(started, "timestamp") else job.started_at
    return Job([RemainingPlan(plan, previous, started_at)], job.settings, on_progress)
