"""A YAML parser's error in one line: where in the file, and what (PyYAML's own text spans several lines)."""

from __future__ import annotations

__all__ = ["yaml_problem"]


def yaml_problem(exc: Exception) -> str:
    """``line 2 column 9: invalid YAML (mapping values are not allowed here)``; the place when the parser knows it."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    return f"{where}invalid YAML ({problem})"
