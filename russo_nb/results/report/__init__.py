"""Reports and exports: a standalone HTML report, CSV / Parquet / JSON-lines files, and loading them back."""

from __future__ import annotations

from .export import export, load_batch, load_sweep
from .html import to_html, write_report

__all__ = ["export", "load_batch", "load_sweep", "to_html", "write_report"]
