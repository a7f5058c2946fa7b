"""Reading suite files: YAML (loaded safely) or JSON, validated into a :class:`~.models.Suite`.

Every problem becomes one :class:`~russo_nb.model.errors.SuiteFileError` line naming the file,
the place inside it (``tests[2].expect[0]``) and what was expected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ...model.bounded_files import read_limited
from ...model.errors import ExpectationError, RussoError, SuiteFileError
from ...model.expectations import normalize_expectations
from ...model.plain_text import short_repr
from ...model.unique_keys import DuplicateKeyError, load_json, load_yaml
from ...model.yaml_errors import yaml_problem
from .models import Suite, TestSpec, allowed_keys

__all__ = ["describe_error", "format_location", "load_suite", "parse_suite"]

_CALL_EXAMPLE = "\"book_flight(to_city='LA')\" or {name: book_flight, arguments: {to_city: LA}}"
_COMPONENT_SLOTS = ("synthesizer", "agent", "evaluator")
_YAML_BOOL = "YAML reads an unquoted yes / no / on / off / true / false as true or false; quote the value"


# -- locations and messages ---------------------------------------------------------------


def format_location(loc: Sequence[Any]) -> str:
    """``('tests', 2, 'expect', 0)`` -> ``tests[2].expect[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _unknown_key_message(loc: list[Any]) -> str:
    parent = [part for part in loc[:-1] if not isinstance(part, int)]
    section = "component" if parent and parent[-1] in _COMPONENT_SLOTS else (str(parent[0]) if parent else "")
    allowed = allowed_keys(section)
    hint = f"; expected one of: {allowed}" if allowed else ""
    return f"{format_location(loc[:-1])}: unknown key {loc[-1]!r}{hint}"


def describe_error(error: Mapping[str, Any]) -> str:
    """One pydantic error as ``place: what was wrong`` in the suite file's own terms."""
    loc = [part for part in error["loc"] if part != "class"]
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key_message(loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        message = "required key is missing"
    elif "input" in error and kind not in ("value_error", "assertion_error"):
        got = error["input"]
        yaml_bool = isinstance(got, bool) and kind == "string_type"
        tail = f": {_YAML_BOOL}" if yaml_bool else ""
        message += f" (got {short_repr(got)}{tail})"
    return f"{format_location(loc)}: {message}"


def _suite_error(source: str, problems: list[str]) -> SuiteFileError:
    shown = "; ".join(problems[:3])
    more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
    return SuiteFileError(f"{source}: {shown}{more}")


# -- checks pydantic cannot make ------------------------------------------------------------


def _expected_calls(test: TestSpec, base: str) -> tuple[list[tuple[str, Any]], list[str]]:
    """Each expected call of a test with its place, or the problem with the ``expect:`` shape."""
    expect = test.expect
    if expect is None:
        return [], [f"{base}: required key is missing; list the expected calls, e.g. [\"book_flight(to_city='LA')\"]"]
    if isinstance(expect, Mapping) and "name" not in expect:
        unknown = [key for key in expect if key not in test.prompt_list]
        if unknown:
            return [], [f"{base}: maps prompts to calls, but {unknown[0]!r} is not one of the test's prompts"]
        items = []
        for prompt, calls in expect.items():
            calls = calls if isinstance(calls, list) else [calls]
            items.extend((f"{base}[{prompt!r}][{i}]", call) for i, call in enumerate(calls))
        return items, []
    if isinstance(expect, list):
        return [(f"{base}[{i}]", call) for i, call in enumerate(expect)], []
    return [(base, expect)], []


def _expectation_problems(test: TestSpec, index: int) -> list[str]:
    """What is wrong with one test's ``expect:`` (empty when every call parses)."""
    base = f"tests[{index}].expect"
    items, problems = _expected_calls(test, base)
    for where, call in items:
        try:
            normalize_expectations([call])
        except ExpectationError as exc:
            problems.append(f"{where}: expected a tool call like {_CALL_EXAMPLE}; {exc}")
    if not problems and test.expect is not None:
        try:
            normalize_expectations(test.expect, test.prompt_list)
        except ExpectationError as exc:
            problems.append(f"{base}: {exc}")
    return problems


def _duplicate_id_problems(suite: Suite) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for index, test_id in enumerate(suite.test_ids()):
        if test_id in seen:
            problems.append(f"tests[{index}].id: duplicate test id {test_id!r}; ids must be unique")
        seen.add(test_id)
    return problems


def _effect_spec_problems(suite: Suite) -> list[str]:
    expected = "expected a string like 'noise:10db' or a mapping"
    places = [(f"tests[{index}].effects", test.effects or []) for index, test in enumerate(suite.tests)]
    places.append(("effects", suite.effect_items()))
    return [
        f"{place}[{j}]: {expected}"
        for place, effects in places
        for j, effect in enumerate(effects)
        if not isinstance(effect, (str, Mapping))
    ]


def _check_suite(suite: Suite, source: str) -> None:
    """Expectations, unique ids and effect specs: raise one SuiteFileError listing the problems."""
    problems = [problem for index, test in enumerate(suite.tests) for problem in _expectation_problems(test, index)]
    problems += _duplicate_id_problems(suite) + _effect_spec_problems(suite)
    if problems:
        raise _suite_error(source, problems)


# -- size and shape before validation -----------------------------------------------------------

MAX_ALIAS_VALUES = 100_000
"""How many values YAML aliases (``*name``) may add beyond those written out in the file."""

MAX_DEPTH = 100
"""How deeply a suite file's values may nest (a real suite needs fewer than ten levels)."""


_CONTAINERS = (dict, list, tuple)  # what YAML and JSON build (concrete types: isinstance on ABCs is slow)


def _check_shape(data: Any, source: str) -> None:
    """Refuse a document that aliases expand past :data:`MAX_ALIAS_VALUES`, nests past
    :data:`MAX_DEPTH` or refers to itself, before anything walks the expanded value.

    Aliases share one Python object per anchor, so the walk visits each distinct container
    once (by identity) and adds up the sizes it stands for: a 600-byte "billion laughs" file
    is measured in microseconds instead of expanded.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    written = 1
    open_now: set[int] = set()
    stack: list[tuple[Any, list[Any] | None]] = [(data, None)] if isinstance(data, _CONTAINERS) else []
    while stack:
        value, nested = stack.pop()
        key = id(value)
        if nested is not None:  # every container inside ``value`` is measured: measure ``value``
            open_now.discard(key)
            values = 2 * len(value) if isinstance(value, dict) else len(value)  # a dict's keys count too
            size[key] = 1 + values - len(nested) + sum(size[id(child)] for child in nested)
            height[key] = 1 + max((height[id(child)] for child in nested), default=0)
            if size[key] - written > MAX_ALIAS_VALUES:
                raise SuiteFileError(
                    f"{source}: YAML aliases expand to more than {MAX_ALIAS_VALUES:,} values "
                    "(a 'billion laughs' file?); write the values out instead of nesting aliases"
                )
            if height[key] > MAX_DEPTH:
                raise SuiteFileError(f"{source}: values are nested more than {MAX_DEPTH} levels deep")
        elif key in open_now:
            raise SuiteFileError(f"{source}: a YAML alias refers to a value that contains it (a cycle)")
        elif key not in size:
            open_now.add(key)
            items = value.values() if isinstance(value, dict) else value
            inner = [child for child in items if isinstance(child, _CONTAINERS)]
            written += 2 * len(value) if isinstance(value, dict) else len(value)
            stack.append((value, inner))
            stack.extend((child, None) for child in inner)


# -- entry points ---------------------------------------------------------------------------


def parse_suite(data: Any, source: str | Path = "<suite>") -> Suite:
    """Validate already-loaded suite data (a mapping) into a :class:`Suite`."""
    source_text = str(source)
    if not isinstance(data, Mapping):
        raise SuiteFileError(
            f"{source_text}: the top level must be a mapping with 'tests:' (and optionally 'pipeline:', 'runs:'), "
            f"got {type(data).__name__}"
        )
    _check_shape(data, source_text)
    try:
        suite = Suite.model_validate(dict(data))
    except ValidationError as exc:
        raise _suite_error(source_text, [describe_error(error) for error in exc.errors()]) from None
    if isinstance(source, Path):
        suite._source = source
    _check_suite(suite, source_text)
    return suite


MAX_SUITE_BYTES = 16 << 20
"""Most bytes of a suite file (real ones are a few kB): a huge or sparse file is refused before it is read."""


def _read_text(file: Path) -> str:
    """The file's text: a regular file of at most :data:`MAX_SUITE_BYTES` (a FIFO is refused, never waited on)."""
    if not file.exists():
        raise SuiteFileError(f"{file}: no such suite file")
    if file.is_dir():
        raise SuiteFileError(f"{file}: is a directory; give the path of a .yaml or .json suite file")
    try:
        return read_limited(file, MAX_SUITE_BYTES).decode("utf-8")
    except RussoError as exc:  # not a regular file, too big, unreadable: said by the one bounded reader
        raise SuiteFileError(f"{file}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SuiteFileError(f"{file}: cannot read the file ({exc})") from None


def _parse(file: Path, text: str) -> Any:
    """The file's data: JSON for ``.json``, YAML otherwise; bad syntax or deep nesting is one SuiteFileError line."""
    import yaml

    try:
        return load_json(text) if file.suffix.lower() == ".json" else load_yaml(text)
    except DuplicateKeyError as exc:  # json and PyYAML would keep the last of the two without a word
        raise SuiteFileError(f"{file}: {exc}") from None
    except RecursionError:
        raise SuiteFileError(f"{file}: values are nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise SuiteFileError(f"{file}: line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None
    except yaml.YAMLError as exc:
        raise SuiteFileError(f"{file}: {yaml_problem(exc)}") from None


def load_suite(path: str | Path) -> Suite:
    """Read a ``.yaml`` / ``.yml`` / ``.json`` suite file (YAML read safely; a key given twice is refused) and
    validate it."""
    file = Path(path)
    text = _read_text(file)
    data = _parse(file, text)
    if data is None:
        raise SuiteFileError(f"{file}: the file is empty; it needs at least 'tests:'")
    return parse_suite(data, file)
