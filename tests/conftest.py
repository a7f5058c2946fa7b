"""Shared test setup: a headless matplotlib backend and small builders used across areas."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
