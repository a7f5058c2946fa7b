"""The import graph of russo_nb points one way: each room imports only the rooms below it.

The rooms, lowest first, as data flows through a batch (:data:`ROOM_ORDER`):

- ``model``: the run's data model and what every room shares (types, protocols, errors, run fields,
  records; a job's blocking-call threads and a run's place in it; rate limits; provider SDK errors);
- ``voice``: speech made and heard: synthesizers, effects, the clip cache, offline recognition;
- ``adapters``: the agents a run talks to; streaming adapters send audio in the format ``voice`` gives;
- ``execution``: the engine that runs plans of runs (synthesis -> agent -> evaluation) under one job;
- ``scenario``: scenario runs, planned and run on the engine;
- ``results``: what is made of finished runs: analysis, the view model, reports, exports, the store;
- ``surfaces``: what a person uses: notebook, CLI, suite files, pytest plugin, demo.

A lower room reaches a higher one only through a registry the higher one fills (views and measures in
:mod:`russo_nb.model.rendering`, the scenario run models in :mod:`russo_nb.model.run_fields`, a batch
kind's resume in :mod:`russo_nb.execution.resume`), never by importing it. Imports only for type
checkers (``if TYPE_CHECKING:``) may point anywhere, since they never run. The root (``russo_nb/__init__``,
``__main__``, ``_moved``) assembles the public API from every room and stands outside the order.

A unit is a top-level package (``scenario``, ``adapters``) or a module or package of a room
(``model.types``, ``execution.engine``, ``results.report``): the rooms group units, each unit
still imports one way.

Read from the source with :mod:`ast` (every ``import``, also those inside functions, since a
lazy upward import is still an upward dependency), so the test needs no import side effects
and names the file and line of each offending import.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import russo_nb
from russo_nb._moved import MOVED

ROOT = Path(russo_nb.__file__).parent
LOW_LEVEL = ("model.types", "model.protocols")
UPPER = {"results.analysis", "surfaces.notebook", "results.report", "results.view"}
ROOM_ORDER = ("model", "voice", "adapters", "execution", "scenario", "results", "surfaces")
"""The rooms, lowest first: a room imports only the rooms before it here."""
SPLIT_ROOMS = ("model", "execution")
"""Rooms whose ``__init__`` exports nothing: each of their modules is a unit of its own."""
ROOM_UNITS = {new.split(".", 1)[1] for new in MOVED.values() if new.count(".") == 2} | {
    f"{room}.{path.stem}" for room in SPLIT_ROOMS for path in (ROOT / room).glob("*.py") if path.stem != "__init__"
}
"""``model.types``, ``voice.audio``, ``adapters.parsers`` ...: the modules and packages inside a room."""


def _module_name(path: Path) -> tuple[list[str], bool]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return (parts[:-1] if is_package else parts), is_package


def _unit(dotted: str) -> str:
    """The unit of ``russo_nb.x.y``: ``x.y`` if that is a module or package of a room, else ``x``;
    ``__init__`` for ``russo_nb`` itself."""
    parts = dotted.split(".")
    if len(parts) == 1:
        return "__init__"
    if len(parts) >= 3 and f"{parts[1]}.{parts[2]}" in ROOM_UNITS:
        return f"{parts[1]}.{parts[2]}"
    return parts[1]


def _is_submodule(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").exists() or (ROOT / rel / "__init__.py").exists()


def imports() -> list[tuple[str, str, str, str, int]]:
    """(importing unit, imported unit, imported name or '', file, line) for every russo_nb import in russo_nb."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts, is_package = _module_name(path)
        source = _unit(".".join(parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = parts if is_package else parts[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                if module != "russo_nb" and not module.startswith("russo_nb."):
                    continue
                for alias in node.names:
                    target = f"{module}.{alias.name}"
                    if module == "russo_nb" and _is_submodule(target):
                        found.append((source, _unit(target), "", str(path), node.lineno))
                    else:
                        found.append((source, _unit(module), alias.name, str(path), node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("russo_nb."):
                        found.append((source, _unit(alias.name), "", str(path), node.lineno))
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def test_the_walker_sees_known_imports() -> None:
    """Guards the test itself: if the walker found nothing, every check below would pass vacuously."""
    edges = {(source, target) for source, target, *_ in imports()}
    assert ("results.view", "model.thresholds") in edges
    assert ("results.report", "results.view") in edges
    assert ("surfaces.notebook", "results.view") in edges
    assert ("adapters", "adapters.parsers") in edges
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_cycles_between_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for source, target, _, path, line in imports():
        if source != target and source != "__init__" and target != "__init__":
            edges[source].add(target)
            where.setdefault((source, target), f"{path}:{line}")
    cycles = _cycles(edges)
    detail = [f"{a} -> {b} ({where[a, b]})" for cycle in cycles for a in cycle for b in sorted(edges[a]) if b in cycle]
    assert cycles == [], "\n".join(detail)


def test_types_and_protocols_import_nothing_above_them() -> None:
    upward = [
        f"{path}:{line} imports {target}"
        for source, target, _, path, line in imports()
        if source in LOW_LEVEL and target in UPPER
    ]
    assert upward == []


def test_no_private_name_is_imported_from_another_package() -> None:
    private = [
        f"{path}:{line} imports {name} from {target}"
        for source, target, name, path, line in imports()
        if source != target and name.startswith("_") and not name.startswith("__")
    ]
    assert private == []


def _module_aliases(path: Path, tree: ast.AST) -> dict[str, str]:
    """Names bound to russo_nb modules (``from ..analysis import frames`` -> ``russo_nb.analysis.frames``)."""
    parts, is_package = _module_name(path)
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = parts if is_package else parts[:-1]
            module = ".".join(base[: len(base) - (node.level - 1)] + ([node.module] if node.module else []))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
        elif isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name.startswith("russo_nb.")})
            continue
        else:
            continue
        for alias in node.names:
            if module.startswith("russo_nb") and _is_submodule(f"{module}.{alias.name}"):
                aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
    return aliases


def test_no_private_name_of_another_package_is_used_as_an_attribute() -> None:
    """``frames._normalized(...)`` after ``from ..analysis import frames`` is a private import by another name."""
    used = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        source = _unit(".".join(_module_name(path)[0]))
        aliases = _module_aliases(path, tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            module = aliases.get(node.value.id)
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            if module and private and _unit(module) != source:
                used.append(f"{path}:{node.lineno} uses {module}.{node.attr}")
    assert used == []
    # the walker sees module aliases (else the check above would pass vacuously)
    report_html = ROOT / "results" / "report" / "html.py"
    assert _module_aliases(report_html, ast.parse("from ..view import html as view_html")) == {
        "view_html": "russo_nb.results.view.html"
    }


def _module_of(dotted: str) -> str | None:
    """``russo_nb.x.y`` as the module that holds it: ``russo_nb.x.y`` (a .py), ``russo_nb.x.y.__init__`` or None."""
    rel = Path(*dotted.split(".")[1:])
    if (ROOT / rel).with_suffix(".py").exists():
        return dotted
    if (ROOT / rel / "__init__.py").exists():
        return f"{dotted}.__init__"
    return None


def module_imports() -> list[tuple[str, str, str]]:
    """(importing module, imported module, file:line) for every russo_nb import, lazy ones included; imports
    only for type checkers (``if TYPE_CHECKING:``) left out, since they never run."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts, is_package = _module_name(path)
        me = ".".join(parts) + (".__init__" if is_package else "")
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for child in node.body
            for inner in ast.walk(child)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str | None] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = parts if is_package else parts[:-1]
                    module = ".".join(base[: len(base) - (node.level - 1)] + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                if module == "russo_nb" or module.startswith("russo_nb."):
                    targets += [_module_of(f"{module}.{alias.name}") or _module_of(module) for alias in node.names]
            elif isinstance(node, ast.Import):
                targets += [_module_of(alias.name) for alias in node.names if alias.name.startswith("russo_nb.")]
            found += [(me, target, f"{path}:{node.lineno}") for target in targets if target and target != me]
    return found


def test_no_import_circle_inside_any_package() -> None:
    """Inside each package (scenario/, notebook/, report/, audio/ ...) the modules import one way, lazily or not."""
    edges: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for source, target, place in module_imports():
        if source.rsplit(".", 1)[0] == target.rsplit(".", 1)[0]:  # two modules of one package
            edges[source].add(target)
            where.setdefault((source, target), place)
    assert ("russo_nb.scenario.executor", "russo_nb.scenario.state") in where  # the walker sees imports
    assert ("russo_nb.scenario.state", "russo_nb.scenario.executor") not in where  # ... but not typing-only ones
    cycles = _cycles(edges)
    detail = [f"{a} -> {b} ({where[a, b]})" for cycle in cycles for a in cycle for b in sorted(edges[a]) if b in cycle]
    assert cycles == [], "\n".join(detail)


def _room(module: str) -> str | None:
    """The room of ``russo_nb.<room>.x`` (None for the root: ``russo_nb.__init__``, ``__main__``, ``_moved``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def test_a_room_imports_only_the_rooms_below_it() -> None:
    on_disk = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert set(ROOM_ORDER) == on_disk
    rank = {room: place for place, room in enumerate(ROOM_ORDER)}
    edges = set()
    upward = []
    for source, target, place in module_imports():
        low, high = _room(source), _room(target)
        if low is None or high is None or low == high:
            continue
        edges.add((low, high))
        if rank[high] > rank[low]:
            upward.append(f"{place}: {source} imports {target} ({low} is below {high})")
    assert upward == [], "\n".join(upward)
    # the walker sees imports between rooms (else the check would pass vacuously), lazy ones too
    assert {("execution", "model"), ("adapters", "voice"), ("scenario", "execution"), ("results", "scenario")} <= edges
    assert ("russo_nb.surfaces.notebook.magics", "russo_nb.execution.resume") in {
        (a, b) for a, b, _ in module_imports()
    }
