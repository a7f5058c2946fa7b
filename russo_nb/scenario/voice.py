"""Voice scenarios: an audio agent (the russo ``Agent`` protocol) inside a conversation.

Each user turn is synthesized (then passed through the effects, each with a
generator seeded from the run and the turn), the clip is kept in ``state.audio``
under an ``audio_key`` that the user message carries (so a transcript can play it),
and the agent's tool calls become an assistant message with OpenAI ``tool_calls``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

from ..execution.pipeline import build_effects
from ..execution.runner import derive_seed
from ..model.errors import InvalidArgumentError
from ..model.protocols import (
    apply_effects,
    as_agent,
    check_synthesizer,
    coerce_response,
    describe,
    effect_name,
)
from ..model.types import Audio
from .adapters import AgentAdapter, AgentInput, AgentRole, response_to_message
from .executor import UNTIMED_KEY
from .state import message_text

__all__ = ["UNTIMED_KEY", "VoiceAgentAdapter"]


class VoiceAgentAdapter(AgentAdapter):
    """Runs an audio agent in a scenario: user text → synthesizer → effects → agent → tool calls.

    Args:
        agent: the agent under test, ``async run(audio) -> AgentResponse`` (e.g. LocalVoiceAgent).
        synthesizer: ``async synthesize(text) -> Audio`` (e.g. EspeakSynthesizer).
        effects: objects with ``apply(audio, rng) -> Audio`` (noise, speed, telephone band...).
        seed: base seed for the effects; defaults to the run's seed.
        keep_audio: keep each turn's clip in the result (``result.audio``).
    """

    role: ClassVar[AgentRole] = AgentRole.AGENT
    wraps: ClassVar[bool] = True

    def __init__(
        self,
        agent: Any,
        synthesizer: Any,
        effects: Sequence[Any] | None = None,
        seed: int | None = None,
        *,
        keep_audio: bool = True,
        name: str | None = None,
    ) -> None:
        self.agent = as_agent(agent)
        if synthesizer is None:
            raise InvalidArgumentError(
                "VoiceAgentAdapter needs a synthesizer (e.g. russo_nb.audio.EspeakSynthesizer())"
            )
        self.synthesizer = check_synthesizer(synthesizer)
        self.effects = build_effects(effects)
        self.effect_names = [effect_name(effect) for effect in self.effects]
        self.seed = seed
        self.keep_audio = keep_audio
        self.name = name or describe(self.agent)

    async def call(self, input: AgentInput) -> dict[str, Any]:
        state = input.scenario_state
        message = input.last_new_user_message()
        text = message_text(message)
        started = time.perf_counter()
        audio = await self.synthesizer.synthesize(text)
        if not isinstance(audio, Audio):
            raise TypeError(f"synthesize() returned {type(audio).__name__}, expected russo_nb.Audio")
        if self.effects:
            base = self.seed if self.seed is not None else (state.seed or 0)
            audio = await apply_effects(audio, self.effects, derive_seed(base, state.run_index, state.current_turn))
            message["effects"] = list(self.effect_names)
        key = audio.content_key()
        message["audio_key"] = key
        if self.keep_audio:
            state.audio[key] = audio
        state.agent_data[UNTIMED_KEY] = state.agent_data.get(UNTIMED_KEY, 0.0) + time.perf_counter() - started
        response = coerce_response(await self.agent.run(audio))
        return response_to_message(response)

    def __repr__(self) -> str:
        effects = f", effects={self.effect_names}" if self.effects else ""
        return f"VoiceAgentAdapter({self.name}, {describe(self.synthesizer)}{effects})"
