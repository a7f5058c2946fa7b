"""The import paths of modules that moved into rooms, kept working: one table and one import hook.

``russo_nb`` groups its modules into rooms (``model/``, ``execution/``, ``voice/``, ``adapters/``,
``results/``, ``surfaces/``). Code, notebooks and suite files written against the earlier flat
layout import ``russo_nb.engine``, ``russo_nb.report.export`` or ``russo_nb.audio.espeak``; russo's
own docs import its private paths ``russo._types``, ``russo._cache`` ... A finder on
:data:`sys.meta_path` answers each old name (and every submodule under it) with the module at its
new path. It is the *same module object* under both names, so ``mock.patch("russo_nb.engine.X")``
patches what ``russo_nb.execution.engine`` uses, and ``isinstance`` / pickling see one class.

russo_nb's own code imports the new paths only (a test checks it); this table is for users.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

ROOMS: dict[str, tuple[str, ...]] = {
    "model": (
        "types",
        "protocols",
        "records",
        "columns",
        "run_fields",
        "cells",
        "conditions",
        "lean",
        "serialize",
        "lazy_runs",
        "partial_runs",
        "expectations",
        "evaluators",
        "errors",
        "thresholds",
        "assertions",
        "rendering",
        "plain_text",
        "user_regex",
        "extras",
        "threads",
        "ratelimit",
    ),
    "execution": (
        "engine",
        "runner",
        "sweep",
        "precision",
        "resume",
        "sync",
        "dask_executor",
        "components",
        "pipeline",
    ),
    "voice": ("cache", "audio", "synthesizers"),
    "adapters": ("parsers", "http_client"),
    "results": ("store", "progress_text", "analysis", "view", "report"),
    "surfaces": ("arguments", "cli", "demo", "pytest_plugin", "testing", "notebook", "config"),
}
"""Room -> the modules and packages that moved into it from the root of ``russo_nb``."""

MOVED: dict[str, str] = {
    **{f"russo_nb.{name}": f"russo_nb.{room}.{name}" for room, names in ROOMS.items() for name in names},
    # russo's private module paths (its docs import them), and our own old home of the adapters
    "russo_nb._types": "russo_nb.model.types",
    "russo_nb._protocols": "russo_nb.model.protocols",
    "russo_nb._assertions": "russo_nb.model.assertions",
    "russo_nb._helpers": "russo_nb.model.helpers",
    "russo_nb._cache": "russo_nb.voice.cache",
    "russo_nb._pipeline": "russo_nb.execution.runner",
    "russo_nb.agents": "russo_nb.adapters",
    # modules moved between rooms since the rooms were made
    "russo_nb.execution.threads": "russo_nb.model.threads",
    "russo_nb.execution.ratelimit": "russo_nb.model.ratelimit",
}
"""Old dotted name -> new dotted name. A submodule of an old name moved with it."""


def new_name(name: str) -> str | None:
    """The path ``name`` lives at now (``russo_nb.audio.espeak`` -> ``russo_nb.voice.audio.espeak``), or None."""
    head = name
    while True:
        if head in MOVED:
            return MOVED[head] + name[len(head) :]
        if "." not in head:
            return None
        head = head.rsplit(".", 1)[0]


_OLD_NAMES: dict[str, list[str]] = {new: [old for old in MOVED if MOVED[old] == new] for new in MOVED.values()}


def old_names(name: str) -> list[str]:
    """The earlier paths of the module at ``name`` (``russo_nb.model.types``: ``russo_nb.types``, ``_types``)."""
    found = []
    head = name
    while "." in head:
        found += [old + name[len(head) :] for old in _OLD_NAMES.get(head, ())]
        head = head.rsplit(".", 1)[0]
    return found


def _register_loaded(under: str = "russo_nb") -> None:
    """Enter the modules already imported below ``under`` in :data:`sys.modules` under their old names too.

    An import of an old name that is already there returns the module and stops; one that is not
    would also set the module as an attribute of its parent, which replaces a name the parent binds
    on purpose: ``russo_nb.resume`` (the function) or ``russo_nb.report.export`` (the function).
    """
    for name, module in list(sys.modules.items()):
        if name == under or name.startswith(under + "."):
            for old in old_names(name):
                sys.modules.setdefault(old, module)


class _AliasLoader(importlib.abc.Loader):
    """Loads an old name by importing the new one; the module keeps its own ``__spec__``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # importlib set the alias spec on the (already executed) module; give it back its own
        module.__spec__ = self.spec
        _register_loaded(self.target)  # its submodules imported so far, under their old names too


class _MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old names of :data:`MOVED` (and their submodules)."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("russo_nb."):
            return None
        moved = new_name(fullname)
        if moved is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(moved))


def install() -> None:
    """Put the finder first on :data:`sys.meta_path` (once), and the modules imported so far under their old names.

    First, so that a directory left from the old layout (``russo_nb/report/`` holding only a stale
    ``__pycache__``) is not imported as an empty namespace package instead.
    """
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())
    _register_loaded()
