"""``@scenario.cache()``: replay an agent's (or any function's) answers when nothing it sees changed.

As in LangWatch Scenario, caching is on only while ``scenario.configure(cache_key=...)``
is set; the key is that cache key, the scenario being run (name, description, max
turns), the function's qualified name and its arguments (``self`` and the names in
``ignore=`` left out; an ``AgentInput`` counts by its messages, never its thread id).
Answers are pickled under ``$SCENARIO_CACHE_DIR`` (default ``~/.scenario/cache``), one
file per key, so a second run of an unchanged test makes no model calls. The files
are the user's own (like joblib's, which upstream uses): do not load a cache directory
someone else sent you. Change ``cache_key`` to start afresh.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .config import current_config

__all__ = ["cache", "cache_dir", "current_scenario"]

F = TypeVar("F", bound=Callable[..., Any])

current_scenario: contextvars.ContextVar[Any] = contextvars.ContextVar("russo_nb_scenario_state", default=None)
"""The :class:`ScenarioState` of the run in progress in this task (set by the run)."""


def cache_dir() -> Path:
    """Where cached answers are kept: ``$SCENARIO_CACHE_DIR`` or ``~/.scenario/cache``."""
    return Path(os.environ.get("SCENARIO_CACHE_DIR") or Path.home() / ".scenario" / "cache")


def _plain(value: Any) -> Any:
    """A JSON-able stand-in for an argument (an AgentInput by its messages, objects by their dump or repr)."""
    from .adapters import AgentInput

    if isinstance(value, AgentInput):
        return {
            "messages": value.messages,
            "new_messages": value.new_messages,
            "judgment_request": bool(value.judgment_request),
            "criteria": None if value.criteria is None else [str(c) for c in value.criteria],
        }
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump()
        except Exception:
            return repr(value)
    return value


def _key(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], ignore: list[str]) -> str:
    bound = inspect.signature(func).bind_partial(*args, **kwargs)
    arguments = {name: _plain(value) for name, value in bound.arguments.items() if name not in {"self", *ignore}}
    state = current_scenario.get()
    scenario = (
        {"name": state.name, "description": state.description, "max_turns": state.max_turns}
        if state is not None
        else None
    )
    text = json.dumps(
        {
            "cache_key": current_config().cache_key,
            "scenario": scenario,
            "function": f"{func.__module__}.{func.__qualname__}",
            "arguments": arguments,
        },
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _load(path: Path) -> tuple[bool, Any]:
    try:
        with path.open("rb") as handle:
            return True, pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return False, None


def _store(path: Path, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            pickle.dump(value, handle)
        tmp.replace(path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # an answer that cannot be pickled is simply not cached


def cache(ignore: list[str] | None = None) -> Callable[[F], F]:
    """Decorate a function or method (sync or async) so its answers are cached under ``cache_key``."""
    skip = list(ignore or [])

    def decorate(func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not current_config().cache_key:
                    return await func(*args, **kwargs)
                path = cache_dir() / f"{_key(func, args, kwargs, skip)}.pkl"
                found, value = _load(path)
                if found:
                    return value
                value = await func(*args, **kwargs)
                _store(path, value)
                return value

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_config().cache_key:
                return func(*args, **kwargs)
            path = cache_dir() / f"{_key(func, args, kwargs, skip)}.pkl"
            found, value = _load(path)
            if found:
                return value
            value = func(*args, **kwargs)
            _store(path, value)
            return value

        return wrapper  # type: ignore[return-value]

    return decorate
