"""Plain JSON forms of runs' parts that never fail on one bad value.

An agent can hand back anything: a lone surrogate (``"\\ud800"``) in its text, arguments
that contain themselves, NaN, objects JSON does not know. One such value must not break a
whole export or report, so everything written to a file goes through :func:`dumps_safe`:
ASCII-escaped JSON (surrogates survive and round-trip), NaN / inf kept (Python's JSON
reads them back), cycles replaced by ``"<cycle>"`` and unknown objects by their ``repr``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from .types import EvalResult, ToolCall, ToolCallMatch, construct_fast

__all__ = [
    "dumps_ascii",
    "dumps_safe",
    "evaluation_from_plain",
    "evaluation_to_plain",
    "plain",
    "safe_text",
]

CYCLE = "<cycle>"


def _fallback(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="python")
        except Exception:
            pass
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


MAX_DEPTH = 64
"""Nesting kept by :func:`plain`; deeper values become :data:`TOO_DEEP` (a 2,000-deep argument cannot
crash an evaluator, an export or the store)."""
TOO_DEEP = "<nested too deep>"


def plain(value: Any, _seen: frozenset[int] = frozenset()) -> Any:
    """``value`` as JSON-able plain data: cycles become ``"<cycle>"``, values nested deeper than
    :data:`MAX_DEPTH` ``"<nested too deep>"``, unknown objects their ``repr``."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if id(value) in _seen:
        return CYCLE
    if len(_seen) >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        seen = _seen | {id(value)}
        return {str(key): plain(item, seen) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        seen = _seen | {id(value)}
        return [plain(item, seen) for item in value]
    converted = _fallback(value)
    if isinstance(converted, (dict, list)):
        return plain(converted, _seen | {id(value)})
    return converted


def unbounded(value: Any) -> bool:
    """True when ``value`` (dicts and lists inside) holds a cycle or nests deeper than :data:`MAX_DEPTH`."""
    stack: list[tuple[Any, int, frozenset[int]]] = [(value, 0, frozenset())]
    while stack:
        item, depth, seen = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if id(item) in seen or depth >= MAX_DEPTH:
            return True
        inner = seen | {id(item)}
        stack.extend((child, depth + 1, inner) for child in children if isinstance(child, (dict, list, tuple)))
    return False


_COMPACT = json.JSONEncoder(default=_fallback, separators=(",", ":"))
"""What ``json.dumps(value, default=_fallback, separators=(",", ":"))`` builds per call, built once (a
100,000-run JSON-lines file encodes one line per run)."""


def dumps_safe(value: Any) -> str:
    """Compact JSON of ``value`` that cannot fail (see the module docstring)."""
    try:
        return _COMPACT.encode(value)  # json.dumps(value, default=_fallback, separators=(",", ":")), one encoder
    except (ValueError, TypeError, RecursionError):
        return json.dumps(plain(value), default=repr, separators=(",", ":"))


def _rust_encoder() -> Callable[[Any], bytes] | None:
    """pydantic-core's JSON encoder when it writes NaN / inf as Python's json does (``NaN``, ``Infinity``)."""
    try:
        from pydantic_core import to_json

        if to_json([float("nan"), float("inf")], inf_nan_mode="constants") != b"[NaN,Infinity]":
            return None
    except (ImportError, TypeError, ValueError):  # an older pydantic-core: no inf_nan_mode
        return None
    return partial(to_json, inf_nan_mode="constants")


_RUST_JSON = _rust_encoder()


def dumps_ascii(values: Iterable[Any]) -> list[bytes]:
    """Each value as :func:`dumps_safe` writes it (compact, ASCII-escaped JSON that cannot fail), as ASCII bytes.

    Written by pydantic-core's encoder (twice the speed of :mod:`json` on a scenario run's row: the
    JSON-lines export of 10,000 scenario runs encodes one row per run); a value it refuses (a lone
    surrogate, a cycle, a type it does not know) or whose JSON is not ASCII (any non-ASCII text:
    ``dumps_safe`` escapes it, so a line never holds a character ``str.splitlines`` splits at) goes
    through :func:`dumps_safe`. Values JSON does not know but pydantic does (a ``datetime``, a
    ``set``, bytes) are written as pydantic writes them, where ``dumps_safe`` writes their ``repr``.
    """
    encode = _RUST_JSON
    out: list[bytes] = []
    add = out.append
    for value in values:
        if encode is not None:
            try:
                data = encode(value)
            except (ValueError, TypeError, RecursionError):  # PydanticSerializationError is a ValueError
                data = None
            if data is not None and data.isascii():
                add(data)
                continue
        add(dumps_safe(value).encode("ascii"))
    return out


def safe_text(text: str) -> str:
    """``text`` encodable as UTF-8: lone surrogates written as ``\\udXXX`` escapes (CSV / Parquet cells)."""
    if text.isascii():  # no surrogate (a flag of the string: no scan)
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _call(data: Any) -> ToolCall:
    name, arguments = data
    if not isinstance(name, str) or not isinstance(arguments, dict):
        raise ValueError(f"a tool call must be [name, arguments], got {data!r:.80}")
    return construct_fast(ToolCall, {"name": name, "arguments": arguments})


def evaluation_to_plain(ev: EvalResult) -> dict[str, Any]:
    """An EvalResult as plain data (calls as ``[name, arguments]``), for files."""
    return {
        "passed": ev.passed,
        "expected": [[call.name, call.arguments] for call in ev.expected],
        "actual": [[call.name, call.arguments] for call in ev.actual],
        "matches": [
            [
                [m.expected.name, m.expected.arguments],
                None if m.actual is None else [m.actual.name, m.actual.arguments],
                m.matched,
                m.details,
            ]
            for m in ev.matches
        ],
        "details": ev.details,
    }


def evaluation_from_plain(data: Any) -> EvalResult:
    """The EvalResult :func:`evaluation_to_plain` wrote (ValueError when it is not one)."""
    if not isinstance(data, dict):
        raise ValueError("an evaluation must be a JSON object")
    matches = []
    for want, got, matched, details in data.get("matches", []):
        matches.append(
            construct_fast(
                ToolCallMatch,
                {
                    "expected": _call(want),
                    "actual": None if got is None else _call(got),
                    "matched": bool(matched),
                    "details": str(details),
                },
            )
        )
    return construct_fast(
        EvalResult,
        {
            "passed": bool(data["passed"]),
            "expected": [_call(call) for call in data.get("expected", [])],
            "actual": [_call(call) for call in data.get("actual", [])],
            "matches": matches,
            "details": str(data.get("details", "")),
        },
    )
