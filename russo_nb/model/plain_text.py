"""Agent- and user-written text made safe to print on a terminal, and reprs of bounded size.

Servers and agents answer with whatever bytes they like. Printed raw, an escape sequence
clears the screen, paints a fake green "PASSED" or writes the clipboard (OSC 52); a
carriage return or newline rewrites or forges summary lines; a bidi override reverses what
follows. :func:`terminal_safe` is the one sanitizer for every string the ``russo`` command,
the pytest plugin and the plain-text summaries (``summary()`` / ``str()``) print that came
from an agent, a server, a suite file or a prompt: control characters become visible escapes
(``\\x1b``), so nothing is lost and nothing is executed.

:func:`short_repr` is the one bounded ``repr`` for error messages: a value built from YAML
aliases can expand to a billion items, and ``repr`` of it never returns.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["short_repr", "terminal_safe"]

# Characters a terminal acts on instead of showing: C0 and C1 controls, DEL, the Unicode line
# and paragraph separators, and the bidirectional formatting controls ("Trojan source").
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = [chr(code) for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))] + ["\u2028", "\u2029", *_BIDI]
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_ONE_LINE = str.maketrans({char: _visible(char) for char in _UNSAFE})
_MULTI_LINE = str.maketrans({char: _visible(char) for char in _UNSAFE if char != "\n"})


def terminal_safe(text: Any, *, multiline: bool = False) -> str:
    """``str(text)`` with every character a terminal would act on shown as an escape (``\\x1b``).

    One line by default: newlines and carriage returns are escaped too, so agent text cannot
    forge extra lines. ``multiline=True`` keeps ``\\n`` (for whole, already-built reports).
    """
    value = text if isinstance(text, str) else str(text)
    return value.translate(_MULTI_LINE if multiline else _ONE_LINE)


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 80
_REPR.maxother = 80
for _attr in ("maxlist", "maxtuple", "maxset", "maxfrozenset", "maxdeque", "maxarray", "maxdict"):
    setattr(_REPR, _attr, 6)


def short_repr(value: Any, width: int = 60) -> str:
    """A ``repr`` of at most ``width`` characters whose cost does not grow with ``value``'s size.

    Containers show their first items and nesting stops at three levels (``reprlib``), so a
    huge or deeply nested value (YAML aliases, a recursive structure) is described in
    constant time. The result is :func:`terminal_safe`.
    """
    try:
        text = _REPR.repr(value)
    except (RecursionError, ValueError, TypeError):  # ValueError: int too large to print
        text = f"<{type(value).__name__}>"
    except Exception:  # a broken __repr__ of a user object must not hide the real error
        text = f"<{type(value).__name__} with a failing repr>"
    text = terminal_safe(text)
    return text if len(text) <= width else text[: width - 3] + "..."
