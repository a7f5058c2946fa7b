"""The rooms of russo_nb, and the old module paths that keep working as aliases of the moved modules.

The root of the package holds rooms (``model/``, ``execution/``, ``voice/``, ``adapters/``,
``scenario/``, ``results/``, ``surfaces/``), not modules. Every earlier path (``russo_nb.engine``,
``russo_nb.report.export``, russo's ``russo_nb._types`` ...) imports the *same* module object as the
new path, and every ``russo_nb.X`` the README, the notebooks, the examples and the suite files name
resolves.
"""

from __future__ import annotations

import ast
import importlib
import pickle
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest

import russo_nb
from russo_nb import _moved

PACKAGE = Path(russo_nb.__file__).parent
REPO = PACKAGE.parent
ROOMS = {"model", "execution", "voice", "adapters", "scenario", "results", "surfaces"}


def _modules_under(dotted: str) -> list[str]:
    """``dotted`` and, if it is a package, every module below it (from the files)."""
    path = REPO.joinpath(*dotted.split("."))
    if not path.is_dir():
        return [dotted]
    found = []
    for file in sorted(path.rglob("*.py")):
        parts = list(file.relative_to(REPO).with_suffix("").parts)
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


OLD_AND_NEW = [
    (old + new_module[len(new) :], new_module)
    for old, new in _moved.MOVED.items()
    for new_module in _modules_under(new)
    if not (old == "russo_nb.agents" and new_module.startswith("russo_nb.adapters.parsers"))
]


def test_the_root_holds_rooms_not_modules() -> None:
    # a folder with no source left (only a __pycache__ from before a merge) is no part of the package
    entries = {p.name for p in PACKAGE.iterdir() if p.is_file() or any(p.rglob("*.py")) or p.name == "data"}
    rooms = {name for name in entries if (PACKAGE / name / "__init__.py").exists()}
    assert rooms == ROOMS
    assert entries - rooms == {"__init__.py", "__main__.py", "_moved.py", "py.typed", "data"}


def test_every_moved_name_names_something_that_exists() -> None:
    for old, new in _moved.MOVED.items():
        assert _modules_under(new)[0] == new and importlib.util.find_spec(new) is not None, (old, new)
    assert len(OLD_AND_NEW) > 100  # submodules of moved packages included (audio/*, report/*, notebook/* ...)


@pytest.mark.parametrize(("old", "new"), OLD_AND_NEW, ids=[old for old, _ in OLD_AND_NEW])
def test_an_old_path_is_the_same_module_as_the_new_one(old: str, new: str) -> None:
    module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert sys.modules[old] is sys.modules[new]
    assert module.__name__ == module.__spec__.name == new  # the module keeps its own spec


def test_old_submodules_are_attributes_of_their_old_parents_too() -> None:
    import russo_nb.audio.espeak
    import russo_nb.report.jsonl

    assert russo_nb.audio.espeak is russo_nb.voice.audio.espeak
    assert russo_nb.report.jsonl is importlib.import_module("russo_nb.results.report.jsonl")
    from russo_nb.engine import Job
    from russo_nb.execution.engine import Job as NewJob

    assert Job is NewJob


