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

__all__ = ["DEFAULT_TIMEOUT_S", "check_timeout", "compile_user_pattern", "search_texts"]

#: Time budget of one search over all texts, in seconds.
DEFAULT_TIMEOUT_S = 1.0

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
        raise InvalidArgumentError(f"{where}: a regular expression must be a string, got {pattern!r}")
    try:
        return regex.compile(pattern, _regex_flags(flags, where) | regex.VERSION0)
    except regex.error as exc:
        raise InvalidArgumentError(f"{where}: not a valid regular expression ({exc})") from None


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
