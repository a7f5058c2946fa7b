"""Expected tool calls: built with :func:`tool_call`, or parsed from ``"name(arg='x')"``.

Strings are parsed with :mod:`ast` and only literals are accepted, never evaluated,
so an expectation typed into a magic or a suite file cannot run code.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ExpectationError
from .plain_text import short_repr
from .types import ToolCall

__all__ = ["Expectations", "normalize_expectations", "parse_expectation", "tool_call"]

Expectations = list[ToolCall] | dict[str, list[ToolCall]]
"""One list for every prompt, or a list per prompt text."""


def _json_like(value: Any, where: str) -> Any:
    """``value`` as an agent's JSON answer could hold it: tuples become lists; sets, bytes and
    other values no answer can contain raise an :class:`ExpectationError` naming ``where``.

    An expectation ``book(seats=(1, 2))`` would otherwise never match the list ``[1, 2]``
    every JSON-speaking agent sends, and ``tags={'a'}`` could match nothing at all.
    """
    if isinstance(value, (list, tuple)):
        return [_json_like(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _json_like(item, f"{where}[{key!r}]") for key, item in value.items()}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    kind = type(value).__name__
    hint = "; write a list [...] instead" if isinstance(value, (set, frozenset)) else ""
    raise ExpectationError(
        f"argument {where} is a {kind} ({short_repr(value)}), which no tool call can carry; "
        f"use strings, numbers, true/false, null, lists and dicts{hint}"
    )


def _expected_call(name: str, arguments: Mapping[str, Any]) -> ToolCall:
    """An expected call with its arguments in the shapes a JSON answer has (see :func:`_json_like`)."""
    return ToolCall(name=name, arguments={key: _json_like(value, key) for key, value in arguments.items()})


def tool_call(name: str, **arguments: Any) -> ToolCall:
    """The expected call ``name(**arguments)``; ``tool_call("book_flight", to_city="LA")``.

    Tuples in the arguments become lists (what a JSON answer holds); sets and other values no
    answer can carry are an :class:`ExpectationError`.
    """
    if not isinstance(name, str) or not name.strip():
        raise ExpectationError(f"a tool call needs a non-empty name, got {name!r}")
    return _expected_call(name, arguments)


def parse_expectation(text: str) -> ToolCall:
    """Parse ``"book_flight(from_city='NYC', to_city='LA')"`` (literals only) into a ToolCall."""
    source = text.strip()
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        raise ExpectationError(
            f"cannot parse expectation {text!r}: {exc.msg}. Write it like book_flight(from_city='NYC')"
        ) from None
    if isinstance(node, ast.Name):
        return ToolCall(name=node.id)
    if not isinstance(node, ast.Call) or not isinstance(node.func, (ast.Name, ast.Attribute)):
        raise ExpectationError(f"expectation {text!r} is not a tool call; write it like book_flight(from_city='NYC')")
    if node.args:
        raise ExpectationError(
            f"expectation {text!r} has positional arguments; name each one, e.g. book_flight(to_city='LA')"
        )
    arguments: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ExpectationError(f"expectation {text!r} uses **kwargs; name each argument")
        try:
            arguments[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            shown = ast.unparse(keyword.value)
            raise ExpectationError(
                f"argument {keyword.arg}={shown} in {text!r} is not a literal; "
                f"quote strings ({keyword.arg}={shown!r}) and use only numbers, strings, lists, dicts"
            ) from None
    try:
        return _expected_call(ast.unparse(node.func), arguments)
    except ExpectationError as exc:
        raise ExpectationError(f"in {text!r}: {exc}") from None


def _one_call(item: Any) -> ToolCall:
    if isinstance(item, ToolCall):
        return _expected_call(item.name, item.arguments)
    if isinstance(item, str):
        return parse_expectation(item)
    if isinstance(item, Mapping):
        name = item.get("name")
        arguments = item.get("arguments", item.get("args", {}))
        if not isinstance(name, str) or not name or not isinstance(arguments, Mapping):
            raise ExpectationError(f"expectation {dict(item)!r} needs 'name' (a string) and 'arguments' (a mapping)")
        return _expected_call(name, arguments)
    raise ExpectationError(
        f"expectation {item!r} ({type(item).__name__}) is not a tool call; "
        "use russo_nb.tool_call('name', arg=...), a dict {'name':..., 'arguments':...} or \"name(arg=...)\""
    )


def _call_list(value: Any) -> list[ToolCall]:
    if value is None:
        return []
    if isinstance(value, (ToolCall, str)) or (isinstance(value, Mapping) and "name" in value):
        return [_one_call(value)]
    if isinstance(value, Sequence):
        return [_one_call(item) for item in value]
    return [_one_call(value)]


def normalize_expectations(expect: Any, prompts: Sequence[str] | None = None) -> Expectations:
    """Turn what users pass as ``expect=`` into a list of calls, or a list per prompt.

    A mapping whose keys are prompt texts gives each prompt its own expectations; every
    prompt must then have an entry.
    """
    is_per_prompt = (
        isinstance(expect, Mapping)
        and "name" not in expect
        and all(isinstance(key, str) for key in expect)
        and prompts is not None
    )
    if not is_per_prompt:
        return _call_list(expect)
    per_prompt = {prompt: _call_list(calls) for prompt, calls in expect.items()}
    missing = [prompt for prompt in prompts or [] if prompt not in per_prompt]
    if missing:
        raise ExpectationError(
            f"expect= maps prompts to calls but has no entry for {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    return per_prompt
