"""One BatchResult from several named batches: a suite's tests, or a pytest session's russo tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = ["combine_batches"]


def _part(test_id: str, batch: Any, first_run: int) -> dict[str, Any]:
    """Where one named batch sits in the combined runs, and what it was."""
    return {
        "id": test_id,
        "tags": list(batch.metadata.tags),
        "prompts": list(batch.by_prompt()),
        "runs": batch.metadata.runs_per_prompt,
        "first_run": first_run,
        "n_runs": len(batch.runs),
    }


def _shared_metadata(metas: list[Any]) -> dict[str, Any]:
    """Metadata fields of the combined batch: a value the parts share, else a summary of them."""
    first = metas[0] if metas else None

    def same(attr: str) -> Any:
        values = {repr(getattr(meta, attr)) for meta in metas}
        return getattr(first, attr) if first is not None and len(values) == 1 else None

    now = datetime.now(timezone.utc)
    return {
        "agent": same("agent") or (first.agent if first else None),
        "synthesizer": same("synthesizer"),
        "evaluator": same("evaluator") or (first.evaluator if first else None),
        "evaluator_params": dict(same("evaluator_params") or {}),
        "effects": list(dict.fromkeys(effect for meta in metas for effect in meta.effects)),
        "runs_per_prompt": same("runs_per_prompt"),
        "started_at": min((meta.started_at for meta in metas), default=now),
        "finished_at": max((meta.finished_at or now for meta in metas), default=now),
        "tags": sorted({tag for meta in metas for tag in meta.tags}),
    }


def combine_batches(tests: Mapping[str, Any], name: str, params: dict[str, Any] | None = None, **fields: Any) -> Any:
    """One BatchResult holding the runs of several named batches (suite tests, pytest tests).

    ``metadata.params['tests']`` lists each part: ``id``, ``tags``, ``prompts``, ``runs``
    (per prompt) and the slice ``first_run`` / ``n_runs`` of the combined ``runs``.
    Components and effects come from the parts; ``fields`` set other metadata.
    """
    from ...model.types import BatchMetadata, BatchResult

    all_runs: list[Any] = []
    audio: dict[str, Any] = {}
    parts: list[dict[str, Any]] = []
    for test_id, batch in tests.items():
        parts.append(_part(test_id, batch, len(all_runs)))
        all_runs.extend(batch.runs)
        audio.update(batch.audio)
    metas = [batch.metadata for batch in tests.values()]
    values = {"name": name, **_shared_metadata(metas), **fields}
    text_mode = {meta.params.get("text_mode") for meta in metas}
    values["params"] = {
        **(params or {}),
        "tests": parts,
        "text_mode": text_mode.pop() if len(text_mode) == 1 else None,
    }
    return BatchResult.model_construct(runs=all_runs, audio=audio, metadata=BatchMetadata(**values))
