"""russo's ``russo._pipeline`` path: ``run`` and ``run_concurrent``. An alias of :mod:`russo_nb.runner`'s."""

from __future__ import annotations

from .runner import run, run_concurrent

__all__ = ["run", "run_concurrent"]
