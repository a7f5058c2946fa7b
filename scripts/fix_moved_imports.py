"""Rewrite imports written against the flat layout of russo_nb to the rooms' paths (see russo_nb/_moved.py).

After merging the regroup, a line added elsewhere (``from ..types import X`` in what is now
``russo_nb/results/report/html.py``) still counts dots from the file's old place. This script finds,
in every file under russo_nb/ (or the files given), each import that does not resolve in the new tree,
resolves it from the file's old place instead, and writes the new path. Imports that already resolve
are left alone, as are absolute imports outside russo_nb.

    python scripts/fix_moved_imports.py            # fix russo_nb/ in place, print each change
    python scripts/fix_moved_imports.py --check    # only print; exit 1 if anything would change
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from russo_nb._moved import new_name, old_names  # noqa: E402

FROM = re.compile(r"from\s+([.\w]+)\s+import")


def _exists(dotted: str) -> bool:
    rel = Path(*dotted.split("."))
    return (REPO / rel).with_suffix(".py").exists() or (REPO / rel / "__init__.py").exists()


def _binds(package: str, name: str) -> bool:
    """Whether ``from package import name`` finds ``name``: a submodule, or a name its ``__init__`` binds."""
    if _exists(f"{package}.{name}"):
        return True
    init = REPO.joinpath(*package.split("."), "__init__.py")
    if not init.exists():
        return True  # a module: its names are not checked here
    tree = ast.parse(init.read_text(encoding="utf-8"))
    bound = {"__getattr__"} & {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(a.name == "*" for a in node.names):
                return True  # `from .model import *`: not checked here
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    return bool(bound) and (name in bound or "__getattr__" in bound)


def _package_of(path: Path) -> list[str]:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return parts[:-1]  # a package's __init__ and a module both count dots from the folder they are in


def _absolute(base: list[str], level: int, module: str | None) -> str:
    return ".".join(base[: len(base) - (level - 1)] + ([module] if module else []))


def _relative(package: list[str], target: str) -> str:
    parts = target.split(".")
    common = 0
    while common < min(len(parts), len(package)) and parts[common] == package[common]:
        common += 1
    return "." * (len(package) - common + 1) + ".".join(parts[common:])


def fix(path: Path, write: bool = True) -> list[str]:
    """Rewrite the imports of ``path`` that only resolve from its old place; return a line per change."""
    source = path.read_text(encoding="utf-8")
    package = _package_of(path)
    me = ".".join(package + ([] if path.stem == "__init__" else [path.stem]))
    olds = [old for old in old_names(me) if not old.startswith(("russo_nb.agents", "russo_nb._"))]
    old_package = (olds[0].split(".") if path.stem == "__init__" else olds[0].split(".")[:-1]) if olds else package
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    edits, notes = [], []
    for node in ast.walk(ast.parse(source, str(path))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            target = _absolute(package, node.level, node.module)
            if not (_exists(target) and all(_binds(target, a.name) for a in node.names)):
                before = _absolute(old_package, node.level, node.module)
                target = new_name(before) or before
                if not _exists(target):
                    notes.append(f"{path}:{node.lineno}: cannot place {'.' * node.level}{node.module or ''}")
                    continue
        elif (node.module or "").startswith("russo_nb"):
            target = new_name(node.module or "") or node.module or ""
        else:
            continue
        # `from .. import analysis`: a module that moved, named from its old parent
        parents = {(new_name(f"{target}.{a.name}") or "").rpartition(".")[0] for a in node.names}
        if len(parents) == 1 and "" not in parents:
            target = parents.pop()
        text = _relative(package, target) if node.level else target
        match = FROM.match(source, offsets[node.lineno - 1] + node.col_offset)
        if match and match.group(1) != text:
            edits.append((match.start(1), match.end(1), text))
            notes.append(f"{path.relative_to(REPO)}:{node.lineno}: {match.group(1)} -> {text}")
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    if edits and write:
        path.write_text(source, encoding="utf-8")
    return notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="files to fix (default: every file under russo_nb/)")
    parser.add_argument("--check", action="store_true", help="print what would change, change nothing")
    args = parser.parse_args()
    files = [f.resolve() for f in args.files] or sorted((REPO / "russo_nb").rglob("*.py"))
    changed = []
    for path in files:
        changed += fix(path, write=not args.check)
    print("\n".join(changed) or "nothing to change")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
