"""What the parsers share: reading SDK objects and dicts alike, decoding arguments, building ``usage``."""

from __future__ import annotations

import json
from typing import Any

from ...model.errors import AgentResponseError
from ...model.types import ToolCall

__all__ = ["MISSING", "arguments_dict", "field", "get_path", "named_call", "number", "usage"]

MISSING: Any = object()


def field(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for a dict, ``obj.key`` for an SDK object; ``default`` when absent."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def get_path(data: Any, path: str, default: Any = MISSING) -> Any:
    """Follow a dotted path (``choices.0.message``) through dicts, lists and SDK objects.

    A missing step raises ``KeyError(path)``, or returns ``default`` when one is given.
    """
    current = data
    for part in path.split(".") if path else []:
        if isinstance(current, dict):
            if part not in current:
                return _missing(path, default)
            current = current[part]
        elif isinstance(current, (list, tuple)):
            if not (part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current)):
                return _missing(path, default)
            current = current[int(part)]
        elif current is not None and not isinstance(current, (str, bytes, int, float)) and hasattr(current, part):
            current = getattr(current, part)
        else:
            return _missing(path, default)
    return current


def _missing(path: str, default: Any) -> Any:
    if default is MISSING:
        raise KeyError(path)
    return default


def arguments_dict(arguments: Any, name: str, who: str) -> dict[str, Any]:
    """A tool call's arguments as a dict: JSON strings decoded, mappings copied; anything else is an error."""
    if arguments is None:
        return {}
    if isinstance(arguments, (str, bytes)):
        text = arguments.decode("utf-8", "replace") if isinstance(arguments, bytes) else arguments
        try:
            arguments = json.loads(text) if text.strip() else {}
        except ValueError:
            raise AgentResponseError(f"{who}: the arguments of {name!r} are not valid JSON: {text[:120]!r}") from None
    if not isinstance(arguments, dict):
        try:
            arguments = dict(arguments)  # proto maps and other mappings from SDKs
        except (TypeError, ValueError):
            raise AgentResponseError(
                f"{who}: the arguments of {name!r} are not an object: {arguments!r:.120}"
            ) from None
    return arguments


def named_call(name: Any, arguments: Any, who: str, source: Any, what: str = "a function call") -> ToolCall:
    """A streamed call (Gemini Live, OpenAI Realtime) as a ToolCall; one without a name is the run's error
    (``what`` names it in the message, ``source`` is shown), never silently dropped."""
    if not isinstance(name, str) or not name:
        raise AgentResponseError(f"{who}: {what} has no name: {source!r:.200}")
    return ToolCall(name=name, arguments=arguments_dict(arguments, name, who))


def number(value: Any) -> float | None:
    """``value`` if it is a real number (not a bool, not a mock), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def usage(**values: Any) -> dict[str, float] | None:
    """The ``usage`` dict an adapter records: only the counts it actually learned; None when none."""
    found = {key: value for key, value in ((k, number(v)) for k, v in values.items()) if value is not None}
    if "total_tokens" not in found and "input_tokens" in found and "output_tokens" in found:
        found["total_tokens"] = found["input_tokens"] + found["output_tokens"]
    return found or None
