"""LocalVoiceAgent: an offline voice agent, audio -> transcript -> tool calls.

It hears with pocketsphinx, constrained by a grammar built from its intents (as
small voice apps do), and maps the transcript to a tool call with the intents'
phrases and slot vocabularies. Noise makes it mishear for real, so it is the
agent under test of the offline demo. Given a string it skips recognition (text mode).
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ..model.errors import InvalidArgumentError
from ..model.types import AgentResponse, Audio, ToolCall
from .intents import IntentSet

__all__ = ["LocalVoiceAgent", "data_path"]

logger = logging.getLogger("russo_nb")


def data_path(name: str) -> Path:
    """A data file shipped in the package, ``russo_nb/data/<name>`` (found through importlib.resources,
    so it works from a source checkout and from an installed wheel alike)."""
    resource = resources.files("russo_nb") / "data" / name
    if not resource.is_file():
        raise FileNotFoundError(f"bundled data file {name!r} is not in the russo_nb package's data/")
    return Path(str(resource))


class LocalVoiceAgent:
    """Offline voice agent: pocketsphinx + intents. ``run(audio)`` or ``run("text")``.

    ``recognition``: ``grammar`` (default) decodes against a JSGF grammar built from
    the intents; ``generic`` uses pocketsphinx's general en-us language model.
    ``mode``: ``process`` decodes in the shared process pool, ``inline`` in a thread.
    """

    def __init__(
        self,
        intents: IntentSet | str | Path | dict[str, Any],
        *,
        recognition: Literal["grammar", "generic"] = "grammar",
        mode: Literal["process", "inline"] = "process",
        name: str | None = None,
    ) -> None:
        if isinstance(intents, (str, Path)):
            intents = IntentSet.from_yaml(intents)
        elif isinstance(intents, dict):
            intents = IntentSet.from_data(intents)
        if not isinstance(intents, IntentSet):
            raise InvalidArgumentError(
                f"intents must be an IntentSet, a YAML path or a mapping, got {type(intents).__name__}"
            )
        if recognition not in ("grammar", "generic"):
            raise InvalidArgumentError(f"recognition must be 'grammar' or 'generic', got {recognition!r}")
        self.intents = intents
        self.recognition = recognition
        self.mode = mode
        self.name = name or f"LocalVoiceAgent({intents.name})"
        self._recognizer: Any = None

    @classmethod
    def from_yaml(cls, path: str | Path, **options: Any) -> LocalVoiceAgent:
        """An agent whose intents are read from a YAML file (see ``data/demo_intents.yaml``)."""
        return cls(IntentSet.from_yaml(path), **options)

    @classmethod
    def demo(cls, **options: Any) -> LocalVoiceAgent:
        """The demo agent: flights, weather, alarms, music (``data/demo_intents.yaml``)."""
        return cls.from_yaml(data_path("demo_intents.yaml"), **options)

    @property
    def tools(self) -> list[str]:
        """The tool names this agent can call."""
        return [intent.tool for intent in self.intents.intents]

    @property
    def recognizer(self) -> Any:
        """The pocketsphinx recognizer (made on first use; checks the vocabulary is pronounceable)."""
        if self._recognizer is None:
            from ..voice.audio.transcribe import PocketsphinxRecognizer, dictionary_words

            grammar = None
            if self.recognition == "grammar":
                self.intents.check_pronounceable(dictionary_words())
                grammar = self.intents.jsgf()
            self._recognizer = PocketsphinxRecognizer(grammar, mode=self.mode)
        return self._recognizer

    def warm_up(self) -> None:
        """Start the recognition workers now rather than during the first runs."""
        self.recognizer.warm_up()

    def understand(self, text: str) -> AgentResponse:
        """Text mode: map ``text`` to a tool call without recognition."""
        return self._respond(text, {"mode": "text"})

    async def run(self, audio: Audio | str) -> AgentResponse:
        """Hear ``audio`` (or read a string) and answer with the tool call it asks for."""
        if isinstance(audio, str):
            return self.understand(audio)
        if not isinstance(audio, Audio):
            raise InvalidArgumentError(f"LocalVoiceAgent hears russo_nb.Audio or reads str, got {type(audio).__name__}")
        heard = await self.recognizer.transcribe(audio)
        details = {
            "mode": "voice",
            "asr_confidence": heard.confidence,
            "audio_s": round(heard.duration_s, 3),
            "decode_s": round(heard.decode_s, 4),
        }
        return self._respond(heard.text, details)

    def _respond(self, text: str, details: dict[str, Any]) -> AgentResponse:
        match = self.intents.parse(text)
        calls = [ToolCall(name=match.tool, arguments=match.arguments)] if match.tool else []
        raw = {
            "transcript": text,
            "intent": match.tool,
            "confidence": match.confidence,
            "arguments": match.arguments,
            "phrase": match.phrase,
            **details,
        }
        return AgentResponse(tool_calls=calls, text=text, raw=raw)

    def __repr__(self) -> str:
        return f"<{self.name}: {', '.join(self.tools)}>"
