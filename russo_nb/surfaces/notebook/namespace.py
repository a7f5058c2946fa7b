"""Look up names typed into a magic in the user's namespace, with close matches on a miss.

Dotted names (``agents.v2``) are followed attribute by attribute; nothing is evaluated.
"""

from __future__ import annotations

import difflib
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any

from ...model.errors import UnknownNameError

__all__ = ["accepts_agent", "agent_like_names", "close_matches", "looks_like_agent", "lookup", "report_error"]


def report_error(message: str) -> None:
    """Show a user mistake as one line on stderr (red in notebooks), no traceback."""
    import sys

    print(f"russo: {message}", file=sys.stderr, flush=True)


def looks_like_agent(obj: Any) -> bool:
    """True for objects an agent= argument accepts: a ``run()`` method or a FunctionAgent."""
    if inspect.isclass(obj) or inspect.ismodule(obj):
        return False
    from ...model.protocols import FunctionAgent

    return isinstance(obj, FunctionAgent) or callable(getattr(obj, "run", None))


def _public(namespace: Mapping[str, Any]) -> list[str]:
    hidden = {"In", "Out", "exit", "quit", "get_ipython", "open"}  # what IPython itself puts there
    return [name for name in namespace if not name.startswith("_") and name not in hidden]


def agent_like_names(namespace: Mapping[str, Any]) -> list[str]:
    """Names in the namespace bound to something that looks like an agent."""
    names = []
    for name in _public(namespace):
        try:
            if looks_like_agent(namespace[name]):
                names.append(name)
        except Exception:  # a property or proxy that raises on access is simply not an agent
            continue
    return sorted(names)


def close_matches(name: str, namespace: Mapping[str, Any], n: int = 3) -> list[str]:
    """Names in the namespace spelled like ``name``."""
    return difflib.get_close_matches(name, _public(namespace), n=n, cutoff=0.6)


def lookup(
    namespace: Mapping[str, Any],
    name: str,
    *,
    role: str = "object",
    accept: Callable[[Any], bool] | None = None,
    hint: str = "",
) -> Any:
    """The object ``name`` refers to; UnknownNameError with close matches (and agents) if missing.

    ``role`` names what the object is for in the message (``agent``, ``result``...);
    ``accept`` rejects objects of the wrong kind with an error naming the right kind.
    """
    head, *attrs = name.split(".")
    if not head.isidentifier() or not all(attr.isidentifier() for attr in attrs):
        raise UnknownNameError(f"{role} {name!r} is not a Python name; give the variable that holds it")
    if head not in namespace:
        raise UnknownNameError(_missing_message(name, head, namespace, role, hint))
    obj = namespace[head]
    for depth, attr in enumerate(attrs, start=1):
        path = ".".join([head, *attrs[:depth]])
        parent = ".".join([head, *attrs[: depth - 1]])
        obj = _stored_attribute(obj, attr, f"{role} {name!r}: {parent}", path)
    if accept is not None and not accept(obj):
        message = f"{name} is {_a(type(obj).__name__)}, not {_a(role)}"
        if hint:
            message += f"; {hint}"
        message += "."
        if role == "agent":
            message += _agent_hint(namespace)
        raise UnknownNameError(message)
    return obj


_PLAIN_LOOKUPS = (object.__getattribute__, types.ModuleType.__getattribute__, type.__getattribute__)
_PLAIN_BINDINGS = (types.FunctionType, types.BuiltinFunctionType, staticmethod, classmethod, types.MethodDescriptorType)


def _stored_attribute(obj: Any, attr: str, where: str, path: str) -> Any:
    """``obj.attr`` when it is stored (a value, a function, a method): no property, descriptor or
    ``__getattr__`` runs. Looking a name up must evaluate nothing, as the docs promise."""
    if type(obj).__getattribute__ not in (
        object.__getattribute__,
        types.ModuleType.__getattribute__,
        type.__getattribute__,
    ):
        raise UnknownNameError(f"{where} computes its attributes in code; assign {path} to a variable first")
    try:
        raw = inspect.getattr_static(obj, attr)
    except AttributeError:
        raise UnknownNameError(f"{where} has no attribute {attr!r} (looked up {path})") from None
    if hasattr(type(raw), "__get__") and not isinstance(raw, _PLAIN_BINDINGS):
        raise UnknownNameError(
            f"{where}.{attr} is {_a(type(raw).__name__)} whose code would run to look it up; "
            f"assign {path} to a variable first"
        )
    return getattr(obj, attr)


def _a(word: str) -> str:
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def accepts_agent(obj: Any) -> bool:
    """What agent= takes: an agent object, or a plain (async) function russo wraps."""
    return looks_like_agent(obj) or inspect.isfunction(obj) or inspect.ismethod(obj)


def _agent_hint(namespace: Mapping[str, Any]) -> str:
    agents = agent_like_names(namespace)
    if agents:
        return f" Agents in your namespace: {', '.join(agents[:8])}."
    return " No agent in your namespace yet: define one with @russo_nb.agent or an object with async run(audio)."


def _missing_message(name: str, head: str, namespace: Mapping[str, Any], role: str, hint: str) -> str:
    message = f"no {role} named {name!r} in your namespace"
    matches = close_matches(head, namespace)
    if matches:
        message += f". Did you mean {', '.join(matches)}?"
    else:
        message += "."
    if role == "agent":
        message += _agent_hint(namespace)
    elif hint:
        message += f" ({hint})."
    return message
