"""Reading YAML and JSON data files (suites, intents) whose mappings may not repeat a key.

PyYAML and :func:`json.loads` keep the last of two equal keys without a word: a suite with two
``tests:`` blocks ran only the second, a test with two ``expect:`` checked only the second. Both
readers here refuse that as :class:`DuplicateKeyError` ('line 9 column 5: duplicate key "expect"').
A YAML merge (``<<: *base``) overriding a merged key is not a duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

__all__ = ["DuplicateKeyError", "load_json", "load_yaml"]


class DuplicateKeyError(ValueError):
    """A mapping gives one key twice; the message says where (1-based line and column) and which key."""

    def __init__(self, key: Any, line: int, column: int, first_line: int) -> None:
        self.key, self.line, self.column, self.first_line = key, line, column, first_line
        name = f'"{key}"' if isinstance(key, str) else repr(key)
        super().__init__(
            f"line {line} column {column}: duplicate key {name} (first on line {first_line}; only one would be "
            "kept: merge them or remove one)"
        )


@cache
def _yaml_loader() -> type:
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """``yaml.safe_load``'s loader, refusing a mapping that gives one key twice."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, Any] = {}
                for key_node, _ in node.value:  # the mapping's own keys, before a merge (<<) adds others
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node)
                    first = seen.setdefault(key, key_node)
                    if first is not key_node:
                        mark = key_node.start_mark
                        line, column, first_line = mark.line + 1, mark.column + 1, first.start_mark.line + 1
                        raise DuplicateKeyError(key_node.value, line, column, first_line)  # as written
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, but a key given twice in one mapping raises :class:`DuplicateKeyError`."""
    import yaml

    return yaml.load(text, Loader=_yaml_loader())  # a SafeLoader subclass: as safe as yaml.safe_load


def load_json(text: str) -> Any:
    """``json.loads(text)``, but a key given twice in one object raises :class:`DuplicateKeyError`."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)  # the C scanner: a repeat is only noticed
    except _Repeated:
        pass
    decoder = json.JSONDecoder()  # found again, with the Python scanner, to say where
    decoder.parse_object = _placed_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # the Python scanner calls parse_object
    return decoder.decode(text)


class _Repeated(Exception):
    """An object gave a key twice (where: found by :func:`_placed_object`)."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Repeated
    return obj


def _placed_object(
    s_and_end: tuple[str, int], strict: bool, scan_once: Any, object_hook: Any, object_pairs_hook: Any, *rest: Any
) -> tuple[Any, int]:
    """json's object parser, raising :class:`DuplicateKeyError` at the second of two equal keys."""
    pairs, end = json.decoder.JSONObject(s_and_end, strict, scan_once, None, list, *rest)
    obj = dict(pairs)
    if len(obj) != len(pairs):
        text, start = s_and_end
        seen: dict[str, int] = {}
        for key, offset in _keys(text, start, scan_once):
            if key in seen:
                line, column = _place(text, offset)
                raise DuplicateKeyError(key, line, column, _place(text, seen[key])[0])
            seen[key] = offset
    return obj, end


def _keys(text: str, start: int, scan_once: Any) -> Iterator[tuple[str, int]]:
    """(key, offset) of each key of the object whose ``{`` ends at ``start`` (already read as valid JSON)."""
    space = json.decoder.WHITESPACE.match
    pos = space(text, start).end()
    while text[pos] == '"':
        key, after = json.decoder.scanstring(text, pos + 1)
        yield key, pos
        pos = space(text, space(text, after).end() + 1).end()  # past the ':'
        _, pos = scan_once(text, pos)
        pos = space(text, pos).end()
        if text[pos] != ",":
            return
        pos = space(text, pos + 1).end()


def _place(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` (as :class:`json.JSONDecodeError` counts them)."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
