"""Regular expressions written by users, run on text written by agents, with a time limit.

A pattern such as ``(a|aa)+$`` backtracks exponentially on ``"a" * 40 + "b"``. Python's
``re`` runs that search in C while holding the GIL, so neither ``timeout=`` on a batch nor
any other thread can stop it. The third-party ``regex`` engine takes a ``timeout=`` per
call and raises instead, so every user pattern goes through :func:`compile_user_pattern`
and :func:`search_texts` here (the one owner of this concern).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

import regex

from .errors import InvalidArgumentError, PatternTimeoutError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_PATTERN_CHARS",
    "MAX_PATTERN_SIZE",
    "check_timeout",
    "compile_user_pattern",
    "search_texts",
]

#: Time budget of one search over all texts, in seconds.
DEFAULT_TIMEOUT_S = 1.0
#: Longest pattern accepted, in characters.
MAX_PATTERN_CHARS = 10_000
#: Largest pattern accepted once its counted repeats are multiplied out (``(?:a{1000}){1000}`` is 1,000,000):
#: compiling expands them, and no timeout can stop a compile that exhausts memory.
MAX_PATTERN_SIZE = 100_000

# ``re`` and ``regex`` share most flag values but not ASCII (256 vs 128): translate by name.
_FLAG_NAMES = ("IGNORECASE", "MULTILINE", "DOTALL", "VERBOSE", "ASCII", "UNICODE", "LOCALE")


def _regex_flags(flags: int, where: str) -> int:
    out, rest = 0, int(flags)
    for name in _FLAG_NAMES:
        bit = int(getattr(re, name))
        if rest & bit:
            out |= int(getattr(regex, name))
            rest &= ~bit
    if rest:
        raise InvalidArgumentError(f"{where}: unsupported regular-expression flags {rest!r} (use re.IGNORECASE etc.)")
    return out


def compile_user_pattern(pattern: str, flags: int = 0, *, where: str = "pattern") -> Any:
    """Compile ``pattern`` (``re`` syntax and ``re`` flags) with the bounded engine.

    Raises :class:`InvalidArgumentError` naming ``where`` for a pattern that is not a valid regex.
    """
    if not isinstance(pattern, str):
        raise InvalidArgumentError(f"{where}: a regular expression must be a string, got {pattern!r:.80}")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InvalidArgumentError(
            f"{where}: a regular expression of {len(pattern):,} characters is longer than russo accepts "
            f"({MAX_PATTERN_CHARS:,})"
        )
    size = _expanded_size(pattern, flags)
    if size > MAX_PATTERN_SIZE:
        raise InvalidArgumentError(
            f"{where}: {pattern[:80]!r} repeats to about {size:,} elements once compiled (at most "
            f"{MAX_PATTERN_SIZE:,}); use smaller counted repeats ({{n}}) or + / *"
        )
    try:
        return regex.compile(pattern, _regex_flags(flags, where) | regex.VERSION0)
    except regex.error as exc:
        raise InvalidArgumentError(f"{where}: not a valid regular expression ({exc})") from None


def _expanded_size(pattern: str, flags: int) -> int:
    """How many elements ``pattern`` holds once counted repeats are multiplied out (parsed, never compiled)."""
    import re._parser as parser  # the stdlib parser builds the tree without expanding repeats

    try:
        tree = parser.parse(pattern, flags & ~int(re.ASCII) if flags else 0)
    except (re.error, RecursionError, OverflowError, ValueError):
        return 0  # not ``re`` syntax: regex's own error (or success) decides
    return _size(tree, 0)


def _size(items: Any, depth: int) -> int:
    import re._constants as const

    if depth > 200:
        return MAX_PATTERN_SIZE + 1
    total = 0
    for op, value in items:
        if op in (const.MAX_REPEAT, const.MIN_REPEAT, getattr(const, "POSSESSIVE_REPEAT", None)):
            low, high, sub = value
            count = low if high == const.MAXREPEAT else high
            total += max(count, 1) * _size(sub, depth + 1)
        elif op == const.SUBPATTERN:
            total += _size(value[-1], depth + 1)
        elif op == const.BRANCH:
            total += sum(_size(branch, depth + 1) for branch in value[1])
        elif op in (const.ASSERT, const.ASSERT_NOT):
            total += _size(value[1], depth + 1)
        else:
            total += 1
        if total > MAX_PATTERN_SIZE:
            return total
    return total


def check_timeout(timeout_s: Any, where: str = "regex timeout") -> float:
    """``timeout_s`` as a float, or :class:`InvalidArgumentError` unless it is a number of seconds > 0."""
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
        raise InvalidArgumentError(f"{where} must be a number of seconds > 0, got {timeout_s!r}")
    return float(timeout_s)


def search_texts(compiled: Any, texts: Iterable[str], *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """The first match of ``compiled`` in ``texts`` (or None), all searches within ``timeout_s`` together.

    Raises :class:`PatternTimeoutError` when the budget runs out, naming the pattern and the budget.
    """
    check_timeout(timeout_s)
    deadline = time.monotonic() + timeout_s
    for text in texts:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            match = compiled.search(text, timeout=remaining)
        except TimeoutError:
            raise PatternTimeoutError(
                f"regular expression {compiled.pattern!r} timed out after {timeout_s:g}s "
                f"(it backtracks too much on a {len(text)}-character text; simplify it)"
            ) from None
        if match is not None:
            return match
    return None
