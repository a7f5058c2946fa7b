"""Checks of the cells a loader reads from a file someone sent you (after its checksum passed).

A checksum proves a file is whole, not that its cells make sense: ``attempts: Infinity``, a seed
of ``1e300``, a usage that is a string would load and crash ``summary()`` or ``to_dataframe()``
later, far from the file. Every loader (JSON lines, CSV, Parquet, the row format) checks its
cells with these functions, so each bad cell is a ``ValueError`` naming the field, which the
loader turns into a one-line error naming the file and the line or row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["MAX_WHOLE", "bad_whole_row", "check_usage", "whole_number"]

MAX_WHOLE = 2**53
"""Whole-number cells (run index, attempts, seed, token counts) must be below this in size: exact as floats
(CSV, Parquet) and within SQLite's and numpy's 64-bit integers."""


def whole_number(name: str, value: Any, optional: bool = False) -> int | None:
    """``value`` as an int below :data:`MAX_WHOLE` in size (a float only when whole).

    Anything else is a ValueError naming ``name``.
    """
    if value is None and optional:
        return None
    number = value
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        number = int(number)
    if type(number) is not int:
        wanted = "a whole number" + (" or null" if optional else "")
        raise ValueError(f"{name} {value!r:.60} is not {wanted}")
    if not -MAX_WHOLE < number < MAX_WHOLE:
        raise ValueError(f"{name} {value!r:.60} is too large (at most 2**53 in size)")
    return number


def check_usage(value: Any) -> dict[str, float] | None:
    """A response's usage: None, or a dict of names to finite numbers of size below :data:`MAX_WHOLE`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"usage {value!r:.60} is not a dict of numbers")
    out: dict[str, float] = {}
    for key, count in value.items():
        if (
            not isinstance(key, str)
            or isinstance(count, bool)
            or not isinstance(count, (int, float))
            or not math.isfinite(count)
            or abs(count) >= MAX_WHOLE
        ):
            raise ValueError(f"usage {key!r:.40}: {count!r:.40} is not a finite number")
        out[key] = float(count)
    return out


def bad_whole_row(values: np.ndarray) -> int | None:
    """The first row of a float column (NaN: missing) that is not a whole number below :data:`MAX_WHOLE`."""
    present = ~np.isnan(values)
    finite = np.where(present, values, 0.0)
    bad = present & (~np.isfinite(finite) | (np.abs(finite) >= MAX_WHOLE))
    safe = np.where(bad, 0.0, finite)
    bad |= present & (safe != np.floor(safe))
    return int(np.argmax(bad)) if bad.any() else None
