"""Component references: build a synthesizer, agent or evaluator from ``class:`` / ``factory:`` + ``params:``.

Suite files name their components by import path instead of code, e.g.
``{class: russo_nb.evaluators.ExactEvaluator, params: {ignore_extra_args: true}}``,
``{factory: russo_nb.adapters.LocalVoiceAgent.demo}`` or ``{object: my_pkg.agents:support_bot}``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..model.errors import ConfigurationError, UnknownNameError

__all__ = ["ComponentRef", "build_component", "import_object"]


def import_object(path: str) -> Any:
    """Import ``pkg.module.Name`` or ``pkg.module:attr.sub`` and return the object it names.

    Without a colon the longest importable module prefix is used, so class attributes
    such as ``russo_nb.adapters.LocalVoiceAgent.demo`` resolve too.
    """
    if not isinstance(path, str) or not path.strip():
        raise UnknownNameError(f"an import path must be a non-empty string like 'package.module.Name', got {path!r}")
    path = path.strip()
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
        candidates = [(module_name, attr_path.split(".") if attr_path else [])]
    else:
        parts = path.split(".")
        candidates = [(".".join(parts[:cut]), parts[cut:]) for cut in range(len(parts) - 1, 0, -1)]
        if len(parts) == 1:
            candidates = [(path, [])]
    first_error: Exception | None = None
    for module_name, attrs in candidates:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only swallow "this prefix is not a module"; a missing dependency *inside* it is real.
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                first_error = first_error or exc
                continue
            raise UnknownNameError(f"cannot import {path!r}: {exc}") from None
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            raise UnknownNameError(f"importing {module_name!r} for {path!r} failed: {problem}") from None
        obj: Any = module
        for index, attr in enumerate(attrs):
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                owner = ".".join([module_name, *attrs[:index]])
                raise UnknownNameError(f"cannot import {path!r}: {owner!r} has no attribute {attr!r}") from None
        return obj
    raise UnknownNameError(
        f"cannot import {path!r}: no module found ({first_error}); "
        "write a full import path like 'my_package.agents.MyAgent' and make sure it is on PYTHONPATH"
    )


class ComponentRef(BaseModel):
    """A reference to a component: exactly one of ``class``, ``factory`` or ``object``, plus ``params``.

    ``class`` is instantiated with ``params`` as keyword arguments, ``factory`` is called with
    them, ``object`` is used as it is (a module-level agent instance, for example).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_: str | None = Field(default=None, alias="class")
    factory: str | None = None
    object: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # A bare string "pkg.mod.Name" means {class: ...} when it names a class, else {object: ...};
        # the kind is decided at build time, so keep it as a generic reference.
        if isinstance(value, str):
            return {"object": value}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ComponentRef:
        given = [name for name in ("class_", "factory", "object") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(
                "a component needs exactly one of 'class' (instantiated with params), "
                "'factory' (called with params) or 'object' (used as is)"
                + (f"; got {', '.join(n.rstrip('_') for n in given)}" if given else "")
            )
        if self.object and self.params:
            raise ValueError("'params' apply to 'class' or 'factory', not to 'object' (which is used as is)")
        return self

    @property
    def path(self) -> str:
        """The import path this reference names."""
        return self.class_ or self.factory or self.object or ""

    def describe(self) -> str:
        """A short text for messages: ``class russo_nb.adapters.LocalVoiceAgent``."""
        kind = "class" if self.class_ else "factory" if self.factory else "object"
        return f"{kind} {self.path}"


def build_component(ref: ComponentRef | dict[str, Any] | str) -> Any:
    """Import and build what ``ref`` names; raises UnknownNameError / ConfigurationError naming the reference."""
    if not isinstance(ref, ComponentRef):
        ref = ComponentRef.model_validate(ref)
    target = import_object(ref.path)
    if ref.object:
        return target
    if ref.class_ and not inspect.isclass(target):
        raise UnknownNameError(f"class {ref.class_!r} is a {type(target).__name__}, not a class; use 'factory:'")
    if not callable(target):
        raise UnknownNameError(f"{ref.describe()} is a {type(target).__name__}, which cannot be called")
    try:
        return target(**ref.params)
    except TypeError as exc:
        raise ConfigurationError(f"building {ref.describe()} with params {ref.params!r} failed: {exc}") from None