def _shadowing_names() -> list[tuple[str, str]]:
    """(package, name) where a package binds a name of its own submodule to something else
    (``from .resume import resume`` in ``russo_nb/__init__.py``, ``from .export import export`` in report/)."""
    found = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        package = ".".join(init.parent.relative_to(REPO).parts)
        for node in ast.walk(ast.parse(init.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                last = node.module.rsplit(".", 1)[-1]
                found += [(package, a.asname or a.name) for a in node.names if (a.asname or a.name) == last]
    return found


def test_importing_an_old_path_keeps_the_names_its_parent_binds() -> None:
    """Importing ``russo_nb.resume`` (the module) leaves ``russo_nb.resume`` the function, as before the move."""
    shadowing = _shadowing_names()
    assert ("russo_nb", "resume") in shadowing and ("russo_nb.results.report", "export") in shadowing
    for old, _ in OLD_AND_NEW:
        importlib.import_module(old)
    import russo_nb.resume
    from russo_nb.report import export

    assert russo_nb.resume is russo_nb.execution.resume.resume and callable(export)
    clobbered = [
        f"{package}.{name}"
        for package, name in shadowing
        if isinstance(getattr(importlib.import_module(package), name), ModuleType)
    ]
    assert clobbered == []


def test_an_old_module_is_an_attribute_of_the_package() -> None:
    """``import russo_nb as russo; russo.types.MAX_TRACEBACK_CHARS`` as before the rooms (no import statement)."""
    assert russo_nb.types is russo_nb.model.types and russo_nb.types.MAX_TRACEBACK_CHARS > 0
    assert russo_nb.report is russo_nb.results.report and russo_nb._types is russo_nb.model.types
    with pytest.raises(AttributeError, match="no attribute 'no_such_module'"):
        russo_nb.no_such_module  # noqa: B018


def test_patching_an_old_path_patches_what_the_new_one_uses() -> None:
    from russo_nb.model import run_fields

    marker = object()
    with mock.patch("russo_nb.run_fields.FIELDS", marker):
        assert run_fields.FIELDS is marker
    assert run_fields.FIELDS is not marker


def test_russos_private_paths_give_the_public_objects() -> None:
    from russo_nb._assertions import assert_tool_calls
    from russo_nb._cache import AudioCache, CachedSynthesizer
    from russo_nb._helpers import agent, tool_call
    from russo_nb._pipeline import run, run_concurrent
    from russo_nb._protocols import Agent, Evaluator, ResponseParser, Synthesizer
    from russo_nb._types import AgentResponse, Audio, BatchResult, EvalResult, SingleRunResult, ToolCall, ToolCallMatch

    assert (agent, tool_call, run, run_concurrent, assert_tool_calls) == (
        russo_nb.agent,
        russo_nb.tool_call,
        russo_nb.run,
        russo_nb.run_concurrent,
        russo_nb.assert_tool_calls,
    )
    assert (AudioCache, CachedSynthesizer, Agent, Evaluator, Synthesizer) == (
        russo_nb.AudioCache,
        russo_nb.CachedSynthesizer,
        russo_nb.Agent,
        russo_nb.Evaluator,
        russo_nb.Synthesizer,
    )
    assert ResponseParser.__module__ == "russo_nb.model.protocols"
    assert (AgentResponse, Audio, BatchResult, EvalResult, SingleRunResult, ToolCall, ToolCallMatch) == (
        russo_nb.AgentResponse,
        russo_nb.Audio,
        russo_nb.BatchResult,
        russo_nb.EvalResult,
        russo_nb.SingleRunResult,
        russo_nb.ToolCall,
        russo_nb.ToolCallMatch,
    )


def test_an_object_pickled_under_an_old_path_loads() -> None:
    """A pickle written before the move names ``russo_nb.types.ToolCall``; it loads as the class of today."""
    call = russo_nb.ToolCall(name="book_flight", arguments={"to_city": "Paris"})
    old = pickle.dumps(call, protocol=2).replace(b"russo_nb.model.types", b"russo_nb.types")
    assert b"russo_nb.types" in old and b"russo_nb.model.types" not in old
    assert pickle.loads(old) == call


def test_an_unknown_name_is_still_an_import_error() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("russo_nb.no_such_module")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("russo_nb.report.no_such_module")  # below an old path too


_NOT_PATHS = {"russo_nb.batch", "russo_nb.runs"}
"""Strings in the docs that look like paths but are not: the ``kind`` tags of JSON files."""


def _documented() -> dict[str, str]:
    """Each ``russo_nb.X.Y`` and ``from russo_nb.X import a, b`` in the README, notebooks, examples, suite files."""
    names: dict[str, str] = {}
    files = [
        REPO / "README.md",
        *sorted((REPO / "notebooks").glob("*.ipynb")),
        *sorted((REPO / "examples").rglob("*.py")),
    ]
    files += sorted((REPO / "data").rglob("*.yaml")) + sorted((PACKAGE / "data").glob("*.yaml"))
    for file in files:
        text = file.read_text(encoding="utf-8")
        for match in re.finditer(r"russo_nb(?:\.[A-Za-z_]\w*)+", text):
            names.setdefault(match.group(0), file.name)
        for match in re.finditer(r"from (russo_nb[\w.]*) import \(?([\w ,]+)", text):
            for name in match.group(2).split(","):
                if name.strip():
                    names.setdefault(f"{match.group(1)}.{name.split(' as ')[0].strip()}", file.name)
    return {name: where for name, where in names.items() if name not in _NOT_PATHS}


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def test_every_documented_path_resolves() -> None:
    documented = _documented()
    assert {"russo_nb.evaluators.ExactEvaluator", "russo_nb._types", "russo_nb.report.load_sweep"} <= set(documented)
    assert "russo_nb.scenario.criteria" in documented and len(documented) > 50
    broken = []
    for name, where in sorted(documented.items()):
        try:
            _resolve(name)
        except (ImportError, AttributeError) as error:
            broken.append(f"{name} ({where}): {error}")
    assert broken == []


def _imported_modules(path: Path) -> list[tuple[str, int]]:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    base = parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                module = ".".join(base[: len(base) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(f"{module}.{alias.name}", node.lineno) for alias in node.names] + [(module, node.lineno)]
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
    return found


def test_russo_nb_itself_imports_only_the_new_paths() -> None:
    old = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for module, line in _imported_modules(path)
        if module.startswith("russo_nb.") and _moved.new_name(module) is not None
    ]
    assert old == []
    # the check sees old paths where they are (else it would pass vacuously)
    assert any(_moved.new_name(m) for m, _ in _imported_modules(REPO / "tests" / "voice_helpers.py"))


@pytest.mark.slow
def test_a_fresh_interpreter_imports_an_old_path_first() -> None:
    """``import russo_nb.report.jsonl`` as the very first import (a user's script, a pickle, an entry point)."""
    code = (
        "import russo_nb.report.jsonl as e, russo_nb.pytest_plugin as p, sys;"
        "print(e.__name__, p.__name__, sys.modules['russo_nb.report'] is sys.modules['russo_nb.results.report'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["russo_nb.results.report.jsonl", "russo_nb.surfaces.pytest_plugin", "True"]
