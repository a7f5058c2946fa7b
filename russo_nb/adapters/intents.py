"""Declarative intents: tools, the phrases that ask for them, and slot vocabularies.

One :class:`IntentSet` gives both halves of a small voice app: a JSGF grammar that
constrains speech recognition to what the app expects, and a parser that turns a
transcript into a tool call (``"new york"`` -> ``from_city='NYC'``). Loadable from YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..model.bounded_files import read_limited
from ..model.errors import ConfigurationError, RussoError, SuiteFileError
from ..model.unique_keys import DuplicateKeyError, load_yaml
from ..model.yaml_errors import yaml_problem

__all__ = ["IntentMatch", "IntentSet", "IntentSpec", "normalize_text"]

MAX_INTENTS_BYTES = 16 << 20
"""Most bytes of an intents file (the demo's is 3 kB): a huge or sparse file is refused unread."""

_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WORD = re.compile(r"^[a-z][a-z']*$")


def normalize_text(text: str) -> str:
    """Lower case, punctuation removed (apostrophes kept), single spaces."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


class IntentSpec(BaseModel):
    """One tool: its name, the phrases that ask for it, and its slots (name -> slot type)."""

    tool: str
    phrases: list[str]
    slots: dict[str, str] = Field(default_factory=dict)
    description: str = ""

    @field_validator("tool")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not value.isidentifier():
            raise ValueError(f"tool name {value!r} must be a Python identifier like book_flight")
        return value

    @field_validator("phrases")
    @classmethod
    def _some_phrases(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("an intent needs at least one phrase")
        return value


class IntentSet(BaseModel):
    """Intents plus shared slot types (type -> canonical value -> words people say)."""

    name: str = "intents"
    slot_types: dict[str, dict[Any, list[str] | str | None]] = Field(default_factory=dict)
    intents: list[IntentSpec]
    _compiled_cache: list[Any] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_references(self) -> IntentSet:
        if not self.intents:
            raise ValueError("the 'intents:' list is empty; give at least one tool with its phrases")
        for intent in self.intents:
            for slot, type_name in intent.slots.items():
                if type_name not in self.slot_types:
                    known = ", ".join(self.slot_types) or "none"
                    raise ValueError(
                        f"intent {intent.tool!r}: slot {slot!r} has type {type_name!r}, which is not in "
                        f"slot_types (known: {known})"
                    )
            for phrase in intent.phrases:
                for slot in _SLOT.findall(phrase):
                    if slot not in intent.slots:
                        raise ValueError(
                            f"intent {intent.tool!r}: phrase {phrase!r} uses {{{slot}}}, which is not one of its "
                            f"slots ({', '.join(intent.slots) or 'none'}); add it under slots:"
                        )
                words = _SLOT.sub(" ", normalize_text_keep_slots(phrase)).split()
                bad = [word for word in words if not _WORD.match(word)]
                if bad:
                    raise ValueError(
                        f"intent {intent.tool!r}: phrase {phrase!r} has {bad[0]!r}; write phrases in spoken "
                        "words (letters only, e.g. 'seven' not '7')"
                    )
        for type_name, values in self.slot_types.items():
            if not values:
                raise ValueError(f"slot type {type_name!r} has no values")
        return self

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | Path) -> IntentSet:
        """Read intents from a YAML file; a bad file raises SuiteFileError naming file and problem."""
        import yaml

        source = Path(path)
        if not source.exists():
            raise SuiteFileError(f"intents file {source} does not exist")
        try:
            data = load_yaml(read_limited(source, MAX_INTENTS_BYTES).decode("utf-8"))  # as suite files are read
        except RussoError as exc:  # a folder, a FIFO (never waited on), too big, unreadable
            raise SuiteFileError(f"intents file {source}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise SuiteFileError(f"intents file {source} is not UTF-8 text ({exc.reason}); save it as UTF-8") from None
        except yaml.YAMLError as exc:
            raise SuiteFileError(f"intents file {source}: {yaml_problem(exc)}") from None
        except DuplicateKeyError as exc:
            raise SuiteFileError(f"intents file {source}: {exc}") from None
        return cls.from_data(data, origin=str(source))

    @classmethod
    def from_data(cls, data: Any, origin: str = "intents") -> IntentSet:
        """Validate a mapping (as read from YAML/JSON) into an IntentSet."""
        if not isinstance(data, dict) or "intents" not in data:
            raise SuiteFileError(f"{origin}: expected a mapping with an 'intents:' list (and 'slot_types:')")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or '(top)'}: {error['msg']}" for error in exc.errors()
            )
            raise SuiteFileError(f"{origin} is not a valid intents file: {problems}") from None

    # -- vocabulary --------------------------------------------------------------------------
    def synonyms(self, type_name: str) -> dict[str, Any]:
        """Spoken form (normalized) -> canonical value, for one slot type."""
        table: dict[str, Any] = {}
        for canonical, spoken in self.slot_types[type_name].items():
            forms = [spoken] if isinstance(spoken, str) else list(spoken or [str(canonical)])
            for form in forms:
                table[normalize_text(str(form))] = canonical
        return table

    def words(self) -> set[str]:
        """Every word the grammar can produce."""
        words: set[str] = set()
        for intent in self.intents:
            for phrase in intent.phrases:
                words.update(_SLOT.sub(" ", normalize_text_keep_slots(phrase)).split())
        for type_name in self.slot_types:
            for form in self.synonyms(type_name):
                words.update(form.split())
        return words

    def check_pronounceable(self, dictionary: set[str]) -> None:
        """Raise ConfigurationError naming words the recognizer's dictionary lacks."""
        missing = sorted(word for word in self.words() if word not in dictionary)
        if missing:
            raise ConfigurationError(
                f"intents {self.name!r} use words the en-us pronunciation dictionary does not know: "
                f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}; rephrase them with common words"
            )

    def jsgf(self) -> str:
        """A JSGF grammar accepting every phrase with every slot value."""
        lines = ["#JSGF V1.0;", "grammar russo;"]
        rules = [f"<intent_{index}>" for index in range(len(self.intents))]
        lines.append(f"public <command> = {' | '.join(rules)};")
        for index, intent in enumerate(self.intents):
            alternatives = []
            for phrase in intent.phrases:
                text = normalize_text_keep_slots(phrase)
                alternatives.append(_SLOT.sub(lambda m, i=intent: f"<type_{i.slots[m.group(1)]}>", text))
            lines.append(f"<intent_{index}> = {' | '.join(alternatives)};")
        for type_name in self.slot_types:
            forms = sorted(self.synonyms(type_name))
            lines.append(f"<type_{type_name}> = {' | '.join(forms)};")
        return "\n".join(lines) + "\n"

    # -- understanding -----------------------------------------------------------------------
    def parse(self, text: str) -> IntentMatch:
        """The tool call a transcript asks for: an exact phrase first, then a looser match."""
        normalized = normalize_text(text)
        if not normalized:
            return IntentMatch(text=normalized)
        compiled = self._compiled()
        for intent, phrase, exact, _loose in compiled:
            found = exact.fullmatch(normalized)
            if found:
                return self._match(intent, phrase, found, normalized, 1.0)
        best: IntentMatch | None = None
        n_words = len(normalized.split())
        for intent, phrase, _exact, loose in compiled:
            found = loose.search(normalized)
            if not found:
                continue
            covered = len(found.group(0).split())
            confidence = round(0.9 * covered / max(n_words, covered), 3)
            if best is None or confidence > best.confidence:
                best = self._match(intent, phrase, found, normalized, confidence)
        return best or IntentMatch(text=normalized)

    def _match(self, intent: IntentSpec, phrase: str, found: re.Match[str], text: str, conf: float) -> IntentMatch:
        arguments: dict[str, Any] = {}
        for slot, type_name in intent.slots.items():
            spoken = found.groupdict().get(slot)
            if spoken is not None:
                arguments[slot] = self.synonyms(type_name)[spoken]
        return IntentMatch(text=text, tool=intent.tool, arguments=arguments, confidence=conf, phrase=phrase)

    def _compiled(self) -> list[tuple[IntentSpec, str, re.Pattern[str], re.Pattern[str]]]:
        if self._compiled_cache is not None:
            return self._compiled_cache
        compiled = []
        for intent in self.intents:
            for phrase in intent.phrases:
                parts = []
                for token in normalize_text_keep_slots(phrase).split():
                    slot = _SLOT.fullmatch(token)
                    if slot:
                        forms = sorted(self.synonyms(intent.slots[slot.group(1)]), key=len, reverse=True)
                        parts.append(f"(?P<{slot.group(1)}>{'|'.join(re.escape(form) for form in forms)})")
                    else:
                        parts.append(re.escape(token))
                exact = re.compile(" ".join(parts))
                loose = re.compile(r"\b" + r" (?:[a-z0-9']+ ){0,3}?".join(parts) + r"\b")
                compiled.append((intent, phrase, exact, loose))
        self._compiled_cache = compiled
        return compiled


def normalize_text_keep_slots(phrase: str) -> str:
    """Normalize a phrase but keep its ``{slot}`` markers."""
    pieces = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", phrase)
    out = [piece if _SLOT.fullmatch(piece) else normalize_text(piece) for piece in pieces]
    return " ".join(" ".join(out).split())


@dataclass
class IntentMatch:
    """What a transcript asked for; ``tool`` is None when nothing matched."""

    text: str
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.0
    phrase: str | None = None
