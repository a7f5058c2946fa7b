"""Kept so ``russo_nb.analysis.thresholds`` imports keep working; the module is :mod:`russo_nb.thresholds`.

The thresholds sit below ``types`` (which counts finished runs with :func:`tally`), so they
live at the package's bottom layer rather than inside ``analysis``.
"""

from __future__ import annotations

from ..thresholds import *  # noqa: F403
from ..thresholds import __all__  # noqa: F401
