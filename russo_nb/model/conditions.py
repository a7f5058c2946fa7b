"""A run's conditions: the named scalars it ran under (a voice, an SNR, an agent version, ...).

Every run carries ``conditions`` (name → ``str`` / ``int`` / ``float`` / ``bool`` / ``None``;
NaN is a float), empty for a plain batch. ``start_batch(..., conditions={"agent_version": "v2"})``
(and ``run_concurrent``, ``run_concurrent_sync``, ``start_scenarios``) sets them for a whole
batch; a plan gives them per run through :meth:`russo_nb.execution.engine.Plan.conditions_for` (a sweep
over voices and noise sets ``voice`` / ``snr_db`` per run). Each condition becomes a column of
the runs frame (``to_dataframe()``) named as the condition, and every export keeps them.

A condition's name may not be one of the run table's own column names (``status``,
``prompt``, ...): the frame could not hold both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

from .errors import InvalidArgumentError
from .run_fields import run_table
from .types import Conditions, ConditionValue

__all__ = [
    "ConditionValue",
    "Conditions",
    "check_conditions",
    "condition_names",
    "conditions_text",
    "reserved_names",
    "same_conditions",
]


def reserved_names() -> frozenset[str]:
    """Names a condition cannot take: the run table's columns (a runs frame holds both)."""

    return frozenset(spec.name for spec in run_table()) | {"conditions"}


def _scalar(name: str, value: Any, what: str) -> ConditionValue:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    item = getattr(value, "item", None)  # a numpy scalar
    if callable(item) and type(value).__module__ == "numpy":
        return _scalar(name, item(), what)
    raise InvalidArgumentError(
        f"{what}[{name!r}] is {type(value).__name__}; a condition holds one str, int, float, bool or None "
        "(put a list or an object in its own columns, or name it as text)"
    )


def check_conditions(conditions: Mapping[str, Any] | None, what: str = "conditions") -> Conditions:
    """``conditions`` as a plain dict of scalars, or a clear error naming the bad name or value.

    The runs of a batch share the dict this returns (set it per run through a plan's
    :meth:`~russo_nb.execution.engine.Plan.conditions_for`, never by changing it in place).
    """
    if conditions is None:
        return {}
    if not isinstance(conditions, Mapping):
        raise InvalidArgumentError(
            f"{what} must be a dict of name → value, e.g. {{'agent_version': 'v2'}}, got {type(conditions).__name__}"
        )
    reserved = reserved_names()
    out: Conditions = {}
    for name, value in conditions.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"{what} names must be non-empty strings, got {name!r}")
        if name in reserved or name.startswith("score_"):
            raise InvalidArgumentError(
                f"{what} name {name!r} is a column of the run table already; call it something else, "
                f"e.g. {'cond_' + name!r}"
            )
        out[name] = _scalar(name, value, what)
    return out


def condition_names(conditions: Sequence[Mapping[str, Any] | None]) -> list[str]:
    """Every condition name in ``conditions`` (one mapping per run, None or empty for none), in first-seen order.

    The names of all mappings chained and kept once, in C: a 10,000-run batch whose runs each carry their own
    dict is read in half a millisecond.
    """
    return list(dict.fromkeys(chain.from_iterable(filter(None, conditions))))


def same_conditions(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when two runs ran under the same conditions (NaN equals NaN here)."""
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if value != other and not (
            isinstance(value, float) and isinstance(other, float) and math.isnan(value) and math.isnan(other)
        ):
            return False
    return True


def conditions_text(conditions: Mapping[str, Any] | None) -> str:
    """A run's conditions as one label, ``voice=en-us · snr_db=10`` ('' for none): the runs table's
    filter key and the run detail's line."""
    if not conditions:
        return ""
    return " · ".join(f"{name}={value}" for name, value in conditions.items())
